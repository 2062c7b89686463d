/*
 * fork(): a child of a busy parent can use, trim and destroy every pool it
 * inherited (lib/src/fork.c). The parent's threads hammer two pools (one
 * exhausted, with threads blocked in lfp_acquire) while the main thread
 * forks again and again; each child must finish its work within a few
 * seconds (an alarm kills a hung child) and exit 0.
 */
#include "thread_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define F_THREADS 6
#define F_FORKS	  24

struct f_shared {
	lfp_pool *big, *small;
	atomic_int stop;
};

static void *f_worker(void *arg)
{
	struct f_shared *s = arg;
	void *held[4];
	while (!atomic_load(&s->stop)) {
		int n = 0;
		while (n < 4 && lfp_try_acquire(s->big, &held[n]) == LFP_OK)
			n++;
		while (n)
			lfp_release(s->big, held[--n]);
		void *o;
		/* The small pool is exhausted most of the time: waiters. */
		if (lfp_acquire_timed(s->small, &o, 5 * TU_MS) == LFP_OK) {
			sched_yield();
			lfp_release(s->small, o);
		}
	}
	return NULL;
}

/* The child: one thread, every pool usable. Exit status says what broke. */
static int child_work(struct f_shared *s)
{
	alarm(20); /* a hang kills the child: the parent sees a signal */
	for (int i = 0; i < 2000; i++) {
		void *o;
		lfp_err e = lfp_try_acquire(s->big, &o);
		if (e == LFP_OK) {
			if (lfp_release(s->big, o) != LFP_OK)
				return 2;
		} else if (e != LFP_EMPTY) {
			return 3;
		}
	}
	void *o;
	lfp_err e = lfp_acquire_timed(s->small, &o, 100 * TU_MS);
	if (e == LFP_OK && lfp_release(s->small, o) != LFP_OK)
		return 4;
	if (e != LFP_OK && e != LFP_ETIMEDOUT)
		return 5;
	uint64_t ev;
	if (lfp_trim(s->big, 0, &ev) != LFP_OK || lfp_thread_flush(s->big))
		return 6;
	lfp_stats st = LFP_STATS_INIT;
	if (lfp_get_stats(s->big, &st) != LFP_OK)
		return 7;
	/* Objects the parent's threads held stay out: EBUSY is expected. */
	e = lfp_destroy(s->big, NULL);
	if (e != LFP_OK && e != LFP_EBUSY)
		return 8;
	e = lfp_destroy(s->small, NULL);
	if (e != LFP_OK && e != LFP_EBUSY)
		return 9;
	return 0;
}

Test(fork, child_of_a_busy_parent_uses_and_destroys_pools, .timeout = 120)
{
	lfp_config c = LFP_CONFIG_INIT;
	c.object_size = 64;
	c.capacity = 256;
	c.cache_size = 16;
	struct f_shared s = {0};
	cr_assert_eq(lfp_create(&c, &s.big), LFP_OK);
	c.capacity = 2;
	c.cache_size = LFP_CACHE_DEFAULT;
	cr_assert_eq(lfp_create(&c, &s.small), LFP_OK);
	pthread_t t[F_THREADS];
	for (int i = 0; i < F_THREADS; i++)
		pthread_create(&t[i], NULL, f_worker, &s);
	int bad = 0;
	for (int k = 0; k < F_FORKS; k++) {
		tu_sleep_ms(20);
		pid_t pid = fork();
		cr_assert_neq(pid, -1);
		if (pid == 0)
			_exit(child_work(&s));
		int status = 0;
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			bad++;
			cr_log_error("fork %d: child %s %d", k,
				     WIFEXITED(status) ? "exited" : "signal",
				     WIFEXITED(status) ? WEXITSTATUS(status)
						       : WTERMSIG(status));
		}
	}
	atomic_store(&s.stop, 1);
	for (int i = 0; i < F_THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(bad, 0, "%d of %d children failed", bad, F_FORKS);
	cr_assert_eq(lfp_destroy(s.big, NULL), LFP_OK);
	cr_assert_eq(lfp_destroy(s.small, NULL), LFP_OK);
}
