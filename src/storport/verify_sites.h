/*
 * verify_sites.h - where each timer was initialized, kept while the
 * verifier is on, so that a timer its adapter's removal frees can be named
 * with the code that made it (stortimer_verify_start).
 */
#ifndef STORTIMER_STORPORT_VERIFY_SITES_H
#define STORTIMER_STORPORT_VERIFY_SITES_H

#include "storport.h"

/* A timer initialized by the code at `caller`; one freed. */
void st_sites_initialized(PVOID extension, PVOID handle, const void *caller);
void st_sites_freed(const void *extension, const void *handle);

/* Reports each timer of `extension` not freed yet as a leak, and forgets
 * them: its adapter is being removed. Returns how many. */
unsigned st_sites_report_leaks(PVOID extension);

#endif
