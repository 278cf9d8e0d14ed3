/*
 * cost.h - one timer implementation as the cost and memory parts drive it.
 *
 * Every implementation gets the same calls with the same random inputs, so
 * the figures differ only by the data structure and its API.
 */
#ifndef STORTIMER_BENCH_COST_H
#define STORTIMER_BENCH_COST_H

#include "bench.h"

typedef struct cost_impl {
    const char *name;
    size_t max_n;   /* largest N it is measured at; 0: no limit */
    /* Expiry timeouts: virtual clocks take the same [1 us, 1 s] as the other
     * operations; real-clock peers take short ones and wait until all are
     * due (see each implementation's expire). */
    uint64_t expiry_min_us, expiry_max_us;

    /* State with room for n timers, none initialized yet. Every array the
     * caller keeps is allocated and touched here, so that init_timers shows
     * only what the implementation itself allocates. */
    void *(*create)(size_t n);
    void (*init_timers)(void *state);      /* every timer, idle */
    void (*arm)(void *state, size_t i, uint64_t timeout_us);
    void (*cancel)(void *state, size_t i); /* armed or idle */
    void (*before_expire)(void *state);    /* untimed; may be NULL */
    /* Fires every armed timer (`armed` of them); returns how many fired. */
    uint64_t (*expire)(void *state, uint64_t armed);
    uint64_t (*errors)(void *state);       /* calls that did not succeed */
    void (*destroy)(void *state);

    /* What the caller keeps per timer, in bytes. */
    size_t caller_bytes;
    /* sizeof the per-timer struct, wherever it lives; NULL: measured only. */
    size_t (*struct_size)(void);
    const char *struct_note;
} cost_impl;

extern const cost_impl impl_stortimer_api;
extern const cost_impl impl_stortimer_engine;
extern const cost_impl impl_libuv;
extern const cost_impl impl_libevent;
extern const cost_impl impl_timerfd;

/* Every implementation, in table order. */
extern const cost_impl *const cost_impls[];
extern const size_t cost_impl_count;

enum cost_op { OP_ARM, OP_CANCEL, OP_REARM, OP_EXPIRY, OP_COUNT };
extern const char *const cost_op_names[OP_COUNT];

#define COST_MAX_NS 3    /* 1e3, 1e5, 1e6 */
#define COST_MAX_IMPLS 8 /* room in the result tables; cost_impl_count fits */

/* Medians of the cost part, NaN where not measured. */
typedef struct cost_results {
    size_t ns[COST_MAX_NS];
    size_t n_count;
    double ns_per_op[COST_MAX_IMPLS][COST_MAX_NS][OP_COUNT]; /* [impl][N index][op] */
} cost_results;

/* Memory part, per implementation. */
typedef struct memory_result {
    bool measured;
    size_t caller_bytes;       /* sizeof what the caller keeps per timer */
    size_t struct_bytes;       /* sizeof the per-timer struct; 0: unknown */
    double heap_init;          /* library heap growth per initialized timer */
    double rss_init;           /* resident growth per initialized timer */
    double heap_armed;         /* further heap growth per armed timer */
} memory_result;

int cost_steps(const bench_opts *opts);
bool run_cost(const bench_opts *opts, cost_results *out);

int memory_steps(const bench_opts *opts);
bool run_memory(const bench_opts *opts, memory_result out[]);

/* Index of an implementation in cost_impls, by pointer. */
size_t cost_impl_index(const cost_impl *impl);

#endif /* STORTIMER_BENCH_COST_H */
