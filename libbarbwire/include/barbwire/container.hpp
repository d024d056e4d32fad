#pragma once
// Containers: which container a process runs in, read from its cgroup path.
//
// Pure. The sensor reads /proc/PID/cgroup (or resolves the cgroup id the
// kernel recorded at exec) and the runtimes' state files; this header only
// parses text. No runtime socket is needed to name a container (only its
// labels come from one, sensor/runtime_api.hpp): every runtime names its
// containers in the cgroup path it creates, with either cgroup driver:
//
//   runtime     systemd driver (a scope)             cgroupfs driver
//   docker      docker-<id>.scope                    /docker/<id>
//   containerd  cri-containerd-<id>.scope            /kubepods/<qos>/pod<uid>/<id>
//   CRI-O       crio-<id>.scope                      /kubepods/<qos>/pod<uid>/<id>
//   podman      libpod-<id>.scope                    /libpod_parent/libpod-<id>
//   LXC         lxc.payload.<name>                   /lxc/<name>
//
// <id> is 64 lowercase hex digits. The monitors that run beside a container
// on the host (`crio-conmon-<id>.scope`, `libpod-conmon-<id>.scope`) are
// not containers. Kubernetes pods add a pod segment
// (`kubepods-burstable-pod<uid with _>.slice`, or `pod<uid>`), which gives
// the pod's UID; the pod's name and namespace come from the runtime's
// metadata (the sensor, sensor/containers.cpp).
//
// Nested cgroups (a container inside a container: kind, a CI runner) name
// several containers; the innermost one is the process's.
//
// A cgroup path is text anyone who can create a cgroup can choose: a user
// with a delegated subtree (systemd's user@UID.service) can name a cgroup
// `docker-<64 hex>.scope`. So a container found here is a claim until the
// sensor finds the runtime's own root-owned state for that id
// (container_info::verified). Rules that scope trust or categories to
// containers count only verified ones (docs/rules.md, "Containers").

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "barbwire/detail/shared_const.hpp"

namespace barbwire {

enum class container_runtime : std::uint8_t {
    docker,
    containerd,
    crio,
    podman,
    kubernetes, // a pod's container under the cgroupfs driver: the path does not say which CRI runtime
    lxc,
    unknown,    // a container id in a path no runtime above names
};

[[nodiscard]] constexpr std::string_view to_string(container_runtime r) noexcept {
    switch (r) {
    case container_runtime::docker: return "docker";
    case container_runtime::containerd: return "containerd";
    case container_runtime::crio: return "cri-o";
    case container_runtime::podman: return "podman";
    case container_runtime::kubernetes: return "kubernetes";
    case container_runtime::lxc: return "lxc";
    case container_runtime::unknown: return "unknown";
    }
    return "unknown";
}

[[nodiscard]] constexpr std::optional<container_runtime> container_runtime_from(std::string_view s) noexcept {
    for (auto r : {container_runtime::docker, container_runtime::containerd, container_runtime::crio,
                   container_runtime::podman, container_runtime::kubernetes, container_runtime::lxc,
                   container_runtime::unknown})
        if (to_string(r) == s) return r;
    return std::nullopt;
}

// A container's labels, as its runtime's API gives them (docker's and
// podman's Config.Labels, CRI-O's labels): pairs sorted by key, unique
// keys, at most max_container_labels, each key cut to max_label_key bytes
// and each value to max_label_value (at a UTF-8 character boundary). A
// label is text its container's creator chose: alerts escape it like any
// other text. bounded_labels() makes any list one.
using container_labels = std::vector<std::pair<std::string, std::string>>;
inline constexpr std::size_t max_container_labels = 32;
inline constexpr std::size_t max_label_key = 128;
inline constexpr std::size_t max_label_value = 256;

namespace detail {

// `s` cut to at most `max` bytes, not inside a UTF-8 sequence.
[[nodiscard]] inline std::string cut_utf8(std::string s, std::size_t max) {
    if (s.size() <= max) return s;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n; // s[n] continues a character
    s.resize(n);
    return s;
}

} // namespace detail

// Labels made bounded: keys and values cut, sorted by key, the first of
// equal keys kept, then the first max_container_labels keys (in key order:
// the same labels whatever order the runtime listed them in). Empty keys
// are dropped.
[[nodiscard]] inline container_labels bounded_labels(container_labels in) {
    for (auto& [k, v] : in) {
        k = detail::cut_utf8(std::move(k), max_label_key);
        v = detail::cut_utf8(std::move(v), max_label_value);
    }
    std::erase_if(in, [](const auto& kv) { return kv.first.empty(); });
    std::stable_sort(in.begin(), in.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    in.erase(std::unique(in.begin(), in.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
             in.end());
    if (in.size() > max_container_labels) in.resize(max_container_labels);
    return in;
}

// A container, as the cgroup path names it and the sensor's look at the
// runtime's state fills in.
struct container_info {
    std::string id;                 // the runtime's id (64 hex digits; LXC: the container's name)
    container_runtime runtime = container_runtime::unknown;
    std::string cgroup;             // the cgroup path the id was read from
    std::string name;               // the runtime's name for it; empty: unknown
    std::string image;              // the image reference; empty: unknown
    std::string pod_name;           // Kubernetes: empty when not a pod's, or unknown
    std::string pod_namespace;
    std::string pod_uid;            // from the cgroup path (or the runtime's metadata)
    std::string k8s_container;      // the container's name in the pod spec
    bool verified = false;          // the runtime's own root-owned state confirms the id (sensor)
    container_labels labels;        // the runtime API's labels (sensor/runtime_api.hpp); bounded_labels()
    friend bool operator==(const container_info&, const container_info&) = default;

    [[nodiscard]] bool in_pod() const noexcept { return !pod_uid.empty() || !pod_name.empty(); }
    // The short form runtimes print (docker ps, podman ps, crictl ps).
    [[nodiscard]] std::string short_id() const { return id.size() == 64 ? id.substr(0, 12) : id; }
};

namespace detail {

[[nodiscard]] constexpr bool is_hex64(std::string_view s) noexcept {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

[[nodiscard]] constexpr std::string_view strip_suffix(std::string_view s, std::string_view suffix) noexcept {
    if (s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix) s.remove_suffix(suffix.size());
    return s;
}

// `<prefix><64 hex>` (a `.scope` suffix already stripped): the id, or empty.
[[nodiscard]] constexpr std::string_view hex_after(std::string_view seg, std::string_view prefix) noexcept {
    if (seg.substr(0, prefix.size()) != prefix) return {};
    seg.remove_prefix(prefix.size());
    return is_hex64(seg) ? seg : std::string_view{};
}

// A pod UID as the cgroup path spells it: `pod<uid>` (cgroupfs) or
// `kubepods-<qos>-pod<uid with '_' for '-'>.slice` (systemd). Empty when
// the segment is no pod's.
[[nodiscard]] inline std::string pod_uid_of(std::string_view seg) {
    seg = strip_suffix(seg, ".slice");
    const auto at = seg.rfind("pod");
    if (at == std::string_view::npos) return {};
    if (at != 0 && !(seg.substr(0, 8) == "kubepods" && seg[at - 1] == '-')) return {};
    const std::string_view uid = seg.substr(at + 3);
    // A UID is 36 characters (8-4-4-4-12 hex); static pods use a 32-hex hash.
    if (uid.size() != 36 && uid.size() != 32) return {};
    std::string out;
    out.reserve(uid.size());
    for (char c : uid) {
        if (c == '_') c = '-';
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return {};
        out.push_back(c);
    }
    return out;
}

} // namespace detail

// The innermost container a cgroup path (as /proc/PID/cgroup spells it:
// absolute, from the hierarchy's root) names, or nullopt for a host
// process. `verified` is false: only the sensor can confirm an id.
[[nodiscard]] inline std::optional<container_info> container_of_cgroup(std::string_view path) {
    std::optional<container_info> found;
    std::string pod;        // the pod segment seen last, above the container
    bool kubepods = false;  // a kubepods segment above
    std::string_view prev;  // the previous segment
    std::size_t pos = 0;
    while (pos <= path.size()) {
        const std::size_t slash = path.find('/', pos);
        const std::string_view raw =
            path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
        pos = slash == std::string_view::npos ? path.size() + 1 : slash + 1;
        if (raw.empty()) continue;
        const std::string_view seg = detail::strip_suffix(raw, ".scope");
        if (seg.substr(0, 8) == "kubepods") kubepods = true;
        if (std::string uid = detail::pod_uid_of(raw); !uid.empty() && (kubepods || prev.substr(0, 8) == "kubepods"))
            pod = std::move(uid);

        container_runtime rt = container_runtime::unknown;
        std::string_view id;
        if (!(id = detail::hex_after(seg, "docker-")).empty()) {
            rt = container_runtime::docker;
        } else if (!(id = detail::hex_after(seg, "cri-containerd-")).empty()) {
            rt = container_runtime::containerd;
        } else if (!(id = detail::hex_after(seg, "crio-")).empty()) {
            rt = container_runtime::crio;
        } else if (!(id = detail::hex_after(seg, "libpod-")).empty()) {
            rt = container_runtime::podman;
        } else if (detail::is_hex64(seg)) {
            id = seg;
            rt = prev == "docker" ? container_runtime::docker
                 : kubepods       ? container_runtime::kubernetes
                                  : container_runtime::unknown;
        } else if (raw.substr(0, 12) == "lxc.payload." && raw.size() > 12) {
            id = raw.substr(12);
            rt = container_runtime::lxc;
        } else if (prev == "lxc" && found == std::nullopt) {
            id = raw;
            rt = container_runtime::lxc;
        }
        prev = raw;
        if (id.empty()) continue;
        container_info c;
        c.id = std::string(id);
        c.runtime = rt;
        c.cgroup = std::string(path.substr(0, pos > path.size() ? path.size() : pos - 1));
        if (kubepods) c.pod_uid = pod;
        found = std::move(c);
        pod.clear();
        kubepods = false; // a pod inside the container starts afresh
    }
    return found;
}

// The container /proc/PID/cgroup's text names. Each line is
// `hierarchy-ID:controllers:path`; the unified (cgroup v2) line `0::path`
// is read first, then the v1 lines (a hybrid or v1 host, where the runtime
// may place a container in the v1 hierarchies only). nullopt: a host
// process, or text with no line that parses.
[[nodiscard]] inline std::optional<container_info> container_of_proc_cgroup(std::string_view text) {
    std::optional<container_info> v1;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        const std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        const auto c1 = line.find(':');
        if (c1 == std::string_view::npos) continue;
        const auto c2 = line.find(':', c1 + 1);
        if (c2 == std::string_view::npos) continue;
        const std::string_view path = line.substr(c2 + 1);
        if (path.empty() || path.front() != '/') continue;
        auto c = container_of_cgroup(path);
        if (!c) continue;
        if (line.substr(0, c2) == "0:") return c; // the unified hierarchy decides
        if (!v1) v1 = std::move(c);
    }
    return v1;
}

// A container held out of line and shared by every process in it (the
// process table keeps one process_info per process; most processes on a
// node share a few containers). Empty: a host process (or one whose
// container the sensor could not tell). Compares by value.
using shared_container = detail::shared_const<container_info>;

// Do two processes run in the same container (or both on the host)? The
// family boundary (docs/rules.md, "Containers").
[[nodiscard]] inline bool same_container(const shared_container& a, const shared_container& b) noexcept {
    if (!a || !b) return !a && !b;
    return a.shared() == b.shared() || (a->id == b->id && a->runtime == b->runtime);
}

} // namespace barbwire
