/*
 * timeline.c - a preallocated, mutex-protected event log.
 *
 * The time stamp is read while holding the mutex, so the order of the log is
 * the order of the stamps even when the host thread and a dispatcher thread
 * record at the same moment: the printed times never go backwards.
 */
#define _POSIX_C_SOURCE 200809L
#include "timeline.h"

#include "stortimer.h"

#include <pthread.h>
#include <stdarg.h>

#define TIMELINE_CAPACITY 2048
#define TIMELINE_TEXT 160

typedef struct timeline_event {
    ULONGLONG at_us;              /* since time zero */
    char source[10];
    char text[TIMELINE_TEXT];
} timeline_event;

static struct {
    pthread_mutex_t lock;
    stortimer_clock *clock;
    ULONGLONG origin_us;
    unsigned count, printed, dropped;
    timeline_event events[TIMELINE_CAPACITY];
} log_state = {.lock = PTHREAD_MUTEX_INITIALIZER};

void timeline_start(stortimer_clock *clock)
{
    pthread_mutex_lock(&log_state.lock);
    log_state.clock = clock;
    log_state.origin_us = stortimer_clock_now(clock);
    log_state.count = log_state.printed = log_state.dropped = 0;
    pthread_mutex_unlock(&log_state.lock);
}

ULONGLONG timeline_origin_us(void)
{
    return log_state.origin_us;
}

ULONGLONG timeline_elapsed_us(void)
{
    return stortimer_clock_now(log_state.clock) - log_state.origin_us;
}

void timeline_vlog(const char *source, const char *format, va_list args)
{
    pthread_mutex_lock(&log_state.lock);
    if (log_state.count == TIMELINE_CAPACITY) {
        log_state.dropped++;
        pthread_mutex_unlock(&log_state.lock);
        return;
    }
    timeline_event *e = &log_state.events[log_state.count++];
    e->at_us = timeline_elapsed_us();
    snprintf(e->source, sizeof e->source, "%s", source);
    vsnprintf(e->text, sizeof e->text, format, args);
    pthread_mutex_unlock(&log_state.lock);
}

void timeline_log(const char *source, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    timeline_vlog(source, format, args);
    va_end(args);
}

void timeline_flush(FILE *out, bool print)
{
    pthread_mutex_lock(&log_state.lock);
    unsigned first = log_state.printed, last = log_state.count;
    log_state.printed = last;
    pthread_mutex_unlock(&log_state.lock);

    /* Entries below `last` are complete and never rewritten: print unlocked. */
    for (unsigned i = first; print && i < last; i++) {
        const timeline_event *e = &log_state.events[i];
        fprintf(out, "%10.3f ms  %-8s %s\n", (double)e->at_us / 1000.0, e->source, e->text);
    }
    if (print)
        fflush(out);
}

unsigned timeline_dropped(void)
{
    pthread_mutex_lock(&log_state.lock);
    unsigned dropped = log_state.dropped;
    pthread_mutex_unlock(&log_state.lock);
    return dropped;
}
