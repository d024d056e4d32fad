#include "baseline_file.hpp"
#include "safe_file.hpp"

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace barbwire::sensor {

namespace {

struct fd_closer {
    int fd = -1;
    ~fd_closer() {
        if (fd >= 0) ::close(fd);
    }
};

std::string errno_text() { return std::strerror(errno); }

// The whole file, or ENOENT as nullopt, or an error line.
check_result<std::optional<std::string>> slurp(const std::string& path) {
    fd_closer f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) {
        if (errno == ENOENT) return std::optional<std::string>{};
        return tl::unexpected("cannot read baseline " + path + ": " + errno_text() + "; check the --baseline path");
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0)
        return tl::unexpected("cannot read baseline " + path + ": " + errno_text() + "; check the --baseline path");
    if (!S_ISREG(st.st_mode))
        return tl::unexpected("baseline " + path + " is not a regular file; give the JSON file `barbwire learn` wrote");
    std::string body;
    char buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(f.fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR) continue;
            return tl::unexpected("reading baseline " + path + " failed: " + errno_text());
        }
        if (n == 0) break;
        body.append(buf, static_cast<std::size_t>(n));
        if (body.size() > max_baseline_file_bytes)
            return tl::unexpected("baseline " + path + " is larger than 64 MiB, more than a baseline can be; "
                                  "is it the right file?");
    }
    return std::optional<std::string>(std::move(body));
}

result<baseline> parse_file(const std::string& path, const std::string& body) {
    auto b = parse_baseline_text(body);
    if (!b) {
        return make_error(b.error().code, "baseline " + path + ": " + b.error().message +
                                              "; fix the file, or move it away and learn again");
    }
    return b;
}

// Writes all of `data`; false with errno set on failure.
bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

} // namespace

check_result<nanoseconds> parse_duration(std::string_view text) {
    const auto fail = [&] {
        return tl::unexpected("invalid --duration '" + std::string(text) +
                              "'; expected a whole number with a unit s, m or h, such as 30s, 10m or 2h "
                              "(at most 720h)");
    };
    if (text.size() < 2 || text.size() > 12) return fail();
    std::uint64_t n = 0;
    for (char c : text.substr(0, text.size() - 1)) {
        if (c < '0' || c > '9') return fail();
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    std::uint64_t unit = 0;
    switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    default: return fail();
    }
    constexpr std::uint64_t max_seconds = 720ull * 3600;
    if (n == 0 || n > max_seconds / unit) return fail();
    return std::chrono::duration_cast<nanoseconds>(std::chrono::seconds{n * unit});
}

result<baseline> read_baseline_file(const std::string& path) {
    auto body = slurp(path);
    if (!body) return make_error(errc::system, body.error());
    if (!*body) {
        return make_error(errc::system, "cannot read baseline " + path +
                                            ": no such file; learn one with `barbwire learn --baseline " + path +
                                            "`, or check the --baseline path");
    }
    return parse_file(path, **body);
}

result<baseline> read_baseline_file_or_empty(const std::string& path) {
    auto body = slurp(path);
    if (!body) return make_error(errc::system, body.error());
    if (!*body) return baseline{};
    return parse_file(path, **body);
}

check_result<void> write_baseline_file(const std::string& path, const baseline& b) {
    const std::size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string(".") : (slash == 0 ? "/" : path.substr(0, slash));
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.empty()) return tl::unexpected("baseline " + path + " names a directory; give a file name");
    std::string tmp = (dir == "/" ? std::string("/") : dir + "/") + "." + base + ".tmp-XXXXXX";
    const std::string text = to_json(b).dump(1) + "\n";

    const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) {
        return tl::unexpected("cannot create a temporary file in " + dir + " to write baseline " + path + ": " +
                              errno_text() + "; the old baseline is unchanged");
    }
    fd_closer f{fd};
    const auto fail = [&](const std::string& what) -> check_result<void> {
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        return tl::unexpected(what + " failed: " + why + "; the old baseline " + path + " is unchanged");
    };
    if (!write_all(fd, text)) return fail("writing " + tmp);
    if (::fsync(fd) != 0) return fail("fsync of " + tmp);
    f.fd = -1;
    if (::close(fd) != 0) return fail("closing " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("renaming " + tmp + " to " + path);
    fd_closer d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0 || ::fsync(d.fd) != 0) {
        return tl::unexpected("baseline " + path + " was written, but the fsync of its directory " + dir +
                              " failed: " + errno_text() + "; a power loss now could lose the update");
    }
    return {};
}

result<baseline_session> baseline_session::open(const baseline_options& opts) {
    baseline_session s(opts);
    if (opts.apply) {
        auto b = read_baseline_file(*opts.apply);
        if (!b) return tl::unexpected(b.error());
        s.loaded_ = std::move(*b);
        s.loaded_entries_ = s.loaded_.size();
    } else if (opts.learn) {
        auto b = read_baseline_file_or_empty(*opts.learn);
        if (!b) return tl::unexpected(b.error());
        s.loaded_ = std::move(*b);
        // The directory must take the temporary file and the rename, and
        // others must not be able to swap the baseline in it (safe_file.hpp).
        const std::string dir = dir_of(*opts.learn);
        if (auto d = check_private_dir(dir, "--baseline"); !d) return make_error(errc::invalid_config, d.error());
        if (::access(dir.c_str(), W_OK | X_OK) != 0) {
            return make_error(errc::system, "cannot write baseline " + *opts.learn + ": directory " + dir + ": " +
                                                errno_text() + "; give a --baseline path in a writable directory");
        }
    }
    return s;
}

void baseline_session::attach(correlator& corr) {
    if (applying()) corr.set_baseline(std::move(loaded_), opts_.mode);
}

bool baseline_session::admit(const alert& a) {
    if (!learning()) return true;
    ++correlations_;
    (void)learned_.learn(a);
    return false;
}

check_result<baseline_session::merge_result> baseline_session::merge_pending() {
    const std::string& path = *opts_.learn;
    // Merge into what the file holds now (it may have changed while learning).
    auto current = read_baseline_file_or_empty(path);
    if (!current) return tl::unexpected(current.error().message);
    baseline merged = std::move(*current);
    merge_result r;
    r.before = merged.size();
    r.voided = merged.merge(learned_);
    if (auto w = write_baseline_file(path, merged); !w) return tl::unexpected(w.error());
    r.after = merged.size();
    r.dropped = merged.dropped();
    r.max_entries = merged.max_entries();
    // What is in the file now is learned for good: the next merge adds only
    // what comes after it (counts are not added twice).
    unknown_total_ += learned_.unknown();
    dropped_total_ += learned_.dropped();
    learned_all_.merge(learned_);
    learned_ = baseline{};
    return r;
}

check_result<std::optional<std::string>> baseline_session::checkpoint() {
    if (!learning() || learned_.empty()) return std::optional<std::string>{};
    auto r = merge_pending();
    if (!r) return tl::unexpected(r.error() + "; learning goes on, the next checkpoint retries");
    ++checkpoints_;
    return std::optional<std::string>("baseline checkpoint: " + *opts_.learn + " now holds " +
                                      plural(r->after, "entry", "entries") + " (" +
                                      plural(correlations_, "correlation", "correlations") + " learned so far)");
}

check_result<std::optional<std::string>> baseline_session::finish(const correlator_stats& st) {
    if (learning()) {
        const std::string& path = *opts_.learn;
        auto r = merge_pending();
        if (!r) return tl::unexpected(r.error());
        std::string s = "learned " + plural(correlations_, "correlation", "correlations") + " (" +
                        plural(learned_all_.size(), "distinct entry", "distinct entries");
        if (unknown_total_ > 0)
            s += ", " + std::to_string(unknown_total_) + " of unknown exe or sha256 not learned";
        if (dropped_total_ + r->dropped > 0)
            s += ", " + std::to_string(dropped_total_ + r->dropped) + " not learned: baseline full (" +
                 std::to_string(r->max_entries) + " entries)";
        s += "); baseline " + path + " now holds " + plural(r->after, "entry", "entries") + " (had " +
             std::to_string(r->before);
        if (r->voided > 0) s += ", " + std::to_string(r->voided) + " voided by changed binaries";
        if (checkpoints_ > 0) s += ", after " + plural(checkpoints_, "checkpoint", "checkpoints");
        s += ")";
        return std::optional<std::string>(std::move(s));
    }
    if (applying()) {
        return std::optional<std::string>("baseline " + *opts_.apply + ": " + std::to_string(st.baseline_seen) +
                                          " seen (" + std::to_string(st.suppressed_baseline) + " " +
                                          (opts_.mode == baseline_mode::suppress ? "suppressed" : "down-scored below the threshold") +
                                          "), " + std::to_string(st.baseline_new) + " new, " + std::to_string(st.baseline_changed) +
                                          " changed binary");
    }
    return std::optional<std::string>{};
}

std::string baseline_session::describe() const {
    if (learning()) return ", learning into " + *opts_.learn;
    if (applying())
        return ", baseline: " + *opts_.apply + " (" + plural(loaded_entries_, "entry", "entries") + ", " +
               std::string(to_string(opts_.mode)) + ")";
    return {};
}

} // namespace barbwire::sensor
