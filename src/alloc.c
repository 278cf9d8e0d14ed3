/*
 * alloc.c - the library's resources, behind one seam: libc's allocator,
 * pthread mutexes, condition variables and threads. Built with
 * STORTIMER_FAULT_INJECTION, each call is also a fault point (fault.h).
 */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef STORTIMER_FAULT_INJECTION
#include "fault.h"

#include <stdatomic.h>

static _Atomic uint64_t points[ST_FAULT_KINDS];
static _Atomic uint64_t planned_kind, planned_nth, injected;
static _Atomic int64_t live_allocations;

void st_fault_reset(void)
{
    atomic_store(&planned_nth, 0);
    for (int k = 0; k < ST_FAULT_KINDS; k++)
        atomic_store(&points[k], 0);
    atomic_store(&injected, 0);
}

void st_fault_plan(st_fault_kind kind, uint64_t nth)
{
    atomic_store(&planned_kind, (uint64_t)kind);
    atomic_store(&planned_nth, nth);
}

uint64_t st_fault_points(st_fault_kind kind)
{
    return atomic_load(&points[kind]);
}

uint64_t st_fault_injected(void)
{
    return atomic_load(&injected);
}

int64_t st_fault_live_allocations(void)
{
    return atomic_load(&live_allocations);
}

/* Counts a fault point; true when it is the one planned to fail. */
static bool fails(st_fault_kind kind)
{
    uint64_t n = atomic_fetch_add(&points[kind], 1) + 1;
    if (atomic_load(&planned_kind) != (uint64_t)kind || atomic_load(&planned_nth) != n)
        return false;
    atomic_fetch_add(&injected, 1);
    return true;
}

static void count_live(const void *ptr, int64_t delta)
{
    if (ptr)
        atomic_fetch_add(&live_allocations, delta);
}
#else
#define fails(kind) false
#define count_live(ptr, delta) ((void)0)
#endif

void *st_calloc(size_t count, size_t size)
{
    if (fails(ST_FAULT_MEMORY))
        return NULL;
    void *ptr = calloc(count ? count : 1, size ? size : 1);
    count_live(ptr, 1);
    return ptr;
}

void *st_realloc(void *ptr, size_t size)
{
    if (fails(ST_FAULT_MEMORY))
        return NULL;
    void *moved = realloc(ptr, size ? size : 1);
    if (!ptr)
        count_live(moved, 1);
    return moved;
}

void st_free(void *ptr)
{
    count_live(ptr, -1);
    free(ptr);
}

void *st_calloc_retained(size_t count, size_t size)
{
    if (fails(ST_FAULT_MEMORY))
        return NULL;
    count = count ? count : 1;
    size = size ? size : 1;
    if (count > SIZE_MAX / size)
        return NULL;
    /* Cache-line aligned: a 64-byte timer is then one line, not two. */
    size_t bytes = (count * size + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void st_free_retained(void *ptr)
{
    free(ptr);
}

bool st_mutex_init(pthread_mutex_t *mutex)
{
    if (fails(ST_FAULT_SYNC))
        return false;
    /* The library's critical sections are a few hundred nanoseconds: a
     * waiter spins a little before it sleeps, instead of paying a futex
     * sleep and wake-up for every contended acquisition. */
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0)
        return false;
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    bool ok = pthread_mutex_init(mutex, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    return ok;
}

bool st_cond_init(pthread_cond_t *cond)
{
    return !fails(ST_FAULT_SYNC) && pthread_cond_init(cond, NULL) == 0;
}

bool st_thread_create(pthread_t *thread, void *(*start)(void *), void *arg)
{
    return !fails(ST_FAULT_THREAD) && pthread_create(thread, NULL, start, arg) == 0;
}
