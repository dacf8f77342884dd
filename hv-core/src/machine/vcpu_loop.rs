//! The x86 half of the vCPU loop: PIC interrupt injection, the BIOS trap, what a
//! triple fault means, and what the PC loads at power-on. The loop itself is
//! [`super::run_loop`].
//!
//! Before each entry the PIC's vector is injected if the guest can take it, else an
//! interrupt-window exit is requested. `hlt` with interrupts off can never wake, so it
//! ends the run instead of blocking forever.

use crate::arch::x86::regs::RFLAGS_IF;
use crate::exit::VcpuExit;
use crate::hypervisor::VcpuX86;
use crate::loader::BootImage;

use super::board::clear_memory;
use super::events::RunEnd;
use super::journey::JourneyRecorder;
use super::pc::PcBoard;
use super::run_loop::{Arch, Boot, ExitAction};
use super::stats::ExitKind;

/// The x86 vCPU's side of the loop for the PC.
#[derive(Debug)]
pub struct X86Cpu {
    /// The image to reload on reset.
    image: Box<dyn BootImage>,
    /// Stop instead of resetting on a triple fault.
    no_reboot: bool,
    window_requested: bool,
    /// An interrupt was injected and the vCPU has not entered the guest since.
    injection_pending: bool,
}

impl X86Cpu {
    /// Boots `image`; a triple fault resets unless `no_reboot`.
    pub fn new(image: Box<dyn BootImage>, no_reboot: bool) -> Self {
        Self {
            image,
            no_reboot,
            window_requested: false,
            injection_pending: false,
        }
    }
}

impl<V: VcpuX86> Arch<V> for X86Cpu {
    type Board = PcBoard;

    /// Loads firmware and the image into memory and sets the entry registers.
    fn power_on(&mut self, vcpu: &mut V, board: &PcBoard, boot: Boot) -> Result<(), String> {
        self.window_requested = false;
        self.injection_pending = false;
        // Nothing the old guest left queued (an injected vector it never took, an
        // interrupt-window request) may reach the new one.
        vcpu.reset().map_err(|e| e.to_string())?;
        // Zeroed so a reset starts from the same memory as power-on. Only resets need
        // it: at launch the memory is fresh anonymous mappings, already zero, and
        // writing zeros there would fault in every page of guest RAM (64 MiB by
        // default: tens of milliseconds of start-up and the whole guest RAM resident
        // before the guest has touched any of it).
        if boot == Boot::Reset {
            clear_memory(&board.shared.memory)?;
        }
        let mem = &board.shared.memory;
        crate::firmware::install(board).map_err(|e| format!("firmware: {e}"))?;
        let loaded = self
            .image
            .load(mem, &board.drives)
            .map_err(|e| format!("loading the image: {e}"))?;
        vcpu.set_sregs(&loaded.entry.sregs)
            .map_err(|e| e.to_string())?;
        vcpu.set_regs(&loaded.entry.regs)
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Performs the INTA cycle and injects the vector if the guest can take an
    /// interrupt now; otherwise asks to exit as soon as it can.
    fn deliver_interrupts(
        &mut self,
        vcpu: &mut V,
        board: &mut PcBoard,
        journey: &JourneyRecorder,
    ) -> crate::Result<()> {
        if self.injection_pending || !board.pic.has_interrupt() {
            return Ok(());
        }
        if vcpu.ready_for_interrupt() {
            if let Some(vector) = board.pic.acknowledge() {
                vcpu.inject_interrupt(vector)?;
                self.injection_pending = true;
                board.shared.stats.count_injection();
                journey.injected(vector);
            }
            if self.window_requested {
                vcpu.request_interrupt_window(false)?;
                self.window_requested = false;
            }
        } else if !self.window_requested {
            vcpu.request_interrupt_window(true)?;
            self.window_requested = true;
        }
        Ok(())
    }

    fn entered_guest(&mut self) {
        self.injection_pending = false;
    }

    /// With RFLAGS.IF clear nothing can wake a halted x86 CPU (no NMI source here).
    fn halted(&mut self, vcpu: &V) -> Option<RunEnd> {
        match vcpu.regs() {
            Ok(regs) if regs.rflags & RFLAGS_IF == 0 => {
                let at = vcpu
                    .sregs()
                    .map(|s| s.code_linear(regs.rip))
                    .unwrap_or(regs.rip);
                Some(RunEnd::HaltedWithInterruptsOff { at })
            }
            Ok(_) => None,
            Err(e) => Some(RunEnd::Error(e.to_string())),
        }
    }

    fn should_wake(&mut self, board: &PcBoard) -> bool {
        board.pic.has_interrupt()
    }

    fn exit(&mut self, vcpu: &mut V, board: &mut PcBoard, exit: VcpuExit) -> ExitAction {
        let stats = &board.shared.stats;
        match exit {
            // The BIOS ROM stubs trap through a port write (see `firmware`).
            VcpuExit::Io => {
                if let Some(vector) = board.take_bios_trap() {
                    if let Err(e) = crate::firmware::service(vector, vcpu, board) {
                        return ExitAction::End(RunEnd::Error(format!(
                            "BIOS int {vector:02x}h: {e}"
                        )));
                    }
                }
            }
            VcpuExit::InterruptWindow => {
                stats.count(ExitKind::Window);
                self.window_requested = false;
                if let Err(e) = vcpu.request_interrupt_window(false) {
                    return ExitAction::End(RunEnd::Error(e.to_string()));
                }
            }
            VcpuExit::Shutdown => {
                stats.count(ExitKind::Other);
                log::warn!("guest triple fault; registers: {}", register_dump(vcpu));
                if self.no_reboot {
                    return ExitAction::End(RunEnd::Shutdown);
                }
                return ExitAction::Reset("triple fault".into());
            }
            VcpuExit::Reset => {
                stats.count(ExitKind::Other);
                return ExitAction::Reset("guest requested reset".into());
            }
            other => {
                stats.count(ExitKind::Other);
                log::trace!("exit {}", other.name());
            }
        }
        ExitAction::Continue
    }

    fn register_dump(vcpu: &V) -> String {
        register_dump(vcpu)
    }
}

/// One line with the registers that explain where a guest died.
pub fn register_dump<V: VcpuX86>(vcpu: &V) -> String {
    match (vcpu.regs(), vcpu.sregs()) {
        (Ok(r), Ok(s)) => format!(
            "{} cs={:04x} rip={:#x} rsp={:#x} rflags={:#x} rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} \
             rsi={:#x} rdi={:#x} cr0={:#x} cr3={:#x} cr4={:#x} efer={:#x} idt={:#x}/{:#x} gdt={:#x}/{:#x}",
            s.mode_name(),
            s.cs.selector,
            r.rip,
            r.rsp,
            r.rflags,
            r.rax,
            r.rbx,
            r.rcx,
            r.rdx,
            r.rsi,
            r.rdi,
            s.cr0,
            s.cr3,
            s.cr4,
            s.efer,
            s.idt.base,
            s.idt.limit,
            s.gdt.base,
            s.gdt.limit
        ),
        (Err(e), _) | (_, Err(e)) => format!("(unavailable: {e})"),
    }
}
