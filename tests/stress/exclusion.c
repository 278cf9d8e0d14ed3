/*
 * exclusion.c - S8.1 exclusion as the test sees it: who is inside an adapter
 * (its callbacks and the holders of its StartIo lock, never two at once),
 * taking and dropping an adapter's locks, and waiting out callbacks that
 * started before a cancel.
 */
#include "stress.h"

void occupancy_enter(incarnation *inc, const char *who)
{
    int inside = atomic_fetch_add(&inc->occupancy, 1);
    if (inside != 0)
        violation(OVERLAP, "%s of adapter %d.%u entered while %d callback(s) or StartIo "
                  "holder(s) of that adapter were inside (S8.1)", who, inc->slot,
                  inc->number, inside);
}

void occupancy_leave(incarnation *inc)
{
    atomic_fetch_sub(&inc->occupancy, 1);
}

/* Takes one of a live adapter's locks; false (and a violation) if nothing was taken. */
bool lock_take(incarnation *inc, STOR_SPINLOCK kind, held_lock *held)
{
    held->inc = inc;
    StorPortAcquireSpinLock(inc->extension, kind, NULL, &held->handle);
    tally(&run.count.operations);
    if (!held->handle.Context.LockObject) {
        violation(WRONG_STATUS, "StorPortAcquireSpinLock(%s) on live adapter %d.%u took "
                  "nothing", kind == StartIoLock ? "StartIoLock" : "InterruptLock",
                  inc->slot, inc->number);
        return false;
    }
    KIRQL expected = kind == InterruptLock ? STOR_DEVICE_LEVEL : DISPATCH_LEVEL;
    if (stortimer_irql_current() != expected)
        violation(WRONG_STATUS, "holding a lock of adapter %d.%u at IRQL %u, expected %u (S9.1)",
                  inc->slot, inc->number, stortimer_irql_current(), expected);
    held->exclusive = kind == StartIoLock || (kind == InterruptLock && inc->config.half_duplex);
    held_lock_kind = kind;
    if (held->exclusive) {
        occupancy_enter(inc, "a StartIo lock holder");
        exclusive_inc = inc;
    }
    return true;
}

void lock_drop(held_lock *held)
{
    if (held->exclusive) {
        exclusive_inc = NULL;
        occupancy_leave(held->inc);
    }
    held_lock_kind = 0;
    StorPortReleaseSpinLock(held->inc->extension, &held->handle);
    tally(&run.count.operations);
}

/*
 * After a cancel made without holding the StartIo lock: once this thread gets
 * that lock, a callback that started before the cancel returned has ended.
 * Returns a ticket taken while holding it.
 */
uint64_t flush_started_callbacks(incarnation *inc)
{
    held_lock held;
    if (!lock_take(inc, StartIoLock, &held))
        return UINT64_MAX; /* reported; proves nothing */
    uint64_t ticket = next_ticket();
    lock_drop(&held);
    return ticket;
}
