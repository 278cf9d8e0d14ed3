/*
 * instructions.c - two fixed workloads of the Storport timer routines on a
 * virtual clock, for counting instructions with valgrind's callgrind
 * (tools/bench-compare): counts do not depend on the machine's load, so
 * two builds of the library can be compared on a shared machine. It uses
 * only the public API, so it builds against any version of the library.
 *
 *   stortimer-instructions pairs N    N arm + cancel pairs among 1,000 timers
 *   stortimer-instructions expiry R   R rounds: arm 1,000 timers, fire them all
 *
 * Run with N and 2N: the difference of the two counts, over N, is the cost
 * of one operation without the set-up.
 */
#include <storport.h>
#include <stortimer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TIMERS = 1000 };

static unsigned long fired;

static VOID count_fire(PVOID extension, PVOID context)
{
    (void)extension;
    (void)context;
    fired++;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "pairs") && strcmp(argv[1], "expiry"))) {
        fprintf(stderr, "usage: stortimer-instructions pairs N | expiry ROUNDS\n");
        return 2;
    }
    long n = atol(argv[2]);
    stortimer_clock *clock = stortimer_clock_virtual_create();
    stortimer_adapter_config config = {.extension_size = 64, .clock = clock};
    static PVOID handles[TIMERS];
    PVOID ext = NULL;
    unsigned long errors = stortimer_adapter_create(&config, &ext) != STOR_STATUS_SUCCESS;
    for (int i = 0; i < TIMERS && !errors; i++)
        errors += StorPortInitializeTimer(ext, &handles[i]) != STOR_STATUS_SUCCESS;
    if (strcmp(argv[1], "pairs") == 0) {
        for (long k = 0; k < n && !errors; k++) {
            PVOID t = handles[k % TIMERS];
            errors += StorPortRequestTimer(ext, t, count_fire, NULL, 1000 + k % 977, 0) != 0;
            errors += StorPortRequestTimer(ext, t, count_fire, NULL, 0, 0) != 0;
        }
    } else {
        for (long r = 0; r < n && !errors; r++) {
            for (int i = 0; i < TIMERS; i++)
                errors += StorPortRequestTimer(ext, handles[i], count_fire, NULL,
                                               1 + (unsigned)(i * 7919) % 100000, 0) != 0;
            stortimer_clock_advance(clock, 200000);
        }
    }
    printf("%s %ld: %lu fired, %lu errors\n", argv[1], n, fired, errors);
    return errors ? 1 : 0;
}
