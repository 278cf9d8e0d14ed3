/* doorbell.c - waking a real-clock adapter's sleeper (doorbell.h). */
#include "adapters/doorbell.h"

#include "platform/os.h"

void st_doorbell_open(st_doorbell *d)
{
    atomic_store(&d->planned, 0);
    atomic_store(&d->listening, true);
}

void st_doorbell_close(st_doorbell *d)
{
    atomic_store(&d->listening, false);
}

void st_doorbell_ring(st_doorbell *d)
{
    if (!atomic_load_explicit(&d->listening, memory_order_relaxed))
        return;
    atomic_fetch_add_explicit(&d->word, 1, memory_order_release);
    st_os_wake(&d->word);
}

void st_doorbell_note_arm(st_doorbell *d, uint64_t at)
{
    if (!atomic_load_explicit(&d->listening, memory_order_relaxed))
        return;
    uint64_t planned = atomic_load(&d->planned);
    for (;;) {
        if (planned == 0) {
            /* Awake, and it may have looked at our shard already: make its
             * next sleep return at once, so that it looks again. */
            atomic_fetch_add_explicit(&d->word, 1, memory_order_release);
            return;
        }
        if (at >= planned)
            return; /* it wakes in time for this one */
        if (atomic_compare_exchange_strong(&d->planned, &planned, at)) {
            st_doorbell_ring(d);
            return;
        }
        /* Another arm changed the plan first: look at its value again. */
    }
}

uint32_t st_doorbell_read(st_doorbell *d)
{
    return atomic_load_explicit(&d->word, memory_order_acquire);
}

void st_doorbell_plan(st_doorbell *d, uint64_t wake_us)
{
    atomic_store(&d->planned, wake_us);
}

bool st_doorbell_sleep(st_doorbell *d, uint32_t read, uint64_t wake_us)
{
    bool slept = st_os_wait_until(&d->word, read, wake_us);
    /* Awake: an arm now bumps the word instead of ringing. */
    atomic_store(&d->planned, 0);
    return slept;
}
