// barbwire: the command-line front end.
//
//   barbwire [run] [--config FILE] [--format text|json] [--output FILE] [--ring-size BYTES]
//                  [--kernel-filter on|off] [--verdict-cache N] [--metrics ADDR:PORT] [--verbose]
//                  [--output-max-size BYTES] [--output-keep N] [--syslog TARGET] [--syslog-facility NAME]
//                  [--journal] [--webhook [FORMAT=]URL]... [--webhook-format barbwire|falco]
//                  [--webhook-timeout T] [--webhook-retries N] [--output-queue N]   (docs/outputs.md)
//                  [--runtime-socket PATH|none]...                                 (docs/containers.md)
//   barbwire record TRACE.jsonl [same options as run]
//   barbwire replay TRACE.jsonl [--config FILE] [--format text|json] [--output FILE] [--stats]
//   barbwire learn --duration 10m --baseline FILE [--config FILE] [--ring-size BYTES] [--metrics ADDR:PORT] [--verbose]
//   (run, record and replay also take --baseline FILE [--baseline-mode suppress|downscore])
//   barbwire --version | --help

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// --webhook is repeatable and a URL may hold commas: no splitting of vector values.
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>

#include <barbwire/version.hpp>

#include "baseline_file.hpp"
#include "loader.hpp" // option bounds only (no libbpf)
#include "output_format.hpp"
#include "metrics.hpp"
#include "preflight.hpp"
#include "replay.hpp"
#include "runtime_api.hpp" // --runtime-socket's parser only (the client is the live sensor's)
#ifdef BW_HAVE_SENSOR
#include "run.hpp"
#endif

namespace {

using namespace barbwire::sensor;


constexpr const char* overview =
    "barbwire " BW_VERSION_STRING " - detects a process family reading secrets, then talking to the network\n"
    "\n"
    "usage:\n"
    "  barbwire [run] [options]           watch this host (live eBPF sensor; needs root)\n"
    "  barbwire record TRACE [options]    like run, and also write every event to TRACE for replay\n"
    "  barbwire replay TRACE [options]    run a recorded JSON-lines trace (- for stdin) through the rules\n"
    "  barbwire learn --duration 10m --baseline FILE [options]\n"
    "                                     learn what this host does (live sensor; needs root) into a baseline\n"
    "  barbwire --version | --help\n"
    "\n"
    "Run `barbwire COMMAND --help` for a command's options.\n";

std::optional<output_format> parse_format(const std::string& s) {
    if (s == "text") return output_format::text;
    if (s == "json") return output_format::json;
    return std::nullopt;
}

void add_common(cxxopts::Options& o) {
    o.add_options()
        ("c,config", "rules file (YAML or JSON); default: built-in rules", cxxopts::value<std::string>())
        ("f,format", "alert format on stdout: text or json", cxxopts::value<std::string>()->default_value("text"))
        ("o,output", "also append alerts as JSON lines to FILE (created mode 0600; run and record: through a queue, "
                     "rotated with --output-max-size, reopened on SIGUSR1)", cxxopts::value<std::string>())
        ("v,verbose", "verbose diagnostics")
        ("h,help", "show this help");
}

// --baseline and --baseline-mode, for the commands that apply a baseline.
void add_baseline(cxxopts::Options& o) {
    o.add_options()
        ("baseline", "apply the baseline FILE that `barbwire learn` wrote: what it has seen is quieted "
                     "(docs/baseline.md)", cxxopts::value<std::string>())
        ("baseline-mode", "what happens to a correlation the baseline has seen: suppress (no alert) or "
                          "downscore (its file category's points are withdrawn)",
         cxxopts::value<std::string>()->default_value("suppress"));
}

// --kernel-filter and --verdict-cache, for the commands that run the live sensor.
void add_kernel_filter(cxxopts::Options& o) {
    o.add_options()
        ("kernel-filter", "drop in the kernel the opens no rule can match and the connects and sends of "
                          "process families with no recent sensitive open: on or off (off ships every open "
                          "and network event, e.g. for raw recordings)",
         cxxopts::value<std::string>()->default_value("on"))
        ("verdict-cache", "files the kernel keeps a verdict for (LRU), 1024..16777216",
         cxxopts::value<std::string>()->default_value("65536"));
}

// --metrics, for the commands that run the live sensor.
void add_metrics(cxxopts::Options& o) {
    o.add_options()
        ("metrics", "serve Prometheus metrics on http://ADDR:PORT/metrics and the event loop's health on "
                    "/healthz (off by default; bind loopback, e.g. 127.0.0.1:9477: docs/metrics.md)",
         cxxopts::value<std::string>());
}

// --metrics from a parse: false (after one error line) when invalid.
bool metrics_from(const cxxopts::ParseResult& r, std::optional<listen_address>& out) {
    if (!r.count("metrics")) return true;
    auto a = parse_listen_address(r["metrics"].as<std::string>());
    if (!a) {
        errln(a.error());
        return false;
    }
    out = *a;
    return true;
}

// --runtime-socket, for the commands that run the live sensor (docs/containers.md, "Runtime API").
void add_runtime_socket(cxxopts::Options& o) {
    o.add_options()
        ("runtime-socket", "ask the container runtime at this unix socket for a container's labels: docker's or "
                           "podman's API, or CRI-O's (a file named crio.sock); repeatable; replaces the "
                           "well-known sockets (/run/docker.sock, /run/podman/podman.sock, "
                           "/var/run/crio/crio.sock); none asks no runtime",
         cxxopts::value<std::vector<std::string>>());
}

// --runtime-socket from a parse into `out` (nullopt: the well-known
// sockets; empty: none); false (after one error line) when invalid.
bool runtime_sockets_from(const cxxopts::ParseResult& r, std::optional<std::vector<barbwire::sensor::runtime_socket>>& out) {
    if (!r.count("runtime-socket")) return true;
    const auto given = r["runtime-socket"].as<std::vector<std::string>>();
    out.emplace();
    for (const std::string& text : given) {
        if (text == "none") {
            if (given.size() > 1) {
                errln("--runtime-socket none turns the runtime API off; give it alone, without socket paths");
                return false;
            }
            continue;
        }
        auto s = barbwire::sensor::parse_runtime_socket(text);
        if (!s) {
            errln(s.error());
            return false;
        }
        out->push_back(std::move(*s));
    }
    return true;
}

struct kernel_filter_choice {
    bool on = true;
    std::uint32_t verdict_cache = 65536;
};

// The kernel filter options from a parse; nullopt (after one error line) when invalid.
std::optional<kernel_filter_choice> kernel_filter_from(const cxxopts::ParseResult& r) {
    kernel_filter_choice c;
    const std::string f = r["kernel-filter"].as<std::string>();
    if (f == "on") c.on = true;
    else if (f == "off") c.on = false;
    else {
        errln("unknown --kernel-filter '" + f + "'; use on or off");
        return std::nullopt;
    }
    const std::string v = r["verdict-cache"].as<std::string>();
    std::uint64_t n = 0;
    const auto res = std::from_chars(v.data(), v.data() + v.size(), n);
    if (res.ec != std::errc() || res.ptr != v.data() + v.size() || n < min_verdict_cache_entries ||
        n > max_verdict_cache_entries) {
        errln("--verdict-cache " + v + ": give a whole number of files between " +
              std::to_string(min_verdict_cache_entries) + " and " + std::to_string(max_verdict_cache_entries) +
              ", e.g. 65536");
        return std::nullopt;
    }
    c.verdict_cache = static_cast<std::uint32_t>(n);
    return c;
}

// The queued outputs of run and record (docs/outputs.md). --output itself is in add_common.
void add_outputs(cxxopts::Options& o) {
    o.add_options("outputs")
        ("output-max-size", "rotate the --output file when a line would take it past BYTES (K, M, G suffixes); "
                            "0: never", cxxopts::value<std::string>()->default_value("0"))
        ("output-keep", "rotated --output files kept: FILE.1 .. FILE.N (1..1000)",
         cxxopts::value<std::string>()->default_value("5"))
        ("syslog", "also send alerts to syslog as RFC 5424: unix:/dev/log, udp:HOST:PORT or tcp:HOST:PORT "
                   "(repeatable)", cxxopts::value<std::vector<std::string>>())
        ("syslog-facility", "syslog facility: a name (auth, authpriv, daemon, local0 .. local7, ...) or 0..23",
         cxxopts::value<std::string>()->default_value("authpriv"))
        ("journal", "also send alerts to the systemd journal, with BARBWIRE_* fields")
        ("webhook", "also POST alerts as JSON to URL (repeatable); falco=URL or barbwire=URL picks the format "
                    "of that one", cxxopts::value<std::vector<std::string>>())
        ("webhook-format", "payload of a --webhook without a format: barbwire (the alert JSON) or falco "
                           "(a Falco event, for falcosidekick)", cxxopts::value<std::string>()->default_value("barbwire"))
        ("webhook-timeout", "time limit of one webhook request, and of a syslog connect or send (e.g. 5s, 500ms)",
         cxxopts::value<std::string>()->default_value("5s"))
        ("webhook-retries", "tries after the first, with backoff from 0.5 s doubling to 8 s, for a webhook and for "
                            "syslog over TCP (0..10)", cxxopts::value<std::string>()->default_value("3"))
        ("output-queue", "messages each queued output (--output, --syslog, --journal, each --webhook) may hold "
                         "before it drops the newest (1..1048576)", cxxopts::value<std::string>()->default_value("4096"));
}

// The queued outputs from a parse; false (after one error line) when invalid.
bool sinks_from(const cxxopts::ParseResult& r, sink_options& so) {
    const auto fail = [](const std::string& e) {
        errln(e);
        return false;
    };
    if (r.count("output")) {
        so.file = r["output"].as<std::string>();
        if (so.file->empty()) return fail("--output needs a file name");
    }
    auto max = parse_byte_size(r["output-max-size"].as<std::string>(), "--output-max-size", 0, std::uint64_t{1} << 40);
    if (!max) return fail(max.error());
    if (*max != 0 && *max < 1024) return fail("--output-max-size " + r["output-max-size"].as<std::string>() +
                                              ": too small; give 0 (never rotate) or at least 1K");
    so.file_max_bytes = *max;
    auto keep = parse_count(r["output-keep"].as<std::string>(), "--output-keep", 1, 1000);
    if (!keep) return fail(keep.error());
    so.file_keep = static_cast<unsigned>(*keep);
    if (!so.file && (r.count("output-max-size") > 0 || r.count("output-keep") > 0))
        return fail("--output-max-size and --output-keep rotate the --output FILE; give --output FILE too");
    if (r.count("syslog")) {
        for (const std::string& text : r["syslog"].as<std::vector<std::string>>()) {
            auto t = parse_syslog_target(text);
            if (!t) return fail(t.error());
            so.syslogs.push_back(std::move(*t));
        }
    }
    auto facility = parse_syslog_facility(r["syslog-facility"].as<std::string>());
    if (!facility) return fail(facility.error());
    so.syslog_facility = *facility;
    if (so.syslogs.empty() && r.count("syslog-facility") > 0) return fail("--syslog-facility needs --syslog TARGET");
    so.journal = r.count("journal") > 0;
    auto fmt = parse_webhook_format(r["webhook-format"].as<std::string>());
    if (!fmt) return fail(fmt.error());
    if (r.count("webhook")) {
        for (const std::string& w : r["webhook"].as<std::vector<std::string>>()) {
            auto t = parse_webhook(w, *fmt);
            if (!t) return fail(t.error());
            so.webhooks.push_back(std::move(*t));
        }
    }
    auto timeout = parse_timeout(r["webhook-timeout"].as<std::string>(), "--webhook-timeout",
                                 std::chrono::milliseconds{100}, std::chrono::milliseconds{300'000});
    if (!timeout) return fail(timeout.error());
    so.timeout = *timeout;
    auto retries = parse_count(r["webhook-retries"].as<std::string>(), "--webhook-retries", 0, 10);
    if (!retries) return fail(retries.error());
    so.retries = static_cast<unsigned>(*retries);
    auto queue = parse_count(r["output-queue"].as<std::string>(), "--output-queue", 1, 1u << 20);
    if (!queue) return fail(queue.error());
    so.queue = static_cast<std::size_t>(*queue);
    return true;
}

// The baseline options from a parse; false (after one error line) when invalid.
bool baseline_from(const cxxopts::ParseResult& r, baseline_options& b) {
    const auto mode = barbwire::parse_baseline_mode(r["baseline-mode"].as<std::string>());
    if (!mode) {
        errln("unknown --baseline-mode '" + r["baseline-mode"].as<std::string>() + "'; use suppress or downscore");
        return false;
    }
    b.mode = *mode;
    if (r.count("baseline")) {
        b.apply = r["baseline"].as<std::string>();
    } else if (r.count("baseline-mode") > 0) { // given explicitly (a default does not count)
        errln("--baseline-mode needs --baseline FILE");
        return false;
    }
    return true;
}

// Parses argv with `o`; prints help or a one-line error. Returns nullopt with
// `exit_code` set when the caller should exit.
std::optional<cxxopts::ParseResult> parse(cxxopts::Options& o, int argc, char** argv, int& exit_code) {
    try {
        auto r = o.parse(argc, argv);
        if (r.count("help")) {
            std::fputs(o.help().c_str(), stdout);
            exit_code = 0;
            return std::nullopt;
        }
        return r;
    } catch (const cxxopts::exceptions::exception& e) {
        errln(std::string(e.what()) + "; see `" + o.program() + " --help`");
        exit_code = 2;
        return std::nullopt;
    }
}

int cmd_replay(int argc, char** argv) {
    cxxopts::Options o("barbwire replay", "Run a recorded JSON-lines event trace through the rules and print the alerts.");
    add_common(o);
    o.add_options()
        ("stats", "print throughput, table state and peak RSS to stderr as JSON")
        ("trace", "trace file, or - for standard input", cxxopts::value<std::string>());
    add_baseline(o);
    o.parse_positional({"trace"});
    o.positional_help("TRACE.jsonl");
    int rc = 0;
    auto r = parse(o, argc, argv, rc);
    if (!r) return rc;
    if (!r->count("trace")) {
        errln("replay needs a trace file (or - for standard input); see `barbwire replay --help`");
        return 2;
    }
    if (!r->unmatched().empty()) {
        errln("unexpected argument '" + r->unmatched().front() + "'; replay takes one trace file");
        return 2;
    }
    replay_options ro;
    ro.trace = (*r)["trace"].as<std::string>();
    if (r->count("config")) ro.config = (*r)["config"].as<std::string>();
    if (r->count("output")) ro.output = (*r)["output"].as<std::string>();
    auto fmt = parse_format((*r)["format"].as<std::string>());
    if (!fmt) {
        errln("unknown --format '" + (*r)["format"].as<std::string>() + "'; use text or json");
        return 2;
    }
    ro.format = *fmt;
    ro.stats = r->count("stats") > 0;
    if (!baseline_from(*r, ro.baseline)) return 2;
    return run_replay(ro);
}

// `run`, or `record` when `record` is set (then a trace file is the positional argument).
int cmd_run(int argc, char** argv, bool record) {
    cxxopts::Options o(record ? "barbwire record" : "barbwire run",
                       record ? "Watch this host like `barbwire run`, and also write every event to a JSON-lines "
                                "trace that `barbwire replay` (with the same rules) turns into the same alerts."
                              : "Watch this host with the eBPF sensor and print alerts (needs root).");
    add_common(o);
    o.add_options()
        ("ring-size", "kernel ring buffer size in bytes, a power of two (K, M, G suffixes; e.g. 64M)",
         cxxopts::value<std::string>()->default_value("16M"));
    add_kernel_filter(o);
    add_baseline(o);
    add_outputs(o);
    add_metrics(o);
    add_runtime_socket(o);
    if (record) {
        o.add_options()("trace", "trace file to write (truncated)", cxxopts::value<std::string>());
        o.parse_positional({"trace"});
        o.positional_help("TRACE.jsonl");
    }
    int rc = 0;
    auto r = parse(o, argc, argv, rc);
    if (!r) return rc;
    if (!r->unmatched().empty()) {
        errln("unexpected argument '" + r->unmatched().front() + "'; see `" + o.program() + " --help`");
        return 2;
    }
    auto fmt = parse_format((*r)["format"].as<std::string>());
    if (!fmt) {
        errln("unknown --format '" + (*r)["format"].as<std::string>() + "'; use text or json");
        return 2;
    }
    auto ring = parse_ring_size((*r)["ring-size"].as<std::string>());
    if (!ring) {
        errln(ring.error());
        return 2;
    }
    baseline_options bo;
    if (!baseline_from(*r, bo)) return 2;
    const auto kf = kernel_filter_from(*r);
    if (!kf) return 2;
    sink_options sinks;
    if (!sinks_from(*r, sinks)) return 2;
    std::optional<listen_address> metrics;
    if (!metrics_from(*r, metrics)) return 2;
    std::optional<std::vector<barbwire::sensor::runtime_socket>> runtime_sockets;
    if (!runtime_sockets_from(*r, runtime_sockets)) return 2;
    std::optional<std::string> trace;
    if (record) {
        if (!r->count("trace")) {
            errln("record needs the trace file to write; see `barbwire record --help`");
            return 2;
        }
        trace = (*r)["trace"].as<std::string>();
        if (trace->empty() || *trace == "-") {
            errln("record writes to a file, not standard output (which carries the alerts); give a file name");
            return 2;
        }
    }
#ifdef BW_HAVE_SENSOR
    run_options ro;
    if (r->count("config")) ro.config = (*r)["config"].as<std::string>();
    ro.sinks = std::move(sinks);
    ro.format = *fmt;
    ro.verbose = r->count("verbose") > 0;
    ro.ring_bytes = *ring;
    ro.kernel_filter = kf->on;
    ro.verdict_cache_entries = kf->verdict_cache;
    ro.record = trace;
    ro.baseline = bo;
    ro.metrics = metrics;
    ro.runtime_sockets = std::move(runtime_sockets);
    ro.command = record ? "record" : "run";
    return run_sensor(ro);
#else
    errln("this build has no live sensor (configured with -Dsensor=disabled, or clang, bpftool, libbpf, libelf or kernel BTF was missing); "
          "install clang, bpftool and libbpf-dev, then `meson configure BUILDDIR -Dsensor=enabled` and rebuild. "
          "`barbwire replay TRACE` works in every build");
    return 2;
#endif
}

// `learn`: the live sensor, learning every correlation into a baseline file.
int cmd_learn(int argc, char** argv) {
    cxxopts::Options o("barbwire learn",
                       "Watch this host like `barbwire run` for --duration (or until SIGINT/SIGTERM), print no "
                       "alerts, and merge every correlation seen into the baseline FILE, written atomically "
                       "(docs/baseline.md). Needs root.");
    o.add_options()
        ("d,duration", "how long to learn: a whole number with a unit s, m or h (30s, 10m, 2h)",
         cxxopts::value<std::string>())
        ("baseline", "the baseline file to merge into (created when missing)", cxxopts::value<std::string>())
        ("c,config", "rules file (YAML or JSON); default: built-in rules", cxxopts::value<std::string>())
        ("ring-size", "kernel ring buffer size in bytes, a power of two (K, M, G suffixes; e.g. 64M)",
         cxxopts::value<std::string>()->default_value("16M"))
        ("v,verbose", "verbose diagnostics")
        ("h,help", "show this help");
    add_kernel_filter(o);
    add_metrics(o);
    add_runtime_socket(o);
    int rc = 0;
    auto r = parse(o, argc, argv, rc);
    if (!r) return rc;
    if (!r->unmatched().empty()) {
        errln("unexpected argument '" + r->unmatched().front() + "'; see `barbwire learn --help`");
        return 2;
    }
    if (!r->count("baseline")) {
        errln("learn needs --baseline FILE, the baseline to merge into; see `barbwire learn --help`");
        return 2;
    }
    if (!r->count("duration")) {
        errln("learn needs --duration, such as 10m; see `barbwire learn --help`");
        return 2;
    }
    auto duration = parse_duration((*r)["duration"].as<std::string>());
    if (!duration) {
        errln(duration.error());
        return 2;
    }
    const std::string file = (*r)["baseline"].as<std::string>();
    if (file.empty() || file == "-") {
        errln("learn writes the baseline to a file, not standard output; give a file name to --baseline");
        return 2;
    }
    auto ring = parse_ring_size((*r)["ring-size"].as<std::string>());
    if (!ring) {
        errln(ring.error());
        return 2;
    }
    const auto kf = kernel_filter_from(*r);
    if (!kf) return 2;
    std::optional<listen_address> metrics;
    if (!metrics_from(*r, metrics)) return 2;
    std::optional<std::vector<barbwire::sensor::runtime_socket>> runtime_sockets;
    if (!runtime_sockets_from(*r, runtime_sockets)) return 2;
#ifdef BW_HAVE_SENSOR
    run_options ro;
    if (r->count("config")) ro.config = (*r)["config"].as<std::string>();
    ro.metrics = metrics;
    ro.runtime_sockets = std::move(runtime_sockets);
    ro.command = "learn";
    ro.verbose = r->count("verbose") > 0;
    ro.ring_bytes = *ring;
    ro.kernel_filter = kf->on;
    ro.verdict_cache_entries = kf->verdict_cache;
    ro.baseline.learn = file;
    ro.learn_for = *duration;
    return run_sensor(ro);
#else
    errln("this build has no live sensor, which learn needs (configured with -Dsensor=disabled, or clang, bpftool, "
          "libbpf, libelf or kernel BTF was missing); install clang, bpftool and libbpf-dev, then "
          "`meson configure BUILDDIR -Dsensor=enabled` and rebuild");
    return 2;
#endif
}

} // namespace

int main(int argc, char** argv) {
    std::string_view first = argc > 1 ? std::string_view(argv[1]) : std::string_view();
    if (first == "--version" || first == "-V" || first == "version") {
        std::printf("barbwire %s\n", BW_VERSION_STRING);
        return 0;
    }
    if (first == "--help" || first == "-h" || first == "help") {
        std::fputs(overview, stdout);
        return 0;
    }
    // Sub-commands take their own options; argv[0] is replaced by the command's name.
    if (first == "replay") return cmd_replay(argc - 1, argv + 1);
    if (first == "run") return cmd_run(argc - 1, argv + 1, false);
    if (first == "record") return cmd_run(argc - 1, argv + 1, true);
    if (first == "learn") return cmd_learn(argc - 1, argv + 1);
    if (!first.empty() && first.front() != '-') {
        errln("unknown command '" + std::string(first) + "'; commands are run, record, replay and learn (see barbwire --help)");
        return 2;
    }
    return cmd_run(argc, argv, false); // `barbwire --config x.yml` means run
}
