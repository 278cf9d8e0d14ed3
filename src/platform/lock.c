/* lock.c - owner-aware mutexes (lock.h). */
#include "platform/lock.h"

#include "platform/thread_state.h"

bool st_lock_init(st_lock *lock)
{
    atomic_init(&lock->owner, NULL);
    return st_mutex_init(&lock->mutex);
}

void st_lock_destroy(st_lock *lock)
{
    st_mutex_destroy(&lock->mutex);
}

void st_lock_acquire(st_lock *lock)
{
    st_mutex_lock(&lock->mutex);
    atomic_store_explicit(&lock->owner, st_thread_token(), memory_order_relaxed);
}

bool st_lock_try_acquire(st_lock *lock)
{
    if (!st_mutex_trylock(&lock->mutex))
        return false;
    atomic_store_explicit(&lock->owner, st_thread_token(), memory_order_relaxed);
    return true;
}

void st_lock_release(st_lock *lock)
{
    atomic_store_explicit(&lock->owner, NULL, memory_order_relaxed);
    st_mutex_unlock(&lock->mutex);
}

bool st_lock_held_by_me(const st_lock *lock)
{
    /* Only the owner itself can see its own token here, so relaxed is exact. */
    return atomic_load_explicit(&lock->owner, memory_order_relaxed) == st_thread_token();
}
