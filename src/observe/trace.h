/*
 * trace.h - the trace export's start-up hook.
 *
 * With STORTIMER_TRACE=path in the environment, recording starts when the
 * library is loaded and the trace is written to that path at exit
 * (stortimer.h). A program linked with the static library gets trace.c only
 * if something refers to it: storport/host_adapter.c, the file of
 * stortimer_adapter_create, which every program that uses the library
 * calls, refers to st_trace_from_environment for that.
 */
#ifndef STORTIMER_OBSERVE_TRACE_H
#define STORTIMER_OBSERVE_TRACE_H

/* Reads STORTIMER_TRACE (run once, as a constructor). */
void st_trace_from_environment(void);

#endif
