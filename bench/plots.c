/* plots.c - turns the cost and lateness results into charts (chart.h). */
#include "plots.h"

#include "chart.h"

#include <math.h>
#include <stdlib.h>

bool plot_cost_vs_n(const bench_opts *opts, const cost_results *res)
{
    double xs[COST_MAX_IMPLS][COST_MAX_NS], ys[COST_MAX_IMPLS][COST_MAX_NS];
    chart_series series[COST_MAX_IMPLS];
    size_t count = 0;
    for (size_t i = 0; i < cost_impl_count && count < COST_MAX_IMPLS; i++) {
        size_t n = 0;
        for (size_t k = 0; k < res->n_count; k++) {
            double v = res->ns_per_op[i][k][OP_REARM];
            if (isnan(v))
                continue;
            xs[count][n] = (double)res->ns[k];
            ys[count][n] = v;
            n++;
        }
        if (n) {
            series[count] = (chart_series){.name = cost_impls[i]->name, .x = xs[count],
                                           .y = ys[count], .n = n, .markers = true};
            count++;
        }
    }
    chart c = {
        .title = "Random re-arm (cancel + arm) cost against live timers",
        .subtitle = "median of 5; timeouts uniform in [1 us, 1 s]; timerfd at N = 1e3 only",
        .x_label = "live timers N (log)",
        .y_label = "ns per re-arm (log)",
        .log_x = true,
        .log_y = true,
        .series = series,
        .series_count = count,
    };
    char path[4096];
    snprintf(path, sizeof path, "%s/cost_vs_n.svg", opts->out_dir);
    return chart_write(&c, path);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The share of samples at or above each sample's value (a complementary
 * CDF), which on log axes shows the tail that a p99 summarizes. */
static void tail_curve(const lateness_side *side, double *x, double *y)
{
    for (size_t i = 0; i < side->count; i++)
        x[i] = side->samples_us[i];
    qsort(x, side->count, sizeof *x, compare_doubles);
    for (size_t i = 0; i < side->count; i++)
        y[i] = (double)(side->count - i) / (double)side->count;
}

bool plot_lateness(const bench_opts *opts, const lateness_results *res)
{
    const lateness_side *sides[2] = {&res->stortimer, &res->floor};
    double *x[2], *y[2];
    chart_series series[2];
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        x[i] = malloc((sides[i]->count + 1) * sizeof(double));
        y[i] = malloc((sides[i]->count + 1) * sizeof(double));
        ok = ok && x[i] && y[i];
        if (x[i] && y[i])
            tail_curve(sides[i], x[i], y[i]);
        series[i] = (chart_series){.name = sides[i]->who, .x = x[i], .y = y[i],
                                   .n = sides[i]->count};
    }
    chart c = {
        .title = "Real-clock lateness: stortimer callback against the kernel's floor",
        .subtitle = "TimerValue random in [1 ms, 5 ms], TolerableDelay 0; "
                    "values at or below 0 drawn at the left edge",
        .x_label = "lateness, us (log)",
        .y_label = "share of samples at least this late (log)",
        .log_x = true,
        .log_y = true,
        .legend_bottom_left = true,
        .series = series,
        .series_count = 2,
    };
    char path[4096];
    snprintf(path, sizeof path, "%s/lateness.svg", opts->out_dir);
    ok = ok && chart_write(&c, path);
    for (int i = 0; i < 2; i++) {
        free(x[i]);
        free(y[i]);
    }
    return ok;
}
