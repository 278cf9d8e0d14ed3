/*
 * json_check.h - a small, strict JSON (RFC 8259) reader for the tests: a test
 * that writes a file others will load (the Chrome trace) checks it parses
 * under the exact grammar, then looks inside it.
 *
 *   char err[128];
 *   json_value *doc = json_parse_file(path, err, sizeof err);
 *   CHECK(doc != NULL);                  (err says "line L column C: what")
 *   const json_value *events = json_get(doc, "traceEvents");
 *   for (size_t i = 0; i < json_length(events); i++) ... json_at(events, i) ...
 *   json_free(doc);
 *
 * Strict: no trailing commas, comments, single quotes, NaN/Infinity, leading
 * zeros, unescaped control characters, invalid UTF-8, lone surrogates, byte
 * order mark, or anything but whitespace after the value. Two documented
 * limits: "\u0000" is rejected (strings are NUL-terminated C strings), and
 * nesting deeper than JSON_MAX_DEPTH is rejected. Duplicate object keys are
 * accepted (RFC 8259 allows them); json_get() finds the first.
 * Accessors accept NULL (e.g. json_get() of an absent key) and then return
 * NULL, 0 or false.
 */
#ifndef STORTIMER_TEST_JSON_CHECK_H
#define STORTIMER_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Arrays and objects nested deeper than this are an error, not a stack overflow. */
#define JSON_MAX_DEPTH 256

/* The kind of a value; true and false are kinds of their own. */
typedef enum json_kind { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_kind;

/* One parsed value (opaque); arrays and objects keep their members in document order. */
typedef struct json_value json_value;

/* Parses text[0..length) (need not be NUL-terminated); NULL on error, with "line L column C: what" in error (columns count bytes). */
json_value *json_parse(const char *text, size_t length, char *error, size_t error_size);

/* Reads and parses a whole file; NULL on error ("PATH: reason" when the file cannot be read). */
json_value *json_parse_file(const char *path, char *error, size_t error_size);

/* Frees a tree returned by json_parse or json_parse_file (NULL is fine). */
void json_free(json_value *v);

/* The kind of v; JSON_NULL for a NULL pointer too, so test absence with json_get() == NULL. */
json_kind json_kind_of(const json_value *v);

/* Number of array elements or object members; 0 for anything else. */
size_t json_length(const json_value *v);

/* The i-th element of an array (or value of the i-th object member); NULL if out of range or not a container. */
const json_value *json_at(const json_value *array, size_t i);

/* The value of the first member named key; NULL if absent or not an object. */
const json_value *json_get(const json_value *object, const char *key);

/* The i-th member's key of an object; NULL if out of range or not an object. */
const char *json_key_at(const json_value *object, size_t i);

/* The decoded UTF-8 string (never contains NUL); NULL if v is not a string. */
const char *json_string(const json_value *v);

/* True if v is a number. */
bool json_is_number(const json_value *v);

/* The number's value as strtod reads it (+-HUGE_VAL beyond double range); 0.0 if not a number. */
double json_number(const json_value *v);

#endif
