#include "metrics_server.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

namespace barbwire::sensor {
namespace {

std::int64_t clock_ns(clockid_t id) {
    timespec ts{};
    ::clock_gettime(id, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Why binding `a` fails, found by binding a socket of our own the way the
// server does (cpp-httplib reports only that it failed).
std::string bind_failure(const listen_address& a) {
    const int fd = ::socket(a.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::strerror(errno);
    const int one = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = -1;
    if (a.ipv6) {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(a.port);
        ::inet_pton(AF_INET6, a.host.c_str(), &sa.sin6_addr);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    } else {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(a.port);
        ::inet_pton(AF_INET, a.host.c_str(), &sa.sin_addr);
        rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    }
    if (rc == 0) rc = ::listen(fd, 1);
    const int err = rc == 0 ? 0 : errno;
    ::close(fd);
    switch (err) {
    case 0: return "the server could not bind it";
    case EADDRINUSE: return "the address is in use (another program listens on that port); choose another port";
    case EADDRNOTAVAIL: return "that is not an address of this host; use 127.0.0.1 (recommended) or an address it has";
    case EACCES: return std::string(std::strerror(err)) + "; choose a port above 1023 or run with CAP_NET_BIND_SERVICE";
    default: return std::strerror(err);
    }
}

// The sensor's start, from /proc/self/stat (ticks since boot) and /proc/stat's btime.
double process_start_seconds() {
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (std::getline(stat, line)) {
        const std::size_t close = line.rfind(')'); // comm may hold spaces
        if (close != std::string::npos) {
            std::istringstream rest(line.substr(close + 2));
            std::string field;
            // fields from 3 (state) on; starttime is field 22
            for (int i = 3; i <= 22 && (rest >> field); ++i) {
                if (i != 22) continue;
                const double ticks = std::strtod(field.c_str(), nullptr);
                std::ifstream sys("/proc/stat");
                std::string key;
                while (sys >> key) {
                    if (key == "btime") {
                        double btime = 0;
                        sys >> btime;
                        const long hz = ::sysconf(_SC_CLK_TCK);
                        return btime + ticks / static_cast<double>(hz > 0 ? hz : 100);
                    }
                    std::getline(sys, key);
                }
            }
        }
    }
    return static_cast<double>(clock_ns(CLOCK_REALTIME)) / 1e9;
}

process_figures read_process(double start_seconds) {
    process_figures p;
    p.start_time_seconds = start_seconds;
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) == 0) {
        p.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                        static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
    if (std::FILE* f = std::fopen("/proc/self/statm", "re")) {
        unsigned long size = 0, resident = 0;
        if (std::fscanf(f, "%lu %lu", &size, &resident) == 2) {
            const long page = ::sysconf(_SC_PAGESIZE);
            p.virtual_bytes = static_cast<double>(size) * static_cast<double>(page);
            p.resident_bytes = static_cast<double>(resident) * static_cast<double>(page);
        }
        std::fclose(f);
    }
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        std::size_t n = 0;
        while (const dirent* e = ::readdir(dir))
            if (e->d_name[0] != '.') ++n;
        ::closedir(dir);
        p.open_fds = static_cast<double>(n > 0 ? n - 1 : 0); // not the directory's own descriptor
    }
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) p.max_fds = static_cast<double>(rl.rlim_cur);
    return p;
}

} // namespace

metrics_server::metrics_server(listen_address a) : address_(std::move(a)) {}

check_result<std::unique_ptr<metrics_server>> metrics_server::start(const listen_address& address) {
    std::unique_ptr<metrics_server> self(new metrics_server(address));
    self->start_time_seconds_ = process_start_seconds();
    self->server_ = std::make_unique<httplib::Server>();
    httplib::Server& svr = *self->server_;
    // Two workers: Prometheus, a health probe and a person with curl.
    svr.new_task_queue = [] { return new httplib::ThreadPool(2); };
    svr.set_keep_alive_timeout(2);
    svr.set_read_timeout(5, 0);
    svr.set_write_timeout(5, 0);
    svr.set_payload_max_length(4096);
    metrics_server* me = self.get();
    svr.Get("/metrics", [me](const httplib::Request&, httplib::Response& res) {
        res.set_content(me->scrape(), std::string(metrics_content_type).c_str());
    });
    svr.Get("/healthz", [me](const httplib::Request&, httplib::Response& res) {
        const health_verdict h = me->health();
        res.status = h.healthy ? 200 : 503;
        res.set_content(h.reason + "\n", "text/plain; charset=utf-8");
    });
    svr.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content("barbwire: /metrics (Prometheus text), /healthz\n", "text/plain; charset=utf-8");
    });
    if (!svr.bind_to_port(address.host, address.port)) {
        return tl::unexpected("cannot serve metrics on " + address.text() + ": " + bind_failure(address));
    }
    return self;
}

void metrics_server::serve() {
    if (listener_.joinable() || !server_) return;
    metrics_server* me = this;
    // The server's threads take no signals: SIGINT, SIGTERM and SIGHUP go
    // to the event loop, whose wait they interrupt.
    // SIGSYS stays open: libpsx signals every thread with it when the
    // sensor drops its privileges (privileges.hpp).
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSYS);
    ::pthread_sigmask(SIG_BLOCK, &all, &old);
    listener_ = std::thread([me] { me->server_->listen_after_bind(); });
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

metrics_server::~metrics_server() {
    if (server_) server_->stop();
    if (listener_.joinable()) listener_.join();
}

void metrics_server::publish(metric_set snapshot) {
    auto p = std::make_shared<const metric_set>(std::move(snapshot));
    const std::lock_guard<std::mutex> lock(mu_);
    snapshot_.swap(p);
    // the old snapshot is freed here, or by the scrape that still holds it
}

void metrics_server::drained() noexcept {
    last_drain_mono_ns_.store(clock_ns(CLOCK_MONOTONIC), std::memory_order_relaxed);
    last_drain_real_ns_.store(clock_ns(CLOCK_REALTIME), std::memory_order_relaxed);
}

health_verdict metrics_server::health() const {
    const std::int64_t last = last_drain_mono_ns_.load(std::memory_order_relaxed);
    return health_of(phase_.load(std::memory_order_relaxed),
                     last == 0 ? std::nullopt : std::optional<nanoseconds>(nanoseconds{last}),
                     nanoseconds{clock_ns(CLOCK_MONOTONIC)});
}

std::string metrics_server::scrape() const {
    std::shared_ptr<const metric_set> snap;
    {
        const std::lock_guard<std::mutex> lock(mu_);
        snap = snapshot_;
    }
    metric_set live;
    const std::int64_t real = last_drain_real_ns_.load(std::memory_order_relaxed);
    add_live(live, read_process(start_time_seconds_), health(),
             real == 0 ? std::nullopt : std::optional<double>(static_cast<double>(real) / 1e9));
    std::string body = snap ? render_text(*snap) : std::string();
    body += render_text(live);
    return body;
}

} // namespace barbwire::sensor
