/* Forced (-include) into every file of Dokany's user-mode library, whose sources stay unchanged:
 * each Win32 call that reaches the Dokan driver, or the system state the driver changes (drive
 * letters, folder mount points), goes to the fake driver instead. The fake functions pass every
 * handle and path that is not the fake driver's on to the real Win32 function.
 *
 * <windows.h> comes first, the way Dokany's own headers include it, so that its declarations keep
 * their real names; only the calls made afterwards are renamed. */
#ifndef MOUNTKIT_DOKAN_REDIRECT_H
#define MOUNTKIT_DOKAN_REDIRECT_H

#define WIN32_NO_STATUS
#include <windows.h>
#undef WIN32_NO_STATUS

HANDLE WINAPI FakeDokanCreateFileW(LPCWSTR name, DWORD access, DWORD share,
                                   LPSECURITY_ATTRIBUTES security, DWORD disposition,
                                   DWORD flags, HANDLE template_file);
BOOL WINAPI FakeDokanDeviceIoControl(HANDLE handle, DWORD code, LPVOID input, DWORD input_length,
                                     LPVOID output, DWORD output_length, LPDWORD returned,
                                     LPOVERLAPPED overlapped);
BOOL WINAPI FakeDokanCloseHandle(HANDLE handle);
DWORD WINAPI FakeDokanQueryDosDeviceW(LPCWSTR device, LPWSTR target, DWORD target_length);
DWORD WINAPI FakeDokanGetLogicalDrives(void);
BOOL WINAPI FakeDokanDeleteVolumeMountPointW(LPCWSTR mount_point);

/* The library is built with UNICODE, so CreateFile and friends already expand to the W names. */
#define CreateFileW FakeDokanCreateFileW
#define DeviceIoControl FakeDokanDeviceIoControl
#define CloseHandle FakeDokanCloseHandle
#define QueryDosDeviceW FakeDokanQueryDosDeviceW
#define GetLogicalDrives FakeDokanGetLogicalDrives
#define DeleteVolumeMountPointW FakeDokanDeleteVolumeMountPointW

#endif
