/* Leak reports name the user's call site with the out-of-line API too. */
#define LFPOOL_NO_INLINE 1
#include "leak_site.h"

Test(noinline, leak_site_is_callers)
{
	leak_site_test();
}
