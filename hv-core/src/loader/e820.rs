//! The memory map hv reports to guests: the same map the BIOS returns from int 15h
//! E820h, the multiboot loader puts in `mmap_addr` and the bzImage loader writes into
//! `boot_params.e820_table`.

use crate::machine::layout::{BIOS_ROM_START, EBDA_START, HIGH_MEMORY_START};
use crate::memory::GuestMemory;

/// E820 type 1: usable RAM.
pub const E820_RAM: u32 = 1;
/// E820 type 2: reserved.
pub const E820_RESERVED: u32 = 2;

/// One E820 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    /// First byte.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// [`E820_RAM`] or [`E820_RESERVED`].
    pub kind: u32,
}

/// The map for a PC whose RAM ends at `ram_end`: conventional memory below the EBDA,
/// the EBDA and the BIOS ROM reserved, VGA memory and the option-ROM area absent (not
/// RAM as far as an OS is concerned), extended memory from 1 MiB to the top.
pub fn e820_map(ram_end: u64) -> Vec<E820Entry> {
    let mut map = vec![
        E820Entry {
            addr: 0,
            size: EBDA_START,
            kind: E820_RAM,
        },
        E820Entry {
            addr: EBDA_START,
            size: 0xA_0000 - EBDA_START,
            kind: E820_RESERVED,
        },
        E820Entry {
            addr: BIOS_ROM_START,
            size: HIGH_MEMORY_START - BIOS_ROM_START,
            kind: E820_RESERVED,
        },
    ];
    if ram_end > HIGH_MEMORY_START {
        map.push(E820Entry {
            addr: HIGH_MEMORY_START,
            size: ram_end - HIGH_MEMORY_START,
            kind: E820_RAM,
        });
    }
    map
}

/// Where guest RAM ends (the highest address any region covers).
pub fn ram_end(mem: &GuestMemory) -> u64 {
    mem.regions().map(|r| r.gpa + r.size).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_matches_the_pc_layout() {
        let map = e820_map(64 << 20);
        assert_eq!(map.len(), 4);
        assert_eq!(
            (map[0].addr, map[0].size, map[0].kind),
            (0, 0x9FC00, E820_RAM)
        );
        assert_eq!(map[1].kind, E820_RESERVED);
        assert_eq!((map[2].addr, map[2].size), (0xF0000, 0x10000));
        assert_eq!(map[3].addr + map[3].size, 64 << 20);
        let mem = crate::machine::layout::pc_memory(8).expect("mem");
        assert_eq!(ram_end(&mem), 8 << 20);
    }
}
