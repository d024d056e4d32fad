#include "output_sinks.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <optional>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>
#ifdef BW_HAVE_JOURNAL
#include <systemd/sd-journal.h>
#endif

#include <barbwire/version.hpp>

#include "bounded_queue.hpp"
#include "safe_file.hpp"

namespace barbwire::sensor {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string errno_text(int e) { return std::strerror(e); }

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "-";
    return buf;
}

// The wait before retry `n` (1, 2, ...): 500 ms, doubling, at most 8 s.
milliseconds backoff(unsigned n) {
    const unsigned shift = std::min(n > 0 ? n - 1 : 0u, 4u);
    return std::min(milliseconds{500} * (1u << shift), milliseconds{8000});
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

} // namespace

// --- one output: its queue and its thread ------------------------------------------

class sink {
public:
    sink(std::string name, std::string kind, std::size_t capacity)
        : name_(std::move(name)), kind_(std::move(kind)), q_(capacity) {}
    sink(const sink&) = delete;
    sink& operator=(const sink&) = delete;
    virtual ~sink() = default;

    // The thread runs with every asynchronous signal blocked, so SIGINT,
    // SIGHUP, SIGUSR1 ... reach the event loop's thread (whose wait they
    // interrupt) and never a sink's system call.
    void start() {
        sigset_t all, old;
        sigfillset(&all);
        // SIGSYS too: libpsx signals every thread with it when the sensor
        // drops its privileges (privileges.hpp).
        for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS}) sigdelset(&all, s);
        ::pthread_sigmask(SIG_BLOCK, &all, &old);
        thread_ = std::thread([this] { run(); });
        ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }

    // Never blocks on the output: a full queue drops `m` (counted).
    void push(const std::shared_ptr<const output_message>& m) {
        {
            std::lock_guard lk(mu_);
            if (stopped_ || !q_.push(m)) return;
        }
        cv_.notify_one();
    }
    void request_reopen() {
        {
            std::lock_guard lk(mu_);
            reopen_ = true;
        }
        cv_.notify_one();
    }
    // From now on: one try per message, no backoff.
    void drain() {
        {
            std::lock_guard lk(mu_);
            draining_ = true;
        }
        cv_.notify_all();
    }
    [[nodiscard]] bool idle() const {
        std::lock_guard lk(mu_);
        return q_.empty() && !busy_;
    }
    // Stops the thread; what is still queued counts as dropped.
    void stop() {
        {
            std::lock_guard lk(mu_);
            aborting_ = draining_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
        std::lock_guard lk(mu_);
        dropped_at_exit_ += q_.clear();
        stopped_ = true;
    }

    [[nodiscard]] output_status status() const {
        std::lock_guard lk(mu_);
        output_status s;
        s.name = name_;
        s.kind = kind_;
        s.sent = sent_;
        s.dropped = q_.dropped() + dropped_at_exit_;
        s.failed = failed_;
        s.queued = q_.size() + (busy_ ? 1 : 0);
        s.last_error = last_error_;
        s.working = last_ok_;
        return s;
    }
    [[nodiscard]] std::size_t capacity() const noexcept { return q_.capacity(); }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }

    // Loss-notice bookkeeping (output_sinks::loss_notices, event loop only).
    std::uint64_t reported_lost = 0;
    std::uint64_t reported_dropped = 0;
    std::uint64_t reported_failed = 0;
    std::optional<steady::time_point> last_notice;

protected:
    // Delivers `m`, with the output's own retries; false with `error` set
    // when it gave up. Runs on the sink's thread only.
    virtual bool deliver(const output_message& m, std::string& error) = 0;
    // SIGUSR1 (file output).
    virtual void reopen_now() {}

    // Waits `d` before a retry; false (at once) when the sensor is stopping.
    bool pause(milliseconds d) {
        std::unique_lock lk(mu_);
        return !cv_.wait_for(lk, d, [&] { return draining_ || aborting_; });
    }
    [[nodiscard]] bool draining() const {
        std::lock_guard lk(mu_);
        return draining_;
    }
    [[nodiscard]] bool aborting() const noexcept { return abort_flag_.load(std::memory_order_relaxed); }
    // A problem that lost no message (a failed rotation): shown in the next notice.
    void note_error(std::string e) {
        std::lock_guard lk(mu_);
        last_error_ = std::move(e);
    }

private:
    void run() {
        for (;;) {
            std::shared_ptr<const output_message> m;
            bool reopen = false;
            {
                std::unique_lock lk(mu_);
                cv_.wait(lk, [&] { return aborting_ || reopen_ || !q_.empty(); });
                if (aborting_) {
                    abort_flag_.store(true);
                    return;
                }
                if (reopen_) {
                    reopen_ = false;
                    reopen = true;
                } else {
                    m = *q_.pop();
                    busy_ = true;
                }
            }
            if (reopen) {
                reopen_now();
                continue;
            }
            std::string error;
            bool ok = false;
            try {
                ok = deliver(*m, error);
            } catch (const std::exception& e) {
                error = std::string("internal error: ") + e.what();
            }
            {
                std::lock_guard lk(mu_);
                busy_ = false;
                last_ok_ = ok;
                if (ok) {
                    ++sent_;
                } else {
                    ++failed_;
                    last_error_ = error;
                }
            }
        }
    }

    std::string name_;
    std::string kind_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    drop_newest_queue<std::shared_ptr<const output_message>> q_;
    bool busy_ = false;
    bool reopen_ = false;
    bool draining_ = false;
    bool aborting_ = false;
    bool stopped_ = false;
    bool last_ok_ = true; // the last delivery worked (or none was tried yet)
    std::atomic<bool> abort_flag_{false};
    std::uint64_t sent_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t dropped_at_exit_ = 0;
    std::string last_error_;
    std::thread thread_;

    friend class output_sinks;
    void set_abort_flag() { abort_flag_.store(true); }
};

namespace {

// --- the JSON-lines file, rotated by size ------------------------------------------

class file_sink final : public sink {
public:
    // Opens `path` for append (safe_file.hpp: created 0600, no symlink, a
    // regular file of the sensor's in a directory others cannot swap it in);
    // the error names --output.
    static check_result<int> open_file(const std::string& path, std::uint64_t& size) {
        auto opened = open_private_file(path, open_mode::append, "--output");
        if (!opened) return tl::unexpected(opened.error());
        const int fd = *opened;
        struct stat sb {};
        size = ::fstat(fd, &sb) == 0 ? static_cast<std::uint64_t>(sb.st_size) : 0;
        return fd;
    }

    file_sink(std::string path, int fd, std::uint64_t size, std::uint64_t max_bytes, unsigned keep,
              std::size_t capacity)
        : sink("file:" + path, "file", capacity), path_(std::move(path)), fd_(fd), size_(size),
          max_(max_bytes), keep_(keep) {}
    ~file_sink() override {
        if (fd_ >= 0) ::close(fd_);
    }

protected:
    bool deliver(const output_message& m, std::string& error) override {
        std::string line = m.json;
        line += '\n';
        if (max_ > 0 && fd_ >= 0 && size_ > 0 && size_ + line.size() > max_) rotate();
        if (fd_ < 0 && !open_again(error)) return false;
        // Where this line begins (the file is appended to by this thread
        // only). A write that stops part-way, as on a full disk, is cut
        // back to it: the file never keeps a torn line, which would also
        // spoil the line appended after it once there is room again.
        struct stat before {};
        const bool know_start = ::fstat(fd_, &before) == 0;
        std::size_t done = 0;
        while (done < line.size()) {
            const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                error = "writing " + path_ + ": " + errno_text(errno);
                if (done > 0) {
                    if (know_start && ::ftruncate(fd_, before.st_size) == 0) {
                        done = 0;
                    } else {
                        error += "; " + std::to_string(done) + " bytes of the line are left in the file (" +
                                 (know_start ? "cutting them off: " + errno_text(errno) : std::string("no size")) +
                                 ")";
                    }
                }
                size_ += done;
                return false;
            }
            done += static_cast<std::size_t>(n);
        }
        size_ += line.size();
        return true;
    }

    // SIGUSR1: after logrotate renamed the file, the next line goes to a new one.
    void reopen_now() override {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        std::string error;
        if (!open_again(error)) note_error(error);
    }

private:
    bool open_again(std::string& error) {
        std::uint64_t size = 0;
        auto fd = open_file(path_, size);
        if (!fd) {
            error = "cannot open " + path_ + ": " + errno_text(errno);
            return false;
        }
        fd_ = *fd;
        size_ = size;
        return true;
    }

    // FILE.(keep-1) -> FILE.keep, ..., FILE -> FILE.1, then a new FILE. Only
    // this thread writes the file, so no line falls between the two files.
    void rotate() {
        ::close(fd_);
        fd_ = -1;
        for (unsigned i = keep_; i > 1; --i) {
            const std::string from = path_ + "." + std::to_string(i - 1);
            const std::string to = path_ + "." + std::to_string(i);
            if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
                note_error("rotating " + from + " to " + to + ": " + errno_text(errno));
        }
        const std::string first = path_ + ".1";
        if (::rename(path_.c_str(), first.c_str()) != 0)
            note_error("rotating " + path_ + " to " + first + ": " + errno_text(errno) + " (kept appending)");
        std::string error;
        if (!open_again(error)) note_error(error);
    }

    std::string path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::uint64_t max_ = 0;
    unsigned keep_ = 5;
};

// --- syslog: RFC 5424 over a unix socket, UDP or TCP (RFC 6587 octet counting) ------

class syslog_sink final : public sink {
public:
    syslog_sink(syslog_target t, int facility, std::string hostname, milliseconds timeout, unsigned retries,
                std::size_t capacity)
        : sink(t.name(), "syslog", capacity), t_(std::move(t)), facility_(facility), hostname_(std::move(hostname)),
          pid_(::getpid()), timeout_(timeout), retries_(retries) {}
    ~syslog_sink() override { disconnect(); }

protected:
    bool deliver(const output_message& m, std::string& error) override {
        const std::string msg = rfc5424(facility_, syslog_severity(m), m.wall_ns, hostname_, "barbwire", pid_,
                                        m.is_alert() ? "alert" : "summary", m.json);
        const bool tcp = t_.transport == syslog_transport::tcp;
        const std::string payload = tcp ? octet_frame(msg) : msg;
        // TCP: the retries, with backoff. Datagrams: one more try on a fresh socket.
        const unsigned tries = tcp ? 1 + retries_ : 2;
        for (unsigned i = 0; i < tries; ++i) {
            if (i > 0 && tcp && !pause(backoff(i))) break;
            if (i > 0 && draining()) break;
            if (fd_ >= 0 && tcp && peer_closed()) disconnect();
            if (fd_ < 0 && !connect_target(error)) continue;
            if (send_all(payload, error)) return true;
            disconnect();
        }
        return false;
    }

private:
    void disconnect() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    bool connect_target(std::string& error) {
        if (t_.transport == syslog_transport::unix_dgram) {
            const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                error = "socket: " + errno_text(errno);
                return false;
            }
            sockaddr_un sa{};
            sa.sun_family = AF_UNIX;
            std::memcpy(sa.sun_path, t_.path.data(), std::min(t_.path.size(), sizeof(sa.sun_path) - 1));
            if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
                error = "connecting to " + t_.path + ": " + errno_text(errno);
                ::close(fd);
                return false;
            }
            set_send_timeout(fd);
            fd_ = fd;
            return true;
        }
        const bool tcp = t_.transport == syslog_transport::tcp;
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM;
        addrinfo* res = nullptr;
        const std::string port = std::to_string(t_.port);
        if (const int rc = ::getaddrinfo(t_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
            error = "resolving " + t_.host + ": " + ::gai_strerror(rc);
            return false;
        }
        error = "no address for " + t_.host;
        for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
            const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
            if (fd < 0) {
                error = "socket: " + errno_text(errno);
                continue;
            }
            int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
            if (rc != 0 && errno == EINPROGRESS) {
                pollfd p{fd, POLLOUT, 0};
                const int n = ::poll(&p, 1, static_cast<int>(timeout_.count()));
                int soerr = 0;
                socklen_t len = sizeof(soerr);
                if (n == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) {
                    rc = 0;
                } else {
                    errno = n == 0 ? ETIMEDOUT : (soerr != 0 ? soerr : errno);
                }
            }
            if (rc != 0) {
                error = "connecting to " + name().substr(7) + ": " + errno_text(errno);
                ::close(fd);
                continue;
            }
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            set_send_timeout(fd);
            fd_ = fd;
            break;
        }
        ::freeaddrinfo(res);
        return fd_ >= 0;
    }

    void set_send_timeout(int fd) const {
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
        tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }

    // A TCP peer that closed (or reset) the connection since the last message.
    [[nodiscard]] bool peer_closed() const {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return false;
        if ((p.revents & (POLLHUP | POLLERR)) != 0) return true;
        char buf[512];
        for (;;) { // a server has nothing to say: read and forget it
            const ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
            if (n == 0) return true;
            if (n < 0) return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
        }
    }

    bool send_all(const std::string& payload, std::string& error) {
        std::size_t done = 0;
        while (done < payload.size()) {
            const ssize_t n = ::send(fd_, payload.data() + done, payload.size() - done, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                error = "sending to " + name().substr(7) + ": " +
                        (errno == EAGAIN ? std::string("timed out") : errno_text(errno));
                return false;
            }
            if (t_.transport != syslog_transport::tcp && static_cast<std::size_t>(n) != payload.size()) {
                error = "sending to " + name().substr(7) + ": datagram cut";
                return false;
            }
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

    syslog_target t_;
    int facility_;
    std::string hostname_;
    std::int64_t pid_;
    milliseconds timeout_;
    unsigned retries_;
    int fd_ = -1;
};

// --- the systemd journal --------------------------------------------------------------

#ifdef BW_HAVE_JOURNAL
class journal_sink final : public sink {
public:
    explicit journal_sink(std::size_t capacity) : sink("journal", "journal", capacity) {}

protected:
    bool deliver(const output_message& m, std::string& error) override {
        const std::vector<std::string> fields = journal_fields(m);
        std::vector<iovec> iov;
        iov.reserve(fields.size());
        for (const std::string& f : fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
        for (int attempt = 0; attempt < 2; ++attempt) {
            const int rc = ::sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
            if (rc >= 0) return true;
            error = "sd_journal_sendv: " + errno_text(-rc);
            if (draining()) break;
        }
        return false;
    }
};
#endif

// --- HTTP webhooks (libcurl) --------------------------------------------------------------

class webhook_sink final : public sink {
public:
    webhook_sink(webhook_target t, std::string hostname, milliseconds timeout, unsigned retries, std::size_t capacity)
        : sink(t.name(), "webhook", capacity), t_(std::move(t)), hostname_(std::move(hostname)), timeout_(timeout),
          retries_(retries) {
        h_ = ::curl_easy_init();
        headers_ = ::curl_slist_append(headers_, "Content-Type: application/json");
        headers_ = ::curl_slist_append(headers_, "Expect:"); // no 100-continue round trip
        if (h_ == nullptr) return;
        ::curl_easy_setopt(h_, CURLOPT_URL, t_.url.c_str());
        ::curl_easy_setopt(h_, CURLOPT_POST, 1L);
        ::curl_easy_setopt(h_, CURLOPT_HTTPHEADER, headers_);
        ::curl_easy_setopt(h_, CURLOPT_USERAGENT, "barbwire/" BW_VERSION_STRING);
        ::curl_easy_setopt(h_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
        ::curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L); // threads: no SIGALRM for name lookups
        ::curl_easy_setopt(h_, CURLOPT_FOLLOWLOCATION, 0L);
        ::curl_easy_setopt(h_, CURLOPT_PROTOCOLS_STR, "http,https");
        ::curl_easy_setopt(h_, CURLOPT_ERRORBUFFER, errbuf_);
        ::curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, &webhook_sink::discard);
        ::curl_easy_setopt(h_, CURLOPT_NOPROGRESS, 0L);
        ::curl_easy_setopt(h_, CURLOPT_XFERINFOFUNCTION, &webhook_sink::progress);
        ::curl_easy_setopt(h_, CURLOPT_XFERINFODATA, this);
    }
    ~webhook_sink() override {
        if (h_ != nullptr) ::curl_easy_cleanup(h_);
        ::curl_slist_free_all(headers_);
    }

protected:
    bool deliver(const output_message& m, std::string& error) override {
        if (h_ == nullptr) {
            error = "libcurl could not make a handle";
            return false;
        }
        std::string body;
        if (t_.format == webhook_format::falco) {
            std::array<std::uint8_t, 16> r{};
            if (::getrandom(r.data(), r.size(), 0) != static_cast<ssize_t>(r.size())) {
                for (auto& b : r) b = static_cast<std::uint8_t>(std::rand()); // getrandom never fails for 16 bytes
            }
            body = falco_payload(m, hostname_, uuid_v4(r)).dump();
        } else {
            body = m.json;
        }
        ::curl_easy_setopt(h_, CURLOPT_POSTFIELDS, body.c_str());
        ::curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        for (unsigned i = 0; i <= retries_; ++i) {
            if (i > 0 && !pause(backoff(i))) break;
            if (i > 0 && draining()) break;
            errbuf_[0] = '\0';
            const CURLcode rc = ::curl_easy_perform(h_);
            if (rc == CURLE_OK) {
                long code = 0;
                ::curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &code);
                if (code >= 200 && code < 300) return true;
                error = "HTTP " + std::to_string(code) + " (after " + plural(i + 1, "try", "tries") + ")";
                // A client error other than a timeout or a rate limit will not get better.
                if (code >= 400 && code < 500 && code != 408 && code != 429) return false;
            } else {
                // libcurl's own message says more than the code's text when it has one.
                error = errbuf_[0] != '\0' ? std::string(errbuf_) : std::string(::curl_easy_strerror(rc));
                error += " (after " + plural(i + 1, "try", "tries") + ")";
                if (aborting()) break;
            }
        }
        return false;
    }

private:
    static std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }
    static int progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        return static_cast<webhook_sink*>(self)->aborting() ? 1 : 0;
    }

    webhook_target t_;
    std::string hostname_;
    milliseconds timeout_;
    unsigned retries_;
    CURL* h_ = nullptr;
    curl_slist* headers_ = nullptr;
    char errbuf_[CURL_ERROR_SIZE] = {};
};

} // namespace

// --- the set of outputs ---------------------------------------------------------------------

struct output_sinks::stdout_counts {
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> failed{0};
};

check_result<std::unique_ptr<output_sinks>> output_sinks::open(const sink_options& opts) {
    std::unique_ptr<output_sinks> s(new output_sinks());
    s->stdout_ = std::make_unique<stdout_counts>();
    const std::string host = host_name();
    if (opts.file) {
        std::uint64_t size = 0;
        auto fd = file_sink::open_file(*opts.file, size);
        if (!fd) return tl::unexpected(fd.error());
        s->sinks_.push_back(
            std::make_unique<file_sink>(*opts.file, *fd, size, opts.file_max_bytes, opts.file_keep, opts.queue));
    }
    for (const syslog_target& t : opts.syslogs) {
        if (t.transport == syslog_transport::unix_dgram) {
            struct stat sb {};
            const bool found = ::stat(t.path.c_str(), &sb) == 0;
            if (!found || !S_ISSOCK(sb.st_mode)) {
                return tl::unexpected("--syslog unix:" + t.path + ": no syslog socket there (" +
                                      (found ? std::string("not a socket") : errno_text(errno)) +
                                      "); start the syslog daemon, or give udp:HOST:PORT or tcp:HOST:PORT");
            }
        }
        s->sinks_.push_back(
            std::make_unique<syslog_sink>(t, opts.syslog_facility, host, opts.timeout, opts.retries, opts.queue));
    }
    if (opts.journal) {
#ifdef BW_HAVE_JOURNAL
        constexpr const char* journal_socket = "/run/systemd/journal/socket";
        struct stat sb {};
        if (::stat(journal_socket, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
            return tl::unexpected(std::string("--journal: no systemd journal on this host (") + journal_socket +
                                  " is missing); start systemd-journald, or drop --journal and use --syslog");
        }
        s->sinks_.push_back(std::make_unique<journal_sink>(opts.queue));
#else
        return tl::unexpected(std::string("--journal: this build has no journal support (configured with -Djournal=disabled, "
                              "or libsystemd-dev was missing); install libsystemd-dev and rebuild, or use --syslog"));
#endif
    }
    if (!opts.webhooks.empty()) {
        static const CURLcode global = ::curl_global_init(CURL_GLOBAL_DEFAULT);
        if (global != CURLE_OK) {
            return tl::unexpected(std::string("--webhook: libcurl failed to start: ") + ::curl_easy_strerror(global));
        }
        for (const webhook_target& w : opts.webhooks)
            s->sinks_.push_back(std::make_unique<webhook_sink>(w, host, opts.timeout, opts.retries, opts.queue));
    }
    return s;
}

void output_sinks::start_threads() {
    if (started_ || closed_) return;
    started_ = true;
    for (auto& k : sinks_) k->start();
}

output_sinks::~output_sinks() { close(milliseconds{0}); }

void output_sinks::publish(const std::shared_ptr<const output_message>& m) {
    if (closed_) return;
    for (auto& k : sinks_) k->push(m);
}

void output_sinks::note_stdout(bool ok) noexcept {
    if (!stdout_) return;
    if (ok) stdout_->sent.fetch_add(1, std::memory_order_relaxed);
    else stdout_->failed.fetch_add(1, std::memory_order_relaxed);
}

bool output_sinks::reopen() {
    bool any = false;
    for (auto& k : sinks_) {
        if (k->status().kind != "file") continue;
        k->request_reopen();
        any = true;
    }
    return any;
}

bool output_sinks::any_working() const {
    for (const auto& k : sinks_)
        if (k->status().working) return true;
    return false;
}

std::vector<output_status> output_sinks::status() const {
    std::vector<output_status> out;
    output_status so;
    so.name = so.kind = "stdout";
    if (stdout_) {
        so.sent = stdout_->sent.load(std::memory_order_relaxed);
        so.failed = stdout_->failed.load(std::memory_order_relaxed);
    }
    out.push_back(std::move(so));
    for (const auto& k : sinks_) out.push_back(k->status());
    return out;
}

std::vector<std::string> output_sinks::loss_notices(bool final) {
    std::vector<std::string> out;
    const auto now = steady::now();
    for (auto& k : sinks_) {
        const output_status st = k->status();
        const std::uint64_t lost = st.dropped + st.failed;
        if (lost <= k->reported_lost) continue;
        if (!final && k->last_notice && now - *k->last_notice < std::chrono::minutes{1}) continue;
        const std::uint64_t dropped = st.dropped - k->reported_dropped;
        const std::uint64_t failed = st.failed - k->reported_failed;
        std::string s = "NOTICE: output " + st.name + " lost " + plural(lost - k->reported_lost, "message", "messages") +
                        " (alerts or summaries): ";
        if (dropped > 0) {
            s += std::to_string(dropped) + " dropped (its queue of " + std::to_string(k->capacity()) + " was full" +
                 (closed_ ? ", or still held when the sensor stopped" : "") + ")";
        }
        if (failed > 0) {
            if (dropped > 0) s += ", ";
            s += std::to_string(failed) + " failed (" + (st.last_error.empty() ? "delivery failed" : st.last_error) + ")";
        }
        s += "; " + std::to_string(lost) + " lost since start; the other outputs are not affected";
        if (st.kind == "webhook" || st.kind == "syslog") s += "; check that the receiver is up and fast enough, or raise --output-queue";
        out.push_back(std::move(s));
        k->reported_lost = lost;
        k->reported_dropped = st.dropped;
        k->reported_failed = st.failed;
        k->last_notice = now;
    }
    return out;
}

std::string output_sinks::summary() const {
    std::string s;
    for (const output_status& st : status()) {
        if (!s.empty()) s += "; ";
        s += st.name + " " + std::to_string(st.sent) + " sent";
        if (st.kind != "stdout" || st.failed > 0) {
            s += ", " + std::to_string(st.dropped) + " dropped, " + std::to_string(st.failed) + " failed";
        }
    }
    return s;
}

void output_sinks::close(milliseconds grace) {
    if (closed_) return;
    closed_ = true;
    for (auto& k : sinks_) k->drain();
    const auto deadline = steady::now() + grace;
    for (;;) {
        const bool all_idle = std::all_of(sinks_.begin(), sinks_.end(), [](const auto& k) { return k->idle(); });
        if (all_idle || steady::now() >= deadline) break;
        std::this_thread::sleep_for(milliseconds{10});
    }
    for (auto& k : sinks_) {
        k->set_abort_flag(); // a webhook request in flight stops at its next progress call
        k->stop();
    }
}

} // namespace barbwire::sensor
