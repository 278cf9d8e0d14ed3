/*
 * chart.h - a line chart (axes, grid, ticks, legend) drawn with svg.h.
 * Either axis may be logarithmic; values outside an axis's range, and
 * values <= 0 on a log axis, are drawn at its edge.
 */
#ifndef STORTIMER_BENCH_CHART_H
#define STORTIMER_BENCH_CHART_H

#include <stdbool.h>
#include <stddef.h>

typedef struct chart_series {
    const char *name;
    const double *x, *y;
    size_t n;
    bool markers;    /* a dot at each point (for short series) */
} chart_series;

typedef struct chart {
    const char *title, *subtitle, *x_label, *y_label;
    bool log_x, log_y;
    double x_min, x_max, y_min, y_max; /* min == max: from the data */
    bool legend_bottom_left;           /* else top left */
    const chart_series *series;
    size_t series_count;
} chart;

/* Writes the chart as an SVG file; false (with a message) on error. */
bool chart_write(const chart *c, const char *path);

#endif /* STORTIMER_BENCH_CHART_H */
