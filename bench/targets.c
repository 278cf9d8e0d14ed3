/*
 * targets.c - each target as a ratio from this run, with its verdict. A
 * missed target is reported, not an error: the figures are the result.
 */
#include "targets.h"

#include <math.h>
#include <stdarg.h>

static void verdict(const char *target, bool met, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verdict(const char *target, bool met, const char *fmt, ...)
{
    char figure[200];
    va_list args;
    va_start(args, fmt);
    vsnprintf(figure, sizeof figure, fmt, args);
    va_end(args);
    printf("  %-6s %-50s %s\n", met ? "met" : "MISSED", target, figure);
}

/* The cost of an operation at the k-th N, NaN when not measured. */
static double cost_at(const run_results *r, const cost_impl *impl, size_t k, int op)
{
    return r->cost.ns_per_op[cost_impl_index(impl)][k][op];
}

/* An API figure against the bare engine's, measured in the same run. */
static void versus_engine(const run_results *r, size_t k, int op, double most,
                          const char *target)
{
    double api = cost_at(r, &impl_stortimer_api, k, op);
    double engine = cost_at(r, &impl_stortimer_engine, k, op);
    verdict(target, api <= most * engine, "%.2fx (%.1f ns vs engine %.1f ns)", api / engine, api,
            engine);
}

static void cost_targets(const run_results *r)
{
    size_t last = r->cost.n_count - 1;
    char label[32];
    const char *n = n_label(r->cost.ns[last], label);
    printf("  (cost targets at N = 1e3 and N = %s%s)\n", n,
           r->cost.ns[last] < 1000000 ? ", the largest N of this quick run" : "");

    versus_engine(r, last, OP_REARM, 2.5, "re-arm at the largest N <= 2.5x the engine's");
    double api = cost_at(r, &impl_stortimer_api, last, OP_REARM);
    double uv = cost_at(r, &impl_libuv, last, OP_REARM);
    double ev = cost_at(r, &impl_libevent, last, OP_REARM);
    verdict("... and <= 0.4x libuv's stop+start", api <= 0.4 * uv,
            "%.2fx (%.0f ns vs libuv %.0f ns)", api / uv, api, uv);
    verdict("re-arm pair < libevent's del+add", api < ev, "%.0f ns vs libevent %.0f ns", api,
            ev);

    versus_engine(r, 0, OP_ARM, 3, "arm at 1e3 <= 3x the engine's");
    versus_engine(r, 0, OP_CANCEL, 3, "cancel at 1e3 <= 3x the engine's");
    double small = cost_at(r, &impl_stortimer_api, 0, OP_REARM);
    double uv_small = cost_at(r, &impl_libuv, 0, OP_REARM);
    double ev_small = cost_at(r, &impl_libevent, 0, OP_REARM);
    verdict("re-arm at 1e3 below libuv's and libevent's", small < uv_small && small < ev_small,
            "%.1f ns vs libuv %.1f, libevent %.1f ns", small, uv_small, ev_small);

    versus_engine(r, last, OP_EXPIRY, 1.3, "expiry at the largest N <= 1.3x the engine's");
    double api_exp = cost_at(r, &impl_stortimer_api, last, OP_EXPIRY);
    double uv_exp = cost_at(r, &impl_libuv, last, OP_EXPIRY);
    verdict("... and >= 3.5x libuv's callbacks per second", uv_exp >= 3.5 * api_exp,
            "%.2fx (%.0f ns per callback vs libuv %.0f ns)", uv_exp / api_exp, api_exp, uv_exp);
}

void print_targets(const run_results *r)
{
    printf("\n== Targets (ratios from this run) ==\n");
    if (r->have_cost && !r->cost_filtered)
        cost_targets(r);
    if (r->have_memory) {
        const memory_result *m = &r->memory[cost_impl_index(&impl_stortimer_api)];
        double bytes = m->heap_init + m->heap_armed;
        verdict("<= 64 bytes per initialized timer", bytes <= 64,
                "%.1f bytes of library heap (+ %zu the caller keeps)", bytes, m->caller_bytes);
    }
    if (r->have_lateness) {
        const lateness_side *s = &r->lateness.stortimer, *f = &r->lateness.floor;
        verdict("lateness p50 within 10 us of the floor's p50", s->p50 - f->p50 <= 10,
                "%.1f us vs floor %.1f us (%+.1f us)", s->p50, f->p50, s->p50 - f->p50);
        verdict("lateness p99 <= 1.25x the floor's p99", s->p99 <= 1.25 * f->p99,
                "%.2fx (%.1f us vs floor %.1f us)", s->p99 / f->p99, s->p99, f->p99);
        verdict("zero early fires", s->early == 0, "%zu early (floor: %zu)", s->early, f->early);
    }
    if (r->have_dpc && r->dpc.measured) {
        const lateness_side *h = &r->dpc.host, *i = &r->dpc.interrupt, *c = &r->dpc.callback;
        verdict("DPC lateness p50 within 10 us of callbacks' p50", h->p50 - c->p50 <= 10,
                "%.1f us vs callbacks %.1f us (%+.1f us)", h->p50, c->p50, h->p50 - c->p50);
        verdict("... DPCs issued in an interrupt routine too", i->p50 - c->p50 <= 10,
                "%.1f us vs callbacks %.1f us (%+.1f us)", i->p50, c->p50, i->p50 - c->p50);
    }
    if (r->have_coalescing && r->coalescing.windowed.measured) {
        const coalescing_run *c = &r->coalescing.windowed;
        double per = c->fired ? (double)c->wakeups / (double)c->fired : INFINITY;
        verdict("coalescing: <= 1 wake-up per 10 callbacks", per <= 0.1,
                "%.3f per callback (%llu wake-ups, %zu callbacks)", per, c->wakeups, c->fired);
        verdict("coalescing: every callback inside its window",
                c->early + c->late == 0 && c->fired == c->timers,
                "%zu early, %zu late, %zu not fired", c->early, c->late, c->timers - c->fired);
    }
    if (r->have_scaling && r->scaling.measured) {
        verdict("two arming threads, two adapters >= 1.8x one", r->scaling.ratio >= 1.8,
                "%.2fx (median of runs; %.0f vs %.0f pairs/s)", r->scaling.ratio,
                r->scaling.pairs_per_s[1], r->scaling.pairs_per_s[0]);
        verdict("two arming threads, one adapter >= 1.5x one", r->scaling.one_adapter_ratio >= 1.5,
                "%.2fx (median of runs; %.0f vs %.0f pairs/s)", r->scaling.one_adapter_ratio,
                r->scaling.one_adapter_pairs_per_s, r->scaling.pairs_per_s[0]);
    }
}
