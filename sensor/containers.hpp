#pragma once
// Which container a process runs in, and what its runtime says about it
// (docs/containers.md).
//
//   1. The kernel records the exec's cgroup id (unified hierarchy). The
//      resolver reads /proc/PID/cgroup while the process lives, or else
//      turns the id into its cgroup directory with open_by_handle_at on the
//      cgroup2 mount (a cgroup outlives the short-lived processes in it).
//   2. The path names the container (barbwire/container.hpp: docker,
//      containerd, CRI-O, podman, LXC, Kubernetes pods; either driver).
//   3. The runtime's own state on this host confirms the id when it is
//      root-owned (verified) and gives its name, image and pod: the OCI
//      bundle's config.json annotations (containerd, CRI-O), podman's and
//      CRI-O's containers.json and images.json, docker's config.v2.json.
//      Read once per container, on the event loop (local files).
//   3b. Labels come from the runtime's API when its socket is here, off the
//      event loop (runtime_api.hpp); republish() puts the answer in.
//   4. For alerts, a path the container sees is mapped to the host's path
//      through the container's mount table (/proc/PID/mountinfo) and the
//      sensor's own.
//
// Bounded: at most max_entries cgroups and containers are remembered;
// a full cache is cleared (the next lookups read /proc again).
//
// The parsers are pure and unit-tested (test/unit/test_sensor_containers.cpp).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include <barbwire/container.hpp>
#include <barbwire/event.hpp>

#include "file_names.hpp"

namespace barbwire::sensor {

// --- pure parsers -----------------------------------------------------------------

// Mount tables: mounts.hpp's parse_mountinfo (dev, fstype, mount point, root).

// The host's path of `path` as a process with mount table `inner` sees it,
// through a host mount table `host` that mounts the same file system (same
// device) at a root that contains it. nullopt when no host mount reaches it
// (a tmpfs of the container's own, an unmounted overlay).
[[nodiscard]] std::optional<std::string> host_path_of(std::string_view path, const std::vector<mount_entry>& inner,
                                                      const std::vector<mount_entry>& host);

// What an OCI bundle's config.json (or any runtime's) annotations say:
// containerd's io.kubernetes.cri.*, CRI-O's io.kubernetes.pod.* and
// io.kubernetes.container.name, the image annotations. Fills only what is
// empty in `c`.
void apply_annotations(container_info& c, const nlohmann::json& annotations);

// podman's and CRI-O's containers.json (an array of {id, names, image}) and
// images.json (an array of {id, names}): the container's first name and its
// image's first name (or the image id). Fills only what is empty in `c`.
void apply_storage_containers(container_info& c, const nlohmann::json& containers, const nlohmann::json* images);

// The string members of a JSON object (a runtime's labels) as bounded
// labels (container.hpp); other values are skipped, and anything but an
// object is no labels.
[[nodiscard]] container_labels labels_of(const nlohmann::json& object);

// docker's config.v2.json: Name (without its '/'), Config.Image, its
// Config.Labels, and the io.kubernetes.* labels of dockershim's containers.
void apply_docker_config(container_info& c, const nlohmann::json& config);

// --- the resolver ----------------------------------------------------------------

struct container_stats {
    std::uint64_t lookups = 0;          // resolve() calls that were not cache hits
    std::uint64_t from_proc = 0;        // resolved through /proc/PID/cgroup
    std::uint64_t from_cgroup_id = 0;   // through the cgroup id (the process was gone)
    std::uint64_t unresolved = 0;       // neither: the process was gone and the id unknown
    std::uint64_t containers = 0;       // distinct containers seen
    std::uint64_t verified = 0;         // of them, confirmed by the runtime's state
    std::uint64_t cache_clears = 0;
    std::uint64_t republished = 0;      // copies published after a runtime API answer
};

class container_resolver {
public:
    // `proc_root` and `state_root` are "/proc" and "/" except in tests;
    // state paths are looked up under state_root.
    explicit container_resolver(std::string proc_root = "/proc", std::string state_root = "/",
                                std::size_t max_entries = 4096);

    // The container of process `pid`, whose exec recorded `cgroup_id` (0:
    // unknown). `known` is set to false when nothing could be read (the
    // process is gone and the id is new): the caller keeps what it knew
    // (the container inherited at fork). An empty result with known set is
    // a host process.
    [[nodiscard]] shared_container resolve(pid_type pid, std::uint64_t cgroup_id, bool& known);

    // For alerts: the host's path of `path` as the container sees it, from
    // the container's mount table (read from `pid`, or remembered from the
    // first process of the container). nullopt when it cannot be told.
    [[nodiscard]] std::optional<std::string> host_path(const container_info& c, pid_type pid, std::string_view path);

    // The runtime's API answered (runtime_api.hpp): a new copy of container
    // `id` with `change` applied replaces the shared one, so processes that
    // exec into it from now on carry it; the old copy is left as it was
    // (processes and alerts share it: never mutated). false when the id is
    // not (or no longer) known.
    template <class Change>
    bool republish(const std::string& id, Change&& change) {
        const auto it = by_id_.find(id);
        if (it == by_id_.end() || !it->second) return false;
        container_info c = *it->second;
        change(c);
        const shared_container old = it->second;
        it->second = shared_container(std::make_shared<const container_info>(std::move(c)));
        for (auto& [cg, shared] : by_cgroup_)
            if (shared.shared() == old.shared()) shared = it->second;
        ++stats_.republished;
        return true;
    }

    // The newest copy of container `id` (empty when not known): what an
    // alert of a process that still holds an older copy should carry.
    [[nodiscard]] shared_container current(const std::string& id) const {
        const auto it = by_id_.find(id);
        return it == by_id_.end() ? shared_container{} : it->second;
    }

    [[nodiscard]] const container_stats& stats() const noexcept { return stats_; }

private:
    void enrich(container_info& c) const;
    [[nodiscard]] std::optional<std::string> cgroup_path_of_id(std::uint64_t id) const;
    [[nodiscard]] std::string state(std::string_view path) const;

    std::string proc_root_;
    std::string state_root_;
    std::size_t max_entries_;
    std::string cgroup2_mount_;                                       // empty: none found
    bool unified_only_ = false;                                       // cgroup v2 only: ids decide
    std::unordered_map<std::uint64_t, shared_container> by_cgroup_;   // cgroup id -> container (empty: host)
    std::unordered_map<std::string, shared_container> by_id_;         // container id -> the one shared copy
    std::unordered_map<std::string, std::vector<mount_entry>> mounts_; // container id -> its mount table
    container_stats stats_;
};

} // namespace barbwire::sensor
