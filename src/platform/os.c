/* os.c - Linux: clock_gettime, sched_getcpu, gettid, futexes (os.h). */
#include "platform/os.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t), "a futex is a plain 32-bit word");

/* Past this, a deadline is "never" for the kernel as well. */
#define ST_FAR_FUTURE_US (UINT64_C(1) << 60)
/* Stalls shorter than this spin; longer ones sleep. */
#define ST_SPIN_LIMIT_NS 100000u

uint64_t st_os_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* 1970-01-01 in 100-ns units since 1601-01-01 (369 years, 89 leap days). */
#define ST_UNIX_EPOCH_100NS INT64_C(116444736000000000)

int64_t st_os_realtime_100ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ST_UNIX_EPOCH_100NS + (int64_t)ts.tv_sec * 10000000 + ts.tv_nsec / 100;
}

unsigned st_os_cpu_count(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : (unsigned)cpus;
}

uint32_t st_os_thread_id(void)
{
    /* Asked once per thread; initial-exec TLS is signal-safe to read. */
    static _Thread_local uint32_t id __attribute__((tls_model("initial-exec")));
    if (!id)
        id = (uint32_t)syscall(SYS_gettid);
    return id;
}

void st_os_stall_ns(uint64_t ns)
{
    uint64_t target = st_os_monotonic_ns() + ns;
    if (ns >= ST_SPIN_LIMIT_NS) {
        struct timespec ts = {(time_t)(target / 1000000000u), (long)(target % 1000000000u)};
        while (st_os_monotonic_ns() < target) {
            int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            if (rc != 0 && rc != EINTR)
                break;
        }
    }
    while (st_os_monotonic_ns() < target) {
    }
}

void st_os_sleep_ns(uint64_t ns)
{
    struct timespec pause = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&pause, NULL);
}

void st_os_yield(void)
{
    sched_yield();
}

void st_os_finest_timer_slack(void)
{
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
}

bool st_os_wait_until(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_us)
{
    struct timespec deadline, *timeout = NULL;
    if (deadline_us < ST_FAR_FUTURE_US) {
        deadline.tv_sec = (time_t)(deadline_us / 1000000u);
        deadline.tv_nsec = (long)(deadline_us % 1000000u) * 1000;
        timeout = &deadline;
    }
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
    long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                      expected, timeout, NULL, FUTEX_BITSET_MATCH_ANY);
    return rc == 0 || errno != EAGAIN;
}

void st_os_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
}
