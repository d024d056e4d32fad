#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <barbwire/rules.hpp>

using namespace barbwire;

namespace {

ip_address ip(const char* text) {
    auto a = ip_address::parse(text);
    REQUIRE(a.has_value());
    return *a;
}

ip_network net(const char* text, std::uint8_t prefix) { return ip_network{ip(text), prefix}; }

config seed_like() {
    config c;
    c.suspicious_files = {
        {"credential access", 3, {"/etc/passwd", "/etc/shadow"}},
        {"ssh key exfiltration", 3, {".ssh/id_rsa", ".ssh/id_ed25519", ".ssh/id_ecdsa"}},
        {"ssh recon", 1, {".ssh/known_hosts", ".ssh/authorized_keys"}},
        {"dns recon", 1, {"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf"}},
        {"process memory access", 2, {"/proc/"}},
        {"staging area", 2, {"/tmp/", "/dev/shm/"}},
    };
    c.suspicious_parents = {{process_field::comm, "bash", 2}, {process_field::comm, "sshd", 3},
                            {process_field::exe, "/usr/bin/bash", 5}, {process_field::comm, "python", 1}};
    c.legit_parents = {{process_field::comm, "systemd", -2}, {process_field::exe, "/usr/sbin/cron", -1}};
    c.allow_ips = {net("8.8.8.8", 32), net("10.0.0.0", 8), net("192.168.1.0", 24), net("2001:db8::", 32),
                   net("2606:4700::1111", 128)};
    c.allow_ports = {53, 123};
    return c;
}

} // namespace

TEST_CASE("a path gets the category of the pattern it contains", "[rules]") {
    const rule_set r(seed_like());
    auto m = r.match_file("/etc/shadow");
    REQUIRE(m);
    CHECK(m->category == 0);
    CHECK(m->pattern == 1);
    CHECK(m->base_score == 3);
    CHECK(r.category_name(m->category) == "credential access");
    CHECK(r.pattern(*m) == "/etc/shadow");

    m = r.match_file("/home/alice/.ssh/id_ed25519.pub"); // substring, as in the seed
    REQUIRE(m);
    CHECK(r.category_name(m->category) == "ssh key exfiltration");
    CHECK(r.pattern(*m) == ".ssh/id_ed25519");

    CHECK_FALSE(r.match_file("/usr/lib/libc.so.6"));
    CHECK_FALSE(r.match_file(""));
    CHECK_FALSE(r.match_file("/ETC/SHADOW")); // case-sensitive
}

TEST_CASE("the highest base score wins, ties go to the first category", "[rules]") {
    const rule_set r(seed_like());
    // /tmp/ (staging, 2) and /etc/hosts (dns recon, 1) and /etc/passwd (3)
    auto m = r.match_file("/tmp/etc/hosts/etc/passwd");
    REQUIRE(m);
    CHECK(r.category_name(m->category) == "credential access");
    CHECK(r.pattern(*m) == "/etc/passwd");

    // /proc/ (process memory, 2, index 4) and /tmp/ (staging, 2, index 5): first category wins
    m = r.match_file("/proc/1/root/tmp/x");
    REQUIRE(m);
    CHECK(r.category_name(m->category) == "process memory access");

    // two patterns of one category: the first in config order is reported
    m = r.match_file("/x/.ssh/id_ecdsa/.ssh/id_rsa");
    REQUIRE(m);
    CHECK(r.pattern(*m) == ".ssh/id_rsa");
    CHECK(m->pattern == 0);
}

TEST_CASE("overlapping patterns are all found (failure links)", "[rules]") {
    config c;
    c.suspicious_files = {{"low", 1, {"abcd"}}, {"high", 9, {"bc"}}, {"mid", 5, {"cde"}}};
    const rule_set r(c);
    auto m = r.match_file("xabcdex");
    REQUIRE(m);
    CHECK(r.category_name(m->category) == "high");
    m = r.match_file("abcxcde");
    REQUIRE(m);
    CHECK(r.category_name(m->category) == "high");
    m = r.match_file("xxcde");
    REQUIRE(m);
    CHECK(r.category_name(m->category) == "mid");
    m = r.match_file("abcd");
    REQUIRE(m);
    CHECK(r.category_name(m->category) == "high");
    CHECK_FALSE(r.match_file("abdc"));
}

TEST_CASE("an empty pattern matches every path; no patterns match nothing", "[rules]") {
    config c;
    c.suspicious_files = {{"everything", 1, {""}}, {"keys", 4, {"key"}}};
    const rule_set r(c);
    REQUIRE(r.match_file("/a"));
    CHECK(r.category_name(r.match_file("/a")->category) == "everything");
    CHECK(r.category_name(r.match_file("/key")->category) == "keys");

    const rule_set none(config{});
    CHECK_FALSE(none.match_file("/etc/shadow"));
}

TEST_CASE("the automaton agrees with a naive substring search", "[rules]") {
    config c;
    c.suspicious_files = {{"a", 2, {"aab", "ba"}}, {"b", 3, {"abab", "bbb"}}, {"c", 2, {"b\xff", "ca"}},
                          {"d", 1, {"a"}}};
    const rule_set r(c);
    const auto naive = [&](const std::string& s) -> std::optional<std::pair<std::uint32_t, std::uint32_t>> {
        std::optional<std::pair<std::uint32_t, std::uint32_t>> best;
        int best_score = 0;
        for (std::uint32_t ci = 0; ci < c.suspicious_files.size(); ++ci) {
            const auto& cat = c.suspicious_files[ci];
            for (std::uint32_t pi = 0; pi < cat.patterns.size(); ++pi) {
                if (s.find(cat.patterns[pi]) == std::string::npos) continue;
                if (!best || cat.base_score > best_score) {
                    best = {ci, pi};
                    best_score = cat.base_score;
                }
                break; // first pattern of the category
            }
        }
        return best;
    };
    std::mt19937 rng(42);
    const std::string alphabet = std::string("abc/") + '\xff';
    for (int i = 0; i < 20000; ++i) {
        std::string s(static_cast<std::size_t>(rng() % 12), 'x');
        for (auto& ch : s) ch = alphabet[rng() % alphabet.size()];
        const auto expect = naive(s);
        const auto got = r.match_file(s);
        REQUIRE(got.has_value() == expect.has_value());
        if (got) {
            REQUIRE(got->category == expect->first);
            REQUIRE(got->pattern == expect->second);
        }
    }
}

TEST_CASE("parent rules: comm and exe, first match per list, both lists apply", "[rules]") {
    const rule_set r(seed_like());
    auto m = r.match_parent("bash", "/bin/bash");
    REQUIRE(m.suspicious);
    CHECK(m.suspicious->modifier == 2);
    CHECK(m.suspicious->value == "bash");
    CHECK(m.suspicious->rule == 0);
    CHECK_FALSE(m.legit);
    CHECK(m.total() == 2);

    // comm rule (index 0) and exe rule (index 2) both match: the first applies once
    m = r.match_parent("bash", "/usr/bin/bash");
    REQUIRE(m.suspicious);
    CHECK(m.suspicious->rule == 0);
    CHECK(m.total() == 2);

    // renamed bash: the name rule matches through the exe's name and, being
    // first, applies once (the exe rule for the same binary does not add)
    m = r.match_parent("notbash", "/usr/bin/bash");
    REQUIRE(m.suspicious);
    CHECK(m.suspicious->value == "bash");
    CHECK(m.total() == 2);

    // a suspicious comm and a legit exe: both modifiers
    m = r.match_parent("python", "/usr/sbin/cron");
    REQUIRE(m.suspicious);
    REQUIRE(m.legit);
    CHECK(m.suspicious->modifier == 1);
    CHECK(m.legit->modifier == -1);
    CHECK(m.legit->kind == parent_kind::legit);
    CHECK(m.total() == 0);

    m = r.match_parent("systemd", "/usr/lib/systemd/systemd");
    CHECK_FALSE(m.suspicious);
    REQUIRE(m.legit);
    CHECK(m.total() == -2);

    CHECK(r.match_parent("bas", "").empty());     // exact, not prefix
    CHECK(r.match_parent("", "/usr/bin/bas").empty()); // nor through the exe's name
    // a fake systemd (prctl, or a copy outside the system directories) gets no legit modifier
    CHECK_FALSE(r.match_parent("systemd", "/usr/bin/python3.11").legit);
    CHECK_FALSE(r.match_parent("systemd", "/tmp/x/systemd").legit);
    CHECK_FALSE(r.match_parent("systemd", "").legit);
    CHECK(r.match_parent("Bash", "").empty());    // case-sensitive
}

TEST_CASE("allowlist by IPv4, CIDR, IPv6 and port", "[rules]") {
    const rule_set r(seed_like());
    CHECK(r.ip_allowed(ip("8.8.8.8")));
    CHECK_FALSE(r.ip_allowed(ip("8.8.8.9")));
    CHECK(r.ip_allowed(ip("10.0.0.0")));
    CHECK(r.ip_allowed(ip("10.255.255.255")));
    CHECK_FALSE(r.ip_allowed(ip("11.0.0.0")));
    CHECK_FALSE(r.ip_allowed(ip("9.255.255.255")));
    CHECK(r.ip_allowed(ip("192.168.1.77")));
    CHECK_FALSE(r.ip_allowed(ip("192.168.2.1")));
    CHECK(r.ip_allowed(ip("2001:db8:ffff::1")));
    CHECK_FALSE(r.ip_allowed(ip("2001:db9::1")));
    CHECK(r.ip_allowed(ip("2606:4700::1111")));
    CHECK_FALSE(r.ip_allowed(ip("2606:4700::1112")));
    // IPv4-mapped IPv6 is checked against the IPv4 entries
    CHECK(r.ip_allowed(ip("::ffff:8.8.8.8")));
    CHECK(r.ip_allowed(ip("::ffff:10.1.2.3")));
    CHECK_FALSE(r.ip_allowed(ip("::ffff:8.8.4.4")));
    // an IPv4 entry does not match an IPv6 address with the same leading bytes
    CHECK_FALSE(r.ip_allowed(ip("808:808::")));

    CHECK(r.port_allowed(53));
    CHECK(r.port_allowed(123));
    CHECK_FALSE(r.port_allowed(443));
    CHECK(r.allowlisted(ip("203.0.113.5"), 53));
    CHECK(r.allowlisted(ip("8.8.8.8"), 443));
    CHECK_FALSE(r.allowlisted(ip("203.0.113.5"), 443));
}

TEST_CASE("allowlist prefix edge cases", "[rules]") {
    config c;
    c.allow_ips = {net("0.0.0.0", 0)};
    CHECK(rule_set(c).ip_allowed(ip("203.0.113.5")));
    CHECK_FALSE(rule_set(c).ip_allowed(ip("::1")));

    c.allow_ips = {net("2001:db8::", 64), net("fe80::", 10), net("203.0.113.0", 99)}; // 99 clamps to 32
    const rule_set r(c);
    CHECK(r.ip_allowed(ip("2001:db8::ffff:1")));
    CHECK_FALSE(r.ip_allowed(ip("2001:db8:0:1::1")));
    CHECK(r.ip_allowed(ip("febf::1")));
    CHECK_FALSE(r.ip_allowed(ip("fec0::1")));
    CHECK(r.ip_allowed(ip("203.0.113.0")));
    CHECK_FALSE(r.ip_allowed(ip("203.0.113.1")));

    c.allow_ips = {net("2001:db8::1:0:0:1", 96)};
    const rule_set r96(c);
    CHECK(r96.ip_allowed(ip("2001:db8::1:0:ffff:ffff")));
    CHECK_FALSE(r96.ip_allowed(ip("2001:db8::2:0:0:1")));

    const rule_set empty(config{});
    CHECK_FALSE(empty.allowlisted(ip("8.8.8.8"), 53));
}

TEST_CASE("a rule_set keeps its config and survives copies and moves", "[rules]") {
    rule_set a(seed_like());
    rule_set b = a;
    rule_set c = std::move(a);
    CHECK(b.source().suspicious_files.size() == 6);
    CHECK(c.match_file("/etc/passwd")->base_score == 3);
    CHECK(b.match_parent("sshd", "").total() == 3);
    CHECK(c.pattern(*c.match_file("/dev/shm/x")) == "/dev/shm/");
}

// config.hpp keeps the plain, linear statement of each rule (file_category::
// matches, parent_rule::matches, config::allowlisted); rule_set is the compiled
// form the correlator uses. They must never disagree.
TEST_CASE("rule_set agrees with the config's reference matchers", "[rules]") {
    config c = seed_like();
    c.allow_ips = {net("8.8.8.8", 32), net("10.0.0.0", 8), net("192.168.4.0", 22), net("2001:db8::", 32),
                   net("fe80::1", 128)};
    c.allow_ports = {53, 123};
    c.suspicious_parents.push_back({process_field::exe, "/usr/bin/python3.11", 1});
    const rule_set rs(c);

    std::mt19937_64 rng(7);
    const std::vector<std::string> pieces = {"/etc/", "passwd", "shadow", "/home/u/", ".ssh/", "id_rsa", "id_ed25519",
                                             "known_hosts", "/proc/", "/tmp/", "/dev/shm/", "x", "/", "hosts", "resolv.conf"};
    for (int i = 0; i < 20000; ++i) {
        std::string path;
        for (int k = static_cast<int>(rng() % 5); k >= 0; --k) path += pieces[rng() % pieces.size()];
        int ref_best = -1;
        for (const auto& cat : c.suspicious_files)
            if (cat.matches(path) && cat.base_score > ref_best) ref_best = cat.base_score;
        const auto m = rs.match_file(path);
        INFO(path);
        REQUIRE(m.has_value() == (ref_best >= 0));
        if (m) REQUIRE(m->base_score == ref_best);
    }

    for (int i = 0; i < 20000; ++i) {
        ip_address a;
        const int shape = static_cast<int>(rng() % 4);
        if (shape == 0) { // IPv4 near the allowlisted networks
            a.family = AF_INET;
            const std::uint8_t firsts[] = {8, 10, 192, 11};
            a.bytes[0] = firsts[rng() % 4];
            a.bytes[1] = static_cast<std::uint8_t>(rng() % 3 == 0 ? 8 : (rng() % 3 == 0 ? 168 : rng()));
            a.bytes[2] = static_cast<std::uint8_t>(rng() % 2 ? 4 + rng() % 5 : rng());
            a.bytes[3] = static_cast<std::uint8_t>(rng() % 2 ? 8 : rng());
        } else if (shape == 1) { // IPv4-mapped IPv6
            a.family = AF_INET6;
            a.bytes[10] = a.bytes[11] = 0xff;
            a.bytes[12] = static_cast<std::uint8_t>(rng() % 2 ? 10 : 8);
            a.bytes[13] = a.bytes[14] = 8;
            a.bytes[15] = static_cast<std::uint8_t>(rng() % 2 ? 8 : rng());
        } else { // IPv6 near 2001:db8::/32 and fe80::1
            a.family = AF_INET6;
            for (auto& b : a.bytes) b = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : 0);
            if (rng() % 2) {
                a.bytes[0] = 0x20, a.bytes[1] = 0x01, a.bytes[2] = 0x0d, a.bytes[3] = static_cast<std::uint8_t>(rng() % 2 ? 0xb8 : rng());
            } else {
                a.bytes[0] = 0xfe, a.bytes[1] = 0x80, a.bytes[15] = static_cast<std::uint8_t>(rng() % 2 ? 1 : rng());
            }
        }
        const auto port = static_cast<std::uint16_t>(rng() % 3 == 0 ? (rng() % 2 ? 53 : 123) : rng());
        INFO(a.to_string() << " port " << port);
        REQUIRE(rs.allowlisted(a, port) == c.allowlisted(a, port));
    }

    const char* comms[] = {"bash", "sshd", "systemd", "python3", "zsh", "curl"};
    const char* exes[] = {"/usr/bin/bash", "/usr/bin/python3.11", "/usr/sbin/sshd", "/bin/true"};
    for (const char* comm : comms) {
        for (const char* exe : exes) {
            int ref = 0;
            for (const auto* list : {&c.suspicious_parents, &c.legit_parents}) {
                for (const auto& r : *list) {
                    if (r.matches(comm, exe)) {
                        ref += r.modifier;
                        break; // the first matching rule of each list applies
                    }
                }
            }
            INFO(comm << " " << exe);
            REQUIRE(rs.match_parent(comm, exe).total() == ref);
        }
    }
}

// ---------------------------------------------------------------------------
// Context categories and trusted binaries (issue 5).

TEST_CASE("context categories rank after every category that counts, whatever the scores", "[rules][context]") {
    config c;
    c.suspicious_files = {{"public", 9, {"/etc/passwd", "/etc/hosts"}, true},
                          {"recon", 1, {"history"}},
                          {"more public", 0, {"/etc/"}, true}};
    const rule_set r(c);
    auto m = r.match_file("/etc/passwd");
    REQUIRE(m);
    CHECK(m->context);
    CHECK(r.category_name(m->category) == "public"); // among context categories: the higher score
    m = r.match_file("/etc/passwd/history"); // evidence (1) beats context (9)
    REQUIRE(m);
    CHECK_FALSE(m->context);
    CHECK(r.category_name(m->category) == "recon");
    m = r.match_file("/etc/motd");
    REQUIRE(m);
    CHECK(r.category_name(m->category) == "more public");
    CHECK_FALSE(r.match_file("/usr/bin/x"));
}

namespace {

// A program the sensor verified: the host's file at its path, from a package.
exe_facts V(std::string_view exe, std::string_view sha256, std::optional<std::uint32_t> uid,
            std::optional<std::uint32_t> mode) {
    return exe_facts{exe, sha256, uid, mode, true, "pkg", 0};
}

// The plain statement of trust, straight from config.hpp.
bool reference_trusted(const config& c, const exe_facts& w, const std::string& category) {
    return std::any_of(c.trusted_binaries.begin(), c.trusted_binaries.end(), [&](const trusted_binary& t) {
        return t.matches(w) && t.covers(category);
    });
}

// The plain statement of match_file_for: the best category (evidence before
// context, then base score, then config order) the process is not trusted for.
std::optional<std::pair<std::string, bool>> reference_match_for(const config& c, const std::string& path,
                                                                 const exe_facts& w, bool& skipped) {
    skipped = false;
    const file_category* best = nullptr;
    bool first = true;
    const auto better = [](const file_category& a, const file_category* b) {
        if (b == nullptr) return true;
        if (a.context != b->context) return !a.context;
        return a.base_score > b->base_score;
    };
    // rank every matching category
    std::vector<const file_category*> ranked;
    for (const auto& cat : c.suspicious_files)
        if (cat.matches(path)) ranked.push_back(&cat);
    std::stable_sort(ranked.begin(), ranked.end(), [&](const file_category* a, const file_category* b) {
        return better(*a, b) && !better(*b, a);
    });
    for (const file_category* cat : ranked) {
        if (!cat->context && reference_trusted(c, w, cat->name)) {
            if (first) skipped = true;
            first = false;
            continue;
        }
        // after a skip, the remaining ranked categories are searched as they come
        best = cat;
        break;
    }
    if (best == nullptr) return std::nullopt;
    return std::make_pair(best->name, best->context);
}

} // namespace

TEST_CASE("trust: rule_set agrees with trusted_binary::matches and ::covers", "[rules][trust]") {
    config c;
    c.suspicious_files = {{"keys", 5, {"id_rsa", "key"}},
                          {"hashes", 5, {"shadow"}},
                          {"netrc", 4, {"netrc"}},
                          {"history", 1, {"hist"}},
                          {"public", 0, {"passwd", "known"}, true}};
    const std::string h1(64, 'a'), h2(64, 'b');
    c.trusted_binaries = {{"/usr/bin/ssh", "", {"keys"}},
                          {"/usr/bin/sudo", "", {"hashes", "history"}},
                          {"", h1, {"netrc"}},
                          {"/opt/agent", h2, {}},
                          {"/usr/bin/all", "", {}}};
    const rule_set rs(c);
    std::mt19937_64 rng(11);
    const std::vector<std::string> exes = {"/usr/bin/ssh", "/usr/bin/sudo", "/opt/agent", "/usr/bin/all",
                                           "/tmp/ssh", "", "/usr/bin/cat"};
    const std::vector<std::string> hashes = {"", h1, h2, std::string(64, 'c')};
    const std::vector<std::optional<std::uint32_t>> uids = {std::nullopt, 0u, 1000u};
    const std::vector<std::optional<std::uint32_t>> modes = {std::nullopt, 0755u, 0775u, 0757u, 04755u, 0700u};
    const std::vector<std::optional<bool>> host_files = {std::nullopt, true, true, false};
    const std::vector<std::string> packages = {"", "pkg", "pkg"};
    const std::vector<std::string> pieces = {"/home/u/", ".ssh/", "id_rsa", "key", "shadow", "netrc", "hist",
                                             "passwd", "known", "/x"};
    for (int i = 0; i < 20000; ++i) {
        exe_facts w{exes[rng() % exes.size()], hashes[rng() % hashes.size()], uids[rng() % uids.size()],
                    modes[rng() % modes.size()], host_files[rng() % host_files.size()],
                    packages[rng() % packages.size()], 0};
        for (std::uint32_t cat = 0; cat < c.suspicious_files.size(); ++cat) {
            INFO(w.exe << " " << w.sha256 << " cat " << cat);
            REQUIRE(rs.trusted(w, cat) == reference_trusted(c, w, c.suspicious_files[cat].name));
        }
        std::string path;
        for (int k = static_cast<int>(rng() % 4); k >= 0; --k) path += pieces[rng() % pieces.size()];
        bool skipped = false, ref_skipped = false;
        const auto got = rs.match_file_for(path, w, skipped);
        const auto ref = reference_match_for(c, path, w, ref_skipped);
        INFO(path << " by " << w.exe);
        REQUIRE(got.has_value() == ref.has_value());
        REQUIRE(skipped == ref_skipped);
        if (got) {
            REQUIRE(std::string(rs.category_name(got->category)) == ref->first);
            REQUIRE(got->context == ref->second);
        }
    }
}

TEST_CASE("trust: path-only entries need root and no group/other write; hashes must match", "[rules][trust]") {
    config c;
    c.suspicious_files = {{"keys", 5, {".ssh/id_rsa"}}, {"hashes", 5, {"/etc/shadow"}}};
    const std::string h(64, 'd');
    c.trusted_binaries = {{"/usr/bin/ssh", "", {"keys"}}, {"", h, {}}};
    const rule_set rs(c);
    CHECK(rs.has_trust());
    CHECK_FALSE(rule_set(config{}).has_trust());
    CHECK(rs.trusted(V("/usr/bin/ssh", "", 0u, 0755u), 0));
    CHECK_FALSE(rs.trusted(V("/usr/bin/ssh", "", 0u, 0755u), 1));          // category-limited
    CHECK_FALSE(rs.trusted(V("/usr/bin/ssh", "", 1000u, 0755u), 0));       // a user's copy under the same path
    CHECK_FALSE(rs.trusted(V("/usr/bin/ssh", "", 0u, 0777u), 0));          // writable by others
    CHECK_FALSE(rs.trusted(V("/usr/bin/ssh", "", 0u, 0775u), 0));          // writable by the group
    CHECK_FALSE(rs.trusted(V("/usr/bin/ssh", "", std::nullopt, 0755u), 0)); // unknown owner (an old trace)
    CHECK_FALSE(rs.trusted(V("/home/u/ssh", "", 0u, 0755u), 0));           // a copy elsewhere
    {
        exe_facts bind = V("/usr/bin/ssh", "", 0u, 0755u);
        bind.host_file = false; // a bind mount over the path, or another mount namespace
        CHECK_FALSE(rs.trusted(bind, 0));
        CHECK(rs.trust_refusal(bind, 0, ip_address{}, 22) ==
              "trusted_binaries entry /usr/bin/ssh refused: not the host's file at /usr/bin/ssh (a bind mount, a "
              "copy, an overlay or another mount namespace)");
        CHECK(rs.trust_refusal(bind, 1, ip_address{}, 22).empty()); // no entry for that category
        exe_facts modified = V("/usr/bin/ssh", "", 0u, 0755u);
        modified.package = {};
        CHECK_FALSE(rs.trusted(modified, 0));
        CHECK(rs.trust_refusal(modified, 0, ip_address{}, 22).find("not verified unmodified") != std::string::npos);
        CHECK(rs.trust_refusal(V("/usr/bin/ssh", "", 0u, 0755u), 0, ip_address{}, 22).empty()); // trusted
    }
    CHECK(rs.trusted(V("/home/u/anything", h, 1000u, 0777u), 1));          // the hash is the identity
    CHECK_FALSE(rs.trusted(V("/home/u/anything", std::string(64, 'e'), 0u, 0755u), 1));
    CHECK_FALSE(rs.trusted(V("/home/u/anything", "", 0u, 0755u), 1));      // unknown hash
    bool skipped = false;
    CHECK_FALSE(rs.match_file_for("/home/u/.ssh/id_rsa", V("/usr/bin/ssh", "", 0u, 0755u), skipped));
    CHECK(skipped);
    CHECK(rs.match_file_for("/home/u/.ssh/id_rsa", V("/usr/bin/cat", "", 0u, 0755u), skipped));
    CHECK_FALSE(skipped);
    // trusted for keys only: an open that is also in another category still counts there
    const auto m = rs.match_file_for("/etc/shadow/.ssh/id_rsa", V("/usr/bin/ssh", "", 0u, 0755u), skipped);
    REQUIRE(m);
    CHECK(skipped);
    CHECK(rs.category_name(m->category) == "hashes");
}

// ---------------------------------------------------------------------------
// Issue 12: `allowlist` entries name a program (by path, trusted only when
// root-owned and not group/other-writable, or by hash) and/or destinations.

namespace {

// The documented meaning (docs/config.md, "allowlist"), written out apart
// from allow_rule's members: the seed's whitelist (address OR port, any
// program), or an entry whose every named part matches (program AND an
// address AND a port).
bool reference_allowlisted(const config& c, const ip_address& a, std::uint16_t port, const exe_facts& w) {
    for (std::uint16_t p : c.allow_ports)
        if (p == port) return true;
    for (const ip_network& n : c.allow_ips)
        if (n.contains(a)) return true;
    for (const allow_rule& r : c.allowlist) {
        bool program = true;
        if (!r.exe.empty() && w.exe != r.exe) program = false;
        if (!r.sha256.empty()) {
            if (w.sha256 != r.sha256) program = false; // an unknown (empty) hash never equals one
        } else if (!r.exe.empty()) {
            if (!w.uid || *w.uid != 0 || !w.mode || (*w.mode & 0020u) || (*w.mode & 0002u)) program = false;
            if (w.host_file != std::optional<bool>(true) || w.package.empty()) program = false;
        }
        bool address = r.ips.empty();
        for (const ip_network& n : r.ips) address = address || n.contains(a);
        bool port_ok = r.ports.empty();
        for (std::uint16_t p : r.ports) port_ok = port_ok || p == port;
        if (program && address && port_ok) return true;
    }
    return false;
}

} // namespace

TEST_CASE("allowlist: rule_set agrees with config::allowlisted on random programs, destinations and allowlists",
          "[rules][allowlist]") {
    std::mt19937_64 rng(12);
    const std::string h1(64, 'a'), h2(64, 'b');
    const std::vector<std::string> exes = {"/usr/bin/curl", "/usr/bin/wget", "/tmp/curl", "", "/opt/a"};
    const std::vector<std::string> hashes = {"", h1, h2};
    const std::vector<std::optional<std::uint32_t>> uids = {std::nullopt, 0u, 1000u};
    const std::vector<std::optional<std::uint32_t>> modes = {std::nullopt, 0755u, 0775u, 0757u, 04755u, 0700u, 0777u};
    const std::vector<ip_network> nets = {net("10.0.0.0", 8),      net("10.1.0.0", 16),    net("192.0.2.10", 32),
                                          net("2001:db8::", 32),   net("fe80::1", 128),    net("198.51.100.0", 24)};
    const std::vector<std::uint16_t> ports = {22, 53, 443, 8443, 123};
    // a reference into the pool: exe_facts holds string_views
    const auto pick = [&rng](const auto& v) -> const auto& { return v[rng() % v.size()]; };
    const auto some = [&](const auto& pool) {
        std::decay_t<decltype(pool)> out;
        for (const auto& x : pool)
            if (rng() % 3 == 0) out.push_back(x);
        return out;
    };
    const auto random_address = [&]() {
        ip_address a;
        switch (rng() % 4) {
        case 0: { // IPv4 near 10/8, 192.0.2.10, 198.51.100/24
            a.family = AF_INET;
            const std::uint8_t firsts[] = {10, 192, 198, 11};
            a.bytes[0] = firsts[rng() % 4];
            a.bytes[1] = static_cast<std::uint8_t>(rng() % 2 ? (a.bytes[0] == 10 ? 1 : (a.bytes[0] == 192 ? 0 : 51)) : rng());
            a.bytes[2] = static_cast<std::uint8_t>(rng() % 2 ? (a.bytes[0] == 192 ? 2 : 100) : rng());
            a.bytes[3] = static_cast<std::uint8_t>(rng() % 2 ? 10 : rng());
            break;
        }
        case 1: // IPv4-mapped IPv6
            a.family = AF_INET6;
            a.bytes[10] = a.bytes[11] = 0xff;
            a.bytes[12] = static_cast<std::uint8_t>(rng() % 2 ? 10 : 192);
            a.bytes[13] = static_cast<std::uint8_t>(rng() % 2 ? 1 : 0);
            a.bytes[14] = 2;
            a.bytes[15] = static_cast<std::uint8_t>(rng() % 2 ? 10 : rng());
            break;
        default: // IPv6 near 2001:db8::/32 and fe80::1
            a.family = AF_INET6;
            for (auto& b : a.bytes) b = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : 0);
            if (rng() % 2) {
                a.bytes[0] = 0x20, a.bytes[1] = 0x01, a.bytes[2] = 0x0d;
                a.bytes[3] = static_cast<std::uint8_t>(rng() % 2 ? 0xb8 : rng());
            } else {
                a.bytes[0] = 0xfe, a.bytes[1] = 0x80;
                a.bytes[15] = static_cast<std::uint8_t>(rng() % 2 ? 1 : rng());
            }
        }
        return a;
    };

    int allowed = 0, checks = 0;
    for (int round = 0; round < 400; ++round) {
        config c;
        if (rng() % 4 == 0) c.allow_ports = some(ports);
        if (rng() % 4 == 0) c.allow_ips = some(nets);
        for (int n = static_cast<int>(rng() % 5); n > 0; --n) {
            allow_rule r;
            if (rng() % 2) r.exe = pick(std::vector<std::string>{"/usr/bin/curl", "/opt/a", "/tmp/curl"});
            if (rng() % 3 == 0) r.sha256 = rng() % 2 ? h1 : h2;
            if (rng() % 2) r.ips = some(nets);
            if (rng() % 2) r.ports = some(ports);
            c.allowlist.push_back(std::move(r));
        }
        const rule_set rs(c);
        for (int i = 0; i < 250; ++i) {
            const ip_address a = random_address();
            const std::uint16_t port = rng() % 4 == 0 ? static_cast<std::uint16_t>(rng()) : pick(ports);
            const exe_facts w{pick(exes), pick(hashes), pick(uids), pick(modes),
                              rng() % 4 == 0 ? std::optional<bool>(false) : std::optional<bool>(true),
                              rng() % 4 == 0 ? std::string_view() : std::string_view("pkg"), 0};
            const bool plain = c.allowlisted(a, port, w);
            INFO("round " << round << ": " << a.to_string() << " port " << port << " exe " << w.exe << " sha "
                          << w.sha256 << " uid " << (w.uid ? std::to_string(*w.uid) : "?") << " mode "
                          << (w.mode ? std::to_string(*w.mode) : "?"));
            REQUIRE(rs.allowlisted(a, port, w) == plain);
            REQUIRE(reference_allowlisted(c, a, port, w) == plain);
            // the whitelist alone is a part of it
            if (c.allowlisted(a, port)) REQUIRE(plain);
            REQUIRE(rs.allowlisted(a, port) == c.allowlisted(a, port));
            allowed += plain;
            ++checks;
        }
    }
    // both outcomes are well represented
    CHECK(allowed > checks / 20);
    CHECK(allowed < checks - checks / 20);
}

TEST_CASE("allowlist: a program by path needs a root-owned file nobody else can write", "[rules][allowlist]") {
    config c;
    c.allowlist = {{"/usr/bin/curl", "", {net("10.0.0.0", 8)}, {443}}, {"", std::string(64, 'a'), {}, {}}};
    const rule_set rs(c);
    const ip_address in = ip("10.2.3.4");
    CHECK(rs.allowlisted(in, 443, V("/usr/bin/curl", "", 0u, 0755u)));
    CHECK(rs.allowlisted(in, 443, V("/usr/bin/curl", "", 0u, 04755u)));
    CHECK_FALSE(rs.allowlisted(in, 443, V("/usr/bin/curl", "", 1000u, 0755u)));
    CHECK_FALSE(rs.allowlisted(in, 443, V("/usr/bin/curl", "", 0u, 0775u)));
    CHECK_FALSE(rs.allowlisted(in, 443, V("/usr/bin/curl", "", 0u, 0757u)));
    CHECK_FALSE(rs.allowlisted(in, 443, V("/usr/bin/curl", "", std::nullopt, 0755u)));
    CHECK_FALSE(rs.allowlisted(in, 443, V("/home/u/curl", "", 0u, 0755u)));
    CHECK_FALSE(rs.allowlisted(in, 80, V("/usr/bin/curl", "", 0u, 0755u)));
    CHECK_FALSE(rs.allowlisted(ip("11.2.3.4"), 443, V("/usr/bin/curl", "", 0u, 0755u)));
    // by hash: any destination, wherever the binary lives, whoever owns it
    CHECK(rs.allowlisted(ip("203.0.113.5"), 4444, V("/tmp/x", std::string(64, 'a'), 1000u, 0777u)));
    CHECK_FALSE(rs.allowlisted(ip("203.0.113.5"), 4444, V("/tmp/x", "", 0u, 0755u)));
    // the two-argument form is the seed's whitelist alone
    CHECK_FALSE(rs.allowlisted(in, 443));
}
