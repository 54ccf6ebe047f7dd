/* The fake driver's devices: everything Dokany's library reaches through CreateFile,
 * DeviceIoControl and CloseHandle, answered as dokan2.sys 2.0.6 answers it (sys/event.c,
 * sys/fscontrol.c, sys/notification.c, sys/timeout.c, sys/access.c), and the system state the
 * driver changes, which the library reads back (drive letters) or sets up itself (folder mount
 * points). Calls about anything else go to the real Win32 functions. */
#include "fake_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "list.h"

/* ntdll: the Win32 error a failed NTSTATUS becomes. */
ULONG WINAPI RtlNtStatusToDosError(NTSTATUS status);

/* The name under which the library opens the driver (dokanc.h's DOKAN_GLOBAL_DEVICE_NAME). */
#define GLOBAL_DEVICE_NAME L"\\\\.\\Dokan_" DOKAN_MAJOR_API_VERSION

/* sys/dokan.h: the GUID every volume's name derives from, and the volumes' device names. */
static const GUID base_guid = {
    0xd6cc17c5, 0x1734, 0x4085, {0xbc, 0xe7, 0x96, 0x4f, 0x1e, 0x9f, 0x5d, 0xe9}};
#define DISK_DEVICE_NAME L"\\Device\\Volume"
#define DISK_LINK_NAME L"\\Volume"
#define NETWORK_DEVICE_NAME L"\\Device\\DokanRedirector" DOKAN_MAJOR_API_VERSION
#define NETWORK_LINK_NAME L"\\DokanRedirector" DOKAN_MAJOR_API_VERSION

typedef enum {
  GLOBAL_DEVICE,     /* \\.\Dokan_2 */
  VOLUME_DEVICE,     /* \\.\Volume{GUID}: the volume's disk device, where the library pulls */
  KEEPALIVE_FILE,    /* \\?\Volume{GUID}\__drive_fs_keepalive */
  NOTIFICATION_FILE, /* \\?\Volume{GUID}\drive_fs_notification */
} device_kind;

typedef struct fake_handle {
  LIST_ENTRY link;
  HANDLE handle; /* a real event, so that no other open can have the same value */
  device_kind kind;
  fake_volume *volume; /* a reference; NULL for the global device */
  BOOL keepalive_active;
} fake_handle;

typedef struct queued_event {
  LIST_ENTRY link;
  EVENT_CONTEXT context; /* context.Length bytes */
} queued_event;

/* A folder made a mount point (FSCTL_SET_REPARSE_POINT) for one of our volumes. */
typedef struct mount_folder {
  LIST_ENTRY link;
  WCHAR path[]; /* as GetFinalPathNameByHandleW gives it: \\?\C:\folder */
} mount_folder;

static struct {
  SRWLOCK lock;
  LIST_ENTRY handles;
  LIST_ENTRY volumes; /* from FSCTL_EVENT_START until released: the driver's mount entries */
  LIST_ENTRY folders;
  ULONG mount_id;
} driver = {SRWLOCK_INIT,
            {&driver.handles, &driver.handles},
            {&driver.volumes, &driver.volumes},
            {&driver.folders, &driver.folders},
            0};

/* The volume the test protocol reaches, with a reference; `serving` orders the changes. */
static SRWLOCK serving = SRWLOCK_INIT;
static fake_volume *served;

static NTSTATUS fail(NTSTATUS status) {
  SetLastError(RtlNtStatusToDosError(status));
  return status;
}

/* ---- volumes ---- */

static void volume_reference(fake_volume *volume) { InterlockedIncrement(&volume->references); }

static void volume_release_reference(fake_volume *volume) {
  if (InterlockedDecrement(&volume->references) != 0) return;
  kernel_free_volume(volume);
  while (!IsListEmpty(&volume->queue)) free(RemoveHeadList(&volume->queue));
  CloseHandle(volume->stop_timeouts);
  if (volume->timeout_thread != NULL) CloseHandle(volume->timeout_thread);
  DeleteCriticalSection(&volume->lock);
  free(volume->label);
  free(volume);
}

/* The mount entry of a mount point: \DosDevices\M: for a drive letter (at most three characters:
 * M, M:, M:\), \DosDevices\ followed by the folder otherwise (DokanCreateDiskDevice). */
static void mount_entry_name(const WCHAR *mount_point, WCHAR *entry, size_t capacity) {
  if (wcslen(mount_point) < 4) {
    swprintf(entry, capacity, DOS_DEVICES L"%lc:", towupper(mount_point[0]));
  } else {
    swprintf(entry, capacity, DOS_DEVICES L"%ls", mount_point);
  }
}

/* The mounted volume whose mount entry is `entry`; called with the driver lock held. */
static fake_volume *find_mounted(const WCHAR *entry) {
  for (LIST_ENTRY *link = driver.volumes.Flink; link != &driver.volumes; link = link->Flink) {
    fake_volume *volume = CONTAINING_RECORD(link, fake_volume, mounted_link);
    if (wcscmp(volume->mount_entry, entry) == 0) return volume;
  }
  return NULL;
}

/* The drive letter of a volume mounted on one, else 0. */
static WCHAR drive_letter(const fake_volume *volume) {
  const WCHAR *name = volume->mount_entry + wcslen(DOS_DEVICES);
  return wcslen(name) == 2 ? name[0] : 0;
}

/* The kernel name of the volume's disk device, \Device\Volume{GUID}. */
static void device_object_name(const fake_volume *volume, WCHAR *name, size_t capacity) {
  const WCHAR *guid = wcschr(volume->device_name, L'{');
  swprintf(name, capacity, L"%ls%ls", volume->network ? NETWORK_DEVICE_NAME : DISK_DEVICE_NAME,
           guid);
}

/* Makes the test protocol serve the oldest mounted volume whose library has finished mounting
 * it (activated its keepalive handle), unless the one it serves is still mounted. A volume is
 * only let go once no request runs on it (kd_server_detach), which never has to wait for a volume
 * that is still mounted: mounting happens on the thread that may be the only one able to answer
 * it. */
static void serve_oldest(void) {
  AcquireSRWLockExclusive(&serving);
  if (served != NULL && served->unmount_pending) {
    kd_server_detach(served);
    volume_release_reference(served);
    served = NULL;
  }
  if (served == NULL) {
    AcquireSRWLockShared(&driver.lock);
    for (LIST_ENTRY *link = driver.volumes.Flink; link != &driver.volumes; link = link->Flink) {
      fake_volume *volume = CONTAINING_RECORD(link, fake_volume, mounted_link);
      if (volume->keepalive_active && !volume->unmount_pending) {
        served = volume;
        volume_reference(served);
        break;
      }
    }
    ReleaseSRWLockShared(&driver.lock);
    if (served != NULL) kd_server_start(kernel_serve, served);
  }
  ReleaseSRWLockExclusive(&serving);
}

/* Waits until the timeout thread of an unmounting volume has ended, unless called on it. The
 * caller holds a reference to the volume. */
static void join_timeout_thread(fake_volume *volume) {
  if (volume->timeout_thread != NULL && GetCurrentThreadId() != volume->timeout_thread_id) {
    WaitForSingleObject(volume->timeout_thread, INFINITE);
  }
}

/* DokanEventRelease: unmounts. Requests waiting for user mode complete with STATUS_CANCELLED,
 * EVENT_CONTEXTs not yet pulled are dropped, and the library's pulls fail with
 * STATUS_NO_SUCH_DEVICE, which tells it the volume is gone. */
static void release_volume(fake_volume *volume) {
  EnterCriticalSection(&volume->lock);
  if (volume->unmount_pending) {
    LeaveCriticalSection(&volume->lock);
    join_timeout_thread(volume);
    return;
  }
  volume->unmount_pending = TRUE;
  while (!IsListEmpty(&volume->pending)) {
    fake_irp *irp = CONTAINING_RECORD(RemoveHeadList(&volume->pending), fake_irp, link);
    irp->status = STATUS_CANCELLED;
    irp->done = TRUE;
  }
  while (!IsListEmpty(&volume->queue)) free(RemoveHeadList(&volume->queue));
  WakeAllConditionVariable(&volume->irp_completed);
  WakeAllConditionVariable(&volume->queue_ready);
  SetEvent(volume->stop_timeouts);
  LeaveCriticalSection(&volume->lock);

  AcquireSRWLockExclusive(&driver.lock);
  RemoveEntryList(&volume->mounted_link);
  ReleaseSRWLockExclusive(&driver.lock);
  serve_oldest();
  join_timeout_thread(volume);
  volume_release_reference(volume);
}

/* ReleaseTimeoutPendingIrp: requests past their deadline fail with
 * STATUS_INSUFFICIENT_RESOURCES; before the keepalive handle is active, such a timeout also
 * unmounts. */
static void expire_requests(fake_volume *volume) {
  EnterCriticalSection(&volume->lock);
  ULONGLONG now = GetTickCount64();
  BOOL expired = FALSE;
  for (LIST_ENTRY *link = volume->pending.Flink; link != &volume->pending;) {
    fake_irp *irp = CONTAINING_RECORD(link, fake_irp, link);
    link = link->Flink;
    if (now < irp->deadline) continue;
    RemoveEntryList(&irp->link);
    irp->status = STATUS_INSUFFICIENT_RESOURCES;
    irp->done = TRUE;
    expired = TRUE;
  }
  if (expired) WakeAllConditionVariable(&volume->irp_completed);
  BOOL unmount = expired && !volume->keepalive_active;
  LeaveCriticalSection(&volume->lock);
  if (unmount) release_volume(volume);
}

/* DokanTimeoutThread: looks for expired requests every DOKAN_CHECK_INTERVAL. A check that comes
 * more than two seconds late is skipped, as the driver takes the delay for a wake from sleep;
 * so a machine too busy to run the thread on time does not fail requests for it either. */
static DWORD WINAPI timeout_thread(void *parameter) {
  fake_volume *volume = parameter;
  ULONGLONG last_check = GetTickCount64();
  while (WaitForSingleObject(volume->stop_timeouts, DOKAN_CHECK_INTERVAL) == WAIT_TIMEOUT) {
    if (GetTickCount64() - last_check <= DOKAN_CHECK_INTERVAL + 2000) expire_requests(volume);
    /* As the driver does, measured from the end of this check. */
    last_check = GetTickCount64();
  }
  volume_release_reference(volume);
  return 0;
}

static BOOL nul_terminated(const WCHAR *text, size_t capacity) {
  return wmemchr(text, L'\0', capacity) != NULL;
}

/* FSCTL_EVENT_START on the global device (DokanEventStart): creates the volume. The driver
 * answers a start it refuses with DOKAN_START_FAILED, not with an error. */
static NTSTATUS event_start(char *buffer, DWORD input_length, DWORD output_length,
                            ULONG_PTR *information) {
  if (input_length < sizeof(EVENT_START) || output_length != sizeof(EVENT_DRIVER_INFO)) {
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  EVENT_START *start = malloc(sizeof *start);
  if (start == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  memcpy(start, buffer, sizeof *start);
  /* METHOD_BUFFERED: the answer overwrites the request in the same buffer. */
  PEVENT_DRIVER_INFO info = (PEVENT_DRIVER_INFO)buffer;
  info->Flags = 0;
  info->DriverVersion = DOKAN_DRIVER_VERSION;
  info->Status = DOKAN_START_FAILED;
  *information = sizeof *info;

  BOOL acceptable = start->UserVersion == DOKAN_DRIVER_VERSION &&
                    nul_terminated(start->MountPoint, ARRAYSIZE(start->MountPoint)) &&
                    nul_terminated(start->UNCName, ARRAYSIZE(start->UNCName));
  /* The driver looks for an existing mount entry under a name spelled slightly differently from
   * the one it stores (only a one-letter mount point becomes X:), so a second mount on M:\ is
   * not caught here; the library's own drive letter check catches it. */
  WCHAR taken[MAX_PATH + 16];
  if (wcslen(start->MountPoint) == 1) {
    swprintf(taken, ARRAYSIZE(taken), DOS_DEVICES L"%lc:", towupper(start->MountPoint[0]));
  } else {
    swprintf(taken, ARRAYSIZE(taken), DOS_DEVICES L"%ls", start->MountPoint);
  }
  fake_volume *volume = acceptable ? calloc(1, sizeof *volume) : NULL;
  if (volume == NULL) {
    free(start);
    return STATUS_SUCCESS;
  }
  volume->references = 2; /* the mount entry's and the timeout thread's */
  InitializeCriticalSection(&volume->lock);
  InitializeConditionVariable(&volume->queue_ready);
  InitializeConditionVariable(&volume->irp_completed);
  InitializeListHead(&volume->pending);
  InitializeListHead(&volume->queue);
  InitializeListHead(&volume->fcbs);
  InitializeListHead(&volume->ccbs);
  InitializeListHead(&volume->notifications);
  volume->stop_timeouts = CreateEventW(NULL, TRUE, FALSE, NULL);
  volume->network = start->DeviceType == DOKAN_NETWORK_FILE_SYSTEM;
  volume->mount_options = start->Flags;
  volume->allow_batching = (start->Flags & DOKAN_EVENT_ALLOW_IPC_BATCHING) != 0;
  wcscpy(volume->unc_name, start->UNCName);
  mount_entry_name(start->MountPoint, volume->mount_entry, ARRAYSIZE(volume->mount_entry));
  volume->irp_timeout = DOKAN_IRP_PENDING_TIMEOUT;
  if (start->IrpTimeout > 0) {
    volume->irp_timeout = min(max(start->IrpTimeout, (ULONG)DOKAN_IRP_PENDING_TIMEOUT),
                              (ULONG)DOKAN_IRP_PENDING_TIMEOUT_RESET_MAX);
  }
  free(start);

  AcquireSRWLockExclusive(&driver.lock);
  if (find_mounted(taken) != NULL) {
    ReleaseSRWLockExclusive(&driver.lock);
    volume->references = 1;
    volume_release_reference(volume);
    return STATUS_SUCCESS;
  }
  /* The GUID of the n-th mount has the mount count folded into Data2 and Data3. */
  GUID guid = base_guid;
  guid.Data2 ^= (USHORT)(driver.mount_id & 0xFFFF);
  guid.Data3 ^= (USHORT)(driver.mount_id >> 16);
  volume->mount_id = ++driver.mount_id;
  swprintf(volume->device_name, ARRAYSIZE(volume->device_name),
           L"%ls{%08lX-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
           volume->network ? NETWORK_LINK_NAME : DISK_LINK_NAME, guid.Data1, guid.Data2,
           guid.Data3, guid.Data4[0], guid.Data4[1], guid.Data4[2], guid.Data4[3],
           guid.Data4[4], guid.Data4[5], guid.Data4[6], guid.Data4[7]);
  InsertTailList(&driver.volumes, &volume->mounted_link);
  ReleaseSRWLockExclusive(&driver.lock);

  volume->timeout_thread =
      CreateThread(NULL, 0, timeout_thread, volume, 0, &volume->timeout_thread_id);
  if (volume->timeout_thread == NULL) {
    fprintf(stderr, "dokan double: cannot start the timeout thread (error %lu)\n",
            GetLastError());
    volume_release_reference(volume);
  }
  info->Status = DOKAN_MOUNTED;
  info->DeviceNumber = volume->mount_id;
  info->MountId = volume->mount_id;
  wcscpy(info->DeviceName, volume->device_name);
  return STATUS_SUCCESS;
}

/* FSCTL_EVENT_RELEASE on the global device (DokanGlobalEventRelease): unmounts the volume
 * mounted at the given mount point. */
static NTSTATUS global_release(const char *buffer, DWORD input_length) {
  const DOKAN_UNICODE_STRING_INTERMEDIATE *mount_point =
      (const DOKAN_UNICODE_STRING_INTERMEDIATE *)buffer;
  if (input_length < sizeof *mount_point ||
      (ULONG)FIELD_OFFSET(DOKAN_UNICODE_STRING_INTERMEDIATE, Buffer) + mount_point->Length >
          input_length ||
      (ULONG)FIELD_OFFSET(DOKAN_UNICODE_STRING_INTERMEDIATE, Buffer) +
              mount_point->MaximumLength >
          input_length ||
      mount_point->Length > mount_point->MaximumLength) {
    return STATUS_BUFFER_TOO_SMALL;
  }
  WCHAR entry[MAX_PATH + 16] = DOS_DEVICES;
  size_t prefix = wcslen(DOS_DEVICES), characters = mount_point->Length / sizeof(WCHAR);
  if (characters < 4) {
    entry[prefix] = towupper(mount_point->Buffer[0]);
    entry[prefix + 1] = L':';
  } else if (prefix + characters < ARRAYSIZE(entry)) {
    wmemcpy(entry + prefix, mount_point->Buffer, characters);
  } else {
    return STATUS_BUFFER_OVERFLOW;
  }
  AcquireSRWLockShared(&driver.lock);
  fake_volume *volume = find_mounted(entry);
  if (volume != NULL) volume_reference(volume);
  ReleaseSRWLockShared(&driver.lock);
  if (volume == NULL) return STATUS_BUFFER_TOO_SMALL;
  NTSTATUS status = STATUS_SUCCESS;
  if (volume->unmount_pending) {
    status = STATUS_DEVICE_REMOVED;
    join_timeout_thread(volume);
  } else {
    release_volume(volume);
  }
  volume_release_reference(volume);
  return status;
}

/* FSCTL_EVENT_MOUNTPOINT_LIST (DokanGetMountPointList). */
static NTSTATUS mount_point_list(char *buffer, DWORD output_length, ULONG_PTR *information) {
  NTSTATUS status = STATUS_SUCCESS;
  AcquireSRWLockShared(&driver.lock);
  for (LIST_ENTRY *link = driver.volumes.Flink; link != &driver.volumes; link = link->Flink) {
    fake_volume *volume = CONTAINING_RECORD(link, fake_volume, mounted_link);
    if (*information + sizeof(DOKAN_MOUNT_POINT_INFO) > output_length) {
      status = STATUS_BUFFER_OVERFLOW;
      break;
    }
    PDOKAN_MOUNT_POINT_INFO info = (PDOKAN_MOUNT_POINT_INFO)(buffer + *information);
    memset(info, 0, sizeof *info);
    info->Type = volume->network ? FILE_DEVICE_NETWORK_FILE_SYSTEM : FILE_DEVICE_DISK_FILE_SYSTEM;
    info->SessionId = (ULONG)-1;
    info->MountOptions = volume->mount_options;
    wcsncpy(info->MountPoint, volume->mount_entry, ARRAYSIZE(info->MountPoint) - 1);
    wcscpy(info->UNCName, volume->unc_name);
    device_object_name(volume, info->DeviceName, ARRAYSIZE(info->DeviceName));
    *information += sizeof *info;
  }
  ReleaseSRWLockShared(&driver.lock);
  return status;
}

/* DokanGlobalUserFsRequest. */
static NTSTATUS global_control(DWORD code, char *buffer, DWORD input_length,
                               DWORD output_length, ULONG_PTR *information) {
  switch (code) {
  case FSCTL_GET_VERSION:
    if (output_length < sizeof(ULONG)) return STATUS_BUFFER_TOO_SMALL;
    *(ULONG *)buffer = DOKAN_DRIVER_VERSION;
    *information = sizeof(ULONG);
    return STATUS_SUCCESS;
  case FSCTL_SET_DEBUG_MODE: /* the driver's log level, which has no counterpart here */
    return input_length < sizeof(ULONG) ? STATUS_BUFFER_TOO_SMALL : STATUS_SUCCESS;
  case FSCTL_EVENT_START:
    return event_start(buffer, input_length, output_length, information);
  case FSCTL_EVENT_RELEASE:
    return global_release(buffer, input_length);
  case FSCTL_EVENT_MOUNTPOINT_LIST:
    return mount_point_list(buffer, output_length, information);
  case FSCTL_MOUNTPOINT_CLEANUP: /* drops links left by dead sessions: there are none */
    return STATUS_SUCCESS;
  default:
    return STATUS_INVALID_DEVICE_REQUEST;
  }
}

/* ---- requests and the event queue ---- */

PEVENT_CONTEXT driver_event_context(fake_volume *volume, ULONG length, UCHAR major, UCHAR minor,
                                    ULONG irp_flags, ULONG ccb_flags, ULONG64 user_context) {
  PEVENT_CONTEXT context = calloc(1, length);
  if (context == NULL) abort();
  context->Length = length;
  context->MountId = volume->mount_id;
  /* The requestor: the test's requests run on this process's threads. */
  context->ProcessId = GetCurrentProcessId();
  context->MajorFunction = major;
  context->MinorFunction = minor;
  context->Flags = irp_flags;
  context->FileFlags = ccb_flags;
  context->Context = user_context;
  return context;
}

static void queue_event(fake_volume *volume, const EVENT_CONTEXT *context) {
  queued_event *event = malloc(FIELD_OFFSET(queued_event, context) + context->Length);
  if (event == NULL) abort();
  memcpy(&event->context, context, context->Length);
  InsertTailList(&volume->queue, &event->link);
  WakeConditionVariable(&volume->queue_ready);
}

void driver_notify(fake_volume *volume, PEVENT_CONTEXT context) {
  if (!volume->unmount_pending) queue_event(volume, context);
}

NTSTATUS driver_call(fake_volume *volume, PEVENT_CONTEXT context, fake_irp *irp) {
  if (volume->unmount_pending) return STATUS_NO_SUCH_DEVICE;
  /* DokanRegisterPendingIrp: only a write may exceed what one pull carries (it goes in two
   * parts); any other request that large is refused. */
  if (context->MajorFunction != IRP_MJ_WRITE && context->Length > EVENT_CONTEXT_MAX_SIZE) {
    return STATUS_INVALID_PARAMETER;
  }
  context->SerialNumber = irp->serial = ++volume->serial;
  irp->major = context->MajorFunction;
  irp->deadline = GetTickCount64() + volume->irp_timeout;
  irp->done = FALSE;
  irp->reply = NULL;
  irp->reply_length = 0;
  InsertTailList(&volume->pending, &irp->link);
  queue_event(volume, context);
  while (!irp->done) SleepConditionVariableCS(&volume->irp_completed, &volume->lock, INFINITE);
  free(irp->large_write);
  irp->large_write = NULL;
  return irp->status;
}

static fake_irp *find_pending(fake_volume *volume, ULONG serial) {
  for (LIST_ENTRY *link = volume->pending.Flink; link != &volume->pending; link = link->Flink) {
    fake_irp *irp = CONTAINING_RECORD(link, fake_irp, link);
    if (irp->serial == serial) return irp;
  }
  return NULL;
}

/* How much of the input an answer takes (the driver's GetEventInfoSize): a write's and a
 * STATUS_BUFFER_OVERFLOW's answer is the bare structure, every other one carries BufferLength
 * bytes. In 64 bits, where the driver's 32-bit sum could wrap. */
static ULONGLONG reply_size(UCHAR major, const EVENT_INFORMATION *reply) {
  if (major == IRP_MJ_WRITE || reply->Status == STATUS_BUFFER_OVERFLOW) {
    return sizeof(EVENT_INFORMATION);
  }
  return max((ULONGLONG)sizeof(EVENT_INFORMATION),
             FIELD_OFFSET(EVENT_INFORMATION, Buffer) + (ULONGLONG)reply->BufferLength);
}

/* DokanCompleteIrp: the answer completes the pending request with its serial number; an answer
 * for a request that already timed out finds none and is dropped. An answer whose size does not
 * match what it says it carries is a library bug, on which the driver unmounts. One that says it
 * carries more than it does (BufferLength bytes, but for a write) would have the driver read
 * past it; the double fails the request instead, with the driver's STATUS_INVALID_PARAMETER. */
static NTSTATUS complete_from_user_mode(fake_volume *volume, const EVENT_INFORMATION *reply,
                                        ULONG length, BOOL *bad_usage) {
  fake_irp *irp = find_pending(volume, reply->SerialNumber);
  if (irp == NULL) return STATUS_SUCCESS;
  ULONGLONG size = reply_size(irp->major, reply);
  /* A write's BufferLength counts what was written; any other is the length of its Buffer. */
  ULONGLONG claimed = FIELD_OFFSET(EVENT_INFORMATION, Buffer) +
                      (irp->major == IRP_MJ_WRITE ? 0 : (ULONGLONG)reply->BufferLength);
  *bad_usage = size > length || (size < length && reply->Status != STATUS_BUFFER_OVERFLOW &&
                                 !volume->allow_batching);
  BOOL short_answer = claimed > length;
  if (*bad_usage || short_answer) {
    fprintf(stderr,
            "dokan double: an answer of %lu bytes for request %lu (IRP 0x%x) says it has %llu"
            "%s%s\n",
            length, irp->serial, irp->major, claimed,
            short_answer ? "; the request fails with STATUS_INVALID_PARAMETER" : "",
            *bad_usage ? "; unmounting as the driver does" : "");
  }
  if (short_answer) {
    irp->status = STATUS_INVALID_PARAMETER;
  } else {
    irp->reply = malloc(length);
    if (irp->reply == NULL) abort();
    memcpy(irp->reply, reply, length);
    irp->reply_length = length;
    irp->status = STATUS_SUCCESS;
  }
  irp->done = TRUE;
  RemoveEntryList(&irp->link);
  WakeAllConditionVariable(&volume->irp_completed);
  return *bad_usage ? STATUS_INVALID_PARAMETER : STATUS_SUCCESS;
}

/* PullEvents: waits up to `timeout` milliseconds (0: for ever) for queued EVENT_CONTEXTs and
 * hands out one, or as many as fit `output` when the volume allows batching. */
static NTSTATUS pull_events(fake_volume *volume, char *output, DWORD output_length, ULONG timeout,
                            ULONG_PTR *information) {
  ULONGLONG give_up = GetTickCount64() + timeout;
  while (IsListEmpty(&volume->queue) && !volume->unmount_pending) {
    DWORD wait = INFINITE;
    if (timeout != 0) {
      ULONGLONG now = GetTickCount64();
      if (now >= give_up) return STATUS_SUCCESS;
      wait = (DWORD)(give_up - now);
    }
    SleepConditionVariableCS(&volume->queue_ready, &volume->lock, wait);
  }
  if (volume->unmount_pending) return STATUS_NO_SUCH_DEVICE;
  for (LIST_ENTRY *link = volume->queue.Flink; link != &volume->queue;) {
    queued_event *event = CONTAINING_RECORD(link, queued_event, link);
    link = link->Flink;
    /* One that does not fit waits for a pull with room for it. */
    if (*information + event->context.Length > output_length) continue;
    memcpy(output + *information, &event->context, event->context.Length);
    *information += event->context.Length;
    RemoveEntryList(&event->link);
    free(event);
    if (!volume->allow_batching) break;
  }
  if (!IsListEmpty(&volume->queue)) WakeConditionVariable(&volume->queue_ready);
  return STATUS_SUCCESS;
}

/* FSCTL_EVENT_PROCESS_N_PULL (DokanProcessAndPullEvents): completes the request the input
 * answers, if any, then pulls. The library's main pull threads send no answer or a zero
 * PullEventTimeoutMs and wait for ever. The pulled EVENT_CONTEXTs go straight to `output`:
 * what the I/O manager would copy there from the system buffer, once the input is read. */
static NTSTATUS process_and_pull(fake_volume *volume, const char *buffer, DWORD input_length,
                                 char *output, DWORD output_length, ULONG_PTR *information,
                                 BOOL *bad_usage) {
  const EVENT_INFORMATION *reply = (const EVENT_INFORMATION *)buffer;
  NTSTATUS status;
  EnterCriticalSection(&volume->lock);
  if (volume->unmount_pending) {
    status = STATUS_NO_SUCH_DEVICE;
  } else if (input_length < sizeof(EVENT_INFORMATION)) {
    status = STATUS_BUFFER_TOO_SMALL;
  } else {
    status = complete_from_user_mode(volume, reply, input_length, bad_usage);
  }
  if ((status == STATUS_SUCCESS || status == STATUS_BUFFER_TOO_SMALL) &&
      output_length >= sizeof(EVENT_CONTEXT)) {
    ULONG timeout = status == STATUS_BUFFER_TOO_SMALL ? 0 : reply->PullEventTimeoutMs;
    status = pull_events(volume, output, output_length, timeout, information);
  }
  LeaveCriticalSection(&volume->lock);
  return status;
}

/* FSCTL_EVENT_WRITE (DokanEventWrite): hands a large write's full EVENT_CONTEXT to the buffer
 * user mode allocated for it (METHOD_OUT_DIRECT: straight into the caller's output). */
static NTSTATUS event_write(fake_volume *volume, const char *buffer, DWORD input_length,
                            void *output, DWORD output_length, ULONG_PTR *information) {
  if (input_length < sizeof(EVENT_INFORMATION)) return STATUS_BUFFER_TOO_SMALL;
  ULONG serial = ((const EVENT_INFORMATION *)buffer)->SerialNumber;
  NTSTATUS status = STATUS_CANCELLED; /* the request is gone: cancelled, or timed out */
  EnterCriticalSection(&volume->lock);
  fake_irp *irp = find_pending(volume, serial);
  if (irp != NULL && irp->large_write != NULL) {
    if (output_length < irp->large_write->Length) {
      status = STATUS_INSUFFICIENT_RESOURCES;
    } else {
      memcpy(output, irp->large_write, irp->large_write->Length);
      ((PEVENT_CONTEXT)output)->SerialNumber = serial;
      *information = irp->large_write->Length;
      status = STATUS_SUCCESS;
    }
    free(irp->large_write);
    irp->large_write = NULL;
  }
  LeaveCriticalSection(&volume->lock);
  return status;
}

/* FSCTL_RESET_TIMEOUT (DokanResetPendingIrpTimeout): the request now times out the given number
 * of milliseconds from now, at most five minutes. */
static NTSTATUS reset_timeout(fake_volume *volume, const char *buffer, DWORD input_length) {
  if (input_length < sizeof(EVENT_INFORMATION)) return STATUS_BUFFER_TOO_SMALL;
  const EVENT_INFORMATION *info = (const EVENT_INFORMATION *)buffer;
  ULONG timeout = min(info->Operation.ResetTimeout.Timeout,
                      (ULONG)DOKAN_IRP_PENDING_TIMEOUT_RESET_MAX);
  EnterCriticalSection(&volume->lock);
  fake_irp *irp = find_pending(volume, info->SerialNumber);
  if (irp != NULL) irp->deadline = GetTickCount64() + timeout;
  LeaveCriticalSection(&volume->lock);
  return STATUS_SUCCESS;
}

/* FSCTL_GET_ACCESS_TOKEN (DokanGetAccessToken): the token of the process that made a pending
 * create, opened into the caller; the requestor is this very process. */
static NTSTATUS access_token(fake_volume *volume, char *buffer, DWORD input_length,
                             DWORD output_length, ULONG_PTR *information) {
  if (input_length < sizeof(EVENT_INFORMATION)) return STATUS_BUFFER_TOO_SMALL;
  if (output_length != sizeof(EVENT_INFORMATION)) return STATUS_INVALID_PARAMETER;
  PEVENT_INFORMATION info = (PEVENT_INFORMATION)buffer;
  EnterCriticalSection(&volume->lock);
  fake_irp *irp = find_pending(volume, info->SerialNumber);
  BOOL create = irp != NULL && irp->major == IRP_MJ_CREATE;
  LeaveCriticalSection(&volume->lock);
  HANDLE token;
  if (!create || !OpenProcessToken(GetCurrentProcess(), TOKEN_ALL_ACCESS, &token)) {
    return STATUS_INVALID_PARAMETER;
  }
  info->Operation.AccessToken.Handle = token;
  *information = sizeof *info;
  return STATUS_SUCCESS;
}

/* DokanDiskUserFsRequest: the FSCTLs of the volume's disk device. */
static NTSTATUS volume_control(fake_volume *volume, DWORD code, char *buffer, DWORD input_length,
                               void *output, DWORD output_length, ULONG_PTR *information) {
  BOOL bad_usage = FALSE;
  NTSTATUS status;
  switch (code) {
  case FSCTL_EVENT_PROCESS_N_PULL:
    status = process_and_pull(volume, buffer, input_length, output, output_length, information,
                              &bad_usage);
    if (bad_usage) release_volume(volume);
    return status;
  case FSCTL_EVENT_RELEASE:
    release_volume(volume);
    return STATUS_SUCCESS;
  case FSCTL_EVENT_WRITE:
    return event_write(volume, buffer, input_length, output, output_length, information);
  case FSCTL_RESET_TIMEOUT:
    return reset_timeout(volume, buffer, input_length);
  case FSCTL_GET_ACCESS_TOKEN:
    return access_token(volume, buffer, input_length, output_length, information);
  default:
    return STATUS_INVALID_DEVICE_REQUEST;
  }
}

/* FSCTL_ACTIVATE_KEEPALIVE: from now on, closing this handle unmounts, and a timeout no longer
 * does. Only one keepalive handle may be active. */
static NTSTATUS activate_keepalive(HANDLE handle) {
  NTSTATUS status = STATUS_INVALID_PARAMETER;
  fake_volume *volume = NULL;
  AcquireSRWLockExclusive(&driver.lock);
  for (LIST_ENTRY *link = driver.handles.Flink; link != &driver.handles; link = link->Flink) {
    fake_handle *open = CONTAINING_RECORD(link, fake_handle, link);
    if (open->handle != handle) continue;
    if (open->kind == KEEPALIVE_FILE &&
        (!open->volume->keepalive_active || open->keepalive_active)) {
      open->keepalive_active = TRUE;
      volume = open->volume;
      volume->keepalive_active = TRUE;
      status = STATUS_SUCCESS;
    }
    break;
  }
  ReleaseSRWLockExclusive(&driver.lock);
  if (volume != NULL) serve_oldest();
  return status;
}

/* FSCTL_NOTIFY_PATH (DokanNotify*): a change the file system reports itself. The driver passes
 * it to directory watchers, turning file actions into stream actions for a stream's name; here
 * it is recorded for the `notifications` request. */
static NTSTATUS notify_path(fake_volume *volume, const char *buffer, DWORD input_length) {
  const DOKAN_NOTIFY_PATH_INTERMEDIATE *notify = (const DOKAN_NOTIFY_PATH_INTERMEDIATE *)buffer;
  if (input_length < sizeof *notify ||
      (ULONG)FIELD_OFFSET(DOKAN_NOTIFY_PATH_INTERMEDIATE, Buffer) + notify->Length >
          input_length) {
    return STATUS_BUFFER_TOO_SMALL;
  }
  ULONG action = notify->Action, filter = notify->CompletionFilter;
  USHORT characters = notify->Length / sizeof(WCHAR);
  if (wmemchr(notify->Buffer, L':', characters) != NULL) {
    switch (action) {
    case FILE_ACTION_ADDED:
      action = FILE_ACTION_ADDED_STREAM;
      break;
    case FILE_ACTION_REMOVED:
      action = FILE_ACTION_REMOVED_STREAM;
      break;
    case FILE_ACTION_MODIFIED:
      action = FILE_ACTION_MODIFIED_STREAM;
      break;
    }
    ULONG stream_filter = 0;
    if (filter & (FILE_NOTIFY_CHANGE_DIR_NAME | FILE_NOTIFY_CHANGE_FILE_NAME)) {
      stream_filter |= FILE_NOTIFY_CHANGE_STREAM_NAME;
    }
    if (filter & FILE_NOTIFY_CHANGE_SIZE) stream_filter |= FILE_NOTIFY_CHANGE_STREAM_SIZE;
    if (filter & FILE_NOTIFY_CHANGE_LAST_WRITE) stream_filter |= FILE_NOTIFY_CHANGE_STREAM_WRITE;
    filter = stream_filter;
  }
  EnterCriticalSection(&volume->lock);
  kernel_record_notification(volume, notify->Buffer, characters, filter, action);
  LeaveCriticalSection(&volume->lock);
  return STATUS_SUCCESS;
}

/* ---- mount points ---- */

/* The mount point reparse data CreateMountPoint (dokan/mount.c) writes. */
typedef struct mount_point_reparse {
  ULONG ReparseTag;
  USHORT ReparseDataLength;
  USHORT Reserved;
  USHORT SubstituteNameOffset;
  USHORT SubstituteNameLength;
  USHORT PrintNameOffset;
  USHORT PrintNameLength;
  WCHAR PathBuffer[];
} mount_point_reparse;

/* Whether a reparse point's target, \??\Volume{GUID}\, is one of our volumes. */
static BOOL targets_our_volume(const mount_point_reparse *reparse, DWORD length) {
  if (length < sizeof *reparse || reparse->ReparseTag != IO_REPARSE_TAG_MOUNT_POINT ||
      sizeof *reparse + reparse->SubstituteNameOffset + reparse->SubstituteNameLength > length) {
    return FALSE;
  }
  const WCHAR *target = reparse->PathBuffer + reparse->SubstituteNameOffset / sizeof(WCHAR);
  size_t characters = reparse->SubstituteNameLength / sizeof(WCHAR);
  BOOL ours = FALSE;
  AcquireSRWLockShared(&driver.lock);
  for (LIST_ENTRY *link = driver.volumes.Flink; link != &driver.volumes && !ours;
       link = link->Flink) {
    fake_volume *volume = CONTAINING_RECORD(link, fake_volume, mounted_link);
    WCHAR expected[80];
    int expected_length =
        swprintf(expected, ARRAYSIZE(expected), L"\\??%ls\\", volume->device_name);
    ours = (size_t)expected_length == characters &&
           _wcsnicmp(target, expected, characters) == 0;
  }
  ReleaseSRWLockShared(&driver.lock);
  return ours;
}

/* Whether the directory open as `folder` holds nothing but . and ... The library opened it for
 * writing only and shares it with no one, so neither that handle nor a new open can list it;
 * a duplicate of the handle with listing access can. */
static BOOL empty_directory(HANDLE folder) {
  HANDLE listing;
  if (!DuplicateHandle(GetCurrentProcess(), folder, GetCurrentProcess(), &listing,
                       FILE_LIST_DIRECTORY | SYNCHRONIZE, FALSE, 0)) {
    return FALSE;
  }
  union {
    FILE_FULL_DIR_INFO entry;
    char bytes[4096];
  } page;
  BOOL empty = TRUE;
  FILE_INFO_BY_HANDLE_CLASS next = FileFullDirectoryRestartInfo;
  while (empty && GetFileInformationByHandleEx(listing, next, &page, sizeof page)) {
    next = FileFullDirectoryInfo;
    for (char *at = page.bytes;; at += ((FILE_FULL_DIR_INFO *)at)->NextEntryOffset) {
      const FILE_FULL_DIR_INFO *entry = (const FILE_FULL_DIR_INFO *)at;
      size_t characters = entry->FileNameLength / sizeof(WCHAR);
      if (!(characters == 1 && entry->FileName[0] == L'.') &&
          !(characters == 2 && wcsncmp(entry->FileName, L"..", 2) == 0)) {
        empty = FALSE;
      }
      if (entry->NextEntryOffset == 0) break;
    }
  }
  CloseHandle(listing);
  return empty;
}

/* FSCTL_SET_REPARSE_POINT with a mount point for one of our volumes, on a real folder: what NTFS
 * does, without touching the folder. It must be an empty directory. */
static NTSTATUS make_mount_folder(HANDLE folder) {
  WCHAR path[MAX_PATH];
  DWORD length = GetFinalPathNameByHandleW(folder, path, MAX_PATH, FILE_NAME_NORMALIZED);
  if (length == 0 || length >= MAX_PATH) return STATUS_OBJECT_NAME_INVALID;
  DWORD attributes = GetFileAttributesW(path);
  if (attributes == INVALID_FILE_ATTRIBUTES || !(attributes & FILE_ATTRIBUTE_DIRECTORY)) {
    return STATUS_NOT_A_DIRECTORY;
  }
  if (!empty_directory(folder)) return STATUS_DIRECTORY_NOT_EMPTY;
  mount_folder *record = malloc(sizeof *record + (length + 1) * sizeof(WCHAR));
  if (record == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  wcscpy(record->path, path);
  AcquireSRWLockExclusive(&driver.lock);
  /* A mount point set again replaces the old one. */
  for (LIST_ENTRY *link = driver.folders.Flink; link != &driver.folders;) {
    mount_folder *old = CONTAINING_RECORD(link, mount_folder, link);
    link = link->Flink;
    if (_wcsicmp(old->path, path) == 0) {
      RemoveEntryList(&old->link);
      free(old);
    }
  }
  InsertTailList(&driver.folders, &record->link);
  ReleaseSRWLockExclusive(&driver.lock);
  return STATUS_SUCCESS;
}

/* Compares a folder path as the library writes it (C:\folder\) with a recorded one
 * (\\?\C:\folder). */
static BOOL same_folder(const WCHAR *given, const WCHAR *recorded) {
  if (wcsncmp(recorded, L"\\\\?\\", 4) == 0) recorded += 4;
  if (wcsncmp(given, L"\\\\?\\", 4) == 0) given += 4;
  size_t length = wcslen(given);
  while (length > 0 && given[length - 1] == L'\\') length--;
  return wcslen(recorded) == length && _wcsnicmp(given, recorded, length) == 0;
}

/* ---- the redirected Win32 functions ---- */

/* Which of our devices `name` opens, and on which mounted volume (with a reference). */
static BOOL identify(const WCHAR *name, device_kind *kind, fake_volume **volume) {
  *volume = NULL;
  if (_wcsicmp(name, GLOBAL_DEVICE_NAME) == 0) {
    *kind = GLOBAL_DEVICE;
    return TRUE;
  }
  if (wcsncmp(name, L"\\\\.\\", 4) != 0 && wcsncmp(name, L"\\\\?\\", 4) != 0) return FALSE;
  AcquireSRWLockShared(&driver.lock);
  for (LIST_ENTRY *link = driver.volumes.Flink; link != &driver.volumes; link = link->Flink) {
    fake_volume *candidate = CONTAINING_RECORD(link, fake_volume, mounted_link);
    size_t length = wcslen(candidate->device_name);
    /* name + 3 is \Volume{GUID}... in both \\.\Volume{GUID} and \\?\Volume{GUID}\file. */
    if (_wcsnicmp(name + 3, candidate->device_name, length) != 0) continue;
    const WCHAR *rest = name + 3 + length;
    if (*rest == L'\0' && name[2] == L'.') {
      *kind = VOLUME_DEVICE;
    } else if (_wcsicmp(rest, DOKAN_KEEPALIVE_FILE_NAME) == 0) {
      *kind = KEEPALIVE_FILE;
    } else if (_wcsicmp(rest, DOKAN_NOTIFICATION_FILE_NAME) == 0) {
      *kind = NOTIFICATION_FILE;
    } else {
      continue;
    }
    *volume = candidate;
    volume_reference(candidate);
    break;
  }
  ReleaseSRWLockShared(&driver.lock);
  return *volume != NULL;
}

HANDLE WINAPI FakeDokanCreateFileW(LPCWSTR name, DWORD access, DWORD share,
                                   LPSECURITY_ATTRIBUTES security, DWORD disposition,
                                   DWORD flags, HANDLE template_file) {
  device_kind kind;
  fake_volume *volume;
  if (name == NULL || !identify(name, &kind, &volume)) {
    return CreateFileW(name, access, share, security, disposition, flags, template_file);
  }
  /* A machine with Dokan's library but no driver loaded (after a failed install, or with the
   * driver service stopped) has no such device. The doctor's suite plays that machine. */
  if (kind == GLOBAL_DEVICE && GetEnvironmentVariableW(L"DOKAN_DOUBLE_NO_DRIVER", NULL, 0) > 0) {
    fail(STATUS_OBJECT_NAME_NOT_FOUND);
    return INVALID_HANDLE_VALUE;
  }
  if (volume != NULL && volume->unmount_pending && kind != VOLUME_DEVICE) {
    volume_release_reference(volume);
    fail(STATUS_NO_SUCH_DEVICE);
    return INVALID_HANDLE_VALUE;
  }
  fake_handle *open = calloc(1, sizeof *open);
  HANDLE token = CreateEventW(NULL, FALSE, FALSE, NULL);
  if (open == NULL || token == NULL) {
    free(open);
    if (token != NULL) CloseHandle(token);
    if (volume != NULL) volume_release_reference(volume);
    fail(STATUS_INSUFFICIENT_RESOURCES);
    return INVALID_HANDLE_VALUE;
  }
  open->handle = token;
  open->kind = kind;
  open->volume = volume;
  AcquireSRWLockExclusive(&driver.lock);
  InsertTailList(&driver.handles, &open->link);
  ReleaseSRWLockExclusive(&driver.lock);
  return token;
}

BOOL WINAPI FakeDokanCloseHandle(HANDLE handle) {
  fake_handle *open = NULL;
  AcquireSRWLockExclusive(&driver.lock);
  for (LIST_ENTRY *link = driver.handles.Flink; link != &driver.handles; link = link->Flink) {
    if (CONTAINING_RECORD(link, fake_handle, link)->handle == handle) {
      open = CONTAINING_RECORD(link, fake_handle, link);
      RemoveEntryList(link);
      break;
    }
  }
  ReleaseSRWLockExclusive(&driver.lock);
  if (open == NULL) return CloseHandle(handle);
  /* The cleanup of the active keepalive handle unmounts (DokanDispatchCleanup). */
  if (open->keepalive_active) release_volume(open->volume);
  if (open->volume != NULL) volume_release_reference(open->volume);
  CloseHandle(open->handle);
  free(open);
  return TRUE;
}

BOOL WINAPI FakeDokanDeviceIoControl(HANDLE handle, DWORD code, LPVOID input, DWORD input_length,
                                     LPVOID output, DWORD output_length, LPDWORD returned,
                                     LPOVERLAPPED overlapped) {
  device_kind kind = GLOBAL_DEVICE;
  fake_volume *volume = NULL;
  BOOL ours = FALSE;
  AcquireSRWLockShared(&driver.lock);
  for (LIST_ENTRY *link = driver.handles.Flink; link != &driver.handles; link = link->Flink) {
    fake_handle *open = CONTAINING_RECORD(link, fake_handle, link);
    if (open->handle != handle) continue;
    ours = TRUE;
    kind = open->kind;
    volume = open->volume;
    if (volume != NULL) volume_reference(volume);
    break;
  }
  ReleaseSRWLockShared(&driver.lock);
  if (!ours) {
    if (code == FSCTL_SET_REPARSE_POINT && targets_our_volume(input, input_length)) {
      NTSTATUS status = make_mount_folder(handle);
      if (!NT_SUCCESS(status)) {
        fail(status);
        return FALSE;
      }
      if (returned != NULL) *returned = 0;
      return TRUE;
    }
    return DeviceIoControl(handle, code, input, input_length, output, output_length, returned,
                           overlapped);
  }
  /* METHOD_BUFFERED: the driver reads its input and writes its output in one system buffer,
   * of which the I/O manager copies `information` bytes back. A pull and a large write's
   * transfer put theirs straight into `output`, so their buffer holds only the input. */
  BOOL answers_in_output = code == FSCTL_EVENT_PROCESS_N_PULL || code == FSCTL_EVENT_WRITE;
  char *buffer = calloc(1, max(max(input_length, answers_in_output ? 0 : output_length), 1));
  if (buffer == NULL) abort();
  if (input != NULL) memcpy(buffer, input, input_length);
  ULONG_PTR information = 0;
  NTSTATUS status;
  switch (kind) {
  case GLOBAL_DEVICE:
    status = global_control(code, buffer, input_length, output_length, &information);
    break;
  case VOLUME_DEVICE:
    status = volume_control(volume, code, buffer, input_length, output, output_length,
                            &information);
    break;
  default:
    if (code == FSCTL_ACTIVATE_KEEPALIVE) {
      status = activate_keepalive(handle);
    } else if (code == FSCTL_NOTIFY_PATH) {
      status = notify_path(volume, buffer, input_length);
    } else {
      status = STATUS_INVALID_DEVICE_REQUEST;
    }
  }
  if (!NT_ERROR(status)) {
    if (!answers_in_output && output != NULL) {
      memcpy(output, buffer, min(information, (ULONG_PTR)output_length));
    }
    if (returned != NULL) *returned = (DWORD)information;
  }
  free(buffer);
  if (volume != NULL) volume_release_reference(volume);
  if (!NT_SUCCESS(status)) {
    fail(status);
    return FALSE;
  }
  return TRUE;
}

/* A mounted drive letter names the volume's device, as the driver's link makes it. */
DWORD WINAPI FakeDokanQueryDosDeviceW(LPCWSTR device, LPWSTR target, DWORD target_length) {
  WCHAR name[96] = L"";
  if (device != NULL && wcslen(device) == 2 && device[1] == L':') {
    AcquireSRWLockShared(&driver.lock);
    for (LIST_ENTRY *link = driver.volumes.Flink; link != &driver.volumes; link = link->Flink) {
      fake_volume *volume = CONTAINING_RECORD(link, fake_volume, mounted_link);
      if (drive_letter(volume) == towupper(device[0])) {
        device_object_name(volume, name, ARRAYSIZE(name));
      }
    }
    ReleaseSRWLockShared(&driver.lock);
  }
  if (name[0] == L'\0') return QueryDosDeviceW(device, target, target_length);
  /* The answer is a list of names, each NUL-terminated, ended by another NUL. */
  DWORD length = (DWORD)wcslen(name) + 2;
  if (target == NULL || target_length < length) {
    SetLastError(ERROR_INSUFFICIENT_BUFFER);
    return 0;
  }
  wcscpy(target, name);
  target[length - 1] = L'\0';
  return length;
}

DWORD WINAPI FakeDokanGetLogicalDrives(void) {
  DWORD drives = GetLogicalDrives();
  AcquireSRWLockShared(&driver.lock);
  for (LIST_ENTRY *link = driver.volumes.Flink; link != &driver.volumes; link = link->Flink) {
    WCHAR letter = drive_letter(CONTAINING_RECORD(link, fake_volume, mounted_link));
    if (letter >= L'A' && letter <= L'Z') drives |= 1u << (letter - L'A');
  }
  ReleaseSRWLockShared(&driver.lock);
  return drives;
}

/* Removes a mount point folder made for one of our volumes; any other goes to Windows. */
BOOL WINAPI FakeDokanDeleteVolumeMountPointW(LPCWSTR mount_point) {
  mount_folder *found = NULL;
  AcquireSRWLockExclusive(&driver.lock);
  for (LIST_ENTRY *link = driver.folders.Flink; link != &driver.folders; link = link->Flink) {
    mount_folder *folder = CONTAINING_RECORD(link, mount_folder, link);
    if (mount_point != NULL && same_folder(mount_point, folder->path)) {
      found = folder;
      RemoveEntryList(link);
      break;
    }
  }
  ReleaseSRWLockExclusive(&driver.lock);
  if (found == NULL) return DeleteVolumeMountPointW(mount_point);
  free(found);
  return TRUE;
}
