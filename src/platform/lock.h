/*
 * lock.h - the adapter's DpcLock, StartIoLock and InterruptLock.
 *
 * A mutex that knows its owner, so that a thread taking a lock it already
 * holds (a deadlock on Windows) is told so instead of hanging (SPEC S8.3).
 */
#ifndef STORTIMER_PLATFORM_LOCK_H
#define STORTIMER_PLATFORM_LOCK_H

#include "platform/sync.h"

#include <stdatomic.h>
#include <stdbool.h>

typedef struct st_lock {
    st_mutex mutex;
    _Atomic(const void *) owner; /* st_thread_token() of the holder, or NULL */
} st_lock;

/* False when the system refuses a mutex. */
bool st_lock_init(st_lock *lock);
void st_lock_destroy(st_lock *lock);
void st_lock_acquire(st_lock *lock);
bool st_lock_try_acquire(st_lock *lock);
void st_lock_release(st_lock *lock);
bool st_lock_held_by_me(const st_lock *lock);

#endif
