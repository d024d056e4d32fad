// yaml.hpp: YAML text -> JSON tree with source lines; parse_config_text.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <barbwire/yaml.hpp>

using barbwire::config;
using barbwire::parse_config_text;
using barbwire::process_field;
using nlohmann::json;

namespace {

const std::string test_dir = BW_TEST_DIR;
const std::string fixture_dir = test_dir + "/config/";
const std::string shared_seed = test_dir + "/../../shared/compat/barbwire-config.yml";

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream s;
    s << in.rdbuf();
    out = s.str();
    return true;
}

std::string fixture(const std::string& name) {
    std::string text;
    INFO("fixture " << fixture_dir + name);
    REQUIRE(read_file(fixture_dir + name, text));
    return text;
}

json tree(std::string_view yaml) {
    auto r = barbwire::yaml_to_json(yaml);
    INFO("yaml: " << yaml << " error: " << (r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
    return *r;
}

std::string yaml_error(std::string_view yaml) {
    auto r = barbwire::yaml_to_json(yaml);
    INFO("yaml: " << yaml);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == barbwire::errc::invalid_config);
    CHECK(r.error().message.find('\n') == std::string::npos);
    return r.error().message;
}

std::string config_error(std::string_view text) {
    auto r = parse_config_text(text);
    INFO("text: " << text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == barbwire::errc::invalid_config);
    CHECK(r.error().message.find('\n') == std::string::npos);
    return r.error().message;
}

barbwire::ip_network net(const char* s) {
    auto n = barbwire::ip_network::parse(s);
    REQUIRE(n.has_value());
    return *n;
}

// Every value of the seed's config where it should land.
void check_seed(const config& c) {
    CHECK(c.window == std::chrono::seconds{5});
    CHECK(c.window.count() == 5'000'000'000);

    REQUIRE(c.suspicious_files.size() == 6);
    const std::pair<const char*, int> cats[] = {
        {"credential access", 3}, {"ssh key exfiltration", 3}, {"ssh recon", 1},
        {"dns recon", 1},         {"process memory access", 2}, {"staging area", 2},
    };
    for (std::size_t i = 0; i < 6; ++i) {
        CHECK(c.suspicious_files[i].name == cats[i].first);
        CHECK(c.suspicious_files[i].base_score == cats[i].second);
    }
    using v = std::vector<std::string>;
    CHECK(c.suspicious_files[0].patterns == v{"/etc/passwd", "/etc/shadow"});
    CHECK(c.suspicious_files[1].patterns == v{".ssh/id_rsa", ".ssh/id_ed25519", ".ssh/id_ecdsa"});
    CHECK(c.suspicious_files[2].patterns == v{".ssh/known_hosts", ".ssh/authorized_keys"});
    CHECK(c.suspicious_files[3].patterns == v{"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf"});
    CHECK(c.suspicious_files[4].patterns == v{"/proc/"});
    CHECK(c.suspicious_files[5].patterns == v{"/tmp/", "/dev/shm/"});

    REQUIRE(c.suspicious_parents.size() == 8);
    const std::pair<const char*, int> sus[] = {{"bash", 2}, {"sh", 2},   {"zsh", 2},    {"fish", 2},
                                               {"sshd", 3}, {"cron", 2}, {"python", 1}, {"python3", 1}};
    for (std::size_t i = 0; i < 8; ++i) {
        CHECK(c.suspicious_parents[i].field == process_field::comm);
        CHECK(c.suspicious_parents[i].value == sus[i].first);
        CHECK(c.suspicious_parents[i].modifier == sus[i].second);
    }
    REQUIRE(c.legit_parents.size() == 3);
    const char* legit[] = {"systemd", "containerd", "dockerd"};
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(c.legit_parents[i].field == process_field::comm);
        CHECK(c.legit_parents[i].value == legit[i]);
        CHECK(c.legit_parents[i].modifier == -2);
    }
    REQUIRE(c.allow_ips.size() == 4);
    CHECK(c.allow_ips[0] == net("8.8.8.8"));
    CHECK(c.allow_ips[1] == net("8.8.4.4"));
    CHECK(c.allow_ips[2] == net("1.1.1.1"));
    CHECK(c.allow_ips[3] == net("1.0.0.1"));
    CHECK(c.allow_ips[3].prefix == 32);
    CHECK(c.allow_ports == std::vector<std::uint16_t>{53});
    // The seed's file has none of issue 12's keys: no per-program allowlist,
    // the struct defaults of dns, and held and taint off (a read correlates
    // within the window only, as the seed meant). Its whitelist keeps its
    // meaning: port 53 and the four resolvers are allowlisted for every
    // program, before any dns scoring.
    CHECK(c.allowlist.empty());
    CHECK(c.dns == barbwire::dns_policy{});
    CHECK_FALSE(c.held.enabled);
    CHECK_FALSE(c.taint.enabled);
    for (const char* a : {"8.8.8.8", "1.0.0.1", "203.0.113.5"}) {
        auto addr = barbwire::ip_address::parse(a);
        REQUIRE(addr.has_value());
        CHECK(c.allowlisted(*addr, 53));
        CHECK(c.allowlisted(*addr, 53, barbwire::exe_facts{"/tmp/x", "", 1000u, 0777u, false, "", 0}));
    }
    auto google = barbwire::ip_address::parse("8.8.8.8");
    REQUIRE(google.has_value());
    CHECK(c.allowlisted(*google, 443, barbwire::exe_facts{"/tmp/x", "", std::nullopt, std::nullopt, std::nullopt, "", 0}));
    CHECK(c.severity_medium == 3);
    CHECK(c.severity_high == 5);
    CHECK(c.alert_threshold == 3);
    CHECK(c.limits == barbwire::limits{});
}

} // namespace

TEST_CASE("the seed's config loads unchanged (checked-in copy)") {
    auto c = parse_config_text(fixture("seed-barbwire-config.yml"));
    INFO((c ? "" : c.error().message));
    REQUIRE(c.has_value());
    check_seed(*c);

    // The seed's file uses none of the extensions: no context category, no
    // trusted binary, no family section (single processes, as the seed meant).
    for (const auto& f : c->suspicious_files) CHECK_FALSE(f.context);
    CHECK(c->trusted_binaries.empty());
    // The built-in rules are tuned for real hosts (docs/rules.md) and differ.
    const config d = barbwire::default_config();
    CHECK_FALSE(d == *c);
    CHECK_FALSE(d.trusted_binaries.empty());
}

TEST_CASE("the seed's config loads unchanged (shared/compat)") {
    std::string shared;
    if (!read_file(shared_seed, shared)) {
        WARN("skipped: " << shared_seed << " is absent; the checked-in copy test/config/seed-barbwire-config.yml is tested instead");
        return;
    }
    // The checked-in fixture must stay byte-identical to the shared file.
    CHECK(shared == fixture("seed-barbwire-config.yml"));
    auto c = parse_config_text(shared);
    INFO((c ? "" : c.error().message));
    REQUIRE(c.has_value());
    check_seed(*c);
}

TEST_CASE("the seed's config: JSON tree and source lines") {
    auto doc = barbwire::parse_yaml(fixture("seed-barbwire-config.yml"));
    REQUIRE(doc.has_value());
    CHECK(doc->root["window_duration"] == json(5));
    CHECK(doc->root["window_duration"].is_number_integer());
    CHECK(doc->root["suspicious_files"][1]["patterns"][2] == json(".ssh/id_ecdsa"));
    CHECK(doc->root["legit_parents"][0]["modifier"] == json(-2));
    CHECK(doc->lines.at("window_duration") == 2);
    CHECK(doc->lines.at("suspicious_files") == 4);
    CHECK(doc->lines.at("suspicious_files[1]") == 11);
    CHECK(doc->lines.at("suspicious_files[1].base_score") == 12);
    CHECK(doc->lines.at("suspicious_files[1].patterns[2]") == 16);
    CHECK(doc->lines.at("legit_parents[2].modifier") == 66);
    CHECK(doc->lines.at("whitelist.ports[0]") == 75);
    CHECK(doc->lines.at("alert_threshold") == 81);
    // a path with no entry of its own takes its nearest ancestor's line
    CHECK(doc->line_of("suspicious_files[1].nonexistent") == 11u);
    CHECK(doc->line_of("suspicious_files[1].patterns[2]") == 16u);
    CHECK(doc->line_of("") == 2u);
}

TEST_CASE("the blog's comm: spelling") {
    auto c = parse_config_text(fixture("blog-comm.yml"));
    INFO((c ? "" : c.error().message));
    REQUIRE(c.has_value());
    REQUIRE(c->suspicious_parents.size() == 2);
    CHECK(c->suspicious_parents[0] == barbwire::parent_rule{process_field::comm, "bash", 2});
    CHECK(c->suspicious_parents[1] == barbwire::parent_rule{process_field::comm, "sshd", 3});
    REQUIRE(c->legit_parents.size() == 2);
    CHECK(c->legit_parents[1] == barbwire::parent_rule{process_field::comm, "dockerd", -2});
    REQUIRE(c->suspicious_files.size() == 2);
    CHECK(c->suspicious_files[0].patterns.back() == "/.aws/credentials");

    // comm: and program: give the same config
    std::string text = fixture("blog-comm.yml");
    std::string as_program = text;
    for (auto p = as_program.find("comm:"); p != std::string::npos; p = as_program.find("comm:", p))
        as_program.replace(p, 5, "program:");
    auto c2 = parse_config_text(as_program);
    REQUIRE(c2.has_value());
    CHECK(*c2 == *c);
}

TEST_CASE("extensions: exe:, CIDR, fractional window, limits") {
    auto c = parse_config_text(fixture("extended.yml"));
    INFO((c ? "" : c.error().message));
    REQUIRE(c.has_value());
    CHECK(c->window.count() == 2'500'000'000);
    CHECK(c->suspicious_parents[0] == barbwire::parent_rule{process_field::exe, "/usr/bin/bash", 2});
    CHECK(c->legit_parents[0] == barbwire::parent_rule{process_field::exe, "/usr/lib/systemd/systemd", -2});
    REQUIRE(c->allow_ips.size() == 3);
    CHECK(c->allow_ips[0].prefix == 8);
    CHECK(c->allow_ips[1].prefix == 8);
    CHECK(c->allow_ips[1].to_string() == "fd00::/8");
    CHECK(c->allow_ips[2].prefix == 128);
    CHECK(c->allow_ports == std::vector<std::uint16_t>{53, 443});
    CHECK(c->severity_medium == 4);
    CHECK(c->severity_high == 6);
    CHECK(c->alert_threshold == 4);
    CHECK(c->limits == barbwire::limits{100000, 32, 20000, 50000});
    // and back through JSON text
    auto again = parse_config_text(barbwire::to_json(*c).dump(2));
    REQUIRE(again.has_value());
    CHECK(*again == *c);
}

TEST_CASE("window_duration: \"five\" names the key and the line") {
    auto m = config_error(fixture("bad-window.yml"));
    CHECK(m.rfind("window_duration: expected a number of seconds", 0) == 0);
    CHECK(m.find("got a string (\"five\")") != std::string::npos);
    CHECK(m.size() > 9);
    CHECK(m.substr(m.size() - 9) == " (line 7)");

    m = config_error("window_duration: \"5\"\n");
    CHECK(m.find("got a string (\"5\")") != std::string::npos);
    CHECK(m.find("(line 1)") != std::string::npos);
}

TEST_CASE("validation errors carry the line of the offending value") {
    std::string text = fixture("seed-barbwire-config.yml");
    auto replace = [&](const std::string& from, const std::string& to) {
        std::string t = text;
        auto p = t.find(from);
        REQUIRE(p != std::string::npos);
        t.replace(p, from.size(), to);
        return t;
    };
    CHECK(config_error(replace("    base_score: 1\n    patterns:\n      - \"/etc/resolv.conf\"",
                               "    base_score: one\n    patterns:\n      - \"/etc/resolv.conf\"")) ==
          "suspicious_files[3].base_score: expected an integer from 0 to 100, got a string (\"one\") (line 25)");
    CHECK(config_error(replace("alert_threshold: 3", "alert_treshold: 3")) ==
          "alert_treshold: unknown key (did you mean alert_threshold?); known keys here: window_duration, "
          "suspicious_files, suspicious_parents, legit_parents, whitelist, severity_thresholds, alert_threshold, "
          "limits, family, rate_limit, trusted_binaries, allowlist, dns, held, taint, interpreters (line 81)");
    CHECK(config_error(replace("\"1.0.0.1\"", "\"1.0.0.256\"")).find("whitelist.ips[3]: \"1.0.0.256\" is not an IP address") == 0);
    CHECK(config_error(replace("\"1.0.0.1\"", "\"1.0.0.256\"")).find("(line 73)") != std::string::npos);
    CHECK(config_error(replace("  medium: 3", "  medium: 8")).find("(line 78)") != std::string::npos);
    // a missing key points at its entry
    CHECK(config_error(replace("    base_score: 2\n    patterns:\n      - \"/proc/\"\n", "    base_score: 2\n")) ==
          "suspicious_files[4].patterns: missing; every file category needs category, base_score and patterns (line 31)");
}

TEST_CASE("plain scalars are typed, quoted scalars are strings") {
    json j = tree("a: 5\nb: \"5\"\nc: '5'\nd: -7\ne: 2.5\nf: .5\ng: 1e3\nh: true\ni: False\nj: null\nk: ~\nl:\n"
                  "m: yes\nn: 0x1F\no: 0o17\np: 0755\nq: \"true\"\nr: 1_000\ns: +3\nt: -.inf\nu: .nan\nv: hello world\n"
                  "w: !!str 42\nx: |\n  block\ny: 18446744073709551615\nz: 99999999999999999999\n");
    CHECK(j["a"] == json(5));
    CHECK(j["a"].is_number_integer());
    CHECK(j["b"] == json("5"));
    CHECK(j["c"] == json("5"));
    CHECK(j["d"] == json(-7));
    CHECK(j["e"] == json(2.5));
    CHECK(j["e"].is_number_float());
    CHECK(j["f"] == json(0.5));
    CHECK(j["g"] == json(1000.0));
    CHECK(j["g"].is_number_float());
    CHECK(j["h"] == json(true));
    CHECK(j["i"] == json(false));
    CHECK(j["j"].is_null());
    CHECK(j["k"].is_null());
    CHECK(j["l"].is_null());
    CHECK(j["m"] == json("yes"));   // YAML 1.1 booleans stay strings
    CHECK(j["n"] == json(31));
    CHECK(j["o"] == json(15));
    CHECK(j["p"] == json(755));     // no YAML 1.1 octal
    CHECK(j["q"] == json("true"));
    CHECK(j["r"] == json("1_000"));
    CHECK(j["s"] == json(3));
    CHECK(j["t"].get<double>() == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(j["u"].get<double>()));
    CHECK(j["v"] == json("hello world"));
    CHECK(j["w"] == json("42"));
    CHECK(j["x"] == json("block\n"));
    CHECK(j["y"] == json(18446744073709551615ull));
    CHECK(j["z"].is_number_float());

    CHECK(tree("- 1\n- [a, \"b\"]\n- {k: v}\n") == json::array({1, json::array({"a", "b"}), {{"k", "v"}}}));
    CHECK(tree("") .is_null());
    CHECK(tree("# only a comment\n").is_null());
    CHECK(tree("--- \nk: 1\n...\n") == json{{"k", 1}});
}

TEST_CASE("explicit tags and anchors") {
    CHECK(tree("a: !!int 5")["a"] == json(5));
    CHECK(tree("a: !!float 5")["a"].is_number_float());
    CHECK(yaml_error("a: !!int five").find("does not match its tag !!int") != std::string::npos);
    CHECK(yaml_error("a: !custom x") == "a: unsupported YAML tag \"!custom\"; expected plain or quoted values (line 1)");
    CHECK(yaml_error("a:\n  - 1\n  - !!int x\n").rfind("a[1]: value \"x\" does not match its tag !!int", 0) == 0);

    json j = tree("base: &p [\"/etc/passwd\", \"/etc/shadow\"]\ncopy: *p\n");
    CHECK(j["copy"] == j["base"]);

    // alias expansion is bounded
    std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'j'; ++c) {
        std::string prev(1, static_cast<char>(c - 1));
        bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
                ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
    }
    CHECK(yaml_error(bomb).find("expands to more than 1000000 values") != std::string::npos);
}

TEST_CASE("YAML structural errors") {
    auto m = yaml_error("window_duration: 5\nsuspicious_files: [\n  a,\nb: 1\n");
    CHECK(m.rfind("YAML syntax error at line ", 0) == 0);
    CHECK(m.find(", column ") != std::string::npos);

    m = yaml_error("a: 1\n  b: 2\n");
    CHECK(m.rfind("YAML syntax error at line 2, column", 0) == 0);

    m = yaml_error("window_duration: 5\nalert_threshold: 3\nwindow_duration: 6\n");
    CHECK(m == "window_duration: duplicate key, first given at line 1; each key may appear once in a mapping (line 3)");

    m = yaml_error("suspicious_files:\n  - category: a\n    category: b\n");
    CHECK(m.rfind("suspicious_files[0].category: duplicate key, first given at line 2", 0) == 0);
    CHECK(m.find("(line 3)") != std::string::npos);

    m = yaml_error("a: 1\n---\nb: 2\n");
    CHECK(m.find("more than one document") != std::string::npos);
    CHECK(m.find("(line 2)") != std::string::npos); // the "---" that starts the second
    CHECK(yaml_error("---\na: 1\n---\n").find("more than one document") != std::string::npos);

    CHECK(yaml_error("? [a]\n: 1\n").find("mapping key is itself a list or mapping") != std::string::npos);
    CHECK(yaml_error("~: 1\n").find("mapping key is empty or null") != std::string::npos);
}

TEST_CASE("parse_config_text: JSON or YAML by the first character") {
    auto j = parse_config_text(R"(  {"window_duration": 0.5, "whitelist": {"ports": [443]}})");
    REQUIRE(j.has_value());
    CHECK(j->window.count() == 500'000'000);
    CHECK(j->allow_ports == std::vector<std::uint16_t>{443});

    auto bom = parse_config_text("\xEF\xBB\xBF{\"alert_threshold\": 2}");
    REQUIRE(bom.has_value());
    CHECK(bom->alert_threshold == 2);

    auto m = config_error("{\"window_duration\": \"five\"}");
    CHECK(m.rfind("window_duration: expected a number of seconds", 0) == 0);
    CHECK(m.find("(line") == std::string::npos); // JSON validation errors name the path only

    m = config_error("{\n  \"window_duration\": 5,\n}");
    CHECK(m.rfind("JSON parse error at line 3, column 1:", 0) == 0);

    m = config_error("{\"whitelist\": {\"ports\": [53], \"ports\": [80]}}");
    CHECK(m == "whitelist.ports: duplicate key; each key may appear once in a mapping");

    // the same content as YAML and as JSON gives the same config
    auto y = parse_config_text("window_duration: 0.5\nwhitelist:\n  ports: [443]\n");
    REQUIRE(y.has_value());
    CHECK(*y == *j);

    // an empty file is the struct defaults, correlating single processes within
    // the window (no family, held or taint section)
    auto e = parse_config_text("");
    REQUIRE(e.has_value());
    config single = config{};
    for (auto r : barbwire::all_relations)
        if (r != barbwire::relation::self) single.family[r] = barbwire::family_rule{false, 0};
    single.held.enabled = false;
    single.taint.enabled = false;
    CHECK(*e == single);
    CHECK(config_error("- a\n").rfind("config: expected a mapping of settings", 0) == 0);
}

TEST_CASE("default_config_json round-trips through the YAML path too") {
    // JSON is (nearly) YAML: the embedded defaults read as YAML give the same config.
    auto y = barbwire::yaml_to_json(barbwire::default_config_json);
    REQUIRE(y.has_value());
    auto c = barbwire::parse_config(*y);
    REQUIRE(c.has_value());
    CHECK(*c == barbwire::default_config());
}

TEST_CASE("issue 12's keys in YAML: allowlist, dns, held, taint, limits") {
    const std::string h(64, 'c');
    const std::string text = "window_duration: 5\n"
                             "allowlist:\n"
                             "  - exe: /usr/bin/curl          # root-owned, not group/other-writable\n"
                             "    ips: [\"10.0.0.0/8\", \"fd00::/8\"]\n"
                             "    ports: [443]\n"
                             "  - sha256: " + h + "\n"
                             "    ports:\n"
                             "      - 22\n"
                             "  - ips:\n"
                             "      - 192.0.2.10\n"
                             "dns:\n"
                             "  ports: [53, 5353]\n"
                             "  modifier: -2\n"
                             "  max_query_bytes: 512\n"
                             "held:\n"
                             "  enabled: true\n"
                             "  stale_after: 1800\n"
                             "  stale_modifier: -3\n"
                             "  inherit: false\n"
                             "taint:\n"
                             "  enabled: false\n"
                             "limits:\n"
                             "  max_holders: 1000\n"
                             "  max_derived_files: 100\n";
    auto c = parse_config_text(text);
    INFO((c ? "" : c.error().message));
    REQUIRE(c.has_value());
    REQUIRE(c->allowlist.size() == 3);
    CHECK(c->allowlist[0] == barbwire::allow_rule{"/usr/bin/curl", "", {net("10.0.0.0/8"), net("fd00::/8")}, {443}});
    CHECK(c->allowlist[1] == barbwire::allow_rule{"", h, {}, {22}});
    CHECK(c->allowlist[2] == barbwire::allow_rule{"", "", {net("192.0.2.10")}, {}});
    CHECK(c->dns == barbwire::dns_policy{{53, 5353}, "dns", -2, 512, 0});
    CHECK(c->held == barbwire::held_policy{true, -1, std::chrono::minutes{30}, -3, false});
    CHECK(c->taint == barbwire::taint_policy{false, 0});
    CHECK(c->limits.max_holders == 1000);
    CHECK(c->limits.max_derived_files == 100);
    // the same through JSON text
    auto again = parse_config_text(barbwire::to_json(*c).dump(2));
    REQUIRE(again.has_value());
    CHECK(*again == *c);

    // empty sections (a key with nothing under it) take the defaults, on...
    auto e = parse_config_text("allowlist:\ndns:\nheld:\ntaint:\n");
    REQUIRE(e.has_value());
    CHECK(e->allowlist.empty());
    CHECK(e->dns == barbwire::dns_policy{});
    CHECK(e->held == barbwire::held_policy{});
    CHECK(e->taint == barbwire::taint_policy{});
    // ...but a list inside an allowlist entry may not be empty, nor dns.ports
    CHECK(config_error("allowlist:\n  - exe: /usr/bin/curl\n    ips:\n") ==
          "allowlist[0].ips: must not be empty; list the addresses or networks to allow, or leave ips out to allow "
          "every address (line 3)");
    CHECK(config_error("dns:\n  ports: []\n").rfind("dns.ports: must not be empty", 0) == 0);
}

TEST_CASE("issue 12's keys in YAML: errors name the path and the line") {
    CHECK(config_error("allowlist:\n  - ports: [443]\n  - exe: curl\n") ==
          "allowlist[1].exe: is not an absolute path (\"curl\"); expected the executable path the kernel reports, such "
          "as \"/usr/bin/curl\" (line 3)");
    CHECK(config_error("allowlist:\n  - sha256: ABC\n").rfind("allowlist[0].sha256: expected the SHA-256", 0) == 0);
    CHECK(config_error("allowlist:\n  - {}\n") ==
          "allowlist[0]: allows nothing; expected at least one of exe (executable path), sha256 (its hash), ips "
          "(addresses or networks) and ports (line 2)");
    CHECK(config_error("allowlist:\n  - ports: [443, 443]\n") ==
          "allowlist[0].ports[1]: duplicate port 443 (also allowlist[0].ports[0]); remove one (line 2)");
    CHECK(config_error("allowlist:\n  - ip: [10.0.0.0/8]\n").rfind("allowlist[0].ip: unknown key (did you mean ips?)", 0) == 0);
    CHECK(config_error("dns:\n  modifier: \"-2\"\n") ==
          "dns.modifier: expected an integer score modifier from -100 to 100, got a string (\"-2\") (line 2)");
    CHECK(config_error("dns:\n  ports:\n    - 53\n    - 70000\n") ==
          "dns.ports[1]: expected a destination port from 1 to 65535, got an integer (70000) (line 4)");
    // YAML 1.1 booleans are strings
    CHECK(config_error("held:\n  enabled: yes\n") ==
          "held.enabled: expected true (a process that read a secret keeps it past the window) or false, got a string "
          "(\"yes\") (line 2)");
    CHECK(config_error("held: false\n") ==
          "held: expected a mapping such as {enabled: false} (to turn it off), got a boolean (false) (line 1)");
    CHECK(config_error("window_duration: 60\nheld:\n  stale_after: 30\n") ==
          "held.stale_after: is 30 s, shorter than window_duration (60 s); a read correlates without the held modifiers "
          "while it is within the window, so it can only become stale after the window; expected at least 60 (line 3)");
    CHECK(config_error("taint:\n  modifer: 1\n").rfind("taint.modifer: unknown key (did you mean modifier?)", 0) == 0);
    CHECK(config_error("limits:\n  max_holders: 0\n") ==
          "limits.max_holders: expected an integer from 1 to 4194304, got an integer (0) (line 2)");
}

// Found by the config fuzz harness (issue 15): yaml-cpp passes any bytes
// through, and a pattern that was not UTF-8 was accepted, then made the
// rules' JSON form (to_json(config).dump(), as a reload summary or a trace
// writes it) throw. The reader now refuses it, naming the line.
TEST_CASE("YAML: a value or key that is not UTF-8 is refused with its line") {
    const std::string bad_value = "window_duration: 5\n"
                                  "suspicious_files:\n"
                                  "  - category: keys\n"
                                  "    base_score: 3\n"
                                  "    patterns:\n"
                                  "      - \"/etc/shadow\"\n"
                                  "      - \xa2.ssh/id_ed25519\n";
    const std::string m = config_error(bad_value);
    CHECK(m.find("not valid UTF-8") != std::string::npos);
    CHECK(m.find("line 7") != std::string::npos);
    const std::string bad_key = "window_duration: 5\n\xff\xfe: 1\n";
    CHECK(config_error(bad_key).find("a key is not valid UTF-8") != std::string::npos);
    // valid UTF-8 beyond ASCII is text like any other
    auto ok = parse_config_text("window_duration: 5\nsuspicious_files:\n  - category: clés\n    base_score: 3\n"
                                "    patterns: [\"/home/zoë/.ssh/id_rsa\"]\n");
    REQUIRE(ok.has_value());
    CHECK(ok->suspicious_files.at(0).patterns.at(0) == "/home/zoë/.ssh/id_rsa");
    CHECK_NOTHROW((void)to_json(*ok).dump());
}
