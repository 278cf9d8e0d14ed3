/*
 * side.h - what the lock-step runner keeps for each of the two sides (the
 * library and the model), shared by its files:
 *   side.c        traces, arguments, and the calls operations and callbacks share
 *   callbacks.c   the callbacks, doing what their behaviour says
 *   operations.c  the top-level operations, and an input's start and finish
 *   lockstep.c    running an input on both sides and comparing the traces
 */
#ifndef STORTIMER_FUZZ_SIDE_H
#define STORTIMER_FUZZ_SIDE_H

#include "lockstep.h"
#include "program.h"
#include "api_tables.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_MAX (1u << 17)
#define STACK_MAX 48
#define ACTION_BUDGET 3000
#define CREATE_LIMIT 48
#define INITIALIZE_LIMIT 2048
#define RECREATE_LIMIT 32

typedef enum event_type { EV_STATUS, EV_CALLBACK, EV_REPORT, EV_VALUE } event_type;

typedef enum value_id {
    VAL_IRQL, VAL_CLOCK, VAL_HANDLE_OUT, VAL_LEAKED, VAL_OLD_IRQL, VAL_STATS, VAL_SKIPPED,
    VAL_DPC_ARGS, VAL_ANSWER, VAL_PAUSE_STATE, VAL_TIME, VAL_NEXT_FIRE,
} value_id;

/* The ids of EV_CALLBACK events: who started. */
enum {
    CB_TIMER_A = 1, CB_TIMER_B, CB_LEGACY_A, CB_LEGACY_B, CB_DPC_A, CB_DPC_B, CB_SYNC_TRUE,
    CB_SYNC_FALSE,
};

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
    int in_routine;                               /* callbacks, DPCs, synchronized */
    int budget, creates, initializes, recreates;
    event *trace;
    size_t events;
    bool overflow;
} side;

#define ACTION_CODE(kind) (100u + (kind))

/* The program being run, the two sides, and the side running now. */
extern program prog;
extern side library_side, model_side;
extern side *current;
extern lockstep_totals totals;
/* The library's process totals when this input started (the model's are 0). */
extern stortimer_stats library_before;

/* ---- side.c ---- */
void record(uint32_t type, uint32_t what, uint64_t a, uint64_t b, uint64_t c, uint64_t d);
void record_value(value_id what, uint64_t value);
ULONG record_status(uint32_t what, ULONG status);
void on_report(const char *message);
void *extension_arg(const side *s, ext_arg e);
void *handle_arg_value(const side *s, handle_arg h);
int slot_of(const side *s, const void *extension);
PHW_TIMER_EX callback_sel(uint8_t sel);
PHW_TIMER routine_sel(uint8_t sel);
STOR_SPINLOCK lock_sel(uint8_t sel);
void *context_of(int behaviour);
int behaviour_of_context(const void *context);
void count_call(void);
ULONG request(side *s, uint32_t what, void *extension, void *handle, PHW_TIMER_EX callback,
              int behaviour, uint64_t value, uint64_t window);
void initialize(side *s, uint32_t what, void *extension, uint8_t slot, bool null_out);
void remove_adapter(side *s, uint32_t what, void *extension);
/* Turns process totals into their growth since this input started. */
void since_input_start(const side *s, stortimer_stats *st);
void read_stats(side *s, uint32_t what, void *extension);

/* S13-S17 calls, shared by operations and callback actions. */
extern STOR_DPC dpc_objects[PROGRAM_DPC_SLOTS];
void *dpc_arg_value(const side *s, dpc_arg d);
void new_routine_call(side *s, uint32_t what, const step *a);

/* ---- callbacks.c ---- */
void callback_a(PVOID extension, PVOID context);
void callback_b(PVOID extension, PVOID context);
void routine_a(PVOID extension);
void routine_b(PVOID extension);
void dpc_routine_a(PSTOR_DPC dpc, PVOID extension, PVOID argument1, PVOID argument2);
void dpc_routine_b(PSTOR_DPC dpc, PVOID extension, PVOID argument1, PVOID argument2);
BOOLEAN sync_true(PVOID extension, PVOID context);
BOOLEAN sync_false(PVOID extension, PVOID context);

/* ---- operations.c ---- */
void operate(side *s, const step *op);
void start(side *s, const api *api, event *trace);
void finish(side *s);

#endif
