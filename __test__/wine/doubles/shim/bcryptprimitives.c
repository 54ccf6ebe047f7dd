/* bcryptprimitives.dll for Wine 8, which lacks it: Rust's standard library (1.78 and later)
 * imports ProcessPrng from it for random numbers. Windows 10 and later have it; this test-only
 * stand-in draws from RtlGenRandom (advapi32's SystemFunction036), which Wine has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    /* RtlGenRandom takes a ULONG length; ask in chunks that fit. */
    ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
