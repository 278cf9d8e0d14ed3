/*
 * storport.h - the Storport timer routines, source-compatible with the WDK.
 *
 * Miniport code written for the Windows Driver Kit that uses the timer
 * routines below compiles unchanged against this header. Types keep their
 * Windows (LLP64) widths: ULONG is 32 bits here too, not `unsigned long`.
 *
 * Behaviour is specified in SPEC.md (sections S2-S9); stortimer.h is the
 * host side (adapters, IRQL, clocks).
 */
#ifndef STORTIMER_STORPORT_H
#define STORTIMER_STORPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Basic types, Windows widths (SPEC S2) ---- */

#ifndef VOID
#define VOID void
#endif
typedef void *PVOID;
typedef char CHAR, *PCHAR;
typedef uint8_t UCHAR, *PUCHAR;
typedef int16_t SHORT, *PSHORT;
typedef uint16_t USHORT, *PUSHORT;
typedef int32_t LONG, *PLONG;
typedef uint32_t ULONG, *PULONG;
typedef int64_t LONGLONG, *PLONGLONG;
typedef uint64_t ULONGLONG, *PULONGLONG;
typedef uintptr_t ULONG_PTR, *PULONG_PTR;
typedef intptr_t LONG_PTR, *PLONG_PTR;
typedef ULONG_PTR SIZE_T, *PSIZE_T;
typedef uint8_t BOOLEAN, *PBOOLEAN;
typedef uint8_t KIRQL, *PKIRQL;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* ---- Calling conventions and SAL annotations expand to nothing ---- */

#ifndef NTAPI
#define NTAPI
#endif
#ifndef FORCEINLINE
#define FORCEINLINE static inline
#endif
#ifndef UNREFERENCED_PARAMETER
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#endif
#ifndef STORPORT_API
#if defined(__GNUC__) /* exported by the shared library; the rest is hidden */
#define STORPORT_API __attribute__((visibility("default")))
#else
#define STORPORT_API
#endif
#endif

#ifndef _In_
#define _In_
#endif
#ifndef _In_opt_
#define _In_opt_
#endif
#ifndef _Out_
#define _Out_
#endif
#ifndef _Out_opt_
#define _Out_opt_
#endif
#ifndef _Inout_
#define _Inout_
#endif
#ifndef _Inout_opt_
#define _Inout_opt_
#endif
#ifndef _Outptr_
#define _Outptr_
#endif
#ifndef _Outptr_result_maybenull_
#define _Outptr_result_maybenull_
#endif
#ifndef _Use_decl_annotations_
#define _Use_decl_annotations_
#endif
#ifndef _Must_inspect_result_
#define _Must_inspect_result_
#endif
#ifndef _Function_class_
#define _Function_class_(name)
#endif
#ifndef _IRQL_requires_
#define _IRQL_requires_(irql)
#endif
#ifndef _IRQL_requires_max_
#define _IRQL_requires_max_(irql)
#endif
#ifndef _IRQL_requires_min_
#define _IRQL_requires_min_(irql)
#endif
#ifndef _IRQL_requires_same_
#define _IRQL_requires_same_
#endif
#ifndef _IRQL_raises_
#define _IRQL_raises_(irql)
#endif
#ifndef _IRQL_saves_
#define _IRQL_saves_
#endif
#ifndef _IRQL_restores_
#define _IRQL_restores_
#endif
#ifndef _Requires_lock_held_
#define _Requires_lock_held_(lock)
#endif
#ifndef _Requires_lock_not_held_
#define _Requires_lock_not_held_(lock)
#endif
#ifndef _Acquires_lock_
#define _Acquires_lock_(lock)
#endif
#ifndef _Releases_lock_
#define _Releases_lock_(lock)
#endif
#ifndef _When_
#define _When_(cond, annotation)
#endif
#ifndef _Success_
#define _Success_(expr)
#endif
#ifndef _Analysis_assume_
#define _Analysis_assume_(expr)
#endif

/* ---- IRQL levels (SPEC S2) ---- */

#define PASSIVE_LEVEL 0
#define LOW_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
/* Device (interrupt) levels are 3..14; InterruptLock raises to this one. */
#define STOR_DEVICE_LEVEL 5
#define PROFILE_LEVEL 15
#define HIGH_LEVEL 15

/* ---- Status codes, exact WDK values (SPEC S2) ---- */

#define STOR_STATUS_SUCCESS                 0x00000000u
#define STOR_STATUS_UNSUCCESSFUL            0xC1000001u
#define STOR_STATUS_NOT_IMPLEMENTED         0xC1000002u
#define STOR_STATUS_INSUFFICIENT_RESOURCES  0xC1000003u
#define STOR_STATUS_BUFFER_TOO_SMALL        0xC1000004u
#define STOR_STATUS_ACCESS_DENIED           0xC1000005u
#define STOR_STATUS_INVALID_PARAMETER       0xC1000006u
#define STOR_STATUS_INVALID_DEVICE_REQUEST  0xC1000007u
#define STOR_STATUS_INVALID_IRQL            0xC1000008u
#define STOR_STATUS_INVALID_DEVICE_STATE    0xC1000009u
#define STOR_STATUS_INVALID_BUFFER_SIZE     0xC100000Au
#define STOR_STATUS_UNSUPPORTED_VERSION     0xC100000Bu
#define STOR_STATUS_BUSY                    0xC100000Cu

/* ---- Callback prototypes ---- */

/* An extended timer's callback: runs at DISPATCH_LEVEL under the StartIo lock. */
typedef VOID HW_TIMER_EX(_In_ PVOID DeviceExtension, _In_opt_ PVOID Context);
typedef HW_TIMER_EX *PHW_TIMER_EX;

/* The legacy per-adapter timer's callback (HwStorTimer). */
typedef VOID HW_TIMER(_In_ PVOID DeviceExtension);
typedef HW_TIMER *PHW_TIMER;

/* The miniport's interrupt routine (HwStorInterrupt): TRUE if the interrupt
 * was its device's. Called at device IRQL holding the InterruptLock. */
typedef BOOLEAN HW_INTERRUPT(_In_ PVOID DeviceExtension);
typedef HW_INTERRUPT *PHW_INTERRUPT;

/* ---- Enumerations, WDK numbering ---- */

typedef enum _SCSI_NOTIFICATION_TYPE {
    RequestComplete = 0,
    NextRequest = 1,
    NextLuRequest = 2,
    ResetDetected = 3,
    CallDisableInterrupts = 4,
    CallEnableInterrupts = 5,
    RequestTimerCall = 6,
    BusChangeDetected = 7,
    WMIEvent = 8,
    WMIReregister = 9,
    LinkUp = 10,
    LinkDown = 11,
    QueryTickCount = 12,
    BufferOverrunDetected = 13,
    TraceNotification = 14,
    GetExtendedFunctionTable = 15,
    EnablePassiveInitialization = 0x1000,
    InitializeDpc = 0x1001,
    IssueDpc = 0x1002,
    AcquireSpinLock = 0x1003,
    ReleaseSpinLock = 0x1004
} SCSI_NOTIFICATION_TYPE, *PSCSI_NOTIFICATION_TYPE;

typedef enum _STOR_SPINLOCK {
    DpcLock = 1,
    StartIoLock = 2,
    InterruptLock = 3
} STOR_SPINLOCK;

typedef enum _STOR_SYNCHRONIZATION_MODEL {
    StorSynchronizeHalfDuplex = 0,
    StorSynchronizeFullDuplex = 1
} STOR_SYNCHRONIZATION_MODEL;

/*
 * Caller-allocated lock handle, named as in the WDK. Its Context is filled in
 * by StorPortAcquireSpinLock and read by StorPortReleaseSpinLock; miniports do
 * not look inside it.
 */
typedef struct _STOR_LOCK_HANDLE {
    STOR_SPINLOCK Lock;
    struct {
        PVOID LockObject;   /* the lock taken, or NULL when nothing was taken */
        KIRQL OldIrql;      /* IRQL to restore on release */
        UCHAR Flags;        /* library-private */
    } Context;
} STOR_LOCK_HANDLE, *PSTOR_LOCK_HANDLE;

/* ---- Timer routines (SPEC S4-S7) ---- */

/*
 * Creates an idle timer for the adapter and stores its handle in *TimerHandle.
 * Returns SUCCESS, INVALID_IRQL (above DISPATCH_LEVEL), INVALID_PARAMETER (NULL
 * or unknown extension), UNSUCCESSFUL (max_timers reached) or
 * INSUFFICIENT_RESOURCES. On failure *TimerHandle is set to NULL. (SPEC S4)
 */
STORPORT_API ULONG StorPortInitializeTimer(_In_ PVOID HwDeviceExtension,
                                           _Out_ PVOID *TimerHandle);

/*
 * Arms the timer to call TimerCallback(HwDeviceExtension, CallbackContext)
 * once, TimerValue microseconds from now, anywhere within TolerableDelay
 * microseconds after that (values below 32 count as 0; the library uses at
 * most 1 s of it). A TimerValue of 0
 * cancels. Returns SUCCESS, BUSY (already pending), INVALID_PARAMETER, or
 * INSUFFICIENT_RESOURCES (above DISPATCH_LEVEL, hand-over queue full). Callable
 * at any IRQL. (SPEC S5)
 */
STORPORT_API ULONG StorPortRequestTimer(_In_ PVOID HwDeviceExtension,
                                        _In_ PVOID TimerHandle,
                                        _In_ PHW_TIMER_EX TimerCallback,
                                        _In_opt_ PVOID CallbackContext,
                                        _In_ ULONGLONG TimerValue,
                                        _In_ ULONGLONG TolerableDelay);

/*
 * Cancels any pending request and frees the timer. When it returns, the
 * callback is not running and never will (unless called from that callback,
 * or with the StartIo lock held). Returns SUCCESS, INVALID_IRQL,
 * INVALID_PARAMETER, or UNSUCCESSFUL for a handle already freed. (SPEC S6)
 */
STORPORT_API ULONG StorPortFreeTimer(_In_ PVOID HwDeviceExtension,
                                     _In_ PVOID TimerHandle);

/*
 * Notifications. RequestTimerCall takes (PHW_TIMER HwStorTimer, ULONG
 * MiniportTimerValue): arms the adapter's legacy timer, replacing any pending
 * request; 0 cancels. Other notification types are accepted and ignored.
 * (SPEC S7)
 */
STORPORT_API VOID StorPortNotification(_In_ SCSI_NOTIFICATION_TYPE NotificationType,
                                       _In_ PVOID HwDeviceExtension, ...);

/* ---- Locks and stalls (SPEC S9) ---- */

/*
 * Acquires the adapter's DpcLock or StartIoLock (raising IRQL to
 * DISPATCH_LEVEL) or its InterruptLock (raising to STOR_DEVICE_LEVEL). The
 * old IRQL is kept in *LockHandle. Acquiring a lock the thread already holds
 * would deadlock on Windows; here it is reported and nothing is taken.
 */
STORPORT_API VOID StorPortAcquireSpinLock(_In_ PVOID HwDeviceExtension,
                                          _In_ STOR_SPINLOCK SpinLock,
                                          _In_opt_ PVOID LockContext,
                                          _Inout_ PSTOR_LOCK_HANDLE LockHandle);

/* Releases what StorPortAcquireSpinLock took and restores the saved IRQL. */
STORPORT_API VOID StorPortReleaseSpinLock(_In_ PVOID HwDeviceExtension,
                                          _Inout_ PSTOR_LOCK_HANDLE LockHandle);

/*
 * Returns no sooner than Delay microseconds later. On a thread bound to a
 * virtual clock (a callback of an adapter on one, or see
 * stortimer_thread_bind_clock) it moves that clock forward instead of waiting.
 */
STORPORT_API VOID StorPortStallExecution(_In_ ULONG Delay);

#ifdef __cplusplus
}
#endif

#endif /* STORTIMER_STORPORT_H */
