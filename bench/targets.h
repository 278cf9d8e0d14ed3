/* targets.h - the project's performance targets, checked against one run. */
#ifndef STORTIMER_BENCH_TARGETS_H
#define STORTIMER_BENCH_TARGETS_H

#include "cost.h"
#include "realtime.h"

typedef struct run_results {
    bool have_cost, have_memory, have_lateness, have_dpc, have_coalescing, have_scaling;
    bool cost_filtered;           /* --impl: some implementations not measured */
    cost_results cost;
    memory_result memory[COST_MAX_IMPLS];
    lateness_results lateness;
    dpc_results dpc;
    coalescing_results coalescing;
    scaling_results scaling;
} run_results;

/* Prints each target with its figure and "met" or "MISSED". */
void print_targets(const run_results *r);

#endif /* STORTIMER_BENCH_TARGETS_H */
