/*
 * verify.c - the verifier's mode, findings and exit summary (verify.h,
 * stortimer_verify_*). STORTIMER_VERIFY=report or =abort in the
 * environment turns it on when the program starts.
 */
#include "platform/verify.h"

#include "platform/sync.h"
#include "platform/thread_state.h"

#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Atomic unsigned st_verify_level;
static _Atomic uint64_t findings, findings_unprinted;
static _Atomic uint64_t routine_limit_us = 100;

#define ST_EXIT_CHECKS 4
static void (*exit_checks[ST_EXIT_CHECKS])(void);
static st_mutex exit_lock = ST_MUTEX_INITIALIZER;
static bool exit_registered;

/* Writes a fixed text with write(2): async-signal-safe. */
static void write_text(const char *text)
{
    ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
    (void)ignored;
}

/* Stops the process as a bug check would, after a clear last line. */
static _Noreturn void stop(void)
{
    write_text("stortimer: verifier: stopping the process at the first violation "
               "(abort mode)\n");
    abort();
}

/* A backtrace through the report handler, one frame a line. */
static void report_backtrace(void)
{
    void *frames[24];
    int n = backtrace(frames, 24);
    char **names = backtrace_symbols(frames, n);
    for (int i = 2; i < n; i++) /* past this file's own frames */
        st_report("verifier:   #%d %s", i - 2, names ? names[i] : "?");
    free(names);
}

void st_verify_finding(const void *caller, const char *format, ...)
{
    atomic_fetch_add(&findings, 1);
    bool abort_mode = atomic_load(&st_verify_level) == STORTIMER_VERIFY_ABORT;
    if (st_self.irql > DISPATCH_LEVEL) {
        atomic_fetch_add(&findings_unprinted, 1);
        if (abort_mode) {
            write_text("stortimer: verifier: a violation above DISPATCH_LEVEL\n");
            stop();
        }
        return;
    }
    char text[400];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(args);
    if (caller) {
        st_report("verifier: %s (called from %p)", text, caller);
        report_backtrace();
    } else {
        st_report("verifier: %s", text);
    }
    if (abort_mode)
        stop();
}

uint64_t st_verify_routine_limit_us(void)
{
    return atomic_load_explicit(&routine_limit_us, memory_order_relaxed);
}

uint64_t st_verify_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* At exit: the layers' checks, then one summary line if anything was found. */
static void at_exit(void)
{
    if (!atomic_load(&st_verify_level))
        return;
    for (int i = 0; i < ST_EXIT_CHECKS && exit_checks[i]; i++)
        exit_checks[i]();
    uint64_t n = atomic_load(&findings), unprinted = atomic_load(&findings_unprinted);
    if (n && unprinted)
        fprintf(stderr, "stortimer: verifier: %llu violation(s) in this process, %llu of them "
                        "above DISPATCH_LEVEL (counted, not printed)\n",
                (unsigned long long)n, (unsigned long long)unprinted);
    else if (n)
        fprintf(stderr, "stortimer: verifier: %llu violation(s) in this process\n",
                (unsigned long long)n);
}

void st_verify_at_exit(void (*check)(void))
{
    st_mutex_lock(&exit_lock);
    int i = 0;
    while (check && i < ST_EXIT_CHECKS && exit_checks[i] && exit_checks[i] != check)
        i++;
    if (check && i < ST_EXIT_CHECKS)
        exit_checks[i] = check;
    if (!exit_registered)
        exit_registered = atexit(at_exit) == 0;
    st_mutex_unlock(&exit_lock);
}

/* ---- the host API ---- */

ULONG stortimer_verify_start(ULONG mode)
{
    if (mode > STORTIMER_VERIFY_ABORT)
        return STOR_STATUS_INVALID_PARAMETER;
    atomic_store(&st_verify_level, mode);
    if (mode)
        st_verify_at_exit(NULL);
    return STOR_STATUS_SUCCESS;
}

ULONG stortimer_verify_mode(void)
{
    return atomic_load(&st_verify_level);
}

ULONGLONG stortimer_verify_violations(void)
{
    return atomic_load(&findings);
}

ULONG stortimer_verify_set_routine_limit(ULONGLONG microseconds)
{
    atomic_store(&routine_limit_us, microseconds);
    return STOR_STATUS_SUCCESS;
}

/* STORTIMER_VERIFY=report|abort turns it on when the program starts. */
__attribute__((constructor)) static void verify_from_environment(void)
{
    const char *mode = getenv("STORTIMER_VERIFY");
    if (!mode || !*mode)
        return;
    if (strcmp(mode, "report") == 0)
        stortimer_verify_start(STORTIMER_VERIFY_REPORT);
    else if (strcmp(mode, "abort") == 0)
        stortimer_verify_start(STORTIMER_VERIFY_ABORT);
    else
        fprintf(stderr, "stortimer: STORTIMER_VERIFY=%s: not \"report\" or \"abort\" "
                        "(the verifier stays off)\n", mode);
}
