/*
 * timeline.h - the demo's event log.
 *
 * Anyone may record an event: the host thread, the simulated drive, and
 * the miniport (through its trace), whose timer callbacks in real-time mode
 * run on a stortimer dispatcher thread. Only the host thread prints, so output never interleaves
 * and a slow terminal never delays a callback.
 */
#ifndef STORTIMER_DEMO_TIMELINE_H
#define STORTIMER_DEMO_TIMELINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "storport.h"

/* The host's clock type (stortimer.h); miniport code never needs more of it. */
struct stortimer_clock;

/* Makes "now" time zero of the log. NULL clock: the real monotonic clock. */
void timeline_start(struct stortimer_clock *clock);

/* Microseconds since timeline_start, on the same clock. */
ULONGLONG timeline_elapsed_us(void);

/* The clock reading (absolute microseconds) of time zero. */
ULONGLONG timeline_origin_us(void);

/*
 * Records one event, stamped now. `source` is a short column label
 * ("port", "io", ...). Safe from any thread; never blocks for long and
 * never allocates: a full log counts the event as dropped instead.
 */
void timeline_log(const char *source, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* The same, with a va_list: the example miniports' trace sink (miniport_trace.h). */
void timeline_vlog(const char *source, const char *format, va_list args)
    __attribute__((format(printf, 2, 0)));

/* Prints (or, when !print, just consumes) the events recorded since the last call. */
void timeline_flush(FILE *out, bool print);

/* Events that did not fit in the log. */
unsigned timeline_dropped(void);

#endif
