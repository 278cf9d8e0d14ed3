/*
 * thread_state.h - what the library knows about the calling thread: its
 * emulated IRQL, the callback it is running, the clock it is bound to.
 *
 * Kept in initial-exec TLS so that a signal handler standing in for an
 * interrupt (SPEC S5.7) can read it without calling into the loader. The
 * layers above keep their own objects here by pointer; this file never
 * looks inside them.
 */
#ifndef STORTIMER_PLATFORM_THREAD_STATE_H
#define STORTIMER_PLATFORM_THREAD_STATE_H

#include "stortimer.h"

struct st_adapter;
struct st_timer;
struct st_dpc;

/* DpcLocks of single DPCs one thread may hold at once (S14.12). */
#define ST_HELD_DPC_LOCKS 8

typedef struct st_thread_state {
    KIRQL irql;
    struct st_adapter *callback_adapter; /* adapter whose callback runs here */
    struct st_timer *callback_timer;     /* and which of its timers */
    stortimer_clock *bound_clock;        /* StallExecution moves this one */
    stortimer_clock *advancing;          /* virtual clock this thread advances */
    struct st_dpc *dpc;                  /* the DPC whose routine runs here */
    /* The DPCs whose own DpcLock this thread holds (S14.12), innermost last. */
    struct st_dpc *held_dpc_locks[ST_HELD_DPC_LOCKS];
    unsigned held_dpc_count;
} st_thread_state;

#if defined(__GNUC__)
#define ST_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define ST_TLS_MODEL
#endif

extern _Thread_local st_thread_state st_self ST_TLS_MODEL;

/* A token unique to each live thread: used as a lock owner. */
static inline const void *st_thread_token(void) { return &st_self; }

#endif
