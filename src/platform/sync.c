/* sync.c - creating pthread objects, each a fault point (sync.h). */
#include "platform/sync.h"

#include "platform/fault.h"

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
