/* dispatcher.c - real-clock callback threads (SPEC S8, S11). */
#include "dispatcher.h"

#include "alloc.h"
#include "clock.h"
#include "event_log.h"

#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Past this, a wake time is "never" for the kernel as well. */
#define ST_FAR_FUTURE_US (UINT64_C(1) << 60)

static void futex_wait_until(_Atomic uint32_t *word, uint32_t expected, uint64_t wake_us)
{
    struct timespec deadline, *timeout = NULL;
    if (wake_us < ST_FAR_FUTURE_US) {
        deadline.tv_sec = (time_t)(wake_us / 1000000u);
        deadline.tv_nsec = (long)(wake_us % 1000000u) * 1000;
        timeout = &deadline;
    }
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
            expected, timeout, NULL, FUTEX_BITSET_MATCH_ANY);
}

void st_dispatcher_kick(st_adapter *a)
{
    atomic_fetch_add_explicit(&a->wake_word, 1, memory_order_release);
    syscall(SYS_futex, (uint32_t *)&a->wake_word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
            1, NULL, NULL, 0);
}

uint64_t st_fire_time(uint64_t due, uint64_t window)
{
    uint64_t kept = window / 2 < ST_WAKE_MARGIN_US ? window / 2 : ST_WAKE_MARGIN_US;
    return stw_fire_time(due, window - kept);
}

uint64_t st_wake_time(const stw *wheel)
{
    return stw_next_within(wheel, ST_WAKE_SCAN_BUDGET);
}

void st_dispatcher_note_arm(st_adapter *a, uint64_t at)
{
    if (!a->has_thread)
        return;
    uint64_t planned = atomic_load(&a->planned_wake);
    for (;;) {
        if (planned == 0) {
            /* Awake, and it may have looked at our shard already: make its
             * next sleep return at once, so that it looks again. */
            atomic_fetch_add_explicit(&a->wake_word, 1, memory_order_release);
            return;
        }
        if (at >= planned)
            return; /* it wakes in time for this one */
        if (atomic_compare_exchange_strong(&a->planned_wake, &planned, at)) {
            st_dispatcher_kick(a);
            return;
        }
        /* Another arm changed the plan first: look at its value again. */
    }
}

static void *dispatcher_main(void *arg)
{
    st_adapter *a = arg;
    /* Ask for the kernel's finest timer slack: our lateness is its floor. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    uint64_t serial = atomic_load(&a->serial); /* the thread lives as long as it */
    for (;;) {
        while (st_adapter_fire_due(a, serial, true) != ST_FIRE_NOTHING) {
        }
        /* Read before draining: a hand-over published after the drain bumps
         * the word after this read, so the wait below returns at once. */
        uint32_t word = atomic_load_explicit(&a->wake_word, memory_order_acquire);
        pthread_mutex_lock(&a->mutex);
        if (a->stopping) {
            pthread_mutex_unlock(&a->mutex);
            return NULL;
        }
        st_adapter_drain_handover(a);
        uint64_t wake = st_adapter_wake_time(a);
        if (wake <= st_real_now_floor()) {
            pthread_mutex_unlock(&a->mutex);
            continue;
        }
        atomic_store(&a->planned_wake, wake);
        pthread_mutex_unlock(&a->mutex);

        futex_wait_until(&a->wake_word, word, wake);
        ST_COUNT(a, wakeups, 1);
        ST_LOG(a, .type = STORTIMER_EVENT_WAKEUP, .fire_time = wake);
        /* Awake: an arm now bumps the word instead of kicking (note_arm). */
        atomic_store(&a->planned_wake, 0);
    }
}

bool st_dispatcher_start(st_adapter *a)
{
    a->stopping = false;
    atomic_store(&a->planned_wake, 0);
    if (!st_thread_create(&a->thread, dispatcher_main, a))
        return false;
    a->has_thread = true;
    return true;
}

void st_dispatcher_stop(st_adapter *a)
{
    if (!a->has_thread)
        return;
    pthread_mutex_lock(&a->mutex);
    a->stopping = true;
    pthread_mutex_unlock(&a->mutex);
    st_dispatcher_kick(a);
    pthread_join(a->thread, NULL);
    a->has_thread = false;
}
