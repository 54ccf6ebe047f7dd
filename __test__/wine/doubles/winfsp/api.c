/* WinFsp's user-mode API as the double's winfsp-x64.dll exports it: creating and deleting the
 * file system object, mount points, the dispatcher threads, answers to pending requests, and
 * the helpers file systems call back (operation context, directory records, version). */
#include "double.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The dispatcher's thread count when the file system leaves it to WinFsp: one per processor,
 * within these bounds; and never fewer than two threads. */
enum { DEFAULT_THREADS_MIN = 4, DEFAULT_THREADS_MAX = 16, THREADS_MIN = 2 };

static INIT_ONCE tls_once = INIT_ONCE_STATIC_INIT;
static DWORD tls_index = TLS_OUT_OF_INDEXES;

/* Process-wide: the drive letters our volumes hold (Windows would see them defined). */
static SRWLOCK globals_lock = SRWLOCK_INIT;
static DWORD drives_in_use;

static FSP_FILE_SYSTEM_INTERFACE null_interface;

/* Whether WINFSP_DOUBLE_TRACE is set, read once by whichever thread traces first. */
static INIT_ONCE trace_once = INIT_ONCE_STATIC_INIT;
static BOOL trace_enabled;

static BOOL CALLBACK read_trace_setting(PINIT_ONCE once, PVOID parameter, PVOID *context) {
  (void)once, (void)parameter, (void)context;
  trace_enabled = GetEnvironmentVariableA("WINFSP_DOUBLE_TRACE", NULL, 0) > 0;
  return TRUE;
}

void trace(const char *format, ...) {
  InitOnceExecuteOnce(&trace_once, read_trace_setting, NULL, NULL);
  if (!trace_enabled) return;
  va_list arguments;
  va_start(arguments, format);
  fprintf(stderr, "winfsp double [%lu]: ", GetCurrentThreadId());
  vfprintf(stderr, format, arguments);
  fputc('\n', stderr);
  fflush(stderr);
  va_end(arguments);
}

static BOOL CALLBACK allocate_tls(PINIT_ONCE once, PVOID parameter, PVOID *context) {
  (void)once, (void)parameter, (void)context;
  tls_index = TlsAlloc();
  return TRUE;
}

/* ---- the file system object ---- */

/* The driver's check of the volume parameters, and the defaults it fills in. */
static NTSTATUS volume_params(const FSP_FSCTL_VOLUME_PARAMS *given, BOOL network,
                              FSP_FSCTL_VOLUME_PARAMS *params) {
  /* Version 0 is the first layout (456 bytes); otherwise it is the size passed. */
  size_t size = given->Version ? given->Version : sizeof(FSP_FSCTL_VOLUME_PARAMS_V0);
  if (size < sizeof(FSP_FSCTL_VOLUME_PARAMS_V0) || size > sizeof(FSP_FSCTL_VOLUME_PARAMS)) {
    return STATUS_INVALID_PARAMETER;
  }
  memset(params, 0, sizeof *params);
  memcpy(params, given, size);
  if (params->SectorSize == 0) params->SectorSize = 512;
  if (params->SectorsPerAllocationUnit == 0) params->SectorsPerAllocationUnit = 1;
  if (params->MaxComponentLength == 0) params->MaxComponentLength = 255;
  if (params->TransactTimeout == 0) {
    params->TransactTimeout = 24 * 60 * 60 * 1000;
  } else if (params->TransactTimeout < FspFsctlTransactTimeoutMinimum ||
             params->TransactTimeout > FspFsctlTransactTimeoutMaximum) {
    params->TransactTimeout = FspFsctlTransactTimeoutDefault;
  }
  if ((params->IrpTimeout < FspFsctlIrpTimeoutMinimum ||
       params->IrpTimeout > FspFsctlIrpTimeoutMaximum) &&
      params->IrpTimeout != FspFsctlIrpTimeoutDebug) {
    params->IrpTimeout = FspFsctlIrpTimeoutDefault;
  }
  if (params->IrpCapacity < FspFsctlIrpCapacityMinimum ||
      params->IrpCapacity > FspFsctlIrpCapacityMaximum) {
    params->IrpCapacity = FspFsctlIrpCapacityDefault;
  }
  BOOL v0 = size == sizeof(FSP_FSCTL_VOLUME_PARAMS_V0);
  UINT32 file_info = params->FileInfoTimeout;
  if (v0 || !params->VolumeInfoTimeoutValid) params->VolumeInfoTimeout = file_info;
  if (v0 || !params->DirInfoTimeoutValid) params->DirInfoTimeout = file_info;
  if (v0 || !params->SecurityTimeoutValid) params->SecurityTimeout = file_info;
  if (v0 || !params->StreamInfoTimeoutValid) params->StreamInfoTimeout = file_info;
  if (v0 || !params->EaTimeoutValid) params->EaTimeout = file_info;
  params->VolumeInfoTimeoutValid = params->DirInfoTimeoutValid = params->SecurityTimeoutValid =
      params->StreamInfoTimeoutValid = params->EaTimeoutValid = 1;
  if (network) {
    /* A network volume's prefix is \server\share: one leading backslash, at least one more. */
    WCHAR *prefix = params->Prefix;
    size_t length = 0;
    prefix[ARRAYSIZE(params->Prefix) - 1] = L'\0';
    while (prefix[length]) length++;
    while (length > 0 && prefix[length - 1] == L'\\') prefix[--length] = L'\0';
    if (length == 0 || prefix[0] != L'\\' || prefix[1] == L'\\' || !wcschr(prefix + 1, L'\\')) {
      return STATUS_INVALID_PARAMETER;
    }
  }
  params->FileSystemName[ARRAYSIZE(params->FileSystemName) - 1] = L'\0';
  return STATUS_SUCCESS;
}

/* The device a file system names: WinFsp.Disk or WinFsp.Net, under \Device\ or not. */
static BOOL device_kind(const WCHAR *device, BOOL *network) {
  if (_wcsnicmp(device, L"\\Device\\", 8) == 0) device += 8;
  *network = _wcsicmp(device, L"" FSP_FSCTL_NET_DEVICE_NAME) == 0;
  return *network || _wcsicmp(device, L"" FSP_FSCTL_DISK_DEVICE_NAME) == 0;
}

FSP_API NTSTATUS FspFileSystemCreate(PWSTR DevicePath, const FSP_FSCTL_VOLUME_PARAMS *VolumeParams,
                                     const FSP_FILE_SYSTEM_INTERFACE *Interface,
                                     FSP_FILE_SYSTEM **PFileSystem) {
  *PFileSystem = NULL;
  if (VolumeParams->UmFileContextIsUserContext2 && VolumeParams->UmFileContextIsFullContext) {
    return STATUS_INVALID_PARAMETER;
  }
  if (Interface == NULL) Interface = &null_interface;
  InitOnceExecuteOnce(&tls_once, allocate_tls, NULL, NULL);
  if (tls_index == TLS_OUT_OF_INDEXES) return STATUS_INSUFFICIENT_RESOURCES;
  BOOL network;
  if (!device_kind(DevicePath, &network)) return STATUS_NO_SUCH_DEVICE;
  FSP_FSCTL_VOLUME_PARAMS params;
  NTSTATUS status = volume_params(VolumeParams, network, &params);
  if (!NT_SUCCESS(status)) return status;

  FSP_FILE_SYSTEM *fs = calloc(1, sizeof *fs);
  fsd_volume *volume = fs ? fsd_volume_new(&params) : NULL;
  if (volume == NULL) {
    free(fs);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  /* The driver names each volume \Device\Volume{GUID}, followed by the prefix on a network;
   * the double's GUIDs are the process id and a count. */
  static LONG volumes;
  swprintf(fs->VolumeName, ARRAYSIZE(fs->VolumeName),
           L"\\Device\\Volume{%08lx-0000-0000-0000-%012lx}%ls", GetCurrentProcessId(),
           (unsigned long)InterlockedIncrement(&volumes), network ? params.Prefix : L"");
  fs->VolumeHandle = volume;
  volume->network = network;
  fs->Operations[FspFsctlTransactCreateKind] = FspFileSystemOpCreate;
  fs->Operations[FspFsctlTransactOverwriteKind] = FspFileSystemOpOverwrite;
  fs->Operations[FspFsctlTransactCleanupKind] = FspFileSystemOpCleanup;
  fs->Operations[FspFsctlTransactCloseKind] = FspFileSystemOpClose;
  fs->Operations[FspFsctlTransactReadKind] = FspFileSystemOpRead;
  fs->Operations[FspFsctlTransactWriteKind] = FspFileSystemOpWrite;
  fs->Operations[FspFsctlTransactQueryInformationKind] = FspFileSystemOpQueryInformation;
  fs->Operations[FspFsctlTransactSetInformationKind] = FspFileSystemOpSetInformation;
  fs->Operations[FspFsctlTransactFlushBuffersKind] = FspFileSystemOpFlushBuffers;
  fs->Operations[FspFsctlTransactQueryVolumeInformationKind] =
      FspFileSystemOpQueryVolumeInformation;
  fs->Operations[FspFsctlTransactSetVolumeInformationKind] = FspFileSystemOpSetVolumeInformation;
  fs->Operations[FspFsctlTransactQueryDirectoryKind] = FspFileSystemOpQueryDirectory;
  fs->Operations[FspFsctlTransactQuerySecurityKind] = FspFileSystemOpQuerySecurity;
  fs->Operations[FspFsctlTransactFileSystemControlKind] = FspFileSystemOpFileSystemControl;
  fs->Operations[FspFsctlTransactSetSecurityKind] = FspFileSystemOpSetSecurity;
  fs->Interface = Interface;
  fs->OpGuardStrategy = FSP_FILE_SYSTEM_OPERATION_GUARD_STRATEGY_FINE;
  InitializeSRWLock(&fs->OpGuardLock);
  fs->EnterOperation = FspFileSystemOpEnter;
  fs->LeaveOperation = FspFileSystemOpLeave;
  fs->UmFileContextIsUserContext2 = !!VolumeParams->UmFileContextIsUserContext2;
  fs->UmFileContextIsFullContext = !!VolumeParams->UmFileContextIsFullContext;
  fs->UmNoReparsePointsDirCheck = VolumeParams->UmNoReparsePointsDirCheck;
  *PFileSystem = fs;
  trace("created %ls on %ls", fs->VolumeName, DevicePath);
  return STATUS_SUCCESS;
}

FSP_API VOID FspFileSystemDelete(FSP_FILE_SYSTEM *FileSystem) {
  fsd_volume *volume = FileSystem->VolumeHandle;
  /* WinFsp's Delete frees the object under a running dispatcher, whose threads then use freed
   * memory: a bug of the caller, which must stop the dispatcher first. It is made loud here,
   * where it would otherwise fail somewhere else, some time later. */
  if (FileSystem->DispatcherThread &&
      WaitForSingleObject(FileSystem->DispatcherThread, 0) == WAIT_TIMEOUT) {
    fprintf(stderr, "winfsp double: FspFileSystemDelete(%ls) with its dispatcher running; "
                    "FspFileSystemStopDispatcher must come first\n",
            FileSystem->VolumeName);
    fflush(stderr);
    abort();
  }
  FspFileSystemRemoveMountPoint(FileSystem);
  /* Closing the volume fails whatever is still waiting, as FSP_FSCTL_STOP does; a dispatcher
   * that stopped on its own may have left the volume served. */
  ioq_stop(&volume->ioq, TRUE);
  kd_server_detach(volume);
  fsd_volume_free(volume);
  if (FileSystem->DispatcherThread) CloseHandle(FileSystem->DispatcherThread);
  free(FileSystem);
}

/* ---- mount points ---- */

static BOOL is_drive(const WCHAR *path) {
  return ((path[0] >= L'A' && path[0] <= L'Z') || (path[0] >= L'a' && path[0] <= L'z')) &&
         path[1] == L':' && path[2] == L'\0';
}

/* \\.\X: or \\?\X: (a drive through the mount manager), or the same followed by a path. */
static BOOL is_mountmgr_point(const WCHAR *path) {
  return path[0] == L'\\' && path[1] == L'\\' && (path[2] == L'.' || path[2] == L'?') &&
         path[3] == L'\\' && path[4] && path[5] == L':';
}

static DWORD drive_bit(WCHAR letter) {
  return 1u << ((letter | 0x20) - L'a');
}

/* Claims drive `letter` the way DefineDosDevice makes it exist; a letter in use (a disk of
 * this machine, or another of our volumes) is refused as FspFileSystemPreflight refuses it. */
static NTSTATUS claim_drive(WCHAR letter) {
  AcquireSRWLockExclusive(&globals_lock);
  DWORD used = GetLogicalDrives() | drives_in_use;
  BOOL free_letter = !(used & drive_bit(letter));
  if (free_letter) drives_in_use |= drive_bit(letter);
  ReleaseSRWLockExclusive(&globals_lock);
  return free_letter ? STATUS_SUCCESS : STATUS_OBJECT_NAME_COLLISION;
}

/* WinFsp mounts on a folder by creating it (it must not exist yet) and making it a junction to
 * the volume. The double creates the folder and keeps it, deleted when the mount point goes,
 * without the junction: no Windows program under Wine would follow it to the double. */
static NTSTATUS claim_folder(FSP_FILE_SYSTEM *fs, const WCHAR *path) {
  /* Junctions cannot lead to network volumes, whose names have a third backslash. */
  int backslashes = 0;
  for (const WCHAR *at = fs->VolumeName; *at; at++) backslashes += *at == L'\\';
  if (backslashes >= 3) return STATUS_NETWORK_ACCESS_DENIED;
  if (!CreateDirectoryW(path, NULL)) return status_from_win32(GetLastError());
  HANDLE folder = CreateFileW(path, FILE_WRITE_ATTRIBUTES | DELETE,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                              OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_DELETE_ON_CLOSE,
                              NULL);
  if (folder == INVALID_HANDLE_VALUE) {
    NTSTATUS status = status_from_win32(GetLastError());
    RemoveDirectoryW(path);
    return status;
  }
  fs->MountHandle = folder;
  return STATUS_SUCCESS;
}

static NTSTATUS set_mount_point(FSP_FILE_SYSTEM *fs, WCHAR *mount_point) {
  if (mount_point[0] == L'*' && mount_point[1] == L':' && mount_point[2] == L'\0') {
    for (WCHAR letter = L'Z'; letter >= L'D'; letter--) {
      if (NT_SUCCESS(claim_drive(letter))) {
        mount_point[0] = letter;
        return STATUS_SUCCESS;
      }
    }
    return STATUS_NO_SUCH_DEVICE;
  }
  if (is_mountmgr_point(mount_point)) {
    return mount_point[6] == L'\0' ? claim_drive(mount_point[4])
                                   : claim_folder(fs, mount_point + 4);
  }
  if (is_drive(mount_point)) return claim_drive(mount_point[0]);
  return claim_folder(fs, mount_point);
}

FSP_API NTSTATUS FspFileSystemSetMountPointEx(FSP_FILE_SYSTEM *FileSystem, PWSTR MountPoint,
                                              PSECURITY_DESCRIPTOR SecurityDescriptor) {
  (void)SecurityDescriptor;
  if (FileSystem->MountPoint) return STATUS_INVALID_PARAMETER;
  WCHAR *mount_point = _wcsdup(MountPoint ? MountPoint : L"*:");
  if (mount_point == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  NTSTATUS status = set_mount_point(FileSystem, mount_point);
  trace("mount point %ls: 0x%08lx", mount_point, (unsigned long)status);
  if (NT_SUCCESS(status)) {
    FileSystem->MountPoint = mount_point;
    fsd_volume *volume = FileSystem->VolumeHandle;
    const WCHAR *where = is_mountmgr_point(mount_point) ? mount_point + 4 : mount_point;
    AcquireSRWLockExclusive(&volume->lock);
    wcsncpy(volume->mount_point, where, ARRAYSIZE(volume->mount_point) - 1);
    ReleaseSRWLockExclusive(&volume->lock);
  } else {
    free(mount_point);
  }
  return status;
}

FSP_API NTSTATUS FspFileSystemSetMountPoint(FSP_FILE_SYSTEM *FileSystem, PWSTR MountPoint) {
  return FspFileSystemSetMountPointEx(FileSystem, MountPoint, NULL);
}

FSP_API VOID FspFileSystemRemoveMountPoint(FSP_FILE_SYSTEM *FileSystem) {
  WCHAR *mount_point = FileSystem->MountPoint;
  if (mount_point == NULL) return;
  if (FileSystem->MountHandle) {
    CloseHandle(FileSystem->MountHandle);
  } else {
    WCHAR letter = is_mountmgr_point(mount_point) ? mount_point[4] : mount_point[0];
    AcquireSRWLockExclusive(&globals_lock);
    drives_in_use &= ~drive_bit(letter);
    ReleaseSRWLockExclusive(&globals_lock);
  }
  free(mount_point);
  fsd_volume *volume = FileSystem->VolumeHandle;
  AcquireSRWLockExclusive(&volume->lock);
  volume->mount_point[0] = L'\0';
  ReleaseSRWLockExclusive(&volume->lock);
  FileSystem->MountPoint = NULL;
  FileSystem->MountHandle = NULL;
}

/* ---- the dispatcher ---- */

/* Serves one fetched request as WinFsp's dispatcher does: the operation runs inside the
 * operation guard, and its answer goes back at once unless it is STATUS_PENDING. */
static void serve(FSP_FILE_SYSTEM *fs, fsd_volume *volume, FSP_FSCTL_TRANSACT_REQ *request,
                  FSP_FSCTL_TRANSACT_RSP *response) {
  memset(response, 0, sizeof *response);
  response->Size = sizeof *response;
  response->Kind = request->Kind;
  response->Hint = request->Hint;
  NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;
  if (request->Kind < FspFsctlTransactKindCount && fs->Operations[request->Kind]) {
    status = FspFileSystemEnterOperation(fs, request, response);
    if (NT_SUCCESS(status)) {
      status = fs->Operations[request->Kind](fs, request, response);
      FspFileSystemLeaveOperation(fs, request, response);
    }
  }
  response->IoStatus.Status = (UINT32)status;
  trace("served kind=%u hint=%llu: 0x%08lx", (unsigned)request->Kind,
        (unsigned long long)request->Hint, (unsigned long)status);
  if (status == STATUS_PENDING) return;
  size_t size = FSP_FSCTL_DEFAULT_ALIGN_UP(response->Size);
  if (size > FSP_FSCTL_TRANSACT_RSP_SIZEMAX) {
    memset(response, 0, sizeof *response);
    response->Size = sizeof *response;
    response->Kind = request->Kind;
    response->Hint = request->Hint;
    response->IoStatus.Status = (UINT32)STATUS_INVALID_DEVICE_REQUEST;
  } else {
    memset((UINT8 *)response + response->Size, 0, size - response->Size);
    response->Size = (UINT16)size;
  }
  ioq_complete(&volume->ioq, response, response->Size);
}

/* A dispatcher thread. Like WinFsp's, each starts the next until there are as many as asked,
 * waits for it before ending, and the first one reports the end to DispatcherStopped. */
static DWORD WINAPI dispatcher_thread(void *parameter) {
  FSP_FILE_SYSTEM *fs = parameter;
  fsd_volume *volume = fs->VolumeHandle;
  HANDLE next = NULL;
  FSP_FILE_SYSTEM_OPERATION_CONTEXT context = {malloc(FSP_FSCTL_TRANSACT_BUFFER_SIZEMIN),
                                               malloc(FSP_FSCTL_TRANSACT_RSP_SIZEMAX)};
  /* What the driver answers a dispatcher of a stopped volume, unless starting failed. */
  NTSTATUS result = STATUS_CANCELLED;
  if (fs->DispatcherThreadCount > 1) {
    fs->DispatcherThreadCount--;
    next = CreateThread(NULL, 0, dispatcher_thread, fs, 0, NULL);
    if (next == NULL) result = status_from_win32(GetLastError());
  }
  if (context.Request == NULL || context.Response == NULL) result = STATUS_INSUFFICIENT_RESOURCES;
  if (result == STATUS_CANCELLED) {
    TlsSetValue(tls_index, &context);
    while (ioq_fetch(&volume->ioq, context.Request)) {
      serve(fs, volume, context.Request, context.Response);
    }
    TlsSetValue(tls_index, NULL);
  }
  free(context.Request);
  free(context.Response);
  FspFileSystemSetDispatcherResult(fs, result);
  /* One thread ending stops the others, as FspFsctlStop0 does. */
  ioq_stop(&volume->ioq, FALSE);
  if (next) {
    WaitForSingleObject(next, INFINITE);
    CloseHandle(next);
  }
  if (GetCurrentThreadId() == GetThreadId(fs->DispatcherThread) &&
      fs->Interface->DispatcherStopped) {
    fs->Interface->DispatcherStopped(fs, fs->DispatcherStopping);
  }
  return (DWORD)result;
}

FSP_API NTSTATUS FspFileSystemStartDispatcher(FSP_FILE_SYSTEM *FileSystem, ULONG ThreadCount) {
  if (FileSystem->DispatcherThread) return STATUS_INVALID_PARAMETER;
  if (ThreadCount == 0) {
    DWORD_PTR process_mask, system_mask;
    if (!GetProcessAffinityMask(GetCurrentProcess(), &process_mask, &system_mask)) {
      return status_from_win32(GetLastError());
    }
    for (; process_mask; process_mask >>= 1) ThreadCount += process_mask & 1;
    if (ThreadCount < DEFAULT_THREADS_MIN) ThreadCount = DEFAULT_THREADS_MIN;
    if (ThreadCount > DEFAULT_THREADS_MAX) ThreadCount = DEFAULT_THREADS_MAX;
  }
  if (ThreadCount < THREADS_MIN) ThreadCount = THREADS_MIN;
  FileSystem->DispatcherThreadCount = ThreadCount;
  trace("starting %lu dispatcher threads", ThreadCount);
  FileSystem->DispatcherThread = CreateThread(NULL, 0, dispatcher_thread, FileSystem, 0, NULL);
  if (FileSystem->DispatcherThread == NULL) return status_from_win32(GetLastError());
  /* The kernel half serves the test protocol once the volume is served: this volume, in place
   * of any other, whose requests already running finish on it. */
  kd_server_start(fsd_serve, FileSystem->VolumeHandle);
  return STATUS_SUCCESS;
}

FSP_API VOID FspFileSystemStopDispatcher(FSP_FILE_SYSTEM *FileSystem) {
  if (FileSystem->DispatcherThread == NULL) return;
  fsd_volume *volume = FileSystem->VolumeHandle;
  FileSystem->DispatcherStopping = 1;
  /* FSP_FSCTL_STOP0: the threads stop fetching; answers to fetched requests still count. */
  ioq_stop(&volume->ioq, FALSE);
  WaitForSingleObject(FileSystem->DispatcherThread, INFINITE);
  CloseHandle(FileSystem->DispatcherThread);
  FileSystem->DispatcherThread = NULL;
  /* FSP_FSCTL_STOP: everything still waiting fails with STATUS_CANCELLED. */
  ioq_stop(&volume->ioq, TRUE);
  /* The test protocol lets go of the volume once no request uses it, which the cancellation
   * above makes quick, so that the volume can be freed. */
  kd_server_detach(volume);
  FileSystem->DispatcherStopping = 0;
}

/* An answer through FspFsctlTransact, with Response->Size as the input's length. When the
 * driver refuses it, WinFsp's DLL records the failure and stops the dispatcher. */
FSP_API VOID FspFileSystemSendResponse(FSP_FILE_SYSTEM *FileSystem,
                                       FSP_FSCTL_TRANSACT_RSP *Response) {
  fsd_volume *volume = FileSystem->VolumeHandle;
  NTSTATUS status = ioq_complete(&volume->ioq, Response, Response->Size);
  if (!NT_SUCCESS(status)) {
    FspFileSystemSetDispatcherResult(FileSystem, status);
    ioq_stop(&volume->ioq, FALSE);
  }
}

FSP_API FSP_FILE_SYSTEM_OPERATION_CONTEXT *FspFileSystemGetOperationContext(VOID) {
  return TlsGetValue(tls_index);
}

/* ---- change notifications ---- */

/* Waits out a running rename the way WinFsp does: growing pauses, until `Timeout` (ms) has
 * passed, INFINITE for no limit. */
FSP_API NTSTATUS FspFileSystemNotifyBegin(FSP_FILE_SYSTEM *FileSystem, ULONG Timeout) {
  static const ULONG pauses[] = {10, 10, 50, 50, 100, 100, 300};
  ULONG waited = 0;
  for (size_t i = 0;; i++) {
    NTSTATUS status = fsd_notify_begin(FileSystem->VolumeHandle);
    if (status != STATUS_CANT_WAIT) return status;
    ULONG pause = pauses[i < ARRAYSIZE(pauses) ? i : ARRAYSIZE(pauses) - 1];
    if (Timeout != INFINITE) {
      if (waited >= Timeout) return status;
      if (pause > Timeout - waited) pause = Timeout - waited;
      waited += pause;
    }
    Sleep(pause);
  }
}

FSP_API NTSTATUS FspFileSystemNotify(FSP_FILE_SYSTEM *FileSystem,
                                     FSP_FSCTL_NOTIFY_INFO *NotifyInfo, SIZE_T Size) {
  return fsd_notify(FileSystem->VolumeHandle, NotifyInfo, Size);
}

FSP_API NTSTATUS FspFileSystemNotifyEnd(FSP_FILE_SYSTEM *FileSystem) {
  /* An empty record (Size 0) ends the notification. */
  FSP_FSCTL_NOTIFY_INFO end = {0};
  return fsd_notify(FileSystem->VolumeHandle, &end, sizeof end.Size);
}

/* ---- helpers for file systems ---- */

/* Appends one record that starts with its UINT16 Size, padded to 8 bytes; a NULL record
 * appends the end mark (a zero Size, 2 bytes, not padded). FALSE when it does not fit. */
static BOOLEAN add_record(const void *record, PVOID Buffer, ULONG Length,
                          PULONG PBytesTransferred) {
  static const UINT16 end_mark = 0;
  const void *source = record ? record : &end_mark;
  ULONG size = *(const UINT16 *)source;
  ULONG taken = record ? FSP_FSCTL_DEFAULT_ALIGN_UP(size) : sizeof end_mark;
  if (record == NULL) size = sizeof end_mark;
  if (*PBytesTransferred + taken > Length) return FALSE;
  memcpy((UINT8 *)Buffer + *PBytesTransferred, source, size);
  *PBytesTransferred += taken;
  return TRUE;
}

FSP_API BOOLEAN FspFileSystemAddDirInfo(FSP_FSCTL_DIR_INFO *DirInfo, PVOID Buffer, ULONG Length,
                                        PULONG PBytesTransferred) {
  return add_record(DirInfo, Buffer, Length, PBytesTransferred);
}

FSP_API BOOLEAN FspFileSystemAddNotifyInfo(FSP_FSCTL_NOTIFY_INFO *NotifyInfo, PVOID Buffer,
                                           ULONG Length, PULONG PBytesTransferred) {
  return add_record(NotifyInfo, Buffer, Length, PBytesTransferred);
}

/* The DLL's version from its version resource (major in the high 16 bits), as WinFsp does. */
FSP_API NTSTATUS FspVersion(PUINT32 PVersion) {
  static UINT32 version;
  if (version == 0) {
    HMODULE self;
    WCHAR path[MAX_PATH];
    DWORD handle, size;
    VS_FIXEDFILEINFO *fixed = NULL;
    UINT fixed_size;
    *PVersion = 0;
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                                GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (LPCWSTR)(void *)FspVersion, &self) ||
        !GetModuleFileNameW(self, path, MAX_PATH) ||
        (size = GetFileVersionInfoSizeW(path, &handle)) == 0) {
      return STATUS_UNSUCCESSFUL;
    }
    void *info = malloc(size);
    if (info && GetFileVersionInfoW(path, 0, size, info) &&
        VerQueryValueW(info, L"\\", (void **)&fixed, &fixed_size)) {
      version = fixed->dwFileVersionMS;
    }
    free(info);
    if (fixed == NULL) return STATUS_UNSUCCESSFUL;
  }
  *PVersion = version;
  return STATUS_SUCCESS;
}

/* The side-by-side identity: empty for a DLL installed the ordinary way. */
FSP_API PWSTR FspSxsIdent(VOID) {
  static WCHAR none[] = L"";
  return none;
}
