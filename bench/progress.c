/* progress.c - step lines on stderr, so a long run shows where it is. */
#include "bench.h"

#include <stdarg.h>

static int total_steps, current_step;
static char step_name[128];

void progress_set_total(int steps)
{
    total_steps = steps;
    current_step = 0;
}

void progress_step(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(step_name, sizeof step_name, fmt, args);
    va_end(args);
    current_step++;
    fprintf(stderr, "[%d/%d] %s\n", current_step, total_steps, step_name);
}

void progress_phase(const char *phase)
{
    fprintf(stderr, "[%d/%d] %s: %s...\n", current_step, total_steps, step_name, phase);
}
