// List + stat client: what `ls -l` does to one directory. It reads the listing a buffer at a
// time (getdents64, 32 KiB, as glibc's readdir does) and stat()s each entry of a buffer before
// reading the next, so the kernel sees lookups of the directory's names between its pages.
// Checks that every entry stats as an empty regular file and that the count is right.
// Usage: lsstat <dir> <expected entries, without . and ..>
// Prints one JSON line: {"entries": n, "rate": entries listed and stat()ed per second}.
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

static char buf[32 << 10];

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: lsstat <dir> <expected>\n");
    return 64;
  }
  const char *path = argv[1];
  long expected = atol(argv[2]);
  double begin = now();
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "lsstat: open %s: %s\n", path, strerror(errno));
    return 2;
  }
  long count = 0;
  for (;;) {
    long n = getdents64(fd, buf, sizeof buf);
    if (n < 0) {
      fprintf(stderr, "lsstat: getdents64 %s: %s\n", path, strerror(errno));
      return 2;
    }
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      off += d->d_reclen;
      if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) continue;
      struct stat st;
      if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        fprintf(stderr, "lsstat: stat %s/%s: %s\n", path, d->d_name, strerror(errno));
        return 2;
      }
      if (!S_ISREG(st.st_mode) || st.st_size != 0) {
        fprintf(stderr, "lsstat: %s/%s is not an empty regular file\n", path, d->d_name);
        return 2;
      }
      count++;
    }
  }
  close(fd);
  double elapsed = now() - begin;
  if (count != expected) {
    fprintf(stderr, "lsstat: %s has %ld entries, expected %ld\n", path, count, expected);
    return 2;
  }
  printf("{\"entries\": %ld, \"rate\": %.3f}\n", count, (double)count / elapsed);
  return 0;
}
