/* thread_state.c - per-thread IRQL (SPEC S5.7, S8.1, S9.1, S9.3). */
#include "platform/thread_state.h"

#include "platform/report.h"

_Thread_local st_thread_state st_self ST_TLS_MODEL;

KIRQL stortimer_irql_current(void)
{
    return st_self.irql;
}

KIRQL stortimer_irql_raise(KIRQL new_irql)
{
    KIRQL old = st_self.irql;
    if (new_irql < old || new_irql > HIGH_LEVEL) {
        /* Above DISPATCH_LEVEL we may be in a signal handler: no report. */
        if (old <= DISPATCH_LEVEL)
            st_report("stortimer_irql_raise(%u) at IRQL %u: cannot raise to a "
                      "lower or unknown level; IRQL unchanged",
                      (unsigned)new_irql, (unsigned)old);
        return old;
    }
    st_self.irql = new_irql;
    return old;
}

void stortimer_irql_lower(KIRQL old_irql)
{
    KIRQL current = st_self.irql;
    if (old_irql > current) {
        if (current <= DISPATCH_LEVEL)
            st_report("stortimer_irql_lower(%u) at IRQL %u: cannot lower to a "
                      "higher level; IRQL unchanged",
                      (unsigned)old_irql, (unsigned)current);
        return;
    }
    st_self.irql = old_irql;
}

stortimer_clock *stortimer_thread_bind_clock(stortimer_clock *clock)
{
    stortimer_clock *previous = st_self.bound_clock;
    st_self.bound_clock = clock;
    return previous;
}
