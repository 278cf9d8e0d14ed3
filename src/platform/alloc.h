/*
 * alloc.h - memory, the one place the library asks libc for it. In a
 * fault-injection build (fault.h) each allocation can be made to fail.
 */
#ifndef STORTIMER_PLATFORM_ALLOC_H
#define STORTIMER_PLATFORM_ALLOC_H

#include <stddef.h>

/* Memory given back with st_free. */
void *st_calloc(size_t count, size_t size);
void *st_realloc(void *ptr, size_t size);
void st_free(void *ptr);

/*
 * A growing array with room for one more item: `items` itself while
 * `count` < *room, else a copy twice as large (`first` items the first
 * time), *room updated. NULL, with `items` and *room left as they were,
 * when memory is short or the size would overflow. `size`: one item's.
 */
void *st_room_for_one(void *items, size_t *room, size_t count, size_t size, size_t first);

/*
 * Memory kept for the life of the process (the slot tables of timers and
 * adapters: handles must stay resolvable forever). Told apart so that a
 * leak check can count everything else. st_free_retained undoes a failed
 * set-up only.
 */
void *st_calloc_retained(size_t count, size_t size); /* zeroed, 64-byte aligned */
void st_free_retained(void *ptr);

/* Retained memory in blocks of ST_HUGE_BLOCK bytes, aligned to it and
 * advised to be backed by huge pages (one TLB entry for the block instead
 * of 512), zeroed; NULL when memory is short. For tables whose lines are
 * reached at random: a large table of 4 KiB pages misses the TLB on
 * nearly every look. */
#define ST_HUGE_BLOCK ((size_t)2 << 20)
void *st_calloc_retained_huge(void);

#endif
