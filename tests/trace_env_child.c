/*
 * trace_env_child.c - a miniport-like program that knows nothing of traces,
 * for test_trace: run with STORTIMER_TRACE=path, it must leave a trace there
 * when it returns from main.
 */
#include "stortimer.h"

typedef struct _HW_DEVICE_EXTENSION {
    PVOID PollTimer;
    ULONG Polls;
} HW_DEVICE_EXTENSION, *PHW_DEVICE_EXTENSION;

static VOID PollTimerCallback(PVOID DeviceExtension, PVOID Context)
{
    PHW_DEVICE_EXTENSION adapter = DeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    if (++adapter->Polls < 3)
        StorPortRequestTimer(DeviceExtension, adapter->PollTimer, PollTimerCallback, NULL,
                             10000, 0);
}

int main(void)
{
    stortimer_clock *clock = stortimer_clock_virtual_create();
    stortimer_adapter_config config = {.extension_size = sizeof(HW_DEVICE_EXTENSION),
                                       .clock = clock};
    PVOID ext;
    if (!clock || stortimer_adapter_create(&config, &ext) != STOR_STATUS_SUCCESS)
        return 2;
    PHW_DEVICE_EXTENSION adapter = ext;
    if (StorPortInitializeTimer(ext, &adapter->PollTimer) != STOR_STATUS_SUCCESS ||
        StorPortRequestTimer(ext, adapter->PollTimer, PollTimerCallback, NULL, 10000, 0) !=
            STOR_STATUS_SUCCESS)
        return 3;
    stortimer_clock_advance(clock, 1000000);
    stortimer_adapter_remove(ext, NULL);
    stortimer_clock_destroy(clock);
    return 0;
}
