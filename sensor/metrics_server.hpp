#pragma once
// The --metrics endpoint: Prometheus text on /metrics, the loop's health on
// /healthz (docs/metrics.md), served by cpp-httplib on threads of its own.
//
// The event loop never waits for it. The loop hands over
//   - a snapshot of its figures, at most once a second and at stop
//     (publish: a move under a mutex, which the HTTP side holds only to
//     copy a shared pointer), and
//   - the time of its last drain of the ring buffer, after every poll
//     (drained: one atomic store).
// A scrape renders the latest snapshot plus what is read at scrape time
// (the process's CPU and memory, the health verdict).

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "metrics.hpp"
#include "preflight.hpp"

namespace httplib {
class Server;
}

namespace barbwire::sensor {

class metrics_server {
public:
    // Binds `address` (a bad or busy one is one line for the user, before
    // anything on the system changes); serve() then starts the threads that
    // answer, once the sensor has dropped its privileges (privileges.hpp).
    [[nodiscard]] static check_result<std::unique_ptr<metrics_server>> start(const listen_address& address);
    void serve();

    ~metrics_server(); // stops serving and joins the threads
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    // The loop's side; neither blocks on a scrape.
    void publish(metric_set snapshot);
    void drained() noexcept; // now, on CLOCK_MONOTONIC
    void set_phase(sensor_phase p) noexcept { phase_.store(p, std::memory_order_relaxed); }

    [[nodiscard]] const listen_address& address() const noexcept { return address_; }

    // What /healthz answers now.
    [[nodiscard]] health_verdict health() const;
    // What /metrics answers now.
    [[nodiscard]] std::string scrape() const;

private:
    explicit metrics_server(listen_address a);
    listen_address address_;
    std::unique_ptr<httplib::Server> server_;
    std::thread listener_;
    mutable std::mutex mu_;
    std::shared_ptr<const metric_set> snapshot_; // guarded by mu_
    std::atomic<std::int64_t> last_drain_mono_ns_{0}; // 0: never
    std::atomic<std::int64_t> last_drain_real_ns_{0};
    std::atomic<sensor_phase> phase_{sensor_phase::starting};
    double start_time_seconds_ = 0;
};

} // namespace barbwire::sensor
