/*
 * impl_timerfd.c - one kernel timer per timer: timerfd_create per timer,
 * timerfd_settime to arm and (with zero) to cancel, expiry read through
 * epoll. Measured at N = 1e3 only: each timer is a file descriptor.
 */
#include "cost.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

typedef struct tfd_state {
    int *fds;
    int epoll_fd;
    size_t n;
    uint64_t errors;
} tfd_state;

/* Asks for as many descriptors as the hard limit allows. */
static void raise_fd_limit(size_t needed)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < needed + 64) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

static void *tfd_create(size_t n)
{
    raise_fd_limit(n);
    tfd_state *s = calloc(1, sizeof *s);
    s->n = n;
    s->fds = alloc_touched(n * sizeof *s->fds);
    memset(s->fds, 0xff, n * sizeof *s->fds); /* -1: not created */
    s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epoll_fd < 0) {
        perror("stortimer-bench: epoll_create1");
        exit(1);
    }
    return s;
}

static void tfd_init_timers(void *state)
{
    tfd_state *s = state;
    for (size_t i = 0; i < s->n; i++) {
        s->fds[i] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
        if (s->fds[i] < 0 || epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->fds[i], &ev) != 0)
            s->errors++;
    }
}

static void settime(tfd_state *s, size_t i, uint64_t timeout_us)
{
    struct itimerspec spec = {
        .it_value = {.tv_sec = (time_t)(timeout_us / 1000000u),
                     .tv_nsec = (long)(timeout_us % 1000000u) * 1000},
    };
    s->errors += timerfd_settime(s->fds[i], 0, &spec, NULL) != 0;
}

static void tfd_arm(void *state, size_t i, uint64_t timeout_us)
{
    settime(state, i, timeout_us);
}

/* A zero it_value disarms (and clears a pending expiration). */
static void tfd_cancel(void *state, size_t i)
{
    settime(state, i, 0);
}

static void tfd_before_expire(void *state)
{
    (void)state;
    sleep_us(10000);
}

/*
 * The kernel fires the timers in its own interrupt context, which no user
 * program can time; what is measured is the delivery: epoll_wait for the
 * ready descriptors and one read() per expired timer.
 */
static uint64_t tfd_expire(void *state, uint64_t armed)
{
    tfd_state *s = state;
    struct epoll_event events[256];
    uint64_t fired = 0;
    while (fired < armed) {
        int ready = epoll_wait(s->epoll_fd, events, 256, 100);
        if (ready <= 0)
            break;
        for (int k = 0; k < ready; k++) {
            uint64_t expirations;
            if (read(s->fds[events[k].data.u64], &expirations, sizeof expirations) ==
                (ssize_t)sizeof expirations)
                fired++;
        }
    }
    return fired;
}

static uint64_t tfd_errors(void *state)
{
    return ((tfd_state *)state)->errors;
}

static void tfd_destroy(void *state)
{
    tfd_state *s = state;
    for (size_t i = 0; i < s->n; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    close(s->epoll_fd);
    free(s->fds);
    free(s);
}

static size_t tfd_fd_size(void)
{
    return sizeof(int);
}

const cost_impl impl_timerfd = {
    .name = "timerfd",
    .max_n = 1000,
    .expiry_min_us = 1, /* 0 would disarm */
    .expiry_max_us = 2000,
    .create = tfd_create,
    .init_timers = tfd_init_timers,
    .arm = tfd_arm,
    .cancel = tfd_cancel,
    .before_expire = tfd_before_expire,
    .expire = tfd_expire,
    .errors = tfd_errors,
    .destroy = tfd_destroy,
    .caller_bytes = sizeof(int),
    .struct_size = tfd_fd_size,
    .struct_note = "a descriptor (int); the kernel's timer is not process memory",
};
