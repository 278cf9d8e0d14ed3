/*
 * sync_fixture.c - the probe routine, adapters, lockers and lsi_u3 legacy
 * timer shared by the S15 tests (see sync_fixture.h).
 */
#include "sync_fixture.h"

#include <string.h>

BOOLEAN sync_routine(PVOID ext, PVOID context)
{
    sync_probe *s = context;
    s->seen_ext = ext;
    s->seen_context = context;
    s->irql = stortimer_irql_current();
    if (s->then)
        s->then(s, ext);
    atomic_fetch_add(&s->ran, 1);
    return s->answer;
}

PVOID duplex_adapter(fixture *fx, bool half_duplex)
{
    stortimer_adapter_config config = {.extension_size = 64, .half_duplex = half_duplex};
    return fx_adapter_config(fx, config);
}

ULONGLONG misuse_of(PVOID ext)
{
    return stats_of(ext).lock_misuse;
}

static void *locker_main(void *arg)
{
    locker *l = arg;
    STOR_LOCK_HANDLE h;
    atomic_store(&l->trying, 1);
    StorPortAcquireSpinLock(l->ext, l->kind, NULL, &h);
    atomic_store(&l->acquired, 1);
    StorPortReleaseSpinLock(l->ext, &h);
    return NULL;
}

bool lock_free_for_others(PVOID ext, STOR_SPINLOCK kind, test_thread **t, locker *l)
{
    *l = (locker){.ext = ext, .kind = kind};
    *t = thread_start(locker_main, l);
    CHECK(wait_for(&l->trying, 1, 5000));
    wait_for(&l->acquired, 1, 30);
    return atomic_load(&l->acquired);
}

/* lsi_u3: the legacy timer drives re-initialization through SynchronizeAccess. */
static struct {
    PVOID ext;
    sync_probe s;
    BOOLEAN answer;
    KIRQL irql_after;
    _Atomic int fired;
} lsi;

static VOID lsi_timer(PVOID ext)
{
    lsi.answer = StorPortSynchronizeAccess(ext, sync_routine, &lsi.s);
    lsi.irql_after = stortimer_irql_current();
    atomic_fetch_add(&lsi.fired, 1);
}

void run_lsi_timer(fixture *fx, bool half_duplex)
{
    memset(&lsi, 0, sizeof lsi);
    lsi.ext = duplex_adapter(fx, half_duplex);
    lsi.s.answer = TRUE;
    reports_capture();
    StorPortNotification(RequestTimerCall, lsi.ext, lsi_timer, (ULONG)1000);
    fx_pass(fx, 1000);
    CHECK(fx_await(fx, &lsi.fired, 1));
    reports_release();
    CHECK_EQ(lsi.answer, TRUE);
    CHECK_EQ(atomic_load(&lsi.s.ran), 1);
    CHECK_EQ(lsi.s.irql, STOR_DEVICE_LEVEL);
    CHECK_EQ(lsi.irql_after, DISPATCH_LEVEL);
    CHECK_EQ(misuse_of(lsi.ext), half_duplex ? 1 : 0);
    CHECK_EQ(stats_of(lsi.ext).synchronized_calls, 1);
    fx_remove(lsi.ext);
}
