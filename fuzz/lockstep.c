/*
 * lockstep.c - one program, two implementations, one trace each.
 *
 * Each top-level operation runs first on the library, then on the model.
 * Each side writes what it observes into its own trace: the status of every
 * call, every callback as it starts (which routine, extension, context,
 * clock reading, IRQL), every misuse report, and after the operation the
 * IRQL and both clocks. The traces must be equal, event for event.
 *
 * Callbacks do what the program's behaviour for their context says, on
 * the side they run on (`current`). A budget of actions per input keeps a
 * self-re-arming timer from running for ever.
 */
#include "lockstep.h"

#include "program.h"
#include "sides.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_MAX (1u << 17)
#define STACK_MAX 48
#define ACTION_BUDGET 3000
#define CREATE_LIMIT 48
#define INITIALIZE_LIMIT 2048
#define RECREATE_LIMIT 32

typedef enum event_type { EV_STATUS, EV_CALLBACK, EV_REPORT, EV_VALUE } event_type;

typedef enum value_id {
    VAL_IRQL, VAL_CLOCK, VAL_HANDLE_OUT, VAL_LEAKED, VAL_OLD_IRQL, VAL_STATS, VAL_SKIPPED,
} value_id;

typedef struct event {
    uint32_t type, what;
    uint64_t a, b, c, d;
} event;

/* A lock taken or an IRQL raised, undone in reverse order. */
typedef struct frame {
    bool lock;
    KIRQL old;
    void *extension;
    STOR_LOCK_HANDLE handle;
} frame;

typedef struct side {
    const api *api;
    stortimer_clock *clocks[PROGRAM_CLOCKS];
    void *extension[PROGRAM_ADAPTER_SLOTS];  /* the last one created there */
    bool live[PROGRAM_ADAPTER_SLOTS];
    uint8_t clock_of[PROGRAM_ADAPTER_SLOTS];
    int legacy_behaviour[PROGRAM_ADAPTER_SLOTS];
    uint64_t handles[PROGRAM_TIMER_SLOTS];
    uint64_t self_handle[PROGRAM_MAX_BEHAVIOURS];  /* what each context was armed on */
    void *self_extension[PROGRAM_MAX_BEHAVIOURS];
    frame stack[STACK_MAX];
    int depth;
    int bound;                                    /* clock bound, or -1 */
    int budget, creates, initializes, recreates;
    event *trace;
    size_t events;
    bool overflow;
} side;

static program prog;
static side library_side, model_side;
static side *current;
static lockstep_totals totals;
static event library_trace[TRACE_MAX], model_trace[TRACE_MAX];

/* ---- traces ---- */

static void record(uint32_t type, uint32_t what, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    side *s = current;
    if (s->events == TRACE_MAX) {
        s->overflow = true;
        return;
    }
    s->trace[s->events++] = (event){type, what, a, b, c, d};
}

static void record_value(value_id what, uint64_t value)
{
    record(EV_VALUE, what, value, 0, 0, 0);
}

/* Every call's status; error answers to bad input are counted. */
static ULONG record_status(uint32_t what, ULONG status)
{
    record(EV_STATUS, what, status, 0, 0, 0);
    if (current == &library_side && status != STOR_STATUS_SUCCESS &&
        status != STOR_STATUS_BUSY)
        totals.error_answers++;
    return status;
}

/* A report is compared by the routine it names (the text up to ':' or '('). */
static void on_report(const char *message)
{
    uint64_t hash = 1469598103934665603u;
    for (const char *c = message; *c && *c != ':' && *c != '('; c++)
        hash = (hash ^ (uint8_t)*c) * 1099511628211u;
    record(EV_REPORT, 0, hash, 0, 0, 0);
    if (current == &library_side)
        totals.reports++;
}

/* ---- resolving a step's arguments on a side ---- */

static void *extension_arg(const side *s, ext_arg e)
{
    uintptr_t slot = (uintptr_t)s->extension[e.slot];
    switch (e.kind) {
    case EXT_SLOT: return (void *)slot;
    case EXT_NULL: return NULL;
    case EXT_INTERIOR: return (void *)(slot + 1);
    case EXT_FORGED: return (void *)(uintptr_t)(0x7f0000001000u + 64u * e.slot);
    default: return (void *)&s->clocks[e.slot % PROGRAM_CLOCKS]; /* not an extension */
    }
}

static void *handle_arg_value(const side *s, handle_arg h)
{
    uint64_t slot = s->handles[h.ref];
    switch (h.kind) {
    case HANDLE_SLOT: return (void *)(uintptr_t)slot;
    case HANDLE_NULL: return NULL;
    case HANDLE_FORGED: return (void *)(uintptr_t)h.forged;
    default: return (void *)(uintptr_t)(slot ^ (UINT64_C(1) << h.bit));
    }
}

/* The live slot of an extension, or -1. */
static int slot_of(const side *s, const void *extension)
{
    for (int i = 0; i < PROGRAM_ADAPTER_SLOTS; i++)
        if (s->live[i] && s->extension[i] == extension)
            return i;
    return -1;
}

static void callback_a(PVOID extension, PVOID context);
static void callback_b(PVOID extension, PVOID context);
static void routine_a(PVOID extension);
static void routine_b(PVOID extension);

static PHW_TIMER_EX callback_sel(uint8_t sel)
{
    switch (sel % 4) {
    case 0: return NULL; /* S5.1: INVALID_PARAMETER, even to cancel */
    case 3: return callback_b;
    default: return callback_a;
    }
}

static PHW_TIMER routine_sel(uint8_t sel)
{
    switch (sel % 3) {
    case 0: return NULL; /* S7: a NULL routine with a value > 0 changes nothing */
    case 1: return routine_a;
    default: return routine_b;
    }
}

static STOR_SPINLOCK lock_sel(uint8_t sel)
{
    static const STOR_SPINLOCK kinds[] = {StartIoLock, StartIoLock, DpcLock, InterruptLock,
                                          (STOR_SPINLOCK)0, (STOR_SPINLOCK)7};
    return kinds[sel % (sizeof kinds / sizeof kinds[0])];
}

static void *context_of(int behaviour)
{
    return behaviour >= 0 ? (void *)&prog.behaviours[behaviour] : (void *)(uintptr_t)0x5ca1ab1e;
}

static int behaviour_of_context(const void *context)
{
    const behaviour *b = context;
    if (b < prog.behaviours || b >= prog.behaviours + prog.behaviour_count)
        return -1;
    return (int)(b - prog.behaviours);
}

/* ---- calls shared by operations and callback actions ---- */

static void count_call(void)
{
    if (current == &library_side)
        totals.calls++;
}

static ULONG request(side *s, uint32_t what, void *extension, void *handle,
                     PHW_TIMER_EX callback, int behaviour, uint64_t value, uint64_t window)
{
    if (behaviour >= 0) {
        s->self_handle[behaviour] = (uint64_t)(uintptr_t)handle;
        s->self_extension[behaviour] = extension;
    }
    count_call();
    return record_status(what, s->api->request(extension, handle, callback,
                                               context_of(behaviour), value, window));
}

static void initialize(side *s, uint32_t what, void *extension, uint8_t slot, bool null_out)
{
    if (s->initializes++ >= INITIALIZE_LIMIT) {
        record_value(VAL_SKIPPED, what);
        return;
    }
    void *out = (void *)(uintptr_t)0x5a5a5a5a5a5a5a5au; /* S4: NULL on failure */
    count_call();
    ULONG status = record_status(what, s->api->initialize(extension, null_out ? NULL : &out));
    if (!null_out)
        record_value(VAL_HANDLE_OUT, (uint64_t)(uintptr_t)out);
    if (status == STOR_STATUS_SUCCESS)
        s->handles[slot] = (uint64_t)(uintptr_t)out;
}

static void remove_adapter(side *s, uint32_t what, void *extension)
{
    ULONG leaked = 0xdead;
    count_call();
    if (record_status(what, s->api->adapter_remove(extension, &leaked)) != STOR_STATUS_SUCCESS)
        return;
    record_value(VAL_LEAKED, leaked);
    for (int i = 0; i < PROGRAM_ADAPTER_SLOTS; i++)
        if (s->live[i] && s->extension[i] == extension)
            s->live[i] = false;
}

/* The library's process totals when this input started (the model's are 0). */
static stortimer_stats library_before;

/* Process totals grown during this input; a maximum cannot be subtracted. */
static void since_input_start(stortimer_stats *st, const stortimer_stats *before)
{
#define SINCE(field) st->field -= before->field;
    SINCE(timers_live) SINCE(timers_initialized) SINCE(timers_freed) SINCE(timers_leaked)
    SINCE(armed) SINCE(cancelled) SINCE(busy) SINCE(fired) SINCE(legacy_armed)
    SINCE(legacy_fired) SINCE(handed_over) SINCE(rejected) SINCE(notification_misuse)
    SINCE(lock_misuse) SINCE(wakeups) SINCE(lateness_total_us)
#undef SINCE
    st->lateness_max_us = 0;
}

static void read_stats(side *s, uint32_t what, void *extension)
{
    stortimer_stats st;
    count_call();
    if (record_status(what, s->api->stats_read(extension, &st)) != STOR_STATUS_SUCCESS)
        return;
    if (!extension)
        since_input_start(&st, s == &library_side ? &library_before : &(stortimer_stats){0});
    const ULONGLONG fields[] = {
        st.timers_live, st.timers_initialized, st.timers_freed, st.timers_leaked, st.armed,
        st.cancelled, st.busy, st.fired, st.legacy_armed, st.legacy_fired, st.handed_over,
        st.rejected, st.notification_misuse, st.lock_misuse, st.wakeups, st.lateness_max_us,
        st.lateness_total_us,
    };
    const size_t n = sizeof fields / sizeof fields[0];
    for (size_t i = 0; i < n; i += 4) /* four to an event */
        record(EV_VALUE, VAL_STATS, fields[i], i + 1 < n ? fields[i + 1] : 0,
               i + 2 < n ? fields[i + 2] : 0, i + 3 < n ? fields[i + 3] : 0);
}

/* ---- callbacks ---- */

#define ACTION_CODE(kind) (100u + (kind))

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

static void callback_a(PVOID extension, PVOID context)
{
    on_callback(1, extension, context, false, NULL);
}

static void callback_b(PVOID extension, PVOID context)
{
    on_callback(2, extension, context, false, NULL);
}

static void routine_a(PVOID extension)
{
    on_callback(3, extension, NULL, true, routine_a);
}

static void routine_b(PVOID extension)
{
    on_callback(4, extension, NULL, true, routine_b);
}

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

static void operate(side *s, const step *op)
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
    default:
        break;
    }
    record_value(VAL_IRQL, s->api->irql_current());
    for (int c = 0; c < PROGRAM_CLOCKS; c++)
        record(EV_VALUE, VAL_CLOCK, (uint64_t)c, s->api->clock_now(s->clocks[c]), 0, 0);
}

/* ---- an input ---- */

static void start(side *s, const api *api, event *trace)
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
static void finish(side *s)
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
    since_input_start(&st, s == &library_side ? &library_before : &(stortimer_stats){0});
    record(EV_VALUE, VAL_STATS, 2000, st.armed - st.cancelled - st.fired, 0, 0);
    for (int c = 0; c < PROGRAM_CLOCKS; c++)
        s->api->clock_destroy(s->clocks[c]);
}

static const char *event_name(uint32_t type)
{
    static const char *names[] = {"status", "callback", "report", "value"};
    return type < 4 ? names[type] : "?";
}

static void print_event(const char *who, size_t i, const event *e)
{
    fprintf(stderr, "  %-7s #%zu %-8s what=%u a=%#llx b=%#llx c=%llu d=%llu\n", who, i,
            event_name(e->type), e->what, (unsigned long long)e->a, (unsigned long long)e->b,
            (unsigned long long)e->c, (unsigned long long)e->d);
}

static _Noreturn void diverged(int op, const char *why)
{
    totals.divergences++;
    fprintf(stderr, "fuzz: the library and the model diverge at operation %d (kind %u): %s\n",
            op, op >= 0 ? prog.ops[op].kind : 0u, why);
    size_t n = library_side.events > model_side.events ? library_side.events : model_side.events;
    size_t first = 0;
    while (first < library_side.events && first < model_side.events &&
           !memcmp(&library_trace[first], &model_trace[first], sizeof(event)))
        first++;
    size_t from = first > 4 ? first - 4 : 0;
    for (size_t i = from; i < n && i < first + 8; i++) {
        if (i < library_side.events)
            print_event("library", i, &library_trace[i]);
        if (i < model_side.events)
            print_event("model", i, &model_trace[i]);
    }
    abort();
}

/* STORTIMER_FUZZ_TRACE=1 prints every operation and what the library did. */
static void print_step(int i)
{
    const step *op = &prog.ops[i];
    fprintf(stderr, "op %d: kind %u slot %u sel %u ext %u/%u handle %u/%u value %llu window %llu "
            "behaviour %d\n", i, op->kind, op->slot, op->sel, op->ext.kind, op->ext.slot,
            op->handle.kind, op->handle.ref, (unsigned long long)op->value,
            (unsigned long long)op->window, op->behaviour);
    for (size_t e = 0; e < library_side.events; e++)
        print_event("library", e, &library_trace[e]);
}

static void compare(int op)
{
    static int tracing = -1;
    if (tracing < 0)
        tracing = getenv("STORTIMER_FUZZ_TRACE") != NULL;
    if (tracing && op >= 0)
        print_step(op);
    if (library_side.overflow || model_side.overflow)
        diverged(op, "a trace overflowed");
    if (library_side.events != model_side.events ||
        memcmp(library_trace, model_trace, library_side.events * sizeof(event)))
        diverged(op, "the traces differ");
    library_side.events = model_side.events = 0;
}

void lockstep_init(void)
{
    sides_init(on_report);
}

void lockstep_run(const uint8_t *data, size_t size)
{
    program_decode(&prog, data, size);
    totals.inputs++;
    sides_reset(on_report);
    stortimer_stats_read(NULL, &library_before);

    current = &library_side;
    start(&library_side, &library_api, library_trace);
    current = &model_side;
    start(&model_side, &model_api, model_trace);
    for (int i = 0; i < prog.op_count; i++) {
        current = &library_side;
        operate(&library_side, &prog.ops[i]);
        current = &model_side;
        operate(&model_side, &prog.ops[i]);
        compare(i);
    }
    current = &library_side;
    finish(&library_side);
    current = &model_side;
    finish(&model_side);
    compare(-1);
}

const lockstep_totals *lockstep_totals_get(void)
{
    return &totals;
}

void lockstep_print_totals(const char *who)
{
    printf("%s: %llu inputs, %llu API calls, %llu callbacks, %llu bad calls answered with "
           "an error status, %llu misuse reports, %llu divergences from the model\n",
           who, (unsigned long long)totals.inputs, (unsigned long long)totals.calls,
           (unsigned long long)totals.callbacks, (unsigned long long)totals.error_answers,
           (unsigned long long)totals.reports, (unsigned long long)totals.divergences);
    fflush(stdout);
}
