//! The plain IN/OUT fast path: decode the access, move the data through RAX, and step
//! RIP past the instruction ourselves, which costs one register write instead of the
//! several hypercalls the WHP instruction emulator makes (notes/backends.md §1.5).

/// One port access as the `WHV_X64_IO_PORT_ACCESS_INFO` word describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortAccess {
    /// The port (DX or the immediate).
    pub port: u16,
    /// Access size in bytes: 1, 2 or 4.
    pub size: u8,
    /// OUT/OUTS (true) or IN/INS.
    pub is_write: bool,
    /// INS/OUTS: memory operands, so it goes through the emulator.
    pub string: bool,
    /// A REP prefix.
    pub rep: bool,
}

impl PortAccess {
    /// Decodes `AccessInfo.AsUINT32` (bit 0 IsWrite, bits 1-3 AccessSize, bit 4 StringOp,
    /// bit 5 RepPrefix). `None` for a size other than 1, 2 or 4.
    pub(crate) fn decode(port: u16, access_info: u32) -> Option<Self> {
        use crate::defs::io_access::{
            ACCESS_SIZE_MASK, ACCESS_SIZE_SHIFT, IS_WRITE, REP_PREFIX, STRING_OP,
        };
        let size = ((access_info >> ACCESS_SIZE_SHIFT) & ACCESS_SIZE_MASK) as u8;
        if !matches!(size, 1 | 2 | 4) {
            return None;
        }
        Some(Self {
            port,
            size,
            is_write: access_info & IS_WRITE != 0,
            string: access_info & STRING_OP != 0,
            rep: access_info & REP_PREFIX != 0,
        })
    }

    fn mask(&self) -> u64 {
        (1u64 << (u32::from(self.size) * 8)) - 1
    }

    /// The bytes an OUT sends: the low `size` bytes of RAX (use `[..size]`).
    pub(crate) fn out_data(&self, rax: u64) -> [u8; 4] {
        ((rax & self.mask()) as u32).to_le_bytes()
    }

    /// RAX after an IN of `data` (the low `size` bytes are used). 8- and 16-bit INs keep
    /// the rest of RAX; a 32-bit IN writes EAX, which zero-extends into RAX in 64-bit
    /// mode and leaves nothing observable above bit 31 in the other modes.
    pub(crate) fn in_result(&self, rax: u64, data: [u8; 4]) -> u64 {
        let value = u64::from(u32::from_le_bytes(data)) & self.mask();
        if self.size == 4 {
            value
        } else {
            (rax & !self.mask()) | value
        }
    }
}

/// The width of the instruction pointer, from CS and EFER.LMA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeSize {
    /// Real mode, virtual-8086 mode, 16-bit protected mode: IP wraps at 64 KiB.
    Bits16,
    /// 32-bit protected or compatibility mode: EIP wraps at 4 GiB.
    Bits32,
    /// 64-bit mode.
    Bits64,
}

impl CodeSize {
    /// From EFER.LMA and the CS attribute word (L bit 13, D/B bit 14).
    pub(crate) fn from_cs(long_mode_active: bool, cs_attributes: u16) -> Self {
        use crate::defs::segment::{DEFAULT, LONG};
        if long_mode_active && cs_attributes & LONG != 0 {
            CodeSize::Bits64
        } else if cs_attributes & DEFAULT != 0 {
            CodeSize::Bits32
        } else {
            CodeSize::Bits16
        }
    }
}

/// RIP after an instruction of `len` bytes at `rip`, wrapped like the CPU wraps it.
pub(crate) fn advance_rip(rip: u64, len: u8, size: CodeSize) -> u64 {
    let next = rip.wrapping_add(u64::from(len));
    match size {
        CodeSize::Bits16 => next & 0xFFFF,
        CodeSize::Bits32 => next & 0xFFFF_FFFF,
        CodeSize::Bits64 => next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_access_info_bits() {
        // out dx, al: write, size 1.
        let a = PortAccess::decode(0x3f8, 0b00_0011).expect("valid");
        assert_eq!(
            (a.size, a.is_write, a.string, a.rep),
            (1, true, false, false)
        );
        // rep insw: read, size 2, string, rep.
        let a = PortAccess::decode(0x1f0, 0b11_0100).expect("valid");
        assert_eq!(
            (a.size, a.is_write, a.string, a.rep),
            (2, false, true, true)
        );
        // in eax, dx.
        assert_eq!(PortAccess::decode(0xcfc, 0b1000).map(|a| a.size), Some(4));
        for bad in [0u32, 3 << 1, 5 << 1, 7 << 1] {
            assert_eq!(PortAccess::decode(0, bad), None, "{bad:#b}");
        }
    }

    #[test]
    fn out_takes_the_low_bytes_of_rax() {
        let rax = 0x1122_3344_5566_7788;
        let size = |s: u8| PortAccess::decode(0, u32::from(s) << 1 | 1).expect("valid");
        assert_eq!(size(1).out_data(rax), [0x88, 0, 0, 0]);
        assert_eq!(size(2).out_data(rax), [0x88, 0x77, 0, 0]);
        assert_eq!(size(4).out_data(rax), [0x88, 0x77, 0x66, 0x55]);
    }

    #[test]
    fn in_merges_al_ax_and_zero_extends_eax() {
        let rax = 0x1122_3344_5566_7788;
        let size = |s: u8| PortAccess::decode(0, u32::from(s) << 1).expect("valid");
        let data = [0xaa, 0xbb, 0xcc, 0xdd];
        assert_eq!(size(1).in_result(rax, data), 0x1122_3344_5566_77aa);
        assert_eq!(size(2).in_result(rax, data), 0x1122_3344_5566_bbaa);
        assert_eq!(size(4).in_result(rax, data), 0x0000_0000_ddcc_bbaa);
    }

    #[test]
    fn rip_advance_wraps_per_code_size() {
        assert_eq!(CodeSize::from_cs(false, 0x9b), CodeSize::Bits16);
        assert_eq!(CodeSize::from_cs(false, 0xc09b), CodeSize::Bits32);
        assert_eq!(CodeSize::from_cs(true, 0xa09b), CodeSize::Bits64);
        assert_eq!(
            CodeSize::from_cs(true, 0xc09b),
            CodeSize::Bits32,
            "compat mode"
        );
        assert_eq!(
            CodeSize::from_cs(false, 0xa09b),
            CodeSize::Bits16,
            "L without LMA"
        );
        assert_eq!(advance_rip(0x7c10, 1, CodeSize::Bits16), 0x7c11);
        assert_eq!(advance_rip(0xffff, 2, CodeSize::Bits16), 0x1);
        assert_eq!(advance_rip(0xffff_ffff, 1, CodeSize::Bits32), 0);
        assert_eq!(advance_rip(0xffff_ffff, 1, CodeSize::Bits64), 0x1_0000_0000);
        assert_eq!(advance_rip(u64::MAX, 2, CodeSize::Bits64), 1);
    }
}
