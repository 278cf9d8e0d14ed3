/*
 * The ways real miniports use the timer routines (storahci, nvme and SCSI
 * drivers), each as a small scenario on both clocks.
 */
#include "harness.h"

/* ---- a port-start state machine polling every 10 ms (S5.3, S5.6) ---- */

typedef struct port {
    fixture *fx;
    PVOID timer;
    _Atomic int polls;
    _Atomic int busy_seen;
    int ready_after;
    _Atomic int started;
    ULONGLONG poll_time[64];
} port;

static VOID port_poll(PVOID DeviceExtension, PVOID Context)
{
    port *p = Context;
    int n = atomic_fetch_add(&p->polls, 1);
    if (n < 64)
        p->poll_time[n] = fx_now(p->fx);
    if (n + 1 >= p->ready_after) {
        atomic_store(&p->started, 1);
        return;
    }
    ULONG status = StorPortRequestTimer(DeviceExtension, p->timer, port_poll, p, 10000, 0);
    if (status == STOR_STATUS_BUSY) /* already pending: fine, as miniports treat it */
        atomic_fetch_add(&p->busy_seen, 1);
    else
        CHECK_STATUS(status, STOR_STATUS_SUCCESS);
}

TEST_BOTH(s5_6_pattern_port_start_state_machine_polls_every_10_ms)
{
    PVOID ext = fx_adapter(fx, 0);
    port p = {.fx = fx, .ready_after = 8};
    p.timer = new_timer(ext);
    ULONGLONG start = fx_now(fx);
    /* The start path arms the poll and kicks it again: BUSY, "already
     * pending". It runs holding the StartIo lock, as a StartIo path does,
     * so the first poll cannot start in between however slow the machine
     * (valgrind). */
    STOR_LOCK_HANDLE startio;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &startio);
    arm(ext, p.timer, port_poll, &p, 10000, 0);
    CHECK_STATUS(StorPortRequestTimer(ext, p.timer, port_poll, &p, 10000, 0),
                 STOR_STATUS_BUSY);
    StorPortReleaseSpinLock(ext, &startio);
    fx_pass(fx, 80000);
    CHECK(fx_await(fx, &p.started, 1));
    CHECK_EQ(atomic_load(&p.polls), 8);
    for (int i = 0; i < 8; i++) {
        CHECK(p.poll_time[i] >= start + 10000 * (ULONGLONG)(i + 1));
        if (fx->clock)
            CHECK_EQ(p.poll_time[i], start + 10000 * (ULONGLONG)(i + 1));
    }
    CHECK_EQ(fx_remove(ext), 1);
}

/* ---- per-I/O timeouts armed and cancelled under the StartIo lock ---- */

typedef struct io_timeouts {
    _Atomic int fired;
    PVOID timer[8];
} io_timeouts;

static VOID io_timed_out(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    atomic_fetch_add(&((io_timeouts *)Context)->fired, 1);
}

TEST_BOTH(s5_5_pattern_io_timeouts_cancelled_on_completion_under_startio_lock)
{
    PVOID ext = fx_adapter(fx, 0);
    io_timeouts io = {0};
    for (int i = 0; i < 8; i++)
        io.timer[i] = new_timer(ext);
    STOR_LOCK_HANDLE lock;
    /* HwStartIo: arm a 500 ms timeout per I/O (long enough that a loaded
     * machine still completes the others in time on the real clock). */
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    for (int i = 0; i < 8; i++)
        arm(ext, io.timer[i], io_timed_out, &io, 500000, 20000);
    StorPortReleaseSpinLock(ext, &lock);
    fx_pass(fx, 1000);
    /* Completion of all but I/O 3, again under the StartIo lock. */
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    for (int i = 0; i < 8; i++)
        if (i != 3)
            CHECK_STATUS(StorPortRequestTimer(ext, io.timer[i], io_timed_out, &io, 0, 0),
                         STOR_STATUS_SUCCESS);
    StorPortReleaseSpinLock(ext, &lock);
    fx_pass(fx, 520000);
    CHECK(fx_await(fx, &io.fired, 1));
    fx_settle(fx);
    CHECK_EQ(atomic_load(&io.fired), 1);
}

/* ---- cancel then free on shutdown (S5.5, S6.4) ---- */

TEST_BOTH(s6_4_pattern_cancel_then_free_on_shutdown)
{
    PVOID ext = fx_adapter(fx, 0);
    probe p;
    probe_init(&p, fx, ext);
    PVOID timers[6];
    for (int i = 0; i < 6; i++) {
        timers[i] = new_timer(ext);
        arm(ext, timers[i], probe_callback, &p, 300000 + (ULONGLONG)i * 100, 0);
    }
    for (int i = 0; i < 6; i++) {
        CHECK_STATUS(StorPortRequestTimer(ext, timers[i], probe_callback, &p, 0, 0),
                     STOR_STATUS_SUCCESS);
        CHECK_STATUS(StorPortFreeTimer(ext, timers[i]), STOR_STATUS_SUCCESS);
    }
    fx_pass(fx, 310000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&p.fired), 0);
    CHECK_EQ(fx_remove(ext), 0);
}

/* ---- a surprise-removal watchdog that frees its own timer (S6.4.1) ---- */

typedef struct watchdog {
    PVOID timer;
    int ticks_until_gone;
    _Atomic int ticks;
    _Atomic int freed;
    ULONG free_status;
} watchdog;

static VOID watchdog_tick(PVOID DeviceExtension, PVOID Context)
{
    watchdog *w = Context;
    if (atomic_fetch_add(&w->ticks, 1) + 1 < w->ticks_until_gone) {
        StorPortRequestTimer(DeviceExtension, w->timer, watchdog_tick, w, 100000, 0);
        return;
    }
    /* The device reads as gone: free our own timer, from our own callback. */
    w->free_status = StorPortFreeTimer(DeviceExtension, w->timer);
    atomic_store(&w->freed, 1);
}

TEST_BOTH(s6_4_1_pattern_watchdog_frees_its_own_timer_when_device_is_gone)
{
    PVOID ext = fx_adapter(fx, 0);
    watchdog w = {.ticks_until_gone = 3};
    w.timer = new_timer(ext);
    arm(ext, w.timer, watchdog_tick, &w, 100000, 0);
    fx_pass(fx, 300000);
    CHECK(fx_await(fx, &w.freed, 1));
    CHECK_STATUS(w.free_status, STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortRequestTimer(ext, w.timer, watchdog_tick, &w, 100, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, w.timer), STOR_STATUS_UNSUCCESSFUL);
    CHECK_EQ(fx_remove(ext), 0);
}

/* ---- HBA reinitialization on the legacy timer (S7.2) ---- */

typedef struct hba {
    _Atomic int steps;
} hba;

static hba the_hba;

static VOID hba_reinit_step(PVOID DeviceExtension)
{
    if (atomic_fetch_add(&the_hba.steps, 1) + 1 < 20)
        StorPortNotification(RequestTimerCall, DeviceExtension, hba_reinit_step, 1000);
}

TEST_BOTH(s7_2_pattern_legacy_timer_state_machine_rearms_many_times)
{
    PVOID ext = fx_adapter(fx, 0);
    StorPortNotification(RequestTimerCall, ext, hba_reinit_step, 1000);
    fx_pass(fx, 20000);
    CHECK(fx_await(fx, &the_hba.steps, 20));
    fx_pass(fx, 5000);
    fx_settle(fx);
    CHECK_EQ(atomic_load(&the_hba.steps), 20);
    stortimer_stats stats;
    CHECK_STATUS(stortimer_stats_read(ext, &stats), STOR_STATUS_SUCCESS);
    CHECK_EQ(stats.legacy_fired, 20);
}
