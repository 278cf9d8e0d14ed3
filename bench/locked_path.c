/*
 * locked_path.c - one StorPortRequestTimer arm, one cancel and the steps of
 * an advance that fires three callbacks, each between two calls of
 * locked_path_mark(), for tools/count-locked to single-step and count the
 * instructions, and the locked ones, of each. Public API only; the process
 * has had a second thread, as a miniport's host has (glibc's mutexes then
 * let go with a locked exchange).
 */
#include <storport.h>
#include <stortimer.h>

#include <pthread.h>

/* Between two calls, one counted segment. */
__attribute__((noinline)) void locked_path_mark(void)
{
    __asm__ volatile("" ::: "memory");
}

static VOID fired(PVOID extension, PVOID context)
{
    (void)extension;
    (void)context;
    locked_path_mark();
}

static VOID unused(PVOID extension, PVOID context)
{
    (void)extension;
    (void)context;
}

static void *nothing(void *arg)
{
    return arg;
}

int main(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, nothing, NULL) == 0)
        pthread_join(thread, NULL);
    stortimer_clock *clock = stortimer_clock_virtual_create();
    stortimer_adapter_config config = {.extension_size = 64, .clock = clock};
    PVOID ext = NULL, h[5];
    if (!clock || stortimer_adapter_create(&config, &ext) != STOR_STATUS_SUCCESS)
        return 1;
    for (int i = 0; i < 5; i++)
        if (StorPortInitializeTimer(ext, &h[i]) != STOR_STATUS_SUCCESS)
            return 1;
    /* Warm: each timer armed and cancelled once, in this processor's shard. */
    for (int i = 0; i < 5; i++) {
        StorPortRequestTimer(ext, h[i], unused, NULL, 100, 0);
        StorPortRequestTimer(ext, h[i], unused, NULL, 0, 0);
    }
    for (int i = 0; i < 3; i++)
        StorPortRequestTimer(ext, h[i], fired, NULL, 100 + (ULONGLONG)i, 0);
    locked_path_mark();
    StorPortRequestTimer(ext, h[3], unused, NULL, 50, 0); /* an arm */
    locked_path_mark();
    StorPortRequestTimer(ext, h[3], unused, NULL, 0, 0); /* a cancel */
    locked_path_mark();
    stortimer_clock_advance(clock, 200); /* marks in each callback */
    locked_path_mark();
    stortimer_adapter_remove(ext, NULL);
    stortimer_clock_destroy(clock);
    return 0;
}
