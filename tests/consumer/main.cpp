/* A minimal C++ consumer of lfpool.hpp (tests/test_install.sh,
 * tests/test_subproject.sh). Prints OK. */
#include <lfpool.hpp>

#include <chrono>
#include <cstdio>
#include <string>

struct conn {
	std::string peer = "db";
};

int main()
{
	lfpool::options opt;
	opt.capacity = 1;
	auto pool = lfpool::pool<conn>::create(opt);
	if (!pool) {
		std::fprintf(stderr, "create: %s\n",
			     pool.error().message().c_str());
		return 1;
	}
	{
		auto c = pool->acquire(std::chrono::milliseconds(100));
		if (!c || (*c)->peer != "db")
			return 1;
		if (pool->try_acquire().error() != lfpool::errc::empty)
			return 1;
	}
	if (!pool->try_acquire())
		return 1;
	std::printf("OK %s\n", lfpool::version());
	return 0;
}
