// The C low-level reference subject: the bench filesystem of benchfs.c on libfuse3's low-level
// API (fuse_lowlevel.h), the interface mountkit itself uses: requests name inodes, not paths, and
// the filesystem keeps its own inode table. Served by fuse_session_loop_mt with a cloned
// /dev/fuse descriptor per thread (clone_fd) and the same thread limit as benchfs's fuse_main.
// Same logic as benchfs.c and bench/subjects/model.ts:
//   /file      read-only, `--size` bytes, byte at offset i = (i * 31) & 0xff
//   /dir       `--entries` empty files e0..eN-1, listed with their attributes
//   /w/        flat writable directory: create, write (bytes counted, sizes kept), truncate, unlink
//   /t/        writable tree of empty files and directories: mkdir, create, unlink, rmdir, readdir
// Usage: benchll <mountpoint> -f -o attr_timeout=0,entry_timeout=0,negative_timeout=0
//                --size=<bytes> --entries=<n> [--no-readdirplus]
// READDIRPLUS is used as libfuse sets it by default (the kernel decides per listing, "auto");
// --no-readdirplus turns it off, so the kernel sends plain READDIR.
// The process exits (and unmounts) on SIGTERM/SIGINT, and when its stdin reaches end of file,
// so a harness that dies cannot leave the mount behind.
//
// Inodes: the fixed nodes (/, /file, /dir and its entries) have odd numbers computed from what
// they are, and need no memory. /w, /t and everything created in them are `struct node`s whose
// address is their inode number (even, being aligned). A created node is freed when it is both
// unlinked and forgotten by the kernel (its lookup count back to zero), so the table holds what
// the model holds plus what the kernel still knows, and nothing more.
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <limits.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"


static struct options {
  unsigned long size;
  unsigned entries;
  double attr_timeout;
  double entry_timeout;
  double negative_timeout;
  int no_readdirplus;
} opts = {1UL << 30, 10000, 1.0, 1.0, 0.0, 0};

// The caching timeouts are the high-level API's option names, so both C subjects take one
// command line; the low-level session does not know them, so they are taken out here.
static const struct fuse_opt option_spec[] = {
    {"--size=%lu", offsetof(struct options, size), 0},
    {"--entries=%u", offsetof(struct options, entries), 0},
    {"attr_timeout=%lf", offsetof(struct options, attr_timeout), 0},
    {"entry_timeout=%lf", offsetof(struct options, entry_timeout), 0},
    {"negative_timeout=%lf", offsetof(struct options, negative_timeout), 0},
    {"--no-readdirplus", offsetof(struct options, no_readdirplus), 1},
    FUSE_OPT_END,
};


// Fixed inodes: 2k + 1, so they never collide with a node's (even) address.
#define FIXED(k) ((fuse_ino_t)(2 * (k) + 1))
enum { K_ROOT = 0, K_FILE = 1, K_DIR = 2, K_FIRST_ENTRY = 3 };
#define INO_FILE FIXED(K_FILE)
#define INO_DIR FIXED(K_DIR)
#define INO_ENTRY(i) FIXED(K_FIRST_ENTRY + (fuse_ino_t)(i))

// /w, /t and what is created in them. Lookups by (parent, name) go through one hash table;
// each directory's children are also a doubly linked list, for listings.
struct node {
  struct node *next_in_bucket;
  struct node *parent, *first_child, *prev_sibling, *next_sibling;
  uint64_t lookups;  // what the kernel holds: entry replies minus forgets
  off_t size;        // files in /w; the tree's files stay empty
  unsigned char is_dir, linked, in_tree;
  char name[];
};
static struct node wroot = {.is_dir = 1, .linked = 1};
static struct node troot = {.is_dir = 1, .linked = 1, .in_tree = 1};
static struct node **buckets;
static size_t bucket_count, node_count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int is_fixed(fuse_ino_t ino) { return (ino & 1) != 0; }
static struct node *node_of(fuse_ino_t ino) { return (struct node *)(uintptr_t)ino; }
static fuse_ino_t ino_of(struct node *n) { return (fuse_ino_t)(uintptr_t)n; }

static size_t name_hash(const struct node *parent, const char *name) {
  size_t h = 14695981039346656037u ^ (size_t)(uintptr_t)parent;
  for (; *name; name++) h = (h ^ (unsigned char)*name) * 1099511628211u;
  return h;
}

// Caller holds lock.
static struct node *child(struct node *parent, const char *name) {
  if (bucket_count == 0) return NULL;
  struct node *n = buckets[name_hash(parent, name) % bucket_count];
  while (n && (n->parent != parent || strcmp(n->name, name) != 0)) n = n->next_in_bucket;
  return n;
}

// Caller holds lock. Doubles the table when it holds as many nodes as buckets.
static int grow(void) {
  if (node_count < bucket_count) return 0;
  size_t count = bucket_count ? 2 * bucket_count : 1024;
  struct node **fresh = calloc(count, sizeof *fresh);
  if (!fresh) return ENOMEM;
  for (size_t b = 0; b < bucket_count; b++) {
    for (struct node *n = buckets[b], *next; n; n = next) {
      next = n->next_in_bucket;
      struct node **slot = &fresh[name_hash(n->parent, n->name) % count];
      n->next_in_bucket = *slot;
      *slot = n;
    }
  }
  free(buckets);
  buckets = fresh;
  bucket_count = count;
  return 0;
}

// Caller holds lock. Adds `name` under `parent`; the new node, or NULL with *error set.
static struct node *add(struct node *parent, const char *name, int is_dir, int *error) {
  if ((*error = grow()) != 0) return NULL;
  struct node *n = calloc(1, sizeof *n + strlen(name) + 1);
  if (!n) {
    *error = ENOMEM;
    return NULL;
  }
  strcpy(n->name, name);
  n->is_dir = (unsigned char)is_dir;
  n->in_tree = parent->in_tree;
  n->linked = 1;
  n->parent = parent;
  n->next_sibling = parent->first_child;
  if (parent->first_child) parent->first_child->prev_sibling = n;
  parent->first_child = n;
  struct node **slot = &buckets[name_hash(parent, name) % bucket_count];
  n->next_in_bucket = *slot;
  *slot = n;
  node_count++;
  return n;
}

// Caller holds lock. Takes `n` out of the namespace; frees it unless the kernel still knows it.
static void unlink_node(struct node *n) {
  struct node **slot = &buckets[name_hash(n->parent, n->name) % bucket_count];
  while (*slot != n) slot = &(*slot)->next_in_bucket;
  *slot = n->next_in_bucket;
  if (n->prev_sibling) n->prev_sibling->next_sibling = n->next_sibling;
  else n->parent->first_child = n->next_sibling;
  if (n->next_sibling) n->next_sibling->prev_sibling = n->prev_sibling;
  n->parent = n->prev_sibling = n->next_sibling = NULL;
  n->linked = 0;
  node_count--;
  if (n->lookups == 0) free(n);
}

// Caller holds lock. The kernel dropped `count` references to `ino`.
static void forget_ino(fuse_ino_t ino, uint64_t count) {
  if (is_fixed(ino)) return;
  struct node *n = node_of(ino);
  n->lookups -= count;
  if (n->lookups == 0 && !n->linked) free(n);
}

// Every node's owner: the user serving the mount, asked once rather than per reply.
static uid_t owner_uid;
static gid_t owner_gid;

static void fill_attr(struct stat *st, fuse_ino_t ino, int is_dir, off_t size) {
  memset(st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_mode = is_dir ? S_IFDIR | 0755 : S_IFREG | 0644;
  st->st_nlink = is_dir ? 2 : 1;
  st->st_size = size;
  st->st_blocks = (size + 511) / 512;
  st->st_uid = owner_uid;
  st->st_gid = owner_gid;
  st->st_atime = st->st_mtime = st->st_ctime = MTIME;
}

// Caller holds lock for a node's inode. The attributes of `ino`.
static void attr_of(fuse_ino_t ino, struct stat *st) {
  if (!is_fixed(ino)) {
    struct node *n = node_of(ino);
    fill_attr(st, ino, n->is_dir, n->size);
  } else if (ino == FUSE_ROOT_ID || ino == INO_DIR) {
    fill_attr(st, ino, 1, 0);
  } else {
    fill_attr(st, ino, 0, ino == INO_FILE ? (off_t)opts.size : 0);
  }
}

// Caller holds lock. An entry reply for `ino`, counting the lookup the kernel takes with it.
static void entry_of(fuse_ino_t ino, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  e->ino = ino;
  e->attr_timeout = opts.attr_timeout;
  e->entry_timeout = opts.entry_timeout;
  attr_of(ino, &e->attr);
  if (!is_fixed(ino)) node_of(ino)->lookups++;
}

// The index of /dir's entry `name` ("e0" .. "eN-1", no leading zeros), or -1.
static long entry_index(const char *name) {
  if (name[0] != 'e' || !name[1] || (name[1] == '0' && name[2])) return -1;
  unsigned long n = 0;
  for (const char *d = name + 1; *d; d++) {
    if (*d < '0' || *d > '9' || n >= opts.entries) return -1;
    n = n * 10 + (unsigned long)(*d - '0');
  }
  return n < opts.entries ? (long)n : -1;
}

// Caller holds lock. The inode of `name` in directory `parent`, or 0.
static fuse_ino_t find(fuse_ino_t parent, const char *name) {
  if (parent == FUSE_ROOT_ID) {
    if (strcmp(name, "file") == 0) return INO_FILE;
    if (strcmp(name, "dir") == 0) return INO_DIR;
    if (strcmp(name, "w") == 0) return ino_of(&wroot);
    if (strcmp(name, "t") == 0) return ino_of(&troot);
    return 0;
  }
  if (parent == INO_DIR) {
    long i = entry_index(name);
    return i < 0 ? 0 : INO_ENTRY(i);
  }
  if (is_fixed(parent)) return 0;
  struct node *n = child(node_of(parent), name);
  return n ? ino_of(n) : 0;
}

static void bench_init(void *userdata, struct fuse_conn_info *conn) {
  (void)userdata;
  if (opts.no_readdirplus) conn->want &= ~(unsigned)(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
}

static void bench_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fuse_entry_param e;
  pthread_mutex_lock(&lock);
  fuse_ino_t ino = find(parent, name);
  if (ino) entry_of(ino, &e);
  pthread_mutex_unlock(&lock);
  if (ino) {
    fuse_reply_entry(req, &e);
  } else if (opts.negative_timeout > 0) {
    // Inode 0 is a negative entry the kernel caches for entry_timeout.
    memset(&e, 0, sizeof e);
    e.entry_timeout = opts.negative_timeout;
    fuse_reply_entry(req, &e);
  } else {
    fuse_reply_err(req, ENOENT);
  }
}

static void bench_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  pthread_mutex_lock(&lock);
  forget_ino(ino, nlookup);
  pthread_mutex_unlock(&lock);
  fuse_reply_none(req);
}

static void bench_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < count; i++) forget_ino(forgets[i].ino, forgets[i].nlookup);
  pthread_mutex_unlock(&lock);
  fuse_reply_none(req);
}

static void bench_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)fi;
  struct stat st;
  pthread_mutex_lock(&lock);
  attr_of(ino, &st);
  pthread_mutex_unlock(&lock);
  fuse_reply_attr(req, &st, opts.attr_timeout);
}

// Truncation of /w files and time changes (accepted, times stay fixed), as benchfs takes them.
static void bench_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  (void)fi;
  if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  struct stat st;
  pthread_mutex_lock(&lock);
  int error = 0;
  if (to_set & FUSE_SET_ATTR_SIZE) {
    struct node *n = is_fixed(ino) ? NULL : node_of(ino);
    if (n && !n->is_dir && !n->in_tree) n->size = attr->st_size;
    else error = EACCES;
  }
  if (!error) attr_of(ino, &st);
  pthread_mutex_unlock(&lock);
  if (error) fuse_reply_err(req, error);
  else fuse_reply_attr(req, &st, opts.attr_timeout);
}

// Caller holds lock. Why a directory entry cannot be created in `parent`, or 0 if it can.
static int creatable(fuse_ino_t parent, int is_dir) {
  if (is_fixed(parent)) return EACCES;
  struct node *p = node_of(parent);
  if (!p->is_dir) return ENOTDIR;
  return is_dir && !p->in_tree ? EACCES : 0;
}

static void bench_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                         struct fuse_file_info *fi) {
  (void)mode;
  struct fuse_entry_param e;
  pthread_mutex_lock(&lock);
  int error = creatable(parent, 0);
  struct node *n = error ? NULL : child(node_of(parent), name);
  if (n && n->in_tree) {
    error = EEXIST;
  } else if (n) {
    n->size = 0;  // O_TRUNC semantics; O_EXCL is checked by the kernel's lookup
  } else if (!error) {
    n = add(node_of(parent), name, 0, &error);
  }
  if (!error) entry_of(ino_of(n), &e);
  pthread_mutex_unlock(&lock);
  if (error) {
    fuse_reply_err(req, error);
    return;
  }
  fi->fh = 0;
  fuse_reply_create(req, &e, fi);
}

static void bench_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  (void)mode;
  struct fuse_entry_param e;
  pthread_mutex_lock(&lock);
  int error = creatable(parent, 1);
  if (!error && child(node_of(parent), name)) error = EEXIST;
  struct node *n = error ? NULL : add(node_of(parent), name, 1, &error);
  if (n) entry_of(ino_of(n), &e);
  pthread_mutex_unlock(&lock);
  if (error) fuse_reply_err(req, error);
  else fuse_reply_entry(req, &e);
}

// unlink (`is_dir` 0) and rmdir (1): files in /w and /t, empty directories in /t.
static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, int is_dir) {
  pthread_mutex_lock(&lock);
  struct node *n = is_fixed(parent) ? NULL : child(node_of(parent), name);
  int error = 0;
  if (!n) error = parent == FUSE_ROOT_ID && is_dir && strcmp(name, "t") == 0 ? EBUSY : is_dir ? EACCES : ENOENT;
  else if (n->is_dir != is_dir) error = is_dir ? ENOTDIR : EISDIR;
  else if (n->first_child) error = ENOTEMPTY;
  else unlink_node(n);
  pthread_mutex_unlock(&lock);
  fuse_reply_err(req, error);
}

static void bench_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) { remove_entry(req, parent, name, 0); }

static void bench_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) { remove_entry(req, parent, name, 1); }

static void bench_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  fi->fh = 0;
  fuse_reply_open(req, fi);
}

// The reply points into the pattern itself: the low-level API sends the caller's buffer, so
// the bytes are copied once, into the kernel.
static void bench_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi) {
  (void)fi;
  if (ino != INO_FILE || (unsigned long)offset >= opts.size) {
    fuse_reply_buf(req, NULL, 0);  // written bytes are not kept: other files read as end of file
    return;
  }
  if (size > opts.size - (unsigned long)offset) size = opts.size - (unsigned long)offset;
  if (size > PATTERN_SIZE) size = PATTERN_SIZE;
  fuse_reply_buf(req, (const char *)pattern + (offset % PATTERN_SIZE), size);
}

static void bench_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t offset,
                        struct fuse_file_info *fi) {
  (void)buf;
  (void)fi;
  struct node *n = is_fixed(ino) ? NULL : node_of(ino);
  if (!n || n->is_dir || n->in_tree) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  pthread_mutex_lock(&lock);
  if (n->size < offset + (off_t)size) n->size = offset + (off_t)size;
  pthread_mutex_unlock(&lock);
  fuse_reply_write(req, size);
}

// A directory's entries, taken when it is opened (as libfuse's high-level API lists a whole
// directory into one buffer): listings are then served by index, whatever changes meanwhile.
// / and /dir need none: they are listed from what they are.
struct listing {
  size_t count;
  struct listed {
    const char *name;
    fuse_ino_t ino;
    unsigned char is_dir;
  } entries[];
};

static void bench_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  fi->fh = 0;
  if (!is_fixed(ino)) {
    pthread_mutex_lock(&lock);
    struct node *dir = node_of(ino);
    size_t count = 0, bytes = 0;
    for (struct node *c = dir->first_child; c; c = c->next_sibling, count++) bytes += strlen(c->name) + 1;
    struct listing *l = malloc(sizeof *l + count * sizeof l->entries[0] + bytes);
    if (l) {
      char *names = (char *)&l->entries[count];
      l->count = count;
      size_t i = 0;
      for (struct node *c = dir->first_child; c; c = c->next_sibling, i++) {
        l->entries[i] = (struct listed){names, ino_of(c), c->is_dir};
        names = stpcpy(names, c->name) + 1;
      }
    }
    pthread_mutex_unlock(&lock);
    if (!l) {
      fuse_reply_err(req, ENOMEM);
      return;
    }
    fi->fh = (uint64_t)(uintptr_t)l;
  }
  fuse_reply_open(req, fi);
}

static void bench_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  free((struct listing *)(uintptr_t)fi->fh);
  fuse_reply_err(req, 0);
}

// Entry `i` of directory `ino` (after "." and ".."): its name, inode and kind; 0 past the end.
static int listed(fuse_ino_t ino, struct fuse_file_info *fi, size_t i, const char **name, fuse_ino_t *child_ino,
                  int *is_dir) {
  static const char *const root_names[] = {"file", "dir", "w", "t"};
  if (ino == FUSE_ROOT_ID) {
    if (i >= 4) return 0;
    *name = root_names[i];
    *child_ino = i == 0 ? INO_FILE : i == 1 ? INO_DIR : i == 2 ? ino_of(&wroot) : ino_of(&troot);
    *is_dir = i != 0;
    return 1;
  }
  if (ino == INO_DIR) {
    if (i >= opts.entries) return 0;
    *name = entry_names[i];
    *child_ino = INO_ENTRY(i);
    *is_dir = 0;
    return 1;
  }
  struct listing *l = (struct listing *)(uintptr_t)fi->fh;
  if (!l || i >= l->count) return 0;
  *name = l->entries[i].name;
  *child_ino = l->entries[i].ino;
  *is_dir = l->entries[i].is_dir;
  return 1;
}

// READDIR and READDIRPLUS. Offsets: 1 and 2 follow "." and "..", 3 + i follows entry i. A
// READDIRPLUS entry is a lookup the kernel counts, so each one sent is counted here; an entry
// removed since the directory was opened is looked up again by name, and left out when gone.
static void list(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi, int plus) {
  if (ino == INO_FILE || (is_fixed(ino) && ino != FUSE_ROOT_ID && ino != INO_DIR)) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  char *buf = malloc(size);
  if (!buf) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  size_t used = 0;
  struct fuse_entry_param e;
  if (plus) pthread_mutex_lock(&lock);
  for (off_t at = offset;; at++) {
    const char *name;
    fuse_ino_t child_ino = 0;
    int is_dir = 1;
    if (at == 0) name = ".";
    else if (at == 1) name = "..";
    else if (!listed(ino, fi, (size_t)at - 2, &name, &child_ino, &is_dir)) break;
    size_t room = size - used, needed;
    if (!plus) {
      fill_attr(&e.attr, child_ino ? child_ino : ino, is_dir, 0);
      needed = fuse_add_direntry(req, buf + used, room, name, &e.attr, at + 1);
    } else if (child_ino == 0) {
      // "." and "..": the kernel takes no lookup for them, and inode 0 says so.
      memset(&e, 0, sizeof e);
      fill_attr(&e.attr, ino, 1, 0);
      needed = fuse_add_direntry_plus(req, buf + used, room, name, &e, at + 1);
    } else {
      fuse_ino_t now = is_fixed(child_ino) ? child_ino : find(ino, name);
      if (now == 0) continue;
      entry_of(now, &e);
      needed = fuse_add_direntry_plus(req, buf + used, room, name, &e, at + 1);
      if (needed > room) forget_ino(now, 1);  // not sent after all
    }
    if (needed > room) break;
    used += needed;
  }
  if (plus) pthread_mutex_unlock(&lock);
  fuse_reply_buf(req, buf, used);
  free(buf);
}

static void bench_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi) {
  list(req, ino, size, offset, fi, 0);
}

static void bench_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi) {
  list(req, ino, size, offset, fi, 1);
}

static const struct fuse_lowlevel_ops bench_ops = {
    .init = bench_init,
    .lookup = bench_lookup,
    .forget = bench_forget,
    .forget_multi = bench_forget_multi,
    .getattr = bench_getattr,
    .setattr = bench_setattr,
    .mkdir = bench_mkdir,
    .unlink = bench_unlink,
    .rmdir = bench_rmdir,
    .open = bench_open,
    .read = bench_read,
    .write = bench_write,
    .opendir = bench_opendir,
    .readdir = bench_readdir,
    .readdirplus = bench_readdirplus,
    .releasedir = bench_releasedir,
    .create = bench_create,
};

int main(int argc, char *argv[]) {
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  struct fuse_cmdline_opts cmdline;
  if (fuse_opt_parse(&args, &opts, option_spec, NULL) == -1) return 1;
  if (fuse_parse_cmdline(&args, &cmdline) != 0) return 1;
  if (!cmdline.mountpoint) {
    fprintf(stderr, "usage: %s <mountpoint> -f [-o attr_timeout=S,entry_timeout=S,negative_timeout=S] "
                    "[--size=BYTES] [--entries=N] [--no-readdirplus]\n", argv[0]);
    return 1;
  }

  owner_uid = getuid();
  owner_gid = getgid();
  if (make_model_data(opts.entries) != 0) return 1;

  struct fuse_session *se = fuse_session_new(&args, &bench_ops, sizeof bench_ops, NULL);
  if (!se) return 1;
  if (fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, cmdline.mountpoint) != 0) return 1;

  int watching = exit_when_stdin_closes() == 0;

  // fuse_main's loop, with a cloned device descriptor per thread: the thread limit is the
  // command line's (-o max_threads, 10 unless given, as for benchfs) and so is the idle limit.
  struct fuse_loop_config *loop = fuse_loop_cfg_create();
  int status = 1;
  if (watching && loop) {
    fuse_loop_cfg_set_clone_fd(loop, 1);
    fuse_loop_cfg_set_max_threads(loop, cmdline.max_threads);
    // Unless -o max_idle_threads is given, idle threads are kept, the loop's own default.
    if (cmdline.max_idle_threads != UINT_MAX) fuse_loop_cfg_set_idle_threads(loop, cmdline.max_idle_threads);
    // The loop answers the signal that ended it (a positive number): the way this process is stopped.
    status = fuse_session_loop_mt(se, loop) < 0;
  }
  fuse_loop_cfg_destroy(loop);
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  free(cmdline.mountpoint);
  fuse_opt_free_args(&args);
  return status;
}
