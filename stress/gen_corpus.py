#!/usr/bin/env python3
"""Write the seed corpus for fuzz_api (stress/corpus/). Re-run after
changing the input format in fuzz_api.c. Each file is: number of pools,
10 config bytes per pool (capacity, cache, size, align, validate_on,
min_idle, max_idle, invalid-field, create-fails, no-reset), then operations:
one byte = pool (bits 5-6) and operation (low bits, mod 12), followed by the
operation's argument bytes."""
import os

TRY, TIMED, BLOCK, REL, REL2, BAD, BULKACQ, BULKREL, TRIM, MISC = 0, 2, 3, 4, 5, 6, 7, 8, 9, 10


def pool(cap=4, cache=1, size=0, align=0, validate=0, min_idle=0, idle=0,
         broken=0, fail=1, reset=1):
    # cache: byte % 6 indexes {0 (none), LFP_CACHE_DEFAULT, 1, 2, 5, 8}
    return bytes([cap - 1, cache, size, align, validate, min_idle, idle,
                  broken, fail, reset])


def op(kind, p=0, *args):
    return bytes([(p << 5) | kind, *args])


def write(name, npools, pools, ops):
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes([npools - 1]) + b"".join(pools) + b"".join(ops))


# Fill a pool, find it empty (try, timed, bulk), give everything back.
write("fill_and_drain", 1, [pool(cap=4)],
      [op(BLOCK)] * 4 + [op(TRY), op(TIMED, 0, 3), op(BULKACQ, 0, 2)] +
      [op(REL, 0, 0)] * 4 + [op(MISC, 0, 4)])
# Double, foreign, interior, stack, NULL and other-pool releases.
write("bad_releases", 2, [pool(cap=3), pool(cap=2, cache=0)],
      [op(TRY), op(TRY), op(TRY, 1), op(REL, 0, 0),
       op(BAD, 0, 1, 1), op(BAD, 0, 2, 0, 5, 1), op(BAD, 0, 3, 1),
       op(BAD, 0, 0, 1), op(BAD, 0, 4, 1), op(BAD, 0, 5, 1),
       op(BAD, 0, 7, 9, 1), op(BAD, 1, 4, 1)])
# Bulk acquire and release with a bad entry and a duplicate.
write("bulk", 1, [pool(cap=8, cache=0)],
      [op(BULKACQ, 0, 5), op(BULKACQ, 0, 9), op(BULKREL, 0, 3, 0, 1, 1, 0),
       op(BULKREL, 0, 2, 1, 0), op(BULKACQ, 0, 8), op(BULKREL, 0, 8, 1, 0)])
# Handles, trims, eviction by max_idle_ns, min_idle.
write("trim_handles", 1, [pool(cap=6, min_idle=0x82, idle=2, validate=3)],
      [op(TRY), op(TRY), op(TRY), op(MISC, 0, 7, 1, 0, 0, 0, 0, 0, 0, 0, 5),
       op(REL, 0, 0), op(REL, 0, 0), op(TRIM, 0, 0), op(TRIM, 0, 2),
       op(TRIM, 0, 1), op(MISC, 0, 3), op(TRY), op(MISC, 0, 7, 2, 0, 0, 0,
                                                        0, 0, 0, 0, 1)])
# Faults: failing create, rejecting validate and reset; flush.
write("faults", 2, [pool(cap=5, validate=3), pool(cap=2, size=3, cache=2)],
      [op(TRY), op(MISC, 0, 0), op(TRY), op(MISC, 0, 1), op(REL, 0, 0),
       op(TRY), op(MISC, 0, 0), op(TRY), op(MISC, 0, 2), op(REL, 0, 0),
       op(TRY, 1), op(MISC, 1, 0), op(TRY, 1), op(BLOCK, 1), op(TRY, 1)])
# Destroy with objects held, re-create with invalid and valid configs.
write("recreate", 3, [pool(cap=2), pool(cap=16, cache=3, align=3),
                      pool(cap=1, cache=0, broken=0x11)],
      [op(TRY), op(TRY, 1), op(MISC, 0, 6) + pool(cap=3, broken=0x31),
       op(TRY), op(MISC, 1, 6) + pool(cap=9, min_idle=0x84), op(TRY, 1),
       op(MISC, 1, 5), op(TRY, 2)])
