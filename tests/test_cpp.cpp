/*
 * Tests of the C++17 wrapper lfpool.hpp: construction and destruction of T
 * through the factory, acquire/release through leases, timeouts on an
 * exhausted pool, discard, move semantics, error codes, hooks. A plain
 * program (no test framework): prints one line per check and exits non-zero
 * on the first failure.
 */
#include <lfpool.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			std::fprintf(stderr, "%s:%d: CHECK failed: %s\n",      \
				     __FILE__, __LINE__, #cond);               \
			std::exit(1);                                          \
		}                                                              \
	} while (0)

namespace
{

std::atomic<int> constructed{0};
std::atomic<int> destroyed{0};

struct widget {
	int id;
	std::string name;
	alignas(64) char payload[64];

	widget() : id(++constructed), name("widget")
	{
		std::memset(payload, 0, sizeof(payload));
	}
	~widget()
	{
		++destroyed;
	}
};

static_assert(!std::is_copy_constructible_v<lfpool::lease<widget>>,
	      "leases are move-only");
static_assert(std::is_nothrow_move_constructible_v<lfpool::lease<widget>>,
	      "leases move without throwing");
static_assert(!std::is_copy_constructible_v<lfpool::pool<widget>>,
	      "pools are move-only");

lfpool::pool<widget> make_pool(std::uint64_t capacity,
			       lfpool::hooks<widget> h = {})
{
	lfpool::options opt;
	opt.capacity = capacity;
	auto p = lfpool::pool<widget>::create(opt, std::move(h));
	CHECK(p.has_value());
	CHECK(!p.error());
	return std::move(p).value();
}

void test_acquire_release()
{
	constructed = destroyed = 0;
	{
		auto pool = make_pool(2);
		{
			auto a = pool.acquire();
			CHECK(a.has_value());
			lfpool::lease<widget> &l = *a;
			CHECK(l);
			CHECK(l->name == "widget");
			CHECK(reinterpret_cast<std::uintptr_t>(l.get()) % 64 ==
			      0);
			l->id = 42;
			CHECK(constructed == 1);
		} /* released here */
		auto b = pool.try_acquire();
		CHECK(b.has_value());
		CHECK((*b)->id == 42); /* the same object came back */
		auto st = pool.stats();
		CHECK(st.has_value());
		CHECK(st->in_use == 1 && st->live == 1 && st->releases == 1);
		CHECK(!b->release());
		CHECK(!*b);
		CHECK(!b->release()); /* empty lease: nothing to do */
		CHECK(pool.stats()->in_use == 0);
	}
	CHECK(destroyed == constructed); /* the pool destroyed every T */
	std::puts("ok acquire/release");
}

void test_timeout_on_exhausted_pool()
{
	auto pool = make_pool(1);
	auto held = pool.acquire(std::chrono::seconds(1));
	CHECK(held.has_value());

	auto empty = pool.try_acquire();
	CHECK(!empty.has_value());
	CHECK(empty.error() == lfpool::errc::empty);

	auto t0 = std::chrono::steady_clock::now();
	auto timed = pool.acquire(std::chrono::milliseconds(50));
	auto waited = std::chrono::steady_clock::now() - t0;
	CHECK(!timed);
	CHECK(timed.error() == lfpool::errc::timed_out);
	CHECK(timed.error() == std::errc::timed_out); /* portable condition */
	CHECK(waited >= std::chrono::milliseconds(49));

	/* A waiter gets the object released by another thread. */
	std::thread t([&] {
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
		held->release();
	});
	auto got = pool.acquire(std::chrono::seconds(10));
	t.join();
	CHECK(got.has_value());

	/* Zero and negative timeouts just try. */
	CHECK(pool.acquire(std::chrono::nanoseconds(0)).error() ==
	      lfpool::errc::empty);
	CHECK(pool.acquire(std::chrono::seconds(-5)).error() ==
	      lfpool::errc::empty);
	std::puts("ok timeout on an exhausted pool");
}

void test_discard()
{
	constructed = destroyed = 0;
	auto pool = make_pool(1);
	auto a = pool.acquire();
	CHECK(a);
	int first = (*a)->id;
	CHECK(!a->discard());
	CHECK(!*a);
	CHECK(destroyed == 1);
	CHECK(a->discard() == lfpool::errc::invalid_argument);
	/* The slot was freed: a replacement is created. */
	auto b = pool.try_acquire();
	CHECK(b);
	CHECK((*b)->id != first);
	CHECK(constructed == 2);
	auto st = pool.stats();
	CHECK(st->live == 1 && st->destroys == 1);
	std::puts("ok discard");
}

void test_move_semantics()
{
	auto pool = make_pool(2);
	auto a = pool.acquire();
	CHECK(a);
	widget *w = a->get();

	lfpool::lease<widget> l1 = std::move(*a);
	CHECK(!*a && l1.get() == w);
	lfpool::lease<widget> l2;
	CHECK(!l2);
	l2 = std::move(l1);
	CHECK(!l1 && l2.get() == w);
	CHECK(pool.stats()->in_use == 1);

	/* Assigning over a holding lease releases its object first. */
	auto other = pool.acquire();
	CHECK(other);
	CHECK(pool.stats()->in_use == 2);
	l2 = std::move(*other);
	CHECK(pool.stats()->in_use == 1);

	/* Leases in a container. */
	std::vector<lfpool::lease<widget>> v;
	v.push_back(std::move(l2));
	auto b = pool.acquire();
	CHECK(b);
	v.push_back(std::move(*b));
	CHECK(pool.stats()->in_use == 2);
	v.clear();
	CHECK(pool.stats()->in_use == 0);

	/* A moved pool keeps working; the moved-from one is empty. */
	lfpool::pool<widget> moved = std::move(pool);
	CHECK(moved && !pool);
	CHECK(moved.try_acquire().has_value());
	CHECK(pool.try_acquire().error() == lfpool::errc::invalid_argument);
	std::puts("ok move semantics");
}

void test_error_codes()
{
	lfpool::options bad;
	bad.capacity = 0;
	auto p = lfpool::pool<widget>::create(bad);
	CHECK(!p.has_value());
	CHECK(p.error() == lfpool::errc::invalid_argument);
	CHECK(p.error() == std::errc::invalid_argument);
	CHECK(std::string(p.error().category().name()) == "lfpool");
	CHECK(p.error().message() == lfp_strerror(LFP_EINVAL));
	CHECK(lfpool::make_error_code(LFP_ETIMEDOUT) ==
	      lfpool::errc::timed_out);
	CHECK(!lfpool::make_error_code(LFP_OK));
	std::error_code ec = lfpool::errc::double_release;
	CHECK(ec.value() == LFP_EDOUBLE);
	CHECK(ec.message() == lfp_strerror(LFP_EDOUBLE));
	CHECK(lfpool::category().message(999) == "unknown lfpool error");

	/* Releasing through the C API behind a lease's back: double release. */
	auto pool = make_pool(1);
	auto a = pool.acquire();
	CHECK(lfp_release(pool.native_handle(), a->get()) == LFP_OK);
	CHECK(a->release() == lfpool::errc::double_release);
	std::puts("ok error codes");
}

void test_hooks()
{
	constructed = destroyed = 0;
	std::atomic<int> inits{0}, validations{0}, resets{0};
	lfpool::hooks<widget> h;
	h.init = [&](widget &w) {
		w.name = "conn";
		return ++inits != 2; /* the second create fails */
	};
	h.validate = [&](widget &) {
		++validations;
		return true;
	};
	h.reset = [&](widget &w) {
		++resets;
		return w.id != -1; /* id -1: do not keep */
	};
	lfpool::options opt;
	opt.capacity = 4;
	opt.validate_on = LFP_VALIDATE_ON_ACQUIRE;
	auto made = lfpool::pool<widget>::create(opt, h);
	CHECK(made);
	auto pool = std::move(*made);

	auto a = pool.acquire();
	CHECK(a && (*a)->name == "conn");
	auto b = pool.try_acquire(); /* init fails: ~widget runs */
	CHECK(b.error() == lfpool::errc::create_failed);
	CHECK(constructed == 2 && destroyed == 1);
	auto c = pool.try_acquire();
	CHECK(c);
	(*c)->id = -1;
	CHECK(!c->release()); /* reset says no: destroyed */
	CHECK(resets == 1 && destroyed == 2);
	CHECK(!a->release());
	CHECK(resets == 2);
	auto d = pool.try_acquire(); /* cached, validated on acquire */
	CHECK(d && validations >= 1);

	/* An exception from a hook is a failed create, not a crash. */
	lfpool::hooks<widget> thrower;
	thrower.init = [](widget &) -> bool { throw std::runtime_error("x"); };
	auto tp = lfpool::pool<widget>::create(opt, thrower);
	CHECK(tp);
	CHECK(tp->try_acquire().error() == lfpool::errc::create_failed);
	std::puts("ok hooks");
}

/* A T without a default constructor: built by hooks.make. */
struct named {
	std::string name;
	explicit named(std::string n) : name(std::move(n))
	{
	}
};

void test_make()
{
	lfpool::options opt;
	opt.capacity = 2;
	/* No way to build one: refused up front. */
	CHECK(lfpool::pool<named>::create(opt).error() ==
	      lfpool::errc::invalid_argument);

	int made = 0;
	lfpool::hooks<named> h;
	h.make = [&made] { return named("conn-" + std::to_string(++made)); };
	auto p = lfpool::pool<named>::create(opt, h);
	CHECK(p);
	auto a = p->acquire();
	auto b = p->acquire();
	CHECK(a && b && (*a)->name == "conn-1" && (*b)->name == "conn-2");
	CHECK(p->try_acquire().error() == lfpool::errc::empty);

	/* make throwing: a failed create. */
	lfpool::hooks<named> bad;
	bad.make = []() -> named { throw std::runtime_error("down"); };
	auto q = lfpool::pool<named>::create(opt, bad);
	CHECK(q);
	CHECK(q->try_acquire().error() == lfpool::errc::create_failed);
	std::puts("ok make");
}

void test_threads_and_destroy()
{
	constructed = destroyed = 0;
	auto pool = make_pool(3);
	std::vector<std::thread> ts;
	std::atomic<long> sum{0};
	for (int i = 0; i < 4; i++) {
		ts.emplace_back([&] {
			for (int n = 0; n < 2000; n++) {
				auto l = pool.acquire(std::chrono::seconds(10));
				CHECK(l);
				sum += (*l)->id;
			}
		});
	}
	for (auto &t : ts)
		t.join();
	CHECK(sum > 0);
	lfp_stats final_stats = LFP_STATS_INIT;
	CHECK(!pool.destroy(&final_stats));
	CHECK(final_stats.acquires == 8000 && final_stats.in_use == 0);
	CHECK(destroyed == constructed);
	CHECK(!pool);
	std::puts("ok threads and destroy");
}

void test_version()
{
	CHECK(std::string(lfpool::version()) == LFPOOL_VERSION_STRING);
	CHECK(std::string(lfpool::header_version) == lfpool::version());
	CHECK(lfpool::version_number() == LFPOOL_VERSION);
	lfp_config cfg = LFP_CONFIG_INIT; /* the C macro works in C++ */
	CHECK(cfg.struct_size == sizeof(lfp_config));
	CHECK(cfg.cache_size == LFP_CACHE_DEFAULT && cfg.capacity == 0);
	std::puts("ok version");
}

} // namespace

int main()
{
	test_version();
	test_acquire_release();
	test_timeout_on_exhausted_pool();
	test_discard();
	test_move_semantics();
	test_error_codes();
	test_hooks();
	test_make();
	test_threads_and_destroy();
	std::puts("OK");
	return 0;
}
