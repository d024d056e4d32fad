// Library throughput: events per second through decode + correlate, with no
// JSON and no I/O in the timed loop.
//
//   core_bench TRACE.jsonl [--repeat N]
//
// Reads a trace (e.g. from gen_trace) once, encodes every event into the
// binary ring-buffer record the kernel side writes, then times, on one core:
//   decode      bytes -> event only
//   correlate   pre-decoded events -> correlator::process
//   both        bytes -> decode -> correlator::process (what the sensor does per record)
// Each pass uses a fresh correlator with the built-in rules. File events
// (identities the sensor reports; they have no ring-buffer record) are fed to
// the correlator as they are, in their place, in the "both" pass too.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <barbwire/barbwire.hpp>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: core_bench TRACE.jsonl [--repeat N]\n");
        return 2;
    }
    int repeat = 3;
    if (argc == 4 && std::string(argv[2]) == "--repeat") repeat = std::atoi(argv[3]);
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "core_bench: cannot read %s\n", argv[1]);
        return 2;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    auto trace = barbwire::read_trace(ss.str());
    if (!trace.errors.empty()) {
        std::fprintf(stderr, "core_bench: %s: %s\n", argv[1], trace.errors.front().message.c_str());
        return 2;
    }
    const auto& events = trace.events;
    std::vector<std::vector<std::byte>> records; // empty: events[i] has no record (a file event)
    records.reserve(events.size());
    for (const auto& e : events) {
        auto rec = barbwire::encode(e);
        records.push_back(rec ? std::move(*rec) : std::vector<std::byte>{});
    }

    const auto cfg = barbwire::default_config();
    std::printf("events: %zu, repeat: %d (best pass reported)\n", events.size(), repeat);

    double best_decode = 1e30, best_corr = 1e30, best_both = 1e30;
    std::uint64_t alerts = 0, sink = 0;
    for (int r = 0; r < repeat; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        for (const auto& rec : records) {
            if (rec.empty()) continue;
            auto ev = barbwire::decode(rec);
            sink += ev ? ev->pid : 1;
        }
        best_decode = std::min(best_decode, seconds_since(t0));

        barbwire::correlator c1(cfg);
        t0 = std::chrono::steady_clock::now();
        for (const auto& e : events) alerts += c1.process(e).has_value();
        best_corr = std::min(best_corr, seconds_since(t0));

        barbwire::correlator c2(cfg);
        t0 = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < records.size(); ++i) {
            if (records[i].empty()) alerts += c2.process(events[i]).has_value();
            else if (auto ev = barbwire::decode(records[i])) alerts += c2.process(*ev).has_value();
        }
        best_both = std::min(best_both, seconds_since(t0));
    }
    const double n = static_cast<double>(events.size());
    std::printf("decode            : %12.0f events/s\n", n / best_decode);
    std::printf("correlate         : %12.0f events/s\n", n / best_corr);
    std::printf("decode + correlate: %12.0f events/s\n", n / best_both);
    std::printf("(alerts %llu, checksum %llu)\n", static_cast<unsigned long long>(alerts),
                static_cast<unsigned long long>(sink));
    return 0;
}
