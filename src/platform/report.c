/* report.c - the report handler and status names. */
#include "platform/report.h"

#include "platform/sync.h"
#include "stortimer.h"

#include <stdarg.h>
#include <stdio.h>

static st_mutex report_lock = ST_MUTEX_INITIALIZER;
static stortimer_report_fn *report_handler;
static void *report_context;

void stortimer_set_report_handler(stortimer_report_fn *handler, void *context)
{
    st_mutex_lock(&report_lock);
    report_handler = handler;
    report_context = context;
    st_mutex_unlock(&report_lock);
}

void st_report(const char *format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    /* Started just above: the analyzer's "uninitialized va_list" is a false
     * positive on x86-64. */
    vsnprintf(line, sizeof line, format, args); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(args);

    st_mutex_lock(&report_lock);
    stortimer_report_fn *handler = report_handler;
    void *context = report_context;
    st_mutex_unlock(&report_lock);
    if (handler)
        handler(line, context);
    else
        fprintf(stderr, "stortimer: %s\n", line);
}

const char *stortimer_status_name(ULONG status)
{
    switch (status) {
    case STOR_STATUS_SUCCESS: return "STOR_STATUS_SUCCESS";
    case STOR_STATUS_UNSUCCESSFUL: return "STOR_STATUS_UNSUCCESSFUL";
    case STOR_STATUS_NOT_IMPLEMENTED: return "STOR_STATUS_NOT_IMPLEMENTED";
    case STOR_STATUS_INSUFFICIENT_RESOURCES: return "STOR_STATUS_INSUFFICIENT_RESOURCES";
    case STOR_STATUS_BUFFER_TOO_SMALL: return "STOR_STATUS_BUFFER_TOO_SMALL";
    case STOR_STATUS_ACCESS_DENIED: return "STOR_STATUS_ACCESS_DENIED";
    case STOR_STATUS_INVALID_PARAMETER: return "STOR_STATUS_INVALID_PARAMETER";
    case STOR_STATUS_INVALID_DEVICE_REQUEST: return "STOR_STATUS_INVALID_DEVICE_REQUEST";
    case STOR_STATUS_INVALID_IRQL: return "STOR_STATUS_INVALID_IRQL";
    case STOR_STATUS_INVALID_DEVICE_STATE: return "STOR_STATUS_INVALID_DEVICE_STATE";
    case STOR_STATUS_INVALID_BUFFER_SIZE: return "STOR_STATUS_INVALID_BUFFER_SIZE";
    case STOR_STATUS_UNSUPPORTED_VERSION: return "STOR_STATUS_UNSUPPORTED_VERSION";
    case STOR_STATUS_BUSY: return "STOR_STATUS_BUSY";
    default: return "unknown";
    }
}
