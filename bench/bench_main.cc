// Google Benchmark shim: registers the C workloads of workloads.c for every
// pool implementation and thread count. All measured code is C; this file
// only wires threads, timing and counters. bench/README.md describes the
// workloads, the counters and the rule that marks rows whose threads did not
// get their CPU (cpu_ok = 0).
//
// Benchmark names: <impl>/<workload>/real_time/threads:<n>, and for the
// oversubscribed workloads (time-bounded, one iteration per thread)
// <impl>/<workload>/iterations:1/manual_time/threads:<n>.
//
// Extra flags (before Google Benchmark's own --benchmark_* flags), most also
// settable through an environment variable:
//   --lfpool_threads=1,2,4        LFPOOL_BENCH_THREADS    default 1,2,4..nproc
//   --lfpool_oversub8_threads=L   LFPOOL_BENCH_OVERSUB8_THREADS   10,16,64
//   --lfpool_oversub64_threads=L  LFPOOL_BENCH_OVERSUB64_THREADS  128
//   --lfpool_oversub_seconds=S    duration of an oversub row (default: the
//                                 --benchmark_min_time given, else 0.5)
//   --lfpool_work_ns=300          LFPOOL_BENCH_WORK_NS    work while holding
//   --lfpool_oversub_work_ns=1000 LFPOOL_BENCH_OVERSUB_WORK_NS  (oversub)
//   --lfpool_work_iters=N, --lfpool_oversub_iters=N  skip the calibration
//   --lfpool_calibrate            print the calibrated iteration counts, exit
//   --lfpool_cpu_offset=K         LFPOOL_BENCH_CPU_OFFSET (default 0): pin
//                                 worker i of a row with no more threads
//                                 than CPUs to allowed CPU (K + i) mod n;
//                                 -1: no pinning. Oversub rows never pin.
//   LFPOOL_BENCH_ALLOC_LABEL=mimalloc  register only the malloc rows, named
//                                 so (for runs under LD_PRELOAD)
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "flags.h"
#include "measure.h"
#include "workloads.h"

using namespace lfpool_bench;

namespace
{

constexpr size_t kObjSize = 64;		// the anchors' shape
constexpr size_t kCapacity = 4096;	// the anchors' shape
constexpr size_t kLatBudget = 1u << 22; // latency samples per row, in all
constexpr size_t kLatCapMax = 1u << 17; // latency samples per thread
constexpr double kCpuOkShare = 0.90;	// see Finish()
constexpr double kCpuOkOthers = 0.10;

struct Workload {
	const char *name;
	unsigned kind;	     // one WL_RUNS_* bit
	wl_fn fn;	     // nullptr: wl_oversub
	unsigned burst;	     // objects held at once
	size_t capacity;     // pool size
	long units_per_iter; // units per benchmark iteration (~64 pairs)
};

const Workload kWorkloads[] = {
	{"pair", WL_RUNS_PAIR, wl_pair, 1, kCapacity, 64},
	{"burst1", WL_RUNS_BURST, wl_burst, 1, kCapacity, 64},
	{"burst16", WL_RUNS_BURST, wl_burst, 16, kCapacity, 4},
	{"burst64", WL_RUNS_BURST, wl_burst, 64, kCapacity, 1},
	{"xthread", WL_RUNS_XTHREAD, wl_xthread, 1, kCapacity, 4},
	{"work", WL_RUNS_WORK, wl_work, 1, kCapacity, 8},
	{"oversub8", WL_RUNS_OVERSUB, nullptr, 1, 8, 0},
	{"oversub64", WL_RUNS_OVERSUB, nullptr, 1, 64, 0},
};

struct Settings {
	unsigned work_ns = 300, work_iters = 0;
	unsigned oversub_ns = 1000, oversub_iters = 0;
	double oversub_seconds = 0.5;
	int ncpu = 1;
	int cpu_offset = 0;    // --lfpool_cpu_offset; -1: no pinning
	std::vector<int> cpus; // the CPUs this process may run on, in order
} g;

struct Worker {
	wm_thread start, end;
	cpu_set_t saved; // affinity before pinning
	int pinned = -1; // the CPU this worker was pinned to, or -1
};

// The most objects a worker holds at once (burst64; WL_XFER_BATCH).
constexpr unsigned kHeldMax = 64;
static_assert(WL_XFER_BATCH <= kHeldMax, "held[] too small");

// One worker's state, on cache lines of its own. The loops write pairs,
// sink and held[] all the time and read pool and burst; next to another
// worker's, those lines would bounce between CPUs on every iteration (a
// shared line, not the pool, would then set the multi-thread figures).
struct alignas(128) ThreadState {
	wl_thread t;
	void *held[kHeldMax];
};

// One registered benchmark (impl x workload x thread count group). Thread 0
// prepares everything before the timed loop; the other threads pick their
// state up on their first iteration, after Google Benchmark's start barrier.
struct Ctx {
	const pool_iface *pi;
	const Workload *wl;
	void *pool = nullptr;
	std::vector<ThreadState> ts;
	std::vector<Worker> wk;
	std::vector<std::vector<uint64_t>> lat;
	std::vector<wl_ring *> rings;
	std::atomic<uint64_t> deadline{0}; // oversub: end of the window
	std::atomic<uint64_t> window{0};   // oversub: start of the window
	std::atomic<int> arrived{0};	   // oversub: threads that have run
	wm_machine m0{}, m1{};
	pthread_barrier_t done;
	bool barrier_live = false;

	bool Oversub() const
	{
		return wl->kind == WL_RUNS_OVERSUB;
	}

	void Prepare(int nt)
	{
		pool = pi->create(wl->capacity, kObjSize);
		if (!pool) {
			std::fprintf(stderr, "%s: create(%zu, %zu) failed\n",
				     pi->name, wl->capacity, kObjSize);
			std::exit(2);
		}
		ts.assign(nt, ThreadState{});
		wk.assign(nt, Worker{});
		lat.assign(Oversub() ? nt : 0, std::vector<uint64_t>());
		deadline.store(0);
		window.store(0);
		arrived.store(0);
		for (wl_ring *r : rings)
			wl_ring_free(r);
		rings.clear();
		const bool xthread = wl->kind == WL_RUNS_XTHREAD;
		if (xthread) {
			for (int i = 0; i < nt / 2; i++) {
				wl_ring *r = wl_ring_new();
				if (!r)
					std::abort();
				rings.push_back(r);
			}
		}
		size_t lat_cap = kLatCapMax;
		while (lat_cap > 1024 && lat_cap * nt > kLatBudget)
			lat_cap /= 2;
		for (int i = 0; i < nt; i++) {
			wl_thread &t = ts[i].t;
			t.pi = pi;
			t.pool = pool;
			t.burst = wl->burst;
			t.work_iters = Oversub() ? g.oversub_iters
				       : wl->kind == WL_RUNS_WORK ? g.work_iters
								  : 0;
			t.held = ts[i].held;
			t.role = WL_ROLE_BOTH;
			if (xthread && i < 2 * (nt / 2)) {
				t.role = (i % 2) ? WL_ROLE_CONSUMER
						 : WL_ROLE_PRODUCER;
				t.ring = rings[i / 2];
			}
			if (Oversub()) {
				// touched here, outside the timed loop
				lat[i].assign(lat_cap, 0);
				t.lat = lat[i].data();
				t.lat_cap = lat_cap;
			}
		}
		if (barrier_live)
			pthread_barrier_destroy(&done);
		pthread_barrier_init(&done, nullptr, static_cast<unsigned>(nt));
		barrier_live = true;
	}

	// Workers of a row with no more threads than CPUs run pinned, worker
	// i on CPU (offset + i) mod n, so every competitor in a repetition
	// runs on the same CPUs: the CPUs of a VM need not be equally fast
	// (bench/README.md, "Pinning"), and an unpinned one-thread row would
	// land on either by chance.
	void Pin(int tid)
	{
		Worker &w = wk[tid];
		const size_t n = g.cpus.size();
		if (Oversub() || g.cpu_offset < 0 || n == 0 || ts.size() > n)
			return;
		const int cpu = g.cpus[(static_cast<size_t>(g.cpu_offset) +
					static_cast<size_t>(tid)) %
				       n];
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (pthread_getaffinity_np(pthread_self(), sizeof(w.saved),
					   &w.saved) == 0 &&
		    pthread_setaffinity_np(pthread_self(), sizeof(one), &one) ==
			    0)
			w.pinned = cpu;
	}

	void Unpin(int tid)
	{
		Worker &w = wk[tid];
		if (w.pinned >= 0)
			pthread_setaffinity_np(pthread_self(), sizeof(w.saved),
					       &w.saved);
	}

	wl_thread *Enter(int tid)
	{
		Pin(tid);
		if (pi->thread_init)
			pi->thread_init(pool);
		if (tid == 0)
			wm_machine_sample(&m0);
		wm_thread_sample(&wk[tid].start);
		return &ts[tid].t;
	}

	void Leave(int tid)
	{
		wm_thread_sample(&wk[tid].end);
		if (tid == 0)
			wm_machine_sample(&m1);
		if (pi->thread_fini)
			pi->thread_fini(pool);
		Unpin(tid);
	}

	// Oversub: from the start of the window to the last worker's end.
	double RowSeconds() const
	{
		uint64_t a = window.load(), b = 0;
		for (const Worker &w : wk)
			b = std::max(b, w.end.wall_ns);
		return b > a ? static_cast<double>(b - a) * 1e-9 : 1e-9;
	}

	// Thread 0, after every worker has left: the row's own counters.
	void Finish(benchmark::State &state)
	{
		const int nt = static_cast<int>(ts.size());
		double share_min = 1.0, run_min = 1.0;
		bool have_sched = true;
		long nvcsw = 0;
		uint64_t ops = 0, ops_min = UINT64_MAX, ops_max = 0;
		for (int i = 0; i < nt; i++) {
			const wm_thread &a = wk[i].start, &b = wk[i].end;
			double wall =
				static_cast<double>(b.wall_ns - a.wall_ns);
			double cpu = static_cast<double>(b.cpu_ns - a.cpu_ns);
			double delay = static_cast<double>(b.run_delay_ns -
							   a.run_delay_ns);
			share_min = std::min(share_min,
					     wall > 0 ? cpu / wall : 1.0);
			run_min = std::min(run_min,
					   cpu + delay > 0 ? cpu / (cpu + delay)
							   : 1.0);
			have_sched = have_sched && a.have_schedstat &&
				     b.have_schedstat;
			nvcsw += b.nvcsw - a.nvcsw;
			ops += ts[i].t.pairs;
			ops_min = std::min(ops_min, ts[i].t.pairs);
			ops_max = std::max(ops_max, ts[i].t.pairs);
		}
		const double others = wm_others_share(&m0, &m1, g.ncpu);
		// Rows with no more workers than CPUs: every worker must have
		// run for >= 90% of the time it was runnable (schedstat run
		// delay; a voluntary sleep, e.g. on a contended mutex, is not
		// CPU denied), or without schedstat >= 90% of the wall time.
		// More workers than CPUs (oversub): the workers compete with
		// each other, so the test is on the machine instead: other
		// processes may have used at most 10% of its CPU time.
		bool ok;
		if (nt <= g.ncpu)
			ok = (have_sched ? run_min : share_min) >= kCpuOkShare;
		else
			ok = others >= 0 && others <= kCpuOkOthers;
		auto &cn = state.counters;
		cn["cpu_share_min"] = share_min;
		if (have_sched)
			cn["run_share_min"] = run_min;
		cn["cpu_others"] = others;
		cn["loadavg1"] = wm_loadavg1();
		cn["cpu_ok"] = ok ? 1 : 0;
		cn["cpu_first"] = wk.empty() ? -1 : wk[0].pinned;
		cn["nvcsw_per_op"] = ops ? static_cast<double>(nvcsw) /
						     static_cast<double>(ops)
					 : 0;
		if (pi->retries)
			cn["retries"] = static_cast<double>(pi->retries(pool));
		if (Oversub()) {
			std::vector<wl_thread *> ptrs;
			for (ThreadState &st : ts)
				ptrs.push_back(&st.t);
			wl_lat_summary s;
			if (wl_lat_merge(ptrs.data(), ptrs.size(), &s) == 0 &&
			    s.samples) {
				cn["p50_ns"] = s.p50_ns;
				cn["p99_ns"] = s.p99_ns;
				cn["p999_ns"] = s.p999_ns;
				cn["max_wait_ns"] = s.max_ns;
				cn["lat_samples"] =
					static_cast<double>(s.samples);
			}
			cn["fairness"] =
				ops_max ? static_cast<double>(ops_min) /
						  static_cast<double>(ops_max)
					: 0;
		}
		pi->destroy(pool);
		pool = nullptr;
		for (wl_ring *r : rings)
			wl_ring_free(r);
		rings.clear();
		lat.clear();
	}
};

void RunBench(benchmark::State &state, Ctx *c)
{
	const int tid = state.thread_index();
	if (tid == 0)
		c->Prepare(state.threads());
	wl_thread *t = nullptr;
	if (c->Oversub()) {
		const uint64_t dur =
			static_cast<uint64_t>(g.oversub_seconds * 1e9);
		for (auto _ : state) { // one iteration: until the deadline
			t = c->Enter(tid);
			// The window starts once every thread has run (woken
			// from Google Benchmark's barrier and got a CPU).
			c->arrived.fetch_add(1);
			while (c->arrived.load() < state.threads())
				sched_yield();
			uint64_t none = 0, now = wl_now_ns();
			if (c->deadline.compare_exchange_strong(none,
								now + dur))
				c->window.store(now);
			t->deadline_ns = c->deadline.load();
			wl_oversub(t);
			// Done: give back what the thread keeps (cached or
			// retired objects) before waiting for the others, or
			// they could starve on a pool this small.
			c->Leave(tid);
		}
	} else {
		const wl_fn fn = c->wl->fn;
		const long units = c->wl->units_per_iter;
		for (auto _ : state) {
			if (BENCHMARK_BUILTIN_EXPECT(t == nullptr, false))
				t = c->Enter(tid);
			fn(t, units);
		}
	}
	if (t == nullptr) {
		t = c->Enter(tid);
		c->Leave(tid);
	} else if (!c->Oversub()) {
		c->Leave(tid);
	}
	pthread_barrier_wait(&c->done); // every worker's samples are in
	const double pairs = static_cast<double>(t->pairs);
	benchmark::DoNotOptimize(t->sink);
	if (c->Oversub()) // the same row time for every thread
		state.SetIterationTime(c->RowSeconds());
	using C = benchmark::Counter;
	state.SetItemsProcessed(static_cast<int64_t>(t->pairs));
	state.counters["Mpairs/s"] = C(pairs * 1e-6, C::kIsRate);
	if (c->Oversub())
		state.counters["Mops/s"] = C(pairs * 1e-6, C::kIsRate);
	// sum(pairs)/wall/threads = pairs per second per thread; inverted:
	// seconds per pair per thread; the 1e-9 scale makes it nanoseconds.
	state.counters["ns_per_pair_thread"] =
		C(pairs * 1e-9, C::kIsRate | C::kAvgThreads | C::kInvert);
	if (tid == 0)
		c->Finish(state); // the others read nothing after the barrier
}

std::vector<int> DefaultThreads()
{
	std::vector<int> v;
	for (int t = 1; t < g.ncpu; t *= 2)
		v.push_back(t);
	v.push_back(g.ncpu);
	return v;
}

unsigned Uint(const char *s, const char *what)
{
	return static_cast<unsigned>(ParseList(s, what)[0]);
}

// Glibc takes single-thread shortcuts (a mutex without atomics, for one)
// while a process has never created a thread; this one keeps every row
// honest, including the 1-thread ones. It sleeps forever.
void *Parked(void *)
{
	for (;;)
		pause();
	return nullptr;
}

} // namespace

int main(int argc, char **argv)
{
	pthread_t parked;
	if (pthread_create(&parked, nullptr, Parked, nullptr) != 0) {
		std::perror("lfpool_bench: pthread_create");
		return 2;
	}
	pthread_detach(parked);
	g.ncpu = wm_ncpu();

	const char *threads_s = FlagOrEnv(&argc, argv, "--lfpool_threads",
					  "LFPOOL_BENCH_THREADS");
	const char *o8_s = FlagOrEnv(&argc, argv, "--lfpool_oversub8_threads",
				     "LFPOOL_BENCH_OVERSUB8_THREADS");
	if (const char *old = FlagOrEnv(&argc, argv, "--lfpool_oversub_threads",
					nullptr)) // the former name
		o8_s = old;
	const char *o64_s = FlagOrEnv(&argc, argv, "--lfpool_oversub64_threads",
				      "LFPOOL_BENCH_OVERSUB64_THREADS");
	const char *osec_s =
		FlagOrEnv(&argc, argv, "--lfpool_oversub_seconds", nullptr);
	const char *work_s = FlagOrEnv(&argc, argv, "--lfpool_work_ns",
				       "LFPOOL_BENCH_WORK_NS");
	const char *owork_s = FlagOrEnv(&argc, argv, "--lfpool_oversub_work_ns",
					"LFPOOL_BENCH_OVERSUB_WORK_NS");
	const char *witers_s =
		FlagOrEnv(&argc, argv, "--lfpool_work_iters", nullptr);
	const char *oiters_s =
		FlagOrEnv(&argc, argv, "--lfpool_oversub_iters", nullptr);
	const char *offset_s = FlagOrEnv(&argc, argv, "--lfpool_cpu_offset",
					 "LFPOOL_BENCH_CPU_OFFSET");
	const bool calibrate_only =
		TakeFlag(&argc, argv, "--lfpool_calibrate") != nullptr;
	const char *label = std::getenv("LFPOOL_BENCH_ALLOC_LABEL");
	if (label && !*label)
		label = nullptr;

	std::vector<int> threads =
		threads_s ? ParseList(threads_s, "threads") : DefaultThreads();
	std::vector<int> over8 = o8_s ? ParseList(o8_s, "oversub8 threads")
				      : std::vector<int>{10, 16, 64};
	std::vector<int> over64 = o64_s ? ParseList(o64_s, "oversub64 threads")
					: std::vector<int>{128};
	if (const char *mt = PeekFlag(argc, argv, "--benchmark_min_time"))
		g.oversub_seconds = std::atof(mt);
	if (osec_s)
		g.oversub_seconds = std::atof(osec_s);
	if (!(g.oversub_seconds > 0))
		g.oversub_seconds = 0.5;
	if (offset_s) {
		char *end = nullptr;
		const long k = std::strtol(offset_s, &end, 10);
		if (end == offset_s || *end != '\0' || k > 1 << 20) {
			std::fprintf(stderr, "bad cpu_offset '%s'\n", offset_s);
			return 2;
		}
		g.cpu_offset = k < 0 ? -1 : static_cast<int>(k);
	}
	{
		cpu_set_t allowed;
		if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
			for (int c = 0; c < CPU_SETSIZE; c++)
				if (CPU_ISSET(c, &allowed))
					g.cpus.push_back(c);
	}
	if (work_s)
		g.work_ns = Uint(work_s, "work_ns");
	if (owork_s)
		g.oversub_ns = Uint(owork_s, "oversub_work_ns");
	g.work_iters = witers_s ? Uint(witers_s, "work_iters")
				: wl_calibrate_work(g.work_ns);
	g.oversub_iters = oiters_s ? Uint(oiters_s, "oversub_iters")
				   : wl_calibrate_work(g.oversub_ns);
	if (calibrate_only) {
		std::printf("work_iters=%u oversub_iters=%u\n", g.work_iters,
			    g.oversub_iters);
		return 0;
	}

	std::vector<const pool_iface *> impls;
	if (label) {
		impls = {&impl_malloc};
	} else {
		impls = {
			&impl_lfpool,	&impl_lfpool_bulk, &impl_lfpool_nocache,
#ifdef LFPOOL_BENCH_HAVE_DPDK
			&impl_dpdk,	&impl_dpdk_bulk,
#endif
			&impl_mutex,	&impl_condvar,	   &impl_sem,
			&impl_ck_dwcas, &impl_ck_hp,	   &impl_malloc,
			&impl_tls_array};
	}
	const char *lt = PeekFlag(argc, argv, "--benchmark_list_tests");
	const bool listing = lt && std::strcmp(lt, "false") != 0 &&
			     std::strcmp(lt, "0") != 0;

	static std::vector<std::unique_ptr<Ctx>> ctxs;
	std::string skipped;
	for (const Workload &wl : kWorkloads) {
		const bool oversub = wl.kind == WL_RUNS_OVERSUB;
		if (wl.burst > kHeldMax) {
			std::fprintf(stderr, "lfpool_bench: %s holds %u > %u\n",
				     wl.name, wl.burst, kHeldMax);
			return 1;
		}
		for (const pool_iface *pi : impls) {
			if (!(pi->runs & wl.kind))
				continue;
			if ((wl.kind &
			     (WL_RUNS_PAIR | WL_RUNS_BURST | WL_RUNS_WORK)) &&
			    pi->loops == nullptr) {
				std::fprintf(stderr,
					     "lfpool_bench: %s runs %s but has "
					     "no loops (WL_LOOPS)\n",
					     pi->name, wl.name);
				return 1;
			}
			std::string name =
				std::string(pi == &impl_malloc && label
						    ? label
						    : pi->name) +
				"/" + wl.name;
			// Held at once per thread: the pool must keep enough
			// free that partial bursts cannot hold every object.
			unsigned held = wl.kind == WL_RUNS_XTHREAD
						? WL_XFER_BATCH
						: wl.burst;
			std::vector<int> tl;
			for (int n :
			     oversub ? (wl.capacity == 8 ? over8 : over64)
				     : threads) {
				const char *why = nullptr;
				if (!oversub &&
				    static_cast<size_t>(wl.burst) * n * 2 >
					    wl.capacity)
					why = "bursts would hold over half the "
					      "pool";
				else if (pi->supports &&
					 !pi->supports(static_cast<unsigned>(n),
						       held, wl.capacity))
					why = "could starve or exceed a limit "
					      "of the implementation";
				if (why) {
					skipped += name + "/threads:" +
						   std::to_string(n) + " (" +
						   why + "); ";
					if (listing)
						std::fprintf(stderr,
							     "skipping %s with "
							     "%d threads: %s\n",
							     name.c_str(), n,
							     why);
					continue;
				}
				tl.push_back(n);
			}
			if (tl.empty())
				continue;
			ctxs.emplace_back(new Ctx());
			Ctx *c = ctxs.back().get();
			c->pi = pi;
			c->wl = &wl;
			auto *b = benchmark::RegisterBenchmark(
				name.c_str(),
				[c](benchmark::State &st) { RunBench(st, c); });
			if (oversub)
				b->Iterations(1)->UseManualTime();
			else
				b->UseRealTime();
			for (int n : tl)
				b->Threads(n);
		}
	}

	auto ctx = [](const char *k, const std::string &v) {
		benchmark::AddCustomContext(k, v);
	};
	ctx("lfpool_bench_threads", Join(threads));
	ctx("lfpool_bench_oversub8_threads", Join(over8));
	ctx("lfpool_bench_oversub64_threads", Join(over64));
	ctx("lfpool_bench_oversub_seconds", std::to_string(g.oversub_seconds));
	ctx("lfpool_bench_work_ns", std::to_string(g.work_ns));
	ctx("lfpool_bench_work_iters", std::to_string(g.work_iters));
	ctx("lfpool_bench_oversub_work_ns", std::to_string(g.oversub_ns));
	ctx("lfpool_bench_oversub_iters", std::to_string(g.oversub_iters));
	ctx("lfpool_bench_alloc", label ? label : "glibc");
	ctx("lfpool_bench_object_size", std::to_string(kObjSize));
	ctx("lfpool_bench_capacity", std::to_string(kCapacity));
	ctx("lfpool_bench_online_cpus", std::to_string(g.ncpu));
	ctx("lfpool_bench_parked_thread", "yes");
	ctx("lfpool_bench_cpu_ok_rule",
	    "threads <= cpus: min over workers of cpu/(cpu+run delay) >= 0.90 "
	    "(cpu/wall without schedstat); threads > cpus: other processes "
	    "used <= 10% of the machine's CPU time");
#ifdef LFPOOL_BENCH_HAVE_DPDK
	ctx("lfpool_bench_dpdk", LFPOOL_BENCH_DPDK_VERSION
	    " rte_mempool ring_mp_mc, cache 256, rte_thread_register");
#else
	ctx("lfpool_bench_dpdk", "not built (libdpdk not found)");
#endif
	if (!skipped.empty())
		ctx("lfpool_bench_skipped", skipped);
#ifdef LFPOOL_BENCH_INJECT_SLOWDOWN
	ctx("lfpool_bench_injected_slowdown", "yes");
#endif

	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
