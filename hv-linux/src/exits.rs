//! Pure translation of a `kvm_run` exit into what the vCPU must do next.
//!
//! [`decode`] reads only the `kvm_run` struct, and [`complete_pio`] / [`complete_mmio`]
//! only the bytes they are given, so every exit path is unit-tested without `/dev/kvm`.
//! The kernel fills these fields, but they are still bounds-checked: a bad size or offset
//! becomes an error, never an out-of-bounds access.

use hv_core::{HvError, IoHandler, Result, VcpuExit};
use kvm_bindings::{
    KVM_EXIT_FAIL_ENTRY, KVM_EXIT_HLT, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_INTR, KVM_EXIT_IO,
    KVM_EXIT_IO_IN, KVM_EXIT_IO_OUT, KVM_EXIT_IRQ_WINDOW_OPEN, KVM_EXIT_MMIO, KVM_EXIT_SHUTDOWN,
    KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN, kvm_run,
};

/// A port access as KVM describes it: `count` elements of `size` bytes at `data_offset`
/// into the `kvm_run` mapping (`count > 1` for a batched `rep ins/outs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pio {
    pub port: u16,
    pub size: u8,
    pub count: u32,
    pub data_offset: u64,
    pub write: bool,
}

impl Pio {
    /// The byte range of the data inside a `kvm_run` mapping of `mapping_len` bytes.
    pub fn data_range(&self, mapping_len: usize) -> Result<std::ops::Range<usize>> {
        if !matches!(self.size, 1 | 2 | 4) || self.count == 0 {
            return Err(self.malformed("size or count"));
        }
        let len = usize::from(self.size)
            .checked_mul(usize::try_from(self.count).map_err(|_| self.malformed("count"))?)
            .ok_or_else(|| self.malformed("count"))?;
        let start = usize::try_from(self.data_offset).map_err(|_| self.malformed("offset"))?;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= mapping_len)
            .ok_or_else(|| self.malformed("offset"))?;
        Ok(start..end)
    }

    fn malformed(&self, what: &str) -> HvError {
        HvError::UnknownExit {
            backend: "KVM",
            code: u64::from(KVM_EXIT_IO),
            what: format!(
                "port I/O exit with a bad {what} (port {:#x}, size {}, count {}, offset {:#x})",
                self.port, self.size, self.count, self.data_offset
            ),
        }
    }
}

/// An MMIO access: `len` (1..=8) bytes at `gpa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mmio {
    pub gpa: u64,
    pub len: usize,
    pub write: bool,
}

/// What a `KVM_RUN` that returned 0 asks the vCPU to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KvmExit {
    /// Complete the port access, then report [`VcpuExit::Io`].
    Pio(Pio),
    /// Complete the MMIO access, then report [`VcpuExit::Io`].
    Mmio(Mmio),
    /// Nothing to complete; report this exit.
    Done(VcpuExit),
    /// `KVM_EXIT_INTERNAL_ERROR` with its suberror.
    InternalError { suberror: u32 },
    /// `KVM_EXIT_FAIL_ENTRY` with the hardware reason.
    FailEntry { reason: u64 },
}

/// Classifies the exit in `run`. Unknown reasons become [`HvError::UnknownExit`].
pub(crate) fn decode(run: &kvm_run) -> Result<KvmExit> {
    Ok(match run.exit_reason {
        KVM_EXIT_IO => {
            // SAFETY: exit_reason KVM_EXIT_IO says the `io` member is the live one; it is
            // plain integers, valid for any bit pattern.
            let io = unsafe { run.__bindgen_anon_1.io };
            let write = match u32::from(io.direction) {
                KVM_EXIT_IO_OUT => true,
                KVM_EXIT_IO_IN => false,
                d => return Err(unknown(run.exit_reason, format!("port I/O direction {d}"))),
            };
            KvmExit::Pio(Pio {
                port: io.port,
                size: io.size,
                count: io.count,
                data_offset: io.data_offset,
                write,
            })
        }
        KVM_EXIT_MMIO => {
            // SAFETY: exit_reason KVM_EXIT_MMIO says the `mmio` member is the live one; it
            // is plain integers, valid for any bit pattern.
            let mmio = unsafe { run.__bindgen_anon_1.mmio };
            let len = usize::try_from(mmio.len).unwrap_or(usize::MAX);
            if !(1..=mmio.data.len()).contains(&len) {
                return Err(unknown(
                    run.exit_reason,
                    format!("MMIO length {}", mmio.len),
                ));
            }
            KvmExit::Mmio(Mmio {
                gpa: mmio.phys_addr,
                len,
                write: mmio.is_write != 0,
            })
        }
        KVM_EXIT_HLT => KvmExit::Done(VcpuExit::Halt),
        KVM_EXIT_SHUTDOWN => KvmExit::Done(VcpuExit::Shutdown),
        KVM_EXIT_IRQ_WINDOW_OPEN => KvmExit::Done(VcpuExit::InterruptWindow),
        KVM_EXIT_INTR => KvmExit::Done(VcpuExit::Kicked),
        KVM_EXIT_SYSTEM_EVENT => {
            // SAFETY: exit_reason KVM_EXIT_SYSTEM_EVENT says `system_event` is live; `type_`
            // is a plain integer.
            let kind = unsafe { run.__bindgen_anon_1.system_event.type_ };
            match kind {
                KVM_SYSTEM_EVENT_SHUTDOWN => KvmExit::Done(VcpuExit::Shutdown),
                KVM_SYSTEM_EVENT_RESET => KvmExit::Done(VcpuExit::Reset),
                other => {
                    return Err(unknown(
                        run.exit_reason,
                        format!("system event type {other}"),
                    ));
                }
            }
        }
        KVM_EXIT_INTERNAL_ERROR => KvmExit::InternalError {
            // SAFETY: exit_reason KVM_EXIT_INTERNAL_ERROR says `internal` is live; it is
            // plain integers.
            suberror: unsafe { run.__bindgen_anon_1.internal.suberror },
        },
        KVM_EXIT_FAIL_ENTRY => KvmExit::FailEntry {
            // SAFETY: exit_reason KVM_EXIT_FAIL_ENTRY says `fail_entry` is live; it is plain
            // integers.
            reason: unsafe {
                run.__bindgen_anon_1
                    .fail_entry
                    .hardware_entry_failure_reason
            },
        },
        other => return Err(unknown(other, "not handled by hv".to_string())),
    })
}

fn unknown(code: u32, what: String) -> HvError {
    HvError::UnknownExit {
        backend: "KVM",
        code: u64::from(code),
        what,
    }
}

/// Completes a port access whose data lives in `data` (exactly `size * count` bytes):
/// one handler call per element, reads zero-filled first. KVM copies `in` data to the
/// guest on the next `KVM_RUN`.
pub(crate) fn complete_pio(pio: &Pio, data: &mut [u8], io: &mut dyn IoHandler) {
    for element in data.chunks_exact_mut(usize::from(pio.size)) {
        if pio.write {
            io.pio_write(pio.port, element);
        } else {
            element.fill(0);
            io.pio_read(pio.port, element);
        }
    }
}

/// Completes an MMIO access against the 8-byte `data` array of `kvm_run.mmio`.
pub(crate) fn complete_mmio(mmio: &Mmio, data: &mut [u8; 8], io: &mut dyn IoHandler) {
    let bytes = &mut data[..mmio.len.min(8)];
    if mmio.write {
        io.mmio_write(mmio.gpa, bytes);
    } else {
        bytes.fill(0);
        io.mmio_read(mmio.gpa, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvm_bindings::KVM_INTERNAL_ERROR_EMULATION;

    #[derive(Default)]
    struct Log {
        calls: Vec<(&'static str, u64, Vec<u8>)>,
    }

    impl IoHandler for Log {
        fn pio_read(&mut self, port: u16, data: &mut [u8]) {
            assert!(data.iter().all(|&b| b == 0), "reads must be zero-filled");
            let n = self.calls.len() as u8;
            data.iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = 0x10 * n + i as u8);
            self.calls.push(("in", port.into(), data.to_vec()));
        }
        fn pio_write(&mut self, port: u16, data: &[u8]) {
            self.calls.push(("out", port.into(), data.to_vec()));
        }
        fn mmio_read(&mut self, gpa: u64, data: &mut [u8]) {
            assert!(data.iter().all(|&b| b == 0), "reads must be zero-filled");
            data.fill(0xAB);
            self.calls.push(("read", gpa, data.to_vec()));
        }
        fn mmio_write(&mut self, gpa: u64, data: &[u8]) {
            self.calls.push(("write", gpa, data.to_vec()));
        }
    }

    fn io_run(direction: u32, size: u8, count: u32, data_offset: u64) -> kvm_run {
        let mut run = kvm_run {
            exit_reason: KVM_EXIT_IO,
            ..Default::default()
        };
        run.__bindgen_anon_1.io.direction = direction as u8;
        run.__bindgen_anon_1.io.size = size;
        run.__bindgen_anon_1.io.port = 0x3f8;
        run.__bindgen_anon_1.io.count = count;
        run.__bindgen_anon_1.io.data_offset = data_offset;
        run
    }

    #[test]
    fn batched_rep_outsw_calls_handler_once_per_element() {
        let KvmExit::Pio(pio) = decode(&io_run(KVM_EXIT_IO_OUT, 2, 3, 0x1000)).expect("io") else {
            panic!("not pio");
        };
        let mut page = vec![0u8; 0x2000];
        page[0x1000..0x1006].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        let range = pio.data_range(page.len()).expect("in bounds");
        let mut log = Log::default();
        complete_pio(&pio, &mut page[range], &mut log);
        let writes: Vec<_> = log.calls.iter().map(|c| c.2.clone()).collect();
        assert_eq!(writes, vec![vec![1, 2], vec![3, 4], vec![5, 6]]);
        assert!(log.calls.iter().all(|c| c.0 == "out" && c.1 == 0x3f8));
    }

    #[test]
    fn rep_insb_fills_each_element_in_order() {
        let KvmExit::Pio(pio) = decode(&io_run(KVM_EXIT_IO_IN, 1, 4, 8)).expect("io") else {
            panic!("not pio");
        };
        let mut page = [0xEEu8; 64];
        let range = pio.data_range(page.len()).expect("in bounds");
        complete_pio(&pio, &mut page[range], &mut Log::default());
        assert_eq!(&page[8..12], &[0x00, 0x10, 0x20, 0x30]);
        assert_eq!(page[12], 0xEE, "bytes past the access are untouched");
    }

    #[test]
    fn pio_outside_the_mapping_or_with_bad_size_is_an_error() {
        for (size, count, offset) in [(2, 3, 0xFFC), (3, 1, 0), (4, 0, 0), (4, u32::MAX, 0)] {
            let KvmExit::Pio(pio) =
                decode(&io_run(KVM_EXIT_IO_OUT, size, count, offset)).expect("decodes")
            else {
                panic!("not pio");
            };
            assert!(
                pio.data_range(0x1000).is_err(),
                "{size} {count} {offset:#x}"
            );
        }
        let err = decode(&io_run(7, 1, 1, 0)).expect_err("bad direction");
        assert!(err.to_string().contains("direction 7"), "{err}");
    }

    #[test]
    fn mmio_read_and_write_of_each_size() {
        for len in [1u32, 2, 4, 8] {
            for is_write in [0u8, 1] {
                let mut run = kvm_run {
                    exit_reason: KVM_EXIT_MMIO,
                    ..Default::default()
                };
                run.__bindgen_anon_1.mmio.phys_addr = 0xD000_0000;
                run.__bindgen_anon_1.mmio.len = len;
                run.__bindgen_anon_1.mmio.is_write = is_write;
                run.__bindgen_anon_1.mmio.data = [1, 2, 3, 4, 5, 6, 7, 8];
                let KvmExit::Mmio(m) = decode(&run).expect("mmio") else {
                    panic!("not mmio");
                };
                let mut data = [1, 2, 3, 4, 5, 6, 7, 8];
                let mut log = Log::default();
                complete_mmio(&m, &mut data, &mut log);
                let n = len as usize;
                if is_write == 1 {
                    assert_eq!(log.calls[0].0, "write");
                    assert_eq!(log.calls[0].2, [1, 2, 3, 4, 5, 6, 7, 8][..n].to_vec());
                } else {
                    assert_eq!(log.calls[0].0, "read");
                    assert!(data[..n].iter().all(|&b| b == 0xAB));
                    assert_eq!(data[n..], [1, 2, 3, 4, 5, 6, 7, 8][n..]);
                }
                assert_eq!(log.calls[0].1, 0xD000_0000);
            }
        }
    }

    #[test]
    fn oversized_mmio_is_rejected() {
        let mut run = kvm_run {
            exit_reason: KVM_EXIT_MMIO,
            ..Default::default()
        };
        run.__bindgen_anon_1.mmio.len = 9;
        assert!(decode(&run).is_err());
        run.__bindgen_anon_1.mmio.len = 0;
        assert!(decode(&run).is_err());
    }

    #[test]
    fn simple_exits_map_to_vcpu_exits() {
        for (reason, exit) in [
            (KVM_EXIT_HLT, VcpuExit::Halt),
            (KVM_EXIT_SHUTDOWN, VcpuExit::Shutdown),
            (KVM_EXIT_IRQ_WINDOW_OPEN, VcpuExit::InterruptWindow),
            (KVM_EXIT_INTR, VcpuExit::Kicked),
        ] {
            let run = kvm_run {
                exit_reason: reason,
                ..Default::default()
            };
            assert_eq!(decode(&run).expect("known"), KvmExit::Done(exit));
        }
    }

    #[test]
    fn system_events_and_failures_are_classified() {
        let mut run = kvm_run {
            exit_reason: KVM_EXIT_SYSTEM_EVENT,
            ..Default::default()
        };
        run.__bindgen_anon_1.system_event.type_ = KVM_SYSTEM_EVENT_RESET;
        assert_eq!(decode(&run).expect("reset"), KvmExit::Done(VcpuExit::Reset));
        run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
        run.__bindgen_anon_1.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
        assert_eq!(
            decode(&run).expect("internal"),
            KvmExit::InternalError {
                suberror: KVM_INTERNAL_ERROR_EMULATION
            }
        );
        run.exit_reason = KVM_EXIT_FAIL_ENTRY;
        run.__bindgen_anon_1
            .fail_entry
            .hardware_entry_failure_reason = 0x21;
        assert_eq!(
            decode(&run).expect("fail"),
            KvmExit::FailEntry { reason: 0x21 }
        );
    }

    #[test]
    fn unknown_exit_reason_is_an_error_with_the_code() {
        let run = kvm_run {
            exit_reason: 0x7777,
            ..Default::default()
        };
        match decode(&run) {
            Err(HvError::UnknownExit { code, backend, .. }) => {
                assert_eq!((code, backend), (0x7777, "KVM"));
            }
            other => panic!("expected UnknownExit, got {other:?}"),
        }
    }
}
