/* svg.c - writes the SVG elements of svg.h, escaping text for XML. */
#include "svg.h"

#include <stdio.h>
#include <stdlib.h>

struct svg {
    FILE *f;
};

svg *svg_open(const char *path, int width, int height)
{
    svg *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    s->f = fopen(path, "w");
    if (!s->f) {
        free(s);
        return NULL;
    }
    fprintf(s->f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            width, height, width, height, width, height);
    return s;
}

bool svg_close(svg *s)
{
    fprintf(s->f, "</svg>\n");
    bool ok = !ferror(s->f);
    if (fclose(s->f) != 0)
        ok = false;
    free(s);
    return ok;
}

void svg_line(svg *s, double x1, double y1, double x2, double y2, const char *color,
              double width, const char *dash)
{
    fprintf(s->f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"%.1f\"",
            x1, y1, x2, y2, color, width);
    if (dash)
        fprintf(s->f, " stroke-dasharray=\"%s\"", dash);
    fprintf(s->f, "/>\n");
}

void svg_polyline(svg *s, const double *xs, const double *ys, size_t n, const char *color,
                  double width, const char *dash)
{
    fprintf(s->f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
                  "stroke-linejoin=\"round\"", color, width);
    if (dash)
        fprintf(s->f, " stroke-dasharray=\"%s\"", dash);
    fprintf(s->f, " points=\"");
    for (size_t i = 0; i < n; i++)
        fprintf(s->f, "%s%.1f,%.1f", i ? " " : "", xs[i], ys[i]);
    fprintf(s->f, "\"/>\n");
}

void svg_circle(svg *s, double x, double y, double r, const char *color)
{
    fprintf(s->f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>\n", x, y, r, color);
}

void svg_rect(svg *s, double x, double y, double w, double h, const char *fill,
              const char *stroke)
{
    fprintf(s->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                  "stroke=\"%s\"/>\n", x, y, w, h, fill, stroke ? stroke : "none");
}

static void put_escaped(FILE *f, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*p, f);
        }
    }
}

void svg_text(svg *s, double x, double y, const char *anchor, int size, const char *color,
              double rotate, const char *text)
{
    fprintf(s->f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" fill=\"%s\"",
            x, y, anchor, size, color);
    if (rotate != 0)
        fprintf(s->f, " transform=\"rotate(%.1f %.1f %.1f)\"", rotate, x, y);
    fputc('>', s->f);
    put_escaped(s->f, text);
    fprintf(s->f, "</text>\n");
}
