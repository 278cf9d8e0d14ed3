/*
 * storport.h - the Storport timer routines, source-compatible with the WDK.
 *
 * Miniport code written for the Windows Driver Kit that uses the timer
 * routines below compiles unchanged against this header. Types keep their
 * Windows (LLP64) widths: ULONG is 32 bits here too, not `unsigned long`.
 *
 * Behaviour is specified in SPEC.md: S2-S9 for the timer routines, S13-S17
 * for the time queries, DPCs, StorPortSynchronizeAccess and pauses;
 * stortimer.h is the host side (adapters, IRQL, clocks).
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
/* 64 bits on every target, as on Windows: `%lld` / `%llu` print them (S2). */
typedef long long LONGLONG, *PLONGLONG;
typedef unsigned long long ULONGLONG, *PULONGLONG;
typedef uintptr_t ULONG_PTR, *PULONG_PTR;
typedef intptr_t LONG_PTR, *PLONG_PTR;
typedef ULONG_PTR SIZE_T, *PSIZE_T;
typedef uint8_t BOOLEAN, *PBOOLEAN;
typedef uint8_t KIRQL, *PKIRQL;

/* A 64-bit signed value with its two 32-bit halves, as the WDK declares it
 * (SPEC S2): also reachable as .u.LowPart / .u.HighPart. */
typedef union _LARGE_INTEGER {
    struct {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        LONG HighPart;
        ULONG LowPart;
#else
        ULONG LowPart;
        LONG HighPart;
#endif
    };
    struct {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        LONG HighPart;
        ULONG LowPart;
#else
        ULONG LowPart;
        LONG HighPart;
#endif
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

/* A processor, as StorPortGetCurrentProcessorNumber names it (S17.1). */
typedef struct _PROCESSOR_NUMBER {
    USHORT Group;
    UCHAR Number;
    UCHAR Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;

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

/*
 * A DPC, caller-allocated (in the extension or in pool memory), as large as
 * the WDK's (72 bytes on 64-bit targets). Miniports never look inside; the
 * library never reads it either: it knows a DPC by its address (S14.2).
 */
typedef struct _STOR_DPC {
    ULONG_PTR Reserved[9];
} STOR_DPC, *PSTOR_DPC;

/* A DPC routine: runs at DISPATCH_LEVEL holding no lock (S14.6). */
typedef VOID HW_DPC_ROUTINE(_In_ PSTOR_DPC Dpc, _In_ PVOID HwDeviceExtension,
                            _In_opt_ PVOID SystemArgument1, _In_opt_ PVOID SystemArgument2);
typedef HW_DPC_ROUTINE *PHW_DPC_ROUTINE;

/* A routine StorPortSynchronizeAccess runs under the interrupt lock (S15). */
typedef BOOLEAN STOR_SYNCHRONIZED_ACCESS(_In_ PVOID HwDeviceExtension, _In_opt_ PVOID Context);
typedef STOR_SYNCHRONIZED_ACCESS *PSTOR_SYNCHRONIZED_ACCESS;

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
 * Notifications (SPEC S7, S17.3):
 *   RequestTimerCall (PHW_TIMER HwStorTimer, ULONG MiniportTimerValue): arms
 *     the adapter's legacy timer, replacing any pending request; 0 cancels.
 *   QueryTickCount (PLARGE_INTEGER TickCount): the tick count (S13.8).
 *   InitializeDpc (PSTOR_DPC Dpc, PHW_DPC_ROUTINE HwDpcRoutine): as
 *     StorPortInitializeDpc.
 *   IssueDpc (PSTOR_DPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2,
 *     PBOOLEAN Result): as StorPortIssueDpc; *Result (one byte) gets its answer.
 *   AcquireSpinLock (STOR_SPINLOCK SpinLock, PVOID LockContext,
 *     PSTOR_LOCK_HANDLE LockHandle), ReleaseSpinLock (PSTOR_LOCK_HANDLE
 *     LockHandle): as StorPortAcquireSpinLock / StorPortReleaseSpinLock.
 * Other notification types are accepted and ignored.
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

/*
 * The CPU the calling thread runs on (modulo 64; always 0 on a virtual
 * clock), Group 0. Returns SUCCESS or INVALID_PARAMETER (a NULL argument,
 * an unknown extension). Any IRQL. (SPEC S17.1)
 */
STORPORT_API ULONG StorPortGetCurrentProcessorNumber(_In_ PVOID HwDeviceExtension,
                                                     _Out_ PPROCESSOR_NUMBER ProcNumber);

/* ---- Reading the time (SPEC S13) ---- */

/*
 * The system time of the calling thread's clock (S13.1), in 100-ns units
 * since 1601-01-01 UTC, moving in whole ticks. A NULL CurrentTime writes
 * nothing (counted). Any IRQL, async-signal-safe. (SPEC S13.6)
 */
STORPORT_API VOID StorPortQuerySystemTime(_Out_ PLARGE_INTEGER CurrentTime);

/*
 * The adapter's clock in counts of 100 ns, and the frequency, 10,000,000,
 * when PerformanceFrequency is not NULL. Returns SUCCESS or
 * INVALID_PARAMETER (NULL counter, unknown extension; nothing written).
 * Any IRQL, async-signal-safe. (SPEC S13.7)
 */
STORPORT_API ULONG StorPortQueryPerformanceCounter(_In_ PVOID HwDeviceExtension,
                                                   _Out_opt_ PLARGE_INTEGER PerformanceFrequency,
                                                   _Out_ PLARGE_INTEGER PerformanceCounter);

/*
 * The adapter's clock's tick, in 100-ns units (100,000 by default). Returns
 * SUCCESS or INVALID_PARAMETER. Any IRQL. (SPEC S13.9)
 */
STORPORT_API ULONG StorPortQueryTimerMinInterval(_In_ PVOID HwDeviceExtension,
                                                 _Out_ PULONG TimerMinInterval);

/* ---- DPCs (SPEC S14) ---- */

/*
 * Makes Dpc an idle DPC of the adapter that runs HwDpcRoutine. Refused
 * (nothing changes; counted, and reported at or below DISPATCH_LEVEL) above
 * DISPATCH_LEVEL, for a NULL argument or an unknown extension, for a DPC
 * of another adapter, for a DPC queued or running, and when memory is
 * short. Re-initializing an idle DPC replaces its routine. (SPEC S14.3)
 */
STORPORT_API VOID StorPortInitializeDpc(_In_ PVOID DeviceExtension, _Out_ PSTOR_DPC Dpc,
                                        _In_ PHW_DPC_ROUTINE HwDpcRoutine);

/*
 * Queues the DPC: its routine runs once, soon, on the adapter's thread at
 * DISPATCH_LEVEL without the StartIo lock, with (Dpc, DeviceExtension,
 * SystemArgument1, SystemArgument2). FALSE when it is queued already (its
 * queued run keeps its own arguments), for a DPC not initialized for this
 * adapter, a NULL argument, an adapter being removed, or (above
 * DISPATCH_LEVEL) a full hand-over queue. Any IRQL. (SPEC S14.4, S14.5)
 */
STORPORT_API BOOLEAN StorPortIssueDpc(_In_ PVOID DeviceExtension, _In_ PSTOR_DPC Dpc,
                                      _In_opt_ PVOID SystemArgument1,
                                      _In_opt_ PVOID SystemArgument2);

/* ---- Running under the interrupt lock (SPEC S15) ---- */

/*
 * Runs SynchronizedAccessRoutine(HwDeviceExtension, Context) on the calling
 * thread at STOR_DEVICE_LEVEL holding the adapter's InterruptLock, and
 * returns its answer. FALSE, running nothing, for a NULL argument, an
 * unknown extension or an IRQL above STOR_DEVICE_LEVEL. Called with the
 * InterruptLock already held (a deadlock on Windows) it is reported and the
 * routine runs under the lock already held. (SPEC S15.1)
 */
STORPORT_API BOOLEAN StorPortSynchronizeAccess(_In_ PVOID HwDeviceExtension,
                                               _In_ PSTOR_SYNCHRONIZED_ACCESS SynchronizedAccessRoutine,
                                               _In_opt_ PVOID Context);

/* ---- Pausing (SPEC S16) ---- */

/*
 * Pauses the adapter until StorPortResume or until Timeout seconds have
 * passed on its clock (a second Pause only pushes the deadline later).
 * Nothing the library runs is held back: timers and DPCs keep running.
 * FALSE for an unknown extension or (above DISPATCH_LEVEL) a full hand-over
 * queue. Any IRQL. (SPEC S16.3)
 */
STORPORT_API BOOLEAN StorPortPause(_In_ PVOID HwDeviceExtension, _In_ ULONG Timeout);

/* Ends the adapter's pause; TRUE also when it was not paused. (SPEC S16.5) */
STORPORT_API BOOLEAN StorPortResume(_In_ PVOID HwDeviceExtension);

/* The same for one logical unit, kept apart from the adapter's. (SPEC S16.6, S16.7) */
STORPORT_API BOOLEAN StorPortPauseDevice(_In_ PVOID HwDeviceExtension, _In_ UCHAR PathId,
                                         _In_ UCHAR TargetId, _In_ UCHAR Lun,
                                         _In_ ULONG Timeout);
STORPORT_API BOOLEAN StorPortResumeDevice(_In_ PVOID HwDeviceExtension, _In_ UCHAR PathId,
                                          _In_ UCHAR TargetId, _In_ UCHAR Lun);

#ifdef __cplusplus
}
#endif

#endif /* STORTIMER_STORPORT_H */
