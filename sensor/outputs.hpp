#pragma once
// Where alerts go: stdout in text or JSON-lines form, and optionally a
// JSON-lines file opened for append and flushed after every alert.

#include <cstdio>
#include <optional>
#include <string>

#include <barbwire/alert.hpp>
#include <barbwire/dedup.hpp>

namespace barbwire::sensor {

// Prints one diagnostic line, `barbwire: MSG`, on stderr.
void errln(const std::string& msg);

enum class output_format : std::uint8_t { text, json };

class alert_output {
public:
    // Opens `file` (when given) for append. Returns an error string on failure.
    [[nodiscard]] static result<alert_output> open(output_format fmt, const std::optional<std::string>& file);

    alert_output(alert_output&& other) noexcept;
    alert_output& operator=(alert_output&&) = delete;
    alert_output(const alert_output&) = delete;
    ~alert_output();

    // Writes one alert to stdout and to the file; returns false if a write failed.
    bool write(const alert& a);
    // Writes one incident summary (rate limiting) the same way: one JSON
    // line, or one line of text; returns false if a write failed.
    bool write(const incident_summary& s);
    [[nodiscard]] std::uint64_t written() const noexcept { return written_; }
    [[nodiscard]] std::uint64_t summaries_written() const noexcept { return summaries_written_; }

private:
    alert_output(output_format fmt, std::FILE* file, std::string path) : fmt_(fmt), file_(file), path_(std::move(path)) {}
    output_format fmt_;
    std::FILE* file_ = nullptr;
    std::string path_;
    std::uint64_t written_ = 0;
    std::uint64_t summaries_written_ = 0;
};

} // namespace barbwire::sensor
