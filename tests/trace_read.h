/*
 * trace_read.h - reading back a trace file in a test: a file name of the
 * test's own, the strict parse (json_check.h), and looking up events.
 */
#ifndef STORTIMER_TEST_TRACE_READ_H
#define STORTIMER_TEST_TRACE_READ_H

#include "harness.h"
#include "json_check.h"

/* A file name of this test's own ("stortimer-<what>-<pid>.json" in the
 * temporary folder); removed when the test ends. */
char *trace_temp_path(const char *what);

/* The parsed file; a test failure, saying why, if it does not parse. */
json_value *trace_parse(const char *path);

/* An event's string field ("" if it has none) and number field (a test
 * failure if it is no number). */
const char *trace_string(const json_value *event, const char *key);
double trace_number(const json_value *event, const char *key);

/* The first event at or after index `from` with phase `ph` whose field
 * `key` is `value` (NULL: any); its index in *at. NULL if none. */
const json_value *trace_find(const json_value *events, const char *ph, const char *key,
                             const char *value, size_t from, size_t *at);

#endif
