/* The WinFsp driver double: declarations shared by its halves.
 *
 * User-mode half (api.c, ops.c): winfsp-x64.dll as a file system sees it — FspFileSystemCreate
 * and friends, dispatcher threads, and the FspFileSystemOp* functions that turn a request into
 * FSP_FILE_SYSTEM_INTERFACE calls.
 * Kernel half (fsd.c, ioq.c): what winfsp-x64.sys does — it keeps the per-file and per-handle
 * state of open files and turns each test request (kernel_server.h) into
 * FSP_FSCTL_TRANSACT_REQ records, which travel through the volume's queue to the dispatcher. */
#ifndef WINFSP_DOUBLE_H
#define WINFSP_DOUBLE_H

#include "winfsp_headers.h"
#include "kernel_server.h"

#include <stddef.h>
#include <stdint.h>

/* FSP_FSCTL_TRANSACT_REQ.Req.Create.NamedStream follows two UINT32 words of bit fields (33
 * bits of flags do not fit in one), so it lies at byte 56 of Req, 72 of the request. */
static_assert(offsetof(FSP_FSCTL_TRANSACT_REQ, Req.Create.NamedStream) == 72,
              "NamedStream is at offset 72 of FSP_FSCTL_TRANSACT_REQ");
static_assert(sizeof(FSP_FSCTL_TRANSACT_REQ) == 88 && sizeof(FSP_FSCTL_TRANSACT_RSP) == 128 &&
                  offsetof(FSP_FSCTL_TRANSACT_REQ, Buffer) == 88 &&
                  offsetof(FSP_FSCTL_TRANSACT_RSP, Buffer) == 128,
              "request and response headers as WinFsp 2.1 has them");
/* crates/winfsp reads the mount point WinFsp set (the letter `*:` took) at this offset. */
static_assert(offsetof(FSP_FILE_SYSTEM, MountPoint) == 752,
              "FSP_FILE_SYSTEM.MountPoint is at offset 752 on 64-bit Windows");

/* A symbolic link's REPARSE_DATA_BUFFER (ntifs.h). mingw's user-mode headers lack the type
 * but define SYMLINK_FLAG_RELATIVE, which makes winfsp.h leave its own copy out. */
typedef struct symlink_reparse {
  ULONG ReparseTag;
  USHORT ReparseDataLength;
  USHORT Reserved;
  USHORT SubstituteNameOffset, SubstituteNameLength, PrintNameOffset, PrintNameLength;
  ULONG Flags;
  WCHAR PathBuffer[1];
} symlink_reparse;
/* The bytes before ReparseDataLength counts: tag, length and reserved. */
#define REPARSE_HEADER_SIZE offsetof(symlink_reparse, SubstituteNameOffset)
/* The bytes before a symbolic link's path buffer. */
#define SYMLINK_HEADER_SIZE offsetof(symlink_reparse, PathBuffer)
static_assert(REPARSE_HEADER_SIZE == 8 && SYMLINK_HEADER_SIZE == 20,
              "REPARSE_DATA_BUFFER as ntifs.h lays out a symbolic link");

/* ---- the queue between the two halves (ioq.c) ---- */

typedef enum { IRP_QUEUED, IRP_PROCESSING, IRP_DONE } fsd_irp_state;

/* One request of the kernel half to user mode: what an IRP is to the real driver. */
typedef struct fsd_irp {
  struct fsd_irp *next;
  FSP_FSCTL_TRANSACT_REQ *request;   /* its Hint names it in the response */
  FSP_FSCTL_TRANSACT_RSP *response;  /* the answer, once IRP_DONE */
  fsd_irp_state state;
  BOOL fetched;                      /* a dispatcher took it (the driver's RequestProcessing) */
  BOOL detached;                     /* nobody waits (Close): freed once answered */
  void *buffer;                      /* data a read, write or directory query lends user mode */
  HANDLE token;                      /* access token lent with a create or a replacing rename */
} fsd_irp;

typedef struct fsd_ioq {
  SRWLOCK lock;
  CONDITION_VARIABLE queued;  /* a request waits to be fetched, or the queue stopped */
  CONDITION_VARIABLE done;    /* some request was answered */
  fsd_irp *head, *tail;       /* waiting to be fetched, oldest first */
  fsd_irp *processing;        /* fetched by user mode, not answered yet */
  UINT64 last_hint;
  BOOL stopped;               /* no more fetching: the dispatcher is going away */
} fsd_ioq;

void ioq_init(fsd_ioq *ioq);
/* A request of `kind` whose buffer starts with `name` (NUL-terminated, `name` may be NULL),
 * followed by `extra` bytes for the kind's own strings; NULL when that is more than a request
 * holds (FSP_FSCTL_TRANSACT_REQ_SIZEMAX), which the driver answers STATUS_INVALID_PARAMETER. */
fsd_irp *irp_new(UINT32 kind, const WCHAR *name, size_t name_length, size_t extra);
/* A request of `kind` with nothing in its buffer, which always fits. */
fsd_irp *irp_new_fixed(UINT32 kind);
void irp_free(fsd_irp *irp);
/* Queues `irp` and waits for its answer; returns the answer's status (the response is in
 * irp->response), or STATUS_CANCELLED if the queue stops first. Never times out: WinFsp does
 * not expire a request once user mode has fetched it. */
NTSTATUS ioq_call(fsd_ioq *ioq, fsd_irp *irp);
/* Queues `irp` without waiting for it, as the driver posts a Close. */
void ioq_post(fsd_ioq *ioq, fsd_irp *irp);
/* The dispatcher's side: copies the next request into `request` (which has room for
 * FSP_FSCTL_TRANSACT_REQ_SIZEMAX bytes); FALSE once the queue stopped. */
BOOL ioq_fetch(fsd_ioq *ioq, FSP_FSCTL_TRANSACT_REQ *request);
/* An answer as FspFsctlTransact hands it to the driver, `size` bytes long: it answers the
 * fetched request named by response->Hint; an unknown hint is ignored, as the driver ignores
 * answers to requests it already cancelled. The driver's checks of the size apply: an answer
 * shorter than FSP_FSCTL_TRANSACT_RSP fails the transact with STATUS_INVALID_PARAMETER (which
 * is returned), one whose size is not a multiple of 8 is dropped; both say so on stderr. */
NTSTATUS ioq_complete(fsd_ioq *ioq, const FSP_FSCTL_TRANSACT_RSP *response, size_t size);
/* Stops fetching (FSP_FSCTL_STOP0); with `cancel`, also fails every request still queued or
 * being processed with STATUS_CANCELLED (FSP_FSCTL_STOP). */
void ioq_stop(fsd_ioq *ioq, BOOL cancel);
/* Whether the queue stopped: the dispatcher is going away. */
BOOL ioq_is_stopped(fsd_ioq *ioq);

/* ---- the kernel half's volume (fsd.c) ---- */

typedef struct fsd_node fsd_node;
typedef struct fsd_desc fsd_desc;
typedef struct fsd_change fsd_change;

typedef struct fsd_volume {
  FSP_FSCTL_VOLUME_PARAMS params;  /* with the defaults the driver fills in */
  fsd_ioq ioq;
  SRWLOCK lock;                    /* guards the tables below and their counters */
  SRWLOCK rename_lock;             /* opens hold it shared, renames exclusive */
  fsd_node *nodes;                 /* open files, by name */
  fsd_desc *descs;                 /* open handles */
  UINT64 last_handle;
  HANDLE process_token;            /* the caller's token, duplicated for each request */
  LONG notifying;                  /* FspFileSystemNotifyBegin calls not ended yet */
  fsd_change *changes, **changes_end; /* what the file system reported, oldest first */
  BOOL network;                    /* on WinFsp.Net: reached by its Prefix, \server\share */
  WCHAR mount_point[MAX_PATH];     /* what FspFileSystemSetMountPoint set (M: or a folder, without
                                      a \\.\ prefix; empty for none): reported by `volume`, and
                                      what the absolute targets of symbolic links start with */
} fsd_volume;

/* The kernel half of a volume whose parameters were checked and completed. */
fsd_volume *fsd_volume_new(const FSP_FSCTL_VOLUME_PARAMS *params);
void fsd_volume_free(fsd_volume *volume);
/* FspFileSystemNotifyBegin's request to the driver: holds off renames (the rename lock, shared)
 * until the matching end; STATUS_CANT_WAIT while a rename runs. */
NTSTATUS fsd_notify_begin(fsd_volume *volume);
/* FspFileSystemNotify's: records the changes of `size` bytes of FSP_FSCTL_NOTIFY_INFO; a record
 * too short to be one (what FspFileSystemNotifyEnd sends) ends the notification. */
NTSTATUS fsd_notify(fsd_volume *volume, const FSP_FSCTL_NOTIFY_INFO *info, size_t size);
/* The handler of the test protocol (kernel_server.h) for `volume`. */
void fsd_serve(void *volume, const kd_request *request, kd_reply *reply);

/* ---- names (names.c) ---- */

/* Upper-cases `length` units in place, as the driver folds names on case-insensitive volumes. */
void name_upcase(WCHAR *name, size_t length);
/* Whether two names are equal, with or without regard to case. */
BOOL name_equal(const WCHAR *a, size_t a_length, const WCHAR *b, size_t b_length,
                BOOL ignore_case);
/* Whether `name` is `prefix` or lies below it (prefix + '\' + ...). */
BOOL name_at_or_below(const WCHAR *name, size_t name_length, const WCHAR *prefix,
                      size_t prefix_length, BOOL ignore_case);
/* Whether a pattern has DOS wildcards (* ? < > "). */
BOOL name_has_wildcards(const WCHAR *pattern, size_t length);
/* FsRtlIsNameInExpression: whether `name` matches `pattern`; with `ignore_case` the pattern
 * must already be upper case. */
BOOL name_matches(const WCHAR *pattern, size_t pattern_length, const WCHAR *name,
                  size_t name_length, BOOL ignore_case);
/* Whether `path` (absolute, no trailing backslash) is a valid file name for a volume whose
 * components may be `max_component` units long; named streams are not accepted. */
BOOL name_is_valid_path(const WCHAR *path, size_t length, unsigned max_component);
/* Whether `pattern` is a valid search pattern (one component, wildcards allowed). */
BOOL name_is_valid_pattern(const WCHAR *pattern, size_t length, unsigned max_component);

/* ---- the user-mode half (ops.c, api.c) ---- */

/* FspNtStatusFromWin32, for the errors the double can meet. */
NTSTATUS status_from_win32(DWORD error);

/* Writes a trace line to stderr when WINFSP_DOUBLE_TRACE is set. */
void trace(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
