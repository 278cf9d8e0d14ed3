/*
 * Races that need a precise interleaving, forced by wrapping internal calls
 * at link time (-Wl,--wrap, see CMakeLists.txt). Each wrapper does nothing
 * until a test arms it.
 */
#include "adapters/adapter_check.h"
#include "adapters/timer_ops.h"
#include "adapters/work.h"
#include "harness.h"
#include "time/clock.h"

#include <pthread.h>

/* ---- S5.7: a stale request above DISPATCH_LEVEL and a reused slot ---- */

bool __real_st_registry_still_issued(const st_timer *t, uint64_t issued);

/* Runs in the window between a request's ownership check and its claim. */
static void (*in_claim_window)(void);

bool __wrap_st_registry_still_issued(const st_timer *t, uint64_t issued)
{
    bool live = __real_st_registry_still_issued(t, issued);
    void (*window)(void) = in_claim_window;
    if (live && window && stortimer_irql_current() > DISPATCH_LEVEL) {
        in_claim_window = NULL;
        KIRQL saved = stortimer_irql_current();
        stortimer_irql_lower(PASSIVE_LEVEL); /* "another thread" */
        window();
        stortimer_irql_raise(saved);
    }
    return live;
}

/* A request at HIGH_LEVEL, as from an interrupt path (S5.7). */
static ULONG request_above_dispatch(PVOID ext, PVOID handle, PVOID context, ULONGLONG value)
{
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    ULONG status = StorPortRequestTimer(ext, handle, probe_callback, context, value, 0);
    stortimer_irql_lower(old);
    return status;
}

static PVOID race_ext, old_handle, new_handle;
static probe new_probe;

static void free_old_and_start_new(void)
{
    CHECK_STATUS(StorPortFreeTimer(race_ext, old_handle), STOR_STATUS_SUCCESS);
    new_handle = new_timer(race_ext); /* reuses the freed slot */
}

static void free_old_and_arm_new(void)
{
    free_old_and_start_new();
    arm(race_ext, new_handle, probe_callback, &new_probe, 1000, 0);
}

TEST(s5_7_stale_arm_cannot_reach_the_timer_reusing_its_slot)
{
    race_ext = virtual_adapter(0);
    old_handle = new_timer(race_ext);
    probe_init(&new_probe, virtual_fixture(), race_ext);
    in_claim_window = free_old_and_start_new;
    ULONG status = request_above_dispatch(race_ext, old_handle, &new_probe, 100);
    CHECK_STATUS(status, STOR_STATUS_INVALID_PARAMETER);
    /* The new timer is idle: its first arm is no BUSY, and it fires. */
    arm(race_ext, new_handle, probe_callback, &new_probe, 1000, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 1000);
    CHECK_EQ(atomic_load(&new_probe.fired), 1);
}

/* The stale cancel read the old timer's word (pending) before the free and
 * the reuse: its exchange must fail, and its second look find the handle
 * gone. */
TEST(s5_7_stale_cancel_cannot_reach_the_timer_reusing_its_slot)
{
    race_ext = virtual_adapter(0);
    old_handle = new_timer(race_ext);
    probe old_probe;
    probe_init(&old_probe, virtual_fixture(), race_ext);
    arm(race_ext, old_handle, probe_callback, &old_probe, 3000, 0);
    probe_init(&new_probe, virtual_fixture(), race_ext);
    in_claim_window = free_old_and_arm_new;
    ULONG status = request_above_dispatch(race_ext, old_handle, NULL, 0);
    CHECK_STATUS(status, STOR_STATUS_INVALID_PARAMETER);
    stortimer_clock_advance(virtual_fixture()->clock, 5000);
    CHECK_EQ(atomic_load(&new_probe.fired), 1);
    CHECK_EQ(atomic_load(&old_probe.fired), 0);
}

/* The same with the old timer idle: the cancel may take effect before the
 * free (SUCCESS, nothing was pending) or after it (INVALID_PARAMETER), but
 * the new timer's arm stands. */
TEST(s5_7_stale_cancel_of_an_idle_timer_leaves_the_reused_slot_armed)
{
    race_ext = virtual_adapter(0);
    old_handle = new_timer(race_ext);
    probe_init(&new_probe, virtual_fixture(), race_ext);
    in_claim_window = free_old_and_arm_new;
    ULONG status = request_above_dispatch(race_ext, old_handle, NULL, 0);
    CHECK(status == STOR_STATUS_SUCCESS || status == STOR_STATUS_INVALID_PARAMETER);
    stortimer_clock_advance(virtual_fixture()->clock, 5000);
    CHECK_EQ(atomic_load(&new_probe.fired), 1);
}

static void free_old(void)
{
    CHECK_STATUS(StorPortFreeTimer(race_ext, old_handle), STOR_STATUS_SUCCESS);
}

/* S6.4 with S5.7: an arm above DISPATCH_LEVEL whose handle check passed just
 * before StorPortFreeTimer must not leave the dead timer armed: its exchange
 * fails, its second check finds the handle gone. The statistics agree: the
 * arm neither counts as made nor as cancelled. */
TEST(s6_4_free_between_a_lock_free_arms_check_and_its_exchange_wins)
{
    race_ext = virtual_adapter(0);
    old_handle = new_timer(race_ext);
    probe_init(&new_probe, virtual_fixture(), race_ext);
    stortimer_stats before, after;
    CHECK_STATUS(stortimer_stats_read(race_ext, &before), STOR_STATUS_SUCCESS);
    in_claim_window = free_old;
    ULONG status = request_above_dispatch(race_ext, old_handle, &new_probe, 100);
    CHECK_STATUS(status, STOR_STATUS_INVALID_PARAMETER);
    stortimer_clock_advance(virtual_fixture()->clock, 1000);
    CHECK_EQ(atomic_load(&new_probe.fired), 0);
    CHECK_STATUS(stortimer_stats_read(race_ext, &after), STOR_STATUS_SUCCESS);
    CHECK_EQ(after.armed, before.armed);
    CHECK_EQ(after.cancelled, before.cancelled);
}

/* ---- S5.7: a hand-over published while the dispatcher (or an advance) drains ---- */

void __real_st_timer_apply_handovers(st_adapter *a);

static _Atomic int arm_during_drain;
static _Atomic long test_thread_id;
static PVOID drain_ext, drain_timer;
static probe drain_probe;

/* Once armed by the test, on a thread other than the test's: arms
 * drain_timer from above DISPATCH_LEVEL, as an interrupt landing there. */
static void arm_after_the_drain(void)
{
    if (thread_id() != atomic_load(&test_thread_id) && atomic_exchange(&arm_during_drain, 0)) {
        KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
        arm(drain_ext, drain_timer, probe_callback, &drain_probe, 1000, 0);
        stortimer_irql_lower(old);
    }
}

/* The dispatcher: just after its drain, before it plans its sleep. */
void __wrap_st_timer_apply_handovers(st_adapter *a)
{
    __real_st_timer_apply_handovers(a);
    arm_after_the_drain();
}

bool __real_st_work_peek(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t cutoff,
                         bool timers, uint64_t *at);

/* A thread advancing a virtual clock: just after the drain inside its look
 * at an adapter, before it picks the next fire time from what it saw. */
bool __wrap_st_work_peek(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t cutoff,
                         bool timers, uint64_t *at)
{
    bool found = __real_st_work_peek(a, serial, limit, cutoff, timers, at);
    arm_after_the_drain();
    return found;
}

TEST_BOTH(s5_7_hand_over_during_a_drain_is_not_lost)
{
    drain_ext = fx_adapter(fx, 0);
    drain_timer = new_timer(drain_ext);
    probe_init(&drain_probe, fx, drain_ext);
    probe far;
    probe_init(&far, fx, drain_ext);
    fx_settle(fx); /* the dispatcher sleeps with nothing queued */
    atomic_store(&test_thread_id, thread_id());
    atomic_store(&arm_during_drain, 1);
    /* An arm a minute away wakes the dispatcher once to plan; the injection
     * rides on that. A virtual clock is advanced 1 ms on another thread;
     * its first look at the adapter (just after a drain) publishes the 1 ms
     * arm, due when that advance ends: it must run in it (S11.2), exactly on
     * time. */
    ULONGLONG called = fx_now(fx);
    arm(drain_ext, new_timer(drain_ext), probe_callback, &far, 60ULL * 1000 * 1000, 0);
    test_thread *t = fx_pass_elsewhere(fx, 1000);
    CHECK(wait_for(&drain_probe.fired, 1, 5000));
    fx_join(t);
    check_fired_at(fx, drain_probe.at[0], called, 1000);
    CHECK_EQ(atomic_load(&far.fired), 0);
    CHECK_EQ(fx_remove(drain_ext), 2);
}

/* ---- S5.7: a hand-over queued behind a refused one ---- */

static fixture *behind_fx;
static PVOID behind_ext, behind_timer;
static probe behind_probe;

/* In the window of a refused (BUSY) request above DISPATCH_LEVEL, whose
 * cell is reserved and not yet published: another arm above DISPATCH_LEVEL
 * takes the next cell, publishes it and wakes the dispatcher, which drains
 * up to the unpublished cell and goes back to sleep. */
static void arm_behind_and_let_the_dispatcher_sleep(void)
{
    ULONG status = request_above_dispatch(behind_ext, behind_timer, &behind_probe, 100);
    CHECK_STATUS(status, STOR_STATUS_SUCCESS);
    fx_settle(behind_fx);
}

/* The refused request's no-op cell must wake the dispatcher too: the arm
 * behind it takes effect shortly after (S5.7), not at the next unrelated
 * call. */
TEST_BOTH(s5_7_hand_over_behind_a_refused_one_is_not_stranded)
{
    behind_fx = fx;
    behind_ext = fx_adapter(fx, 0);
    behind_timer = new_timer(behind_ext);
    probe_init(&behind_probe, fx, behind_ext);
    PVOID busy = new_timer(behind_ext);
    probe far;
    probe_init(&far, fx, behind_ext);
    arm(behind_ext, busy, probe_callback, &far, 60ULL * 1000 * 1000, 0); /* pending */
    fx_settle(fx); /* the dispatcher sleeps until then */
    in_claim_window = arm_behind_and_let_the_dispatcher_sleep;
    ULONGLONG called = fx_now(fx);
    ULONG status = request_above_dispatch(behind_ext, busy, &far, 1000);
    CHECK_STATUS(status, STOR_STATUS_BUSY);
    CHECK(in_claim_window == NULL); /* the arm behind it was made */
    CHECK(fx_pass_until_fired(fx, 100, &behind_probe.fired, 1));
    check_fired_at(fx, behind_probe.at[0], called, 100);
    CHECK_EQ(atomic_load(&far.fired), 0);
    CHECK_EQ(fx_remove(behind_ext), 2);
}

/* ---- S6.4.1 with S3.4: a free that waits out a whole removal ---- */

int __real_pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex);

static _Thread_local int slow_to_wake;
static _Atomic int may_wake, slow_waiter_waits;

int __wrap_pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
    if (slow_to_wake)
        atomic_store(&slow_waiter_waits, 1);
    int result = __real_pthread_cond_wait(cond, mutex);
    if (slow_to_wake) { /* preempted right after the wake-up, mutex let go */
        pthread_mutex_unlock(mutex);
        while (!atomic_load(&may_wake))
            sleep_us(1000);
        pthread_mutex_lock(mutex);
    }
    return result;
}

static PVOID remove_ext, remove_timer;
static _Atomic int in_slow_callback;

static VOID slow_callback(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    (void)Context;
    atomic_store(&in_slow_callback, 1);
    sleep_us(100000);
}

static void *free_while_running(void *arg)
{
    (void)arg;
    slow_to_wake = 1;
    CHECK_STATUS(StorPortFreeTimer(remove_ext, remove_timer), STOR_STATUS_SUCCESS);
    return NULL;
}

TEST_BOTH(s6_4_1_free_that_outlives_a_removal_does_not_touch_the_next_adapter)
{
    remove_ext = fx_adapter(fx, 0);
    remove_timer = new_timer(remove_ext);
    arm(remove_ext, remove_timer, slow_callback, NULL, 100, 0);
    test_thread *t = fx_pass_elsewhere(fx, 100);   /* the callback runs there */
    CHECK(wait_for(&in_slow_callback, 1, 5000));
    test_thread *freer = thread_start(free_while_running, NULL);
    CHECK(wait_for(&slow_waiter_waits, 1, 10000)); /* the freer waits for the callback */
    CHECK_EQ(fx_remove(remove_ext), 0);
    fx_join(t);
    /* A new adapter, likely in the same adapter slot, with its own timer. */
    PVOID next = virtual_adapter(0), handle = new_timer(next);
    atomic_store(&may_wake, 1);
    thread_join(freer);
    /* Timers the new adapter makes now (from whatever slots) keep S6.3. */
    for (int i = 0; i < 3; i++) {
        PVOID fresh = new_timer(next);
        CHECK_STATUS(StorPortFreeTimer(next, fresh), STOR_STATUS_SUCCESS);
        CHECK_STATUS(StorPortFreeTimer(next, fresh), STOR_STATUS_UNSUCCESSFUL);
        new_timer(next); /* keep the slot, so the next round takes another */
    }
    CHECK_STATUS(StorPortFreeTimer(next, handle), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(next, handle), STOR_STATUS_UNSUCCESSFUL);
}

/* ---- statistics never go down while an adapter is removed ---- */

static PVOID stats_ext;
static _Atomic int stats_entered, stats_observed;

static VOID hold_until_observed(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    (void)Context;
    atomic_store(&stats_entered, 1);
    while (!atomic_load(&stats_observed))
        sleep_us(500);
}

static void *remove_in_thread(void *arg)
{
    (void)arg;
    fx_remove(stats_ext);
    return NULL;
}

TEST_BOTH(s3_4_process_stats_do_not_dip_while_an_adapter_is_removed)
{
    stats_ext = fx_adapter(fx, 0);
    arm(stats_ext, new_timer(stats_ext), hold_until_observed, NULL, 100, 0);
    test_thread *t = fx_pass_elsewhere(fx, 100);   /* the callback runs there */
    CHECK(wait_for(&stats_entered, 1, 5000));
    stortimer_stats before = stats_of(NULL);
    test_thread *remover = thread_start(remove_in_thread, NULL);
    stortimer_stats mine;
    while (stortimer_stats_read(stats_ext, &mine) == STOR_STATUS_SUCCESS)
        sleep_us(200); /* until the removal has begun */
    stortimer_stats during = stats_of(NULL);
    atomic_store(&stats_observed, 1);
    thread_join(remover);
    fx_join(t);
    CHECK_EQ(during.fired, before.fired);
    CHECK_EQ(during.timers_initialized, before.timers_initialized);
    CHECK_EQ(stats_of(NULL).fired, before.fired);
}

/* ---- S7.4 with S5.7: a refused legacy re-arm keeps the pending request ---- */

static _Atomic int legacy_fired;

static VOID legacy_tick(PVOID DeviceExtension)
{
    (void)DeviceExtension;
    atomic_fetch_add(&legacy_fired, 1);
}

TEST(s7_4_refused_rearm_above_dispatch_keeps_the_pending_request)
{
    PVOID ext = virtual_adapter(0);
    StorPortNotification(RequestTimerCall, ext, legacy_tick, 1000);
    PVOID timers[300];
    for (int i = 0; i < 300; i++)
        timers[i] = new_timer(ext);
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    for (int i = 0; i < 300; i++) /* fills the hand-over queue */
        StorPortRequestTimer(ext, timers[i], probe_callback, NULL, 100000, 0);
    StorPortNotification(RequestTimerCall, ext, legacy_tick, 50); /* refused */
    stortimer_irql_lower(old);
    stortimer_clock_advance(virtual_fixture()->clock, 999);
    CHECK_EQ(atomic_load(&legacy_fired), 0);
    stortimer_clock_advance(virtual_fixture()->clock, 1);
    CHECK_EQ(atomic_load(&legacy_fired), 1);
}

/* ---- the event log: an arm above DISPATCH_LEVEL is logged before its callback ---- */

void __real_st_handover_publish(st_handover *cell, uint64_t ticket, const st_request *request);

/* Runs right after a hand-over cell is published, before the request returns. */
static void (*after_publish)(void);

void __wrap_st_handover_publish(st_handover *cell, uint64_t ticket, const st_request *request)
{
    __real_st_handover_publish(cell, ticket, request);
    void (*then)(void) = after_publish;
    if (then) {
        after_publish = NULL;
        then();
    }
}

/* Arms a new timer of `ext` above DISPATCH_LEVEL, its callback counting in
 * `p`, with `then` run right after its cell is published. */
static void arm_above_dispatch_then(PVOID ext, probe *p, ULONGLONG value, void (*then)(void))
{
    PVOID handle = new_timer(ext);
    probe_init(p, virtual_fixture(), ext);
    after_publish = then;
    CHECK_STATUS(request_above_dispatch(ext, handle, p, value), STOR_STATUS_SUCCESS);
}

static stortimer_clock *publish_clock;

/* Another thread applies the hand-over and runs its callback, while the
 * arming request has not yet returned. */
static void advance_elsewhere_and_wait(void)
{
    thread_join(thread_start(advance_thread, &(advancer){publish_clock, 1000}));
}

TEST(s5_7_an_arm_above_dispatch_is_logged_before_its_callback_runs)
{
    CHECK_STATUS(stortimer_log_start(64), STOR_STATUS_SUCCESS);
    publish_clock = virtual_fixture()->clock;
    probe p;
    arm_above_dispatch_then(virtual_adapter(0), &p, 500, advance_elsewhere_and_wait);
    CHECK_EQ(atomic_load(&p.fired), 1); /* it ran before the request returned */
    stortimer_event events[64];
    size_t n = stortimer_log_read(events, 0, 64);
    int armed = -1, fired = -1;
    for (size_t i = 0; i < n; i++) {
        if (events[i].type == STORTIMER_EVENT_ARMED && armed < 0)
            armed = (int)i;
        if (events[i].type == STORTIMER_EVENT_FIRED && fired < 0)
            fired = (int)i;
    }
    CHECK(armed >= 0 && fired > armed);
    CHECK_EQ(events[armed].time, 0);
}

/* ---- S3.4 with S5.7: a hand-over under way while its adapter is removed ---- */

static PVOID slot_ext, slot_next_ext;
static stortimer_clock *slot_clock;
static _Atomic int slot_removed;
static test_thread *slot_remover;

static void *remove_and_create_in_the_slot(void *unused)
{
    (void)unused;
    CHECK_EQ(fx_remove(slot_ext), 1);
    stortimer_adapter_config config = {.clock = slot_clock};
    CHECK_STATUS(stortimer_adapter_create(&config, &slot_next_ext), STOR_STATUS_SUCCESS);
    atomic_store(&slot_removed, 1);
    return NULL;
}

/* After the arm's cell is published and before the arm is counted:
 * another thread removes the adapter and creates the next one, which
 * takes the same slot. Given 20 ms, it would finish in that window. */
static void remove_while_the_arm_is_counted(void)
{
    test_thread *remover = thread_start(remove_and_create_in_the_slot, NULL);
    sleep_us(20000);
    CHECK_EQ(atomic_load(&slot_removed), 0); /* the removal waits for us */
    slot_remover = remover; /* joined by the test, once this request returned */
}

/* What a request above DISPATCH_LEVEL did is counted in its own adapter's
 * statistics, even when the adapter is removed while the request is under
 * way: never in those of the next adapter made in its slot (the adapter
 * checker would see an arm counted there that never happened). */
TEST(s3_4_a_hand_over_under_way_counts_in_its_adapter_not_the_next_in_its_slot)
{
    slot_clock = virtual_fixture()->clock;
    slot_ext = virtual_adapter(0);
    probe p;
    arm_above_dispatch_then(slot_ext, &p, 100, remove_while_the_arm_is_counted);
    thread_join(slot_remover);
    CHECK_EQ(atomic_load(&slot_removed), 1);
    stortimer_stats next = stats_of(slot_next_ext);
    CHECK_EQ(next.armed, 0);
    CHECK_EQ(next.timers_pending, 0);
    stortimer_stats process = stats_of(NULL); /* the arm, and its cancel by the removal */
    CHECK_EQ(process.armed, 1);
    CHECK_EQ(process.cancelled, 1);
    stortimer_clock_advance(slot_clock, 1000);
    CHECK_EQ(atomic_load(&p.fired), 0);
    fx_remove(slot_next_ext);
}

/* ---- S5.4: the adapter checker while a request above DISPATCH_LEVEL is under way ---- */

static PVOID under_way_ext;
static char under_way_why[256];
static _Atomic int under_way_ok = -1;

static void *check_the_adapter(void *unused)
{
    (void)unused;
    atomic_store(&under_way_ok, st_adapter_check_extension(under_way_ext, under_way_why,
                                                           sizeof under_way_why));
    return NULL;
}

/* Between the cell's publication and the arm's count, the books disagree
 * (armed 0, pending 1): the checker, which cannot tell this from a lost
 * count, reports it only when no request was under way while it looked. */
static void check_from_another_thread(void)
{
    thread_join(thread_start(check_the_adapter, NULL));
}

TEST(s5_4_check_passes_while_a_request_above_dispatch_is_under_way)
{
    under_way_ext = virtual_adapter(0);
    probe p;
    arm_above_dispatch_then(under_way_ext, &p, 100, check_from_another_thread);
    if (atomic_load(&under_way_ok) != 1)
        test_failf(__FILE__, __LINE__, "the checker failed mid-request: %s", under_way_why);
    stortimer_clock_advance(virtual_fixture()->clock, 100);
    CHECK_EQ(atomic_load(&p.fired), 1);
}

/* ---- S12.2: no handle reaches a legacy timer ---- */

static VOID legacy_nothing(PVOID DeviceExtension)
{
    (void)DeviceExtension;
}

/* The legacy slot's live value has a handle's form (registry.h): the
 * handle it would encode to, forged, is refused like any made-up one, and
 * the legacy timer stays armed. */
TEST(s12_2_a_handle_forged_for_the_legacy_slot_is_invalid_parameter)
{
    PVOID ext = virtual_adapter(4);
    st_adapter_ref ref;
    CHECK(st_adapter_find(ext, &ref));
    PVOID forged = st_handle_pointer(st_registry_handle(ref.adapter->legacy));
    StorPortNotification(RequestTimerCall, ext, legacy_nothing, 1000u);
    CHECK_STATUS(StorPortRequestTimer(ext, forged, probe_callback, NULL, 0, 0),
                 STOR_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(StorPortFreeTimer(ext, forged), STOR_STATUS_INVALID_PARAMETER);
    for (int i = 0; i < 4; i++) /* the limit still counts only real timers */
        new_timer(ext);
    stortimer_stats s = stats_of(ext);
    CHECK_EQ(s.timers_freed, 0);
    CHECK_EQ(s.timers_pending, 1);
    CHECK_EQ(s.rejected_invalid_parameter, 1); /* the free; the request names no timer of it */
}

/* ---- S5.4.2: a dispatcher that wakes after the time it planned ---- */

void __real_st_doorbell_plan(st_doorbell *d, uint64_t wake_us);
uint64_t __real_st_work_wake_time(st_adapter *a);
void __real_st_doorbell_note_arm(st_doorbell *d, uint64_t at);

/* 1: the next planned wake-up passes before the dispatcher sleeps (as if
 * preempted); 2: at its next look at the wheels, the test arms a timer;
 * 3: done. */
static _Atomic int late_stage, late_arm_now, late_arm_done;
static probe late_first;

void __wrap_st_doorbell_plan(st_doorbell *d, uint64_t wake_us)
{
    __real_st_doorbell_plan(d, wake_us);
    if (atomic_load(&late_stage) == 1 && wake_us != UINT64_MAX) {
        while (st_real_now_floor() < wake_us) {
        }
        atomic_store(&late_stage, 2);
    }
}

uint64_t __wrap_st_work_wake_time(st_adapter *a)
{
    uint64_t wake = __real_st_work_wake_time(a);
    if (atomic_load(&late_stage) == 2 && atomic_load(&late_first.fired)) {
        atomic_store(&late_stage, 3);
        atomic_store(&late_arm_now, 1); /* the wheels were looked at: arm now */
        while (!atomic_load(&late_arm_done)) {
        }
    }
    return wake;
}

/* The test's arm has queued its timer and told the doorbell (the rest of
 * its call, the checked build's look at the adapter, waits for the adapter
 * lock that the dispatcher holds in the window above). */
void __wrap_st_doorbell_note_arm(st_doorbell *d, uint64_t at)
{
    __real_st_doorbell_note_arm(d, at);
    if (atomic_load(&late_stage) == 3)
        atomic_store(&late_arm_done, 1);
}

/* An arm made while the dispatcher looks at the wheels, after it woke past
 * the time it had planned, must still wake it: it fires on time, not at
 * the next unrelated arm (a stale plan once swallowed its wake-up). */
TEST_REAL(s5_4_2_an_arm_after_a_late_wake_up_is_not_slept_past)
{
    PVOID ext = fx_adapter(fx, 0), second = new_timer(ext);
    probe_init(&late_first, fx, ext);
    probe p;
    probe_init(&p, fx, ext);
    PVOID first = new_timer(ext);
    fx_settle(fx); /* the dispatcher sleeps with nothing planned */
    atomic_store(&late_stage, 1);
    /* Far enough ahead that the dispatcher, woken by this arm, plans to
     * wake for it (under valgrind too) before it is due. Made above
     * DISPATCH_LEVEL, so that the call takes no adapter lock (a checked
     * build's look after the call would wait for the dispatcher, which
     * holds it in the windows above). */
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    arm(ext, first, probe_callback, &late_first, 100000, 0);
    stortimer_irql_lower(old);
    CHECK(wait_for(&late_arm_now, 1, 5000));
    ULONGLONG called = fx_now(fx);
    arm(ext, second, probe_callback, &p, 1000, 0);
    CHECK(wait_for(&p.fired, 1, 500));
    check_fired_at(fx, p.at[0], called, 1000);
    CHECK_EQ(fx_remove(ext), 2);
}
