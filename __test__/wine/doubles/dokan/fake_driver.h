/* The fake dokan2.sys, linked into dokan2.dll next to Dokany's unchanged user-mode library.
 *
 * fake_driver.c is the driver's user-mode boundary: the devices the library opens
 * (\\.\Dokan_2, each volume's device, the keepalive and notification files), the FSCTLs it sends
 * them, the queue of EVENT_CONTEXTs its threads pull, the pending requests with their timeouts,
 * and unmounting. kernel_side.c is the driver's other side: it turns the test protocol's requests
 * (../README.md) into the IRPs Windows would send, keeps the per-file state the driver keeps (FCBs
 * and CCBs), and completes each IRP from user mode's EVENT_INFORMATION as the driver does.
 *
 * Names and numbers follow the sources of Dokany 2.0.6's driver (sys/); the structures are those
 * of its sys/public.h and dokan/fileinfo.h. */
#ifndef MOUNTKIT_DOKAN_FAKE_DRIVER_H
#define MOUNTKIT_DOKAN_FAKE_DRIVER_H

#include "dokan.h" /* Dokany's dokan/dokan.h: windows.h, ntstatus.h, fileinfo.h, public.h */

#include "../common/kernel_server.h"

/* ntdef.h and ntifs.h, which user-mode headers lack. */
#ifndef NT_SUCCESS
#define NT_SUCCESS(status) ((NTSTATUS)(status) >= 0)
#endif
#define NT_ERROR(status) ((ULONG)(status) >> 30 == 3)
#define FILE_ACTION_ADDED_STREAM 0x00000006
#define FILE_ACTION_REMOVED_STREAM 0x00000007
#define FILE_ACTION_MODIFIED_STREAM 0x00000008
#define FILE_NOTIFY_CHANGE_STREAM_NAME 0x00000200
#define FILE_NOTIFY_CHANGE_STREAM_SIZE 0x00000400
#define FILE_NOTIFY_CHANGE_STREAM_WRITE 0x00000800

/* sys/dokan.h: the request timeout's bounds, and how often the driver looks for expired ones. */
#define DOKAN_IRP_PENDING_TIMEOUT (1000 * 15)
/* The prefix of every mount entry: \DosDevices\M: or \DosDevices\C:\folder. */
#define DOS_DEVICES L"\\DosDevices\\"
#define DOKAN_IRP_PENDING_TIMEOUT_RESET_MAX (1000 * 60 * 5)
#define DOKAN_CHECK_INTERVAL (1000 * 5)

/* A request sent to user mode, from its registration until it completes. */
typedef struct fake_irp {
  LIST_ENTRY link; /* in fake_volume.pending while it waits */
  ULONG serial;
  UCHAR major;
  ULONGLONG deadline; /* GetTickCount64() value after which the driver gives up */
  BOOL done;
  /* How it completed: STATUS_SUCCESS with `reply` when user mode answered, otherwise the status
   * the driver completed it with itself (timeout, unmount). */
  NTSTATUS status;
  /* A copy of user mode's answer, reply_length bytes as sent (never fewer than the structure).
   * Its Buffer holds BufferLength bytes, but for a write (whose BufferLength counts what was
   * written): an answer that says more fails the request instead. */
  PEVENT_INFORMATION reply;
  ULONG reply_length;
  /* A large write's full EVENT_CONTEXT, which user mode fetches with FSCTL_EVENT_WRITE. */
  PEVENT_CONTEXT large_write;
} fake_irp;

typedef struct fake_volume {
  LIST_ENTRY mounted_link; /* in the driver's mount entries until released */
  LONG references;
  /* Guards everything below, the kernel side's state included. */
  CRITICAL_SECTION lock;
  CONDITION_VARIABLE queue_ready;   /* an EVENT_CONTEXT was queued, or the volume goes away */
  CONDITION_VARIABLE irp_completed; /* some fake_irp became done */

  ULONG mount_id;
  WCHAR device_name[64];          /* \Volume{GUID}, as EVENT_DRIVER_INFO.DeviceName */
  WCHAR mount_entry[MAX_PATH + 16]; /* \DosDevices\M: or \DosDevices\C:\folder */
  WCHAR unc_name[64];
  ULONG mount_options; /* EVENT_START.Flags: DOKAN_EVENT_* */
  BOOL network;
  ULONG irp_timeout;   /* milliseconds */
  BOOL allow_batching;
  BOOL unmount_pending;
  BOOL keepalive_active;
  WCHAR *label; /* set through FileFsLabelInformation; NULL until then */

  ULONG serial;       /* the last SerialNumber handed out */
  LIST_ENTRY pending; /* fake_irp */
  LIST_ENTRY queue;   /* queued_event: EVENT_CONTEXTs not yet pulled */
  HANDLE stop_timeouts;
  /* The timeout thread, which unmounting waits for: a thread of the driver's own that is still
   * exiting when the process exits, right after its last unmount, can crash Wine. */
  HANDLE timeout_thread;
  DWORD timeout_thread_id;

  /* The kernel side's state (kernel_side.c). */
  LIST_ENTRY fcbs;          /* open files by name */
  LIST_ENTRY ccbs;          /* open handles */
  ULONG64 last_handle;
  LIST_ENTRY notifications; /* FSCTL_NOTIFY_PATH calls not yet read */
} fake_volume;

/* ---- fake_driver.c, for the kernel side ---- */

/* Registers `irp` for `context` (which it copies) as a pending request, queues the EVENT_CONTEXT
 * for user mode and waits, with the volume lock held, until the request completes. Returns
 * STATUS_SUCCESS when user mode answered (`irp->reply`, to be freed by the caller), or the
 * driver's own status: STATUS_NO_SUCH_DEVICE when the volume is unmounting,
 * STATUS_INSUFFICIENT_RESOURCES after a timeout, STATUS_CANCELLED when the volume went away,
 * STATUS_INVALID_PARAMETER for an answer that says it carries more than it does. */
NTSTATUS driver_call(fake_volume *volume, PEVENT_CONTEXT context, fake_irp *irp);

/* Queues `context` for user mode without waiting for an answer, as the driver does for
 * IRP_MJ_CLOSE. Called with the volume lock held. */
void driver_notify(fake_volume *volume, PEVENT_CONTEXT context);

/* The driver's EVENT_CONTEXT header for a request about an open (ccb_flags and context from
 * its CCB; 0 for none): MountId, ProcessId, function and flags. Zero-filled past the header. */
PEVENT_CONTEXT driver_event_context(fake_volume *volume, ULONG length, UCHAR major, UCHAR minor,
                                    ULONG irp_flags, ULONG ccb_flags, ULONG64 user_context);

/* ---- kernel_side.c, for the driver ---- */

/* Serves one request of the test protocol on the volume `context` (a kd_handler). */
void kernel_serve(void *context, const kd_request *request, kd_reply *reply);

/* Records a DokanNotify* call that reached the driver (FSCTL_NOTIFY_PATH). Called with the
 * volume lock held. */
void kernel_record_notification(fake_volume *volume, const WCHAR *path, USHORT length,
                                ULONG filter, ULONG action);

/* Frees the kernel side's state of a volume nobody refers to any more. */
void kernel_free_volume(fake_volume *volume);

#endif
