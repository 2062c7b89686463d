/*
 * stress_handles — weak handles under concurrency.
 *
 * Threads acquire objects, take a handle (lfp_handle_of), check that it
 * resolves to the object while held, release the object, and check that
 * the handle never resolves again: right after the release, later (each
 * thread keeps its last handles), and from other threads (released handles
 * are published in a shared ring that everybody probes). Objects are
 * destroyed and re-created in the same slots all the time (reset() rejects
 * 1%, and lfp_trim(0) evicts idle objects now and then), so slots are
 * reused by new objects.
 *
 * Checks: a held object's handle resolves to it and has an odd generation;
 * a released acquisition's handle never resolves; handles of foreign and
 * interior pointers are null; per slot, generations strictly increase from
 * one acquisition to the next; and every (slot, generation) pair seen in the
 * run (up to 4 M recorded) is unique (sorted at the end).
 */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define RING	  1024
#define KEEP	  8
#define LOG_TOTAL (4u << 20)

typedef struct pair {
	uint64_t slot, gen;
} pair;

typedef struct worker {
	int idx;
	st_counts c;
	pair *log;
	size_t nlog, caplog;
	uint64_t resolved_stale, probes;
} worker;

static lfp_pool *pool;
static st_factory *fac;
static uint64_t cap;
static _Atomic uint64_t *last_gen;  /* per slot, written by the holder */
static _Atomic uint64_t ring[RING]; /* released handles: gen << 16 | slot */
static _Atomic int stop;

static void probe(worker *w, lfp_handle h, const char *what)
{
	w->probes++;
	void *p = lfp_handle_get(pool, h);
	if (p) {
		w->resolved_stale++;
		st_violation("%s handle (slot %" PRIu64 ", gen %" PRIu64
			     ") resolved to %p after its release",
			     what, h.slot, h.gen, p);
	}
}

static void use_one(worker *w, st_rng *r, uint64_t me, lfp_handle *kept,
		    size_t *nk)
{
	void *o;
	int mode = (int)st_below(r, 3);
	if (st_acquire(pool, fac, &o, mode, st_below(r, 1000000), me, &w->c) !=
	    LFP_OK)
		return;
	lfp_handle h = lfp_handle_of(pool, o);
	if (h.slot == 0 || h.slot > cap || !(h.gen & 1) || h.gen >> 48)
		st_violation("handle of a held object: slot %" PRIu64
			     " gen %" PRIu64,
			     h.slot, h.gen);
	else {
		uint64_t prev = atomic_load_explicit(&last_gen[h.slot - 1],
						     memory_order_relaxed);
		if (h.gen <= prev)
			st_violation("slot %" PRIu64 ": generation %" PRIu64
				     " after %" PRIu64 " (not increasing)",
				     h.slot, h.gen, prev);
		atomic_store_explicit(&last_gen[h.slot - 1], h.gen,
				      memory_order_relaxed);
		if (w->nlog < w->caplog)
			w->log[w->nlog++] = (pair){h.slot, h.gen};
	}
	if (lfp_handle_get(pool, h) != o)
		st_violation("handle of held object id %" PRIu64
			     " does not resolve to it",
			     ((st_obj *)o)->id);
	lfp_handle bad = lfp_handle_of(pool, (char *)o + 8);
	lfp_handle stack = lfp_handle_of(pool, &bad);
	if (bad.slot || bad.gen || stack.slot || stack.gen)
		st_violation("handle of an interior/stack pointer is not null");
	st_spin((uint32_t)st_below(r, 500));
	if (lfp_handle_get(pool, h) != o)
		st_violation("handle stopped resolving while held");
	st_release(pool, fac, o, me, &w->c);
	probe(w, h, "own");
	/* Publish, then probe some released handles of others and ours. */
	atomic_store_explicit(&ring[st_below(r, RING)], h.gen << 16 | h.slot,
			      memory_order_release);
	kept[(*nk)++ % KEEP] = h;
	for (int i = 0; i < 2; i++) {
		uint64_t v = atomic_load_explicit(&ring[st_below(r, RING)],
						  memory_order_acquire);
		if (v)
			probe(w, (lfp_handle){v & 0xffff, v >> 16},
			      "published");
	}
	if (*nk >= KEEP)
		probe(w, kept[st_below(r, KEEP)], "kept");
}

static void *work(void *arg)
{
	worker *w = arg;
	st_rng r;
	st_rng_init(&r, (uint64_t)w->idx + 1);
	uint64_t me = st_thread_tag();
	lfp_handle kept[KEEP];
	size_t nk = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		use_one(w, &r, me, kept, &nk);
		if (st_chance(&r, 5)) {
			uint64_t ev;
			lfp_trim(pool, 0, &ev);
		}
		if (st_chance(&r, 5)) {
			lfp_handle forged = {1 + st_below(&r, cap),
					     st_rand(&r) | 1};
			/* A random 63-bit generation matching is (all but)
			 * impossible. */
			if (lfp_handle_get(pool, forged))
				st_violation("forged handle (slot %" PRIu64
					     ", gen %" PRIu64 ") resolved",
					     forged.slot, forged.gen);
		}
	}
	return NULL;
}

static int cmp_pair(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return x->gen < y->gen ? -1 : x->gen > y->gen;
}

int main(int argc, char **argv)
{
	st_opts o = {.seconds = 5, .threads = 8, .objects = 32};
	st_begin("stress_handles", argc, argv, &o);
	cap = o.objects > 65535 ? 65535 : o.objects;
	fac = st_factory_new(sizeof(st_obj));
	atomic_store(&fac->reset_fail_pm, 10);
	pool = st_pool_new(fac, cap, LFP_CACHE_DEFAULT, 0, 0, 0);
	st_watch_pool(pool, "pool");
	last_gen = calloc(cap, sizeof(*last_gen));
	int n = o.threads;
	worker *ws = calloc((size_t)n, sizeof(*ws));
	pthread_t *ts = calloc((size_t)n, sizeof(*ts));
	if (!ws || !ts || !last_gen)
		st_die("out of memory");
	for (int i = 0; i < n; i++) {
		ws[i].idx = i;
		ws[i].caplog = LOG_TOTAL / (size_t)n;
		ws[i].log = malloc(ws[i].caplog * sizeof(pair));
		if (!ws[i].log)
			st_die("out of memory");
		st_spawn(&ts[i], 0, work, &ws[i]);
	}
	st_sleep_until(o.seconds);
	atomic_store(&stop, 1);
	for (int i = 0; i < n; i++)
		st_join(ts[i]);
	st_counts sum = {0};
	size_t total = 0;
	uint64_t probes = 0;
	for (int i = 0; i < n; i++) {
		st_counts_add(&sum, &ws[i].c);
		total += ws[i].nlog;
		probes += ws[i].probes;
	}
	st_check_quiescent(pool, fac, 0, &sum, "end");
	st_check_all_acquirable(pool, fac, "end");
	/* Every recorded (slot, generation) pair must be unique. */
	pair *all = malloc((total ? total : 1) * sizeof(pair));
	if (!all)
		st_die("out of memory");
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		for (size_t j = 0; j < ws[i].nlog; j++)
			all[at++] = ws[i].log[j];
		free(ws[i].log);
	}
	qsort(all, total, sizeof(pair), cmp_pair);
	uint64_t dups = 0;
	for (size_t i = 1; i < total; i++)
		if (all[i].slot == all[i - 1].slot &&
		    all[i].gen == all[i - 1].gen && dups++ < 5)
			st_violation("(slot %" PRIu64 ", gen %" PRIu64
				     ") handed out twice",
				     all[i].slot, all[i].gen);
	free(all);
	lfp_stats s = LFP_STATS_INIT;
	lfp_get_stats(pool, &s);
	st_add_ops(sum.acquires + sum.releases);
	st_finish_pool(pool, fac, 0, "final");
	st_factory_free(fac);
	free(last_gen);
	free(ws);
	free(ts);
	return st_end("pairs_checked=%zu probes=%" PRIu64 " creates=%" PRIu64
		      " destroys=%" PRIu64,
		      total, probes, s.creates, s.destroys);
}
