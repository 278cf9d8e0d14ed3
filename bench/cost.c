/*
 * cost.c - the data-structure cost part: ns per arm, cancel, random re-arm
 * and expiry with N timers live, the median of REPS repetitions.
 *
 * arm and cancel are timed on a batch of extra timers (a tenth of N, at most
 * 10,000) armed and then cancelled in random order while the N stay armed,
 * so every operation sees about N live timers. A re-arm cancels a random
 * live timer and arms it again with a new random timeout (the storage I/O
 * pattern: a command completes, its timeout timer is re-armed for the
 * next). Inputs are drawn before the clock starts.
 */
#include "cost.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define REPS 5
#define TIMEOUT_MIN_US 1
#define TIMEOUT_MAX_US 1000000

const cost_impl *const cost_impls[] = {
    &impl_stortimer_api, &impl_stortimer_engine, &impl_libuv, &impl_libevent, &impl_timerfd,
};
const size_t cost_impl_count = sizeof cost_impls / sizeof cost_impls[0];

const char *const cost_op_names[OP_COUNT] = {"arm", "cancel", "rearm", "expiry"};

size_t cost_impl_index(const cost_impl *impl)
{
    for (size_t i = 0; i < cost_impl_count; i++)
        if (cost_impls[i] == impl)
            return i;
    return 0;
}

static size_t sizes(const bench_opts *opts, size_t ns[COST_MAX_NS])
{
    ns[0] = 1000;
    ns[1] = 100000;
    ns[2] = 1000000;
    return opts->quick ? 2 : 3;
}

static bool applies(const bench_opts *opts, const cost_impl *impl, size_t n)
{
    if (opts->impl && strncmp(impl->name, opts->impl, strlen(opts->impl)) != 0)
        return false;
    return impl->max_n == 0 || n <= impl->max_n;
}

int cost_steps(const bench_opts *opts)
{
    size_t ns[COST_MAX_NS], count = sizes(opts, ns);
    int steps = 0;
    for (size_t i = 0; i < cost_impl_count; i++)
        for (size_t k = 0; k < count; k++)
            steps += applies(opts, cost_impls[i], ns[k]);
    return steps;
}

static void shuffle(size_t *perm, size_t n, prng *r)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(prng_next(r) % i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

typedef struct scratch {
    uint64_t *timeout;
    size_t *index;
} scratch;

static void measure_arm_cancel(const cost_impl *impl, void *s, size_t n, size_t ops, prng *r,
                               scratch *x, double *arm, double *cancel)
{
    size_t batch = n / 10 > 10000 ? 10000 : (n / 10 ? n / 10 : 1);
    size_t cycles = (ops + batch - 1) / batch;
    uint64_t arm_ns = 0, cancel_ns = 0;
    for (size_t c = 0; c < cycles; c++) {
        for (size_t j = 0; j < batch; j++)
            x->timeout[j] = prng_range(r, TIMEOUT_MIN_US, TIMEOUT_MAX_US);
        shuffle(x->index, batch, r);
        uint64_t t0 = now_ns();
        for (size_t j = 0; j < batch; j++)
            impl->arm(s, n + j, x->timeout[j]);
        uint64_t t1 = now_ns();
        for (size_t j = 0; j < batch; j++)
            impl->cancel(s, n + x->index[j]);
        uint64_t t2 = now_ns();
        arm_ns += t1 - t0;
        cancel_ns += t2 - t1;
    }
    *arm = (double)arm_ns / (double)(cycles * batch);
    *cancel = (double)cancel_ns / (double)(cycles * batch);
}

static double measure_rearm(const cost_impl *impl, void *s, size_t n, size_t ops, prng *r,
                            scratch *x)
{
    for (size_t k = 0; k < ops; k++) {
        x->index[k] = (size_t)(prng_next(r) % n);
        x->timeout[k] = prng_range(r, TIMEOUT_MIN_US, TIMEOUT_MAX_US);
    }
    uint64_t t0 = now_ns();
    for (size_t k = 0; k < ops; k++) {
        impl->cancel(s, x->index[k]);
        impl->arm(s, x->index[k], x->timeout[k]);
    }
    return (double)(now_ns() - t0) / (double)ops;
}

/* Re-arms all N for expiry (untimed), then times firing them all. */
static double measure_expiry(const cost_impl *impl, void *s, size_t n, prng *r, bool *ok)
{
    for (size_t i = 0; i < n; i++)
        impl->cancel(s, i);
    for (size_t i = 0; i < n; i++)
        impl->arm(s, i, prng_range(r, impl->expiry_min_us, impl->expiry_max_us));
    if (impl->before_expire)
        impl->before_expire(s);
    uint64_t t0 = now_ns();
    uint64_t fired = impl->expire(s, n);
    double ns = (double)(now_ns() - t0) / (double)n;
    if (fired != n) {
        fprintf(stderr, "stortimer-bench: %s fired %llu of %zu timers\n", impl->name,
                (unsigned long long)fired, n);
        *ok = false;
    }
    return ns;
}

static bool measure(const cost_impl *impl, size_t n, size_t ops, double out[OP_COUNT])
{
    prng r = {.state = 0x5eed0000u + n}; /* the same inputs for every implementation */
    size_t batch = n / 10 > 10000 ? 10000 : (n / 10 ? n / 10 : 1);
    scratch x = {
        .timeout = malloc((ops > batch ? ops : batch) * sizeof *x.timeout),
        .index = malloc((ops > batch ? ops : batch) * sizeof *x.index),
    };
    bool ok = x.timeout && x.index;
    void *s = ok ? impl->create(n + batch) : NULL;
    if (s) {
        progress_phase("initializing");
        impl->init_timers(s);
        progress_phase("arming");
        for (size_t i = 0; i < n; i++)
            impl->arm(s, i, prng_range(&r, TIMEOUT_MIN_US, TIMEOUT_MAX_US));

        double arm[REPS], cancel[REPS], rearm[REPS], expiry[REPS];
        progress_phase("arm and cancel");
        for (int rep = 0; rep < REPS; rep++)
            measure_arm_cancel(impl, s, n, ops, &r, &x, &arm[rep], &cancel[rep]);
        progress_phase("random re-arm");
        for (int rep = 0; rep < REPS; rep++)
            rearm[rep] = measure_rearm(impl, s, n, ops, &r, &x);
        progress_phase("expiry");
        for (int rep = 0; rep < REPS; rep++)
            expiry[rep] = measure_expiry(impl, s, n, &r, &ok);
        out[OP_ARM] = median_of(arm, REPS);
        out[OP_CANCEL] = median_of(cancel, REPS);
        out[OP_REARM] = median_of(rearm, REPS);
        out[OP_EXPIRY] = median_of(expiry, REPS);

        uint64_t errors = impl->errors(s);
        if (errors) {
            fprintf(stderr, "stortimer-bench: %s: %llu calls failed\n", impl->name,
                    (unsigned long long)errors);
            ok = false;
        }
        progress_phase("cleaning up");
        impl->destroy(s);
    }
    free(x.timeout);
    free(x.index);
    return ok;
}

static void print_table(const cost_results *res)
{
    printf("\n== Cost per operation, ns (median of %d; random timeouts in [1 us, 1 s]) ==\n",
           REPS);
    printf("%-18s %5s %10s %10s %10s %10s\n", "implementation", "N", "arm", "cancel",
           "re-arm", "expiry");
    for (size_t k = 0; k < res->n_count; k++) {
        for (size_t i = 0; i < cost_impl_count; i++) {
            const double *v = res->ns_per_op[i][k];
            if (isnan(v[OP_ARM]))
                continue;
            char label[32];
            printf("%-18s %5s %10.1f %10.1f %10.1f %10.1f\n", cost_impls[i]->name,
                   n_label(res->ns[k], label), v[OP_ARM], v[OP_CANCEL], v[OP_REARM],
                   v[OP_EXPIRY]);
        }
    }
    printf("arm, cancel: a batch of extra timers (N/10, at most 1e4), mostly in cache.\n"
           "re-arm = cancel + arm of a random live timer. expiry = time to fire all N / N:\n"
           "stortimer on a virtual clock advanced 2 s; libuv, libevent and timerfd on\n"
           "timers of 0-3 ms already due, one loop pass (timerfd: epoll_wait + read).\n"
           "libuv counts in ms: a timeout of t us is started as t/1000 + 1 ms.\n");
}

static bool write_csv(const bench_opts *opts, const cost_results *res)
{
    FILE *f = csv_open(opts, "cost.csv", "impl,N,op,ns_per_op");
    if (!f)
        return false;
    for (size_t i = 0; i < cost_impl_count; i++)
        for (size_t k = 0; k < res->n_count; k++)
            for (int op = 0; op < OP_COUNT; op++)
                if (!isnan(res->ns_per_op[i][k][op]))
                    fprintf(f, "%s,%zu,%s,%.2f\n", cost_impls[i]->name, res->ns[k],
                            cost_op_names[op], res->ns_per_op[i][k][op]);
    return csv_close(f, "cost.csv");
}

static void *nothing(void *arg)
{
    return arg;
}

/*
 * A process that hosts a miniport has threads (a real-clock adapter's
 * dispatcher, the host's own). glibc's mutexes let go with a plain store
 * only in a process that never had a second thread, and a locked exchange
 * once it has had one: so the cost part runs after starting (and joining)
 * one, whichever part ran before it.
 */
static void become_multithreaded(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) == 0)
        pthread_join(t, NULL);
}

bool run_cost(const bench_opts *opts, cost_results *res)
{
    become_multithreaded();
    res->n_count = sizes(opts, res->ns);
    for (size_t i = 0; i < COST_MAX_IMPLS; i++)
        for (size_t k = 0; k < COST_MAX_NS; k++)
            for (int op = 0; op < OP_COUNT; op++)
                res->ns_per_op[i][k][op] = NAN;
    size_t ops = opts->quick ? 20000 : 100000;
    bool ok = true;
    for (size_t k = 0; k < res->n_count; k++) {
        for (size_t i = 0; i < cost_impl_count; i++) {
            const cost_impl *impl = cost_impls[i];
            if (!applies(opts, impl, res->ns[k]))
                continue;
            char label[32];
            progress_step("%s %s", impl->name, n_label(res->ns[k], label));
            ok = measure(impl, res->ns[k], ops, res->ns_per_op[i][k]) && ok;
        }
    }
    print_table(res);
    return write_csv(opts, res) && ok;
}
