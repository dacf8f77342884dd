//! Host+S: the renderer's current frame as `hv-YYYYMMDD-HHMMSS.png` in the current
//! directory, named by local time so a series of shots sorts by when it was taken.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use hv_core::devices::cmos::DateTime;
use hv_core::devices::vga::Frame;

use crate::screen;

/// A calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Stamp {
    /// `hv-YYYYMMDD-HHMMSS.png`.
    pub fn file_name(&self) -> String {
        format!(
            "hv-{:04}{:02}{:02}-{:02}{:02}{:02}.png",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// The UTC date and time `secs` seconds after 1970-01-01 (the same calendar math
    /// the emulated RTC uses).
    pub fn utc(secs: i64) -> Self {
        let t = DateTime::from_unix(secs);
        Self {
            year: t.year,
            month: u32::from(t.month),
            day: u32::from(t.day),
            hour: u32::from(t.hour),
            minute: u32::from(t.minute),
            second: u32::from(t.second),
        }
    }
}

/// Now, in local time where the OS tells it, else UTC.
pub fn now() -> Stamp {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    local(secs).unwrap_or_else(|| Stamp::utc(secs))
}

#[cfg(unix)]
fn local(secs: i64) -> Option<Stamp> {
    // time_t is 32 bits on some targets, where this conversion can fail.
    #[allow(clippy::useless_conversion)]
    let t: libc::time_t = secs.try_into().ok()?;
    // SAFETY: `tm` is plain old data, so all-zero is a valid value; localtime_r writes
    // only into the `tm` we pass and reads only `t`; both live across the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return None;
        }
        tm
    };
    Some(Stamp {
        year: i64::from(tm.tm_year) + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        second: u32::try_from(tm.tm_sec).ok()?,
    })
}

#[cfg(not(unix))]
fn local(_secs: i64) -> Option<Stamp> {
    None
}

/// Writes `frame` to a new timestamped file in the current directory.
pub fn save(frame: &Frame) -> Result<PathBuf> {
    let path = PathBuf::from(now().file_name());
    screen::write_png(&path, frame)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(Stamp::utc(0).file_name(), "hv-19700101-000000.png");
        // 2024-02-29 12:34:56 UTC (a leap day).
        assert_eq!(
            Stamp::utc(1_709_210_096).file_name(),
            "hv-20240229-123456.png"
        );
        assert_eq!(Stamp::utc(-1).file_name(), "hv-19691231-235959.png");
    }

    #[test]
    fn now_is_a_plausible_date() {
        let name = now().file_name();
        assert_eq!(name.len(), "hv-YYYYMMDD-HHMMSS.png".len(), "{name}");
        assert!(name.starts_with("hv-20"), "{name}");
    }
}
