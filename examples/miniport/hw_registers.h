/*
 * hw_registers.h - how the example miniports reach their device's registers.
 *
 * A WDK miniport maps its BAR in HwFindAdapter (StorPortGetDeviceBase) and
 * reads and writes it with StorPortReadRegisterUlong and
 * StorPortWriteRegisterUlong. The two routines below play that part: in a
 * WDK build they would be two-line wrappers around those calls; here the
 * simulated device of hw_model.h answers them. Apart from these, the
 * example miniports use storport.h alone.
 */
#ifndef STORTIMER_EXAMPLE_HW_REGISTERS_H
#define STORTIMER_EXAMPLE_HW_REGISTERS_H

#include "storport.h"

/* The device's register block (a mapped BAR), opaque to the miniport. */
typedef struct _HW_REGISTERS HW_REGISTERS, *PHW_REGISTERS;

/* What every register of a surprise-removed PCIe device reads as. */
#define HW_REGISTER_GONE 0xFFFFFFFFu

/* Reads the 32-bit register at byte offset Offset. */
ULONG HwReadRegisterUlong(PHW_REGISTERS Registers, ULONG Offset);

/* Writes the 32-bit register at byte offset Offset (lost once the device is gone). */
VOID HwWriteRegisterUlong(PHW_REGISTERS Registers, ULONG Offset, ULONG Value);

#endif
