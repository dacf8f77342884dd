//! hv's Hypervisor.framework backend (Apple Silicon, arm64 guests).
