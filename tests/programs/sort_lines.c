/* A sort-like workload: generate 100,000 pseudo-random lines into a file,
 * read them back with stdio, qsort, write the result, print checksums and
 * a few lines. Deterministic: a fixed LCG, no randomness from the system. */
#define _GNU_SOURCE
#include "progutil.h"

enum { kLines = 100000 };

static int cmp(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

int main(void) {
  FILE* f = fopen(prog_path("input.txt"), "w");
  CHECK(f != NULL);
  unsigned long long x = 12345;
  for (int i = 0; i < kLines; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    int len = 5 + (int)((x >> 33) % 20);
    char line[32];
    for (int k = 0; k < len; k++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      line[k] = (char)('a' + (x >> 40) % 26);
    }
    line[len] = '\0';
    fprintf(f, "%s %d\n", line, i);
  }
  CHECK(fclose(f) == 0);

  f = fopen(prog_path("input.txt"), "r");
  CHECK(f != NULL);
  char** lines = malloc(sizeof(char*) * kLines);
  size_t n = 0, cap = 0;
  char* buf = NULL;
  ssize_t len;
  unsigned long long hin = FNV_INIT;
  while ((len = getline(&buf, &cap, f)) > 0) {
    CHECK(n < kLines);
    hin = fnv1a(hin, buf, (size_t)len);
    lines[n++] = strdup(buf);
  }
  free(buf);
  fclose(f);
  printf("read %zu lines, input fnv=%016llx\n", n, hin);
  qsort(lines, n, sizeof lines[0], cmp);
  f = fopen(prog_path("sorted.txt"), "w");
  unsigned long long hout = FNV_INIT;
  int ordered = 1;
  for (size_t i = 0; i < n; i++) {
    fputs(lines[i], f);
    hout = fnv1a(hout, lines[i], strlen(lines[i]));
    if (i > 0 && strcmp(lines[i - 1], lines[i]) > 0) {
      ordered = 0;
    }
  }
  CHECK(fclose(f) == 0);
  printf("sorted: ordered=%s output fnv=%016llx\n", ordered ? "yes" : "no", hout);
  printf("first: %s", lines[0]);
  printf("middle: %s", lines[n / 2]);
  printf("last: %s", lines[n - 1]);
  for (size_t i = 0; i < n; i++) {
    free(lines[i]);
  }
  free(lines);
  return 0;
}
