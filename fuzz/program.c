/*
 * program.c - turning bytes into a program (program.h).
 *
 * Values are drawn from classes that matter to timers: zero, tiny, the
 * 32 us TolerableDelay floor, milliseconds, seconds, and the top of the
 * 64-bit range where saturation (S5.4.3) is tested.
 */
#include "program.h"

#include <string.h>

typedef struct reader {
    const uint8_t *data;
    size_t size, pos;
} reader;

static bool more(const reader *r)
{
    return r->pos < r->size;
}

static uint8_t u8(reader *r)
{
    return more(r) ? r->data[r->pos++] : 0;
}

static uint16_t u16(reader *r)
{
    uint16_t lo = u8(r);
    return (uint16_t)(lo | (uint16_t)u8(r) << 8);
}

static uint32_t u32(reader *r)
{
    uint32_t lo = u16(r);
    return lo | (uint32_t)u16(r) << 16;
}

static uint64_t u64(reader *r)
{
    uint64_t lo = u32(r);
    return lo | (uint64_t)u32(r) << 32;
}

/* A TimerValue, TolerableDelay, advance or stall. */
static uint64_t value(reader *r)
{
    switch (u8(r) % 10) {
    case 0: return 0;
    case 1: return 1 + u8(r) % 4;                  /* a microsecond or so */
    case 2: return u8(r);                          /* around the 32 us floor */
    case 3: return u16(r);                         /* up to 65 ms */
    case 4: return (uint64_t)u16(r) * 100;         /* up to 6.5 s */
    case 5: return 1000u * (1 + u8(r) % 16);       /* whole milliseconds: ties */
    case 6: return u32(r);
    case 7: return UINT64_MAX - u8(r);             /* saturation */
    case 8: return u64(r);
    default: return 10000u;                        /* the common poll period */
    }
}

static ext_arg ext(reader *r)
{
    uint8_t b = u8(r);
    /* Half of all arguments are a slot's extension: most calls are meant. */
    uint8_t kind = b & 1 ? (uint8_t)EXT_SLOT : (uint8_t)((b >> 1) % EXT_KINDS);
    return (ext_arg){.kind = kind, .slot = (uint8_t)((b >> 4) % PROGRAM_ADAPTER_SLOTS)};
}

static handle_arg handle(reader *r)
{
    uint8_t b = u8(r);
    handle_arg h = {.ref = (uint8_t)((b >> 3) % PROGRAM_TIMER_SLOTS)};
    h.kind = b & 3 ? (uint8_t)HANDLE_SLOT : (uint8_t)((b >> 2 & 1) + 1 + (b >> 7));
    if (h.kind == HANDLE_FORGED)
        h.forged = u64(r);
    if (h.kind == HANDLE_NEAR)
        h.bit = u8(r) % 64;
    return h;
}

static dpc_arg dpc(reader *r)
{
    uint8_t b = u8(r);
    /* Three in four name a STOR_DPC of the program. */
    uint8_t kind = b & 3 ? (uint8_t)DPC_SLOT : (uint8_t)(1 + (b >> 2) % (DPC_KINDS - 1));
    return (dpc_arg){.kind = kind, .slot = (uint8_t)((b >> 4) % PROGRAM_DPC_SLOTS)};
}

/* A pause's Timeout in seconds (S16.3): none, short, STOR_ALL_REQUESTS. */
static uint64_t timeout(reader *r)
{
    switch (u8(r) % 6) {
    case 0: return 0;
    case 1: return 1;
    case 2: return u8(r) % 10;
    case 3: return UINT32_MAX;
    case 4: return u8(r);
    default: return u32(r);
    }
}

/* A tick (S13.2, S17.4) or a system-time base, out of range now and then. */
static uint64_t clock_setting(reader *r)
{
    switch (u8(r) % 6) {
    case 0: return 0;
    case 1: return 1 + u8(r);
    case 2: return 15625;
    case 3: return 429496729u + u8(r) % 2;
    case 4: return u32(r);
    default: return u64(r);
    }
}

static int behaviour_of(program *p, reader *r, int depth);

/* The arguments of the S14-S16 calls, shared by operations and actions. */
static void new_routine_args(program *p, step *s, reader *r, int depth)
{
    switch (s->kind) {
    case OP_INITIALIZE_DPC:
        s->ext = ext(r);
        s->dpc = dpc(r);
        s->sel = u8(r);
        break;
    case OP_ISSUE_DPC:
        s->ext = ext(r);
        s->dpc = dpc(r);
        s->sel = u8(r);
        s->value = u8(r);
        s->behaviour = behaviour_of(p, r, depth);
        break;
    case OP_SYNCHRONIZE:
        s->ext = ext(r);
        s->sel = u8(r);
        s->behaviour = behaviour_of(p, r, depth);
        break;
    case OP_PAUSE:
        s->ext = ext(r);
        s->sel = u8(r);
        s->value = timeout(r);
        s->unit = u8(r) % PROGRAM_UNITS;
        break;
    case OP_PAUSE_STATE:
        s->ext = ext(r);
        s->sel = u8(r);
        s->unit = u8(r) % PROGRAM_UNITS;
        break;
    case OP_QUERY_TIME:
        s->ext = ext(r);
        s->sel = u8(r);
        break;
    default:
        break;
    }
}

/* An action kind of S14-S16 as the operation that takes the same arguments. */
static uint8_t as_operation(uint8_t action_kind)
{
    switch (action_kind) {
    case ACT_INITIALIZE_DPC: return OP_INITIALIZE_DPC;
    case ACT_ISSUE_DPC: return OP_ISSUE_DPC;
    case ACT_SYNCHRONIZE: return OP_SYNCHRONIZE;
    case ACT_PAUSE: return OP_PAUSE;
    case ACT_PAUSE_STATE: return OP_PAUSE_STATE;
    case ACT_QUERY_TIME: return OP_QUERY_TIME;
    default: return OP_KINDS;
    }
}

/* What every arm names: an adapter, a timer, a TimerValue and a window. */
static void arm_args(step *s, reader *r)
{
    s->ext = ext(r);
    s->handle = handle(r);
    s->value = value(r);
    s->window = value(r);
}

static step action(program *p, reader *r, int depth)
{
    step s = {.kind = (uint8_t)(u8(r) % ACT_KINDS), .behaviour = -1};
    switch (s.kind) {
    case ACT_REARM_SELF:
        s.value = value(r);
        s.window = value(r);
        s.sel = u8(r);
        break;
    case ACT_ARM:
    case ACT_ARM_ABOVE_DISPATCH:
        arm_args(&s, r);
        s.behaviour = behaviour_of(p, r, depth - 1);
        break;
    case ACT_CANCEL:
    case ACT_FREE:
        s.ext = ext(r);
        s.handle = handle(r);
        break;
    case ACT_INITIALIZE:
        s.slot = u8(r) % PROGRAM_TIMER_SLOTS;
        s.ext = ext(r);
        break;
    case ACT_LEGACY:
        s.ext = ext(r);
        s.sel = u8(r);
        s.value = value(r);
        break;
    case ACT_STALL:
    case ACT_ADVANCE:
        s.slot = u8(r) % PROGRAM_CLOCKS;
        s.value = value(r) % 100000; /* a stall is short; keeps runs fast */
        break;
    case ACT_REMOVE_ADAPTER:
    case ACT_STATS:
        s.ext = ext(r);
        break;
    case ACT_LOCK_PAIR:
        s.ext = ext(r);
        s.sel = u8(r);
        break;
    default: {
        step args = {.kind = as_operation(s.kind), .behaviour = -1};
        new_routine_args(p, &args, r, depth - 1);
        args.kind = s.kind;
        s = args;
        break;
    }
    }
    return s;
}

/* Decodes a callback's behaviour; -1 (does nothing) when out of room. */
static int behaviour_of(program *p, reader *r, int depth)
{
    uint8_t count = u8(r) % (BEHAVIOUR_ACTIONS + 1);
    if (depth <= 0 || p->behaviour_count == PROGRAM_MAX_BEHAVIOURS)
        return -1;
    int index = p->behaviour_count++;
    behaviour *b = &p->behaviours[index];
    memset(b, 0, sizeof *b);
    for (int i = 0; i < count; i++)
        b->actions[b->count++] = action(p, r, depth);
    return index;
}

/* Operation codes by weight: arming and advancing are the common case. */
static const uint8_t op_by_byte[] = {
    OP_CREATE_ADAPTER, OP_CREATE_ADAPTER, OP_REMOVE_ADAPTER,
    OP_INITIALIZE, OP_INITIALIZE, OP_INITIALIZE,
    OP_REQUEST, OP_REQUEST, OP_REQUEST, OP_REQUEST, OP_REQUEST, OP_REQUEST,
    OP_FREE, OP_FREE, OP_LEGACY, OP_LEGACY, OP_OTHER_NOTIFICATION,
    OP_ADVANCE, OP_ADVANCE, OP_ADVANCE, OP_ADVANCE, OP_ADVANCE,
    OP_RAISE_IRQL, OP_RAISE_IRQL, OP_POP, OP_POP, OP_ACQUIRE, OP_ACQUIRE,
    OP_BIND_CLOCK, OP_STALL, OP_STATS, OP_RECREATE_CLOCK, OP_LOWER_TOO_HIGH,
    OP_RELEASE_FORGED,
    OP_INITIALIZE_DPC, OP_INITIALIZE_DPC, OP_ISSUE_DPC, OP_ISSUE_DPC, OP_ISSUE_DPC,
    OP_SYNCHRONIZE, OP_PAUSE, OP_PAUSE, OP_PAUSE_STATE, OP_QUERY_TIME, OP_SET_CLOCK_TIME,
    OP_NEXT_FIRE,
};

static step operation(program *p, reader *r)
{
    step s = {.kind = op_by_byte[u8(r) % sizeof op_by_byte], .behaviour = -1};
    switch (s.kind) {
    case OP_CREATE_ADAPTER: {
        uint8_t b = u8(r);
        s.slot = b % PROGRAM_ADAPTER_SLOTS;
        s.sel = (b >> 2) % PROGRAM_CLOCKS;
        s.half_duplex = b >> 3 & 1;
        s.max_timers = (b >> 4) % 8 < 5 ? 0 : (b >> 4) % 8 - 4; /* 0 (none) or 1-3 */
        s.size = b >> 7 ? UINT64_MAX - u8(r) : u8(r);        /* a few huge ones */
        break;
    }
    case OP_REMOVE_ADAPTER:
    case OP_STATS:
    case OP_OTHER_NOTIFICATION:
        s.ext = ext(r);
        break;
    case OP_INITIALIZE:
        s.slot = u8(r) % PROGRAM_TIMER_SLOTS;
        s.ext = ext(r);
        s.sel = u8(r) % 16 == 0; /* now and then a NULL out-pointer */
        break;
    case OP_REQUEST:
        arm_args(&s, r);
        s.sel = u8(r);
        s.behaviour = behaviour_of(p, r, 3);
        break;
    case OP_FREE:
        s.ext = ext(r);
        s.handle = handle(r);
        break;
    case OP_LEGACY:
        s.ext = ext(r);
        s.sel = u8(r);
        s.value = value(r);
        s.behaviour = behaviour_of(p, r, 3);
        break;
    case OP_ADVANCE:
        s.slot = u8(r) % PROGRAM_CLOCKS;
        s.value = value(r);
        break;
    case OP_RAISE_IRQL:
        s.sel = u8(r);
        break;
    case OP_ACQUIRE:
        s.ext = ext(r);
        s.sel = u8(r);
        s.slot = u8(r) % 32 == 0; /* now and then a NULL LockHandle */
        break;
    case OP_BIND_CLOCK:
    case OP_RECREATE_CLOCK:
        s.slot = u8(r) % (PROGRAM_CLOCKS + 1);
        break;
    case OP_STALL:
        s.value = value(r);
        break;
    case OP_RELEASE_FORGED:
        s.sel = u8(r);
        s.handle.forged = u64(r);
        break;
    case OP_SET_CLOCK_TIME:
        s.slot = u8(r) % (PROGRAM_CLOCKS + 1); /* PROGRAM_CLOCKS: a dead clock */
        s.sel = u8(r);
        s.value = clock_setting(r);
        break;
    case OP_NEXT_FIRE:
        s.slot = u8(r) % PROGRAM_CLOCKS;
        break;
    default:
        new_routine_args(p, &s, r, 3);
        break;
    }
    return s;
}

void program_decode(program *p, const uint8_t *data, size_t size)
{
    reader r = {.data = data, .size = size};
    p->op_count = 0;
    p->behaviour_count = 0;
    while (more(&r) && p->op_count < PROGRAM_MAX_OPS)
        p->ops[p->op_count++] = operation(p, &r);
}
