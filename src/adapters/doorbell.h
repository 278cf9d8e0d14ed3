/*
 * doorbell.h - how an arm wakes the thread that runs its adapter's timers
 * on the real clock, without a lock: a futex word and the time that thread
 * plans to wake at.
 *
 * The sleeper (time/dispatcher.c) reads the word, looks at the wheels,
 * plans its wake time and sleeps on the word. An arm that must fire before
 * the planned time swaps its own time in and wakes it; an arm made while it
 * is awake bumps the word, so that its next sleep returns at once and it
 * looks at the wheels again. A hand-over from above DISPATCH_LEVEL always
 * rings: the sleeper must apply it.
 */
#ifndef STORTIMER_ADAPTERS_DOORBELL_H
#define STORTIMER_ADAPTERS_DOORBELL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct st_doorbell {
    _Atomic uint32_t word;           /* bumped to wake the sleeper */
    _Atomic uint64_t planned;        /* when it means to wake; 0 while awake */
    _Atomic bool listening;          /* a sleeper runs this adapter */
    /* The sleeper waits for the StartIo lock another thread holds: its
     * release rings (S14.9: the sleeper does not block on the lock). */
    _Atomic bool startio_wanted;
} st_doorbell;

/* A sleeper starts or stops listening (an adapter's creation and removal). */
void st_doorbell_open(st_doorbell *d);
void st_doorbell_close(st_doorbell *d);

/* After an arm that fires at `at` is queued (its shard lock let go: the
 * sleeper takes no shard lock while it plans, and a ring may be a system
 * call): wakes the sleeper if it must now wake earlier, or makes it look
 * again if it is awake. */
void st_doorbell_note_arm(st_doorbell *d, uint64_t at);

/* Wakes the sleeper whatever it planned. Async-signal-safe. */
void st_doorbell_ring(st_doorbell *d);

/* The sleeper wants (or no longer wants) the StartIo lock; a StartIo
 * lock's release rings while it does. */
static inline void st_doorbell_want_startio(st_doorbell *d, bool wanted)
{
    atomic_store(&d->startio_wanted, wanted);
}

static inline void st_doorbell_note_startio_release(st_doorbell *d)
{
    if (atomic_load_explicit(&d->startio_wanted, memory_order_relaxed))
        st_doorbell_ring(d);
}

/* The sleeper: reads the word before it looks at the wheels, plans its wake
 * time (adapter lock held), then sleeps until then or until rung after the
 * read; awake again, it says so. The sleep answers false when it returned
 * without sleeping (rung or bumped after the read): not a wake-up. */
uint32_t st_doorbell_read(st_doorbell *d);
void st_doorbell_plan(st_doorbell *d, uint64_t wake_us);
bool st_doorbell_sleep(st_doorbell *d, uint32_t read, uint64_t wake_us);

#endif
