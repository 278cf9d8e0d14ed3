/* alloc.c - libc's allocator behind the seam (alloc.h). */
#include "platform/alloc.h"

#include "platform/fault.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *st_calloc(size_t count, size_t size)
{
    if (st_fault_strikes(ST_FAULT_MEMORY))
        return NULL;
    void *ptr = calloc(count ? count : 1, size ? size : 1);
    st_fault_count_live(ptr, 1);
    return ptr;
}

void *st_room_for_one(void *items, size_t *room, size_t count, size_t size, size_t first)
{
    if (count < *room)
        return items;
    size_t grown = *room ? *room * 2 : first;
    if (grown < *room || grown > SIZE_MAX / size)
        return NULL;
    void *copy = st_realloc(items, grown * size);
    if (copy)
        *room = grown;
    return copy;
}

void *st_realloc(void *ptr, size_t size)
{
    if (st_fault_strikes(ST_FAULT_MEMORY))
        return NULL;
    void *moved = realloc(ptr, size ? size : 1);
    if (!ptr)
        st_fault_count_live(moved, 1);
    return moved;
}

void st_free(void *ptr)
{
    st_fault_count_live(ptr, -1);
    free(ptr);
}

void *st_calloc_retained(size_t count, size_t size)
{
    if (st_fault_strikes(ST_FAULT_MEMORY))
        return NULL;
    count = count ? count : 1;
    size = size ? size : 1;
    if (count > SIZE_MAX / size)
        return NULL;
    /* Cache-line aligned: a 64-byte timer is then one line, not two. */
    size_t bytes = (count * size + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void *st_calloc_retained_huge(void)
{
    if (st_fault_strikes(ST_FAULT_MEMORY))
        return NULL;
    void *p = aligned_alloc(ST_HUGE_BLOCK, ST_HUGE_BLOCK);
    if (!p)
        return NULL;
#ifdef MADV_HUGEPAGE
    /* Advice only: without transparent huge pages it changes nothing. */
    (void)madvise(p, ST_HUGE_BLOCK, MADV_HUGEPAGE);
#endif
    memset(p, 0, ST_HUGE_BLOCK);
    return p;
}

void st_free_retained(void *ptr)
{
    free(ptr);
}
