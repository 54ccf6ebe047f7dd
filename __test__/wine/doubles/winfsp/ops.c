/* The FspFileSystemOp* functions: how WinFsp's DLL serves each request on a dispatcher thread
 * by calling the file system's FSP_FILE_SYSTEM_INTERFACE, and the access checks it makes on
 * the way (GetSecurityByName, then AccessCheck with the caller's token).
 *
 * Symbolic links: a name that is a reparse point, or runs through one, makes the access check
 * answer STATUS_REPARSE, and the create is answered with what ResolveReparsePoints makes of
 * the name; FSCTL_GET/SET/DELETE_REPARSE_POINT become the reparse callbacks; and
 * FspFileSystemResolveReparsePoints follows symbolic links component by component.
 *
 * Not reproduced, because no volume of ours offers them: named streams, extended attributes,
 * reparse points other than symbolic links, traverse checks (every request of the kernel half
 * carries HasTraversePrivilege, as Windows accounts have by default), and the operations the
 * kernel half never sends (EA, stream, security changes, ioctl). */
#include "double.h"

#include <stdlib.h>
#include <string.h>

static GENERIC_MAPPING file_mapping = {FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                                       FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};

NTSTATUS status_from_win32(DWORD error) {
  switch (error) {
    case ERROR_SUCCESS: return STATUS_SUCCESS;
    case ERROR_ACCESS_DENIED: return STATUS_ACCESS_DENIED;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY: return STATUS_INSUFFICIENT_RESOURCES;
    case ERROR_FILE_NOT_FOUND: return STATUS_OBJECT_NAME_NOT_FOUND;
    case ERROR_PATH_NOT_FOUND: return STATUS_OBJECT_PATH_NOT_FOUND;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS: return STATUS_OBJECT_NAME_COLLISION;
    case ERROR_INVALID_NAME: return STATUS_OBJECT_NAME_INVALID;
    case ERROR_INVALID_PARAMETER: return STATUS_INVALID_PARAMETER;
    case ERROR_INVALID_SECURITY_DESCR: return STATUS_INVALID_SECURITY_DESCR;
    case ERROR_NO_TOKEN: return STATUS_NO_TOKEN;
    case ERROR_BAD_IMPERSONATION_LEVEL: return STATUS_BAD_IMPERSONATION_LEVEL;
    default:
      /* What FspNtStatusFromWin32 answers for codes it has no name for. */
      return error <= 0xffff ? (NTSTATUS)(0x80070000 | error) : STATUS_ACCESS_DENIED;
  }
}

/* ---- file contexts ---- */

/* The FileContext a callback gets for a request whose Req.Xxx starts with the UserContext,
 * UserContext2 pair at `pair`: by default UserContext (the driver keeps one per open file,
 * the first open's), with UmFileContextIsUserContext2 this handle's UserContext2, with
 * UmFileContextIsFullContext the address of the pair itself. */
static PVOID file_context(FSP_FILE_SYSTEM *fs, UINT64 *pair) {
  if (fs->UmFileContextIsFullContext) return pair;
  return (PVOID)(UINT_PTR)pair[fs->UmFileContextIsUserContext2];
}

/* Where Create and Open put the new context: the member of `pair` that file_context() reads
 * (UserContext for a full context, which the file system fills in whole). */
static PVOID *file_context_slot(FSP_FILE_SYSTEM *fs, UINT64 *pair) {
  return (PVOID *)&pair[fs->UmFileContextIsUserContext2];
}

/* ---- access checks ---- */

static HANDLE request_token(UINT64 access_token) {
  return FSP_FSCTL_TRANSACT_REQ_TOKEN_HANDLE(access_token);
}

/* GetSecurityByName with its size protocol: the callback answers STATUS_BUFFER_OVERFLOW with
 * the size it needs, and is asked again with a buffer that large. */
static NTSTATUS security_by_name(FSP_FILE_SYSTEM *fs, PWSTR name, UINT32 *attributes,
                                 PSECURITY_DESCRIPTOR *descriptor, SIZE_T *size) {
  for (;;) {
    NTSTATUS status =
        fs->Interface->GetSecurityByName(fs, name, attributes, *descriptor, size);
    if (status != STATUS_BUFFER_OVERFLOW) return status;
    free(*descriptor);
    *descriptor = malloc(*size);
    if (*descriptor == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  }
}

static NTSTATUS token_check(PSECURITY_DESCRIPTOR descriptor, HANDLE token, UINT32 desired,
                            UINT32 *granted) {
  union {
    PRIVILEGE_SET set;
    BYTE bytes[sizeof(PRIVILEGE_SET) + 15 * sizeof(LUID_AND_ATTRIBUTES)];
  } privileges;
  DWORD privileges_length = sizeof privileges, granted_access = 0;
  BOOL allowed = FALSE;
  if (!AccessCheck(descriptor, token, desired, &file_mapping, &privileges.set,
                   &privileges_length, &granted_access, &allowed)) {
    return status_from_win32(GetLastError());
  }
  *granted = granted_access;
  return allowed ? STATUS_SUCCESS : STATUS_ACCESS_DENIED;
}

/* The directory of a name in the root. */
static WCHAR root_directory[] = L"\\";

/* The directory part of a request's file name, split off in place as WinFsp's FspPathSuffix
 * does: the backslash before the last component becomes a NUL, which join_parent() turns back;
 * `*cut` is where (NULL for a name in the root, whose directory is "\"). */
static PWSTR split_parent(PWSTR path, WCHAR **cut) {
  WCHAR *last = wcsrchr(path, L'\\');
  if (last == NULL || last == path) {
    *cut = NULL;
    return root_directory;
  }
  *last = L'\0';
  *cut = last;
  return path;
}

static void join_parent(WCHAR *cut) {
  if (cut) *cut = L'\\';
}

/* Where the last component of the first `length` units of `path` starts (FspPathSuffix's
 * index): what STATUS_REPARSE carries to ResolveReparsePoints. */
static UINT32 suffix_index(PCWSTR path, size_t length) {
  UINT32 index = 0;
  for (size_t at = 0; at < length; at++) {
    if (path[at] == L'\\') index = (UINT32)at + 1;
  }
  return index;
}

/* FspAccessCheckEx for a Create request: looks up the file (or, with `check_parent`, its
 * directory) with GetSecurityByName, checks `desired` against its descriptor and the caller's
 * token, and applies WinFsp's rules for directories and read-only files. The descriptor
 * found is handed out in `found` (the caller frees it) when asked for. */
static NTSTATUS access_check(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                             BOOL check_parent, UINT32 desired, UINT32 *granted,
                             PSECURITY_DESCRIPTOR *found) {
  PWSTR path = (PWSTR)request->Buffer;
  UINT32 options = request->Req.Create.CreateOptions;
  BOOL user_mode = request->Req.Create.UserMode;
  *granted = 0;
  if (found) *found = NULL;
  if (request->Kind != FspFsctlTransactCreateKind) return STATUS_INVALID_PARAMETER;
  if (check_parent && path[0] == L'\\' && path[1] == L'\0') return STATUS_INVALID_PARAMETER;
  if (fs->Interface->GetSecurityByName == NULL || (!user_mode && found == NULL)) {
    *granted = (desired & MAXIMUM_ALLOWED) ? file_mapping.GenericAll : desired;
    return STATUS_SUCCESS;
  }

  WCHAR *cut = NULL;
  PWSTR name = check_parent ? split_parent(path, &cut) : path;
  SIZE_T size = 1024;
  PSECURITY_DESCRIPTOR descriptor = malloc(size);
  UINT32 attributes = 0;
  NTSTATUS status = descriptor ? security_by_name(fs, name, &attributes, &descriptor, &size)
                               : STATUS_INSUFFICIENT_RESOURCES;
  size_t checked_length = check_parent ? (cut ? (size_t)(cut - path) : 1) : wcslen(path);
  join_parent(cut);
  /* A link on the way: the file system says where (in `attributes`), and so does a name that
   * is a link, unless the link itself is opened. The index goes out in `granted`. */
  if (status == STATUS_SUCCESS && (attributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
      fs->Interface->ResolveReparsePoints &&
      (check_parent || !(options & FILE_OPEN_REPARSE_POINT))) {
    attributes = suffix_index(path, checked_length);
    status = STATUS_REPARSE;
  }
  if (status == STATUS_REPARSE) {
    *granted = attributes;
    free(descriptor);
    return status;
  }
  if (!NT_SUCCESS(status)) goto exit;

  if (!check_parent && request->Req.Create.HasTrailingBackslash &&
      !(attributes & FILE_ATTRIBUTE_DIRECTORY)) {
    status = STATUS_OBJECT_NAME_INVALID;
    goto exit;
  }
  if (user_mode && size > 0) {
    HANDLE token = request_token(request->Req.Create.AccessToken);
    status = desired ? token_check(descriptor, token, desired, granted) : STATUS_SUCCESS;
    if (!NT_SUCCESS(status)) {
      /* Denied DELETE or FILE_READ_ATTRIBUTES may still come from the parent directory's
       * FILE_DELETE_CHILD and FILE_LIST_DIRECTORY. */
      if (status != STATUS_ACCESS_DENIED ||
          !(desired & (MAXIMUM_ALLOWED | DELETE | FILE_READ_ATTRIBUTES))) {
        goto exit;
      }
      UINT32 from_parent = (desired & MAXIMUM_ALLOWED)
                               ? FILE_DELETE_CHILD | FILE_LIST_DIRECTORY
                               : ((desired & DELETE) ? FILE_DELETE_CHILD : 0) |
                                     ((desired & FILE_READ_ATTRIBUTES) ? FILE_LIST_DIRECTORY : 0);
      UINT32 parent_granted;
      if (access_check(fs, request, TRUE, from_parent, &parent_granted, NULL) != STATUS_SUCCESS) {
        status = STATUS_ACCESS_DENIED;
        goto exit;
      }
      UINT32 rest =
          desired & ~(((parent_granted & FILE_DELETE_CHILD) ? DELETE : 0) |
                      ((parent_granted & FILE_LIST_DIRECTORY) ? FILE_READ_ATTRIBUTES : 0));
      if (rest && !NT_SUCCESS(token_check(descriptor, token, rest, granted))) {
        status = STATUS_ACCESS_DENIED;
        goto exit;
      }
      if (parent_granted & FILE_DELETE_CHILD) *granted |= DELETE;
      if (parent_granted & FILE_LIST_DIRECTORY) *granted |= FILE_READ_ATTRIBUTES;
    }
  }

  if (check_parent) {
    if (!(attributes & FILE_ATTRIBUTE_DIRECTORY)) {
      status = STATUS_NOT_A_DIRECTORY;
      goto exit;
    }
  } else {
    if ((options & FILE_DIRECTORY_FILE) && !(attributes & FILE_ATTRIBUTE_DIRECTORY)) {
      status = STATUS_NOT_A_DIRECTORY;
      goto exit;
    }
    if ((options & FILE_NON_DIRECTORY_FILE) && (attributes & FILE_ATTRIBUTE_DIRECTORY)) {
      status = STATUS_FILE_IS_A_DIRECTORY;
      goto exit;
    }
  }

  UINT32 read_only = attributes & (FILE_ATTRIBUTE_READONLY | FILE_ATTRIBUTE_DIRECTORY);
  UINT32 writes = FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_ADD_SUBDIRECTORY | FILE_DELETE_CHILD;
  if (user_mode) {
    if (read_only == FILE_ATTRIBUTE_READONLY && (desired & writes)) {
      status = STATUS_ACCESS_DENIED;
      goto exit;
    }
    if ((attributes & FILE_ATTRIBUTE_READONLY) && (options & FILE_DELETE_ON_CLOSE)) {
      status = STATUS_CANNOT_DELETE;
      goto exit;
    }
    if (size == 0) *granted = (desired & MAXIMUM_ALLOWED) ? file_mapping.GenericAll : desired;
    if (read_only == FILE_ATTRIBUTE_READONLY && (desired & MAXIMUM_ALLOWED)) *granted &= ~writes;
  } else {
    *granted = (desired & MAXIMUM_ALLOWED) ? file_mapping.GenericAll : desired;
  }
  status = STATUS_SUCCESS;

exit:
  if (found && size > 0 && NT_SUCCESS(status)) {
    *found = descriptor;
  } else {
    free(descriptor);
  }
  if (check_parent && status == STATUS_OBJECT_NAME_NOT_FOUND) status = STATUS_OBJECT_PATH_NOT_FOUND;
  return status;
}

/* A new file needs FILE_ADD_FILE (or FILE_ADD_SUBDIRECTORY) in its directory; the creator then
 * gets what it asked for. */
static NTSTATUS create_check(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                             UINT32 *granted, PSECURITY_DESCRIPTOR *parent_descriptor) {
  UINT32 options = request->Req.Create.CreateOptions;
  UINT32 in_parent = request->Req.Create.HasRestorePrivilege ? 0
                     : (options & FILE_DIRECTORY_FILE)       ? FILE_ADD_SUBDIRECTORY
                                                             : FILE_ADD_FILE;
  UINT32 parent_granted;
  NTSTATUS status;
  *parent_descriptor = NULL;
  if (request->Req.Create.HasTrailingBackslash && !(options & FILE_DIRECTORY_FILE)) {
    status = STATUS_OBJECT_NAME_INVALID;
  } else if ((request->Req.Create.FileAttributes & FILE_ATTRIBUTE_READONLY) &&
             (options & FILE_DELETE_ON_CLOSE)) {
    status = STATUS_CANNOT_DELETE;
  } else {
    status = access_check(fs, request, TRUE, in_parent, &parent_granted, parent_descriptor);
  }
  if (status == STATUS_REPARSE) *granted = parent_granted;
  if (status == STATUS_SUCCESS) {
    UINT32 desired = request->Req.Create.DesiredAccess;
    *granted = ((desired & MAXIMUM_ALLOWED) ? file_mapping.GenericAll : desired) |
               request->Req.Create.GrantedAccess;
  }
  return status;
}

/* Opening needs the access asked for, and DELETE for delete-on-close; DELETE granted only
 * through MAXIMUM_ALLOWED is kept only if asked for. */
static NTSTATUS open_check(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request, UINT32 *granted,
                           PSECURITY_DESCRIPTOR *descriptor) {
  UINT32 desired = request->Req.Create.DesiredAccess;
  UINT32 delete = (request->Req.Create.CreateOptions & FILE_DELETE_ON_CLOSE) ? DELETE : 0;
  *descriptor = NULL;
  NTSTATUS status = access_check(fs, request, FALSE, desired | delete, granted,
                                 request->Req.Create.AcceptsSecurityDescriptor ? descriptor : NULL);
  if (status == STATUS_SUCCESS) {
    if (!(desired & MAXIMUM_ALLOWED)) *granted &= ~DELETE | (desired & DELETE);
    *granted |= request->Req.Create.GrantedAccess;
  }
  return status;
}

/* Overwriting needs FILE_WRITE_DATA, superseding DELETE. */
static NTSTATUS overwrite_check(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                UINT32 *granted) {
  UINT32 desired = request->Req.Create.DesiredAccess;
  BOOL supersede = (request->Req.Create.CreateOptions >> 24) == FILE_SUPERSEDE;
  UINT32 needed = desired | (supersede ? DELETE : FILE_WRITE_DATA) |
                  ((request->Req.Create.CreateOptions & FILE_DELETE_ON_CLOSE) ? DELETE : 0);
  NTSTATUS status = access_check(fs, request, FALSE, needed, granted, NULL);
  if (status == STATUS_SUCCESS) {
    if (!(desired & MAXIMUM_ALLOWED)) {
      *granted &= ~(DELETE | FILE_WRITE_DATA) | (desired & (DELETE | FILE_WRITE_DATA));
    }
    *granted |= request->Req.Create.GrantedAccess;
  }
  return status;
}

/* The security descriptor of a new file, inherited from its directory's. */
static NTSTATUS new_file_descriptor(FSP_FSCTL_TRANSACT_REQ *request,
                                    PSECURITY_DESCRIPTOR parent_descriptor,
                                    PSECURITY_DESCRIPTOR *descriptor) {
  PSECURITY_DESCRIPTOR asked = request->Req.Create.SecurityDescriptor.Offset
                                   ? request->Buffer + request->Req.Create.SecurityDescriptor.Offset
                                   : NULL;
  *descriptor = NULL;
  if (!CreatePrivateObjectSecurity(parent_descriptor, asked, descriptor,
                                   (request->Req.Create.CreateOptions & FILE_DIRECTORY_FILE) != 0,
                                   request_token(request->Req.Create.AccessToken), &file_mapping)) {
    return status_from_win32(GetLastError());
  }
  return STATUS_SUCCESS;
}

static void free_new_file_descriptor(PSECURITY_DESCRIPTOR descriptor) {
  if (descriptor) DestroyPrivateObjectSecurity(&descriptor);
}

/* ---- Create ---- */

/* What one create disposition leaves for the response. */
typedef struct opened {
  FSP_FSCTL_TRANSACT_FULL_CONTEXT context;
  FSP_FSCTL_OPEN_FILE_INFO info;
  UINT32 granted;
} opened;

static void opened_init(opened *opened, FSP_FSCTL_TRANSACT_RSP *response) {
  memset(opened, 0, sizeof *opened);
  opened->info.NormalizedName = (PWSTR)response->Buffer;
  opened->info.NormalizedNameSize = FSP_FSCTL_TRANSACT_RSP_BUFFER_SIZEMAX;
}

static NTSTATUS call_create(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                            PSECURITY_DESCRIPTOR descriptor, opened *opened) {
  const FSP_FILE_SYSTEM_INTERFACE *callbacks = fs->Interface;
  PWSTR name = (PWSTR)request->Buffer;
  PVOID *slot = file_context_slot(fs, &opened->context.UserContext);
  if (callbacks->CreateEx) {
    PVOID ea = request->Req.Create.Ea.Size ? request->Buffer + request->Req.Create.Ea.Offset : NULL;
    return callbacks->CreateEx(fs, name, request->Req.Create.CreateOptions, opened->granted,
                               request->Req.Create.FileAttributes, descriptor,
                               request->Req.Create.AllocationSize, ea, request->Req.Create.Ea.Size,
                               request->Req.Create.EaIsReparsePoint, slot, &opened->info.FileInfo);
  }
  return callbacks->Create(fs, name, request->Req.Create.CreateOptions, opened->granted,
                           request->Req.Create.FileAttributes, descriptor,
                           request->Req.Create.AllocationSize, slot, &opened->info.FileInfo);
}

static NTSTATUS call_open(FSP_FILE_SYSTEM *fs, PWSTR name, UINT32 options, opened *opened) {
  PVOID *slot = file_context_slot(fs, &opened->context.UserContext);
  return fs->Interface->Open(fs, name, options, opened->granted, slot, &opened->info.FileInfo);
}

/* Fills a successful create's response: the normalized name if the file system gave one, the
 * descriptor to cache (if any), the file context and the file information. */
static NTSTATUS answer_opened(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_RSP *response,
                              const opened *opened, UINT32 information,
                              PSECURITY_DESCRIPTOR descriptor) {
  UINT16 name_size = 0;
  if (opened->info.NormalizedNameSize <= FSP_FSCTL_TRANSACT_PATH_SIZEMAX) {
    name_size = opened->info.NormalizedNameSize;
    response->Size = (UINT16)(sizeof *response + name_size);
    response->Rsp.Create.Opened.FileName.Offset = 0;
    response->Rsp.Create.Opened.FileName.Size = name_size;
  }
  if (descriptor) {
    UINT16 offset = (UINT16)FSP_FSCTL_DEFAULT_ALIGN_UP(name_size);
    UINT16 size = (UINT16)GetSecurityDescriptorLength(descriptor);
    if (offset + size <= FSP_FSCTL_TRANSACT_RSP_BUFFER_SIZEMAX) {
      memcpy(response->Buffer + offset, descriptor, size);
      response->Size = (UINT16)(sizeof *response + offset + size);
      response->Rsp.Create.Opened.SecurityDescriptor.Offset = offset;
      response->Rsp.Create.Opened.SecurityDescriptor.Size = size;
      response->Rsp.Create.Opened.HasSecurityDescriptor = 1;
    }
  }
  response->IoStatus.Information = information;
  if (fs->UmFileContextIsFullContext) {
    response->Rsp.Create.Opened.UserContext = opened->context.UserContext;
    response->Rsp.Create.Opened.UserContext2 = opened->context.UserContext2;
  } else {
    (&response->Rsp.Create.Opened.UserContext)[fs->UmFileContextIsUserContext2] =
        (&opened->context.UserContext)[fs->UmFileContextIsUserContext2];
  }
  response->Rsp.Create.Opened.GrantedAccess = opened->granted;
  response->Rsp.Create.Opened.FileInfo = opened->info.FileInfo;
  return STATUS_SUCCESS;
}

/* FspFileSystemCallResolveReparsePoints: the answer to a create whose name is or runs through a
 * link, from the component at `index` on: STATUS_REPARSE with the file system's reparse data
 * in the response buffer, and the reparse tag in IoStatus.Information. */
static NTSTATUS resolve_reparse(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                FSP_FSCTL_TRANSACT_RSP *response, UINT32 index) {
  if (fs->Interface->ResolveReparsePoints == NULL) return STATUS_INVALID_DEVICE_REQUEST;
  IO_STATUS_BLOCK io = {0};
  SIZE_T size = FSP_FSCTL_TRANSACT_RSP_BUFFER_SIZEMAX;
  BOOLEAN resolve_last = !(request->Req.Create.CreateOptions & FILE_OPEN_REPARSE_POINT);
  NTSTATUS status = fs->Interface->ResolveReparsePoints(fs, (PWSTR)request->Buffer, index,
                                                        resolve_last, &io, response->Buffer, &size);
  trace("resolve %ls from %u: 0x%08lx", (PWSTR)request->Buffer, (unsigned)index,
        (unsigned long)status);
  if (!NT_SUCCESS(status)) return status;
  response->IoStatus.Information = (UINT32)io.Information;
  response->Size = (UINT16)(sizeof *response + size);
  response->Rsp.Create.Reparse.Buffer.Offset = 0;
  response->Rsp.Create.Reparse.Buffer.Size = (UINT16)size;
  return STATUS_REPARSE;
}

/* Creates the file the request names, after the checks of a new file. */
static NTSTATUS create_new(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                           FSP_FSCTL_TRANSACT_RSP *response, opened *opened,
                           PSECURITY_DESCRIPTOR *descriptor) {
  PSECURITY_DESCRIPTOR parent_descriptor;
  UINT32 granted = 0;
  NTSTATUS status = create_check(fs, request, &granted, &parent_descriptor);
  if (status == STATUS_REPARSE) return resolve_reparse(fs, request, response, granted);
  if (!NT_SUCCESS(status)) return status;
  status = new_file_descriptor(request, parent_descriptor, descriptor);
  free(parent_descriptor);
  if (!NT_SUCCESS(status)) return status;
  opened_init(opened, response);
  opened->granted = granted;
  status = call_create(fs, request, *descriptor, opened);
  if (!NT_SUCCESS(status)) {
    free_new_file_descriptor(*descriptor);
    *descriptor = NULL;
  }
  return status;
}

static NTSTATUS create_file_create(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                   FSP_FSCTL_TRANSACT_RSP *response) {
  opened opened;
  PSECURITY_DESCRIPTOR descriptor;
  NTSTATUS status = create_new(fs, request, response, &opened, &descriptor);
  if (status != STATUS_SUCCESS) return status;
  answer_opened(fs, response, &opened, FILE_CREATED, descriptor);
  free_new_file_descriptor(descriptor);
  return STATUS_SUCCESS;
}

static NTSTATUS create_file_open(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                 FSP_FSCTL_TRANSACT_RSP *response) {
  opened opened;
  PSECURITY_DESCRIPTOR descriptor;
  UINT32 granted;
  NTSTATUS status = open_check(fs, request, &granted, &descriptor);
  if (status == STATUS_REPARSE) return resolve_reparse(fs, request, response, granted);
  if (!NT_SUCCESS(status)) return status;
  opened_init(&opened, response);
  opened.granted = granted;
  status = call_open(fs, (PWSTR)request->Buffer, request->Req.Create.CreateOptions, &opened);
  if (NT_SUCCESS(status)) answer_opened(fs, response, &opened, FILE_OPENED, descriptor);
  free(descriptor);
  return status;
}

/* FILE_OPEN_IF: open, or create if the open finds nothing. */
static NTSTATUS create_file_open_if(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                    FSP_FSCTL_TRANSACT_RSP *response) {
  opened opened;
  PSECURITY_DESCRIPTOR descriptor = NULL;
  UINT32 granted;
  NTSTATUS status = open_check(fs, request, &granted, &descriptor);
  if (status == STATUS_REPARSE) return resolve_reparse(fs, request, response, granted);
  if (NT_SUCCESS(status)) {
    opened_init(&opened, response);
    opened.granted = granted;
    status = call_open(fs, (PWSTR)request->Buffer, request->Req.Create.CreateOptions, &opened);
    if (NT_SUCCESS(status)) {
      answer_opened(fs, response, &opened, FILE_OPENED, descriptor);
      free(descriptor);
      return status;
    }
    free(descriptor);
  }
  if (status != STATUS_OBJECT_NAME_NOT_FOUND) return status;
  status = create_new(fs, request, response, &opened, &descriptor);
  if (status != STATUS_SUCCESS) return status;
  answer_opened(fs, response, &opened, FILE_CREATED, descriptor);
  free_new_file_descriptor(descriptor);
  return STATUS_SUCCESS;
}

/* FILE_OVERWRITE: open an existing file; the driver follows with an Overwrite request. */
static NTSTATUS create_file_overwrite(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                      FSP_FSCTL_TRANSACT_RSP *response) {
  opened opened;
  UINT32 granted;
  NTSTATUS status = overwrite_check(fs, request, &granted);
  if (status == STATUS_REPARSE) return resolve_reparse(fs, request, response, granted);
  if (!NT_SUCCESS(status)) return status;
  opened_init(&opened, response);
  opened.granted = granted;
  status = call_open(fs, (PWSTR)request->Buffer, request->Req.Create.CreateOptions, &opened);
  if (NT_SUCCESS(status)) answer_opened(fs, response, &opened, FILE_OVERWRITTEN, NULL);
  return status;
}

/* FILE_OVERWRITE_IF and FILE_SUPERSEDE: open an existing file (to be overwritten), or create. */
static NTSTATUS create_file_overwrite_if(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                         FSP_FSCTL_TRANSACT_RSP *response) {
  BOOL supersede = (request->Req.Create.CreateOptions >> 24) == FILE_SUPERSEDE;
  opened opened;
  UINT32 granted;
  NTSTATUS status = overwrite_check(fs, request, &granted);
  if (status == STATUS_REPARSE) return resolve_reparse(fs, request, response, granted);
  if (NT_SUCCESS(status)) {
    opened_init(&opened, response);
    opened.granted = granted;
    status = call_open(fs, (PWSTR)request->Buffer, request->Req.Create.CreateOptions, &opened);
    if (NT_SUCCESS(status)) {
      return answer_opened(fs, response, &opened, supersede ? FILE_SUPERSEDED : FILE_OVERWRITTEN,
                           NULL);
    }
  }
  if (status != STATUS_OBJECT_NAME_NOT_FOUND) return status;
  PSECURITY_DESCRIPTOR descriptor;
  status = create_new(fs, request, response, &opened, &descriptor);
  if (status != STATUS_SUCCESS) return status;
  free_new_file_descriptor(descriptor);
  return answer_opened(fs, response, &opened, FILE_CREATED, NULL);
}

/* SL_OPEN_TARGET_DIRECTORY (the I/O manager's first step of a rename): opens the directory the
 * name would be in, and says whether the name exists. */
static NTSTATUS create_open_target_directory(FSP_FILE_SYSTEM *fs,
                                             FSP_FSCTL_TRANSACT_REQ *request,
                                             FSP_FSCTL_TRANSACT_RSP *response) {
  UINT32 granted;
  NTSTATUS status =
      access_check(fs, request, TRUE, request->Req.Create.DesiredAccess, &granted, NULL);
  if (!NT_SUCCESS(status)) return status;
  UINT32 options =
      (request->Req.Create.CreateOptions | FILE_DIRECTORY_FILE) & ~FILE_NON_DIRECTORY_FILE;
  opened opened;
  opened_init(&opened, response);
  opened.granted = granted | request->Req.Create.GrantedAccess;
  WCHAR *cut;
  PWSTR parent = split_parent((PWSTR)request->Buffer, &cut);
  status = call_open(fs, parent, options, &opened);
  join_parent(cut);
  if (!NT_SUCCESS(status)) return status;
  UINT32 information = FILE_OPENED;
  if (fs->Interface->GetSecurityByName) {
    status = fs->Interface->GetSecurityByName(fs, (PWSTR)request->Buffer, NULL, NULL, NULL);
    information = NT_SUCCESS(status) ? FILE_EXISTS : FILE_DOES_NOT_EXIST;
  }
  return answer_opened(fs, response, &opened, information, NULL);
}

FSP_API NTSTATUS FspFileSystemOpCreate(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                       FSP_FSCTL_TRANSACT_RSP *response) {
  const FSP_FILE_SYSTEM_INTERFACE *callbacks = fs->Interface;
  if ((callbacks->Create == NULL && callbacks->CreateEx == NULL) || callbacks->Open == NULL ||
      (callbacks->Overwrite == NULL && callbacks->OverwriteEx == NULL)) {
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (request->Req.Create.OpenTargetDirectory) {
    return create_open_target_directory(fs, request, response);
  }
  trace("create %ls options=0x%08x access=0x%08x attributes=0x%x%s", (PWSTR)request->Buffer,
        (unsigned)request->Req.Create.CreateOptions, (unsigned)request->Req.Create.DesiredAccess,
        (unsigned)request->Req.Create.FileAttributes,
        request->Req.Create.OpenTargetDirectory ? " (target directory)" : "");
  NTSTATUS status;
  switch (request->Req.Create.CreateOptions >> 24) {
    case FILE_CREATE: status = create_file_create(fs, request, response); break;
    case FILE_OPEN: status = create_file_open(fs, request, response); break;
    case FILE_OPEN_IF: status = create_file_open_if(fs, request, response); break;
    case FILE_OVERWRITE: status = create_file_overwrite(fs, request, response); break;
    case FILE_OVERWRITE_IF:
    case FILE_SUPERSEDE: status = create_file_overwrite_if(fs, request, response); break;
    default: return STATUS_INVALID_PARAMETER;
  }
  /* A collision with a directory, when a non-directory was asked for, says so. */
  if (status == STATUS_OBJECT_NAME_COLLISION && callbacks->GetSecurityByName) {
    UINT32 attributes;
    if (callbacks->GetSecurityByName(fs, (PWSTR)request->Buffer, &attributes, NULL, NULL) ==
            STATUS_SUCCESS &&
        (request->Req.Create.CreateOptions & FILE_NON_DIRECTORY_FILE) &&
        (attributes & FILE_ATTRIBUTE_DIRECTORY)) {
      status = STATUS_FILE_IS_A_DIRECTORY;
    }
  }
  return status;
}

/* ---- the other requests ---- */

FSP_API NTSTATUS FspFileSystemOpOverwrite(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                          FSP_FSCTL_TRANSACT_RSP *response) {
  const FSP_FILE_SYSTEM_INTERFACE *callbacks = fs->Interface;
  PVOID context = file_context(fs, &request->Req.Overwrite.UserContext);
  FSP_FSCTL_FILE_INFO info = {0};
  NTSTATUS status;
  if (callbacks->OverwriteEx) {
    PVOID ea = request->Req.Overwrite.Ea.Size
                   ? request->Buffer + request->Req.Overwrite.Ea.Offset
                   : NULL;
    status = callbacks->OverwriteEx(fs, context, request->Req.Overwrite.FileAttributes,
                                    request->Req.Overwrite.Supersede,
                                    request->Req.Overwrite.AllocationSize, ea,
                                    request->Req.Overwrite.Ea.Size, &info);
  } else if (callbacks->Overwrite) {
    status = callbacks->Overwrite(fs, context, request->Req.Overwrite.FileAttributes,
                                  request->Req.Overwrite.Supersede,
                                  request->Req.Overwrite.AllocationSize, &info);
  } else {
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (!NT_SUCCESS(status)) {
    /* The driver fails the open without coming back: the file is closed here. */
    if (callbacks->Close) callbacks->Close(fs, context);
    return status;
  }
  response->Rsp.Overwrite.FileInfo = info;
  return STATUS_SUCCESS;
}

FSP_API NTSTATUS FspFileSystemOpCleanup(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                        FSP_FSCTL_TRANSACT_RSP *response) {
  (void)response;
  if (fs->Interface->Cleanup) {
    ULONG flags = (request->Req.Cleanup.Delete ? FspCleanupDelete : 0) |
                  (request->Req.Cleanup.SetAllocationSize ? FspCleanupSetAllocationSize : 0) |
                  (request->Req.Cleanup.SetArchiveBit ? FspCleanupSetArchiveBit : 0) |
                  (request->Req.Cleanup.SetLastAccessTime ? FspCleanupSetLastAccessTime : 0) |
                  (request->Req.Cleanup.SetLastWriteTime ? FspCleanupSetLastWriteTime : 0) |
                  (request->Req.Cleanup.SetChangeTime ? FspCleanupSetChangeTime : 0);
    trace("cleanup flags=0x%02lx %ls", flags,
          request->FileName.Size ? (PWSTR)request->Buffer : L"");
    fs->Interface->Cleanup(fs, file_context(fs, &request->Req.Cleanup.UserContext),
                           request->FileName.Size ? (PWSTR)request->Buffer : NULL, flags);
  }
  return STATUS_SUCCESS;
}

FSP_API NTSTATUS FspFileSystemOpClose(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                      FSP_FSCTL_TRANSACT_RSP *response) {
  (void)response;
  if (fs->Interface->Close) {
    fs->Interface->Close(fs, file_context(fs, &request->Req.Close.UserContext));
  }
  return STATUS_SUCCESS;
}

FSP_API NTSTATUS FspFileSystemOpRead(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                     FSP_FSCTL_TRANSACT_RSP *response) {
  if (fs->Interface->Read == NULL) return STATUS_INVALID_DEVICE_REQUEST;
  ULONG transferred = 0;
  NTSTATUS status = fs->Interface->Read(
      fs, file_context(fs, &request->Req.Read.UserContext),
      (PVOID)(UINT_PTR)request->Req.Read.Address, request->Req.Read.Offset,
      request->Req.Read.Length, &transferred);
  if (NT_SUCCESS(status) && status != STATUS_PENDING) response->IoStatus.Information = transferred;
  return status;
}

FSP_API NTSTATUS FspFileSystemOpWrite(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                      FSP_FSCTL_TRANSACT_RSP *response) {
  if (fs->Interface->Write == NULL) return STATUS_INVALID_DEVICE_REQUEST;
  ULONG transferred = 0;
  FSP_FSCTL_FILE_INFO info;
  NTSTATUS status = fs->Interface->Write(
      fs, file_context(fs, &request->Req.Write.UserContext),
      (PVOID)(UINT_PTR)request->Req.Write.Address, request->Req.Write.Offset,
      request->Req.Write.Length, request->Req.Write.Offset == (UINT64)-1LL,
      request->Req.Write.ConstrainedIo != 0, &transferred, &info);
  if (NT_SUCCESS(status) && status != STATUS_PENDING) {
    response->IoStatus.Information = transferred;
    response->Rsp.Write.FileInfo = info;
  }
  return status;
}

FSP_API NTSTATUS FspFileSystemOpFlushBuffers(FSP_FILE_SYSTEM *fs,
                                             FSP_FSCTL_TRANSACT_REQ *request,
                                             FSP_FSCTL_TRANSACT_RSP *response) {
  PVOID context = file_context(fs, &request->Req.FlushBuffers.UserContext);
  FSP_FSCTL_FILE_INFO info = {0};
  NTSTATUS status;
  if (fs->Interface->Flush) {
    status = fs->Interface->Flush(fs, context, &info);
  } else if (fs->Interface->GetFileInfo) {
    status = fs->Interface->GetFileInfo(fs, context, &info);
  } else {
    return STATUS_INVALID_DEVICE_REQUEST;
  }
  if (NT_SUCCESS(status)) response->Rsp.FlushBuffers.FileInfo = info;
  return status;
}

FSP_API NTSTATUS FspFileSystemOpQueryInformation(FSP_FILE_SYSTEM *fs,
                                                 FSP_FSCTL_TRANSACT_REQ *request,
                                                 FSP_FSCTL_TRANSACT_RSP *response) {
  if (fs->Interface->GetFileInfo == NULL) return STATUS_INVALID_DEVICE_REQUEST;
  FSP_FSCTL_FILE_INFO info = {0};
  PVOID context = file_context(fs, &request->Req.QueryInformation.UserContext);
  NTSTATUS status = fs->Interface->GetFileInfo(fs, context, &info);
  if (NT_SUCCESS(status)) response->Rsp.QueryInformation.FileInfo = info;
  return status;
}

/* Before replacing a file, a rename checks the target for DELETE access the way an open with
 * FILE_DELETE_ON_CLOSE would (so a read-only target is STATUS_CANNOT_DELETE): through a Create
 * request made up for the access check. */
static NTSTATUS rename_check(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request) {
  UINT16 size = request->Req.SetInformation.Info.Rename.NewFileName.Size;
  FSP_FSCTL_TRANSACT_REQ *check = calloc(1, sizeof *check + size);
  if (check == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  BOOL ignore_read_only = request->Req.SetInformation.FileInformationClass == 65 &&
                          (request->Req.SetInformation.Info.RenameEx.Flags & 0x40);
  check->Size = (UINT16)(sizeof *check + size);
  check->Kind = FspFsctlTransactCreateKind;
  check->Req.Create.CreateOptions =
      (ignore_read_only ? 0 : FILE_DELETE_ON_CLOSE) | FILE_OPEN_REPARSE_POINT;
  check->Req.Create.AccessToken = request->Req.SetInformation.Info.Rename.AccessToken;
  check->Req.Create.UserMode = TRUE;
  check->FileName.Size = size;
  UINT16 offset = request->Req.SetInformation.Info.Rename.NewFileName.Offset;
  memcpy(check->Buffer, request->Buffer + offset, size);
  UINT32 granted;
  NTSTATUS status = access_check(fs, check, FALSE, DELETE, &granted, NULL);
  free(check);
  return status;
}

FSP_API NTSTATUS FspFileSystemOpSetInformation(FSP_FILE_SYSTEM *fs,
                                               FSP_FSCTL_TRANSACT_REQ *request,
                                               FSP_FSCTL_TRANSACT_RSP *response) {
  const FSP_FILE_SYSTEM_INTERFACE *callbacks = fs->Interface;
  PVOID context = file_context(fs, &request->Req.SetInformation.UserContext);
  FSP_FSCTL_FILE_INFO info = {0};
  NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;
  switch (request->Req.SetInformation.FileInformationClass) {
    case 4: /* FileBasicInformation */
      if (callbacks->SetBasicInfo) {
        status = callbacks->SetBasicInfo(
            fs, context, request->Req.SetInformation.Info.Basic.FileAttributes,
            request->Req.SetInformation.Info.Basic.CreationTime,
            request->Req.SetInformation.Info.Basic.LastAccessTime,
            request->Req.SetInformation.Info.Basic.LastWriteTime,
            request->Req.SetInformation.Info.Basic.ChangeTime, &info);
      }
      break;
    case 19: /* FileAllocationInformation */
      if (callbacks->SetFileSize) {
        status = callbacks->SetFileSize(
            fs, context, request->Req.SetInformation.Info.Allocation.AllocationSize, TRUE, &info);
      }
      break;
    case 20: /* FileEndOfFileInformation */
      if (callbacks->SetFileSize) {
        status = callbacks->SetFileSize(
            fs, context, request->Req.SetInformation.Info.EndOfFile.FileSize, FALSE, &info);
      }
      break;
    case 13:   /* FileDispositionInformation */
    case 64: { /* FileDispositionInformationEx */
      UINT32 flags = request->Req.SetInformation.Info.DispositionEx.Flags;
      BOOL delete = (flags & 1 /* DELETE */) != 0;
      /* Deleting (without IGNORE_READONLY_ATTRIBUTE) a read-only file is refused here. */
      if ((flags & 0x11) == 1 && callbacks->GetFileInfo) {
        status = callbacks->GetFileInfo(fs, context, &info);
        if (NT_SUCCESS(status) && (info.FileAttributes & FILE_ATTRIBUTE_READONLY)) {
          status = STATUS_CANNOT_DELETE;
          break;
        }
      }
      if (callbacks->SetDelete) {
        status = callbacks->SetDelete(fs, context, (PWSTR)request->Buffer, delete);
      } else if (callbacks->CanDelete) {
        status = delete ? callbacks->CanDelete(fs, context, (PWSTR)request->Buffer)
                        : STATUS_SUCCESS;
      }
      break;
    }
    case 10:   /* FileRenameInformation */
    case 65: { /* FileRenameInformationEx */
      if (callbacks->Rename == NULL) break;
      /* The driver lends a token only for a rename that may replace. */
      BOOL replace = request->Req.SetInformation.Info.Rename.AccessToken != 0;
      if (replace) {
        status = rename_check(fs, request);
        if (!NT_SUCCESS(status) && status != STATUS_OBJECT_PATH_NOT_FOUND &&
            status != STATUS_OBJECT_NAME_NOT_FOUND) {
          break;
        }
      }
      PWSTR new_name =
          (PWSTR)(request->Buffer + request->Req.SetInformation.Info.Rename.NewFileName.Offset);
      trace("rename %ls -> %ls replace=%d", (PWSTR)request->Buffer, new_name, replace);
      status = callbacks->Rename(fs, context, (PWSTR)request->Buffer, new_name, replace);
      break;
    }
  }
  if (NT_SUCCESS(status)) response->Rsp.SetInformation.FileInfo = info;
  return status;
}

FSP_API NTSTATUS FspFileSystemOpQueryVolumeInformation(FSP_FILE_SYSTEM *fs,
                                                       FSP_FSCTL_TRANSACT_REQ *request,
                                                       FSP_FSCTL_TRANSACT_RSP *response) {
  (void)request;
  if (fs->Interface->GetVolumeInfo == NULL) return STATUS_INVALID_DEVICE_REQUEST;
  FSP_FSCTL_VOLUME_INFO info = {0};
  NTSTATUS status = fs->Interface->GetVolumeInfo(fs, &info);
  if (NT_SUCCESS(status)) response->Rsp.QueryVolumeInformation.VolumeInfo = info;
  return status;
}

FSP_API NTSTATUS FspFileSystemOpSetVolumeInformation(FSP_FILE_SYSTEM *fs,
                                                     FSP_FSCTL_TRANSACT_REQ *request,
                                                     FSP_FSCTL_TRANSACT_RSP *response) {
  FSP_FSCTL_VOLUME_INFO info = {0};
  NTSTATUS status = STATUS_INVALID_DEVICE_REQUEST;
  if (request->Req.SetVolumeInformation.FsInformationClass == 2 /* FileFsLabelInformation */ &&
      fs->Interface->SetVolumeLabel) {
    status = fs->Interface->SetVolumeLabel(fs, (PWSTR)request->Buffer, &info);
  }
  if (NT_SUCCESS(status)) response->Rsp.SetVolumeInformation.VolumeInfo = info;
  return status;
}

/* A search for one name (no wildcards) asks GetDirInfoByName and answers with that entry, or
 * none, and the end-of-listing mark. */
static NTSTATUS dir_info_by_name(FSP_FILE_SYSTEM *fs, PVOID context, PWSTR name, PVOID buffer,
                                 ULONG length, PULONG transferred) {
  union {
    FSP_FSCTL_DIR_INFO info;
    UINT8 bytes[sizeof(FSP_FSCTL_DIR_INFO) + 255 * sizeof(WCHAR)];
  } record;
  memset(&record.info, 0, sizeof record.info);
  NTSTATUS status = fs->Interface->GetDirInfoByName(fs, context, name, &record.info);
  if (NT_SUCCESS(status)) {
    if (FspFileSystemAddDirInfo(&record.info, buffer, length, transferred)) {
      FspFileSystemAddDirInfo(NULL, buffer, length, transferred);
    }
  } else if (status == STATUS_OBJECT_NAME_NOT_FOUND) {
    status = STATUS_SUCCESS;
    FspFileSystemAddDirInfo(NULL, buffer, length, transferred);
  }
  return status;
}

FSP_API NTSTATUS FspFileSystemOpQueryDirectory(FSP_FILE_SYSTEM *fs,
                                               FSP_FSCTL_TRANSACT_REQ *request,
                                               FSP_FSCTL_TRANSACT_RSP *response) {
  if (fs->Interface->ReadDirectory == NULL) return STATUS_INVALID_DEVICE_REQUEST;
  PVOID context = file_context(fs, &request->Req.QueryDirectory.UserContext);
  PVOID buffer = (PVOID)(UINT_PTR)request->Req.QueryDirectory.Address;
  ULONG length = request->Req.QueryDirectory.Length, transferred = 0;
  PWSTR pattern = request->Req.QueryDirectory.Pattern.Size
                      ? (PWSTR)(request->Buffer + request->Req.QueryDirectory.Pattern.Offset)
                      : NULL;
  PWSTR marker = request->Req.QueryDirectory.Marker.Size
                     ? (PWSTR)(request->Buffer + request->Req.QueryDirectory.Marker.Offset)
                     : NULL;
  trace("query directory pattern=%ls marker=%ls length=%lu%s", pattern ? pattern : L"(none)",
        marker ? marker : L"(none)", length,
        request->Req.QueryDirectory.PatternIsFileName ? " (file name)" : "");
  NTSTATUS status;
  if (fs->Interface->GetDirInfoByName && pattern && request->Req.QueryDirectory.PatternIsFileName) {
    status = dir_info_by_name(fs, context, pattern, buffer, length, &transferred);
  } else {
    status = fs->Interface->ReadDirectory(fs, context, pattern, marker, buffer, length,
                                          &transferred);
  }
  if (NT_SUCCESS(status) && status != STATUS_PENDING) response->IoStatus.Information = transferred;
  return status;
}

/* FSCTL_GET_REPARSE_POINT, FSCTL_SET_REPARSE_POINT and FSCTL_DELETE_REPARSE_POINT on a
 * handle: the request's buffer holds the file's name, then the reparse data sent with it;
 * what GetReparsePoint writes is the answer's buffer. Other codes are not served. */
FSP_API NTSTATUS FspFileSystemOpFileSystemControl(FSP_FILE_SYSTEM *fs,
                                                  FSP_FSCTL_TRANSACT_REQ *request,
                                                  FSP_FSCTL_TRANSACT_RSP *response) {
  const FSP_FILE_SYSTEM_INTERFACE *callbacks = fs->Interface;
  PVOID context = file_context(fs, &request->Req.FileSystemControl.UserContext);
  PWSTR name = (PWSTR)request->Buffer;
  PVOID data = request->Buffer + request->Req.FileSystemControl.Buffer.Offset;
  SIZE_T data_size = request->Req.FileSystemControl.Buffer.Size;
  switch (request->Req.FileSystemControl.FsControlCode) {
    case FSCTL_GET_REPARSE_POINT: {
      if (callbacks->GetReparsePoint == NULL) break;
      SIZE_T size = FSP_FSCTL_TRANSACT_RSP_BUFFER_SIZEMAX;
      NTSTATUS status = callbacks->GetReparsePoint(fs, context, name, response->Buffer, &size);
      if (NT_SUCCESS(status)) {
        response->Size = (UINT16)(sizeof *response + size);
        response->Rsp.FileSystemControl.Buffer.Offset = 0;
        response->Rsp.FileSystemControl.Buffer.Size = (UINT16)size;
      }
      return status;
    }
    case FSCTL_SET_REPARSE_POINT:
      if (callbacks->SetReparsePoint == NULL) break;
      return callbacks->SetReparsePoint(fs, context, name, data, data_size);
    case FSCTL_DELETE_REPARSE_POINT:
      if (callbacks->DeleteReparsePoint == NULL) break;
      return callbacks->DeleteReparsePoint(fs, context, name, data, data_size);
  }
  return STATUS_INVALID_DEVICE_REQUEST;
}

FSP_API NTSTATUS FspFileSystemOpQuerySecurity(FSP_FILE_SYSTEM *fs,
                                              FSP_FSCTL_TRANSACT_REQ *request,
                                              FSP_FSCTL_TRANSACT_RSP *response) {
  if (fs->Interface->GetSecurity == NULL) return STATUS_INVALID_DEVICE_REQUEST;
  SIZE_T size = FSP_FSCTL_TRANSACT_RSP_BUFFER_SIZEMAX;
  NTSTATUS status = fs->Interface->GetSecurity(
      fs, file_context(fs, &request->Req.QuerySecurity.UserContext), response->Buffer, &size);
  if (!NT_SUCCESS(status)) {
    return status == STATUS_BUFFER_OVERFLOW ? STATUS_INVALID_SECURITY_DESCR : status;
  }
  response->Size = (UINT16)(sizeof *response + size);
  response->Rsp.QuerySecurity.SecurityDescriptor.Offset = 0;
  response->Rsp.QuerySecurity.SecurityDescriptor.Size = (UINT16)size;
  return STATUS_SUCCESS;
}

/* IRP_MJ_SET_SECURITY: the descriptor the request carries holds the parts SecurityInformation
 * names; the file system merges them into what it keeps. */
FSP_API NTSTATUS FspFileSystemOpSetSecurity(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                            FSP_FSCTL_TRANSACT_RSP *response) {
  (void)response;
  if (fs->Interface->SetSecurity == NULL) return STATUS_INVALID_DEVICE_REQUEST;
  return fs->Interface->SetSecurity(
      fs, file_context(fs, &request->Req.SetSecurity.UserContext),
      request->Req.SetSecurity.SecurityInformation,
      (PSECURITY_DESCRIPTOR)(request->Buffer + request->Req.SetSecurity.SecurityDescriptor.Offset));
}

/* ---- the operation guard ---- */

/* The FINE strategy: operations that change the namespace run alone; opens, deletion marks,
 * directory listings and volume queries may run together; the rest take no lock. */
enum guard { NONE, SHARED, EXCLUSIVE };

static enum guard guard_mode(FSP_FSCTL_TRANSACT_REQ *request) {
  UINT32 class = request->Req.SetInformation.FileInformationClass;
  switch (request->Kind) {
    case FspFsctlTransactCreateKind:
      return (request->Req.Create.CreateOptions >> 24) != FILE_OPEN ? EXCLUSIVE : SHARED;
    case FspFsctlTransactOverwriteKind:
    case FspFsctlTransactSetVolumeInformationKind:
      return EXCLUSIVE;
    case FspFsctlTransactCleanupKind:
      return request->Req.Cleanup.Delete ? EXCLUSIVE : NONE;
    case FspFsctlTransactSetInformationKind:
      return class == 10 || class == 65 ? EXCLUSIVE : class == 13 || class == 64 ? SHARED : NONE;
    case FspFsctlTransactFlushBuffersKind:
      return request->Req.FlushBuffers.UserContext == 0 &&
                     request->Req.FlushBuffers.UserContext2 == 0
                 ? EXCLUSIVE
                 : NONE;
    case FspFsctlTransactQueryDirectoryKind:
    case FspFsctlTransactQueryVolumeInformationKind:
      return SHARED;
    default:
      return NONE;
  }
}

FSP_API NTSTATUS FspFileSystemOpEnter(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                      FSP_FSCTL_TRANSACT_RSP *response) {
  (void)response;
  if (fs->OpGuardStrategy == FSP_FILE_SYSTEM_OPERATION_GUARD_STRATEGY_COARSE) {
    AcquireSRWLockExclusive(&fs->OpGuardLock);
  } else if (guard_mode(request) == EXCLUSIVE) {
    AcquireSRWLockExclusive(&fs->OpGuardLock);
  } else if (guard_mode(request) == SHARED) {
    AcquireSRWLockShared(&fs->OpGuardLock);
  }
  return STATUS_SUCCESS;
}

FSP_API NTSTATUS FspFileSystemOpLeave(FSP_FILE_SYSTEM *fs, FSP_FSCTL_TRANSACT_REQ *request,
                                      FSP_FSCTL_TRANSACT_RSP *response) {
  (void)response;
  if (fs->OpGuardStrategy == FSP_FILE_SYSTEM_OPERATION_GUARD_STRATEGY_COARSE) {
    ReleaseSRWLockExclusive(&fs->OpGuardLock);
  } else if (guard_mode(request) == EXCLUSIVE) {
    ReleaseSRWLockExclusive(&fs->OpGuardLock);
  } else if (guard_mode(request) == SHARED) {
    ReleaseSRWLockShared(&fs->OpGuardLock);
  }
  return STATUS_SUCCESS;
}

/* ---- resolving symbolic links ---- */

/* How many links one name may run through, as Windows limits a chain of reparses. */
#define LINK_HOPS_MAX 32
/* Room for a path being resolved, in units: a whole request's path and a link target. */
#define RESOLVE_UNITS (2 * FSP_FSCTL_TRANSACT_PATH_SIZEMAX / sizeof(WCHAR) + 2)

/* Appends `length` units to the `*used` units of `path`, after a backslash when `separate`;
 * FALSE when that would not fit RESOLVE_UNITS. */
static BOOL path_append(WCHAR *path, size_t *used, const WCHAR *units, size_t length,
                        BOOL separate) {
  if (*used + length + 2 > RESOLVE_UNITS) return FALSE;
  if (separate) path[(*used)++] = L'\\';
  memcpy(path + *used, units, length * sizeof(WCHAR));
  *used += length;
  path[*used] = L'\0';
  return TRUE;
}

/* Symbolic link reparse data naming `path` (`length` units), relative to the volume when
 * `relative`, in `buffer` of `*size` bytes. */
static NTSTATUS answer_link(const WCHAR *path, size_t length, BOOL relative, PVOID buffer,
                            PSIZE_T size, PIO_STATUS_BLOCK io) {
  size_t header = SYMLINK_HEADER_SIZE;
  size_t bytes = length * sizeof(WCHAR);
  if (header + bytes > *size || bytes > 0xffff) return STATUS_REPARSE_POINT_NOT_RESOLVED;
  symlink_reparse *link = buffer;
  memset(link, 0, header);
  link->ReparseTag = IO_REPARSE_TAG_SYMLINK;
  link->ReparseDataLength = (USHORT)(header - REPARSE_HEADER_SIZE + bytes);
  link->SubstituteNameLength = (USHORT)bytes;
  link->PrintNameLength = (USHORT)bytes;
  link->Flags = relative ? SYMLINK_FLAG_RELATIVE : 0;
  memcpy(link->PathBuffer, path, bytes);
  *size = header + bytes;
  io->Status = STATUS_REPARSE;
  io->Information = IO_REPARSE_TAG_SYMLINK;
  return STATUS_REPARSE;
}

/* What the DLL does for ResolveReparsePoints: walks `name` from the component at `index`,
 * asking `get_by_name` about each one (the last only with `resolve_last`); a symbolic link's
 * target replaces it (from the link's directory when relative, from the volume's root when it
 * starts with a backslash), "." and ".." are applied, and the walk goes on through the
 * target. The answer is STATUS_REPARSE with a symbolic link naming the resolved path on the
 * volume (SYMLINK_FLAG_RELATIVE), or, when an absolute link is met, its target followed by
 * what is left of the name (no flags): the I/O manager continues there. A missing last
 * component is no error (the name may be about to be created); a missing directory on the
 * way is STATUS_OBJECT_PATH_NOT_FOUND; more than LINK_HOPS_MAX links
 * STATUS_REPARSE_POINT_NOT_RESOLVED; another kind of reparse point
 * STATUS_IO_REPARSE_TAG_NOT_HANDLED. */
FSP_API NTSTATUS FspFileSystemResolveReparsePoints(
    FSP_FILE_SYSTEM *fs,
    NTSTATUS (*get_by_name)(FSP_FILE_SYSTEM *, PVOID, PWSTR, BOOLEAN, PVOID, PSIZE_T),
    PVOID context, PWSTR name, UINT32 index, BOOLEAN resolve_last, PIO_STATUS_BLOCK io,
    PVOID buffer, PSIZE_T size) {
  WCHAR *done = malloc(RESOLVE_UNITS * sizeof(WCHAR));
  WCHAR *rest = malloc(RESOLVE_UNITS * sizeof(WCHAR));
  WCHAR *next = malloc(RESOLVE_UNITS * sizeof(WCHAR));
  symlink_reparse *link = malloc(FSP_FSCTL_TRANSACT_RSP_BUFFER_SIZEMAX);
  NTSTATUS status = STATUS_INSUFFICIENT_RESOURCES;
  if (!done || !rest || !next || !link) goto exit;
  status = STATUS_REPARSE_POINT_NOT_RESOLVED;
  size_t length = wcslen(name), done_used = 0, rest_used = 0;
  if (index > length) index = (UINT32)length;
  size_t kept = index;
  while (kept > 0 && name[kept - 1] == L'\\') kept--;
  if (!path_append(done, &done_used, name, kept, FALSE) ||
      !path_append(rest, &rest_used, name + index, length - index, FALSE)) {
    goto exit;
  }
  int hops = 0;
  size_t at = 0;
  for (;;) {
    while (rest[at] == L'\\') at++;
    if (rest[at] == L'\0') break;
    const WCHAR *component = rest + at;
    size_t component_length = 0;
    while (component[component_length] && component[component_length] != L'\\') {
      component_length++;
    }
    at += component_length;
    size_t after = at;
    while (rest[after] == L'\\') after++;
    BOOL last = rest[after] == L'\0';
    if (component_length == 1 && component[0] == L'.') continue;
    if (component_length == 2 && component[0] == L'.' && component[1] == L'.') {
      while (done_used > 0 && done[done_used - 1] != L'\\') done_used--;
      if (done_used > 0) done_used--;
      done[done_used] = L'\0';
      continue;
    }
    size_t before = done_used;
    if (!path_append(done, &done_used, component, component_length, TRUE)) goto exit;
    if (last && !resolve_last) continue;
    SIZE_T link_size = FSP_FSCTL_TRANSACT_RSP_BUFFER_SIZEMAX;
    NTSTATUS found = get_by_name(fs, context, done, !last, link, &link_size);
    if (found == STATUS_NOT_A_REPARSE_POINT || (found == STATUS_OBJECT_NAME_NOT_FOUND && last)) {
      continue;
    }
    if (!NT_SUCCESS(found)) {
      status = found == STATUS_OBJECT_NAME_NOT_FOUND ? STATUS_OBJECT_PATH_NOT_FOUND : found;
      goto exit;
    }
    /* The file system's answer is read only as far as it says it wrote. */
    if (link_size < REPARSE_HEADER_SIZE) {
      status = STATUS_IO_REPARSE_DATA_INVALID;
      goto exit;
    }
    if (link->ReparseTag != IO_REPARSE_TAG_SYMLINK) {
      status = STATUS_IO_REPARSE_TAG_NOT_HANDLED;
      goto exit;
    }
    if (link_size < SYMLINK_HEADER_SIZE ||
        SYMLINK_HEADER_SIZE + (size_t)link->SubstituteNameOffset + link->SubstituteNameLength >
            link_size) {
      status = STATUS_IO_REPARSE_DATA_INVALID;
      goto exit;
    }
    if (++hops > LINK_HOPS_MAX) goto exit;
    const WCHAR *target = link->PathBuffer +
                          link->SubstituteNameOffset / sizeof(WCHAR);
    size_t target_length = link->SubstituteNameLength / sizeof(WCHAR);
    BOOL rooted = target_length > 0 && target[0] == L'\\';
    size_t next_used = 0;
    if (!path_append(next, &next_used, target, target_length, FALSE) ||
        !path_append(next, &next_used, rest + at, wcslen(rest + at), FALSE)) {
      goto exit;
    }
    if (rooted && !(link->Flags & SYMLINK_FLAG_RELATIVE)) {
      status = answer_link(next, next_used, FALSE, buffer, size, io);
      goto exit;
    }
    done_used = rooted ? 0 : before;
    done[done_used] = L'\0';
    memcpy(rest, next, (next_used + 1) * sizeof(WCHAR));
    at = 0;
  }
  if (done_used == 0) path_append(done, &done_used, L"", 0, TRUE);
  status = answer_link(done, done_used, TRUE, buffer, size, io);
exit:
  free(done);
  free(rest);
  free(next);
  free(link);
  return status;
}
