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
#include "side.h"

#include "adapters/adapter_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

program prog;
side library_side, model_side;
side *current;
lockstep_totals totals;
static event library_trace[TRACE_MAX], model_trace[TRACE_MAX];

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

/* The input being run: STORTIMER_FUZZ_SAVE=file keeps one that diverges. */
static const uint8_t *input_data;
static size_t input_size;

static void save_input(void)
{
    const char *path = getenv("STORTIMER_FUZZ_SAVE");
    FILE *f = path ? fopen(path, "wb") : NULL;
    if (!f)
        return;
    fwrite(input_data, 1, input_size, f);
    fclose(f);
    fprintf(stderr, "fuzz: the input is in %s\n", path);
}

static _Noreturn void diverged(int op, const char *why)
{
    totals.divergences++;
    save_input();
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
    for (size_t e = 0; e < model_side.events; e++)
        if (e >= library_side.events || memcmp(&library_trace[e], &model_trace[e], sizeof(event)))
            print_event("model", e, &model_trace[e]);
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

/* Every live adapter of the library keeps its invariants after each
 * operation (src/adapters/adapter_check.h). In the checked build only
 * (fuzz_replay, on stortimer_checked): libFuzzer's own build skips it, for
 * six times the inputs a second. */
#ifdef STORTIMER_CHECKS
static void check_adapters(int op)
{
    char why[256];
    for (int i = 0; i < PROGRAM_ADAPTER_SLOTS; i++) {
        if (library_side.live[i] &&
            !st_adapter_check_extension(library_side.extension[i], why, sizeof why)) {
            fprintf(stderr, "fuzz: after operation %d, adapter slot %d: %s\n", op, i, why);
            totals.divergences++;
            abort();
        }
    }
}
#else
#define check_adapters(op) ((void)0)
#endif

void lockstep_init(void)
{
    api_tables_init(on_report);
}

void lockstep_run(const uint8_t *data, size_t size)
{
    input_data = data;
    input_size = size;
    program_decode(&prog, data, size);
    totals.inputs++;
    api_tables_reset(on_report);
    stortimer_stats_read(NULL, &library_before);

    current = &library_side;
    start(&library_side, &library_api, library_trace);
    current = &model_side;
    start(&model_side, &model_api, model_trace);
    for (int i = 0; i < prog.op_count; i++) {
        current = &library_side;
        operate(&library_side, &prog.ops[i]);
        check_adapters(i);
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
