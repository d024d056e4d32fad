#include "runtime_api.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <sys/stat.h>

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "containers.hpp" // apply_annotations

namespace barbwire::sensor {

namespace {

using nlohmann::json;

const std::string* string_at(const json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return nullptr;
    return &it->get_ref<const std::string&>();
}

// The labels in the object j[key] (none when it is missing or null).
container_labels labels_at(const json& j, const char* key) {
    if (!j.is_object()) return {};
    const auto it = j.find(key);
    return it == j.end() ? container_labels{} : labels_of(*it);
}

check_result<json> parse_object(std::string_view body, const char* what) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded()) return tl::unexpected(std::string(what) + ": the answer is not JSON");
    if (!j.is_object()) return tl::unexpected(std::string(what) + ": the answer is not a JSON object");
    return j;
}

// An answer larger than this is not an inspect answer of one container.
constexpr std::size_t max_body = 1U << 20;

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* body = static_cast<std::string*>(user);
    const std::size_t bytes = size * n;
    if (body->size() + bytes > max_body) return 0; // makes curl fail the transfer
    body->append(data, bytes);
    return bytes;
}

// One GET over a unix socket; the body of a 200 answer, or nullopt.
std::optional<std::string> http_get(const std::string& socket, const std::string& path,
                                    std::chrono::milliseconds timeout) {
    CURL* h = ::curl_easy_init();
    if (h == nullptr) return std::nullopt;
    std::string body;
    const std::string url = "http://localhost" + path;
    ::curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
    ::curl_easy_setopt(h, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
    ::curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#endif
    ::curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); // a worker thread: no SIGALRM for timeouts
    ::curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
    ::curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    ::curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    ::curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    ::curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    const CURLcode rc = ::curl_easy_perform(h);
    long status = 0;
    ::curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    ::curl_easy_cleanup(h);
    if (rc != CURLE_OK || status != 200) return std::nullopt;
    return body;
}

} // namespace

std::string_view to_string(runtime_api_kind k) noexcept {
    switch (k) {
    case runtime_api_kind::docker: return "docker";
    case runtime_api_kind::crio: return "cri-o";
    }
    return "docker";
}

std::vector<runtime_socket> default_runtime_sockets() {
    // /var/run is /run on current systems: trusted_socket() resolves both
    // to one real path, and the worker asks each real path once.
    return {
        {"/run/docker.sock", runtime_api_kind::docker},
        {"/var/run/docker.sock", runtime_api_kind::docker},
        {"/run/podman/podman.sock", runtime_api_kind::docker},
        {"/var/run/crio/crio.sock", runtime_api_kind::crio},
        {"/run/crio/crio.sock", runtime_api_kind::crio},
    };
}

check_result<runtime_answer> parse_docker_inspect(std::string_view body) {
    auto j = parse_object(body, "docker API");
    if (!j) return tl::unexpected(std::move(j).error());
    runtime_answer a;
    a.from = runtime_api_kind::docker;
    const std::string* id = string_at(*j, "Id");
    if (id == nullptr || id->empty()) return tl::unexpected(std::string("docker API: the answer has no Id"));
    a.info.id = *id;
    if (const std::string* name = string_at(*j, "Name")) {
        a.info.name = *name;
        if (!a.info.name.empty() && a.info.name.front() == '/') a.info.name.erase(0, 1); // docker's "/web"
    }
    if (const auto cfg = j->find("Config"); cfg != j->end() && cfg->is_object()) {
        if (const std::string* image = string_at(*cfg, "Image")) a.info.image = *image;
        a.info.labels = labels_at(*cfg, "Labels");
        // cri-dockerd's (dockershim's) containers: the pod in io.kubernetes.* labels.
        if (const auto labels = cfg->find("Labels"); labels != cfg->end()) apply_annotations(a.info, *labels);
    }
    return a;
}

check_result<runtime_answer> parse_crio_inspect(std::string_view body) {
    auto j = parse_object(body, "CRI-O");
    if (!j) return tl::unexpected(std::move(j).error());
    runtime_answer a;
    a.from = runtime_api_kind::crio;
    for (const char* key : {"crio_annotations", "annotations"}) {
        const auto it = j->find(key);
        if (it == j->end()) continue;
        if (const std::string* id = string_at(*it, "io.kubernetes.cri-o.ContainerID"); id != nullptr && a.info.id.empty())
            a.info.id = *id;
    }
    if (a.info.id.empty())
        return tl::unexpected(std::string("CRI-O: the answer names no container id (io.kubernetes.cri-o.ContainerID)"));
    if (const std::string* name = string_at(*j, "name")) a.info.name = *name;
    if (const std::string* image = string_at(*j, "image")) a.info.image = *image;
    a.info.labels = labels_at(*j, "labels");
    // The pod: CRI-O puts io.kubernetes.pod.* in the labels, the rest in the annotations.
    for (const char* key : {"labels", "annotations", "crio_annotations"})
        if (const auto it = j->find(key); it != j->end()) apply_annotations(a.info, *it);
    return a;
}

void apply_runtime_answer(container_info& c, const runtime_answer& a) {
    c.labels = a.info.labels;
    const auto fill = [](std::string& field, const std::string& value) {
        if (field.empty()) field = value;
    };
    fill(c.name, a.info.name);
    fill(c.image, a.info.image);
    fill(c.pod_name, a.info.pod_name);
    fill(c.pod_namespace, a.info.pod_namespace);
    fill(c.pod_uid, a.info.pod_uid);
    fill(c.k8s_container, a.info.k8s_container);
}

check_result<std::string> trusted_socket(const std::string& path) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) return tl::unexpected(path + ": " + std::strerror(errno));
    const std::string real = buf;
    struct stat st {};
    if (::lstat(real.c_str(), &st) != 0) return tl::unexpected(real + ": " + std::strerror(errno));
    if (!S_ISSOCK(st.st_mode)) return tl::unexpected(real + " is not a socket");
    if (st.st_uid != 0) return tl::unexpected(real + " is not owned by root");
    // Each directory above: root's, and no one else may rename or replace
    // what is in it (group or world writable only with the sticky bit).
    for (std::size_t slash = real.rfind('/'); slash != std::string::npos && slash > 0; slash = real.rfind('/', slash - 1)) {
        const std::string dir = real.substr(0, slash);
        if (::lstat(dir.c_str(), &st) != 0) return tl::unexpected(dir + ": " + std::strerror(errno));
        if (!S_ISDIR(st.st_mode) || st.st_uid != 0) return tl::unexpected(dir + " is not a directory owned by root");
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
            return tl::unexpected(dir + " is writable by others than root");
    }
    if (::lstat("/", &st) != 0 || st.st_uid != 0) return tl::unexpected(std::string("/ is not owned by root"));
    return real;
}

std::vector<runtime_socket> sockets_for(container_runtime rt, const std::vector<runtime_socket>& all) {
    const auto of = [&](runtime_api_kind k) {
        std::vector<runtime_socket> out;
        for (const auto& s : all)
            if (s.kind == k) out.push_back(s);
        return out;
    };
    switch (rt) {
    case container_runtime::docker:
    case container_runtime::podman: return of(runtime_api_kind::docker);
    case container_runtime::crio: return of(runtime_api_kind::crio);
    case container_runtime::kubernetes: {
        // The cgroupfs driver does not say which runtime: CRI-O, or docker through cri-dockerd.
        auto out = of(runtime_api_kind::crio);
        for (auto& s : of(runtime_api_kind::docker)) out.push_back(std::move(s));
        return out;
    }
    case container_runtime::containerd: // CRI is gRPC only: not asked (docs/containers.md)
    case container_runtime::lxc:
    case container_runtime::unknown: return {};
    }
    return {};
}

// --- the worker ------------------------------------------------------------------

runtime_api::runtime_api(options o) : opts_(std::move(o)) {
    if (opts_.sockets.empty()) return;
    // Before the thread: curl_global_init is not thread-safe (reference counted, so
    // the webhook outputs' call and this one do not clash).
    if (::curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        opts_.sockets.clear();
        return;
    }
    thread_ = std::thread([this] { run(); });
}

runtime_api::~runtime_api() {
    {
        std::lock_guard lock(mu_);
        done_ = true;
        queue_.clear();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join(); // at most one request's time limit per socket
}

void runtime_api::want(const container_info& c) {
    if (!enabled() || !c.verified || !detail::is_hex64(c.id)) return;
    if (sockets_for(c.runtime, opts_.sockets).empty()) return;
    const auto now = std::chrono::steady_clock::now();
    if (const auto it = known_.find(c.id); it != known_.end()) {
        // Answered and the copy has labels, or asked lately: nothing to do. An
        // answered container whose copy has none is asked again after a while:
        // the resolver may have dropped the copy that had them (a full cache).
        const bool settled = it->second.s == state::pending || (it->second.s == state::answered && !c.labels.empty());
        if (settled || now - it->second.at < opts_.retry_after) return;
    }
    if (known_.size() >= opts_.max_containers) known_.clear();
    {
        std::lock_guard lock(mu_);
        if (queue_.size() >= opts_.queue_capacity) {
            ++stats_.queue_full; // not remembered: a later exec in it asks again
            return;
        }
        queue_.push_back(request{c.id, c.runtime});
        ++stats_.requests;
    }
    known_[c.id] = known{state::pending, now};
    cv_.notify_one();
}

std::vector<runtime_answer> runtime_api::take() {
    std::vector<result_of> got;
    {
        std::lock_guard lock(mu_);
        if (results_.empty()) return {};
        got.swap(results_);
    }
    std::vector<runtime_answer> out;
    const auto now = std::chrono::steady_clock::now();
    for (result_of& r : got) {
        known_[r.id] = known{r.answer ? state::answered : state::failed, now};
        if (r.answer) out.push_back(std::move(*r.answer));
    }
    return out;
}

runtime_api_stats runtime_api::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

void runtime_api::run() {
    for (;;) {
        request r;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return done_ || !queue_.empty(); });
            if (done_) return;
            r = std::move(queue_.front());
            queue_.pop_front();
        }
        auto answer = ask(r);
        std::lock_guard lock(mu_);
        if (answer) ++stats_.answers;
        else ++stats_.failures;
        results_.push_back(result_of{r.id, std::move(answer)});
    }
}

std::optional<runtime_answer> runtime_api::ask(const request& r) {
    std::vector<std::string> asked; // real paths: /run and /var/run name one socket
    for (const runtime_socket& s : sockets_for(r.runtime, opts_.sockets)) {
        struct stat st {};
        if (::stat(s.path.c_str(), &st) != 0) continue; // no such runtime here (now)
        auto real = trusted_socket(s.path);
        if (!real) {
            std::lock_guard lock(mu_);
            ++stats_.untrusted;
            continue;
        }
        if (std::find(asked.begin(), asked.end(), *real) != asked.end()) continue;
        asked.push_back(*real);
        const std::string path = s.kind == runtime_api_kind::crio ? "/containers/" + r.id
                                                                  : "/containers/" + r.id + "/json";
        const auto body = http_get(*real, path, opts_.timeout);
        if (!body) continue; // refused, timed out, not this runtime's (404)
        auto a = s.kind == runtime_api_kind::crio ? parse_crio_inspect(*body) : parse_docker_inspect(*body);
        if (!a) continue;
        if (a->info.id != r.id) {
            std::lock_guard lock(mu_);
            ++stats_.mismatched;
            continue;
        }
        return std::move(*a);
    }
    return std::nullopt;
}

} // namespace barbwire::sensor
