/*
 * operations.c - the top-level operations of a program, and an input's start and
 * finish on one side (side.h).
 */
#include "side.h"

#include <string.h>

/* ---- top-level operations ---- */

static void create_adapter(side *s, const step *op)
{
    if (s->live[op->slot] || s->creates++ >= CREATE_LIMIT) {
        record_value(VAL_SKIPPED, op->kind);
        return;
    }
    stortimer_adapter_config config = {
        .extension_size = (size_t)op->size,
        .max_timers = op->max_timers,
        .half_duplex = op->half_duplex,
        .clock = s->clocks[op->sel],
    };
    void *extension = NULL;
    count_call();
    if (record_status(op->kind, s->api->adapter_create(&config, &extension)) !=
        STOR_STATUS_SUCCESS)
        return;
    s->extension[op->slot] = extension;
    s->live[op->slot] = true;
    s->clock_of[op->slot] = op->sel;
    s->legacy_behaviour[op->slot] = -1;
}

static void push_frame(side *s, frame f)
{
    s->stack[s->depth++] = f;
}

static void pop_frame(side *s)
{
    frame *f = &s->stack[--s->depth];
    count_call();
    if (f->lock)
        s->api->release(f->extension, &f->handle);
    else
        s->api->irql_lower(f->old);
}

static void acquire(side *s, const step *op)
{
    void *extension = extension_arg(s, op->ext);
    count_call();
    if (op->slot) { /* a NULL LockHandle */
        s->api->acquire(extension, lock_sel(op->sel), NULL);
        return;
    }
    frame f = {.lock = true, .extension = extension};
    push_frame(s, f);
    s->api->acquire(extension, lock_sel(op->sel), &s->stack[s->depth - 1].handle);
}

/* Destroys a clock and makes a new one, unless adapters still use it (then
 * the destroy is refused and reported). A bound clock is left alone. */
static void recreate_clock(side *s, int c)
{
    if (c >= PROGRAM_CLOCKS || s->bound == c || s->recreates++ >= RECREATE_LIMIT) {
        record_value(VAL_SKIPPED, OP_RECREATE_CLOCK);
        return;
    }
    bool in_use = false;
    for (int i = 0; i < PROGRAM_ADAPTER_SLOTS; i++)
        in_use |= s->live[i] && s->clock_of[i] == c;
    count_call();
    s->api->clock_destroy(s->clocks[c]);
    if (!in_use)
        s->clocks[c] = s->api->clock_create();
}

static void release_forged(side *s, const step *op)
{
    count_call();
    if (op->sel % 2) {
        s->api->release(NULL, NULL);
        return;
    }
    STOR_LOCK_HANDLE handle = {0};
    handle.Context.LockObject = (void *)(uintptr_t)op->handle.forged;
    handle.Context.Flags = op->sel % 4 == 0 ? 1 : 0; /* "taken", or nothing taken */
    s->api->release(NULL, &handle);
}

void operate(side *s, const step *op)
{
    switch (op->kind) {
    case OP_CREATE_ADAPTER:
        create_adapter(s, op);
        break;
    case OP_REMOVE_ADAPTER:
        remove_adapter(s, op->kind, extension_arg(s, op->ext));
        break;
    case OP_INITIALIZE:
        initialize(s, op->kind, extension_arg(s, op->ext), op->slot, op->sel);
        break;
    case OP_REQUEST:
        request(s, op->kind, extension_arg(s, op->ext), handle_arg_value(s, op->handle),
                callback_sel(op->sel), op->behaviour, op->value, op->window);
        break;
    case OP_FREE:
        count_call();
        record_status(op->kind, s->api->free_timer(extension_arg(s, op->ext),
                                                   handle_arg_value(s, op->handle)));
        break;
    case OP_LEGACY: {
        void *extension = extension_arg(s, op->ext);
        int slot = slot_of(s, extension);
        if (slot >= 0)
            s->legacy_behaviour[slot] = op->behaviour;
        count_call();
        s->api->request_timer_call(extension, routine_sel(op->sel), (ULONG)op->value);
        break;
    }
    case OP_OTHER_NOTIFICATION:
        count_call();
        s->api->other_notification(extension_arg(s, op->ext));
        break;
    case OP_ADVANCE:
        count_call();
        s->api->clock_advance(s->clocks[op->slot], op->value);
        break;
    case OP_RAISE_IRQL:
        if (s->depth == STACK_MAX)
            break;
        count_call();
        push_frame(s, (frame){.old = s->api->irql_raise((KIRQL)(op->sel % 20))});
        record_value(VAL_OLD_IRQL, s->stack[s->depth - 1].old);
        break;
    case OP_POP:
        if (s->depth)
            pop_frame(s);
        break;
    case OP_ACQUIRE:
        if (s->depth < STACK_MAX)
            acquire(s, op);
        break;
    case OP_BIND_CLOCK:
        count_call();
        s->api->bind_clock(op->slot < PROGRAM_CLOCKS ? s->clocks[op->slot] : NULL);
        s->bound = op->slot < PROGRAM_CLOCKS ? op->slot : -1;
        break;
    case OP_STALL:
        if (s->bound >= 0) { /* on the real clock a stall would only waste time */
            count_call();
            s->api->stall((ULONG)op->value);
        }
        break;
    case OP_STATS:
        read_stats(s, op->kind, extension_arg(s, op->ext));
        break;
    case OP_RECREATE_CLOCK:
        recreate_clock(s, op->slot);
        break;
    case OP_LOWER_TOO_HIGH:
        count_call();
        s->api->irql_lower((KIRQL)(s->api->irql_current() + 1 + op->sel % 3));
        break;
    case OP_RELEASE_FORGED:
        release_forged(s, op);
        break;
    case OP_SET_CLOCK_TIME: {
        /* A slot past the last is not a clock at all. */
        stortimer_clock *clock = op->slot < PROGRAM_CLOCKS ? s->clocks[op->slot]
                                                           : (stortimer_clock *)(void *)s->clocks;
        count_call();
        if (op->sel & 1)
            record_status(op->kind, s->api->clock_set_tick(clock, (ULONG)op->value));
        else
            record_status(op->kind, s->api->clock_set_system_time(clock, (LONGLONG)op->value));
        break;
    }
    case OP_NEXT_FIRE: {
        /* At the end of a clock's range, which arms wait for "the next
         * advance" is the library's choice (see model.c): not compared. */
        if (s->api->clock_now(s->clocks[op->slot]) >= UINT64_MAX / 2) {
            record_value(VAL_SKIPPED, op->kind);
            break;
        }
        ULONGLONG fire_time = 0x5eed;
        count_call();
        BOOLEAN found = s->api->clock_next_fire(s->clocks[op->slot], &fire_time);
        record(EV_VALUE, VAL_NEXT_FIRE, found, fire_time, 0, 0);
        break;
    }
    default:
        new_routine_call(s, op->kind, op);
        break;
    }
    record_value(VAL_IRQL, s->api->irql_current());
    for (int c = 0; c < PROGRAM_CLOCKS; c++)
        record(EV_VALUE, VAL_CLOCK, (uint64_t)c, s->api->clock_now(s->clocks[c]), 0, 0);
}

/* ---- an input ---- */

void start(side *s, const api *api, event *trace)
{
    memset(s, 0, sizeof *s);
    s->api = api;
    s->trace = trace;
    s->bound = -1;
    s->budget = ACTION_BUDGET;
    for (int c = 0; c < PROGRAM_CLOCKS; c++)
        s->clocks[c] = api->clock_create();
}

/* Undoes every lock and raise, removes every adapter, destroys the clocks;
 * the process totals must have grown by what the model counted. */
void finish(side *s)
{
    while (s->depth)
        pop_frame(s);
    s->api->bind_clock(NULL);
    for (int i = 0; i < PROGRAM_ADAPTER_SLOTS; i++)
        if (s->live[i])
            remove_adapter(s, 1000, s->extension[i]);
    read_stats(s, 1001, NULL);
    /* Every arm ended: it fired, or a cancel, a free or a removal ended it. */
    stortimer_stats st;
    s->api->stats_read(NULL, &st);
    since_input_start(s, &st);
    record(EV_VALUE, VAL_STATS, 2000, st.armed - st.cancelled - st.fired, 0, 0);
    /* Every accepted issue started its routine or was dropped by a removal
     * (S14.4, S14.13). */
    record(EV_VALUE, VAL_STATS, 2001, st.dpcs_issued - st.dpcs_started - st.dpcs_dropped,
           st.dpcs_started - st.dpcs_returned, 0);
    for (int c = 0; c < PROGRAM_CLOCKS; c++)
        s->api->clock_destroy(s->clocks[c]);
}
