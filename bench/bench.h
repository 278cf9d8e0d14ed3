/*
 * bench.h - what the parts of the benchmark share: options, progress lines,
 * the monotonic clock, a fixed-seed PRNG and a few statistics.
 */
#ifndef STORTIMER_BENCH_H
#define STORTIMER_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct bench_opts {
    bool quick;          /* N up to 1e5, fewer samples: a fast try */
    const char *out_dir; /* where the CSV and SVG files go */
    const char *only;    /* one part's name, or NULL for every part */
    const char *impl;    /* cost part: only implementations whose name starts
                            with this (NULL: all) */
} bench_opts;

/* ---- progress on stderr: "[3/9] libuv 1e6: arming..." ---- */

void progress_set_total(int steps);
void progress_step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_phase(const char *phase);

/* ---- time ---- */

uint64_t now_ns(void);
void sleep_us(uint64_t us);

/* ---- fixed-seed PRNG (splitmix64): the same run gives the same inputs ---- */

typedef struct prng {
    uint64_t state;
} prng;

static inline uint64_t prng_next(prng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]; the modulo bias is far below anything measured. */
static inline uint64_t prng_range(prng *r, uint64_t lo, uint64_t hi)
{
    return lo + prng_next(r) % (hi - lo + 1);
}

/* ---- statistics ---- */

/* Median of n values (sorts a copy). */
double median_of(const double *values, size_t n);

/* Sorts in place, ascending. */
void sort_doubles(double *values, size_t n);

/* The p-quantile (0..1) of sorted values, nearest rank. */
double quantile_sorted(const double *sorted, size_t n, double p);

/* ---- memory ---- */

/* malloc, then one write per page, so that the pages are resident now and
 * not when an implementation first writes them (a zeroing memset would be
 * turned into calloc, which touches nothing). Exits when memory is short. */
void *alloc_touched(size_t bytes);

/* ---- output files ---- */

/* Creates the directory and its parents; false (with a message) on failure. */
bool make_dirs(const char *path);

/* Opens out_dir/name for writing and writes the header line; NULL on error. */
FILE *csv_open(const bench_opts *opts, const char *name, const char *header);

/* Closes a file opened by csv_open; false (with a message) on error. */
bool csv_close(FILE *f, const char *name);

/* "1e3", "1e5", "1e6" for the powers of ten we use, else the number. */
const char *n_label(size_t n, char buf[32]);

#endif /* STORTIMER_BENCH_H */
