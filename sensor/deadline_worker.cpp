#include "deadline_worker.hpp"

#include <system_error>
#include <thread>

namespace barbwire::sensor {

struct deadline_worker::state {
    std::mutex m;
    std::condition_variable cv;
    std::function<void()> job;
    bool has_job = false;   // a job waits for the thread
    bool job_done = false;  // the last job returned
    bool quit = false;      // the owner is gone: exit when idle
    bool abandoned = false; // the owner gave up on the running job: exit after it
    std::shared_ptr<std::atomic<std::size_t>> abandoned_count;
};

namespace {

void worker_loop(const std::shared_ptr<deadline_worker::state>& s) {
    std::unique_lock<std::mutex> lock(s->m);
    for (;;) {
        s->cv.wait(lock, [&] { return s->has_job || s->quit; });
        if (!s->has_job) return; // quit while idle
        std::function<void()> job = std::move(s->job);
        s->job = nullptr;
        s->has_job = false;
        lock.unlock();
        try {
            job(); // may block for ever (that is why it runs here)
        } catch (...) {
            // No result (the caller sees an empty value); the thread lives on.
        }
        job = nullptr; // what it captured goes now, on this thread
        lock.lock();
        s->job_done = true;
        if (s->abandoned) {
            // Nobody waits for this result: the thread leaves, and the
            // count of abandoned threads alive drops.
            s->abandoned_count->fetch_sub(1, std::memory_order_acq_rel);
            return;
        }
        s->cv.notify_all();
    }
}

} // namespace

deadline_worker::deadline_worker() : deadline_worker(options{}) {}

deadline_worker::deadline_worker(options opts)
    : opts_(opts), abandoned_(std::make_shared<std::atomic<std::size_t>>(0)) {}

deadline_worker::~deadline_worker() {
    if (!worker_) return;
    {
        const std::lock_guard<std::mutex> lock(worker_->m);
        worker_->quit = true;
    }
    worker_->cv.notify_all();
    // The thread is detached (start_worker): it sees quit and exits on its own.
}

bool deadline_worker::start_worker() {
    auto s = std::make_shared<state>();
    s->abandoned_count = abandoned_;
    try {
        // Detached from the start: a worker is never joined (an idle one
        // exits on quit; an abandoned one when its call returns), and its
        // state lives as long as the thread holds it.
        std::thread([s] { worker_loop(s); }).detach();
    } catch (const std::system_error&) {
        return false;
    }
    worker_ = std::move(s);
    return true;
}

call_outcome deadline_worker::run_job(std::function<void()> job) {
    ++stats_.calls;
    if (abandoned_->load(std::memory_order_acquire) >= opts_.max_abandoned) {
        ++stats_.skipped; // another timeout would pass the bound: refuse now
        return call_outcome::skipped;
    }
    if (!worker_ && !start_worker()) {
        ++stats_.skipped;
        ++stats_.spawn_failures;
        return call_outcome::skipped;
    }
    std::unique_lock<std::mutex> lock(worker_->m);
    worker_->job = std::move(job);
    worker_->has_job = true;
    worker_->job_done = false;
    worker_->cv.notify_all();
    if (worker_->cv.wait_for(lock, opts_.deadline, [&] { return worker_->job_done; })) {
        ++stats_.done;
        return call_outcome::done;
    }
    // Still running at the deadline: give the thread up (under the lock, so
    // it cannot finish unseen in between) and use a fresh one next time.
    worker_->abandoned = true;
    abandoned_->fetch_add(1, std::memory_order_acq_rel);
    lock.unlock();
    worker_.reset();
    ++stats_.timeouts;
    return call_outcome::timed_out;
}

deadline_worker_stats deadline_worker::stats() const noexcept {
    deadline_worker_stats s = stats_;
    s.abandoned_alive = abandoned_->load(std::memory_order_acquire);
    return s;
}

} // namespace barbwire::sensor
