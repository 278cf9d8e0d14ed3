/*
 * alloc.h - every allocation of the library goes through here, so that a
 * test build can make any one of them fail.
 */
#ifndef STORTIMER_ALLOC_H
#define STORTIMER_ALLOC_H

#include <stddef.h>

void *st_calloc(size_t count, size_t size);
void *st_realloc(void *ptr, size_t size);
void st_free(void *ptr);

#endif
