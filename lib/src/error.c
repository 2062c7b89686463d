/* error.c — error messages. */
#include "lfpool_internal.h"

static const char *const messages[LFP_ERR_COUNT_] = {
	[LFP_OK] = "success",
	[LFP_EINVAL] = "invalid argument",
	[LFP_ENOMEM] = "out of memory",
	[LFP_EMPTY] = "no object available",
	[LFP_ETIMEDOUT] = "timed out waiting for an object",
	[LFP_EFOREIGN] = "pointer is not a live object of this pool",
	[LFP_EDOUBLE] = "object released twice",
	[LFP_ECREATE] = "factory failed to create an object",
	[LFP_EBUSY] = "objects were still acquired",
	[LFP_ECLOSED] = "the pool is closed",
};

const char *lfp_strerror(lfp_err err)
{
	if ((unsigned)err >= LFP_ERR_COUNT_)
		return "unknown lfpool error";
	return messages[err];
}

const char *lfp_version(void)
{
	return LFPOOL_VERSION_STRING;
}

unsigned lfp_version_number(void)
{
	return LFPOOL_VERSION;
}

#if !defined(NDEBUG) || defined(LFP_DEBUG)
#include <stdio.h>
#include <stdlib.h>

void lfp_assert_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "lfpool: %s:%d: invariant violated: %s\n", file, line,
		what);
	abort();
}
#endif
