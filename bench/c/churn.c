// create + unlink client: creates n empty files in a directory (open O_CREAT|O_EXCL, close),
// then unlinks them all; with `dirs`, makes n directories (mkdir), then removes them (rmdir).
// Usage: churn <dir> <n> [files|dirs]
// Prints one JSON line: {"files": n, "rate": names per second over both phases, ...}.
#define _GNU_SOURCE
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

int main(int argc, char **argv) {
  int dirs = argc == 4 && strcmp(argv[3], "dirs") == 0;
  if (argc < 3 || argc > 4 || (argc == 4 && !dirs && strcmp(argv[3], "files") != 0)) {
    fprintf(stderr, "usage: churn <dir> <n> [files|dirs]\n");
    return 64;
  }
  const char *dir = argv[1];
  long n = atol(argv[2]);
  char path[4096];
  double begin = now();
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%ld", dir, i);
    if (dirs) {
      if (mkdir(path, 0755) != 0) {
        fprintf(stderr, "churn: mkdir %s: %s\n", path, strerror(errno));
        return 2;
      }
      continue;
    }
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0 || close(fd) != 0) {
      fprintf(stderr, "churn: create %s: %s\n", path, strerror(errno));
      return 2;
    }
  }
  double created = now();
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%ld", dir, i);
    if ((dirs ? rmdir(path) : unlink(path)) != 0) {
      fprintf(stderr, "churn: %s %s: %s\n", dirs ? "rmdir" : "unlink", path, strerror(errno));
      return 2;
    }
  }
  double end = now();
  printf("{\"files\": %ld, \"rate\": %.1f, \"createRate\": %.1f, \"unlinkRate\": %.1f}\n", n,
         (double)n / (end - begin), (double)n / (created - begin), (double)n / (end - created));
  return 0;
}
