/*
 * dpc_signals.c - DPCs and pauses from signal handlers, racing adapter removal
 * (SPEC S14, S16), on the real clock.
 *
 * A receiver thread sits at device IRQL (STOR_DEVICE_LEVEL), as an interrupt
 * path would, and a signaller thread sends it SIGUSR1 as fast as it takes
 * them. Its handler stands in for an interrupt routine: it issues DPCs
 * (S14.5: no lock, no memory; the queuing is handed over), pauses and
 * resumes the adapter and its units (S16.9). Timer callbacks and DPC
 * routines issue DPCs too, and DPC routines re-issue themselves (S14.6). A
 * churn thread removes the adapters and creates them again all along, so
 * issues race removals (S14.13): an issue either answers FALSE, or its
 * routine starts exactly once, or the removal drops it.
 *
 * What is checked:
 *  - every issue answered TRUE ends in exactly one start or one drop: the
 *    test's count of TRUE answers equals the library's dpcs_started plus
 *    dpcs_dropped, and dpcs_issued, dpcs_started and dpcs_returned agree
 *    with the test's own counts (S14.4, S14.13, S14.15);
 *  - DPC routines run at DISPATCH_LEVEL with their own extension and the
 *    arguments of the issue, never overlap each other or a timer callback
 *    of the same adapter (S14.6, S14.7), and none starts after the removal
 *    of its adapter returned (S14.13);
 *  - once the signals have stopped, a Resume at PASSIVE_LEVEL leaves the
 *    adapter and a unit not paused, whatever pauses were handed over before
 *    it (S16.9), and the pause queries answer SUCCESS (S17.6).
 * The phase lasts about two and a half seconds (less when
 * STORTIMER_STRESS_SECONDS asks for shorter runs).
 */
#include "stress.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define DS_SLOTS 2
#define DS_DPCS 4
#define DS_UNITS 4
#define DS_SHOWN 20

typedef struct ds_slot {
    _Atomic(PVOID) extension;       /* NULL while it is being replaced */
    _Atomic uint64_t generation;    /* odd while being replaced */
    _Atomic uint64_t dead;          /* generations below it: removal returned */
    _Atomic int inside;             /* a DPC routine or callback of it runs */
    PVOID timer;
} ds_slot;

static ds_slot ds_slots[DS_SLOTS];
static STOR_DPC ds_dpc_objects[DS_SLOTS][DS_DPCS];
static pthread_t ds_receiver_thread;
static _Atomic bool ds_stop_signals, ds_stop_receiver, ds_stop_churn, ds_receiver_ready;
static _Atomic uint64_t ds_issued_true, ds_issued_false, ds_started, ds_returned;
static _Atomic uint64_t ds_signals, ds_pauses_true, ds_pauses_false, ds_removals;
static _Atomic uint64_t ds_violations, ds_shown;

static void ds_violation(const char *what)
{
    atomic_fetch_add(&ds_violations, 1);
    if (atomic_fetch_add(&ds_shown, 1) < DS_SHOWN)
        fprintf(stderr, "stress dpc-signals: %s\n", what);
}

/* arg2 of an issue: the slot, and the generation it was made for. */
static PVOID ds_tag(int slot, uint64_t generation)
{
    return (PVOID)(uintptr_t)(generation << 4 | (uint64_t)slot);
}

static void ds_enter(int slot, const char *who)
{
    if (atomic_exchange(&ds_slots[slot].inside, 1))
        ds_violation(who);
}

static void ds_leave(int slot)
{
    atomic_store(&ds_slots[slot].inside, 0);
}

/* Issues a DPC of the slot's current adapter; counts the answer. */
static void ds_issue(int slot, int k)
{
    ds_slot *s = &ds_slots[slot];
    uint64_t before = atomic_load(&s->generation);
    PVOID extension = atomic_load(&s->extension);
    if ((before & 1) || !extension || atomic_load(&s->generation) != before)
        return;
    BOOLEAN answer = StorPortIssueDpc(extension, &ds_dpc_objects[slot][k],
                                      &ds_dpc_objects[slot][k], ds_tag(slot, before));
    atomic_fetch_add(answer ? &ds_issued_true : &ds_issued_false, 1);
}

static VOID ds_dpc_routine(PSTOR_DPC dpc, PVOID extension, PVOID argument1, PVOID argument2)
{
    uintptr_t tag = (uintptr_t)argument2;
    int slot = (int)(tag & 15);
    atomic_fetch_add(&ds_started, 1);
    if (slot >= DS_SLOTS || argument1 != dpc || dpc < &ds_dpc_objects[slot][0] ||
        dpc >= &ds_dpc_objects[slot][DS_DPCS]) {
        ds_violation("a DPC routine got another issue's arguments (S14.4)");
        atomic_fetch_add(&ds_returned, 1);
        return;
    }
    if (stortimer_irql_current() != DISPATCH_LEVEL)
        ds_violation("a DPC routine runs above or below DISPATCH_LEVEL (S14.6)");
    /* The extension holds its generation: an issue made for a removed adapter
     * may reach a new one created at the same address, which is no fault. */
    uint64_t generation = *(const uint64_t *)extension;
    if (generation < atomic_load(&ds_slots[slot].dead))
        ds_violation("a DPC routine started after its adapter's removal returned (S14.13)");
    ds_enter(slot, "a DPC routine overlaps another DPC routine or a callback (S14.7)");
    if (one_in(4)) /* a DPC that queues itself again runs again later (S14.6) */
        ds_issue(slot, (int)(dpc - &ds_dpc_objects[slot][0]));
    ds_leave(slot);
    atomic_fetch_add(&ds_returned, 1);
}

/* Set before the final check: the periodic timers pause nothing more. */
static _Atomic bool ds_quiet;

/* A 1 ms periodic timer that issues DPCs and pauses or resumes a unit. */
static VOID ds_timer_callback(PVOID extension, PVOID context)
{
    int slot = (int)(uintptr_t)context;
    ds_enter(slot, "a timer callback overlaps a DPC routine (S14.7)");
    ds_issue(slot, (int)random_below(DS_DPCS));
    if (!atomic_load(&ds_quiet) && one_in(8))
        StorPortPauseDevice(extension, 0, 1, 0, 1);
    if (!atomic_load(&ds_quiet) && one_in(8))
        StorPortResumeDevice(extension, 0, 1, 0);
    ds_leave(slot);
    StorPortRequestTimer(extension, ds_slots[slot].timer, ds_timer_callback, context, 1000, 0);
}

/* The interrupt routine's stand-in: runs at device IRQL on the receiver. */
static void ds_on_signal(int signal)
{
    (void)signal;
    int saved = errno;
    uint64_t n = atomic_fetch_add(&ds_signals, 1);
    int slot = (int)(n % DS_SLOTS);
    unsigned pick = (unsigned)(n * 2654435761u >> 8) % 20;
    if (pick < 14) {
        ds_issue(slot, (int)(n / DS_SLOTS % DS_DPCS));
    } else {
        PVOID extension = atomic_load(&ds_slots[slot].extension);
        UCHAR unit = (UCHAR)(n % DS_UNITS);
        BOOLEAN answer = pick < 16   ? StorPortPause(extension, 1 + (ULONG)(n % 3))
                         : pick < 18 ? StorPortResume(extension)
                         : pick < 19 ? StorPortPauseDevice(extension, 0, unit, 0, 2)
                                     : StorPortResumeDevice(extension, 0, unit, 0);
        /* FALSE: a stale extension, or a full hand-over queue. */
        atomic_fetch_add(answer ? &ds_pauses_true : &ds_pauses_false, 1);
    }
    errno = saved;
}

static void *ds_receiver(void *unused)
{
    (void)unused;
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    atomic_store(&ds_receiver_ready, true);
    while (!atomic_load(&ds_stop_receiver))
        sleep_ns(50000);
    stortimer_irql_lower(old);
    return NULL;
}

static void *ds_signaller(void *unused)
{
    (void)unused;
    while (!atomic_load(&ds_receiver_ready))
        sleep_ns(100000);
    while (!atomic_load(&ds_stop_signals)) {
        pthread_kill(ds_receiver_thread, SIGUSR1);
        sleep_ns(20000);
    }
    return NULL;
}

static PVOID ds_create(int slot, uint64_t generation)
{
    stortimer_adapter_config config = {.extension_size = 64, .half_duplex = (BOOLEAN)slot};
    PVOID extension = NULL;
    if (stortimer_adapter_create(&config, &extension) != STOR_STATUS_SUCCESS) {
        ds_violation("stortimer_adapter_create failed");
        return NULL;
    }
    *(uint64_t *)extension = generation; /* the miniport's own data */
    for (int k = 0; k < DS_DPCS; k++)
        StorPortInitializeDpc(extension, &ds_dpc_objects[slot][k], ds_dpc_routine);
    if (StorPortInitializeTimer(extension, &ds_slots[slot].timer) != STOR_STATUS_SUCCESS ||
        StorPortRequestTimer(extension, ds_slots[slot].timer, ds_timer_callback,
                             (PVOID)(uintptr_t)slot, 1000, 0) != STOR_STATUS_SUCCESS)
        ds_violation("a timer could not be initialized or armed");
    return extension;
}

/* Replaces the slot's adapter: issues made meanwhile race the removal. */
static void ds_replace(int slot, bool again)
{
    ds_slot *s = &ds_slots[slot];
    PVOID extension = atomic_load(&s->extension);
    uint64_t generation = atomic_fetch_add(&s->generation, 1); /* odd: being replaced */
    if (one_in(2))
        atomic_store(&s->extension, NULL); /* or the handler keeps issuing on it */
    ULONG leaked = 0;
    if (extension && stortimer_adapter_remove(extension, &leaked) != STOR_STATUS_SUCCESS)
        ds_violation("stortimer_adapter_remove failed");
    atomic_store(&s->dead, generation + 1);
    atomic_fetch_add(&ds_removals, 1);
    atomic_store(&s->extension, NULL);
    if (again) {
        PVOID fresh = ds_create(slot, generation + 2);
        atomic_store(&s->generation, generation + 2);
        atomic_store(&s->extension, fresh);
    }
}

static void *ds_churn(void *unused)
{
    (void)unused;
    while (!atomic_load(&ds_stop_churn)) {
        sleep_ns(20000000 + random_below(30000000));
        /* A DPC issued at PASSIVE_LEVEL too, now and then. */
        ds_issue((int)random_below(DS_SLOTS), (int)random_below(DS_DPCS));
        ds_replace((int)random_below(DS_SLOTS), true);
    }
    return NULL;
}

/* S16.9: after every hand-over, a Resume at PASSIVE_LEVEL ends the pause. */
static void ds_check_resume(int slot)
{
    PVOID extension = atomic_load(&ds_slots[slot].extension);
    stortimer_pause_state state;
    if (!StorPortResume(extension) || !StorPortResumeDevice(extension, 0, 1, 0))
        ds_violation("a Resume at PASSIVE_LEVEL answered FALSE (S16.5)");
    if (stortimer_adapter_pause_state(extension, &state) != STOR_STATUS_SUCCESS || state.paused)
        ds_violation("the adapter is still paused after a Resume at PASSIVE_LEVEL (S16.9)");
    if (stortimer_unit_pause_state(extension, 0, 1, 0, &state) != STOR_STATUS_SUCCESS ||
        state.paused)
        ds_violation("a unit is still paused after a ResumeDevice at PASSIVE_LEVEL (S16.9)");
}

static void ds_expect(const char *counter, uint64_t library, uint64_t expected)
{
    if (library == expected)
        return;
    char text[200];
    snprintf(text, sizeof text, "the library counts %llu %s, the test %llu (S14.15)",
             (unsigned long long)library, counter, (unsigned long long)expected);
    ds_violation(text);
}

/* Misuse reports are expected here (an issue from a DPC routine while its
 * adapter is being removed): counted, not failed. */
static _Atomic uint64_t ds_reports;

static void ds_on_report(const char *message, void *context)
{
    (void)message;
    (void)context;
    atomic_fetch_add(&ds_reports, 1);
}

bool dpc_signal_stress(double seconds)
{
    stortimer_set_report_handler(ds_on_report, NULL);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = ds_on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &action, NULL);
    stortimer_stats before, after;
    stortimer_stats_read(NULL, &before);
    for (int slot = 0; slot < DS_SLOTS; slot++)
        atomic_store(&ds_slots[slot].extension, ds_create(slot, 0));

    pthread_t signaller, churn;
    pthread_create(&ds_receiver_thread, NULL, ds_receiver, NULL);
    pthread_create(&signaller, NULL, ds_signaller, NULL);
    pthread_create(&churn, NULL, ds_churn, NULL);
    sleep_ns((uint64_t)(seconds * NS_PER_S));
    atomic_store(&ds_stop_signals, true);
    pthread_join(signaller, NULL);
    atomic_store(&ds_stop_churn, true);
    pthread_join(churn, NULL);
    atomic_store(&ds_stop_receiver, true);
    pthread_join(ds_receiver_thread, NULL);
    signal(SIGUSR1, SIG_IGN);

    /* The periodic timers pause unit 1 now and then: stop that, and wait
     * for a callback under way (FreeTimer waits for it, S6.4.1), so that
     * the check below sees only what was handed over before it. */
    atomic_store(&ds_quiet, true);
    for (int slot = 0; slot < DS_SLOTS; slot++)
        if (StorPortFreeTimer(atomic_load(&ds_slots[slot].extension), ds_slots[slot].timer) !=
            STOR_STATUS_SUCCESS)
            ds_violation("the periodic timer could not be freed");
    for (int slot = 0; slot < DS_SLOTS; slot++) {
        ds_check_resume(slot);
        ds_replace(slot, false);
    }
    stortimer_stats_read(NULL, &after);
    uint64_t issued = atomic_load(&ds_issued_true), started = atomic_load(&ds_started);
    uint64_t dropped = after.dpcs_dropped - before.dpcs_dropped;
    ds_expect("DPC issues answered TRUE", after.dpcs_issued - before.dpcs_issued, issued);
    ds_expect("DPC routine starts", after.dpcs_started - before.dpcs_started, started);
    ds_expect("DPC routine returns", after.dpcs_returned - before.dpcs_returned,
              atomic_load(&ds_returned));
    ds_expect("starts and drops for as many accepted issues (S14.4, S14.13)", started + dropped,
              issued);
    printf("stress dpc-signals: %.1f s, %llu signals, %llu DPC issues accepted (%llu refused), "
           "%llu routines run, %llu dropped by %llu removals, %llu pause calls (%llu FALSE), "
           "%llu violations\n",
           seconds, (unsigned long long)atomic_load(&ds_signals), (unsigned long long)issued,
           (unsigned long long)atomic_load(&ds_issued_false), (unsigned long long)started,
           (unsigned long long)dropped, (unsigned long long)atomic_load(&ds_removals),
           (unsigned long long)(atomic_load(&ds_pauses_true) + atomic_load(&ds_pauses_false)),
           (unsigned long long)atomic_load(&ds_pauses_false),
           (unsigned long long)atomic_load(&ds_violations));
    fflush(stdout);
    stortimer_set_report_handler(on_library_report, NULL);
    return atomic_load(&ds_violations) == 0;
}
