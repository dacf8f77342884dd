/*
 * Prints, from the headers themselves, every value hv-windows/src/pins.rs pins to
 * WinHvPlatformDefs.h and WinHvEmulation.h: one "name value" line per row, with the row's
 * name. scripts/wine/check-header-pins.sh builds it against the mingw-w64 copies of the
 * headers, runs it under Wine and compares the output with the header column of pins.rs.
 * (The WHV_E_* HRESULTs are not in mingw-w64's winerror.h, so those rows are not here.)
 */
#include <windows.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <winhvemulation.h>
#include <winhvplatformdefs.h>

#define HEADER_CONST(name) \
    printf("%s 0x%llx\n", #name, (unsigned long long)(UINT32)(name))
#define SIZE(type) printf("size %s 0x%llx\n", #type, (unsigned long long)sizeof(type))
#define ALIGN(type) printf("align %s 0x%llx\n", #type, (unsigned long long)_Alignof(type))
#define OFFSET(type, field) \
    printf("%s.%s 0x%llx\n", #type, #field, (unsigned long long)offsetof(type, field))
/* A bitfield as the mask it occupies in the union word `word`. */
#define BITS(type, word, field)                                              \
    do {                                                                     \
        type u_;                                                             \
        memset(&u_, 0, sizeof u_);                                           \
        u_.field--; /* 0 - 1 sets every bit of the field */                  \
        printf("%s.%s 0x%llx\n", #type, #field, (unsigned long long)u_.word); \
    } while (0)

int main(void)
{
    HEADER_CONST(WHvX64RegisterRax);
    HEADER_CONST(WHvX64RegisterRcx);
    HEADER_CONST(WHvX64RegisterRdx);
    HEADER_CONST(WHvX64RegisterRbx);
    HEADER_CONST(WHvX64RegisterRsp);
    HEADER_CONST(WHvX64RegisterRbp);
    HEADER_CONST(WHvX64RegisterRsi);
    HEADER_CONST(WHvX64RegisterRdi);
    HEADER_CONST(WHvX64RegisterR8);
    HEADER_CONST(WHvX64RegisterR9);
    HEADER_CONST(WHvX64RegisterR10);
    HEADER_CONST(WHvX64RegisterR11);
    HEADER_CONST(WHvX64RegisterR12);
    HEADER_CONST(WHvX64RegisterR13);
    HEADER_CONST(WHvX64RegisterR14);
    HEADER_CONST(WHvX64RegisterR15);
    HEADER_CONST(WHvX64RegisterRip);
    HEADER_CONST(WHvX64RegisterRflags);
    HEADER_CONST(WHvX64RegisterEs);
    HEADER_CONST(WHvX64RegisterCs);
    HEADER_CONST(WHvX64RegisterSs);
    HEADER_CONST(WHvX64RegisterDs);
    HEADER_CONST(WHvX64RegisterFs);
    HEADER_CONST(WHvX64RegisterGs);
    HEADER_CONST(WHvX64RegisterLdtr);
    HEADER_CONST(WHvX64RegisterTr);
    HEADER_CONST(WHvX64RegisterIdtr);
    HEADER_CONST(WHvX64RegisterGdtr);
    HEADER_CONST(WHvX64RegisterCr0);
    HEADER_CONST(WHvX64RegisterCr2);
    HEADER_CONST(WHvX64RegisterCr3);
    HEADER_CONST(WHvX64RegisterCr4);
    HEADER_CONST(WHvX64RegisterCr8);
    HEADER_CONST(WHvX64RegisterEfer);
    HEADER_CONST(WHvRegisterPendingInterruption);
    HEADER_CONST(WHvRegisterInterruptState);
    HEADER_CONST(WHvRegisterPendingEvent);
    HEADER_CONST(WHvX64RegisterDeliverabilityNotifications);
    HEADER_CONST(WHvRunVpExitReasonNone);
    HEADER_CONST(WHvRunVpExitReasonMemoryAccess);
    HEADER_CONST(WHvRunVpExitReasonX64IoPortAccess);
    HEADER_CONST(WHvRunVpExitReasonUnrecoverableException);
    HEADER_CONST(WHvRunVpExitReasonInvalidVpRegisterValue);
    HEADER_CONST(WHvRunVpExitReasonUnsupportedFeature);
    HEADER_CONST(WHvRunVpExitReasonX64InterruptWindow);
    HEADER_CONST(WHvRunVpExitReasonX64Halt);
    HEADER_CONST(WHvRunVpExitReasonX64ApicEoi);
    HEADER_CONST(WHvRunVpExitReasonSynicSintDeliverable);
    HEADER_CONST(WHvRunVpExitReasonX64MsrAccess);
    HEADER_CONST(WHvRunVpExitReasonX64Cpuid);
    HEADER_CONST(WHvRunVpExitReasonException);
    HEADER_CONST(WHvRunVpExitReasonX64Rdtsc);
    HEADER_CONST(WHvRunVpExitReasonX64ApicSmiTrap);
    HEADER_CONST(WHvRunVpExitReasonHypercall);
    HEADER_CONST(WHvRunVpExitReasonX64ApicInitSipiTrap);
    HEADER_CONST(WHvRunVpExitReasonX64ApicWriteTrap);
    HEADER_CONST(WHvRunVpExitReasonCanceled);
    HEADER_CONST(WHvCapabilityCodeHypervisorPresent);
    HEADER_CONST(WHvCapabilityCodeFeatures);
    HEADER_CONST(WHvPartitionPropertyCodeExtendedVmExits);
    HEADER_CONST(WHvPartitionPropertyCodeCpuidExitList);
    HEADER_CONST(WHvPartitionPropertyCodeLocalApicEmulationMode);
    HEADER_CONST(WHvPartitionPropertyCodeProcessorCount);
    HEADER_CONST(WHvX64LocalApicEmulationModeNone);
    HEADER_CONST(WHvMapGpaRangeFlagRead);
    HEADER_CONST(WHvMapGpaRangeFlagWrite);
    HEADER_CONST(WHvMapGpaRangeFlagExecute);
    HEADER_CONST(WHvMemoryAccessRead);
    HEADER_CONST(WHvMemoryAccessWrite);
    HEADER_CONST(WHvMemoryAccessExecute);
    HEADER_CONST(WHvUnsupportedFeatureIntercept);
    HEADER_CONST(WHvUnsupportedFeatureTaskSwitchTss);
    HEADER_CONST(WHvX64PendingInterrupt);
    HEADER_CONST(WHvTranslateGvaResultSuccess);
    HEADER_CONST(WHvTranslateGvaResultPageNotPresent);
    HEADER_CONST(WHvTranslateGvaFlagValidateRead);
    BITS(WHV_EXTENDED_VM_EXITS, AsUINT64, X64CpuidExit);
    BITS(WHV_X64_VP_EXECUTION_STATE, AsUINT16, Cpl);
    BITS(WHV_X64_VP_EXECUTION_STATE, AsUINT16, Cr0Pe);
    BITS(WHV_X64_VP_EXECUTION_STATE, AsUINT16, EferLma);
    BITS(WHV_X64_VP_EXECUTION_STATE, AsUINT16, InterruptionPending);
    BITS(WHV_X64_VP_EXECUTION_STATE, AsUINT16, InterruptShadow);
    BITS(WHV_MEMORY_ACCESS_INFO, AsUINT32, AccessType);
    BITS(WHV_MEMORY_ACCESS_INFO, AsUINT32, GpaUnmapped);
    BITS(WHV_MEMORY_ACCESS_INFO, AsUINT32, GvaValid);
    BITS(WHV_X64_IO_PORT_ACCESS_INFO, AsUINT32, IsWrite);
    BITS(WHV_X64_IO_PORT_ACCESS_INFO, AsUINT32, AccessSize);
    BITS(WHV_X64_IO_PORT_ACCESS_INFO, AsUINT32, StringOp);
    BITS(WHV_X64_IO_PORT_ACCESS_INFO, AsUINT32, RepPrefix);
    BITS(WHV_X64_MSR_ACCESS_INFO, AsUINT32, IsWrite);
    BITS(WHV_X64_PENDING_INTERRUPTION_REGISTER, AsUINT64, InterruptionPending);
    BITS(WHV_X64_PENDING_INTERRUPTION_REGISTER, AsUINT64, InterruptionType);
    BITS(WHV_X64_PENDING_INTERRUPTION_REGISTER, AsUINT64, InterruptionVector);
    BITS(WHV_X64_DELIVERABILITY_NOTIFICATIONS_REGISTER, AsUINT64, InterruptNotification);
    BITS(WHV_X64_INTERRUPT_STATE_REGISTER, AsUINT64, InterruptShadow);
    BITS(WHV_X64_INTERRUPT_STATE_REGISTER, AsUINT64, NmiMasked);
    BITS(WHV_X64_SEGMENT_REGISTER, Attributes, Long);
    BITS(WHV_X64_SEGMENT_REGISTER, Attributes, Default);
    {
        /* InstructionLength:4 and Cr8:4 share the byte after ExecutionState. */
        WHV_VP_EXIT_CONTEXT v;
        memset(&v, 0, sizeof v);
        v.InstructionLength = 0xF;
        printf("WHV_VP_EXIT_CONTEXT.InstructionLength 0x%x\n", ((unsigned char *)&v)[2]);
        for (unsigned i = 0; i < sizeof v; i++)
            if (((unsigned char *)&v)[i])
                printf("WHV_VP_EXIT_CONTEXT.InstructionLength:4,Cr8:4 0x%x\n", i);
    }
    printf("WHV_RUN_VP_EXIT_CONTEXT.<union> 0x%llx\n",
           (unsigned long long)offsetof(WHV_RUN_VP_EXIT_CONTEXT, MemoryAccess));
    SIZE(WHV_RUN_VP_EXIT_CONTEXT);
    OFFSET(WHV_RUN_VP_EXIT_CONTEXT, ExitReason);
    OFFSET(WHV_RUN_VP_EXIT_CONTEXT, VpContext);
    SIZE(WHV_VP_EXIT_CONTEXT);
    OFFSET(WHV_VP_EXIT_CONTEXT, ExecutionState);
    OFFSET(WHV_VP_EXIT_CONTEXT, Cs);
    OFFSET(WHV_VP_EXIT_CONTEXT, Rip);
    OFFSET(WHV_VP_EXIT_CONTEXT, Rflags);
    SIZE(WHV_X64_SEGMENT_REGISTER);
    OFFSET(WHV_X64_SEGMENT_REGISTER, Base);
    OFFSET(WHV_X64_SEGMENT_REGISTER, Limit);
    OFFSET(WHV_X64_SEGMENT_REGISTER, Selector);
    OFFSET(WHV_X64_SEGMENT_REGISTER, Attributes);
    SIZE(WHV_X64_TABLE_REGISTER);
    OFFSET(WHV_X64_TABLE_REGISTER, Limit);
    OFFSET(WHV_X64_TABLE_REGISTER, Base);
    SIZE(WHV_MEMORY_ACCESS_CONTEXT);
    OFFSET(WHV_MEMORY_ACCESS_CONTEXT, InstructionByteCount);
    OFFSET(WHV_MEMORY_ACCESS_CONTEXT, InstructionBytes);
    OFFSET(WHV_MEMORY_ACCESS_CONTEXT, AccessInfo);
    OFFSET(WHV_MEMORY_ACCESS_CONTEXT, Gpa);
    OFFSET(WHV_MEMORY_ACCESS_CONTEXT, Gva);
    SIZE(WHV_X64_IO_PORT_ACCESS_CONTEXT);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, InstructionByteCount);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, InstructionBytes);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, AccessInfo);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, PortNumber);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rax);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rcx);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rsi);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, Rdi);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, Ds);
    OFFSET(WHV_X64_IO_PORT_ACCESS_CONTEXT, Es);
    SIZE(WHV_X64_MSR_ACCESS_CONTEXT);
    OFFSET(WHV_X64_MSR_ACCESS_CONTEXT, AccessInfo);
    OFFSET(WHV_X64_MSR_ACCESS_CONTEXT, MsrNumber);
    OFFSET(WHV_X64_MSR_ACCESS_CONTEXT, Rax);
    OFFSET(WHV_X64_MSR_ACCESS_CONTEXT, Rdx);
    SIZE(WHV_X64_CPUID_ACCESS_CONTEXT);
    OFFSET(WHV_X64_CPUID_ACCESS_CONTEXT, Rax);
    OFFSET(WHV_X64_CPUID_ACCESS_CONTEXT, Rcx);
    OFFSET(WHV_X64_CPUID_ACCESS_CONTEXT, Rdx);
    OFFSET(WHV_X64_CPUID_ACCESS_CONTEXT, Rbx);
    OFFSET(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRax);
    OFFSET(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRcx);
    OFFSET(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRdx);
    OFFSET(WHV_X64_CPUID_ACCESS_CONTEXT, DefaultResultRbx);
    SIZE(WHV_VP_EXCEPTION_CONTEXT);
    OFFSET(WHV_VP_EXCEPTION_CONTEXT, InstructionByteCount);
    OFFSET(WHV_VP_EXCEPTION_CONTEXT, InstructionBytes);
    OFFSET(WHV_VP_EXCEPTION_CONTEXT, ExceptionInfo);
    OFFSET(WHV_VP_EXCEPTION_CONTEXT, ExceptionType);
    OFFSET(WHV_VP_EXCEPTION_CONTEXT, ErrorCode);
    SIZE(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT);
    OFFSET(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT, FeatureCode);
    OFFSET(WHV_X64_UNSUPPORTED_FEATURE_CONTEXT, FeatureParameter);
    SIZE(WHV_CAPABILITY);
    SIZE(WHV_PARTITION_PROPERTY);
    SIZE(WHV_TRANSLATE_GVA_RESULT);
    SIZE(WHV_REGISTER_VALUE);
    SIZE(WHV_EMULATOR_CALLBACKS);
    OFFSET(WHV_EMULATOR_CALLBACKS, Size);
    OFFSET(WHV_EMULATOR_CALLBACKS, Reserved);
    OFFSET(WHV_EMULATOR_CALLBACKS, WHvEmulatorIoPortCallback);
    OFFSET(WHV_EMULATOR_CALLBACKS, WHvEmulatorMemoryCallback);
    OFFSET(WHV_EMULATOR_CALLBACKS, WHvEmulatorGetVirtualProcessorRegisters);
    OFFSET(WHV_EMULATOR_CALLBACKS, WHvEmulatorSetVirtualProcessorRegisters);
    OFFSET(WHV_EMULATOR_CALLBACKS, WHvEmulatorTranslateGvaPage);
    SIZE(WHV_EMULATOR_IO_ACCESS_INFO);
    OFFSET(WHV_EMULATOR_IO_ACCESS_INFO, Direction);
    OFFSET(WHV_EMULATOR_IO_ACCESS_INFO, Port);
    OFFSET(WHV_EMULATOR_IO_ACCESS_INFO, AccessSize);
    OFFSET(WHV_EMULATOR_IO_ACCESS_INFO, Data);
    SIZE(WHV_EMULATOR_MEMORY_ACCESS_INFO);
    OFFSET(WHV_EMULATOR_MEMORY_ACCESS_INFO, GpaAddress);
    OFFSET(WHV_EMULATOR_MEMORY_ACCESS_INFO, Direction);
    OFFSET(WHV_EMULATOR_MEMORY_ACCESS_INFO, AccessSize);
    OFFSET(WHV_EMULATOR_MEMORY_ACCESS_INFO, Data);
    SIZE(WHV_EMULATOR_STATUS);
    ALIGN(WHV_UINT128);
    ALIGN(WHV_REGISTER_VALUE);
    ALIGN(WHV_RUN_VP_EXIT_CONTEXT);
    printf("size of the exit context hv-windows passes 0x%llx\n",
           (unsigned long long)sizeof(WHV_RUN_VP_EXIT_CONTEXT));
    printf("stride of a register array hv-windows passes 0x%llx\n",
           (unsigned long long)sizeof(WHV_REGISTER_VALUE));
    printf("WHV_EMULATOR_CALLBACKS.Size as hv-windows fills it 0x%llx\n",
           (unsigned long long)sizeof(WHV_EMULATOR_CALLBACKS));
    {
        /* WHV_EMULATOR_STATUS, as "name bit". */
        static const char *const names[] = {
            "EmulationSuccessful",
            "InternalEmulationFailure",
            "IoPortCallbackFailed",
            "MemoryCallbackFailed",
            "TranslateGvaPageCallbackFailed",
            "TranslateGvaPageCallbackGpaIsNotAligned",
            "GetVirtualProcessorRegistersCallbackFailed",
            "SetVirtualProcessorRegistersCallbackFailed",
            "InterruptCausedIntercept",
            "GuestCannotBeFaulted",
        };
        WHV_EMULATOR_STATUS s;
        s.AsUINT32 = 0;
        s.EmulationSuccessful = 1;
        printf("%s 0x%x\n", names[0], (unsigned)__builtin_ctz(s.AsUINT32));
        s.AsUINT32 = 0;
        s.InternalEmulationFailure = 1;
        printf("%s 0x%x\n", names[1], (unsigned)__builtin_ctz(s.AsUINT32));
        s.AsUINT32 = 0;
        s.IoPortCallbackFailed = 1;
        printf("%s 0x%x\n", names[2], (unsigned)__builtin_ctz(s.AsUINT32));
        s.AsUINT32 = 0;
        s.MemoryCallbackFailed = 1;
        printf("%s 0x%x\n", names[3], (unsigned)__builtin_ctz(s.AsUINT32));
        s.AsUINT32 = 0;
        s.TranslateGvaPageCallbackFailed = 1;
        printf("%s 0x%x\n", names[4], (unsigned)__builtin_ctz(s.AsUINT32));
        s.AsUINT32 = 0;
        s.TranslateGvaPageCallbackGpaIsNotAligned = 1;
        printf("%s 0x%x\n", names[5], (unsigned)__builtin_ctz(s.AsUINT32));
        s.AsUINT32 = 0;
        s.GetVirtualProcessorRegistersCallbackFailed = 1;
        printf("%s 0x%x\n", names[6], (unsigned)__builtin_ctz(s.AsUINT32));
        s.AsUINT32 = 0;
        s.SetVirtualProcessorRegistersCallbackFailed = 1;
        printf("%s 0x%x\n", names[7], (unsigned)__builtin_ctz(s.AsUINT32));
        s.AsUINT32 = 0;
        s.InterruptCausedIntercept = 1;
        printf("%s 0x%x\n", names[8], (unsigned)__builtin_ctz(s.AsUINT32));
        s.AsUINT32 = 0;
        s.GuestCannotBeFaulted = 1;
        printf("%s 0x%x\n", names[9], (unsigned)__builtin_ctz(s.AsUINT32));
    }
    return 0;
}
