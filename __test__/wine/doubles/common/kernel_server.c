/* The kernel protocol's server: listens on 127.0.0.1, parses request lines, hands them to the
 * double that owns the volume, and writes its replies. The protocol is in ../README.md. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <sddl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_server.h"

/* A reply line starts with its status, 0x and eight hex digits, written last into room kept at
 * the start of `fields`. */
#define STATUS_WIDTH 10
/* The longest request line a connection takes (a write of 32 MiB is 64 MiB of hex); a longer
 * one is answered STATUS_INVALID_PARAMETER and ends the connection. */
#define LINE_MAX_BYTES ((size_t)64 << 20)

struct kd_reply {
  NTSTATUS status;
  char *fields;
  size_t length;
  size_t capacity;
};

/* The requests inside a handler with one context. A context keeps its count after another
 * takes over, so that detaching it can wait for them to leave before the double frees what its
 * handler uses. */
typedef struct context_use {
  struct context_use *next;
  void *context;
  LONG busy;
} context_use;

typedef enum { SERVER_NOT_STARTED, SERVER_LISTENING, SERVER_FAILED } server_state;

/* Who serves requests now, and which contexts have requests inside a handler. */
static struct {
  SRWLOCK lock;
  CONDITION_VARIABLE idle; /* some context's last request left its handler */
  kd_handler handler;
  void *context;
  context_use *uses;
  server_state state;
} server = {SRWLOCK_INIT, CONDITION_VARIABLE_INIT, NULL, NULL, NULL, SERVER_NOT_STARTED};

/* ---- replies ---- */

static void append(kd_reply *reply, const char *bytes, size_t length) {
  if (reply->length + length + 1 > reply->capacity) {
    size_t capacity = reply->capacity ? reply->capacity : 256;
    while (reply->length + length + 1 > capacity) capacity *= 2;
    char *grown = realloc(reply->fields, capacity);
    if (grown == NULL) abort();
    reply->fields = grown;
    reply->capacity = capacity;
  }
  memcpy(reply->fields + reply->length, bytes, length);
  reply->length += length;
  reply->fields[reply->length] = '\0';
}

static BOOL is_plain(unsigned char byte) {
  return (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
         (byte >= '0' && byte <= '9') || strchr("-._~/\\:*?<>\"", byte) != NULL;
}

/* Appends `bytes` percent-encoded: everything but the plain characters becomes %XX. */
static void append_encoded(kd_reply *reply, const char *bytes, size_t length) {
  static const char digits[] = "0123456789ABCDEF";
  for (size_t i = 0; i < length; i++) {
    unsigned char byte = (unsigned char)bytes[i];
    if (is_plain(byte)) {
      append(reply, (const char *)&byte, 1);
    } else {
      char escaped[3] = {'%', digits[byte >> 4], digits[byte & 15]};
      append(reply, escaped, 3);
    }
  }
}

static void append_key(kd_reply *reply, const char *key) {
  append(reply, " ", 1);
  append(reply, key, strlen(key));
  append(reply, "=", 1);
}

void kd_reply_status(kd_reply *reply, NTSTATUS status) { reply->status = status; }

void kd_reply_u64(kd_reply *reply, const char *key, uint64_t value) {
  char text[24];
  int length = snprintf(text, sizeof text, "%llu", (unsigned long long)value);
  append_key(reply, key);
  append(reply, text, (size_t)length);
}

void kd_reply_text(kd_reply *reply, const char *key, const char *utf8) {
  append_key(reply, key);
  append_encoded(reply, utf8, strlen(utf8));
}

/* UTF-16 to UTF-8; the caller frees the result. */
static char *narrow(const WCHAR *text, size_t length, size_t *narrow_length) {
  int size = length ? WideCharToMultiByte(CP_UTF8, 0, text, (int)length, NULL, 0, NULL, NULL) : 0;
  char *utf8 = malloc((size_t)size + 1);
  if (utf8 == NULL) abort();
  if (size) WideCharToMultiByte(CP_UTF8, 0, text, (int)length, utf8, size, NULL, NULL);
  utf8[size] = '\0';
  *narrow_length = (size_t)size;
  return utf8;
}

void kd_reply_wide(kd_reply *reply, const char *key, const WCHAR *text, size_t length) {
  size_t utf8_length;
  char *utf8 = narrow(text, length, &utf8_length);
  append_key(reply, key);
  append_encoded(reply, utf8, utf8_length);
  free(utf8);
}

void kd_reply_hex(kd_reply *reply, const char *key, const void *bytes, size_t length) {
  static const char digits[] = "0123456789abcdef";
  append_key(reply, key);
  if (length == 0) {
    append(reply, "-", 1);
    return;
  }
  const unsigned char *in = bytes;
  for (size_t i = 0; i < length; i++) {
    char pair[2] = {digits[in[i] >> 4], digits[in[i] & 15]};
    append(reply, pair, 2);
  }
}

void kd_reply_entry(kd_reply *reply, const WCHAR *name, size_t name_length, uint32_t attributes,
                    uint64_t size) {
  size_t utf8_length;
  char *utf8 = narrow(name, name_length, &utf8_length);
  char numbers[40];
  int length = snprintf(numbers, sizeof numbers, ",%lx,%llu", (unsigned long)attributes,
                        (unsigned long long)size);
  append_key(reply, "entry");
  append_encoded(reply, utf8, utf8_length);
  append(reply, numbers, (size_t)length);
  free(utf8);
}

void kd_reply_entry_tagged(kd_reply *reply, const WCHAR *name, size_t name_length,
                           uint32_t attributes, uint64_t size, uint32_t tag) {
  kd_reply_entry(reply, name, name_length, attributes, size);
  char text[16];
  int length = snprintf(text, sizeof text, ",%lx", (unsigned long)tag);
  append(reply, text, (size_t)length);
}

void kd_reply_invalid(kd_reply *reply, const char *what) {
  kd_reply_status(reply, (NTSTATUS)0xC000000D);
  kd_reply_text(reply, "error", what);
}

/* ---- arguments ---- */

const char *kd_arg(const kd_request *request, int index) {
  return index < request->positional_count ? request->positional[index] : NULL;
}

const char *kd_named(const kd_request *request, const char *name) {
  for (int i = 0; i < request->named_count; i++) {
    if (strcmp(request->names[i], name) == 0) return request->values[i];
  }
  return NULL;
}

static BOOL parse_u64(const char *text, uint64_t *value) {
  if (text == NULL || *text == '\0' || *text == '-') return FALSE;
  char *end;
  errno = 0;
  unsigned long long parsed = strtoull(text, &end, 0);
  if (*end != '\0' || errno != 0) return FALSE;
  *value = parsed;
  return TRUE;
}

BOOL kd_arg_u64(const kd_request *request, int index, uint64_t *value) {
  return parse_u64(kd_arg(request, index), value);
}

BOOL kd_arg_i64(const kd_request *request, int index, int64_t *value) {
  const char *text = kd_arg(request, index);
  if (text == NULL || *text == '\0') return FALSE;
  char *end;
  errno = 0;
  long long parsed = strtoll(text, &end, 0);
  if (*end != '\0' || errno != 0) return FALSE;
  *value = parsed;
  return TRUE;
}

BOOL kd_named_u64_or(const kd_request *request, const char *name, uint64_t fallback,
                     uint64_t *value) {
  const char *text = kd_named(request, name);
  if (text == NULL) {
    *value = fallback;
    return TRUE;
  }
  return parse_u64(text, value);
}

BOOL kd_named_disposition_or(const kd_request *request, const char *name, uint32_t fallback,
                             uint32_t *value) {
  /* In the order of their numbers: FILE_SUPERSEDE (0) .. FILE_OVERWRITE_IF (5). */
  static const char *const names[] = {"supersede", "open", "create",
                                      "open-if",   "overwrite", "overwrite-if"};
  const char *text = kd_named(request, name);
  if (text == NULL) {
    *value = fallback;
    return TRUE;
  }
  for (uint32_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(text, names[i]) == 0) {
      *value = i;
      return TRUE;
    }
  }
  uint64_t number;
  if (!parse_u64(text, &number) || number > 5) return FALSE;
  *value = (uint32_t)number;
  return TRUE;
}

WCHAR *kd_wide(const char *utf8) {
  int size = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, NULL, 0);
  WCHAR *wide = malloc(sizeof(WCHAR) * (size_t)(size > 0 ? size : 1));
  if (wide == NULL) abort();
  if (size > 0) {
    MultiByteToWideChar(CP_UTF8, 0, utf8, -1, wide, size);
  } else {
    wide[0] = L'\0';
  }
  return wide;
}

static int hex_digit(char digit) {
  if (digit >= '0' && digit <= '9') return digit - '0';
  if (digit >= 'a' && digit <= 'f') return digit - 'a' + 10;
  if (digit >= 'A' && digit <= 'F') return digit - 'A' + 10;
  return -1;
}

BOOL kd_named_security(const kd_request *request, const char *name,
                       PSECURITY_DESCRIPTOR *descriptor, ULONG *size) {
  *descriptor = NULL;
  *size = 0;
  const char *sddl_arg = kd_named(request, name);
  if (sddl_arg == NULL) return TRUE;
  WCHAR *sddl = kd_wide(sddl_arg);
  BOOL converted = sddl != NULL && ConvertStringSecurityDescriptorToSecurityDescriptorW(
                                       sddl, SDDL_REVISION_1, descriptor, size);
  free(sddl);
  return converted;
}

BOOL kd_hex(const char *text, uint8_t **bytes, size_t *length) {
  if (text == NULL) return FALSE;
  if (strcmp(text, "-") == 0) text = "";
  size_t digits = strlen(text);
  if (digits % 2 != 0) return FALSE;
  uint8_t *out = malloc(digits / 2 + 1);
  if (out == NULL) abort();
  for (size_t i = 0; i < digits / 2; i++) {
    int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);
    if (high < 0 || low < 0) {
      free(out);
      return FALSE;
    }
    out[i] = (uint8_t)(high << 4 | low);
  }
  *bytes = out;
  *length = digits / 2;
  return TRUE;
}

/* ---- requests ---- */

/* Decodes %XX escapes in place; FALSE if one is malformed. */
static BOOL percent_decode(char *text) {
  char *out = text;
  for (char *in = text; *in; in++) {
    if (*in == '%') {
      int high = hex_digit(in[1]), low = high < 0 ? -1 : hex_digit(in[2]);
      if (low < 0) return FALSE;
      *out++ = (char)(high << 4 | low);
      in += 2;
    } else {
      *out++ = *in;
    }
  }
  *out = '\0';
  return TRUE;
}

/* Splits `line` (modified in place) into a request; on failure says why in `error`. */
static BOOL parse_request(char *line, kd_request *request, const char **error) {
  memset(request, 0, sizeof *request);
  char *cursor = line;
  while (cursor != NULL && *cursor != '\0') {
    char *token = cursor;
    char *space = strchr(cursor, ' ');
    if (space != NULL) *space = '\0';
    cursor = space ? space + 1 : NULL;
    if (*token == '\0') continue;
    if (request->verb == NULL) {
      request->verb = token;
      continue;
    }
    char *equals = strchr(token, '=');
    if (equals != NULL && equals != token) {
      if (request->named_count == KD_MAX_ARGS) return *error = "too many named arguments", FALSE;
      *equals = '\0';
      if (!percent_decode(equals + 1)) return *error = "malformed %XX escape", FALSE;
      request->names[request->named_count] = token;
      request->values[request->named_count++] = equals + 1;
    } else {
      if (request->positional_count == KD_MAX_ARGS) return *error = "too many arguments", FALSE;
      if (!percent_decode(token)) return *error = "malformed %XX escape", FALSE;
      request->positional[request->positional_count++] = token;
    }
  }
  if (request->verb == NULL) return *error = "empty request", FALSE;
  return TRUE;
}

/* Under the lock: the use count of `context`, NULL if no request is inside its handler. */
static context_use *find_use_locked(void *context) {
  context_use *use = server.uses;
  while (use != NULL && use->context != context) use = use->next;
  return use;
}

/* Under the lock: one more request inside the handler with `context`. */
static context_use *begin_use_locked(void *context) {
  context_use *use = find_use_locked(context);
  if (use == NULL) {
    use = calloc(1, sizeof *use);
    if (use == NULL) abort();
    use->context = context;
    use->next = server.uses;
    server.uses = use;
  }
  use->busy++;
  return use;
}

/* Under the lock: a request left its handler; the last one wakes whoever detaches. */
static void end_use_locked(context_use *use) {
  if (--use->busy > 0) return;
  context_use **link = &server.uses;
  while (*link != use) link = &(*link)->next;
  *link = use->next;
  free(use);
  WakeAllConditionVariable(&server.idle);
}

/* Starts a reply: no fields yet, and room for the status. */
static void reply_reset(kd_reply *reply) {
  reply->status = 0;
  reply->length = 0;
  append(reply, "0x00000000", STATUS_WIDTH);
}

/* Runs one request line through the current handler and returns the reply line. */
static void serve_line(char *line, kd_reply *reply) {
  kd_request request;
  const char *error;
  reply_reset(reply);
  if (!parse_request(line, &request, &error)) {
    kd_reply_invalid(reply, error);
    return;
  }
  AcquireSRWLockExclusive(&server.lock);
  kd_handler handler = server.handler;
  void *context = server.context;
  context_use *use = handler != NULL ? begin_use_locked(context) : NULL;
  ReleaseSRWLockExclusive(&server.lock);
  if (handler == NULL) {
    kd_reply_status(reply, (NTSTATUS)0xC000000E); /* STATUS_NO_SUCH_DEVICE */
    return;
  }
  handler(context, &request, reply);
  AcquireSRWLockExclusive(&server.lock);
  end_use_locked(use);
  ReleaseSRWLockExclusive(&server.lock);
}

static BOOL send_all(SOCKET socket, const char *bytes, size_t length) {
  while (length > 0) {
    int chunk = length > 1 << 20 ? 1 << 20 : (int)length;
    int sent = send(socket, bytes, chunk, 0);
    if (sent <= 0) return FALSE;
    bytes += sent;
    length -= (size_t)sent;
  }
  return TRUE;
}

/* Sends the reply line: its status in the room kept for it, the fields, a newline. */
static BOOL send_reply(SOCKET socket, kd_reply *reply) {
  char status[STATUS_WIDTH + 1];
  snprintf(status, sizeof status, "0x%08lx", (unsigned long)reply->status);
  memcpy(reply->fields, status, STATUS_WIDTH);
  append(reply, "\n", 1);
  /* One send per reply, so that the reply leaves in as few segments as it can. */
  return send_all(socket, reply->fields, reply->length);
}

/* Accepted connections not yet taken by a connection thread. A connection thread that has
 * served its connection waits for the next one rather than exiting: a test disconnects and then
 * ends the serving program at once, and a thread still exiting when the process exits can crash
 * Wine. */
typedef struct queued_connection {
  struct queued_connection *next;
  SOCKET socket;
} queued_connection;

static struct {
  SRWLOCK lock;
  CONDITION_VARIABLE ready; /* a connection was queued */
  queued_connection *head, *tail;
  unsigned queued;
  unsigned idle; /* connection threads waiting for one */
} connections = {SRWLOCK_INIT, CONDITION_VARIABLE_INIT, NULL, NULL, 0, 0};

/* One connection: one calling thread, whose requests run one at a time. */
static void serve_connection(SOCKET socket) {
  size_t capacity = 1 << 16, length = 0;
  char *buffer = malloc(capacity);
  kd_reply reply = {0};
  if (buffer == NULL) abort();
  for (;;) {
    char *newline = length ? memchr(buffer, '\n', length) : NULL;
    if (newline == NULL) {
      if (length == LINE_MAX_BYTES) {
        reply_reset(&reply);
        kd_reply_invalid(&reply, "request line longer than 64 MiB");
        send_reply(socket, &reply);
        break;
      }
      if (length == capacity) {
        capacity = capacity * 2 < LINE_MAX_BYTES ? capacity * 2 : LINE_MAX_BYTES;
        buffer = realloc(buffer, capacity);
        if (buffer == NULL) abort();
      }
      int received = recv(socket, buffer + length, (int)(capacity - length), 0);
      if (received <= 0) break;
      length += (size_t)received;
      continue;
    }
    *newline = '\0';
    if (newline > buffer && newline[-1] == '\r') newline[-1] = '\0';
    serve_line(buffer, &reply);
    BOOL sent = send_reply(socket, &reply);
    size_t consumed = (size_t)(newline - buffer) + 1;
    memmove(buffer, buffer + consumed, length - consumed);
    length -= consumed;
    if (!sent) break;
  }
  free(reply.fields);
  free(buffer);
  closesocket(socket);
}

static SOCKET next_connection(void) {
  AcquireSRWLockExclusive(&connections.lock);
  connections.idle++;
  while (connections.head == NULL) {
    SleepConditionVariableSRW(&connections.ready, &connections.lock, INFINITE, 0);
  }
  connections.idle--;
  connections.queued--;
  queued_connection *next = connections.head;
  connections.head = next->next;
  if (connections.head == NULL) connections.tail = NULL;
  ReleaseSRWLockExclusive(&connections.lock);
  SOCKET socket = next->socket;
  free(next);
  return socket;
}

static DWORD WINAPI connection_thread(void *parameter) {
  (void)parameter;
  SOCKET socket;
  while ((socket = next_connection()) != INVALID_SOCKET) serve_connection(socket);
  return 0;
}

/* Queues an accepted connection for a connection thread, starting one when none is idle. */
static void hand_over(SOCKET connection) {
  queued_connection *queued = malloc(sizeof *queued);
  if (queued == NULL) abort();
  queued->next = NULL;
  queued->socket = connection;
  AcquireSRWLockExclusive(&connections.lock);
  if (connections.tail != NULL) {
    connections.tail->next = queued;
  } else {
    connections.head = queued;
  }
  connections.tail = queued;
  connections.queued++;
  BOOL start = connections.queued > connections.idle;
  ReleaseSRWLockExclusive(&connections.lock);
  WakeConditionVariable(&connections.ready);
  if (!start) return;
  HANDLE thread = CreateThread(NULL, 0, connection_thread, NULL, 0, NULL);
  if (thread == NULL) {
    fprintf(stderr, "kernel double: cannot start a connection thread (error %lu)\n",
            GetLastError());
  } else {
    CloseHandle(thread);
  }
}

static DWORD WINAPI accept_thread(void *parameter) {
  SOCKET listener = (SOCKET)(uintptr_t)parameter;
  for (;;) {
    SOCKET connection = accept(listener, NULL, NULL);
    if (connection == INVALID_SOCKET) return 1;
    /* A large reply spans several segments; with Nagle's algorithm its last, short one would
     * wait for the client's delayed ACK (some 40 ms). */
    BOOL no_delay = TRUE;
    setsockopt(connection, IPPROTO_TCP, TCP_NODELAY, (const char *)&no_delay, sizeof no_delay);
    hand_over(connection);
  }
}

/* Writes the port to `path`: to a temporary name first, renamed, so that a reader never sees a
 * half-written port. */
static BOOL write_port_file(const char *path, unsigned port) {
  char temporary[MAX_PATH + 8];
  snprintf(temporary, sizeof temporary, "%s.tmp", path);
  FILE *file = fopen(temporary, "w");
  if (file == NULL) {
    fprintf(stderr, "kernel double: cannot write the port file %s\n", temporary);
    return FALSE;
  }
  fprintf(file, "%u\n", port);
  fclose(file);
  if (!MoveFileExA(temporary, path, MOVEFILE_REPLACE_EXISTING)) {
    fprintf(stderr, "kernel double: cannot rename %s to %s\n", temporary, path);
    return FALSE;
  }
  return TRUE;
}

/* Listens on a free port of 127.0.0.1 and writes the port to MOUNTKIT_KERNEL_PORT_FILE. Without
 * that variable the double serves its volume but no test can reach it, which is what a program
 * that only mounts wants. On failure nothing is left behind. */
static BOOL listen_once(void) {
  char path[MAX_PATH];
  DWORD path_length = GetEnvironmentVariableA("MOUNTKIT_KERNEL_PORT_FILE", path, sizeof path);
  if (path_length == 0 || path_length >= sizeof path) return TRUE;
  WSADATA data;
  if (WSAStartup(MAKEWORD(2, 2), &data) != 0) {
    fprintf(stderr, "kernel double: WSAStartup failed\n");
    return FALSE;
  }
  SOCKET listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  struct sockaddr_in address = {0};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int address_length = sizeof address;
  BOOL ok = listener != INVALID_SOCKET &&
            !bind(listener, (struct sockaddr *)&address, sizeof address) &&
            !listen(listener, SOMAXCONN) &&
            !getsockname(listener, (struct sockaddr *)&address, &address_length);
  if (!ok) {
    fprintf(stderr, "kernel double: cannot listen on 127.0.0.1 (error %d)\n", WSAGetLastError());
  }
  ok = ok && write_port_file(path, ntohs(address.sin_port));
  HANDLE thread =
      ok ? CreateThread(NULL, 0, accept_thread, (void *)(uintptr_t)listener, 0, NULL) : NULL;
  if (thread == NULL) {
    if (ok) fprintf(stderr, "kernel double: cannot start the server (error %lu)\n", GetLastError());
    if (listener != INVALID_SOCKET) closesocket(listener);
    WSACleanup();
    return FALSE;
  }
  CloseHandle(thread);
  return TRUE;
}

BOOL kd_server_start(kd_handler handler, void *context) {
  AcquireSRWLockExclusive(&server.lock);
  if (server.state == SERVER_NOT_STARTED) {
    server.state = listen_once() ? SERVER_LISTENING : SERVER_FAILED;
  }
  BOOL ok = server.state == SERVER_LISTENING;
  if (ok) {
    server.handler = handler;
    server.context = context;
  }
  ReleaseSRWLockExclusive(&server.lock);
  return ok;
}

void kd_server_detach(void *context) {
  AcquireSRWLockExclusive(&server.lock);
  if (server.context == context) {
    server.handler = NULL;
    server.context = NULL;
  }
  while (find_use_locked(context) != NULL) {
    SleepConditionVariableSRW(&server.idle, &server.lock, INFINITE, 0);
  }
  ReleaseSRWLockExclusive(&server.lock);
}
