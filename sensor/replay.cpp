#include "replay.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <barbwire/correlator.hpp>
#include <barbwire/trace.hpp>

#include "config_file.hpp"

namespace barbwire::sensor {

namespace {


struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd > 2) ::close(fd);
    }
};

long peak_rss_kib() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; // KiB on Linux
}

} // namespace

int run_replay(const replay_options& opts) {
    auto cfg = load_config(opts.config);
    if (!cfg) {
        errln(cfg.error().message);
        return 2;
    }
    auto bls = baseline_session::open(opts.baseline);
    if (!bls) {
        errln(bls.error().message);
        return 2;
    }

    const bool from_stdin = opts.trace == "-";
    const int fd = from_stdin ? STDIN_FILENO : ::open(opts.trace.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errln("cannot open trace " + opts.trace + ": " + std::strerror(errno) +
              "; give a JSON-lines trace file, or - for standard input");
        return 2;
    }
    fd_guard guard{fd};
    const std::string name = from_stdin ? std::string("<stdin>") : opts.trace;

    auto out = alert_output::open(opts.format, opts.output);
    if (!out) {
        errln(out.error().message);
        return 2;
    }

    correlator corr(std::move(*cfg));
    bls->attach(corr); // --baseline: applied inside the correlator, before rate limiting
    trace_reader reader;
    std::uint64_t events = 0;
    std::uint64_t bad = 0;
    bool write_failed = false;

    auto drain = [&] {
        while (auto item = reader.next()) {
            if (!*item) {
                if (++bad <= opts.max_errors_shown) errln(name + ": " + item->error().message);
                continue;
            }
            ++events;
            auto a = corr.process(**item);
            // summaries of quiet periods that ended before this event come first
            for (const auto& s : corr.drain_summaries())
                if (!out->write(s)) write_failed = true;
            if (a && !out->write(*a)) write_failed = true;
        }
    };

    const auto t0 = std::chrono::steady_clock::now();
    std::vector<char> buf(1u << 20);
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            errln("reading trace " + name + " failed: " + std::strerror(errno));
            return 2;
        }
        if (n == 0) break;
        reader.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
        drain();
    }
    reader.finish();
    drain();
    // The end of the trace ends every running quiet period (rate limiting).
    corr.flush_incidents();
    for (const auto& s : corr.drain_summaries())
        if (!out->write(s)) write_failed = true;
    const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    if (bad > opts.max_errors_shown) {
        errln(name + ": " + std::to_string(bad - opts.max_errors_shown) + " more malformed lines not shown");
    }
    if (auto b = bls->finish(corr.stats()); b && *b && opts.stats) errln(**b);
    if (opts.stats) {
        nlohmann::json s = to_json(corr.stats());
        s["trace_events"] = events;
        s["malformed_lines"] = bad;
        s["alerts_written"] = out->written();
        s["summaries_written"] = out->summaries_written();
        s["seconds"] = secs;
        s["events_per_second"] = secs > 0 ? static_cast<double>(events) / secs : 0.0;
        s["peak_rss_kib"] = peak_rss_kib();
        std::fprintf(stderr, "%s\n", s.dump().c_str());
    }
    if (write_failed) {
        errln("writing alerts failed (disk full or closed pipe?); some alerts were not written");
        return 2;
    }
    if (bad > 0 && events == 0) {
        errln(name + " holds no valid trace line (" + std::to_string(bad) +
              " malformed); a trace is JSON lines as described in docs/trace-format.md");
        return 2;
    }
    if (bad > 0) {
        errln(name + ": replayed " + std::to_string(events) + " events; skipped " + std::to_string(bad) +
              " malformed lines");
        return 1;
    }
    return 0;
}

} // namespace barbwire::sensor
