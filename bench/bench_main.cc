// Google Benchmark shim: registers the C workloads of workloads.c for every
// pool implementation and thread count. All measured code is C; this file
// only wires threads, timing and counters.
//
// Benchmark names: <impl>/<workload>/real_time/threads:<n>
// Counters (in the JSON output as fields of each run):
//   Mpairs/s            total acquire+release pairs per second, all threads
//   ns_per_pair_thread  wall-clock ns per pair per thread (threads/throughput)
//   p50_ns p99_ns p999_ns max_ns lat_samples   acquire latency (oversub only)
//
// Extra flags (before Google Benchmark's own --benchmark_* flags), each also
// settable through an environment variable:
//   --lfpool_threads=1,2,4        LFPOOL_BENCH_THREADS        default
//   1,2,4..nproc
//   --lfpool_oversub_threads=16   LFPOOL_BENCH_OVERSUB_THREADS default 16 (and
//   2*nproc if > 16)
//   --lfpool_work_ns=300          LFPOOL_BENCH_WORK_NS        work while
//   holding LFPOOL_BENCH_ALLOC_LABEL=mimalloc  register only the malloc rows,
//   named so
//                                      (for runs under LD_PRELOAD)
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "workloads.h"

namespace
{

constexpr size_t kObjSize = 64;	       // the anchors' shape
constexpr size_t kCapacity = 4096;     // the anchors' shape
constexpr size_t kOversubCapacity = 8; // oversubscribed: threads > capacity
constexpr size_t kLatCap = 1u << 17;   // latency samples kept per thread

struct Workload {
	const char *name;
	wl_fn fn;
	unsigned burst;	     // objects held at once
	bool work;	     // dummy computation while holding
	bool oversub;	     // capacity 8, blocking, latency percentiles
	long units_per_iter; // units per benchmark iteration (~64 pairs)
};

const Workload kWorkloads[] = {
	{"pair", wl_pair, 1, false, false, 64},
	{"burst1", wl_burst, 1, false, false, 64},
	{"burst16", wl_burst, 16, false, false, 4},
	{"burst64", wl_burst, 64, false, false, 1},
	{"xthread", wl_xthread, 1, false, false, 4},
	{"work", wl_work, 1, true, false, 8},
	{"oversub", wl_oversub, 1, true, true, 4},
};

unsigned g_work_iters = 0;
unsigned g_work_ns = 300;

// One registered benchmark (impl x workload x thread count group). Thread 0
// prepares everything before the timed loop; the other threads pick their
// state up on their first iteration, after Google Benchmark's start barrier.
struct Ctx {
	const pool_iface *pi;
	const Workload *wl;
	void *pool = nullptr;
	std::vector<wl_thread> ts;
	std::vector<std::vector<void *>> held;
	std::vector<std::vector<uint64_t>> lat;
	std::vector<wl_ring *> rings;
	pthread_barrier_t done;

	void Prepare(int nt)
	{
		size_t cap = wl->oversub ? kOversubCapacity : kCapacity;
		pool = pi->create(cap, kObjSize);
		if (!pool) {
			std::fprintf(stderr, "%s: create(%zu, %zu) failed\n",
				     pi->name, cap, kObjSize);
			std::exit(2);
		}
		ts.assign(nt, wl_thread{});
		held.assign(nt, std::vector<void *>());
		lat.assign(wl->oversub ? nt : 0, std::vector<uint64_t>());
		for (wl_ring *r : rings)
			wl_ring_free(r);
		rings.clear();
		bool xthread = wl->fn == wl_xthread;
		if (xthread) {
			for (int i = 0; i < nt / 2; i++) {
				wl_ring *r = wl_ring_new();
				if (!r)
					std::abort();
				rings.push_back(r);
			}
		}
		for (int i = 0; i < nt; i++) {
			wl_thread &t = ts[i];
			t.pi = pi;
			t.pool = pool;
			t.burst = wl->burst;
			t.work_iters = wl->work ? g_work_iters : 0;
			held[i].assign(wl->burst > WL_XFER_BATCH
					       ? wl->burst
					       : WL_XFER_BATCH,
				       nullptr);
			t.held = held[i].data();
			t.role = WL_ROLE_BOTH;
			if (xthread && i < 2 * (nt / 2)) {
				t.role = (i % 2) ? WL_ROLE_CONSUMER
						 : WL_ROLE_PRODUCER;
				t.ring = rings[i / 2];
			}
			if (wl->oversub) {
				lat[i].assign(kLatCap,
					      0); // touched here, outside the
						  // timed loop
				t.lat = lat[i].data();
				t.lat_cap = kLatCap;
			}
		}
		pthread_barrier_init(&done, nullptr, static_cast<unsigned>(nt));
	}

	wl_thread *Enter(int tid)
	{
		if (pi->thread_init)
			pi->thread_init(pool);
		return &ts[tid];
	}

	void Finish(benchmark::State &state)
	{
		if (wl->oversub) {
			std::vector<wl_thread *> ptrs;
			for (wl_thread &t : ts)
				ptrs.push_back(&t);
			wl_lat_summary s;
			if (wl_lat_merge(ptrs.data(), ptrs.size(), &s) == 0 &&
			    s.samples) {
				state.counters["p50_ns"] = s.p50_ns;
				state.counters["p99_ns"] = s.p99_ns;
				state.counters["p999_ns"] = s.p999_ns;
				state.counters["max_ns"] = s.max_ns;
				state.counters["lat_samples"] =
					static_cast<double>(s.samples);
			}
		}
		pi->destroy(pool);
		pool = nullptr;
		for (wl_ring *r : rings)
			wl_ring_free(r);
		rings.clear();
		lat.clear();
		pthread_barrier_destroy(&done);
	}
};

void RunBench(benchmark::State &state, Ctx *c)
{
	const int tid = state.thread_index();
	if (tid == 0)
		c->Prepare(state.threads());
	wl_thread *t = nullptr;
	const wl_fn fn = c->wl->fn;
	const long units = c->wl->units_per_iter;
	for (auto _ : state) {
		if (BENCHMARK_BUILTIN_EXPECT(t == nullptr, false))
			t = c->Enter(tid);
		fn(t, units);
	}
	if (t == nullptr)
		t = c->Enter(tid);
	if (c->pi->thread_fini)
		c->pi->thread_fini(c->pool);
	const double pairs = static_cast<double>(t->pairs);
	using C = benchmark::Counter;
	state.counters["Mpairs/s"] = C(pairs * 1e-6, C::kIsRate);
	// sum(pairs)/wall/threads = pairs per second per thread; inverted:
	// seconds per pair per thread; the 1e-9 scale makes it nanoseconds.
	state.counters["ns_per_pair_thread"] =
		C(pairs * 1e-9, C::kIsRate | C::kAvgThreads | C::kInvert);
	benchmark::DoNotOptimize(t->sink);
	pthread_barrier_wait(&c->done);
	if (tid == 0)
		c->Finish(state); // others only read nothing after this
}

int Nproc()
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? static_cast<int>(n) : 1;
}

std::vector<int> ParseList(const char *s, const char *what)
{
	std::vector<int> v;
	std::string str(s);
	size_t pos = 0;
	while (pos <= str.size()) {
		size_t comma = str.find(',', pos);
		if (comma == std::string::npos)
			comma = str.size();
		std::string item = str.substr(pos, comma - pos);
		if (!item.empty()) {
			char *end = nullptr;
			long n = std::strtol(item.c_str(), &end, 10);
			if (*end != '\0' || n < 1 || n > 4096) {
				std::fprintf(stderr, "bad %s entry '%s'\n",
					     what, item.c_str());
				std::exit(2);
			}
			v.push_back(static_cast<int>(n));
		}
		pos = comma + 1;
	}
	if (v.empty()) {
		std::fprintf(stderr, "empty %s list\n", what);
		std::exit(2);
	}
	return v;
}

std::vector<int> DefaultThreads()
{
	std::vector<int> v;
	int n = Nproc();
	for (int t = 1; t < n; t *= 2)
		v.push_back(t);
	v.push_back(n);
	return v;
}

// Removes "--name=value" from argv; returns value or nullptr.
const char *TakeFlag(int *argc, char **argv, const char *name)
{
	size_t len = std::strlen(name);
	for (int i = 1; i < *argc; i++) {
		if (std::strncmp(argv[i], name, len) == 0 &&
		    argv[i][len] == '=') {
			const char *val = argv[i] + len + 1;
			for (int j = i; j < *argc - 1; j++)
				argv[j] = argv[j + 1];
			(*argc)--;
			return val;
		}
	}
	return nullptr;
}

std::string Join(const std::vector<int> &v)
{
	std::string s;
	for (int x : v)
		s += (s.empty() ? "" : ",") + std::to_string(x);
	return s;
}

} // namespace

int main(int argc, char **argv)
{
	const char *threads_s = TakeFlag(&argc, argv, "--lfpool_threads");
	if (!threads_s)
		threads_s = std::getenv("LFPOOL_BENCH_THREADS");
	const char *over_s = TakeFlag(&argc, argv, "--lfpool_oversub_threads");
	if (!over_s)
		over_s = std::getenv("LFPOOL_BENCH_OVERSUB_THREADS");
	const char *work_s = TakeFlag(&argc, argv, "--lfpool_work_ns");
	if (!work_s)
		work_s = std::getenv("LFPOOL_BENCH_WORK_NS");
	const char *label = std::getenv("LFPOOL_BENCH_ALLOC_LABEL");
	if (label && !*label)
		label = nullptr;

	std::vector<int> threads =
		threads_s ? ParseList(threads_s, "threads") : DefaultThreads();
	std::vector<int> over;
	if (over_s) {
		over = ParseList(over_s, "oversub threads");
	} else {
		over.push_back(16);
		if (2 * Nproc() > 16)
			over.push_back(2 * Nproc());
	}
	if (work_s)
		g_work_ns =
			static_cast<unsigned>(ParseList(work_s, "work_ns")[0]);
	g_work_iters = wl_calibrate_work(g_work_ns);

	std::vector<const pool_iface *> impls;
	if (label) {
		impls = {&impl_malloc};
	} else {
		impls = {&impl_lfpool,	 &impl_lfpool_nocache, &impl_mutex,
			 &impl_ck_dwcas, &impl_ck_hp,	       &impl_malloc,
			 &impl_tls_array};
	}

	static std::vector<std::unique_ptr<Ctx>> ctxs;
	for (const Workload &wl : kWorkloads) {
		for (const pool_iface *pi : impls) {
			if (wl.oversub && !pi->bounded)
				continue; // malloc has no bound
			if (pi->thread_private &&
			    (wl.oversub || wl.fn == wl_xthread))
				continue;
			std::string name =
				std::string(pi == &impl_malloc && label
						    ? label
						    : pi->name) +
				"/" + wl.name;
			std::vector<int> tl;
			for (int n : (wl.oversub ? over : threads)) {
				// Threads that hold `burst` objects each may
				// use at most half of the pool, or partial
				// bursts could hold every object and deadlock.
				if (!wl.oversub &&
				    static_cast<size_t>(wl.burst) * n * 2 >
					    kCapacity) {
					std::fprintf(
						stderr,
						"skipping %s with %d threads "
						"(%u objects held each)\n",
						name.c_str(), n, wl.burst);
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
			b->UseRealTime();
			for (int n : tl)
				b->Threads(n);
		}
	}

	benchmark::AddCustomContext("lfpool_bench_threads", Join(threads));
	benchmark::AddCustomContext("lfpool_bench_oversub_threads", Join(over));
	benchmark::AddCustomContext("lfpool_bench_work_ns",
				    std::to_string(g_work_ns));
	benchmark::AddCustomContext("lfpool_bench_work_iters",
				    std::to_string(g_work_iters));
	benchmark::AddCustomContext("lfpool_bench_alloc",
				    label ? label : "glibc");
	benchmark::AddCustomContext("lfpool_bench_object_size",
				    std::to_string(kObjSize));
	benchmark::AddCustomContext("lfpool_bench_capacity",
				    std::to_string(kCapacity));
#ifdef LFPOOL_BENCH_INJECT_SLOWDOWN
	benchmark::AddCustomContext("lfpool_bench_injected_slowdown", "yes");
#endif

	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
