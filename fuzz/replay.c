/*
 * replay.c - runs fuzzer inputs without libFuzzer: every file of the seed
 * corpus, then a number of random inputs from a fixed seed. Any compiler
 * builds it, so `make test` compares the library with the model even where
 * clang is not at hand.
 *
 *   fuzz_replay [--random N] [--seed S] [file or directory]...
 */
#include "lockstep.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INPUT_MAX 4096
#define SECONDS_PER_INPUT 30 /* a hang (a deadlock) ends the run: SIGALRM */

static uint8_t buffer[INPUT_MAX];

static void on_alarm(int signal)
{
    (void)signal;
    static const char message[] =
        "fuzz replay: an input ran for more than 30 s: the library hangs (a deadlock?)\n";
    (void)!write(2, message, sizeof message - 1);
    abort();
}

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t size = fread(buffer, 1, sizeof buffer, f);
    fclose(f);
    alarm(SECONDS_PER_INPUT);
    lockstep_run(buffer, size);
}

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        exit(1);
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        perror(path);
        exit(1);
    }
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (entry->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        run_path(child);
    }
    closedir(dir);
}

/* xorshift64*: a fixed seed gives the same inputs on every machine. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717u;
}

static void run_random(uint64_t count, uint64_t seed)
{
    uint64_t state = seed ? seed : 1;
    for (uint64_t i = 0; i < count; i++) {
        size_t size = 16 + next_random(&state) % (INPUT_MAX - 16);
        for (size_t j = 0; j < size; j++)
            buffer[j] = (uint8_t)(next_random(&state) >> 56);
        alarm(SECONDS_PER_INPUT);
        lockstep_run(buffer, size);
    }
}

int main(int argc, char **argv)
{
    uint64_t random_inputs = 0, seed = 1;
    lockstep_init();
    signal(SIGALRM, on_alarm);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--random") && i + 1 < argc)
            random_inputs = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else
            run_path(argv[i]);
    }
    run_random(random_inputs, seed);
    lockstep_print_totals("fuzz replay");
    return 0;
}
