#include "file_names.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace barbwire::sensor {

namespace {

struct fd_closer {
    int fd;
    explicit fd_closer(int f) noexcept : fd(f) {}
    fd_closer(const fd_closer&) = delete;
    fd_closer& operator=(const fd_closer&) = delete;
    ~fd_closer() {
        if (fd >= 0) ::close(fd);
    }
};

bool is_decimal_u32(std::string_view s) {
    std::uint32_t v = 0;
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
}

// "missing" outcomes of a lookup: nothing there to report, not a problem.
bool is_missing(int err) noexcept {
    return err == ENOENT || err == ENOTDIR || err == ELOOP || err == ENAMETOOLONG;
}

std::string errno_text(int err) { return std::strerror(err); }

struct read_outcome {
    std::string text;
    int error = 0;          // errno when the file could not be read
    bool truncated = false; // longer than the bound; text ends at the last complete line
};

read_outcome read_bounded(const std::string& path, std::size_t max) {
    read_outcome r;
    // O_NONBLOCK: a FIFO put in its place must not hang the loop.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r.error = errno;
        return r;
    }
    const fd_closer guard{fd};
    struct stat sb {};
    if (::fstat(fd, &sb) != 0) {
        r.error = errno;
        return r;
    }
    if (!S_ISREG(sb.st_mode)) {
        r.error = EINVAL;
        return r;
    }
    char buf[1u << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR) continue;
            r.error = errno;
            r.text.clear();
            return r;
        }
        if (n == 0) break;
        r.text.append(buf, static_cast<std::size_t>(n));
        if (r.text.size() > max) {
            r.truncated = true;
            r.text.resize(max);
            const std::size_t nl = r.text.rfind('\n');
            r.text.resize(nl == std::string::npos ? 0 : nl + 1);
            break;
        }
    }
    return r;
}

// The patterns of the rules, as examined: absolute ones as they are, and
// every one relative to a home (leading '/' removed). Directories ("/tmp/")
// and empty or NUL-holding patterns are left out. Each list is deduplicated.
struct pattern_sets {
    std::vector<std::string> absolute;
    std::vector<std::string> relative;
};

pattern_sets patterns_of(const config& cfg) {
    pattern_sets ps;
    std::unordered_set<std::string> seen_abs;
    std::unordered_set<std::string> seen_rel;
    for (const file_category& cat : cfg.suspicious_files) {
        for (const std::string& p : cat.patterns) {
            if (p.empty() || p.back() == '/' || p.find('\0') != std::string::npos) continue;
            if (p.front() == '/' && seen_abs.insert(p).second) ps.absolute.push_back(p);
            const std::size_t first = p.find_first_not_of('/');
            if (first == std::string::npos) continue;
            std::string rel = p.substr(first);
            if (seen_rel.insert(rel).second) ps.relative.push_back(std::move(rel));
        }
    }
    return ps;
}

} // namespace

// --- pure parts -------------------------------------------------------------------

std::optional<std::string> normalize_home(std::string_view home) {
    if (home.empty() || home.front() != '/' || home.find('\0') != std::string_view::npos) return std::nullopt;
    std::string out;
    out.reserve(home.size());
    for (const char c : home) {
        if (c == '/' && !out.empty() && out.back() == '/') continue;
        out += c;
    }
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}

std::string join_home(std::string_view home, std::string_view pattern) {
    while (!home.empty() && home.back() == '/') home.remove_suffix(1);
    while (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
    std::string out;
    out.reserve(home.size() + 1 + pattern.size());
    out += home;
    out += '/';
    out += pattern;
    return out;
}

passwd_homes parse_passwd(std::string_view text, std::size_t max_homes) {
    passwd_homes r;
    std::unordered_set<std::string> seen;
    std::size_t line_no = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#' || line.front() == '+' || line.front() == '-') continue;

        std::array<std::string_view, 7> f{};
        std::size_t n = 0;
        bool too_many = false;
        for (std::string_view rest = line;;) {
            const std::size_t colon = rest.find(':');
            if (n == f.size()) {
                too_many = true;
                break;
            }
            f[n++] = rest.substr(0, colon);
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
        std::optional<std::string> home;
        if (!too_many && n == f.size() && !f[0].empty() && is_decimal_u32(f[2]) && is_decimal_u32(f[3]) &&
            line.find('\0') == std::string_view::npos) {
            home = normalize_home(f[5]);
        }
        if (!home) {
            if (r.skipped++ == 0) r.first_skipped_line = line_no;
            continue;
        }
        ++r.entries;
        if (!seen.insert(*home).second) continue;
        if (r.homes.size() < max_homes) {
            r.homes.push_back(std::move(*home));
        } else {
            ++r.over_limit;
        }
    }
    return r;
}

const char* skipped_home_filesystem(std::uint32_t f_type) noexcept {
    switch (f_type) {
    case AUTOFS_SUPER_MAGIC: return "autofs (not mounted)";
    case NFS_SUPER_MAGIC: return "nfs";
    case CIFS_SUPER_MAGIC: return "cifs";
    case SMB2_SUPER_MAGIC: return "smb2";
    case 0x517b: return "smb"; // SMB_SUPER_MAGIC
    case CEPH_SUPER_MAGIC: return "ceph";
    case AFS_SUPER_MAGIC:
    case AFS_FS_MAGIC: return "afs";
    case 0x73757245: return "coda"; // CODA_SUPER_MAGIC
    case V9FS_MAGIC: return "9p";
    case FUSE_SUPER_MAGIC: return "fuse";
    case 0x0bd00bd0: return "lustre";
    default: return nullptr;
    }
}

// --- the named files ----------------------------------------------------------------

file_names::file_names(file_names_options opts) : opts_(std::move(opts)) {
    if (opts_.max_homes == 0) opts_.max_homes = 1;
    while (!opts_.root.empty() && opts_.root.back() == '/') opts_.root.pop_back();
}

void file_names::problem(const std::string& key, const std::string& line, file_names_update& out) {
    if (reported_.insert(key).second) out.notices.push_back(line);
}

void file_names::examine(const std::string& path, int dirfd, const std::string& rel, const std::string& origin,
                         const std::string& pattern, file_names_update& out) {
    struct stat sb {};
    ++last_.probes;
    const int rc = dirfd >= 0 ? ::fstatat(dirfd, rel.c_str(), &sb, 0) : ::stat((opts_.root + path).c_str(), &sb);
    if (rc != 0) {
        const int err = errno;
        known_.erase(path);
        if (is_missing(err)) return;
        ++last_.errors;
        problem("file:" + std::to_string(err),
                "cannot stat " + path + " (" + errno_text(err) +
                    "), a file the rules name; it is matched by path only (reported once for this error)",
                out);
        return;
    }
    if (!S_ISREG(sb.st_mode)) {
        known_.erase(path);
        return;
    }
    ++last_.files;
    const auto dev = static_cast<std::uint64_t>(sb.st_dev);
    const auto ino = static_cast<std::uint64_t>(sb.st_ino);
    auto [it, inserted] = known_.try_emplace(path);
    identity& id = it->second;
    id.origin = origin;
    id.pattern = pattern;
    if (!inserted && id.dev == dev && id.ino == ino) return;
    id.dev = dev;
    id.ino = ino;
    ++last_.changed;
    out.changed.push_back(file_event{path, dev, ino});
}

file_names_update file_names::refresh(const config& cfg) {
    file_names_update out;
    last_ = {};
    const pattern_sets ps = patterns_of(cfg);

    // The homes: /root, then /etc/passwd's, read from the file (no NSS).
    std::vector<std::string> homes{"/root"};
    {
        const read_outcome pw = read_bounded(opts_.root + opts_.passwd_path, opts_.max_passwd_bytes);
        if (pw.error != 0) {
            problem("passwd-read:" + std::to_string(pw.error),
                    "cannot read " + opts_.passwd_path + " (" + errno_text(pw.error) +
                        "); of the home directories only /root is examined for the files the rules name",
                    out);
        } else {
            last_.passwd_read = true;
            if (pw.truncated) {
                problem("passwd-large", opts_.passwd_path + " is larger than " +
                                            std::to_string(opts_.max_passwd_bytes) +
                                            " bytes; the rest of it is not read",
                        out);
            }
            passwd_homes ph = parse_passwd(pw.text, opts_.max_homes);
            last_.passwd_skipped = ph.skipped;
            if (ph.skipped > 0) {
                problem("passwd-malformed", opts_.passwd_path + ": " + std::to_string(ph.skipped) + " malformed line" +
                                                (ph.skipped == 1 ? "" : "s") + " skipped (the first is line " +
                                                std::to_string(ph.first_skipped_line) + ")",
                        out);
            }
            std::size_t over = ph.over_limit;
            for (std::string& h : ph.homes) {
                if (h == "/root") continue;
                if (homes.size() < opts_.max_homes) {
                    homes.push_back(std::move(h));
                } else {
                    ++over;
                }
            }
            if (over > 0) {
                problem("homes-limit", "more than " + std::to_string(opts_.max_homes) + " home directories in " +
                                           opts_.passwd_path + "; " + std::to_string(over) +
                                           " are not examined, and the files the rules name there are "
                                           "matched by path only",
                        out);
            }
        }
    }
    if (homes.size() > opts_.max_homes) homes.resize(opts_.max_homes);
    last_.homes = homes.size();

    // Forget what the rules or the homes no longer name.
    {
        const std::unordered_set<std::string> abs_set(ps.absolute.begin(), ps.absolute.end());
        const std::unordered_set<std::string> rel_set(ps.relative.begin(), ps.relative.end());
        const std::unordered_set<std::string> home_set(homes.begin(), homes.end());
        std::erase_if(known_, [&](const auto& kv) {
            const identity& id = kv.second;
            return id.origin.empty() ? !abs_set.contains(id.pattern)
                                     : !home_set.contains(id.origin) || !rel_set.contains(id.pattern);
        });
    }

    std::unordered_set<std::string> examined; // paths, so "/" + "etc/shadow" is not /etc/shadow twice
    const auto forget_home = [&](const std::string& home) {
        for (const std::string& rel : ps.relative) known_.erase(join_home(home, rel));
    };

    // Absolute patterns: few, always examined.
    for (const std::string& p : ps.absolute) {
        if (!examined.insert(p).second) continue;
        examine(p, -1, p, std::string(), p, out);
    }

    // Homes, from where the previous refresh stopped, within the probe bound.
    if (!ps.relative.empty()) {
        const std::size_t n = homes.size();
        const std::size_t start = next_home_ % n;
        const std::size_t cost = 3 + ps.relative.size(); // open, fstat, fstatfs, one fstatat per pattern
        next_home_ = 0;
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t i = (start + k) % n;
            if (k > 0 && last_.probes + cost > opts_.max_probes) {
                last_.complete = false;
                next_home_ = i;
                problem("probe-limit",
                        "the files the rules name need more than " + std::to_string(opts_.max_probes) +
                            " filesystem calls (" + std::to_string(n) + " home directories, " +
                            std::to_string(ps.relative.size()) +
                            " patterns); each refresh examines part of the homes and the next one continues",
                        out);
                break;
            }
            const std::string& home = homes[i];
            ++last_.homes_examined;
            // O_PATH: no automount is triggered for the home itself.
            ++last_.probes;
            const int fd = ::open((opts_.root + home).c_str(), O_PATH | O_CLOEXEC);
            if (fd < 0) {
                const int err = errno;
                forget_home(home);
                if (is_missing(err)) {
                    ++last_.homes_missing;
                } else {
                    ++last_.homes_skipped;
                    ++last_.errors;
                    problem("home:" + std::to_string(err),
                            "cannot examine home directory " + home + " (" + errno_text(err) +
                                "); the files the rules name under it are matched by path only "
                                "(reported once for this error)",
                            out);
                }
                continue;
            }
            const fd_closer guard{fd};
            struct stat sb {};
            ++last_.probes;
            if (::fstat(fd, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                forget_home(home);
                ++last_.homes_missing;
                continue;
            }
            struct statfs sf {};
            ++last_.probes;
            if (!opts_.examine_network_homes && ::fstatfs(fd, &sf) == 0) {
                if (const char* fs = skipped_home_filesystem(static_cast<std::uint32_t>(sf.f_type))) {
                    forget_home(home);
                    ++last_.homes_skipped;
                    problem(std::string("home-fs:") + fs,
                            "home directory " + home + " is on " + fs +
                                ", where a stat may wait on a server; homes there are not examined and the "
                                "files the rules name in them are matched by path only",
                            out);
                    continue;
                }
            }
            for (const std::string& rel : ps.relative) {
                std::string path = join_home(home, rel);
                if (!examined.insert(path).second) continue;
                examine(path, fd, rel, home, rel, out);
            }
        }
    }
    return out;
}

} // namespace barbwire::sensor
