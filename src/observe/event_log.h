/*
 * event_log.h - the event log's reading side, for the trace writer.
 *
 * Recording is reached through adapters/events.h, which the layers below
 * use; this layer connects its recorder there when a log starts.
 */
#ifndef STORTIMER_OBSERVE_EVENT_LOG_H
#define STORTIMER_OBSERVE_EVENT_LOG_H

#include "stortimer.h"

#include <stdbool.h>

/* The log's copy of every recorded event, for the trace writer: calls
 * visit on each in order, under the log's lock. Returns false if visit
 * did. */
bool st_log_visit(bool (*visit)(const stortimer_event *e, void *ctx), void *ctx);

/* The name given to a timer (handle NULL: to an adapter) by
 * stortimer_log_name, or NULL. Under the log's lock: for st_log_visit's
 * visitors only. */
const char *st_log_name_of(uint64_t adapter_id, const void *handle);

/* Records a call answered with an error status (STORTIMER_EVENT_REJECTED),
 * on its adapter's track when `extension` names a live one (looked up,
 * never dereferenced). For the Storport layer; the log is on. */
void st_log_rejected(ULONG status, PVOID extension, PVOID handle, bool legacy);

#endif
