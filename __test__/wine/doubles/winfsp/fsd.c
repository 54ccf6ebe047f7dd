/* The kernel half: what the I/O manager and winfsp-x64.sys do with a Windows program's file
 * calls, driven by the test protocol (../README.md). Each verb is checked as the I/O manager
 * checks it (handle access, parameters), becomes the FSP_FSCTL_TRANSACT_REQ the driver would
 * send, and its answer updates what the driver keeps:
 *  - per open file (the driver's FileNode, by name): open and handle counts, share access,
 *    the delete-pending mark, the sizes it last saw, the file system's UserContext;
 *  - per handle (its FileDesc): UserContext2, granted access, what Cleanup must be told,
 *    the enumeration's pattern and position.
 * A FileNode's resource is held across a request the way the driver holds it, which orders
 * requests to one file (writes, size changes and cleanups one at a time).
 *
 * Changes the file system reports itself (FspFileSystemNotify) are kept for the
 * `notifications` verb.
 *
 * Symbolic links: a create the file system answers STATUS_REPARSE with a symbolic link is
 * tried again at the link's target, as the I/O manager reparses it, when the target is on
 * this volume (a path relative to the volume, or an absolute one under its mount point);
 * FSCTL_GET/SET/DELETE_REPARSE_POINT come from the `get-reparse`, `set-reparse` and
 * `delete-reparse` verbs.
 *
 * Not reproduced: the driver's caches (file, directory, security and volume information are
 * always asked for), cached I/O (a write is paging I/O only when the test says so), oplocks,
 * byte-range locks, directory change notifications to watchers, named streams, reparse
 * points other than symbolic links, TargetOnFileSystem (always 0), extended attributes, POSIX unlink and rename, DirectoryMarkerAsNextOffset,
 * PostDispositionWhenNecessaryOnly, and the expiry (IrpTimeout) of requests no dispatcher
 * thread has fetched yet. */
#include "double.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fsd_node {
  fsd_node *next;
  WCHAR *name;           /* as the driver keeps it: upper case on a case-insensitive volume,
                            unless the file system gave a normalized name */
  size_t length;
  BOOL in_table;         /* found by name; a deleted file leaves at its last cleanup */
  LONG refs;             /* descs that point here */
  LONG open_count;       /* handles not closed yet */
  LONG handle_count;     /* handles not cleaned up yet */
  UINT64 user_context;   /* what the first open returned */
  UINT64 index_number;
  BOOL is_directory, is_root;
  BOOL delete_pending;
  LONG opens, readers, writers, deleters, shared_read, shared_write, shared_delete;
  UINT64 file_size, allocation_size; /* the sizes the driver last saw */
  BOOL truncate_on_close;            /* they changed: Cleanup may reset the allocation size */
  SRWLOCK resource;
};

struct fsd_desc {
  fsd_desc *next;
  UINT64 handle;
  fsd_node *node;
  LONG refs;             /* the handle table's, and one per verb using it */
  BOOL closed;           /* left the handle table */
  UINT64 user_context2;
  UINT32 granted_access;
  BOOL read_access, write_access, delete_access;    /* counted in the node's share access */
  BOOL shared_read, shared_write, shared_delete;
  BOOL case_sensitive;
  BOOL delete_on_close;
  BOOL cleaned_up;
  BOOL file_modified;    /* FO_FILE_MODIFIED */
  BOOL did_set_attributes, did_set_last_access, did_set_last_write, did_set_change_time,
      did_set_metadata;
  NTSTATUS disposition_status; /* a refused deletion is refused again without asking */
  WCHAR *pattern;        /* NULL until the first directory query */
  size_t pattern_length;
  BOOL pattern_all;
  WCHAR *marker;         /* the last name returned (or skipped), NULL at the start */
  size_t marker_length;
  BOOL has_such_file;
};

/* A change the file system reported (FspFileSystemNotify), kept for the `notifications` verb. */
struct fsd_change {
  fsd_change *next;
  WCHAR *path;
  size_t length;
  UINT32 action, filter;
};

/* offsetof(FILE_DIRECTORY_INFORMATION, FileName): the information class of the caller's
 * directory queries, which is what Node.js (libuv) asks for. */
#define DIRECTORY_ENTRY_BASE 64u
/* The most a directory query asks of user mode: one 64 KiB meta-cache item, less its header. */
#define QUERY_DIRECTORY_LENGTH_MAX (64u * 1024 - 16)
/* FILE_FS_ATTRIBUTE_INFORMATION's flag for POSIX unlink and rename (newer than mingw's headers). */
#define FILE_SUPPORTS_POSIX_UNLINK_RENAME 0x00000400u
/* FILE_DISPOSITION_INFORMATION_EX flags. */
#define DISPOSITION_DELETE 1u

static UINT64 allocation_unit(fsd_volume *volume) {
  return (UINT64)volume->params.SectorSize * volume->params.SectorsPerAllocationUnit;
}

static UINT64 round_up(UINT64 value, UINT64 unit) {
  return (value + unit - 1) / unit * unit;
}

/* ---- the volume ---- */

fsd_volume *fsd_volume_new(const FSP_FSCTL_VOLUME_PARAMS *params) {
  fsd_volume *volume = calloc(1, sizeof *volume);
  if (volume == NULL) return NULL;
  volume->params = *params;
  volume->changes_end = &volume->changes;
  ioq_init(&volume->ioq);
  InitializeSRWLock(&volume->lock);
  InitializeSRWLock(&volume->rename_lock);
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY,
                        &volume->process_token)) {
    free(volume);
    return NULL;
  }
  return volume;
}

static void node_put_locked(fsd_volume *volume, fsd_node *node) {
  if (--node->refs > 0) return;
  fsd_node **link = &volume->nodes;
  while (*link != node) link = &(*link)->next;
  *link = node->next;
  free(node->name);
  free(node);
}

static void desc_put_locked(fsd_volume *volume, fsd_desc *desc) {
  if (--desc->refs > 0) return;
  fsd_desc **link = &volume->descs;
  while (*link && *link != desc) link = &(*link)->next;
  if (*link) *link = desc->next;
  node_put_locked(volume, desc->node);
  free(desc->pattern);
  free(desc->marker);
  free(desc);
}

void fsd_volume_free(fsd_volume *volume) {
  /* Handles still open when the volume goes are simply forgotten, as the driver forgets them
   * once the file system process has let go of the volume. */
  while (volume->descs) {
    fsd_desc *desc = volume->descs;
    volume->descs = desc->next;
    free(desc->pattern);
    free(desc->marker);
    free(desc);
  }
  while (volume->nodes) {
    fsd_node *node = volume->nodes;
    volume->nodes = node->next;
    free(node->name);
    free(node);
  }
  while (volume->changes) {
    fsd_change *change = volume->changes;
    volume->changes = change->next;
    free(change->path);
    free(change);
  }
  CloseHandle(volume->process_token);
  free(volume);
}

/* ---- handles ---- */

/* The handle named by the request's first argument, referenced for the verb; on failure the
 * reply says why. A cleaned-up handle serves only `close`: a program's handle is gone once
 * CloseHandle cleaned it up, and the I/O manager refuses it (STATUS_INVALID_HANDLE). */
static fsd_desc *desc_get(fsd_volume *volume, const kd_request *request, BOOL after_cleanup,
                          kd_reply *reply) {
  uint64_t handle;
  if (!kd_arg_u64(request, 0, &handle)) {
    kd_reply_invalid(reply, "handle");
    return NULL;
  }
  AcquireSRWLockExclusive(&volume->lock);
  fsd_desc *desc = volume->descs;
  while (desc && (desc->handle != handle || desc->closed)) desc = desc->next;
  if (desc && (after_cleanup || !desc->cleaned_up)) {
    desc->refs++;
  } else {
    kd_reply_status(reply, STATUS_INVALID_HANDLE);
    desc = NULL;
  }
  ReleaseSRWLockExclusive(&volume->lock);
  return desc;
}

static void desc_put(fsd_volume *volume, fsd_desc *desc) {
  AcquireSRWLockExclusive(&volume->lock);
  desc_put_locked(volume, desc);
  ReleaseSRWLockExclusive(&volume->lock);
}

/* The I/O manager's check of a handle's granted access: any of `any` will do. */
static BOOL has_access(kd_reply *reply, fsd_desc *desc, UINT32 any) {
  if (desc->granted_access & any) return TRUE;
  kd_reply_status(reply, STATUS_ACCESS_DENIED);
  return FALSE;
}

/* ---- share access (IoCheckShareAccess and friends) ---- */

static NTSTATUS share_access(fsd_node *node, fsd_desc *desc, UINT32 granted, UINT32 share,
                             BOOL check, BOOL update) {
  BOOL read = (granted & (FILE_READ_DATA | FILE_EXECUTE)) != 0;
  BOOL write = (granted & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
  BOOL delete = (granted & DELETE) != 0;
  if (!read && !write && !delete) return STATUS_SUCCESS;
  BOOL shared_read = (share & FILE_SHARE_READ) != 0;
  BOOL shared_write = (share & FILE_SHARE_WRITE) != 0;
  BOOL shared_delete = (share & FILE_SHARE_DELETE) != 0;
  if (check && ((read && node->shared_read < node->opens) ||
                (write && node->shared_write < node->opens) ||
                (delete && node->shared_delete < node->opens) ||
                (node->readers && !shared_read) || (node->writers && !shared_write) ||
                (node->deleters && !shared_delete))) {
    return STATUS_SHARING_VIOLATION;
  }
  if (update) {
    node->opens++;
    node->readers += read;
    node->writers += write;
    node->deleters += delete;
    node->shared_read += shared_read;
    node->shared_write += shared_write;
    node->shared_delete += shared_delete;
    desc->read_access = read;
    desc->write_access = write;
    desc->delete_access = delete;
    desc->shared_read = shared_read;
    desc->shared_write = shared_write;
    desc->shared_delete = shared_delete;
  }
  return STATUS_SUCCESS;
}

static void share_remove(fsd_node *node, fsd_desc *desc) {
  if (!desc->read_access && !desc->write_access && !desc->delete_access) return;
  node->opens--;
  node->readers -= desc->read_access;
  node->writers -= desc->write_access;
  node->deleters -= desc->delete_access;
  node->shared_read -= desc->shared_read;
  node->shared_write -= desc->shared_write;
  node->shared_delete -= desc->shared_delete;
  desc->read_access = desc->write_access = desc->delete_access = FALSE;
}

/* ---- what the driver remembers of a file ---- */

/* Whether `info` reports other sizes than the driver saw last; the allocation it reports is
 * at least the size, in whole allocation units. */
static BOOL node_sizes_change(fsd_volume *volume, fsd_node *node,
                              const FSP_FSCTL_FILE_INFO *info, UINT64 *allocation) {
  UINT64 reported = info->AllocationSize > info->FileSize ? info->AllocationSize : info->FileSize;
  *allocation = round_up(reported, allocation_unit(volume));
  return node->allocation_size != *allocation || node->file_size != info->FileSize;
}

/* FspFileNodeSetFileInfo: the sizes a response reports become the driver's; with
 * `truncate_on_close`, a change of them asks the last Cleanup to reset the allocation. */
static void node_set_info(fsd_volume *volume, fsd_node *node, const FSP_FSCTL_FILE_INFO *info,
                          BOOL truncate_on_close) {
  UINT64 allocation;
  if (node_sizes_change(volume, node, info, &allocation) && truncate_on_close) {
    node->truncate_on_close = TRUE;
  }
  node->allocation_size = allocation;
  node->file_size = info->FileSize;
}

static fsd_node *node_find_locked(fsd_volume *volume, const WCHAR *name, size_t length) {
  BOOL ignore_case = !volume->params.CaseSensitiveSearch;
  for (fsd_node *node = volume->nodes; node; node = node->next) {
    if (node->in_table && name_equal(node->name, node->length, name, length, ignore_case)) {
      return node;
    }
  }
  return NULL;
}

static WCHAR *copy_units(const WCHAR *units, size_t length) {
  WCHAR *copy = malloc((length + 1) * sizeof(WCHAR));
  if (copy == NULL) abort();
  memcpy(copy, units, length * sizeof(WCHAR));
  copy[length] = L'\0';
  return copy;
}

/* A Close the driver sends on its own, without waiting, when it gives up an open the file
 * system already made. */
static void post_close(fsd_volume *volume, UINT64 user_context, UINT64 user_context2) {
  fsd_irp *irp = irp_new_fixed(FspFsctlTransactCloseKind);
  irp->request->Req.Close.UserContext = user_context;
  irp->request->Req.Close.UserContext2 = user_context2;
  ioq_post(&volume->ioq, irp);
}

/* The caller's access token as the driver lends it with a request: an impersonation token
 * handle in the low 32 bits, the caller's process id in the high 32 (the test's requests
 * come from this process). */
static UINT64 lend_token(fsd_volume *volume, fsd_irp *irp) {
  if (!DuplicateToken(volume->process_token, SecurityIdentification, &irp->token)) {
    irp->token = NULL;
  }
  return (UINT64)GetCurrentProcessId() << 32 | (UINT32)(UINT_PTR)irp->token;
}

/* ---- opening ---- */

/* A name as a Win32 program passes it: '/' separates components, and a drive prefix names the
 * volume; what is left is the path on the volume. */
static size_t volume_path(WCHAR *name) {
  for (WCHAR *at = name; *at; at++) {
    if (*at == L'/') *at = L'\\';
  }
  if (name[0] && name[1] == L':') memmove(name, name + 2, (wcslen(name + 2) + 1) * sizeof(WCHAR));
  return wcslen(name);
}

static UINT32 map_generic(UINT32 access) {
  static GENERIC_MAPPING mapping = {FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE,
                                    FILE_ALL_ACCESS};
  DWORD mapped = access;
  MapGenericMask(&mapped, &mapping);
  return mapped;
}

/* What `open_file` was asked. */
typedef struct open_args {
  WCHAR *name;         /* the volume path; modified */
  size_t length;
  UINT32 access, disposition, options, attributes, share;
  UINT64 allocation;
  BOOL target_directory; /* SL_OPEN_TARGET_DIRECTORY: open the directory the name is in */
  UINT8 *reparse;        /* after STATUS_REPARSE: the file system's reparse data (malloc'd) */
  size_t reparse_size;
  PSECURITY_DESCRIPTOR security; /* what the caller asks a new file's descriptor to be, or NULL */
  ULONG security_size;
} open_args;

/* Undoes FspFileNodeOpen for an open that failed after it. */
static void unopen_locked(fsd_volume *volume, fsd_desc *desc) {
  fsd_node *node = desc->node;
  share_remove(node, desc);
  node->handle_count--;
  if (--node->open_count == 0) node->in_table = FALSE;
  desc_put_locked(volume, desc);
}

/* The Overwrite request the driver sends after a create that will overwrite or supersede. */
static NTSTATUS overwrite(fsd_volume *volume, fsd_desc *desc, const open_args *args,
                          const FSP_FSCTL_TRANSACT_RSP *opened) {
  fsd_node *node = desc->node;
  UINT32 attributes =
      args->attributes & 0xffff & ~(FILE_ATTRIBUTE_NORMAL | FILE_ATTRIBUTE_DIRECTORY);
  if (node->is_directory) attributes |= FILE_ATTRIBUTE_DIRECTORY;
  /* Hidden and system files may only be overwritten by a caller who asks to keep them so. */
  UINT32 has = opened->Rsp.Create.Opened.FileInfo.FileAttributes;
  if (((has & FILE_ATTRIBUTE_HIDDEN) && !(attributes & FILE_ATTRIBUTE_HIDDEN)) ||
      ((has & FILE_ATTRIBUTE_SYSTEM) && !(attributes & FILE_ATTRIBUTE_SYSTEM))) {
    post_close(volume, node->user_context, desc->user_context2);
    return STATUS_ACCESS_DENIED;
  }
  fsd_irp *irp = irp_new_fixed(FspFsctlTransactOverwriteKind);
  irp->request->Req.Overwrite.UserContext = node->user_context;
  irp->request->Req.Overwrite.UserContext2 = desc->user_context2;
  irp->request->Req.Overwrite.FileAttributes = attributes;
  irp->request->Req.Overwrite.AllocationSize = args->allocation;
  irp->request->Req.Overwrite.Supersede =
      opened->IoStatus.Information == FILE_SUPERSEDED;
  AcquireSRWLockExclusive(&node->resource);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  if (!irp->fetched) {
    /* Cancelled before any dispatcher took it: user mode never heard of the Overwrite, and the
     * open the Create made is closed, as FspFsvolCreateOverwriteRequestFini posts a Close for a
     * request still pending (which goes nowhere if the queue has stopped, as there). */
    post_close(volume, node->user_context, desc->user_context2);
  } else if (NT_SUCCESS(status)) {
    AcquireSRWLockExclusive(&volume->lock);
    node_set_info(volume, node, &irp->response->Rsp.Overwrite.FileInfo, TRUE);
    ReleaseSRWLockExclusive(&volume->lock);
  }
  ReleaseSRWLockExclusive(&node->resource);
  irp_free(irp);
  return status;
}

/* FspFileNodeOpen and the rest of FspFsvolCreateComplete, for a successful Create request:
 * joins or makes the FileNode, checks delete-pending and share access, and makes the handle. */
static NTSTATUS open_node(fsd_volume *volume, const open_args *args,
                          const FSP_FSCTL_TRANSACT_RSP *response, fsd_desc **opened) {
  const FSP_FSCTL_FILE_INFO *info = &response->Rsp.Create.Opened.FileInfo;
  size_t length = args->length;
  if (args->target_directory) {
    while (length > 1 && args->name[length - 1] != L'\\') length--;
    if (length > 1) length--;
  }
  WCHAR *name = copy_units(args->name, length);
  if (!volume->params.CaseSensitiveSearch) {
    UINT16 normalized = response->Rsp.Create.Opened.FileName.Size;
    if (normalized == 0) {
      name_upcase(name, length);
    } else if (name_equal(name, length, (const WCHAR *)response->Buffer,
                          normalized / sizeof(WCHAR), TRUE)) {
      memcpy(name, response->Buffer, normalized);
    } else {
      free(name);
      post_close(volume, response->Rsp.Create.Opened.UserContext,
                 response->Rsp.Create.Opened.UserContext2);
      return STATUS_OBJECT_NAME_INVALID;
    }
  }

  fsd_desc *desc = calloc(1, sizeof *desc);
  if (desc == NULL) abort();
  desc->refs = 2; /* the handle table's and the caller's */
  desc->user_context2 = response->Rsp.Create.Opened.UserContext2;
  desc->granted_access = response->Rsp.Create.Opened.GrantedAccess;
  desc->case_sensitive = volume->params.CaseSensitiveSearch;
  desc->delete_on_close = (args->options & FILE_DELETE_ON_CLOSE) != 0;

  /* The extra access an overwrite or a supersede needs takes part in the share check. */
  UINT32 disposition = args->disposition;
  UINT32 extra = disposition == FILE_OVERWRITE || disposition == FILE_OVERWRITE_IF ? FILE_WRITE_DATA
                 : disposition == FILE_SUPERSEDE                                   ? DELETE
                                                                                   : 0;
  AcquireSRWLockExclusive(&volume->lock);
  fsd_node *node = node_find_locked(volume, name, length);
  NTSTATUS status = STATUS_SUCCESS;
  if (node == NULL) {
    node = calloc(1, sizeof *node);
    if (node == NULL) abort();
    node->name = name;
    node->length = length;
    node->in_table = TRUE;
    node->user_context = response->Rsp.Create.Opened.UserContext;
    node->index_number = info->IndexNumber;
    node->is_directory = (info->FileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
    node->is_root = node->is_directory && length == 1;
    InitializeSRWLock(&node->resource);
    node->next = volume->nodes;
    volume->nodes = node;
    share_access(node, desc, desc->granted_access, args->share, FALSE, TRUE);
  } else {
    free(name);
    if (node->delete_pending) {
      status = STATUS_DELETE_PENDING;
    } else if (extra) {
      status = share_access(node, desc, desc->granted_access | extra, args->share, TRUE, FALSE);
    }
    if (NT_SUCCESS(status)) {
      status = share_access(node, desc, desc->granted_access, args->share, TRUE, TRUE);
    }
  }
  if (!NT_SUCCESS(status)) {
    ReleaseSRWLockExclusive(&volume->lock);
    free(desc);
    /* The file system opened a file the driver will not use: it is closed again. */
    post_close(volume, response->Rsp.Create.Opened.UserContext,
               response->Rsp.Create.Opened.UserContext2);
    return status;
  }
  node->refs++;
  node->open_count++;
  node->handle_count++;
  desc->node = node;
  desc->handle = ++volume->last_handle;
  desc->next = volume->descs;
  volume->descs = desc;

  UINT32 information = (UINT32)response->IoStatus.Information;
  if (information != FILE_OVERWRITTEN && information != FILE_SUPERSEDED) {
    /* The first open of a file tells the driver its sizes; a create's sizes count as a
     * change (an allocation asked for at creation is reset at the last cleanup). */
    BOOL created = information == FILE_CREATED;
    UINT64 allocation;
    if (node->open_count == 1) {
      node_set_info(volume, node, info, created);
    } else if (created && node_sizes_change(volume, node, info, &allocation)) {
      node->truncate_on_close = TRUE;
    }
    ReleaseSRWLockExclusive(&volume->lock);
  } else {
    ReleaseSRWLockExclusive(&volume->lock);
    status = overwrite(volume, desc, args, response);
    if (!NT_SUCCESS(status)) {
      AcquireSRWLockExclusive(&volume->lock);
      desc->closed = TRUE;
      unopen_locked(volume, desc);
      desc_put_locked(volume, desc);
      ReleaseSRWLockExclusive(&volume->lock);
      return status;
    }
  }
  *opened = desc;
  return STATUS_SUCCESS;
}

/* NtCreateFile, through the I/O manager's checks and the driver's, to a Create request. */
static NTSTATUS open_file(fsd_volume *volume, open_args *args, fsd_desc **opened,
                          UINT32 *information) {
  const FSP_FSCTL_VOLUME_PARAMS *params = &volume->params;
  UINT32 options = args->options, disposition = args->disposition;
  *opened = NULL;
  /* The I/O manager's checks. */
  args->access = map_generic(args->access);
  if (disposition > FILE_MAXIMUM_DISPOSITION || (options & ~FILE_VALID_OPTION_FLAGS) ||
      ((options & FILE_DIRECTORY_FILE) && disposition != FILE_CREATE &&
       disposition != FILE_OPEN && disposition != FILE_OPEN_IF) ||
      ((options & FILE_DELETE_ON_CLOSE) && !(args->access & DELETE))) {
    return STATUS_INVALID_PARAMETER;
  }
  /* The driver's. */
  if (options & FILE_OPEN_BY_FILE_ID) return STATUS_NOT_IMPLEMENTED;
  if ((options & FILE_NON_DIRECTORY_FILE) && (options & FILE_DIRECTORY_FILE)) {
    return STATUS_INVALID_PARAMETER;
  }
  if ((options & FILE_DIRECTORY_FILE) && (args->attributes & FILE_ATTRIBUTE_TEMPORARY) &&
      (disposition == FILE_CREATE || disposition == FILE_OPEN_IF)) {
    return STATUS_INVALID_PARAMETER;
  }
  args->allocation = round_up(args->allocation, allocation_unit(volume));
  WCHAR *name = args->name;
  if (args->length >= 2 && name[0] == L'\\' && name[1] == L'\\') {
    memmove(name, name + 1, args->length-- * sizeof(WCHAR));
  }
  if (args->length == 0 || name[0] != L'\\') return STATUS_OBJECT_NAME_INVALID;
  BOOL trailing_backslash = args->length >= 2 && name[args->length - 1] == L'\\';
  if (trailing_backslash) name[--args->length] = L'\0';
  if (!name_is_valid_path(name, args->length, params->MaxComponentLength)) {
    return STATUS_OBJECT_NAME_INVALID;
  }
  if (args->length == 1) {
    if (disposition == FILE_CREATE || disposition == FILE_OVERWRITE ||
        disposition == FILE_OVERWRITE_IF || disposition == FILE_SUPERSEDE ||
        args->target_directory) {
      return STATUS_ACCESS_DENIED;
    }
    if (options & FILE_DELETE_ON_CLOSE) return STATUS_CANNOT_DELETE;
  }
  UINT32 attributes = args->attributes & 0xffff &
                      ~(FILE_ATTRIBUTE_NORMAL | FILE_ATTRIBUTE_DIRECTORY |
                        FILE_ATTRIBUTE_REPARSE_POINT);
  if (options & FILE_DIRECTORY_FILE) attributes |= FILE_ATTRIBUTE_DIRECTORY;

  fsd_irp *irp = irp_new(FspFsctlTransactCreateKind, name, args->length, args->security_size);
  if (irp == NULL) return STATUS_INVALID_PARAMETER;
  FSP_FSCTL_TRANSACT_REQ *request = irp->request;
  if (args->security) {
    /* The driver puts the caller's descriptor after the name, aligned. */
    UINT16 offset = (UINT16)FSP_FSCTL_DEFAULT_ALIGN_UP((args->length + 1) * sizeof(WCHAR));
    memcpy(request->Buffer + offset, args->security, args->security_size);
    request->Req.Create.SecurityDescriptor.Offset = offset;
    request->Req.Create.SecurityDescriptor.Size = (UINT16)args->security_size;
  }
  request->Req.Create.CreateOptions = disposition << 24 | options;
  request->Req.Create.FileAttributes = attributes;
  request->Req.Create.AllocationSize = args->allocation;
  request->Req.Create.AccessToken = lend_token(volume, irp);
  request->Req.Create.DesiredAccess = args->access;
  request->Req.Create.ShareAccess = args->share;
  request->Req.Create.UserMode = 1;
  request->Req.Create.HasTraversePrivilege = 1;
  request->Req.Create.OpenTargetDirectory = args->target_directory;
  request->Req.Create.CaseSensitive = params->CaseSensitiveSearch;
  request->Req.Create.HasTrailingBackslash = trailing_backslash;
  request->Req.Create.AcceptsSecurityDescriptor = params->AllowOpenInKernelMode;

  /* Opens exclude renames until they are done. */
  AcquireSRWLockShared(&volume->rename_lock);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  if (status == STATUS_REPARSE) {
    const FSP_FSCTL_TRANSACT_RSP *response = irp->response;
    size_t offset = response->Rsp.Create.Reparse.Buffer.Offset;
    size_t size = response->Rsp.Create.Reparse.Buffer.Size;
    if (offset + size > response->Size - sizeof *response) {
      fprintf(stderr, "winfsp double: STATUS_REPARSE with reparse data past the answer\n");
      status = STATUS_INTERNAL_ERROR;
    } else {
      free(args->reparse);
      args->reparse = malloc(size);
      if (args->reparse == NULL) abort();
      memcpy(args->reparse, response->Buffer + offset, size);
      args->reparse_size = size;
      *information = (UINT32)response->IoStatus.Information;
    }
  } else if (NT_SUCCESS(status)) {
    *information = (UINT32)irp->response->IoStatus.Information;
    status = open_node(volume, args, irp->response, opened);
  }
  ReleaseSRWLockShared(&volume->rename_lock);
  irp_free(irp);
  return status;
}

/* ---- closing ---- */

/* IRP_MJ_CLEANUP: the handle is closed. The last cleanup of a delete-pending file deletes it;
 * the flags tell the file system what the handle did. */
static void cleanup_desc(fsd_volume *volume, fsd_desc *desc) {
  fsd_node *node = desc->node;
  AcquireSRWLockExclusive(&node->resource);
  AcquireSRWLockExclusive(&volume->lock);
  if (desc->cleaned_up) {
    ReleaseSRWLockExclusive(&volume->lock);
    ReleaseSRWLockExclusive(&node->resource);
    return;
  }
  desc->cleaned_up = TRUE;
  if (desc->delete_on_close) node->delete_pending = TRUE;
  BOOL single = node->handle_count == 1;
  BOOL delete = single && node->delete_pending;
  BOOL set_allocation = single && !node->delete_pending && node->truncate_on_close;
  fsd_irp *irp = irp_new(FspFsctlTransactCleanupKind, delete ? node->name : NULL,
                         delete ? node->length : 0, 0);
  ReleaseSRWLockExclusive(&volume->lock);

  /* Cleanup cannot fail; what it answers changes nothing. Only a name made too long for a
   * request (by renaming a directory above the file) leaves none to send, a case the driver
   * does not foresee either. */
  if (irp) {
    FSP_FSCTL_TRANSACT_REQ *request = irp->request;
    request->Req.Cleanup.UserContext = node->user_context;
    request->Req.Cleanup.UserContext2 = desc->user_context2;
    request->Req.Cleanup.Delete = delete;
    request->Req.Cleanup.SetAllocationSize = set_allocation;
    request->Req.Cleanup.SetArchiveBit = desc->file_modified && !desc->did_set_attributes;
    request->Req.Cleanup.SetLastAccessTime = !desc->did_set_last_access;
    request->Req.Cleanup.SetLastWriteTime = desc->file_modified && !desc->did_set_last_write;
    request->Req.Cleanup.SetChangeTime =
        (desc->file_modified || desc->did_set_metadata) && !desc->did_set_change_time;
    BOOL post = delete || set_allocation || request->Req.Cleanup.SetArchiveBit ||
                request->Req.Cleanup.SetLastWriteTime || request->Req.Cleanup.SetChangeTime ||
                !volume->params.PostCleanupWhenModifiedOnly;
    if (post) ioq_call(&volume->ioq, irp);
    irp_free(irp);
  }

  AcquireSRWLockExclusive(&volume->lock);
  share_remove(node, desc);
  if (delete) node->in_table = FALSE;
  if (--node->handle_count == 0) {
    if (node->delete_pending) node->file_size = 0;
    if (node->delete_pending || node->truncate_on_close) {
      node->allocation_size = round_up(node->file_size, allocation_unit(volume));
    }
    node->truncate_on_close = FALSE;
  }
  ReleaseSRWLockExclusive(&volume->lock);
  ReleaseSRWLockExclusive(&node->resource);
}

/* IRP_MJ_CLOSE: the driver posts a Close and does not wait for it. The I/O manager always
 * cleans a handle up first. */
static void close_desc(fsd_volume *volume, fsd_desc *desc) {
  AcquireSRWLockExclusive(&volume->lock);
  BOOL closed = desc->closed;
  desc->closed = TRUE;
  ReleaseSRWLockExclusive(&volume->lock);
  if (closed) return;
  cleanup_desc(volume, desc);
  post_close(volume, desc->node->user_context, desc->user_context2);
  AcquireSRWLockExclusive(&volume->lock);
  if (--desc->node->open_count == 0) desc->node->in_table = FALSE;
  desc_put_locked(volume, desc);
  ReleaseSRWLockExclusive(&volume->lock);
}

/* ---- verbs ---- */

static BOOL named_u64(const kd_request *request, kd_reply *reply, const char *name,
                      uint64_t fallback, uint64_t *value) {
  if (kd_named_u64_or(request, name, fallback, value)) return TRUE;
  kd_reply_invalid(reply, name);
  return FALSE;
}

/* How many times the I/O manager reparses one open before giving up. */
#define REPARSES_MAX 63

/* Where a create answered STATUS_REPARSE goes next, as the driver and the I/O manager take
 * the symbolic link the file system answered with (`tag`, in IoStatus.Information): a path
 * relative to the volume (SYMLINK_FLAG_RELATIVE) is opened as it is; an absolute one
 * (\??\M:\a) on the volume's mount point is opened below it. NULL for anything else, which
 * leaves the volume: the create then answers STATUS_REPARSE. */
static WCHAR *reparse_target(fsd_volume *volume, const open_args *args, UINT32 tag) {
  size_t header = SYMLINK_HEADER_SIZE;
  const symlink_reparse *link = (const symlink_reparse *)args->reparse;
  if (tag != IO_REPARSE_TAG_SYMLINK || args->reparse_size < header ||
      link->ReparseTag != IO_REPARSE_TAG_SYMLINK) {
    return NULL;
  }
  size_t offset = link->SubstituteNameOffset;
  size_t bytes = link->SubstituteNameLength;
  if (header + offset + bytes > args->reparse_size || bytes == 0) return NULL;
  const WCHAR *path = (const WCHAR *)(args->reparse + header + offset);
  size_t length = bytes / sizeof(WCHAR);
  if (!(link->Flags & SYMLINK_FLAG_RELATIVE)) {
    static const WCHAR prefix[] = L"\\??\\";
    /* A copy: FspFileSystemSetMountPoint and RemoveMountPoint write it under the lock. */
    WCHAR mount_point[ARRAYSIZE(volume->mount_point)];
    AcquireSRWLockShared(&volume->lock);
    wcscpy(mount_point, volume->mount_point);
    ReleaseSRWLockShared(&volume->lock);
    size_t mount_length = wcslen(mount_point);
    size_t skip = ARRAYSIZE(prefix) - 1;
    if (mount_length == 0 || length < skip + mount_length ||
        wcsncmp(path, prefix, skip) != 0 ||
        !name_equal(path + skip, mount_length, mount_point, mount_length, TRUE) ||
        (length > skip + mount_length && path[skip + mount_length] != L'\\')) {
      return NULL;
    }
    path += skip + mount_length;
    length -= skip + mount_length;
  }
  WCHAR *target = calloc(length + 2, sizeof(WCHAR));
  if (target == NULL) abort();
  if (length == 0 || path[0] != L'\\') target[0] = L'\\';
  memcpy(target + wcslen(target), path, length * sizeof(WCHAR));
  return target;
}

static void verb_create(fsd_volume *volume, const kd_request *request, kd_reply *reply) {
  const char *path = kd_arg(request, 0);
  uint64_t access, options, attributes, share, allocation;
  uint32_t disposition;
  if (path == NULL) {
    kd_reply_invalid(reply, "path");
    return;
  }
  if (!kd_named_disposition_or(request, "disposition", FILE_OPEN, &disposition)) {
    kd_reply_invalid(reply, "disposition");
    return;
  }
  if (!named_u64(request, reply, "access", 0x12019f, &access) ||
      !named_u64(request, reply, "options", 0, &options) ||
      !named_u64(request, reply, "attributes", FILE_ATTRIBUTE_NORMAL, &attributes) ||
      !named_u64(request, reply, "share", 7, &share) ||
      !named_u64(request, reply, "alloc", 0, &allocation)) {
    return;
  }
  open_args args = {.name = kd_wide(path),
                    .access = (UINT32)access,
                    .disposition = disposition,
                    .options = (UINT32)options,
                    .attributes = (UINT32)attributes,
                    .share = (UINT32)share,
                    .allocation = allocation};
  if (!kd_named_security(request, "sddl", &args.security, &args.security_size)) {
    free(args.name);
    kd_reply_invalid(reply, "sddl");
    return;
  }
  args.length = volume_path(args.name);
  fsd_desc *desc;
  UINT32 information = 0;
  NTSTATUS status = open_file(volume, &args, &desc, &information);
  for (int reparses = 0; status == STATUS_REPARSE; reparses++) {
    if (reparses == REPARSES_MAX) {
      status = STATUS_REPARSE_POINT_NOT_RESOLVED;
      break;
    }
    WCHAR *target = reparse_target(volume, &args, information);
    if (target == NULL) break;
    free(args.name);
    args.name = target;
    args.length = wcslen(target);
    status = open_file(volume, &args, &desc, &information);
  }
  free(args.name);
  free(args.reparse);
  if (args.security) LocalFree(args.security);
  kd_reply_status(reply, status);
  if (desc) {
    kd_reply_u64(reply, "handle", desc->handle);
    kd_reply_u64(reply, "info", information);
    kd_reply_u64(reply, "directory", desc->node->is_directory);
    desc_put(volume, desc);
  }
}

static void verb_cleanup(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                         kd_reply *reply) {
  (void)request, (void)reply;
  cleanup_desc(volume, desc);
}

static void verb_close(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                       kd_reply *reply) {
  (void)request, (void)reply;
  close_desc(volume, desc);
}

/* A buffer of user-mode memory lent to the file system for a request: a late access after the
 * request ended faults, as in the real driver, which unmaps it. */
static void *lend_buffer(fsd_irp *irp, size_t size) {
  irp->buffer = VirtualAlloc(NULL, size ? size : 1, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  if (irp->buffer == NULL) abort();
  return irp->buffer;
}

static void verb_read(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                      kd_reply *reply) {
  fsd_node *node = desc->node;
  int64_t offset;
  uint64_t length;
  if (!kd_arg_i64(request, 1, &offset) || !kd_arg_u64(request, 2, &length) ||
      length > UINT32_MAX) {
    kd_reply_invalid(reply, "offset or length");
    return;
  }
  if (!has_access(reply, desc, FILE_READ_DATA)) return;
  /* NtReadFile refuses a negative offset. (-2 would ask a synchronous handle for its file
   * pointer, which the protocol does not keep: it is refused too.) */
  if (offset < 0 || node->is_directory) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
    return;
  }
  if (length == 0) {
    kd_reply_hex(reply, "data", NULL, 0);
    return;
  }
  fsd_irp *irp = irp_new_fixed(FspFsctlTransactReadKind);
  irp->request->Req.Read.UserContext = node->user_context;
  irp->request->Req.Read.UserContext2 = desc->user_context2;
  irp->request->Req.Read.Address = (UINT64)(UINT_PTR)lend_buffer(irp, length);
  irp->request->Req.Read.Offset = (UINT64)offset;
  irp->request->Req.Read.Length = (UINT32)length;
  AcquireSRWLockShared(&node->resource);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  ReleaseSRWLockShared(&node->resource);
  UINT32 read = irp->response->IoStatus.Information;
  if (NT_SUCCESS(status) && read > length) status = STATUS_INTERNAL_ERROR;
  kd_reply_status(reply, status);
  if (NT_SUCCESS(status)) kd_reply_hex(reply, "data", irp->buffer, read);
  irp_free(irp);
}

/* `write <handle> <offset> <data> [paging=1]`: offset -1 writes at the end of the file;
 * paging=1 sends it as paging I/O (ConstrainedIo), which cannot extend the file and does not
 * count as a modification of the handle. */
static void write_data(fsd_volume *volume, fsd_desc *desc, int64_t offset, const uint8_t *data,
                       size_t length, BOOL paging, kd_reply *reply) {
  fsd_node *node = desc->node;
  /* A handle that may only append writes at the end, wherever it asks to. */
  if (!(desc->granted_access & FILE_WRITE_DATA) && (desc->granted_access & FILE_APPEND_DATA)) {
    offset = -1;
  }
  if (!has_access(reply, desc, FILE_WRITE_DATA | FILE_APPEND_DATA)) return;
  /* NtWriteFile takes no negative offset but -1, FILE_WRITE_TO_END_OF_FILE. (-2 would ask a
   * synchronous handle for its file pointer, which the protocol does not keep: it is refused
   * too.) */
  if (offset < -1 || node->is_directory || (paging && offset == -1)) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
    return;
  }
  if (length == 0) {
    kd_reply_u64(reply, "written", 0);
    return;
  }
  fsd_irp *irp = irp_new_fixed(FspFsctlTransactWriteKind);
  memcpy(lend_buffer(irp, length), data, length);
  irp->request->Req.Write.UserContext = node->user_context;
  irp->request->Req.Write.UserContext2 = desc->user_context2;
  irp->request->Req.Write.Address = (UINT64)(UINT_PTR)irp->buffer;
  irp->request->Req.Write.Offset = (UINT64)offset;
  irp->request->Req.Write.Length = (UINT32)length;
  irp->request->Req.Write.ConstrainedIo = paging;
  AcquireSRWLockExclusive(&node->resource);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  UINT32 written = irp->response->IoStatus.Information;
  if (NT_SUCCESS(status) && written > length) status = STATUS_INTERNAL_ERROR;
  if (NT_SUCCESS(status) && !paging) {
    AcquireSRWLockExclusive(&volume->lock);
    node_set_info(volume, node, &irp->response->Rsp.Write.FileInfo, TRUE);
    desc->file_modified = TRUE;
    ReleaseSRWLockExclusive(&volume->lock);
  }
  ReleaseSRWLockExclusive(&node->resource);
  kd_reply_status(reply, status);
  if (NT_SUCCESS(status)) kd_reply_u64(reply, "written", written);
  irp_free(irp);
}

static void verb_write(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                       kd_reply *reply) {
  int64_t offset;
  uint64_t paging;
  uint8_t *data;
  size_t length;
  if (!kd_arg_i64(request, 1, &offset)) {
    kd_reply_invalid(reply, "offset");
    return;
  }
  if (!named_u64(request, reply, "paging", 0, &paging)) return;
  if (!kd_hex(kd_arg(request, 2), &data, &length)) {
    kd_reply_invalid(reply, "data");
    return;
  }
  write_data(volume, desc, offset, data, length, paging != 0, reply);
  free(data);
}

static void verb_flush(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                       kd_reply *reply) {
  (void)request;
  fsd_node *node = desc->node;
  if (!has_access(reply, desc, FILE_WRITE_DATA | FILE_APPEND_DATA)) return;
  /* Other directories than the root have nothing to flush; the root flushes the volume, which
   * user mode sees as a flush without a file context. */
  if (node->is_directory && !node->is_root) return;
  fsd_irp *irp = irp_new_fixed(FspFsctlTransactFlushBuffersKind);
  if (node->is_root) {
    kd_reply_status(reply, ioq_call(&volume->ioq, irp));
    irp_free(irp);
    return;
  }
  irp->request->Req.FlushBuffers.UserContext = node->user_context;
  irp->request->Req.FlushBuffers.UserContext2 = desc->user_context2;
  AcquireSRWLockExclusive(&node->resource);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  if (NT_SUCCESS(status)) {
    AcquireSRWLockExclusive(&volume->lock);
    node_set_info(volume, node, &irp->response->Rsp.FlushBuffers.FileInfo, TRUE);
    ReleaseSRWLockExclusive(&volume->lock);
  }
  ReleaseSRWLockExclusive(&node->resource);
  kd_reply_status(reply, status);
  irp_free(irp);
}

/* FileAllInformation: the file system's information, with what the driver knows itself. */
static void verb_query(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                       kd_reply *reply) {
  (void)request;
  fsd_node *node = desc->node;
  if (!has_access(reply, desc, FILE_READ_ATTRIBUTES)) return;
  fsd_irp *irp = irp_new_fixed(FspFsctlTransactQueryInformationKind);
  irp->request->Req.QueryInformation.UserContext = node->user_context;
  irp->request->Req.QueryInformation.UserContext2 = desc->user_context2;
  AcquireSRWLockShared(&node->resource);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  ReleaseSRWLockShared(&node->resource);
  kd_reply_status(reply, status);
  if (NT_SUCCESS(status)) {
    const FSP_FSCTL_FILE_INFO *info = &irp->response->Rsp.QueryInformation.FileInfo;
    AcquireSRWLockExclusive(&volume->lock);
    node_set_info(volume, node, info, FALSE);
    ReleaseSRWLockExclusive(&volume->lock);
    kd_reply_u64(reply, "attributes",
                 info->FileAttributes ? info->FileAttributes : FILE_ATTRIBUTE_NORMAL);
    kd_reply_u64(reply, "size", info->FileSize);
    kd_reply_u64(reply, "alloc", info->AllocationSize);
    kd_reply_u64(reply, "created", info->CreationTime);
    kd_reply_u64(reply, "accessed", info->LastAccessTime);
    kd_reply_u64(reply, "written", info->LastWriteTime);
    kd_reply_u64(reply, "changed", info->ChangeTime);
    kd_reply_u64(reply, "index", node->index_number);
    kd_reply_u64(reply, "links", 1);
    kd_reply_u64(reply, "directory", node->is_directory);
    kd_reply_u64(reply, "tag", info->ReparseTag);
  }
  irp_free(irp);
}

/* A SetInformation request of `class` for `desc`, with `extra` bytes of buffer after the name
 * (when the class carries one); NULL when the name and the extra bytes do not fit a request,
 * which only a request with either can meet. */
static fsd_irp *set_information(fsd_desc *desc, UINT32 class, BOOL with_name, size_t extra) {
  fsd_node *node = desc->node;
  fsd_irp *irp = irp_new(FspFsctlTransactSetInformationKind, with_name ? node->name : NULL,
                         with_name ? node->length : 0, extra);
  irp->request->Req.SetInformation.UserContext = node->user_context;
  irp->request->Req.SetInformation.UserContext2 = desc->user_context2;
  irp->request->Req.SetInformation.FileInformationClass = class;
  return irp;
}

static void verb_set_basic(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                           kd_reply *reply) {
  fsd_node *node = desc->node;
  uint64_t attributes, created, accessed, written, changed;
  if (!named_u64(request, reply, "attributes", 0, &attributes) ||
      !named_u64(request, reply, "created", 0, &created) ||
      !named_u64(request, reply, "accessed", 0, &accessed) ||
      !named_u64(request, reply, "written", 0, &written) ||
      !named_u64(request, reply, "changed", 0, &changed) ||
      !has_access(reply, desc, FILE_WRITE_ATTRIBUTES)) {
    return;
  }
  if (node->is_directory && (attributes & FILE_ATTRIBUTE_TEMPORARY)) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
    return;
  }
  /* Attributes 0 leave them alone (-1 to the file system); otherwise NORMAL is no attribute
   * and a directory stays one. A time of -1 (keep it from changing) is 0 to the file system. */
  UINT32 sent = (UINT32)-1;
  if (attributes) {
    sent = (UINT32)attributes & ~(FILE_ATTRIBUTE_NORMAL | FILE_ATTRIBUTE_DIRECTORY);
    if (node->is_directory) sent |= FILE_ATTRIBUTE_DIRECTORY;
  }
  fsd_irp *irp = set_information(desc, 4 /* FileBasicInformation */, FALSE, 0);
  typeof(irp->request->Req.SetInformation.Info.Basic) *basic =
      &irp->request->Req.SetInformation.Info.Basic;
  basic->FileAttributes = sent;
  basic->CreationTime = created == UINT64_MAX ? 0 : created;
  basic->LastAccessTime = accessed == UINT64_MAX ? 0 : accessed;
  basic->LastWriteTime = written == UINT64_MAX ? 0 : written;
  basic->ChangeTime = changed == UINT64_MAX ? 0 : changed;
  AcquireSRWLockExclusive(&node->resource);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  if (NT_SUCCESS(status)) {
    /* What the handle set, Cleanup must not set again. */
    AcquireSRWLockExclusive(&volume->lock);
    node_set_info(volume, node, &irp->response->Rsp.SetInformation.FileInfo, FALSE);
    desc->did_set_attributes |= sent != (UINT32)-1;
    desc->did_set_last_access |= basic->LastAccessTime != 0;
    desc->did_set_last_write |= basic->LastWriteTime != 0;
    desc->did_set_change_time |= basic->ChangeTime != 0;
    desc->did_set_metadata = TRUE;
    ReleaseSRWLockExclusive(&volume->lock);
  }
  ReleaseSRWLockExclusive(&node->resource);
  kd_reply_status(reply, status);
  irp_free(irp);
}

/* set-eof and set-alloc: FileEndOfFileInformation and FileAllocationInformation. */
static void set_size(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                     kd_reply *reply, BOOL allocation) {
  fsd_node *node = desc->node;
  uint64_t size;
  if (!kd_arg_u64(request, 1, &size)) {
    kd_reply_invalid(reply, "size");
    return;
  }
  if (!has_access(reply, desc, FILE_WRITE_DATA)) return;
  fsd_irp *irp;
  if (allocation) {
    irp = set_information(desc, 19 /* FileAllocationInformation */, FALSE, 0);
    irp->request->Req.SetInformation.Info.Allocation.AllocationSize =
        round_up(size, allocation_unit(volume));
  } else {
    irp = set_information(desc, 20 /* FileEndOfFileInformation */, FALSE, 0);
    irp->request->Req.SetInformation.Info.EndOfFile.FileSize = size;
  }
  AcquireSRWLockExclusive(&node->resource);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  if (NT_SUCCESS(status)) {
    AcquireSRWLockExclusive(&volume->lock);
    node_set_info(volume, node, &irp->response->Rsp.SetInformation.FileInfo, TRUE);
    desc->file_modified = TRUE;
    ReleaseSRWLockExclusive(&volume->lock);
  }
  ReleaseSRWLockExclusive(&node->resource);
  kd_reply_status(reply, status);
  irp_free(irp);
}

static void verb_set_eof(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                         kd_reply *reply) {
  set_size(volume, desc, request, reply, FALSE);
}

static void verb_set_alloc(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                           kd_reply *reply) {
  set_size(volume, desc, request, reply, TRUE);
}

/* FileDispositionInformation: marks the file delete pending (or not); the last cleanup then
 * deletes it, and opens fail with STATUS_DELETE_PENDING meanwhile. */
static void verb_set_delete(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                            kd_reply *reply) {
  fsd_node *node = desc->node;
  uint64_t delete;
  if (!kd_arg_u64(request, 1, &delete) || delete > 1) {
    kd_reply_invalid(reply, "delete");
    return;
  }
  if (!has_access(reply, desc, DELETE)) return;
  if (node->is_root) {
    kd_reply_status(reply, STATUS_CANNOT_DELETE);
    return;
  }
  UINT32 flags = delete ? DISPOSITION_DELETE : 0;
  AcquireSRWLockExclusive(&node->resource);
  AcquireSRWLockExclusive(&volume->lock);
  /* A deletion the file system refused is refused again without asking it. */
  NTSTATUS refused = flags ? desc->disposition_status : STATUS_SUCCESS;
  desc->disposition_status = refused;
  fsd_irp *irp =
      refused ? NULL : set_information(desc, 13 /* FileDispositionInformation */, TRUE, 0);
  ReleaseSRWLockExclusive(&volume->lock);
  NTSTATUS status = refused;
  /* A name too long for a request is refused as FspIopCreateRequest refuses it. */
  if (!refused && irp == NULL) status = STATUS_INVALID_PARAMETER;
  if (irp) {
    irp->request->Req.SetInformation.Info.DispositionEx.Flags = flags;
    status = ioq_call(&volume->ioq, irp);
    AcquireSRWLockExclusive(&volume->lock);
    if (NT_SUCCESS(status)) {
      node->delete_pending = delete != 0;
    } else if (flags && (status == STATUS_ACCESS_DENIED || status == STATUS_DIRECTORY_NOT_EMPTY ||
                         status == STATUS_CANNOT_DELETE)) {
      desc->disposition_status = status;
    }
    ReleaseSRWLockExclusive(&volume->lock);
    irp_free(irp);
  }
  ReleaseSRWLockExclusive(&node->resource);
  kd_reply_status(reply, status);
}

/* FspFileNodeRenameCheck: a file (other than the one renamed) with open handles at or below
 * `name` refuses the rename; below a replaced name, any file does. */
static NTSTATUS rename_check_locked(fsd_volume *volume, fsd_node *renamed, const WCHAR *name,
                                    size_t length, BOOL replaced) {
  BOOL ignore_case = !volume->params.CaseSensitiveSearch;
  for (fsd_node *node = volume->nodes; node; node = node->next) {
    if (!node->in_table || !name_at_or_below(node->name, node->length, name, length, ignore_case)) {
      continue;
    }
    if (replaced && node->length > length) return STATUS_ACCESS_DENIED;
    if (node != renamed && node->handle_count > 0) return STATUS_ACCESS_DENIED;
  }
  return STATUS_SUCCESS;
}

/* The rename itself, once the I/O manager opened the target directory (or not, for a name
 * in the same directory): the new name is the target directory's name as the driver keeps it,
 * and the last component as given. */
static NTSTATUS rename_desc(fsd_volume *volume, fsd_desc *desc, fsd_desc *target,
                            const WCHAR *given, size_t given_length, BOOL replace) {
  fsd_node *node = desc->node;
  if (node->is_root) return STATUS_INVALID_PARAMETER;
  if (given_length >= 2 && given[given_length - 1] == L'\\') given_length--;
  const WCHAR *suffix = given;
  for (size_t i = 0; i < given_length; i++) {
    if (given[i] == L'\\') suffix = given + i + 1;
  }
  size_t suffix_length = given_length - (size_t)(suffix - given);
  unsigned max_component = volume->params.MaxComponentLength;
  if (suffix_length == 0 || !name_is_valid_path(suffix, suffix_length, max_component)) {
    return STATUS_INVALID_PARAMETER;
  }

  AcquireSRWLockExclusive(&volume->rename_lock);
  AcquireSRWLockExclusive(&node->resource);
  AcquireSRWLockExclusive(&volume->lock);
  const WCHAR *directory = target ? target->node->name : node->name;
  size_t directory_length = target ? target->node->length : node->length;
  if (!target) {
    while (directory_length > 1 && directory[directory_length - 1] != L'\\') directory_length--;
    if (directory_length > 1) directory_length--;
  }
  BOOL backslash = directory_length > 1;
  size_t new_length = directory_length + backslash + suffix_length;
  WCHAR *new_name = malloc((new_length + 1) * sizeof(WCHAR));
  if (new_name == NULL) abort();
  memcpy(new_name, directory, directory_length * sizeof(WCHAR));
  if (backslash) new_name[directory_length] = L'\\';
  memcpy(new_name + directory_length + backslash, suffix, suffix_length * sizeof(WCHAR));
  new_name[new_length] = L'\0';
  /* The new name follows the old one's NUL directly; a request too large for both names is
   * refused as FspIopCreateRequest refuses it. Within a request, its size fits a UINT16. */
  size_t new_size = (new_length + 1) * sizeof(WCHAR);
  fsd_irp *irp = set_information(desc, 10 /* FileRenameInformation */, TRUE, new_size);
  if (irp == NULL) {
    ReleaseSRWLockExclusive(&volume->lock);
    ReleaseSRWLockExclusive(&node->resource);
    ReleaseSRWLockExclusive(&volume->rename_lock);
    free(new_name);
    return STATUS_INVALID_PARAMETER;
  }
  UINT16 offset = irp->request->FileName.Size;
  memcpy(irp->request->Buffer + offset, new_name, new_size);
  irp->request->Req.SetInformation.Info.Rename.NewFileName.Offset = offset;
  irp->request->Req.SetInformation.Info.Rename.NewFileName.Size = (UINT16)new_size;

  BOOL ignore_case = !desc->case_sensitive;
  NTSTATUS status = STATUS_SUCCESS;
  if (node->is_directory || node->handle_count != 1) {
    status = rename_check_locked(volume, node, node->name, node->length, FALSE);
  }
  BOOL same = name_equal(node->name, node->length, new_name, new_length, ignore_case);
  if (NT_SUCCESS(status) && !same) {
    status = rename_check_locked(volume, node, new_name, new_length, TRUE);
  }
  /* Exactly the same name (case included) needs no file system. */
  BOOL identical = name_equal(node->name, node->length, new_name, new_length, FALSE);
  ReleaseSRWLockExclusive(&volume->lock);
  if (NT_SUCCESS(status) && !identical) {
    /* A rename that may replace lends the caller's token (and process id). */
    if (replace) irp->request->Req.SetInformation.Info.Rename.AccessToken = lend_token(volume, irp);
    status = ioq_call(&volume->ioq, irp);
    if (NT_SUCCESS(status)) {
      /* FspFileNodeRename: the file, and every open file below it, takes the new name. */
      AcquireSRWLockExclusive(&volume->lock);
      size_t old_length = node->length;
      WCHAR *old_name = copy_units(node->name, old_length);
      for (fsd_node *moved = volume->nodes; moved; moved = moved->next) {
        if (!moved->in_table ||
            !name_at_or_below(moved->name, moved->length, old_name, old_length, ignore_case)) {
          continue;
        }
        size_t rest = moved->length - old_length;
        WCHAR *renamed = malloc((new_length + rest + 1) * sizeof(WCHAR));
        if (renamed == NULL) abort();
        memcpy(renamed, new_name, new_length * sizeof(WCHAR));
        memcpy(renamed + new_length, moved->name + old_length, (rest + 1) * sizeof(WCHAR));
        free(moved->name);
        moved->name = renamed;
        moved->length = new_length + rest;
      }
      free(old_name);
      ReleaseSRWLockExclusive(&volume->lock);
    }
  }
  irp_free(irp);
  free(new_name);
  ReleaseSRWLockExclusive(&node->resource);
  ReleaseSRWLockExclusive(&volume->rename_lock);
  return status;
}

/* FileRenameInformation with a full path makes the I/O manager open the target's directory
 * first (SL_OPEN_TARGET_DIRECTORY), and close it again after the rename. */
static void verb_rename(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                        kd_reply *reply) {
  const char *path = kd_arg(request, 1);
  uint64_t replace;
  if (path == NULL) {
    kd_reply_invalid(reply, "new path");
    return;
  }
  if (!kd_arg_u64(request, 2, &replace) || replace > 1) {
    kd_reply_invalid(reply, "replace");
    return;
  }
  if (!has_access(reply, desc, DELETE)) return;
  WCHAR *given = kd_wide(path);
  size_t length = volume_path(given);
  NTSTATUS status = STATUS_SUCCESS;
  fsd_desc *target = NULL;
  if (wcschr(given, L'\\')) {
    UINT32 access = desc->node->is_directory ? FILE_ADD_SUBDIRECTORY : FILE_ADD_FILE;
    open_args args = {.name = copy_units(given, length),
                      .length = length,
                      .access = access | SYNCHRONIZE,
                      .disposition = FILE_OPEN,
                      .options = FILE_OPEN_FOR_BACKUP_INTENT,
                      .share = FILE_SHARE_READ | FILE_SHARE_WRITE,
                      .target_directory = TRUE};
    UINT32 information;
    status = open_file(volume, &args, &target, &information);
    free(args.name);
  }
  if (NT_SUCCESS(status)) status = rename_desc(volume, desc, target, given, length, replace != 0);
  if (target) {
    close_desc(volume, target);
    desc_put(volume, target);
  }
  kd_reply_status(reply, status);
  free(given);
}

/* FspFileDescResetDirectory: the first query of a handle (or a restart with a pattern) sets
 * the pattern, which later queries keep; a restart starts over. */
static void reset_directory_locked(fsd_desc *desc, const WCHAR *pattern, size_t length,
                                   BOOL restart) {
  if (desc->pattern == NULL || (restart && length)) {
    free(desc->pattern);
    desc->pattern_all = length == 0 || (length == 1 && pattern[0] == L'*');
    desc->pattern = copy_units(desc->pattern_all ? L"*" : pattern, desc->pattern_all ? 1 : length);
    desc->pattern_length = desc->pattern_all ? 1 : length;
    if (!desc->case_sensitive) name_upcase(desc->pattern, desc->pattern_length);
  } else if (!restart) {
    return;
  }
  desc->has_such_file = FALSE;
  free(desc->marker);
  desc->marker = NULL;
}

/* How many bytes of records to ask user mode for, for a caller's buffer of `size` bytes: as
 * many as fit the entries that buffer is likely to take (names of 24 units on average), or
 * room for one record when a single name is looked for. */
static UINT32 query_directory_length(fsd_volume *volume, UINT64 size, BOOL one_name) {
  UINT32 minimum = FSP_FSCTL_ALIGN_UP(
      sizeof(FSP_FSCTL_DIR_INFO) + volume->params.MaxComponentLength * sizeof(WCHAR), 8);
  if (one_name) return minimum;
  UINT64 ratio = size * (sizeof(FSP_FSCTL_DIR_INFO) + 24 * sizeof(WCHAR)) /
                 (DIRECTORY_ENTRY_BASE + 24 * sizeof(WCHAR));
  ratio = FSP_FSCTL_ALIGN_UP(ratio, 8);
  return ratio < minimum ? minimum
         : ratio > QUERY_DIRECTORY_LENGTH_MAX ? QUERY_DIRECTORY_LENGTH_MAX
                                              : (UINT32)ratio;
}

/* Whether each record user mode returned lies whole within the `size` bytes it returned, up to
 * the end mark (a Size too small for a record) or the end. The driver reads the records in its
 * own buffer without asking; the double checks, and fails the query with STATUS_INTERNAL_ERROR
 * as the driver fails one that returns more than was asked. */
static BOOL directory_records_fit(const UINT8 *records, size_t size) {
  for (size_t at = 0; at + sizeof(UINT16) <= size;) {
    UINT16 record_size = ((const FSP_FSCTL_DIR_INFO *)(records + at))->Size;
    if (record_size < sizeof(FSP_FSCTL_DIR_INFO)) return TRUE;
    if (record_size > size - at) return FALSE;
    at += FSP_FSCTL_DEFAULT_ALIGN_UP(record_size);
  }
  return TRUE;
}

/* FspFsvolQueryDirectoryCopy: moves the records user mode returned into the caller's buffer
 * of `size` bytes while they fit, filtering by the pattern, and moves the handle's marker to
 * the last name taken or skipped. Reports the entries it took. */
static NTSTATUS copy_directory_locked(fsd_desc *desc, const UINT8 *records, size_t records_size,
                                      UINT64 size, kd_reply *reply, UINT64 *used) {
  const UINT8 *end = records + records_size;
  UINT64 position = 0;
  NTSTATUS status = STATUS_SUCCESS;
  const WCHAR *marker = NULL;
  size_t marker_length = 0;
  *used = 0;
  for (const UINT8 *at = records; at + sizeof(UINT16) <= end;) {
    const FSP_FSCTL_DIR_INFO *record = (const FSP_FSCTL_DIR_INFO *)at;
    if (record->Size < sizeof(FSP_FSCTL_DIR_INFO)) {
      if (*used == 0) return STATUS_NO_MORE_FILES;
      break;
    }
    const WCHAR *name = record->FileNameBuf;
    size_t length = (record->Size - sizeof(FSP_FSCTL_DIR_INFO)) / sizeof(WCHAR);
    at += FSP_FSCTL_DEFAULT_ALIGN_UP(record->Size);
    if (!desc->pattern_all && !name_matches(desc->pattern, desc->pattern_length, name, length,
                                            !desc->case_sensitive)) {
      marker = name;
      marker_length = length;
      continue;
    }
    UINT64 copied = length * sizeof(WCHAR);
    BOOL last = FALSE;
    if (position + DIRECTORY_ENTRY_BASE + copied > size) {
      if (*used) break;
      if (position + DIRECTORY_ENTRY_BASE > size) return STATUS_BUFFER_TOO_SMALL;
      copied = size - (position + DIRECTORY_ENTRY_BASE);
      status = STATUS_BUFFER_OVERFLOW;
      last = TRUE;
    }
    *used = position + DIRECTORY_ENTRY_BASE + copied;
    UINT32 attributes = record->FileInfo.FileAttributes;
    kd_reply_entry_tagged(reply, name, copied / sizeof(WCHAR),
                          attributes ? attributes : FILE_ATTRIBUTE_NORMAL,
                          record->FileInfo.FileSize, record->FileInfo.ReparseTag);
    marker = name;
    marker_length = length;
    position += FSP_FSCTL_ALIGN_UP(DIRECTORY_ENTRY_BASE + copied, 8);
    if (last) break;
  }
  if (marker) {
    free(desc->marker);
    desc->marker = copy_units(marker, marker_length);
    desc->marker_length = marker_length;
  }
  return status;
}

/* The directory query proper: asks user mode for records (again, while all it returns fails
 * the pattern) and copies them into the caller's buffer of `size` bytes. */
static NTSTATUS query_directory(fsd_volume *volume, fsd_desc *desc, UINT64 size,
                                kd_reply *reply) {
  const FSP_FSCTL_VOLUME_PARAMS *params = &volume->params;
  fsd_node *node = desc->node;
  AcquireSRWLockExclusive(&volume->lock);
  BOOL wild = name_has_wildcards(desc->pattern, desc->pattern_length);
  BOOL found_already = desc->has_such_file;
  ReleaseSRWLockExclusive(&volume->lock);
  /* A search for one name is over once it was found. */
  if (!wild && found_already) return STATUS_NO_MORE_FILES;
  BOOL one_name = params->PassQueryDirectoryFileName && !wild;
  BOOL pass_pattern = one_name || (params->PassQueryDirectoryPattern && !desc->pattern_all);
  UINT32 length = query_directory_length(volume, size, one_name);
  NTSTATUS status;
  UINT64 used = 0;
  do {
    /* The pattern, then room for the longest marker, follow the (empty) file name. */
    size_t pattern_size = pass_pattern ? (desc->pattern_length + 1) * sizeof(WCHAR) : 0;
    fsd_irp *irp = irp_new(FspFsctlTransactQueryDirectoryKind, NULL, 0,
                           pattern_size + (params->MaxComponentLength + 1) * sizeof(WCHAR));
    if (irp == NULL) return STATUS_INVALID_PARAMETER;
    FSP_FSCTL_TRANSACT_REQ *sent = irp->request;
    sent->Req.QueryDirectory.UserContext = node->user_context;
    sent->Req.QueryDirectory.UserContext2 = desc->user_context2;
    sent->Req.QueryDirectory.Address = (UINT64)(UINT_PTR)lend_buffer(irp, length);
    sent->Req.QueryDirectory.Length = length;
    sent->Req.QueryDirectory.CaseSensitive = desc->case_sensitive;
    AcquireSRWLockExclusive(&volume->lock);
    if (pass_pattern) {
      sent->Req.QueryDirectory.PatternIsFileName = one_name;
      sent->Req.QueryDirectory.Pattern.Offset = 0;
      sent->Req.QueryDirectory.Pattern.Size = (UINT16)pattern_size;
      memcpy(sent->Buffer, desc->pattern, desc->pattern_length * sizeof(WCHAR));
    }
    if (desc->marker) {
      sent->Req.QueryDirectory.Marker.Offset = (UINT16)pattern_size;
      sent->Req.QueryDirectory.Marker.Size = (UINT16)((desc->marker_length + 1) * sizeof(WCHAR));
      memcpy(sent->Buffer + pattern_size, desc->marker, desc->marker_length * sizeof(WCHAR));
    }
    ReleaseSRWLockExclusive(&volume->lock);
    status = ioq_call(&volume->ioq, irp);
    UINT32 returned = irp->response->IoStatus.Information;
    if (NT_SUCCESS(status) &&
        (returned > length || !directory_records_fit(irp->buffer, returned))) {
      fprintf(stderr,
              "winfsp double: a directory listing of %lu bytes, for %lu asked, with records "
              "running past its end fails with STATUS_INTERNAL_ERROR\n",
              (unsigned long)returned, (unsigned long)length);
      status = STATUS_INTERNAL_ERROR;
    } else if (NT_SUCCESS(status)) {
      AcquireSRWLockExclusive(&volume->lock);
      status = returned ? copy_directory_locked(desc, irp->buffer, returned, size, reply, &used)
                        : STATUS_NO_MORE_FILES;
      if (NT_SUCCESS(status) && used) desc->has_such_file = TRUE;
      if (status == STATUS_NO_MORE_FILES && !desc->has_such_file) status = STATUS_NO_SUCH_FILE;
      ReleaseSRWLockExclusive(&volume->lock);
    }
    irp_free(irp);
  } while (NT_SUCCESS(status) && used == 0);
  return status;
}

static void verb_query_dir(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                           kd_reply *reply) {
  fsd_node *node = desc->node;
  uint64_t restart, size;
  if (!named_u64(request, reply, "restart", 0, &restart) ||
      !named_u64(request, reply, "size", 4096, &size) ||
      !has_access(reply, desc, FILE_LIST_DIRECTORY)) {
    return;
  }
  const char *pattern_arg = kd_named(request, "pattern");
  WCHAR *pattern = kd_wide(pattern_arg ? pattern_arg : "");
  size_t pattern_length = wcslen(pattern);
  if (!node->is_directory ||
      (pattern_arg &&
       !name_is_valid_pattern(pattern, pattern_length, volume->params.MaxComponentLength))) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
  } else if (size <= DIRECTORY_ENTRY_BASE) {
    kd_reply_status(reply, STATUS_BUFFER_TOO_SMALL);
  } else {
    AcquireSRWLockShared(&node->resource);
    AcquireSRWLockExclusive(&volume->lock);
    reset_directory_locked(desc, pattern, pattern_length, restart != 0);
    ReleaseSRWLockExclusive(&volume->lock);
    kd_reply_status(reply, query_directory(volume, desc, size, reply));
    ReleaseSRWLockShared(&node->resource);
  }
  free(pattern);
}

static void verb_security(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                          kd_reply *reply) {
  fsd_node *node = desc->node;
  uint64_t information;
  if (!named_u64(request, reply, "info",
                 OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                     DACL_SECURITY_INFORMATION,
                 &information)) {
    return;
  }
  UINT32 ordinary = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                    DACL_SECURITY_INFORMATION | LABEL_SECURITY_INFORMATION;
  UINT32 needed = ((information & ordinary) ? READ_CONTROL : 0) |
                  ((information & SACL_SECURITY_INFORMATION) ? ACCESS_SYSTEM_SECURITY : 0);
  if ((desc->granted_access & needed) != needed) {
    kd_reply_status(reply, STATUS_ACCESS_DENIED);
    return;
  }
  fsd_irp *irp = irp_new_fixed(FspFsctlTransactQuerySecurityKind);
  irp->request->Req.QuerySecurity.UserContext = node->user_context;
  irp->request->Req.QuerySecurity.UserContext2 = desc->user_context2;
  AcquireSRWLockShared(&node->resource);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  ReleaseSRWLockShared(&node->resource);
  const FSP_FSCTL_TRANSACT_RSP *response = irp->response;
  FSP_FSCTL_TRANSACT_BUF found = response->Rsp.QuerySecurity.SecurityDescriptor;
  PSECURITY_DESCRIPTOR descriptor = (PSECURITY_DESCRIPTOR)(response->Buffer + found.Offset);
  if (NT_SUCCESS(status) && (found.Size == 0 || !IsValidSecurityDescriptor(descriptor))) {
    status = STATUS_INVALID_SECURITY_DESCR;
  }
  /* The conversion keeps the parts asked for, as the driver does before answering. */
  WCHAR *sddl = NULL;
  if (NT_SUCCESS(status) &&
      !ConvertSecurityDescriptorToStringSecurityDescriptorW(
          descriptor, SDDL_REVISION_1, (SECURITY_INFORMATION)information, &sddl, NULL)) {
    status = status_from_win32(GetLastError());
  }
  kd_reply_status(reply, status);
  if (sddl) {
    kd_reply_wide(reply, "sddl", sddl, wcslen(sddl));
    LocalFree(sddl);
  }
  irp_free(irp);
}

/* SetFileSecurity / SetSecurityInfo: the parts `info` names of the descriptor `sddl`, after the
 * checks the I/O manager makes (WRITE_OWNER for the owner, group or label, WRITE_DAC for the
 * DACL, ACCESS_SYSTEM_SECURITY for the SACL). */
static void verb_set_security(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                              kd_reply *reply) {
  fsd_node *node = desc->node;
  uint64_t information;
  const char *sddl_arg = kd_named(request, "sddl");
  if (!named_u64(request, reply, "info", DACL_SECURITY_INFORMATION, &information)) return;
  if (sddl_arg == NULL) {
    kd_reply_invalid(reply, "sddl");
    return;
  }
  UINT32 needed = ((information & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                                   LABEL_SECURITY_INFORMATION))
                        ? WRITE_OWNER
                        : 0) |
                   ((information & DACL_SECURITY_INFORMATION) ? WRITE_DAC : 0) |
                   ((information & SACL_SECURITY_INFORMATION) ? ACCESS_SYSTEM_SECURITY : 0);
  if ((desc->granted_access & needed) != needed) {
    kd_reply_status(reply, STATUS_ACCESS_DENIED);
    return;
  }
  PSECURITY_DESCRIPTOR descriptor;
  ULONG size;
  if (!kd_named_security(request, "sddl", &descriptor, &size)) {
    kd_reply_invalid(reply, "sddl");
    return;
  }
  fsd_irp *irp = irp_new(FspFsctlTransactSetSecurityKind, NULL, 0, size);
  if (irp == NULL) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
  } else {
    irp->request->Req.SetSecurity.UserContext = node->user_context;
    irp->request->Req.SetSecurity.UserContext2 = desc->user_context2;
    irp->request->Req.SetSecurity.SecurityInformation = (UINT32)information;
    irp->request->Req.SetSecurity.SecurityDescriptor.Offset = 0;
    irp->request->Req.SetSecurity.SecurityDescriptor.Size = (UINT16)size;
    memcpy(irp->request->Buffer, descriptor, size);
    AcquireSRWLockExclusive(&node->resource);
    kd_reply_status(reply, ioq_call(&volume->ioq, irp));
    ReleaseSRWLockExclusive(&node->resource);
    irp_free(irp);
  }
  LocalFree(descriptor);
}

/* ---- changes the file system reports ---- */

NTSTATUS fsd_notify_begin(fsd_volume *volume) {
  NTSTATUS status = STATUS_SUCCESS;
  BOOL stopped = ioq_is_stopped(&volume->ioq);
  AcquireSRWLockExclusive(&volume->lock);
  if (stopped) {
    status = STATUS_CANCELLED;
  } else if (volume->notifying > 0 || TryAcquireSRWLockShared(&volume->rename_lock)) {
    volume->notifying++;
  } else {
    status = STATUS_CANT_WAIT;
  }
  ReleaseSRWLockExclusive(&volume->lock);
  return status;
}

static void record_change(fsd_volume *volume, const WCHAR *path, size_t length, UINT32 action,
                          UINT32 filter) {
  fsd_change *change = calloc(1, sizeof *change);
  if (change == NULL) abort();
  change->path = copy_units(path, length);
  change->length = length;
  change->action = action;
  change->filter = filter;
  *volume->changes_end = change;
  volume->changes_end = &change->next;
}

NTSTATUS fsd_notify(fsd_volume *volume, const FSP_FSCTL_NOTIFY_INFO *info, size_t size) {
  /* Once the volume stopped, changes are refused; the end of a notification still lets renames
   * go, or one waiting for it would hold up the volume's going away. */
  BOOL stopped = ioq_is_stopped(&volume->ioq);
  const UINT8 *at = (const UINT8 *)info, *end = at + size;
  /* A relative name is relative to the last absolute one. */
  WCHAR *absolute = NULL;
  size_t absolute_length = 0;
  BOOL ends = FALSE;
  AcquireSRWLockExclusive(&volume->lock);
  for (UINT16 record_size; at + sizeof(UINT16) <= end;
       at += FSP_FSCTL_DEFAULT_ALIGN_UP(record_size)) {
    const FSP_FSCTL_NOTIFY_INFO *record = (const FSP_FSCTL_NOTIFY_INFO *)at;
    record_size = record->Size;
    if (record_size < sizeof(FSP_FSCTL_NOTIFY_INFO)) {
      ends = TRUE;
      break;
    }
    /* A record running past what was given is not read (the driver would read past it). */
    if (stopped || record_size > (size_t)(end - at)) continue;
    const WCHAR *name = record->FileNameBuf;
    size_t length = (record_size - sizeof(FSP_FSCTL_NOTIFY_INFO)) / sizeof(WCHAR);
    if (length >= 2 && name[length - 1] == L'\\') length--;
    if (!name_is_valid_path(name, length, volume->params.MaxComponentLength)) continue;
    if (name[0] == L'\\') {
      free(absolute);
      absolute = copy_units(name, length);
      absolute_length = length;
      record_change(volume, name, length, record->Action, record->Filter);
    } else if (absolute) {
      BOOL backslash = absolute_length > 1;
      WCHAR *full = malloc((absolute_length + backslash + length) * sizeof(WCHAR));
      if (full == NULL) abort();
      memcpy(full, absolute, absolute_length * sizeof(WCHAR));
      if (backslash) full[absolute_length] = L'\\';
      memcpy(full + absolute_length + backslash, name, length * sizeof(WCHAR));
      record_change(volume, full, absolute_length + backslash + length, record->Action,
                    record->Filter);
      free(full);
    }
  }
  if (ends && volume->notifying > 0 && --volume->notifying == 0) {
    ReleaseSRWLockShared(&volume->rename_lock);
  }
  ReleaseSRWLockExclusive(&volume->lock);
  free(absolute);
  return stopped ? STATUS_CANCELLED : STATUS_SUCCESS;
}

/* ---- reparse points ---- */

/* FSCTL_GET_REPARSE_POINT, FSCTL_SET_REPARSE_POINT or FSCTL_DELETE_REPARSE_POINT on `desc`,
 * with `data` as the input buffer, as the driver passes them on: refused on a volume without
 * reparse points, and, for set and delete, without write access to the handle or with data
 * whose header does not match its size (FsRtlValidateReparsePointBuffer's check). */
static void reparse_control(fsd_volume *volume, fsd_desc *desc, UINT32 code, const uint8_t *data,
                            size_t size, kd_reply *reply) {
  if (!volume->params.ReparsePoints) {
    kd_reply_status(reply, STATUS_INVALID_DEVICE_REQUEST);
    return;
  }
  if (code != FSCTL_GET_REPARSE_POINT) {
    if (!has_access(reply, desc, FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES)) return;
    size_t header = REPARSE_HEADER_SIZE;
    const symlink_reparse *given = (const symlink_reparse *)data;
    if (size < header || header + given->ReparseDataLength != size) {
      kd_reply_status(reply, STATUS_IO_REPARSE_DATA_INVALID);
      return;
    }
  }
  fsd_node *node = desc->node;
  AcquireSRWLockShared(&volume->lock);
  fsd_irp *irp = irp_new(FspFsctlTransactFileSystemControlKind, node->name, node->length, size);
  ReleaseSRWLockShared(&volume->lock);
  if (irp == NULL) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
    return;
  }
  FSP_FSCTL_TRANSACT_REQ *request = irp->request;
  request->Req.FileSystemControl.UserContext = node->user_context;
  request->Req.FileSystemControl.UserContext2 = desc->user_context2;
  request->Req.FileSystemControl.FsControlCode = code;
  if (size) {
    UINT16 offset = (UINT16)FSP_FSCTL_DEFAULT_ALIGN_UP(request->FileName.Size);
    memcpy(request->Buffer + offset, data, size);
    request->Req.FileSystemControl.Buffer.Offset = offset;
    request->Req.FileSystemControl.Buffer.Size = (UINT16)size;
  }
  AcquireSRWLockExclusive(&node->resource);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  ReleaseSRWLockExclusive(&node->resource);
  kd_reply_status(reply, status);
  if (NT_SUCCESS(status) && code == FSCTL_GET_REPARSE_POINT) {
    const FSP_FSCTL_TRANSACT_RSP *response = irp->response;
    size_t offset = response->Rsp.FileSystemControl.Buffer.Offset;
    size_t length = response->Rsp.FileSystemControl.Buffer.Size;
    if (offset + length > response->Size - sizeof *response) {
      fprintf(stderr, "winfsp double: reparse data past the answer\n");
      kd_reply_status(reply, STATUS_INTERNAL_ERROR);
    } else {
      kd_reply_hex(reply, "data", response->Buffer + offset, length);
    }
  }
  irp_free(irp);
}

static void verb_get_reparse(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                             kd_reply *reply) {
  (void)request;
  reparse_control(volume, desc, FSCTL_GET_REPARSE_POINT, NULL, 0, reply);
}

/* set-reparse and delete-reparse: the reparse data is the second argument. */
static void reparse_with_data(fsd_volume *volume, fsd_desc *desc, UINT32 code,
                              const kd_request *request, kd_reply *reply) {
  const char *text = kd_arg(request, 1);
  uint8_t *data = NULL;
  size_t size = 0;
  if (text == NULL || !kd_hex(text, &data, &size)) {
    kd_reply_invalid(reply, "data");
    return;
  }
  reparse_control(volume, desc, code, data, size, reply);
  free(data);
}

static void verb_set_reparse(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                             kd_reply *reply) {
  reparse_with_data(volume, desc, FSCTL_SET_REPARSE_POINT, request, reply);
}

static void verb_delete_reparse(fsd_volume *volume, fsd_desc *desc, const kd_request *request,
                                kd_reply *reply) {
  reparse_with_data(volume, desc, FSCTL_DELETE_REPARSE_POINT, request, reply);
}

/* The changes reported since the last time, oldest first; reading them clears them. */
static void verb_notifications(fsd_volume *volume, const kd_request *request, kd_reply *reply) {
  (void)request;
  AcquireSRWLockExclusive(&volume->lock);
  fsd_change *changes = volume->changes;
  volume->changes = NULL;
  volume->changes_end = &volume->changes;
  ReleaseSRWLockExclusive(&volume->lock);
  uint64_t count = 0;
  for (fsd_change *change = changes; change; change = change->next) count++;
  kd_reply_u64(reply, "count", count);
  while (changes) {
    fsd_change *change = changes;
    changes = change->next;
    kd_reply_wide(reply, "path", change->path, change->length);
    kd_reply_u64(reply, "action", change->action);
    kd_reply_u64(reply, "filter", change->filter);
    free(change->path);
    free(change);
  }
}

/* The driver's FILE_FS_ATTRIBUTE_INFORMATION flags for the volume's parameters. */
static UINT32 file_system_flags(const FSP_FSCTL_VOLUME_PARAMS *params) {
  return (params->CaseSensitiveSearch ? FILE_CASE_SENSITIVE_SEARCH : 0) |
         (params->CasePreservedNames ? FILE_CASE_PRESERVED_NAMES : 0) |
         (params->UnicodeOnDisk ? FILE_UNICODE_ON_DISK : 0) |
         (params->PersistentAcls ? FILE_PERSISTENT_ACLS : 0) |
         (params->ReparsePoints ? FILE_SUPPORTS_REPARSE_POINTS : 0) |
         (params->NamedStreams ? FILE_NAMED_STREAMS : 0) |
         (params->ExtendedAttributes ? FILE_SUPPORTS_EXTENDED_ATTRIBUTES : 0) |
         (params->ReadOnlyVolume ? FILE_READ_ONLY_VOLUME : 0) |
         (params->SupportsPosixUnlinkRename ? FILE_SUPPORTS_POSIX_UNLINK_RENAME : 0);
}

/* The volume's size and label come from the file system; its name, flags, name length and
 * serial from the parameters it was created with. The volume is queried as a program does
 * through a handle to the volume itself, whose opening never reaches the file system. */
static void verb_volume(fsd_volume *volume, const kd_request *request, kd_reply *reply) {
  (void)request;
  const FSP_FSCTL_VOLUME_PARAMS *params = &volume->params;
  fsd_irp *irp = irp_new_fixed(FspFsctlTransactQueryVolumeInformationKind);
  NTSTATUS status = ioq_call(&volume->ioq, irp);
  kd_reply_status(reply, status);
  if (NT_SUCCESS(status)) {
    const FSP_FSCTL_VOLUME_INFO *info = &irp->response->Rsp.QueryVolumeInformation.VolumeInfo;
    size_t label_length = info->VolumeLabelLength / sizeof(WCHAR);
    if (label_length > ARRAYSIZE(info->VolumeLabel)) label_length = ARRAYSIZE(info->VolumeLabel);
    /* A name that is empty or starts with - / \ is a suffix to "WinFsp". */
    const WCHAR *name = params->FileSystemName;
    WCHAR fsname[ARRAYSIZE(params->FileSystemName) + 8] = L"";
    if (name[0] == L'\0' || name[0] == L'-' || name[0] == L'/' || name[0] == L'\\') {
      wcscpy(fsname, L"WinFsp");
    }
    wcscat(fsname, name);
    kd_reply_wide(reply, "label", info->VolumeLabel, label_length);
    kd_reply_wide(reply, "fsname", fsname, wcslen(fsname));
    kd_reply_u64(reply, "total", info->TotalSize);
    kd_reply_u64(reply, "free", info->FreeSize);
    kd_reply_u64(reply, "fsflags", file_system_flags(params));
    kd_reply_u64(reply, "maxname", params->MaxComponentLength);
    kd_reply_u64(reply, "serial", params->VolumeSerialNumber);
    AcquireSRWLockShared(&volume->lock);
    kd_reply_wide(reply, "mountpoint", volume->mount_point, wcslen(volume->mount_point));
    ReleaseSRWLockShared(&volume->lock);
    const WCHAR *unc = volume->network ? params->Prefix : L"";
    kd_reply_wide(reply, "unc", unc, wcslen(unc));
    kd_reply_text(reply, "drivetype", volume->network ? "network" : "fixed");
  }
  irp_free(irp);
}

static void verb_set_label(fsd_volume *volume, const kd_request *request, kd_reply *reply) {
  const char *label_arg = kd_arg(request, 0);
  WCHAR *label = kd_wide(label_arg ? label_arg : "");
  size_t size = (wcslen(label) + 1) * sizeof(WCHAR);
  fsd_irp *irp = irp_new(FspFsctlTransactSetVolumeInformationKind, NULL, 0, size);
  if (irp == NULL) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
  } else {
    irp->request->Req.SetVolumeInformation.FsInformationClass = 2; /* FileFsLabelInformation */
    irp->request->Req.SetVolumeInformation.Info.Label.VolumeLabel.Offset = 0;
    irp->request->Req.SetVolumeInformation.Info.Label.VolumeLabel.Size = (UINT16)size;
    memcpy(irp->request->Buffer, label, size);
    kd_reply_status(reply, ioq_call(&volume->ioq, irp));
    irp_free(irp);
  }
  free(label);
}

/* The verbs: those about the volume, and those about a handle (positional argument 0), which
 * get it referenced; only `close` serves a handle already cleaned up. */
typedef void volume_verb(fsd_volume *, const kd_request *, kd_reply *);
typedef void handle_verb(fsd_volume *, fsd_desc *, const kd_request *, kd_reply *);

void fsd_serve(void *context, const kd_request *request, kd_reply *reply) {
  static const struct {
    const char *verb;
    volume_verb *volume;
    handle_verb *handle;
  } verbs[] = {
      {"volume", verb_volume, NULL},         {"set-label", verb_set_label, NULL},
      {"create", verb_create, NULL},         {"cleanup", NULL, verb_cleanup},
      {"close", NULL, verb_close},           {"read", NULL, verb_read},
      {"write", NULL, verb_write},           {"flush", NULL, verb_flush},
      {"query", NULL, verb_query},           {"set-basic", NULL, verb_set_basic},
      {"set-eof", NULL, verb_set_eof},       {"set-alloc", NULL, verb_set_alloc},
      {"set-delete", NULL, verb_set_delete}, {"rename", NULL, verb_rename},
      {"query-dir", NULL, verb_query_dir},   {"security", NULL, verb_security},
      {"set-security", NULL, verb_set_security},
      {"notifications", verb_notifications, NULL},
      {"get-reparse", NULL, verb_get_reparse},
      {"set-reparse", NULL, verb_set_reparse},
      {"delete-reparse", NULL, verb_delete_reparse},
  };
  fsd_volume *volume = context;
  for (size_t i = 0; i < ARRAYSIZE(verbs); i++) {
    if (strcmp(request->verb, verbs[i].verb) != 0) continue;
    if (verbs[i].volume) {
      verbs[i].volume(volume, request, reply);
      return;
    }
    fsd_desc *desc = desc_get(volume, request, verbs[i].handle == verb_close, reply);
    if (desc) {
      verbs[i].handle(volume, desc, request, reply);
      desc_put(volume, desc);
    }
    return;
  }
  kd_reply_status(reply, STATUS_INVALID_DEVICE_REQUEST);
}
