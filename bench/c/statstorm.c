// getattr storm client: N processes each stat() one path in a tight loop for a fixed time.
// Usage: statstorm <path> <clients> <seconds>
// Prints one JSON line: {"ops": total stat calls, "rate": sum of per-client calls per second}.
// Processes rather than threads, so each client is its own caller as the kernel sees it.
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct report {
  uint64_t ops;
  double seconds;
};

static void client(const char *path, double seconds, int start_fd, int report_fd) {
  char go;
  if (read(start_fd, &go, 1) < 0) _exit(3);  // returns 0 once the parent closes its end
  struct stat st;
  struct report r = {0, 0};
  double begin = now(), deadline = begin + seconds, t = begin;
  while (t < deadline) {
    if (stat(path, &st) != 0) {
      fprintf(stderr, "statstorm: stat %s: %s\n", path, strerror(errno));
      _exit(2);
    }
    r.ops++;
    t = now();
  }
  r.seconds = t - begin;
  if (write(report_fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(3);
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: statstorm <path> <clients> <seconds>\n");
    return 64;
  }
  const char *path = argv[1];
  int clients = atoi(argv[2]);
  double seconds = atof(argv[3]);
  int start[2], reports[2];
  if (clients < 1 || seconds <= 0 || pipe(start) != 0 || pipe(reports) != 0) return 64;

  for (int i = 0; i < clients; i++) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      close(start[1]);
      close(reports[0]);
      client(path, seconds, start[0], reports[1]);
    }
  }
  close(start[0]);
  close(reports[1]);
  close(start[1]);  // releases every client at once

  uint64_t ops = 0;
  double rate = 0;
  struct report r;
  int received = 0;
  while (read(reports[0], &r, sizeof r) == (ssize_t)sizeof r) {
    ops += r.ops;
    rate += (double)r.ops / r.seconds;
    received++;
  }
  int failed = 0, status;
  while (wait(&status) > 0) {
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
  }
  if (failed || received != clients) return 1;
  printf("{\"ops\": %llu, \"rate\": %.1f}\n", (unsigned long long)ops, rate);
  return 0;
}
