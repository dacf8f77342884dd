//! The bench's guests, as commented machine code, so `hv bench` needs no assembler.
//!
//! All are flat images entered like a boot sector (real mode, CS:IP = 0000:7C00), which
//! is how both `hv run --format flat` and the raw KVM loop start them. The unit tests
//! disassemble every guest with iced-x86, so a wrong byte shows up as a wrong mnemonic.

/// Where every guest is loaded and entered.
pub const LOAD_ADDR: u16 = 0x7C00;
/// The port the exit guests hit (POST codes: a real device in hv's port map).
pub const EXIT_PORT: u8 = 0x80;
/// The debug-exit port: a guest ends its run by writing it (hv: status `(v << 1) | 1`).
pub const DEBUG_EXIT_PORT: u8 = 0xF4;
/// COM1's data port: the exit guest writes it just before and just after its exit loop,
/// so both paths timestamp the loop on the vCPU thread (hv through the serial sink, the
/// raw loop at the exit).
pub const MARKER_PORT: u16 = 0x3F8;
/// A guest-physical address with nothing behind it, in hv's PC and in the raw VM.
pub const UNMAPPED_GPA: u32 = 0xD000_0000;
/// Exit instructions per loop iteration in the exit guests: unrolled so the (emulated,
/// ~1 µs each on this host) loop instructions add little per exit.
pub const UNROLL: u32 = 100;

/// Which exit the exit guest provokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ExitKind {
    /// `out 0x80, al`.
    PioOut,
    /// `in al, 0x80`.
    PioIn,
    /// `mov al, [UNMAPPED_GPA]`.
    MmioRead,
}

impl ExitKind {
    /// All kinds, in report order.
    pub const ALL: [ExitKind; 3] = [ExitKind::PioOut, ExitKind::PioIn, ExitKind::MmioRead];

    /// Short name for tables and the child command line.
    pub fn name(self) -> &'static str {
        match self {
            ExitKind::PioOut => "pio-out",
            ExitKind::PioIn => "pio-in",
            ExitKind::MmioRead => "mmio-read",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// One instruction causing one exit of this kind.
    fn instruction(self) -> Vec<u8> {
        match self {
            ExitKind::PioOut => vec![0xE6, EXIT_PORT], // out 0x80, al
            ExitKind::PioIn => vec![0xE4, EXIT_PORT],  // in al, 0x80
            ExitKind::MmioRead => {
                let mut v = vec![0xA0]; // mov al, [moffs32]
                v.extend_from_slice(&UNMAPPED_GPA.to_le_bytes());
                v
            }
        }
    }
}

/// A little code buffer that knows its load address, for forward references.
struct Code {
    bytes: Vec<u8>,
}

impl Code {
    fn new() -> Self {
        Self { bytes: Vec::new() }
    }

    fn emit(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }

    /// Guest address of the next byte.
    fn here(&self) -> u32 {
        u32::from(LOAD_ADDR) + self.bytes.len() as u32
    }

    fn pad_to(&mut self, offset: usize) {
        self.bytes.resize(offset, 0x90);
    }

    fn patch_u16(&mut self, at: usize, v: u16) {
        self.bytes[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
}

/// Real-mode prologue shared by the interrupt-driven guests: segments and stack at 0,
/// interrupt vector `vector` pointing at a handler (patched by the caller at the returned
/// offset), and the master 8259 initialised (base 0x08) with only `irq` unmasked.
fn real_mode_prologue(c: &mut Code, vector: u8, irq: u8) -> usize {
    let ivt = u16::from(vector) * 4;
    let [lo, hi] = ivt.to_le_bytes();
    let [lo2, hi2] = (ivt + 2).to_le_bytes();
    c.emit(&[0xFA]) // cli
        .emit(&[0x31, 0xC0]) // xor ax, ax
        .emit(&[0x8E, 0xD8]) // mov ds, ax
        .emit(&[0x8E, 0xD0]) // mov ss, ax
        .emit(&[0xBC, 0x00, 0x7C]); // mov sp, 0x7c00
    let handler_at = c.bytes.len() + 4;
    c.emit(&[0xC7, 0x06, lo, hi, 0, 0]) // mov word [vector*4], handler
        .emit(&[0xC7, 0x06, lo2, hi2, 0, 0]) // mov word [vector*4+2], 0
        .emit(&[0xB0, 0x11, 0xE6, 0x20]) // ICW1: edge, cascade, ICW4 follows
        .emit(&[0xB0, 0x08, 0xE6, 0x21]) // ICW2: vectors 0x08-0x0F
        .emit(&[0xB0, 0x04, 0xE6, 0x21]) // ICW3: slave on IR2
        .emit(&[0xB0, 0x01, 0xE6, 0x21]) // ICW4: 8086 mode
        .emit(&[0xB0, !(1u8 << irq), 0xE6, 0x21]); // OCW1: only `irq` unmasked
    handler_at
}

/// Exit guest: switches to 32-bit protected mode (flat segments), then runs
/// `iterations` loops of [`UNROLL`] exit instructions of `kind` between two writes to
/// [`MARKER_PORT`], then writes 0 to the debug-exit port and halts.
pub fn exit_guest(kind: ExitKind, iterations: u32) -> Vec<u8> {
    const GDT: usize = 0x20;
    const GDTR: usize = 0x38;
    const CODE32: usize = 0x40;
    let mut c = Code::new();
    let gdtr = LOAD_ADDR + GDTR as u16;
    let [glo, ghi] = gdtr.to_le_bytes();
    let code32 = (u32::from(LOAD_ADDR) + CODE32 as u32).to_le_bytes();
    c.emit(&[0xFA]) // cli
        .emit(&[0x31, 0xC0]) // xor ax, ax
        .emit(&[0x8E, 0xD8]) // mov ds, ax
        .emit(&[0x0F, 0x01, 0x16, glo, ghi]) // lgdt [GDTR]
        .emit(&[0x0F, 0x20, 0xC0]) // mov eax, cr0
        .emit(&[0x0C, 0x01]) // or al, 1 (PE)
        .emit(&[0x0F, 0x22, 0xC0]) // mov cr0, eax
        .emit(&[0x66, 0xEA]) // jmp dword 0x08:CODE32
        .emit(&code32)
        .emit(&[0x08, 0x00]);
    c.pad_to(GDT);
    c.emit(&[0; 8]) // null descriptor
        .emit(&[0xFF, 0xFF, 0, 0, 0, 0x9A, 0xCF, 0]) // 0x08: code, flat 4 GiB, 32-bit
        .emit(&[0xFF, 0xFF, 0, 0, 0, 0x92, 0xCF, 0]); // 0x10: data, flat 4 GiB
    c.pad_to(GDTR);
    let gdt_base = u32::from(LOAD_ADDR) + GDT as u32;
    c.emit(&0x17u16.to_le_bytes()).emit(&gdt_base.to_le_bytes());
    c.pad_to(CODE32);
    c.emit(&[0x66, 0xB8, 0x10, 0x00]) // mov ax, 0x10
        .emit(&[0x8E, 0xD8]) // mov ds, ax
        .emit(&[0x8E, 0xC0]) // mov es, ax
        .emit(&[0x8E, 0xD0]) // mov ss, ax
        .emit(&[0xB9]) // mov ecx, iterations
        .emit(&iterations.to_le_bytes())
        .emit(&[0x66, 0xBA])
        .emit(&MARKER_PORT.to_le_bytes()) // mov dx, 0x3f8
        .emit(&[0xB0, b'[', 0xEE]); // mov al, '['; out dx, al (start marker)
    let top = c.bytes.len();
    let insn = kind.instruction();
    for _ in 0..UNROLL {
        c.emit(&insn);
    }
    c.emit(&[0x49]); // dec ecx
    let rel = top as i64 - (c.bytes.len() as i64 + 6);
    c.emit(&[0x0F, 0x85]) // jnz top
        .emit(&(rel as i32).to_le_bytes());
    c.emit(&[0xB0, b']', 0xEE]) // mov al, ']'; out dx, al (end marker)
        .emit(&[0xB0, 0x00]) // mov al, 0
        .emit(&[0xE6, DEBUG_EXIT_PORT]) // out 0xf4, al
        .emit(&[0xF4]) // hlt
        .emit(&[0xEB, 0xFD]); // jmp back to hlt
    c.bytes
}

/// Keyboard guest: IRQ1 -> vector 0x09, whose handler's first instruction reads port
/// 0x60 (that read is what the JourneyRecorder timestamps), then EOI and `iret`.
/// `spin`: the main loop is `jmp $` with interrupts on (no exits); otherwise `hlt`.
pub fn key_guest(spin: bool) -> Vec<u8> {
    let mut c = Code::new();
    let patch = real_mode_prologue(&mut c, 0x09, 1);
    c.emit(&[0xFB]); // sti
    if spin {
        c.emit(&[0xEB, 0xFE]); // jmp $
    } else {
        c.emit(&[0xF4, 0xEB, 0xFD]); // hlt; jmp back to hlt
    }
    let handler = c.here() as u16;
    c.emit(&[0x50]) // push ax
        .emit(&[0xE4, 0x60]) // in al, 0x60
        .emit(&[0xB0, 0x20, 0xE6, 0x20]) // EOI
        .emit(&[0x58]) // pop ax
        .emit(&[0xCF]); // iret
    c.patch_u16(patch, handler);
    c.bytes
}

/// Idle guest: PIT channel 0 at 100 Hz (mode 2, count 11932) on IRQ0 -> vector 0x08,
/// a handler that only acknowledges, and `hlt` forever with interrupts on.
pub fn idle_guest() -> Vec<u8> {
    let mut c = Code::new();
    let patch = real_mode_prologue(&mut c, 0x08, 0);
    let [lo, hi] = 11932u16.to_le_bytes();
    c.emit(&[0xB0, 0x34, 0xE6, 0x43]) // PIT: channel 0, lobyte/hibyte, mode 2
        .emit(&[0xB0, lo, 0xE6, 0x40])
        .emit(&[0xB0, hi, 0xE6, 0x40])
        .emit(&[0xFB]) // sti
        .emit(&[0xF4, 0xEB, 0xFD]); // hlt; jmp back to hlt
    let handler = c.here() as u16;
    c.emit(&[0x50]) // push ax
        .emit(&[0xB0, 0x20, 0xE6, 0x20]) // EOI
        .emit(&[0x58]) // pop ax
        .emit(&[0xCF]); // iret
    c.patch_u16(patch, handler);
    c.bytes
}

/// BIOS polling guest: with interrupts on, calls int 16h AH=01h (keystroke status) in a
/// tight loop, as boot-sector games poll between frames; the BIOS's IRQ0 handler counts
/// ticks at 0000:046C meanwhile.
pub fn bios_poll_guest() -> Vec<u8> {
    vec![
        0xFB, // sti
        0xB4, 0x01, // poll: mov ah, 1
        0xCD, 0x16, // int 16h
        0xEB, 0xFA, // jmp poll
    ]
}

/// Startup guest: its first instruction's exit ends the run (`out 0xf4, al` with al = 0,
/// so hv exits with status 1).
pub fn startup_guest() -> Vec<u8> {
    vec![
        0xB0,
        0x00, // mov al, 0
        0xE6,
        DEBUG_EXIT_PORT, // out 0xf4, al
        0xF4,            // hlt
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

    /// Disassembles `bytes` at `ip` as `bitness` code, one instruction per line.
    fn disasm(bitness: u32, ip: u64, bytes: &[u8]) -> Vec<String> {
        let mut d = Decoder::with_ip(bitness, bytes, ip, DecoderOptions::NONE);
        let mut f = IntelFormatter::new();
        let mut out = Vec::new();
        for insn in &mut d {
            let mut s = String::new();
            f.format(&insn, &mut s);
            out.push(s);
        }
        out
    }

    #[test]
    fn exit_guest_switches_to_protected_mode_and_loops() {
        let g = exit_guest(ExitKind::PioOut, 7);
        let stub = disasm(16, 0x7C00, &g[..0x20]);
        assert_eq!(stub[3], "lgdt [7C38h]");
        assert_eq!(stub[7], "data32 jmp far 00007C40h,8");
        let body = disasm(32, 0x7C40, &g[0x40..]);
        assert_eq!(body[4], "mov ecx,7");
        assert_eq!(body[5], "mov dx,3F8h");
        assert_eq!(body[7], "out dx,al");
        assert_eq!(body[8], "out 80h,al");
        let end = 8 + UNROLL as usize;
        assert_eq!(body[end], "dec ecx");
        assert_eq!(body[end + 1], "jne 00007C56h");
        assert_eq!(body[end + 3], "out dx,al");
        assert_eq!(body[end + 5], "out 0F4h,al");
        // GDTR: limit 0x17, base 0x7C20.
        assert_eq!(&g[0x38..0x3E], &[0x17, 0, 0x20, 0x7C, 0, 0]);
    }

    #[test]
    fn exit_guest_kinds() {
        let body = |k| disasm(32, 0x7C40, &exit_guest(k, 1)[0x40..])[8].clone();
        assert_eq!(body(ExitKind::PioIn), "in al,80h");
        assert_eq!(body(ExitKind::MmioRead), "mov al,[0D0000000h]");
        for k in ExitKind::ALL {
            assert_eq!(ExitKind::parse(k.name()), Some(k));
        }
    }

    #[test]
    fn key_guest_handler_reads_port_60_first() {
        for spin in [false, true] {
            let g = key_guest(spin);
            let lines = disasm(16, 0x7C00, &g);
            // The IVT store's immediate (after cli, 3 movs and mov sp) is the handler.
            let handler = u16::from_le_bytes([g[14], g[15]]);
            let off = usize::from(handler - LOAD_ADDR);
            assert_eq!(&g[off + 1..off + 3], &[0xE4, 0x60], "in al, 0x60");
            assert!(lines.contains(&format!("mov word ptr [24h],{handler:X}h")));
            assert!(lines.contains(&"iret".to_string()));
            assert!(lines.contains(&"mov al,0FDh".to_string()));
        }
    }

    #[test]
    fn bios_poll_guest_loops_on_int16_status() {
        let lines = disasm(16, 0x7C00, &bios_poll_guest());
        assert_eq!(lines, ["sti", "mov ah,1", "int 16h", "jmp short 7C01h"]);
    }

    #[test]
    fn idle_guest_programs_pit_at_100_hz() {
        let g = idle_guest();
        let lines = disasm(16, 0x7C00, &g);
        assert!(lines.contains(&"mov al,9Ch".to_string()));
        assert!(lines.contains(&"mov al,2Eh".to_string()));
        assert!(lines.contains(&"hlt".to_string()));
        assert_eq!(disasm(16, 0x7C00, &startup_guest())[1], "out 0F4h,al");
    }
}
