/* The queue between the kernel half and the dispatcher threads: the double's FSP_IOQ.
 *
 * A request is queued by the thread that plays the calling program, fetched (copied) by a
 * dispatcher thread, and answered by whichever thread calls ioq_complete(): the dispatcher when
 * the operation returns, or any thread through FspFileSystemSendResponse. */
#include "double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ioq_init(fsd_ioq *ioq) {
  memset(ioq, 0, sizeof *ioq);
  InitializeSRWLock(&ioq->lock);
  InitializeConditionVariable(&ioq->queued);
  InitializeConditionVariable(&ioq->done);
}

fsd_irp *irp_new(UINT32 kind, const WCHAR *name, size_t name_length, size_t extra) {
  /* The driver stores the name NUL-terminated at the start of the buffer and aligns what
   * follows to 8 bytes; FileName.Size counts the NUL. Each part is checked on its own first,
   * so that the sum cannot wrap. */
  size_t room = FSP_FSCTL_TRANSACT_REQ_BUFFER_SIZEMAX;
  if ((name && name_length >= room / sizeof(WCHAR)) || extra > room) return NULL;
  size_t name_size = name ? (name_length + 1) * sizeof(WCHAR) : 0;
  size_t size = sizeof(FSP_FSCTL_TRANSACT_REQ) + FSP_FSCTL_DEFAULT_ALIGN_UP(name_size) + extra;
  if (size > FSP_FSCTL_TRANSACT_REQ_SIZEMAX) return NULL;
  fsd_irp *irp = calloc(1, sizeof *irp);
  FSP_FSCTL_TRANSACT_REQ *request = calloc(1, size);
  if (irp == NULL || request == NULL) abort();
  request->Size = (UINT16)size;
  request->Kind = kind;
  if (name) {
    memcpy(request->Buffer, name, name_length * sizeof(WCHAR));
    request->FileName.Offset = 0;
    request->FileName.Size = (UINT16)name_size;
  }
  irp->request = request;
  return irp;
}

fsd_irp *irp_new_fixed(UINT32 kind) {
  fsd_irp *irp = irp_new(kind, NULL, 0, 0);
  if (irp == NULL) abort(); /* a bare request always fits */
  return irp;
}

void irp_free(fsd_irp *irp) {
  if (irp->buffer) VirtualFree(irp->buffer, 0, MEM_RELEASE);
  if (irp->token) CloseHandle(irp->token);
  free(irp->request);
  free(irp->response);
  free(irp);
}

/* Under the lock: a request the queue cannot take any more is answered STATUS_CANCELLED. */
static void cancel_locked(fsd_irp *irp) {
  FSP_FSCTL_TRANSACT_RSP *response = calloc(1, sizeof *response);
  if (response == NULL) abort();
  response->Size = sizeof *response;
  response->Kind = irp->request->Kind;
  response->Hint = irp->request->Hint;
  response->IoStatus.Status = (UINT32)STATUS_CANCELLED;
  irp->response = response;
  irp->state = IRP_DONE;
  trace("cancel kind=%u hint=%llu", (unsigned)irp->request->Kind,
        (unsigned long long)irp->request->Hint);
  if (irp->detached) irp_free(irp);
}

static void enqueue_locked(fsd_ioq *ioq, fsd_irp *irp) {
  irp->request->Hint = ++ioq->last_hint;
  irp->state = IRP_QUEUED;
  irp->next = NULL;
  if (ioq->stopped) {
    cancel_locked(irp);
    return;
  }
  if (ioq->tail) {
    ioq->tail->next = irp;
  } else {
    ioq->head = irp;
  }
  ioq->tail = irp;
  WakeConditionVariable(&ioq->queued);
}

NTSTATUS ioq_call(fsd_ioq *ioq, fsd_irp *irp) {
  AcquireSRWLockExclusive(&ioq->lock);
  enqueue_locked(ioq, irp);
  while (irp->state != IRP_DONE) SleepConditionVariableSRW(&ioq->done, &ioq->lock, INFINITE, 0);
  ReleaseSRWLockExclusive(&ioq->lock);
  return (NTSTATUS)irp->response->IoStatus.Status;
}

void ioq_post(fsd_ioq *ioq, fsd_irp *irp) {
  irp->detached = TRUE;
  AcquireSRWLockExclusive(&ioq->lock);
  enqueue_locked(ioq, irp);
  ReleaseSRWLockExclusive(&ioq->lock);
}

BOOL ioq_fetch(fsd_ioq *ioq, FSP_FSCTL_TRANSACT_REQ *request) {
  AcquireSRWLockExclusive(&ioq->lock);
  while (!ioq->stopped && ioq->head == NULL) {
    SleepConditionVariableSRW(&ioq->queued, &ioq->lock, INFINITE, 0);
  }
  fsd_irp *irp = ioq->stopped ? NULL : ioq->head;
  if (irp) {
    ioq->head = irp->next;
    if (ioq->head == NULL) ioq->tail = NULL;
    irp->next = ioq->processing;
    ioq->processing = irp;
    irp->state = IRP_PROCESSING;
    irp->fetched = TRUE;
    /* The dispatcher gets a copy in its own buffer, as the real transact delivers it. */
    memcpy(request, irp->request, irp->request->Size);
  }
  ReleaseSRWLockExclusive(&ioq->lock);
  return irp != NULL;
}

NTSTATUS ioq_complete(fsd_ioq *ioq, const FSP_FSCTL_TRANSACT_RSP *response, size_t size) {
  /* FspVolumeTransact's check of the input's length, then FspFsctlTransactConsumeResponse's of
   * the answer's own Size. Such an answer is a bug of the file system's, said loudly so that a
   * test that then fails or hangs says why. */
  if (size == 0) {
    fprintf(stderr, "winfsp double: an answer of 0 bytes answers nothing\n");
    return STATUS_SUCCESS;
  }
  if (size < FSP_FSCTL_DEFAULT_ALIGN_UP(sizeof *response)) {
    fprintf(stderr,
            "winfsp double: an answer of %lu bytes, shorter than FSP_FSCTL_TRANSACT_RSP, fails "
            "with STATUS_INVALID_PARAMETER and stops the dispatcher\n",
            (unsigned long)size);
    return STATUS_INVALID_PARAMETER;
  }
  if (response->Size < sizeof *response ||
      (size_t)FSP_FSCTL_DEFAULT_ALIGN_UP(response->Size) > size) {
    fprintf(stderr,
            "winfsp double: an answer (kind=%u hint=%llu) of Size %u in %lu bytes is dropped: "
            "the driver takes one only if its Size, rounded up to 8, fits the bytes given\n",
            (unsigned)response->Kind, (unsigned long long)response->Hint,
            (unsigned)response->Size, (unsigned long)size);
    return STATUS_SUCCESS;
  }
  AcquireSRWLockExclusive(&ioq->lock);
  fsd_irp **link = &ioq->processing;
  while (*link && (*link)->request->Hint != response->Hint) link = &(*link)->next;
  fsd_irp *irp = *link;
  if (irp == NULL) {
    trace("answer to unknown request kind=%u hint=%llu ignored", (unsigned)response->Kind,
          (unsigned long long)response->Hint);
    ReleaseSRWLockExclusive(&ioq->lock);
    return STATUS_SUCCESS;
  }
  *link = irp->next;
  irp->response = malloc(response->Size);
  if (irp->response == NULL) abort();
  memcpy(irp->response, response, response->Size);
  irp->state = IRP_DONE;
  trace("answer kind=%u hint=%llu status=0x%08lx information=%lu", (unsigned)response->Kind,
        (unsigned long long)response->Hint, (unsigned long)response->IoStatus.Status,
        (unsigned long)response->IoStatus.Information);
  if (irp->detached) irp_free(irp);
  WakeAllConditionVariable(&ioq->done);
  ReleaseSRWLockExclusive(&ioq->lock);
  return STATUS_SUCCESS;
}

void ioq_stop(fsd_ioq *ioq, BOOL cancel) {
  AcquireSRWLockExclusive(&ioq->lock);
  ioq->stopped = TRUE;
  WakeAllConditionVariable(&ioq->queued);
  if (cancel) {
    while (ioq->head) {
      fsd_irp *irp = ioq->head;
      ioq->head = irp->next;
      cancel_locked(irp);
    }
    ioq->tail = NULL;
    while (ioq->processing) {
      fsd_irp *irp = ioq->processing;
      ioq->processing = irp->next;
      cancel_locked(irp);
    }
    WakeAllConditionVariable(&ioq->done);
  }
  ReleaseSRWLockExclusive(&ioq->lock);
}

BOOL ioq_is_stopped(fsd_ioq *ioq) {
  AcquireSRWLockShared(&ioq->lock);
  BOOL stopped = ioq->stopped;
  ReleaseSRWLockShared(&ioq->lock);
  return stopped;
}
