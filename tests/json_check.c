/*
 * json_check.c - a strict RFC 8259 parser (see json_check.h). It accepts the
 * grammar exactly and no extension, so "it parsed here" means any conforming
 * reader (chrome://tracing, Perfetto, Python's json) will load the file.
 */
#include "json_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct json_value {
    json_kind kind;
    double number;      /* JSON_NUMBER */
    char *string;       /* JSON_STRING: decoded UTF-8, NUL-terminated */
    size_t count;       /* JSON_ARRAY, JSON_OBJECT: members in items[] */
    size_t capacity;
    json_value **items;
    char **keys;        /* JSON_OBJECT: keys[i] names items[i] */
};

typedef struct parser {
    const char *text;
    size_t length;
    size_t pos;
    unsigned depth;
    char *error;
    size_t error_size;
    bool failed;
} parser;

/* Records the first error only (anything after it is a consequence); returns
 * NULL so a parse function can `return fail(...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void *fail(parser *p, size_t at, const char *format, ...)
{
    bool first = !p->failed;
    p->failed = true;
    if (!first || !p->error || p->error_size == 0)
        return NULL;
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at && i < p->length; i++) {
        column = p->text[i] == '\n' ? 1 : column + 1;
        line += p->text[i] == '\n';
    }
    int n = snprintf(p->error, p->error_size, "line %zu column %zu: ", line, column);
    if (n >= 0 && (size_t)n < p->error_size) {
        va_list ap;
        va_start(ap, format);
        vsnprintf(p->error + n, p->error_size - (size_t)n, format, ap);
        va_end(ap);
    }
    return NULL;
}

/* The next byte, or -1 at the end of the text. */
static int peek(const parser *p)
{
    return p->pos < p->length ? (unsigned char)p->text[p->pos] : -1;
}

/* "expected X, found Y", naming Y so the message is useful without the file at hand. */
static void *fail_unexpected(parser *p, const char *expected)
{
    int c = peek(p);
    if (c < 0)
        return fail(p, p->pos, "expected %s, found end of input", expected);
    if (c > 0x20 && c < 0x7f)
        return fail(p, p->pos, "expected %s, found '%c'", expected, c);
    return fail(p, p->pos, "expected %s, found byte 0x%02x", expected, (unsigned)c);
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* Moves *i past a run of digits; returns how many there were. */
static size_t skip_digits(const parser *p, size_t *i)
{
    size_t start = *i;
    while (*i < p->length && is_digit((unsigned char)p->text[*i]))
        (*i)++;
    return *i - start;
}

/* RFC 8259 whitespace is exactly these four: no form feed, no BOM. */
static void skip_whitespace(parser *p)
{
    for (int c = peek(p); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek(p))
        p->pos++;
}

static json_value *new_value(parser *p, json_kind kind)
{
    json_value *v = calloc(1, sizeof *v);
    if (!v)
        return fail(p, p->pos, "out of memory");
    v->kind = kind;
    return v;
}

/* Adds item (and key, for an object) to c, taking ownership of both even on failure. */
static bool append(parser *p, json_value *c, char *key, json_value *item)
{
    if (c->count == c->capacity) {
        size_t capacity = c->capacity ? 2 * c->capacity : 4;
        json_value **items = realloc(c->items, capacity * sizeof *items);
        if (items)
            c->items = items;
        char **keys = items && c->kind == JSON_OBJECT ? realloc(c->keys, capacity * sizeof *keys) : NULL;
        if (keys)
            c->keys = keys;
        if (!items || (c->kind == JSON_OBJECT && !keys)) {
            free(key);
            json_free(item);
            return fail(p, p->pos, "out of memory");
        }
        c->capacity = capacity;
    }
    if (c->kind == JSON_OBJECT)
        c->keys[c->count] = key;
    c->items[c->count++] = item;
    return true;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 if there is none. */
static size_t utf8_length(const unsigned char *s, size_t available)
{
    size_t length;
    unsigned char low = 0x80, high = 0xbf;  /* allowed range of the second byte */
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        length = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        length = 3;
        low = s[0] == 0xe0 ? 0xa0 : 0x80;   /* overlong */
        high = s[0] == 0xed ? 0x9f : 0xbf;  /* U+D800..U+DFFF */
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        length = 4;
        low = s[0] == 0xf0 ? 0x90 : 0x80;   /* overlong */
        high = s[0] == 0xf4 ? 0x8f : 0xbf;  /* above U+10FFFF */
    } else {
        return 0;
    }
    if (available < length || s[1] < low || s[1] > high)
        return 0;
    for (size_t k = 2; k < length; k++)
        if (s[k] < 0x80 || s[k] > 0xbf)
            return 0;
    return length;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (size_t k = n - 1; k > 0; k--, cp >>= 6)
        out[k] = (char)(0x80 | (cp & 0x3f));
    out[0] = (char)(lead[n] | cp);
    return n;
}

/* The four hex digits at text[at..at+4), which must lie before end; -1 if not. */
static long hex4(const parser *p, size_t at, size_t end)
{
    if (end < at + 4)
        return -1;
    long value = 0;
    for (size_t k = at; k < at + 4; k++) {
        int c = (unsigned char)p->text[k], lower = c | 0x20;
        int digit = is_digit(c) ? c - '0' : lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    return value;
}

/* Decodes the escape at text[*i] (a backslash), moving *i past it; returns the
 * code point, or -1 after an error. */
static long decode_escape(parser *p, size_t *i, size_t end)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char e = p->text[*i + 1];  /* the string scan guarantees it lies before end */
    const char *simple = e ? strchr(from, e) : NULL;
    long cp = e == 'u' ? hex4(p, *i + 2, end) : -1;
    if (simple) {
        *i += 2;
        return (unsigned char)to[simple - from];
    }
    if (e != 'u' && e > 0x20 && e < 0x7f) {
        fail(p, *i, "invalid escape '\\%c'", e);
    } else if (e != 'u') {
        fail(p, *i, "invalid escape: backslash before byte 0x%02x", (unsigned char)e);
    } else if (cp < 0) {
        fail(p, *i, "\\u needs four hex digits");
    } else if (cp == 0) {
        /* Allowed by JSON, but it would cut json_string()'s C string short. */
        fail(p, *i, "\\u0000 is not supported (strings are NUL-terminated)");
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        fail(p, *i, "lone low surrogate \\u%04lx", (unsigned long)cp);
    } else if (cp >= 0xd800 && cp <= 0xdbff) {
        /* UTF-16 pair: the high half must be followed at once by a low half. */
        bool escaped = end >= *i + 8 && p->text[*i + 6] == '\\' && p->text[*i + 7] == 'u';
        long low = escaped ? hex4(p, *i + 8, end) : -1;
        if (low >= 0xdc00 && low <= 0xdfff) {
            *i += 12;
            return 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        fail(p, *i, "lone high surrogate \\u%04lx", (unsigned long)cp);
    } else {
        *i += 6;
        return cp;
    }
    return -1;
}

/* Parses the string at p->pos (a '"') into a new NUL-terminated buffer. */
static char *parse_string(parser *p)
{
    const unsigned char *t = (const unsigned char *)p->text;
    size_t open = p->pos, end = open + 1;
    /* Find the closing quote first: decoding never lengthens, so the raw span sizes the buffer. */
    while (end < p->length && t[end] != '"' && t[end] >= 0x20)
        end += t[end] == '\\' ? 2 : 1;
    if (end >= p->length)
        return fail(p, open, "unterminated string");
    if (t[end] != '"')
        return fail(p, end, "unescaped control character 0x%02x in string", t[end]);
    char *out = malloc(end - open);
    if (!out)
        return fail(p, open, "out of memory");
    size_t n = 0, i = open + 1;
    while (i < end) {
        size_t length = 1;
        if (t[i] == '\\') {
            long cp = decode_escape(p, &i, end);
            if (cp < 0)
                break;
            n += put_utf8(out + n, (unsigned long)cp);
            continue;
        }
        if (t[i] >= 0x80 && (length = utf8_length(t + i, end - i)) == 0) {
            fail(p, i, "invalid UTF-8 byte 0x%02x in string", t[i]);
            break;
        }
        memcpy(out + n, t + i, length);
        n += length;
        i += length;
    }
    if (p->failed) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    p->pos = end + 1;
    return out;
}

/* Checks the number grammar by hand: strtod alone would take "01", "1.", "inf", hex. */
static json_value *parse_number(parser *p)
{
    const char *t = p->text;
    size_t start = p->pos, i = p->pos;
    if (t[i] == '-')
        i++;
    size_t first = i;
    if (skip_digits(p, &i) == 0) {
        p->pos = i;
        return fail_unexpected(p, "a digit");
    }
    if (t[first] == '0' && i - first > 1)
        return fail(p, first, "leading zero in number");
    if (i < p->length && t[i] == '.') {
        i++;
        if (skip_digits(p, &i) == 0)
            return fail(p, i, "expected a digit after the decimal point");
    }
    if (i < p->length && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < p->length && (t[i] == '+' || t[i] == '-'))
            i++;
        if (skip_digits(p, &i) == 0)
            return fail(p, i, "expected a digit in the exponent");
    }
    /* strtod needs a NUL-terminated copy (the text may not be); it reads '.' as
     * the decimal point in the "C" locale, which a test program never leaves. */
    char small[64], *copy = small;
    size_t n = i - start;
    if (n >= sizeof small && !(copy = malloc(n + 1)))
        return fail(p, start, "out of memory");
    memcpy(copy, t + start, n);
    copy[n] = '\0';
    json_value *v = new_value(p, JSON_NUMBER);
    if (v)
        v->number = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    p->pos = i;
    return v;
}

static json_value *parse_literal(parser *p, const char *word, json_kind kind)
{
    size_t n = strlen(word);
    if (p->length - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return fail(p, p->pos, "invalid literal (expected '%s')", word);
    p->pos += n;
    return new_value(p, kind);
}

static json_value *parse_value(parser *p);

/* Parses the array or object at p->pos ('[' or '{') up to its closing bracket. */
static json_value *parse_container(parser *p, json_kind kind)
{
    char close = kind == JSON_ARRAY ? ']' : '}';
    json_value *c = new_value(p, kind);
    if (!c)
        return NULL;
    p->pos++;
    skip_whitespace(p);
    if (peek(p) == close) {
        p->pos++;
        return c;
    }
    for (;;) {
        char *key = NULL;
        if (kind == JSON_OBJECT) {
            if (peek(p) != '"') {
                fail_unexpected(p, "a string key");
                break;
            }
            if (!(key = parse_string(p)))
                break;
            skip_whitespace(p);
            if (peek(p) != ':') {
                free(key);
                fail_unexpected(p, "':'");
                break;
            }
            p->pos++;
        }
        json_value *item = parse_value(p);
        if (!item) {
            free(key);
            break;
        }
        if (!append(p, c, key, item))
            break;
        skip_whitespace(p);
        if (peek(p) == close) {
            p->pos++;
            return c;
        }
        if (peek(p) != ',') {
            fail_unexpected(p, kind == JSON_ARRAY ? "',' or ']'" : "',' or '}'");
            break;
        }
        p->pos++;
        skip_whitespace(p);
        if (peek(p) == close) {
            /* The most common hand-written mistake: name it. */
            fail(p, p->pos, "trailing comma before '%c'", close);
            break;
        }
    }
    json_free(c);
    return NULL;
}

static json_value *parse_value(parser *p)
{
    skip_whitespace(p);
    int c = peek(p);
    if (c == '[' || c == '{') {
        /* Bounded recursion: a broken or hostile file cannot overflow the stack. */
        if (p->depth >= JSON_MAX_DEPTH)
            return fail(p, p->pos, "nesting deeper than %d", JSON_MAX_DEPTH);
        p->depth++;
        json_value *v = parse_container(p, c == '[' ? JSON_ARRAY : JSON_OBJECT);
        p->depth--;
        return v;
    }
    if (c == '"') {
        char *s = parse_string(p);
        json_value *v = s ? new_value(p, JSON_STRING) : NULL;
        if (v)
            v->string = s;
        else
            free(s);
        return v;
    }
    if (c == 't')
        return parse_literal(p, "true", JSON_TRUE);
    if (c == 'f')
        return parse_literal(p, "false", JSON_FALSE);
    if (c == 'n')
        return parse_literal(p, "null", JSON_NULL);
    if (c == '-' || is_digit(c))
        return parse_number(p);
    return fail_unexpected(p, "a value");
}

json_value *json_parse(const char *text, size_t length, char *error, size_t error_size)
{
    parser p = {.text = text ? text : "", .length = text ? length : 0, .error = error, .error_size = error_size};
    if (error && error_size)
        error[0] = '\0';
    json_value *v = parse_value(&p);
    skip_whitespace(&p);
    if (v && p.pos < p.length) {
        fail_unexpected(&p, "end of input after the value");
        json_free(v);
        v = NULL;
    }
    return v;
}

json_value *json_parse_file(const char *path, char *error, size_t error_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (error && error_size)
            snprintf(error, error_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    /* Read in growing chunks rather than trusting ftell: works on pipes too. */
    char *text = NULL;
    size_t length = 0, capacity = 0, got = 1;
    while (got > 0) {
        if (length == capacity) {
            char *bigger = realloc(text, capacity = capacity ? 2 * capacity : 65536);
            if (!bigger)
                break;
            text = bigger;
        }
        got = fread(text + length, 1, capacity - length, f);
        length += got;
    }
    /* The loop stops with got > 0 only when realloc failed. */
    const char *problem = got > 0 ? "out of memory" : ferror(f) ? "read error" : NULL;
    fclose(f);
    json_value *v = NULL;
    if (problem && error && error_size)
        snprintf(error, error_size, "%s: %s", path, problem);
    else if (!problem)
        v = json_parse(text, length, error, error_size);
    free(text);
    return v;
}

void json_free(json_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

json_kind json_kind_of(const json_value *v) { return v ? v->kind : JSON_NULL; }

size_t json_length(const json_value *v) { return v ? v->count : 0; }

const json_value *json_at(const json_value *array, size_t i)
{
    return array && i < array->count ? array->items[i] : NULL;
}

const json_value *json_get(const json_value *object, const char *key)
{
    if (!object || object->kind != JSON_OBJECT || !key)
        return NULL;
    for (size_t i = 0; i < object->count; i++)
        if (strcmp(object->keys[i], key) == 0)
            return object->items[i];
    return NULL;
}

const char *json_key_at(const json_value *object, size_t i)
{
    return object && object->kind == JSON_OBJECT && i < object->count ? object->keys[i] : NULL;
}

const char *json_string(const json_value *v) { return v && v->kind == JSON_STRING ? v->string : NULL; }

bool json_is_number(const json_value *v) { return v && v->kind == JSON_NUMBER; }

double json_number(const json_value *v) { return json_is_number(v) ? v->number : 0.0; }
