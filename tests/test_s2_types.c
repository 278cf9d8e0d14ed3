/* SPEC S2: types with Windows widths, exact status values, WDK numbering. */
#include "harness.h"

#include <string.h>

/* The widths and values below are compile-time facts: a wrong one fails the
 * build, not a run. */

/* S2: integer types have Windows (LLP64) widths, not Linux (LP64) ones. */
_Static_assert(sizeof(ULONG) == 4, "ULONG is 32 bits");
_Static_assert(sizeof(LONG) == 4, "LONG is 32 bits");
_Static_assert(sizeof(ULONGLONG) == 8, "ULONGLONG is 64 bits");
_Static_assert(sizeof(LONGLONG) == 8, "LONGLONG is 64 bits");
_Static_assert(sizeof(UCHAR) == 1, "UCHAR is 8 bits");
_Static_assert(sizeof(BOOLEAN) == 1, "BOOLEAN is 8 bits");
_Static_assert(sizeof(KIRQL) == 1, "KIRQL is 8 bits");
_Static_assert(sizeof(PVOID) == sizeof(void *), "PVOID is a pointer");
_Static_assert(sizeof(ULONG_PTR) == sizeof(void *), "ULONG_PTR is pointer-sized");
/* S2: ULONG and ULONGLONG are unsigned, LONG is signed. */
_Static_assert((ULONG)-1 == 0xFFFFFFFFu, "ULONG is unsigned");
_Static_assert((LONG)-1 < 0, "LONG is signed");
_Static_assert((ULONGLONG)-1 == UINT64_MAX, "ULONGLONG is unsigned");

/* S2: status codes have their exact values. */
_Static_assert(STOR_STATUS_SUCCESS == 0x00000000u, "STOR_STATUS_SUCCESS");
_Static_assert(STOR_STATUS_UNSUCCESSFUL == 0xC1000001u, "STOR_STATUS_UNSUCCESSFUL");
_Static_assert(STOR_STATUS_NOT_IMPLEMENTED == 0xC1000002u, "STOR_STATUS_NOT_IMPLEMENTED");
_Static_assert(STOR_STATUS_INSUFFICIENT_RESOURCES == 0xC1000003u,
               "STOR_STATUS_INSUFFICIENT_RESOURCES");
_Static_assert(STOR_STATUS_BUFFER_TOO_SMALL == 0xC1000004u, "STOR_STATUS_BUFFER_TOO_SMALL");
_Static_assert(STOR_STATUS_ACCESS_DENIED == 0xC1000005u, "STOR_STATUS_ACCESS_DENIED");
_Static_assert(STOR_STATUS_INVALID_PARAMETER == 0xC1000006u, "STOR_STATUS_INVALID_PARAMETER");
_Static_assert(STOR_STATUS_INVALID_DEVICE_REQUEST == 0xC1000007u,
               "STOR_STATUS_INVALID_DEVICE_REQUEST");
_Static_assert(STOR_STATUS_INVALID_IRQL == 0xC1000008u, "STOR_STATUS_INVALID_IRQL");
_Static_assert(STOR_STATUS_INVALID_DEVICE_STATE == 0xC1000009u,
               "STOR_STATUS_INVALID_DEVICE_STATE");
_Static_assert(STOR_STATUS_INVALID_BUFFER_SIZE == 0xC100000Au, "STOR_STATUS_INVALID_BUFFER_SIZE");
_Static_assert(STOR_STATUS_UNSUPPORTED_VERSION == 0xC100000Bu, "STOR_STATUS_UNSUPPORTED_VERSION");
_Static_assert(STOR_STATUS_BUSY == 0xC100000Cu, "STOR_STATUS_BUSY");
/* S2: a status fits a ULONG without conversion. */
_Static_assert((ULONG)STOR_STATUS_BUSY == 0xC100000Cu, "STOR_STATUS_BUSY fits a ULONG");

/* S2: IRQL values. */
_Static_assert(PASSIVE_LEVEL == 0, "PASSIVE_LEVEL");
_Static_assert(APC_LEVEL == 1, "APC_LEVEL");
_Static_assert(DISPATCH_LEVEL == 2, "DISPATCH_LEVEL");
_Static_assert(STOR_DEVICE_LEVEL >= 3 && STOR_DEVICE_LEVEL <= 14, "a device level is 3..14");
_Static_assert(HIGH_LEVEL == 15, "HIGH_LEVEL");

/* S2: enumerations carry the WDK's numbering. */
_Static_assert(RequestComplete == 0, "RequestComplete");
_Static_assert(NextRequest == 1, "NextRequest");
_Static_assert(NextLuRequest == 2, "NextLuRequest");
_Static_assert(ResetDetected == 3, "ResetDetected");
_Static_assert(RequestTimerCall == 6, "RequestTimerCall");
_Static_assert(BusChangeDetected == 7, "BusChangeDetected");
_Static_assert(DpcLock == 1, "DpcLock");
_Static_assert(StartIoLock == 2, "StartIoLock");
_Static_assert(InterruptLock == 3, "InterruptLock");
_Static_assert(StorSynchronizeHalfDuplex == 0, "StorSynchronizeHalfDuplex");
_Static_assert(StorSynchronizeFullDuplex == 1, "StorSynchronizeFullDuplex");

/* S2: callbacks written with the WDK's prototypes are HW_TIMER_EX and
 * HW_TIMER, and STOR_LOCK_HANDLE names the lock it holds as the WDK does.
 * (Declared only: _Generic looks at their types, nothing calls them.) */
VOID typed_timer(PVOID DeviceExtension, PVOID Context);
VOID typed_legacy(PVOID DeviceExtension);

_Static_assert(_Generic(&typed_timer, PHW_TIMER_EX: 1, default: 0),
               "a VOID (PVOID, PVOID) routine is an HW_TIMER_EX");
_Static_assert(_Generic(&typed_legacy, PHW_TIMER: 1, default: 0),
               "a VOID (PVOID) routine is an HW_TIMER");
_Static_assert(_Generic(((STOR_LOCK_HANDLE *)0)->Lock, STOR_SPINLOCK: 1, default: 0),
               "STOR_LOCK_HANDLE.Lock is a STOR_SPINLOCK");

TEST(s2_status_names_for_messages)
{
    CHECK(strcmp(stortimer_status_name(STOR_STATUS_BUSY), "STOR_STATUS_BUSY") == 0);
    CHECK(strcmp(stortimer_status_name(0x12345678u), "unknown") == 0);
}
