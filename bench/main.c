/*
 * main.c - stortimer-bench: the Storport timer routines against libuv,
 * libevent and timerfd, plus real-clock lateness (of timer callbacks and of
 * DPCs), coalescing and thread scaling. Prints tables on stdout, progress
 * on stderr, and writes CSV and SVG files to --out.
 */
#include "bench.h"
#include "cost.h"
#include "plots.h"
#include "realtime.h"
#include "targets.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const part_names[] = {"memory", "cost", "lateness", "dpc", "coalescing",
                                         "scaling"};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: stortimer-bench [--quick] [--out DIR] [--only PART] [--impl NAME]\n"
            "  --quick      N up to 1e5 only and fewer samples: a fast try\n"
            "  --out DIR    where the CSV and SVG files go (default ./bench-results)\n"
            "  --only PART  one of: memory, cost, lateness, dpc, coalescing, scaling\n"
            "  --impl NAME  cost part: only the implementations whose name starts\n"
            "               with NAME (\"stortimer\": the API and the bare engine)\n");
}

static bool parse(int argc, char **argv, bench_opts *opts)
{
    *opts = (bench_opts){.out_dir = "bench-results"};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            opts->quick = true;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            opts->out_dir = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            opts->only = argv[++i];
            bool known = false;
            for (size_t k = 0; k < sizeof part_names / sizeof part_names[0]; k++)
                known = known || strcmp(opts->only, part_names[k]) == 0;
            if (!known) {
                fprintf(stderr, "stortimer-bench: unknown part '%s'\n", opts->only);
                return false;
            }
        } else if (strcmp(argv[i], "--impl") == 0 && i + 1 < argc) {
            opts->impl = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "stortimer-bench: unknown argument '%s'\n", argv[i]);
            return false;
        }
    }
    return true;
}

/* The machine is shared: the load around the run says how quiet it was. */
static void print_load(const char *when)
{
    char line[128] = "unknown";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            snprintf(line, sizeof line, "unknown\n");
        fclose(f);
    }
    printf("load average %s: %s", when, line);
}

static bool wanted(const bench_opts *opts, const char *part)
{
    return !opts->only || strcmp(opts->only, part) == 0;
}

int main(int argc, char **argv)
{
    bench_opts opts;
    if (!parse(argc, argv, &opts)) {
        usage(stderr);
        return 2;
    }
    if (!make_dirs(opts.out_dir))
        return 1;
    /* Tables and progress interleave sensibly even when piped. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    int steps = 0;
    if (wanted(&opts, "memory"))
        steps += memory_steps(&opts);
    if (wanted(&opts, "cost"))
        steps += cost_steps(&opts);
    if (wanted(&opts, "lateness"))
        steps += lateness_steps(&opts);
    if (wanted(&opts, "dpc"))
        steps += dpc_steps(&opts);
    if (wanted(&opts, "coalescing"))
        steps += coalescing_steps(&opts);
    if (wanted(&opts, "scaling"))
        steps += scaling_steps(&opts);
    progress_set_total(steps);

    printf("stortimer-bench: %s run, %ld CPUs online, results in %s\n",
           opts.quick ? "quick" : "full", sysconf(_SC_NPROCESSORS_ONLN), opts.out_dir);
    print_load("at start");

    static run_results r; /* large: kept off the stack */
    bool ok = true;
    /* Memory first: the library never frees its timer tables, so a later
     * measurement would reuse what an earlier part made. */
    if (wanted(&opts, "memory"))
        ok = (r.have_memory = run_memory(&opts, r.memory)) && ok;
    if (wanted(&opts, "cost")) {
        r.have_cost = run_cost(&opts, &r.cost);
        r.cost_filtered = opts.impl != NULL;
        ok = r.have_cost && ok;
        ok = plot_cost_vs_n(&opts, &r.cost) && ok;
    }
    if (wanted(&opts, "lateness")) {
        r.have_lateness = run_lateness(&opts, &r.lateness);
        ok = r.have_lateness && ok;
        if (r.have_lateness)
            ok = plot_lateness(&opts, &r.lateness) && ok;
    }
    if (wanted(&opts, "dpc"))
        ok = (r.have_dpc = run_dpc(&opts, &r.dpc)) && ok;
    if (wanted(&opts, "coalescing"))
        ok = (r.have_coalescing = run_coalescing(&opts, &r.coalescing)) && ok;
    if (wanted(&opts, "scaling"))
        ok = (r.have_scaling = run_scaling(&opts, &r.scaling)) && ok;

    print_targets(&r);
    printf("\n");
    print_load("at end");
    lateness_free(&r.lateness);
    dpc_free(&r.dpc);
    printf("files: %s/{cost,memory,lateness,dpc,coalescing,scaling}.csv, cost_vs_n.svg, "
           "lateness.svg\n", opts.out_dir);
    if (!ok)
        fprintf(stderr, "stortimer-bench: some measurements failed (see above)\n");
    return ok ? 0 : 1;
}
