/* trace_read.c - reading back a trace file in a test (trace_read.h). */
#include "trace_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void remove_file(void *path)
{
    unlink(path);
    free(path);
}

char *trace_temp_path(const char *what)
{
    char *path = malloc(256);
    CHECK(path != NULL);
    snprintf(path, 256, "%s/stortimer-%s-%ld.json", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             what, (long)getpid());
    test_at_end(remove_file, path);
    return path;
}

json_value *trace_parse(const char *path)
{
    char error[256];
    json_value *doc = json_parse_file(path, error, sizeof error);
    if (!doc)
        test_failf(__FILE__, __LINE__, "%s does not parse: %s", path, error);
    CHECK(doc != NULL);
    return doc;
}

const char *trace_string(const json_value *event, const char *key)
{
    const char *s = json_string(json_get(event, key));
    return s ? s : "";
}

double trace_number(const json_value *event, const char *key)
{
    const json_value *v = json_get(event, key);
    CHECK(json_is_number(v));
    return json_number(v);
}

const json_value *trace_find(const json_value *events, const char *ph, const char *key,
                             const char *value, size_t from, size_t *at)
{
    for (size_t i = from; i < json_length(events); i++) {
        const json_value *e = json_at(events, i);
        if (strcmp(trace_string(e, "ph"), ph) == 0 &&
            (!value || strcmp(trace_string(e, key), value) == 0)) {
            if (at)
                *at = i;
            return e;
        }
    }
    return NULL;
}
