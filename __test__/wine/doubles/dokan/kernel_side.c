/* The fake driver's kernel side: the test protocol's requests (../README.md) become the IRPs a
 * Windows program's calls would produce, dispatched and completed as dokan2.sys 2.0.6 does
 * (sys/create.c, cleanup.c, close.c, read.c, write.c, fileinfo.c, directory.c, volume.c,
 * security.c, flush.c), with the state the driver keeps between them: an FCB per open file name
 * (open count, directory and delete-on-close flags, share access) and a CCB per handle (the
 * library's context, its flags, the directory enumeration's pattern and position).
 *
 * What the I/O manager does before a request reaches the driver is done here too: generic access
 * rights are mapped, a handle must have been opened with the access a request needs, a rename
 * first opens the target's directory (SL_OPEN_TARGET_DIRECTORY), and IRP_MJ_CLOSE is sent once
 * nothing uses a handle any more. */
#include "fake_driver.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "list.h"

/* ntdll: the check the driver makes of a security descriptor from user mode. */
BOOLEAN WINAPI RtlValidRelativeSecurityDescriptor(PSECURITY_DESCRIPTOR descriptor, ULONG length,
                                                  SECURITY_INFORMATION required);

/* The I/O manager's SHARE_ACCESS of a file. */
typedef struct share_access {
  ULONG open_count, readers, writers, deleters, shared_read, shared_write, shared_delete;
} share_access;

/* The driver's FCB: one per file name with open handles. */
typedef struct fcb {
  LIST_ENTRY link; /* in fake_volume.fcbs while it holds its name */
  BOOL listed;     /* FALSE once a rename gave its name to another FCB */
  WCHAR *name;     /* as its first open spelled it */
  LONG file_count; /* CCBs not yet closed */
  ULONG flags;     /* DOKAN_FILE_DIRECTORY, DOKAN_DELETE_ON_CLOSE, DOKAN_FILE_CHANGE_LAST_WRITE */
  share_access share;
} fcb;

/* The driver's CCB: one per handle (file object). */
typedef struct ccb {
  LIST_ENTRY link;  /* in fake_volume.ccbs while its handle is open */
  LONG references;  /* the handle's, and one per request using it */
  ULONG64 handle;
  fcb *fcb;
  ULONG64 user_context; /* EVENT_INFORMATION.Context of the last answer about it */
  ULONG flags;          /* DOKAN_FILE_OPENED, DOKAN_DELETE_ON_CLOSE */
  ACCESS_MASK granted;
  BOOL synchronous;  /* FO_SYNCHRONOUS_IO: its reads and writes say DOKAN_SYNCHRONOUS_IO */
  BOOL no_buffering; /* FO_NO_INTERMEDIATE_BUFFERING: its reads and writes are IRP_NOCACHE */
  BOOL reads, writes, deletes, shares_read, shares_write, shares_delete; /* its share access */
  WCHAR *search_pattern; /* fixed by the first directory query */
  ULONG index;           /* the directory entry the next query starts at */
  BOOL cleaned_up;
} ccb;

typedef struct notification {
  LIST_ENTRY link;
  ULONG filter, action;
  WCHAR path[];
} notification;

/* IoFileObjectGenericMapping. */
static GENERIC_MAPPING file_mapping = {FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                                       FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};

static size_t name_bytes(const WCHAR *name) { return wcslen(name) * sizeof(WCHAR); }

static WCHAR *copy_wide(const WCHAR *text, size_t characters) {
  WCHAR *copy = malloc((characters + 1) * sizeof(WCHAR));
  if (copy == NULL) abort();
  wmemcpy(copy, text, characters);
  copy[characters] = L'\0';
  return copy;
}

static BOOL case_sensitive(const fake_volume *volume) {
  return (volume->mount_options & DOKAN_EVENT_CASE_SENSITIVE) != 0;
}

static BOOL same_name(const fake_volume *volume, const WCHAR *a, size_t a_length, const WCHAR *b,
                      size_t b_length) {
  return CompareStringOrdinal(a, (int)a_length, b, (int)b_length, !case_sensitive(volume)) ==
         CSTR_EQUAL;
}

static BOOL read_only(const fake_volume *volume) {
  return (volume->mount_options & DOKAN_EVENT_WRITE_PROTECT) != 0;
}

/* What DokanDispatchRequest answers an IRP of `major` before its own dispatch routine sees it:
 * once an unmount is pending only cleanup and close go on (STATUS_NO_SUCH_DEVICE), and a
 * write-protected volume refuses what would change it (STATUS_MEDIA_WRITE_PROTECTED). The I/O
 * manager's checks of the handle and the parameters come first. */
static NTSTATUS dispatch_check(const fake_volume *volume, UCHAR major) {
  if (volume->unmount_pending && major != IRP_MJ_CLEANUP && major != IRP_MJ_CLOSE) {
    return STATUS_NO_SUCH_DEVICE;
  }
  if (read_only(volume) &&
      (major == IRP_MJ_WRITE || major == IRP_MJ_SET_INFORMATION ||
       major == IRP_MJ_FLUSH_BUFFERS || major == IRP_MJ_SET_VOLUME_INFORMATION ||
       major == IRP_MJ_SET_SECURITY)) {
    return STATUS_MEDIA_WRITE_PROTECTED;
  }
  return STATUS_SUCCESS;
}

/* dispatch_check() for a verb that answers itself: FALSE, with the status in the reply, when the
 * IRP goes no further. */
static BOOL dispatched(const fake_volume *volume, UCHAR major, kd_reply *reply) {
  NTSTATUS status = dispatch_check(volume, major);
  if (status == STATUS_SUCCESS) return TRUE;
  kd_reply_status(reply, status);
  return FALSE;
}

/* ---- FCBs ---- */

/* DokanGetFCB: the FCB of `name`, created if none is open, with one more open counted. */
static fcb *get_fcb(fake_volume *volume, const WCHAR *name) {
  size_t length = wcslen(name);
  for (LIST_ENTRY *link = volume->fcbs.Flink; link != &volume->fcbs; link = link->Flink) {
    fcb *file = CONTAINING_RECORD(link, fcb, link);
    if (same_name(volume, file->name, wcslen(file->name), name, length)) {
      file->file_count++;
      return file;
    }
  }
  fcb *file = calloc(1, sizeof *file);
  if (file == NULL) abort();
  file->name = copy_wide(name, length);
  file->file_count = 1;
  file->listed = TRUE;
  InsertTailList(&volume->fcbs, &file->link);
  return file;
}

/* DokanFreeFCB: one open fewer; the last one forgets the file, flags and all. */
static void release_fcb(fcb *file) {
  if (--file->file_count > 0) return;
  if (file->listed) RemoveEntryList(&file->link);
  free(file->name);
  free(file);
}

/* DokanRenameFcb: the FCB takes its new name; an FCB that had it keeps its opens but leaves
 * the table. */
static void rename_fcb(fake_volume *volume, fcb *file, const WCHAR *name, size_t length) {
  for (LIST_ENTRY *link = volume->fcbs.Flink; link != &volume->fcbs; link = link->Flink) {
    fcb *other = CONTAINING_RECORD(link, fcb, link);
    if (other != file && same_name(volume, other->name, wcslen(other->name), name, length)) {
      RemoveEntryList(&other->link);
      other->listed = FALSE;
      break;
    }
  }
  free(file->name);
  file->name = copy_wide(name, length);
}

/* ---- share access (IoCheckShareAccess and friends) ---- */

static void share_bits(ccb *handle, ACCESS_MASK access, ULONG share) {
  handle->reads = (access & (FILE_EXECUTE | FILE_READ_DATA)) != 0;
  handle->writes = (access & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
  handle->deletes = (access & DELETE) != 0;
  handle->shares_read = (share & FILE_SHARE_READ) != 0;
  handle->shares_write = (share & FILE_SHARE_WRITE) != 0;
  handle->shares_delete = (share & FILE_SHARE_DELETE) != 0;
}

static BOOL counts_for_sharing(const ccb *handle) {
  return handle->reads || handle->writes || handle->deletes;
}

static void add_share(share_access *share, const ccb *handle) {
  if (!counts_for_sharing(handle)) return;
  share->open_count++;
  share->readers += handle->reads;
  share->writers += handle->writes;
  share->deleters += handle->deletes;
  share->shared_read += handle->shares_read;
  share->shared_write += handle->shares_write;
  share->shared_delete += handle->shares_delete;
}

static void remove_share(share_access *share, const ccb *handle) {
  if (!counts_for_sharing(handle)) return;
  share->open_count--;
  share->readers -= handle->reads;
  share->writers -= handle->writes;
  share->deleters -= handle->deletes;
  share->shared_read -= handle->shares_read;
  share->shared_write -= handle->shares_write;
  share->shared_delete -= handle->shares_delete;
}

/* DokanCheckShareAccess: a file marked for deletion opens only with FILE_SHARE_DELETE; then the
 * I/O manager's sharing rules. */
static NTSTATUS check_share(const fcb *file, const ccb *handle) {
  if (!handle->shares_delete && (file->flags & DOKAN_DELETE_ON_CLOSE)) {
    return STATUS_DELETE_PENDING;
  }
  if (!counts_for_sharing(handle)) return STATUS_SUCCESS;
  const share_access *share = &file->share;
  if ((handle->reads && share->shared_read < share->open_count) ||
      (handle->writes && share->shared_write < share->open_count) ||
      (handle->deletes && share->shared_delete < share->open_count) ||
      (share->readers != 0 && !handle->shares_read) ||
      (share->writers != 0 && !handle->shares_write) ||
      (share->deleters != 0 && !handle->shares_delete)) {
    return STATUS_SHARING_VIOLATION;
  }
  return STATUS_SUCCESS;
}

/* ---- CCBs ---- */

static void send_close(fake_volume *volume, ccb *handle);

/* Drops one use of a handle; the last one sends IRP_MJ_CLOSE and forgets it. */
static void release_ccb(fake_volume *volume, ccb *handle) {
  if (--handle->references > 0) return;
  send_close(volume, handle);
  release_fcb(handle->fcb);
  free(handle->search_pattern);
  free(handle);
}

/* The open handle named by positional argument `index`, with a use counted, or NULL with the
 * reply made: STATUS_INVALID_HANDLE for a handle not open (or already cleaned up, unless
 * `after_cleanup`). */
static ccb *find_ccb(fake_volume *volume, const kd_request *request, int index, BOOL after_cleanup,
                     kd_reply *reply) {
  uint64_t number;
  if (!kd_arg_u64(request, index, &number)) {
    kd_reply_invalid(reply, "handle");
    return NULL;
  }
  for (LIST_ENTRY *link = volume->ccbs.Flink; link != &volume->ccbs; link = link->Flink) {
    ccb *handle = CONTAINING_RECORD(link, ccb, link);
    if (handle->handle != number) continue;
    if (handle->cleaned_up && !after_cleanup) break;
    handle->references++;
    return handle;
  }
  kd_reply_status(reply, STATUS_INVALID_HANDLE);
  return NULL;
}

/* The I/O manager's check that a handle was opened with one of the `needed` rights. */
static BOOL has_access(const ccb *handle, ACCESS_MASK needed, kd_reply *reply) {
  if (handle->granted & needed) return TRUE;
  kd_reply_status(reply, STATUS_ACCESS_DENIED);
  return FALSE;
}

/* An EVENT_CONTEXT about an open handle: FileFlags and Context come from its CCB. */
static PEVENT_CONTEXT handle_context(fake_volume *volume, const ccb *handle, ULONG length,
                                     UCHAR major, UCHAR minor, ULONG irp_flags) {
  return driver_event_context(volume, length, major, minor, irp_flags, handle->flags,
                              handle->user_context);
}

/* Sends `context` and frees it; on an answer, records the context it carries. */
static NTSTATUS call(fake_volume *volume, ccb *handle, PEVENT_CONTEXT context, fake_irp *irp) {
  NTSTATUS status = driver_call(volume, context, irp);
  free(context);
  if (status == STATUS_SUCCESS && handle != NULL) handle->user_context = irp->reply->Context;
  return status;
}

/* The driver's FCB name in an EVENT_CONTEXT field that the structure ends with. */
static void put_name(WCHAR *field, ULONG *length_field, const fcb *file) {
  *length_field = (ULONG)name_bytes(file->name);
  memcpy(field, file->name, *length_field);
}

/* ---- create ---- */

/* What the I/O manager and the driver make of a path: a leading double backslash loses one, a
 * trailing backslash is dropped (DokanDispatchCreate). */
static WCHAR *normalize_name(const WCHAR *path) {
  size_t length = wcslen(path);
  if (length > 1 && path[0] == L'\\' && path[1] == L'\\') {
    path++;
    length--;
  }
  if (length > 1 && path[length - 1] == L'\\') length--;
  return copy_wide(path, length);
}

/* DokanGetParentDir: \a\b becomes \a, \a becomes \; the root has no parent. */
static NTSTATUS parent_name(const WCHAR *name, WCHAR **parent) {
  if (wcscmp(name, L"\\") == 0) return STATUS_ACCESS_DENIED;
  const WCHAR *last = wcsrchr(name, L'\\');
  size_t length = last == NULL || last == name ? 1 : (size_t)(last - name);
  *parent = copy_wide(length == 1 ? L"\\" : name, length);
  return STATUS_SUCCESS;
}

/* The create's parameters, as IRP_MJ_CREATE carries them. */
typedef struct create_request {
  const WCHAR *path;
  ACCESS_MASK access;
  ULONG disposition, options, attributes, share;
  UCHAR irp_flags; /* SL_OPEN_TARGET_DIRECTORY, SL_FORCE_ACCESS_CHECK */
  PSECURITY_DESCRIPTOR security; /* what the caller asks a new file's descriptor to be, or NULL */
  ULONG security_size;
} create_request;

/* The ACCESS_STATE's object type name, "File", in a DOKAN_UNICODE_STRING_INTERMEDIATE. */
#define OBJECT_TYPE_NAME L"File"
#define POINTER_ALIGN(size) (((size) + sizeof(void *) - 1) & ~(sizeof(void *) - 1))

/* DokanDispatchCreate's EVENT_CONTEXT: the CREATE_CONTEXT, then (pointer-aligned) the object
 * name and object type name of the ACCESS_STATE, then the file name, then (pointer-aligned) the
 * security descriptor the caller asked for, if any. The object name is left empty. */
static PEVENT_CONTEXT create_context(fake_volume *volume, const create_request *create,
                                     const fcb *file, const WCHAR *name) {
  ULONG header = POINTER_ALIGN(sizeof(EVENT_CONTEXT));
  ULONG object_name = POINTER_ALIGN(sizeof(DOKAN_UNICODE_STRING_INTERMEDIATE));
  ULONG type_bytes = sizeof(OBJECT_TYPE_NAME) - sizeof(WCHAR);
  ULONG object_type =
      POINTER_ALIGN(sizeof(DOKAN_UNICODE_STRING_INTERMEDIATE) + type_bytes + sizeof(WCHAR));
  ULONG file_name = (ULONG)name_bytes(name);
  ULONG security = POINTER_ALIGN(header + object_name + object_type + file_name + sizeof(WCHAR));
  ULONG length = security + create->security_size;
  PEVENT_CONTEXT context = driver_event_context(volume, length, IRP_MJ_CREATE, 0,
                                                create->irp_flags, file->flags, 0);
  CREATE_CONTEXT *fields = &context->Operation.Create;
  DOKAN_ACCESS_STATE_INTERMEDIATE *state = &fields->SecurityContext.AccessState;
  state->RemainingDesiredAccess = create->access;
  state->OriginalDesiredAccess = create->access;
  state->UnicodeStringObjectNameOffset = header - (ULONG)((char *)state - (char *)context);
  state->UnicodeStringObjectTypeOffset = state->UnicodeStringObjectNameOffset + object_name;
  DOKAN_UNICODE_STRING_INTERMEDIATE *type =
      (DOKAN_UNICODE_STRING_INTERMEDIATE *)((char *)state +
                                            state->UnicodeStringObjectTypeOffset);
  ((DOKAN_UNICODE_STRING_INTERMEDIATE *)((char *)state + state->UnicodeStringObjectNameOffset))
      ->MaximumLength = (USHORT)object_name;
  type->Length = (USHORT)type_bytes;
  type->MaximumLength = (USHORT)object_type;
  memcpy(type->Buffer, OBJECT_TYPE_NAME, type_bytes);
  fields->SecurityContext.DesiredAccess = create->access;
  fields->FileAttributes = create->attributes;
  ULONG disposition = create->disposition;
  /* On a read-only volume, FILE_OPEN_IF only opens; a missing file is refused on completion. */
  if (read_only(volume) && disposition == FILE_OPEN_IF) disposition = FILE_OPEN;
  fields->CreateOptions = disposition << 24 | create->options;
  fields->ShareAccess = create->share;
  fields->FileNameLength = file_name;
  fields->FileNameOffset = header + object_name + object_type -
                           (ULONG)((char *)fields - (char *)context);
  memcpy((char *)fields + fields->FileNameOffset, name, file_name);
  if (create->security) {
    memcpy((char *)context + security, create->security, create->security_size);
    state->SecurityDescriptorOffset = security - (ULONG)((char *)state - (char *)context);
  }
  return context;
}

/* IRP_MJ_CREATE, from the I/O manager through DokanDispatchCreate to DokanCompleteCreate.
 * Called with the volume lock held; on success `*opened` is the new handle, in use once. */
static NTSTATUS open_file(fake_volume *volume, const create_request *create, ccb **opened,
                          ULONG_PTR *information) {
  *opened = NULL;
  *information = 0;
  NTSTATUS status = dispatch_check(volume, IRP_MJ_CREATE);
  if (status != STATUS_SUCCESS) return status;
  WCHAR *name = normalize_name(create->path);
  size_t unc_length = wcslen(volume->unc_name);
  if (!(volume->mount_options & DOKAN_EVENT_ALTERNATIVE_STREAM_ON) && wcschr(name, L':')) {
    status = STATUS_INVALID_PARAMETER;
  } else if (unc_length > 0 && wcslen(name) >= unc_length &&
             CompareStringOrdinal(name, (int)unc_length, volume->unc_name, (int)unc_length,
                                  TRUE) == CSTR_EQUAL) {
    /* A path through the network name, \server\share\file, is the volume's \file. */
    WCHAR *rest = copy_wide(name[unc_length] ? name + unc_length : L"\\",
                            name[unc_length] ? wcslen(name + unc_length) : 1);
    free(name);
    name = rest;
  }
  ULONG disposition = create->disposition;
  if (status == STATUS_SUCCESS && read_only(volume) &&
      (disposition == FILE_SUPERSEDE || disposition == FILE_CREATE ||
       disposition == FILE_OVERWRITE || disposition == FILE_OVERWRITE_IF ||
       (create->options & FILE_DELETE_ON_CLOSE))) {
    status = STATUS_MEDIA_WRITE_PROTECTED;
  }
  /* A rename's target open opens the target's directory; user mode gets the target's name. */
  BOOL target = (create->irp_flags & SL_OPEN_TARGET_DIRECTORY) != 0;
  WCHAR *parent = NULL;
  if (status == STATUS_SUCCESS && target) status = parent_name(name, &parent);
  if (status != STATUS_SUCCESS) {
    free(name);
    return status;
  }
  fcb *file = get_fcb(volume, target ? parent : name);
  free(parent);
  if (file->file_count > 1 && disposition == FILE_CREATE) {
    status = STATUS_OBJECT_NAME_COLLISION;
  } else if ((create->options & FILE_DIRECTORY_FILE) &&
             (create->attributes & FILE_ATTRIBUTE_TEMPORARY) &&
             (disposition == FILE_CREATE || disposition == FILE_OPEN_IF)) {
    status = STATUS_INVALID_PARAMETER;
  }
  ccb *handle = calloc(1, sizeof *handle);
  if (handle == NULL) abort();
  handle->fcb = file;
  handle->references = 1;
  handle->granted = create->access & MAXIMUM_ALLOWED ? FILE_ALL_ACCESS : create->access;
  handle->synchronous =
      (create->options & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT)) != 0;
  handle->no_buffering = (create->options & FILE_NO_INTERMEDIATE_BUFFERING) != 0;
  share_bits(handle, create->access, create->share);
  if (status == STATUS_SUCCESS && file->file_count > 1) status = check_share(file, handle);
  if (status != STATUS_SUCCESS) {
    free(handle);
    release_fcb(file);
    free(name);
    return status;
  }
  add_share(&file->share, handle);

  fake_irp irp = {0};
  PEVENT_CONTEXT context = create_context(volume, create, file, target ? name : file->name);
  status = call(volume, handle, context, &irp);
  free(name);
  if (status == STATUS_SUCCESS) {
    status = irp.reply->Status;
    *information = irp.reply->Operation.Create.Information;
    if (*information == FILE_DOES_NOT_EXIST && read_only(volume) &&
        create->disposition == FILE_OPEN_IF) {
      status = STATUS_MEDIA_WRITE_PROTECTED;
    }
    if (NT_SUCCESS(status)) {
      if ((create->options & FILE_DIRECTORY_FILE) ||
          (irp.reply->Operation.Create.Flags & DOKAN_FILE_DIRECTORY)) {
        file->flags |= DOKAN_FILE_DIRECTORY;
      }
      handle->flags |= DOKAN_FILE_OPENED;
      if (create->options & FILE_DELETE_ON_CLOSE) {
        file->flags |= DOKAN_DELETE_ON_CLOSE;
        handle->flags |= DOKAN_DELETE_ON_CLOSE;
      }
    }
  }
  free(irp.reply);
  if (!NT_SUCCESS(status)) {
    /* A failed create leaves nothing open: no cleanup or close follows. */
    remove_share(&file->share, handle);
    release_fcb(file);
    free(handle);
    return status;
  }
  handle->handle = ++volume->last_handle;
  handle->references++;
  InsertTailList(&volume->ccbs, &handle->link);
  *opened = handle;
  return status;
}

/* ---- cleanup and close ---- */

/* IRP_MJ_CLEANUP (DokanDispatchCleanup, DokanCompleteCleanup): the handle's last use by its
 * owner; its share access goes. The I/O manager sends it once per handle. */
static NTSTATUS cleanup_ccb(fake_volume *volume, ccb *handle) {
  handle->cleaned_up = TRUE;
  ULONG length = sizeof(EVENT_CONTEXT) + (ULONG)name_bytes(handle->fcb->name);
  PEVENT_CONTEXT context = handle_context(volume, handle, length, IRP_MJ_CLEANUP, 0, 0);
  put_name(context->Operation.Cleanup.FileName, &context->Operation.Cleanup.FileNameLength,
           handle->fcb);
  fake_irp irp = {0};
  NTSTATUS status = call(volume, handle, context, &irp);
  if (status == STATUS_SUCCESS) {
    remove_share(&handle->fcb->share, handle);
    status = irp.reply->Status;
  }
  free(irp.reply);
  return status;
}

/* IRP_MJ_CLOSE (DokanDispatchClose): user mode is told, and nothing waits for an answer. */
static void send_close(fake_volume *volume, ccb *handle) {
  ULONG length = sizeof(EVENT_CONTEXT) + (ULONG)name_bytes(handle->fcb->name);
  PEVENT_CONTEXT context = handle_context(volume, handle, length, IRP_MJ_CLOSE, 0, 0);
  put_name(context->Operation.Close.FileName, &context->Operation.Close.FileNameLength,
           handle->fcb);
  driver_notify(volume, context);
  free(context);
}

/* Closes a handle the caller uses once, as closing it would: it leaves the open handles at
 * once, is cleaned up unless it was, and IRP_MJ_CLOSE follows once no other request uses it. */
static void close_handle(fake_volume *volume, ccb *handle) {
  RemoveEntryList(&handle->link);
  if (!handle->cleaned_up) cleanup_ccb(volume, handle);
  release_ccb(volume, handle); /* the caller's use */
  release_ccb(volume, handle); /* the handle's */
}

/* ---- read, write, flush ---- */

/* FileFlags a read or write adds for its file object. */
static ULONG io_flags(const ccb *handle) {
  return (handle->synchronous ? DOKAN_SYNCHRONOUS_IO : 0) |
         (handle->no_buffering ? DOKAN_NOCACHE : 0);
}

/* IRP_MJ_READ (DokanDispatchRead, DokanCompleteRead). */
static void read_file(fake_volume *volume, ccb *handle, LONGLONG offset, ULONG length,
                      kd_reply *reply) {
  if (!dispatched(volume, IRP_MJ_READ, reply)) return;
  if (length == 0) {
    kd_reply_hex(reply, "data", NULL, 0);
    return;
  }
  if (handle->fcb->flags & DOKAN_FILE_DIRECTORY) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
    return;
  }
  ULONG size = sizeof(EVENT_CONTEXT) + (ULONG)name_bytes(handle->fcb->name);
  PEVENT_CONTEXT context = handle_context(volume, handle, size, IRP_MJ_READ, 0, 0);
  context->FileFlags |= io_flags(handle);
  context->Operation.Read.ByteOffset.QuadPart = offset;
  context->Operation.Read.BufferLength = length;
  put_name(context->Operation.Read.FileName, &context->Operation.Read.FileNameLength,
           handle->fcb);
  fake_irp irp = {0};
  NTSTATUS status = call(volume, handle, context, &irp);
  if (status == STATUS_SUCCESS) {
    status = irp.reply->BufferLength > length ? STATUS_INSUFFICIENT_RESOURCES : irp.reply->Status;
  }
  kd_reply_status(reply, status);
  if (NT_SUCCESS(status)) kd_reply_hex(reply, "data", irp.reply->Buffer, irp.reply->BufferLength);
  free(irp.reply);
}

static void verb_read(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  int64_t offset;
  uint64_t length;
  if (!kd_arg_i64(request, 1, &offset) || !kd_arg_u64(request, 2, &length) ||
      length > MAXDWORD) {
    kd_reply_invalid(reply, "read <handle> <offset> <length>");
    return;
  }
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle == NULL) return;
  if (has_access(handle, FILE_READ_DATA, reply)) {
    /* NtReadFile refuses a negative offset. (-2 would ask a synchronous handle for its file
     * pointer, which the protocol does not keep: it is refused too.) */
    if (offset < 0) {
      kd_reply_status(reply, STATUS_INVALID_PARAMETER);
    } else {
      read_file(volume, handle, offset, (ULONG)length, reply);
    }
  }
  release_ccb(volume, handle);
}

/* IRP_MJ_WRITE (DokanDispatchWrite, DokanCompleteWrite). A write whose EVENT_CONTEXT exceeds
 * what one pull carries reaches user mode in two parts: a header saying how large it is, then
 * the whole of it through FSCTL_EVENT_WRITE. */
static void write_file(fake_volume *volume, ccb *handle, LONGLONG offset, const uint8_t *data,
                       ULONG length, kd_reply *reply) {
  if (!dispatched(volume, IRP_MJ_WRITE, reply)) return;
  if (length == 0) {
    kd_reply_u64(reply, "written", 0);
    return;
  }
  if (handle->fcb->flags & DOKAN_FILE_DIRECTORY) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
    return;
  }
  ULONG name = (ULONG)name_bytes(handle->fcb->name);
  ULONGLONG size = (ULONGLONG)sizeof(EVENT_CONTEXT) + length + name;
  if (size > MAXDWORD) {
    kd_reply_status(reply, STATUS_INVALID_PARAMETER);
    return;
  }
  PEVENT_CONTEXT context = handle_context(volume, handle, (ULONG)size, IRP_MJ_WRITE, 0, 0);
  context->FileFlags |= io_flags(handle);
  /* Offset -1 is FILE_WRITE_TO_END_OF_FILE in the low part with a high part of -1. */
  if (offset == -1) context->FileFlags |= DOKAN_WRITE_TO_END_OF_FILE;
  context->Operation.Write.ByteOffset.QuadPart = offset;
  context->Operation.Write.BufferLength = length;
  context->Operation.Write.BufferOffset =
      FIELD_OFFSET(EVENT_CONTEXT, Operation.Write.FileName) + name + sizeof(WCHAR);
  memcpy((char *)context + context->Operation.Write.BufferOffset, data, length);
  put_name(context->Operation.Write.FileName, &context->Operation.Write.FileNameLength,
           handle->fcb);
  fake_irp irp = {0};
  if (size > EVENT_CONTEXT_MAX_SIZE) {
    ULONG header = max((ULONG)sizeof(EVENT_CONTEXT), context->Operation.Write.BufferOffset);
    PEVENT_CONTEXT first = calloc(1, header);
    if (first == NULL) abort();
    memcpy(first, context, context->Operation.Write.BufferOffset);
    first->Length = header;
    first->Operation.Write.RequestLength = (ULONG)size;
    irp.large_write = context;
    context = first;
  }
  NTSTATUS status = call(volume, handle, context, &irp);
  if (status == STATUS_SUCCESS) status = irp.reply->Status;
  kd_reply_status(reply, status);
  if (NT_SUCCESS(status)) {
    handle->fcb->flags |= DOKAN_FILE_CHANGE_LAST_WRITE;
    kd_reply_u64(reply, "written", irp.reply->BufferLength);
  }
  free(irp.reply);
}

static void verb_write(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  int64_t offset;
  uint8_t *data;
  size_t length;
  if (!kd_arg_i64(request, 1, &offset) || !kd_hex(kd_arg(request, 2), &data, &length)) {
    kd_reply_invalid(reply, "write <handle> <offset> <data>");
    return;
  }
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle != NULL) {
    if (length > MAXDWORD) {
      kd_reply_invalid(reply, "more data than one write carries");
    } else if (has_access(handle, FILE_WRITE_DATA | FILE_APPEND_DATA, reply)) {
      /* A handle that may only append writes at the end, wherever it asks; otherwise NtWriteFile
       * takes no negative offset but -1, FILE_WRITE_TO_END_OF_FILE. (-2 would ask a synchronous
       * handle for its file pointer, which the protocol does not keep: it is refused too.) */
      if (!(handle->granted & FILE_WRITE_DATA)) offset = -1;
      if (offset < -1) {
        kd_reply_status(reply, STATUS_INVALID_PARAMETER);
      } else {
        write_file(volume, handle, offset, data, (ULONG)length, reply);
      }
    }
    release_ccb(volume, handle);
  }
  free(data);
}

/* IRP_MJ_FLUSH_BUFFERS (DokanDispatchFlush). */
static void verb_flush(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle == NULL) return;
  if (has_access(handle, FILE_WRITE_DATA | FILE_APPEND_DATA, reply) &&
      dispatched(volume, IRP_MJ_FLUSH_BUFFERS, reply)) {
    ULONG length = sizeof(EVENT_CONTEXT) + (ULONG)name_bytes(handle->fcb->name);
    PEVENT_CONTEXT context = handle_context(volume, handle, length, IRP_MJ_FLUSH_BUFFERS, 0, 0);
    put_name(context->Operation.Flush.FileName, &context->Operation.Flush.FileNameLength,
             handle->fcb);
    fake_irp irp = {0};
    NTSTATUS status = call(volume, handle, context, &irp);
    kd_reply_status(reply, status == STATUS_SUCCESS ? irp.reply->Status : status);
    free(irp.reply);
  }
  release_ccb(volume, handle);
}

/* ---- information ---- */

/* IRP_MJ_QUERY_INFORMATION for FileAllInformation, what GetFileInformationByHandle asks
 * (DokanDispatchQueryInformation, DokanCompleteQueryInformation). The buffer has room for any
 * name, so the driver's appending of the file name, which is not reported, cannot overflow. */
static void verb_query(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle == NULL) return;
  if (has_access(handle, FILE_READ_ATTRIBUTES, reply) &&
      dispatched(volume, IRP_MJ_QUERY_INFORMATION, reply)) {
    ULONG buffer_length =
        FIELD_OFFSET(FILE_ALL_INFORMATION, NameInformation.FileName) + UNICODE_STRING_MAX_BYTES;
    ULONG length = sizeof(EVENT_CONTEXT) + (ULONG)name_bytes(handle->fcb->name);
    PEVENT_CONTEXT context =
        handle_context(volume, handle, length, IRP_MJ_QUERY_INFORMATION, 0, 0);
    context->Operation.File.FileInformationClass = FileAllInformation;
    context->Operation.File.BufferLength = buffer_length;
    put_name(context->Operation.File.FileName, &context->Operation.File.FileNameLength,
             handle->fcb);
    fake_irp irp = {0};
    NTSTATUS status = call(volume, handle, context, &irp);
    if (status == STATUS_SUCCESS) {
      status = irp.reply->BufferLength > buffer_length ? STATUS_INSUFFICIENT_RESOURCES
                                                        : irp.reply->Status;
    }
    kd_reply_status(reply, status);
    if (NT_SUCCESS(status)) {
      FILE_ALL_INFORMATION all = {0};
      memcpy(&all, irp.reply->Buffer,
             min(irp.reply->BufferLength,
                 (ULONG)FIELD_OFFSET(FILE_ALL_INFORMATION, NameInformation)));
      kd_reply_u64(reply, "attributes", all.BasicInformation.FileAttributes);
      kd_reply_u64(reply, "size", all.StandardInformation.EndOfFile.QuadPart);
      kd_reply_u64(reply, "alloc", all.StandardInformation.AllocationSize.QuadPart);
      kd_reply_u64(reply, "created", all.BasicInformation.CreationTime.QuadPart);
      kd_reply_u64(reply, "accessed", all.BasicInformation.LastAccessTime.QuadPart);
      kd_reply_u64(reply, "written", all.BasicInformation.LastWriteTime.QuadPart);
      kd_reply_u64(reply, "changed", all.BasicInformation.ChangeTime.QuadPart);
      kd_reply_u64(reply, "index", all.InternalInformation.IndexNumber.QuadPart);
      kd_reply_u64(reply, "links", all.StandardInformation.NumberOfLinks);
      kd_reply_u64(reply, "directory", all.StandardInformation.Directory != 0);
    }
    free(irp.reply);
  }
  release_ccb(volume, handle);
}

/* IRP_MJ_SET_INFORMATION (DokanDispatchSetInformation): `payload` goes after the FCB's name;
 * the EVENT_CONTEXT is as long as the caller's buffer (`caller_length`) plus `extra` bytes, which
 * the driver adds for a rename's target. */
static NTSTATUS set_information(fake_volume *volume, ccb *handle, FILE_INFORMATION_CLASS which,
                                ULONG caller_length, const void *payload, ULONG payload_length,
                                ULONG extra, fake_irp *irp) {
  NTSTATUS status = dispatch_check(volume, IRP_MJ_SET_INFORMATION);
  if (status != STATUS_SUCCESS) return status;
  ULONG name = (ULONG)name_bytes(handle->fcb->name);
  ULONG length = sizeof(EVENT_CONTEXT) + name + caller_length + extra;
  PEVENT_CONTEXT context =
      handle_context(volume, handle, length, IRP_MJ_SET_INFORMATION, 0, 0);
  context->Operation.SetFile.FileInformationClass = which;
  context->Operation.SetFile.BufferLength = caller_length;
  context->Operation.SetFile.BufferOffset =
      FIELD_OFFSET(EVENT_CONTEXT, Operation.SetFile.FileName) + name + sizeof(WCHAR);
  memcpy((char *)context + context->Operation.SetFile.BufferOffset, payload, payload_length);
  put_name(context->Operation.SetFile.FileName, &context->Operation.SetFile.FileNameLength,
           handle->fcb);
  status = call(volume, handle, context, irp);
  return status == STATUS_SUCCESS ? irp->reply->Status : status;
}

/* Sets one fixed-size information class; DokanCompleteSetInformation then records what a
 * disposition changed. */
static void set_fixed(fake_volume *volume, const kd_request *request, kd_reply *reply,
                      ACCESS_MASK needed, FILE_INFORMATION_CLASS which, const void *information,
                      ULONG length) {
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle == NULL) return;
  if (has_access(handle, needed, reply)) {
    fake_irp irp = {0};
    NTSTATUS status =
        set_information(volume, handle, which, length, information, length, 0, &irp);
    if (NT_SUCCESS(status) && which == FileDispositionInformation) {
      if (irp.reply->Operation.Delete.DeleteOnClose) {
        handle->flags |= DOKAN_DELETE_ON_CLOSE;
        handle->fcb->flags |= DOKAN_DELETE_ON_CLOSE;
      } else {
        handle->flags &= ~DOKAN_DELETE_ON_CLOSE;
        handle->fcb->flags &= ~DOKAN_DELETE_ON_CLOSE;
      }
    }
    kd_reply_status(reply, status);
    free(irp.reply);
  }
  release_ccb(volume, handle);
}

static void verb_set_basic(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  FILE_BASIC_INFORMATION basic = {0};
  uint64_t attributes, created, accessed, written, changed;
  if (!kd_named_u64_or(request, "attributes", 0, &attributes) || attributes > MAXDWORD ||
      !kd_named_u64_or(request, "created", 0, &created) ||
      !kd_named_u64_or(request, "accessed", 0, &accessed) ||
      !kd_named_u64_or(request, "written", 0, &written) ||
      !kd_named_u64_or(request, "changed", 0, &changed)) {
    kd_reply_invalid(reply, "set-basic <handle> attributes= created= accessed= written= changed=");
    return;
  }
  basic.FileAttributes = (ULONG)attributes;
  basic.CreationTime.QuadPart = (LONGLONG)created;
  basic.LastAccessTime.QuadPart = (LONGLONG)accessed;
  basic.LastWriteTime.QuadPart = (LONGLONG)written;
  basic.ChangeTime.QuadPart = (LONGLONG)changed;
  set_fixed(volume, request, reply, FILE_WRITE_ATTRIBUTES, FileBasicInformation, &basic,
            sizeof basic);
}

static void verb_set_eof(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  uint64_t size;
  if (!kd_arg_u64(request, 1, &size)) {
    kd_reply_invalid(reply, "set-eof <handle> <size>");
    return;
  }
  FILE_END_OF_FILE_INFORMATION end = {.EndOfFile.QuadPart = (LONGLONG)size};
  set_fixed(volume, request, reply, FILE_WRITE_DATA, FileEndOfFileInformation, &end, sizeof end);
}

static void verb_set_alloc(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  uint64_t size;
  if (!kd_arg_u64(request, 1, &size)) {
    kd_reply_invalid(reply, "set-alloc <handle> <size>");
    return;
  }
  FILE_ALLOCATION_INFORMATION allocation = {.AllocationSize.QuadPart = (LONGLONG)size};
  set_fixed(volume, request, reply, FILE_WRITE_DATA, FileAllocationInformation, &allocation,
            sizeof allocation);
}

static void verb_set_delete(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  uint64_t delete;
  if (!kd_arg_u64(request, 1, &delete) || delete > 1) {
    kd_reply_invalid(reply, "set-delete <handle> <0|1>");
    return;
  }
  FILE_DISPOSITION_INFORMATION disposition = {.DeleteFile = (BOOLEAN)delete};
  set_fixed(volume, request, reply, DELETE, FileDispositionInformation, &disposition,
            sizeof disposition);
}

/* A rename to a full path, as MoveFileEx makes it: the I/O manager opens the target's directory
 * (SL_OPEN_TARGET_DIRECTORY, which Dokan's library answers by probing the target itself), sends
 * FileRenameInformation with that open as the target file object, whose name the driver passes
 * on whole, then closes it. DokanCompleteSetInformation renames the FCB. */
static void verb_rename(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  const char *target_path = kd_arg(request, 1);
  uint64_t replace;
  if (target_path == NULL || target_path[0] != '\\' || !kd_arg_u64(request, 2, &replace) ||
      replace > 1) {
    kd_reply_invalid(reply, "rename <handle> <\\new path> <0|1>");
    return;
  }
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle == NULL) return;
  if (!has_access(handle, DELETE, reply)) {
    release_ccb(volume, handle);
    return;
  }
  WCHAR *path = kd_wide(target_path);
  create_request target_open = {path,
                                FILE_WRITE_DATA | SYNCHRONIZE,
                                FILE_OPEN,
                                FILE_OPEN_FOR_BACKUP_INTENT,
                                0,
                                FILE_SHARE_READ | FILE_SHARE_WRITE,
                                SL_OPEN_TARGET_DIRECTORY | SL_FORCE_ACCESS_CHECK,
                                NULL,
                                0};
  ccb *directory;
  ULONG_PTR information;
  NTSTATUS status = open_file(volume, &target_open, &directory, &information);
  if (NT_SUCCESS(status)) {
    WCHAR *target = normalize_name(path);
    ULONG target_bytes = (ULONG)name_bytes(target);
    ULONG rename_length = FIELD_OFFSET(DOKAN_RENAME_INFORMATION, FileName) + target_bytes;
    DOKAN_RENAME_INFORMATION *rename = calloc(1, rename_length);
    if (rename == NULL) abort();
    rename->ReplaceIfExists = (BOOLEAN)replace;
    rename->FileNameLength = target_bytes;
    memcpy(rename->FileName, target, target_bytes);
    /* The caller's FILE_RENAME_INFORMATION held the name the same way. */
    ULONG caller_length = FIELD_OFFSET(FILE_RENAME_INFORMATION, FileName) + target_bytes;
    fake_irp irp = {0};
    status = set_information(volume, handle, FileRenameInformation, caller_length, rename,
                             rename_length, target_bytes, &irp);
    /* The new name is the answer's Buffer, BufferLength bytes (which it holds: see fake_irp),
     * that the driver takes as a UNICODE_STRING's length. */
    ULONG renamed = NT_SUCCESS(status) ? irp.reply->BufferLength : 0;
    if (NT_SUCCESS(status) && (renamed == 0 || renamed % sizeof(WCHAR) != 0 ||
                               renamed > UNICODE_STRING_MAX_BYTES)) {
      fprintf(stderr, "dokan double: a rename answered with a new name of %lu bytes\n",
              renamed);
      status = STATUS_INVALID_PARAMETER;
    }
    if (NT_SUCCESS(status)) {
      rename_fcb(volume, handle->fcb, (const WCHAR *)irp.reply->Buffer,
                 renamed / sizeof(WCHAR));
    }
    free(irp.reply);
    free(rename);
    free(target);
    close_handle(volume, directory);
  }
  free(path);
  kd_reply_status(reply, status);
  release_ccb(volume, handle);
}

/* ---- directories ---- */

#ifndef IRP_MN_QUERY_DIRECTORY
#define IRP_MN_QUERY_DIRECTORY 0x01
#endif

/* IRP_MJ_DIRECTORY_CONTROL, IRP_MN_QUERY_DIRECTORY for FileBothDirectoryInformation, what
 * FindFirstFile and FindNextFile ask (DokanQueryDirectory, DokanCompleteDirectoryControl). The
 * first query's pattern stays the handle's; each query starts where user mode said the last one
 * ended, or at 0 with SL_RESTART_SCAN. */
/* The FILE_BOTH_DIR_INFORMATION entries in `used` bytes, each NextEntryOffset after the previous
 * one: how many there are, or FALSE if one or its name runs past the bytes (a program walking
 * them would read past them, or loop on an offset that wraps). */
static BOOL count_entries(const UCHAR *entries, ULONG used, uint64_t *count) {
  const ULONG header = FIELD_OFFSET(FILE_BOTH_DIR_INFORMATION, FileName);
  *count = 0;
  for (ULONG offset = 0; offset < used;) {
    const FILE_BOTH_DIR_INFORMATION *entry = (const FILE_BOTH_DIR_INFORMATION *)(entries + offset);
    if (used - offset < header || entry->FileNameLength > used - offset - header) return FALSE;
    ++*count;
    if (entry->NextEntryOffset == 0) break;
    if (entry->NextEntryOffset >= used - offset) return FALSE;
    offset += entry->NextEntryOffset;
  }
  return TRUE;
}

static void query_directory(fake_volume *volume, ccb *handle, const WCHAR *pattern,
                            BOOL restart, ULONG buffer_length, kd_reply *reply) {
  if (!dispatched(volume, IRP_MJ_DIRECTORY_CONTROL, reply)) return;
  if (handle->search_pattern == NULL) {
    handle->search_pattern = copy_wide(pattern, wcslen(pattern));
  }
  ULONG directory = (ULONG)name_bytes(handle->fcb->name);
  ULONG pattern_bytes = (ULONG)name_bytes(handle->search_pattern);
  ULONG length = sizeof(EVENT_CONTEXT) + directory + pattern_bytes;
  PEVENT_CONTEXT context =
      handle_context(volume, handle, length, IRP_MJ_DIRECTORY_CONTROL, IRP_MN_QUERY_DIRECTORY,
                     restart ? SL_RESTART_SCAN : 0);
  DIRECTORY_CONTEXT *fields = &context->Operation.Directory;
  fields->FileInformationClass = FileBothDirectoryInformation;
  fields->BufferLength = buffer_length;
  fields->FileIndex = restart ? 0 : handle->index;
  fields->DirectoryNameLength = directory;
  memcpy(fields->DirectoryName, handle->fcb->name, directory);
  if (pattern_bytes > 0) {
    fields->SearchPatternLength = pattern_bytes;
    fields->SearchPatternOffset = directory;
    memcpy((char *)fields->SearchPatternBase + directory, handle->search_pattern, pattern_bytes);
  }
  fake_irp irp = {0};
  NTSTATUS status = call(volume, handle, context, &irp);
  ULONG used = 0;
  if (status == STATUS_SUCCESS) {
    if (irp.reply->BufferLength > buffer_length) {
      status = STATUS_INSUFFICIENT_RESOURCES;
    } else {
      handle->index = irp.reply->Operation.Directory.Index;
      status = irp.reply->Status;
      used = irp.reply->BufferLength;
    }
  }
  uint64_t count = 0;
  if (!NT_ERROR(status) && !count_entries(irp.reply->Buffer, used, &count)) {
    /* The driver passes the entries on as they are; the double stops there, and says why. */
    fprintf(stderr, "dokan double: a directory listing of %lu bytes with entries running past "
                    "its end fails with STATUS_INVALID_PARAMETER\n",
            used);
    status = STATUS_INVALID_PARAMETER;
  }
  kd_reply_status(reply, status);
  if (!NT_ERROR(status)) {
    for (ULONG offset = 0; count > 0; count--) {
      const FILE_BOTH_DIR_INFORMATION *entry =
          (const FILE_BOTH_DIR_INFORMATION *)(irp.reply->Buffer + offset);
      kd_reply_entry(reply, entry->FileName, entry->FileNameLength / sizeof(WCHAR),
                     entry->FileAttributes, entry->EndOfFile.QuadPart);
      offset += entry->NextEntryOffset;
    }
  }
  free(irp.reply);
}

static void verb_query_dir(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  const char *pattern = kd_named(request, "pattern");
  uint64_t restart, size;
  if (!kd_named_u64_or(request, "restart", 0, &restart) || restart > 1 ||
      !kd_named_u64_or(request, "size", 4096, &size) || size > MAXDWORD) {
    kd_reply_invalid(reply, "query-dir <handle> pattern= restart= size=");
    return;
  }
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle == NULL) return;
  if (has_access(handle, FILE_LIST_DIRECTORY, reply)) {
    WCHAR *wide = kd_wide(pattern != NULL ? pattern : "*");
    query_directory(volume, handle, wide, restart != 0, (ULONG)size, reply);
    free(wide);
  }
  release_ccb(volume, handle);
}

/* ---- security ---- */

/* IRP_MJ_QUERY_SECURITY (DokanDispatchQuerySecurity, DokanCompleteQuerySecurity) with a buffer
 * of `length` bytes; `*needed` is the size a STATUS_BUFFER_OVERFLOW asks for. */
static NTSTATUS query_security(fake_volume *volume, ccb *handle, SECURITY_INFORMATION which,
                               void *buffer, ULONG length, ULONG *needed) {
  NTSTATUS status = dispatch_check(volume, IRP_MJ_QUERY_SECURITY);
  if (status != STATUS_SUCCESS) return status;
  ULONG size = sizeof(EVENT_CONTEXT) + (ULONG)name_bytes(handle->fcb->name);
  PEVENT_CONTEXT context = handle_context(volume, handle, size, IRP_MJ_QUERY_SECURITY, 0, 0);
  context->Operation.Security.SecurityInformation = which;
  context->Operation.Security.BufferLength = length;
  put_name(context->Operation.Security.FileName, &context->Operation.Security.FileNameLength,
           handle->fcb);
  fake_irp irp = {0};
  status = call(volume, handle, context, &irp);
  if (status == STATUS_SUCCESS) {
    const EVENT_INFORMATION *answer = irp.reply;
    if (answer->Status == STATUS_SUCCESS && answer->BufferLength <= length && length > 0) {
      if (RtlValidRelativeSecurityDescriptor((PSECURITY_DESCRIPTOR)answer->Buffer,
                                             answer->BufferLength, which)) {
        memcpy(buffer, answer->Buffer, answer->BufferLength);
      } else {
        status = STATUS_INVALID_PARAMETER;
      }
    } else if (answer->Status == STATUS_BUFFER_OVERFLOW ||
               (answer->Status == STATUS_SUCCESS && length < answer->BufferLength)) {
      *needed = answer->BufferLength;
      status = STATUS_BUFFER_OVERFLOW;
    } else {
      status = answer->Status;
    }
  }
  free(irp.reply);
  return status;
}

/* GetFileSecurity's two steps: ask with no buffer to learn the size, then with that size. */
static void verb_security(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  uint64_t which;
  if (!kd_named_u64_or(request, "info", OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                                            DACL_SECURITY_INFORMATION,
                       &which) ||
      which > MAXDWORD) {
    kd_reply_invalid(reply, "security <handle> info=");
    return;
  }
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle == NULL) return;
  ACCESS_MASK needed = (which & SACL_SECURITY_INFORMATION) ? ACCESS_SYSTEM_SECURITY : 0;
  if (which & ~SACL_SECURITY_INFORMATION) needed |= READ_CONTROL;
  if (has_access(handle, needed, reply)) {
    ULONG length = 0;
    NTSTATUS status = query_security(volume, handle, (SECURITY_INFORMATION)which, NULL, 0, &length);
    void *descriptor = NULL;
    if (status == STATUS_BUFFER_OVERFLOW) {
      descriptor = malloc(length);
      if (descriptor == NULL) abort();
      status = query_security(volume, handle, (SECURITY_INFORMATION)which, descriptor, length,
                              &length);
    }
    kd_reply_status(reply, status);
    WCHAR *sddl;
    if (status == STATUS_SUCCESS && descriptor != NULL &&
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            descriptor, SDDL_REVISION_1, (SECURITY_INFORMATION)which, &sddl, NULL)) {
      kd_reply_wide(reply, "sddl", sddl, wcslen(sddl));
      LocalFree(sddl);
    }
    free(descriptor);
  }
  release_ccb(volume, handle);
}

/* IRP_MJ_SET_SECURITY (DokanDispatchSetSecurity): the self-relative descriptor follows the name
 * in the event context, 8-byte aligned, at BufferOffset from the context's start. Dokany answers
 * every failure of SetFileSecurity STATUS_INVALID_PARAMETER. */
static NTSTATUS set_security(fake_volume *volume, ccb *handle, SECURITY_INFORMATION which,
                             PSECURITY_DESCRIPTOR descriptor, ULONG length) {
  NTSTATUS status = dispatch_check(volume, IRP_MJ_SET_SECURITY);
  if (status != STATUS_SUCCESS) return status;
  ULONG offset = (ULONG)(sizeof(EVENT_CONTEXT) + name_bytes(handle->fcb->name) + 7) & ~7UL;
  PEVENT_CONTEXT context =
      handle_context(volume, handle, offset + length, IRP_MJ_SET_SECURITY, 0, 0);
  context->Operation.SetSecurity.SecurityInformation = which;
  context->Operation.SetSecurity.BufferLength = length;
  context->Operation.SetSecurity.BufferOffset = offset;
  put_name(context->Operation.SetSecurity.FileName,
           &context->Operation.SetSecurity.FileNameLength, handle->fcb);
  memcpy((char *)context + offset, descriptor, length);
  fake_irp irp = {0};
  status = call(volume, handle, context, &irp);
  if (status == STATUS_SUCCESS) status = irp.reply->Status;
  free(irp.reply);
  return status;
}

/* SetFileSecurity / SetSecurityInfo: the parts `info` names of the descriptor `sddl`, after the
 * checks the I/O manager makes (WRITE_OWNER for the owner, group or label, WRITE_DAC for the
 * DACL, ACCESS_SYSTEM_SECURITY for the SACL, each of them). */
static void verb_set_security(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  uint64_t which;
  const char *sddl_arg = kd_named(request, "sddl");
  if (!kd_named_u64_or(request, "info", DACL_SECURITY_INFORMATION, &which) || which > MAXDWORD ||
      sddl_arg == NULL) {
    kd_reply_invalid(reply, "set-security <handle> info= sddl=");
    return;
  }
  PSECURITY_DESCRIPTOR descriptor;
  ULONG length;
  if (!kd_named_security(request, "sddl", &descriptor, &length)) {
    kd_reply_invalid(reply, "sddl");
    return;
  }
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle != NULL) {
    ACCESS_MASK needed =
        ((which & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                   LABEL_SECURITY_INFORMATION))
             ? WRITE_OWNER
             : 0) |
        ((which & DACL_SECURITY_INFORMATION) ? WRITE_DAC : 0) |
        ((which & SACL_SECURITY_INFORMATION) ? ACCESS_SYSTEM_SECURITY : 0);
    if ((handle->granted & needed) != needed) {
      kd_reply_status(reply, STATUS_ACCESS_DENIED);
    } else {
      kd_reply_status(reply, set_security(volume, handle, (SECURITY_INFORMATION)which,
                                          descriptor, length));
    }
    release_ccb(volume, handle);
  }
  LocalFree(descriptor);
}

/* ---- the volume ---- */

/* IRP_MJ_QUERY_VOLUME_INFORMATION (DokanDispatchQueryVolumeInformation,
 * DokanCompleteQueryVolumeInformation): the driver adds FILE_READ_ONLY_VOLUME on a read-only
 * volume and puts in the label set through FileFsLabelInformation. `*returned`, unless NULL, is
 * the bytes it returns (IoStatus.Information) once the driver dispatched it. */
static NTSTATUS query_volume(fake_volume *volume, ccb *handle, FS_INFORMATION_CLASS which,
                             void *buffer, ULONG length, ULONG *returned) {
  ULONG information = 0;
  NTSTATUS status = dispatch_check(volume, IRP_MJ_QUERY_VOLUME_INFORMATION);
  if (status != STATUS_SUCCESS) return status;
  PEVENT_CONTEXT context =
      handle_context(volume, handle, sizeof(EVENT_CONTEXT), IRP_MJ_QUERY_VOLUME_INFORMATION, 0, 0);
  context->Operation.Volume.FsInformationClass = which;
  context->Operation.Volume.BufferLength = length;
  fake_irp irp = {0};
  /* This completion leaves the CCB's context as it was. */
  status = call(volume, NULL, context, &irp);
  if (status == STATUS_SUCCESS) {
    if (irp.reply->BufferLength > length) {
      status = STATUS_INSUFFICIENT_RESOURCES;
    } else {
      memset(buffer, 0, length);
      memcpy(buffer, irp.reply->Buffer, irp.reply->BufferLength);
      status = irp.reply->Status;
      information = irp.reply->BufferLength;
      if (which == FileFsAttributeInformation && read_only(volume)) {
        ((FILE_FS_ATTRIBUTE_INFORMATION *)buffer)->FileSystemAttributes |= FILE_READ_ONLY_VOLUME;
      }
      if (which == FileFsVolumeInformation && volume->label != NULL) {
        /* The driver's label fills the structure, and it returns the whole buffer. */
        FILE_FS_VOLUME_INFORMATION *info = buffer;
        ULONG room = length - FIELD_OFFSET(FILE_FS_VOLUME_INFORMATION, VolumeLabel);
        info->VolumeLabelLength = min((ULONG)name_bytes(volume->label), room);
        memcpy(info->VolumeLabel, volume->label, info->VolumeLabelLength);
        information = length;
      }
    }
  }
  free(irp.reply);
  if (returned != NULL) *returned = information;
  return status;
}

/* What GetVolumeInformation and GetDiskFreeSpaceEx ask, through an open of the root directory
 * as they make it. */
static void verb_volume(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  (void)request;
  create_request root = {L"\\",
                         SYNCHRONIZE | FILE_READ_ATTRIBUTES,
                         FILE_OPEN,
                         FILE_SYNCHRONOUS_IO_NONALERT | FILE_OPEN_FOR_BACKUP_INTENT,
                         0,
                         FILE_SHARE_READ | FILE_SHARE_WRITE,
                         0,
                         NULL,
                         0};
  ccb *handle;
  ULONG_PTR information;
  NTSTATUS status = open_file(volume, &root, &handle, &information);
  if (!NT_SUCCESS(status)) {
    kd_reply_status(reply, status);
    return;
  }
  ULONG names = MAX_PATH * sizeof(WCHAR);
  FILE_FS_VOLUME_INFORMATION *label = malloc(sizeof *label + names);
  FILE_FS_ATTRIBUTE_INFORMATION *attributes = malloc(sizeof *attributes + names);
  FILE_FS_FULL_SIZE_INFORMATION size;
  ULONG label_returned = 0, attributes_returned = 0;
  if (label == NULL || attributes == NULL) abort();
  status = query_volume(volume, handle, FileFsVolumeInformation, label, sizeof *label + names,
                        &label_returned);
  if (NT_SUCCESS(status)) {
    status = query_volume(volume, handle, FileFsAttributeInformation, attributes,
                          sizeof *attributes + names, &attributes_returned);
  }
  if (NT_SUCCESS(status)) {
    status = query_volume(volume, handle, FileFsFullSizeInformation, &size, sizeof size, NULL);
  }
  /* The names' lengths must stay within what was returned, or the program would read past it;
   * the driver passes them on unchecked. */
  if (NT_SUCCESS(status) &&
      (label_returned < FIELD_OFFSET(FILE_FS_VOLUME_INFORMATION, VolumeLabel) ||
       label->VolumeLabelLength >
           label_returned - FIELD_OFFSET(FILE_FS_VOLUME_INFORMATION, VolumeLabel) ||
       attributes_returned < FIELD_OFFSET(FILE_FS_ATTRIBUTE_INFORMATION, FileSystemName) ||
       attributes->FileSystemNameLength >
           attributes_returned - FIELD_OFFSET(FILE_FS_ATTRIBUTE_INFORMATION, FileSystemName))) {
    fprintf(stderr, "dokan double: a volume label or file system name longer than the volume "
                    "information returned fails with STATUS_INVALID_PARAMETER\n");
    status = STATUS_INVALID_PARAMETER;
  }
  close_handle(volume, handle);
  kd_reply_status(reply, status);
  if (NT_SUCCESS(status)) {
    ULONGLONG unit = (ULONGLONG)size.SectorsPerAllocationUnit * size.BytesPerSector;
    kd_reply_wide(reply, "label", label->VolumeLabel, label->VolumeLabelLength / sizeof(WCHAR));
    kd_reply_wide(reply, "fsname", attributes->FileSystemName,
                  attributes->FileSystemNameLength / sizeof(WCHAR));
    kd_reply_u64(reply, "total", size.TotalAllocationUnits.QuadPart * unit);
    kd_reply_u64(reply, "free", size.CallerAvailableAllocationUnits.QuadPart * unit);
    kd_reply_u64(reply, "fsflags", attributes->FileSystemAttributes);
    kd_reply_u64(reply, "maxname", attributes->MaximumComponentNameLength);
    kd_reply_u64(reply, "serial", label->VolumeSerialNumber);
    /* Where the driver mounted the volume, as it keeps its mount entry. */
    const WCHAR *mount_point = volume->mount_entry;
    if (_wcsnicmp(mount_point, DOS_DEVICES, wcslen(DOS_DEVICES)) == 0) {
      mount_point += wcslen(DOS_DEVICES);
    }
    kd_reply_wide(reply, "mountpoint", mount_point, wcslen(mount_point));
    kd_reply_wide(reply, "unc", volume->unc_name, wcslen(volume->unc_name));
    const char *drive_type = volume->network ? "network"
                             : (volume->mount_options & DOKAN_EVENT_REMOVABLE) ? "removable"
                                                                              : "fixed";
    kd_reply_text(reply, "drivetype", drive_type);
  }
  free(label);
  free(attributes);
}

/* IRP_MJ_SET_VOLUME_INFORMATION with FileFsLabelInformation, which the driver keeps itself
 * (DokanDispatchSetVolumeInformation): user mode never hears of it. */
static void verb_set_label(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  if (!dispatched(volume, IRP_MJ_SET_VOLUME_INFORMATION, reply)) return;
  const char *label = kd_arg(request, 0);
  free(volume->label);
  volume->label = kd_wide(label != NULL ? label : "");
  kd_reply_status(reply, STATUS_SUCCESS);
}

/* ---- the remaining verbs ---- */

static void verb_create(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  const char *path = kd_arg(request, 0);
  uint64_t access, options, attributes, share, allocation;
  uint32_t disposition;
  if (path == NULL || path[0] != '\\' ||
      !kd_named_u64_or(request, "access", FILE_GENERIC_READ | FILE_GENERIC_WRITE, &access) ||
      access > MAXDWORD ||
      !kd_named_disposition_or(request, "disposition", FILE_OPEN, &disposition) ||
      !kd_named_u64_or(request, "options", 0, &options) || options > FILE_VALID_OPTION_FLAGS ||
      !kd_named_u64_or(request, "attributes", FILE_ATTRIBUTE_NORMAL, &attributes) ||
      attributes > MAXDWORD || !kd_named_u64_or(request, "share", 7, &share) || share > 7 ||
      !kd_named_u64_or(request, "alloc", 0, &allocation)) {
    kd_reply_invalid(reply,
                     "create <\\path> access= disposition= options= attributes= share= alloc=");
    return;
  }
  /* The I/O manager maps generic rights before the file system sees them. The allocation size
   * goes nowhere: Dokan's CREATE_CONTEXT has no field for it. */
  ACCESS_MASK mapped = (ACCESS_MASK)access;
  MapGenericMask(&mapped, &file_mapping);
  WCHAR *wide = kd_wide(path);
  create_request create = {wide, mapped, disposition, (ULONG)options, (ULONG)attributes,
                           (ULONG)share, 0, NULL, 0};
  if (!kd_named_security(request, "sddl", &create.security, &create.security_size)) {
    free(wide);
    kd_reply_invalid(reply, "sddl");
    return;
  }
  ccb *handle;
  ULONG_PTR information;
  NTSTATUS status = open_file(volume, &create, &handle, &information);
  free(wide);
  if (create.security) LocalFree(create.security);
  kd_reply_status(reply, status);
  if (!NT_SUCCESS(status)) return;
  kd_reply_u64(reply, "handle", handle->handle);
  kd_reply_u64(reply, "info", information);
  kd_reply_u64(reply, "directory", (handle->fcb->flags & DOKAN_FILE_DIRECTORY) != 0);
  release_ccb(volume, handle);
}

static void verb_cleanup(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  ccb *handle = find_ccb(volume, request, 0, FALSE, reply);
  if (handle == NULL) return;
  kd_reply_status(reply, cleanup_ccb(volume, handle));
  release_ccb(volume, handle);
}

static void verb_close(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  ccb *handle = find_ccb(volume, request, 0, TRUE, reply);
  if (handle == NULL) return;
  close_handle(volume, handle);
  kd_reply_status(reply, STATUS_SUCCESS);
}

/* The DokanNotify* calls recorded since the last time, oldest first. */
static void verb_notifications(fake_volume *volume, const kd_request *request, kd_reply *reply) {
  (void)request;
  uint64_t count = 0;
  for (LIST_ENTRY *link = volume->notifications.Flink; link != &volume->notifications;
       link = link->Flink) {
    count++;
  }
  kd_reply_u64(reply, "count", count);
  while (!IsListEmpty(&volume->notifications)) {
    notification *change =
        CONTAINING_RECORD(RemoveHeadList(&volume->notifications), notification, link);
    kd_reply_wide(reply, "path", change->path, wcslen(change->path));
    kd_reply_u64(reply, "action", change->action);
    kd_reply_u64(reply, "filter", change->filter);
    free(change);
  }
}

void kernel_serve(void *context, const kd_request *request, kd_reply *reply) {
  static const struct {
    const char *verb;
    void (*serve)(fake_volume *volume, const kd_request *request, kd_reply *reply);
  } verbs[] = {
      {"volume", verb_volume},         {"set-label", verb_set_label},
      {"create", verb_create},         {"cleanup", verb_cleanup},
      {"close", verb_close},           {"read", verb_read},
      {"write", verb_write},           {"flush", verb_flush},
      {"query", verb_query},           {"set-basic", verb_set_basic},
      {"set-eof", verb_set_eof},       {"set-alloc", verb_set_alloc},
      {"set-delete", verb_set_delete}, {"rename", verb_rename},
      {"query-dir", verb_query_dir},   {"security", verb_security},
      {"set-security", verb_set_security},
      {"notifications", verb_notifications},
  };
  fake_volume *volume = context;
  for (size_t i = 0; i < ARRAYSIZE(verbs); i++) {
    if (strcmp(request->verb, verbs[i].verb) != 0) continue;
    EnterCriticalSection(&volume->lock);
    verbs[i].serve(volume, request, reply);
    LeaveCriticalSection(&volume->lock);
    return;
  }
  kd_reply_status(reply, STATUS_INVALID_DEVICE_REQUEST);
}

void kernel_record_notification(fake_volume *volume, const WCHAR *path, USHORT length,
                                ULONG filter, ULONG action) {
  notification *change = malloc(sizeof *change + (length + 1) * sizeof(WCHAR));
  if (change == NULL) abort();
  wmemcpy(change->path, path, length);
  change->path[length] = L'\0';
  change->filter = filter;
  change->action = action;
  InsertTailList(&volume->notifications, &change->link);
}

void kernel_free_volume(fake_volume *volume) {
  while (!IsListEmpty(&volume->ccbs)) {
    ccb *handle = CONTAINING_RECORD(RemoveHeadList(&volume->ccbs), ccb, link);
    release_fcb(handle->fcb);
    free(handle->search_pattern);
    free(handle);
  }
  while (!IsListEmpty(&volume->notifications)) free(RemoveHeadList(&volume->notifications));
}
