/*
 * sync.h - mutexes, condition variables and threads: pthreads behind the
 * seam, so that the layers above name no pthread type or call. Creating
 * one is a fault point in a fault-injection build (fault.h); using one is
 * an inline call with no cost over pthreads.
 */
#ifndef STORTIMER_PLATFORM_SYNC_H
#define STORTIMER_PLATFORM_SYNC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct st_mutex {
    pthread_mutex_t m;
} st_mutex;

typedef struct st_cond {
    pthread_cond_t c;
} st_cond;

typedef struct st_os_thread {
    pthread_t t;
} st_os_thread;

/* A mutex in static storage, ready without st_mutex_init (never fails). */
#define ST_MUTEX_INITIALIZER {PTHREAD_MUTEX_INITIALIZER}

/* An adaptive mutex (a waiter spins a little before it sleeps: the
 * library's critical sections are a few hundred nanoseconds); false when
 * the system refuses one. */
bool st_mutex_init(st_mutex *mutex);
void st_mutex_destroy(st_mutex *mutex);

static inline void st_mutex_lock(st_mutex *mutex)
{
    pthread_mutex_lock(&mutex->m);
}

static inline bool st_mutex_trylock(st_mutex *mutex)
{
    return pthread_mutex_trylock(&mutex->m) == 0;
}

static inline void st_mutex_unlock(st_mutex *mutex)
{
    pthread_mutex_unlock(&mutex->m);
}

/*
 * A spin lock, for critical sections of a few hundred nanoseconds that
 * never block nor call out (a shard's wheel). Taking it is one locked
 * instruction; letting it go is a plain release store. A mutex's release
 * is a second locked instruction, which waits for every store before it
 * to reach the cache: after a wheel operation that missed the cache, the
 * stores to the missed lines. A waiter spins a little, then yields its
 * processor, so a holder that was preempted gets to run. Needs no
 * creation and cannot fail.
 */
typedef struct st_spinlock {
    _Atomic uint32_t held;
} st_spinlock;

#define ST_SPINLOCK_INITIALIZER {0}

void st_spin_lock_contended(st_spinlock *lock);

static inline void st_spin_lock(st_spinlock *lock)
{
    if (__builtin_expect(atomic_exchange_explicit(&lock->held, 1, memory_order_acquire), 0))
        st_spin_lock_contended(lock);
}

/* Takes the lock only if it is free now. */
static inline bool st_spin_trylock(st_spinlock *lock)
{
    return !atomic_load_explicit(&lock->held, memory_order_relaxed) &&
           !atomic_exchange_explicit(&lock->held, 1, memory_order_acquire);
}

static inline void st_spin_unlock(st_spinlock *lock)
{
    atomic_store_explicit(&lock->held, 0, memory_order_release);
}

/* False when the system refuses one. */
bool st_cond_init(st_cond *cond);
void st_cond_destroy(st_cond *cond);

static inline void st_cond_wait(st_cond *cond, st_mutex *mutex)
{
    pthread_cond_wait(&cond->c, &mutex->m);
}

static inline void st_cond_broadcast(st_cond *cond)
{
    pthread_cond_broadcast(&cond->c);
}

/* Starts a thread running start(arg); false when it could not be made. */
bool st_thread_start(st_os_thread *thread, void *(*start)(void *), void *arg);
void st_thread_join(st_os_thread *thread);

#endif
