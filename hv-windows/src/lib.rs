//! hv's Windows Hypervisor Platform backend.
