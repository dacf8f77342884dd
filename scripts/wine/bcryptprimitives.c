/*
 * A stand-in for bcryptprimitives.dll, for running hv's Windows test binaries under
 * Wine 8.
 *
 * Rust's std (1.78 and later) takes its random numbers from
 * bcryptprimitives.dll!ProcessPrng, which Wine 8 does not export, so every Rust
 * program fails to start there. This DLL exports that one function, implemented over
 * advapi32's SystemFunction036 (RtlGenRandom), which Wine has. Windows itself has the
 * real DLL; never ship this one.
 *
 * Built by scripts/wine/run.sh next to the .exe it runs:
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

/* advapi32 exports RtlGenRandom under this name (ntsecapi.h declares it as RtlGenRandom). */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Fills `data` with `len` random bytes; TRUE on success (the documented contract). */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
