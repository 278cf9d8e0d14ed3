/*
 * memory.c - bytes per timer: the heap (mallinfo2: in use, mmap included)
 * and resident-set growth while N timers are initialized, then while they
 * are all armed, divided by N. Each implementation is measured in a child
 * process forked for it, so that no allocator state or retained table of
 * another measurement is reused.
 */
#include "cost.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MEMORY_N 100000

static double heap_bytes(void)
{
    struct mallinfo2 info = mallinfo2();
    return (double)info.uordblks + (double)info.hblkhd;
}

static double rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static size_t memory_n(const cost_impl *impl)
{
    return impl->max_n && impl->max_n < MEMORY_N ? impl->max_n : MEMORY_N;
}

static void measure_here(const cost_impl *impl, size_t n, memory_result *r)
{
    prng rng = {.state = 0x3e3e3e3eu};
    void *s = impl->create(n);
    double heap0 = heap_bytes(), rss0 = rss_bytes();
    impl->init_timers(s);
    double heap1 = heap_bytes(), rss1 = rss_bytes();
    for (size_t i = 0; i < n; i++)
        impl->arm(s, i, prng_range(&rng, 1, 1000000));
    double heap2 = heap_bytes();
    r->measured = impl->errors(s) == 0;
    r->caller_bytes = impl->caller_bytes;
    r->struct_bytes = impl->struct_size ? impl->struct_size() : 0;
    r->heap_init = (heap1 - heap0) / (double)n;
    r->rss_init = (rss1 - rss0) / (double)n;
    r->heap_armed = (heap2 - heap1) / (double)n;
}

static bool measure_in_child(const cost_impl *impl, size_t n, memory_result *out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        memory_result r;
        memset(&r, 0, sizeof r);
        measure_here(impl, n, &r);
        _exit(write(fds[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    bool ok = pid > 0 && read(fds[0], out, sizeof *out) == (ssize_t)sizeof *out;
    close(fds[0]);
    int status = 0;
    if (pid > 0)
        waitpid(pid, &status, 0);
    return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 && out->measured;
}

int memory_steps(const bench_opts *opts)
{
    (void)opts;
    return 1;
}

static void print_table(const memory_result res[])
{
    printf("\n== Memory per timer, bytes (N = 1e5 timers created, then all armed) ==\n");
    printf("%-18s %5s %8s %8s %10s %9s %10s %8s\n", "implementation", "N", "struct",
           "caller", "lib heap", "lib RSS", "armed +heap", "total");
    for (size_t i = 0; i < cost_impl_count; i++) {
        const memory_result *r = &res[i];
        if (!r->measured)
            continue;
        char label[32], size[32];
        if (r->struct_bytes)
            snprintf(size, sizeof size, "%zu", r->struct_bytes);
        else
            snprintf(size, sizeof size, "-");
        printf("%-18s %5s %8s %8zu %10.1f %9.1f %10.1f %8.1f\n", cost_impls[i]->name,
               n_label(memory_n(cost_impls[i]), label), size, r->caller_bytes, r->heap_init,
               r->rss_init, r->heap_armed, (double)r->caller_bytes + r->heap_init + r->heap_armed);
    }
    printf("struct: sizeof the per-timer struct (stortimer API: library-private, measured only).\n"
           "caller: what the caller keeps per timer. lib heap / lib RSS: growth while the\n"
           "timers were initialized. armed +heap: further growth when all were armed.\n"
           "total = caller + lib heap + armed. timerfd: the kernel's timer and file are not\n"
           "process memory and are not counted; at N = 1e3, pages touched once for any\n"
           "number of timers weigh 100 times more per timer in its RSS column.\n");
}

static bool write_csv(const bench_opts *opts, const memory_result res[])
{
    FILE *f = csv_open(opts, "memory.csv",
                       "impl,N,struct_bytes,caller_bytes,heap_bytes_per_timer,"
                       "rss_bytes_per_timer,armed_heap_bytes_per_timer,total_bytes_per_timer");
    if (!f)
        return false;
    for (size_t i = 0; i < cost_impl_count; i++) {
        const memory_result *r = &res[i];
        if (r->measured)
            fprintf(f, "%s,%zu,%zu,%zu,%.2f,%.2f,%.2f,%.2f\n", cost_impls[i]->name,
                    memory_n(cost_impls[i]), r->struct_bytes, r->caller_bytes, r->heap_init,
                    r->rss_init, r->heap_armed,
                    (double)r->caller_bytes + r->heap_init + r->heap_armed);
    }
    return csv_close(f, "memory.csv");
}

bool run_memory(const bench_opts *opts, memory_result res[])
{
    progress_step("memory per timer");
    bool ok = true;
    for (size_t i = 0; i < cost_impl_count; i++) {
        progress_phase(cost_impls[i]->name);
        memset(&res[i], 0, sizeof res[i]);
        if (!measure_in_child(cost_impls[i], memory_n(cost_impls[i]), &res[i])) {
            fprintf(stderr, "stortimer-bench: memory of %s not measured\n", cost_impls[i]->name);
            res[i].measured = false;
            ok = false;
        }
    }
    print_table(res);
    return write_csv(opts, res) && ok;
}
