/*
 * lfpool_inline.h — the cache-hit fast paths of lfp_try_acquire,
 * lfp_acquire, lfp_acquire_timed, lfp_release, lfp_acquire_bulk and
 * lfp_release_bulk, inlined into the caller.
 * Included by lfpool.h; not a header to include on its own.
 *
 * ABI: the code below reads a few internals of the library directly: the
 * first cache line of a thread cache (struct lfp__cache), the pool's
 * fast-path constants (struct lfp__pool_view), the 16-byte object header
 * in front of every object, and the thread-local pointer lfp__tls_cache.
 * Their layout is part of liblfpool.so.0's ABI: changing it needs a new
 * SONAME. The library checks each offset at compile time (_Static_assert
 * in lib/src/lfpool_internal.h). Define LFPOOL_NO_INLINE before including
 * lfpool.h to call the library for every operation instead (the same
 * functions, one call each; nothing else changes).
 *
 * The inline versions are GNU C "extern inline" (gnu_inline) definitions:
 * a call is inlined, the address of a function is still the library's
 * exported symbol, and no copy is emitted into the caller's object file.
 * A miss (empty or full cache, hooks, waiters, another pool, bad
 * arguments) calls the library's out-of-line slow path.
 */
#ifndef LFPOOL_INLINE_H
#define LFPOOL_INLINE_H

#ifdef __cplusplus
extern "C" {
#endif

/* The first line of a thread's cache for one pool. */
struct lfp__cache {
	/* The pool whose fast acquire (release) may use this cache; never a
	 * NULL or stale pool (a sentinel then). */
	lfp_pool *acq_key;
	lfp_pool *rel_key;
	/* Objects objs[top..bottom) are idle in the cache; the owner works at
	 * the bottom, other threads take from the top (see tcache.c). */
	uint32_t bottom;
	uint32_t top;
	uint32_t cap;
	uint32_t batch;
	/* Owner-written counters: cache hits, releases kept. */
	uint64_t n_hit;
	uint64_t n_put;
};
/* objs[] starts this many bytes into the cache. */
#define LFP__CACHE_OBJS 256

/* The pool's fast-path constants, at the start of every pool. */
struct lfp__pool_view {
	uintptr_t obj_base; /* the object of slot 0 */
	uint64_t inv_odd;   /* inverse of the slot size's odd part */
	uint64_t capacity;  /* slots */
	uint32_t shift;	    /* log2 of the slot size's power-of-two part */
	uint32_t reserved;
	/* Waiting acquirers (a release that sees them takes the slow path);
	 * on a cache line of its own, at byte 64. */
	uint32_t waiters __attribute__((aligned(64)));
};

/* The calling thread's most recently used cache (never NULL). */
LFP_API extern __thread struct lfp__cache *lfp__tls_cache
	__attribute__((tls_model("initial-exec")));

/* Out-of-line slow paths (the library's, exported for these functions). */
LFP_API lfp_err lfp__acquire_slow(lfp_pool *pool, void **obj,
				  uint64_t timeout_ns);
LFP_API lfp_err lfp__release_slow(lfp_pool *pool, void *obj);
/* After a fast release kept its object but saw waiters: move the cache's
 * objects where waiters look. */
LFP_API lfp_err lfp__release_waiters(lfp_pool *pool);
/* Bulk misses: one by one (acquire: all or nothing); objs[0..idle) of a
 * release were already checked and marked idle. */
LFP_API lfp_err lfp__acquire_bulk_slow(lfp_pool *pool, void **objs, size_t n);
LFP_API lfp_err lfp__release_bulk_slow(lfp_pool *pool, void *const *objs,
				       size_t n, size_t idle);

/*
 * The helpers below are always-inlined GNU extern inline functions in a
 * caller's code (no symbol, no copy), and plain static inline functions in
 * the library itself and wherever the inline API is off.
 */
#if defined(LFP__BUILDING_LIBRARY) || defined(LFPOOL_NO_INLINE) ||             \
	!defined(__GNUC__) || !defined(__OPTIMIZE__)
#define LFP__HELPER static __inline__ __attribute__((__unused__))
#elif defined(__cplusplus)
#define LFP__HELPER	inline __attribute__((__gnu_inline__, __always_inline__))
#define LFP__INLINE_API 1
#else
#define LFP__HELPER                                                            \
	extern __inline__ __attribute__((__gnu_inline__, __always_inline__))
#define LFP__INLINE_API 1
#endif

/* The owner's half of the asymmetric fence: a compiler barrier that keeps
 * a store to `stored` before a later load of `loaded` (no instruction; the
 * CPU's half comes from the membarrier of the thread on the other side).
 * It names just those two words, so the compiler may keep everything else
 * in registers across it. Under ThreadSanitizer, which cannot see
 * membarrier, it is a real fence. */
#if defined(__SANITIZE_THREAD__)
#define LFP__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LFP__TSAN 1
#endif
#endif
#ifdef LFP__TSAN
/* A seq_cst RMW on a local: a full barrier that makes no cross-thread edge
 * TSan could mistake for synchronization. */
#define LFP__ORDER(stored, loaded)                                             \
	do {                                                                   \
		int lfp__word = 0;                                             \
		__atomic_fetch_add(&lfp__word, 0, __ATOMIC_SEQ_CST);           \
	} while (0)
#else
#define LFP__ORDER(stored, loaded)                                             \
	__asm__ __volatile__("" : "+m"(loaded) : "m"(stored))
#endif

/*
 * Compare a word that other threads write with a value, as a relaxed
 * atomic load and a compare would. On x86-64 that is one instruction (cmp
 * with a memory operand), which compilers do not emit for an atomic load;
 * the asm reads the word exactly once and is never moved out of a loop.
 */
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__) &&                \
	!defined(LFP__TSAN)
LFP__HELPER int lfp__key_is(lfp_pool *const *key, lfp_pool *pool)
{
	int eq;
	__asm__ __volatile__("cmpq %2, %1"
			     : "=@ccz"(eq)
			     : "m"(*key), "r"(pool));
	return eq;
}
LFP__HELPER int lfp__is_zero(const uint32_t *word)
{
	int zero;
	__asm__ __volatile__("cmpl $0, %1" : "=@ccz"(zero) : "m"(*word));
	return zero;
}
/* (int32_t)(b - *top) < 0 */
LFP__HELPER int lfp__below(uint32_t b, const uint32_t *top)
{
	int below;
	__asm__ __volatile__("cmpl %2, %1"
			     : "=@ccs"(below)
			     : "r"(b), "m"(*top));
	return below;
}
/* The low bit of a generation (read by its holder: nobody writes it). */
LFP__HELPER int lfp__is_odd(const uint64_t *gen)
{
	int odd;
	__asm__ __volatile__("testb $1, %1" : "=@ccnz"(odd) : "m"(*gen));
	return odd;
}
#else
LFP__HELPER int lfp__key_is(lfp_pool *const *key, lfp_pool *pool)
{
	return __atomic_load_n(key, __ATOMIC_RELAXED) == pool;
}
LFP__HELPER int lfp__is_zero(const uint32_t *word)
{
	return __atomic_load_n(word, __ATOMIC_RELAXED) == 0;
}
LFP__HELPER int lfp__below(uint32_t b, const uint32_t *top)
{
	return (int32_t)(b - __atomic_load_n(top, __ATOMIC_RELAXED)) < 0;
}
LFP__HELPER int lfp__is_odd(const uint64_t *gen)
{
	return (int)(__atomic_load_n(gen, __ATOMIC_RELAXED) & 1);
}
#endif

/* The object header's generation: odd while acquired. */
LFP__HELPER uint64_t *lfp__gen_of(void *obj)
{
	/* Integer arithmetic: the compiler does not track the caller's
	 * object through it, so it does not warn about reading in front of
	 * it (read only after the slot check passed). */
	return (uint64_t *)((uintptr_t)obj - 16);
}
LFP__HELPER void **lfp__objs(struct lfp__cache *c)
{
	return (void **)(void *)((char *)c + LFP__CACHE_OBJS);
}

/*
 * Take n objects from the bottom of the cache, or none. The owner lowers
 * bottom before it reads top; a thread taking from the top claims it
 * before it reads bottom, with a process-wide barrier (membarrier) in
 * between, so one of the two sees the other (tcache.c). The compiler
 * barrier keeps our store and load in order.
 */
LFP__HELPER int lfp__cache_take(struct lfp__cache *c, void **objs, uint32_t n)
{
	uint32_t b = __atomic_load_n(&c->bottom, __ATOMIC_RELAXED) - n;
	__atomic_store_n(&c->bottom, b, __ATOMIC_RELAXED);
	LFP__ORDER(c->bottom, c->top);
	if (__builtin_expect(lfp__below(b, &c->top), 0)) {
		__atomic_store_n(&c->bottom, b + n, __ATOMIC_RELAXED);
		return 0;
	}
	void **src = lfp__objs(c) + b;
	for (uint32_t i = 0; i < n; i++)
		objs[i] = src[i];
	return 1;
}

/* Put n objects at the bottom if they fit. Release: the objects (and
 * their idle generation) are visible to a thread that reads bottom. */
LFP__HELPER int lfp__cache_put(struct lfp__cache *c, void *const *objs,
			       uint32_t n)
{
	uint32_t b = __atomic_load_n(&c->bottom, __ATOMIC_RELAXED);
	if (__builtin_expect(b + n > c->cap, 0))
		return 0;
	void **dst = lfp__objs(c) + b;
	for (uint32_t i = 0; i < n; i++)
		dst[i] = objs[i];
	__atomic_store_n(&c->bottom, b + n, __ATOMIC_RELEASE);
	return 1;
}

/*
 * Words that only the calling thread writes while it runs here: its own
 * cache's counters, and the generation of an object it holds (or has just
 * claimed from its cache). Other threads read them with relaxed atomic
 * loads (lfp_get_stats, weak handles, lfp_foreach). A plain add to memory
 * is one instruction, and an aligned 64-bit store is single-copy atomic on
 * every CPU lfpool supports, so a reader sees the old or the new value.
 * Under ThreadSanitizer they are atomic loads and stores, which TSan can
 * check.
 */
LFP__HELPER void lfp__owner_add(uint64_t *w, uint64_t n)
{
#ifdef LFP__TSAN
	__atomic_store_n(w, __atomic_load_n(w, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
#else
	*w += n;
#endif
}

/* Is obj the address of one of the pool's slots? Pure arithmetic: nothing
 * is read at obj until this says yes. */
LFP__HELPER int lfp__is_slot(const struct lfp__pool_view *v, const void *obj)
{
	uint64_t x = ((uint64_t)(uintptr_t)obj - v->obj_base) * v->inv_odd;
	x = (x >> v->shift) | (x << ((64 - v->shift) & 63));
	return x < v->capacity;
}

/* Is obj an acquired object of the pool? Then *gen is its generation. */
LFP__HELPER int lfp__check_acquired(const struct lfp__pool_view *v, void *obj,
				    uint64_t *gen)
{
	if (__builtin_expect(!lfp__is_slot(v, obj), 0))
		return 0;
	*gen = __atomic_load_n(lfp__gen_of(obj), __ATOMIC_RELAXED);
	return (int)(*gen & 1);
}

/* Cache hit: the newest cached object, marked acquired. */
LFP__HELPER int lfp__acquire_hit(lfp_pool *pool, void **obj)
{
	struct lfp__cache *c = lfp__tls_cache;
	void *o;
	if (__builtin_expect(lfp__key_is(&c->acq_key, pool) && obj != 0 &&
				     lfp__cache_take(c, &o, 1),
			     1)) {
		lfp__owner_add(&c->n_hit, 1);
		lfp__owner_add(lfp__gen_of(o), 1); /* acquired */
		*obj = o;
		return 1;
	}
	return 0;
}

/* Release into the cache: checked, no waiters seen, marked idle, pushed,
 * then a second look for waiters (one may have come in between). Returns
 * 1: done; 0: kept, but waiters want it elsewhere; -1: not kept (the slow
 * path does everything). */
LFP__HELPER int lfp__release_hit(lfp_pool *pool, void *obj)
{
	struct lfp__cache *c = lfp__tls_cache;
	const struct lfp__pool_view *v =
		(const struct lfp__pool_view *)(const void *)pool;
	/* Hide a constant pool (NULL, say) from the compiler's warnings: v
	 * is read only once the key matched a live pool. No instruction. */
	__asm__("" : "+r"(v));
	uint32_t b = __atomic_load_n(&c->bottom, __ATOMIC_RELAXED);
	/* With waiters the object goes to them (the slow path) and never
	 * through the cache: moving it out again would cost more. */
	if (__builtin_expect(lfp__key_is(&c->rel_key, pool) &&
				     lfp__is_slot(v, obj) &&
				     lfp__is_odd(lfp__gen_of(obj)) &&
				     b < c->cap && lfp__is_zero(&v->waiters),
			     1)) {
		/* Idle before it is visible in the cache. (Acquired: the
		 * generation is ours to write.) */
		lfp__owner_add(lfp__gen_of(obj), 1);
		lfp__objs(c)[b] = obj;
		__atomic_store_n(&c->bottom, b + 1, __ATOMIC_RELEASE);
		lfp__owner_add(&c->n_put, 1);
		/* Pushed, then look for waiters (the other half is a waiter's
		 * store, membarrier, then its look into our cache). */
		LFP__ORDER(c->bottom, *(uint32_t *)(uintptr_t)&v->waiters);
		if (__builtin_expect(lfp__is_zero(&v->waiters), 1))
			return 1;
		return 0;
	}
	return -1;
}

/* Bulk cache hit: n objects from the bottom, marked acquired, in one
 * claim (lfp__cache_take's protocol). */
LFP__HELPER int lfp__acquire_bulk_hit(lfp_pool *pool, void **objs, size_t n)
{
	struct lfp__cache *c = lfp__tls_cache;
	if (!lfp__key_is(&c->acq_key, pool) || !objs || n > c->cap)
		return 0;
	uint32_t b =
		__atomic_load_n(&c->bottom, __ATOMIC_RELAXED) - (uint32_t)n;
	__atomic_store_n(&c->bottom, b, __ATOMIC_RELAXED);
	LFP__ORDER(c->bottom, c->top);
	if (__builtin_expect(lfp__below(b, &c->top), 0)) {
		__atomic_store_n(&c->bottom, b + (uint32_t)n, __ATOMIC_RELAXED);
		return 0;
	}
	void **src = lfp__objs(c) + b;
#pragma GCC unroll 4
	for (size_t i = 0; i < n; i++) {
		void *o = src[i];
		objs[i] = o;
		lfp__owner_add(lfp__gen_of(o), 1); /* acquired */
	}
	lfp__owner_add(&c->n_hit, n);
	return 1;
}

/* Bulk release into the cache: each object checked and marked idle (a
 * duplicate in the batch then fails its check), all published at once.
 * Returns how many were checked and marked before one failed or the
 * cache had no room (n: all, published; *waiters then says whether
 * waiters want them elsewhere). */
LFP__HELPER size_t lfp__release_bulk_hit(lfp_pool *pool, void *const *objs,
					 size_t n, int *waiters)
{
	struct lfp__cache *c = lfp__tls_cache;
	uint32_t b = __atomic_load_n(&c->bottom, __ATOMIC_RELAXED);
	if (!lfp__key_is(&c->rel_key, pool) || !objs || n > c->cap - b)
		return 0;
	const struct lfp__pool_view *v =
		(const struct lfp__pool_view *)(const void *)pool;
	__asm__("" : "+r"(v)); /* as in lfp__release_hit */
	/* Locals: the generation stores could otherwise alias them. */
	const uint64_t base = v->obj_base, inv = v->inv_odd;
	const uint64_t slots = v->capacity;
	const unsigned sh = v->shift;
	void **dst = lfp__objs(c) + b;
	size_t i = 0;
#pragma GCC unroll 4
	for (; i < n; i++) {
		void *o = objs[i];
		uint64_t x = ((uint64_t)(uintptr_t)o - base) * inv;
		x = (x >> sh) | (x << ((64 - sh) & 63));
		if (__builtin_expect(x >= slots, 0))
			break;
		uint64_t *gp = lfp__gen_of(o);
		uint64_t g = __atomic_load_n(gp, __ATOMIC_RELAXED);
		if (__builtin_expect(!(g & 1), 0))
			break;
		__atomic_store_n(gp, g + 1, __ATOMIC_RELAXED);
		dst[i] = o;
	}
	if (__builtin_expect(i < n, 0))
		return i; /* objs[0..i) idle, not published */
	__atomic_store_n(&c->bottom, b + (uint32_t)n, __ATOMIC_RELEASE);
	lfp__owner_add(&c->n_put, n);
	/* pushed, then look for waiters */
	LFP__ORDER(c->bottom, *(uint32_t *)(uintptr_t)&v->waiters);
	*waiters = !lfp__is_zero(&v->waiters);
	return n;
}

#ifdef LFP__INLINE_API
#define LFP__EXTERN_INLINE LFP__HELPER

/* The miss path fills a temporary, so the caller's variable need not live
 * in memory on the hit path. */
LFP__HELPER lfp_err lfp__acquire_miss(lfp_pool *pool, void **obj,
				      uint64_t timeout_ns)
{
	void *o = 0;
	lfp_err err = lfp__acquire_slow(pool, obj ? &o : 0, timeout_ns);
	if (obj)
		*obj = o; /* NULL on failure, as the library's own calls do */
	return err;
}

LFP__EXTERN_INLINE lfp_err lfp_try_acquire(lfp_pool *pool, void **obj)
{
	return lfp__acquire_hit(pool, obj) ? LFP_OK
					   : lfp__acquire_miss(pool, obj, 0);
}

LFP__EXTERN_INLINE lfp_err lfp_acquire(lfp_pool *pool, void **obj)
{
	return lfp__acquire_hit(pool, obj)
		       ? LFP_OK
		       : lfp__acquire_miss(pool, obj, LFP_FOREVER);
}

LFP__EXTERN_INLINE lfp_err lfp_acquire_timed(lfp_pool *pool, void **obj,
					     uint64_t timeout_ns)
{
	return lfp__acquire_hit(pool, obj)
		       ? LFP_OK
		       : lfp__acquire_miss(pool, obj, timeout_ns);
}

LFP__EXTERN_INLINE lfp_err lfp_release(lfp_pool *pool, void *obj)
{
	int r = lfp__release_hit(pool, obj);
	if (__builtin_expect(r > 0, 1))
		return LFP_OK;
	return r == 0 ? lfp__release_waiters(pool)
		      : lfp__release_slow(pool, obj);
}

LFP__EXTERN_INLINE lfp_err lfp_acquire_bulk(lfp_pool *pool, void **objs,
					    size_t n)
{
	return lfp__acquire_bulk_hit(pool, objs, n)
		       ? LFP_OK
		       : lfp__acquire_bulk_slow(pool, objs, n);
}

LFP__EXTERN_INLINE lfp_err lfp_release_bulk(lfp_pool *pool, void *const *objs,
					    size_t n)
{
	int waiters = 0;
	size_t done = lfp__release_bulk_hit(pool, objs, n, &waiters);
	if (__builtin_expect(done == n && n, 1))
		return waiters ? lfp__release_waiters(pool) : LFP_OK;
	return lfp__release_bulk_slow(pool, objs, n, done);
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* LFPOOL_INLINE_H */
