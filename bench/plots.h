/* plots.h - the two SVG plots of a run. */
#ifndef STORTIMER_BENCH_PLOTS_H
#define STORTIMER_BENCH_PLOTS_H

#include "cost.h"
#include "realtime.h"

/* cost_vs_n.svg: ns per random re-arm against N, one line per implementation. */
bool plot_cost_vs_n(const bench_opts *opts, const cost_results *res);

/* lateness.svg: the lateness distributions of stortimer and the floor. */
bool plot_lateness(const bench_opts *opts, const lateness_results *res);

#endif /* STORTIMER_BENCH_PLOTS_H */
