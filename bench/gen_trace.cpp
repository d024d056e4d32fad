// Synthetic trace generator for the replay benchmark.
//
//   gen_trace [--events N] [--processes P] [--step-us U] [--seed S] > trace.jsonl
//
// Writes N JSON-lines events (docs/trace-format.md) from P distinct processes.
// Each process lives for events/P events: fork from one of a few shells, exec,
// opens (mostly library files, some sensitive), a connect, exit. Up to 64
// processes are alive at once and their events interleave, as on a busy host.
// Timestamps advance by --step-us per event. Deterministic for a given seed.
// The trace starts with file lines, as the sensor records them: the
// identities of the secret files and of 64 users' SSH keys. Their inodes lie
// outside the range the opens use, so every open pays an identity lookup
// that misses, the common case on a real host.

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct args {
    std::uint64_t events = 10'000'000;
    std::uint64_t processes = 1'000'000;
    std::uint64_t step_ns = 10'000;
    std::uint64_t seed = 1;
};

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr, "gen_trace: %s\nusage: gen_trace [--events N] [--processes P] [--step-us U] [--seed S]\n", msg);
    std::exit(2);
}

std::uint64_t number(const char* s, const char* what) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s, s + std::strlen(s), v);
    if (ec != std::errc{} || *p != '\0') usage((std::string("bad number for ") + what).c_str());
    return v;
}

class out_buffer {
public:
    out_buffer() { buf_.reserve(1u << 20); }
    ~out_buffer() { flush(); }
    out_buffer& operator<<(std::string_view s) {
        buf_.append(s);
        if (buf_.size() > (1u << 20) - 1024) flush();
        return *this;
    }
    out_buffer& operator<<(std::uint64_t v) {
        char tmp[24];
        auto r = std::to_chars(tmp, tmp + sizeof(tmp), v);
        return *this << std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp));
    }
    void flush() {
        if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), stdout) != buf_.size()) {
            std::perror("gen_trace: write");
            std::exit(1);
        }
        buf_.clear();
    }

private:
    std::string buf_;
};

struct program {
    std::string_view comm;
    std::string_view exe;
};
constexpr program programs[] = {
    {"python3", "/usr/bin/python3.11"}, {"curl", "/usr/bin/curl"}, {"git", "/usr/bin/git"},
    {"node", "/usr/bin/node"},          {"cat", "/usr/bin/cat"},   {"ssh", "/usr/bin/ssh"},
};
constexpr std::string_view benign_files[] = {
    "/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/ld.so.cache", "/usr/lib/locale/locale-archive",
    "/etc/passwd", "/etc/hosts", "/etc/resolv.conf", "/home/dev/project/src/main.cpp", "/tmp/build.log",
};
constexpr std::string_view secret_files[] = {
    "/etc/shadow", "/home/dev/.ssh/id_rsa", "/home/dev/.aws/credentials",
};
constexpr std::uint32_t shells[] = {900, 901, 902, 903};

struct live {
    std::uint32_t pid = 0;
    std::uint32_t parent = 0;
    std::uint32_t step = 0;
    std::uint32_t prog = 0;
};

} // namespace

int main(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        std::string_view k = argv[i];
        if (i + 1 >= argc) usage("missing value");
        const char* v = argv[++i];
        if (k == "--events") a.events = number(v, "--events");
        else if (k == "--processes") a.processes = number(v, "--processes");
        else if (k == "--step-us") a.step_ns = number(v, "--step-us") * 1000;
        else if (k == "--seed") a.seed = number(v, "--seed");
        else usage("unknown option");
    }
    if (a.processes == 0 || a.events < a.processes * 3) usage("need at least 3 events per process");

    const std::uint32_t per_proc = static_cast<std::uint32_t>(a.events / a.processes);
    std::mt19937_64 rng(a.seed);
    out_buffer out;
    std::uint64_t ts = 1'000'000'000;
    std::uint64_t emitted = 0;
    std::uint64_t started = 0;
    std::vector<live> pool(64);
    for (auto& l : pool) l.pid = 0;

    // the identities of the files the rules name (no open below hits them)
    for (std::uint64_t i = 0; i < std::size(secret_files) + 64; ++i) {
        out << R"({"ts":)" << ts << R"(,"kind":"file","path":")";
        if (i < std::size(secret_files)) out << secret_files[i];
        else out << "/home/user" << (i - std::size(secret_files)) << "/.ssh/id_rsa";
        out << R"(","dev":2049,"ino":)" << (1'000'000 + i) << "}\n";
        ++emitted;
    }

    // the shells that everything descends from
    for (auto s : shells) {
        out << R"({"ts":)" << ts << R"(,"kind":"exec","pid":)" << std::uint64_t{s}
            << R"(,"ppid":1,"uid":1000,"comm":"bash","exe":"/usr/bin/bash","argv":["-bash"]})" << "\n";
        ts += a.step_ns;
        ++emitted;
    }

    while (emitted < a.events) {
        live& l = pool[rng() % pool.size()];
        if (l.pid == 0) {
            if (started >= a.processes) {
                // all processes started; finish the live ones
                bool any = false;
                for (auto& p : pool) any = any || p.pid != 0;
                if (!any) break;
                continue;
            }
            l = live{static_cast<std::uint32_t>(10'000 + started), shells[started % 4], 0,
                     static_cast<std::uint32_t>(rng() % std::size(programs))};
            ++started;
        }
        const auto pid = std::uint64_t{l.pid};
        out << R"({"ts":)" << ts << R"(,"pid":)";
        if (l.step == 0) {
            out << std::uint64_t{l.parent} << R"(,"kind":"fork","child_pid":)" << pid << "}\n";
        } else if (l.step == 1) {
            const auto& p = programs[l.prog];
            out << pid << R"(,"kind":"exec","ppid":)" << std::uint64_t{l.parent} << R"(,"uid":1000,"comm":")"
                << p.comm << R"(","exe":")" << p.exe << R"(","argv":[")" << p.comm << R"("]})" << "\n";
        } else if (l.step + 1 == per_proc) {
            out << pid << R"(,"kind":"exit","exit_code":0})" << "\n";
            l.pid = 0;
        } else if (l.step + 2 == per_proc) {
            out << pid << R"(,"kind":"connect","addr":"198.51.100.)" << (rng() % 250 + 1)
                << R"(","port":443,"proto":"tcp"})" << "\n";
        } else {
            const bool secret = rng() % 50 == 0;
            std::string_view path = secret ? secret_files[rng() % std::size(secret_files)]
                                           : benign_files[rng() % std::size(benign_files)];
            out << pid << R"(,"kind":"open","path":")" << path << R"(","flags":0,"dev":2049,"ino":)"
                << (rng() % 100000 + 2) << "}\n";
        }
        ++l.step;
        ++emitted;
        ts += a.step_ns;
    }
    out.flush();
    std::fprintf(stderr, "gen_trace: %llu events from %llu processes\n",
                 static_cast<unsigned long long>(emitted), static_cast<unsigned long long>(started));
    return 0;
}
