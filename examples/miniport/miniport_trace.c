/*
 * miniport_trace.c - the trace hook of miniport_trace.h.
 */
#include "miniport_trace.h"

MINIPORT_TRACE_SINK *MiniportTraceSink;

VOID MiniportTrace(const char *Source, const char *Format, ...)
{
    MINIPORT_TRACE_SINK *sink = MiniportTraceSink;
    if (sink == NULL)
        return;
    va_list arguments;
    va_start(arguments, Format);
    sink(Source, Format, arguments);
    va_end(arguments);
}
