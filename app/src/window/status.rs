//! Words for the window title and the overlay: the guest's VGA mode and run state.

use hv_core::devices::vga::VgaMode;

/// The guest's display mode in a few words ("text 80x25", "320x200, 256 colours").
pub fn mode_label(mode: &VgaMode) -> String {
    match *mode {
        VgaMode::Text { cols, rows, .. } => format!("text {cols}x{rows}"),
        VgaMode::Graphics256 { width, height } => format!("{width}x{height}, 256 colours"),
        VgaMode::Unsupported { description } => format!("unsupported mode ({description})"),
    }
}

/// What the title bar says: "hv — <image> — running|paused — <mode>", plus a note
/// while input is captured (how to release it).
pub fn title(image: &str, paused: bool, mode: Option<&VgaMode>, hint: Option<&str>) -> String {
    let state = if paused { "paused" } else { "running" };
    let mode = mode.map_or_else(|| "starting".to_owned(), mode_label);
    let mut t = format!("hv — {image} — {state} — {mode}");
    if let Some(hint) = hint {
        t.push_str(" — ");
        t.push_str(hint);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_name_image_state_and_mode() {
        let text = VgaMode::Text {
            cols: 80,
            rows: 25,
            char_height: 16,
            char_width: 9,
        };
        assert_eq!(
            title("dos.img", false, Some(&text), None),
            "hv — dos.img — running — text 80x25"
        );
        let m13 = VgaMode::Graphics256 {
            width: 320,
            height: 200,
        };
        assert_eq!(
            title(
                "demo",
                true,
                Some(&m13),
                Some("input captured (Right Ctrl releases it)")
            ),
            "hv — demo — paused — 320x200, 256 colours — input captured (Right Ctrl releases it)"
        );
        assert_eq!(title("x", false, None, None), "hv — x — running — starting");
    }
}
