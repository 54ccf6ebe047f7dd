/* WinFsp 2.1's own headers, made to compile with mingw-w64.
 *
 * The Makefile puts them on the system include path (-isystem), which keeps GCC quiet about
 * their MSVC-isms (#pragma warning, initialized `extern` GUIDs). Three things still need help:
 *  - winfsp.h expects windows.h without NTSTATUS codes, then ntstatus.h;
 *  - the request and response buffers are __declspec(align(8)), which GCC spells `aligned`
 *    (ignored, the request's Buffer would lie at 84 instead of 88);
 *  - fsctl.h declares `void _ReadWriteBarrier(void);` (an MSVC intrinsic) inside its inline
 *    helpers, where mingw has a macro: the macro is set aside and a function stands in.
 * WINFSP_DLL_INTERNAL makes FSP_API dllexport, so our definitions of WinFsp's functions are
 * exported under their own names, and turns on the headers' size assertions. */
#ifndef WINFSP_DOUBLE_HEADERS_H
#define WINFSP_DOUBLE_HEADERS_H

#define WIN32_NO_STATUS
#include <windows.h>
#undef WIN32_NO_STATUS
#include <winternl.h>
#include <ntstatus.h>
#include <assert.h>

#define WINFSP_DLL_INTERNAL
#pragma push_macro("_ReadWriteBarrier")
#undef _ReadWriteBarrier
static inline void _ReadWriteBarrier(void) {
  __asm__ __volatile__("" ::: "memory");
}
#pragma push_macro("align")
#define align aligned
#include <winfsp/winfsp.h>
#pragma pop_macro("align")
#pragma pop_macro("_ReadWriteBarrier")

#endif
