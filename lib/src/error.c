/* error.c — error messages. */
#include "lfpool.h"

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
