#include "containers.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstddef>
#include <cstring>
#include <iterator>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_guard.hpp"
#include "proc_seed.hpp"

namespace barbwire::sensor {

namespace {

// Is `prefix` a path prefix of `path` at a component boundary ("/" is one of everything)?
bool path_within(std::string_view path, std::string_view prefix) {
    if (prefix == "/") return !path.empty() && path.front() == '/';
    if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
}

// `base` joined with `rest` (rest is "" or starts with '/').
std::string join(std::string_view base, std::string_view rest) {
    if (rest.empty()) return std::string(base);
    if (base == "/") return std::string(rest);
    return std::string(base) + std::string(rest);
}

// The part of `path` below `prefix` ("" or starting with '/'), given path_within(path, prefix).
std::string_view below(std::string_view path, std::string_view prefix) {
    if (prefix == "/") return path == "/" ? std::string_view{} : path;
    return path.substr(prefix.size());
}

const std::string* string_at(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return nullptr;
    return &it->get_ref<const std::string&>();
}

void fill(std::string& field, const std::string* value) {
    if (field.empty() && value != nullptr && !value->empty()) field = *value;
}

// The first string of j[key] (an array of names).
const std::string* first_name(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    const auto it = j.find(key);
    if (it == j.end() || !it->is_array() || it->empty() || !it->front().is_string()) return nullptr;
    return &it->front().get_ref<const std::string&>();
}

std::optional<nlohmann::json> read_json(const std::string& path, std::size_t max) {
    auto text = read_proc_file(path, max);
    if (!text || text->size() >= max) return std::nullopt; // absent, unreadable, or too large to be a state file
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
}

// A directory that only root can have made and changed: the runtime's own.
bool root_owned_dir(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return false;
    return S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & S_IWOTH) == 0;
}

std::vector<std::string> subdirs(const std::string& path) {
    std::vector<std::string> out;
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return out;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        out.emplace_back(name);
        if (out.size() >= 64) break; // containerd namespaces: a handful
    }
    ::closedir(d);
    return out;
}

constexpr std::size_t max_state_json = 8U << 20;   // containers.json of a busy node
constexpr std::size_t max_config_json = 1U << 20;  // one OCI config.json

} // namespace

// --- pure parsers -----------------------------------------------------------------

std::optional<std::string> host_path_of(std::string_view path, const std::vector<mount_entry>& inner,
                                        const std::vector<mount_entry>& host) {
    if (path.empty() || path.front() != '/') return std::nullopt;
    // The mount that holds `path`: the deepest mount point above it, the
    // last one mounted there when several are (it hides the others).
    const mount_entry* in = nullptr;
    for (const auto& m : inner)
        if (path_within(path, m.mount_point) && (in == nullptr || m.mount_point.size() >= in->mount_point.size()))
            in = &m;
    if (in == nullptr) return std::nullopt;
    const std::string fs_path = join(in->root, below(path, in->mount_point));
    // A host mount of the same file system whose root contains it: the
    // deepest such root (the most specific bind mount).
    const mount_entry* out = nullptr;
    for (const auto& m : host)
        if (m.dev == in->dev && path_within(fs_path, m.root) &&
            (out == nullptr || m.root.size() > out->root.size()))
            out = &m;
    if (out == nullptr) return std::nullopt;
    return join(out->mount_point, below(fs_path, out->root));
}

void apply_annotations(container_info& c, const nlohmann::json& a) {
    if (!a.is_object()) return;
    // containerd's CRI plugin
    fill(c.k8s_container, string_at(a, "io.kubernetes.cri.container-name"));
    fill(c.image, string_at(a, "io.kubernetes.cri.image-name"));
    fill(c.pod_name, string_at(a, "io.kubernetes.cri.sandbox-name"));
    fill(c.pod_namespace, string_at(a, "io.kubernetes.cri.sandbox-namespace"));
    fill(c.pod_uid, string_at(a, "io.kubernetes.cri.sandbox-uid"));
    // CRI-O (and dockershim's labels)
    fill(c.k8s_container, string_at(a, "io.kubernetes.container.name"));
    fill(c.pod_name, string_at(a, "io.kubernetes.pod.name"));
    fill(c.pod_namespace, string_at(a, "io.kubernetes.pod.namespace"));
    fill(c.pod_uid, string_at(a, "io.kubernetes.pod.uid"));
    fill(c.image, string_at(a, "io.kubernetes.cri-o.ImageName"));
    fill(c.name, string_at(a, "io.kubernetes.cri-o.Name"));
    // the image's own annotation, when the runtime copies it
    fill(c.image, string_at(a, "org.opencontainers.image.ref.name"));
    if (c.name.empty() && !c.k8s_container.empty()) c.name = c.k8s_container;
}

void apply_storage_containers(container_info& c, const nlohmann::json& containers, const nlohmann::json* images) {
    if (!containers.is_array()) return;
    for (const auto& e : containers) {
        const std::string* id = string_at(e, "id");
        if (id == nullptr || *id != c.id) continue;
        fill(c.name, first_name(e, "names"));
        const std::string* image_id = string_at(e, "image");
        if (image_id == nullptr || !c.image.empty()) return;
        if (images != nullptr && images->is_array()) {
            for (const auto& i : *images) {
                const std::string* iid = string_at(i, "id");
                if (iid != nullptr && *iid == *image_id) {
                    fill(c.image, first_name(i, "names"));
                    break;
                }
            }
        }
        fill(c.image, image_id); // no name: the image's id
        return;
    }
}

container_labels labels_of(const nlohmann::json& object) {
    container_labels out;
    if (!object.is_object()) return out;
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (!it->is_string()) continue;
        out.emplace_back(it.key(), it->get<std::string>());
        if (out.size() >= 16 * max_container_labels) break; // enough to choose from: bounds the sort too
    }
    return bounded_labels(std::move(out));
}

void apply_docker_config(container_info& c, const nlohmann::json& config) {
    if (const std::string* name = string_at(config, "Name")) {
        std::string n = *name;
        if (!n.empty() && n.front() == '/') n.erase(0, 1);
        fill(c.name, &n);
    }
    if (config.is_object()) {
        const auto it = config.find("Config");
        if (it != config.end() && it->is_object()) {
            fill(c.image, string_at(*it, "Image"));
            const auto labels = it->find("Labels");
            if (labels != it->end()) {
                apply_annotations(c, *labels);
                if (c.labels.empty()) c.labels = labels_of(*labels);
            }
        }
    }
}

// --- the resolver ----------------------------------------------------------------

container_resolver::container_resolver(std::string proc_root, std::string state_root, std::size_t max_entries)
    : proc_root_(std::move(proc_root)), state_root_(std::move(state_root)), max_entries_(max_entries) {
    if (state_root_.empty() || state_root_.back() != '/') state_root_ += '/';
    // The unified hierarchy: where a cgroup id can be opened by handle.
    if (auto text = read_proc_file(proc_root_ + "/self/mountinfo", 1U << 20)) {
        for (const auto& m : parse_mountinfo(*text))
            if (m.fstype == "cgroup2" && m.root == "/") {
                cgroup2_mount_ = m.mount_point;
                break;
            }
    }
    // A host with the unified hierarchy only (cgroup v2): every process's
    // cgroup is decided there, so a cgroup id stands for its container.
    // On a hybrid host a runtime may place a container in the v1
    // hierarchies only, where the unified id is its parent's.
    if (auto self = read_proc_file(proc_root_ + "/self/cgroup", 1U << 16)) unified_only_ = self->rfind("0::", 0) == 0;
}

std::string container_resolver::state(std::string_view path) const { return state_root_ + std::string(path); }

std::optional<std::string> container_resolver::cgroup_path_of_id(std::uint64_t id) const {
    if (cgroup2_mount_.empty() || id <= 1) return std::nullopt;
    const fd_guard mfd(::open(cgroup2_mount_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (mfd.fd < 0) return std::nullopt;
    // cgroupfs file handles: type FILEID_KERNFS (0xfe), the 64-bit kernfs id.
    // struct file_handle ends in a flexible array: the handle is built in a
    // buffer of the right size and alignment instead of a struct around it.
    alignas(file_handle) unsigned char buf[sizeof(file_handle) + sizeof(std::uint64_t)] = {};
    auto* fh = reinterpret_cast<file_handle*>(buf);
    fh->handle_bytes = sizeof(std::uint64_t);
    fh->handle_type = 0xfe;
    std::memcpy(buf + offsetof(file_handle, f_handle), &id, sizeof(id));
    const fd_guard fd(::open_by_handle_at(mfd.fd, fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.fd < 0) return std::nullopt;
    char link[PATH_MAX];
    const std::string fdpath = proc_root_ + "/self/fd/" + std::to_string(fd.fd);
    const ssize_t n = ::readlink(fdpath.c_str(), link, sizeof(link));
    if (n <= 0) return std::nullopt;
    std::string_view p(link, static_cast<std::size_t>(n));
    if (!path_within(p, cgroup2_mount_)) return std::nullopt;
    const std::string_view rel = below(p, cgroup2_mount_);
    return rel.empty() ? std::string("/") : std::string(rel);
}

void container_resolver::enrich(container_info& c) const {
    const std::string& id = c.id;
    // 1. The runtime's own state confirms the id (root-owned directories).
    // The first two are CRI-O's and podman's storage (containers/storage).
    const std::string confirm[] = {
        "run/containers/storage/overlay-containers/", "var/lib/containers/storage/overlay-containers/",
        "run/docker/containerd/", "var/lib/docker/containers/", "run/crun/", "run/runc/", "var/lib/lxc/",
    };
    bool owned[std::size(confirm)] = {};
    for (std::size_t i = 0; i < std::size(confirm); ++i) owned[i] = root_owned_dir(state(confirm[i] + id));
    std::string containerd_bundle;
    for (const auto& ns : subdirs(state("run/containerd/io.containerd.runtime.v2.task"))) {
        const std::string b = state("run/containerd/io.containerd.runtime.v2.task/" + ns + "/" + id);
        if (root_owned_dir(b)) containerd_bundle = b;
    }
    c.verified = !containerd_bundle.empty() || std::find(std::begin(owned), std::end(owned), true) != std::end(owned);
    if (!c.verified) return; // an unconfirmed claim gets no metadata either: it would be the claimant's
    if (c.runtime == container_runtime::kubernetes) {
        if (!containerd_bundle.empty()) c.runtime = container_runtime::containerd;
        else if (owned[0] || owned[1]) c.runtime = container_runtime::crio;
    }
    // 2. What it says about the container.
    if (!containerd_bundle.empty()) {
        if (auto j = read_json(containerd_bundle + "/config.json", max_config_json))
            if (j->contains("annotations")) apply_annotations(c, (*j)["annotations"]);
    }
    for (const char* base : {"run/containers/storage/overlay-containers/", "var/lib/containers/storage/overlay-containers/"}) {
        if (auto j = read_json(state(std::string(base) + id + "/userdata/config.json"), max_config_json))
            if (j->contains("annotations")) apply_annotations(c, (*j)["annotations"]);
    }
    if (c.name.empty() || c.image.empty()) {
        if (auto cj = read_json(state("var/lib/containers/storage/overlay-containers/containers.json"), max_state_json)) {
            auto ij = read_json(state("var/lib/containers/storage/overlay-images/images.json"), max_state_json);
            apply_storage_containers(c, *cj, ij ? &*ij : nullptr);
        }
    }
    if (c.runtime == container_runtime::docker) {
        if (auto j = read_json(state("var/lib/docker/containers/" + id + "/config.v2.json"), max_config_json))
            apply_docker_config(c, *j);
    }
}

shared_container container_resolver::resolve(pid_type pid, std::uint64_t cgroup_id, bool& known) {
    known = true;
    const bool by_id = cgroup_id > 1;
    if (by_id) {
        const auto it = by_cgroup_.find(cgroup_id);
        if (it != by_cgroup_.end()) return it->second;
    }
    ++stats_.lookups;
    std::optional<container_info> found;
    bool decided_by_unified = false;
    if (auto text = read_proc_file(proc_root_ + "/" + std::to_string(pid) + "/cgroup", 1U << 16)) {
        ++stats_.from_proc;
        found = container_of_proc_cgroup(*text);
        // Cached by cgroup id only when the unified hierarchy decided (see the constructor).
        decided_by_unified = unified_only_ || (found && text->find("0::" + found->cgroup) != std::string::npos);
    } else if (auto path = by_id ? cgroup_path_of_id(cgroup_id) : std::nullopt) {
        ++stats_.from_cgroup_id;
        found = container_of_cgroup(*path);
        decided_by_unified = true;
    } else {
        ++stats_.unresolved;
        known = false;
        return {};
    }
    shared_container out;
    if (found) {
        auto it = by_id_.find(found->id);
        if (it == by_id_.end()) {
            if (by_id_.size() >= max_entries_) {
                by_id_.clear();
                mounts_.clear();
                ++stats_.cache_clears;
            }
            enrich(*found);
            ++stats_.containers;
            if (found->verified) ++stats_.verified;
            // The container's mount table, for host paths in its alerts.
            if (auto mi = read_proc_file(proc_root_ + "/" + std::to_string(pid) + "/mountinfo", 1U << 20))
                mounts_[found->id] = parse_mountinfo(*mi);
            std::string key = found->id; // before *found is moved from
            it = by_id_.emplace(std::move(key), shared_container(std::make_shared<const container_info>(std::move(*found))))
                     .first;
        }
        out = it->second;
    }
    if (by_id && decided_by_unified) {
        if (by_cgroup_.size() >= max_entries_) {
            by_cgroup_.clear();
            ++stats_.cache_clears;
        }
        by_cgroup_.emplace(cgroup_id, out);
    }
    return out;
}

std::optional<std::string> container_resolver::host_path(const container_info& c, pid_type pid, std::string_view path) {
    std::vector<mount_entry> inner;
    if (auto mi = read_proc_file(proc_root_ + "/" + std::to_string(pid) + "/mountinfo", 1U << 20)) {
        inner = parse_mountinfo(*mi);
    } else {
        const auto it = mounts_.find(c.id);
        if (it == mounts_.end()) return std::nullopt;
        inner = it->second;
    }
    // The host's mount table: init's (the sensor may run in a container of
    // its own, with the host's pid namespace), else the sensor's.
    auto host_text = read_proc_file(proc_root_ + "/1/mountinfo", 1U << 20);
    if (!host_text) host_text = read_proc_file(proc_root_ + "/self/mountinfo", 1U << 20);
    if (!host_text) return std::nullopt;
    return host_path_of(path, inner, parse_mountinfo(*host_text));
}

} // namespace barbwire::sensor
