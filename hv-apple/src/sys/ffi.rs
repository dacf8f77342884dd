//! hv's declarations of the Hypervisor.framework functions it links, with the header's
//! integer types (`crate::abi` has the values and their pins).
//!
//! Prototypes are from `hv_vm.h`, `hv_vcpu.h` (macOS 11+) and `mach/mach_time.h`.
//! `hv_sys_reg_t` is `uint16_t` in `hv_vcpu_types.h`; every other enum type used here is
//! `uint32_t`. The GIC functions (macOS 15+) are not linked but looked up at run time
//! (`sys/gic.rs`).

use std::ffi::c_void;

use crate::abi::{ExitRecord, HvReturn, HvVcpuId};

#[link(name = "Hypervisor", kind = "framework")]
unsafe extern "C" {
    /// `hv_vm_create(hv_vm_config_t _Nullable config)`.
    pub fn hv_vm_create(config: *mut c_void) -> HvReturn;
    /// `hv_vm_destroy(void)`.
    pub fn hv_vm_destroy() -> HvReturn;
    /// `hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, hv_memory_flags_t flags)`.
    pub fn hv_vm_map(addr: *mut c_void, ipa: u64, size: usize, flags: u64) -> HvReturn;
    /// `hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config)`.
    pub fn hv_vcpu_create(
        vcpu: *mut HvVcpuId,
        exit: *mut *mut ExitRecord,
        config: *mut c_void,
    ) -> HvReturn;
    /// `hv_vcpu_destroy(hv_vcpu_t vcpu)`.
    pub fn hv_vcpu_destroy(vcpu: HvVcpuId) -> HvReturn;
    /// `hv_vcpu_run(hv_vcpu_t vcpu)`.
    pub fn hv_vcpu_run(vcpu: HvVcpuId) -> HvReturn;
    /// `hv_vcpus_exit(hv_vcpu_t *vcpus, uint32_t vcpu_count)`.
    pub fn hv_vcpus_exit(vcpus: *mut HvVcpuId, vcpu_count: u32) -> HvReturn;
    /// `hv_vcpu_get_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t *value)`.
    pub fn hv_vcpu_get_reg(vcpu: HvVcpuId, reg: u32, value: *mut u64) -> HvReturn;
    /// `hv_vcpu_set_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t value)`.
    pub fn hv_vcpu_set_reg(vcpu: HvVcpuId, reg: u32, value: u64) -> HvReturn;
    /// `hv_vcpu_get_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t *value)`.
    pub fn hv_vcpu_get_sys_reg(vcpu: HvVcpuId, reg: u16, value: *mut u64) -> HvReturn;
    /// `hv_vcpu_set_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t value)`.
    pub fn hv_vcpu_set_sys_reg(vcpu: HvVcpuId, reg: u16, value: u64) -> HvReturn;
    /// `hv_vcpu_set_pending_interrupt(hv_vcpu_t vcpu, hv_interrupt_type_t type, bool pending)`.
    pub fn hv_vcpu_set_pending_interrupt(vcpu: HvVcpuId, kind: u32, pending: bool) -> HvReturn;
    /// `hv_vcpu_set_trap_debug_exceptions(hv_vcpu_t vcpu, bool value)`.
    pub fn hv_vcpu_set_trap_debug_exceptions(vcpu: HvVcpuId, value: bool) -> HvReturn;
    /// `hv_vcpu_set_vtimer_mask(hv_vcpu_t vcpu, bool vtimer_is_masked)`.
    pub fn hv_vcpu_set_vtimer_mask(vcpu: HvVcpuId, masked: bool) -> HvReturn;
    /// `hv_vcpu_set_vtimer_offset(hv_vcpu_t vcpu, uint64_t vtimer_offset)`.
    pub fn hv_vcpu_set_vtimer_offset(vcpu: HvVcpuId, offset: u64) -> HvReturn;
}

unsafe extern "C" {
    /// `uint64_t mach_absolute_time(void)` (libSystem): the clock HVF's guest counter is
    /// defined against (hv_vcpu.h `hv_vcpu_set_vtimer_offset`).
    pub fn mach_absolute_time() -> u64;
    /// `void os_release(void *object)` (libSystem, `os/object.h`).
    pub fn os_release(object: *mut c_void);
}
