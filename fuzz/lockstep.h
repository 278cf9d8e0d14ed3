/*
 * lockstep.h - runs one program against the library and against the
 * reference model, step by step, and stops the process at the first
 * difference in a status, a callback (which, with what, when, at what
 * IRQL), a report, an IRQL, a clock or a statistic.
 */
#ifndef STORTIMER_FUZZ_LOCKSTEP_H
#define STORTIMER_FUZZ_LOCKSTEP_H

#include <stddef.h>
#include <stdint.h>

/* What has been run so far in this process. */
typedef struct lockstep_totals {
    uint64_t inputs;
    uint64_t calls;          /* library routines called */
    uint64_t error_answers;  /* calls answered with an error status (bad input) */
    uint64_t reports;        /* misuse reports */
    uint64_t callbacks;      /* callbacks run */
    uint64_t divergences;    /* always 0: the first one aborts */
} lockstep_totals;

/* Once per process, before the first input. */
void lockstep_init(void);

/* Runs one input on both; aborts with a description on a divergence. */
void lockstep_run(const uint8_t *data, size_t size);

const lockstep_totals *lockstep_totals_get(void);

/* "fuzz: N inputs, N API calls, ..." on one line. */
void lockstep_print_totals(const char *who);

#endif
