/* The example of README.md, built and run by `make test` so that it stays true. */
#include <storport.h>
#include <stortimer.h>
#include <stdio.h>

typedef struct _HW_DEVICE_EXTENSION {
    PVOID PollTimer;
    ULONG Polls;
} HW_DEVICE_EXTENSION, *PHW_DEVICE_EXTENSION;

HW_TIMER_EX PortPollTimer;

/* Polls the port every 10 ms until the link comes up (here: 5 polls). */
VOID PortPollTimer(PVOID DeviceExtension, PVOID Context)
{
    PHW_DEVICE_EXTENSION adapter = DeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    if (++adapter->Polls < 5)
        StorPortRequestTimer(DeviceExtension, adapter->PollTimer, PortPollTimer,
                             NULL, 10 * 1000, 0);
}

int main(void)
{
    stortimer_clock *clock = stortimer_clock_virtual_create();
    stortimer_adapter_config config = {
        .extension_size = sizeof(HW_DEVICE_EXTENSION),
        .clock = clock,                /* NULL would run in real time */
    };
    PVOID ext;
    stortimer_adapter_create(&config, &ext);
    PHW_DEVICE_EXTENSION adapter = ext;

    StorPortInitializeTimer(ext, &adapter->PollTimer);
    StorPortRequestTimer(ext, adapter->PollTimer, PortPollTimer, NULL, 10 * 1000, 0);
    stortimer_clock_advance(clock, 60 * 1000 * 1000);   /* one minute, instantly */
    printf("%u polls, clock at %llu us\n", adapter->Polls,   /* ULONG, ULONGLONG */
           stortimer_clock_now(clock));                     /* 5 polls */

    StorPortFreeTimer(ext, adapter->PollTimer);
    stortimer_adapter_remove(ext, NULL);
    stortimer_clock_destroy(clock);
    return 0;
}
