#pragma once
// Owner use, the sensor's half (docs/rules.md, "Owner use"): the servers a
// credential file names.
//
//  * credential_format_of(path): which files name their servers, by shape:
//    .netrc / _netrc, kubeconfigs (~/.kube/config and the cluster admin
//    files the rules name), .git-credentials, registry auth files
//    (~/.docker/config.json, containers/auth.json) and .s3cfg.
//  * parse_servers(format, text): the servers (host as written, port; 0 =
//    any port), from the file's text. Pure, unit-tested.
//  * read_credential_file: the file's bytes, safely: O_NOFOLLOW|O_NONBLOCK,
//    a regular file whose (dev, ino) is the open event's, at most max bytes.
//  * name_resolver: getaddrinfo on a thread of its own (a bounded queue and
//    a cache with a TTL); the event loop never resolves a name.
//  * owner_binder: on a sensitive open of such a file, reads and parses it
//    (again only when its size or mtime changed), resolves its servers and
//    makes the binding event (event.hpp) when the correlator's binding of
//    that inode differs. Names still resolving are bound as soon as their
//    answers come (poll()); until then the file is bound to what is known,
//    and a network event before that is judged with it.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <barbwire/correlator.hpp>
#include <barbwire/event.hpp>

namespace barbwire::sensor {

enum class credential_format : std::uint8_t { netrc, kubeconfig, git_credentials, registry_auth, s3cfg };

[[nodiscard]] std::string_view to_string(credential_format f) noexcept;

// The format of a credential file that names its servers, from its path
// (absolute, kernel-resolved); nullopt for any other file.
[[nodiscard]] std::optional<credential_format> credential_format_of(std::string_view path) noexcept;

// A server as a file names it: a host name or IP literal, and a port (0: any).
struct named_server {
    std::string host;
    std::uint16_t port = 0;
    friend bool operator==(const named_server&, const named_server&) = default;
    friend auto operator<=>(const named_server&, const named_server&) = default;
};

// The servers the text of a file of format `f` names, without duplicates,
// at most max_servers. Malformed parts are skipped; never throws.
inline constexpr std::size_t max_servers = 64;
[[nodiscard]] std::vector<named_server> parse_servers(credential_format f, std::string_view text);

// host and port of a URL ("https://user:pw@host:6443/path"); the port
// defaults by scheme (https 443, http 80, ssh 22, ftp 21, git 9418);
// nullopt for an unknown scheme or no host. `default_scheme` applies to a
// text without "://".
[[nodiscard]] std::optional<named_server> server_of_url(std::string_view url, std::string_view default_scheme = {});

// The bytes of the regular file at `path` whose (dev, ino) is the given
// one, at most max_bytes; nullopt otherwise (another file, not regular,
// too large, unreadable). Opened O_RDONLY|O_NOFOLLOW|O_NONBLOCK.
// With `known` (size, mtime ns) equal to the file's, nothing is read and
// `unchanged` is set.
struct file_text {
    std::string text;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    bool unchanged = false;
};
inline constexpr std::uint64_t max_credential_file_bytes = 1u << 20;
[[nodiscard]] std::optional<file_text> read_credential_file(
    const std::string& path, std::uint64_t dev, std::uint64_t ino, std::uint64_t max_bytes = max_credential_file_bytes,
    std::optional<std::pair<std::uint64_t, std::int64_t>> known = std::nullopt);

// The file that replaced the opened one at `path`: clients rewrite their
// stores through a lock file renamed over the old one (git credential-store
// on every successful login), so by the time a sensor that lags reads the
// path, the opened inode may be gone. The same checks as above (regular,
// not a symlink, bounded), and owned by `owner` (the opener's uid: its own
// file, which it could have written anything into anyway); `dev` and `ino`
// are set to the successor's.
struct successor_text {
    file_text file;
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
};
[[nodiscard]] std::optional<successor_text> read_credential_successor(
    const std::string& path, std::uint32_t owner, std::uint64_t max_bytes = max_credential_file_bytes);

struct resolver_stats {
    std::uint64_t lookups = 0;   // names resolved by the thread
    std::uint64_t failures = 0;  // of which failed (no address)
    std::uint64_t queue_full = 0; // names not queued: the queue was full
    std::uint64_t cache_hits = 0;
};

// getaddrinfo off the event loop. lookup() never blocks on the network: an
// IP literal is answered at once, a cached name (fresh: answers for ttl,
// failures for negative_ttl) too, any other name is queued (at most
// queue_capacity waiting) and lookup() returns nullopt; completed() tells,
// once, that answers arrived since the last call.
class name_resolver {
public:
    struct options {
        std::size_t queue_capacity = 64;
        std::size_t cache_capacity = 1024;
        std::chrono::seconds ttl{60};
        std::chrono::seconds negative_ttl{10};
    };
    name_resolver();
    explicit name_resolver(options o);
    ~name_resolver();
    name_resolver(const name_resolver&) = delete;
    name_resolver& operator=(const name_resolver&) = delete;

    [[nodiscard]] std::optional<std::vector<ip_address>> lookup(const std::string& host);
    [[nodiscard]] bool completed();
    [[nodiscard]] resolver_stats stats() const;

private:
    struct answer {
        std::vector<ip_address> addrs;
        std::chrono::steady_clock::time_point expires;
    };
    void run();

    options opts_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
    std::set<std::string> queued_;
    std::map<std::string, answer> cache_;
    bool done_ = false;
    bool completed_ = false;
    resolver_stats stats_;
    std::thread thread_;
};

struct owner_binder_stats {
    std::uint64_t files_parsed = 0;   // credential files read and parsed
    std::uint64_t read_failures = 0;  // could not be read as the event's file
    std::uint64_t bindings = 0;       // binding events made
    std::uint64_t late_bindings = 0;  // of which made after a name's answer came
    std::uint64_t successor_bindings = 0; // opened files gone by the read, bound as the file that replaced them
};

class owner_binder {
public:
    explicit owner_binder(std::size_t capacity = 1024) : capacity_(capacity) {}

    // After the correlator took a sensitive open `ev` (an open event): the
    // binding event to feed it next, if the file names servers and the
    // correlator's binding of the inode differs.
    [[nodiscard]] std::optional<event> on_sensitive_open(const event& ev, const correlator& corr);

    // Bindings that became more complete since the last call, because
    // answers to their names arrived (timestamped `ts`).
    [[nodiscard]] std::vector<event> poll(const correlator& corr, nanoseconds ts);

    [[nodiscard]] const owner_binder_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] resolver_stats resolver() const { return resolver_.stats(); }

private:
    struct file_state {
        std::string path;
        credential_format format = credential_format::netrc;
        std::uint64_t size = 0;
        std::int64_t mtime_ns = 0;
        std::vector<named_server> servers;
        bool pending = false; // some names had no answer yet
    };
    struct key_hash {
        std::size_t operator()(const std::pair<std::uint64_t, std::uint64_t>& k) const noexcept {
            return std::hash<std::uint64_t>{}(k.first * 0x9e3779b97f4a7c15ull ^ k.second);
        }
    };
    using file_key = std::pair<std::uint64_t, std::uint64_t>;
    // Parses `text` (then wipes it) into the entry of `k`, evicting one
    // entry when the table is full and `k` is new.
    file_state& remember(const file_key& k, const std::string& path, credential_format fmt, std::uint64_t size,
                         std::int64_t mtime_ns, std::string& text);
    [[nodiscard]] std::optional<event> binding_for(std::uint64_t dev, std::uint64_t ino, file_state& f,
                                                   const correlator& corr, nanoseconds ts);

    std::size_t capacity_;
    std::unordered_map<std::pair<std::uint64_t, std::uint64_t>, file_state, key_hash> files_;
    name_resolver resolver_;
    owner_binder_stats stats_;
};

} // namespace barbwire::sensor
