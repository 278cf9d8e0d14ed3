/*
 * callbacks.c - the callbacks of both sides: each records that it started and does
 * what the behaviour of its context says, on its own side, within the
 * input's budget of actions (side.h).
 */
#include "side.h"

/* ---- callbacks ---- */

/* What a callback does: the actions of its behaviour, on its own side. */
static void act(side *s, const step *a, int self, bool legacy, PHW_TIMER own_routine,
                void *own_extension)
{
    uint32_t what = ACTION_CODE(a->kind);
    void *self_extension = legacy ? own_extension : s->self_extension[self];
    void *self_handle = (void *)(uintptr_t)(legacy ? 0 : s->self_handle[self]);
    switch (a->kind) {
    case ACT_REARM_SELF:
        if (legacy) {
            count_call();
            s->api->request_timer_call(own_extension, own_routine, (ULONG)a->value);
        } else {
            request(s, what, self_extension, self_handle, callback_sel(a->sel), self,
                    a->value, a->window);
        }
        break;
    case ACT_CANCEL_SELF:
    case ACT_FREE_SELF:
        if (legacy) {
            count_call();
            s->api->request_timer_call(own_extension, NULL, 0);
        } else if (a->kind == ACT_CANCEL_SELF) {
            request(s, what, self_extension, self_handle, callback_a, self, 0, 0);
        } else {
            count_call();
            record_status(what, s->api->free_timer(self_extension, self_handle));
        }
        break;
    case ACT_ARM:
        request(s, what, extension_arg(s, a->ext), handle_arg_value(s, a->handle), callback_a,
                a->behaviour, a->value, a->window);
        break;
    case ACT_ARM_ABOVE_DISPATCH: {
        KIRQL old = s->api->irql_raise(STOR_DEVICE_LEVEL); /* an interrupt path (S5.7) */
        request(s, what, extension_arg(s, a->ext), handle_arg_value(s, a->handle), callback_b,
                a->behaviour, a->value, a->window);
        s->api->irql_lower(old);
        break;
    }
    case ACT_CANCEL:
        request(s, what, extension_arg(s, a->ext), handle_arg_value(s, a->handle), callback_a,
                -1, 0, 0);
        break;
    case ACT_FREE:
        count_call();
        record_status(what, s->api->free_timer(extension_arg(s, a->ext),
                                               handle_arg_value(s, a->handle)));
        break;
    case ACT_INITIALIZE:
        initialize(s, what, extension_arg(s, a->ext), a->slot, false);
        break;
    case ACT_LEGACY:
        count_call();
        s->api->request_timer_call(extension_arg(s, a->ext), routine_sel(a->sel),
                                   (ULONG)a->value);
        break;
    case ACT_STALL:
        count_call();
        s->api->stall((ULONG)a->value);
        break;
    case ACT_ADVANCE: /* refused inside a callback (S11) */
        count_call();
        s->api->clock_advance(s->clocks[a->slot], a->value);
        break;
    case ACT_REMOVE_ADAPTER:
        remove_adapter(s, what, extension_arg(s, a->ext));
        break;
    case ACT_LOCK_PAIR: {
        STOR_LOCK_HANDLE handle;
        void *extension = extension_arg(s, a->ext);
        count_call();
        s->api->acquire(extension, lock_sel(a->sel), &handle);
        s->api->release(extension, &handle);
        break;
    }
    case ACT_STATS:
        read_stats(s, what, extension_arg(s, a->ext));
        break;
    case ACT_INITIALIZE_DPC:
    case ACT_ISSUE_DPC:
    case ACT_SYNCHRONIZE:
    case ACT_PAUSE:
    case ACT_PAUSE_STATE:
    case ACT_QUERY_TIME: {
        step call = *a; /* the action kinds follow the operations' order */
        call.kind = (uint8_t)(OP_INITIALIZE_DPC + (a->kind - ACT_INITIALIZE_DPC));
        new_routine_call(s, what, &call);
        break;
    }
    default:
        break;
    }
}

/* Runs the actions of behaviour b, within the input's budget. */
static void run_behaviour(side *s, int b, bool legacy, PHW_TIMER routine, void *extension)
{
    if (b < 0)
        return;
    s->in_routine++;
    for (int i = 0; i < prog.behaviours[b].count && s->budget > 0; i++, s->budget--)
        act(s, &prog.behaviours[b].actions[i], b, legacy, routine, extension);
    s->in_routine--;
}

/* The clock reading of an extension's adapter on a side. */
static uint64_t clock_of_extension(side *s, void *extension)
{
    int slot = slot_of(s, extension);
    return slot >= 0 ? s->api->clock_now(s->clocks[s->clock_of[slot]]) : UINT64_MAX;
}

static void on_callback(uint32_t id, void *extension, void *context, bool legacy,
                        PHW_TIMER routine)
{
    side *s = current;
    int slot = slot_of(s, extension);
    uint64_t now = slot >= 0 ? s->api->clock_now(s->clocks[s->clock_of[slot]]) : UINT64_MAX;
    record(EV_CALLBACK, id, (uint64_t)(uintptr_t)extension, (uint64_t)(uintptr_t)context, now,
           s->api->irql_current());
    if (s == &library_side)
        totals.callbacks++;
    int b = legacy ? (slot >= 0 ? s->legacy_behaviour[slot] : -1) : behaviour_of_context(context);
    run_behaviour(s, b, legacy, routine, extension);
}

void callback_a(PVOID extension, PVOID context)
{
    on_callback(1, extension, context, false, NULL);
}

void callback_b(PVOID extension, PVOID context)
{
    on_callback(2, extension, context, false, NULL);
}

void routine_a(PVOID extension)
{
    on_callback(3, extension, NULL, true, routine_a);
}

void routine_b(PVOID extension)
{
    on_callback(4, extension, NULL, true, routine_b);
}

/* A DPC routine (S14.6): records its start, its clock reading (the issue
 * time, or the reading it was held to, S14.10) and its IRQL, then does what
 * the behaviour its SystemArgument1 names says. */
static void on_dpc(uint32_t id, PSTOR_DPC dpc, PVOID extension, PVOID argument1,
                   PVOID argument2)
{
    side *s = current;
    record(EV_CALLBACK, id, (uint64_t)(uintptr_t)extension, (uint64_t)(uintptr_t)dpc,
           clock_of_extension(s, extension), s->api->irql_current());
    record(EV_VALUE, VAL_DPC_ARGS, (uint64_t)(uintptr_t)argument1, (uint64_t)(uintptr_t)argument2,
           0, 0);
    if (s == &library_side)
        totals.callbacks++;
    run_behaviour(s, behaviour_of_context(argument1), false, NULL, extension);
}

void dpc_routine_a(PSTOR_DPC dpc, PVOID extension, PVOID argument1, PVOID argument2)
{
    on_dpc(CB_DPC_A, dpc, extension, argument1, argument2);
}

void dpc_routine_b(PSTOR_DPC dpc, PVOID extension, PVOID argument1, PVOID argument2)
{
    on_dpc(CB_DPC_B, dpc, extension, argument1, argument2);
}

/* A synchronized routine (S15): records that it runs, at what IRQL (S15.3)
 * and clock reading, and answers as its name says. */
static BOOLEAN on_sync(uint32_t id, PVOID extension, PVOID context, BOOLEAN answer)
{
    side *s = current;
    record(EV_CALLBACK, id, (uint64_t)(uintptr_t)extension, (uint64_t)(uintptr_t)context,
           clock_of_extension(s, extension), s->api->irql_current());
    if (s == &library_side)
        totals.callbacks++;
    run_behaviour(s, behaviour_of_context(context), false, NULL, extension);
    return answer;
}

BOOLEAN sync_true(PVOID extension, PVOID context)
{
    return on_sync(CB_SYNC_TRUE, extension, context, TRUE);
}

BOOLEAN sync_false(PVOID extension, PVOID context)
{
    return on_sync(CB_SYNC_FALSE, extension, context, FALSE);
}
