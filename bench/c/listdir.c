// readdir client: lists one directory with getdents64 again and again, and checks the count.
// Usage: listdir <dir> <expected entries, without . and ..> <min seconds> <min listings>
// Prints one JSON line: {"listings": n, "rate": listings per second}.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char buf[1 << 16];

static long list_once(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  long count = 0;
  for (;;) {
    long n = getdents64(fd, buf, sizeof buf);
    if (n < 0) {
      close(fd);
      return -1;
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0) count++;
      off += d->d_reclen;
    }
  }
  close(fd);
  return count;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: listdir <dir> <expected> <min-seconds> <min-listings>\n");
    return 64;
  }
  long expected = atol(argv[2]), min_listings = atol(argv[4]);
  double min_seconds = atof(argv[3]);
  long listings = 0;
  double begin = now(), elapsed = 0;
  while (listings < min_listings || elapsed < min_seconds) {
    long count = list_once(argv[1]);
    if (count < 0) {
      fprintf(stderr, "listdir: %s: %s\n", argv[1], strerror(errno));
      return 2;
    }
    if (count != expected) {
      fprintf(stderr, "listdir: %s has %ld entries, expected %ld\n", argv[1], count, expected);
      return 2;
    }
    listings++;
    elapsed = now() - begin;
  }
  printf("{\"listings\": %ld, \"rate\": %.3f}\n", listings, (double)listings / elapsed);
  return 0;
}
