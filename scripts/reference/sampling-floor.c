// Reference floor: the least a 16 ms sampler can do on this machine: sleep to an absolute deadline,
// pread /proc/stat (and optionally nothing else). Prints CPU time as % of one core.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
int main(int argc, char **argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 30; int readstat = argc > 2 ? atoi(argv[2]) : 1;
  int fd = open("/proc/stat", O_RDONLY); int fv = open("/proc/vmstat", O_RDONLY); static char buf[65536];
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  long n = seconds * 1000 / 16; long long sink = 0;
  for (long k = 0; k < n; k++) {
    t.tv_nsec += 16000000; if (t.tv_nsec >= 1000000000) { t.tv_nsec -= 1000000000; t.tv_sec++; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    if (readstat) { ssize_t r = pread(fd, buf, sizeof buf, 0); sink += r; }
    if (readstat > 1) { ssize_t r = pread(fv, buf, sizeof buf, 0); sink += r; }
  }
  { FILE *f = fopen("/proc/self/schedstat", "r"); unsigned long long ns = 0; if (f && fscanf(f, "%llu", &ns) == 1) printf("schedstat run time %.4f s = %.3f%% of one core\n", ns/1e9, 100*ns/1e9/seconds); if (f) fclose(f); }
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec/1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec/1e6;
  printf("ticks %ld, read /proc/stat %d, cpu %.3f s = %.3f%% of one core (user %.3f, sys %.3f), maxrss %ld kB\n", n, readstat, cpu, 100*cpu/seconds,
    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec/1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec/1e6, ru.ru_maxrss);
  return sink < 0;
}
