/*
 * storport_dpc.h - what the notification forms of the DPC routines share
 * with them (SPEC S14.1).
 */
#ifndef STORTIMER_STORPORT_STORPORT_DPC_H
#define STORTIMER_STORPORT_STORPORT_DPC_H

#include "storport.h"

/* StorPortIssueDpc and StorPortInitializeDpc, for the notification forms
 * too; `caller` is the miniport's call site, for the verifier. */
BOOLEAN st_issue_dpc(PVOID DeviceExtension, PSTOR_DPC Dpc, PVOID SystemArgument1,
                     PVOID SystemArgument2, const void *caller);
void st_initialize_dpc(PVOID DeviceExtension, PSTOR_DPC Dpc, PHW_DPC_ROUTINE HwDpcRoutine,
                       const void *caller);

#endif
