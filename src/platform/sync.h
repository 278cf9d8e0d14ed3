/*
 * sync.h - mutexes, condition variables and threads: pthreads behind the
 * seam, so that the layers above name no pthread type or call. Creating
 * one is a fault point in a fault-injection build (fault.h); using one is
 * an inline call with no cost over pthreads.
 */
#ifndef STORTIMER_PLATFORM_SYNC_H
#define STORTIMER_PLATFORM_SYNC_H

#include <pthread.h>
#include <stdbool.h>

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
