// Scale client: one phase of the tree workload over <root>, a tree of <dirs> directories
// d0..dN-1 with <files> empty files f0..fM-1 each.
//   create  mkdir each directory, then create its files (open O_CREAT|O_EXCL, close)
//   walk    list every directory recursively, as find does (getdents64 only: with d_type in
//           the listing, find stats nothing); checks that every file is listed
//   stat    stat() every file by its path
//   remove  unlink every file, then rmdir each directory
// Usage: tree <root> <phase> <dirs> <files>
// Prints one JSON line: {"files": files seen, "rate": files per second}.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, const char *path) {
  fprintf(stderr, "%s %s: %s\n", what, path, strerror(errno));
  exit(1);
}

// Lists `path` and every directory below it; returns the number of files.
static long walk(const char *path) {
  DIR *dir = opendir(path);
  if (!dir) fail("opendir", path);
  long files = 0;
  struct dirent *entry;
  char child[4096];
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if (entry->d_type == DT_DIR) {
      snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
      files += walk(child);
    } else {
      files++;
    }
  }
  closedir(dir);
  return files;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: tree <root> create|walk|stat|remove <dirs> <files>\n");
    return 64;
  }
  const char *root = argv[1];
  const char *phase = argv[2];
  long dirs = atol(argv[3]);
  long files = atol(argv[4]);
  char path[4096];
  long seen = 0;
  double begin = now();
  if (strcmp(phase, "create") == 0) {
    for (long d = 0; d < dirs; d++) {
      snprintf(path, sizeof path, "%s/d%ld", root, d);
      if (mkdir(path, 0755) != 0) fail("mkdir", path);
      for (long f = 0; f < files; f++, seen++) {
        snprintf(path, sizeof path, "%s/d%ld/f%ld", root, d, f);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) fail("create", path);
        close(fd);
      }
    }
  } else if (strcmp(phase, "walk") == 0) {
    seen = walk(root);
  } else if (strcmp(phase, "stat") == 0) {
    struct stat st;
    for (long d = 0; d < dirs; d++) {
      for (long f = 0; f < files; f++, seen++) {
        snprintf(path, sizeof path, "%s/d%ld/f%ld", root, d, f);
        if (stat(path, &st) != 0) fail("stat", path);
      }
    }
  } else if (strcmp(phase, "remove") == 0) {
    for (long d = 0; d < dirs; d++) {
      for (long f = 0; f < files; f++, seen++) {
        snprintf(path, sizeof path, "%s/d%ld/f%ld", root, d, f);
        if (unlink(path) != 0) fail("unlink", path);
      }
      snprintf(path, sizeof path, "%s/d%ld", root, d);
      if (rmdir(path) != 0) fail("rmdir", path);
    }
  } else {
    fprintf(stderr, "unknown phase %s: create, walk, stat or remove\n", phase);
    return 64;
  }
  double seconds = now() - begin;
  if (seen != dirs * files) {
    fprintf(stderr, "%s saw %ld files, expected %ld\n", phase, seen, dirs * files);
    return 1;
  }
  printf("{\"files\": %ld, \"seconds\": %.6f, \"rate\": %.1f}\n", seen, seconds, (double)seen / seconds);
  return 0;
}
