// gosched.hpp - C++17 header-only binding of libgosched (include/gosched.h).
//
//   gs::Runtime rt{gs::Config{}.with_nprocs(4)};    // gs_init ... gs_shutdown (RAII)
//   gs::Chan<std::string> ch{16};                   // any movable T
//   gs::WaitGroup wg;
//   wg.add(1);
//   gs::go([ch, &wg]() mutable {                    // any callable; captures moved in
//       ch.send("hello");
//       wg.done();
//   });
//   std::optional<std::string> v = ch.recv();      // std::nullopt once closed and drained
//   wg.wait();
//
// Compile with -I<gosched>/include -I<gosched>/bindings/cpp and link -lgosched.
//
// What throws gs::Error (carrying the GS_E* code in code()):
//   - constructors: Runtime (gs_init fails, e.g. GS_EALREADY, GS_EINVAL), Chan (bad
//     capacity, GS_ENOMEM), WaitGroup and Mutex (GS_ENOMEM);
//   - gs::go (GS_ENOTINIT, GS_ESHUTDOWN, GS_ENOMEM, bad options);
//   - misuse that Go reports with a panic: WaitGroup::add/done taking the counter below
//     zero, a select send case chosen on a closed channel, run_for off the host thread,
//     Runtime::wait from a goroutine;
//   - any other unexpected error code of a channel, wait-group or mutex call.
// Ordinary outcomes are values, not exceptions: Chan::send returns false on a closed
// channel, Chan::recv returns std::nullopt once it is closed and drained, try_* and
// *_for calls return a Status, select_for/try_select return -1 when nothing fired.
//
// Exceptions and goroutines: an exception that escapes a goroutine's function never
// unwinds into the scheduler. The goroutine's entry catches it, prints
//   gosched: goroutine 7 "name" terminated by an uncaught exception: <what()>
// on stderr and aborts the process (Go's behaviour for a panic nobody recovers). Catch
// what you can handle inside the goroutine.
//
// Do not call gs_goexit() from C++ code with live objects on the goroutine's stack: it
// ends the goroutine without running their destructors (nor the callable's).
//
// Destroying a gs::Runtime with goroutines alive (the rule of std::thread's destructor):
// ~Runtime waits for every goroutine to end, up to destroy_timeout() (1 s unless
// set_destroy_timeout() changed it); if some are still alive then, it prints
//   gosched: gs::Runtime destroyed with goroutines still alive after 1000 ms ...
// and the goroutine dump (their ids, names, states) on stderr, and calls
// std::terminate(). Call wait() / wait_for() / wait_until() to join them first, or
// shutdown() to abandon them on purpose. The callables (and their captures) of
// goroutines that shutdown() abandons are never destroyed: the abandoned goroutine may
// still hold references into them; their memory, and what they own, leak.
//
// Timeouts: every *_for(duration) has an *_until(time_point) twin for any clock
// (std::chrono::steady_clock, system_clock, ...), so deadline loops (a frame deadline,
// std::timed_mutex-style code) need no arithmetic: a deadline already passed polls once.

#ifndef GOSCHED_HPP
#define GOSCHED_HPP

#include "gosched.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace gs {

// ---------------------------------------------------------------------------------------
// Errors

/// A gosched call failed; code() is the negative GS_E* value.
class Error : public std::runtime_error {
public:
    Error(int code, const std::string& what)
        : std::runtime_error(what + ": " + describe(code)), code_(code) {}
    int code() const noexcept { return code_; }

private:
    static std::string describe(int code) {
        const char* s = gs_strerror(code);
        return s ? s : "unknown error";
    }
    int code_;
};

/// Outcome of the non-throwing channel operations.
enum class Status : int {
    ok = 0,
    closed = GS_ECLOSED,
    would_block = GS_EAGAIN,
    timeout = GS_ETIMEDOUT,
};

namespace detail {

inline int check(int rc, const char* what) {
    if (rc < 0) throw Error(rc, what);
    return rc;
}

/// A duration as the C API's nanoseconds: negative -> 0, saturating at INT64_MAX.
template <class Rep, class Period>
int64_t to_ns(const std::chrono::duration<Rep, Period>& d) {
    const long double ns = std::chrono::duration<long double, std::nano>(d).count();
    if (!(ns > 0)) return 0;
    if (ns >= 9.2e18L) return INT64_MAX;
    return static_cast<int64_t>(ns);
}

/// The time left until a time_point of any clock, as the C API's nanoseconds (0 once
/// it has passed).
template <class Clock, class Duration>
int64_t ns_until(const std::chrono::time_point<Clock, Duration>& tp) {
    return to_ns(tp - Clock::now());
}

[[noreturn]] inline void fatal(const char* msg) noexcept {
    std::fputs(msg, stderr);
    std::fflush(stderr);
    std::abort();
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// Runtime

/// gs_config with defaults (0 = the runtime's default for every field). An aggregate:
/// C++20 code may write Config{.nprocs = 4}; the C++17 spelling is
/// Config{}.with_nprocs(4) (designated initializers are not C++17: -pedantic rejects them).
struct Config {
    uint32_t nprocs = 0;       ///< Ps; 0: $GS_MAXPROCS, else the CPUs available
    size_t stack_size = 0;     ///< default goroutine stack in bytes; 0: 256 KiB
    uint32_t max_threads = 0;  ///< cap on OS threads; 0: 10000
    uint32_t flags = 0;        ///< GS_CFG_* bits
    /// The long-running detector: report a goroutine that runs this many ms without a
    /// scheduling point; 0: off. GS_DEBUG=longrun=MS wins over it (gs_config.longrun_ms).
    uint32_t longrun_ms = 0;

    Config& with_nprocs(uint32_t n) noexcept { nprocs = n; return *this; }
    Config& with_stack_size(size_t n) noexcept { stack_size = n; return *this; }
    Config& with_max_threads(uint32_t n) noexcept { max_threads = n; return *this; }
    Config& with_flags(uint32_t f) noexcept { flags = f; return *this; }
    Config& with_longrun(std::chrono::milliseconds ms) noexcept {
        const auto n = ms.count();
        longrun_ms = n <= 0 ? 0 : n >= UINT32_MAX ? uint32_t{UINT32_MAX} : static_cast<uint32_t>(n);
        return *this;
    }
};

/// Starts the runtime (gs_init) and stops it when destroyed (gs_shutdown). Throws
/// gs::Error if gs_init fails (GS_EALREADY when a runtime is already running). The
/// constructing thread becomes the host thread.
///
/// Destroyed with goroutines alive, it waits for them up to destroy_timeout(), then, if
/// some are still alive, prints their dump and calls std::terminate() (see the top of
/// this file). wait*() joins them; shutdown() abandons them.
///
/// Movable (the moved-from Runtime owns nothing and its destructor does nothing), so a
/// factory may return one or a std::optional<Runtime> may hold it; not copyable, and
/// not move-assignable (only one runtime runs at a time: there is never a second one
/// to assign).
class Runtime {
public:
    Runtime() : Runtime(Config{}) {}
    explicit Runtime(const Config& cfg) {
        gs_config c{};
        c.nprocs = cfg.nprocs;
        c.stack_size = cfg.stack_size;
        c.max_threads = cfg.max_threads;
        c.flags = cfg.flags;
        c.longrun_ms = cfg.longrun_ms;
        detail::check(gs_init_sized(&c, sizeof c), "gs_init");
    }
    ~Runtime() {
        if (!active_) return;
        active_ = false;
        const int rc = gs_wait(destroy_timeout_ns_);
        if (rc == 0) {
            gs_shutdown();
            return;
        }
        if (rc == GS_ENOTINIT) return;  // someone called gs_shutdown() already
        char buf[320];
        std::snprintf(buf, sizeof buf,
                      "gosched: gs::Runtime destroyed with goroutines still alive after %lld ms "
                      "(gs_wait: %s); join them with Runtime::wait() or abandon them with "
                      "Runtime::shutdown() first. The goroutines:\n",
                      static_cast<long long>(destroy_timeout_ns_ / 1000000), gs_strerror(rc));
        std::fputs(buf, stderr);
        std::fflush(stderr);
        gs_dump(2);
        std::terminate();
    }
    Runtime(Runtime&& o) noexcept : active_(o.active_), destroy_timeout_ns_(o.destroy_timeout_ns_) {
        o.active_ = false;
    }
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    Runtime& operator=(Runtime&&) = delete;

    /// How long the destructor waits for goroutines alive (default 1 s).
    template <class Rep, class Period>
    void set_destroy_timeout(const std::chrono::duration<Rep, Period>& d) noexcept {
        destroy_timeout_ns_ = detail::to_ns(d);
    }
    std::chrono::nanoseconds destroy_timeout() const noexcept {
        return std::chrono::nanoseconds(destroy_timeout_ns_);
    }

    /// Blocks until no goroutine is alive (gs_wait). Throws from a goroutine.
    void wait() { detail::check(gs_wait(-1), "gs_wait"); }

    /// gs_wait with a timeout: false if goroutines are still alive when it expires.
    template <class Rep, class Period>
    bool wait_for(const std::chrono::duration<Rep, Period>& timeout) {
        return wait_ns(detail::to_ns(timeout));
    }

    /// gs_wait until a deadline of any clock: false if goroutines are still alive then.
    template <class Clock, class Duration>
    bool wait_until(const std::chrono::time_point<Clock, Duration>& deadline) {
        return wait_ns(detail::ns_until(deadline));
    }

    /// Stops the runtime now; returns the number of goroutines abandoned (their
    /// callables are never destroyed: see the top of this file).
    int shutdown() {
        active_ = false;
        return detail::check(gs_shutdown(), "gs_shutdown");
    }

private:
    bool wait_ns(int64_t ns) {
        const int rc = gs_wait(ns);
        if (rc == GS_ETIMEDOUT) return false;
        detail::check(rc, "gs_wait");
        return true;
    }

    bool active_ = true;
    int64_t destroy_timeout_ns_ = 1000000000;
};

// ---------------------------------------------------------------------------------------
// Goroutines

/// Options for gs::go (gs_go_opts). An aggregate like Config: GoOptions{.name = "ui"} in
/// C++20, GoOptions{}.with_name("ui").with_host() in C++17.
struct GoOptions {
    const char* name = nullptr;  ///< shown in dumps and in the uncaught-exception message
    size_t stack_size = 0;       ///< 0: the runtime's default
    bool host = false;           ///< GS_GO_HOST: run only on the host thread, in run_for

    GoOptions& with_name(const char* n) noexcept { name = n; return *this; }
    GoOptions& with_stack_size(size_t n) noexcept { stack_size = n; return *this; }
    GoOptions& with_host(bool h = true) noexcept { host = h; return *this; }
};

namespace detail {

template <class F>
struct GoBox {
    F fn;
    std::string name;
};

[[noreturn]] inline void uncaught_in_goroutine(const std::string& name, const char* what) noexcept {
    char buf[512];
    const long long id = static_cast<long long>(gs_goid());
    if (name.empty()) {
        std::snprintf(buf, sizeof buf, "gosched: goroutine %lld terminated by an uncaught exception: %s\n",
                      id, what);
    } else {
        std::snprintf(buf, sizeof buf,
                      "gosched: goroutine %lld \"%s\" terminated by an uncaught exception: %s\n", id,
                      name.c_str(), what);
    }
    fatal(buf);
}

/// The goroutine's first C++ frame: runs the callable, destroys it, and keeps every
/// exception from unwinding into the scheduler's frames.
template <class F>
void go_entry(void* p) noexcept {
    std::unique_ptr<GoBox<F>> box(static_cast<GoBox<F>*>(p));
    try {
        std::invoke(box->fn);
        box.reset();  // the callable and its captures die on the goroutine
    } catch (const std::exception& e) {
        uncaught_in_goroutine(box ? box->name : std::string(), e.what());
    } catch (...) {
        uncaught_in_goroutine(box ? box->name : std::string(), "(not a std::exception)");
    }
}

/// Callables that travel by gs_go_copy: their bytes are copied onto the goroutine's
/// stack (as Go's `go` copies a call's arguments) and there is nothing to destroy, so
/// gs::go allocates nothing for them.
template <class Fn>
inline constexpr bool copied_into_goroutine = std::is_trivially_copyable_v<Fn> &&
                                              std::is_trivially_destructible_v<Fn> &&
                                              sizeof(Fn) <= GS_GO_COPY_MAX && alignof(Fn) <= 16;

/// The first C++ frame of a goroutine whose callable was copied in (see above).
template <class F>
void go_entry_copied(void* p) noexcept {
    F& fn = *std::launder(static_cast<F*>(p));
    try {
        std::invoke(fn);
    } catch (const std::exception& e) {
        uncaught_in_goroutine(std::string(), e.what());
    } catch (...) {
        uncaught_in_goroutine(std::string(), "(not a std::exception)");
    }
}

}  // namespace detail

/// Runs `fn()` as a goroutine; returns its id. `fn` is moved (or copied) into the
/// goroutine, so move-only callables work, and is destroyed when the goroutine ends.
/// A trivially copyable callable (a function pointer, a lambda capturing pointers,
/// references and numbers) of at most GS_GO_COPY_MAX bytes is copied onto the
/// goroutine's stack by gs_go_copy: no heap allocation.
/// Throws gs::Error if the goroutine cannot be created.
template <class F>
int64_t go(const GoOptions& opts, F&& fn) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_v<Fn&>, "gs::go needs a callable taking no arguments");
    gs_go_opts o{};
    o.stack_size = opts.stack_size;
    o.name = opts.name;
    o.flags = opts.host ? static_cast<uint32_t>(GS_GO_HOST) : 0u;
    if constexpr (detail::copied_into_goroutine<Fn>) {
        if (opts.name == nullptr) {  // (a named one keeps its name for error messages)
            Fn f(std::forward<F>(fn));
            const int64_t id = gs_go_copy_with(&detail::go_entry_copied<Fn>, &f, sizeof f, &o);
            if (id < 0) throw Error(static_cast<int>(id), "gs_go");
            return id;
        }
    }
    auto* box = new detail::GoBox<Fn>{Fn(std::forward<F>(fn)), opts.name ? opts.name : ""};
    const int64_t id = gs_go_with(&detail::go_entry<Fn>, box, &o);
    if (id < 0) {
        delete box;
        throw Error(static_cast<int>(id), "gs_go");
    }
    return id;
}

template <class F>
int64_t go(F&& fn) {
    return go(GoOptions{}, std::forward<F>(fn));
}

/// Yields to other goroutines (off-goroutine: yields the thread).
inline void yield() noexcept { gs_gosched(); }

/// Parks the calling goroutine for `d` (off-goroutine: the thread sleeps).
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period>& d) {
    gs_sleep(detail::to_ns(d));
}

/// Parks the calling goroutine until `deadline` of any clock (returns at once if it has
/// passed; off-goroutine the thread sleeps).
template <class Clock, class Duration>
void sleep_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    const int64_t ns = detail::ns_until(deadline);
    if (ns > 0) gs_sleep(ns);
}

/// The calling goroutine's id; 0 off-goroutine.
inline int64_t goid() noexcept { return gs_goid(); }

/// True once the calling goroutine has used up its time slice.
inline bool should_yield() noexcept { return gs_should_yield(); }

/// Runs ready host goroutines on the host thread for up to `budget`; returns the number
/// of goroutine steps run. Throws gs::Error (GS_EPERM) on any other thread.
template <class Rep, class Period>
int run_for(const std::chrono::duration<Rep, Period>& budget) {
    return detail::check(gs_run_for(detail::to_ns(budget)), "gs_run_for");
}

// ---------------------------------------------------------------------------------------
// Channels

template <class T>
class Chan;
template <class T>
class RecvCase;
template <class T>
class SendCase;

namespace detail {

/// How a T travels through a gs_chan, which copies bytes: a trivially copyable T is
/// copied as is; any other T is moved into a heap cell whose pointer travels, and the
/// receiver moves it out and frees the cell.
template <class T>
struct ChanCell {
    static constexpr bool inline_value = std::is_trivially_copyable_v<T>;
    using Cell = std::conditional_t<inline_value, T, T*>;

    /// Turns the received bytes in `buf` into the value.
    static T take(void* buf) {
        if constexpr (inline_value) {
            return *std::launder(reinterpret_cast<T*>(buf));
        } else {
            T* p;
            std::memcpy(&p, buf, sizeof p);
            std::unique_ptr<T> owned(p);
            return T(std::move(*owned));
        }
    }
};

/// The C channel shared by every copy of a Chan<T>. The last copy frees it, after
/// deleting the values still in flight.
template <class T>
struct ChanCore {
    gs_chan* c;
    explicit ChanCore(gs_chan* ch) : c(ch) {}
    ~ChanCore() {
        if constexpr (!ChanCell<T>::inline_value) {
            T* p = nullptr;
            while (gs_chan_try_recv(c, &p) == 0) delete p;
        }
        // GS_EBUSY (someone still blocked on it) leaves the C channel allocated.
        gs_chan_free(c);
    }
    ChanCore(const ChanCore&) = delete;
    ChanCore& operator=(const ChanCore&) = delete;
};

}  // namespace detail

/// A channel of T (any move-constructible T), like Go's `make(chan T, capacity)`.
/// A Chan is a handle: copies refer to the same channel (as Go channel values do), and
/// the channel is freed with its last copy. Every call works from goroutines (which park)
/// and from other threads (which block).
template <class T>
class Chan {
    static_assert(std::is_move_constructible_v<T>, "gs::Chan<T> needs a movable T");
    using Cells = detail::ChanCell<T>;
    using Cell = typename Cells::Cell;

public:
    /// An unbuffered channel.
    Chan() : Chan(0) {}

    /// A channel with room for `capacity` values. Throws gs::Error for a negative
    /// capacity (GS_EINVAL) or when out of memory.
    template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
    explicit Chan(I capacity) {
        if constexpr (std::is_signed_v<I>) {
            if (capacity < 0) throw Error(GS_EINVAL, "gs::Chan: negative capacity");
        }
        gs_chan* c = gs_chan_new(sizeof(Cell), static_cast<size_t>(capacity));
        if (c == nullptr) throw Error(GS_ENOMEM, "gs_chan_new");
        core_ = std::make_shared<detail::ChanCore<T>>(c);
    }

    /// Sends `v`, waiting for room or a receiver. Returns false if the channel is closed
    /// (`v` is then destroyed).
    bool send(T v) {
        if constexpr (Cells::inline_value) {
            const int rc = gs_chan_send(native(), std::addressof(v));
            return finish_send(rc, "gs_chan_send");
        } else {
            T* p = new T(std::move(v));
            const int rc = gs_chan_send(native(), &p);
            if (rc != 0) delete p;
            return finish_send(rc, "gs_chan_send");
        }
    }

    /// Receives a value; std::nullopt once the channel is closed and drained.
    std::optional<T> recv() {
        alignas(Cell) unsigned char buf[sizeof(Cell)];
        const int rc = gs_chan_recv(native(), buf);
        if (rc == GS_ECLOSED) return std::nullopt;
        detail::check(rc, "gs_chan_recv");
        return std::optional<T>(Cells::take(buf));
    }

    /// Sends without blocking. On Status::ok `v` was moved from; otherwise (would_block,
    /// closed) `v` is left as it was.
    Status try_send(T& v) { return send_status(v, -1, "gs_chan_try_send"); }
    Status try_send(T&& v) { return send_status(v, -1, "gs_chan_try_send"); }

    /// Receives without blocking; sets `*status` (if given) to ok, would_block or closed.
    std::optional<T> try_recv(Status* status = nullptr) { return recv_status(-1, status); }

    /// send/recv with a timeout; Status::timeout when it expires (`v` is then untouched),
    /// also for a zero or negative timeout that finds nothing ready (a deadline loop whose
    /// remaining time reached zero sees `timeout`, never `would_block`).
    template <class Rep, class Period>
    Status send_for(T& v, const std::chrono::duration<Rep, Period>& timeout) {
        return send_status(v, detail::to_ns(timeout), "gs_chan_send_timeout");
    }
    template <class Rep, class Period>
    std::optional<T> recv_for(const std::chrono::duration<Rep, Period>& timeout, Status* status = nullptr) {
        return recv_status(detail::to_ns(timeout), status);
    }

    /// send_for/recv_for with a deadline of any clock: Status::timeout once it passes
    /// (a deadline already passed polls once, and reports timeout if nothing is ready).
    template <class Clock, class Duration>
    Status send_until(T& v, const std::chrono::time_point<Clock, Duration>& deadline) {
        return send_status(v, detail::ns_until(deadline), "gs_chan_send_timeout");
    }
    template <class Clock, class Duration>
    std::optional<T> recv_until(const std::chrono::time_point<Clock, Duration>& deadline,
                                Status* status = nullptr) {
        return recv_status(detail::ns_until(deadline), status);
    }

    /// Closes the channel; false if it was already closed.
    bool close() {
        const int rc = gs_chan_close(native());
        if (rc == GS_EALREADY) return false;
        detail::check(rc, "gs_chan_close");
        return true;
    }

    /// Values buffered now, and the capacity.
    size_t size() const { return gs_chan_len(native()); }
    size_t capacity() const { return gs_chan_cap(native()); }

    gs_chan* native() const noexcept { return core_->c; }

    friend bool operator==(const Chan& a, const Chan& b) noexcept { return a.core_ == b.core_; }
    friend bool operator!=(const Chan& a, const Chan& b) noexcept { return a.core_ != b.core_; }

private:
    friend class RecvCase<T>;
    friend class SendCase<T>;

    static bool finish_send(int rc, const char* what) {
        if (rc == 0) return true;
        if (rc == GS_ECLOSED) return false;
        detail::check(rc, what);
        return false;
    }

    // timeout_ns < 0: try_send (would_block); else send_timeout (0 polls, reporting timeout).
    Status send_status(T& v, int64_t timeout_ns, const char* what) {
        int rc;
        if constexpr (Cells::inline_value) {
            rc = timeout_ns < 0 ? gs_chan_try_send(native(), std::addressof(v))
                                 : gs_chan_send_timeout(native(), std::addressof(v), timeout_ns);
        } else {
            T* p = new T(std::move(v));
            rc = timeout_ns < 0 ? gs_chan_try_send(native(), &p)
                                 : gs_chan_send_timeout(native(), &p, timeout_ns);
            if (rc != 0) {
                v = std::move(*p);
                delete p;
            }
        }
        if (rc == 0 || rc == GS_ECLOSED || rc == GS_EAGAIN || rc == GS_ETIMEDOUT) return Status(rc);
        detail::check(rc, what);
        return Status(rc);
    }

    std::optional<T> recv_status(int64_t timeout_ns, Status* status) {
        alignas(Cell) unsigned char buf[sizeof(Cell)];
        const int rc = timeout_ns < 0 ? gs_chan_try_recv(native(), buf)
                                       : gs_chan_recv_timeout(native(), buf, timeout_ns);
        if (status) *status = Status(rc);
        if (rc == 0) return std::optional<T>(Cells::take(buf));
        if (rc == GS_ECLOSED || rc == GS_EAGAIN || rc == GS_ETIMEDOUT) return std::nullopt;
        detail::check(rc, "gs_chan_recv");
        return std::nullopt;
    }

    std::shared_ptr<detail::ChanCore<T>> core_;
};

// ---------------------------------------------------------------------------------------
// select

/// A receive case: when chosen, `out` gets the value, or std::nullopt if the channel is
/// closed and drained. Made by gs::on_recv.
template <class T>
class RecvCase {
public:
    RecvCase(Chan<T>& ch, std::optional<T>& out) : c_(ch.native()), out_(&out) {}
    void prepare(gs_select_case& sc) {
        sc.chan = c_;
        sc.op = GS_RECV;
        sc.elem = buf_;
        sc.result = 0;
    }
    /// Returns true if this case makes select fail (never, for a receive).
    bool finish(bool chosen, int result) {
        if (!chosen) return false;
        if (result == 0) {
            out_->emplace(detail::ChanCell<T>::take(buf_));
        } else {
            out_->reset();
        }
        return false;
    }

private:
    gs_chan* c_;
    std::optional<T>* out_;
    alignas(typename detail::ChanCell<T>::Cell) unsigned char buf_[sizeof(typename detail::ChanCell<T>::Cell)];
};

/// A send case: the value is moved into the case, and destroyed if another case is
/// chosen (as Go evaluates and drops it). Made by gs::on_send.
template <class T>
class SendCase {
    using Cells = detail::ChanCell<T>;
    using Cell = typename Cells::Cell;

public:
    template <class U>
    SendCase(Chan<T>& ch, U&& v) : c_(ch.native()) {
        if constexpr (Cells::inline_value) {
            ::new (static_cast<void*>(buf_)) T(std::forward<U>(v));  // trivially destructible
        } else {
            T* p = new T(std::forward<U>(v));
            std::memcpy(buf_, &p, sizeof p);
        }
    }
    ~SendCase() {
        if constexpr (!Cells::inline_value) {
            T* p;
            std::memcpy(&p, buf_, sizeof p);
            delete p;
        }
    }
    SendCase(const SendCase&) = delete;
    SendCase& operator=(const SendCase&) = delete;

    void prepare(gs_select_case& sc) {
        sc.chan = c_;
        sc.op = GS_SEND;
        sc.elem = buf_;
        sc.result = 0;
    }
    /// Returns true if this case was chosen on a closed channel.
    bool finish(bool chosen, int result) {
        if constexpr (!Cells::inline_value) {
            if (chosen && result == 0) {  // the receiver owns the value now
                T* none = nullptr;
                std::memcpy(buf_, &none, sizeof none);
            }
        }
        return chosen && result == GS_ECLOSED;
    }

private:
    gs_chan* c_;
    alignas(Cell) unsigned char buf_[sizeof(Cell)];
};

template <class T>
RecvCase<T> on_recv(Chan<T>& ch, std::optional<T>& out) {
    return RecvCase<T>(ch, out);
}

template <class T, class U>
SendCase<T> on_send(Chan<T>& ch, U&& v) {
    return SendCase<T>(ch, std::forward<U>(v));
}

namespace detail {

template <class... Cases>
int select_impl(int64_t timeout_ns, Cases&... cases) {
    std::array<gs_select_case, sizeof...(Cases)> arr{};
    {
        size_t i = 0;
        (cases.prepare(arr[i++]), ...);
    }
    const int rc = gs_select(arr.data(), arr.size(), timeout_ns);
    bool send_on_closed = false;
    {
        int i = 0;
        ((send_on_closed |= cases.finish(i == rc, arr[static_cast<size_t>(i)].result), ++i), ...);
    }
    if (rc == GS_ETIMEDOUT || rc == GS_EAGAIN) return -1;
    check(rc, "gs_select");
    if (send_on_closed) throw Error(GS_ECLOSED, "gs::select: send on a closed channel");
    return rc;
}

}  // namespace detail

/// Waits until one case can proceed, performs it and returns its index (Go's select):
///   std::optional<int> v;
///   switch (gs::select(gs::on_recv(in, v), gs::on_send(out, 42))) { ... }
/// Throws gs::Error(GS_ECLOSED) when the case chosen is a send on a closed channel.
template <class... Cases>
int select(Cases&&... cases) {
    return detail::select_impl(-1, cases...);
}

/// select with a timeout: -1 if no case fired in time.
template <class Rep, class Period, class... Cases>
int select_for(const std::chrono::duration<Rep, Period>& timeout, Cases&&... cases) {
    return detail::select_impl(detail::to_ns(timeout), cases...);
}

/// select with a deadline of any clock: -1 if no case fired before it.
template <class Clock, class Duration, class... Cases>
int select_until(const std::chrono::time_point<Clock, Duration>& deadline, Cases&&... cases) {
    return detail::select_impl(detail::ns_until(deadline), cases...);
}

/// select that does not wait (Go's select with a default case): -1 if none is ready.
template <class... Cases>
int try_select(Cases&&... cases) {
    return detail::select_impl(0, cases...);
}

// ---------------------------------------------------------------------------------------
// Wait groups and mutexes

/// Go's sync.WaitGroup. Throws gs::Error if the counter would go below zero (add/done)
/// and on allocation failure.
///
/// Neither copyable nor movable, like std::mutex and Go's WaitGroup ("must not be
/// copied after first use"): goroutines capture it by reference while they run, and a
/// moved-from object would leave them a dead handle. Share one by reference, or hold it
/// in a std::shared_ptr / std::unique_ptr to give it a different lifetime.
class WaitGroup {
public:
    WaitGroup() : h_(gs_waitgroup_new()) {
        if (h_ == nullptr) throw Error(GS_ENOMEM, "gs_waitgroup_new");
    }
    ~WaitGroup() { gs_waitgroup_free(h_); }  // GS_EBUSY while waited on: left allocated
    WaitGroup(const WaitGroup&) = delete;
    WaitGroup& operator=(const WaitGroup&) = delete;
    WaitGroup(WaitGroup&&) = delete;
    WaitGroup& operator=(WaitGroup&&) = delete;

    void add(int64_t delta = 1) { detail::check(gs_waitgroup_add(h_, delta), "gs_waitgroup_add"); }
    void done() { detail::check(gs_waitgroup_done(h_), "gs_waitgroup_done"); }
    void wait() { detail::check(gs_waitgroup_wait(h_), "gs_waitgroup_wait"); }

    /// wait for at most `timeout`: false if the counter is still above 0 then
    /// (gs_waitgroup_wait_timeout).
    template <class Rep, class Period>
    bool wait_for(const std::chrono::duration<Rep, Period>& timeout) {
        return wait_ns(detail::to_ns(timeout));
    }
    /// wait until a deadline of any clock: false if the counter is still above 0 then.
    template <class Clock, class Duration>
    bool wait_until(const std::chrono::time_point<Clock, Duration>& deadline) {
        return wait_ns(detail::ns_until(deadline));
    }
    gs_waitgroup* native() const noexcept { return h_; }

private:
    bool wait_ns(int64_t ns) {
        const int rc = gs_waitgroup_wait_timeout(h_, ns);
        if (rc == GS_ETIMEDOUT) return false;
        detail::check(rc, "gs_waitgroup_wait_timeout");
        return true;
    }

    gs_waitgroup* h_;
};

/// Go's sync.Mutex: TimedLockable (lock, try_lock, try_lock_for, try_lock_until), so
/// std::lock_guard, std::unique_lock (with its timed constructors and try_lock_for/until)
/// and std::scoped_lock work, as with std::timed_mutex. Not owned by a thread (a
/// goroutine may move between threads while holding it). Unlocking a mutex that is not
/// locked is a fatal error, as in Go.
///
/// Neither copyable nor movable, like std::mutex: the goroutines waiting on it, and the
/// std::lock_guard holding it, refer to this object. Share it by reference, or hold it
/// in a std::shared_ptr / std::unique_ptr.
class Mutex {
public:
    Mutex() : h_(gs_mutex_new()) {
        if (h_ == nullptr) throw Error(GS_ENOMEM, "gs_mutex_new");
    }
    ~Mutex() { gs_mutex_free(h_); }  // GS_EBUSY while locked: left allocated
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;
    Mutex(Mutex&&) = delete;
    Mutex& operator=(Mutex&&) = delete;

    /// Locks, waiting at most `timeout` (gs_mutex_lock_timeout): false if not taken.
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
        return lock_ns(detail::to_ns(timeout));
    }
    /// Locks, waiting until a deadline of any clock at most: false if not taken.
    template <class Clock, class Duration>
    bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
        return lock_ns(detail::ns_until(deadline));
    }

    void lock() { detail::check(gs_mutex_lock(h_), "gs_mutex_lock"); }
    bool try_lock() {
        const int rc = gs_mutex_trylock(h_);
        if (rc == GS_EAGAIN) return false;
        detail::check(rc, "gs_mutex_trylock");
        return true;
    }
    void unlock() noexcept {
        if (gs_mutex_unlock(h_) != 0) detail::fatal("gosched: gs::Mutex::unlock of an unlocked mutex\n");
    }
    gs_mutex* native() const noexcept { return h_; }

private:
    bool lock_ns(int64_t ns) {
        const int rc = gs_mutex_lock_timeout(h_, ns);
        if (rc == GS_ETIMEDOUT) return false;
        detail::check(rc, "gs_mutex_lock_timeout");
        return true;
    }

    gs_mutex* h_;
};

// ---------------------------------------------------------------------------------------
// Tracing (docs/tracing.md): traces for the Perfetto UI and chrome://tracing

namespace trace {

/// Traces every scheduling event until trace::stop(), which writes the trace to `fd`
/// (gs_trace_start). Throws gs::Error: GS_EINVAL for a bad fd, GS_EBUSY if tracing.
inline void start(int fd) { detail::check(gs_trace_start(fd, 0), "gs_trace_start"); }

/// Starts the flight recorder: each thread keeps its last `bytes` of events
/// (gs_trace_ring). Throws gs::Error: GS_EINVAL for 0, GS_EBUSY if tracing.
inline void ring(uint64_t bytes) { detail::check(gs_trace_ring(bytes), "gs_trace_ring"); }

/// Writes what is traced so far to `fd` while tracing goes on (gs_trace_snapshot).
inline void snapshot(int fd) { detail::check(gs_trace_snapshot(fd), "gs_trace_snapshot"); }

/// Stops tracing; after trace::start, writes the trace (gs_trace_stop).
inline void stop() { detail::check(gs_trace_stop(), "gs_trace_stop"); }

/// A log message in the trace (Go's trace.Log).
inline void log(const char* category, const char* message) {
    detail::check(gs_trace_log(category, message), "gs_trace_log");
}

/// A region of the calling goroutine, from construction to destruction (Go's
/// trace.WithRegion): `{ gs::trace::Region r{"load level"}; ... }`. The name must
/// outlive the region.
class Region {
public:
    explicit Region(const char* name) : name_(name) {
        detail::check(gs_trace_region_begin(name), "gs_trace_region_begin");
    }
    ~Region() { gs_trace_region_end(name_); }
    Region(const Region&) = delete;
    Region& operator=(const Region&) = delete;

private:
    const char* name_;
};

}  // namespace trace

}  // namespace gs

// RWMutex, Once, CondVar, Semaphore, Timer, Ticker, AfterFunc, Context.
#include "gosched_sync.hpp"

#endif  // GOSCHED_HPP
