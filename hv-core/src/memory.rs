//! Guest memory: `vm-memory` regions plus which of them the guest may not write.
//!
//! The same [`GuestMemoryMmap`] type works on Linux, macOS and Windows, so devices,
//! loaders and the renderer read guest memory the same way on every host.

use vm_memory::{
    Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion,
    MemoryRegionAddress,
};

use crate::error::{HvError, Result};

/// Host page granularity every backend can map (HVF needs 16 KiB before macOS 26).
pub const MAP_ALIGN: u64 = 0x4000;

/// One region of guest memory, as a backend maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRegionInfo {
    /// Guest-physical start.
    pub gpa: u64,
    /// Length in bytes.
    pub size: u64,
    /// Host virtual address of the first byte.
    pub host: *mut u8,
    /// The guest may read and execute but not write (writes exit as MMIO).
    pub read_only: bool,
}

/// Guest RAM and ROM. Cloning is cheap (regions are reference-counted) and every clone
/// sees the same bytes.
#[derive(Debug, Clone)]
pub struct GuestMemory {
    mmap: GuestMemoryMmap,
    read_only: Vec<bool>,
}

/// A region to create: start, length, read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionSpec {
    /// Guest-physical start (a multiple of [`MAP_ALIGN`]).
    pub gpa: u64,
    /// Length (a multiple of [`MAP_ALIGN`]).
    pub size: u64,
    /// Guest writes are refused (they reach the MMIO handler instead).
    pub read_only: bool,
}

impl GuestMemory {
    /// Allocates anonymous host memory for each region. Regions must not overlap and must
    /// be aligned to [`MAP_ALIGN`] so every backend can map them.
    pub fn new(specs: &[RegionSpec]) -> Result<Self> {
        let mut sorted = specs.to_vec();
        sorted.sort_by_key(|s| s.gpa);
        for s in &sorted {
            if s.size == 0 || s.gpa % MAP_ALIGN != 0 || s.size % MAP_ALIGN != 0 {
                return Err(HvError::Memory(format!(
                    "region {:#x}+{:#x} is empty or not {MAP_ALIGN:#x}-aligned",
                    s.gpa, s.size
                )));
            }
        }
        for w in sorted.windows(2) {
            if w[0].gpa + w[0].size > w[1].gpa {
                return Err(HvError::Memory(format!(
                    "regions at {:#x} and {:#x} overlap",
                    w[0].gpa, w[1].gpa
                )));
            }
        }
        let ranges: Vec<(GuestAddress, usize)> = sorted
            .iter()
            .map(|s| {
                usize::try_from(s.size)
                    .map(|len| (GuestAddress(s.gpa), len))
                    .map_err(|_| {
                        HvError::Memory(format!("region of {:#x} bytes is too large", s.size))
                    })
            })
            .collect::<Result<_>>()?;
        let mmap = GuestMemoryMmap::from_ranges(&ranges)
            .map_err(|e| HvError::Memory(format!("cannot allocate guest memory: {e}")))?;
        // from_ranges keeps the order it was given, so the flags line up with regions.
        let read_only = sorted.iter().map(|s| s.read_only).collect();
        Ok(Self { mmap, read_only })
    }

    /// Plain RAM from 0 to `size`.
    pub fn ram(size: u64) -> Result<Self> {
        Self::new(&[RegionSpec {
            gpa: 0,
            size,
            read_only: false,
        }])
    }

    /// The underlying `vm-memory` object, for `Bytes` access.
    pub fn mmap(&self) -> &GuestMemoryMmap {
        &self.mmap
    }

    /// The regions, as backends map them.
    pub fn regions(&self) -> impl Iterator<Item = MemoryRegionInfo> + '_ {
        self.mmap
            .iter()
            .zip(self.read_only.iter())
            .filter_map(|(r, &ro)| {
                let host = r.get_host_address(MemoryRegionAddress(0)).ok()?;
                Some(MemoryRegionInfo {
                    gpa: r.start_addr().0,
                    size: r.len(),
                    host,
                    read_only: ro,
                })
            })
    }

    /// True if `[gpa, gpa+len)` lies in one region (RAM or ROM).
    pub fn contains(&self, gpa: u64, len: u64) -> bool {
        let Some(end) = gpa.checked_add(len) else {
            return false;
        };
        self.mmap.iter().any(|r| {
            let start = r.start_addr().0;
            gpa >= start && end <= start + r.len()
        })
    }

    /// Total bytes of all regions.
    pub fn total_size(&self) -> u64 {
        self.mmap.iter().map(|r| r.len()).sum()
    }

    /// Copies `data` into guest memory (the host may write ROM).
    pub fn write(&self, gpa: u64, data: &[u8]) -> Result<()> {
        self.mmap
            .write_slice(data, GuestAddress(gpa))
            .map_err(|e| HvError::Memory(format!("write of {} bytes at {gpa:#x}: {e}", data.len())))
    }

    /// Copies guest memory into `buf`.
    pub fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<()> {
        self.mmap
            .read_slice(buf, GuestAddress(gpa))
            .map_err(|e| HvError::Memory(format!("read of {} bytes at {gpa:#x}: {e}", buf.len())))
    }

    /// Reads a little-endian value.
    pub fn read_u8(&self, gpa: u64) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read(gpa, &mut b)?;
        Ok(b[0])
    }

    /// Reads a little-endian `u16`.
    pub fn read_u16(&self, gpa: u64) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read(gpa, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// Reads a little-endian `u32`.
    pub fn read_u32(&self, gpa: u64) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read(gpa, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Reads a little-endian `u64`.
    pub fn read_u64(&self, gpa: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read(gpa, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Writes a `u16` little-endian.
    pub fn write_u16(&self, gpa: u64, v: u16) -> Result<()> {
        self.write(gpa, &v.to_le_bytes())
    }

    /// Writes a `u32` little-endian.
    pub fn write_u32(&self, gpa: u64, v: u32) -> Result<()> {
        self.write(gpa, &v.to_le_bytes())
    }

    /// Writes a `u64` little-endian.
    pub fn write_u64(&self, gpa: u64, v: u64) -> Result<()> {
        self.write(gpa, &v.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_keep_read_only_flags_in_address_order() {
        let m = GuestMemory::new(&[
            RegionSpec {
                gpa: 0x10_0000,
                size: 0x4000,
                read_only: false,
            },
            RegionSpec {
                gpa: 0xF_0000,
                size: 0x1_0000,
                read_only: true,
            },
            RegionSpec {
                gpa: 0,
                size: 0xF_0000,
                read_only: false,
            },
        ])
        .expect("layout is valid");
        let r: Vec<_> = m.regions().map(|r| (r.gpa, r.size, r.read_only)).collect();
        assert_eq!(
            r,
            vec![
                (0, 0xF_0000, false),
                (0xF_0000, 0x1_0000, true),
                (0x10_0000, 0x4000, false)
            ]
        );
        assert_eq!(m.total_size(), 0x10_4000);
    }

    #[test]
    fn rejects_overlap_and_misalignment() {
        assert!(
            GuestMemory::new(&[
                RegionSpec {
                    gpa: 0,
                    size: 0x8000,
                    read_only: false
                },
                RegionSpec {
                    gpa: 0x4000,
                    size: 0x4000,
                    read_only: false
                },
            ])
            .is_err()
        );
        assert!(GuestMemory::ram(0x1234).is_err());
        assert!(GuestMemory::ram(0).is_err());
    }

    #[test]
    fn read_write_round_trip_and_bounds() {
        let m = GuestMemory::ram(0x4000).expect("ram");
        m.write_u32(0x100, 0xdead_beef).expect("in range");
        assert_eq!(m.read_u32(0x100).expect("in range"), 0xdead_beef);
        assert!(m.write(0x3fff, &[1, 2]).is_err());
        assert!(m.contains(0x3ffe, 2));
        assert!(!m.contains(0x3fff, 2));
        assert!(!m.contains(u64::MAX, 2));
    }
}
