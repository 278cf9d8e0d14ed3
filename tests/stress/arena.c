/*
 * arena.c - where a run's arm and timer records live: chunks handed out one
 * record at a time, kept until the run ends, so that a callback's context
 * can always be checked against them.
 */
#include "stress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *arena_take(arena *a)
{
    uint64_t index = atomic_fetch_add(&a->used, 1);
    if (index >= (uint64_t)ARENA_CHUNK * ARENA_CHUNKS) {
        atomic_store(&run.arena_full, true); /* the run ends early, see worker_main */
        return NULL;
    }
    size_t chunk_index = index / ARENA_CHUNK;
    unsigned char *chunk = atomic_load(&a->chunks[chunk_index]);
    if (!chunk) {
        pthread_mutex_lock(&a->grow);
        chunk = atomic_load(&a->chunks[chunk_index]);
        if (!chunk) {
            chunk = calloc(ARENA_CHUNK, a->record_size);
            if (!chunk) {
                fprintf(stderr, "stress: out of memory for test records\n");
                exit(1);
            }
            atomic_store(&a->chunks[chunk_index], chunk);
        }
        pthread_mutex_unlock(&a->grow);
    }
    return chunk + (index % ARENA_CHUNK) * a->record_size;
}

uint64_t arena_count(arena *a)
{
    uint64_t used = atomic_load(&a->used);
    uint64_t capacity = (uint64_t)ARENA_CHUNK * ARENA_CHUNKS;
    return used < capacity ? used : capacity;
}

void *arena_at(arena *a, uint64_t index)
{
    return atomic_load(&a->chunks[index / ARENA_CHUNK]) + (index % ARENA_CHUNK) * a->record_size;
}

/* Whether p is a record handed out by the arena (a callback's context must be). */
bool arena_holds(arena *a, const void *p)
{
    uint64_t used = arena_count(a);
    for (size_t c = 0; c < ARENA_CHUNKS; c++) {
        const unsigned char *chunk = atomic_load(&a->chunks[c]);
        if (!chunk)
            continue; /* chunks are not made in order */
        const unsigned char *byte = p;
        if (byte < chunk || byte >= chunk + ARENA_CHUNK * a->record_size)
            continue;
        size_t offset = (size_t)(byte - chunk);
        return offset % a->record_size == 0 &&
               c * ARENA_CHUNK + offset / a->record_size < used;
    }
    return false;
}

void arena_init(arena *a, size_t record_size)
{
    memset(a, 0, sizeof *a);
    a->record_size = record_size;
    pthread_mutex_init(&a->grow, NULL);
}

void arena_release(arena *a)
{
    for (size_t c = 0; c < ARENA_CHUNKS; c++)
        free(atomic_load(&a->chunks[c]));
    pthread_mutex_destroy(&a->grow);
    memset(a, 0, sizeof *a);
}
