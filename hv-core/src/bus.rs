//! Port-I/O and MMIO buses: an address range maps to a device.
//!
//! Devices are owned by the vCPU thread, so a bus holds them by value (boxed) and needs
//! no locks on the exit path. Lookup is a binary search over sorted, non-overlapping
//! ranges. Unclaimed port reads return all ones, as an ISA bus with nothing driving it.

use std::fmt;

/// A device on the port or MMIO bus. `addr` is the absolute port or guest-physical address
/// (devices such as VGA answer at several discontiguous ports).
pub trait BusDevice: Send {
    /// A read of `data.len()` bytes at `addr`; fill `data`.
    fn read(&mut self, addr: u64, data: &mut [u8]);
    /// A write of `data` at `addr`.
    fn write(&mut self, addr: u64, data: &[u8]);
}

/// Index of a device on a [`Bus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceId(pub usize);

/// Overlapping ranges were inserted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bus range {start:#x}..{end:#x} overlaps an existing device")]
pub struct OverlapError {
    /// Start of the rejected range.
    pub start: u64,
    /// End (exclusive).
    pub end: u64,
}

/// An address space: sorted ranges, each pointing at a device.
#[derive(Default)]
pub struct Bus {
    ranges: Vec<(u64, u64, usize)>, // start, end (exclusive), device index
    devices: Vec<Box<dyn BusDevice>>,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("ranges", &self.ranges)
            .field("devices", &self.devices.len())
            .finish()
    }
}

impl Bus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a device; returns its id for [`add_range`](Self::add_range).
    pub fn add_device(&mut self, device: Box<dyn BusDevice>) -> DeviceId {
        self.devices.push(device);
        DeviceId(self.devices.len() - 1)
    }

    /// Routes `[start, start+len)` to `device`.
    pub fn add_range(
        &mut self,
        device: DeviceId,
        start: u64,
        len: u64,
    ) -> Result<(), OverlapError> {
        let end = start.checked_add(len).ok_or(OverlapError {
            start,
            end: u64::MAX,
        })?;
        if len == 0 || device.0 >= self.devices.len() {
            return Err(OverlapError { start, end });
        }
        let pos = self.ranges.partition_point(|r| r.0 < start);
        let clash_prev = pos > 0 && self.ranges[pos - 1].1 > start;
        let clash_next = pos < self.ranges.len() && self.ranges[pos].0 < end;
        if clash_prev || clash_next {
            return Err(OverlapError { start, end });
        }
        self.ranges.insert(pos, (start, end, device.0));
        Ok(())
    }

    /// Adds a device at one range.
    pub fn insert(
        &mut self,
        device: Box<dyn BusDevice>,
        start: u64,
        len: u64,
    ) -> Result<DeviceId, OverlapError> {
        let id = self.add_device(device);
        self.add_range(id, start, len)?;
        Ok(id)
    }

    fn lookup(&self, addr: u64) -> Option<usize> {
        let pos = self.ranges.partition_point(|r| r.0 <= addr);
        let (_, end, dev) = *self.ranges.get(pos.checked_sub(1)?)?;
        (addr < end).then_some(dev)
    }

    /// Reads from the device at `addr`. Returns false (and fills `data` with 0xFF) when
    /// nothing is there.
    pub fn read(&mut self, addr: u64, data: &mut [u8]) -> bool {
        match self.lookup(addr) {
            Some(i) => {
                data.fill(0);
                self.devices[i].read(addr, data);
                true
            }
            None => {
                data.fill(0xFF);
                false
            }
        }
    }

    /// Writes to the device at `addr`. Returns false when nothing is there.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> bool {
        match self.lookup(addr) {
            Some(i) => {
                self.devices[i].write(addr, data);
                true
            }
            None => false,
        }
    }

    /// The device behind `id`, for the machine's own bookkeeping.
    pub fn device_mut(&mut self, id: DeviceId) -> Option<&mut (dyn BusDevice + 'static)> {
        self.devices.get_mut(id.0).map(|d| d.as_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Echo(Vec<(u64, Vec<u8>)>);
    impl BusDevice for Echo {
        fn read(&mut self, addr: u64, data: &mut [u8]) {
            data.fill(addr as u8);
        }
        fn write(&mut self, addr: u64, data: &[u8]) {
            self.0.push((addr, data.to_vec()));
        }
    }

    #[test]
    fn routes_by_range_and_floats_unclaimed_reads() {
        let mut bus = Bus::new();
        bus.insert(Box::new(Echo::default()), 0x60, 1)
            .expect("free");
        let id = bus
            .insert(Box::new(Echo::default()), 0x3c0, 0x20)
            .expect("free");
        bus.add_range(id, 0x3b4, 2).expect("free");
        let mut b = [0u8; 1];
        assert!(bus.read(0x60, &mut b));
        assert_eq!(b[0], 0x60);
        assert!(bus.read(0x3df, &mut b));
        assert_eq!(b[0], 0xdf);
        assert!(bus.read(0x3b5, &mut b));
        assert!(!bus.read(0x3e0, &mut b));
        assert_eq!(b[0], 0xff);
        assert!(!bus.read(0x61, &mut b));
        assert!(!bus.write(0x5f, &[1]));
        assert!(bus.write(0x3c0, &[1, 2]));
    }

    #[test]
    fn rejects_overlaps_and_empty_ranges() {
        let mut bus = Bus::new();
        bus.insert(Box::new(Echo::default()), 0x40, 4)
            .expect("free");
        assert!(bus.insert(Box::new(Echo::default()), 0x43, 2).is_err());
        assert!(bus.insert(Box::new(Echo::default()), 0x3e, 3).is_err());
        assert!(bus.insert(Box::new(Echo::default()), 0x44, 0).is_err());
        assert!(bus.insert(Box::new(Echo::default()), u64::MAX, 2).is_err());
        assert!(bus.insert(Box::new(Echo::default()), 0x3c, 4).is_ok());
        assert!(bus.insert(Box::new(Echo::default()), 0x44, 1).is_ok());
    }
}
