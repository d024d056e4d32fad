#include "file_names.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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


// stat of `name` at `dirfd` that never waits on a file server for attributes
// (AT_STATX_DONT_SYNC: cached attributes are fine for the type and device)
// and never triggers an automount. `follow`: follow a final symbolic link.
struct quick_stat {
    int error = 0;
    std::uint32_t mode = 0;
    std::uint32_t uid = 0;
    std::uint64_t dev = 0;
};

quick_stat stat_quick(int dirfd, const char* name, bool follow) {
    quick_stat q;
    struct statx sx {};
    const int flags = AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC | (follow ? 0 : AT_SYMLINK_NOFOLLOW) |
                      (name[0] == '\0' ? AT_EMPTY_PATH : 0);
    if (::statx(dirfd, name, flags, STATX_TYPE | STATX_UID, &sx) != 0) {
        q.error = errno;
        return q;
    }
    q.mode = sx.stx_mode;
    q.uid = sx.stx_uid;
    q.dev = static_cast<std::uint64_t>(makedev(sx.stx_dev_major, sx.stx_dev_minor));
    return q;
}

// A directory name joined below `rel` ("" is the home).
std::string join_rel(const std::string& rel, std::string_view name) {
    std::string out;
    out.reserve(rel.size() + 1 + name.size());
    out += rel;
    if (!out.empty()) out += '/';
    out += name;
    return out;
}

std::size_t rules_signature(const std::vector<std::string>& patterns, const std::vector<search_root>& roots) {
    std::size_t h = 0x9e3779b97f4a7c15ull;
    const auto mix = [&h](std::string_view v) {
        h ^= std::hash<std::string_view>{}(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    };
    for (const std::string& p : patterns) mix(p);
    mix("\n");
    for (const search_root& r : roots) {
        mix(r.rel);
        mix(std::to_string(r.max_depth));
    }
    return h;
}

// The patterns of the categories that count (not context), once each.
std::vector<std::string> counting_patterns(const config& cfg) {
    std::vector<std::string> out;
    std::unordered_set<std::string> seen;
    for (const file_category& cat : cfg.suspicious_files) {
        if (cat.context) continue;
        for (const std::string& p : cat.patterns) {
            if (p.empty() || p.find('\0') != std::string::npos) continue;
            if (seen.insert(p).second) out.push_back(p);
        }
    }
    return out;
}

// "a/b/" -> "a/b"; "/" or "" -> "".
std::string strip_slashes(std::string_view p) {
    while (!p.empty() && p.front() == '/') p.remove_prefix(1);
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    return std::string(p);
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
            std::uint32_t uid = 0;
            std::from_chars(f[2].data(), f[2].data() + f[2].size(), uid);
            r.uids.push_back(uid);
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

// --- walks: pure parts ----------------------------------------------------------------

std::string walk_root::path() const { return rel.empty() ? home : join_home(home, rel); }

std::vector<search_root> default_search_roots() {
    return {
        // The home itself, two levels: ~/vault.kdbx, ~/Documents/Passwords/x.kdbx, ~/Downloads/wallet.dat.
        {"", 2},
        // Firefox and Thunderbird profiles: logins.json, key4.db, cookies.sqlite.
        {".mozilla/firefox", 3},
        {".thunderbird", 3},
        {"snap/firefox/common/.mozilla/firefox", 3},
        {".var/app/org.mozilla.firefox/.mozilla/firefox", 3},
        {".var/app/org.mozilla.Thunderbird/.thunderbird", 3},
        // Chromium-based browsers: Login Data, Cookies, Local Extension Settings/<wallet extension>/.
        {".config/google-chrome", 4},
        {".config/google-chrome-beta", 4},
        {".config/chromium", 4},
        {".config/BraveSoftware", 5},
        {".config/microsoft-edge", 4},
        {".config/vivaldi", 4},
        {".config/opera", 4},
        {"snap/chromium/common/chromium", 4},
        {"snap/brave/current/.config/BraveSoftware", 5},
        {".var/app/com.google.Chrome/config/google-chrome", 4},
        {".var/app/org.chromium.Chromium/config/chromium", 4},
        {".var/app/com.brave.Browser/config/BraveSoftware", 5},
        {".var/app/com.microsoft.Edge/config/microsoft-edge", 4},
        // Wallet applications: wallet.dat, Electrum wallets, keystores, Exodus, Atomic, Wasabi.
        {".bitcoin", 3},
        {".litecoin", 3},
        {".dogecoin", 3},
        {".zcash", 2},
        {".electrum", 2},
        {".electrum-ltc", 2},
        {".ethereum", 3},
        {".config/Exodus", 3},
        {".config/atomic", 3},
        {".walletwasabi", 4},
        // Messaging applications: Discord and Slack tokens, Telegram Desktop's tdata.
        {".config/discord", 3},
        {".config/discordcanary", 3},
        {".config/discordptb", 3},
        {".config/Slack", 3},
        {".local/share/TelegramDesktop", 3},
        {"snap/discord/current/.config/discord", 3},
        {"snap/slack/current/.config/Slack", 3},
        {"snap/telegram-desktop/current/.local/share/TelegramDesktop", 3},
        {".var/app/com.discordapp.Discord/config/discord", 3},
        {".var/app/com.slack.Slack/config/Slack", 3},
        {".var/app/org.telegram.desktop/data/TelegramDesktop", 3},
    };
}

std::vector<walk_root> plan_walks(const config& cfg, const std::vector<std::string>& homes,
                                  const std::vector<search_root>& search, std::size_t max_depth) {
    const std::vector<std::string> patterns = counting_patterns(cfg);
    std::vector<walk_root> out;
    if (patterns.empty()) return out;
    std::vector<std::string> dirs;     // below every home
    std::vector<std::string> abs_dirs; // at the root
    {
        std::unordered_set<std::string> seen_dirs, seen_abs;
        for (const std::string& p : patterns) {
            if (p.back() != '/') continue;
            std::string rel = strip_slashes(p);
            if (rel.empty()) continue;
            if (p.front() == '/' && seen_abs.insert(rel).second) abs_dirs.push_back(rel);
            if (seen_dirs.insert(rel).second) dirs.push_back(std::move(rel));
        }
    }
    std::unordered_set<std::string> seen;
    const auto add = [&](walk_root r) {
        r.max_depth = std::min(r.max_depth, max_depth);
        if (seen.insert(r.path()).second) out.push_back(std::move(r));
    };
    for (const std::string& home : homes) {
        for (const std::string& rel : dirs) add(walk_root{home, rel, max_depth, false});
        for (const search_root& sr : search) {
            std::string rel = strip_slashes(sr.rel);
            const bool itself = rel.empty();
            add(walk_root{home, std::move(rel), sr.max_depth, itself});
        }
    }
    for (const std::string& rel : abs_dirs) add(walk_root{"/", rel, max_depth, false});
    return out;
}

bool walk_skips_directory(std::string_view name) noexcept {
    static constexpr std::array<std::string_view, 38> names{
        // version control, packages, build and game trees
        "node_modules", ".git", ".hg", ".svn", "__pycache__", "site-packages", "steamapps",
        // caches
        ".cache", "cache", "Cache", "Cache_Data", "Code Cache", "GPUCache", "GrShaderCache", "ShaderCache",
        "GraphiteDawnCache", "DawnCache", "DawnGraphiteCache", "DawnWebGPUCache", "CacheStorage", "ScriptCache",
        "Service Worker", "cache2", "startupCache", "thumbnails", "blob_storage", "component_crx_cache",
        "optimization_guide_model_store",
        // installed browser extensions' code (not their storage, "Local Extension Settings")
        "Extensions",
        // crash dumps
        "Crashpad", "crashes", "minidumps", "Crash Reports",
        // Telegram Desktop's media cache, emoji and crash dumps inside tdata
        "user_data", "emoji", "dumps",
        // snaps' shared caches, fsck's leftovers
        "common-cache", "lost+found"};
    return std::find(names.begin(), names.end(), name) != names.end();
}

bool walk_skips_filesystem(std::string_view fstype) noexcept {
    // Network, cluster and FUSE filesystems: a read may wait on a server or a
    // daemon (mounts.hpp, shared with the hashing of executables).
    if (filesystem_may_block(fstype)) return true;
    static constexpr std::array<std::string_view, 21> types{
        // automount points: entering one mounts it
        "autofs",
        // kernel filesystems: no stores, endless or special trees
        "proc", "sysfs", "cgroup", "cgroup2", "devpts", "devtmpfs", "debugfs", "tracefs", "securityfs", "bpf",
        "configfs", "pstore", "efivarfs", "fusectl", "mqueue", "hugetlbfs", "binfmt_misc", "selinuxfs", "nsfs",
        "rpc_pipefs"};
    return std::find(types.begin(), types.end(), fstype) != types.end();
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
    id.walked = false; // a path the stat phase names is the stat phase's, even if a walk found it first
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
    std::unordered_map<std::string, std::uint32_t> owners{{"/root", 0}}; // home -> its account's uid
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
            for (std::size_t i = 0; i < ph.homes.size(); ++i) {
                std::string& h = ph.homes[i];
                if (h == "/root") continue;
                if (homes.size() < opts_.max_homes) {
                    owners.emplace(h, ph.uids[i]);
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
            if (id.walked) return false; // the walks forget their own (start_pass, end_pass)
            return id.origin.empty() ? !abs_set.contains(id.pattern)
                                     : !home_set.contains(id.origin) || !rel_set.contains(id.pattern);
        });
    }

    std::unordered_set<std::string> examined; // paths, so "/" + "etc/shadow" is not /etc/shadow twice
    const auto forget_home = [&](const std::string& home) {
        for (const std::string& rel : ps.relative) {
            const auto it = known_.find(join_home(home, rel));
            if (it != known_.end() && !it->second.walked) known_.erase(it);
        }
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
    if (opts_.walk) walk(cfg, homes, owners, out);
    return out;
}


// --- the walks ----------------------------------------------------------------------

std::size_t file_names::walked() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(known_.begin(), known_.end(), [](const auto& kv) { return kv.second.walked; }));
}

void file_names::walk(const config& cfg, const std::vector<std::string>& homes,
                      const std::unordered_map<std::string, std::uint32_t>& owners, file_names_update& out) {
    // New rules (a reload) or new search roots: a new pass at once.
    std::vector<std::string> patterns = counting_patterns(cfg);
    const std::size_t signature = rules_signature(patterns, opts_.search_roots);
    if (signature != walk_.signature || walk_.patterns != patterns) {
        walk_.signature = signature;
        walk_.patterns = std::move(patterns);
        const std::vector<std::string_view> views(walk_.patterns.begin(), walk_.patterns.end());
        walk_.matcher = detail::substring_automaton(views);
        walk_.active = false;
        walk_.due = true;
    }
    ++walk_.since;
    if (!walk_.active) {
        if (!walk_.due && walk_.since < std::max<std::size_t>(opts_.walk_every, 1)) return;
        start_pass(cfg, homes, owners, out);
    }
    last_.walk_roots = walk_.plan.size();
    walk_.inode_paths.clear();
    for (const auto& [path, id] : known_) {
        auto [at, fresh] = walk_.inode_paths.try_emplace(inode_id{id.dev, id.ino}, path);
        if (!fresh && !id.walked) at->second = path; // the stat phase's path wins
    }

    std::size_t budget = std::max<std::size_t>(opts_.max_walk_entries, 1);
    int homefd = -1;
    std::string homefd_of;
    const auto close_home = [&] {
        if (homefd >= 0) ::close(homefd);
        homefd = -1;
        homefd_of.clear();
    };
    while (walk_.active) {
        if (walk_.next >= walk_.plan.size()) {
            end_pass(true);
            break;
        }
        if (budget == 0) break;
        const walk_root& root = walk_.plan[walk_.next];
        if (homefd_of != root.home) {
            close_home();
            const home_state& hs = check_home(root.home, out);
            if (!hs.usable) {
                walk_.in_root = false;
                walk_.stack.clear();
                ++walk_.next;
                continue;
            }
            // O_PATH: no automount is triggered for the home itself.
            homefd = ::open((opts_.root + root.home).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (homefd < 0) {
                walk_.in_root = false;
                walk_.stack.clear();
                ++walk_.next;
                continue;
            }
            homefd_of = root.home;
        }
        if (!walk_.in_root) {
            --budget; // opening a root is a directory entry's worth of work
            if (!open_root(homefd, out)) ++walk_.next;
            continue;
        }
        if (walk_.stack.empty()) {
            walk_.in_root = false;
            ++walk_.next;
            continue;
        }
        const pending_dir dir = std::move(walk_.stack.back());
        walk_.stack.pop_back();
        read_dir(homefd, dir, budget, out);
        if (walk_.files >= opts_.max_walk_files) {
            problem("walk-files", "the walks found " + std::to_string(walk_.files) +
                                      " files the rules name, the most a pass keeps (" +
                                      std::to_string(opts_.max_walk_files) +
                                      "); the rest of this pass is not walked and those files are matched by "
                                      "path only",
                    out);
            end_pass(false);
        }
    }
    close_home();
    if (walk_.active) {
        problem("walk-budget", "the places walked for the files the rules name hold more than " +
                                   std::to_string(opts_.max_walk_entries) +
                                   " directory entries; each refresh walks part of them and the next one "
                                   "continues",
                out);
    }
}

void file_names::start_pass(const config& cfg, const std::vector<std::string>& homes,
                            const std::unordered_map<std::string, std::uint32_t>& owners, file_names_update& out) {
    walk_.active = true;
    walk_.due = false;
    walk_.since = 0;
    ++walk_.pass;
    walk_.plan = plan_walks(cfg, homes, opts_.search_roots, opts_.max_walk_depth);
    walk_.next = 0;
    walk_.in_root = false;
    walk_.stack.clear();
    walk_.files = 0;
    walk_.owners = owners;
    walk_.homes.clear();
    last_.walk_started = true;

    // What the walks found under roots the plan no longer has is forgotten now.
    std::unordered_set<std::string> roots;
    for (const walk_root& r : walk_.plan) roots.insert(r.path());
    std::erase_if(known_, [&](const auto& kv) { return kv.second.walked && !roots.contains(kv.second.pattern); });

    // Which device is which filesystem, so that no walk enters a network,
    // FUSE, automount or kernel filesystem.
    walk_.mounts.clear();
    walk_.mounts_known = false;
    const read_outcome mi = read_bounded(opts_.mountinfo_path, std::size_t{4} << 20);
    if (mi.error != 0) {
        problem("mountinfo:" + std::to_string(mi.error),
                "cannot read " + opts_.mountinfo_path + " (" + errno_text(mi.error) +
                    "); the walks for the files the rules name stay on their home's filesystem",
                out);
        return;
    }
    for (mount_entry& m : parse_mountinfo(mi.text)) walk_.mounts[m.dev] = std::move(m.fstype);
    walk_.mounts_known = !walk_.mounts.empty();
}

void file_names::end_pass(bool complete) {
    walk_.active = false;
    walk_.in_root = false;
    walk_.stack.clear();
    walk_.homes.clear();
    last_.walk_finished = true;
    if (!complete) return;
    ++walk_.completed;
    last_.walk_complete = true;
    // A walked file this pass did not see is gone (or no longer named).
    std::erase_if(known_, [&](const auto& kv) { return kv.second.walked && kv.second.pass != walk_.pass; });
}

const file_names::home_state& file_names::check_home(const std::string& home, file_names_update& out) {
    const auto found = walk_.homes.find(home);
    if (found != walk_.homes.end()) return found->second;
    home_state& hs = walk_.homes[home];
    const quick_stat q = stat_quick(AT_FDCWD, (opts_.root + home).c_str(), true);
    if (q.error != 0 || !S_ISDIR(q.mode)) return hs;
    hs.dev = q.dev;
    if (walk_.mounts_known) {
        // Silently: a home on a network filesystem was reported by the stat phase, and a system
        // account's home on a kernel filesystem (/dev, /proc) is nothing to report.
        if (!enters(q.dev, 0, home, out, false)) return hs;
    } else if (!opts_.examine_network_homes) {
        // No mount table: the home's filesystem as the stat phase checks it.
        const int fd = ::open((opts_.root + home).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return hs;
        const fd_closer guard{fd};
        struct statfs sf {};
        if (::fstatfs(fd, &sf) == 0 && skipped_home_filesystem(static_cast<std::uint32_t>(sf.f_type)) != nullptr) {
            ++last_.walk_skipped;
            return hs;
        }
    }
    hs.usable = true;
    const auto owner = walk_.owners.find(home);
    hs.owned = owner != walk_.owners.end() && owner->second == q.uid;
    return hs;
}

bool file_names::enters(std::uint64_t dev, std::uint64_t from_dev, const std::string& path, file_names_update& out,
                        bool report) {
    if (dev == from_dev) return true;
    if (!walk_.mounts_known) {
        // Another filesystem, and no mount table to say which: not entered.
        ++last_.walk_skipped;
        return false;
    }
    const auto m = walk_.mounts.find(dev);
    if (m == walk_.mounts.end()) {
        ++last_.walk_skipped;
        if (report) {
            problem("walk-fs-unknown", path + " is on a filesystem that " + opts_.mountinfo_path +
                                           " does not list (device " + std::to_string(major(dev)) + ":" +
                                           std::to_string(minor(dev)) +
                                           "); the walks do not enter such directories, and the files the rules "
                                           "name there are matched by path only (reported once)",
                    out);
        }
        return false;
    }
    if (!walk_skips_filesystem(m->second)) return true;
    ++last_.walk_skipped;
    if (report) {
        problem("walk-fs:" + m->second, path + " is on " + m->second +
                                            ", which the walks do not enter (a network, FUSE, automount or kernel "
                                            "filesystem); the files the rules name there are matched by path only "
                                            "(reported once for this filesystem type)",
                out);
    }
    return false;
}

bool file_names::open_root(int homefd, file_names_update& out) {
    const walk_root& root = walk_.plan[walk_.next];
    const home_state& hs = check_home(root.home, out);
    if (!hs.usable) return false;
    if (root.home_itself && !hs.owned) return false; // /bin, /usr/sbin, / as homes of system accounts
    // The root itself may be a symbolic link (a store kept in a synced folder); below it, none is followed.
    const quick_stat q = stat_quick(homefd, root.rel.c_str(), true);
    if (q.error != 0) {
        if (!is_missing(q.error) && q.error != EACCES) {
            ++last_.walk_errors;
            problem("walk-root:" + std::to_string(q.error),
                    "cannot examine " + root.path() + " (" + errno_text(q.error) +
                        "), walked for the files the rules name; they are matched by path only there (reported "
                        "once for this error)",
                    out);
        }
        return false;
    }
    if (!S_ISDIR(q.mode)) return false;
    if (!enters(q.dev, hs.dev, root.path(), out)) return false;
    walk_.stack.clear();
    walk_.stack.push_back(pending_dir{root.rel, 0, q.dev});
    walk_.in_root = true;
    walk_.root_entries = 0;
    walk_.root_files = 0;
    return true;
}

void file_names::read_dir(int homefd, const pending_dir& dir, std::size_t& budget, file_names_update& out) {
    const walk_root& root = walk_.plan[walk_.next];
    const std::string base = dir.rel.empty() ? root.home : join_home(root.home, dir.rel);
    // The root may be a symbolic link (open_root); any directory below it must not be.
    const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK | (dir.rel == root.rel ? 0 : O_NOFOLLOW);
    const int fd = ::openat(homefd, dir.rel.empty() ? "." : dir.rel.c_str(), flags);
    ++last_.walk_dirs;
    if (fd < 0) {
        const int err = errno;
        if (!is_missing(err)) {
            ++last_.walk_errors;
            problem("walk-dir:" + std::to_string(err),
                    "cannot read directory " + base + " (" + errno_text(err) +
                        "), walked for the files the rules name; those in it are matched by path only (reported "
                        "once for this error)",
                    out);
        }
        return;
    }
    // Still the filesystem it was found on: a mount made since is checked again.
    const quick_stat self = stat_quick(fd, "", false);
    if (self.error != 0 || (self.dev != dir.dev && !enters(self.dev, dir.dev, base, out))) {
        ::close(fd);
        return;
    }
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
        ::close(fd);
        return;
    }
    std::size_t n = 0;
    bool stop_root = false;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        if (n == opts_.max_dir_entries) {
            problem("walk-dir-entries", "directory " + base + " has more than " +
                                            std::to_string(opts_.max_dir_entries) +
                                            " entries; the walks read that many of one directory, and the files "
                                            "the rules name among the rest are matched by path only (reported once)",
                    out);
            break;
        }
        ++n;
        ++last_.walk_entries;
        ++walk_.root_entries;
        if (budget > 0) --budget;
        unsigned type = e->d_type;
        quick_stat q;
        bool have = false;
        if (type == DT_UNKNOWN) {
            q = stat_quick(::dirfd(d), e->d_name, false);
            have = true;
            if (q.error != 0) continue;
            type = S_ISDIR(q.mode) ? DT_DIR : S_ISREG(q.mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type == DT_DIR) {
            if (dir.depth >= root.max_depth || walk_skips_directory(name)) continue;
            if (root.home_itself && name.front() == '.') continue; // a home's dot-directories have roots of their own
            if (!have) q = stat_quick(::dirfd(d), e->d_name, false);
            if (q.error != 0 || !S_ISDIR(q.mode)) continue;
            if (q.dev != dir.dev && !enters(q.dev, dir.dev, join_home(base, name), out)) continue;
            walk_.stack.push_back(pending_dir{join_rel(dir.rel, name), dir.depth + 1, q.dev});
        } else if (type == DT_REG) {
            std::string path = join_home(base, name);
            if (walk_.matcher.best_rank(path) == detail::substring_automaton::no_rank) continue;
            struct stat sb {};
            if (::fstatat(::dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode)) continue;
            record_walked(path, static_cast<std::uint64_t>(sb.st_dev), static_cast<std::uint64_t>(sb.st_ino),
                          out);
            if (walk_.root_files >= opts_.max_root_files) {
                problem("walk-root-files:" + root.path(),
                        root.path() + " holds more than " + std::to_string(opts_.max_root_files) +
                            " files the rules name; the walks keep that many of one place, and the rest are "
                            "matched by path only (reported once for this place)",
                        out);
                stop_root = true;
                break;
            }
            if (walk_.files >= opts_.max_walk_files) break;
        }
        // Symbolic links, sockets, FIFOs, devices: not followed, not named.
        if (walk_.root_entries >= opts_.max_root_entries) {
            problem("walk-root-entries:" + root.path(),
                    root.path() + " holds more than " + std::to_string(opts_.max_root_entries) +
                        " directory entries; the walks read that many below one place per pass, and the files the "
                        "rules name among the rest are matched by path only (reported once for this place)",
                    out);
            stop_root = true;
            break;
        }
    }
    ::closedir(d);
    if (stop_root) walk_.stack.clear();
}

void file_names::record_walked(const std::string& path, std::uint64_t dev, std::uint64_t ino,
                               file_names_update& out) {
    const auto it = known_.find(path);
    if (it != known_.end() && !it->second.walked) return; // the stat phase names it
    const auto [owner, fresh] = walk_.inode_paths.try_emplace(inode_id{dev, ino}, path);
    if (!fresh && owner->second != path) {
        ++last_.walk_aliases; // a hard link to a file named by another path: that path stays its name
        return;
    }
    ++last_.walk_files;
    ++walk_.files;
    ++walk_.root_files;
    const walk_root& root = walk_.plan[walk_.next];
    auto [at, inserted] = known_.try_emplace(path);
    identity& id = at->second;
    id.walked = true;
    id.pass = walk_.pass;
    id.origin = root.home;
    id.pattern = root.path();
    if (!inserted && id.dev == dev && id.ino == ino) return;
    id.dev = dev;
    id.ino = ino;
    ++last_.walk_changed;
    out.changed.push_back(file_event{path, dev, ino});
}

} // namespace barbwire::sensor
