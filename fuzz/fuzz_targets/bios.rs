//! The BIOS services as a guest reaches them: a ROM stub traps with its vector and
//! [`firmware::service`] rebuilds the caller from the stack frame (`CpuView::capture`),
//! runs int 08h/09h/10h/11h/12h/13h/15h/16h/18h/19h/1Ah on arbitrary registers and
//! arbitrary guest memory (frame anywhere, BDA and buffers poked), with a floppy, a
//! hard disk, both or neither attached, and writes the results back (`commit`).
//!
//! Invariants, checked against a full memory snapshot around every call:
//! - nothing panics, and `service` never returns an error;
//! - a trap that did not come from the vector's stub changes nothing; a trap with an
//!   unusable frame (protected mode, stack outside RAM or wrapping) only sets AL = 0;
//! - the ROM never changes, and every changed byte lies in the set the call may write:
//!   the frame, the BDA fields the service owns, and the buffer the caller gave (int 13h
//!   reads write at most `count * 512` bytes at ES:BX or the packet's buffer; E820 writes
//!   20 bytes at ES:DI; AX=1009h/1017h the palette table; int 10h only the current
//!   mode's window: text 0xB8000-0xBFFFF, mode 13h 0xA0000-0xAFFFF);
//! - int 13h reads: AL/the packet count says how many sectors moved; they hold the disk's
//!   sectors, and nothing after them in the buffer changes (also when CF=1);
//! - FLAGS in the frame differ from the caller's only in CF, ZF and IF (IF only set, and
//!   only by int 19h); the return address changes only for int 18h/19h;
//! - registers: RIP, RSP, RFLAGS as trapped, AL = 0 or 1 (1 only for int 16h AH=00h/10h,
//!   int 15h AH=86h, and a yield), AH = the stub's next attempt (0 after done, 1 after
//!   wait, 2 after a yield), upper halves and R8-R15 untouched; segment registers other
//!   than ES are never reloaded, ES only by calls that return far pointers;
//! - a yield happens exactly when a service stub traps for the first time (AH=0), the
//!   caller had IF set and the PIC has an interrupt for the CPU, and changes nothing but
//!   AL/AH;
//! - the keyboard ring's head and tail, once the BIOS stores them, lie inside the ring
//!   (0x41E-0x43D for the standard one) at an even offset;
//! - the VGA stays in 80x25 text (720x400) or mode 13h (320x200), and after a
//!   successful AH=00h the mode in the BDA and the registers agree.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use arbitrary::Arbitrary;
use hv_core::arch::x86::regs::{CR0_ET, CR0_PE, Regs, Segment, Sregs};
use hv_core::clock::FakeClock;
use hv_core::devices::keymap::Key;
use hv_core::devices::vga::VgaMode;
use hv_core::firmware::cpu_view::Completion;
use hv_core::firmware::{self, bda, rom};
use hv_core::loader::disk::{Disk, FLOPPY_FORMATS, SECTOR};
use hv_core::machine::layout::{BIOS_ROM_SIZE, BIOS_ROM_START, pc_memory};
use hv_core::machine::pc::PcBoard;
use hv_core::memory::GuestMemory;
use hv_fuzz::{FakeVcpu, Ranges, Step, changed, shared_parts, snapshot_into};
use libfuzzer_sys::fuzz_target;

const VECTORS: [u8; 11] = [
    0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x15, 0x16, 0x18, 0x19, 0x1A,
];
const CF: u16 = 1;
const ZF: u16 = 1 << 6;
const IF: u16 = 1 << 9;
/// Upper halves the BIOS must not touch.
const HIGH: u64 = 0x5A5A_5A5A_0000_0000;

#[derive(Debug, Arbitrary)]
enum Trap {
    /// RIP at this offset inside the vector's own stub (the normal case).
    Stub(u8),
    /// RIP inside the stub of another vector.
    OtherStub(u8),
    /// The guest's own `out 0xEF` at CS:IP.
    Elsewhere(u16, u16),
    /// The stub, but the CPU is in protected mode.
    Protected,
}

#[derive(Debug, Arbitrary)]
struct Call {
    vector: u8,
    eax: u32,
    ebx: u32,
    ecx: u32,
    edx: u32,
    esi: u32,
    edi: u32,
    ebp: u32,
    ds: u16,
    es: u16,
    ss: u16,
    sp: u16,
    flags: u16,
    ret_cs: u16,
    ret_ip: u16,
    retry: bool,
    trap: Trap,
}

#[derive(Debug, Arbitrary)]
enum Op {
    Call(Call),
    /// A call with the common shape: frame at 0000:7000, DS = ES = 0.
    Simple(u8, u16, u16, u16, u16, u16, u16),
    /// The guest writes bytes (buffers, packets, BDA fields) at an address below 1 MiB+64K.
    Poke(u32, Vec<u8>),
    Key(u16, bool),
    Advance(Step),
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// A standard floppy size (index into FLOPPY_FORMATS).
    floppy: Option<u8>,
    /// A hard disk of 1-2048 sectors.
    hard_disk: Option<u16>,
    fill: u8,
    ops: Vec<Op>,
}

fn memory() -> &'static GuestMemory {
    static MEM: OnceLock<GuestMemory> = OnceLock::new();
    MEM.get_or_init(|| pc_memory(2).expect("2 MiB guest"))
}

type Buffers = (Vec<u8>, Vec<u8>);

/// Snapshot buffers kept between inputs (allocating 2 MiB twice per call is most of
/// the cost otherwise).
fn buffers() -> &'static Mutex<Option<Buffers>> {
    static B: OnceLock<Mutex<Option<Buffers>>> = OnceLock::new();
    B.get_or_init(Default::default)
}

fn disk_bytes(sectors: usize, fill: u8) -> Vec<u8> {
    let mut v = vec![0u8; sectors * SECTOR];
    for (s, chunk) in v.chunks_exact_mut(SECTOR).enumerate() {
        chunk.fill(fill ^ s as u8);
        chunk[..8].copy_from_slice(&(s as u64).to_le_bytes());
    }
    v
}

fn linear(seg: u16, off: u16) -> u64 {
    (u64::from(seg) << 4) + u64::from(off)
}

fn is_ram(addr: u64, len: u64, mem_end: u64) -> bool {
    let end = addr + len;
    end <= BIOS_ROM_START || (addr >= BIOS_ROM_START + BIOS_ROM_SIZE && end <= mem_end)
}

fn in_rom(addr: u64) -> bool {
    (BIOS_ROM_START..BIOS_ROM_START + BIOS_ROM_SIZE).contains(&addr)
}

fn word(m: &[u8], at: u64) -> u16 {
    let a = at as usize;
    match m.get(a..a + 2) {
        Some(b) => u16::from_le_bytes([b[0], b[1]]),
        None => 0,
    }
}

/// The keyboard ring as `Ring::load` sees it: (start, end) from the BDA, or the standard
/// ring when those are corrupt.
fn ring_bounds(m: &[u8]) -> (u16, u16) {
    let (start, end) = (word(m, bda::KBD_START), word(m, bda::KBD_END));
    if start % 2 != 0 || end % 2 != 0 || end < start.saturating_add(4) {
        (bda::KBD_RING, bda::KBD_RING_END)
    } else {
        (start, end)
    }
}

fn keyboard_writes(m: &[u8], ok: &mut Ranges) {
    let (start, end) = ring_bounds(m);
    ok.add(bda::BASE + u64::from(start), u64::from(end - start));
    ok.add(bda::KBD_HEAD, 4);
    ok.add(bda::KBD_FLAGS0, 2);
    ok.add(bda::KBD_FLAGS2, 1);
    ok.add(bda::SOFT_RESET, 2);
}

fn video_bda(ok: &mut Ranges) {
    ok.add(bda::VIDEO_MODE, bda::PALETTE + 1 - bda::VIDEO_MODE);
    ok.add(bda::VIDEO_ROWS, bda::MODESET_CTL + 1 - bda::VIDEO_ROWS);
}

/// The video window of a mode as the BIOS sees it (from the BDA mode byte).
fn video_window(mode: u8, ok: &mut Ranges) {
    if mode & 0x7F == 0x13 {
        ok.add(0xA0000, 0x10000);
    } else {
        ok.add(0xB8000, 0x8000);
    }
}

/// What an int 13h EDD packet at `at` (as it was before the call) asks for.
struct Packet {
    count: u16,
    buf: u64,
    lba: u64,
}

fn packet(m: &[u8], at: u64) -> Option<Packet> {
    let p = m.get(at as usize..at as usize + 16)?;
    if p[0] < 0x10 {
        return None;
    }
    let w = |i: usize| u16::from_le_bytes([p[i], p[i + 1]]);
    let (off, seg) = (w(4), w(6));
    let buf = if (seg, off) == (0xFFFF, 0xFFFF) && p[0] >= 0x18 {
        let e = m.get(at as usize + 16..at as usize + 24)?;
        u64::from_le_bytes(e.try_into().unwrap())
    } else {
        linear(seg, off)
    };
    Some(Packet {
        count: w(2),
        buf,
        lba: u64::from_le_bytes(p[8..16].try_into().unwrap()),
    })
}

/// Every range the call may write, given memory before it.
fn allowed(v: u8, c: &Regs, ds: u16, es: u16, m: &[u8]) -> Ranges {
    let mut ok = Ranges::default();
    let (ah, al) = ((c.rax >> 8) as u8, c.rax as u8);
    let (bx, cx, dx, si, di) = (
        c.rbx as u16,
        c.rcx as u16,
        c.rdx as u16,
        c.rsi as u16,
        c.rdi as u16,
    );
    let mode = m[bda::VIDEO_MODE as usize];
    match v {
        0x08 | 0x1A => ok.add(bda::TICKS, 5),
        0x09 | 0x16 => keyboard_writes(m, &mut ok),
        0x10 => {
            video_bda(&mut ok);
            if ah == 0x00 {
                video_window(al, &mut ok);
            } else {
                video_window(mode, &mut ok);
            }
            if ah == 0x10 {
                let table = linear(es, dx);
                match al {
                    0x09 => ok.add(table, 17),
                    0x17 => ok.add(table, 3 * u64::from(cx.min(256))),
                    _ => {}
                }
            }
        }
        0x13 => {
            ok.add(bda::FLOPPY_STATUS, 1);
            ok.add(bda::DISK_STATUS, 1);
            match ah {
                0x02 => ok.add(linear(es, bx), u64::from(al) * SECTOR as u64),
                0x42..=0x44 => {
                    let at = linear(ds, si);
                    ok.add(at + 2, 2);
                    if let (0x42, Some(p)) = (ah, packet(m, at)) {
                        ok.add(p.buf, u64::from(p.count.min(127)) * SECTOR as u64);
                    }
                }
                0x48 => ok.add(linear(ds, si), 0x1E),
                _ => {}
            }
        }
        0x15 => match (ah, al) {
            (0xE8, 0x20) => ok.add(linear(es, di), 20),
            // The interval, its flag pointer and the in-progress byte.
            (0x83 | 0x86, _) => ok.add(bda::WAIT_FLAG_PTR, 9),
            _ => {}
        },
        0x18 | 0x19 => {
            video_bda(&mut ok);
            video_window(mode, &mut ok);
            ok.add(0x7C00, SECTOR as u64);
        }
        _ => {}
    }
    ok
}

fn check_vga(board: &PcBoard) -> VgaMode {
    let mode = board.shared.vga.lock().unwrap().mode();
    assert!(
        matches!(mode.resolution(), (720, 400) | (320, 200)),
        "VGA left in {mode:?}"
    );
    mode
}

struct Harness {
    board: PcBoard,
    clock: Arc<FakeClock>,
    mem: GuestMemory,
    /// Guest memory as of the last check.
    shadow: Vec<u8>,
    /// A buffer for the next snapshot.
    spare: Vec<u8>,
}

impl Harness {
    fn poke(&mut self, addr: u64, bytes: &[u8]) {
        if bytes.is_empty() || !is_ram(addr, bytes.len() as u64, self.shadow.len() as u64) {
            return;
        }
        self.mem.write(addr, bytes).unwrap();
        self.shadow[addr as usize..addr as usize + bytes.len()].copy_from_slice(bytes);
    }

    fn call(&mut self, c: &Call) {
        let vector = VECTORS[usize::from(c.vector) % VECTORS.len()];
        let stub_of = |v: u8| match v {
            0x08 => (rom::IRQ0_STUB, 13u16),
            0x09 => (rom::IRQ1_STUB, 11),
            v => (rom::service_stub_offset(v).unwrap(), 20),
        };
        let (cs, rip, cr0) = match c.trap {
            Trap::Stub(off) => {
                let (start, len) = stub_of(vector);
                (rom::SEGMENT, start + u16::from(off) % len, CR0_ET)
            }
            Trap::OtherStub(o) => {
                let (start, len) = stub_of(VECTORS[usize::from(o) % VECTORS.len()]);
                (rom::SEGMENT, start + 5 % len, CR0_ET)
            }
            Trap::Elsewhere(s, i) => (s, i, CR0_ET),
            Trap::Protected => (rom::SEGMENT, stub_of(vector).0 + 5, CR0_ET | CR0_PE),
        };
        let from_stub = rom::trapping_vector_at(linear(cs, rip)) == Some(vector);
        let frame = linear(c.ss, c.sp);
        let mem_end = self.shadow.len() as u64;
        let capture_ok = cr0 & CR0_PE == 0 && c.sp <= 0xFFF8 && is_ram(frame, 8, mem_end);
        let ax = c.eax as u16;
        if capture_ok {
            let mut f = [0u8; 8];
            for (i, w) in [ax, c.ret_ip, c.ret_cs, c.flags].into_iter().enumerate() {
                f[2 * i..2 * i + 2].copy_from_slice(&w.to_le_bytes());
            }
            self.poke(frame, &f);
        }
        let trap_ah = if c.retry { 1u64 } else { 0 };
        let regs = Regs {
            rax: HIGH | u64::from(c.eax & 0xFFFF_0000) | trap_ah << 8 | u64::from(vector),
            rbx: HIGH | u64::from(c.ebx),
            rcx: HIGH | u64::from(c.ecx),
            rdx: HIGH | u64::from(c.edx),
            rsi: HIGH | u64::from(c.esi),
            rdi: HIGH | u64::from(c.edi),
            rbp: HIGH | u64::from(c.ebp),
            rsp: HIGH | u64::from(c.sp),
            r8: 8,
            r9: 9,
            r10: 10,
            r11: 11,
            r12: 12,
            r13: 13,
            r14: 14,
            r15: 15,
            rip: u64::from(rip),
            rflags: 0x2,
        };
        let sregs = Sregs {
            cs: Segment::real_mode(cs, true),
            ds: Segment::real_mode(c.ds, false),
            es: Segment::real_mode(c.es, false),
            ss: Segment::real_mode(c.ss, false),
            cr0,
            ..Default::default()
        };
        let mut vcpu = FakeVcpu {
            regs,
            sregs,
            sregs_written: false,
        };
        // The caller as the service sees it.
        let caller = Regs {
            rax: (regs.rax & !0xFFFF) | u64::from(ax),
            ..regs
        };
        // Device time as the vCPU loop would have brought it before the exit (an AH=83h
        // interval that ended writes its flag byte here, not inside the call).
        self.board.poll();
        snapshot_into(&self.mem, &mut self.shadow);
        let service_stub = rom::service_stub_offset(vector).is_some();
        let yields = from_stub
            && capture_ok
            && service_stub
            && !c.retry
            && c.flags & IF != 0
            && self.board.pic.has_interrupt();
        let before = std::mem::take(&mut self.shadow);
        let ok = if from_stub && capture_ok && !yields {
            allowed(vector, &caller, c.ds, c.es, &before)
        } else {
            Ranges::default()
        };
        let mut ok_frame = ok.clone();
        if from_stub && capture_ok {
            ok_frame.add(frame, 8);
        }

        let completion = firmware::service(vector, &mut vcpu, &mut self.board).expect("service");
        assert_eq!(
            completion == Completion::Yield,
            yields,
            "int {vector:02x}h: yield {completion:?}"
        );

        let mut after = std::mem::take(&mut self.spare);
        snapshot_into(&self.mem, &mut after);
        for a in changed(&before, &after) {
            assert!(!in_rom(a), "int {vector:02x}h wrote the ROM at {a:#x}");
            assert!(
                ok_frame.contains(a),
                "int {vector:02x}h AX={ax:04x} wrote {a:#x} ({:#04x} -> {:#04x}), outside {:x?}",
                before[a as usize],
                after[a as usize],
                ok_frame.0
            );
        }
        if !from_stub {
            assert_eq!(vcpu.regs, regs, "ignored trap changed registers");
            assert!(!vcpu.sregs_written);
        } else if !capture_ok {
            assert_eq!(
                vcpu.regs,
                Regs {
                    rax: regs.rax & !0xFF,
                    ..regs
                }
            );
            assert!(!vcpu.sregs_written);
        } else if yields {
            assert_eq!(
                vcpu.regs,
                Regs {
                    rax: (regs.rax & !0xFFFF) | 0x0201,
                    ..regs
                },
                "a yield only tells the stub to halt"
            );
            assert!(!vcpu.sregs_written);
        } else {
            self.check_result(vector, c, &regs, &caller, &vcpu, &before, &after, frame);
        }
        check_vga(&self.board);
        self.shadow = after;
        self.spare = before;
    }

    #[allow(clippy::too_many_arguments)]
    fn check_result(
        &self,
        vector: u8,
        c: &Call,
        trap: &Regs,
        caller: &Regs,
        vcpu: &FakeVcpu,
        before: &[u8],
        after: &[u8],
        frame: u64,
    ) {
        let r = &vcpu.regs;
        let (ah, al) = ((caller.rax >> 8) as u8, caller.rax as u8);
        assert_eq!((r.rip, r.rsp, r.rflags), (trap.rip, trap.rsp, trap.rflags));
        let status = r.rax as u8;
        assert!(status <= 1, "AL = {status} for the stub");
        let may_wait = matches!((vector, ah), (0x16, 0x00 | 0x10) | (0x15, 0x86));
        assert!(
            status == 0 || may_wait,
            "int {vector:02x}h AH={ah:02x} waits"
        );
        assert_eq!((r.rax >> 8) & 0xFF, u64::from(status), "stub's next attempt");
        for (new, old) in [
            (r.rax, trap.rax),
            (r.rbx, trap.rbx),
            (r.rcx, trap.rcx),
            (r.rdx, trap.rdx),
            (r.rsi, trap.rsi),
            (r.rdi, trap.rdi),
            (r.rbp, trap.rbp),
        ] {
            assert_eq!(new >> 32, old >> 32, "upper half changed");
        }
        assert_eq!(
            [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15],
            [8, 9, 10, 11, 12, 13, 14, 15]
        );
        if vcpu.sregs_written {
            let s = &vcpu.sregs;
            let may_es = matches!(
                (vector, ah, al),
                (0x10, 0x11, 0x30) | (0x13, 0x08, _) | (0x15, 0xC0 | 0xC1, _)
            );
            assert!(
                may_es,
                "int {vector:02x}h AX={:04x} loaded ES",
                caller.rax as u16
            );
            assert_eq!(s.es, Segment::real_mode(s.es.selector, false));
            let same = Sregs {
                es: s.es,
                ..self.trap_sregs(c)
            };
            assert_eq!(*s, same, "only ES may change");
        }
        // The frame: AX, IP, CS, FLAGS for the stub's `pop ax; iret`.
        let w = |i: u64| word(after, frame + 2 * i);
        let (ip, cs, flags) = (w(1), w(2), w(3));
        let diff = flags ^ c.flags;
        assert_eq!(
            diff & !(CF | ZF | IF),
            0,
            "FLAGS {:#06x} -> {flags:#06x}",
            c.flags
        );
        if diff & IF != 0 {
            assert!(vector == 0x19 && flags & IF != 0, "IF changed");
        }
        match (cs, ip) {
            _ if (cs, ip) == (c.ret_cs, c.ret_ip) => {}
            (rom::SEGMENT, rom::HALT_LOOP) => assert!(matches!(vector, 0x18 | 0x19)),
            (0, 0x7C00) => {
                assert_eq!(vector, 0x19);
                let d = self.board.drives.get(r.rdx as u8).expect("booted drive");
                let mut s = [0u8; SECTOR];
                d.read_sector(0, &mut s).unwrap();
                if !ranges_overlap(frame, 8, 0x7C00, SECTOR as u64) {
                    assert!(after[0x7C00..0x7E00] == s[..], "boot sector");
                }
            }
            other => panic!("int {vector:02x}h returns to {other:x?}"),
        }
        let carry = flags & CF != 0;
        if vector == 0x13 {
            self.check_disk_read(caller, c, before, after, frame, carry, w(0));
        }
        if matches!(vector, 0x09 | 0x16) {
            let (start, end) = ring_bounds(after);
            let (head, tail) = (word(after, bda::KBD_HEAD), word(after, bda::KBD_TAIL));
            let stored = head != word(before, bda::KBD_HEAD)
                || tail != word(before, bda::KBD_TAIL)
                || (vector == 0x16 && matches!(ah, 0x00 | 0x01 | 0x05 | 0x10 | 0x11));
            let overlaps = ranges_overlap(frame, 8, bda::KBD_HEAD, 4)
                || ranges_overlap(frame, 8, bda::KBD_START, 4);
            if stored && !overlaps {
                for p in [head, tail] {
                    assert!(
                        (start..end).contains(&p) && (p - start) % 2 == 0,
                        "ring pointer {p:#x} outside {start:#x}-{end:#x}"
                    );
                }
            }
        }
        if vector == 0x10 && ah == 0x00 && matches!(al & 0x7F, 0x02 | 0x03 | 0x13) {
            let mode = check_vga(&self.board);
            let graphics = matches!(mode, VgaMode::Graphics256 { .. });
            assert_eq!(graphics, al & 0x7F == 0x13);
            if !ranges_overlap(frame, 8, bda::VIDEO_MODE, 1) {
                assert_eq!(after[bda::VIDEO_MODE as usize], al & 0x7F);
            }
        }
    }

    fn trap_sregs(&self, c: &Call) -> Sregs {
        let _ = self;
        Sregs {
            cs: Segment::real_mode(
                match c.trap {
                    Trap::Elsewhere(s, _) => s,
                    _ => rom::SEGMENT,
                },
                true,
            ),
            ds: Segment::real_mode(c.ds, false),
            es: Segment::real_mode(c.es, false),
            ss: Segment::real_mode(c.ss, false),
            cr0: CR0_ET,
            ..Default::default()
        }
    }

    /// int 13h reads: the sectors reported moved hold the disk's data; nothing after them
    /// in the buffer changed.
    #[allow(clippy::too_many_arguments)]
    fn check_disk_read(
        &self,
        caller: &Regs,
        c: &Call,
        before: &[u8],
        after: &[u8],
        frame: u64,
        carry: bool,
        ax_out: u16,
    ) {
        let (ah, al, dl) = ((caller.rax >> 8) as u8, caller.rax as u8, caller.rdx as u8);
        let Some(disk) = self.board.drives.get(dl) else {
            assert!(
                carry || ah == 0x01,
                "int 13h AH={ah:02x} on absent drive {dl:#x}"
            );
            return;
        };
        let (buf, count, done, lba) = match ah {
            0x02 => {
                let (ch, cl, dh) = (
                    (caller.rcx >> 8) as u8,
                    caller.rcx as u8,
                    (caller.rdx >> 8) as u8,
                );
                let cyl = u32::from(ch) | (u32::from(cl & 0xC0) << 2);
                let Some(lba) = disk
                    .geometry()
                    .lba(cyl, u32::from(dh), u32::from(cl & 0x3F))
                else {
                    assert!(carry);
                    return;
                };
                let done = u64::from(ax_out as u8);
                (linear(c.es, caller.rbx as u16), u64::from(al), done, lba)
            }
            0x42 => {
                let at = linear(c.ds, caller.rsi as u16);
                let Some(p) = packet(before, at) else {
                    assert!(carry);
                    return;
                };
                if ranges_overlap(p.buf, u64::from(p.count.min(127)) * 512, at, 24) {
                    return;
                }
                let done = u64::from(word(after, at + 2));
                (p.buf, u64::from(p.count.min(127)), done, p.lba)
            }
            _ => return,
        };
        assert!(done <= count, "{done} of {count} sectors done");
        if !carry {
            assert_eq!(done, count, "success with {done} of {count} sectors");
        }
        let len = count * SECTOR as u64;
        let mut skip = Ranges::default();
        skip.add(frame, 8);
        skip.add(bda::FLOPPY_STATUS, 1);
        skip.add(bda::DISK_STATUS, 1);
        if skip
            .0
            .iter()
            .any(|&(a, b)| ranges_overlap(a, b - a, buf, len))
        {
            return;
        }
        // EDD's 64-bit flat buffer address is the guest's to choose: it may wrap.
        let Some(end) = buf.checked_add(len) else {
            return;
        };
        let Some(region) = after.get(buf as usize..end as usize) else {
            return;
        };
        let mut sector = [0u8; SECTOR];
        for i in 0..done {
            disk.read_sector(lba + i, &mut sector).unwrap();
            let at = (i as usize) * SECTOR;
            assert!(
                region[at..at + SECTOR] == sector[..],
                "sector {} data",
                lba + i
            );
        }
        let rest = (done * SECTOR as u64) as usize;
        assert!(
            region[rest..] == before[(buf as usize + rest)..(buf + len) as usize],
            "buffer changed past the {done} sectors moved"
        );
    }
}

fn ranges_overlap(a: u64, alen: u64, b: u64, blen: u64) -> bool {
    a < b.saturating_add(blen) && b < a.saturating_add(alen)
}

fuzz_target!(|input: Input| {
    let mem = memory().clone();
    static ZEROS: [u8; 0x10_0000] = [0; 0x10_0000];
    let zeros = &ZEROS[..];
    mem.write(0, &zeros[..BIOS_ROM_START as usize]).unwrap();
    mem.write(BIOS_ROM_START + BIOS_ROM_SIZE, zeros).unwrap();
    let clock = Arc::new(FakeClock::new());
    let mut board = PcBoard::new(shared_parts(mem.clone(), clock.clone()), None);
    if let Some(i) = input.floppy {
        let len = FLOPPY_FORMATS[usize::from(i) % FLOPPY_FORMATS.len()].0 as usize;
        let d = Disk::from_bytes(disk_bytes(len / SECTOR, input.fill), "fd", false).unwrap();
        board.drives.attach(d);
    }
    if let Some(n) = input.hard_disk {
        let mut bytes = disk_bytes(usize::from(n % 2048) + 1, input.fill);
        if n & 0x8000 == 0 {
            bytes[510] = 0x55;
            bytes[511] = 0xAA;
        }
        board.drives.hard_disk = Some(Disk::from_bytes(bytes, "hd", true).unwrap());
    }
    firmware::install(&board).expect("install");
    check_vga(&board);
    let (mut shadow, spare) = buffers().lock().unwrap().take().unwrap_or_default();
    snapshot_into(&mem, &mut shadow);
    let mut h = Harness {
        board,
        clock,
        mem,
        shadow,
        spare,
    };
    for op in input.ops.into_iter().take(24) {
        match op {
            Op::Call(c) => h.call(&c),
            Op::Simple(v, ax, bx, cx, dx, si, di) => h.call(&Call {
                vector: v,
                eax: ax.into(),
                ebx: bx.into(),
                ecx: cx.into(),
                edx: dx.into(),
                esi: si.into(),
                edi: di.into(),
                ebp: 0,
                ds: 0,
                es: 0,
                ss: 0,
                sp: 0x7000,
                flags: 0x0202,
                ret_cs: 0,
                ret_ip: 0x7C10,
                retry: false,
                trap: Trap::Stub(5),
            }),
            Op::Poke(addr, bytes) => {
                let addr = u64::from(addr % 0x11_0000);
                let n = bytes.len().min(64);
                h.poke(addr, &bytes[..n]);
            }
            Op::Key(k, pressed) => {
                h.board
                    .i8042
                    .key_event(Key::ALL[usize::from(k) % Key::ALL.len()], pressed);
            }
            Op::Advance(s) => {
                h.clock.advance(s.duration());
                h.board.poll();
                // An AH=83h interval that ended set its flag byte.
                snapshot_into(&h.mem, &mut h.shadow);
            }
        }
    }
    *buffers().lock().unwrap() = Some((h.shadow, h.spare));
});
