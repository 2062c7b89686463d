/*
 * cpp_pool — lfpool from C++17 through lfpool.hpp.
 *
 * A pool of 4 "connections" (a stand-in class: no database needed) serves
 * 8 worker threads. Each worker takes a connection for a few requests with a
 * timeout; a connection that breaks is discarded (destroyed, and its slot
 * freed so the pool opens a replacement); connections are checked on
 * acquire and reset on release. At the end the statistics show every
 * request served and every connection closed exactly once.
 *
 *   cpp_pool [--quiet]
 */
#include <lfpool.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace
{

std::atomic<int> opened{0}, closed{0};
bool quiet = false;
std::mutex print_lock;

/* A connection: opened by the pool's init hook, closed by ~connection. */
class connection
{
      public:
	connection() = default;
	connection(const connection &) = delete;
	connection &operator=(const connection &) = delete;
	~connection()
	{
		if (id_ != 0)
			++closed;
	}

	bool open()
	{
		id_ = ++opened;
		return true;
	}
	bool healthy() const
	{
		return !broken_;
	}
	/* A connection breaks on its 11th request. */
	bool request()
	{
		std::this_thread::sleep_for(std::chrono::microseconds(100));
		if (++served_ > 10)
			broken_ = true;
		return !broken_;
	}
	void rollback()
	{
		/* e.g. abort an open transaction */
	}
	int id() const
	{
		return id_;
	}

      private:
	int id_ = 0;
	int served_ = 0;
	bool broken_ = false;
};

void log(const char *fmt, int a, int b)
{
	if (quiet)
		return;
	std::lock_guard<std::mutex> g(print_lock);
	std::printf(fmt, a, b);
}

} // namespace

int main(int argc, char **argv)
{
	quiet = argc > 1 && std::strcmp(argv[1], "--quiet") == 0;

	lfpool::options opt;
	opt.capacity = 4;
	opt.min_idle = 2; /* opened up front */
	opt.validate_on = LFP_VALIDATE_ON_ACQUIRE;
	lfpool::hooks<connection> hooks;
	hooks.init = [](connection &c) { return c.open(); };
	hooks.validate = [](connection &c) { return c.healthy(); };
	hooks.reset = [](connection &c) {
		c.rollback();
		return true;
	};
	auto made = lfpool::pool<connection>::create(opt, hooks);
	if (!made) {
		std::fprintf(stderr, "cpp_pool: %s\n",
			     made.error().message().c_str());
		return 1;
	}
	lfpool::pool<connection> &pool = *made;

	const int workers = 8, requests = 100;
	std::atomic<int> served{0}, retried{0};
	std::vector<std::thread> threads;
	for (int w = 0; w < workers; w++) {
		threads.emplace_back([&, w] {
			for (int n = 0; n < requests;) {
				auto c = pool.acquire(std::chrono::seconds(5));
				if (!c) {
					std::fprintf(
						stderr, "worker %d: %s\n", w,
						c.error().message().c_str());
					std::exit(1);
				}
				/* Up to 4 requests on this connection. */
				for (int k = 0; k < 4 && n < requests; k++) {
					if (!(*c)->request()) {
						log("worker %d: connection %d "
						    "broke, discarded\n",
						    w, (*c)->id());
						c->discard();
						++retried;
						break;
					}
					++served;
					n++;
				}
			} /* the lease gives the connection back here */
		});
	}
	for (auto &t : threads)
		t.join();

	auto st = pool.stats();
	std::printf("served %d requests (%d retried after a broken "
		    "connection); opened %d connections, peak %llu live\n",
		    served.load(), retried.load(), opened.load(),
		    static_cast<unsigned long long>(st->peak_live));
	lfp_stats final_stats = LFP_STATS_INIT;
	if (auto err = pool.destroy(&final_stats)) {
		std::fprintf(stderr, "destroy: %s\n", err.message().c_str());
		return 1;
	}
	bool ok = served == workers * requests && opened == closed &&
		  final_stats.peak_live <= opt.capacity;
	std::printf("%s: closed %d of %d connections (lfpool %s)\n",
		    ok ? "OK" : "FAIL", closed.load(), opened.load(),
		    lfpool::version());
	return ok ? 0 : 1;
}
