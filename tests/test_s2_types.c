/* SPEC S2: types with Windows widths, exact status values, WDK numbering. */
#include "harness.h"

#include <string.h>

TEST(s2_integer_types_have_windows_widths)
{
    CHECK_EQ(sizeof(ULONG), 4);
    CHECK_EQ(sizeof(LONG), 4);
    CHECK_EQ(sizeof(ULONGLONG), 8);
    CHECK_EQ(sizeof(LONGLONG), 8);
    CHECK_EQ(sizeof(UCHAR), 1);
    CHECK_EQ(sizeof(BOOLEAN), 1);
    CHECK_EQ(sizeof(KIRQL), 1);
    CHECK_EQ(sizeof(PVOID), sizeof(void *));
    CHECK_EQ(sizeof(ULONG_PTR), sizeof(void *));
    CHECK((ULONG)-1 == 0xFFFFFFFFu);   /* unsigned */
    CHECK((LONG)-1 < 0);               /* signed */
    CHECK((ULONGLONG)-1 == UINT64_MAX);
}

TEST(s2_status_codes_have_exact_values)
{
    CHECK_EQ(STOR_STATUS_SUCCESS, 0x00000000u);
    CHECK_EQ(STOR_STATUS_UNSUCCESSFUL, 0xC1000001u);
    CHECK_EQ(STOR_STATUS_NOT_IMPLEMENTED, 0xC1000002u);
    CHECK_EQ(STOR_STATUS_INSUFFICIENT_RESOURCES, 0xC1000003u);
    CHECK_EQ(STOR_STATUS_BUFFER_TOO_SMALL, 0xC1000004u);
    CHECK_EQ(STOR_STATUS_ACCESS_DENIED, 0xC1000005u);
    CHECK_EQ(STOR_STATUS_INVALID_PARAMETER, 0xC1000006u);
    CHECK_EQ(STOR_STATUS_INVALID_DEVICE_REQUEST, 0xC1000007u);
    CHECK_EQ(STOR_STATUS_INVALID_IRQL, 0xC1000008u);
    CHECK_EQ(STOR_STATUS_INVALID_DEVICE_STATE, 0xC1000009u);
    CHECK_EQ(STOR_STATUS_INVALID_BUFFER_SIZE, 0xC100000Au);
    CHECK_EQ(STOR_STATUS_UNSUPPORTED_VERSION, 0xC100000Bu);
    CHECK_EQ(STOR_STATUS_BUSY, 0xC100000Cu);
    ULONG status = STOR_STATUS_BUSY; /* fits a ULONG without conversion */
    CHECK_EQ(status, 0xC100000Cu);
}

TEST(s2_irql_levels)
{
    CHECK_EQ(PASSIVE_LEVEL, 0);
    CHECK_EQ(APC_LEVEL, 1);
    CHECK_EQ(DISPATCH_LEVEL, 2);
    CHECK(STOR_DEVICE_LEVEL >= 3 && STOR_DEVICE_LEVEL <= 14);
    CHECK_EQ(HIGH_LEVEL, 15);
}

TEST(s2_enumerations_carry_wdk_numbering)
{
    CHECK_EQ(RequestComplete, 0);
    CHECK_EQ(NextRequest, 1);
    CHECK_EQ(NextLuRequest, 2);
    CHECK_EQ(ResetDetected, 3);
    CHECK_EQ(RequestTimerCall, 6);
    CHECK_EQ(BusChangeDetected, 7);
    CHECK_EQ(DpcLock, 1);
    CHECK_EQ(StartIoLock, 2);
    CHECK_EQ(InterruptLock, 3);
    CHECK_EQ(StorSynchronizeHalfDuplex, 0);
    CHECK_EQ(StorSynchronizeFullDuplex, 1);
}

static VOID typed_timer(PVOID DeviceExtension, PVOID Context)
{
    (void)DeviceExtension;
    (void)Context;
}

static VOID typed_legacy(PVOID DeviceExtension)
{
    (void)DeviceExtension;
}

TEST(s2_callback_prototypes_match_hw_timer_types)
{
    PHW_TIMER_EX ex = typed_timer;
    PHW_TIMER legacy = typed_legacy;
    CHECK(ex != NULL && legacy != NULL);
    STOR_LOCK_HANDLE handle;
    handle.Lock = StartIoLock;
    CHECK_EQ(handle.Lock, 2);
}

TEST(s2_status_names_for_messages)
{
    CHECK(strcmp(stortimer_status_name(STOR_STATUS_BUSY), "STOR_STATUS_BUSY") == 0);
    CHECK(strcmp(stortimer_status_name(0x12345678u), "unknown") == 0);
}
