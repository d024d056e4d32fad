#pragma once
// A call with a deadline (issue 15, docs/design.md "Reads that may never
// return"): some reads the sensor makes can block for ever in the kernel --
// /proc/PID/cmdline of a process whose argv page is a mapping of a file on a
// FUSE filesystem whose daemon never answers, a stat of an executable on such
// a filesystem. Such a read cannot be cancelled (the thread sleeps killable
// or uninterruptibly in the FUSE request), so it is made on a worker thread
// and the caller waits at most `deadline` for it.
//
// A call that does not finish in time is abandoned: its thread is detached
// and keeps its state alive through a shared_ptr, finishes whenever the read
// returns (if ever), drops its result and exits. The next call gets a fresh
// worker. At most `max_abandoned` abandoned threads may be alive at once;
// while that many are, calls are refused at once ("skipped"), so a hostile
// filesystem costs a bounded number of threads and, per refused call, no
// time at all.
//
// The callable must own everything it uses (capture by value): it may run on
// after run() has returned. Threads are created lazily, on the first call,
// so that they start with the privileges left after the drop
// (privileges.hpp). No busy loops: waits are on a condition variable.
//
// Unit-tested in test/unit/test_sensor_deadline_worker.cpp.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace barbwire::sensor {

struct deadline_worker_stats {
    std::uint64_t calls = 0;            // run() calls, refused ones included
    std::uint64_t done = 0;             // finished within the deadline
    std::uint64_t timeouts = 0;         // abandoned at the deadline
    std::uint64_t skipped = 0;          // refused: max_abandoned threads alive, or no thread could start
    std::uint64_t spawn_failures = 0;   // of the skipped: the thread could not be created
    std::size_t abandoned_alive = 0;    // abandoned threads still blocked (now)
};

enum class call_outcome : std::uint8_t { done, timed_out, skipped };

template <class T> struct deadline_result {
    call_outcome outcome = call_outcome::skipped;
    std::optional<T> value; // set when outcome is done (empty only if the callable threw)
    [[nodiscard]] bool ok() const noexcept { return outcome == call_outcome::done; }
};

class deadline_worker {
public:
    struct options {
        std::chrono::milliseconds deadline{250};
        std::size_t max_abandoned = 4;
    };

    deadline_worker(); // 250 ms, 4
    explicit deadline_worker(options opts);
    ~deadline_worker(); // stops the idle worker; abandoned ones stay detached
    deadline_worker(const deadline_worker&) = delete;
    deadline_worker& operator=(const deadline_worker&) = delete;

    // Runs f() on the worker and waits up to the deadline. f's result (a
    // value type) when it finished; timed_out when it did not (the thread is
    // abandoned); skipped when the call was refused (nothing ran).
    template <class F> [[nodiscard]] auto run(F f) -> deadline_result<std::invoke_result_t<F&>> {
        using T = std::invoke_result_t<F&>;
        static_assert(!std::is_void_v<T>, "the callable returns a value");
        auto slot = std::make_shared<std::optional<T>>();
        const call_outcome how = run_job([slot, f = std::move(f)]() mutable { slot->emplace(f()); });
        deadline_result<T> r;
        r.outcome = how;
        if (how == call_outcome::done) r.value = std::move(*slot);
        return r;
    }

    [[nodiscard]] deadline_worker_stats stats() const noexcept;
    [[nodiscard]] const options& config() const noexcept { return opts_; }

    struct state; // one worker thread's (shared with it)

private:
    call_outcome run_job(std::function<void()> job);
    bool start_worker();

    options opts_;
    std::shared_ptr<state> worker_;                     // the live worker, or none yet
    std::shared_ptr<std::atomic<std::size_t>> abandoned_; // shared with the abandoned threads
    deadline_worker_stats stats_;
};

} // namespace barbwire::sensor
