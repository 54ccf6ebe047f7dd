/* The kernel side of a driver double: a TCP line server on 127.0.0.1 through which a test
 * drives a mounted volume as Windows programs do (see ../README.md for the protocol).
 *
 * A double calls kd_server_start() once it has a volume; the server then runs for the rest of
 * the process, one thread per connection, and hands each parsed request to the double's
 * handler. The handler fills a reply: a status, then fields. */
#ifndef MOUNTKIT_KERNEL_SERVER_H
#define MOUNTKIT_KERNEL_SERVER_H

#include <windows.h>
#include <stdint.h>

#define KD_MAX_ARGS 16

/* One request: the verb, its positional arguments, and its key=value arguments, each
 * percent-decoded and NUL-terminated (a byte string argument stays hexadecimal). */
typedef struct kd_request {
  const char *verb;
  int positional_count;
  const char *positional[KD_MAX_ARGS];
  int named_count;
  const char *names[KD_MAX_ARGS];
  const char *values[KD_MAX_ARGS];
} kd_request;

/* A reply under construction. */
typedef struct kd_reply kd_reply;

/* What a double answers a request with. It may block (waiting for the file system's answer);
 * other connections go on meanwhile. */
typedef void (*kd_handler)(void *context, const kd_request *request, kd_reply *reply);

/* Starts the server if it is not running yet and makes `handler` serve every later request
 * with `context`. Returns FALSE (with the reason on stderr) if it could not listen or write the
 * port file; a server that failed once is not tried again. */
BOOL kd_server_start(kd_handler handler, void *context);

/* Stops serving `context`, if it is still the one served (later requests then answer
 * STATUS_NO_SUCH_DEVICE until the next kd_server_start()), and waits until no request is
 * inside a handler with `context`: also those that began before another context took over. */
void kd_server_detach(void *context);

/* Arguments. Each returns FALSE when the argument is absent or malformed; the *_or variants
 * return `fallback` when it is absent and FALSE only when it is malformed. */
const char *kd_arg(const kd_request *request, int index);
const char *kd_named(const kd_request *request, const char *name);
BOOL kd_arg_u64(const kd_request *request, int index, uint64_t *value);
BOOL kd_arg_i64(const kd_request *request, int index, int64_t *value);
BOOL kd_named_u64_or(const kd_request *request, const char *name, uint64_t fallback,
                     uint64_t *value);
/* A create disposition by name or number (FILE_SUPERSEDE .. FILE_OVERWRITE_IF). */
BOOL kd_named_disposition_or(const kd_request *request, const char *name, uint32_t fallback,
                             uint32_t *value);
/* A path or name as a NUL-terminated UTF-16 string; free it with free(). */
WCHAR *kd_wide(const char *utf8);
/* A hexadecimal byte string ("-" is empty); free it with free(). */
BOOL kd_hex(const char *text, uint8_t **bytes, size_t *length);
/* The security descriptor named `name`, given in SDDL, as a self-relative descriptor (what
 * SECURITY_ATTRIBUTES carries): TRUE with *descriptor NULL and *size 0 when the argument is
 * absent, FALSE when its SDDL does not convert. Free the descriptor with LocalFree(). */
BOOL kd_named_security(const kd_request *request, const char *name,
                       PSECURITY_DESCRIPTOR *descriptor, ULONG *size);

/* The reply. kd_reply_status() may be called more than once; the last status wins. Fields
 * appear in the order they are added. */
void kd_reply_status(kd_reply *reply, NTSTATUS status);
void kd_reply_u64(kd_reply *reply, const char *key, uint64_t value);
void kd_reply_text(kd_reply *reply, const char *key, const char *utf8);
void kd_reply_wide(kd_reply *reply, const char *key, const WCHAR *text, size_t length);
void kd_reply_hex(kd_reply *reply, const char *key, const void *bytes, size_t length);
/* A directory entry: `entry=<name>,<attributes hex>,<size>`. */
void kd_reply_entry(kd_reply *reply, const WCHAR *name, size_t name_length, uint32_t attributes,
                    uint64_t size);
/* A directory entry with its reparse tag (what FindFirstFile reports in dwReserved0):
 * `entry=<name>,<attributes hex>,<size>,<tag hex>`. */
void kd_reply_entry_tagged(kd_reply *reply, const WCHAR *name, size_t name_length,
                           uint32_t attributes, uint64_t size, uint32_t tag);
/* A malformed request: STATUS_INVALID_PARAMETER with `error=<what>`. */
void kd_reply_invalid(kd_reply *reply, const char *what);

#endif
