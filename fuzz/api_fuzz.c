/*
 * api_fuzz.c - the libFuzzer entry point: every input is a program of API
 * calls run in lock step on the library and the reference model.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... (see fuzz/CMakeLists.txt)
 *   make fuzz            runs it on the committed seed corpus
 */
#include "lockstep.h"

#include <stdlib.h>

static void print_totals(void)
{
    lockstep_print_totals("fuzz");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    lockstep_init();
    atexit(print_totals);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lockstep_run(data, size);
    return 0;
}
