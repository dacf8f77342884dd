//! The physical limit: the same guest under a bare `KVM_RUN` loop, with no device model.
//!
//! kvm-ioctls directly: create a VM, map anonymous memory at guest-physical 0, enter the
//! guest at 0000:7C00 in real mode, and answer every exit with nothing (reads return
//! 0xFF). This is what any VMM on this host pays per exit before doing any work; the
//! distance between it and hv's full path is hv's own cost.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};

use super::guests::{DEBUG_EXIT_PORT, LOAD_ADDR, MARKER_PORT};

/// Same addresses hv's KVM backend uses for the real-mode TSS and identity map, so the
/// two VMs are set up alike.
const IDENTITY_MAP_ADDR: u64 = 0xFFFB_C000;
const TSS_ADDR: usize = 0xFFFB_D000;

/// Anonymous host memory for the guest; unmapped on drop.
#[derive(Debug)]
struct HostMemory {
    ptr: *mut libc::c_void,
    len: usize,
}

impl HostMemory {
    fn new(len: usize) -> Result<Self> {
        // SAFETY: an anonymous private mapping with no address hint; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error()).context("mmap of guest memory");
        }
        Ok(Self { ptr, len })
    }

    fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        if offset
            .checked_add(data.len())
            .is_none_or(|end| end > self.len)
        {
            bail!("guest image does not fit in guest memory");
        }
        // SAFETY: bounds checked above; the mapping is live and writable, and the guest
        // is not running yet.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.ptr.cast::<u8>().add(offset),
                data.len(),
            );
        }
        Ok(())
    }
}

impl Drop for HostMemory {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping this struct created and nobody else owns.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

/// A one-vCPU VM running a flat guest. Field order is drop order: vCPU, VM, memory.
#[derive(Debug)]
pub struct RawVm {
    vcpu: VcpuFd,
    _vm: VmFd,
    _kvm: Kvm,
    _memory: HostMemory,
}

/// What a run of the raw loop saw.
#[derive(Debug, Clone, Copy)]
pub struct RawRun {
    /// Exits answered (port and MMIO) between the markers, not counting them.
    pub exits: u64,
    /// From the first marker to the second.
    pub elapsed: Duration,
}

impl RawVm {
    /// A VM with `memory_bytes` of RAM at 0 and `image` at 0x7C00, ready at 0000:7C00.
    pub fn new(image: &[u8], memory_bytes: usize) -> Result<Self> {
        let kvm = Kvm::new().context("opening /dev/kvm")?;
        let vm = kvm.create_vm().context("KVM_CREATE_VM")?;
        vm.set_identity_map_address(IDENTITY_MAP_ADDR)
            .context("KVM_SET_IDENTITY_MAP_ADDR")?;
        vm.set_tss_address(TSS_ADDR).context("KVM_SET_TSS_ADDR")?;
        let memory = HostMemory::new(memory_bytes)?;
        memory.write(usize::from(LOAD_ADDR), image)?;
        let region = kvm_userspace_memory_region {
            slot: 0,
            flags: 0,
            guest_phys_addr: 0,
            memory_size: memory_bytes as u64,
            userspace_addr: memory.ptr as u64,
        };
        // SAFETY: the region is a live mapping owned by `memory`, which RawVm drops after
        // the VM (field order), so the slot never outlives the host memory.
        unsafe { vm.set_user_memory_region(region) }.context("KVM_SET_USER_MEMORY_REGION")?;
        let vcpu = vm.create_vcpu(0).context("KVM_CREATE_VCPU")?;
        let mut sregs = vcpu.get_sregs().context("KVM_GET_SREGS")?;
        sregs.cs.base = 0;
        sregs.cs.selector = 0;
        vcpu.set_sregs(&sregs).context("KVM_SET_SREGS")?;
        let mut regs = vcpu.get_regs().context("KVM_GET_REGS")?;
        regs.rip = u64::from(LOAD_ADDR);
        regs.rflags = 2;
        vcpu.set_regs(&regs).context("KVM_SET_REGS")?;
        Ok(Self {
            vcpu,
            _vm: vm,
            _kvm: kvm,
            _memory: memory,
        })
    }

    /// Runs until the guest writes the debug-exit port (or halts), answering every
    /// other exit with nothing. Times from the first to the second write to
    /// [`MARKER_PORT`] (from the first entry when there are none) and counts the exits
    /// in between.
    pub fn run(&mut self) -> Result<RawRun> {
        let mut exits = 0u64;
        let mut start = Instant::now();
        let mut end = None;
        let mut markers = 0;
        loop {
            match self.vcpu.run() {
                Ok(VcpuExit::IoOut(port, _)) if port == u16::from(DEBUG_EXIT_PORT) => break,
                Ok(VcpuExit::IoOut(MARKER_PORT, _)) => {
                    markers += 1;
                    match markers {
                        1 => {
                            start = Instant::now();
                            exits = 0;
                        }
                        2 => end = Some(Instant::now()),
                        _ => {}
                    }
                }
                Ok(VcpuExit::IoOut(..) | VcpuExit::MmioWrite(..)) => exits += 1,
                Ok(VcpuExit::IoIn(_, data) | VcpuExit::MmioRead(_, data)) => {
                    data.fill(0xFF);
                    exits += 1;
                }
                Ok(VcpuExit::Hlt) => break,
                Ok(other) => bail!("raw KVM loop: unexpected exit {other:?}"),
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {}
                Err(e) => return Err(e).context("KVM_RUN"),
            }
        }
        let end = end.unwrap_or_else(Instant::now);
        Ok(RawRun {
            exits,
            elapsed: end - start,
        })
    }
}
