//! Would a GICv3 CPU interface signal an interrupt to its PE right now?
//!
//! WFI completes when the CPU interface signals an IRQ or FIQ, whether or not PSTATE
//! masks it (Arm ARM D1.6.2 "Wait for Interrupt"). With an in-kernel GIC the VMM decides
//! whether a WFI that trapped to it may sleep, so it must answer that question from the
//! GIC's registers. The rule (GICv3 architecture spec IHI 0069, 4.7 "Interrupt
//! prioritization" and 12.9 GICD_CTLR): an interrupt is signalled when it is pending,
//! enabled, not active, its group is enabled in the distributor (SPIs) and in the CPU
//! interface (ICC_IGRPEN0/1_EL1), and its priority is higher (numerically lower) than
//! both the priority mask (ICC_PMR_EL1) and the running priority (ICC_RPR_EL1). The
//! running priority is a group priority already masked by the binary point, so comparing
//! the full priority against it gives the same answer as comparing group priorities.

/// GICD_CTLR.EnableGrp0 (no security extension, DS = 1).
pub const GICD_CTLR_ENABLE_GRP0: u32 = 1 << 0;
/// GICD_CTLR.EnableGrp1 (no security extension, DS = 1).
pub const GICD_CTLR_ENABLE_GRP1: u32 = 1 << 1;

/// 32 interrupts' worth of distributor or redistributor state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IrqBank {
    /// INTID of bit 0 (0 for SGIs/PPIs, 32 for the first SPI bank, ...).
    pub first_intid: u32,
    /// GIC[DR]_ISPENDR<n>.
    pub pending: u32,
    /// GIC[DR]_ISENABLER<n>.
    pub enabled: u32,
    /// GIC[DR]_ISACTIVER<n>.
    pub active: u32,
    /// GIC[DR]_IGROUPR<n>: 1 = Group 1.
    pub group1: u32,
    /// GIC[DR]_IPRIORITYR<4n..4n+8>, one byte per interrupt.
    pub priority: [u8; 32],
}

impl IrqBank {
    /// Interrupts that are pending, enabled and not active.
    pub fn candidates(&self) -> u32 {
        self.pending & self.enabled & !self.active
    }

    /// Fills `priority` from eight IPRIORITYR words (byte `i` of word `w` is interrupt
    /// `4w + i`).
    pub fn set_priorities(&mut self, words: [u32; 8]) {
        for (w, word) in words.iter().enumerate() {
            for (i, byte) in word.to_le_bytes().iter().enumerate() {
                self.priority[w * 4 + i] = *byte;
            }
        }
    }
}

/// The CPU interface and the banks that can target it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuInterfaceView {
    /// GICD_CTLR.
    pub gicd_ctlr: u32,
    /// ICC_IGRPEN0_EL1.Enable.
    pub group0_enabled: bool,
    /// ICC_IGRPEN1_EL1.Enable.
    pub group1_enabled: bool,
    /// ICC_PMR_EL1 priority mask.
    pub pmr: u8,
    /// ICC_RPR_EL1 running priority (0xff when idle).
    pub running_priority: u8,
    /// SGIs and PPIs (the vCPU's redistributor, INTIDs 0-31).
    pub private: IrqBank,
    /// SPI banks (the distributor) routed to this vCPU; with one vCPU, all of them.
    pub shared: Vec<IrqBank>,
}

impl CpuInterfaceView {
    /// The INTID of an interrupt the CPU interface would signal, if any.
    pub fn signalled(&self) -> Option<u32> {
        let dist_grp0 = self.gicd_ctlr & GICD_CTLR_ENABLE_GRP0 != 0;
        let dist_grp1 = self.gicd_ctlr & GICD_CTLR_ENABLE_GRP1 != 0;
        // The distributor's group enables gate SPIs; SGIs and PPIs are forwarded by the
        // redistributor (erring this way can only wake the vCPU, never strand it).
        let banks = std::iter::once((&self.private, true, true))
            .chain(self.shared.iter().map(|b| (b, dist_grp0, dist_grp1)));
        for (bank, grp0_on, grp1_on) in banks {
            let mut candidates = bank.candidates();
            while candidates != 0 {
                let bit = candidates.trailing_zeros();
                candidates &= candidates - 1;
                let group1 = bank.group1 & (1 << bit) != 0;
                let group_on = if group1 {
                    grp1_on && self.group1_enabled
                } else {
                    grp0_on && self.group0_enabled
                };
                let priority = bank.priority[bit as usize];
                if group_on && priority < self.pmr && priority < self.running_priority {
                    return Some(bank.first_intid + bit);
                }
            }
        }
        None
    }

    /// True when nothing is pending anywhere (the cheap first check before reading the
    /// rest of the state).
    pub fn nothing_pending(private_pending: u32, shared_pending: &[u32]) -> bool {
        private_pending == 0 && shared_pending.iter().all(|&p| p == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPI 32 pending and enabled in Group 1, everything enabled, idle CPU.
    fn ready() -> CpuInterfaceView {
        CpuInterfaceView {
            gicd_ctlr: GICD_CTLR_ENABLE_GRP1,
            group0_enabled: false,
            group1_enabled: true,
            pmr: 0xf0,
            running_priority: 0xff,
            private: IrqBank::default(),
            shared: vec![IrqBank {
                first_intid: 32,
                pending: 1,
                enabled: 1,
                group1: u32::MAX,
                priority: [0xa0; 32],
                ..IrqBank::default()
            }],
        }
    }

    #[test]
    fn a_pending_enabled_spi_is_signalled() {
        assert_eq!(ready().signalled(), Some(32));
    }

    type Change = fn(&mut CpuInterfaceView);

    #[test]
    fn each_gate_stops_it() {
        let cases: [(&str, Change); 7] = [
            ("not enabled", |v| v.shared[0].enabled = 0),
            ("active", |v| v.shared[0].active = 1),
            ("distributor group off", |v| v.gicd_ctlr = 0),
            ("CPU interface group off", |v| v.group1_enabled = false),
            ("masked by PMR", |v| v.pmr = 0xa0),
            ("running priority higher", |v| v.running_priority = 0x80),
            ("Group 0 with Group 0 disabled", |v| v.shared[0].group1 = 0),
        ];
        for (what, change) in cases {
            let mut v = ready();
            change(&mut v);
            assert_eq!(v.signalled(), None, "{what}");
        }
    }

    #[test]
    fn ppis_ignore_the_distributor_enable_and_intids_are_numbered() {
        let mut v = ready();
        v.gicd_ctlr = 0;
        v.shared.clear();
        v.private = IrqBank {
            first_intid: 0,
            pending: 1 << 27,
            enabled: 1 << 27,
            group1: 1 << 27,
            priority: [0x20; 32],
            ..IrqBank::default()
        };
        assert_eq!(v.signalled(), Some(27), "the vtimer PPI");
        // Group 0 SGI when Group 0 is enabled everywhere.
        let mut v = ready();
        v.shared[0].pending = 0;
        v.group0_enabled = true;
        v.private = IrqBank {
            pending: 1 << 3,
            enabled: 1 << 3,
            priority: [0x10; 32],
            ..IrqBank::default()
        };
        assert_eq!(v.signalled(), Some(3));
    }

    #[test]
    fn priorities_are_unpacked_per_byte() {
        let mut b = IrqBank::default();
        let mut words = [0u32; 8];
        words[2] = 0x4433_2211;
        b.set_priorities(words);
        assert_eq!(&b.priority[8..12], &[0x11, 0x22, 0x33, 0x44]);
        assert!(CpuInterfaceView::nothing_pending(0, &[0, 0]));
        assert!(!CpuInterfaceView::nothing_pending(0, &[0, 4]));
    }
}
