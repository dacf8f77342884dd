#!/usr/bin/env python3
"""Writes the seed corpus (fuzz/corpus/<target>/<name>) from readable op lists.

The targets decode their input with `arbitrary`: an enum variant is a little-endian u32
tag t selecting variant (t * count) >> 32, integers are little-endian, bool is a byte's
bit 0, and a `Vec<Op>` taken as the rest of the input is ops each preceded by a byte with bit 0 set. Each seed here is a
sequence a real guest performs (the Linux i8042 probe, BIOS PIC/PIT setup, mode 13h
register writes, a 8250 UART init, a boot sector), so fuzzing starts from states that
matter. Check a seed decodes as meant with `cargo fuzz fmt <target> corpus/<target>/<name>`.
Run from fuzz/: python3 make_seeds.py
"""
import os
import struct

def tag(idx, count):
    return struct.pack('<I', 0 if idx == 0 else (idx << 32) // count + 1)

u8 = lambda v: struct.pack('<B', v & 0xFF)
u16 = lambda v: struct.pack('<H', v & 0xFFFF)
u32 = lambda v: struct.pack('<I', v & 0xFFFFFFFF)
u64 = lambda v: struct.pack('<Q', v & 0xFFFFFFFFFFFFFFFF)
i32 = lambda v: struct.pack('<i', v)
BYTE, WORD, DWORD = tag(0, 3), tag(1, 3), tag(2, 3)
MICROS = lambda n: tag(0, 3) + u16(n)
MILLIS = lambda n: tag(1, 3) + u16(n)

def op(idx, count):
    """An element of a `Vec<Op>` that takes the rest of the input: a `true` byte, then the op."""
    return b'\x01' + tag(idx, count)

def write(target, name, data):
    d = os.path.join('corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

# ---- i8042: ReadData(W) ReadStatus(W) WriteData(u8) WriteCommand(u8) Key(u16,bool)
#      ReleaseAll Mouse(i32,i32,u8) Advance(Step) Poll
K = lambda i: op(i, 9)
rd, st = K(0) + BYTE, K(1) + BYTE
wd = lambda b: K(2) + u8(b)
wc = lambda b: K(3) + u8(b)
key = lambda i, p: K(4) + u16(i) + u8(p)
mouse = lambda dx, dy, b: K(6) + i32(dx) + i32(dy) + u8(b)
adv = lambda s: K(7) + s
poll = K(8)
# Linux i8042_controller_check/init/selftest, then atkbd and psmouse probes.
write('i8042', 'linux_probe', b''.join([
    st, rd, st, rd,                  # i8042_flush
    wc(0x20), st, rd,                # read CTR
    wc(0x60), wd(0x74),              # CTR: interrupts off, ports disabled
    wc(0xAA), st, rd,                # self test -> 0x55
    wc(0xAB), st, rd,                # kbd interface test -> 0x00
    wc(0xD3), wd(0x5A), st, rd,      # aux loopback -> 0x5A from aux
    wc(0xA8), wc(0x20), rd,          # enable aux, check CTR
    wc(0xA9), rd,                    # aux interface test
    wc(0x60), wd(0x47),              # CTR: both interrupts, translate
    wd(0xF2), rd, rd, rd,            # keyboard identify: FA AB 83
    wd(0xED), rd, wd(0x02), rd,      # LEDs
    wd(0xF0), rd, wd(0x02), rd,      # scan code set 2
    wc(0xD4), wd(0xFF), rd, rd, rd,  # mouse reset: FA AA 00
    wc(0xD4), wd(0xF3), rd, wc(0xD4), wd(200), rd,  # intellimouse knock
    wc(0xD4), wd(0xF4), rd,          # enable reporting
]))
write('i8042', 'typing', b''.join([
    key(30, 1), st, rd, key(30, 0), st, rd, rd,
    key(42, 1), key(31, 1), adv(MILLIS(600)), poll, rd, rd, rd,
    adv(MILLIS(100)), poll, rd, key(31, 0), key(42, 0), rd, rd, rd, rd,
    K(5), rd, rd,
]))
write('i8042', 'mouse_packets', b''.join([
    wc(0xA8), wc(0x60), wd(0x47), wc(0xD4), wd(0xF4), rd,
    mouse(5, -3, 1), st, rd, rd, rd, mouse(-300, 300, 0), rd, rd, rd, rd, rd, rd,
]))
write('i8042', 'reset_pulse', wc(0xD1) + wd(0xDF) + wc(0xFE) + wc(0xF0))

# ---- vga: Write(u8 off from 0x3B0, W, u32) Read(u8, W) Vram(u16,u8,Vec) Render(u16)
V = lambda i: op(i, 4)
vw = lambda port, v: V(0) + u8(port - 0x3B0) + BYTE + u32(v)
vww = lambda port, idx, v: V(0) + u8(port - 0x3B0) + WORD + u32(idx | (v << 8))
vr = lambda port: V(1) + u8(port - 0x3B0) + BYTE
render = lambda ms: V(3) + u16(ms)
def mode_regs(misc, seq, crtc, gfx, attr):
    out = [vw(0x3C2, misc)]
    out += [vww(0x3C4, i, v) for i, v in enumerate(seq)]
    out += [vww(0x3D4, 0x11, crtc[0x11] & 0x7F)]      # unlock CR0-7
    out += [vww(0x3D4, i, v) for i, v in enumerate(crtc)]
    out += [vww(0x3CE, i, v) for i, v in enumerate(gfx)]
    out += [vr(0x3DA)]
    for i, v in enumerate(attr):
        out += [vw(0x3C0, i), vw(0x3C0, v)]
    out += [vw(0x3C0, 0x20)]                            # PAS: screen on
    return out
MODE13_CRTC = [0x5F,0x4F,0x50,0x82,0x54,0x80,0xBF,0x1F,0x00,0x41,0,0,0,0,0,0,0x9C,0x0E,0x8F,0x28,0x40,0x96,0xB9,0xA3,0xFF]
MODE3_CRTC = [0x5F,0x4F,0x50,0x82,0x55,0x81,0xBF,0x1F,0x00,0x4F,0x0D,0x0E,0,0,0,0,0x9C,0x8E,0x8F,0x28,0x1F,0x96,0xB9,0xA3,0xFF]
ATTR16 = list(range(16))
write('vga', 'mode13h', b''.join(mode_regs(0x63, [0x03,0x01,0x0F,0x00,0x0E], MODE13_CRTC,
    [0,0,0,0,0,0x40,0x05,0x0F,0xFF], ATTR16 + [0x41,0,0x0F,0,0]) +
    [vw(0x3C8, 1), vw(0x3C9, 63), vw(0x3C9, 0), vw(0x3C9, 0), render(0)]))
write('vga', 'mode3_cursor', b''.join(mode_regs(0x67, [0x03,0x00,0x03,0x00,0x02], MODE3_CRTC,
    [0,0,0,0,0,0x10,0x0E,0x00,0xFF], [0,1,2,3,4,5,0x14,7,0x38,0x39,0x3A,0x3B,0x3C,0x3D,0x3E,0x3F,0x0C,0,0x0F,0x08,0]) +
    [vww(0x3D4, 0x0E, 0x01), vww(0x3D4, 0x0F, 0x40), vww(0x3D4, 0x0C, 0x00), vww(0x3D4, 0x0D, 0x50), render(300), render(800)]))
write('vga', 'font_load', b''.join([vww(0x3C4, 2, 4), vww(0x3C4, 4, 7), vww(0x3CE, 4, 2), vww(0x3CE, 5, 0), vww(0x3CE, 6, 4),
    vww(0x3C4, 2, 3), vww(0x3C4, 4, 3), vww(0x3CE, 4, 0), vww(0x3CE, 5, 0x10), vww(0x3CE, 6, 0x0E), render(0)]))

# ---- pic: Write(u8 port idx, W, u32) Read(u8, W) Line(u8,bool) Acknowledge RawInta Reset
P = lambda i: op(i, 6)
PORTS = [0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1]
pw = lambda port, v: P(0) + u8(PORTS.index(port)) + BYTE + u32(v)
pr = lambda port: P(1) + u8(PORTS.index(port)) + BYTE
line = lambda n, lv: P(2) + u8(n) + u8(lv)
ack = P(3)
def pic_init(mbase, sbase):
    return [pw(0x20, 0x11), pw(0x21, mbase), pw(0x21, 0x04), pw(0x21, 0x01),
            pw(0xA0, 0x11), pw(0xA1, sbase), pw(0xA1, 0x02), pw(0xA1, 0x01)]
write('pic', 'bios_init_irq0_irq12', b''.join(pic_init(0x08, 0x70) + [pw(0x21, 0xB8), pw(0xA1, 0x8F),
    line(0, 1), line(0, 0), ack, pw(0x20, 0x20), line(12, 1), ack, pw(0xA0, 0x20), pw(0x20, 0x20), line(12, 0),
    pw(0x20, 0x0B), pr(0x20), pw(0x20, 0x0A), pr(0x20)]))
write('pic', 'linux_init_level_elcr', b''.join(pic_init(0x30, 0x38) + [pw(0x4D0, 0xF8), pw(0x4D1, 0xDE), pr(0x4D0),
    line(9, 1), ack, line(9, 1), ack, pw(0xA0, 0x61), pw(0x20, 0x62), line(9, 0), line(1, 1), ack, P(4), P(5)]))
write('pic', 'aeoi_rotate_poll', b''.join([pw(0x20, 0x11), pw(0x21, 0x20), pw(0x21, 0x04), pw(0x21, 0x03),
    pw(0x20, 0x80), line(3, 1), line(5, 1), ack, ack, pw(0x20, 0x0C), pr(0x20), pw(0x20, 0x68), pw(0x20, 0xC3)]))

# ---- pit: Write(u8 idx of [40,41,42,43,61], W, u32) Read(u8, W) Advance(Step) Poll Reset
T = lambda i: op(i, 5)
tw = lambda idx, v: T(0) + u8(idx) + BYTE + u32(v)
tr = lambda idx: T(1) + u8(idx) + BYTE
tadv = lambda s: T(2) + s
tpoll = T(3)
write('pit', 'bios_18hz_and_100hz', b''.join([tw(3, 0x36), tw(0, 0), tw(0, 0), tadv(MILLIS(55)), tpoll, tadv(MILLIS(55)), tpoll,
    tw(3, 0x34), tw(0, 11932 & 0xFF), tw(0, 11932 >> 8), tadv(MILLIS(10)), tpoll, tw(3, 0x00), tr(0), tr(0),
    tadv(MILLIS(1000)), tpoll]))
write('pit', 'speaker_and_readback', b''.join([tw(3, 0xB6), tw(2, 0xA9), tw(2, 0x04), tr(4), tw(4, 0x03),
    tadv(MICROS(500)), tr(4), tw(3, 0xE2), tr(2), tr(2), tw(3, 0xD2), tr(2), tw(4, 0x00)]))
write('pit', 'oneshot_count1', b''.join([tw(3, 0x30), tw(0, 1), tw(0, 0), tadv(MICROS(1)), tpoll, tw(3, 0x32),
    tw(0, 2), tw(0, 0), tpoll, tadv(MICROS(10)), tpoll, T(4)]))

# ---- uart: Write(u8 off, W, u32) Read(u8, W) Receive(Vec) Flood(u8, u16)
U = lambda i: op(i, 4)
uw = lambda off, v: U(0) + u8(off) + BYTE + u32(v)
ur = lambda off: U(1) + u8(off) + BYTE
write('uart', 'linux_8250_init', b''.join([uw(3, 0x80), uw(0, 0x01), uw(1, 0x00), uw(3, 0x03), uw(2, 0xC7), uw(4, 0x0B),
    uw(1, 0x01), ur(2), ur(5), ur(6), uw(7, 0x55), ur(7)] + [uw(0, c) for c in b'hv alive\r\n'] + [ur(2), ur(5)]))
write('uart', 'loopback_and_flood', b''.join([uw(4, 0x10), ur(6), uw(4, 0x1F), ur(6), uw(0, 0x41), ur(5), ur(0),
    uw(1, 0x0F), U(3) + u8(0x2E) + u16(3000), ur(2), ur(5)]))

# ---- cmos: Index(u8) Read Write(u8) Set(u8,u8) Clock(u64,u32) ReadIndexPort
C = lambda i: op(i, 6)
cidx = lambda i: C(0) + u8(i)
crd = C(1)
cset = lambda i, v: C(3) + u8(i) + u8(v)
write('cmos', 'read_time_bcd', b''.join([cidx(0x0A), crd, cidx(0x00), crd, cidx(0x02), crd, cidx(0x04), crd,
    cidx(0x07), crd, cidx(0x08), crd, cidx(0x09), crd, cidx(0x32), crd, cidx(0x0B), crd, cidx(0x0D), crd,
    cidx(0x8F), crd, C(5)]))
write('cmos', 'set_time_binary_12h', b''.join([cset(0x0B, 0x04), cset(0x04, 0x8C), cset(0x00, 30), cset(0x02, 45),
    cset(0x09, 99), cset(0x32, 20), cset(0x07, 31), cset(0x08, 2), cset(0x0B, 0x06), cidx(0x04), crd,
    C(4) + u64(253402300799) + u32(999999999), cidx(0x09), crd, cset(0x0E, 0x42), cidx(0x0E), crd]))

# ---- esr: Input { esr: u64, gpa: u64, reg_value: u64, device_byte: u8 }
def esr(ec, iss, il=1):
    return (ec << 26) | (il << 25) | iss
dabt = lambda sas, srt, wnr, sf=0, sse=0: esr(0x24, (1 << 24) | (sas << 22) | (sse << 21) | (srt << 16) | (sf << 15) | (wnr << 6) | 0x07)
esr_seed = lambda e, gpa, reg, b: u64(e) + u64(gpa) + u64(reg) + u8(b)
write('esr', 'str_w1_uart', esr_seed(dabt(2, 1, 1), 0x0900_0000, 0x1234_5678_9ABC_DEF0, 0))
write('esr', 'ldrsb_x3', esr_seed(dabt(0, 3, 0, sf=1, sse=1), 0x0900_0018, 0, 0x80))
write('esr', 'ldr_xzr', esr_seed(dabt(3, 31, 0, sf=1), 0x0A00_0000, 0, 0x5A))
write('esr', 'no_isv_pair', esr_seed(esr(0x24, (1 << 6) | 0x07), 0x0900_0000, 0, 0))
write('esr', 'hvc_psci', esr_seed(esr(0x16, 0), 0, 0x8400_0008, 0))
write('esr', 'wfi', esr_seed(esr(0x01, 0), 0, 0, 0))
write('esr', 'msr_sysreg', esr_seed(esr(0x18, (3 << 20) | (3 << 14) | (14 << 10) | (2 << 5) | (3 << 1)), 0, 0, 0))

# ---- insn: Input { long_mode: bool, cpl: u8, prefix: u8, bytes: Vec<u8> (rest) }
insn = lambda lm, cpl, pre, code: u8(lm) + u8(cpl) + u8(pre) + bytes(code)
write('insn', 'fld1_cpl0', insn(0, 0, 0, [0xD9, 0xE8]))
write('insn', 'movaps_long', insn(1, 0, 6, [0x0F, 0x28, 0xC1]))
write('insn', 'vex_vs_les', insn(0, 0, 1, [0xC5, 0xF8, 0x77]))
write('insn', 'fxsave_rex', insn(1, 3, 2, [0x48, 0x0F, 0xAE, 0x00]))
write('insn', 'empty', insn(0, 0, 0, []))

# ---- flat_loader: Input { load_addr: u16, pad_kib: u16, bytes: Vec<u8> (rest) }
hello = open(os.path.join('..', 'app', 'tests', 'guests', 'prebuilt_hello.bin'), 'rb').read() \
    if os.path.exists(os.path.join('..', 'app', 'tests', 'guests', 'prebuilt_hello.bin')) else None
boot = bytes([0xFA, 0x31, 0xC0, 0x8E, 0xD8, 0xB0, 0x41, 0xBA, 0xF8, 0x03, 0xEE, 0xB0, 0x10, 0xE6, 0xF4, 0xF4])
sector = boot + bytes(510 - len(boot)) + b'\x55\xAA'
write('flat_loader', 'boot_sector_7c00', u16(0x7C00) + u16(0) + sector)
write('flat_loader', 'near_vga_limit', u16(0x9000) + u16(603) + boot)
write('flat_loader', 'too_low', u16(0x400) + u16(0) + boot)
write('flat_loader', 'com_at_0x100_segment', u16(0x0500) + u16(0) + boot)

# ---- disk: Input { size: Size(Floppy(u8)|Bytes(u32)), force_hard_disk: bool, any_len: u64,
#      pattern: [u8; 16], ops: Vec<Read(u32)|Write(u32,u8)|Chs(u32,u32,u32)> (rest)
D = lambda i: op(i, 3)
dread = lambda lba: D(0) + u32(lba)
dwrite = lambda lba, b: D(1) + u32(lba) + u8(b)
chs = lambda c, h, s: D(2) + u32(c) + u32(h) + u32(s)
pattern = bytes(range(0xF0, 0x100))
write('disk', 'floppy_1440k', tag(0, 2) + u8(6) + u8(0) + u64(1474560) + pattern + b''.join([
    dread(0), dwrite(0, 0xAA), dread(0), dread(2879), dread(2880), chs(79, 1, 18), chs(80, 0, 1), chs(0, 0, 0)]))
write('disk', 'hd_partial_sector', tag(1, 2) + u32(1000 * 512 + 17) + u8(1) + u64(1 << 40) + pattern + b''.join([
    dread(1000), dwrite(1000, 1), dread(1000), dwrite(1001, 2), chs(0, 15, 63)]))
write('disk', 'floppy_forced_hd', tag(0, 2) + u8(4) + u8(1) + u64(0) + pattern + dread(719) + chs(0, 0, 63))

# ---- board: PioRead(u16,W) PioWrite(u16,W,u32) IsaWrite(u16,u8) MmioRead(u64,u8)
#      MmioWrite(u64,u8,u64) Key(u16,bool) Serial(Vec) Advance(Step) Poll Inta Render
B = lambda i: op(i, 11)
bin_ = lambda port, w=BYTE: B(0) + u16(port) + w
bout = lambda port, v, w=BYTE: B(1) + u16(port) + w + u32(v)
def seq(pairs):
    return b''.join(bout(p, v) for p, v in pairs)
write('board', 'bios_like_boot', b''.join([
    seq([(0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0xA0, 0x11), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01)]),
    seq([(0x43, 0x36), (0x40, 0), (0x40, 0)]), B(7) + MILLIS(60), B(8), B(9), bout(0x20, 0x20),
    seq([(0x3FB, 0x80), (0x3F8, 1), (0x3F9, 0), (0x3FB, 3)]), seq([(0x3F8, c) for c in b'alive\n']),
    seq([(0x70, 0x0F), (0x71, 0x00)]), bin_(0x64), bin_(0x60), B(5) + u16(30) + u8(1), B(8), B(9), bin_(0x60),
    bout(0x3C4, 0x0F02, WORD), bin_(0x3DA), bout(0x80, 0x55), bout(0xEF, 0x10), B(10),
    B(3) + u64(0xE000_0000) + u8(3), B(4) + u64(0xFEC0_0000) + u8(3) + u64(0xFFFF_FFFF), bout(0xF4, 0x10)]))
write('board', 'resets', b''.join([seq([(0x92, 0x01)]), seq([(0xCF9, 0x06)]), seq([(0x64, 0xFE)]), B(10)]))
print('seeds written')

# ---- bios: Input { floppy: Option<u8>, hard_disk: Option<u16>, fill: u8, ops: Vec<Op> (rest) }
#      Op: Call(Call) Simple(u8 vector idx, ax, bx, cx, dx, si, di) Poke(u32, Vec<u8>)
#          Key(u16, bool) Advance(Step)
#      vector idx into [08 09 10 11 12 13 15 16 18 19 1A]
BV = {0x08: 0, 0x09: 1, 0x10: 2, 0x11: 3, 0x12: 4, 0x13: 5, 0x15: 6, 0x16: 7, 0x18: 8, 0x19: 9, 0x1A: 10}
O = lambda i: op(i, 5)
def simple(v, ax, bx=0, cx=0, dx=0, si=0, di=0):
    return O(1) + u8(BV[v]) + b''.join(u16(x) for x in (ax, bx, cx, dx, si, di))
def call(v, eax, ebx=0, ecx=0, edx=0, esi=0, edi=0, ds=0, es=0, ss=0, sp=0x7000, flags=0x0202, stub=5):
    # Call { vector, eax..ebp: u32, ds, es, ss, sp, flags, ret_cs, ret_ip: u16, retry, trap: Stub(u8) }
    return (O(0) + u8(BV[v]) + b''.join(u32(x) for x in (eax, ebx, ecx, edx, esi, edi, 0)) +
            b''.join(u16(x) for x in (ds, es, ss, sp, flags, 0, 0x7C10)) + u8(0) + tag(0, 4) + u8(stub))
def poke(addr, data):
    return O(2) + u32(addr) + b''.join(b'\x01' + u8(b) for b in data) + b'\x00'
bkey = lambda i, p: O(3) + u16(i) + u8(p)
badv = lambda s: O(4) + s
no_disks = u8(0) + u8(0) + u8(0x5A)
floppy_144 = u8(1) + u8(6) + u8(0) + u8(0x5A)
both = u8(1) + u8(6) + u8(1) + u16(200) + u8(0x5A)
hd_only = u8(0) + u8(1) + u16(100) + u8(0x5A)
write('bios', 'int10_text_and_mode13h', no_disks + b''.join([
    simple(0x10, 0x0E48, 0x0007), simple(0x10, 0x0E0A), simple(0x10, 0x0200, 0, 0, 0x1840), simple(0x10, 0x0E0D),
    simple(0x10, 0x0E0A), simple(0x10, 0x0920 | 0x41, 0x001F, 85), simple(0x10, 0x0601, 0x0700, 0x0000, 0x184F),
    simple(0x10, 0x0300), simple(0x10, 0x0F00), simple(0x10, 0x0501), simple(0x10, 0x0013),
    simple(0x10, 0x0C0F, 0, 319, 199), simple(0x10, 0x0D00, 0, 319, 199), simple(0x10, 0x0E41, 0x000E),
    simple(0x10, 0x1010, 0x0001, 0x3F00, 0x1000), simple(0x10, 0x1017, 0, 16, 0x0600), simple(0x10, 0x1130, 0x0600),
    simple(0x10, 0x0003), simple(0x10, 0x0100, 0, 0x0607), simple(0x10, 0x1201, 0x0034)]))
hello = b'Hello'
write('bios', 'int10_write_string', no_disks + poke(0x600, hello) +
      call(0x10, 0x1301, 0x0007, len(hello), 0x0A05, es=0, edi=0) +
      call(0x10, 0x1009, es=0, edx=0x700) + call(0x10, 0x1002, es=0, edx=0x700) + call(0x10, 0x1012, 0, 16, 0x800, es=0))
# Disk reads: CHS floppy, CHS past the end, EDD packet (with and without flat address), params.
packet = lambda cnt, off, seg, lba: bytes([0x10, 0]) + struct.pack('<HHHQ', cnt, off, seg, lba)
write('bios', 'int13_floppy_chs', floppy_144 + b''.join([
    simple(0x13, 0x0000), simple(0x13, 0x0202, 0x1000, 0x0001, 0x0000), simple(0x13, 0x0212, 0x2000, 0x4F01, 0x0100),
    simple(0x13, 0x0203, 0x3000, 0x4F12, 0x0100), simple(0x13, 0x0100), simple(0x13, 0x0301, 0x1000, 0x0005, 0x0000),
    simple(0x13, 0x0201, 0x4000, 0x0005, 0x0000), simple(0x13, 0x0800), simple(0x13, 0x1500), simple(0x13, 0x0201, 0xFF00, 1, 0)]))
write('bios', 'int13_edd_hd', hd_only + b''.join([
    simple(0x13, 0x4100, 0x55AA, 0, 0x80), poke(0x600, packet(4, 0x2000, 0, 1)), simple(0x13, 0x4200, 0, 0, 0x80, 0x600),
    poke(0x600, packet(8, 0x0000, 0x0300, 96)), simple(0x13, 0x4200, 0, 0, 0x80, 0x600),
    poke(0x600, bytes([0x18, 0]) + struct.pack('<HHHQQ', 2, 0xFFFF, 0xFFFF, 3, 0x180000)), simple(0x13, 0x4200, 0, 0, 0x80, 0x600),
    poke(0x700, [0x1E, 0]), simple(0x13, 0x4800, 0, 0, 0x80, 0x700), simple(0x13, 0x0800, 0, 0, 0x80),
    simple(0x13, 0x1500, 0, 0, 0x80), poke(0x600, packet(200, 0x2000, 0, 0)), simple(0x13, 0x4300, 0, 0, 0x80, 0x600)]))
SMAP = 0x534D4150
write('bios', 'int15_e820_and_friends', hd_only + b''.join(
    [call(0x15, 0xE820, i, 24, SMAP, edi=0x800 + 24 * i) for i in range(5)] +
    [simple(0x15, 0xE801), simple(0x15, 0x8800), simple(0x15, 0xC000), simple(0x15, 0x2402), simple(0x15, 0x2400),
     simple(0x15, 0x8600, 0, 0, 1000), badv(MILLIS(5)), call(0x15, 0x8600, ecx=0, edx=1000), simple(0x11, 0), simple(0x12, 0),
     call(0x15, 0xE820, 0, 20, SMAP, es=0xF000)]))
write('bios', 'int16_keyboard', no_disks + b''.join([
    bkey(30, 1), simple(0x09, 0), bkey(30, 0), simple(0x09, 0), simple(0x16, 0x0100), simple(0x16, 0x0000),
    simple(0x16, 0x0000), simple(0x16, 0x0500, 0, 0x1E61), simple(0x16, 0x1100), simple(0x16, 0x1000), simple(0x16, 0x0200),
    simple(0x16, 0x1200), poke(0x41A, [0x21, 0x00, 0x3F, 0x00]), simple(0x16, 0x0100),
    poke(0x480, [0x00, 0x01, 0x10, 0x01]), simple(0x16, 0x0500, 0, 0x1C0D), simple(0x16, 0x0000)]))
write('bios', 'int19_boot_and_time', both + b''.join([
    simple(0x1A, 0x0000), simple(0x08, 0), simple(0x1A, 0x0100, 0, 0x0018, 0x00AF), simple(0x08, 0), simple(0x1A, 0x0000),
    simple(0x1A, 0x0200), simple(0x1A, 0x0400), simple(0x1A, 0x0300, 0, 0x1230, 0x4500), simple(0x19, 0, 0, 0, 0x80),
    simple(0x19, 0, 0, 0, 0x00), simple(0x18, 0)]))
write('bios', 'bad_frames', no_disks + call(0x16, 0, sp=0xFFFC) + call(0x10, 0x0E41, ss=0xF000, sp=0x100) +
      O(0) + u8(BV[0x10]) + u32(0x0E41) + bytes(24) + b''.join(u16(x) for x in (0, 0, 0, 0x7000, 0x0202, 0, 0x7C10)) +
      u8(0) + tag(2, 4) + u16(0) + u16(0x7C05))

# ---- loaders: Raw { mem_mib, floppy_pad: Option<u8>, cmdline_len, modules, module_len: u16,
#      initrd_len: Option<u16>, data (rest, raw) }; command line, initrd and modules are cut
#      from the end of data, the image is what is left.
def loader_seed(image, mib=4, floppy=None, cmdline=b'', modules=0, module_len=0, initrd=None, extra=b''):
    head = u8(mib - 4) + (u8(1) + u8(floppy) if floppy is not None else u8(0)) + u8(len(cmdline)) + u8(modules) + u16(module_len)
    head += (u8(1) + u16(len(initrd)) if initrd is not None else u8(0))
    return head + image + extra + (initrd or b'') + cmdline
mb_flags = 0x00000003
def mb_header(flags, aout=None):
    h = struct.pack('<III', 0x1BADB002, flags, (-(0x1BADB002 + flags)) & 0xFFFFFFFF)
    if aout:
        h += b''.join(u32(v) for v in aout)
    return h
def elf32(entry, phs, body):
    v = bytearray(0x100)
    v[0:4] = b'\x7fELF'; v[4] = 1; v[5] = 1; v[6] = 1
    struct.pack_into('<HHIIIIIHHHHHH', v, 16, 2, 3, 1, entry, 52, 0, 0, 52, 32, len(phs), 0, 0, 0)
    for i, (ty, off, vaddr, paddr, filesz, memsz) in enumerate(phs):
        struct.pack_into('<IIIIIIII', v, 52 + 32 * i, ty, off, vaddr, paddr, filesz, memsz, 7, 0x1000)
    return bytes(v) + body
body = mb_header(mb_flags) + bytes([0xFA, 0xF4, 0xEB, 0xFD])
body += b'\x90' * (0x100 - len(body))
bare_bones = elf32(0x10000C, [(1, 0x100, 0x100000, 0x100000, 0x100, 0x1100)], body)
write('loaders', 'multiboot_elf', loader_seed(bare_bones, cmdline=b'console=ttyS0 quiet'))
write('loaders', 'multiboot_elf_modules', loader_seed(bare_bones, mib=8, cmdline=b'root=/dev/ram', modules=2, module_len=64, extra=bytes(range(128))))
aout = mb_header(0x10003, [0x100000, 0x100000, 0, 0x102000, 0x100020]) + b'\x90' * 0x20 + b'\xFA\xF4'
write('loaders', 'multiboot_aout', loader_seed(aout + bytes(0x100 - len(aout))))
write('loaders', 'multiboot_low_segment', loader_seed(elf32(0x8000, [(1, 0x100, 0x8000, 0x8000, 0x100, 0x100)], body)))
write('loaders', 'multiboot2_only', loader_seed(bytes(16) + struct.pack('<IIII', 0xE85250D6, 0, 16, (-(0xE85250D6 + 16)) & 0xFFFFFFFF)))
write('loaders', 'boot_sector', loader_seed(sector))
write('loaders', 'boot_sector_floppy', loader_seed(sector, floppy=6))
write('loaders', 'no_signature', loader_seed(boot + bytes(600)))
def bzimage(setup_sects=1, version=0x020F, loadflags=1, code32=0x100000, xload=1, init_size=0x20000, kernel=0x400):
    v = bytearray((setup_sects + 1) * 512 + kernel)
    v[0x1F1] = setup_sects
    struct.pack_into('<H', v, 0x1FE, 0xAA55)
    v[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', v, 0x206, version)
    v[0x211] = loadflags
    struct.pack_into('<I', v, 0x214, code32)
    struct.pack_into('<I', v, 0x22C, 0x37FFFFFF)
    struct.pack_into('<H', v, 0x236, xload)
    struct.pack_into('<I', v, 0x238, 2048)
    struct.pack_into('<I', v, 0x260, init_size)
    for i in range((setup_sects + 1) * 512, len(v)):
        v[i] = i & 0xFF
    return bytes(v)
write('loaders', 'bzimage_minimal', loader_seed(bzimage(), cmdline=b'console=ttyS0 earlyprintk'))
write('loaders', 'bzimage_initrd', loader_seed(bzimage(), mib=16, cmdline=b'rdinit=/init', initrd=bytes(range(256)) * 4))
write('loaders', 'bzimage_old_protocol', loader_seed(bzimage(version=0x0205)))
write('loaders', 'bzimage_no_64bit', loader_seed(bzimage(xload=0)))
print('loader and bios seeds written')
