//! Device-level tests: port access through the bus trait, rendering, font capture, and
//! a randomised no-panic check.

use std::time::Duration;

use super::*;

const WHITE: [u8; 4] = [0xFF, 0xFF, 0xFF, 0xFF];
const BLUE: [u8; 4] = [0x00, 0x00, 0xAA, 0xFF];
const GREY: [u8; 4] = [0xAA, 0xAA, 0xAA, 0xFF];
const BLACK: [u8; 4] = [0x00, 0x00, 0x00, 0xFF];
const BRIGHT_BLUE: [u8; 4] = [0x55, 0x55, 0xFF, 0xFF];

fn machine() -> (Vga, GuestMemory) {
    let mem = GuestMemory::ram(0x10_0000).expect("1 MiB of RAM");
    (Vga::new(mem.clone()), mem)
}

fn outb(vga: &mut Vga, port: u16, v: u8) {
    vga.write(u64::from(port), &[v]);
}

fn inb(vga: &mut Vga, port: u16) -> u8 {
    let mut b = [0u8];
    vga.read(u64::from(port), &mut b);
    b[0]
}

fn put_text(mem: &GuestMemory, row: u64, col: u64, text: &[u8], attr: u8) {
    for (i, &ch) in text.iter().enumerate() {
        let addr = COLOUR_TEXT_BASE + row * 160 + (col + i as u64) * 2;
        mem.write(addr, &[ch, attr]).expect("text buffer is RAM");
    }
}

fn snapshot(vga: &Vga) -> VgaState {
    vga.shared().lock().expect("not poisoned").clone()
}

fn draw(vga: &Vga, mem: &GuestMemory, ms: u64) -> (Frame, RenderInfo) {
    let mut frame = Frame::new();
    let info = render(&snapshot(vga), mem, Duration::from_millis(ms), &mut frame);
    (frame, info)
}

/// Pixel `(x, y)` inside text cell (row, col) of a 9x16 screen.
fn cell_px(frame: &Frame, row: u32, col: u32, x: u32, y: u32) -> [u8; 4] {
    frame
        .pixel(col * 9 + x, row * 16 + y)
        .expect("inside the frame")
}

fn hide_cursor(vga: &mut Vga) {
    outb(vga, 0x3D4, 0x0A);
    outb(vga, 0x3D5, 0x20);
}

#[test]
fn word_writes_split_into_index_then_data() {
    let (mut vga, _) = machine();
    // Linux vgacon write_vga: outw((value << 8) | reg, 0x3D4).
    vga.write(0x3D4, &0x070Eu16.to_le_bytes());
    vga.write(0x3D4, &0xD00Fu16.to_le_bytes());
    assert_eq!(snapshot(&vga).cursor_location(), 0x07D0);
    vga.write(0x3C4, &0x0F02u16.to_le_bytes());
    assert_eq!(snapshot(&vga).seq(2), 0x0F);
    vga.write(0x3CE, &0x0506u16.to_le_bytes());
    assert_eq!(snapshot(&vga).gfx(6), 0x05);
    let mut w = [0u8; 2];
    vga.read(0x3D4, &mut w);
    assert_eq!(w, [0x0F, 0xD0], "index, then the register it selects");
}

#[test]
fn accesses_at_the_edges_are_safe() {
    let (mut vga, _) = machine();
    let mut d = [0u8; 4];
    vga.read(0x3DE, &mut d);
    assert_eq!(d[2..], [0xFF, 0xFF], "past 0x3DF floats");
    vga.read(u64::MAX - 1, &mut d);
    assert_eq!(d, [0xFF; 4]);
    vga.write(u64::MAX, &[1, 2, 3, 4]);
    vga.write(0x3DF, &[0xAA; 8]);
    vga.write(0x3C0, &[]);
    vga.read(0x3C0, &mut []);
    let mut dword = [0u8; 4];
    vga.read(0x3DA, &mut dword);
    assert_eq!(dword[0] & 0x09, 0x09);
}

#[test]
fn mono_aliases_through_the_bus() {
    let (mut vga, _) = machine();
    assert_eq!(inb(&mut vga, 0x3B4), 0xFF);
    outb(&mut vga, 0x3C2, 0x66);
    outb(&mut vga, 0x3B4, 0x0F);
    outb(&mut vga, 0x3B5, 0x42);
    assert_eq!(inb(&mut vga, 0x3B5), 0x42);
    assert_eq!(inb(&mut vga, 0x3D5), 0xFF);
    outb(&mut vga, 0x3D5, 0x11);
    assert_eq!(snapshot(&vga).crtc(0x0F), 0x42);
}

#[test]
fn renders_text_through_palette_and_dac() {
    let (mut vga, mem) = machine();
    hide_cursor(&mut vga);
    put_text(&mem, 0, 0, b"Hi", 0x1F);
    let (frame, info) = draw(&vga, &mem, 0);
    assert_eq!((frame.width, frame.height), (720, 400));
    assert_eq!(frame.rgba.len(), 720 * 400 * 4);
    assert_eq!(
        info.mode,
        VgaMode::Text {
            cols: 80,
            rows: 25,
            char_height: 16,
            char_width: 9
        }
    );
    // 'H' scanline 2 is 0xC6: dots 0,1 on, 2 off; the 9th column is background.
    assert_eq!(cell_px(&frame, 0, 0, 0, 2), WHITE);
    assert_eq!(cell_px(&frame, 0, 0, 1, 2), WHITE);
    assert_eq!(cell_px(&frame, 0, 0, 2, 2), BLUE);
    assert_eq!(cell_px(&frame, 0, 0, 8, 2), BLUE);
    assert_eq!(cell_px(&frame, 0, 0, 0, 0), BLUE, "blank top scanline");
    // 'i' scanline 2 is 0x18: dots 3 and 4.
    assert_eq!(cell_px(&frame, 0, 1, 3, 2), WHITE);
    assert_eq!(cell_px(&frame, 0, 1, 2, 2), BLUE);
    assert_eq!(cell_px(&frame, 0, 2, 0, 0), BLACK, "empty cell");

    // Reprogram DAC entry 1 (blue) to red: the background follows.
    outb(&mut vga, 0x3C8, 1);
    for c in [0x3F, 0, 0] {
        outb(&mut vga, 0x3C9, c);
    }
    let (frame, _) = draw(&vga, &mem, 0);
    assert_eq!(cell_px(&frame, 0, 0, 2, 2), [0xFF, 0, 0, 0xFF]);
}

#[test]
fn blink_bit_blinks_or_gives_bright_backgrounds() {
    let (mut vga, mem) = machine();
    hide_cursor(&mut vga);
    put_text(&mem, 0, 0, b"H", 0x9F);
    let (on, _) = draw(&vga, &mem, 0);
    let (off, _) = draw(&vga, &mem, 600);
    assert_eq!(cell_px(&on, 0, 0, 0, 2), WHITE);
    assert_eq!(cell_px(&off, 0, 0, 0, 2), BLUE, "hidden in the off phase");
    assert_eq!(cell_px(&off, 0, 0, 2, 2), BLUE);
    // AR10 bit 3 off: bit 7 selects bright background 9 and nothing blinks.
    inb(&mut vga, 0x3DA);
    outb(&mut vga, 0x3C0, 0x30);
    outb(&mut vga, 0x3C0, 0x04);
    let (off, _) = draw(&vga, &mem, 600);
    assert_eq!(cell_px(&off, 0, 0, 0, 2), WHITE);
    assert_eq!(cell_px(&off, 0, 0, 2, 2), BRIGHT_BLUE);
}

#[test]
fn cursor_blinks_and_hides() {
    let (mut vga, mem) = machine();
    put_text(&mem, 1, 3, b" ", 0x07);
    vga.write(0x3D4, &0x000Eu16.to_le_bytes());
    vga.write(0x3D4, &0x530Fu16.to_le_bytes()); // 83 = row 1, col 3
    let (frame, info) = draw(&vga, &mem, 0);
    assert_eq!(info.cursor, Some((1, 3)));
    // Default shape: scanlines 13-14, full cell width, in the cell's foreground.
    assert_eq!(cell_px(&frame, 1, 3, 0, 13), GREY);
    assert_eq!(cell_px(&frame, 1, 3, 8, 14), GREY);
    assert_eq!(cell_px(&frame, 1, 3, 0, 12), BLACK);
    assert_eq!(cell_px(&frame, 1, 3, 0, 15), BLACK);
    let (frame, info) = draw(&vga, &mem, 300);
    assert_eq!(info.cursor, Some((1, 3)), "reported in both phases");
    assert_eq!(cell_px(&frame, 1, 3, 0, 13), BLACK, "blink off phase");

    // vgacon's hide: start 31 > end 30.
    vga.write(0x3D4, &0x1F0Au16.to_le_bytes());
    vga.write(0x3D4, &0x1E0Bu16.to_le_bytes());
    let (frame, info) = draw(&vga, &mem, 0);
    assert_eq!(info.cursor, None);
    assert_eq!(cell_px(&frame, 1, 3, 0, 13), BLACK);
    // Bit 5 of CR0A disables it whatever the shape.
    vga.write(0x3D4, &0x200Au16.to_le_bytes());
    vga.write(0x3D4, &0x0F0Bu16.to_le_bytes());
    assert_eq!(draw(&vga, &mem, 0).1.cursor, None);
    // A block cursor past the glyph height is clipped; off-screen positions draw nothing.
    vga.write(0x3D4, &0x000Au16.to_le_bytes());
    vga.write(0x3D4, &0x1F0Bu16.to_le_bytes());
    let (frame, _) = draw(&vga, &mem, 0);
    assert_eq!(cell_px(&frame, 1, 3, 4, 0), GREY);
    assert_eq!(cell_px(&frame, 1, 3, 4, 15), GREY);
    vga.write(0x3D4, &0xFF0Eu16.to_le_bytes());
    vga.write(0x3D4, &0xFF0Fu16.to_le_bytes());
    let (frame, info) = draw(&vga, &mem, 0);
    assert_eq!(info.cursor, None);
    assert!(frame.rgba.chunks_exact(4).all(|p| p == BLACK));
}

#[test]
fn start_address_scrolls_and_wraps() {
    let (mut vga, mem) = machine();
    hide_cursor(&mut vga);
    put_text(&mem, 1, 0, &[0xDB], 0x0F);
    vga.write(0x3D4, &0x000Cu16.to_le_bytes());
    vga.write(0x3D4, &0x500Du16.to_le_bytes()); // start = 80
    let (frame, _) = draw(&vga, &mem, 0);
    assert_eq!(cell_px(&frame, 0, 0, 4, 8), WHITE, "row 1 is now on top");
    assert_eq!(cell_px(&frame, 1, 0, 4, 8), BLACK);
    // Start near the end of the 16 Ki-word buffer: row 1 wraps to the beginning.
    let start: u16 = 0x4000 - 80;
    vga.write(
        0x3D4,
        &(u16::from(start.to_be_bytes()[0]) << 8 | 0x0C).to_le_bytes(),
    );
    vga.write(
        0x3D4,
        &(u16::from(start.to_be_bytes()[1]) << 8 | 0x0D).to_le_bytes(),
    );
    put_text(&mem, 0, 0, &[0xDB], 0x0F);
    let (frame, _) = draw(&vga, &mem, 0);
    assert_eq!(cell_px(&frame, 1, 0, 4, 8), WHITE);
}

#[test]
fn line_graphics_extend_into_the_ninth_column() {
    let (mut vga, mem) = machine();
    hide_cursor(&mut vga);
    put_text(&mem, 0, 0, &[0xC4, b'-'], 0x07);
    let (frame, _) = draw(&vga, &mem, 0);
    assert_eq!(
        cell_px(&frame, 0, 0, 8, 7),
        GREY,
        "0xC4 joins its neighbour"
    );
    assert_eq!(cell_px(&frame, 0, 1, 8, 7), BLACK, "'-' keeps a gap");
    inb(&mut vga, 0x3DA);
    outb(&mut vga, 0x3C0, 0x30);
    outb(&mut vga, 0x3C0, 0x08); // line graphics off
    let (frame, _) = draw(&vga, &mem, 0);
    assert_eq!(cell_px(&frame, 0, 0, 8, 7), BLACK);
    // SR1 bit 0: 8-dot characters, 640 wide.
    outb(&mut vga, 0x3C4, 1);
    outb(&mut vga, 0x3C5, 1);
    let (frame, _) = draw(&vga, &mem, 0);
    assert_eq!((frame.width, frame.height), (640, 400));
}

#[test]
fn blanking_by_pas_or_screen_off() {
    let (mut vga, mem) = machine();
    put_text(&mem, 0, 0, &[0xDB; 80], 0x0F);
    inb(&mut vga, 0x3DA);
    outb(&mut vga, 0x3C0, 0x00); // PAS = 0
    let (frame, info) = draw(&vga, &mem, 0);
    assert!(info.blanked);
    assert!(frame.rgba.chunks_exact(4).all(|p| p == BLACK));
    outb(&mut vga, 0x3C0, 0x00);
    outb(&mut vga, 0x3C0, 0x20); // PAS = 1
    let (frame, info) = draw(&vga, &mem, 0);
    assert!(!info.blanked);
    assert_eq!(cell_px(&frame, 0, 0, 0, 0), WHITE);
    outb(&mut vga, 0x3C4, 1);
    outb(&mut vga, 0x3C5, 0x20);
    assert!(draw(&vga, &mem, 0).1.blanked);
}

#[test]
fn mode_13h_pixels_go_through_pel_mask_and_dac() {
    let (mut vga, mem) = machine();
    vga.shared().lock().expect("not poisoned").set_mode_13h();
    outb(&mut vga, 0x3C8, 0x42);
    for c in [0x3F, 0x00, 0x15] {
        outb(&mut vga, 0x3C9, c);
    }
    mem.write(GRAPHICS_BASE + 10 * 320 + 7, &[0x42])
        .expect("RAM");
    mem.write(GRAPHICS_BASE + 199 * 320 + 319, &[0x0F])
        .expect("RAM");
    let (frame, info) = draw(&vga, &mem, 0);
    assert_eq!(
        info.mode,
        VgaMode::Graphics256 {
            width: 320,
            height: 200
        }
    );
    assert_eq!((frame.width, frame.height), (320, 200));
    assert_eq!(frame.pixel(7, 10), Some([0xFF, 0x00, 0x55, 0xFF]));
    assert_eq!(frame.pixel(6, 10), Some(BLACK));
    assert_eq!(frame.pixel(319, 199), Some(WHITE), "pal_vga 15");
    outb(&mut vga, 0x3C6, 0x0F); // 0x42 & 0x0F = 2: green
    let (frame, _) = draw(&vga, &mem, 0);
    assert_eq!(frame.pixel(7, 10), Some([0x00, 0xAA, 0x00, 0xFF]));
}

#[test]
fn unsupported_modes_show_a_message_not_garbage() {
    let (mut vga, mem) = machine();
    vga.shared().lock().expect("not poisoned").set_mode_13h();
    outb(&mut vga, 0x3CE, 5);
    outb(&mut vga, 0x3CF, 0x00); // planar
    mem.write(GRAPHICS_BASE, &[0xFF; 4096]).expect("RAM");
    let (frame, info) = draw(&vga, &mem, 0);
    assert!(matches!(info.mode, VgaMode::Unsupported { .. }));
    assert_eq!((frame.width, frame.height), (640, 400));
    assert_eq!(frame.pixel(0, 0), Some(BLACK), "not the 0xFF bytes");
    let lit = frame.rgba.chunks_exact(4).filter(|p| *p == GREY).count();
    assert!(lit > 100, "the message is drawn ({lit} pixels)");
}

/// (index, value) register writes.
type RegWrites = &'static [(u8, u8)];

/// The font-load sequence of SeaBIOS and Linux vgacon, through the ports.
fn font_window(vga: &mut Vga, open: bool) {
    let (seq, gfx): (RegWrites, RegWrites) = if open {
        (&[(2, 0x04), (4, 0x07)], &[(4, 0x02), (5, 0x00), (6, 0x00)])
    } else {
        (&[(2, 0x03), (4, 0x03)], &[(4, 0x00), (5, 0x10), (6, 0x0E)])
    };
    for &(i, v) in seq {
        vga.write(0x3C4, &[i, v]);
    }
    for &(i, v) in gfx {
        vga.write(0x3CE, &[i, v]);
    }
}

#[test]
fn guest_font_upload_is_captured() {
    let (mut vga, mem) = machine();
    hide_cursor(&mut vga);
    font_window(&mut vga, true);
    assert!(snapshot(&vga).plane2_mapped());
    let a = GRAPHICS_BASE + u64::from(b'A') * 32;
    assert_eq!(
        mem.read_u8(a + 2).expect("RAM"),
        0x10,
        "plane 2 shows the font"
    );
    mem.write(a, &[0xFF; 16]).expect("RAM");
    assert_eq!(snapshot(&vga).font().row(b'A', 0), 0x00, "not yet");
    font_window(&mut vga, false);
    let state = snapshot(&vga);
    assert!(!state.plane2_mapped());
    assert_eq!(state.font().row(b'A', 0), 0xFF);
    assert_eq!(state.font().row(b'B', 2), 0xFC, "untouched glyphs survive");
    put_text(&mem, 0, 0, b"A", 0x07);
    let (frame, _) = draw(&vga, &mem, 0);
    assert_eq!(
        cell_px(&frame, 0, 0, 0, 0),
        GREY,
        "drawn with the new glyph"
    );
    // A mode set restores the built-in font.
    vga.shared().lock().expect("not poisoned").set_mode_3();
    assert_eq!(snapshot(&vga).font().row(b'A', 0), 0x00);
}

#[test]
fn planar_graphics_plane_selects_are_not_font_uploads() {
    let (mut vga, mem) = machine();
    vga.shared().lock().expect("not poisoned").set_mode_13h();
    mem.write(GRAPHICS_BASE, &[0x5A; 64]).expect("RAM");
    for (i, v) in [(2u8, 0x04u8), (4, 0x06)] {
        vga.write(0x3C4, &[i, v]);
    }
    vga.write(0x3CE, &[4, 2]); // GR6 stays 0x05: graphics
    assert!(!snapshot(&vga).plane2_mapped());
    assert_eq!(mem.read_u8(GRAPHICS_BASE).expect("RAM"), 0x5A, "untouched");
}

use crate::test_rng::Rng;

#[test]
fn random_registers_and_memory_never_panic() {
    let (mut vga, mem) = machine();
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let mut frame = Frame::new();
    let mut junk = vec![0u8; 0x2_0000];
    for round in 0..300 {
        if round % 50 == 0 {
            let mut s = vga.shared().lock().expect("not poisoned").clone();
            if rng.next() % 2 == 0 {
                s.set_mode_13h();
            } else {
                s.set_mode_3();
            }
            *vga.shared().lock().expect("not poisoned") = s;
        }
        for _ in 0..40 {
            let port = 0x3B0 + rng.next() % 0x30;
            let len = 1 + (rng.next() % 4) as usize;
            if rng.next() % 4 == 0 {
                let mut d = vec![0u8; len];
                vga.read(port, &mut d);
            } else {
                let d: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
                vga.write(port, &d);
            }
        }
        if round % 10 == 0 {
            junk.iter_mut().for_each(|b| *b = rng.byte());
            mem.write(GRAPHICS_BASE, &junk).expect("VGA window is RAM");
        }
        let state = snapshot(&vga);
        let time = Duration::from_millis(rng.next() % 100_000);
        let info = render(&state, &mem, time, &mut frame);
        let (w, h) = info.mode.resolution();
        assert_eq!((frame.width, frame.height), (w, h));
        assert_eq!(frame.rgba.len(), w as usize * h as usize * 4);
        assert!(w > 0 && h > 0);
        if let Some(screen) = text_screen(&state, &mem) {
            assert_eq!(screen.rows().len(), usize::from(screen.row_count()));
        }
    }
}

/// Manual benchmark: `cargo test -p hv-core --release vga::tests::bench -- --ignored
/// --nocapture`. Prints the time per 80x25 frame; asserts nothing about it.
#[test]
#[ignore = "benchmark, run by hand in release mode"]
fn bench_text_frame() {
    let (vga, mem) = machine();
    for row in 0..25 {
        put_text(&mem, row, 0, &[b'#'; 80], 0x1F);
    }
    let state = snapshot(&vga);
    let mut frame = Frame::new();
    let n = 2000;
    let t = std::time::Instant::now();
    for i in 0..n {
        render(&state, &mem, Duration::from_millis(i), &mut frame);
    }
    println!(
        "80x25 text -> 720x400: {:?} per frame",
        t.elapsed() / n as u32
    );
}
