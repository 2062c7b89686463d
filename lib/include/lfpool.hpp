/*
 * lfpool.hpp — header-only C++17 wrapper over lfpool.h.
 *
 *   struct conn { int fd = -1; ~conn() { if (fd >= 0) close(fd); } };
 *
 *   lfpool::options opt;
 *   opt.capacity = 8;
 *   lfpool::hooks<conn> h;
 *   h.init = [](conn &c) { c.fd = connect_somewhere(); return c.fd >= 0; };
 *   auto p = lfpool::pool<conn>::create(opt, h);
 *   if (!p)
 *           return p.error();                 // std::error_code
 *   if (auto c = p->acquire(std::chrono::milliseconds(500))) {
 *           use((*c)->fd);                    // lfpool::lease<conn>
 *   } else if (c.error() == lfpool::errc::timed_out) {
 *           ...
 *   }                                         // released here
 *
 * pool<T> constructs every T in the pool's memory (value-initialised, or
 * from hooks.make; then hooks.init if given) and destroys it with ~T().
 * acquire() returns a result<lease<T>>: a move-only lease that gives the object
 * back when it goes out of scope, or destroys it with lease.discard(). Errors
 * are std::error_codes of lfpool::category() (messages from lfp_strerror); no
 * exception is thrown by the wrapper, and exceptions thrown by T's
 * constructor or by a hook count as a failed create/validate/reset (they
 * must not cross the C library). Every lease must end before its pool.
 */
#ifndef LFPOOL_HPP
#define LFPOOL_HPP

#include "lfpool.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define LFPOOL_HPP_TRY	     try
#define LFPOOL_HPP_CATCH_ALL catch (...)
#else
#define LFPOOL_HPP_TRY	     if (true)
#define LFPOOL_HPP_CATCH_ALL else
#endif

namespace lfpool
{

/* The lfp_err codes, as a std::error_code enum. */
enum class errc : int {
	invalid_argument = LFP_EINVAL,
	no_memory = LFP_ENOMEM,
	empty = LFP_EMPTY,
	timed_out = LFP_ETIMEDOUT,
	foreign_object = LFP_EFOREIGN,
	double_release = LFP_EDOUBLE,
	create_failed = LFP_ECREATE,
	busy = LFP_EBUSY,
};

namespace detail
{
class category_impl final : public std::error_category
{
      public:
	const char *name() const noexcept override
	{
		return "lfpool";
	}
	std::string message(int ev) const override
	{
		if (ev < 0 || ev >= LFP_ERR_COUNT_)
			return "unknown lfpool error";
		return lfp_strerror(static_cast<lfp_err>(ev));
	}
	/* Equivalences with the portable conditions, so that
	 * ec == std::errc::timed_out works too. */
	std::error_condition
	default_error_condition(int ev) const noexcept override
	{
		switch (ev) {
		case LFP_EINVAL:
			return std::errc::invalid_argument;
		case LFP_ENOMEM:
			return std::errc::not_enough_memory;
		case LFP_EMPTY:
			return std::errc::resource_unavailable_try_again;
		case LFP_ETIMEDOUT:
			return std::errc::timed_out;
		case LFP_EBUSY:
			return std::errc::device_or_resource_busy;
		default:
			return std::error_condition(ev, *this);
		}
	}
};
} // namespace detail

/* The error category of lfpool's codes (name "lfpool"). */
inline const std::error_category &category() noexcept
{
	static const detail::category_impl cat;
	return cat;
}

inline std::error_code make_error_code(errc e) noexcept
{
	return std::error_code(static_cast<int>(e), category());
}

/* LFP_OK gives an empty (false) error_code. */
inline std::error_code make_error_code(lfp_err e) noexcept
{
	return std::error_code(static_cast<int>(e), category());
}

/* The version of the library linked, and of this header. */
inline const char *version() noexcept
{
	return lfp_version();
}
inline unsigned version_number() noexcept
{
	return lfp_version_number();
}
inline constexpr const char *header_version = LFPOOL_VERSION_STRING;

} // namespace lfpool

namespace std
{
template <> struct is_error_code_enum<lfpool::errc> : true_type {
};
} // namespace std

namespace lfpool
{

/*
 * A value or an error, in the spirit of C++23's std::expected<T,
 * std::error_code>. value(), operator* and operator-> require has_value()
 * (the program aborts otherwise: no exceptions are used).
 */
template <class T> class result
{
      public:
	using value_type = T;

	result(T &&v) : v_(std::in_place_index<0>, std::move(v))
	{
	}
	result(const T &v) : v_(std::in_place_index<0>, v)
	{
	}
	result(std::error_code e) noexcept : v_(std::in_place_index<1>, e)
	{
	}
	result(errc e) noexcept : result(make_error_code(e))
	{
	}

	bool has_value() const noexcept
	{
		return v_.index() == 0;
	}
	explicit operator bool() const noexcept
	{
		return has_value();
	}
	/* The error; an empty error_code when there is a value. */
	std::error_code error() const noexcept
	{
		const std::error_code *e = std::get_if<1>(&v_);
		return e ? *e : std::error_code();
	}

	T &value() &
	{
		return *get();
	}
	const T &value() const &
	{
		return *get();
	}
	T &&value() &&
	{
		return std::move(*get());
	}
	T &operator*() &
	{
		return *get();
	}
	const T &operator*() const &
	{
		return *get();
	}
	T &&operator*() &&
	{
		return std::move(*get());
	}
	T *operator->()
	{
		return get();
	}
	const T *operator->() const
	{
		return get();
	}
	template <class U> T value_or(U &&other) &&
	{
		return has_value() ? std::move(*get())
				   : static_cast<T>(std::forward<U>(other));
	}

      private:
	T *get()
	{
		T *v = std::get_if<0>(&v_);
		if (!v)
			std::abort(); /* value of a result holding an error */
		return v;
	}
	const T *get() const
	{
		const T *v = std::get_if<0>(&v_);
		if (!v)
			std::abort();
		return v;
	}

	std::variant<T, std::error_code> v_;
};

template <class T> class pool;

/*
 * One acquired object. Move-only; gives the object back to its pool when it
 * is destroyed or assigned over, unless release() or discard() already did.
 */
template <class T> class lease
{
      public:
	lease() noexcept = default;
	lease(lease &&o) noexcept
	    : pool_(o.pool_), obj_(std::exchange(o.obj_, nullptr))
	{
	}
	lease &operator=(lease &&o) noexcept
	{
		if (this != &o) {
			release();
			pool_ = o.pool_;
			obj_ = std::exchange(o.obj_, nullptr);
		}
		return *this;
	}
	lease(const lease &) = delete;
	lease &operator=(const lease &) = delete;
	~lease()
	{
		release();
	}

	T *get() const noexcept
	{
		return obj_;
	}
	T &operator*() const noexcept
	{
		return *obj_;
	}
	T *operator->() const noexcept
	{
		return obj_;
	}
	/* False once released, discarded or moved from. */
	explicit operator bool() const noexcept
	{
		return obj_ != nullptr;
	}

	/* Give the object back now (lfp_release). No-op on an empty lease. */
	std::error_code release() noexcept
	{
		if (!obj_)
			return {};
		return make_error_code(
			lfp_release(pool_, std::exchange(obj_, nullptr)));
	}
	/* The object is broken: destroy it instead (lfp_discard); its slot is
	 * freed, so the pool can create a replacement. */
	std::error_code discard() noexcept
	{
		if (!obj_)
			return make_error_code(errc::invalid_argument);
		return make_error_code(
			lfp_discard(pool_, std::exchange(obj_, nullptr)));
	}
	/* A weak handle to this acquisition (see lfp_handle_of). */
	lfp_handle handle() const noexcept
	{
		return lfp_handle_of(pool_, obj_);
	}

      private:
	friend class pool<T>;
	lease(lfp_pool *p, T *obj) noexcept : pool_(p), obj_(obj)
	{
	}

	lfp_pool *pool_ = nullptr;
	T *obj_ = nullptr;
};

/* Pool settings (lfp_config without the size and the factory). */
struct options {
	std::uint64_t capacity = 0; /* hard maximum of live objects, >= 1 */
	std::uint64_t min_idle = 0; /* created up front, kept by eviction */
	std::uint32_t cache_size = LFP_CACHE_DEFAULT; /* per-thread cache */
	std::uint32_t validate_on = LFP_VALIDATE_NEVER;
	std::chrono::nanoseconds max_idle{0}; /* evict idle objects; 0: never */
};

/* Optional lifecycle hooks; an empty std::function is not called. */
template <class T> struct hooks {
	/* Builds each object instead of value-initialisation: the pool runs
	 * ::new (mem) T(make()), so T need not be default-constructible. To
	 * fail, throw (or use init). */
	std::function<T()> make;
	/* After T's construction: false means the create failed (~T runs). */
	std::function<bool(T &)> init;
	/* Is the object still good (options.validate_on says when)? */
	std::function<bool(T &)> validate;
	/* On release: prepare for reuse; false destroys the object instead. */
	std::function<bool(T &)> reset;
};

namespace detail
{
/* A timeout in whole nanoseconds, rounded up; LFP_FOREVER when it does not
 * fit in 64 bits; 0 (just try) when negative. */
template <class Rep, class Period>
std::uint64_t timeout_ns(const std::chrono::duration<Rep, Period> &d) noexcept
{
	if (d <= d.zero())
		return 0;
	const long double ns =
		std::chrono::duration<long double, std::nano>(d).count();
	if (ns >= 18446744073709551615.0L)
		return LFP_FOREVER;
	std::uint64_t whole = static_cast<std::uint64_t>(ns);
	return static_cast<long double>(whole) < ns ? whole + 1 : whole;
}
} // namespace detail

/*
 * A pool of T. Movable, not copyable; destroying it (or destroy()) destroys
 * every object. Every member may be called from any thread at once, except
 * destruction and assignment.
 */
template <class T> class pool
{
	static_assert(std::is_nothrow_destructible_v<T>,
		      "lfpool::pool<T> needs a noexcept destructor");
	static_assert(alignof(T) <= 4096, "lfpool aligns objects up to 4096");

      public:
	using value_type = T;

	/* An empty pool (every call reports errc::invalid_argument). */
	pool() noexcept = default;
	pool(pool &&o) noexcept
	    : state_(std::move(o.state_)),
	      pool_(std::exchange(o.pool_, nullptr))
	{
	}
	pool &operator=(pool &&o) noexcept
	{
		if (this != &o) {
			destroy();
			state_ = std::move(o.state_);
			pool_ = std::exchange(o.pool_, nullptr);
		}
		return *this;
	}
	pool(const pool &) = delete;
	pool &operator=(const pool &) = delete;
	~pool()
	{
		destroy();
	}

	/* lfp_create: errc::invalid_argument (also: T is not
	 * default-constructible and there is no hooks.make), no_memory or
	 * create_failed. */
	static result<pool> create(const options &opt, hooks<T> h = {})
	{
		if (!std::is_default_constructible_v<T> && !h.make)
			return errc::invalid_argument;
		pool p;
		std::unique_ptr<state> st(new (std::nothrow) state);
		if (!st)
			return errc::no_memory;
		st->h = std::move(h);
		lfp_config cfg = lfp_config_init();
		cfg.object_size = sizeof(T);
		cfg.object_align = alignof(T);
		cfg.capacity = opt.capacity;
		cfg.min_idle = opt.min_idle;
		cfg.cache_size = opt.cache_size;
		cfg.validate_on = opt.validate_on;
		cfg.max_idle_ns = opt.max_idle.count() > 0
					  ? static_cast<std::uint64_t>(
						    opt.max_idle.count())
					  : 0;
		cfg.factory.create = &create_cb;
		cfg.factory.validate = st->h.validate ? &validate_cb : nullptr;
		cfg.factory.reset = st->h.reset ? &reset_cb : nullptr;
		cfg.factory.destroy = &destroy_cb;
		cfg.factory.ctx = st.get();
		lfp_pool *raw = nullptr;
		lfp_err e = lfp_create(&cfg, &raw);
		if (e != LFP_OK)
			return make_error_code(e);
		p.pool_ = raw;
		p.state_ = std::move(st);
		return result<pool>(std::move(p));
	}

	/* Never waits: errc::empty when no object can be had now. */
	result<lease<T>> try_acquire() noexcept
	{
		void *obj = nullptr;
		lfp_err e = lfp_try_acquire(pool_, &obj);
		return wrap(e, obj);
	}
	/* Waits as long as it takes while the pool is exhausted. */
	result<lease<T>> acquire() noexcept
	{
		void *obj = nullptr;
		lfp_err e = lfp_acquire(pool_, &obj);
		return wrap(e, obj);
	}
	/* Waits at most `timeout`: errc::timed_out after that. */
	template <class Rep, class Period>
	result<lease<T>>
	acquire(const std::chrono::duration<Rep, Period> &timeout) noexcept
	{
		void *obj = nullptr;
		lfp_err e = lfp_acquire_timed(pool_, &obj,
					      detail::timeout_ns(timeout));
		return wrap(e, obj);
	}

	/* The object of a live acquisition, or nullptr (lfp_handle_get). */
	T *resolve(lfp_handle h) const noexcept
	{
		return static_cast<T *>(lfp_handle_get(pool_, h));
	}

	result<lfp_stats> stats() const noexcept
	{
		lfp_stats s = LFP_STATS_INIT;
		lfp_err e = lfp_get_stats(pool_, &s);
		if (e != LFP_OK)
			return make_error_code(e);
		return s;
	}
	/* Destroy objects idle for at least max_idle; returns how many. */
	result<std::uint64_t> trim(std::chrono::nanoseconds max_idle) noexcept
	{
		std::uint64_t n = 0;
		lfp_err e = lfp_trim(pool_, detail::timeout_ns(max_idle), &n);
		if (e != LFP_OK)
			return make_error_code(e);
		return n;
	}
	/* Return this thread's cached objects (lfp_thread_flush). */
	std::error_code flush_thread_cache() noexcept
	{
		return make_error_code(lfp_thread_flush(pool_));
	}
	/* Destroy the pool now (lfp_destroy): errc::busy if leases were still
	 * out (their objects are destroyed all the same). */
	std::error_code destroy(lfp_stats *final_stats = nullptr) noexcept
	{
		if (!pool_)
			return {};
		lfp_err e =
			lfp_destroy(std::exchange(pool_, nullptr), final_stats);
		state_.reset();
		return make_error_code(e);
	}

	lfp_pool *native_handle() const noexcept
	{
		return pool_;
	}
	explicit operator bool() const noexcept
	{
		return pool_ != nullptr;
	}

      private:
	struct state {
		hooks<T> h;
	};

	/* (Call the C function first: argument evaluation is unordered.) */
	result<lease<T>> wrap(lfp_err e, void *obj) noexcept
	{
		if (e != LFP_OK)
			return make_error_code(e);
		return lease<T>(pool_, static_cast<T *>(obj));
	}

	static T *construct(const hooks<T> &h, void *mem)
	{
		if (h.make)
			return ::new (mem) T(h.make());
		if constexpr (std::is_default_constructible_v<T>)
			return ::new (mem) T();
		else
			return nullptr; /* (create() refused this case) */
	}
	static int create_cb(void *ctx, void *mem) noexcept
	{
		const hooks<T> &h = static_cast<state *>(ctx)->h;
		T *obj = nullptr;
		LFPOOL_HPP_TRY
		{
			obj = construct(h, mem);
		}
		LFPOOL_HPP_CATCH_ALL
		{
			return 1;
		}
		if (!obj)
			return 1;
		if (h.init && !call(h.init, *obj)) {
			obj->~T();
			return 1;
		}
		return 0;
	}
	static int validate_cb(void *ctx, void *obj) noexcept
	{
		return call(static_cast<state *>(ctx)->h.validate,
			    *static_cast<T *>(obj))
			       ? 1
			       : 0;
	}
	static int reset_cb(void *ctx, void *obj) noexcept
	{
		return call(static_cast<state *>(ctx)->h.reset,
			    *static_cast<T *>(obj))
			       ? 0
			       : 1;
	}
	static void destroy_cb(void *ctx, void *obj) noexcept
	{
		(void)ctx;
		static_cast<T *>(obj)->~T();
	}
	/* A hook's verdict; an exception counts as false. */
	static bool call(const std::function<bool(T &)> &f, T &obj) noexcept
	{
		LFPOOL_HPP_TRY
		{
			return f(obj);
		}
		LFPOOL_HPP_CATCH_ALL
		{
			return false;
		}
	}

	std::unique_ptr<state> state_;
	lfp_pool *pool_ = nullptr;
};

} // namespace lfpool

#undef LFPOOL_HPP_TRY
#undef LFPOOL_HPP_CATCH_ALL

#endif /* LFPOOL_HPP */
