#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <barbwire/baseline.hpp>
#include <barbwire/correlator.hpp>

using namespace barbwire;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string sha_a(64, 'a');
const std::string sha_b(64, 'b');
const std::string sha_c(64, 'c');

ip_address ip(std::string_view s) { return *ip_address::parse(s); }

// curl (sha_a) read /etc/shadow and connected to 127.0.0.1:8080, scored 5.
alert sample(std::string_view addr = "127.0.0.1", std::uint16_t port = 8080) {
    alert a;
    a.ts = 2s;
    a.process = {200, "curl", "/usr/bin/curl", sha_a};
    a.reader = a.process;
    a.file = {"/etc/shadow", 2049, 11, "credential access", 1s, "/etc/shadow", ""};
    a.destination = {net_op::connect, ip_proto::tcp, ip(addr), port};
    a.score = 5;
    a.severity = severity::high;
    a.breakdown = {{"credential access", 3}, {"suspicious parent: bash", 2}};
    return a;
}

int sum(const alert& a) {
    int s = 0;
    for (const auto& p : a.breakdown) s += p.points;
    return s;
}

std::string error_of(std::string_view text) {
    auto b = parse_baseline_text(text);
    REQUIRE_FALSE(b.has_value());
    return b.error().message;
}

std::string entry(std::string_view extra_or_override = "") {
    std::string e = R"({"exe": "/usr/bin/curl", "sha256": ")" + sha_a + R"(", "reader_exe": "/usr/bin/curl", )" +
                    R"("reader_sha256": ")" + sha_a + R"(", "category": "credential access", )" +
                    R"("destination": "loopback", "protocol": "tcp", "port": 8080, "count": 2)";
    e += extra_or_override;
    e += "}";
    return e;
}

} // namespace

TEST_CASE("destination classes", "[baseline]") {
    const auto c = [](std::string_view s) { return classify_destination(ip(s)); };
    CHECK(c("127.0.0.1") == destination_class::loopback);
    CHECK(c("127.255.1.2") == destination_class::loopback);
    CHECK(c("0.0.0.0") == destination_class::loopback);
    CHECK(c("::1") == destination_class::loopback);
    CHECK(c("::") == destination_class::loopback);
    CHECK(c("::ffff:127.0.0.1") == destination_class::loopback);
    CHECK(c("10.1.2.3") == destination_class::private_net);
    CHECK(c("172.16.0.1") == destination_class::private_net);
    CHECK(c("172.31.255.255") == destination_class::private_net);
    CHECK(c("172.32.0.1") == destination_class::public_net);
    CHECK(c("172.15.255.255") == destination_class::public_net);
    CHECK(c("192.168.1.1") == destination_class::private_net);
    CHECK(c("192.169.1.1") == destination_class::public_net);
    CHECK(c("100.64.0.1") == destination_class::private_net);
    CHECK(c("100.127.255.255") == destination_class::private_net);
    CHECK(c("100.128.0.1") == destination_class::public_net);
    CHECK(c("169.254.169.254") == destination_class::private_net);
    CHECK(c("::ffff:10.0.0.1") == destination_class::private_net);
    CHECK(c("fd00::1") == destination_class::private_net);
    CHECK(c("fc12::1") == destination_class::private_net);
    CHECK(c("fe80::1") == destination_class::private_net);
    CHECK(c("febf::1") == destination_class::private_net);
    CHECK(c("fec0::1") == destination_class::public_net);
    CHECK(c("::2") == destination_class::public_net);
    CHECK(c("203.0.113.5") == destination_class::public_net);
    CHECK(c("8.8.8.8") == destination_class::public_net);
    CHECK(c("2001:db8::1") == destination_class::public_net);
    CHECK(c("::ffff:8.8.8.8") == destination_class::public_net);
    CHECK(to_string(destination_class::private_net) == "private");
    CHECK(parse_destination_class("public") == destination_class::public_net);
    CHECK_FALSE(parse_destination_class("Public").has_value());
}

TEST_CASE("learn, then check: same correlation seen, other port/class/category/reader new", "[baseline]") {
    baseline b;
    CHECK(b.learn(sample()) == learn_outcome::added);
    CHECK(b.learn(sample("127.0.0.2")) == learn_outcome::counted); // same class, same port
    REQUIRE(b.size() == 1);
    CHECK(b.entries().begin()->second == 2);

    CHECK(b.check(sample()).verdict == baseline_verdict::seen);
    CHECK(b.check(sample("127.0.0.1", 8081)).verdict == baseline_verdict::new_behaviour);
    CHECK(b.check(sample("10.0.0.1")).verdict == baseline_verdict::new_behaviour);
    CHECK(b.check(sample("203.0.113.5")).verdict == baseline_verdict::new_behaviour);
    alert udp = sample();
    udp.destination.protocol = ip_proto::udp;
    CHECK(b.check(udp).verdict == baseline_verdict::new_behaviour);
    alert other_cat = sample();
    other_cat.file.category = "ssh key exfiltration";
    CHECK(b.check(other_cat).verdict == baseline_verdict::new_behaviour);
    // a family alert: the same sender, but another reader
    alert sib = sample();
    sib.relation = relation::sibling;
    sib.reader = {201, "cat", "/usr/bin/cat", sha_c};
    CHECK(b.check(sib).verdict == baseline_verdict::new_behaviour);
    CHECK(b.learn(sib) == learn_outcome::added);
    CHECK(b.check(sib).verdict == baseline_verdict::seen);
    // another binary entirely
    alert other = sample();
    other.process = other.reader = {300, "python3", "/usr/bin/python3.11", sha_b};
    CHECK(b.check(other).verdict == baseline_verdict::new_behaviour);
}

TEST_CASE("unknown identities are never learned, and never seen", "[baseline]") {
    baseline b;
    alert no_hash = sample();
    no_hash.process.sha256.clear();
    no_hash.reader = no_hash.process;
    CHECK(b.learn(no_hash) == learn_outcome::unknown);
    alert no_exe = sample();
    no_exe.reader = {201, "cat", "", sha_c};
    CHECK(b.learn(no_exe) == learn_outcome::unknown);
    // keys the file could not hold exactly are not learned either
    alert upper = sample();
    upper.process.sha256 = upper.reader.sha256 = std::string(64, 'A');
    CHECK(b.learn(upper) == learn_outcome::unknown);
    alert relative = sample();
    relative.process.exe = relative.reader.exe = "curl";
    CHECK(b.learn(relative) == learn_outcome::unknown);
    alert bad_utf8 = sample();
    bad_utf8.process.exe = bad_utf8.reader.exe = "/tmp/\xff";
    CHECK(b.learn(bad_utf8) == learn_outcome::unknown);
    CHECK(b.empty());
    CHECK(b.unknown() == 5);
    CHECK(b.check(no_hash).verdict == baseline_verdict::new_behaviour);
}

TEST_CASE("a hash change of a learned binary voids its entries", "[baseline]") {
    baseline b;
    REQUIRE(b.learn(sample()) == learn_outcome::added);
    alert changed = sample();
    changed.process.sha256 = sha_b;
    changed.reader = changed.process;
    const baseline_check c = b.check(changed);
    CHECK(c.verdict == baseline_verdict::changed_binary);
    CHECK(c.reason == "baseline: /usr/bin/curl changed (sha256 bbbbbbbbbbbbbbbb, learned aaaaaaaaaaaaaaaa)");
    // any correlation of the changed binary, not only the learned one
    alert elsewhere = changed;
    elsewhere.destination.addr = ip("203.0.113.9");
    CHECK(b.check(elsewhere).verdict == baseline_verdict::changed_binary);
    // an unknown hash of a learned path cannot be shown to be the same binary
    alert unknown = sample();
    unknown.process.sha256.clear();
    unknown.reader = unknown.process;
    CHECK(b.check(unknown).verdict == baseline_verdict::changed_binary);
    CHECK(b.check(unknown).reason.find("sha256 unknown") != std::string::npos);
    // a changed reader too
    alert sib = sample();
    sib.reader = {201, "cat", "/usr/bin/cat", sha_c};
    REQUIRE(b.learn(sib) == learn_outcome::added);
    sib.reader.sha256 = sha_b;
    CHECK(b.check(sib).verdict == baseline_verdict::changed_binary);
    CHECK(b.check(sib).reason.find("/usr/bin/cat changed") != std::string::npos);
}

TEST_CASE("apply: suppress, downscore, changed and new", "[baseline]") {
    const config cfg = default_config();
    baseline b;
    REQUIRE(b.learn(sample()) == learn_outcome::added);

    alert s = sample();
    CHECK_FALSE(b.apply(s, baseline_mode::suppress, cfg));
    CHECK(s.baseline == baseline_verdict::seen);

    // downscore withdraws the category's points; 5 - 3 = 2 is below the threshold 3
    alert d = sample();
    CHECK_FALSE(b.apply(d, baseline_mode::downscore, cfg));
    CHECK(d.score == 2);
    CHECK(sum(d) == d.score);
    CHECK(d.breakdown.back() == score_part{"baseline: seen while learning", -3});
    // with more lineage points it stays an alert, at a lower severity
    alert d2 = sample();
    d2.breakdown.push_back({"suspicious grandparent: bash", 2});
    d2.score = 7;
    CHECK(b.apply(d2, baseline_mode::downscore, cfg));
    CHECK(d2.score == 4);
    CHECK(sum(d2) == 4);
    CHECK(d2.severity == severity::medium);
    CHECK(to_json(d2)["baseline"] == "seen");

    alert n = sample("203.0.113.5", 443);
    CHECK(b.apply(n, baseline_mode::suppress, cfg));
    CHECK(n.baseline == baseline_verdict::new_behaviour);
    CHECK(n.score == 5);
    CHECK(n.breakdown.size() == 2);
    CHECK(to_json(n)["baseline"] == "new");

    alert c = sample();
    c.process.sha256 = c.reader.sha256 = sha_b;
    CHECK(b.apply(c, baseline_mode::suppress, cfg));
    CHECK(c.baseline == baseline_verdict::changed_binary);
    CHECK(c.score == 5);
    CHECK(sum(c) == 5);
    const json j = to_json(c);
    CHECK(j["baseline"] == "changed binary");
    CHECK(j["reasons"].back().get<std::string>().rfind("baseline: /usr/bin/curl changed (sha256 bbbb", 0) == 0);
    CHECK(render_text(c).find("baseline : changed binary") != std::string::npos);

    // no baseline applied: no field at all
    CHECK_FALSE(to_json(sample()).contains("baseline"));
}

TEST_CASE("bounded: a full baseline adds nothing new, but still counts known keys", "[baseline]") {
    baseline b(2);
    CHECK(b.learn(sample("127.0.0.1", 1)) == learn_outcome::added);
    CHECK(b.learn(sample("127.0.0.1", 2)) == learn_outcome::added);
    CHECK(b.learn(sample("127.0.0.1", 3)) == learn_outcome::dropped);
    CHECK(b.learn(sample("127.0.0.1", 1)) == learn_outcome::counted);
    CHECK(b.size() == 2);
    CHECK(b.dropped() == 1);
    CHECK(b.check(sample("127.0.0.1", 3)).verdict == baseline_verdict::new_behaviour);
    CHECK(baseline(0).max_entries() == 1);
}

TEST_CASE("merge: union, counts add, a relearned binary voids its other hashes", "[baseline]") {
    baseline old;
    REQUIRE(old.learn(sample()) == learn_outcome::added);
    alert py = sample("10.0.0.5", 5432);
    py.process = py.reader = {300, "python3", "/usr/bin/python3.11", sha_c};
    REQUIRE(old.learn(py) == learn_outcome::added);

    baseline fresh;
    REQUIRE(fresh.learn(sample()) == learn_outcome::added);
    REQUIRE(fresh.learn(sample("127.0.0.1", 9090)) == learn_outcome::added);
    CHECK(old.merge(fresh) == 0);
    CHECK(old.size() == 3);
    CHECK(old.entries().at(baseline_key_of(sample())) == 2);

    // curl was upgraded (sha_b) and relearned: its sha_a entries go, python's stay
    baseline upgraded;
    alert c = sample();
    c.process.sha256 = c.reader.sha256 = sha_b;
    REQUIRE(upgraded.learn(c) == learn_outcome::added);
    CHECK(old.merge(upgraded) == 2);
    CHECK(old.size() == 2);
    CHECK(old.check(c).verdict == baseline_verdict::seen);
    CHECK(old.check(sample()).verdict == baseline_verdict::changed_binary);
    CHECK(old.check(py).verdict == baseline_verdict::seen);
    REQUIRE(old.hashes_of("/usr/bin/curl") != nullptr);
    CHECK(*old.hashes_of("/usr/bin/curl") == std::set<std::string>{sha_b});

    // merging into a full baseline drops the excess
    baseline small(1);
    CHECK(small.merge(old) == 0);
    CHECK(small.size() == 1);
    CHECK(small.dropped() == 1);
}

TEST_CASE("JSON round trip", "[baseline]") {
    baseline b;
    REQUIRE(b.learn(sample()) == learn_outcome::added);
    REQUIRE(b.learn(sample()) == learn_outcome::counted);
    alert u = sample("fd00::7", 53);
    u.destination.protocol = ip_proto::udp;
    u.reader = {201, "cat", "/usr/bin/cat", sha_c};
    u.file.category = "ssh key exfiltration";
    REQUIRE(b.learn(u) == learn_outcome::added);

    const json j = to_json(b);
    CHECK(j["version"] == 1);
    REQUIRE(j["entries"].size() == 2);
    auto back = parse_baseline_text(j.dump());
    REQUIRE(back.has_value());
    CHECK(back->entries() == b.entries());
    CHECK(to_json(*back) == j);
    CHECK(back->check(u).verdict == baseline_verdict::seen);
    CHECK(back->check(sample()).verdict == baseline_verdict::seen);

    // the literal format, so a change of it is a conscious one
    auto lit = parse_baseline_text(R"({"version": 1, "entries": [)" + entry() + "]}");
    REQUIRE(lit.has_value());
    REQUIRE(lit->size() == 1);
    CHECK(lit->entries().at(baseline_key_of(sample())) == 2);
    CHECK(parse_baseline_text(R"({"version": 1, "entries": []})").has_value());
}

TEST_CASE("JSON errors name the field", "[baseline]") {
    using Catch::Matchers::Contains;
    using Catch::Matchers::StartsWith;
    CHECK_THAT(error_of(""), StartsWith("JSON parse error"));
    CHECK_THAT(error_of("{\"version\": 1, \"entries\": [}"), StartsWith("JSON parse error"));
    CHECK_THAT(error_of("[]"), StartsWith("baseline: expected a JSON object"));
    CHECK_THAT(error_of(R"({"entries": []})"), StartsWith("version: missing"));
    CHECK_THAT(error_of(R"({"version": 2, "entries": []})"),
               StartsWith("version: is 2; this barbwire reads baseline version 1 only"));
    CHECK_THAT(error_of(R"({"version": "1", "entries": []})"), StartsWith("version: expected the integer 1"));
    CHECK_THAT(error_of(R"({"version": 1})"), StartsWith("entries: missing"));
    CHECK_THAT(error_of(R"({"version": 1, "entries": {}})"), StartsWith("entries: expected a list"));
    CHECK_THAT(error_of(R"({"version": 1, "entries": [], "entires": []})"),
               StartsWith("entires: unknown key (did you mean entries?)"));
    CHECK_THAT(error_of(R"({"version": 1, "version": 1, "entries": []})"), Contains("duplicate key"));
    const auto bad = [](std::string_view override_) {
        return error_of(R"({"version": 1, "entries": [)" + entry() + ", " + entry(override_) + "]}");
    };
    CHECK_THAT(bad(R"(, "sha256": "ABC")"), Contains("duplicate key"));
    CHECK_THAT(error_of(R"({"version": 1, "entries": [)" + entry() + ", " + entry() + "]}"),
               StartsWith("entries[1]: repeats an earlier entry"));
    const auto one = [](std::string_view body) { return error_of(R"({"version": 1, "entries": [)" + std::string(body) + "]}"); };
    CHECK_THAT(one("3"), StartsWith("entries[0]: expected a mapping"));
    CHECK_THAT(one(R"({"exe": "/usr/bin/curl"})"), StartsWith("entries[0].sha256: missing"));
    CHECK_THAT(one(R"({"exe": "curl", "sha256": ")" + sha_a + R"("})"),
               StartsWith("entries[0].exe: is \"curl\"; expected an absolute executable path"));
    CHECK_THAT(one(R"({"exe": "/usr/bin/curl", "sha256": "abc"})"),
               StartsWith("entries[0].sha256: expected 64 lowercase hexadecimal digits"));
    std::string e = entry();
    const auto with = [&](std::string_view from, std::string_view to) {
        std::string s = e;
        const auto at = s.find(from);
        REQUIRE(at != std::string::npos);
        s.replace(at, from.size(), to);
        return one(s);
    };
    CHECK_THAT(with(R"("port": 8080)", R"("port": 65536)"),
               StartsWith("entries[0].port: expected a port from 0 to 65535"));
    // port 0: an ICMP or raw IP send, learned like any other (issue 12)
    {
        std::string zero = e;
        zero.replace(zero.find(R"("port": 8080)"), 12, R"("port": 0)");
        CHECK(parse_baseline_text(R"({"version": 1, "entries": [)" + zero + "]}").has_value());
    }
    CHECK_THAT(with(R"("port": 8080)", R"("port": 70000)"), StartsWith("entries[0].port"));
    CHECK_THAT(with(R"("port": 8080)", R"("prot": 8080)"), StartsWith("entries[0].prot: unknown key (did you mean port?)"));
    CHECK_THAT(with(R"("destination": "loopback")", R"("destination": "lan")"),
               StartsWith("entries[0].destination: expected loopback, private or public, got a string (\"lan\")"));
    CHECK_THAT(with(R"("protocol": "tcp")", R"("protocol": "sctp")"), StartsWith("entries[0].protocol: expected tcp or udp"));
    CHECK_THAT(with(R"("count": 2)", R"("count": 0)"), StartsWith("entries[0].count"));
    CHECK_THAT(with(R"("category": "credential access")", R"("category": "")"), StartsWith("entries[0].category: must not be empty"));
    CHECK_THAT(with(R"("reader_sha256": ")" + sha_a, R"("reader_sha256": ")" + std::string(64, 'A')),
               StartsWith("entries[0].reader_sha256: expected 64 lowercase"));

    // more entries than the bound
    auto over = parse_baseline_text(R"({"version": 1, "entries": [)" + entry() + "]}", 0);
    CHECK(over.has_value()); // 0 means 1
    std::string e9 = entry();
    e9.replace(e9.find("8080"), 4, "9");
    std::string two = R"({"version": 1, "entries": [)" + entry() + ", " + e9 + "]}";
    auto full = parse_baseline_text(two, 1);
    REQUIRE_FALSE(full.has_value());
    CHECK_THAT(full.error().message, StartsWith("entries: holds 2 entries, more than the 1"));
}

namespace {

event exec_ev(nanoseconds ts, pid_type pid, pid_type ppid, std::string comm, std::string exe, std::string sha) {
    exec_event e;
    e.ppid = ppid;
    e.uid = 1000;
    e.sid = 90;
    e.pgid = pid;
    e.comm = std::move(comm);
    e.exe = std::move(exe);
    e.exe_sha256 = std::move(sha);
    e.argv = {e.comm};
    return event{ts, pid, pid, false, e};
}

event open_ev(nanoseconds ts, pid_type pid, std::string path) {
    open_event o;
    o.path = std::move(path);
    o.dev = 2049;
    o.ino = 7;
    return event{ts, pid, pid, false, o};
}

event connect_ev(nanoseconds ts, pid_type pid, const char* addr, std::uint16_t port) {
    net_event n;
    n.op = net_op::connect;
    n.protocol = ip_proto::tcp;
    n.addr = ip(addr);
    n.port = port;
    return event{ts, pid, pid, false, n};
}

// bash (or `parent_exe`, pid 100) runs `tool` (pid 200, hash `sha`): it reads `path` and connects.
std::vector<event> story(nanoseconds t0, const std::string& sha, const char* path, const char* addr,
                         std::uint16_t port, const char* parent_exe = "/usr/bin/bash") {
    return {exec_ev(t0, 100, 90, "parent", parent_exe, sha_c), exec_ev(t0, 200, 100, "tool", "/opt/x/tool", sha),
            open_ev(t0 + 1s, 200, path), connect_ev(t0 + 2s, 200, addr, port)};
}

std::vector<alert> feed(correlator& c, const std::vector<event>& evs) {
    std::vector<alert> out;
    for (const auto& e : evs)
        if (auto a = c.process(e)) out.push_back(*a);
    return out;
}

} // namespace

// Rules of the test's own, so changes of the built-in rules do not move these scores.
config rules() {
    auto c = parse_config_json(R"({"window_duration": 5, "alert_threshold": 3,
        "suspicious_files": [{"category": "credential access", "base_score": 3, "patterns": ["/etc/shadow"]},
                             {"category": "staging area", "base_score": 1, "patterns": ["/tmp/"]}],
        "suspicious_parents": [{"exe": "/usr/bin/bash", "modifier": 2}]})");
    REQUIRE(c.has_value());
    return *c;
}

TEST_CASE("learning with threshold 0 sees correlations below the alert threshold", "[baseline][correlator]") {
    config learn_cfg = rules();
    learn_cfg.alert_threshold = 0;
    correlator learner(learn_cfg);
    correlator plain(rules());
    baseline b;
    // /tmp/ (1) under cron (no rule) scores 1: learned, but never an alert
    const auto low = story(0s, sha_a, "/tmp/cache", "10.0.0.1", 5432, "/usr/sbin/cron");
    CHECK(feed(plain, low).empty());
    for (const alert& a : feed(learner, low)) (void)b.learn(a);
    for (const alert& a : feed(learner, story(10s, sha_a, "/etc/shadow", "127.0.0.1", 8080))) (void)b.learn(a);
    REQUIRE(b.size() == 2);

    const config cfg = rules();
    // the same behaviour: an alert without a baseline, suppressed with it
    correlator live(cfg);
    auto seen = feed(live, story(100s, sha_a, "/etc/shadow", "127.0.0.1", 8080));
    REQUIRE(seen.size() == 1);
    CHECK_FALSE(b.apply(seen[0], baseline_mode::suppress, cfg));
    // another destination class: new
    correlator live2(cfg);
    auto fresh = feed(live2, story(100s, sha_a, "/etc/shadow", "203.0.113.5", 443));
    REQUIRE(fresh.size() == 1);
    CHECK(b.apply(fresh[0], baseline_mode::suppress, cfg));
    CHECK(fresh[0].baseline == baseline_verdict::new_behaviour);
    // the same behaviour by a rebuilt tool: changed binary
    correlator live3(cfg);
    auto changed = feed(live3, story(100s, sha_b, "/etc/shadow", "127.0.0.1", 8080));
    REQUIRE(changed.size() == 1);
    CHECK(b.apply(changed[0], baseline_mode::suppress, cfg));
    CHECK(changed[0].baseline == baseline_verdict::changed_binary);
    CHECK(changed[0].score == sum(changed[0]));
}

TEST_CASE("the correlator applies the baseline before rate limiting", "[baseline][correlator]") {
    const config cfg = rules();
    REQUIRE(cfg.rate_limit_period.count() > 0);
    correlator learner(cfg);
    baseline b;
    for (const alert& a : feed(learner, story(0s, sha_a, "/etc/shadow", "127.0.0.1", 8080))) (void)b.learn(a);
    REQUIRE(b.size() == 1);

    correlator live(cfg);
    live.set_baseline(b, baseline_mode::suppress);
    REQUIRE(live.applied_baseline() != nullptr);
    // the learned correlation, then a retry loop of it: never an alert, and no
    // incident is opened, so no rate-limit summary can follow
    CHECK(feed(live, story(100s, sha_a, "/etc/shadow", "127.0.0.1", 8080)).empty());
    for (int i = 0; i < 20; ++i) CHECK_FALSE(live.process(connect_ev(102s + i * 100ms, 200, "127.0.0.1", 8080)));
    CHECK(live.stats().suppressed_baseline == 21);
    CHECK(live.stats().baseline_seen == 21);
    CHECK(live.stats().incidents_opened == 0);
    CHECK(live.stats().suppressed_rate_limit == 0);
    live.flush_incidents();
    CHECK(live.drain_summaries().empty());

    // a new destination class alerts (verdict new) and is rate limited as usual
    auto fresh = live.process(connect_ev(103s, 200, "203.0.113.5", 443));
    REQUIRE(fresh);
    CHECK(fresh->baseline == baseline_verdict::new_behaviour);
    CHECK(live.stats().baseline_new == 1);
    CHECK(to_json(*fresh)["baseline"] == "new");
    CHECK_FALSE(live.process(connect_ev(103500ms, 200, "203.0.113.5", 443)));
    CHECK(live.stats().suppressed_rate_limit == 1);

    // a reload keeps the baseline
    live.reload(cfg);
    CHECK(feed(live, story(200s, sha_a, "/etc/shadow", "127.0.0.1", 8080)).empty());
    CHECK(live.stats().suppressed_baseline == 22);

    // without a baseline the same events alert, with no verdict
    correlator bare(cfg);
    auto plain = feed(bare, story(100s, sha_a, "/etc/shadow", "127.0.0.1", 8080));
    REQUIRE(plain.size() == 1);
    CHECK(plain[0].baseline == baseline_verdict::none);
    CHECK_FALSE(to_json(plain[0]).contains("baseline"));
}

TEST_CASE("the correlator down-scores a seen correlation and reports a changed binary", "[baseline][correlator]") {
    const config cfg = rules();
    correlator learner(cfg);
    baseline b;
    for (const alert& a : feed(learner, story(0s, sha_a, "/etc/shadow", "127.0.0.1", 8080))) (void)b.learn(a);
    REQUIRE(b.size() == 1);

    // downscore: shadow 3 + suspicious parent bash 2 = 5; minus 3 = 2 < 3: quieted
    correlator down(cfg);
    down.set_baseline(b, baseline_mode::downscore);
    CHECK(feed(down, story(100s, sha_a, "/etc/shadow", "127.0.0.1", 8080)).empty());
    CHECK(down.stats().suppressed_baseline == 1);
    CHECK(down.stats().incidents_opened == 0);

    // with the threshold at 2 it stays an alert, down-scored, its breakdown adding up
    config low = cfg;
    low.alert_threshold = 2;
    correlator down2(low);
    down2.set_baseline(b, baseline_mode::downscore);
    auto d = feed(down2, story(100s, sha_a, "/etc/shadow", "127.0.0.1", 8080));
    REQUIRE(d.size() == 1);
    CHECK(d[0].score == 2);
    CHECK(sum(d[0]) == 2);
    CHECK(d[0].breakdown.back() == score_part{std::string(baseline::seen_reason), -3});
    CHECK(d[0].severity == low.classify(2));
    CHECK(d[0].baseline == baseline_verdict::seen);

    // the same behaviour by a rebuilt tool: alerted at full score, with the reason
    correlator live(cfg);
    live.set_baseline(b, baseline_mode::suppress);
    auto c = feed(live, story(100s, sha_b, "/etc/shadow", "127.0.0.1", 8080));
    REQUIRE(c.size() == 1);
    CHECK(c[0].baseline == baseline_verdict::changed_binary);
    CHECK(c[0].score == 5);
    CHECK(sum(c[0]) == 5);
    CHECK(c[0].breakdown.back().points == 0);
    CHECK(c[0].breakdown.back().reason.rfind("baseline: /opt/x/tool changed", 0) == 0);
    CHECK(live.stats().baseline_changed == 1);
}
