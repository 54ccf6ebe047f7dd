// What both C reference subjects (benchfs.c, benchll.c) share: the model's data and constants
// (bench/subjects/model.ts), and how the process ends when the harness goes away. Included
// by exactly one translation unit per program, hence static functions.
#ifndef BENCH_MODEL_H
#define BENCH_MODEL_H

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PATTERN_SIZE (1 << 20)
#define MTIME 1700000000

// The pattern twice over, so any read of up to PATTERN_SIZE bytes is one contiguous slice.
static unsigned char *pattern;
// /dir's entry names, "e0" .. "eN-1".
static char **entry_names;

// Makes `pattern` and `entry_names` for `entries` entries; 0, or -1 when memory ran out.
static int make_model_data(unsigned entries) {
  pattern = malloc(2 * PATTERN_SIZE);
  entry_names = calloc(entries, sizeof *entry_names);
  if (!pattern || !entry_names) return -1;
  for (size_t i = 0; i < 2 * PATTERN_SIZE; i++) pattern[i] = (unsigned char)(i * 31);
  for (unsigned i = 0; i < entries; i++) {
    if (asprintf(&entry_names[i], "e%u", i) < 0) return -1;
  }
  return 0;
}

static void *watch_stdin(void *arg) {
  (void)arg;
  char c;
  while (read(STDIN_FILENO, &c, 1) > 0) {
  }
  kill(getpid(), SIGTERM);
  return NULL;
}

// Ends the process's mount when the harness goes away: when stdin closes, a thread sends the
// process SIGTERM, which ends the FUSE loop and unmounts. That thread blocks the signals
// itself, so the kernel delivers them to a loop thread, whose blocking read or wait they
// interrupt. 0, or -1 when the thread could not start.
static int exit_when_stdin_closes(void) {
  sigset_t stop, previous;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, &previous);
  pthread_t watcher;
  int started = pthread_create(&watcher, NULL, watch_stdin, NULL) == 0;
  if (started) pthread_detach(watcher);
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  return started ? 0 : -1;
}

#endif
