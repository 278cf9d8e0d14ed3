/*
 * alloc.h - every resource the library asks the system for: memory,
 * threads and synchronization objects. They all come through here, so that
 * a fault-injection build (fault.h) can make any one of them fail.
 */
#ifndef STORTIMER_ALLOC_H
#define STORTIMER_ALLOC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Memory given back with st_free. */
void *st_calloc(size_t count, size_t size);
void *st_realloc(void *ptr, size_t size);
void st_free(void *ptr);

/*
 * Memory kept for the life of the process (the registry's slot tables:
 * handles must stay resolvable forever). Told apart so that a leak check
 * can count everything else. st_free_retained undoes a failed set-up only.
 */
void *st_calloc_retained(size_t count, size_t size); /* zeroed, 64-byte aligned */
void st_free_retained(void *ptr);

/* pthread_mutex_init / pthread_cond_init with default attributes. */
bool st_mutex_init(pthread_mutex_t *mutex);
bool st_cond_init(pthread_cond_t *cond);

/* pthread_create with default attributes. */
bool st_thread_create(pthread_t *thread, void *(*start)(void *), void *arg);

#endif
