#include "outputs.hpp"
#include "safe_file.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <unistd.h>

namespace barbwire::sensor {

void errln(const std::string& msg) { std::fprintf(stderr, "barbwire: %s\n", msg.c_str()); }

result<alert_output> alert_output::open(output_format fmt, const std::optional<std::string>& file) {
    std::FILE* f = nullptr;
    if (file) {
        // safe_file.hpp: 0600, no symlink followed, the sensor's own regular file.
        auto fd = open_private_file(*file, open_mode::append, "--output");
        if (!fd) return make_error(errc::invalid_config, fd.error());
        f = ::fdopen(*fd, "a");
        if (f == nullptr) {
            const int e = errno;
            ::close(*fd);
            return make_error(errc::system, "--output: cannot use " + *file + ": " + std::strerror(e));
        }
    }
    return alert_output(fmt, f, file.value_or(""));
}

alert_output::alert_output(alert_output&& other) noexcept
    : fmt_(other.fmt_), file_(std::exchange(other.file_, nullptr)), path_(std::move(other.path_)),
      written_(other.written_) {}

alert_output::~alert_output() {
    if (file_ != nullptr) std::fclose(file_);
}

bool alert_output::write(const alert& a) {
    bool ok = true;
    std::string json_line;
    if (fmt_ == output_format::json || file_ != nullptr) json_line = to_json(a).dump() + "\n";
    const std::string& out = fmt_ == output_format::json ? json_line : render_text(a);
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) ok = false;
    if (fmt_ == output_format::text && std::fputc('\n', stdout) == EOF) ok = false;
    if (std::fflush(stdout) != 0) ok = false;
    if (file_ != nullptr) {
        if (std::fwrite(json_line.data(), 1, json_line.size(), file_) != json_line.size()) ok = false;
        if (std::fflush(file_) != 0) ok = false;
    }
    ++written_;
    return ok;
}

bool alert_output::write(const incident_summary& s) {
    bool ok = true;
    std::string json_line;
    if (fmt_ == output_format::json || file_ != nullptr) json_line = to_json(s).dump() + "\n";
    const std::string out = fmt_ == output_format::json ? json_line : render_text(s) + "\n";
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) ok = false;
    if (std::fflush(stdout) != 0) ok = false;
    if (file_ != nullptr) {
        if (std::fwrite(json_line.data(), 1, json_line.size(), file_) != json_line.size()) ok = false;
        if (std::fflush(file_) != 0) ok = false;
    }
    ++summaries_written_;
    return ok;
}

} // namespace barbwire::sensor
