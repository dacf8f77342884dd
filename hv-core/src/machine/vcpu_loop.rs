//! The x86 half of the vCPU loop: PIC interrupt injection, the BIOS trap, what a
//! triple fault means, and what the PC loads at power-on. The loop itself is
//! [`super::run_loop`].
//!
//! Before each entry the PIC's vector is injected if the guest can take it, else an
//! interrupt-window exit is requested. `hlt` with interrupts off can never wake, so it
//! ends the run instead of blocking forever.
//!
//! A BIOS service stub halts for two reasons (see [`crate::firmware::service`]): to let a
//! pending interrupt in before its service runs (*yield*), and to wait for a key or for
//! an int 15h interval. A yield halt never blocks, even if nothing is pending any more by
//! the time it halts; an int 15h AH=86h halt also wakes when the BIOS user timer's
//! interval has elapsed, whatever the guest has masked.

use crate::arch::x86::regs::RFLAGS_IF;
use crate::exit::VcpuExit;
use crate::firmware::cpu_view::Completion;
use crate::firmware::rom;
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
    /// The last BIOS trap was answered [`Completion::Yield`]: its stub's halt must not
    /// block.
    bios_yield: bool,
    /// The vector of the BIOS service stub the vCPU is halted in, if it is.
    halted_in_stub: Option<u8>,
}

impl X86Cpu {
    /// Boots `image`; a triple fault resets unless `no_reboot`.
    pub fn new(image: Box<dyn BootImage>, no_reboot: bool) -> Self {
        Self {
            image,
            no_reboot,
            window_requested: false,
            injection_pending: false,
            bios_yield: false,
            halted_in_stub: None,
        }
    }
}

impl<V: VcpuX86> Arch<V> for X86Cpu {
    type Board = PcBoard;

    /// Loads firmware and the image into memory and sets the entry registers.
    fn power_on(&mut self, vcpu: &mut V, board: &PcBoard, boot: Boot) -> Result<(), String> {
        self.window_requested = false;
        self.injection_pending = false;
        self.bios_yield = false;
        self.halted_in_stub = None;
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
    /// Otherwise notes whether the halt is a BIOS service stub's, for [`Self::should_wake`].
    fn halted(&mut self, vcpu: &V) -> Option<RunEnd> {
        self.halted_in_stub = None;
        let regs = match vcpu.regs() {
            Ok(regs) => regs,
            Err(e) => return Some(RunEnd::Error(e.to_string())),
        };
        let at = vcpu
            .sregs()
            .map(|s| s.code_linear(regs.rip))
            .unwrap_or(regs.rip);
        if regs.rflags & RFLAGS_IF == 0 {
            return Some(RunEnd::HaltedWithInterruptsOff { at });
        }
        self.halted_in_stub = rom::halted_service_stub_at(at);
        None
    }

    /// An interrupt the PIC has for the CPU wakes any halt. A BIOS stub's halt also ends
    /// at once after a yield, and, in int 15h's stub, when the user timer's sleep has
    /// elapsed (the board polled its deadline).
    fn should_wake(&mut self, board: &PcBoard) -> bool {
        if board.pic.has_interrupt() {
            return true;
        }
        let Some(vector) = self.halted_in_stub else {
            return false;
        };
        if std::mem::take(&mut self.bios_yield) {
            return true;
        }
        vector == 0x15 && board.user_timer.sleep_elapsed()
    }

    fn exit(&mut self, vcpu: &mut V, board: &mut PcBoard, exit: VcpuExit) -> ExitAction {
        let stats = &board.shared.stats;
        match exit {
            // The BIOS ROM stubs trap through a port write (see `firmware`).
            VcpuExit::Io => {
                if let Some(vector) = board.take_bios_trap() {
                    match crate::firmware::service(vector, vcpu, board) {
                        Ok(completion) => self.bios_yield = completion == Completion::Yield,
                        Err(e) => {
                            return ExitAction::End(RunEnd::Error(format!(
                                "BIOS int {vector:02x}h: {e}"
                            )));
                        }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::bus::BusDevice;
    use crate::clock::FakeClock;
    use crate::firmware::TRAP_PORT;
    use crate::firmware::fake::{FakeVcpu, trapped};
    use crate::firmware::test_util::board_with_clock;
    use crate::hypervisor::IoHandler;
    use crate::irq::IrqSink;
    use crate::loader::flat::FlatImage;

    fn x86() -> X86Cpu {
        X86Cpu::new(
            Box::new(FlatImage::new(vec![0xF4], 0x7C00).expect("image")),
            false,
        )
    }

    /// The `out` of `vcpu`'s stub reaches the loop: the trap port write, then the exit.
    fn trap(cpu: &mut X86Cpu, vcpu: &mut FakeVcpu, board: &mut PcBoard, vector: u8) {
        board.pio_write(TRAP_PORT, &[vector]);
        let action = Arch::<FakeVcpu>::exit(cpu, vcpu, board, VcpuExit::Io);
        assert_eq!(action, ExitAction::Continue);
    }

    /// The stub runs on to its `hlt` (RIP just past it, IF set by its `sti`).
    fn halt_in_stub(vcpu: &mut FakeVcpu, vector: u8) {
        let stub = rom::service_stub_offset(vector).expect("stub");
        vcpu.regs.rip = u64::from(stub) + 13;
        vcpu.regs.rflags |= RFLAGS_IF;
    }

    #[test]
    fn a_yield_halt_wakes_at_once_even_when_nothing_is_pending_any_more() {
        let clock = Arc::new(FakeClock::new());
        let mut board = board_with_clock(clock);
        let mut cpu = x86();
        board.pic.set_level(0, true);
        board.pic.set_level(0, false);
        let mut vcpu = trapped(&board, 0x16, 0x0100, 0x0202, 7);
        trap(&mut cpu, &mut vcpu, &mut board, 0x16);
        assert_eq!(vcpu.regs.rax & 0xFFFF, 0x0201, "yield");
        // The interrupt went in through a window exit before the halt.
        assert_eq!(board.pic.acknowledge(), Some(0x08));
        halt_in_stub(&mut vcpu, 0x16);
        assert_eq!(Arch::<FakeVcpu>::halted(&mut cpu, &vcpu), None);
        assert!(Arch::<FakeVcpu>::should_wake(&mut cpu, &board));
        assert!(
            !Arch::<FakeVcpu>::should_wake(&mut cpu, &board),
            "once: a later halt there waits for an interrupt"
        );
    }

    #[test]
    fn a_wait_halt_blocks_until_an_interrupt() {
        let clock = Arc::new(FakeClock::new());
        let mut board = board_with_clock(clock);
        let mut cpu = x86();
        let mut vcpu = trapped(&board, 0x16, 0x0000, 0x0202, 7);
        trap(&mut cpu, &mut vcpu, &mut board, 0x16);
        assert_eq!(vcpu.regs.rax & 0xFFFF, 0x0101, "wait for a key");
        halt_in_stub(&mut vcpu, 0x16);
        assert_eq!(Arch::<FakeVcpu>::halted(&mut cpu, &vcpu), None);
        assert!(!Arch::<FakeVcpu>::should_wake(&mut cpu, &board));
        board.pic.set_level(1, true);
        assert!(Arch::<FakeVcpu>::should_wake(&mut cpu, &board));
    }

    #[test]
    fn an_int15_sleep_wakes_its_stub_at_the_deadline_with_every_irq_masked() {
        let clock = Arc::new(FakeClock::new());
        let mut board = board_with_clock(clock.clone());
        board.pic.ports().write(0x21, &[0xFF]);
        let mut cpu = x86();
        // 2 ms, from a caller with interrupts off.
        let mut vcpu = trapped(&board, 0x15, 0x8600, 0x0002, 7);
        vcpu.regs.rdx = 2000;
        trap(&mut cpu, &mut vcpu, &mut board, 0x15);
        assert_eq!(vcpu.regs.rax & 0xFFFF, 0x0101, "wait");
        assert_eq!(board.next_deadline(), Some(Duration::from_millis(2)));
        halt_in_stub(&mut vcpu, 0x15);
        assert_eq!(Arch::<FakeVcpu>::halted(&mut cpu, &vcpu), None);
        assert!(!Arch::<FakeVcpu>::should_wake(&mut cpu, &board));
        clock.advance(Duration::from_millis(2));
        board.poll();
        assert!(Arch::<FakeVcpu>::should_wake(&mut cpu, &board));
        // The same elapsed sleep does not wake a halt elsewhere.
        let mut elsewhere = FakeVcpu::default();
        elsewhere.regs.rip = 0x7C00;
        elsewhere.regs.rflags = RFLAGS_IF;
        assert_eq!(Arch::<FakeVcpu>::halted(&mut cpu, &elsewhere), None);
        assert!(!Arch::<FakeVcpu>::should_wake(&mut cpu, &board));
        // The retry returns to the caller.
        vcpu.regs.rax = 0x0115;
        vcpu.regs.rip = u64::from(rom::service_stub_offset(0x15).expect("stub")) + 7;
        trap(&mut cpu, &mut vcpu, &mut board, 0x15);
        assert_eq!(vcpu.regs.rax & 0xFF, 0, "done");
        assert!(!board.user_timer.busy());
    }
}
