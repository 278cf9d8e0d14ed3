/* report.h - misuse reports: one clear line instead of a hang or a crash. */
#ifndef STORTIMER_PLATFORM_REPORT_H
#define STORTIMER_PLATFORM_REPORT_H

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ST_PRINTF(a, b)
#endif

/* Formats one line and hands it to the report handler. Not signal-safe. */
void st_report(const char *format, ...) ST_PRINTF(1, 2);

#endif
