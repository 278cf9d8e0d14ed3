/* util.c - clock, statistics and file helpers shared by every part. */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sleep_us(uint64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000u),
                          .tv_nsec = (long)(us % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void *alloc_touched(size_t bytes)
{
    unsigned char *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "stortimer-bench: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    for (size_t i = 0; i < bytes; i += 4096)
        ((volatile unsigned char *)p)[i] = 0;
    return p;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void sort_doubles(double *values, size_t n)
{
    qsort(values, n, sizeof *values, compare_doubles);
}

double median_of(const double *values, size_t n)
{
    double copy[64];
    if (n == 0 || n > sizeof copy / sizeof copy[0])
        return 0;
    memcpy(copy, values, n * sizeof *values);
    sort_doubles(copy, n);
    return n % 2 ? copy[n / 2] : (copy[n / 2 - 1] + copy[n / 2]) / 2;
}

double quantile_sorted(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    /* Nearest rank: the smallest value with at least p of the samples at
     * or below it. */
    double rank = p * (double)n;
    size_t index = (size_t)rank;
    if ((double)index < rank)
        index++;
    if (index > 0)
        index--;
    return sorted[index < n ? index : n - 1];
}

bool make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        fprintf(stderr, "stortimer-bench: path too long: %s\n", path);
        return false;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "stortimer-bench: cannot create %s: %s\n", buf, strerror(errno));
            return false;
        }
        *p = saved;
        if (saved == '\0')
            return true;
    }
}

FILE *csv_open(const bench_opts *opts, const char *name, const char *header)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", opts->out_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "stortimer-bench: cannot write %s: %s\n", path, strerror(errno));
        return NULL;
    }
    fprintf(f, "%s\n", header);
    return f;
}

bool csv_close(FILE *f, const char *name)
{
    bool ok = !ferror(f);
    if (fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "stortimer-bench: error writing %s\n", name);
    return ok;
}

const char *n_label(size_t n, char buf[32])
{
    int exponent = 0;
    size_t v = n;
    while (v >= 10 && v % 10 == 0) {
        v /= 10;
        exponent++;
    }
    if (v == 1 && exponent >= 3)
        snprintf(buf, 32, "1e%d", exponent);
    else
        snprintf(buf, 32, "%zu", n);
    return buf;
}
