#include "output_format.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace barbwire::sensor {

namespace {

using nlohmann::json;

// A JSON value as text for a field: strings as they are, numbers and
// booleans as JSON writes them, null and missing as "".
std::string text_of(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_null()) return {};
    return j.dump();
}

// doc[a][b]... or null when any step is missing or not an object.
const json& at(const json& doc, std::initializer_list<const char*> path) {
    static const json null_value;
    const json* cur = &doc;
    for (const char* k : path) {
        if (!cur->is_object()) return null_value;
        auto it = cur->find(k);
        if (it == cur->end()) return null_value;
        cur = &*it;
    }
    return *cur;
}

std::string endpoint_of(const json& dest) {
    const std::string addr = text_of(at(dest, {"addr"}));
    const std::string port = text_of(at(dest, {"port"}));
    if (addr.empty()) return {};
    if (text_of(at(dest, {"family"})) == "ipv6") return "[" + addr + "]:" + port;
    return addr + ":" + port;
}

std::string lower_slug(std::string_view s) {
    std::string out;
    for (char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out += c;
        else if (c >= 'A' && c <= 'Z') out += static_cast<char>(c - 'A' + 'a');
        else if (!out.empty() && out.back() != '_') out += '_';
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out;
}

// Printable US-ASCII (33..126) only, at most `max` characters; "-" when empty.
std::string header_field(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) break;
        const auto u = static_cast<unsigned char>(c);
        if (u >= 33 && u <= 126) out += c;
    }
    return out.empty() ? std::string("-") : out;
}

bool parse_port(std::string_view s, std::uint16_t& port) {
    unsigned v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v == 0 || v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}

} // namespace

// --- messages --------------------------------------------------------------------

std::string alert_line(const alert& a) {
    using detail::text_safe;
    std::string s = std::string(to_string(a.severity)) + " alert, score " + std::to_string(a.score) + ": " +
                    (a.process.comm.empty() ? std::string("?") : text_safe(a.process.comm)) + " (pid " +
                    std::to_string(a.process.pid);
    if (!a.process.exe.empty()) s += ", " + text_safe(a.process.exe);
    s += ")";
    if (a.relation != relation::self) {
        s += " after its " + std::string(to_string(a.relation)) + " " +
             (a.reader.comm.empty() ? std::string("?") : text_safe(a.reader.comm)) + " (pid " +
             std::to_string(a.reader.pid) + ") read ";
    } else {
        s += " read ";
    }
    s += text_safe(a.file.path);
    if (!a.file.category.empty()) s += " [" + text_safe(a.file.category) + "]";
    s += ", then " + std::string(to_string(a.destination.op)) + " " + proto_text(a.destination.protocol) + " " +
         detail::endpoint(a.destination.addr, a.destination.port);
    if (a.container) s += " (container " + text_safe(a.container->short_id()) + ")";
    return s;
}

output_message make_message(const alert& a, std::int64_t wall_ns) {
    output_message m;
    m.kind = output_message::type::alert;
    m.severity = a.severity;
    m.wall_ns = wall_ns;
    m.doc = to_json(a);
    m.json = m.doc.dump();
    m.line = alert_line(a);
    return m;
}

output_message make_message(const incident_summary& s, std::int64_t wall_ns) {
    output_message m;
    m.kind = output_message::type::summary;
    m.severity = s.repeats.max_severity;
    m.wall_ns = wall_ns;
    m.doc = to_json(s);
    m.json = m.doc.dump();
    m.line = render_text(s);
    while (!m.line.empty() && m.line.back() == '\n') m.line.pop_back();
    return m;
}

// --- time ------------------------------------------------------------------------

std::string rfc3339_utc(std::int64_t wall_ns, int digits) {
    if (digits < 0) digits = 0;
    if (digits > 9) digits = 9;
    std::int64_t secs = wall_ns / 1'000'000'000;
    std::int64_t frac = wall_ns % 1'000'000'000;
    if (frac < 0) {
        frac += 1'000'000'000;
        --secs;
    }
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out(buf, n);
    if (digits > 0) {
        char f[16];
        std::snprintf(f, sizeof(f), "%09lld", static_cast<long long>(frac));
        out += '.';
        out.append(f, static_cast<std::size_t>(digits));
    }
    out += 'Z';
    return out;
}

// --- syslog ----------------------------------------------------------------------

std::string syslog_target::name() const {
    switch (transport) {
    case syslog_transport::unix_dgram: return "syslog:unix:" + path;
    case syslog_transport::udp:
    case syslog_transport::tcp: {
        const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
        return std::string("syslog:") + (transport == syslog_transport::udp ? "udp:" : "tcp:") + h + ":" +
               std::to_string(port);
    }
    }
    return "syslog";
}

check_result<syslog_target> parse_syslog_target(std::string_view text) {
    const std::string shown(text);
    const auto bad = [&](const std::string& why) -> check_result<syslog_target> {
        return tl::unexpected("--syslog " + shown + ": " + why +
                              "; give unix:/dev/log, udp:HOST:PORT or tcp:HOST:PORT (e.g. tcp:127.0.0.1:514)");
    };
    syslog_target t;
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) return bad("no transport");
    const std::string_view kind = text.substr(0, colon);
    const std::string_view rest = text.substr(colon + 1);
    if (kind == "unix") {
        if (rest.empty() || rest.front() != '/') return bad("the socket path must be absolute");
        if (rest.size() >= 108) return bad("the socket path is longer than a unix socket address takes");
        t.transport = syslog_transport::unix_dgram;
        t.path = std::string(rest);
        return t;
    }
    if (kind == "udp") t.transport = syslog_transport::udp;
    else if (kind == "tcp") t.transport = syslog_transport::tcp;
    else return bad("unknown transport '" + std::string(kind) + "'");
    std::string_view host, port;
    if (!rest.empty() && rest.front() == '[') {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
            return bad("an IPv6 address is written [ADDR]:PORT");
        host = rest.substr(1, close - 1);
        port = rest.substr(close + 2);
    } else {
        const std::size_t last = rest.rfind(':');
        if (last == std::string_view::npos) return bad("no port");
        host = rest.substr(0, last);
        port = rest.substr(last + 1);
        if (host.find(':') != std::string_view::npos) return bad("an IPv6 address is written [ADDR]:PORT");
    }
    if (host.empty()) return bad("no host");
    for (char c : host) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 32 || u >= 127) return bad("the host has a space or a control character");
    }
    if (!parse_port(port, t.port)) return bad("the port must be a number from 1 to 65535");
    t.host = std::string(host);
    return t;
}

check_result<int> parse_syslog_facility(std::string_view text) {
    static constexpr std::array<std::pair<std::string_view, int>, 21> names = {{
        {"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},    {"syslog", 5},
        {"lpr", 6},     {"news", 7},    {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},
        {"security", 4}, {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19}, {"local4", 20},
        {"local5", 21}, {"local6", 22}, {"local7", 23},
    }};
    std::string lower;
    for (char c : text) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower.rfind("log_", 0) == 0) lower.erase(0, 4);
    for (const auto& [n, v] : names) {
        if (n == lower) return v;
    }
    int v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (!text.empty() && r.ec == std::errc() && r.ptr == text.data() + text.size() && v >= 0 && v <= 23) return v;
    return tl::unexpected("--syslog-facility " + std::string(text) +
                          ": unknown facility; use a name (auth, authpriv, daemon, user, local0 .. local7) or a "
                          "number from 0 to 23");
}

int syslog_severity(const output_message& m) noexcept {
    if (!m.is_alert()) return 6; // info
    switch (m.severity) {
    case severity::high: return 2;   // crit
    case severity::medium: return 4; // warning
    case severity::low: return 5;    // notice
    }
    return 5;
}

std::string rfc5424(int facility, int sev, std::int64_t wall_ns, std::string_view hostname,
                    std::string_view app_name, std::int64_t procid, std::string_view msgid, std::string_view msg) {
    std::string out = "<" + std::to_string(facility * 8 + sev) + ">1 " + rfc3339_utc(wall_ns, 6) + " " +
                      header_field(hostname, 255) + " " + header_field(app_name, 48) + " " +
                      header_field(std::to_string(procid), 128) + " " + header_field(msgid, 32) + " -";
    if (!msg.empty()) {
        out += ' ';
        out.append(msg);
    }
    return out;
}

std::string octet_frame(std::string_view msg) {
    std::string out = std::to_string(msg.size());
    out += ' ';
    out.append(msg);
    return out;
}

// --- the journal -------------------------------------------------------------------

std::vector<std::string> journal_fields(const output_message& m) {
    std::vector<std::string> f;
    const json& d = m.doc;
    const auto add = [&](const char* key, const std::string& value) {
        if (!value.empty()) f.push_back(std::string(key) + "=" + value);
    };
    add("MESSAGE", m.line.empty() ? std::string("barbwire ") + (m.is_alert() ? "alert" : "summary") : m.line);
    add("PRIORITY", std::to_string(syslog_severity(m)));
    add("SYSLOG_IDENTIFIER", "barbwire");
    add("BARBWIRE_TYPE", m.is_alert() ? "alert" : "summary");
    add("BARBWIRE_SEVERITY", std::string(to_string(m.severity)));
    add("BARBWIRE_PID", text_of(at(d, {"process", "pid"})));
    add("BARBWIRE_COMM", text_of(at(d, {"process", "comm"})));
    add("BARBWIRE_EXE", text_of(at(d, {"process", "exe"})));
    add("BARBWIRE_FILE", text_of(at(d, {"file", "path"})));
    add("BARBWIRE_CATEGORY", text_of(at(d, {"file", "category"})));
    add("BARBWIRE_INCIDENT", text_of(at(d, {"incident"})));
    if (m.is_alert()) {
        add("BARBWIRE_SCORE", text_of(at(d, {"score"})));
        add("BARBWIRE_UID", text_of(at(d, {"process", "uid"})));
        add("BARBWIRE_SHA256", text_of(at(d, {"process", "sha256"})));
        const json& dest = at(d, {"destination"});
        add("BARBWIRE_DEST", endpoint_of(dest));
        add("BARBWIRE_DEST_PROTOCOL", text_of(at(dest, {"protocol"})));
        add("BARBWIRE_DEST_OP", text_of(at(dest, {"op"})));
        add("BARBWIRE_RELATION", text_of(at(d, {"relation"})));
        add("BARBWIRE_READER_PID", text_of(at(d, {"reader", "pid"})));
        add("BARBWIRE_CONTAINER_ID", text_of(at(d, {"container", "id"})));
        add("BARBWIRE_CONTAINER_RUNTIME", text_of(at(d, {"container", "runtime"})));
        add("BARBWIRE_CONTAINER_NAME", text_of(at(d, {"container", "name"})));
        add("BARBWIRE_CONTAINER_IMAGE", text_of(at(d, {"container", "image"})));
        add("BARBWIRE_K8S_NAMESPACE", text_of(at(d, {"k8s", "namespace"})));
        add("BARBWIRE_K8S_POD", text_of(at(d, {"k8s", "pod"})));
    } else {
        add("BARBWIRE_DEST", endpoint_of(at(d, {"last_destination"})));
        add("BARBWIRE_REPEATS", text_of(at(d, {"repeats", "count"})));
    }
    add("BARBWIRE_JSON", m.json);
    return f;
}

// --- webhooks ----------------------------------------------------------------------

std::string url_without_credentials(std::string_view url) {
    const std::size_t scheme = url.find("://");
    if (scheme == std::string_view::npos) return std::string(url);
    const std::size_t host_start = scheme + 3;
    const std::size_t host_end = url.find_first_of("/?#", host_start);
    const std::string_view authority =
        url.substr(host_start, host_end == std::string_view::npos ? std::string_view::npos : host_end - host_start);
    const std::size_t at_sign = authority.rfind('@');
    if (at_sign == std::string_view::npos) return std::string(url);
    std::string out(url.substr(0, host_start));
    out.append(url.substr(host_start + at_sign + 1));
    return out;
}

std::string webhook_target::name() const { return "webhook:" + url_without_credentials(url); }

check_result<webhook_format> parse_webhook_format(std::string_view text) {
    if (text == "barbwire") return webhook_format::barbwire;
    if (text == "falco") return webhook_format::falco;
    return tl::unexpected("--webhook-format " + std::string(text) +
                          ": unknown format; use barbwire (the alert JSON) or falco (falcosidekick's Falco event)");
}

check_result<webhook_target> parse_webhook(std::string_view text, webhook_format dflt) {
    webhook_target t;
    t.format = dflt;
    std::string_view url = text;
    if (url.rfind("barbwire=", 0) == 0) {
        t.format = webhook_format::barbwire;
        url.remove_prefix(9);
    } else if (url.rfind("falco=", 0) == 0) {
        t.format = webhook_format::falco;
        url.remove_prefix(6);
    }
    const std::string shown = url_without_credentials(text);
    const auto bad = [&](const std::string& why) -> check_result<webhook_target> {
        return tl::unexpected("--webhook " + shown + ": " + why +
                              "; give [barbwire=|falco=]http://HOST[:PORT]/PATH or https://...");
    };
    std::size_t host_start = 0;
    if (url.rfind("http://", 0) == 0) host_start = 7;
    else if (url.rfind("https://", 0) == 0) host_start = 8;
    else return bad("not an http:// or https:// URL");
    for (char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 32 || u >= 127) return bad("the URL has a space or a control character (percent-encode it)");
    }
    std::string_view authority = url.substr(host_start);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const std::size_t a = authority.rfind('@'); a != std::string_view::npos) authority.remove_prefix(a + 1);
    std::string_view host = authority, port;
    if (!host.empty() && host.front() == '[') {
        const std::size_t close = host.find(']');
        if (close == std::string_view::npos) return bad("an unclosed [ in the host");
        port = host.substr(close + 1);
        host = host.substr(1, close - 1);
        if (!port.empty() && port.front() != ':') return bad("text after the IPv6 address");
        if (!port.empty()) port.remove_prefix(1);
    } else if (const std::size_t c = host.rfind(':'); c != std::string_view::npos) {
        port = host.substr(c + 1);
        host = host.substr(0, c);
    }
    if (host.empty()) return bad("no host");
    std::uint16_t p = 0;
    if (!port.empty() && !parse_port(port, p)) return bad("the port must be a number from 1 to 65535");
    t.url = std::string(url);
    return t;
}

std::string uuid_v4(std::array<std::uint8_t, 16> r) {
    r[6] = static_cast<std::uint8_t>((r[6] & 0x0f) | 0x40); // version 4
    r[8] = static_cast<std::uint8_t>((r[8] & 0x3f) | 0x80); // variant 10
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < r.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += hex[r[i] >> 4];
        out += hex[r[i] & 0x0f];
    }
    return out;
}

std::string_view falco_priority(const output_message& m) noexcept {
    if (!m.is_alert()) return "Informational";
    switch (m.severity) {
    case severity::high: return "Critical";
    case severity::medium: return "Warning";
    case severity::low: return "Notice";
    }
    return "Notice";
}

json falco_payload(const output_message& m, std::string_view hostname, std::string_view uuid) {
    const json& d = m.doc;
    json fields = json::object();
    const auto put = [&](const char* key, const json& v) {
        if (!v.is_null()) fields[key] = v;
    };
    put("evt.time", m.wall_ns);
    put("proc.pid", at(d, {"process", "pid"}));
    put("proc.name", at(d, {"process", "comm"}));
    put("proc.exepath", at(d, {"process", "exe"}));
    put("fd.name", at(d, {"file", "path"}));
    put("barbwire.category", at(d, {"file", "category"}));
    put("barbwire.incident", at(d, {"incident"}));
    std::string category = text_of(at(d, {"file", "category"}));
    std::vector<std::string> tags = {"barbwire", "mitre_credential_access", "mitre_exfiltration"};
    std::string rule;
    if (m.is_alert()) {
        std::string cmdline;
        if (const json& argv = at(d, {"process", "argv"}); argv.is_array()) {
            for (const json& a : argv) {
                if (!cmdline.empty()) cmdline += ' ';
                cmdline += text_of(a);
            }
        }
        if (!cmdline.empty()) fields["proc.cmdline"] = cmdline;
        put("proc.ppid", at(d, {"parent", "pid"}));
        put("proc.pname", at(d, {"parent", "comm"}));
        put("user.uid", at(d, {"process", "uid"}));
        put("proc.sha256", at(d, {"process", "sha256"}));
        const json& dest = at(d, {"destination"});
        put("fd.sip", at(dest, {"addr"}));
        put("fd.sport", at(dest, {"port"}));
        put("fd.l4proto", at(dest, {"protocol"}));
        put("barbwire.op", at(dest, {"op"}));
        put("barbwire.score", at(d, {"score"}));
        put("barbwire.severity", at(d, {"severity"}));
        put("barbwire.relation", at(d, {"relation"}));
        put("barbwire.reader.pid", at(d, {"reader", "pid"}));
        put("barbwire.reader.name", at(d, {"reader", "comm"}));
        if (const json& c = at(d, {"container"}); c.is_object()) {
            const std::string id = text_of(at(c, {"id"}));
            fields["container.id"] = id.size() == 64 ? id.substr(0, 12) : id;
            put("container.name", at(c, {"name"}));
            put("container.image", at(c, {"image"}));
            put("barbwire.container.runtime", at(c, {"runtime"}));
            // Falco's container.labels ("key:value, key:value") and
            // container.label[key], one field a label (at most 32).
            if (const json& labels = at(c, {"labels"}); labels.is_object() && !labels.empty()) {
                std::string all;
                for (auto it = labels.begin(); it != labels.end(); ++it) {
                    if (!all.empty()) all += ", ";
                    all += it.key() + ":" + text_of(it.value());
                    fields["container.label[" + it.key() + "]"] = text_of(it.value());
                }
                fields["container.labels"] = all;
            }
        }
        put("k8s.ns.name", at(d, {"k8s", "namespace"}));
        put("k8s.pod.name", at(d, {"k8s", "pod"}));
        rule = "Barbwire credential exfiltration" + (category.empty() ? std::string() : ": " + category);
        if (const std::string slug = lower_slug(category); !slug.empty()) tags.push_back(slug);
    } else {
        const json& dest = at(d, {"last_destination"});
        put("fd.sip", at(dest, {"addr"}));
        put("fd.sport", at(dest, {"port"}));
        put("fd.l4proto", at(dest, {"protocol"}));
        put("barbwire.repeats", at(d, {"repeats", "count"}));
        put("barbwire.summary.ended", at(d, {"ended"}));
        rule = "Barbwire incident summary";
        tags.push_back("summary");
    }
    json out = {
        {"uuid", std::string(uuid)},
        {"output", m.line},
        {"priority", std::string(falco_priority(m))},
        {"rule", rule},
        {"time", rfc3339_utc(m.wall_ns, 9)},
        {"output_fields", std::move(fields)},
        {"source", "barbwire"},
        {"tags", tags},
        {"hostname", std::string(hostname)},
    };
    return out;
}

// --- numbers on the command line ---------------------------------------------------------

check_result<std::uint64_t> parse_byte_size(std::string_view text, std::string_view option, std::uint64_t min,
                                            std::uint64_t max) {
    const std::string shown(text);
    const auto bad = [&](const std::string& why) -> check_result<std::uint64_t> {
        return tl::unexpected(std::string(option) + " " + shown + ": " + why + "; give a size in bytes from " +
                              std::to_string(min) + " to " + std::to_string(max) + " (K, M, G suffixes; e.g. 10M)");
    };
    std::uint64_t n = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    if (r.ec == std::errc::result_out_of_range) return bad("too large");
    if (r.ec != std::errc() || r.ptr == text.data()) return bad("not a number");
    const std::string_view unit(r.ptr, static_cast<std::size_t>(text.data() + text.size() - r.ptr));
    unsigned shift = 0;
    if (unit.empty() || unit == "B") shift = 0;
    else if (unit == "k" || unit == "K" || unit == "KiB") shift = 10;
    else if (unit == "m" || unit == "M" || unit == "MiB") shift = 20;
    else if (unit == "g" || unit == "G" || unit == "GiB") shift = 30;
    else return bad("unknown unit '" + std::string(unit) + "' (use K, M or G)");
    if (n > (max >> shift)) return bad("too large");
    n <<= shift;
    if (n < min) return bad("too small");
    return n;
}

check_result<std::uint64_t> parse_count(std::string_view text, std::string_view option, std::uint64_t min,
                                        std::uint64_t max) {
    std::uint64_t n = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || n < min || n > max) {
        return tl::unexpected(std::string(option) + " " + std::string(text) + ": give a whole number from " +
                              std::to_string(min) + " to " + std::to_string(max));
    }
    return n;
}

check_result<std::chrono::milliseconds> parse_timeout(std::string_view text, std::string_view option,
                                                      std::chrono::milliseconds min, std::chrono::milliseconds max) {
    const auto bad = [&](const std::string& why) -> check_result<std::chrono::milliseconds> {
        return tl::unexpected(std::string(option) + " " + std::string(text) + ": " + why + "; give a time from " +
                              std::to_string(min.count()) + " ms to " + std::to_string(max.count() / 1000) +
                              " s, e.g. 5s or 500ms");
    };
    std::uint64_t n = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    if (r.ec != std::errc() || r.ptr == text.data()) return bad("not a number");
    const std::string_view unit(r.ptr, static_cast<std::size_t>(text.data() + text.size() - r.ptr));
    std::uint64_t ms_per = 0;
    if (unit.empty() || unit == "s") ms_per = 1000;
    else if (unit == "ms") ms_per = 1;
    else if (unit == "m") ms_per = 60'000;
    else return bad("unknown unit '" + std::string(unit) + "' (use ms, s or m)");
    if (n > static_cast<std::uint64_t>(max.count()) / ms_per) return bad("too long");
    const std::chrono::milliseconds v{static_cast<std::int64_t>(n * ms_per)};
    if (v < min) return bad("too short");
    return v;
}

} // namespace barbwire::sensor
