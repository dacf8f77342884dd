//! A KVM vCPU: the run loop, register access and interrupt injection.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

use hv_core::arch::x86::{Regs, Sregs};
use hv_core::{GuestMemory, HvError, IoHandler, Kicker, Result, Vcpu, VcpuExit, VcpuX86};
use kvm_bindings::kvm_run;
use kvm_ioctls::VcpuFd;

use crate::error::os;
use crate::exits::{self, KvmExit};
use crate::failure::{self, Failure};
use crate::interrupt;
use crate::kick::KvmKicker;
use crate::regs;

/// One KVM vCPU. Not `Send`: it stays on the thread that created it, which is also the
/// thread its [`KvmKicker`] signals.
#[derive(Debug)]
pub struct KvmVcpu {
    // Declared before `memory`, so the vCPU (and its hold on the VM) goes first.
    fd: VcpuFd,
    /// The `kvm_run` mapping (owned by `fd`), for `&self` reads of its status bytes.
    run: NonNull<kvm_run>,
    /// Length of the `kvm_run` mapping; port I/O data lives inside it.
    run_size: usize,
    kicker: Arc<KvmKicker>,
    /// For reading instruction bytes when the guest fails.
    memory: Option<GuestMemory>,
    _not_send: PhantomData<*const ()>,
}

impl KvmVcpu {
    pub(crate) fn new(
        mut fd: VcpuFd,
        run_size: usize,
        memory: Option<GuestMemory>,
    ) -> Result<Self> {
        let run = NonNull::from(fd.get_kvm_run());
        let kicker = Arc::new(KvmKicker::new(run)?);
        Ok(Self {
            fd,
            run,
            run_size,
            kicker,
            memory,
            _not_send: PhantomData,
        })
    }

    /// After `-EINTR`: a kick if one was pending, otherwise some other signal.
    fn interrupted(&self) -> VcpuExit {
        if self.kicker.acknowledge() {
            VcpuExit::Kicked
        } else {
            VcpuExit::Spurious
        }
    }

    fn complete_pio(&mut self, pio: &exits::Pio, io: &mut dyn IoHandler) -> Result<()> {
        let range = pio.data_range(self.run_size)?;
        let base = self.fd.get_kvm_run() as *mut kvm_run as *mut u8;
        // SAFETY: the kvm_run mapping is `run_size` bytes long and `range` lies inside it
        // (checked by data_range). No other reference into it is alive, and the kernel does
        // not touch it until the next KVM_RUN.
        let data = unsafe { std::slice::from_raw_parts_mut(base.add(range.start), range.len()) };
        exits::complete_pio(pio, data, io);
        Ok(())
    }

    fn complete_mmio(&mut self, mmio: &exits::Mmio, io: &mut dyn IoHandler) {
        let run = self.fd.get_kvm_run();
        // SAFETY: the exit was decoded as KVM_EXIT_MMIO, so `mmio` is the live member; its
        // data array is plain bytes.
        let data = unsafe { &mut run.__bindgen_anon_1.mmio.data };
        exits::complete_mmio(mmio, data, io);
    }

    /// The report for a guest KVM could not run.
    fn guest_failure(&self, failure: Failure) -> HvError {
        let (regs, sregs) = match (self.regs(), self.sregs()) {
            (Ok(r), Ok(s)) => (r, s),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        let bytes = match &self.memory {
            Some(mem) => {
                let paging = failure::paging_enabled(&sregs);
                failure::fetch_code(mem, sregs.code_linear(regs.rip), |page| {
                    if !paging {
                        return Some(page);
                    }
                    self.fd
                        .translate_gva(page)
                        .ok()
                        .filter(|t| t.valid != 0)
                        .map(|t| t.physical_address)
                })
            }
            None => Vec::new(),
        };
        HvError::Guest(Box::new(failure::report(failure, &regs, &sregs, bytes)))
    }

    /// Reads a status byte of `kvm_run` from `&self`.
    fn run_byte(&self, field: impl FnOnce(*const kvm_run) -> *const u8) -> u8 {
        // SAFETY: `self.run` points to the live kvm_run mapping owned by `self.fd`; no
        // `&mut` to it exists while `&self` is borrowed, and the kernel only writes it
        // during KVM_RUN, which needs `&mut self`.
        unsafe { field(self.run.as_ptr()).read_volatile() }
    }
}

impl Drop for KvmVcpu {
    fn drop(&mut self) {
        // Before `fd` (and the kvm_run mapping) goes away.
        self.kicker.disarm();
    }
}

impl Vcpu for KvmVcpu {
    fn run(&mut self, io: &mut dyn IoHandler) -> Result<VcpuExit> {
        match self.fd.run() {
            Ok(_) => {}
            Err(e) if e.errno() == libc::EINTR => return Ok(self.interrupted()),
            Err(e) if e.errno() == libc::EAGAIN => return Ok(VcpuExit::Spurious),
            Err(e) => return Err(os("KVM_RUN", e)),
        }
        match exits::decode(self.fd.get_kvm_run())? {
            KvmExit::Pio(pio) => {
                self.complete_pio(&pio, io)?;
                Ok(VcpuExit::Io)
            }
            KvmExit::Mmio(mmio) => {
                self.complete_mmio(&mmio, io);
                Ok(VcpuExit::Io)
            }
            KvmExit::Done(VcpuExit::Kicked) => Ok(self.interrupted()),
            KvmExit::Done(exit) => Ok(exit),
            KvmExit::InternalError { suberror } => {
                Err(self.guest_failure(Failure::Internal(suberror)))
            }
            KvmExit::FailEntry { reason } => Err(self.guest_failure(Failure::FailEntry(reason))),
        }
    }

    fn kicker(&self) -> Arc<dyn Kicker> {
        self.kicker.clone()
    }

    /// `KVM_SET_VCPU_EVENTS` with everything zero: no injected or pending interrupt
    /// (a `KVM_INTERRUPT` the guest has not taken yet would otherwise be delivered to the
    /// next guest), exception, NMI or interrupt shadow; then no interrupt-window request.
    fn reset(&mut self) -> Result<()> {
        let events = kvm_bindings::kvm_vcpu_events {
            flags: kvm_bindings::KVM_VCPUEVENT_VALID_NMI_PENDING
                | kvm_bindings::KVM_VCPUEVENT_VALID_SHADOW,
            ..Default::default()
        };
        self.fd
            .set_vcpu_events(&events)
            .map_err(|e| os("KVM_SET_VCPU_EVENTS", e))?;
        self.fd.get_kvm_run().request_interrupt_window = 0;
        Ok(())
    }
}

impl VcpuX86 for KvmVcpu {
    fn regs(&self) -> Result<Regs> {
        let r = self.fd.get_regs().map_err(|e| os("KVM_GET_REGS", e))?;
        Ok(regs::from_kvm_regs(&r))
    }

    fn set_regs(&mut self, r: &Regs) -> Result<()> {
        self.fd
            .set_regs(&regs::to_kvm_regs(r))
            .map_err(|e| os("KVM_SET_REGS", e))
    }

    fn sregs(&self) -> Result<Sregs> {
        let s = self.fd.get_sregs().map_err(|e| os("KVM_GET_SREGS", e))?;
        Ok(regs::from_kvm_sregs(&s))
    }

    fn set_sregs(&mut self, s: &Sregs) -> Result<()> {
        let current = self.fd.get_sregs().map_err(|e| os("KVM_GET_SREGS", e))?;
        self.fd
            .set_sregs(&regs::to_kvm_sregs(s, &current))
            .map_err(|e| os("KVM_SET_SREGS", e))
    }

    fn ready_for_interrupt(&self) -> bool {
        // KVM updates both bytes on every exit: "ready" already accounts for the interrupt
        // shadow and pending events, `if_flag` is RFLAGS.IF.
        let ready = self.run_byte(|r| {
            // SAFETY: `r` points to a live kvm_run (see run_byte); only the address is taken.
            unsafe { &raw const (*r).ready_for_interrupt_injection }
        });
        let if_flag = self.run_byte(|r| {
            // SAFETY: as above.
            unsafe { &raw const (*r).if_flag }
        });
        ready != 0 && if_flag != 0
    }

    fn inject_interrupt(&mut self, vector: u8) -> Result<()> {
        interrupt::inject(&self.fd, vector)
    }

    fn request_interrupt_window(&mut self, on: bool) -> Result<()> {
        self.fd.get_kvm_run().request_interrupt_window = u8::from(on);
        Ok(())
    }
}
