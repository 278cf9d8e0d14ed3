/* alloc.c - the library's allocator: libc's, behind one seam. */
#include "alloc.h"

#include <stdlib.h>

void *st_calloc(size_t count, size_t size)
{
    return calloc(count ? count : 1, size ? size : 1);
}

void *st_realloc(void *ptr, size_t size)
{
    return realloc(ptr, size ? size : 1);
}

void st_free(void *ptr)
{
    free(ptr);
}
