// barbwire: the command-line front end.
//
//   barbwire [run] [--config FILE] [--format text|json] [--output FILE]
//   barbwire replay TRACE.jsonl [--config FILE] [--format text|json] [--output FILE] [--stats]
//   barbwire --version | --help

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <cxxopts.hpp>

#include <barbwire/version.hpp>

#include "replay.hpp"

namespace {

using namespace barbwire::sensor;

void errln(const std::string& msg) { std::fprintf(stderr, "barbwire: %s\n", msg.c_str()); }

constexpr const char* overview =
    "barbwire " BW_VERSION_STRING " - detects a process family reading secrets, then talking to the network\n"
    "\n"
    "usage:\n"
    "  barbwire [run] [options]           watch this host (live eBPF sensor; needs root)\n"
    "  barbwire replay TRACE [options]    run a recorded JSON-lines trace (- for stdin) through the rules\n"
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
        ("o,output", "also append alerts as JSON lines to FILE (flushed per alert)", cxxopts::value<std::string>())
        ("v,verbose", "verbose diagnostics")
        ("h,help", "show this help");
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
    return run_replay(ro);
}

int cmd_run(int argc, char** argv) {
    cxxopts::Options o("barbwire run", "Watch this host with the eBPF sensor and print alerts.");
    add_common(o);
    int rc = 0;
    auto r = parse(o, argc, argv, rc);
    if (!r) return rc;
    errln("the live eBPF sensor is not in this build yet: it lands with the sensor issue (#3). "
          "Meanwhile `barbwire replay TRACE` runs recorded traces, e.g. "
          "`barbwire replay examples/traces/shadow-exfil.jsonl`");
    return 1;
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
    if (first == "run") return cmd_run(argc - 1, argv + 1);
    if (!first.empty() && first.front() != '-') {
        errln("unknown command '" + std::string(first) + "'; commands are run and replay (see barbwire --help)");
        return 2;
    }
    return cmd_run(argc, argv); // `barbwire --config x.yml` means run
}
