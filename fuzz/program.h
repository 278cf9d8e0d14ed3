/*
 * program.h - fuzzer input decoded into a program of API calls.
 *
 * Bytes become steps: top-level operations (create an adapter, arm a timer,
 * advance a clock, raise the IRQL, take a lock, ...) and, for every arm, a
 * behaviour: up to two actions its callback performs when it runs (re-arm
 * itself, free itself, arm another timer, remove an adapter, stall, ...).
 * Arguments are references the runner resolves on each side: an adapter
 * slot's extension (live or stale), a timer slot's handle (live, freed, of
 * another adapter), NULL, or forged values. Decoding never fails: every
 * byte string is a program, so the fuzzer never wastes an input.
 */
#ifndef STORTIMER_FUZZ_PROGRAM_H
#define STORTIMER_FUZZ_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRAM_ADAPTER_SLOTS 4
#define PROGRAM_TIMER_SLOTS 16
#define PROGRAM_CLOCKS 2
#define PROGRAM_DPC_SLOTS 8
#define PROGRAM_UNITS 12
#define PROGRAM_MAX_OPS 2048
#define PROGRAM_MAX_BEHAVIOURS 4096
#define BEHAVIOUR_ACTIONS 2

typedef enum op_kind {
    OP_CREATE_ADAPTER,   /* slot, clock, max_timers, half_duplex, size */
    OP_REMOVE_ADAPTER,   /* ext */
    OP_INITIALIZE,       /* slot (timer slot), ext, sel 1: NULL out-pointer */
    OP_REQUEST,          /* ext, handle, sel (callback), value, window, behaviour */
    OP_FREE,             /* ext, handle */
    OP_LEGACY,           /* ext, sel (routine), value, behaviour */
    OP_OTHER_NOTIFICATION,
    OP_ADVANCE,          /* slot (clock), value */
    OP_RAISE_IRQL,       /* sel: the level asked for */
    OP_POP,              /* releases the last lock taken or lowers the last raise */
    OP_ACQUIRE,          /* ext, sel (lock kind), slot 1: NULL LockHandle */
    OP_BIND_CLOCK,       /* slot (clock, or none) */
    OP_STALL,            /* value */
    OP_STATS,            /* ext */
    OP_RECREATE_CLOCK,   /* slot (clock) */
    OP_LOWER_TOO_HIGH,   /* a lower to a level above the current one */
    OP_RELEASE_FORGED,   /* a lock handle that was never taken, or NULL */
    /* S13-S17 */
    OP_INITIALIZE_DPC,   /* ext, dpc, sel (routine) */
    OP_ISSUE_DPC,        /* ext, dpc, sel (form, device IRQL), value (arg 2), behaviour */
    OP_SYNCHRONIZE,      /* ext, sel (routine), behaviour */
    OP_PAUSE,            /* ext, sel (which, device IRQL), value (Timeout), unit */
    OP_PAUSE_STATE,      /* ext, sel (adapter or unit), unit */
    OP_QUERY_TIME,       /* ext, sel (NULL arguments) */
    OP_SET_CLOCK_TIME,   /* slot (clock), sel (tick or base), value */
    OP_NEXT_FIRE,        /* slot (clock) */
    OP_KINDS
} op_kind;

typedef enum action_kind {
    ACT_NONE,
    ACT_REARM_SELF,      /* value, window, sel (callback) */
    ACT_CANCEL_SELF,
    ACT_FREE_SELF,
    ACT_ARM,             /* ext, handle, value, window, behaviour (child) */
    ACT_CANCEL,          /* ext, handle */
    ACT_FREE,            /* ext, handle */
    ACT_INITIALIZE,      /* slot, ext */
    ACT_LEGACY,          /* ext, sel (routine), value */
    ACT_STALL,           /* value */
    ACT_ADVANCE,         /* slot (clock), value: refused inside a callback */
    ACT_REMOVE_ADAPTER,  /* ext */
    ACT_ARM_ABOVE_DISPATCH, /* ext, handle, value, behaviour: raised to device level */
    ACT_LOCK_PAIR,       /* ext, sel (lock kind): acquire then release */
    ACT_STATS,           /* ext */
    ACT_INITIALIZE_DPC,  /* ext, dpc, sel */
    ACT_ISSUE_DPC,       /* ext, dpc, sel, value, behaviour (the DPC routine's) */
    ACT_SYNCHRONIZE,     /* ext, sel, behaviour (the synchronized routine's) */
    ACT_PAUSE,           /* ext, sel, value, unit */
    ACT_PAUSE_STATE,     /* ext, sel, unit */
    ACT_QUERY_TIME,      /* ext, sel */
    ACT_KINDS
} action_kind;

/* Which extension pointer a call gets. */
typedef enum ext_kind {
    EXT_SLOT,            /* the extension in adapter slot `slot` (may be stale) */
    EXT_NULL,
    EXT_INTERIOR,        /* a pointer one byte into that extension */
    EXT_FORGED,          /* a made-up address */
    EXT_FOREIGN,         /* the address of some other object of the program */
    EXT_KINDS
} ext_kind;

/* Which timer handle a call gets. */
typedef enum handle_kind {
    HANDLE_SLOT,         /* the handle in timer slot `ref` (live, freed, NULL) */
    HANDLE_NULL,
    HANDLE_FORGED,       /* `forged` */
    HANDLE_NEAR,         /* the slot's handle with bit `bit` flipped */
    HANDLE_KINDS
} handle_kind;

/* Which STOR_DPC a call gets. */
typedef enum dpc_kind {
    DPC_SLOT,            /* STOR_DPC number `slot` of the program */
    DPC_NULL,
    DPC_INTERIOR,        /* a pointer into that STOR_DPC, never initialized */
    DPC_FOREIGN,         /* the extension of adapter slot `slot`: not a DPC */
    DPC_KINDS
} dpc_kind;

typedef struct dpc_arg {
    uint8_t kind, slot;
} dpc_arg;

typedef struct ext_arg {
    uint8_t kind, slot;
} ext_arg;

typedef struct handle_arg {
    uint8_t kind, ref, bit;
    uint64_t forged;
} handle_arg;

/* One top-level operation or one callback action. */
typedef struct step {
    uint8_t kind;
    ext_arg ext;
    handle_arg handle;
    dpc_arg dpc;
    uint8_t unit;
    uint8_t slot, sel;
    uint64_t value, window;
    uint64_t size;
    uint32_t max_timers;
    bool half_duplex;
    int behaviour;       /* index in behaviours, or -1 */
} step;

typedef struct behaviour {
    step actions[BEHAVIOUR_ACTIONS];
    int count;
} behaviour;

typedef struct program {
    step ops[PROGRAM_MAX_OPS];
    int op_count;
    behaviour behaviours[PROGRAM_MAX_BEHAVIOURS];
    int behaviour_count;
} program;

/* Decodes `data` into `p` (which is large: keep it static). */
void program_decode(program *p, const uint8_t *data, size_t size);

#endif
