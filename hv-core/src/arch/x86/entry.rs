//! Entry states for x86 guests: the registers a loader sets before the first instruction.
//!
//! Real mode is what a BIOS hands a boot sector; flat 32-bit protected mode is the
//! multiboot entry; 64-bit long mode with identity-mapped page tables is the Linux 64-bit
//! boot entry. Protected and long mode write a GDT (and page tables) into guest memory,
//! because the guest reloads segments from it on every interrupt and `iret`.

use super::regs::*;
use crate::error::Result;
use crate::memory::GuestMemory;

/// Registers for the first instruction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryState {
    /// General-purpose registers, RIP, RFLAGS.
    pub regs: Regs,
    /// Segments, tables, control registers.
    pub sregs: Sregs,
}

/// GDT selectors written by [`write_gdt`].
pub mod selector {
    /// 32-bit flat code.
    pub const CODE32: u16 = 0x08;
    /// Flat data.
    pub const DATA: u16 = 0x10;
    /// 64-bit code.
    pub const CODE64: u16 = 0x18;
    /// 16-bit code (base 0, 64 KiB), for returning to real mode.
    pub const CODE16: u16 = 0x20;
    /// 16-bit data (base 0, 64 KiB).
    pub const DATA16: u16 = 0x28;
}

/// Bytes [`write_gdt`] writes.
pub const GDT_SIZE: u64 = 6 * 8;

/// The GDT entries, in selector order: null, code32, data, code64, code16, data16.
pub const GDT: [u64; 6] = [
    0,
    0x00cf_9b00_0000_ffff, // base 0, limit 4 GiB, G D/B P S type B
    0x00cf_9300_0000_ffff, // base 0, limit 4 GiB, G D/B P S type 3
    0x00af_9b00_0000_ffff, // L, P S type B
    0x0000_9b00_0000_ffff, // 16-bit code, base 0, limit 64 KiB
    0x0000_9300_0000_ffff, // 16-bit data
];

/// Writes [`GDT`] at `gdt_at`.
pub fn write_gdt(mem: &GuestMemory, gdt_at: u64) -> Result<()> {
    let bytes: Vec<u8> = GDT.iter().flat_map(|e| e.to_le_bytes()).collect();
    mem.write(gdt_at, &bytes)
}

/// Decodes a GDT entry into a segment cache, as the CPU does on a selector load.
pub fn segment_from_descriptor(selector: u16, desc: u64) -> Segment {
    let base = ((desc >> 16) & 0xFF_FFFF) | ((desc >> 32) & 0xFF00_0000);
    let raw_limit = (desc & 0xFFFF) | ((desc >> 32) & 0xF_0000);
    let attr = ((desc >> 40) & 0xF0FF) as u16;
    let seg = Segment {
        base,
        selector,
        ..Default::default()
    }
    .with_attributes(attr);
    let limit = if seg.g {
        (raw_limit << 12) | 0xFFF
    } else {
        raw_limit
    } as u32;
    Segment { limit, ..seg }
}

fn tss_and_ldt() -> (Segment, Segment) {
    // VMX requires a usable busy TSS; the guest never switches tasks, so an empty one at 0
    // is enough. The LDT is unusable.
    let tr = Segment {
        limit: 0xFFFF,
        type_: 0xB,
        present: true,
        ..Default::default()
    };
    let ldt = Segment {
        limit: 0xFFFF,
        type_: 0x2,
        present: true,
        ..Default::default()
    };
    (tr, ldt)
}

/// Real mode at `cs:ip` with `ss:sp = 0:sp`, interrupts off. The caller sets DL etc.
pub fn real_mode(cs: u16, ip: u16, sp: u16) -> EntryState {
    let (tr, ldt) = tss_and_ldt();
    let data = Segment::real_mode(0, false);
    EntryState {
        regs: Regs {
            rip: u64::from(ip),
            rsp: u64::from(sp),
            rflags: RFLAGS_RESERVED,
            ..Default::default()
        },
        sregs: Sregs {
            cs: Segment::real_mode(cs, true),
            ds: data,
            es: data,
            fs: data,
            gs: data,
            ss: data,
            tr,
            ldt,
            gdt: DescriptorTable {
                base: 0,
                limit: 0xFFFF,
            },
            idt: DescriptorTable {
                base: 0,
                limit: 0x3FF,
            },
            cr0: CR0_ET,
            ..Default::default()
        },
    }
}

fn flat_sregs(gdt_at: u64, code: u16) -> Sregs {
    let (tr, ldt) = tss_and_ldt();
    let data = segment_from_descriptor(selector::DATA, GDT[usize::from(selector::DATA >> 3)]);
    Sregs {
        cs: segment_from_descriptor(code, GDT[usize::from(code >> 3)]),
        ds: data,
        es: data,
        fs: data,
        gs: data,
        ss: data,
        tr,
        ldt,
        gdt: DescriptorTable {
            base: gdt_at,
            limit: (GDT_SIZE - 1) as u16,
        },
        idt: DescriptorTable { base: 0, limit: 0 },
        cr0: CR0_PE | CR0_ET,
        ..Default::default()
    }
}

/// Flat 32-bit protected mode (paging off) at `entry`, with the GDT written at `gdt_at`.
pub fn protected_mode(mem: &GuestMemory, gdt_at: u64, entry: u32, esp: u32) -> Result<EntryState> {
    write_gdt(mem, gdt_at)?;
    Ok(EntryState {
        regs: Regs {
            rip: u64::from(entry),
            rsp: u64::from(esp),
            rflags: RFLAGS_RESERVED,
            ..Default::default()
        },
        sregs: flat_sregs(gdt_at, selector::CODE32),
    })
}

/// Bytes of page tables [`long_mode`] writes: PML4, PDPT and four page directories.
pub const LONG_MODE_TABLES_SIZE: u64 = 6 * 0x1000;

/// 64-bit long mode at `entry`, identity-mapping the first 4 GiB with 2 MiB pages. Page
/// tables go at `tables_at` (4 KiB aligned, [`LONG_MODE_TABLES_SIZE`] bytes), the GDT at
/// `gdt_at`.
pub fn long_mode(
    mem: &GuestMemory,
    tables_at: u64,
    gdt_at: u64,
    entry: u64,
    rsp: u64,
) -> Result<EntryState> {
    if tables_at % 0x1000 != 0 {
        return Err(crate::HvError::InvalidArgument(format!(
            "page tables at {tables_at:#x} are not 4 KiB aligned"
        )));
    }
    write_gdt(mem, gdt_at)?;
    let pml4 = tables_at;
    let pdpt = tables_at + 0x1000;
    let pd0 = tables_at + 0x2000;
    const PRESENT_RW: u64 = 0b11;
    const PAGE_SIZE_2M: u64 = 1 << 7;
    mem.write_u64(pml4, pdpt | PRESENT_RW)?;
    let mut pd_bytes = vec![0u8; 4 * 0x1000];
    for i in 0..4u64 {
        mem.write_u64(pdpt + i * 8, (pd0 + i * 0x1000) | PRESENT_RW)?;
    }
    for (i, chunk) in pd_bytes.chunks_exact_mut(8).enumerate() {
        let entry = ((i as u64) << 21) | PRESENT_RW | PAGE_SIZE_2M;
        chunk.copy_from_slice(&entry.to_le_bytes());
    }
    mem.write(pd0, &pd_bytes)?;
    let mut sregs = flat_sregs(gdt_at, selector::CODE64);
    sregs.cr3 = pml4;
    sregs.cr4 = CR4_PAE;
    sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    sregs.efer = EFER_LME | EFER_LMA;
    Ok(EntryState {
        regs: Regs {
            rip: entry,
            rsp,
            rflags: RFLAGS_RESERVED,
            ..Default::default()
        },
        sregs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdt_descriptors_decode_to_flat_segments() {
        let cs = segment_from_descriptor(selector::CODE32, GDT[1]);
        assert_eq!(
            (cs.base, cs.limit, cs.type_, cs.db, cs.g, cs.l),
            (0, 0xFFFF_FFFF, 0xB, true, true, false)
        );
        let cs64 = segment_from_descriptor(selector::CODE64, GDT[3]);
        assert!(cs64.l && !cs64.db && cs64.present);
        let ds = segment_from_descriptor(selector::DATA, GDT[2]);
        assert_eq!((ds.type_, ds.s, ds.present), (0x3, true, true));
        let c16 = segment_from_descriptor(selector::CODE16, GDT[4]);
        assert_eq!((c16.limit, c16.db, c16.g), (0xFFFF, false, false));
    }

    #[test]
    fn real_mode_state_matches_boot_sector_handoff() {
        let e = real_mode(0, 0x7c00, 0x7c00);
        assert_eq!(e.regs.rip, 0x7c00);
        assert_eq!(e.sregs.cs.base, 0);
        assert_eq!(e.sregs.cr0 & CR0_PE, 0);
        assert_eq!(e.sregs.idt.limit, 0x3ff);
        let e = real_mode(0x07c0, 0, 0);
        assert_eq!(e.sregs.code_linear(e.regs.rip), 0x7c00);
    }

    #[test]
    fn long_mode_tables_identity_map_4g() {
        let mem = GuestMemory::ram(0x20_0000).expect("ram");
        let e = long_mode(&mem, 0x9000, 0x500, 0x1000, 0x8000).expect("fits");
        assert_eq!(e.sregs.cr3, 0x9000);
        assert_eq!(e.sregs.efer, EFER_LME | EFER_LMA);
        assert!(e.sregs.cs.l);
        let pdpt = mem.read_u64(0x9000).expect("pml4") & !0xFFF;
        assert_eq!(pdpt, 0xA000);
        let pd3 = mem.read_u64(pdpt + 3 * 8).expect("pdpt") & !0xFFF;
        // Last 2 MiB page of the 4th GiB maps to itself.
        let last = mem.read_u64(pd3 + 511 * 8).expect("pd");
        assert_eq!(last & !0xFFF, (4u64 << 30) - (2 << 20));
        assert_eq!(mem.read_u64(0x508).expect("gdt"), GDT[1]);
        assert!(long_mode(&mem, 0x9001, 0x500, 0, 0).is_err());
    }
}
