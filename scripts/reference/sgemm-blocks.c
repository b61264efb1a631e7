// The guest pass's three large products through OpenBLAS, whole or in blocks, with caches cold (a
// 64 MiB sweep before each repetition) or warm: what `SmallMatrixBlocks` (Sources/VraplNN) is sized by.
//   cc -O2 scripts/reference/sgemm-blocks.c -o /tmp/sgemm-blocks -lopenblas
//   OPENBLAS_NUM_THREADS=1 /tmp/sgemm-blocks dense 16 8      # 63 windows · 768 → 128 in calls of 16, then 8
//   OPENBLAS_NUM_THREADS=1 /tmp/sgemm-blocks edges 128 64    # 64 × 160 weights · 512 edge columns
//   OPENBLAS_NUM_THREADS=1 /tmp/sgemm-blocks conv 400 80     # 64 × 160 weights · 1600 columns (whole-host)
// Prints p50 and p10 of 200 repetitions in µs per block size. Row-major, as the engine calls it.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static int by_value(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s dense|edges|conv BLOCK...\n", argv[0]); return 2; }
  const int dense = strcmp(argv[1], "dense") == 0, edges = strcmp(argv[1], "edges") == 0;
  // dense: x [63, 768] · Wᵀ (W [128, 768]); edges / conv: W [64, 160] · col [160, total].
  const int total = dense ? 63 : edges ? 512 : 1600, k = dense ? 768 : 160, m = dense ? 128 : 64;
  enum { sweep = 64 << 20, reps = 200 };
  char *evict = malloc(sweep); memset(evict, 1, sweep);
  float *w = malloc(sizeof(float) * m * k), *x = malloc(sizeof(float) * total * k), *y = malloc(sizeof(float) * total * m);
  srand(1);
  for (int i = 0; i < m * k; i++) w[i] = rand() / (float)RAND_MAX - 0.5f;
  for (int i = 0; i < total * k; i++) x[i] = rand() / (float)RAND_MAX;
  for (int a = 2; a < argc; a++) {
    const int block = atoi(argv[a]);
    for (int cold = 0; cold < 2; cold++) {
      double t[reps];
      for (int r = 0; r < reps; r++) {
        if (cold) for (long i = 0; i < sweep; i += 64) evict[i]++;
        const double start = now_ns();
        for (int s = 0; s < total; s += block) {
          const int b = total - s < block ? total - s : block;
          if (dense)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, m, k, 1, x + s * k, k, w, k, 0, y + s * m, m);
          else   // one block of columns, stored as its own [k, b] matrix as the edge im2col is
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, b, k, 1, w, k, x + s * k, b, 0, y + s * m, b);
        }
        t[r] = now_ns() - start;
      }
      qsort(t, reps, sizeof t[0], by_value);
      printf("%s: %d %s in blocks of %d, %s: p50 %.1f us, p10 %.1f us\n", argv[1], total, dense ? "windows" : "columns",
             block, cold ? "cold" : "warm", t[reps / 2] / 1e3, t[reps / 10] / 1e3);
    }
  }
  return 0;
}
