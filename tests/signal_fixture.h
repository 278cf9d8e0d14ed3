/*
 * signal_fixture.h - a signal storm for the tests whose SIGUSR1 handler must
 * land inside library calls (S13.6, S14.5).
 */
#ifndef STORTIMER_TEST_SIGNAL_FIXTURE_H
#define STORTIMER_TEST_SIGNAL_FIXTURE_H

#include "harness.h"

/* Starts a thread that sends SIGUSR1 to the calling thread every 50 us until
 * interrupter_stop(); one storm at a time. */
test_thread *interrupter_start(void);

/* Stops the storm and joins its thread. */
void interrupter_stop(test_thread *t);

#endif
