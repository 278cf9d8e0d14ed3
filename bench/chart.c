/* chart.c - ranges, ticks and layout for chart.h; the drawing is svg.c's. */
#include "chart.h"

#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define WIDTH 760
#define HEIGHT 470
#define LEFT 80.0
#define RIGHT 24.0
#define TOP 62.0
#define BOTTOM 58.0

/* Colour and dash per series: lines that overlap stay told apart. */
static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b"};
static const char *const dashes[] = {NULL, NULL, "7 4", "2 3", NULL, "7 3 2 3"};
#define STYLES (sizeof palette / sizeof palette[0])

typedef struct axis {
    bool log;
    double lo, hi;           /* in data units */
    double pixel_lo, pixel_hi;
} axis;

static double scale(const axis *a, double v)
{
    double lo = a->log ? log10(a->lo) : a->lo, hi = a->log ? log10(a->hi) : a->hi;
    double t;
    if (a->log)
        t = v > 0 ? log10(v) : lo;
    else
        t = v;
    if (t < lo)
        t = lo;
    if (t > hi)
        t = hi;
    return a->pixel_lo + (t - lo) / (hi - lo) * (a->pixel_hi - a->pixel_lo);
}

/* 1, 2 or 5 times a power of ten, at least v. */
static double nice_ceiling(double v)
{
    static const double mantissas[] = {1, 2, 5};
    double p = pow(10, floor(log10(v)));
    for (size_t i = 0; i < sizeof mantissas / sizeof mantissas[0]; i++)
        if (mantissas[i] * p >= v)
            return mantissas[i] * p;
    return 10 * p;
}

/* The data's range on one axis; log axes widen to whole decades. */
static void fit(axis *a, const chart *c, bool is_x, double fixed_lo, double fixed_hi)
{
    if (fixed_lo < fixed_hi) {
        a->lo = fixed_lo;
        a->hi = fixed_hi;
        return;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (size_t s = 0; s < c->series_count; s++) {
        const double *v = is_x ? c->series[s].x : c->series[s].y;
        for (size_t i = 0; i < c->series[s].n; i++) {
            if (a->log && v[i] <= 0)
                continue;
            lo = fmin(lo, v[i]);
            hi = fmax(hi, v[i]);
        }
    }
    if (!(lo <= hi)) {
        lo = a->log ? 1 : 0;
        hi = a->log ? 10 : 1;
    }
    if (a->log) {
        a->lo = pow(10, floor(log10(lo)));
        a->hi = pow(10, ceil(log10(hi)));
        if (a->hi <= a->lo)
            a->hi = a->lo * 10;
    } else {
        a->lo = lo < 0 ? -nice_ceiling(-lo) : 0;
        a->hi = hi > 0 ? nice_ceiling(hi) : 1;
    }
}

static void format_tick(char *buf, size_t size, double v, bool log)
{
    if (log && (v >= 1e3 || v < 1e-2))
        snprintf(buf, size, "1e%d", (int)lround(log10(v)));
    else
        snprintf(buf, size, "%g", v);
}

static void draw_x_ticks(svg *s, const axis *x, const axis *y)
{
    char label[32];
    if (x->log) {
        for (double d = x->lo; d <= x->hi * 1.0001; d *= 10) {
            for (int m = 2; m < 10 && d * m < x->hi; m++)
                svg_line(s, scale(x, d * m), y->pixel_lo, scale(x, d * m), y->pixel_hi,
                         "#eeeeee", 1, NULL);
            double px = scale(x, d);
            svg_line(s, px, y->pixel_lo, px, y->pixel_hi, "#d0d0d0", 1, NULL);
            format_tick(label, sizeof label, d, true);
            svg_text(s, px, y->pixel_lo + 18, "middle", 12, "#333333", 0, label);
        }
        return;
    }
    double step = nice_ceiling((x->hi - x->lo) / 6);
    for (double v = x->lo; v <= x->hi + step / 1000; v += step) {
        double px = scale(x, v);
        svg_line(s, px, y->pixel_lo, px, y->pixel_hi, "#d0d0d0", 1, NULL);
        format_tick(label, sizeof label, v, false);
        svg_text(s, px, y->pixel_lo + 18, "middle", 12, "#333333", 0, label);
    }
}

static void draw_y_ticks(svg *s, const axis *x, const axis *y)
{
    char label[32];
    if (y->log) {
        for (double d = y->lo; d <= y->hi * 1.0001; d *= 10) {
            for (int m = 2; m < 10 && d * m < y->hi; m++)
                svg_line(s, x->pixel_lo, scale(y, d * m), x->pixel_hi, scale(y, d * m),
                         "#eeeeee", 1, NULL);
            double py = scale(y, d);
            svg_line(s, x->pixel_lo, py, x->pixel_hi, py, "#d0d0d0", 1, NULL);
            format_tick(label, sizeof label, d, true);
            svg_text(s, x->pixel_lo - 8, py + 4, "end", 12, "#333333", 0, label);
        }
        return;
    }
    double step = nice_ceiling((y->hi - y->lo) / 6);
    for (double v = y->lo; v <= y->hi + step / 1000; v += step) {
        double py = scale(y, v);
        svg_line(s, x->pixel_lo, py, x->pixel_hi, py, "#d0d0d0", 1, NULL);
        format_tick(label, sizeof label, v, false);
        svg_text(s, x->pixel_lo - 8, py + 4, "end", 12, "#333333", 0, label);
    }
}

static void draw_series(svg *s, const chart *c, const axis *x, const axis *y)
{
    for (size_t k = 0; k < c->series_count; k++) {
        const chart_series *series = &c->series[k];
        const char *color = palette[k % STYLES];
        double *px = malloc((series->n + 1) * sizeof *px);
        double *py = malloc((series->n + 1) * sizeof *py);
        if (!px || !py) {
            free(px);
            free(py);
            continue;
        }
        for (size_t i = 0; i < series->n; i++) {
            px[i] = scale(x, series->x[i]);
            py[i] = scale(y, series->y[i]);
        }
        if (series->n > 1)
            svg_polyline(s, px, py, series->n, color, 2, dashes[k % STYLES]);
        if (series->markers)
            for (size_t i = 0; i < series->n; i++)
                svg_circle(s, px[i], py[i], 4, color);
        free(px);
        free(py);
    }
}

static void draw_legend(svg *s, const chart *c, const axis *x, const axis *y)
{
    double row = 20, height = 10 + row * (double)c->series_count, width = 210;
    double left = x->pixel_lo + 12;
    double top = c->legend_bottom_left ? y->pixel_lo - 12 - height : y->pixel_hi + 12;
    svg_rect(s, left, top, width, height, "white", "#999999");
    for (size_t k = 0; k < c->series_count; k++) {
        double cy = top + 15 + row * (double)k;
        svg_line(s, left + 10, cy - 4, left + 36, cy - 4, palette[k % STYLES], 3,
                 dashes[k % STYLES]);
        svg_text(s, left + 44, cy, "start", 13, "#222222", 0, c->series[k].name);
    }
}

bool chart_write(const chart *c, const char *path)
{
    axis x = {.log = c->log_x, .pixel_lo = LEFT, .pixel_hi = WIDTH - RIGHT};
    axis y = {.log = c->log_y, .pixel_lo = HEIGHT - BOTTOM, .pixel_hi = TOP};
    fit(&x, c, true, c->x_min, c->x_max);
    fit(&y, c, false, c->y_min, c->y_max);

    svg *s = svg_open(path, WIDTH, HEIGHT);
    if (!s) {
        fprintf(stderr, "stortimer-bench: cannot write %s\n", path);
        return false;
    }
    svg_text(s, WIDTH / 2.0, 26, "middle", 17, "#111111", 0, c->title);
    if (c->subtitle)
        svg_text(s, WIDTH / 2.0, 46, "middle", 12, "#555555", 0, c->subtitle);
    draw_x_ticks(s, &x, &y);
    draw_y_ticks(s, &x, &y);
    svg_rect(s, x.pixel_lo, y.pixel_hi, x.pixel_hi - x.pixel_lo, y.pixel_lo - y.pixel_hi, "none",
             "#555555");
    draw_series(s, c, &x, &y);
    draw_legend(s, c, &x, &y);
    svg_text(s, (x.pixel_lo + x.pixel_hi) / 2, HEIGHT - 14, "middle", 14, "#111111", 0,
             c->x_label);
    svg_text(s, 20, (y.pixel_lo + y.pixel_hi) / 2, "middle", 14, "#111111", -90, c->y_label);
    bool ok = svg_close(s);
    if (!ok)
        fprintf(stderr, "stortimer-bench: error writing %s\n", path);
    return ok;
}
