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

static int behaviour_of(program *p, reader *r, int depth);

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
    default:
        break;
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
    default:
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
