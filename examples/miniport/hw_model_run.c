/*
 * hw_model_run.c - the host's loop over virtual time for a simulated device:
 * from timer fire time to device change and back, delivering interrupts
 * the way Storport calls HwInterrupt.
 */
#include "hw_model.h"

ULONG hw_model_run_until(hw_model *model, ULONGLONG until, PVOID extension, PHW_INTERRUPT isr,
                         hw_model_dpc *dpc)
{
    stortimer_clock *clock = hw_model_clock(model);
    ULONG interrupts = 0;
    for (;;) {
        /* One delivery per stop: an ISR that leaves the line up (not its
         * interrupt) must not spin here; the next change gets another try. */
        if (isr && hw_model_interrupt_asserted(model)) {
            BOOLEAN claimed = FALSE;
            if (stortimer_adapter_interrupt(extension, isr, &claimed) == STOR_STATUS_SUCCESS) {
                interrupts++;
                if (claimed && dpc)
                    dpc(extension);
                /* A STOR_DPC the ISR issued runs at the next advance: this
                 * one, by 0, runs it now, at the interrupt's time (SPEC
                 * S14.10, S17.5). */
                stortimer_clock_advance(clock, 0);
            }
        }
        ULONGLONG now = stortimer_clock_now(clock);
        if (now >= until)
            return interrupts;
        ULONGLONG next = until, fire;
        if (stortimer_clock_next_fire(clock, &fire) && fire < next)
            next = fire;
        ULONGLONG change = hw_model_next_change(model);
        if (change < next)
            next = change;
        stortimer_clock_advance_to(clock, next > now ? next : now + 1);
    }
}
