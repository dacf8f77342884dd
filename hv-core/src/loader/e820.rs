//! The memory map loaders hand to kernels is the BIOS's own (int 15h E820h):
//! [`crate::firmware::system::e820_map`], so a multiboot `mmap`, Linux's
//! `boot_params.e820_table` and a real-mode caller of int 15h all see the same ranges.

use crate::memory::GuestMemory;

pub use crate::firmware::system::{E820_RAM, E820_RESERVED, E820Entry, e820_map};

/// Where guest RAM ends (the highest address any region covers).
pub fn ram_end(mem: &GuestMemory) -> u64 {
    mem.regions().map(|r| r.gpa + r.size).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_end_is_the_top_of_extended_memory() {
        let mem = crate::machine::layout::pc_memory(8).expect("mem");
        assert_eq!(ram_end(&mem), 8 << 20);
        let map = e820_map(&mem);
        let last = map.last().expect("entries");
        assert_eq!((last.base + last.len, last.kind), (8 << 20, E820_RAM));
    }
}
