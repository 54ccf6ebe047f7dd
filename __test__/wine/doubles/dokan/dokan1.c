/* dokan1.dll of a Dokan 1.x installation, for the doctor's suite: mountkit needs Dokan 2, and a
 * machine that has only Dokan 1 must be told so. Dokan 1's library reports its version as the
 * digits of its release (152 is 1.5.2) and the driver's as 400; that is all mountkit asks of it. */
#include <windows.h>

ULONG __stdcall DokanVersion(void) { return 152; }

ULONG __stdcall DokanDriverVersion(void) { return 400; }
