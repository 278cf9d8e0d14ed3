/*
 * The adapter checker (src/adapters/adapter_check.h) passes every state the
 * library can reach, and fails, saying what broke, on states it cannot:
 * each test below breaks one invariant by hand (white-box), checks that it
 * is found, and mends it before the adapter is used again. (The library
 * the tests run on checks every adapter after every routine and callback:
 * the other test programs show the first half on every path they take.)
 */
#include "adapters/adapter_check.h"
#include "adapters/timer_ops.h"
#include "harness.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The adapter of an extension (white-box). */
static st_adapter *adapter_of(PVOID ext)
{
    st_adapter_ref ref;
    CHECK(st_adapter_find(ext, &ref));
    return ref.adapter;
}

/* The timer behind a handle (white-box). */
static st_timer *timer_of(PVOID ext, PVOID handle)
{
    st_target target;
    CHECK(st_timer_find(ext, handle, &target));
    return target.owner.timer;
}

/* Checks the adapter, expecting a failure that says `what`. */
static void check_fails_with(PVOID ext, const char *what)
{
    char why[256] = "";
    CHECK(!st_adapter_check_extension(ext, why, sizeof why));
    if (!strstr(why, what))
        test_failf(__FILE__, __LINE__, "the checker said \"%s\", not \"%s\"", why, what);
}

static void check_passes(PVOID ext)
{
    char why[256] = "";
    if (!st_adapter_check_extension(ext, why, sizeof why))
        test_failf(__FILE__, __LINE__, "the checker failed a valid adapter: %s", why);
}

static VOID nothing(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    (void)Context;
}

static VOID legacy_nothing(PVOID DeviceExtension)
{
    (void)DeviceExtension;
}

/* An adapter with timers in every state the checker sees: idle, armed,
 * cancelled, freed, handed over from above DISPATCH_LEVEL, the legacy
 * timer armed. */
static PVOID busy_adapter(PVOID *armed)
{
    PVOID ext = virtual_adapter(0);
    *armed = new_timer(ext);
    arm(ext, *armed, nothing, NULL, 1000, 0);
    PVOID cancelled = new_timer(ext);
    arm(ext, cancelled, nothing, NULL, 2000, 100);
    CHECK_STATUS(StorPortRequestTimer(ext, cancelled, nothing, NULL, 0, 0), STOR_STATUS_SUCCESS);
    CHECK_STATUS(StorPortFreeTimer(ext, new_timer(ext)), STOR_STATUS_SUCCESS);
    new_timer(ext); /* idle */
    KIRQL old = stortimer_irql_raise(HIGH_LEVEL);
    CHECK_STATUS(StorPortRequestTimer(ext, cancelled, nothing, NULL, 500, 0), STOR_STATUS_SUCCESS);
    stortimer_irql_lower(old);
    StorPortNotification(RequestTimerCall, ext, legacy_nothing, 3000u);
    return ext;
}

TEST(s5_4_check_passes_every_state_an_adapter_reaches)
{
    PVOID armed;
    PVOID ext = busy_adapter(&armed);
    check_passes(ext); /* a hand-over waits in the queue: it counts as the arm's item */
    stortimer_clock_advance(virtual_fixture()->clock, 1500);
    check_passes(ext);
}

TEST(s5_4_check_finds_a_pending_arm_without_a_node)
{
    PVOID armed;
    PVOID ext = busy_adapter(&armed);
    st_adapter *a = adapter_of(ext);
    st_timer *t = timer_of(ext, armed);
    st_shard *shard = st_shards_lock_of(&a->shards, t);
    st_shard_unqueue(shard, t); /* lost: it would never fire */
    st_shard_unlock(shard);
    check_fails_with(ext, "with 0 node(s) and 0 hand-over(s)");
    st_arm_word_cancel_pending(t); /* mended: cancelled, as counted below */
    ST_COUNT(&a->stats, cancelled, 1);
    check_passes(ext);
}

/* Counts one event that never happened on a busy adapter, expects the
 * checker to say `what`, then takes the count back. */
static void check_finds_a_count_off(_Atomic uint64_t *(*counter)(st_adapter *),
                                    const char *what)
{
    PVOID armed;
    PVOID ext = busy_adapter(&armed);
    _Atomic uint64_t *count = counter(adapter_of(ext));
    atomic_fetch_add(count, 1);
    check_fails_with(ext, what);
    atomic_fetch_sub(count, 1);
    check_passes(ext);
}

static _Atomic uint64_t *fired_count(st_adapter *a)
{
    return &a->stats.fired;
}

static _Atomic uint64_t *freed_count(st_adapter *a)
{
    return &a->stats.timers_freed;
}

TEST(s5_4_check_finds_counters_that_disagree_with_the_arms)
{
    check_finds_a_count_off(fired_count, "armed "); /* a callback that never started */
}

TEST(s6_4_2_check_finds_a_freed_slot_in_a_wheel)
{
    PVOID armed;
    PVOID ext = busy_adapter(&armed);
    st_timer *t = timer_of(ext, armed);
    uint64_t issued;
    CHECK(st_registry_current(t, &issued));
    st_registry_kill(t); /* freed, but its node left in the wheel */
    check_fails_with(ext, "is in shard");
    st_registry_publish(t, issued);
    check_passes(ext);
}

TEST(s8_4_check_finds_a_node_in_another_shard_than_its_owner_word_names)
{
    PVOID armed;
    PVOID ext = busy_adapter(&armed);
    st_adapter *a = adapter_of(ext);
    st_timer *t = timer_of(ext, armed);
    uint32_t home = st_registry_shard(t);
    st_shards_lock_all(&a->shards);
    st_registry_set_shard(t, (home + 1) % ST_MAX_SHARDS);
    st_shards_unlock_all(&a->shards);
    check_fails_with(ext, "its owner word names shard");
    st_shards_lock_all(&a->shards);
    st_registry_set_shard(t, home);
    st_shards_unlock_all(&a->shards);
    check_passes(ext);
}

TEST(s4_5_check_finds_a_live_timer_count_that_is_off)
{
    check_finds_a_count_off(freed_count, "live handles"); /* a free that never happened */
}

/* The library the tests run on checks the adapter after every routine:
 * a routine called on a broken adapter reports the invariant and aborts
 * (in a child, whose report is read through a pipe). */
TEST(s5_4_checked_library_aborts_after_a_routine_on_a_broken_adapter)
{
    PVOID armed;
    PVOID ext = busy_adapter(&armed);
    int out[2];
    CHECK(pipe(out) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDERR_FILENO);
        ST_COUNT(&adapter_of(ext)->stats, fired, 1);
        StorPortRequestTimer(ext, armed, nothing, NULL, 5000, 0);
        _exit(0); /* not reached in a checked library */
    }
    close(out[1]);
    char report[512] = "";
    size_t got = 0;
    ssize_t n;
    while (got < sizeof report - 1 && (n = read(out[0], report + got, sizeof report - 1 - got)) > 0)
        got += (size_t)n;
    close(out[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    if (!strstr(report, "invariant broken: ") || !strstr(report, "armed "))
        test_failf(__FILE__, __LINE__, "the report was \"%s\"", report);
}

TEST(s3_1_check_of_an_unknown_extension_has_nothing_to_check)
{
    int not_an_adapter;
    check_passes(&not_an_adapter);
}
