/*
 * slab.c — where objects live.
 *
 * One reservation of capacity * slot_size bytes of address space, made at
 * pool creation with mmap(MAP_NORESERVE): the kernel commits a page only
 * when an object in it is first created, so a large capacity costs nothing
 * until used. Slots never move, so a pointer check is a range check plus a
 * look at the slot header (see lfp_slab_find).
 *
 * Slot layout (object_align A >= 16, header 16 bytes):
 *   [ padding | lfp_hdr (16) | object (size) | padding to a multiple of A ]
 *   hdr_off = round_up(16, A); slot_size = round_up(hdr_off + size, A)
 * so the per-object overhead is hdr_off bytes plus rounding: 16 bytes for
 * the default alignment.
 *
 * Slot allocation (creating an object) is lock-free: vacated slots are
 * reused first, from a stack whose head is a 64-bit word packing a 32-bit
 * ABA tag with the slot index; otherwise a fresh slot is taken with one
 * fetch-and-add. The capacity bound is the number of slots, so it holds
 * without any separate counter.
 */
#include "lfpool_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The largest reservation we attempt (64 TiB of address space). */
#define LFP_ARENA_MAX ((uint64_t)1 << 46)

static size_t round_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

lfp_err lfp_slab_init(struct lfp_slab *s, size_t size, size_t align,
		      uint64_t capacity)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (align < sizeof(struct lfp_hdr))
		align = sizeof(struct lfp_hdr);
	s->hdr_off = round_up(sizeof(struct lfp_hdr), align);
	s->slot_size = round_up(s->hdr_off + size, align);
	s->object_size = size;
	s->capacity = capacity;
	s->page = page;
	if (capacity > LFP_ARENA_MAX / s->slot_size)
		return LFP_EINVAL;
	/* Over-reserve so the base can be aligned to max(align, page). */
	size_t base_align = align > page ? align : page;
	s->map_size = capacity * s->slot_size + base_align;
	s->map = mmap(NULL, s->map_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		return LFP_ENOMEM;
	}
	s->base = (char *)round_up((uintptr_t)s->map, base_align);
	s->obj_base = s->base + s->hdr_off;
	/* slot_size = 2^shift * odd: lfp_slab_find divides by multiplying. */
	s->shift = (unsigned)__builtin_ctzll(s->slot_size);
	uint64_t odd = s->slot_size >> s->shift, inv = odd;
	for (int i = 0; i < 5;
	     i++) /* Newton: 3 -> 6 -> 12 -> 24 -> 48 -> 96 bits */
		inv *= 2 - odd * inv;
	s->inv_odd = inv;
	atomic_init(&s->fresh, 0);
	atomic_init(&s->vacant, 0);
	atomic_init(&s->loose, 0);
	return LFP_OK;
}

void lfp_slab_fini(struct lfp_slab *s)
{
	if (s->map)
		munmap(s->map, s->map_size);
	s->map = NULL;
}

/* Slots ever handed out (the prefix of the arena that may hold objects). */
uint64_t lfp_slab_used(const struct lfp_slab *s)
{
	uint64_t f = atomic_load_explicit(&s->fresh, memory_order_acquire);
	return f < s->capacity ? f : s->capacity;
}

static struct lfp_hdr *slot_hdr(const struct lfp_slab *s, uint64_t idx)
{
	return lfp_hdr_of(lfp_slab_obj(s, idx));
}

/*
 * Slot stacks: Treiber stacks of slots linked through their headers'
 * vnext, with a 64-bit head packing a 32-bit ABA tag (high) and the slot
 * index + 1 (low; 0 = empty). Headers are always mapped, so reading a stale
 * link is harmless, and the tag makes a CAS on a head that changed fail.
 * One CAS per push or pop; lock-free. Used for vacant slots and for loose
 * idle objects (single objects released while others wait).
 */
static bool slot_pop(struct lfp_slab *s, _Atomic uint64_t *top, uint64_t *idx)
{
	/* Acquire: pairs with the release CAS in slot_push, so the link we
	 * read below is the one written before the slot was pushed. */
	uint64_t head = atomic_load_explicit(top, memory_order_acquire);
	while ((uint32_t)head != 0) {
		uint64_t i = (uint32_t)head - 1;
		uint32_t next = atomic_load_explicit(&slot_hdr(s, i)->vnext,
						     memory_order_relaxed);
		uint64_t want =
			(head & ~(uint64_t)UINT32_MAX) + ((uint64_t)1 << 32);
		want |= next;
		if (atomic_compare_exchange_weak_explicit(
			    top, &head, want, memory_order_acquire,
			    memory_order_acquire)) {
			*idx = i;
			return true;
		}
	}
	return false;
}

static void slot_push(struct lfp_slab *s, _Atomic uint64_t *top, uint64_t idx)
{
	struct lfp_hdr *h = slot_hdr(s, idx);
	uint64_t head = atomic_load_explicit(top, memory_order_relaxed);
	uint64_t want;
	do {
		atomic_store_explicit(&h->vnext, (uint32_t)head,
				      memory_order_relaxed);
		want = (head & ~(uint64_t)UINT32_MAX) + ((uint64_t)1 << 32);
		want |= idx + 1;
		/* Release: publishes vnext and the slot's state (destroyed, or
		 * an idle object) to the acquire CAS in slot_pop. */
	} while (!atomic_compare_exchange_weak_explicit(
		top, &head, want, memory_order_release, memory_order_relaxed));
}

/* Take a vacant slot for a new object; false when all `capacity` are live.
 * *fresh: the slot was never used (its pages are still the kernel's zero
 * pages). */
bool lfp_slab_take(struct lfp_slab *s, uint64_t *idx, bool *fresh)
{
	*fresh = false;
	if (slot_pop(s, &s->vacant, idx))
		return true;
	/* Wait-free: one fetch-and-add; overshooting past capacity is harmless
	 * (lfp_slab_used clamps) and the 64-bit counter cannot wrap. */
	uint64_t f =
		atomic_fetch_add_explicit(&s->fresh, 1, memory_order_acq_rel);
	if (f < s->capacity) {
		*idx = f;
		*fresh = true; /* never used: still the kernel's zero pages */
		return true;
	}
	return false;
}

/* Zero a reused slot's object: the whole pages inside it were returned
 * with MADV_DONTNEED by lfp_slab_give (zero on next touch), so only the
 * partial pages at either end are cleared. */
void lfp_slab_zero(struct lfp_slab *s, uint64_t idx)
{
	char *obj = lfp_slab_obj(s, idx), *end = obj + s->object_size;
	char *lo = (char *)round_up((uintptr_t)obj, s->page);
	char *hi = (char *)((uintptr_t)end & ~(uintptr_t)(s->page - 1));
	if (hi > lo) {
		memset(obj, 0, (size_t)(lo - obj));
		memset(hi, 0, (size_t)(end - hi));
	} else {
		memset(obj, 0, s->object_size);
	}
}

/* Give a slot back after its object was destroyed (tag already 0). */
void lfp_slab_give(struct lfp_slab *s, uint64_t idx)
{
	/* Return whole pages of large objects to the kernel. Never the page
	 * holding the header: the generation must survive for weak handles. */
	char *obj = lfp_slab_obj(s, idx);
	uintptr_t lo = round_up((uintptr_t)obj, s->page);
	uintptr_t hi =
		((uintptr_t)obj + s->object_size) & ~(uintptr_t)(s->page - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
	slot_push(s, &s->vacant, idx);
}

void lfp_slab_loose_push(struct lfp_slab *s, void *obj)
{
	uint64_t idx;
	lfp_slab_slot_of(s, obj, &idx);
	slot_push(s, &s->loose, idx);
}

bool lfp_slab_loose_any(struct lfp_slab *s)
{
	/* seq_cst: like lfp_depot_empty, read after the caller's own moves. */
	return (uint32_t)atomic_load_explicit(&s->loose,
					      memory_order_seq_cst) != 0;
}

void *lfp_slab_loose_pop(struct lfp_slab *s)
{
	uint64_t idx;
	return slot_pop(s, &s->loose, &idx) ? lfp_slab_obj(s, idx) : NULL;
}
