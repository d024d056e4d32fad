// sensor/output_format (the pure half of the alert outputs) and
// sensor/bounded_queue.hpp: option parsing, RFC 5424 lines, octet framing,
// journal fields, the falcosidekick payload, the drop-newest queue.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "bounded_queue.hpp"
#include "output_format.hpp"

using namespace barbwire;
using namespace barbwire::sensor;
using nlohmann::json;

namespace {

// 2024-05-01T12:34:56.123456789Z
constexpr std::int64_t t0 = 1714566896LL * 1'000'000'000 + 123'456'789;

alert sample_alert() {
    alert a;
    a.ts = nanoseconds{5'000'000'000};
    a.process = {4242, "python3", "/usr/bin/python3.11", "ab12"};
    a.uid = 1000;
    a.argv = {"python3", "-c", "x,y"};
    a.file.path = "/etc/shadow";
    a.file.category = "credential access";
    a.file.ts = nanoseconds{4'000'000'000};
    a.destination.op = net_op::connect;
    a.destination.protocol = ip_proto::tcp;
    a.destination.addr = *ip_address::parse("127.0.0.1");
    a.destination.port = 4444;
    a.score = 5;
    a.severity = severity::high;
    a.breakdown = {{"credential access", 3}, {"suspicious parent: bash", 2}};
    a.parent = process_ref{4241, "bash", "/usr/bin/bash", ""};
    a.reader = a.process;
    a.ancestry = {a.process};
    return a;
}

} // namespace

TEST_CASE("make_message: the alert's JSON, once, and a one-line summary", "[sensor][outputs]") {
    const alert a = sample_alert();
    const output_message m = make_message(a, t0);
    CHECK(m.is_alert());
    CHECK(m.json == to_json(a).dump());
    CHECK(json::parse(m.json) == m.doc);
    CHECK(m.line.find('\n') == std::string::npos);
    CHECK(m.line.find("HIGH") != std::string::npos);
    CHECK(m.line.find("/etc/shadow") != std::string::npos);
    CHECK(m.line.find("127.0.0.1:4444") != std::string::npos);
    CHECK(m.line.find("pid 4242") != std::string::npos);

    incident_summary s;
    s.incident = 7;
    s.subject.process = a.process;
    s.subject.path = "/etc/shadow";
    s.repeats.count = 9;
    s.repeats.max_severity = severity::medium;
    const output_message sm = make_message(s, t0);
    CHECK_FALSE(sm.is_alert());
    CHECK(sm.doc["type"] == "summary");
    CHECK(sm.line.find('\n') == std::string::npos);
    CHECK(sm.line.find("incident 7") != std::string::npos);
}

TEST_CASE("rfc3339_utc: UTC, the asked fraction digits", "[sensor][outputs]") {
    CHECK(rfc3339_utc(t0, 6) == "2024-05-01T12:34:56.123456Z");
    CHECK(rfc3339_utc(t0, 9) == "2024-05-01T12:34:56.123456789Z");
    CHECK(rfc3339_utc(t0, 0) == "2024-05-01T12:34:56Z");
    CHECK(rfc3339_utc(0, 3) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("parse_syslog_target: unix, udp, tcp, IPv6; bad ones name the option", "[sensor][outputs]") {
    auto u = parse_syslog_target("unix:/dev/log");
    REQUIRE(u);
    CHECK(u->transport == syslog_transport::unix_dgram);
    CHECK(u->path == "/dev/log");
    CHECK(u->name() == "syslog:unix:/dev/log");
    auto t = parse_syslog_target("tcp:127.0.0.1:514");
    REQUIRE(t);
    CHECK(t->transport == syslog_transport::tcp);
    CHECK(t->host == "127.0.0.1");
    CHECK(t->port == 514);
    CHECK(t->name() == "syslog:tcp:127.0.0.1:514");
    auto d = parse_syslog_target("udp:logs.example.org:1514");
    REQUIRE(d);
    CHECK(d->transport == syslog_transport::udp);
    CHECK(d->host == "logs.example.org");
    auto v6 = parse_syslog_target("tcp:[::1]:6514");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 6514);
    CHECK(v6->name() == "syslog:tcp:[::1]:6514");
    for (const char* bad : {"", "/dev/log", "unix:dev/log", "tcp:host", "tcp::514", "tcp:host:0", "tcp:host:65536",
                            "tcp:host:x", "udp:::1:514", "sctp:host:514", "tcp:[::1:514", "tcp:a b:514"}) {
        INFO(bad);
        auto r = parse_syslog_target(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().rfind("--syslog ", 0) == 0);
        CHECK(r.error().find('\n') == std::string::npos);
    }
}

TEST_CASE("parse_syslog_facility: names and numbers", "[sensor][outputs]") {
    CHECK(parse_syslog_facility("authpriv") == 10);
    CHECK(parse_syslog_facility("AUTH") == 4);
    CHECK(parse_syslog_facility("LOG_DAEMON") == 3);
    CHECK(parse_syslog_facility("local7") == 23);
    CHECK(parse_syslog_facility("0") == 0);
    CHECK(parse_syslog_facility("23") == 23);
    CHECK_FALSE(parse_syslog_facility("24"));
    CHECK_FALSE(parse_syslog_facility("local8"));
    CHECK_FALSE(parse_syslog_facility(""));
    CHECK(parse_syslog_facility("nope").error().find("--syslog-facility") == 0);
}

TEST_CASE("rfc5424: header, PRI from facility and severity, the JSON intact", "[sensor][outputs]") {
    const output_message m = make_message(sample_alert(), t0);
    CHECK(syslog_severity(m) == 2);
    const std::string line = rfc5424(10, syslog_severity(m), t0, "host-1", "barbwire", 77, "alert", m.json);
    const std::string head = "<82>1 2024-05-01T12:34:56.123456Z host-1 barbwire 77 alert - ";
    REQUIRE(line.rfind(head, 0) == 0);
    CHECK(line.substr(head.size()) == m.json);
    CHECK(json::parse(line.substr(head.size())) == m.doc);
    // Header fields: printable ASCII only, cut to their lengths, "-" when empty.
    const std::string odd = rfc5424(1, 6, t0, "", "bar bwire", 1, std::string(40, 'm'), "x");
    CHECK(odd == "<14>1 2024-05-01T12:34:56.123456Z - barbwire 1 " + std::string(32, 'm') + " - x");
    CHECK(rfc5424(0, 0, t0, std::string(300, 'h'), "a", 1, "m", "").size() == 5 + 28 + 256 + 2 + 2 + 2 + 1); // "<0>1 ", time, host cut to 255, a, 1, m, "-"
}

TEST_CASE("syslog severities follow the alert's", "[sensor][outputs]") {
    alert a = sample_alert();
    a.severity = severity::medium;
    CHECK(syslog_severity(make_message(a, t0)) == 4);
    a.severity = severity::low;
    CHECK(syslog_severity(make_message(a, t0)) == 5);
    incident_summary s;
    CHECK(syslog_severity(make_message(s, t0)) == 6);
}

TEST_CASE("octet_frame: RFC 6587 octet counting", "[sensor][outputs]") {
    CHECK(octet_frame("abc") == "3 abc");
    CHECK(octet_frame("") == "0 ");
    const std::string utf8 = "\xc3\xa9t\xc3\xa9"; // 5 octets, 3 characters
    CHECK(octet_frame(utf8) == "5 " + utf8);
}

TEST_CASE("journal_fields: MESSAGE, PRIORITY and BARBWIRE_*", "[sensor][outputs]") {
    alert a = sample_alert();
    container_info c;
    c.id = std::string(64, 'a');
    c.runtime = container_runtime::podman;
    c.name = "web";
    c.image = "localhost/app:1";
    a.container = std::move(c);
    const output_message m = make_message(a, t0);
    std::set<std::string> f;
    for (const std::string& x : journal_fields(m)) f.insert(x);
    CHECK(f.count("MESSAGE=" + m.line));
    CHECK(f.count("PRIORITY=2"));
    CHECK(f.count("SYSLOG_IDENTIFIER=barbwire"));
    CHECK(f.count("BARBWIRE_TYPE=alert"));
    CHECK(f.count("BARBWIRE_SEVERITY=HIGH"));
    CHECK(f.count("BARBWIRE_SCORE=5"));
    CHECK(f.count("BARBWIRE_CATEGORY=credential access"));
    CHECK(f.count("BARBWIRE_FILE=/etc/shadow"));
    CHECK(f.count("BARBWIRE_DEST=127.0.0.1:4444"));
    CHECK(f.count("BARBWIRE_PID=4242"));
    CHECK(f.count("BARBWIRE_CONTAINER_ID=" + std::string(64, 'a')));
    CHECK(f.count("BARBWIRE_CONTAINER_NAME=web"));
    CHECK(f.count("BARBWIRE_CONTAINER_IMAGE=localhost/app:1"));
    CHECK(f.count("BARBWIRE_JSON=" + m.json));
    // No empty field (journald would keep "KEY=" as an empty value).
    for (const std::string& x : f) CHECK(x.back() != '=');
}

TEST_CASE("parse_webhook: prefixes pick the format; bad URLs name the option without the password",
          "[sensor][outputs]") {
    auto w = parse_webhook("http://127.0.0.1:2801/", webhook_format::barbwire);
    REQUIRE(w);
    CHECK(w->format == webhook_format::barbwire);
    CHECK(w->url == "http://127.0.0.1:2801/");
    CHECK(w->name() == "webhook:http://127.0.0.1:2801/");
    auto f = parse_webhook("falco=http://sidekick:2801", webhook_format::barbwire);
    REQUIRE(f);
    CHECK(f->format == webhook_format::falco);
    CHECK(f->url == "http://sidekick:2801");
    auto b = parse_webhook("barbwire=https://[::1]/hook?a=1,2", webhook_format::falco);
    REQUIRE(b);
    CHECK(b->format == webhook_format::barbwire);
    auto cred = parse_webhook("https://user:s3cret@example.org/x", webhook_format::falco);
    REQUIRE(cred);
    CHECK(cred->format == webhook_format::falco);
    CHECK(cred->url == "https://user:s3cret@example.org/x");
    CHECK(cred->name() == "webhook:https://example.org/x");
    for (const char* bad : {"", "ftp://x/", "http://", "http:///x", "http://h:0/", "http://h:99999/",
                            "http://h/a b", "falco=", "nofmt=http://h/"}) {
        INFO(bad);
        auto r = parse_webhook(bad, webhook_format::barbwire);
        REQUIRE_FALSE(r);
        CHECK(r.error().rfind("--webhook ", 0) == 0);
    }
    auto secret = parse_webhook("ftp://user:s3cret@h/", webhook_format::barbwire);
    REQUIRE_FALSE(secret);
    CHECK(secret.error().find("s3cret") == std::string::npos);
    CHECK(parse_webhook_format("falco") == webhook_format::falco);
    CHECK(parse_webhook_format("barbwire") == webhook_format::barbwire);
    CHECK_FALSE(parse_webhook_format("json"));
}

TEST_CASE("uuid_v4: version and variant bits", "[sensor][outputs]") {
    std::array<std::uint8_t, 16> r{};
    r.fill(0xff);
    CHECK(uuid_v4(r) == "ffffffff-ffff-4fff-bfff-ffffffffffff");
    r.fill(0);
    CHECK(uuid_v4(r) == "00000000-0000-4000-8000-000000000000");
}

TEST_CASE("falco_payload: what falcosidekick's FalcoPayload takes and checks", "[sensor][outputs]") {
    const output_message m = make_message(sample_alert(), t0);
    const json p = falco_payload(m, "node-1", "00000000-0000-4000-8000-000000000000");
    // falcosidekick rejects a payload without a known priority, a rule, a
    // time or output fields.
    CHECK(p["priority"] == "Critical");
    CHECK(p["rule"].get<std::string>().find("credential access") != std::string::npos);
    CHECK(p["time"] == "2024-05-01T12:34:56.123456789Z");
    REQUIRE(p["output_fields"].is_object());
    CHECK_FALSE(p["output_fields"].empty());
    CHECK(p["output"] == m.line);
    CHECK(p["source"] == "barbwire");
    CHECK(p["hostname"] == "node-1");
    CHECK(p["uuid"] == "00000000-0000-4000-8000-000000000000");
    CHECK(p["tags"].is_array());
    const json& f = p["output_fields"];
    CHECK(f["proc.pid"] == 4242);
    CHECK(f["proc.name"] == "python3");
    CHECK(f["proc.exepath"] == "/usr/bin/python3.11");
    CHECK(f["proc.cmdline"] == "python3 -c x,y");
    CHECK(f["proc.ppid"] == 4241);
    CHECK(f["fd.name"] == "/etc/shadow");
    CHECK(f["fd.sip"] == "127.0.0.1");
    CHECK(f["fd.sport"] == 4444);
    CHECK(f["evt.time"] == t0);
    CHECK(f["barbwire.score"] == 5);
    // Values are scalars: sinks that turn fields into labels take them as they are.
    for (const auto& [k, v] : f.items()) CHECK_FALSE(v.is_structured());

    alert med = sample_alert();
    med.severity = severity::medium;
    CHECK(falco_payload(make_message(med, t0), "h", "u")["priority"] == "Warning");
    med.severity = severity::low;
    CHECK(falco_payload(make_message(med, t0), "h", "u")["priority"] == "Notice");
    incident_summary s;
    s.repeats.count = 3;
    const json sp = falco_payload(make_message(s, t0), "h", "u");
    CHECK(sp["priority"] == "Informational");
    CHECK(sp["rule"] == "Barbwire incident summary");
    CHECK(sp["output_fields"]["barbwire.repeats"] == 3);
}

TEST_CASE("parse_byte_size, parse_count, parse_timeout", "[sensor][outputs]") {
    CHECK(parse_byte_size("0", "--x", 0, 1u << 30) == 0u);
    CHECK(parse_byte_size("4096", "--x", 0, 1u << 30) == 4096u);
    CHECK(parse_byte_size("64K", "--x", 0, 1u << 30) == 65536u);
    CHECK(parse_byte_size("10M", "--x", 0, 1u << 30) == 10u << 20);
    CHECK(parse_byte_size("1G", "--x", 0, 1u << 30) == 1u << 30);
    CHECK_FALSE(parse_byte_size("2G", "--x", 0, 1u << 30));
    CHECK_FALSE(parse_byte_size("10X", "--x", 0, 1u << 30));
    CHECK_FALSE(parse_byte_size("", "--x", 0, 1u << 30));
    CHECK_FALSE(parse_byte_size("-1", "--x", 0, 1u << 30));
    CHECK(parse_byte_size("x", "--output-max-size", 0, 10).error().rfind("--output-max-size x:", 0) == 0);
    CHECK(parse_count("7", "--n", 1, 10) == 7u);
    CHECK_FALSE(parse_count("0", "--n", 1, 10));
    CHECK_FALSE(parse_count("11", "--n", 1, 10));
    CHECK_FALSE(parse_count("3x", "--n", 1, 10));
    CHECK_FALSE(parse_count("", "--n", 1, 10));
    using std::chrono::milliseconds;
    CHECK(parse_timeout("5", "--t", milliseconds{100}, milliseconds{60000}) == milliseconds{5000});
    CHECK(parse_timeout("5s", "--t", milliseconds{100}, milliseconds{60000}) == milliseconds{5000});
    CHECK(parse_timeout("250ms", "--t", milliseconds{100}, milliseconds{60000}) == milliseconds{250});
    CHECK(parse_timeout("1m", "--t", milliseconds{100}, milliseconds{60000}) == milliseconds{60000});
    CHECK_FALSE(parse_timeout("50ms", "--t", milliseconds{100}, milliseconds{60000}));
    CHECK_FALSE(parse_timeout("2m", "--t", milliseconds{100}, milliseconds{60000}));
    CHECK_FALSE(parse_timeout("5h", "--t", milliseconds{100}, milliseconds{60000}));
    CHECK_FALSE(parse_timeout("s", "--t", milliseconds{100}, milliseconds{60000}));
}

TEST_CASE("drop_newest_queue: a full queue drops the newest and counts it", "[sensor][outputs]") {
    drop_newest_queue<int> q(3);
    CHECK(q.push(1));
    CHECK(q.push(2));
    CHECK(q.push(3));
    CHECK_FALSE(q.push(4)); // the newest goes
    CHECK_FALSE(q.push(5));
    CHECK(q.dropped() == 2);
    CHECK(q.size() == 3);
    CHECK(q.pop() == 1); // the oldest stay, in order
    CHECK(q.push(6));
    CHECK(q.pop() == 2);
    CHECK(q.pop() == 3);
    CHECK(q.pop() == 6);
    CHECK_FALSE(q.pop());
    CHECK(q.push(7));
    CHECK(q.clear() == 1);
    CHECK(q.empty());
    CHECK(q.dropped() == 2);
    drop_newest_queue<int> zero(0); // at least one slot
    CHECK(zero.capacity() == 1);
}

TEST_CASE("falco_payload: container.labels as Falco writes it, container.label[key] each, pod labels kept",
          "[sensor][outputs][container]") {
    alert a = sample_alert();
    container_info c;
    c.id = std::string(64, 'a');
    c.runtime = container_runtime::docker;
    c.name = "web";
    c.pod_name = "web-0";
    c.pod_namespace = "shop";
    c.verified = true;
    c.labels = {{"app", "x"}, {"io.kubernetes.pod.name", "web-0"}, {"team", "payments"}};
    a.container = c;
    const json f = falco_payload(make_message(a, t0), "h", "u")["output_fields"];
    CHECK(f["container.id"] == std::string(12, 'a'));
    CHECK(f["container.labels"] == "app:x, io.kubernetes.pod.name:web-0, team:payments");
    CHECK(f["container.label[team]"] == "payments");
    CHECK(f["container.label[io.kubernetes.pod.name]"] == "web-0");
    CHECK(f["k8s.pod.name"] == "web-0");
    CHECK(f["k8s.ns.name"] == "shop");
    for (const auto& [k, v] : f.items()) CHECK_FALSE(v.is_structured());
    // No labels: no label fields.
    a.container->labels.clear();
    const json g = falco_payload(make_message(a, t0), "h", "u")["output_fields"];
    CHECK_FALSE(g.contains("container.labels"));
}
