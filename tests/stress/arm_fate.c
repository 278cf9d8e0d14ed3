/*
 * arm_fate.c - what becomes of one arm: new records, the outstanding gauge
 * (successful arms still awaited), certain and possible kills, the checks
 * every callback start gets, lost arms, and waiting for the gauge to drain.
 */
#include "stress.h"

#include <inttypes.h>
#include <stdio.h>

static _Atomic uint64_t arm_tokens;

/* A record for an arm about to be made; NULL once the run's record space is full. */
arm_record *new_arm(incarnation *inc, timer_record *timer, uint64_t value_us,
                    uint64_t window_us)
{
    arm_record *arm = arena_take(&run.arms);
    if (!arm)
        return NULL;
    arm->token = atomic_fetch_add(&arm_tokens, 1) + 1;
    arm->inc = inc;
    arm->timer = timer;
    arm->value_us = value_us;
    arm->window_us = window_us;
    return arm;
}

/* The arm, for a message. */
void describe_arm(const arm_record *arm, char *text, size_t size)
{
    if (arm->timer)
        snprintf(text, size, "arm #%" PRIu64 " of timer #%" PRIu64 " (adapter %d.%u, %s, "
                 "%" PRIu64 " us, window %" PRIu64 " us, tickets %" PRIu64 "..%" PRIu64 ")",
                 arm->token, arm->timer->id, arm->inc->slot, arm->inc->number,
                 arm->armed_how, arm->value_us, arm->window_us, arm->call_ticket,
                 arm->return_ticket);
    else
        snprintf(text, size, "legacy arm #%" PRIu64 " (adapter %d.%u, %s, %" PRIu64 " us, "
                 "tickets %" PRIu64 "..%" PRIu64 ")", arm->token, arm->inc->slot,
                 arm->inc->number, arm->armed_how, arm->value_us, arm->call_ticket,
                 arm->return_ticket);
}

/* ---- The outstanding gauge and an arm's fate (lock of the arm held) ---- */

/* A successful arm starts being awaited: it must fire unless something cancels it. */
void start_counting(arm_record *arm)
{
    if (arm->fired || arm->dead || arm->maybe_killed)
        return;
    arm->outstanding = true;
    atomic_fetch_add(&run.outstanding, 1);
    atomic_fetch_add(&arm->inc->outstanding, 1);
}

static void stop_counting(arm_record *arm)
{
    if (arm->outstanding) {
        arm->outstanding = false;
        atomic_fetch_sub(&run.outstanding, 1);
        atomic_fetch_sub(&arm->inc->outstanding, 1);
    }
}

/* A successful arm, in the run's and its adapter's tallies. */
void count_successful_arm(incarnation *inc, bool above_dispatch)
{
    tally(&run.count.arms);
    tally(&inc->arms);
    if (above_dispatch) {
        tally(&run.count.handed_over);
        tally(&inc->handed_over);
    }
}

/* Certainly over: a start after `flush` is a `kind` violation. */
void mark_dead(arm_record *arm, uint64_t end, uint64_t flush, violation_kind kind,
               const char *why)
{
    if (arm->fired || arm->dead)
        return;
    arm->dead = true;
    arm->dead_end = end;
    arm->dead_flush = flush;
    arm->dead_kind = kind;
    arm->killed_by = why;
    stop_counting(arm);
}

void mark_maybe_killed(arm_record *arm)
{
    if (arm->fired || arm->dead)
        return;
    arm->maybe_killed = true;
    stop_counting(arm);
}

/* A callback started for `arm`: the checks every start gets. Lock held. */
void record_fire(arm_record *arm, uint64_t fire_time, uint64_t fire_ticket)
{
    char what[320];
    describe_arm(arm, what, sizeof what);
    if (++arm->fired > 1) {
        violation(DUPLICATED, "%s: callback started %u times", what, arm->fired);
        return;
    }
    arm->fire_ticket = fire_ticket;
    arm->fire_time = fire_time;
    if (arm->returned && arm->status != STOR_STATUS_SUCCESS)
        violation(BAD_CALLBACK, "%s: callback ran although the arm answered %s", what,
                  status_name(arm->status));
    if (arm->dead && fire_ticket > arm->dead_flush)
        violation(arm->dead_kind, "%s: callback started at ticket %" PRIu64 ", after %s "
                  "returned at ticket %" PRIu64, what, fire_ticket, arm->killed_by,
                  arm->dead_end);
    uint64_t due = arm->call_time + time_of_us(arm->value_us);
    if (fire_time < due)
        violation(EARLY, "%s: called at %" PRIu64 " %s, started at %" PRIu64 " %s: %" PRIu64
                  " %s early (S5.4.1)", what, arm->call_time, time_unit(), fire_time,
                  time_unit(), due - fire_time, time_unit());
    stop_counting(arm);
}

void report_lost_arm(arm_record *arm)
{
    char what[320];
    describe_arm(arm, what, sizeof what);
    violation(LOST, "%s returned SUCCESS and never fired; no cancel, free or removal came "
              "after it", what);
    stop_counting(arm);
}

/* ---- Waiting for the awaited arms ---- */

/* At the end, how long to wait for due callbacks while none runs at all. */
static const uint64_t settle_idle_limit_ns = 5 * NS_PER_S;

/*
 * Waits until the arms counted by `gauge` have fired (nothing new is armed
 * meanwhile); false if callbacks counted by `callbacks` stopped coming for
 * settle_idle_limit_ns while some were still awaited. Time moves by itself
 * (the real clock, or the advancer), or by `advance` at the end of a run.
 */
bool await_outstanding(_Atomic int64_t *gauge, _Atomic uint64_t *callbacks,
                       stortimer_clock *advance)
{
    uint64_t seen = atomic_load(callbacks), idle_since = monotonic_ns();
    for (unsigned step = 0; atomic_load(gauge) > 0; step++) {
        if (advance) {
            if (step == 100000)
                return false; /* 100 s of virtual time */
            stortimer_clock_advance(advance, 1000);
            continue;
        }
        sleep_ns(200000);
        uint64_t now_seen = atomic_load(callbacks);
        if (now_seen != seen) {
            seen = now_seen;
            idle_since = monotonic_ns();
        } else if (monotonic_ns() - idle_since > settle_idle_limit_ns) {
            return false;
        }
    }
    return true;
}
