/*
 * adapter_check.h - every invariant of one adapter, checked, like the
 * wheel's stw_check: for tests, the fuzzer's lock-step runner, and a
 * library built with STORTIMER_CHECKS, which checks the adapter after every
 * Storport timer routine and every callback.
 *
 * What holds for a live adapter, with its lock and its shard locks held:
 *   - each shard's wheel keeps its own invariants (stw_check);
 *   - every node in a wheel is the adapter's: its legacy slot, or a slot it
 *     owns with a live handle (no freed slot is in a wheel), in the shard
 *     its owner word names;
 *   - every pending arm word has exactly one live item: a node of that
 *     order in a wheel, or a published hand-over of that order, not both;
 *   - the counters agree: armed = fired + cancelled + pending, and the
 *     timers initialized and not freed are the live handles it owns;
 *   - its free list holds only its own dead slots, each once;
 *   - the legacy slot is its own for good, and live.
 * Arms and cancels made above DISPATCH_LEVEL change the arm word and the
 * hand-over queue without those locks: while one is under way the two
 * checks they blur (pending items, counters) are skipped, never failed.
 */
#ifndef STORTIMER_ADAPTERS_ADAPTER_CHECK_H
#define STORTIMER_ADAPTERS_ADAPTER_CHECK_H

#include "adapters/adapter.h"

#include <stddef.h>

/* Checks adapter `a` if it is the one `ref` found and still live (true if
 * not: there is nothing to check). Takes its lock. False, with the first
 * broken invariant described in why[size], when one is broken. */
bool st_adapter_check(const st_adapter_ref *ref, char *why, size_t size);

/* The same with the adapter lock already held (by the caller). */
bool st_adapter_check_locked(st_adapter *a, char *why, size_t size);

/* The same for the adapter of an extension (true for one that names no
 * live adapter). */
bool st_adapter_check_extension(const void *extension, char *why, size_t size);

/* In a build with STORTIMER_CHECKS: checks the adapter of `extension` (at
 * or below DISPATCH_LEVEL), and on a broken invariant reports it and
 * aborts. Otherwise nothing. */
#ifdef STORTIMER_CHECKS
void st_adapter_check_or_abort(const void *extension);
void st_adapter_check_locked_or_abort(st_adapter *a);
#else
#define st_adapter_check_or_abort(extension) ((void)0)
#define st_adapter_check_locked_or_abort(a) ((void)0)
#endif

#endif
