#include "owner_files.hpp"
#include "fd_guard.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace barbwire::sensor {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view basename_of(std::string_view p) noexcept {
    const auto slash = p.rfind('/');
    return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::optional<std::uint16_t> parse_port(std::string_view s) noexcept {
    if (s.empty() || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

// A host name or an IP literal a resolver may be asked about: no spaces,
// no control characters, no wildcard or template.
bool plausible_host(std::string_view h) noexcept {
    if (h.empty() || h.size() > 253) return false;
    for (char c : h) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '*' || c == '%' || c == '/' || c == '@' || c == '(' || c == ')')
            return false;
    }
    return true;
}

// "host", "host:port", "[v6]", "[v6]:port", or a bare IPv6 literal.
std::optional<named_server> split_host_port(std::string_view hp, std::uint16_t default_port) {
    named_server s;
    s.port = default_port;
    if (hp.empty()) return std::nullopt;
    if (hp.front() == '[') {
        const auto close = hp.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        s.host = std::string(hp.substr(1, close - 1));
        std::string_view rest = hp.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            const auto p = parse_port(rest.substr(1));
            if (!p) return std::nullopt;
            s.port = *p;
        }
    } else if (std::count(hp.begin(), hp.end(), ':') > 1) {
        s.host = std::string(hp); // a bare IPv6 literal
    } else if (const auto colon = hp.find(':'); colon != std::string_view::npos) {
        s.host = std::string(hp.substr(0, colon));
        const auto p = parse_port(hp.substr(colon + 1));
        if (!p) return std::nullopt;
        s.port = *p;
    } else {
        s.host = std::string(hp);
    }
    s.host = lower(s.host);
    if (!plausible_host(s.host)) return std::nullopt;
    return s;
}

std::optional<std::uint16_t> scheme_port(std::string_view scheme) noexcept {
    if (scheme == "https") return 443;
    if (scheme == "http") return 80;
    if (scheme == "ssh" || scheme == "git+ssh" || scheme == "ssh+git") return 22;
    if (scheme == "ftp") return 21;
    if (scheme == "ftps") return 990;
    if (scheme == "git") return 9418;
    return std::nullopt;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void add(std::vector<named_server>& out, std::optional<named_server> s) {
    if (!s || out.size() >= max_servers) return;
    if (std::find(out.begin(), out.end(), *s) != out.end()) return;
    out.push_back(std::move(*s));
}

// .netrc: whitespace-separated tokens (a token may be "quoted"); "machine
// NAME" names a server (any port: netrc has none); "default" names none;
// "macdef NAME" runs to the next empty line.
void parse_netrc(std::string_view text, std::vector<named_server>& out) {
    std::size_t i = 0;
    const auto next = [&]() -> std::optional<std::string> {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
        if (i >= text.size()) return std::nullopt;
        std::string tok;
        if (text[i] == '"') {
            ++i;
            while (i < text.size() && text[i] != '"') {
                if (text[i] == '\\' && i + 1 < text.size()) ++i;
                tok += text[i++];
            }
            if (i < text.size()) ++i;
            return tok;
        }
        while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            tok += text[i++];
        return tok;
    };
    while (auto tok = next()) {
        if (*tok == "machine") {
            if (auto name = next()) {
                named_server s;
                s.host = lower(*name);
                s.port = 0;
                if (plausible_host(s.host)) add(out, s);
            }
        } else if (*tok == "macdef") {
            (void)next();
            const auto blank = text.find("\n\n", i);
            i = blank == std::string_view::npos ? text.size() : blank + 2;
        }
    }
}

void parse_kubeconfig(std::string_view text, std::vector<named_server>& out) {
    try {
        const YAML::Node root = YAML::Load(std::string(text));
        const YAML::Node clusters = root["clusters"];
        if (!clusters || !clusters.IsSequence()) return;
        for (const YAML::Node& c : clusters) {
            if (!c.IsMap()) continue;
            const YAML::Node cl = c["cluster"];
            if (!cl || !cl.IsMap()) continue;
            const YAML::Node server = cl["server"];
            if (!server || !server.IsScalar()) continue;
            add(out, server_of_url(server.Scalar(), "https"));
        }
    } catch (const std::exception&) {
        // not YAML, or not a kubeconfig: names nothing
    }
}

void parse_git_credentials(std::string_view text, std::vector<named_server>& out) {
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;
        if (line.find("://") == std::string_view::npos) continue;
        add(out, server_of_url(line));
    }
}

// Registry auth files: the keys of "auths" ("registry.example:5000",
// "https://index.docker.io/v1/"). A registry is https (443) unless a port
// says otherwise. Docker Hub's key names index.docker.io; its clients talk
// to registry-1.docker.io and auth.docker.io, bound with it.
void parse_registry_auth(std::string_view text, std::vector<named_server>& out) {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return;
    const auto auths = j.find("auths");
    if (auths == j.end() || !auths->is_object()) return;
    for (auto it = auths->begin(); it != auths->end(); ++it) {
        const std::string& key = it.key();
        std::optional<named_server> s = key.find("://") != std::string::npos ? server_of_url(key)
                                                                             : server_of_url(key, "https");
        if (!s) continue;
        const bool hub = s->host == "index.docker.io" || s->host == "docker.io";
        add(out, std::move(s));
        if (hub) {
            add(out, named_server{"registry-1.docker.io", 443});
            add(out, named_server{"auth.docker.io", 443});
        }
    }
}

// .s3cfg (INI): host_base and host_bucket ("%(bucket)s." prefix dropped),
// https unless use_https is false; s3cmd's default host when neither is set.
void parse_s3cfg(std::string_view text, std::vector<named_server>& out) {
    std::string base, bucket;
    bool https = true;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        const auto eq = line.find('=');
        if (line.empty() || line.front() == '#' || line.front() == ';' || eq == std::string_view::npos) continue;
        const std::string key = lower(trim(line.substr(0, eq)));
        const std::string_view value = trim(line.substr(eq + 1));
        if (key == "host_base") base = std::string(value);
        else if (key == "host_bucket") bucket = std::string(value);
        else if (key == "use_https") https = lower(value) == "true" || value == "1" || lower(value) == "yes";
    }
    const std::uint16_t port = https ? 443 : 80;
    if (base.empty() && bucket.empty()) base = "s3.amazonaws.com";
    if (!base.empty()) add(out, split_host_port(base, port));
    constexpr std::string_view templ = "%(bucket)s.";
    if (bucket.rfind(templ, 0) == 0) bucket.erase(0, templ.size());
    if (!bucket.empty()) add(out, split_host_port(bucket, port));
}

// Overwrites a buffer that held a credential before it is freed.
void wipe(std::string& s) noexcept {
    volatile char* p = s.data();
    for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
    s.clear();
}

} // namespace

std::string_view to_string(credential_format f) noexcept {
    switch (f) {
    case credential_format::netrc: return "netrc";
    case credential_format::kubeconfig: return "kubeconfig";
    case credential_format::git_credentials: return "git-credentials";
    case credential_format::registry_auth: return "registry-auth";
    case credential_format::s3cfg: return "s3cfg";
    }
    return "netrc";
}

std::optional<credential_format> credential_format_of(std::string_view path) noexcept {
    const std::string_view base = basename_of(path);
    if (base == ".netrc" || base == "_netrc") return credential_format::netrc;
    if (ends_with(path, "/.kube/config") || path == "/etc/kubernetes/admin.conf" ||
        path == "/etc/kubernetes/super-admin.conf" || path == "/etc/rancher/k3s/k3s.yaml" ||
        path == "/etc/rancher/rke2/rke2.yaml")
        return credential_format::kubeconfig;
    if (base == ".git-credentials" || ends_with(path, "/.config/git/credentials"))
        return credential_format::git_credentials;
    if (ends_with(path, "/.docker/config.json") || ends_with(path, "/containers/auth.json"))
        return credential_format::registry_auth;
    if (base == ".s3cfg") return credential_format::s3cfg;
    return std::nullopt;
}

std::optional<named_server> server_of_url(std::string_view url, std::string_view default_scheme) {
    url = trim(url);
    std::string scheme;
    const auto sep = url.find("://");
    if (sep != std::string_view::npos) {
        scheme = lower(url.substr(0, sep));
        url.remove_prefix(sep + 3);
    } else {
        scheme = std::string(default_scheme);
    }
    const auto port = scheme_port(scheme);
    if (!port) return std::nullopt;
    const auto end = url.find_first_of("/?#");
    std::string_view authority = url.substr(0, end);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    // git credential-store writes the port's colon as %3a: decode %XX.
    std::string decoded;
    for (std::size_t i = 0; i < authority.size(); ++i) {
        if (authority[i] == '%' && i + 2 < authority.size()) {
            const int hi = hex_value(authority[i + 1]), lo = hex_value(authority[i + 2]);
            if (hi >= 0 && lo >= 0) {
                decoded += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        decoded += authority[i];
    }
    return split_host_port(decoded, *port);
}

std::vector<named_server> parse_servers(credential_format f, std::string_view text) {
    std::vector<named_server> out;
    switch (f) {
    case credential_format::netrc: parse_netrc(text, out); break;
    case credential_format::kubeconfig: parse_kubeconfig(text, out); break;
    case credential_format::git_credentials: parse_git_credentials(text, out); break;
    case credential_format::registry_auth: parse_registry_auth(text, out); break;
    case credential_format::s3cfg: parse_s3cfg(text, out); break;
    }
    return out;
}

namespace {

// Opens `path` as a credential file (O_NOFOLLOW, O_NONBLOCK: no symlink, no
// FIFO wait) and reads it if it is a regular file of at most max_bytes that
// `accept` takes.
template <class Accept>
std::optional<file_text> read_regular_file(const std::string& path, std::uint64_t max_bytes,
                                           std::optional<std::pair<std::uint64_t, std::int64_t>> known,
                                           Accept&& accept) {
    const fd_guard g{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)};
    if (g.fd < 0) return std::nullopt;
    struct stat sb {};
    if (::fstat(g.fd, &sb) != 0 || !S_ISREG(sb.st_mode)) return std::nullopt;
    if (!accept(sb)) return std::nullopt;
    if (static_cast<std::uint64_t>(sb.st_size) > max_bytes) return std::nullopt;
    file_text out;
    out.size = static_cast<std::uint64_t>(sb.st_size);
    out.mtime_ns = static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 + sb.st_mtim.tv_nsec;
    if (known && known->first == out.size && known->second == out.mtime_ns) {
        out.unchanged = true;
        return out;
    }
    out.text.resize(static_cast<std::size_t>(sb.st_size));
    std::size_t got = 0;
    while (got < out.text.size()) {
        const ssize_t n = ::read(g.fd, out.text.data() + got, out.text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.text.resize(got);
    return out;
}

} // namespace

std::optional<file_text> read_credential_file(const std::string& path, std::uint64_t dev, std::uint64_t ino,
                                              std::uint64_t max_bytes,
                                              std::optional<std::pair<std::uint64_t, std::int64_t>> known) {
    return read_regular_file(path, max_bytes, known, [&](const struct stat& sb) {
        return static_cast<std::uint64_t>(sb.st_dev) == dev && static_cast<std::uint64_t>(sb.st_ino) == ino;
    });
}

std::optional<successor_text> read_credential_successor(const std::string& path, std::uint32_t owner,
                                                        std::uint64_t max_bytes) {
    successor_text out;
    auto f = read_regular_file(path, max_bytes, std::nullopt, [&](const struct stat& sb) {
        if (sb.st_uid != owner) return false;
        out.dev = static_cast<std::uint64_t>(sb.st_dev);
        out.ino = static_cast<std::uint64_t>(sb.st_ino);
        return true;
    });
    if (!f) return std::nullopt;
    out.file = std::move(*f);
    return out;
}

// ---- name_resolver ---------------------------------------------------------

name_resolver::name_resolver() : name_resolver(options{}) {}

name_resolver::name_resolver(options o) : opts_(o) {
    if (opts_.queue_capacity == 0) opts_.queue_capacity = 1;
    if (opts_.cache_capacity == 0) opts_.cache_capacity = 1;
    thread_ = std::thread([this] { run(); });
}

name_resolver::~name_resolver() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::optional<std::vector<ip_address>> name_resolver::lookup(const std::string& host) {
    if (const auto a = ip_address::parse(host)) return std::vector<ip_address>{*a};
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lk(mu_);
    if (const auto it = cache_.find(host); it != cache_.end() && it->second.expires > now) {
        ++stats_.cache_hits;
        return it->second.addrs;
    }
    if (queued_.count(host) == 0) {
        if (queue_.size() >= opts_.queue_capacity) {
            ++stats_.queue_full;
        } else {
            queue_.push_back(host);
            queued_.insert(host);
            cv_.notify_one();
        }
    }
    return std::nullopt;
}

bool name_resolver::completed() {
    std::lock_guard<std::mutex> lk(mu_);
    const bool c = completed_;
    completed_ = false;
    return c;
}

resolver_stats name_resolver::stats() const {
    std::lock_guard<std::mutex> lk(mu_);
    return stats_;
}

void name_resolver::run() {
    for (;;) {
        std::string host;
        {
            std::unique_lock<std::mutex> lk(mu_);
            cv_.wait(lk, [this] { return done_ || !queue_.empty(); });
            if (done_) return;
            host = queue_.front();
            queue_.pop_front();
        }
        std::vector<ip_address> addrs;
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
        if (rc == 0) {
            for (const addrinfo* a = res; a != nullptr && addrs.size() < 16; a = a->ai_next) {
                ip_address ip;
                if (a->ai_family == AF_INET) {
                    ip.family = AF_INET;
                    const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
                    std::memcpy(ip.bytes.data(), &sin->sin_addr, 4);
                } else if (a->ai_family == AF_INET6) {
                    ip.family = AF_INET6;
                    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
                    std::memcpy(ip.bytes.data(), &sin6->sin6_addr, 16);
                } else {
                    continue;
                }
                if (std::find(addrs.begin(), addrs.end(), ip) == addrs.end()) addrs.push_back(ip);
            }
            ::freeaddrinfo(res);
        }
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lk(mu_);
        ++stats_.lookups;
        if (addrs.empty()) ++stats_.failures;
        if (cache_.size() >= opts_.cache_capacity && cache_.count(host) == 0) {
            // Full: drop the entry that expires first.
            auto oldest = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
                return a.second.expires < b.second.expires;
            });
            if (oldest != cache_.end()) cache_.erase(oldest);
        }
        cache_[host] = answer{std::move(addrs), now + (rc == 0 ? opts_.ttl : opts_.negative_ttl)};
        queued_.erase(host);
        completed_ = true;
    }
}

// ---- owner_binder ------------------------------------------------------------

std::optional<event> owner_binder::on_sensitive_open(const event& ev, const correlator& corr) {
    const auto* o = ev.as<open_event>();
    if (o == nullptr || o->dev == 0 || o->ino == 0) return std::nullopt;
    const auto fmt = credential_format_of(o->path);
    if (!fmt) return std::nullopt;
    const std::pair<std::uint64_t, std::uint64_t> k{o->dev, o->ino};
    auto it = files_.find(k);
    std::optional<std::pair<std::uint64_t, std::int64_t>> known;
    if (it != files_.end() && it->second.format == *fmt) known = std::make_pair(it->second.size, it->second.mtime_ns);
    auto ft = read_credential_file(o->path, o->dev, o->ino, max_credential_file_bytes, known);
    if (!ft) {
        ++stats_.read_failures;
        // Gone by now (a store rewritten through a lock file, while the
        // event waited in the ring): bind the opened inode as the file that
        // replaced it, if that is its opener's own regular file at the same
        // path. Never quieter than the file's owner could make it by
        // writing the servers into the file itself (docs/threat-model.md).
        auto succ = read_credential_successor(o->path, o->uid);
        if (!succ || (succ->dev == o->dev && succ->ino == o->ino)) return std::nullopt;
        // size 0, mtime -1: never "unchanged", this inode's own bytes were not read
        file_state& f = remember(k, o->path, *fmt, 0, -1, succ->file.text);
        ++stats_.successor_bindings;
        return binding_for(k.first, k.second, f, corr, ev.ts);
    }
    file_state& f = ft->unchanged ? it->second : remember(k, o->path, *fmt, ft->size, ft->mtime_ns, ft->text);
    return binding_for(k.first, k.second, f, corr, ev.ts);
}

owner_binder::file_state& owner_binder::remember(const file_key& k, const std::string& path, credential_format fmt,
                                                 std::uint64_t size, std::int64_t mtime_ns, std::string& text) {
    if (files_.find(k) == files_.end() && files_.size() >= capacity_) files_.erase(files_.begin());
    file_state& f = files_[k];
    f.path = path;
    f.format = fmt;
    f.size = size;
    f.mtime_ns = mtime_ns;
    f.servers = parse_servers(fmt, text);
    wipe(text);
    ++stats_.files_parsed;
    return f;
}

std::optional<event> owner_binder::binding_for(std::uint64_t dev, std::uint64_t ino, file_state& f,
                                               const correlator& corr, nanoseconds ts) {
    binding_event b;
    b.path = f.path;
    b.dev = dev;
    b.ino = ino;
    b.format = std::string(to_string(f.format));
    f.pending = false;
    for (const named_server& s : f.servers) {
        const auto addrs = resolver_.lookup(s.host);
        if (!addrs) {
            f.pending = true;
            continue;
        }
        for (const ip_address& a : *addrs) b.destinations.push_back(bound_destination{s.host, a, s.port});
    }
    const file_binding* cur = corr.bindings().peek(dev, ino);
    if (cur == nullptr && b.destinations.empty()) return std::nullopt;
    if (cur != nullptr && cur->destinations == b.destinations && cur->path == b.path && cur->format == b.format)
        return std::nullopt;
    event ev;
    ev.ts = ts;
    ev.body = std::move(b);
    ++stats_.bindings;
    return ev;
}

std::vector<event> owner_binder::poll(const correlator& corr, nanoseconds ts) {
    std::vector<event> out;
    if (!resolver_.completed()) return out;
    for (auto& [k, f] : files_) {
        if (!f.pending) continue;
        if (auto ev = binding_for(k.first, k.second, f, corr, ts)) {
            ++stats_.late_bindings;
            out.push_back(std::move(*ev));
        }
    }
    return out;
}

} // namespace barbwire::sensor
