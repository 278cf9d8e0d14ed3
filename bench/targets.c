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

static void cost_targets(const run_results *r)
{
    size_t last = r->cost.n_count - 1;
    char label[32];
    const char *n = n_label(r->cost.ns[last], label);
    printf("  (cost targets at N = %s%s)\n", n,
           r->cost.ns[last] < 1000000 ? ", the largest N of this quick run" : "");

    double api = cost_at(r, &impl_stortimer_api, last, OP_REARM);
    double uv = cost_at(r, &impl_libuv, last, OP_REARM);
    double ev = cost_at(r, &impl_libevent, last, OP_REARM);
    verdict("re-arm pair <= 1/5 of libuv's stop+start", api * 5 <= uv,
            "%.0f ns vs libuv %.0f ns (%.2fx of it)", api, uv, api / uv);
    verdict("re-arm pair < libevent's del+add", api < ev, "%.0f ns vs libevent %.0f ns", api,
            ev);

    double small = cost_at(r, &impl_stortimer_api, 0, OP_REARM);
    verdict("re-arm cost at largest N <= 2x cost at 1e3", api <= 2 * small,
            "%.2fx (%.0f ns vs %.0f ns at 1e3)", api / small, api, small);

    double api_exp = cost_at(r, &impl_stortimer_api, last, OP_EXPIRY);
    double uv_exp = cost_at(r, &impl_libuv, last, OP_EXPIRY);
    verdict("expiry >= 5x libuv's callbacks per second", uv_exp >= 5 * api_exp,
            "%.2fx (%.0f ns per callback vs libuv %.0f ns)", uv_exp / api_exp, api_exp, uv_exp);
}

void print_targets(const run_results *r)
{
    printf("\n== Targets (ratios from this run) ==\n");
    if (r->have_cost)
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
    if (r->have_scaling && r->scaling.measured)
        verdict("two arming threads >= 1.6x one thread", r->scaling.ratio >= 1.6,
                "%.2fx (%.0f vs %.0f pairs/s)", r->scaling.ratio, r->scaling.pairs_per_s[1],
                r->scaling.pairs_per_s[0]);
}
