/*
 * svg.h - a small SVG writer: just the shapes our plots draw. Coordinates
 * are in pixels, origin top left, as in SVG.
 */
#ifndef STORTIMER_BENCH_SVG_H
#define STORTIMER_BENCH_SVG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct svg svg;

/* Starts a file of width x height pixels on a white background; NULL on error. */
svg *svg_open(const char *path, int width, int height);

/* Finishes and closes the file; false if anything failed to be written. */
bool svg_close(svg *s);

/* dash: NULL for a solid line, else an SVG dash array such as "4 3". */
void svg_line(svg *s, double x1, double y1, double x2, double y2, const char *color,
              double width, const char *dash);

void svg_polyline(svg *s, const double *xs, const double *ys, size_t n, const char *color,
                  double width, const char *dash);

void svg_circle(svg *s, double x, double y, double r, const char *color);

void svg_rect(svg *s, double x, double y, double w, double h, const char *fill,
              const char *stroke);

/* anchor: "start", "middle" or "end"; rotate in degrees around (x, y). */
void svg_text(svg *s, double x, double y, const char *anchor, int size, const char *color,
              double rotate, const char *text);

#endif /* STORTIMER_BENCH_SVG_H */
