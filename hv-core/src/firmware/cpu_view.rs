//! The caller of a BIOS service as the Rust side sees it, and bounded access to guest
//! memory on the caller's behalf.
//!
//! A ROM stub enters with `push ax`, so the caller's AX sits at SS:SP and the `int`
//! frame (IP, CS, FLAGS) right above it. [`CpuView::capture`] rebuilds the caller's
//! registers from that: EAX's low half comes from the stack slot (the stub has since put
//! the vector in AL), FLAGS from the frame. A service works on the view only; then
//! [`CpuView::commit`] writes AX, the return address and FLAGS back into the frame, so the
//! stub's `pop ax; iret` hands them to the caller, and produces the register files to load.
//! Services are therefore plain functions over `(&mut CpuView, &mut PcBoard)` and can be
//! tested without a vCPU.

use crate::arch::x86::regs::{CR0_PE, Regs, Segment, Sregs};
use crate::memory::GuestMemory;

/// FLAGS.CF.
pub const FLAG_CF: u16 = 1 << 0;
/// FLAGS.ZF.
pub const FLAG_ZF: u16 = 1 << 6;
/// FLAGS.IF.
pub const FLAG_IF: u16 = 1 << 9;

/// Bytes the stub and the `int` instruction pushed: AX, IP, CS, FLAGS.
const FRAME_BYTES: u16 = 8;

/// What the stub does after the trap: return to the caller, or halt with interrupts on
/// and trap again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// `pop ax; iret`.
    Done,
    /// `sti; hlt; cli` and retry: the service is waiting for a key or for time to pass.
    Wait,
    /// `sti; hlt; cli` and retry, the service not run yet: the caller had interrupts
    /// enabled and one is pending, so it is taken first (at most once per call). The
    /// VMM wakes this halt at once even if nothing is pending by then.
    Yield,
}

impl Completion {
    /// The stub's AL after the trap: 0 returns, anything else halts and retries.
    fn status(self) -> u8 {
        match self {
            Completion::Done => 0,
            Completion::Wait | Completion::Yield => 1,
        }
    }
}

/// Which attempt of a call the stub is making, carried in the stub's AH (the VMM sets
/// it for the next attempt when it answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// AH=0: the call just arrived.
    First,
    /// AH=2: the call arrived, pending interrupts were let in; now serve it.
    AfterYield,
    /// AH=1: the service answered [`Completion::Wait`] and is asked again.
    Retry,
}

impl Attempt {
    const FIRST: u8 = 0;
    const RETRY: u8 = 1;
    const AFTER_YIELD: u8 = 2;

    /// Decodes the stub's AH. The guest can enter the stub at any byte with any AH, so
    /// unknown values count as a first attempt (the worst they do is one more yield).
    fn from_ah(ah: u8) -> Self {
        match ah {
            Self::RETRY => Attempt::Retry,
            Self::AFTER_YIELD => Attempt::AfterYield,
            _ => Attempt::First,
        }
    }

    /// The AH the stub carries into the attempt after `completion`.
    fn next(self, completion: Completion) -> u8 {
        match completion {
            Completion::Done => Self::FIRST,
            Completion::Wait => Self::RETRY,
            Completion::Yield => Self::AFTER_YIELD,
        }
    }
}

/// Why a trap could not be turned into a view.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// BIOS services are real-mode interfaces.
    #[error("the CPU is not in real mode")]
    NotRealMode,
    /// SS:SP does not point at a writable stack frame in RAM.
    #[error("the stack frame at {0:#x} is not in writable RAM")]
    BadStack(u64),
}

/// The caller's registers during a BIOS service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuView {
    /// General registers as the caller left them (EAX included).
    pub regs: Regs,
    /// The caller's FLAGS, returned by the stub's `iret`.
    pub flags: u16,
    /// DS selector.
    pub ds: u16,
    /// ES selector (services that return a far pointer in ES change it).
    pub es: u16,
    /// Where the stub's `iret` goes: normally the instruction after the caller's `int`.
    pub return_cs: u16,
    /// Offset of the return address.
    pub return_ip: u16,
    /// Which attempt of the call this is.
    pub attempt: Attempt,
    /// Linear address of the frame (the saved AX).
    frame: u64,
}

/// Linear address of `seg:off` in real mode (A20 on: up to 0x10FFEF).
pub fn linear(seg: u16, off: u16) -> u64 {
    (u64::from(seg) << 4) + u64::from(off)
}

macro_rules! reg16 {
    ($get:ident, $set:ident, $field:ident) => {
        #[doc = concat!("The low 16 bits of ", stringify!($field), ".")]
        pub fn $get(&self) -> u16 {
            self.regs.$field as u16
        }
        #[doc = concat!("Sets the low 16 bits of ", stringify!($field), ".")]
        pub fn $set(&mut self, v: u16) {
            self.regs.$field = (self.regs.$field & !0xFFFF) | u64::from(v);
        }
    };
}

macro_rules! reg8 {
    ($hi:ident, $set_hi:ident, $lo:ident, $set_lo:ident, $field:ident) => {
        #[doc = concat!("Bits 8-15 of ", stringify!($field), ".")]
        pub fn $hi(&self) -> u8 {
            (self.regs.$field >> 8) as u8
        }
        #[doc = concat!("Sets bits 8-15 of ", stringify!($field), ".")]
        pub fn $set_hi(&mut self, v: u8) {
            self.regs.$field = (self.regs.$field & !0xFF00) | (u64::from(v) << 8);
        }
        #[doc = concat!("Bits 0-7 of ", stringify!($field), ".")]
        pub fn $lo(&self) -> u8 {
            self.regs.$field as u8
        }
        #[doc = concat!("Sets bits 0-7 of ", stringify!($field), ".")]
        pub fn $set_lo(&mut self, v: u8) {
            self.regs.$field = (self.regs.$field & !0xFF) | u64::from(v);
        }
    };
}

macro_rules! reg32 {
    ($get:ident, $set:ident, $field:ident) => {
        #[doc = concat!("The low 32 bits of ", stringify!($field), ".")]
        pub fn $get(&self) -> u32 {
            self.regs.$field as u32
        }
        #[doc = concat!("Sets the low 32 bits of ", stringify!($field), ".")]
        pub fn $set(&mut self, v: u32) {
            self.regs.$field = (self.regs.$field & !0xFFFF_FFFF) | u64::from(v);
        }
    };
}

impl CpuView {
    /// Rebuilds the caller's view from the registers at the trap. Only real mode is
    /// served, and the four-word frame must lie in writable RAM (the stub wrote it there).
    pub fn capture(regs: &Regs, sregs: &Sregs, mem: &GuestMemory) -> Result<Self, CaptureError> {
        if sregs.cr0 & CR0_PE != 0 {
            return Err(CaptureError::NotRealMode);
        }
        let sp = regs.rsp as u16;
        // A frame that wraps around the top of the stack segment is not one the stub made.
        let frame = sregs.ss.base.wrapping_add(u64::from(sp));
        if sp > 0xFFFF - (FRAME_BYTES - 1) || !writable_ram(mem, frame, u64::from(FRAME_BYTES)) {
            return Err(CaptureError::BadStack(frame));
        }
        let mut words = [0u8; FRAME_BYTES as usize];
        mem.read(frame, &mut words)
            .map_err(|_| CaptureError::BadStack(frame))?;
        let word = |i: usize| u16::from_le_bytes([words[2 * i], words[2 * i + 1]]);
        let mut caller = *regs;
        caller.rax = (regs.rax & !0xFFFF) | u64::from(word(0));
        Ok(Self {
            regs: caller,
            return_ip: word(1),
            return_cs: word(2),
            flags: word(3),
            ds: sregs.ds.selector,
            es: sregs.es.selector,
            attempt: Attempt::from_ah((regs.rax >> 8) as u8),
            frame,
        })
    }

    /// The service is being asked again after it answered [`Completion::Wait`].
    pub fn retry(&self) -> bool {
        self.attempt == Attempt::Retry
    }

    /// The caller ran with interrupts enabled (IF in the FLAGS its `int` pushed).
    pub fn caller_interrupts_enabled(&self) -> bool {
        self.flags & FLAG_IF != 0
    }

    /// Writes AX, the return address and FLAGS into the stack frame and returns the
    /// register files to load: `regs` with the view's registers, AL = 0 (done) or 1
    /// (halt and retry) and AH = the next attempt for the stub, and the segment
    /// registers if a service changed ES.
    pub fn commit(
        &self,
        trap_regs: &Regs,
        trap_sregs: &Sregs,
        completion: Completion,
        mem: &GuestMemory,
    ) -> crate::Result<(Regs, Option<Sregs>)> {
        let mut frame = [0u8; FRAME_BYTES as usize];
        for (i, w) in [self.ax(), self.return_ip, self.return_cs, self.flags]
            .into_iter()
            .enumerate()
        {
            frame[2 * i..2 * i + 2].copy_from_slice(&w.to_le_bytes());
        }
        mem.write(self.frame, &frame)?;
        let mut regs = self.regs;
        regs.rsp = trap_regs.rsp;
        regs.rip = trap_regs.rip;
        regs.rflags = trap_regs.rflags;
        let next = self.attempt.next(completion);
        // The stub pops the caller's AX before returning, so AL and AH here are only the
        // stub's: the status for its `test` and the attempt number for the next trap.
        regs.rax = (regs.rax & !0xFFFF) | u64::from(next) << 8 | u64::from(completion.status());
        let sregs = (self.es != trap_sregs.es.selector).then(|| Sregs {
            es: Segment::real_mode(self.es, false),
            ..*trap_sregs
        });
        Ok((regs, sregs))
    }

    reg16!(ax, set_ax, rax);
    reg16!(bx, set_bx, rbx);
    reg16!(cx, set_cx, rcx);
    reg16!(dx, set_dx, rdx);
    reg16!(si, set_si, rsi);
    reg16!(di, set_di, rdi);
    reg16!(bp, set_bp, rbp);
    reg8!(ah, set_ah, al, set_al, rax);
    reg8!(bh, set_bh, bl, set_bl, rbx);
    reg8!(ch, set_ch, cl, set_cl, rcx);
    reg8!(dh, set_dh, dl, set_dl, rdx);
    reg32!(eax, set_eax, rax);
    reg32!(ebx, set_ebx, rbx);
    reg32!(ecx, set_ecx, rcx);
    reg32!(edx, set_edx, rdx);

    /// Sets or clears CF in the returned FLAGS.
    pub fn set_carry(&mut self, on: bool) {
        self.set_flag(FLAG_CF, on);
    }

    /// CF in the returned FLAGS.
    pub fn carry(&self) -> bool {
        self.flags & FLAG_CF != 0
    }

    /// Sets or clears ZF in the returned FLAGS.
    pub fn set_zero(&mut self, on: bool) {
        self.set_flag(FLAG_ZF, on);
    }

    /// ZF in the returned FLAGS.
    pub fn zero(&self) -> bool {
        self.flags & FLAG_ZF != 0
    }

    fn set_flag(&mut self, bit: u16, on: bool) {
        if on {
            self.flags |= bit;
        } else {
            self.flags &= !bit;
        }
    }

    /// Success: CF=0, AH=0.
    pub fn ok(&mut self) {
        self.set_ah(0);
        self.set_carry(false);
    }

    /// Failure the way BIOSes report it: CF=1, AH=status.
    pub fn fail(&mut self, status: u8) {
        self.set_ah(status);
        self.set_carry(true);
    }
}

#[cfg(test)]
impl CpuView {
    /// A view with the given registers and an (unused) frame, for service tests.
    pub fn for_test(regs: Regs) -> Self {
        Self {
            regs,
            flags: 0x0202,
            ds: 0,
            es: 0,
            return_cs: 0,
            return_ip: 0,
            attempt: Attempt::First,
            frame: 0,
        }
    }
}

/// True if `[gpa, gpa+len)` lies inside one RAM region the guest may write (not the ROM,
/// not past the end of memory).
pub fn writable_ram(mem: &GuestMemory, gpa: u64, len: u64) -> bool {
    let Some(end) = gpa.checked_add(len) else {
        return false;
    };
    mem.regions()
        .any(|r| !r.read_only && gpa >= r.gpa && end <= r.gpa + r.size)
}

/// Reads guest memory the caller pointed at (RAM or ROM); `None` if any byte is missing.
pub fn read_guest(mem: &GuestMemory, gpa: u64, len: usize) -> Option<Vec<u8>> {
    if !mem.contains(gpa, len as u64) {
        return None;
    }
    let mut buf = vec![0u8; len];
    mem.read(gpa, &mut buf).ok()?;
    Some(buf)
}

/// Writes into guest RAM on the caller's behalf; refuses (false) anything that would
/// touch the ROM or leave RAM, writing nothing.
pub fn write_guest(mem: &GuestMemory, gpa: u64, data: &[u8]) -> bool {
    writable_ram(mem, gpa, data.len() as u64) && mem.write(gpa, data).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::layout::pc_memory;

    fn real_mode_sregs(ss: u16, es: u16) -> Sregs {
        Sregs {
            ss: Segment::real_mode(ss, false),
            es: Segment::real_mode(es, false),
            ds: Segment::real_mode(0, false),
            cs: Segment::real_mode(0xF000, true),
            ..Default::default()
        }
    }

    #[test]
    fn capture_and_commit_round_trip_through_the_frame() {
        let mem = pc_memory(2).expect("mem");
        // Frame at 0000:7BF8: AX=0x1234, IP=0x7C10, CS=0, FLAGS=0x0202.
        for (i, w) in [0x1234u16, 0x7C10, 0, 0x0202].iter().enumerate() {
            mem.write_u16(0x7BF8 + 2 * i as u64, *w).expect("write");
        }
        let regs = Regs {
            rax: 0xABCD_0013,
            rsp: 0x7BF8,
            rip: 0x1003,
            ..Default::default()
        };
        let sregs = real_mode_sregs(0, 0);
        let mut cpu = CpuView::capture(&regs, &sregs, &mem).expect("capture");
        assert_eq!(cpu.eax(), 0xABCD_1234);
        assert_eq!(
            (cpu.return_cs, cpu.return_ip, cpu.flags),
            (0, 0x7C10, 0x0202)
        );
        assert_eq!(cpu.attempt, Attempt::First);
        assert!(cpu.caller_interrupts_enabled());
        cpu.set_ax(0x5678);
        cpu.set_carry(true);
        cpu.es = 0xF000;
        let (out, sregs_out) = cpu
            .commit(&regs, &sregs, Completion::Wait, &mem)
            .expect("commit");
        assert_eq!(mem.read_u16(0x7BF8).expect("read"), 0x5678);
        assert_eq!(mem.read_u16(0x7BFE).expect("read"), 0x0203);
        assert_eq!(out.rax & 0xFF, 1, "AL tells the stub to wait");
        assert_eq!(out.rax >> 8 & 0xFF, 1, "AH: the next attempt is a retry");
        assert_eq!(out.rax >> 16, 0xABCD);
        assert_eq!(out.rip, regs.rip);
        assert_eq!(sregs_out.expect("ES changed").es.base, 0xF0000);
    }

    #[test]
    fn capture_refuses_protected_mode_and_bad_stacks() {
        let mem = pc_memory(2).expect("mem");
        let mut sregs = real_mode_sregs(0, 0);
        let regs = Regs {
            rsp: 0xFFFC,
            ..Default::default()
        };
        assert!(matches!(
            CpuView::capture(&regs, &sregs, &mem),
            Err(CaptureError::BadStack(_))
        ));
        // A stack in the ROM.
        sregs.ss = Segment::real_mode(0xF000, false);
        let regs = Regs {
            rsp: 0x100,
            ..Default::default()
        };
        assert!(CpuView::capture(&regs, &sregs, &mem).is_err());
        sregs.cr0 |= CR0_PE;
        assert_eq!(
            CpuView::capture(&regs, &sregs, &mem),
            Err(CaptureError::NotRealMode)
        );
    }

    #[test]
    fn guest_writes_stay_in_ram() {
        let mem = pc_memory(2).expect("mem");
        assert!(write_guest(&mem, 0x500, &[1, 2, 3]));
        assert!(!write_guest(&mem, 0xEFFFF, &[1, 2]), "runs into the ROM");
        assert!(!write_guest(&mem, 0xF0000, &[1]));
        assert!(!write_guest(&mem, (2 << 20) - 1, &[1, 2]), "past the end");
        assert!(!write_guest(&mem, u64::MAX, &[1]));
        assert!(read_guest(&mem, 0xFFFF0, 16).is_some());
        assert!(read_guest(&mem, 0xFFFF0, 17).is_none(), "spans two regions");
    }
}
