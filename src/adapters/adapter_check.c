/* adapter_check.c - an adapter's invariants, checked (adapter_check.h). */
#include "adapters/adapter_check.h"

#include "platform/thread_state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct check {
    st_adapter *a;
    char *why;
    size_t size;
    bool ok;
    /* The first broken invariant that a lock-free request under way could
     * explain: reported only if none was under way. */
    char blurred[192];
    uint64_t live_nodes, live_cells, pending, handles;
} check;

__attribute__((format(printf, 3, 0))) static void say(char *out, size_t size,
                                                     const char *format, va_list args)
{
    /* Started by both callers: the analyzer's "uninitialized va_list" is a
     * false positive on x86-64 (as in platform/report.c). */
    if (size)
        vsnprintf(out, size, format, args); // NOLINT(clang-analyzer-valist.Uninitialized)
}

/* Records a broken invariant (the first one only). */
__attribute__((format(printf, 2, 3))) static void fail(check *c, const char *format, ...)
{
    if (!c->ok)
        return;
    c->ok = false;
    va_list args;
    va_start(args, format);
    say(c->why, c->size, format, args);
    va_end(args);
}

/* Records an invariant broken unless a lock-free request was under way. */
__attribute__((format(printf, 2, 3))) static void blur(check *c, const char *format, ...)
{
    if (c->blurred[0])
        return;
    va_list args;
    va_start(args, format);
    say(c->blurred, sizeof c->blurred, format, args);
    va_end(args);
}

static unsigned slot(const st_timer *t)
{
    return (unsigned)st_registry_id(t);
}

/* Every node in a wheel: the adapter's, live, in its own shard. */
static void check_node(uint32_t shard, st_timer *t, uint64_t order, void *arg)
{
    check *c = arg;
    if (st_registry_owner(t) != c->a->index + 1)
        fail(c, "slot %u in shard %u's wheel belongs to another adapter", slot(t), shard);
    else if (!st_registry_is_live(t))
        fail(c, "freed slot %u is in shard %u's wheel", slot(t), shard);
    else if (st_registry_shard(t) != shard)
        fail(c, "slot %u is in shard %u's wheel, its owner word names shard %u", slot(t),
             shard, st_registry_shard(t));
    if (st_arm_word_armed_with(t, order))
        c->live_nodes++;
}

/* Whether a published hand-over of arm `order` of `t` waits. */
typedef struct cell_search {
    const st_timer *timer;
    uint64_t order;
    unsigned found;
} cell_search;

static void find_cell(const st_request *r, void *arg)
{
    cell_search *s = arg;
    if (r->kind == ST_REQUEST_TIMER && r->timer == s->timer && r->order == s->order)
        s->found++;
}

static void count_cell(const st_request *r, void *arg)
{
    check *c = arg;
    if (r->kind == ST_REQUEST_TIMER && r->timer &&
        st_registry_still_issued(r->timer, r->issued) &&
        st_arm_word_armed_with(r->timer, r->order))
        c->live_cells++;
}

/* Every live timer of the adapter: a pending one has exactly one live item. */
static void check_timer(st_timer *t, void *arg)
{
    check *c = arg;
    st_adapter *a = c->a;
    if (t != a->legacy)
        c->handles++;
    uint64_t order;
    if (!st_arm_word_pending_order(t, &order))
        return;
    c->pending++;
    st_call queued;
    bool node = st_shard_queued_arm(t, order, t == a->legacy, &queued);
    cell_search cells = {t, order, 0};
    st_handover_visit(&a->handover, find_cell, &cells);
    if (node + cells.found != 1)
        blur(c, "slot %u is pending (arm %llu) with %u node(s) and %u hand-over(s)", slot(t),
             (unsigned long long)order, (unsigned)node, cells.found);
}

/* The counters and the adapter's own books. */
static void check_counts(check *c)
{
    st_adapter *a = c->a;
    stortimer_stats s = {0};
    st_adapter_add_counters(a, &s);
    if (s.armed != s.fired + s.cancelled + c->pending)
        blur(c, "armed %llu != fired %llu + cancelled %llu + pending %llu",
             (unsigned long long)s.armed, (unsigned long long)s.fired,
             (unsigned long long)s.cancelled, (unsigned long long)c->pending);
    if (c->live_nodes + c->live_cells != c->pending)
        blur(c, "%llu live nodes and %llu live hand-overs for %llu pending arms",
             (unsigned long long)c->live_nodes, (unsigned long long)c->live_cells,
             (unsigned long long)c->pending);
    if (a->timers.count != c->handles ||
        s.timers_initialized - s.timers_freed != c->handles)
        fail(c, "%llu live handles, but a count of %u and %llu initialized - %llu freed",
             (unsigned long long)c->handles, a->timers.count,
             (unsigned long long)s.timers_initialized, (unsigned long long)s.timers_freed);
    uint32_t free_slots;
    if (!st_registry_free_list_ok(a->index + 1, a->timers.free_slots, &free_slots))
        fail(c, "its free list holds a live, foreign or repeated slot");
    if (st_registry_owner(a->legacy) != a->index + 1 || !st_registry_is_live(a->legacy))
        fail(c, "its legacy slot %u is not its own, live", slot(a->legacy));
}

/* The DPCs (S14): the run queue in (due, order) order, each queued DPC
 * marked queued, at most one routine running, the table finding every
 * record, the counters adding up. (A running DPC may be queued again:
 * S14.6.) */
static void check_dpcs(check *c)
{
    st_adapter *a = c->a;
    uint32_t records = 0, linked = 0, running = 0;
    for (const st_dpc *d = a->dpcs.head; d; d = d->next) {
        linked++;
        if (!d->in_queue || !atomic_load(&d->queued))
            fail(c, "DPC %p is in the run queue but not marked queued", d->address);
        if (d->next && stw_key_before(d->next->due, d->next->order, d->due, d->order))
            fail(c, "the DPC run queue is out of (due, order) order at %p", d->address);
    }
    for (const st_dpc *d = a->dpcs.all; d; d = d->all_next) {
        records++;
        running += d->running;
        if (st_dpcs_find(&a->dpcs, d->address) != d)
            fail(c, "the DPC table does not find DPC %p", d->address);
    }
    if (records != a->dpcs.count)
        fail(c, "%u DPC records, but a count of %u", records, a->dpcs.count);
    if (running > 1 || (running == 1) != (a->run.dpc != NULL))
        fail(c, "%u DPC routines marked running; the adapter runs %p", running,
             (void *)a->run.dpc);
    stortimer_stats s = {0};
    st_adapter_add_counters(a, &s);
    if (s.dpcs_started != s.dpcs_returned + running)
        fail(c, "%llu DPC starts, %llu returns, %u running", (unsigned long long)s.dpcs_started,
             (unsigned long long)s.dpcs_returned, running);
    if (s.dpcs_issued < s.dpcs_started + linked)
        blur(c, "%llu DPC issues for %llu starts and %u queued",
             (unsigned long long)s.dpcs_issued, (unsigned long long)s.dpcs_started, linked);
}

bool st_adapter_check_locked(st_adapter *a, char *why, size_t size)
{
    check c = {.a = a, .why = why, .size = size, .ok = true};
    if (!st_adapter_live(a))
        return true;
    st_handover_mark mark = st_handover_mark_now(&a->handover);
    st_shards_lock_all(&a->shards);
    if (!st_shards_check_wheels(&a->shards))
        fail(&c, "a shard's wheel is broken (stw_check)");
    st_shards_visit(&a->shards, check_node, &c);
    st_handover_visit(&a->handover, count_cell, &c);
    st_registry_timers_visit(a->index + 1, check_timer, &c);
    check_counts(&c);
    check_dpcs(&c);
    st_shards_unlock_all(&a->shards);
    if (c.blurred[0] && st_handover_quiet_since(&a->handover, mark))
        fail(&c, "%s", c.blurred);
    return c.ok;
}

bool st_adapter_check(const st_adapter_ref *ref, char *why, size_t size)
{
    if (!st_adapter_lock(ref))
        return true;
    bool ok = st_adapter_check_locked(ref->adapter, why, size);
    st_adapter_unlock(ref->adapter);
    return ok;
}

bool st_adapter_check_extension(const void *extension, char *why, size_t size)
{
    st_adapter_ref ref;
    return !st_adapter_find(extension, &ref) || st_adapter_check(&ref, why, size);
}

#ifdef STORTIMER_CHECKS
static _Noreturn void broken(const void *extension, const char *why)
{
    fprintf(stderr, "stortimer: adapter %p: invariant broken: %s\n", extension, why);
    abort();
}

void st_adapter_check_or_abort(const void *extension)
{
    char why[256];
    if (st_self.irql <= DISPATCH_LEVEL && !st_adapter_check_extension(extension, why, sizeof why))
        broken(extension, why);
}

void st_adapter_check_locked_or_abort(st_adapter *a)
{
    char why[256];
    if (!st_adapter_check_locked(a, why, sizeof why))
        broken(st_adapter_extension(a), why);
}
#endif
