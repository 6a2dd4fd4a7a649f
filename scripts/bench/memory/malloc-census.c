/*
 * malloc census: an LD_PRELOAD library that counts a process's glibc heap blocks by size while
 * it runs, for memory the JavaScript heap tools cannot see (buffers a runtime allocates in Rust
 * or C++ and frees only when the garbage collector drops their JS object).
 *
 * Every 200 ms it appends two lines to $MALLOC_CENSUS_FILE:
 *   "<seconds> live <usable size> x<count> ..."  block sizes (malloc_usable_size, 4 KiB up to
 *                                                 140,000 bytes) with more than 64 blocks live;
 *   "<seconds> new <requested size> x<count> ..." the 12 sizes requested most in the last
 *                                                 period (malloc, calloc, realloc, memalign).
 * A size that is allocated steadily and also stays live by the hundreds is memory that waits
 * for something (a collection) to be freed. That is how Deno's node:tls was found to keep its
 * encrypted output until a GC (src/runtime/deno/enc-out.ts): 16,408- and 49,224-byte
 * blocks, live by the hundreds, in pairs.
 *
 * Build and use (floor.ts does both with --malloc-census FILE, Deno targets only):
 *   cc -O2 -shared -fPIC -o /tmp/malloc-census.so scripts/bench/memory/malloc-census.c -lpthread
 *   MALLOC_CENSUS_FILE=/tmp/census.txt LD_PRELOAD=/tmp/malloc-census.so deno run ...
 *
 * Linux with glibc only (it calls glibc's __libc_* entry points). Counting costs a few atomic
 * adds per malloc and free; the figures are for finding, not for measuring throughput. Blocks
 * from valloc/pvalloc are not counted (a free of one then undercounts its size); child
 * processes inherit the preload and append to the same file.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

#define LO 4096
#define HI 140000
#define TOP 12
#define LIVE_MIN 64

static long live[HI];      /* live blocks by usable size */
static long requested[HI]; /* malloc calls by requested size, since start */

static void counted(void *p) {
  if (!p) return;
  size_t s = malloc_usable_size(p);
  if (s < HI) __atomic_add_fetch(&live[s], 1, __ATOMIC_RELAXED);
}
static void uncounted(void *p) {
  if (!p) return;
  size_t s = malloc_usable_size(p);
  if (s < HI) __atomic_sub_fetch(&live[s], 1, __ATOMIC_RELAXED);
}

static void *asked(void *p, size_t n) {
  counted(p);
  if (p && n >= LO && n < HI) __atomic_add_fetch(&requested[n], 1, __ATOMIC_RELAXED);
  return p;
}

void *malloc(size_t n) { return asked(__libc_malloc(n), n); }
void free(void *p) {
  uncounted(p);
  __libc_free(p);
}
/* zero-filled: how V8 allocates most ArrayBuffer backing stores */
void *calloc(size_t a, size_t b) { return asked(__libc_calloc(a, b), a * b); }
void *realloc(void *q, size_t n) {
  uncounted(q);
  void *p = __libc_realloc(q, n);
  if (p) asked(p, n);
  else if (q && n) counted(q); /* failed: q is still there */
  return p;
}
void *memalign(size_t a, size_t n) { return asked(__libc_memalign(a, n), n); }
void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
  if (a < sizeof(void *) || (a & (a - 1)) != 0) return 22; /* EINVAL */
  void *p = __libc_memalign(a, n);
  if (!p) return 12; /* ENOMEM */
  asked(p, n);
  *out = p;
  return 0;
}

static void *report(void *file) {
  static long before[HI];
  for (;;) {
    usleep(200000);
    FILE *o = fopen((const char *)file, "a");
    if (!o) continue;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t = ts.tv_sec + ts.tv_nsec / 1e9;
    fprintf(o, "%.1f live", t);
    for (int n = LO; n < HI; n++)
      if (live[n] > LIVE_MIN) fprintf(o, " %d x%ld", n, live[n]);
    fprintf(o, "\n%.1f new", t);
    int size[TOP] = {0};
    long count[TOP] = {0};
    for (int n = LO; n < HI; n++) {
      long now = requested[n], d = now - before[n];
      before[n] = now;
      for (int k = 0; k < TOP; k++) {
        if (d <= count[k]) continue;
        for (int j = TOP - 1; j > k; j--) {
          count[j] = count[j - 1];
          size[j] = size[j - 1];
        }
        count[k] = d;
        size[k] = n;
        break;
      }
    }
    for (int k = 0; k < TOP && count[k] > 0; k++) fprintf(o, " %d x%ld", size[k], count[k]);
    fprintf(o, "\n");
    fclose(o);
  }
  return NULL;
}

__attribute__((constructor)) static void start(void) {
  const char *file = getenv("MALLOC_CENSUS_FILE");
  if (!file) return;
  pthread_t t;
  if (pthread_create(&t, NULL, report, (void *)file) == 0) pthread_detach(t);
}
