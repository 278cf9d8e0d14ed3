/*
 * timer_arms.c - an extended timer's list of arms (its stripe lock held):
 * linking, pruning and ending them, and the S5.3 judgements made from it
 * (BUSY only when an arm may have been pending, SUCCESS never when one
 * certainly was).
 */
#include "stress.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

void link_arm(timer_record *t, arm_record *arm)
{
    arm->older = t->newest;
    if (t->newest)
        t->newest->newer = arm;
    t->newest = arm;
}

void unlink_arm(timer_record *t, arm_record *arm)
{
    if (arm->newer)
        arm->newer->older = arm->older;
    else
        t->newest = arm->older;
    if (arm->older)
        arm->older->newer = arm->newer;
    arm->older = arm->newer = NULL;
}

bool timer_freed(const timer_record *t)
{
    return atomic_load(&t->freed_ticket) != 0;
}

/* Every arm of the timer is over: nothing of it may start after `end`. */
void end_every_arm(timer_record *t, uint64_t end, const char *why)
{
    pthread_mutex_lock(lock_of_timer(t));
    for (arm_record *b = t->newest; b; b = b->older)
        mark_dead(b, end, end, AFTER_FREE, why);
    pthread_mutex_unlock(lock_of_timer(t));
}

/* Appends to a message being built in text[size]; *used never passes size - 1. */
__attribute__((format(printf, 4, 5)))
static void append(char *text, size_t size, size_t *used, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = vsnprintf(text + *used, size - *used, format, args);
    va_end(args);
    if (n > 0)
        *used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

/* The timer's six newest arms (stripe lock held), for a message. */
void describe_history(const timer_record *t, char *text, size_t size)
{
    size_t used = 0;
    text[0] = 0;
    int shown = 0;
    for (const arm_record *b = t->newest; b && shown < 6; b = b->older, shown++) {
        append(text, size, &used, "%s#%" PRIu64 " called at %" PRIu64, shown ? "; " : "",
               b->token, b->call_ticket);
        if (b->returned)
            append(text, size, &used, ", %s at %" PRIu64, status_name(b->status),
                   b->return_ticket);
        if (b->fired)
            append(text, size, &used, ", fired at %" PRIu64, b->fire_ticket);
        if (b->dead)
            append(text, size, &used, ", ended by %s at %" PRIu64, b->killed_by, b->dead_end);
        if (b->maybe_killed)
            append(text, size, &used, ", maybe cancelled");
    }
}

/* Whether arm b may have been pending at some time after ticket `since`. */
static bool may_be_pending_after(const arm_record *b, uint64_t since)
{
    if (!b->returned)
        return true;
    bool started_before = b->fired && b->fire_ticket < since;
    bool cancelled_before = b->dead && b->dead_end < since;
    return !started_before && !cancelled_before;
}

/*
 * S5.3: BUSY means an arm was pending during the call: one called before this
 * one returned that may still have been pending after it was called. Calls
 * overlap (the owner and the timer's callback), so an arm called earlier may
 * take effect later: the whole list is looked at (it is kept short, see
 * prune_settled_arms).
 */
bool busy_is_explained(const timer_record *t, const arm_record *arm)
{
    for (const arm_record *b = t->newest; b; b = b->older)
        if (b != arm && b->call_ticket < arm->return_ticket &&
            may_be_pending_after(b, arm->call_ticket))
            return true;
    return false;
}

/*
 * Drops from the timer's list the arms that can no longer matter: returned,
 * and started or certainly cancelled before every arm call still under way on
 * the timer was made (no BUSY they could explain can still come). Not while a
 * cancel or free of the timer is under way: it will look at them.
 */
void prune_settled_arms(timer_record *t)
{
    if (t->kills_in_flight)
        return;
    uint64_t oldest_call = UINT64_MAX;
    for (arm_record *b = t->newest; b; b = b->older)
        if (!b->returned && b->call_ticket < oldest_call)
            oldest_call = b->call_ticket;
    for (arm_record *b = t->newest, *older; b; b = older) {
        older = b->older;
        bool started = b->fired && b->fire_ticket < oldest_call;
        bool cancelled = b->dead && b->dead_end < oldest_call;
        if (b->returned && (started || cancelled))
            unlink_arm(t, b);
    }
}

/*
 * S5.3 the other way: a SUCCESS while an arm was certainly pending: one that
 * returned SUCCESS before this call and has neither started nor met a cancel.
 * Certain only where no callback of the adapter can start meanwhile (this
 * thread holds its StartIo lock or runs one of its callbacks) and no cancel
 * or free of the timer is under way.
 */
void check_not_pending_before(const timer_record *t, const arm_record *arm)
{
    if (exclusive_inc != t->inc || t->kills_in_flight)
        return;
    for (const arm_record *b = t->newest; b; b = b->older) {
        if (b == arm || !b->returned || b->return_ticket > arm->call_ticket)
            continue;
        if (!b->fired && !b->dead && !b->maybe_killed) {
            char what[320], pending[320];
            describe_arm(arm, what, sizeof what);
            describe_arm(b, pending, sizeof pending);
            violation(WRONG_BUSY, "%s returned SUCCESS although %s was still pending "
                      "(expected BUSY, S5.3)", what, pending);
        }
    }
}
