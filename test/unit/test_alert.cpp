#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>

#include <barbwire/alert.hpp>

using namespace barbwire;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

alert seed_alert() {
    alert a;
    a.ts = 1002s;
    a.process = {41890, "python", "/usr/bin/python3.11", "e3b0c442"};
    a.tid = 41891;
    a.uid = 1000;
    a.argv = {"python", "exfil.py"};
    a.file = {"/etc/passwd", 2049, 1234, "credential access", 1000s, "/etc/passwd", ""};
    a.destination = {net_op::connect, ip_proto::tcp, *ip_address::parse("2404:6800:4007:821::200e"), 80};
    a.delta = 2s;
    a.score = 5;
    a.severity = severity::high;
    a.breakdown = {{"credential access", 3}, {"suspicious parent: fish", 2}};
    a.parent = process_ref{13387, "fish", "/usr/bin/fish", ""};
    a.grandparent = process_ref{9483, "tmux: server", "", ""};
    a.reader = a.process;
    a.ancestry = {a.process, *a.parent, *a.grandparent};
    return a;
}

} // namespace

TEST_CASE("to_json: stable field names and values", "[alert]") {
    const json j = to_json(seed_alert());
    const json expected = json::parse(R"({
      "version": 1,
      "ts_ns": 1002000000000,
      "severity": "HIGH",
      "score": 5,
      "reasons": ["credential access", "suspicious parent: fish"],
      "score_breakdown": [{"reason": "credential access", "points": 3},
                          {"reason": "suspicious parent: fish", "points": 2}],
      "process": {"pid": 41890, "tid": 41891, "uid": 1000, "comm": "python",
                  "exe": "/usr/bin/python3.11", "sha256": "e3b0c442", "argv": ["python", "exfil.py"],
                  "trust": {"host_file": null, "package": null, "refused": null},
                  "foreign": [], "script": null},
      "file": {"path": "/etc/passwd", "dev": 2049, "ino": 1234, "category": "credential access",
               "pattern": "/etc/passwd", "ts_ns": 1000000000000, "view": "host", "host_path": null},
      "destination": {"op": "connect", "protocol": "tcp", "addr": "2404:6800:4007:821::200e",
                      "port": 80, "family": "ipv6", "bytes": 0, "category": null, "accepted": false},
      "order": "read, then connect",
      "connection_ts_ns": null,
      "retention": "window",
      "delta_ns": 2000000000,
      "parent": {"pid": 13387, "comm": "fish", "exe": "/usr/bin/fish", "sha256": null},
      "grandparent": {"pid": 9483, "comm": "tmux: server", "exe": "", "sha256": null},
      "relation": "self",
      "reader": {"pid": 41890, "comm": "python", "exe": "/usr/bin/python3.11", "sha256": "e3b0c442"},
      "ancestry": [{"pid": 41890, "comm": "python", "exe": "/usr/bin/python3.11", "sha256": "e3b0c442"},
                   {"pid": 13387, "comm": "fish", "exe": "/usr/bin/fish", "sha256": null},
                   {"pid": 9483, "comm": "tmux: server", "exe": "", "sha256": null}],
      "container": null,
      "k8s": null
    })");
    CHECK(j == expected);
}

TEST_CASE("to_json: absent lineage is null, IPv4 UDP send", "[alert]") {
    alert a = seed_alert();
    a.parent.reset();
    a.grandparent.reset();
    a.destination = {net_op::send, ip_proto::udp, *ip_address::parse("203.0.113.5"), 5353};
    const json j = to_json(a);
    CHECK(j.at("parent").is_null());
    CHECK(j.at("grandparent").is_null());
    CHECK(j.at("destination") == json{{"op", "send"},     {"protocol", "udp"}, {"addr", "203.0.113.5"},
                                      {"port", 5353},     {"family", "ipv4"},  {"bytes", 0},
                                      {"category", nullptr}, {"accepted", false}});
}

TEST_CASE("to_json: invalid UTF-8 becomes U+FFFD, so dump() cannot throw", "[alert]") {
    alert a = seed_alert();
    a.process.comm = std::string("ev\xff" "il");
    a.file.path = std::string("/tmp/\xc3\x28x"); // an invalid 2-byte sequence
    a.argv = {std::string("\xed\xa0\x80")};       // an encoded surrogate is not UTF-8
    const json j = to_json(a);
    CHECK(j["process"]["comm"] == "ev\xef\xbf\xbdil");
    CHECK(j["file"]["path"] == "/tmp/\xef\xbf\xbd(x");
    CHECK(j["process"]["argv"][0] == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    std::string dumped;
    CHECK_NOTHROW(dumped = j.dump());
    CHECK(json::parse(dumped) == j);
    // valid multi-byte text passes through unchanged
    a.process.comm = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x91";
    CHECK(to_json(a)["process"]["comm"] == "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x91");
}

TEST_CASE("render_text: the seed's box, exact lines", "[alert]") {
    const std::string expected =
        "┌─ barbwire alert — PID 41890  ─────────────\n"
        "│  command  : python (/usr/bin/python3.11)\n"
        "│  sha256   : e3b0c442\n"
        "│  file     : /etc/passwd\n"
        "│  connect  : [2404:6800:4007:821::200e]:80\n"
        "│  severity : HIGH\n"
        "│  score    : 5\n"
        "│  reasons  : credential access, suspicious parent: fish\n"
        "│  parent   : fish (pid 13387)\n"
        "│  gparent  : tmux: server (pid 9483)\n"
        "└─────────────────────────────────────────────\n";
    CHECK(render_text(seed_alert()) == expected);
}

TEST_CASE("same_inode_as: only when the match came through the file's identity", "[alert][identity]") {
    alert a = seed_alert();
    CHECK_FALSE(to_json(a).at("file").contains("same_inode_as"));
    CHECK(render_text(a).find("same inode") == std::string::npos);

    // a hard link to /etc/shadow: file.path stays the path opened
    a.file.path = "/home/m/.cache/s";
    a.file.pattern = "/etc/shadow";
    a.file.same_inode_as = "/etc/shadow";
    const json j = to_json(a);
    CHECK(j.at("file") == json::parse(R"({"path": "/home/m/.cache/s", "dev": 2049, "ino": 1234,
        "category": "credential access", "pattern": "/etc/shadow", "ts_ns": 1000000000000,
        "same_inode_as": "/etc/shadow", "view": "host", "host_path": null})"));
    const std::string text = render_text(a);
    CHECK(text.find("│  file     : /home/m/.cache/s (same inode as /etc/shadow)\n") != std::string::npos);

    // hostile names stay one line in the box and valid UTF-8 in JSON
    a.file.same_inode_as = "/home/x/\n\xff";
    CHECK(to_json(a).at("file").at("same_inode_as") == "/home/x/\n\xEF\xBF\xBD");
    CHECK(render_text(a).find("(same inode as /home/x/\\x0a\\xff)") != std::string::npos);
}

TEST_CASE("render_text: IPv4 send, no lineage, unknown comm", "[alert]") {
    alert a = seed_alert();
    a.process.comm.clear();
    a.process.exe.clear();
    a.process.sha256.clear();
    a.destination = {net_op::send, ip_proto::udp, *ip_address::parse("203.0.113.5"), 53};
    a.order = event_order::read_then_send;
    a.severity = severity::medium;
    a.score = 3;
    a.breakdown = {{"credential access", 3}};
    a.parent = process_ref{77, "", "", ""};
    a.grandparent.reset();
    const std::string expected =
        "┌─ barbwire alert — PID 41890  ─────────────\n"
        "│  command  : ?\n"
        "│  file     : /etc/passwd\n"
        "│  send     : 203.0.113.5:53 udp\n"
        "│  order    : read, then send\n"
        "│  severity : MEDIUM\n"
        "│  score    : 3\n"
        "│  reasons  : credential access\n"
        "│  parent   : ? (pid 77)\n"
        "└─────────────────────────────────────────────\n";
    CHECK(render_text(a) == expected);
}

TEST_CASE("render_text: control characters cannot forge lines", "[alert]") {
    alert a = seed_alert();
    a.process.comm = "x\n│  severity : LOW";
    a.process.exe = "/tmp/a\rb\x1b[2J";
    a.file.path = std::string("/tmp/\xe2\x80\xaegpj.exe\\n") + '\0' + "z\x7f\xc2\x85\xff";
    a.parent = process_ref{1, "e\tv\xe2\x80\xa8il", "", ""};
    const std::string text = render_text(a);
    CHECK(text.find("│  command  : x\\x0a│  severity : LOW (/tmp/a\\x0db\\x1b[2J)\n") != std::string::npos);
    CHECK(text.find("│  file     : /tmp/\\xe2\\x80\\xaegpj.exe\\\\n\\x00z\\x7f\\xc2\\x85\\xff\n") !=
          std::string::npos);
    CHECK(text.find("│  parent   : e\\x09v\\xe2\\x80\\xa8il (pid 1)\n") != std::string::npos);
    // still exactly 11 lines (top, 9 rows, bottom), none of them forged
    CHECK(std::count(text.begin(), text.end(), '\n') == 11);
    for (char c : text) CHECK((static_cast<unsigned char>(c) >= 0x20 || c == '\n'));
}

TEST_CASE("text_safe keeps printable UTF-8", "[alert]") {
    CHECK(detail::text_safe("tmux: server") == "tmux: server");
    CHECK(detail::text_safe("caf\xc3\xa9") == "caf\xc3\xa9");
    CHECK(detail::text_safe("a\\b") == "a\\\\b");
    CHECK(detail::text_safe("\xe0\x80\x80") == "\\xe0\\x80\\x80"); // overlong encoding
}

TEST_CASE("family alert: relation, reader and lineage in JSON and text", "[alert][family]") {
    alert a = seed_alert();
    a.relation = relation::sibling;
    a.reader = process_ref{41889, "cat", "/usr/bin/cat", std::string(64, 'a')};
    a.ancestry = {a.process, *a.parent};
    const json j = to_json(a);
    CHECK(j.at("relation") == "sibling");
    CHECK(j.at("reader").at("pid") == 41889);
    CHECK(j.at("reader").at("sha256") == std::string(64, 'a'));
    CHECK(j.at("ancestry").size() == 2);
    CHECK(j.at("ancestry")[1].at("comm") == "fish");
    const std::string text = render_text(a);
    CHECK(text.find("\u2502  relation : sibling\n") != std::string::npos);
    CHECK(text.find("\u2502  reader   : cat (pid 41889) /usr/bin/cat\n") != std::string::npos);
    CHECK(text.find("\u2502  sha256   : " + std::string(64, 'a') + "\n") != std::string::npos);
    CHECK(text.find("\u2502  lineage  :\n"
                    "\u2502    fish (pid 13387)\n"
                    "\u2502      \u251c\u2500 cat (pid 41889) [read]\n"
                    "\u2502      \u2514\u2500 python (pid 41890) [sent]\n\u2514") != std::string::npos);
    a.reader.comm = "x\ny";
    CHECK(render_text(a).find("x\\x0ay") != std::string::npos);
}

TEST_CASE("family alert text: the reader hangs where the relation puts it", "[alert][family]") {
    alert a = seed_alert();
    a.ancestry = {a.process, *a.parent, *a.grandparent};
    const std::string top = "\u2502  lineage  :\n\u2502    tmux: server (pid 9483)\n"
                            "\u2502      \u2514\u2500 fish (pid 13387)";
    SECTION("ancestor: marked on its own line") {
        a.relation = relation::ancestor;
        a.reader = *a.parent;
        CHECK(render_text(a).find(top + " [read]\n\u2502        \u2514\u2500 python (pid 41890) [sent]\n\u2514") !=
              std::string::npos);
    }
    SECTION("descendant: below the sender") {
        a.relation = relation::descendant;
        a.reader = process_ref{41900, "cat", "/usr/bin/cat", ""};
        CHECK(render_text(a).find(top + "\n\u2502        \u2514\u2500 python (pid 41890) [sent]\n"
                                        "\u2502          \u2514\u2500 \u2026 cat (pid 41900) [read]\n\u2514") !=
              std::string::npos);
    }
    SECTION("session: apart from the sender's line of descent") {
        a.relation = relation::session;
        a.reader = process_ref{41700, "cat", "/usr/bin/cat", ""};
        CHECK(render_text(a).find("[sent]\n\u2502    (elsewhere in the session) cat (pid 41700) [read]\n\u2514") !=
              std::string::npos);
    }
    // the sender's hash row, known here, in every variant
    CHECK(render_text(a).find("\u2502  sha256   : e3b0c442\n") != std::string::npos);
}

TEST_CASE("process.trust: JSON always, the text row only when trust has something to say", "[alert][trust]") {
    alert a = seed_alert();
    CHECK(render_text(a).find("trust") == std::string::npos);
    a.trust.host_file = true;
    a.trust.package = "python3.11-minimal";
    CHECK(render_text(a).find("trust") == std::string::npos); // the host's file, nothing refused: no row
    const auto j = to_json(a);
    CHECK(j["process"]["trust"]["host_file"] == true);
    CHECK(j["process"]["trust"]["package"] == "python3.11-minimal");
    CHECK(j["process"]["trust"]["refused"].is_null());
    a.trust.host_file = false;
    a.trust.package.clear();
    a.trust.refused = "trusted_binaries entry /usr/bin/ssh refused: not the host's file at /usr/bin/ssh";
    const std::string text = render_text(a);
    CHECK(text.find("\u2502  trust    : NOT the host's file, no package; trusted_binaries entry /usr/bin/ssh refused") !=
          std::string::npos);
    CHECK(to_json(a)["process"]["trust"]["refused"] ==
          "trusted_binaries entry /usr/bin/ssh refused: not the host's file at /usr/bin/ssh");
}

TEST_CASE("container labels: a JSON object, and a text row where a hostile label forges nothing",
          "[alert][container]") {
    alert a = seed_alert();
    container_info c;
    c.id = std::string(64, 'a');
    c.runtime = container_runtime::podman;
    c.name = "web";
    c.verified = true;
    a.container = c;
    json j = to_json(a);
    CHECK(j.at("container").at("labels") == json::object()); // none (yet): an empty object
    a.container->labels = {{"app", "x"}, {"evil", "v\n\u2502  severity : LOW\x1b[2J"}, {"team", "payments"}};
    j = to_json(a);
    CHECK(j.at("container").at("labels") ==
          json{{"app", "x"}, {"evil", "v\n\u2502  severity : LOW\x1b[2J"}, {"team", "payments"}});
    CHECK(j.at("container").at("labels").at("team") == "payments");
    const std::string text = render_text(a);
    CHECK(text.find(", labels app=x evil=v\\x0a\u2502  severity : LOW\\x1b[2J team=payments") != std::string::npos);
    for (char ch : text) CHECK((static_cast<unsigned char>(ch) >= 0x20 || ch == '\n'));
    CHECK(std::count(text.begin(), text.end(), '\n') == 12); // the usual rows plus the container row, no forged one
    // The text row shows 8 labels and 64 bytes of a value; the JSON has them all.
    container_labels many;
    for (int i = 0; i < 10; ++i) many.emplace_back("k" + std::to_string(i), std::string(100, 'v'));
    a.container->labels = many;
    const std::string row = detail::container_text(*a.container);
    CHECK(row.find("k7=" + std::string(64, 'v') + "...") != std::string::npos);
    CHECK(row.find("k8=") == std::string::npos);
    CHECK(row.find("(+2 more)") != std::string::npos);
    CHECK(to_json(a).at("container").at("labels").size() == 10);
}

// Issue 15 (the correlator fuzz harness): event times may lie anywhere in
// the type, and the plain difference of two of them is undefined behaviour.
// elapsed() saturates; every age and delta an alert states goes through it.
TEST_CASE("issue 15: elapsed holds at the limits of the type", "[alert]") {
    constexpr auto max = nanoseconds::max();
    constexpr auto min = nanoseconds::min();
    CHECK(elapsed(1s, 3s) == 2s);
    CHECK(elapsed(3s, 1s) == -2s);
    CHECK(elapsed(-234ns, max - 119ns) == max); // the fuzz input's read and send
    CHECK(elapsed(-1ns, max) == max);
    CHECK(elapsed(0ns, max) == max);
    CHECK(elapsed(min, 0ns) == max);
    CHECK(elapsed(0ns, min) == min);
    CHECK(elapsed(1ns, min) == min);
    CHECK(elapsed(max, min) == min);
    CHECK(elapsed(min, max) == max);
    CHECK(elapsed(min, min) == 0ns);
    static_assert(elapsed(1ns, 2ns) == 1ns);
}

TEST_CASE("issue 15: the texts' spans at the limits of the type saturate", "[alert]") {
    constexpr auto max = nanoseconds::max();
    constexpr auto min = nanoseconds::min();
    // Wrapped, each of these read "-0.000 s".
    alert a = seed_alert();
    a.destination.op = net_op::send;
    a.order = event_order::connection_then_read;
    a.file.ts = max;
    a.connection_ts = min + 1ns;
    auto d = std::make_shared<derived_origin>();
    d->path = "/root/.ssh/id_rsa";
    d->category = "ssh private keys";
    d->writer = a.process;
    d->written_ts = min;
    a.file.derived_from = d;
    const std::string text = render_text(a);
    CHECK(text.find("(connected 9223372036.855 s before the read)") != std::string::npos);
    CHECK(text.find("9223372036.855 s before the read\n") != std::string::npos);
    CHECK(text.find("-0.000 s") == std::string::npos);
    repeat_counts r;
    r.count = 2;
    r.first = min;
    r.last = max;
    a.repeats = r;
    CHECK(render_text(a).find("over 9223372036.855 s") != std::string::npos);
}
