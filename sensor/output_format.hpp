#pragma once
// The pure half of the alert outputs (docs/outputs.md): what the command
// line says about them, and what each sink sends. No I/O, no clock, no
// threads: unit-tested in test/unit/test_sensor_output_format.cpp. The
// sinks themselves (sockets, files, libcurl, the journal) are in outputs.cpp.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <barbwire/alert.hpp>
#include <barbwire/dedup.hpp>

#include "preflight.hpp" // check_result

namespace barbwire::sensor {

// One alert or incident summary, formatted once by the event loop and shared
// (read-only) by every sink's thread.
struct output_message {
    enum class type : std::uint8_t { alert, summary };
    type kind = type::alert;
    enum severity severity = severity::low; // the alert's; a summary's: the worst of its repeats
    std::int64_t wall_ns = 0;                // when the event happened, ns since the Unix epoch (UTC)
    std::string json;                        // to_json(...).dump(): one line, no newline
    std::string line;                        // one line of text, no newline
    nlohmann::json doc;                      // the same JSON, parsed form

    [[nodiscard]] bool is_alert() const noexcept { return kind == type::alert; }
};

// Builds the message of an alert / a summary. `wall_ns`: the event's time
// on the wall clock (the sensor converts the kernel's monotonic stamp).
[[nodiscard]] output_message make_message(const alert& a, std::int64_t wall_ns);
[[nodiscard]] output_message make_message(const incident_summary& s, std::int64_t wall_ns);

// "HIGH alert, score 5: python3 (pid 4242, /usr/bin/python3.11) read /etc/shadow [credential access],
//  then connect tcp 127.0.0.1:4444"; values through text_safe (no control characters).
[[nodiscard]] std::string alert_line(const alert& a);

// --- time ----------------------------------------------------------------------

// "2024-05-01T12:34:56.123456Z" (`digits` fraction digits, 0..9), UTC.
[[nodiscard]] std::string rfc3339_utc(std::int64_t wall_ns, int digits);

// --- syslog (RFC 5424, RFC 6587 octet counting) ----------------------------------

enum class syslog_transport : std::uint8_t { unix_dgram, udp, tcp };

struct syslog_target {
    syslog_transport transport = syslog_transport::unix_dgram;
    std::string path;         // unix
    std::string host;         // udp, tcp
    std::uint16_t port = 0;   // udp, tcp
    [[nodiscard]] std::string name() const; // "syslog:tcp:127.0.0.1:514", "syslog:unix:/dev/log"
};

// "unix:/dev/log", "udp:HOST:PORT", "tcp:HOST:PORT" ("[::1]:514" for IPv6).
[[nodiscard]] check_result<syslog_target> parse_syslog_target(std::string_view text);
// "auth", "authpriv", "daemon", "local0".."local7", ... or 0..23.
[[nodiscard]] check_result<int> parse_syslog_facility(std::string_view text);

// Syslog severity of a message: HIGH 2 (crit), MEDIUM 4 (warning), LOW 5
// (notice); a summary 6 (info).
[[nodiscard]] int syslog_severity(const output_message& m) noexcept;

// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG` (RFC 5424, no
// structured data; MSG as is, without a BOM). Header fields are cut to their
// RFC lengths and to printable US-ASCII; an empty one is "-".
[[nodiscard]] std::string rfc5424(int facility, int severity, std::int64_t wall_ns, std::string_view hostname,
                                  std::string_view app_name, std::int64_t procid, std::string_view msgid,
                                  std::string_view msg);

// RFC 6587 octet counting: "LEN SP MSG".
[[nodiscard]] std::string octet_frame(std::string_view msg);

// --- the systemd journal ------------------------------------------------------------

// "FIELD=value" entries for sd_journal_sendv: MESSAGE, PRIORITY,
// SYSLOG_IDENTIFIER and the BARBWIRE_* fields (docs/outputs.md).
[[nodiscard]] std::vector<std::string> journal_fields(const output_message& m);

// --- webhooks -----------------------------------------------------------------------

enum class webhook_format : std::uint8_t { barbwire, falco };

struct webhook_target {
    std::string url;
    webhook_format format = webhook_format::barbwire;
    [[nodiscard]] std::string name() const; // "webhook:URL" without user:password@
};

[[nodiscard]] check_result<webhook_format> parse_webhook_format(std::string_view text);
// "[barbwire=|falco=]http(s)://HOST[:PORT][/PATH]"; without a prefix, `dflt`.
[[nodiscard]] check_result<webhook_target> parse_webhook(std::string_view text, webhook_format dflt);
// The URL with any user:password@ removed (for names, metrics and notices).
[[nodiscard]] std::string url_without_credentials(std::string_view url);

// A version 4 UUID from 16 random bytes: "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx".
[[nodiscard]] std::string uuid_v4(std::array<std::uint8_t, 16> random);

// Falco priority of a message: HIGH Critical, MEDIUM Warning, LOW Notice,
// a summary Informational.
[[nodiscard]] std::string_view falco_priority(const output_message& m) noexcept;

// The payload falcosidekick takes as a Falco event (its FalcoPayload:
// output, priority, rule, time, output_fields, source, tags, hostname, uuid).
[[nodiscard]] nlohmann::json falco_payload(const output_message& m, std::string_view hostname,
                                           std::string_view uuid);

// --- what the command line asks for ----------------------------------------------------

// The queued outputs of `run` and `record` (output_sinks.hpp), from the
// command line (main.cpp). Defaults are the options' defaults.
struct sink_options {
    std::optional<std::string> file;   // --output FILE: JSON lines
    std::uint64_t file_max_bytes = 0;  // --output-max-size: rotate past this size; 0: never
    unsigned file_keep = 5;            // --output-keep: FILE.1 .. FILE.N kept
    std::vector<syslog_target> syslogs; // --syslog, repeatable
    int syslog_facility = 10;          // --syslog-facility (authpriv)
    bool journal = false;              // --journal
    std::vector<webhook_target> webhooks; // --webhook, repeatable
    std::chrono::milliseconds timeout{5000}; // --webhook-timeout: one HTTP request; also syslog connects/sends
    unsigned retries = 3;              // --webhook-retries: tries after the first (webhook, syslog over TCP)
    std::size_t queue = 4096;          // --output-queue: messages each output may hold

    [[nodiscard]] bool any() const noexcept { return file || !syslogs.empty() || journal || !webhooks.empty(); }
};

// --- sizes and counts on the command line --------------------------------------------

// "1048576", "64K", "10M", "1G" (binary units) -> bytes, within [min, max].
[[nodiscard]] check_result<std::uint64_t> parse_byte_size(std::string_view text, std::string_view option,
                                                          std::uint64_t min, std::uint64_t max);
// A whole number within [min, max].
[[nodiscard]] check_result<std::uint64_t> parse_count(std::string_view text, std::string_view option,
                                                      std::uint64_t min, std::uint64_t max);
// "5", "5s", "500ms", "1m" -> milliseconds within [min, max].
[[nodiscard]] check_result<std::chrono::milliseconds> parse_timeout(std::string_view text, std::string_view option,
                                                                   std::chrono::milliseconds min,
                                                                   std::chrono::milliseconds max);

} // namespace barbwire::sensor
