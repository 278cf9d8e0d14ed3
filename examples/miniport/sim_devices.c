/*
 * sim_devices.c - the AHCI-like HBA and the NVMe-like controller (see the
 * header). Each is a write handler on hw_model: a write of the miniport
 * takes effect now and schedules what the device does later. Changes carry
 * tags so that a reset or a COMRESET can take back what was on its way.
 */
#include "sim_devices.h"

#include "ahci_regs.h"
#include "nvme_surprise_removal.h"

#define TAG_RESET            1u
#define TAG_LINK(port)       (0x100u | (port))
#define TAG_LINK_POWER(port) (0x200u | (port))
#define TAG_COMMAND(port, slot) (0x10000u | ((port) << 8) | (slot))
#define TAG_FATAL(port)      (0x300u | (port))

#define TFD_READY 0x50u               /* DRDY | DSC: idle and ready */

typedef struct sim_ahci {
    sim_ahci_config config;
    ULONGLONG powered_on_us;
} sim_ahci;

static ULONG port_reg(ULONG port, ULONG reg)
{
    return AHCI_PORT(port, reg);
}

/* Takes back every command on its way on `port`: none will complete. Locked. */
static void drop_commands(hw_model *m, ULONG port)
{
    for (ULONG slot = 0; slot < 32; slot++)
        hw_model_cancel(m, TAG_COMMAND(port, slot));
    hw_model_set(m, port_reg(port, AHCI_PxCI), 0);
}

/* GHC.HR: everything back to power-on state, HR reads 1 until reset_us later. */
static void hba_reset(hw_model *m, sim_ahci *d, ULONGLONG now)
{
    for (ULONG port = 0; port < d->config.ports; port++)
        drop_commands(m, port);
    hw_model_cancel(m, 0);
    hw_model_set(m, AHCI_GHC, AHCI_GHC_HR);
    hw_model_set(m, AHCI_IS, 0);
    for (ULONG port = 0; port < d->config.ports; port++) {
        hw_model_set(m, port_reg(port, AHCI_PxIS), 0);
        hw_model_set(m, port_reg(port, AHCI_PxCMD), 0);
        hw_model_set(m, port_reg(port, AHCI_PxSCTL), 0);
        hw_model_set(m, port_reg(port, AHCI_PxSSTS), 0);
        hw_model_set(m, port_reg(port, AHCI_PxTFD), AHCI_PxTFD_BSY);
    }
    hw_model_change_at(m, now + d->config.reset_us, AHCI_GHC, AHCI_GHC_HR, 0, TAG_RESET);
}

/* Raises a port interrupt at `at`: PxIS bits and the port's IS bit. */
static void port_interrupt_at(hw_model *m, ULONGLONG at, ULONG port, ULONG bits, ULONG tag)
{
    hw_model_change_at(m, at, port_reg(port, AHCI_PxIS), 0, bits, tag);
    hw_model_change_at(m, at, AHCI_IS, 0, 1u << port, tag);
}

static void port_sctl(hw_model *m, sim_ahci *d, ULONG port, ULONG value, ULONGLONG now)
{
    ULONG old = hw_model_peek(m, port_reg(port, AHCI_PxSCTL)) & AHCI_PxSCTL_DET_MASK;
    ULONG det = value & AHCI_PxSCTL_DET_MASK;
    if (det == AHCI_PxSCTL_DET_COMRESET) {
        /* Link down, drive resetting: whatever was on its way is off. */
        hw_model_cancel(m, TAG_LINK(port));
        hw_model_set(m, port_reg(port, AHCI_PxSSTS), 0);
        hw_model_set(m, port_reg(port, AHCI_PxTFD), AHCI_PxTFD_BSY);
    } else if (det == 0 && old == AHCI_PxSCTL_DET_COMRESET) {
        ULONGLONG link = now + d->config.link_up_us;
        ULONGLONG ready = now + d->config.ready_us;
        ULONGLONG spun_up = d->powered_on_us + d->config.spinup_done_us;
        hw_model_change_at(m, link, port_reg(port, AHCI_PxSSTS), ~0u,
                           AHCI_PxSSTS_DET_ESTABLISHED |
                               (AHCI_LINK_ACTIVE << AHCI_PxSSTS_IPM_SHIFT),
                           TAG_LINK(port));
        port_interrupt_at(m, link, port, AHCI_PxIS_PCS, TAG_LINK(port));
        hw_model_change_at(m, ready > spun_up ? ready : spun_up, port_reg(port, AHCI_PxTFD),
                           ~0u, TFD_READY, TAG_LINK(port));
    }
}

static void port_cmd(hw_model *m, sim_ahci *d, ULONG port, ULONG value, ULONGLONG now)
{
    ULONG icc = (value & AHCI_PxCMD_ICC_MASK) >> AHCI_PxCMD_ICC_SHIFT;
    ULONG ssts = hw_model_peek(m, port_reg(port, AHCI_PxSSTS));
    if (icc != 0 && (ssts & AHCI_PxSSTS_DET_MASK) == AHCI_PxSSTS_DET_ESTABLISHED) {
        hw_model_cancel(m, TAG_LINK_POWER(port));
        hw_model_change_at(m, now + d->config.link_power_us, port_reg(port, AHCI_PxSSTS),
                           AHCI_PxSSTS_IPM_MASK, icc << AHCI_PxSSTS_IPM_SHIFT,
                           TAG_LINK_POWER(port));
    }
    ULONG old = hw_model_peek(m, port_reg(port, AHCI_PxCMD));
    if ((old & AHCI_PxCMD_ST) && !(value & AHCI_PxCMD_ST))
        drop_commands(m, port); /* the command engine stops: outstanding work is lost */
    /* ICC reads back 0: the HBA is ready for the next request. */
    hw_model_set(m, port_reg(port, AHCI_PxCMD), value & ~AHCI_PxCMD_ICC_MASK);
}

static void port_issue(hw_model *m, sim_ahci *d, ULONG port, ULONG slots, ULONGLONG now)
{
    ULONG ci = hw_model_peek(m, port_reg(port, AHCI_PxCI));
    for (ULONG slot = 0; slot < 32; slot++) {
        ULONG bit = 1u << slot;
        if (!(slots & bit) || (ci & bit))
            continue;
        ci |= bit;
        ULONGLONG took = d->config.latency
                             ? d->config.latency(d->config.latency_context, port, slot)
                             : SIM_NEVER;
        if (took == SIM_NEVER)
            continue;
        hw_model_change_at(m, now + took, port_reg(port, AHCI_PxCI), bit, 0,
                           TAG_COMMAND(port, slot));
        port_interrupt_at(m, now + took, port, AHCI_PxIS_DHRS, TAG_COMMAND(port, slot));
    }
    hw_model_set(m, port_reg(port, AHCI_PxCI), ci);
}

static bool ahci_write(hw_model *m, ULONG offset, ULONG value, void *context)
{
    (void)context;
    sim_ahci *d = hw_model_device(m);
    ULONGLONG now = hw_model_now(m);
    if (offset == AHCI_GHC) {
        if (value & AHCI_GHC_HR) {
            hba_reset(m, d, now);
            return true;
        }
        return false;
    }
    if (offset == AHCI_IS) {
        hw_model_set(m, AHCI_IS, hw_model_peek(m, AHCI_IS) & ~value);
        return true;
    }
    if (offset < AHCI_PORT(0, 0) || offset >= AHCI_PORT(d->config.ports, 0))
        return false;
    ULONG port = (offset - AHCI_PORT(0, 0)) / 0x80u;
    switch (offset - AHCI_PORT(port, 0)) {
    case AHCI_PxIS: {
        ULONG is = hw_model_peek(m, offset) & ~value;
        hw_model_set(m, offset, is);
        if (is == 0) /* the port has nothing more to say */
            hw_model_set(m, AHCI_IS, hw_model_peek(m, AHCI_IS) & ~(1u << port));
        return true;
    }
    case AHCI_PxSCTL:
        port_sctl(m, d, port, value, now);
        return false;
    case AHCI_PxCMD:
        port_cmd(m, d, port, value, now);
        return true;
    case AHCI_PxCI:
        port_issue(m, d, port, value, now);
        return true;
    default:
        return false;
    }
}

hw_model *sim_ahci_create(stortimer_clock *clock, const sim_ahci_config *config)
{
    if (config->ports == 0 || config->ports > SIM_AHCI_MAX_PORTS)
        return NULL;
    hw_model *m = hw_model_create(clock, sizeof(sim_ahci));
    if (!m)
        return NULL;
    sim_ahci *d = hw_model_device(m);
    d->config = *config;
    d->powered_on_us = hw_model_now(m);
    hw_model_set(m, AHCI_CAP, (config->ports - 1) | (31u << 8)); /* NP, NCS: 32 slots */
    hw_model_set(m, AHCI_PI, (1u << config->ports) - 1);
    hw_model_set(m, AHCI_VS, 0x00010301u);                       /* AHCI 1.3.1 */
    for (ULONG port = 0; port < config->ports; port++)
        hw_model_set(m, port_reg(port, AHCI_PxTFD), AHCI_PxTFD_BSY);
    hw_model_set_write_handler(m, ahci_write, NULL);
    hw_model_set_interrupt(m, AHCI_IS, AHCI_GHC, AHCI_GHC_IE);
    return m;
}

void sim_ahci_fatal_error_at(hw_model *model, ULONGLONG at, ULONG port)
{
    port_interrupt_at(model, at, port, AHCI_PxIS_IFS, TAG_FATAL(port));
}

/* ---- NVMe-like ---- */

typedef struct sim_nvme {
    sim_latency_fn *latency;
    void *latency_context;
} sim_nvme;

static bool nvme_write(hw_model *m, ULONG offset, ULONG value, void *context)
{
    (void)context;
    sim_nvme *d = hw_model_device(m);
    if (offset == NVME_REG_CQ0_DONE) {
        hw_model_set(m, offset, hw_model_peek(m, offset) & ~value);
        return true;
    }
    if (offset == NVME_REG_SQ0TDBL && value < NVME_MAX_COMMANDS) {
        ULONGLONG took = d->latency ? d->latency(d->latency_context, 0, value) : SIM_NEVER;
        if (took != SIM_NEVER)
            hw_model_change_at(m, hw_model_now(m) + took, NVME_REG_CQ0_DONE, 0, 1u << value,
                               TAG_COMMAND(0, value));
    }
    return false;
}

hw_model *sim_nvme_create(stortimer_clock *clock, sim_latency_fn *latency, void *latency_context)
{
    hw_model *m = hw_model_create(clock, sizeof(sim_nvme));
    if (!m)
        return NULL;
    sim_nvme *d = hw_model_device(m);
    d->latency = latency;
    d->latency_context = latency_context;
    hw_model_set(m, NVME_REG_CSTS, NVME_CSTS_RDY);
    hw_model_set_write_handler(m, nvme_write, NULL);
    hw_model_set_interrupt(m, NVME_REG_CQ0_DONE, 0, 0);
    return m;
}
