/*
 * Unload safety (a plugin host's pattern): dlopen liblfpool, use a pool
 * from a thread, destroy the pool, dlclose the library, and only then let
 * the thread exit. The thread's exit runs lfpool's pthread key destructor,
 * so the library's code must still be mapped (it is linked with
 * -z nodelete). Prints "OK" and exits 0; a crash fails the test.
 *
 * usage: test_dlclose PATH_TO_LIBLFPOOL_SO
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define LFPOOL_NO_INLINE /* call through dlsym'd pointers only */
#include "lfpool.h"

typedef lfp_err (*create_fn)(const lfp_config *, lfp_pool **);
typedef lfp_err (*destroy_fn)(lfp_pool *, lfp_stats *);
typedef lfp_err (*acq_fn)(lfp_pool *, void **);
typedef lfp_err (*rel_fn)(lfp_pool *, void *);

static acq_fn acquire;
static rel_fn release;
static lfp_pool *pool;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int phase;

static void wait_phase(int want)
{
	pthread_mutex_lock(&mu);
	while (phase < want)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void set_phase(int p)
{
	pthread_mutex_lock(&mu);
	phase = p;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void *user(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		void *o;
		if (acquire(pool, &o) != LFP_OK || release(pool, o) != LFP_OK) {
			fprintf(stderr, "test_dlclose: pool use failed\n");
			exit(1);
		}
	}
	set_phase(1);
	wait_phase(2); /* pool destroyed and library closed meanwhile */
	return NULL;   /* thread exit: lfpool's key destructor runs */
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBLFPOOL_SO\n", argv[0]);
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "test_dlclose: %s\n", dlerror());
		return 1;
	}
	create_fn create = (create_fn)(uintptr_t)dlsym(lib, "lfp_create");
	destroy_fn destroy = (destroy_fn)(uintptr_t)dlsym(lib, "lfp_destroy");
	acquire = (acq_fn)(uintptr_t)dlsym(lib, "lfp_try_acquire");
	release = (rel_fn)(uintptr_t)dlsym(lib, "lfp_release");
	if (!create || !destroy || !acquire || !release) {
		fprintf(stderr, "test_dlclose: missing symbols\n");
		return 1;
	}
	lfp_config cfg = LFP_CONFIG_INIT;
	cfg.object_size = 64;
	cfg.capacity = 64;
	if (create(&cfg, &pool) != LFP_OK)
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, user, NULL);
	wait_phase(1);
	if (destroy(pool, NULL) != LFP_OK)
		return 1;
	dlclose(lib);
	set_phase(2);
	pthread_join(t, NULL);
	puts("OK");
	return 0;
}
