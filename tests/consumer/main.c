/* A minimal lfpool consumer used by tests/test_install.sh. Prints OK. */
#include <lfpool.h>

#include <stdio.h>
#include <string.h>

static int creates, destroys;

static int make(void *ctx, void *obj)
{
	(void)ctx;
	memcpy(obj, "conn", 5);
	creates++;
	return 0;
}

static void drop(void *ctx, void *obj)
{
	(void)ctx;
	(void)obj;
	destroys++;
}

int main(void)
{
	lfp_config cfg = LFP_CONFIG_INIT;
	cfg.object_size = 64;
	cfg.capacity = 4;
	cfg.factory.create = make;
	cfg.factory.destroy = drop;
	lfp_pool *pool = NULL;
	lfp_err e = lfp_create(&cfg, &pool);
	if (e != LFP_OK) {
		fprintf(stderr, "lfp_create: %s\n", lfp_strerror(e));
		return 1;
	}
	void *objs[4];
	if (lfp_acquire_bulk(pool, objs, 4) != LFP_OK ||
	    strcmp(objs[0], "conn") != 0) {
		fprintf(stderr, "acquire failed\n");
		return 1;
	}
	void *extra = NULL;
	if (lfp_try_acquire(pool, &extra) != LFP_EMPTY) {
		fprintf(stderr, "capacity exceeded\n");
		return 1;
	}
	if (lfp_release_bulk(pool, objs, 4) != LFP_OK) {
		fprintf(stderr, "release failed\n");
		return 1;
	}
	lfp_stats st = LFP_STATS_INIT;
	if (lfp_get_stats(pool, &st) != LFP_OK || st.live != 4 ||
	    st.in_use != 0) {
		fprintf(stderr, "bad stats\n");
		return 1;
	}
	if (lfp_destroy(pool, NULL) != LFP_OK || creates != 4 ||
	    destroys != 4) {
		fprintf(stderr, "destroy failed\n");
		return 1;
	}
	printf("OK %d.%d.%d\n", LFPOOL_VERSION_MAJOR, LFPOOL_VERSION_MINOR,
	       LFPOOL_VERSION_PATCH);
	return 0;
}
