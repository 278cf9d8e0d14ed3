/* sync.c - creating pthread objects, each a fault point, and the spin
 * lock's contended path (sync.h). */
#include "platform/sync.h"

#include "platform/fault.h"

#include <sched.h>

/* Spins this many times before each yield: about a critical section's
 * length. */
#define ST_SPINS_BEFORE_YIELD 64

static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void st_spin_lock_contended(st_spinlock *lock)
{
    for (;;) {
        for (int i = 0; i < ST_SPINS_BEFORE_YIELD; i++) {
            if (!atomic_load_explicit(&lock->held, memory_order_relaxed) &&
                !atomic_exchange_explicit(&lock->held, 1, memory_order_acquire))
                return;
            spin_pause();
        }
        sched_yield();
    }
}

bool st_mutex_init(st_mutex *mutex)
{
    if (st_fault_strikes(ST_FAULT_SYNC))
        return false;
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0)
        return false;
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    bool ok = pthread_mutex_init(&mutex->m, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    return ok;
}

void st_mutex_destroy(st_mutex *mutex)
{
    pthread_mutex_destroy(&mutex->m);
}

bool st_cond_init(st_cond *cond)
{
    return !st_fault_strikes(ST_FAULT_SYNC) && pthread_cond_init(&cond->c, NULL) == 0;
}

void st_cond_destroy(st_cond *cond)
{
    pthread_cond_destroy(&cond->c);
}

bool st_thread_start(st_os_thread *thread, void *(*start)(void *), void *arg)
{
    return !st_fault_strikes(ST_FAULT_THREAD) && pthread_create(&thread->t, NULL, start, arg) == 0;
}

void st_thread_join(st_os_thread *thread)
{
    pthread_join(thread->t, NULL);
}
