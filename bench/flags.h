// Command-line helpers of lfpool_bench (bench_main.cc): its own --lfpool_*
// flags are taken out of argv before Google Benchmark parses the rest.
#ifndef LFPOOL_BENCH_FLAGS_H
#define LFPOOL_BENCH_FLAGS_H

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace lfpool_bench
{

// "1,2,4" -> {1, 2, 4}; exits with a message on a bad or empty list.
inline std::vector<int> ParseList(const char *s, const char *what)
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
			if (*end != '\0' || n < 1 || n > 100000000) {
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

// Removes "--name=value" from argv; returns value or nullptr.
inline const char *TakeFlag(int *argc, char **argv, const char *name)
{
	size_t len = std::strlen(name);
	for (int i = 1; i < *argc; i++) {
		if (std::strncmp(argv[i], name, len) == 0 &&
		    (argv[i][len] == '=' || argv[i][len] == '\0')) {
			const char *val = argv[i][len] ? argv[i] + len + 1 : "";
			for (int j = i; j < *argc - 1; j++)
				argv[j] = argv[j + 1];
			(*argc)--;
			return val;
		}
	}
	return nullptr;
}

// The flag's value, else the environment variable's, else nullptr.
inline const char *FlagOrEnv(int *argc, char **argv, const char *flag,
			     const char *env)
{
	const char *v = TakeFlag(argc, argv, flag);
	if (!v && env)
		v = std::getenv(env);
	return v && *v ? v : nullptr;
}

// "--name=value" or "--name" in argv (left there): value, "" or nullptr.
inline const char *PeekFlag(int argc, char **argv, const char *name)
{
	size_t len = std::strlen(name);
	for (int i = 1; i < argc; i++)
		if (std::strncmp(argv[i], name, len) == 0 &&
		    (argv[i][len] == '=' || argv[i][len] == '\0'))
			return argv[i][len] ? argv[i] + len + 1 : "";
	return nullptr;
}

inline std::string Join(const std::vector<int> &v)
{
	std::string s;
	for (int x : v)
		s += (s.empty() ? "" : ",") + std::to_string(x);
	return s;
}

} // namespace lfpool_bench

#endif // LFPOOL_BENCH_FLAGS_H
