/*
 * consumer.c - a program that uses an installed stortimer, as a user's
 * would: built by tools/check-install through pkg-config, find_package and
 * a plain -lstortimer. It polls three times in virtual time and says so.
 */
#include <stortimer.h>

#include <stdio.h>

typedef struct _HW_DEVICE_EXTENSION {
    PVOID PollTimer;
    ULONG Polls;
    ULONGLONG At[3];
    stortimer_clock *Clock;
} HW_DEVICE_EXTENSION, *PHW_DEVICE_EXTENSION;

static VOID Poll(PVOID DeviceExtension, PVOID Context)
{
    PHW_DEVICE_EXTENSION adapter = DeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    adapter->At[adapter->Polls] = stortimer_clock_now(adapter->Clock);
    if (++adapter->Polls < 3)
        StorPortRequestTimer(DeviceExtension, adapter->PollTimer, Poll, NULL, 10000, 0);
}

int main(void)
{
    if (stortimer_version_number() != STORTIMER_VERSION_NUMBER) {
        fprintf(stderr, "consumer: headers %s, library %s\n", STORTIMER_VERSION_STRING,
                stortimer_version());
        return 1;
    }
    stortimer_clock *clock = stortimer_clock_virtual_create();
    stortimer_adapter_config config = {.extension_size = sizeof(HW_DEVICE_EXTENSION),
                                       .clock = clock};
    PVOID ext = NULL;
    if (!clock || stortimer_adapter_create(&config, &ext) != STOR_STATUS_SUCCESS)
        return 1;
    PHW_DEVICE_EXTENSION adapter = ext;
    adapter->Clock = clock;
    if (StorPortInitializeTimer(ext, &adapter->PollTimer) != STOR_STATUS_SUCCESS ||
        StorPortRequestTimer(ext, adapter->PollTimer, Poll, NULL, 10000, 0) != STOR_STATUS_SUCCESS)
        return 1;
    if (stortimer_clock_run_until_idle(clock, 1000000) != STOR_STATUS_SUCCESS)
        return 1;
    printf("consumer: stortimer %s, %u polls at %llu %llu %llu us\n", stortimer_version(),
           adapter->Polls, (unsigned long long)adapter->At[0],
           (unsigned long long)adapter->At[1], (unsigned long long)adapter->At[2]);
    StorPortFreeTimer(ext, adapter->PollTimer);
    stortimer_adapter_remove(ext, NULL);
    stortimer_clock_destroy(clock);
    return 0;
}
