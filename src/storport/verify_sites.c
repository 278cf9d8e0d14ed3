/* verify_sites.c - where timers were initialized (verify_sites.h). */
#include "storport/verify_sites.h"

#include "platform/alloc.h"
#include "platform/sync.h"
#include "platform/verify.h"

typedef struct st_site {
    PVOID extension, handle;
    const void *caller;
} st_site;

static st_mutex sites_lock = ST_MUTEX_INITIALIZER;
static st_site *sites;
static size_t site_count, site_room;

void st_sites_initialized(PVOID extension, PVOID handle, const void *caller)
{
    st_mutex_lock(&sites_lock);
    st_site *grown = st_room_for_one(sites, &site_room, site_count, sizeof *sites, 64);
    if (grown) { /* short of memory: that timer goes unnamed */
        sites = grown;
        sites[site_count++] = (st_site){extension, handle, caller};
    }
    st_mutex_unlock(&sites_lock);
}

void st_sites_freed(const void *extension, const void *handle)
{
    st_mutex_lock(&sites_lock);
    for (size_t i = 0; i < site_count; i++) {
        if (sites[i].extension == extension && sites[i].handle == handle) {
            sites[i] = sites[--site_count];
            break;
        }
    }
    st_mutex_unlock(&sites_lock);
}

unsigned st_sites_report_leaks(PVOID extension)
{
    unsigned leaks = 0;
    st_mutex_lock(&sites_lock);
    for (size_t i = 0; i < site_count;) {
        if (sites[i].extension != extension) {
            i++;
            continue;
        }
        st_site leak = sites[i];
        sites[i] = sites[--site_count];
        leaks++;
        st_mutex_unlock(&sites_lock); /* the report handler may call us */
        st_verify_finding(NULL, "timer %p of adapter %p was never freed: its adapter's "
                          "removal frees it (StorPortInitializeTimer called from %p)",
                          leak.handle, extension, leak.caller);
        st_mutex_lock(&sites_lock);
        i = 0;
    }
    st_mutex_unlock(&sites_lock);
    return leaks;
}
