/*
 * miniport_trace.h - the example miniports' debug trace.
 *
 * In a WDK build this would be WPP tracing or StorPortDebugPrint. Here it
 * is one hook: silent until the host installs a sink (the demo prints its
 * timeline through one; the tests leave it silent and read the library's
 * event log instead).
 */
#ifndef STORTIMER_EXAMPLE_MINIPORT_TRACE_H
#define STORTIMER_EXAMPLE_MINIPORT_TRACE_H

#include <stdarg.h>

#include "storport.h"

/* Receives one trace line: a short source label ("port", "reinit") and text. */
typedef VOID MINIPORT_TRACE_SINK(const char *Source, const char *Format, va_list Arguments);

/* The installed sink, or NULL (the default): set it before any adapter starts. */
extern MINIPORT_TRACE_SINK *MiniportTraceSink;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
/* Traces one line through the sink, if any. Callable at any IRQL. */
VOID MiniportTrace(const char *Source, const char *Format, ...);

#endif
