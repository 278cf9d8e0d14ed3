/*
 * lifecycle.h - an adapter's creation and removal, as far as the adapter
 * itself goes (SPEC S3.4). The host routines (storport/host_adapter.c)
 * give it a runner (time/) between opening and publishing it, and take the
 * runner away between the two halves of closing it.
 */
#ifndef STORTIMER_ADAPTERS_LIFECYCLE_H
#define STORTIMER_ADAPTERS_LIFECYCLE_H

#include "adapters/timer_ops.h"

/* An adapter set up as `config` says, its clock reading `now`, with a new
 * zeroed extension in *extension; not yet live. NULL if no memory. */
st_adapter *st_adapter_open(const stortimer_adapter_config *config, uint64_t now,
                            void **extension);

/* Gives up an adapter opened but never published. */
void st_adapter_discard(st_adapter *a, void *extension);

/* Makes the adapter live: its extension now finds it. */
void st_adapter_publish(st_adapter *a, void *extension);

/*
 * The first half of a removal: the adapter dies (its extension and every
 * handle stop finding it), its pending arms are cancelled and a running
 * callback is waited for. False if it was removed meanwhile. Call without
 * any of its locks.
 */
bool st_adapter_close_begin(const st_adapter_ref *ref, st_removal *removal);

/* The second half, once its runner stopped: what ran meanwhile is
 * cancelled too, the timers the miniport never freed are freed (their
 * count returned), and the slot and extension are given back. */
ULONG st_adapter_close_end(const st_removal *removal);

#endif
