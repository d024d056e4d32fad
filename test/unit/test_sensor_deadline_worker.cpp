// sensor/deadline_worker (issue 15): a call with a deadline on a worker
// thread; a call that does not finish is abandoned (its thread detached and
// counted), the next call gets a fresh thread, and past max_abandoned stuck
// threads calls are refused at once.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

#include "deadline_worker.hpp"

using namespace barbwire::sensor;
using namespace std::chrono_literals;

namespace {

// A gate the test opens: a call waits on it until released.
struct gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    int waiting = 0;
    void wait() {
        std::unique_lock<std::mutex> l(m);
        ++waiting;
        cv.notify_all();
        cv.wait(l, [&] { return open; });
        --waiting;
    }
    void release() {
        {
            const std::lock_guard<std::mutex> l(m);
            open = true;
        }
        cv.notify_all();
    }
};

// Polls `pred` up to `limit` (the abandoned threads finish asynchronously).
template <class Pred> bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

long tid() { return static_cast<long>(::syscall(SYS_gettid)); }

} // namespace

TEST_CASE("deadline_worker: a fast call returns its value, on a worker thread", "[sensor][deadline_worker]") {
    deadline_worker w(deadline_worker::options{250ms, 4});
    const auto r = w.run([] { return std::string("seeded"); });
    REQUIRE(r.outcome == call_outcome::done);
    REQUIRE(r.ok());
    CHECK(*r.value == "seeded");
    const long me = tid();
    const auto t1 = w.run([] { return tid(); });
    const auto t2 = w.run([] { return tid(); });
    REQUIRE(t1.ok());
    REQUIRE(t2.ok());
    CHECK(*t1.value != me);
    CHECK(*t1.value == *t2.value); // the same worker, reused
    const deadline_worker_stats s = w.stats();
    CHECK(s.calls == 3);
    CHECK(s.done == 3);
    CHECK(s.timeouts == 0);
    CHECK(s.skipped == 0);
    CHECK(s.abandoned_alive == 0);
}

TEST_CASE("deadline_worker: a blocked call times out within its bound; the next call gets a fresh worker",
          "[sensor][deadline_worker]") {
    auto g = std::make_shared<gate>();
    deadline_worker w(deadline_worker::options{100ms, 4});
    const auto before = w.run([] { return tid(); });
    REQUIRE(before.ok());

    const auto t0 = std::chrono::steady_clock::now();
    const auto r = w.run([g] {
        g->wait();
        return 1;
    });
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(r.outcome == call_outcome::timed_out);
    CHECK_FALSE(r.value.has_value());
    CHECK(took >= 100ms);
    CHECK(took < 2000ms); // the deadline, not the call, bounds the wait
    CHECK(w.stats().timeouts == 1);
    CHECK(w.stats().abandoned_alive == 1);

    // Later calls work, on another thread than the stuck one.
    const auto after = w.run([] { return tid(); });
    REQUIRE(after.ok());
    CHECK(*after.value != *before.value);
    CHECK(w.stats().done == 2);

    // Released, the abandoned worker finishes (dropping its result) and leaves.
    g->release();
    CHECK(eventually([&] { return w.stats().abandoned_alive == 0; }));
}

TEST_CASE("deadline_worker: past max_abandoned stuck workers, calls are refused at once; released, they run again",
          "[sensor][deadline_worker]") {
    auto g = std::make_shared<gate>();
    deadline_worker w(deadline_worker::options{50ms, 2});
    for (int i = 0; i < 2; ++i) {
        const auto r = w.run([g, i] {
            g->wait();
            return i;
        });
        CHECK(r.outcome == call_outcome::timed_out);
    }
    CHECK(w.stats().abandoned_alive == 2);
    {
        std::unique_lock<std::mutex> l(g->m);
        CHECK(g->waiting == 2); // both threads really are stuck in the call
    }

    bool ran = false;
    const auto t0 = std::chrono::steady_clock::now();
    const auto refused = w.run([&ran] {
        ran = true;
        return 0;
    });
    CHECK(std::chrono::steady_clock::now() - t0 < 50ms); // no wait at all
    CHECK(refused.outcome == call_outcome::skipped);
    CHECK_FALSE(refused.value.has_value());
    CHECK_FALSE(ran);
    deadline_worker_stats s = w.stats();
    CHECK(s.calls == 3);
    CHECK(s.timeouts == 2);
    CHECK(s.skipped == 1);
    CHECK(s.spawn_failures == 0);

    g->release();
    CHECK(eventually([&] { return w.stats().abandoned_alive == 0; }));
    const auto again = w.run([] { return 7; });
    REQUIRE(again.ok());
    CHECK(*again.value == 7);
    s = w.stats();
    CHECK(s.done == 1);
    CHECK(s.skipped == 1);
}

TEST_CASE("deadline_worker: destroyed while a worker is stuck, the stuck call still finishes safely",
          "[sensor][deadline_worker]") {
    auto g = std::make_shared<gate>();
    auto finished = std::make_shared<std::atomic<bool>>(false);
    {
        deadline_worker w(deadline_worker::options{20ms, 1});
        const auto r = w.run([g, finished] {
            g->wait();
            finished->store(true);
            return 0;
        });
        CHECK(r.outcome == call_outcome::timed_out);
    } // the owner is gone; the thread holds its own state
    g->release();
    CHECK(eventually([&] { return finished->load(); }));
}
