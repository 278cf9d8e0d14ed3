/*
 * ahci_regs.h - the AHCI registers the example miniports use (a small subset
 * of AHCI 1.3.1, same offsets and bit positions).
 */
#ifndef STORTIMER_EXAMPLE_AHCI_REGS_H
#define STORTIMER_EXAMPLE_AHCI_REGS_H

/* Generic host control. */
#define AHCI_CAP            0x00
#define AHCI_GHC            0x04
#define   AHCI_GHC_HR       0x00000001u  /* HBA reset; the HBA clears it when done */
#define   AHCI_GHC_IE       0x00000002u  /* interrupt enable */
#define   AHCI_GHC_AE       0x80000000u  /* AHCI enable */
#define AHCI_IS             0x08         /* a bit per port with an interrupt pending */
#define AHCI_PI             0x0C         /* ports implemented */
#define AHCI_VS             0x10         /* version: never all ones on a live HBA */

/* Port registers: port n's block starts at 0x100 + 0x80 * n. */
#define AHCI_PORT(Port, Register) (0x100u + 0x80u * (Port) + (Register))
#define AHCI_PxIS           0x10         /* port interrupt status, write 1 to clear */
#define   AHCI_PxIS_DHRS    0x00000001u  /* a command completed (D2H register FIS) */
#define   AHCI_PxIS_PCS     0x00000040u  /* port connect change */
#define   AHCI_PxIS_IFS     0x08000000u  /* interface fatal error: the HBA must be reset */
#define AHCI_PxCMD          0x18
#define   AHCI_PxCMD_ST     0x00000001u  /* start: the command engine runs */
#define   AHCI_PxCMD_SUD    0x00000002u  /* spin-up device */
#define   AHCI_PxCMD_ICC_SHIFT 28        /* interface communication control */
#define   AHCI_PxCMD_ICC_MASK  0xF0000000u
#define AHCI_PxTFD          0x20         /* task file data: the drive's status */
#define   AHCI_PxTFD_BSY    0x00000080u
#define   AHCI_PxTFD_DRQ    0x00000008u
#define AHCI_PxSSTS         0x28         /* SATA status */
#define   AHCI_PxSSTS_DET_MASK        0x0000000Fu
#define   AHCI_PxSSTS_DET_ESTABLISHED 0x00000003u /* device present, PHY up */
#define   AHCI_PxSSTS_IPM_SHIFT       8
#define   AHCI_PxSSTS_IPM_MASK        0x00000F00u
#define AHCI_PxSCTL         0x2C         /* SATA control */
#define   AHCI_PxSCTL_DET_MASK        0x0000000Fu
#define   AHCI_PxSCTL_DET_COMRESET    0x00000001u
#define AHCI_PxCI           0x38         /* commands issued: a bit per slot */

/* Link power states: PxCMD.ICC requests them, PxSSTS.IPM reports them. */
#define AHCI_LINK_ACTIVE    1u
#define AHCI_LINK_PARTIAL   2u
#define AHCI_LINK_SLUMBER   6u

#endif
