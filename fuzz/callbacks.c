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
    default:
        break;
    }
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
    if (b < 0)
        return;
    for (int i = 0; i < prog.behaviours[b].count && s->budget > 0; i++, s->budget--)
        act(s, &prog.behaviours[b].actions[i], b, legacy, routine, extension);
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
