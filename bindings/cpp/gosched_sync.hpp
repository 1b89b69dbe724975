// gosched_sync.hpp - the rest of Go's sync, time and context for C++ (included by
// gosched.hpp; include that one):
//
//   gs::RWMutex rw;                       // std::shared_lock / std::unique_lock
//   { std::shared_lock r(rw); ... }       // many readers
//   { std::unique_lock w(rw); ... }       // one writer; waiting writers keep new readers out
//   static gs::Once once;  once.call([] { init(); });
//   gs::CondVar cv(mu);   cv.wait(lock, [&] { return ready; });
//   gs::Semaphore sem(10); sem.acquire(3); sem.release(3);
//   gs::Timer t(50ms);     gs::select(gs::on_recv(ch, v), t.on_fire(when));
//   gs::Ticker tk(10ms);   int64_t at = tk.recv();
//   gs::AfterFunc af(5ms, [] { ... });    // runs on a new goroutine
//   gs::Context ctx = gs::Context::with_timeout(gs::Context::background(), 100ms);
//   gs::select(gs::on_recv(jobs, job), ctx.on_done());  // 1: ctx.err() says why
//
// Errors: constructors throw gs::Error on allocation failure and on the C API's
// argument errors (GS_EINVAL) or a missing runtime (GS_ENOTINIT) for timers; misuse
// that Go reports with a panic (unlock of an unlocked RWMutex, release of more than is
// held) is a fatal error (unlock) or throws (release). Timeouts are values
// (bool / std::cv_status), not exceptions.

#ifndef GOSCHED_SYNC_HPP
#define GOSCHED_SYNC_HPP

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace gs {

/// Go's sync.RWMutex: Lockable and SharedLockable, so std::unique_lock,
/// std::lock_guard and std::shared_lock work. Not owned by a thread.
class RWMutex {
public:
    RWMutex() : h_(gs_rwmutex_new()) {
        if (h_ == nullptr) throw Error(GS_ENOMEM, "gs_rwmutex_new");
    }
    ~RWMutex() { gs_rwmutex_free(h_); }  // GS_EBUSY while held: left allocated
    RWMutex(const RWMutex&) = delete;
    RWMutex& operator=(const RWMutex&) = delete;

    void lock() { detail::check(gs_rwmutex_lock(h_), "gs_rwmutex_lock"); }
    bool try_lock() { return try_(gs_rwmutex_trylock(h_), "gs_rwmutex_trylock"); }
    void unlock() noexcept {
        if (gs_rwmutex_unlock(h_) != 0) detail::fatal("gosched: gs::RWMutex::unlock of an unlocked rwmutex\n");
    }
    void lock_shared() { detail::check(gs_rwmutex_rlock(h_), "gs_rwmutex_rlock"); }
    bool try_lock_shared() { return try_(gs_rwmutex_tryrlock(h_), "gs_rwmutex_tryrlock"); }
    void unlock_shared() noexcept {
        if (gs_rwmutex_runlock(h_) != 0)
            detail::fatal("gosched: gs::RWMutex::unlock_shared without a read lock\n");
    }
    gs_rwmutex* native() const noexcept { return h_; }

private:
    static bool try_(int rc, const char* what) {
        if (rc == GS_EAGAIN) return false;
        detail::check(rc, what);
        return true;
    }
    gs_rwmutex* h_;
};

/// Go's sync.Once: call(f) runs f exactly once over all calls; the others wait until it
/// has returned. Can be a static (constant-initialised). An exception escaping f is
/// fatal (the other callers would wait forever): catch inside f.
class Once {
public:
    constexpr Once() noexcept = default;
    Once(const Once&) = delete;
    Once& operator=(const Once&) = delete;

    template <class F>
    void call(F&& f) {
        if (__atomic_load_n(&o_._state, __ATOMIC_ACQUIRE) == 2) return;  // the fast path
        auto* p = std::addressof(f);
        detail::check(gs_once_do(&o_, &trampoline<std::remove_reference_t<F>>, static_cast<void*>(p)), "gs_once_do");
    }
    bool done() const noexcept { return gs_once_done(&o_); }

private:
    template <class F>
    static void trampoline(void* arg) {
        try {
            (*static_cast<F*>(arg))();
        } catch (...) {
            detail::fatal("gosched: an exception escaped the function of gs::Once::call\n");
        }
    }
    gs_once o_ = GS_ONCE_INIT;
};

/// Go's sync.Cond over a gs::Mutex, with std::condition_variable's interface for
/// std::unique_lock<gs::Mutex>.
class CondVar {
public:
    explicit CondVar(Mutex& m) : h_(gs_cond_new(m.native())) {
        if (h_ == nullptr) throw Error(GS_ENOMEM, "gs_cond_new");
    }
    ~CondVar() { gs_cond_free(h_); }
    CondVar(const CondVar&) = delete;
    CondVar& operator=(const CondVar&) = delete;

    void wait(std::unique_lock<Mutex>& lk) {
        (void)lk;
        detail::check(gs_cond_wait(h_), "gs_cond_wait");
    }
    template <class Pred>
    void wait(std::unique_lock<Mutex>& lk, Pred pred) {
        while (!pred()) wait(lk);
    }
    template <class Rep, class Period>
    std::cv_status wait_for(std::unique_lock<Mutex>& lk, const std::chrono::duration<Rep, Period>& d) {
        (void)lk;
        const int rc = gs_cond_wait_timeout(h_, detail::to_ns(d));
        if (rc == GS_ETIMEDOUT) return std::cv_status::timeout;
        detail::check(rc, "gs_cond_wait_timeout");
        return std::cv_status::no_timeout;
    }
    template <class Rep, class Period, class Pred>
    bool wait_for(std::unique_lock<Mutex>& lk, const std::chrono::duration<Rep, Period>& d, Pred pred) {
        const auto end = std::chrono::steady_clock::now() + d;
        while (!pred()) {
            const auto left = end - std::chrono::steady_clock::now();
            if (left <= left.zero() || wait_for(lk, left) == std::cv_status::timeout) return pred();
        }
        return true;
    }
    void notify_one() noexcept { gs_cond_signal(h_); }
    void notify_all() noexcept { gs_cond_broadcast(h_); }
    gs_cond* native() const noexcept { return h_; }

private:
    gs_cond* h_;
};

/// Go's x/sync/semaphore.Weighted: FIFO, so a large request is not starved.
class Semaphore {
public:
    explicit Semaphore(int64_t size) : h_(gs_semaphore_new(size)) {
        if (h_ == nullptr) throw Error(size <= 0 ? GS_EINVAL : GS_ENOMEM, "gs_semaphore_new");
    }
    ~Semaphore() { gs_semaphore_free(h_); }
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    void acquire(int64_t n = 1) { detail::check(gs_semaphore_acquire(h_, n), "gs_semaphore_acquire"); }
    bool try_acquire(int64_t n = 1) {
        const int rc = gs_semaphore_tryacquire(h_, n);
        if (rc == GS_EAGAIN) return false;
        detail::check(rc, "gs_semaphore_tryacquire");
        return true;
    }
    template <class Rep, class Period>
    bool acquire_for(int64_t n, const std::chrono::duration<Rep, Period>& d) {
        const int rc = gs_semaphore_acquire_timeout(h_, n, detail::to_ns(d));
        if (rc == GS_ETIMEDOUT) return false;
        detail::check(rc, "gs_semaphore_acquire_timeout");
        return true;
    }
    void release(int64_t n = 1) { detail::check(gs_semaphore_release(h_, n), "gs_semaphore_release"); }
    int64_t held() const noexcept { return gs_semaphore_held(h_); }
    gs_semaphore* native() const noexcept { return h_; }

private:
    gs_semaphore* h_;
};

/// A receive case on a channel of int64_t the library owns (a timer's or ticker's) or
/// of size 0 (a context's done channel), for gs::select.
class RawRecvCase {
public:
    RawRecvCase(gs_chan* c, int64_t* out) : c_(c), out_(out) {}
    void prepare(gs_select_case& sc) {
        sc.chan = c_;
        sc.op = GS_RECV;
        sc.elem = out_ ? static_cast<void*>(out_) : static_cast<void*>(&scratch_);
        sc.result = 0;
    }
    bool finish(bool, int) { return false; }

private:
    gs_chan* c_;
    int64_t* out_;
    int64_t scratch_ = 0;
};

/// Go's time.Timer (Go 1.23 semantics: after stop/reset no stale value is received).
class Timer {
public:
    template <class Rep, class Period>
    explicit Timer(const std::chrono::duration<Rep, Period>& d) {
        detail::check(gs_timer_new(detail::to_ns(d), &h_), "gs_timer_new");
    }
    ~Timer() { gs_timer_free(h_); }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    /// true if this call stopped it before its value was received.
    bool stop() { return detail::check(gs_timer_stop(h_), "gs_timer_stop") == 1; }
    template <class Rep, class Period>
    bool reset(const std::chrono::duration<Rep, Period>& d) {
        return detail::check(gs_timer_reset(h_, detail::to_ns(d)), "gs_timer_reset") == 1;
    }
    /// Waits for the firing; returns its gs_nanotime.
    int64_t wait() {
        int64_t v = 0;
        detail::check(gs_chan_recv(chan(), &v), "gs_chan_recv");
        return v;
    }
    RawRecvCase on_fire(int64_t& when) { return RawRecvCase(chan(), &when); }
    gs_chan* chan() const noexcept { return gs_timer_chan(h_); }

private:
    gs_timer* h_ = nullptr;
};

/// Go's time.Ticker: drops ticks for a slow receiver (at most one is queued).
class Ticker {
public:
    template <class Rep, class Period>
    explicit Ticker(const std::chrono::duration<Rep, Period>& period) {
        detail::check(gs_ticker_new(detail::to_ns(period), &h_), "gs_ticker_new");
    }
    ~Ticker() { gs_ticker_free(h_); }
    Ticker(const Ticker&) = delete;
    Ticker& operator=(const Ticker&) = delete;

    void stop() { detail::check(gs_ticker_stop(h_), "gs_ticker_stop"); }
    template <class Rep, class Period>
    void reset(const std::chrono::duration<Rep, Period>& period) {
        detail::check(gs_ticker_reset(h_, detail::to_ns(period)), "gs_ticker_reset");
    }
    /// Waits for a tick; returns its gs_nanotime.
    int64_t recv() {
        int64_t v = 0;
        detail::check(gs_chan_recv(chan(), &v), "gs_chan_recv");
        return v;
    }
    RawRecvCase on_tick(int64_t& when) { return RawRecvCase(chan(), &when); }
    gs_chan* chan() const noexcept { return gs_ticker_chan(h_); }

private:
    gs_ticker* h_ = nullptr;
};

/// Go's time.AfterFunc: runs f on a new goroutine after the duration. The callable
/// lives until the object is gone and every run of it has returned.
class AfterFunc {
    struct State {
        std::function<void()> f;
        std::atomic<int> refs;
    };

public:
    template <class Rep, class Period, class F>
    AfterFunc(const std::chrono::duration<Rep, Period>& d, F&& f)
        : s_(new State{std::function<void()>(std::forward<F>(f)), {2}}) {  // owner + this arming
        const int rc = gs_after_func(detail::to_ns(d), &trampoline, s_, &h_);
        if (rc != 0) {
            delete s_;
            detail::check(rc, "gs_after_func");
        }
    }
    ~AfterFunc() {
        stop();
        gs_timer_free(h_);
        unref(s_);
    }
    AfterFunc(const AfterFunc&) = delete;
    AfterFunc& operator=(const AfterFunc&) = delete;

    /// true if it prevented the run.
    bool stop() {
        const bool prevented = detail::check(gs_timer_stop(h_), "gs_timer_stop") == 1;
        if (prevented) unref(s_);
        return prevented;
    }
    /// Arms it again; true if it was armed (that run is then prevented).
    template <class Rep, class Period>
    bool reset(const std::chrono::duration<Rep, Period>& d) {
        s_->refs.fetch_add(1);
        const int rc = gs_timer_reset(h_, detail::to_ns(d));
        if (rc < 0) unref(s_);
        detail::check(rc, "gs_timer_reset");
        if (rc == 1) unref(s_);
        return rc == 1;
    }

private:
    static void unref(State* s) {
        if (s->refs.fetch_sub(1) == 1) delete s;
    }
    static void trampoline(void* arg) {
        State* s = static_cast<State*>(arg);
        try {
            s->f();
        } catch (...) {
            detail::fatal("gosched: an exception escaped the function of gs::AfterFunc\n");
        }
        unref(s);
    }
    State* s_;
    gs_timer* h_ = nullptr;
};

/// A cancellation context (Go's context.Context). Movable, not copyable; children must
/// be destroyed before their parent (automatic for locals). err() is 0, GS_ECANCELED
/// or GS_ETIMEDOUT (deadline exceeded).
class Context {
public:
    static Context background() noexcept { return Context(gs_context_background()); }
    static Context with_cancel(const Context& parent) {
        gs_context* c = nullptr;
        detail::check(gs_context_with_cancel(parent.h_, &c), "gs_context_with_cancel");
        return Context(c);
    }
    template <class Rep, class Period>
    static Context with_timeout(const Context& parent, const std::chrono::duration<Rep, Period>& d) {
        gs_context* c = nullptr;
        detail::check(gs_context_with_timeout(parent.h_, detail::to_ns(d), &c), "gs_context_with_timeout");
        return Context(c);
    }
    static Context with_deadline(const Context& parent, int64_t deadline_ns) {
        gs_context* c = nullptr;
        detail::check(gs_context_with_deadline(parent.h_, deadline_ns, &c), "gs_context_with_deadline");
        return Context(c);
    }
    static Context with_value(const Context& parent, const void* key, void* value) {
        gs_context* c = nullptr;
        detail::check(gs_context_with_value(parent.h_, key, value, &c), "gs_context_with_value");
        return Context(c);
    }
    Context(Context&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
    Context& operator=(Context&& o) noexcept {
        if (this != &o) {
            release();
            h_ = o.h_;
            o.h_ = nullptr;
        }
        return *this;
    }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context() { release(); }

    void cancel() { detail::check(gs_context_cancel(h_), "gs_context_cancel"); }
    int err() const noexcept { return gs_context_err(h_); }
    bool done() const noexcept { return err() != 0; }
    void* value(const void* key) const noexcept { return gs_context_value(h_, key); }
    std::optional<int64_t> deadline() const {
        int64_t d = 0;
        if (detail::check(gs_context_deadline(h_, &d), "gs_context_deadline") == 1) return d;
        return std::nullopt;
    }
    /// Waits until it is canceled; returns err().
    int wait() const {
        gs_chan* c = gs_context_done(h_);
        if (c == nullptr) throw Error(GS_EDEADLK, "gs::Context::wait on the background context");
        const int rc = gs_chan_recv(c, nullptr);
        if (rc != GS_ECLOSED) detail::check(rc, "gs_chan_recv");
        return err();
    }
    RawRecvCase on_done() const { return RawRecvCase(gs_context_done(h_), nullptr); }
    gs_chan* done_chan() const noexcept { return gs_context_done(h_); }
    gs_context* native() const noexcept { return h_; }

private:
    explicit Context(gs_context* h) noexcept : h_(h) {}
    void release() noexcept {
        if (h_ != nullptr) gs_context_free(h_);
        h_ = nullptr;
    }
    gs_context* h_;
};

}  // namespace gs

#endif  // GOSCHED_SYNC_HPP
