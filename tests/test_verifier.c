/*
 * The verifier (stortimer_verify_start, STORTIMER_VERIFY): each kind of
 * misuse it reports, tested with it on and shown to be a violation, and
 * the answers miniports rely on shown not to be. Each test names the
 * clause whose misuse it catches. The verifier is process-wide: each test
 * turns it on and off again, and counts the violations its own calls add.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Turns the verifier on (report mode) with reports captured; at the end of
 * the test, off again. Returns the violation count at the start. */
static void verifier_off(void *unused)
{
    (void)unused;
    stortimer_verify_start(STORTIMER_VERIFY_OFF);
    stortimer_verify_set_routine_limit(100);
}

static ULONGLONG verifier_on(void)
{
    CHECK_STATUS(stortimer_verify_start(STORTIMER_VERIFY_REPORT), STOR_STATUS_SUCCESS);
    test_at_end(verifier_off, NULL);
    reports_capture();
    return stortimer_verify_violations();
}

/* The violations added since `before`. */
static ULONGLONG added(ULONGLONG before)
{
    return stortimer_verify_violations() - before;
}

static VOID nothing(PVOID e, PVOID c)
{
    (void)e, (void)c;
}

TEST(s10_verifier_is_off_by_default_and_rejects_unknown_modes)
{
    CHECK_EQ(stortimer_verify_mode(), STORTIMER_VERIFY_OFF);
    CHECK_STATUS(stortimer_verify_start(7), STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(stortimer_verify_mode(), STORTIMER_VERIFY_OFF);
    ULONGLONG before = stortimer_verify_violations();
    int forged;
    reports_capture();
    PVOID handle = NULL;
    CHECK_STATUS(StorPortInitializeTimer(&forged, &handle), STOR_STATUS_INVALID_PARAMETER);
    reports_release();
    CHECK_EQ(added(before), 0);
}

/* ---- refused calls ---- */

TEST(s12_2_verifier_reports_a_forged_extension_with_routine_status_and_caller)
{
    ULONGLONG before = verifier_on();
    int forged;
    PVOID handle = NULL;
    CHECK_STATUS(StorPortInitializeTimer(&forged, &handle), STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("verifier: StorPortInitializeTimer("));
    CHECK(reports_contain("answered STOR_STATUS_INVALID_PARAMETER"));
    CHECK(reports_contain("(called from 0x"));
    CHECK(reports_contain("verifier:   #0 ")); /* a backtrace */
    reports_release();
}

TEST(s5_3_verifier_takes_busy_as_an_answer_not_a_violation)
{
    PVOID ext = virtual_adapter(0);
    PVOID t = new_timer(ext);
    ULONGLONG before = verifier_on();
    CHECK_STATUS(StorPortRequestTimer(ext, t, nothing, NULL, 100, 0), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortRequestTimer(ext, t, nothing, NULL, 100, 0), STOR_STATUS_BUSY);
    CHECK_EQ(added(before), 0);
    reports_release();
    fx_remove(ext);
}

TEST(s7_5_verifier_reports_a_counted_refusal_of_a_void_routine)
{
    ULONGLONG before = verifier_on();
    int forged;
    StorPortNotification(RequestTimerCall, &forged, nothing, 100);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("StorPortNotification(RequestTimerCall)"));
    reports_release();
}

TEST(s14_3_verifier_reports_a_dpc_initialized_while_queued)
{
    PVOID ext = virtual_adapter(0);
    static STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, (PHW_DPC_ROUTINE)(void (*)(void))nothing);
    ULONGLONG before = verifier_on();
    CHECK(StorPortIssueDpc(ext, &dpc, NULL, NULL));
    CHECK(!StorPortIssueDpc(ext, &dpc, NULL, NULL)); /* queued: an answer, not misuse */
    CHECK_EQ(added(before), 0);
    StorPortInitializeDpc(ext, &dpc, (PHW_DPC_ROUTINE)(void (*)(void))nothing);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("StorPortInitializeDpc("));
    reports_release();
    fx_remove(ext);
}

/* ---- misuse Windows would not survive ---- */

TEST(s8_3_verifier_reports_a_recursive_startio_lock)
{
    PVOID ext = virtual_adapter(0);
    ULONGLONG before = verifier_on();
    STOR_LOCK_HANDLE outer, inner;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &outer);
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &inner);
    StorPortReleaseSpinLock(ext, &outer);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("lock misuse in StorPortAcquireSpinLock"));
    reports_release();
    fx_remove(ext);
}

static VOID remove_self(PVOID e, PVOID c)
{
    *(ULONG *)c = stortimer_adapter_remove(e, NULL);
}

TEST(s3_4_verifier_reports_removal_from_the_adapters_own_callback)
{
    PVOID ext = virtual_adapter(0);
    PVOID t = new_timer(ext);
    ULONG answer = 0;
    ULONGLONG before = verifier_on();
    arm(ext, t, remove_self, &answer, 10, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 10);
    CHECK_STATUS(answer, STOR_STATUS_INVALID_DEVICE_STATE);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("called from one of its own callbacks"));
    reports_release();
    StorPortFreeTimer(ext, t);
    fx_remove(ext);
}

TEST(s6_4_1_verifier_reports_freeing_a_pending_timer_under_the_startio_lock)
{
    PVOID ext = virtual_adapter(0);
    PVOID idle = new_timer(ext), pending = new_timer(ext);
    ULONGLONG before = verifier_on();
    arm(ext, pending, nothing, NULL, 100, 0);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    CHECK_STATUS(StorPortFreeTimer(ext, idle), STOR_STATUS_SUCCESS); /* nothing to wait for */
    CHECK_EQ(added(before), 0);
    CHECK_STATUS(StorPortFreeTimer(ext, pending), STOR_STATUS_SUCCESS);
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("of a pending timer while holding the StartIo lock"));
    reports_release();
    fx_remove(ext);
}

static VOID advance_inside(PVOID e, PVOID c)
{
    (void)e, (void)c;
    stortimer_clock_advance(virtual_fixture()->clock, 5);
}

TEST(s11_2_verifier_reports_an_advance_from_a_callback)
{
    PVOID ext = virtual_adapter(0);
    PVOID t = new_timer(ext);
    ULONGLONG before = verifier_on();
    arm(ext, t, advance_inside, NULL, 10, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 10);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("verifier: stortimer_clock_advance(0x"));
    reports_release();
    fx_remove(ext);
}

/* ---- timing rules ---- */

TEST(s17_2_verifier_reports_stalls_above_1000_us_only)
{
    ULONGLONG before = verifier_on();
    stortimer_clock *clock = stortimer_clock_virtual_create();
    stortimer_clock *previous = stortimer_thread_bind_clock(clock);
    StorPortStallExecution(1000);
    CHECK_EQ(added(before), 0);
    StorPortStallExecution(1001);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("StorPortStallExecution(1001): above 1,000 us"));
    stortimer_thread_bind_clock(previous);
    stortimer_clock_destroy(clock);
    reports_release();
}

static VOID stall_for(PVOID e, PVOID c)
{
    (void)e;
    StorPortStallExecution((ULONG)(uintptr_t)c);
}

TEST(s8_1_verifier_reports_a_callback_over_the_routine_limit_in_virtual_time)
{
    PVOID ext = virtual_adapter(0);
    PVOID t = new_timer(ext);
    ULONGLONG before = verifier_on();
    arm(ext, t, stall_for, (PVOID)(uintptr_t)100, 10, 0); /* at the limit: fine */
    stortimer_clock_advance(virtual_fixture()->clock, 10);
    CHECK_EQ(added(before), 0);
    arm(ext, t, stall_for, (PVOID)(uintptr_t)150, 10, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 10);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("ran 150 us of virtual time"));
    CHECK_STATUS(stortimer_verify_set_routine_limit(200), STOR_STATUS_SUCCESS);
    arm(ext, t, stall_for, (PVOID)(uintptr_t)150, 10, 0);
    stortimer_clock_advance(virtual_fixture()->clock, 10);
    CHECK_EQ(added(before), 1);
    reports_release();
    fx_remove(ext);
}

static VOID dpc_stalls(PSTOR_DPC d, PVOID e, PVOID a1, PVOID a2)
{
    (void)d, (void)e, (void)a2;
    StorPortStallExecution((ULONG)(uintptr_t)a1);
}

TEST(s14_6_verifier_reports_a_dpc_routine_over_the_routine_limit)
{
    PVOID ext = virtual_adapter(0);
    static STOR_DPC dpc;
    StorPortInitializeDpc(ext, &dpc, dpc_stalls);
    ULONGLONG before = verifier_on();
    CHECK(StorPortIssueDpc(ext, &dpc, (PVOID)(uintptr_t)500, NULL));
    stortimer_clock_advance(virtual_fixture()->clock, 0);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("DPC routine"));
    reports_release();
    fx_remove(ext);
}

static VOID spin_cpu(PVOID e, PVOID c)
{
    (void)e;
    uint64_t start = mono_ns();
    while (mono_ns() - start < (uint64_t)(uintptr_t)c * 1000u) {
    }
}

TEST_REAL(s8_1_verifier_measures_a_real_clock_callback_by_its_cpu_time)
{
    PVOID ext = fx_adapter(fx, 0);
    PVOID t = new_timer(ext);
    ULONGLONG before = verifier_on();
    probe p;
    probe_init(&p, fx, ext);
    arm(ext, t, spin_cpu, (PVOID)(uintptr_t)20000, 100, 0); /* 20 ms of CPU */
    sleep_us(200000);
    for (int i = 0; i < 100 && added(before) == 0; i++)
        sleep_us(20000);
    CHECK(added(before) >= 1);
    CHECK(reports_contain("of CPU time, over the limit of 100 us"));
    reports_release();
}

/* ---- leaks ---- */

TEST(s3_4_verifier_names_each_timer_its_adapters_removal_frees)
{
    PVOID ext = virtual_adapter(0);
    ULONGLONG before = verifier_on();
    PVOID kept = new_timer(ext), freed = new_timer(ext);
    CHECK_STATUS(StorPortFreeTimer(ext, freed), STOR_STATUS_SUCCESS);
    ULONG leaked = 0;
    CHECK_STATUS(stortimer_adapter_remove(ext, &leaked), STOR_STATUS_SUCCESS);
    CHECK_EQ(leaked, 1);
    CHECK_EQ(added(before), 1);
    char text[64];
    snprintf(text, sizeof text, "timer %p of adapter", kept);
    CHECK(reports_contain(text));
    CHECK(reports_contain("StorPortInitializeTimer called from 0x"));
    reports_release();
}

/* Runs `body` in a child with stderr to a pipe; its exit status and what it
 * wrote. */
static int child_run(void (*body)(void), char *out, size_t size)
{
    int pipe_fds[2];
    CHECK(pipe(pipe_fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(pipe_fds[1], STDERR_FILENO);
        stortimer_set_report_handler(NULL, NULL);
        body();
        exit(0);
    }
    close(pipe_fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got < size - 1 && (n = read(pipe_fds[0], out + got, size - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(pipe_fds[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    return status;
}

static void leave_an_adapter_and_a_clock(void)
{
    stortimer_verify_start(STORTIMER_VERIFY_REPORT);
    stortimer_clock *clock = stortimer_clock_virtual_create();
    stortimer_adapter_config config = {.clock = clock};
    PVOID ext;
    stortimer_adapter_create(&config, &ext);
}

TEST(s3_4_verifier_reports_adapters_and_clocks_alive_at_exit)
{
    char out[4096];
    int status = child_run(leave_an_adapter_and_a_clock, out, sizeof out);
    CHECK(WIFEXITED(status));
    if (!strstr(out, "1 adapter(s) still alive at exit") ||
        !strstr(out, "1 virtual clock(s) still alive at exit") ||
        !strstr(out, "verifier: 2 violation(s) in this process"))
        test_failf(__FILE__, __LINE__, "the child wrote \"%s\"", out);
}

static void misuse_in_abort_mode(void)
{
    stortimer_verify_start(STORTIMER_VERIFY_ABORT);
    int forged;
    PVOID handle;
    StorPortInitializeTimer(&forged, &handle);
    fprintf(stderr, "not stopped\n");
}

TEST(s12_2_verifier_in_abort_mode_stops_at_the_first_violation)
{
    char out[4096];
    int status = child_run(misuse_in_abort_mode, out, sizeof out);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    if (!strstr(out, "verifier: StorPortInitializeTimer(") || strstr(out, "not stopped") ||
        !strstr(out, "stopping the process at the first violation"))
        test_failf(__FILE__, __LINE__, "the child wrote \"%s\"", out);
}

TEST(s12_2_verifier_counts_above_dispatch_without_printing)
{
    ULONGLONG before = verifier_on();
    int forged;
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    StorPortRequestTimer(&forged, (PVOID)1, nothing, NULL, 10, 0);
    stortimer_irql_lower(old);
    CHECK_EQ(added(before), 1);
    CHECK(!reports_contain("verifier:"));
    reports_release();
}

/* ---- the routines of S13-S16 ---- */

TEST(s13_7_verifier_reports_a_query_of_a_forged_extension)
{
    ULONGLONG before = verifier_on();
    int forged;
    LARGE_INTEGER counter;
    CHECK_STATUS(StorPortQueryPerformanceCounter(&forged, NULL, &counter),
                 STOR_STATUS_INVALID_PARAMETER);
    StorPortNotification(QueryTickCount, &forged, &counter);
    CHECK_EQ(added(before), 2);
    CHECK(reports_contain("StorPortQueryPerformanceCounter("));
    CHECK(reports_contain("StorPortNotification(QueryTickCount"));
    reports_release();
}

static BOOLEAN sync_nothing(PVOID e, PVOID c)
{
    (void)e, (void)c;
    return TRUE;
}

TEST(s15_1_verifier_reports_synchronize_access_under_the_interrupt_lock)
{
    /* Half duplex: the StartIo lock is the interrupt lock, and its holder
     * is at DISPATCH_LEVEL, where the report is printed. */
    PVOID ext = fx_adapter_config(virtual_fixture(),
                                  (stortimer_adapter_config){.half_duplex = TRUE,
                                                             .clock = virtual_fixture()->clock});
    ULONGLONG before = verifier_on();
    CHECK(StorPortSynchronizeAccess(ext, sync_nothing, NULL));
    CHECK_EQ(added(before), 0);
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    CHECK(StorPortSynchronizeAccess(ext, sync_nothing, NULL)); /* runs directly */
    StorPortReleaseSpinLock(ext, &lock);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("StorPortSynchronizeAccess: the thread already holds"));
    reports_release();
    fx_remove(ext);
}

TEST(s16_3_verifier_reports_a_pause_of_a_forged_extension)
{
    ULONGLONG before = verifier_on();
    int forged;
    CHECK(!StorPortPause(&forged, 1));
    CHECK(!StorPortResumeDevice(&forged, 0, 0, 0));
    CHECK_EQ(added(before), 2);
    CHECK(reports_contain("answered FALSE: not the extension of a live adapter"));
    reports_release();
}

static BOOLEAN claim(PVOID e)
{
    (void)e;
    return TRUE;
}

TEST(s3_1_verifier_reports_an_interrupt_call_on_a_forged_extension)
{
    ULONGLONG before = verifier_on();
    int forged;
    CHECK_STATUS(stortimer_adapter_interrupt(&forged, claim, NULL), STOR_STATUS_INVALID_PARAMETER);
    CHECK_EQ(added(before), 1);
    CHECK(reports_contain("stortimer_adapter_interrupt("));
    reports_release();
}
