/*
 * signal_fixture.c - the signal storm of the S13.6 and S14.5 tests (see
 * signal_fixture.h).
 */
#include "signal_fixture.h"

#include <pthread.h>
#include <signal.h>

static _Atomic int keep_interrupting;
static pthread_t interrupted;

static void *interrupter(void *arg)
{
    (void)arg;
    while (atomic_load(&keep_interrupting)) {
        pthread_kill(interrupted, SIGUSR1);
        sleep_us(50);
    }
    return NULL;
}

test_thread *interrupter_start(void)
{
    interrupted = pthread_self();
    atomic_store(&keep_interrupting, 1);
    return thread_start(interrupter, NULL);
}

void interrupter_stop(test_thread *t)
{
    atomic_store(&keep_interrupting, 0);
    thread_join(t);
}
