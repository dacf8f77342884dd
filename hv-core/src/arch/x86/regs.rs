//! x86 register files as the core sees them. Backends convert to and from their own
//! layouts (`kvm_regs`, `WHV_REGISTER_VALUE`, ...).

/// RFLAGS.IF: maskable interrupts enabled.
pub const RFLAGS_IF: u64 = 1 << 9;
/// RFLAGS bit 1 always reads as 1.
pub const RFLAGS_RESERVED: u64 = 1 << 1;
/// CR0.PE: protected mode.
pub const CR0_PE: u64 = 1 << 0;
/// CR0.MP.
pub const CR0_MP: u64 = 1 << 1;
/// CR0.ET (always 1 on a 486+).
pub const CR0_ET: u64 = 1 << 4;
/// CR0.NE: native FPU error reporting.
pub const CR0_NE: u64 = 1 << 5;
/// CR0.WP: write protect in supervisor mode.
pub const CR0_WP: u64 = 1 << 16;
/// CR0.PG: paging.
pub const CR0_PG: u64 = 1 << 31;
/// CR4.PAE.
pub const CR4_PAE: u64 = 1 << 5;
/// EFER.LME: long mode enable.
pub const EFER_LME: u64 = 1 << 8;
/// EFER.LMA: long mode active.
pub const EFER_LMA: u64 = 1 << 10;

/// General-purpose registers, RIP and RFLAGS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Regs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
}

/// A segment register with its hidden descriptor cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Segment {
    /// Linear base address.
    pub base: u64,
    /// Limit in bytes (already scaled by G).
    pub limit: u32,
    /// Visible selector.
    pub selector: u16,
    /// Descriptor type (4 bits: e.g. 0xB execute/read accessed, 0x3 read/write accessed).
    pub type_: u8,
    /// Present.
    pub present: bool,
    /// Descriptor privilege level.
    pub dpl: u8,
    /// D/B: 32-bit default operand size.
    pub db: bool,
    /// S: code/data (true) or system (false).
    pub s: bool,
    /// L: 64-bit code segment.
    pub l: bool,
    /// G: limit granularity 4 KiB.
    pub g: bool,
    /// AVL: available to software.
    pub avl: bool,
    /// The segment is unusable (null selector loaded in protected mode).
    pub unusable: bool,
}

impl Segment {
    /// The 16-bit attribute word used by WHP and VMX (type 0-3, S 4, DPL 5-6, P 7, AVL 12,
    /// L 13, D/B 14, G 15). Unusable segments have bit 16 set in VMX; WHP has no such bit,
    /// so `unusable` is reported as not present.
    pub fn attributes(&self) -> u16 {
        let present = self.present && !self.unusable;
        u16::from(self.type_ & 0xF)
            | u16::from(self.s) << 4
            | u16::from(self.dpl & 3) << 5
            | u16::from(present) << 7
            | u16::from(self.avl) << 12
            | u16::from(self.l) << 13
            | u16::from(self.db) << 14
            | u16::from(self.g) << 15
    }

    /// Fills the cache bits from an attribute word (inverse of [`attributes`](Self::attributes)).
    pub fn with_attributes(mut self, attr: u16) -> Self {
        self.type_ = (attr & 0xF) as u8;
        self.s = attr & (1 << 4) != 0;
        self.dpl = ((attr >> 5) & 3) as u8;
        self.present = attr & (1 << 7) != 0;
        self.avl = attr & (1 << 12) != 0;
        self.l = attr & (1 << 13) != 0;
        self.db = attr & (1 << 14) != 0;
        self.g = attr & (1 << 15) != 0;
        self.unusable = !self.present;
        self
    }

    /// A real-mode segment for `selector` (base = selector * 16, 64 KiB limit).
    pub fn real_mode(selector: u16, code: bool) -> Self {
        Segment {
            base: u64::from(selector) << 4,
            limit: 0xFFFF,
            selector,
            type_: if code { 0xB } else { 0x3 },
            present: true,
            dpl: 0,
            db: false,
            s: true,
            l: false,
            g: false,
            avl: false,
            unusable: false,
        }
    }
}

/// GDTR or IDTR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DescriptorTable {
    /// Linear base.
    pub base: u64,
    /// Limit (size - 1).
    pub limit: u16,
}

/// Segment, table and control registers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Sregs {
    pub cs: Segment,
    pub ds: Segment,
    pub es: Segment,
    pub fs: Segment,
    pub gs: Segment,
    pub ss: Segment,
    pub tr: Segment,
    pub ldt: Segment,
    pub gdt: DescriptorTable,
    pub idt: DescriptorTable,
    pub cr0: u64,
    pub cr2: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub cr8: u64,
    pub efer: u64,
    pub apic_base: u64,
}

impl Sregs {
    /// Current privilege level: CS.DPL in protected mode (the RPL of CS equals the CPL),
    /// 0 in real mode.
    pub fn cpl(&self) -> u8 {
        if self.cr0 & CR0_PE == 0 {
            0
        } else {
            (self.cs.selector & 3) as u8
        }
    }

    /// Linear address of `rip` through CS.
    pub fn code_linear(&self, rip: u64) -> u64 {
        if self.efer & EFER_LMA != 0 && self.cs.l {
            rip
        } else {
            self.cs.base.wrapping_add(rip) & 0xFFFF_FFFF
        }
    }

    /// Operating mode in words, for reports.
    pub fn mode_name(&self) -> &'static str {
        if self.cr0 & CR0_PE == 0 {
            "real mode"
        } else if self.efer & EFER_LMA != 0 {
            if self.cs.l {
                "64-bit mode"
            } else {
                "compatibility mode"
            }
        } else if self.cs.db {
            "32-bit protected mode"
        } else {
            "16-bit protected mode"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_word_round_trips_for_common_segments() {
        // 64-bit code (0xa09b), flat 32-bit code (0xc09b), data (0xc093), real-mode code (0x9b).
        for attr in [0xa09bu16, 0xc09b, 0xc093, 0x009b, 0x0093, 0x008b, 0x0082] {
            let s = Segment::default().with_attributes(attr);
            assert_eq!(s.attributes(), attr, "attr {attr:#x}");
        }
    }

    #[test]
    fn unusable_segment_reports_not_present() {
        let mut s = Segment::real_mode(0x10, false);
        s.unusable = true;
        assert_eq!(s.attributes() & 0x80, 0);
    }

    #[test]
    fn cpl_and_linear_rip() {
        let mut s = Sregs {
            cs: Segment::real_mode(0x07c0, true),
            ..Default::default()
        };
        assert_eq!(s.cpl(), 0);
        assert_eq!(s.code_linear(0x10), 0x7c10);
        assert_eq!(s.mode_name(), "real mode");
        s.cr0 = CR0_PE;
        s.cs.selector = 0x1b;
        s.cs.db = true;
        assert_eq!(s.cpl(), 3);
        assert_eq!(s.mode_name(), "32-bit protected mode");
        s.efer = EFER_LMA;
        s.cs.l = true;
        s.cs.base = 0x1000;
        assert_eq!(s.code_linear(0xffff_ffff_8000_0000), 0xffff_ffff_8000_0000);
    }
}
