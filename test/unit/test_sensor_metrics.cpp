// sensor/metrics: the Prometheus text renderer (escaping, HELP/TYPE, values),
// the sensor's figures rendered and parsed back by an independent reader,
// the bounded alert tally, the health verdict with injected times, and
// --metrics address parsing.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "metrics.hpp"

using namespace barbwire;
using namespace barbwire::sensor;
using namespace std::chrono_literals;

namespace {

// An independent reader of the text format 0.0.4, as strict as the tests need.
struct parsed_sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};
struct parsed {
    std::map<std::string, std::string> help, type;
    std::vector<parsed_sample> samples;
    std::vector<std::string> errors;
};

std::string unescape(const std::string& s, bool quotes) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        const char n = s[++i];
        if (n == 'n') out += '\n';
        else if (n == '\\') out += '\\';
        else if (n == '"' && quotes) out += '"';
        else {
            out += '\\';
            out += n;
        }
    }
    return out;
}

parsed parse_text(const std::string& text) {
    parsed p;
    std::size_t pos = 0;
    int line_no = 0;
    std::string last_family;
    while (pos < text.size()) {
        const std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) {
            p.errors.push_back("no newline at the end");
            break;
        }
        const std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        const std::string where = "line " + std::to_string(line_no) + ": " + line;
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            const std::string rest = line.substr(7);
            const std::size_t sp = rest.find(' ');
            if (sp == std::string::npos) {
                p.errors.push_back("no text: " + where);
                continue;
            }
            const std::string name = rest.substr(0, sp);
            auto& m = line[2] == 'H' ? p.help : p.type;
            if (m.count(name)) p.errors.push_back("repeated: " + where);
            m[name] = line[2] == 'H' ? unescape(rest.substr(sp + 1), false) : rest.substr(sp + 1);
            last_family = name;
            continue;
        }
        if (line.empty() || line[0] == '#') {
            p.errors.push_back("unexpected: " + where);
            continue;
        }
        parsed_sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.name = line.substr(0, i);
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                const std::size_t eq = line.find('=', i);
                if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
                    p.errors.push_back("bad label: " + where);
                    break;
                }
                const std::string key = line.substr(i, eq - i);
                std::size_t j = eq + 2;
                std::string raw;
                while (j < line.size() && line[j] != '"') {
                    if (line[j] == '\\' && j + 1 < line.size()) raw += line[j++];
                    raw += line[j++];
                }
                s.labels[key] = unescape(raw, true);
                i = j + 1;
                if (i < line.size() && line[i] == ',') ++i;
            }
            ++i; // '}'
        }
        if (i >= line.size() || line[i] != ' ') {
            p.errors.push_back("no value: " + where);
            continue;
        }
        const std::string v = line.substr(i + 1);
        if (v == "NaN") s.value = std::nan("");
        else if (v == "+Inf") s.value = HUGE_VAL;
        else if (v == "-Inf") s.value = -HUGE_VAL;
        else {
            char* end = nullptr;
            s.value = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0') p.errors.push_back("bad value: " + where);
        }
        if (s.name != last_family) p.errors.push_back("sample outside its family's HELP/TYPE block: " + where);
        p.samples.push_back(std::move(s));
    }
    return p;
}

double value_of(const parsed& p, const std::string& name, const std::map<std::string, std::string>& labels) {
    for (const parsed_sample& s : p.samples)
        if (s.name == name && s.labels == labels) return s.value;
    FAIL("no sample " << name << " with the labels asked for");
    return -1;
}

} // namespace

TEST_CASE("label values and HELP texts are escaped", "[sensor][metrics]") {
    CHECK(escape_label_value("plain") == "plain");
    CHECK(escape_label_value("a\"b") == "a\\\"b");
    CHECK(escape_label_value("back\\slash") == "back\\\\slash");
    CHECK(escape_label_value("two\nlines") == "two\\nlines");
    CHECK(escape_help("say \"hi\"\\\n") == "say \"hi\"\\\\\\n"); // quotes stay in HELP
}

TEST_CASE("values: integers plain, fractions shortest, NaN and infinities by name", "[sensor][metrics]") {
    CHECK(format_value(0) == "0");
    CHECK(format_value(1234567) == "1234567");
    CHECK(format_value(-3) == "-3");
    CHECK(format_value(0.5) == "0.5");
    CHECK(format_value(1.0 / 3) == "0.3333333333333333");
    CHECK(format_value(std::nan("")) == "NaN");
    CHECK(format_value(HUGE_VAL) == "+Inf");
    CHECK(format_value(-HUGE_VAL) == "-Inf");
    CHECK(format_value(1e300) == "1e+300");
}

TEST_CASE("names: metric and label names by the format's rules", "[sensor][metrics]") {
    CHECK(valid_metric_name("barbwire_events_total"));
    CHECK(valid_metric_name("ns:metric_a"));
    CHECK_FALSE(valid_metric_name("9lives"));
    CHECK_FALSE(valid_metric_name("has-dash"));
    CHECK_FALSE(valid_metric_name(""));
    CHECK(valid_label_name("kind"));
    CHECK_FALSE(valid_label_name("__reserved"));
    CHECK_FALSE(valid_label_name("a:b"));
}

TEST_CASE("render_text: HELP, TYPE, then the samples of each family", "[sensor][metrics]") {
    metric_set m;
    m.counter("x_total", "Things\ncounted.", 3, {{"kind", "a\"b"}});
    m.gauge("y_bytes", "Size.", 0.25);
    m.counter("x_total", "ignored", 4, {{"kind", "c"}});
    CHECK(render_text(m) == "# HELP x_total Things\\ncounted.\n"
                            "# TYPE x_total counter\n"
                            "x_total{kind=\"a\\\"b\"} 3\n"
                            "x_total{kind=\"c\"} 4\n"
                            "# HELP y_bytes Size.\n"
                            "# TYPE y_bytes gauge\n"
                            "y_bytes 0.25\n");
}

TEST_CASE("collect: the sensor's figures, rendered and read back", "[sensor][metrics]") {
    sensor_figures f;
    f.version = "9.9.9";
    f.ring_bytes = 16u << 20;
    f.events_by_kind[BW_EVENT_EXEC] = 5;
    f.events_by_kind[BW_EVENT_SCRIPT] = 2;
    f.file_events = 7;
    f.decode_errors_by_code[static_cast<std::size_t>(errc::short_record)] = 1;
    f.kernel.drops_by_kind[BW_EVENT_SCRIPT] = 3; // the kind past the drops map's old 8 slots
    f.kernel.drops_by_kind[BW_EVENT_FOREIGN] = 4;
    f.kernel.shed_write = 6;
    f.kernel.opens_boring_dir = 100;
    f.kernel.opens_boring_cache = 10;
    f.kernel.opens_sensitive = 1;
    f.kernel.opens_miss = 8;
    f.filter.enabled = true;
    f.filter.verdicts = 8;
    f.filter.verdicts_sensitive = 1;
    f.correlator.suppressed_dedup = 11;
    f.correlator.processes = 300;
    f.correlator.processes_capacity = 65536;
    f.correlator.process_evictions = 12;
    f.alerts.count(severity::high, "credential access");
    f.alerts.count(severity::high, "credential access");
    f.alerts.count(severity::medium, "label \"with\" quotes\\");
    f.outputs = {{"stdout", "stdout", 3, 0, 0, 0}, {"file", "file", 2, 0, 1, 0}};
    f.hashes = {40, 9, 1, 2, 0, 49, 4096, 3, 1};
    f.seeding = {120, 4, 1, 2, 130, 1, 2, 1};
    f.owner = {5, 1, 4, 1, 1, 6, 2, 0, 9};
    f.reloads_ok = 2;
    f.reloads_failed = 1;
    f.last_reload_ok = false;
    f.last_reload_success_seconds = 1700000000.5;

    metric_set m = collect(f);
    add_live(m, process_figures{1.5, 1 << 20, 2 << 20, 12, 1024, 1699999999}, health_verdict{true, "ok"},
             1700000001.25);
    const std::string text = render_text(m);
    const parsed p = parse_text(text);
    INFO(text);
    for (const std::string& e : p.errors) FAIL(e);

    // Every family has HELP and TYPE; counters, and only counters, end in _total.
    std::set<std::string> families;
    for (const metric_family& fam : m.families()) {
        INFO(fam.name);
        CHECK(valid_metric_name(fam.name));
        CHECK(p.help.count(fam.name) == 1);
        REQUIRE(p.type.count(fam.name) == 1);
        const bool total = fam.name.size() > 6 && fam.name.compare(fam.name.size() - 6, 6, "_total") == 0;
        CHECK(total == (p.type.at(fam.name) == "counter"));
        CHECK(fam.name.find("__") == std::string::npos);
        families.insert(fam.name);
    }
    // No sample twice; every label name valid; no label that names a pid or path.
    std::set<std::pair<std::string, std::map<std::string, std::string>>> seen;
    for (const parsed_sample& s : p.samples) {
        CHECK(seen.insert({s.name, s.labels}).second);
        for (const auto& [k, v] : s.labels) {
            CHECK(valid_label_name(k));
            CHECK(k != "pid");
            CHECK(k != "path");
        }
    }

    CHECK(value_of(p, "barbwire_build_info", {{"version", "9.9.9"}, {"abi", std::to_string(BW_ABI_VERSION)},
                                              {"command", "run"}}) == 1);
    CHECK(value_of(p, "barbwire_events_total", {{"kind", "exec"}}) == 5);
    CHECK(value_of(p, "barbwire_events_total", {{"kind", "script"}}) == 2);
    CHECK(value_of(p, "barbwire_events_total", {{"kind", "file"}}) == 7);
    CHECK(value_of(p, "barbwire_events_total", {{"kind", "foreign"}}) == 0);
    CHECK(value_of(p, "barbwire_decode_errors_total", {{"reason", "short_record"}}) == 1);
    CHECK(value_of(p, "barbwire_kernel_drops_total", {{"kind", "script"}}) == 3);
    CHECK(value_of(p, "barbwire_kernel_drops_total", {{"kind", "foreign"}}) == 4);
    CHECK(value_of(p, "barbwire_kernel_drops_total", {{"kind", "open_repeat"}}) == 0);
    CHECK(value_of(p, "barbwire_kernel_shed_total", {{"kind", "write"}}) == 6);
    CHECK(value_of(p, "barbwire_kernel_opens_total", {{"outcome", "boring_directory"}}) == 100);
    CHECK(value_of(p, "barbwire_kernel_verdict_cache_lookups_total", {{"result", "hit"}}) == 11);
    CHECK(value_of(p, "barbwire_kernel_verdict_cache_lookups_total", {{"result", "miss"}}) == 8);
    CHECK(value_of(p, "barbwire_kernel_filter_verdicts_total", {{"verdict", "boring"}}) == 7);
    CHECK(value_of(p, "barbwire_kernel_filter_verdicts_total", {{"verdict", "sensitive"}}) == 1);
    CHECK(value_of(p, "barbwire_alerts_total", {{"severity", "HIGH"}, {"category", "credential access"}}) == 2);
    CHECK(value_of(p, "barbwire_alerts_total", {{"severity", "MEDIUM"}, {"category", "label \"with\" quotes\\"}}) == 1);
    CHECK(value_of(p, "barbwire_suppressions_total", {{"reason", "dedup"}}) == 11);
    CHECK(value_of(p, "barbwire_table_entries", {{"table", "processes"}}) == 300);
    CHECK(value_of(p, "barbwire_table_capacity", {{"table", "processes"}}) == 65536);
    CHECK(value_of(p, "barbwire_table_entries", {{"table", "hash_cache"}}) == 49);
    CHECK(value_of(p, "barbwire_table_evictions_total", {{"table", "processes"}}) == 12);
    CHECK(value_of(p, "barbwire_hash_cache_lookups_total", {{"result", "hit"}}) == 40);
    CHECK(value_of(p, "barbwire_hash_cache_lookups_total", {{"result", "miss"}}) == 9);
    CHECK(value_of(p, "barbwire_hash_not_examined_total", {{"filesystem", "fuse_or_network"}}) == 3);
    CHECK(value_of(p, "barbwire_hash_not_examined_total", {{"filesystem", "unknown"}}) == 1);
    CHECK(value_of(p, "barbwire_seed_processes", {{"outcome", "seeded"}}) == 120);
    CHECK(value_of(p, "barbwire_seed_processes", {{"outcome", "skipped"}}) == 4);
    CHECK(value_of(p, "barbwire_seed_processes", {{"outcome", "timed_out"}}) == 1);
    CHECK(value_of(p, "barbwire_seed_processes", {{"outcome", "refused"}}) == 2);
    CHECK(value_of(p, "barbwire_proc_reads_total", {{"outcome", "done"}}) == 130);
    CHECK(value_of(p, "barbwire_proc_reads_total", {{"outcome", "timed_out"}}) == 1);
    CHECK(value_of(p, "barbwire_proc_reads_total", {{"outcome", "refused"}}) == 2);
    CHECK(value_of(p, "barbwire_proc_read_threads_blocked", {}) == 1);
    CHECK(value_of(p, "barbwire_owner_use_files_parsed_total", {}) == 5);
    CHECK(value_of(p, "barbwire_owner_use_read_failures_total", {}) == 1);
    CHECK(value_of(p, "barbwire_owner_use_bindings_total", {{"how", "at_open"}}) == 3);
    CHECK(value_of(p, "barbwire_owner_use_bindings_total", {{"how", "after_resolution"}}) == 1);
    CHECK(value_of(p, "barbwire_owner_use_successor_files_total", {}) == 1);
    CHECK(value_of(p, "barbwire_owner_use_names_total", {{"outcome", "resolved"}}) == 4);
    CHECK(value_of(p, "barbwire_owner_use_names_total", {{"outcome", "failed"}}) == 2);
    CHECK(value_of(p, "barbwire_owner_use_names_total", {{"outcome", "cached"}}) == 9);
    CHECK(value_of(p, "barbwire_owner_use_names_total", {{"outcome", "queue_full"}}) == 0);
    CHECK(value_of(p, "barbwire_output_failed_total", {{"output", "file"}, {"kind", "file"}}) == 1);
    CHECK(value_of(p, "barbwire_output_sent_total", {{"output", "stdout"}, {"kind", "stdout"}}) == 3);
    CHECK(value_of(p, "barbwire_config_reloads_total", {{"result", "failed"}}) == 1);
    CHECK(value_of(p, "barbwire_config_last_reload_successful", {}) == 0);
    CHECK(value_of(p, "barbwire_config_last_reload_success_timestamp_seconds", {}) == 1700000000.5);
    CHECK(value_of(p, "barbwire_ring_buffer_size_bytes", {}) == 16777216);
    CHECK(value_of(p, "process_cpu_seconds_total", {}) == 1.5);
    CHECK(value_of(p, "process_resident_memory_bytes", {}) == 1048576);
    CHECK(value_of(p, "barbwire_healthy", {}) == 1);
    CHECK(value_of(p, "barbwire_ring_buffer_last_drain_timestamp_seconds", {}) == 1700000001.25);
}

TEST_CASE("collect: alerts_total exists before the first alert", "[sensor][metrics]") {
    const parsed p = parse_text(render_text(collect(sensor_figures{})));
    CHECK(p.errors.empty());
    CHECK(value_of(p, "barbwire_alerts_total", {{"severity", "HIGH"}, {"category", "none"}}) == 0);
}

TEST_CASE("alert_tally: categories are bounded, the rest counted as other", "[sensor][metrics]") {
    alert_tally t;
    for (std::size_t i = 0; i < alert_tally::max_alert_categories + 10; ++i) t.count(severity::low, "c" + std::to_string(i));
    t.count(severity::high, "c0"); // a known one stays itself
    t.count(severity::high, "");
    CHECK(t.total() == alert_tally::max_alert_categories + 12);
    std::set<std::string> cats;
    for (const auto& [k, n] : t.counts()) cats.insert(k.second);
    CHECK(cats.size() == alert_tally::max_alert_categories + 1); // + "other"; "" past the bound is other too
    CHECK(t.counts().at({severity::low, "other"}) == 10);
    CHECK(t.counts().at({severity::high, "c0"}) == 1);
    CHECK(t.counts().at({severity::high, "other"}) == 1);
}

TEST_CASE("add_outputs takes any rows with name, kind, sent, dropped, failed, queued", "[sensor][metrics]") {
    struct status { // the shape of the outputs' own status rows
        std::string name, kind;
        std::uint64_t sent, dropped, failed, queued;
    };
    const std::vector<status> rows = {{"siem", "webhook", 10, 2, 3, 4}, {"local", "syslog", 5, 0, 0, 0}};
    metric_set m;
    add_outputs(m, rows);
    const parsed p = parse_text(render_text(m));
    CHECK(p.errors.empty());
    CHECK(value_of(p, "barbwire_output_dropped_total", {{"output", "siem"}, {"kind", "webhook"}}) == 2);
    CHECK(value_of(p, "barbwire_output_queued", {{"output", "siem"}, {"kind", "webhook"}}) == 4);
    CHECK(value_of(p, "barbwire_output_sent_total", {{"output", "local"}, {"kind", "syslog"}}) == 5);
}

TEST_CASE("health_of: healthy only while running and drained recently", "[sensor][metrics]") {
    const nanoseconds t{1'000'000'000'000};
    CHECK_FALSE(health_of(sensor_phase::starting, std::nullopt, t).healthy);
    CHECK(health_of(sensor_phase::starting, std::nullopt, t).reason.find("starting") == 0);
    CHECK_FALSE(health_of(sensor_phase::running, std::nullopt, t).healthy);
    const health_verdict fresh = health_of(sensor_phase::running, t - 100ms, t);
    CHECK(fresh.healthy);
    CHECK(fresh.reason == "ok");
    CHECK(health_of(sensor_phase::running, t - drain_stale_after, t).healthy); // at the limit: still healthy
    const health_verdict stale = health_of(sensor_phase::running, t - drain_stale_after - 1500ms, t);
    CHECK_FALSE(stale.healthy);
    CHECK(stale.reason == "the event loop has not drained the ring buffer for 11.5 s (limit 10 s): it is stalled");
    CHECK_FALSE(health_of(sensor_phase::stopping, t, t).healthy);
    CHECK(health_of(sensor_phase::running, t - 3s, t, 2s).healthy == false);
}

TEST_CASE("parse_listen_address: numeric IPv4 and bracketed IPv6 with a port", "[sensor][metrics]") {
    auto a = parse_listen_address("127.0.0.1:9477");
    REQUIRE(a);
    CHECK(a->host == "127.0.0.1");
    CHECK(a->port == 9477);
    CHECK_FALSE(a->ipv6);
    CHECK(a->loopback());
    CHECK(a->text() == "127.0.0.1:9477");
    auto b = parse_listen_address("[::1]:1");
    REQUIRE(b);
    CHECK(b->host == "::1");
    CHECK(b->ipv6);
    CHECK(b->loopback());
    CHECK(b->text() == "[::1]:1");
    CHECK(parse_listen_address("0.0.0.0:65535"));
    CHECK_FALSE(parse_listen_address("0.0.0.0:65535")->loopback());
    CHECK(parse_listen_address("[::]:9477"));
    CHECK(parse_listen_address("[fe80::1:2]:80"));
    CHECK(parse_listen_address("[::ffff:127.0.0.1]:80"));
    CHECK(parse_listen_address("[1:2:3:4:5:6:7:8]:80"));

    for (const char* bad : {"", "9477", ":9477", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                            "127.0.0.1:http", "127.0.0.1:80x", "localhost:9477", "256.0.0.1:80", "1.2.3:80",
                            "1.2.3.4.5:80", "::1:9477", "[::1]", "[::1]9477", "[::1:9477", "[1:2:3:4:5:6:7:8:9]:80",
                            "[1::2::3]:80", "[gg::1]:80", "[::1%lo]:80"}) {
        INFO(bad);
        auto r = parse_listen_address(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().rfind(std::string("--metrics ") + bad + ": ", 0) == 0);
        CHECK(r.error().find('\n') == std::string::npos);
    }
}
