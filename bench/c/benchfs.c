// The C reference subject: the bench filesystem on the libfuse3 high-level API with its default
// multithreaded loop (fuse_main). Same logic as bench/subjects/model.ts:
//   /file      read-only, `--size` bytes, byte at offset i = (i * 31) & 0xff
//   /dir       `--entries` empty files e0..eN-1, listed with their attributes
//   /w/        flat writable directory: create, write (bytes counted, sizes kept), truncate, unlink
//   /t/        writable tree of empty files and directories: mkdir, create, unlink, rmdir, readdir
// Usage: benchfs <mountpoint> -f -o attr_timeout=0,entry_timeout=0,negative_timeout=0
//                --size=<bytes> --entries=<n>
// The process exits (and unmounts) on SIGTERM/SIGINT, and when its stdin reaches end of file,
// so a harness that dies cannot leave the mount behind.
#define _GNU_SOURCE
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse.h>
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

#define BUCKETS 65536

static struct options {
  unsigned long size;
  unsigned entries;
} opts = {1UL << 30, 10000};

static const struct fuse_opt option_spec[] = {
    {"--size=%lu", offsetof(struct options, size), 0},
    {"--entries=%u", offsetof(struct options, entries), 0},
    FUSE_OPT_END,
};

// Sizes of the files in /w: a chained hash table under one lock.
struct wfile {
  struct wfile *next;
  off_t size;
  char name[];
};
static struct wfile *buckets[BUCKETS];
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;

static unsigned hash(const char *s) {
  unsigned h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h % BUCKETS;
}

// Caller holds wlock.
static struct wfile **wfind(const char *name) {
  struct wfile **slot = &buckets[hash(name)];
  while (*slot && strcmp((*slot)->name, name) != 0) slot = &(*slot)->next;
  return slot;
}

// The tree under /t: every node in one hash table keyed by its full path (which grows with
// the tree), each directory's children in a doubly linked list for readdir.
struct tnode {
  struct tnode *next_in_bucket;
  struct tnode *parent, *first_child, *prev_sibling, *next_sibling;
  int is_dir;
  char path[];
};
static struct tnode **tbuckets;
static size_t tbucket_count, tnode_count;
static struct tnode troot = {.is_dir = 1};
static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;

static size_t path_hash(const char *s) {
  size_t h = 14695981039346656037u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

// Caller holds tlock. The node at `path` (below /t), or NULL; /t itself is troot.
static struct tnode *tfind(const char *path) {
  if (strcmp(path, "/t") == 0) return &troot;
  if (tbucket_count == 0) return NULL;
  struct tnode *n = tbuckets[path_hash(path) % tbucket_count];
  while (n && strcmp(n->path, path) != 0) n = n->next_in_bucket;
  return n;
}

// Caller holds tlock. Doubles the table when it holds as many nodes as buckets.
static int tgrow(void) {
  if (tnode_count < tbucket_count) return 0;
  size_t count = tbucket_count ? 2 * tbucket_count : 1024;
  struct tnode **buckets = calloc(count, sizeof *buckets);
  if (!buckets) return -ENOMEM;
  for (size_t b = 0; b < tbucket_count; b++) {
    for (struct tnode *n = tbuckets[b], *next; n; n = next) {
      next = n->next_in_bucket;
      struct tnode **slot = &buckets[path_hash(n->path) % count];
      n->next_in_bucket = *slot;
      *slot = n;
    }
  }
  free(tbuckets);
  tbuckets = buckets;
  tbucket_count = count;
  return 0;
}

// Caller holds tlock. Adds `path` under its parent directory.
static int tadd(const char *path, int is_dir) {
  const char *slash = strrchr(path, '/');
  char *parent_path = strndup(path, (size_t)(slash - path));
  if (!parent_path) return -ENOMEM;
  struct tnode *parent = tfind(parent_path);
  free(parent_path);
  if (!parent) return -ENOENT;
  if (!parent->is_dir) return -ENOTDIR;
  if (tfind(path)) return -EEXIST;
  int grown = tgrow();
  if (grown) return grown;
  struct tnode *n = calloc(1, sizeof *n + strlen(path) + 1);
  if (!n) return -ENOMEM;
  strcpy(n->path, path);
  n->is_dir = is_dir;
  n->parent = parent;
  n->next_sibling = parent->first_child;
  if (parent->first_child) parent->first_child->prev_sibling = n;
  parent->first_child = n;
  struct tnode **slot = &tbuckets[path_hash(path) % tbucket_count];
  n->next_in_bucket = *slot;
  *slot = n;
  tnode_count++;
  return 0;
}

// Caller holds tlock. Removes a file (`is_dir` 0) or an empty directory (1).
static int tremove(const char *path, int is_dir) {
  struct tnode *n = tfind(path);
  if (!n || n == &troot) return n ? -EBUSY : -ENOENT;
  if (n->is_dir != is_dir) return is_dir ? -ENOTDIR : -EISDIR;
  if (n->first_child) return -ENOTEMPTY;
  struct tnode **slot = &tbuckets[path_hash(path) % tbucket_count];
  while (*slot != n) slot = &(*slot)->next_in_bucket;
  *slot = n->next_in_bucket;
  if (n->prev_sibling) n->prev_sibling->next_sibling = n->next_sibling;
  else n->parent->first_child = n->next_sibling;
  if (n->next_sibling) n->next_sibling->prev_sibling = n->prev_sibling;
  tnode_count--;
  free(n);
  return 0;
}

static int in_tree(const char *path) { return strcmp(path, "/t") == 0 || strncmp(path, "/t/", 3) == 0; }

enum node { N_NONE, N_ROOT, N_FILE, N_DIR, N_ENTRY, N_WDIR, N_WFILE };

// Classifies a path; for N_WFILE, *name points at the name inside /w.
static enum node classify(const char *path, const char **name) {
  if (strcmp(path, "/") == 0) return N_ROOT;
  if (strcmp(path, "/file") == 0) return N_FILE;
  if (strcmp(path, "/dir") == 0) return N_DIR;
  if (strcmp(path, "/w") == 0) return N_WDIR;
  if (strncmp(path, "/w/", 3) == 0 && path[3] && !strchr(path + 3, '/')) {
    *name = path + 3;
    return N_WFILE;
  }
  if (strncmp(path, "/dir/e", 6) == 0) {
    const char *digits = path + 6;
    if (!*digits || (digits[0] == '0' && digits[1])) return N_NONE;
    unsigned long n = 0;
    for (const char *d = digits; *d; d++) {
      if (*d < '0' || *d > '9' || n >= opts.entries) return N_NONE;
      n = n * 10 + (unsigned long)(*d - '0');
    }
    return n < opts.entries ? N_ENTRY : N_NONE;
  }
  return N_NONE;
}

static void fill_stat(struct stat *st, int is_dir, off_t size, mode_t perm) {
  memset(st, 0, sizeof *st);
  st->st_mode = (is_dir ? S_IFDIR : S_IFREG) | perm;
  st->st_nlink = is_dir ? 2 : 1;
  st->st_size = size;
  st->st_blocks = (size + 511) / 512;
  st->st_uid = getuid();
  st->st_gid = getgid();
  st->st_atime = st->st_mtime = st->st_ctime = MTIME;
}

static void *bench_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  cfg->kernel_cache = 0;
  return NULL;
}

static int bench_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void)fi;
  const char *name = NULL;
  if (in_tree(path)) {
    pthread_mutex_lock(&tlock);
    struct tnode *n = tfind(path);
    if (n) fill_stat(st, n->is_dir, 0, n->is_dir ? 0755 : 0644);
    pthread_mutex_unlock(&tlock);
    return n ? 0 : -ENOENT;
  }
  switch (classify(path, &name)) {
    case N_ROOT:
    case N_DIR:
    case N_WDIR:
      fill_stat(st, 1, 0, 0755);
      return 0;
    case N_FILE:
      fill_stat(st, 0, (off_t)opts.size, 0644);
      return 0;
    case N_ENTRY:
      fill_stat(st, 0, 0, 0644);
      return 0;
    case N_WFILE: {
      pthread_mutex_lock(&wlock);
      struct wfile *f = *wfind(name);
      if (f) fill_stat(st, 0, f->size, 0644);
      pthread_mutex_unlock(&wlock);
      return f ? 0 : -ENOENT;
    }
    default:
      return -ENOENT;
  }
}

static int bench_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
                         struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)offset;
  (void)fi;
  (void)flags;
  const char *name = NULL;
  struct stat st;
  if (in_tree(path)) {
    pthread_mutex_lock(&tlock);
    struct tnode *dir = tfind(path);
    int found = dir && dir->is_dir;
    if (found) {
      fill_stat(&st, 1, 0, 0755);
      filler(buf, ".", &st, 0, FUSE_FILL_DIR_PLUS);
      filler(buf, "..", &st, 0, FUSE_FILL_DIR_PLUS);
      for (struct tnode *c = dir->first_child; c; c = c->next_sibling) {
        fill_stat(&st, c->is_dir, 0, c->is_dir ? 0755 : 0644);
        filler(buf, strrchr(c->path, '/') + 1, &st, 0, FUSE_FILL_DIR_PLUS);
      }
    }
    pthread_mutex_unlock(&tlock);
    return found ? 0 : dir ? -ENOTDIR : -ENOENT;
  }
  enum node n = classify(path, &name);
  if (n != N_ROOT && n != N_DIR && n != N_WDIR) return -ENOTDIR;
  fill_stat(&st, 1, 0, 0755);
  filler(buf, ".", &st, 0, FUSE_FILL_DIR_PLUS);
  filler(buf, "..", &st, 0, FUSE_FILL_DIR_PLUS);
  if (n == N_ROOT) {
    filler(buf, "dir", &st, 0, FUSE_FILL_DIR_PLUS);
    filler(buf, "w", &st, 0, FUSE_FILL_DIR_PLUS);
    filler(buf, "t", &st, 0, FUSE_FILL_DIR_PLUS);
    fill_stat(&st, 0, (off_t)opts.size, 0644);
    filler(buf, "file", &st, 0, FUSE_FILL_DIR_PLUS);
  } else if (n == N_DIR) {
    fill_stat(&st, 0, 0, 0644);
    for (unsigned i = 0; i < opts.entries; i++) filler(buf, entry_names[i], &st, 0, FUSE_FILL_DIR_PLUS);
  } else {
    pthread_mutex_lock(&wlock);
    for (unsigned b = 0; b < BUCKETS; b++) {
      for (struct wfile *f = buckets[b]; f; f = f->next) {
        fill_stat(&st, 0, f->size, 0644);
        filler(buf, f->name, &st, 0, FUSE_FILL_DIR_PLUS);
      }
    }
    pthread_mutex_unlock(&wlock);
  }
  return 0;
}

static int bench_open(const char *path, struct fuse_file_info *fi) {
  (void)path;
  fi->fh = 0;
  return 0;
}

static int bench_read(const char *path, char *buf, size_t size, off_t offset, struct fuse_file_info *fi) {
  (void)fi;
  const char *name = NULL;
  enum node n = classify(path, &name);
  if (n == N_WFILE || n == N_ENTRY) return 0;  // written bytes are not kept: read as end of file
  if (n != N_FILE) return -EISDIR;
  if ((unsigned long)offset >= opts.size) return 0;
  if (size > opts.size - (unsigned long)offset) size = opts.size - (unsigned long)offset;
  if (size > PATTERN_SIZE) size = PATTERN_SIZE;
  memcpy(buf, pattern + (offset % PATTERN_SIZE), size);
  return (int)size;
}

static int bench_write(const char *path, const char *buf, size_t size, off_t offset,
                       struct fuse_file_info *fi) {
  (void)buf;
  (void)fi;
  const char *name = NULL;
  if (classify(path, &name) != N_WFILE) return -ENOENT;
  pthread_mutex_lock(&wlock);
  struct wfile *f = *wfind(name);
  if (f && f->size < offset + (off_t)size) f->size = offset + (off_t)size;
  pthread_mutex_unlock(&wlock);
  return f ? (int)size : -ENOENT;
}

static int bench_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  (void)mode;
  const char *name = NULL;
  if (in_tree(path)) {
    pthread_mutex_lock(&tlock);
    int added = tadd(path, 0);
    pthread_mutex_unlock(&tlock);
    fi->fh = 0;
    return added;
  }
  if (classify(path, &name) != N_WFILE) return -EACCES;
  pthread_mutex_lock(&wlock);
  struct wfile **slot = wfind(name);
  if (*slot) {
    (*slot)->size = 0;  // O_TRUNC semantics; O_EXCL is checked by the kernel's lookup
  } else {
    struct wfile *f = malloc(sizeof *f + strlen(name) + 1);
    if (!f) {
      pthread_mutex_unlock(&wlock);
      return -ENOMEM;
    }
    f->next = NULL;
    f->size = 0;
    strcpy(f->name, name);
    *slot = f;
  }
  pthread_mutex_unlock(&wlock);
  fi->fh = 0;
  return 0;
}

static int bench_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  (void)fi;
  const char *name = NULL;
  if (classify(path, &name) != N_WFILE) return -ENOENT;
  pthread_mutex_lock(&wlock);
  struct wfile *f = *wfind(name);
  if (f) f->size = size;
  pthread_mutex_unlock(&wlock);
  return f ? 0 : -ENOENT;
}

static int bench_mkdir(const char *path, mode_t mode) {
  (void)mode;
  if (!in_tree(path)) return -EACCES;
  pthread_mutex_lock(&tlock);
  int added = tadd(path, 1);
  pthread_mutex_unlock(&tlock);
  return added;
}

static int bench_rmdir(const char *path) {
  if (!in_tree(path)) return -EACCES;
  pthread_mutex_lock(&tlock);
  int removed = tremove(path, 1);
  pthread_mutex_unlock(&tlock);
  return removed;
}

static int bench_unlink(const char *path) {
  const char *name = NULL;
  if (in_tree(path)) {
    pthread_mutex_lock(&tlock);
    int removed = tremove(path, 0);
    pthread_mutex_unlock(&tlock);
    return removed;
  }
  if (classify(path, &name) != N_WFILE) return -ENOENT;
  pthread_mutex_lock(&wlock);
  struct wfile **slot = wfind(name);
  struct wfile *f = *slot;
  if (f) *slot = f->next;
  pthread_mutex_unlock(&wlock);
  free(f);
  return f ? 0 : -ENOENT;
}

static int bench_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
  (void)tv;
  (void)fi;
  const char *name = NULL;
  if (in_tree(path)) {
    pthread_mutex_lock(&tlock);
    int found = tfind(path) != NULL;
    pthread_mutex_unlock(&tlock);
    return found ? 0 : -ENOENT;
  }
  return classify(path, &name) == N_NONE ? -ENOENT : 0;
}

static const struct fuse_operations bench_ops = {
    .init = bench_init,
    .getattr = bench_getattr,
    .readdir = bench_readdir,
    .open = bench_open,
    .read = bench_read,
    .write = bench_write,
    .create = bench_create,
    .truncate = bench_truncate,
    .unlink = bench_unlink,
    .mkdir = bench_mkdir,
    .rmdir = bench_rmdir,
    .utimens = bench_utimens,
};

int main(int argc, char *argv[]) {
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  if (fuse_opt_parse(&args, &opts, option_spec, NULL) == -1) return 1;

  if (make_model_data(opts.entries) != 0 || exit_when_stdin_closes() != 0) return 1;

  int status = fuse_main(args.argc, args.argv, &bench_ops, NULL);
  fuse_opt_free_args(&args);
  // fuse_main answers 8 when its loop ended on a signal, which is how this process is stopped.
  return status == 8 ? 0 : status;
}
