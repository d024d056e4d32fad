#pragma once
// Container labels (and what the state files lack) from the runtime's own
// API, when its socket is on this host (docs/containers.md, "Runtime API").
//
//   * docker and podman serve the docker REST API on a unix socket:
//     GET /containers/<id>/json gives Id, Name, Config.Image, Config.Labels.
//   * CRI-O serves HTTP on its socket: GET /containers/<id> gives name,
//     image, labels, annotations and crio_annotations (which hold the id).
//   * containerd's CRI is gRPC only: not asked. Its pods are named from the
//     bundle's annotations (containers.cpp) and have no labels here.
//
// Never on the event loop: one worker thread takes requests from a bounded
// queue (the newest is dropped when full, and counted), asks each socket
// that may know the container with a 1 s limit on the whole request, and
// posts the answers back; the event loop takes them (take()) and publishes
// a new copy of the container (container_resolver::apply_runtime_answer).
// A container no socket answered for is not asked again for a while (a
// dead or hung socket is not hammered).
//
// Trusted only: a socket file owned by root, every directory above it owned
// by root and writable by no one else (or sticky), checked before each
// request; only verified containers are asked about (the runtime's state
// confirmed the id), and an answer that names another id is ignored.
//
// The parsers are pure and unit-tested (test/unit/test_sensor_runtime_api.cpp).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <barbwire/container.hpp>

#include "preflight.hpp" // check_result

namespace barbwire::sensor {

// Which API a socket serves.
enum class runtime_api_kind : std::uint8_t {
    docker, // the docker REST API: docker, and podman's compatible service
    crio,   // CRI-O's HTTP inspect endpoints
};

[[nodiscard]] std::string_view to_string(runtime_api_kind k) noexcept;

struct runtime_socket {
    std::string path;
    runtime_api_kind kind = runtime_api_kind::docker;
    friend bool operator==(const runtime_socket&, const runtime_socket&) = default;
};

// The well-known sockets: docker's, podman's (root) and CRI-O's.
[[nodiscard]] std::vector<runtime_socket> default_runtime_sockets();

// A --runtime-socket PATH: an absolute path; its API by its file name
// (crio.sock: CRI-O, anything else the docker API, which podman serves too).
// Inline: the command line checks it in every build, with or without the sensor.
[[nodiscard]] inline check_result<runtime_socket> parse_runtime_socket(std::string_view text) {
    if (text.empty() || text.front() != '/')
        return tl::unexpected("--runtime-socket '" + std::string(text) +
                              "' is not an absolute path; give the socket's path (e.g. /run/podman/podman.sock) "
                              "or none");
    if (text.size() >= 108) // sun_path
        return tl::unexpected("--runtime-socket '" + std::string(text).substr(0, 60) +
                              "...' is too long for a unix socket address (at most 107 bytes)");
    const std::size_t slash = text.rfind('/');
    const bool crio = text.substr(slash + 1) == "crio.sock";
    return runtime_socket{std::string(text), crio ? runtime_api_kind::crio : runtime_api_kind::docker};
}

// What a runtime's API says about one container: a patch for container_info
// (id: the id the answer names; labels bounded).
struct runtime_answer {
    container_info info;
    runtime_api_kind from = runtime_api_kind::docker;
};

// docker's (and podman's) GET /containers/<id>/json body.
[[nodiscard]] check_result<runtime_answer> parse_docker_inspect(std::string_view body);

// CRI-O's GET /containers/<id> body. CRI-O's answer has no id field: the id
// is its crio_annotations' io.kubernetes.cri-o.ContainerID.
[[nodiscard]] check_result<runtime_answer> parse_crio_inspect(std::string_view body);

// `c` with what `a` adds: its labels (replacing any), and the name, image
// and pod fields that `c` does not have yet.
void apply_runtime_answer(container_info& c, const runtime_answer& a);

// Is `path` a socket the sensor may trust? Its real path when it is a
// socket owned by root and every directory above it is owned by root and
// writable by no one else (sticky directories such as /tmp excepted);
// otherwise why not.
[[nodiscard]] check_result<std::string> trusted_socket(const std::string& path);

// Which sockets may know a container of runtime `rt`: docker and podman
// containers the docker API's, CRI-O's (and a Kubernetes pod's of unknown
// runtime) CRI-O's first; containerd, LXC and unknown ones none.
[[nodiscard]] std::vector<runtime_socket> sockets_for(container_runtime rt, const std::vector<runtime_socket>& all);

struct runtime_api_stats {
    std::uint64_t requests = 0;   // containers queued for the worker
    std::uint64_t answers = 0;    // answers merged (an answer with the container's id)
    std::uint64_t failures = 0;   // containers no socket answered for (refused, timed out, 404, bad answer)
    std::uint64_t mismatched = 0; // answers naming another id: ignored
    std::uint64_t untrusted = 0;  // sockets skipped: not root's (trusted_socket)
    std::uint64_t queue_full = 0; // requests dropped: the queue was full
};

class runtime_api {
public:
    struct options {
        std::vector<runtime_socket> sockets; // empty: off (no thread)
        std::size_t queue_capacity = 256;         // a node's containers at start-up, seeded at once
        std::chrono::milliseconds timeout{1000};  // connect and the whole request, per socket
        std::chrono::seconds retry_after{60};     // a container no socket answered for
        std::size_t max_containers = 4096;        // remembered ids (then cleared)
    };
    explicit runtime_api(options o);
    ~runtime_api();
    runtime_api(const runtime_api&) = delete;
    runtime_api& operator=(const runtime_api&) = delete;

    [[nodiscard]] bool enabled() const noexcept { return !opts_.sockets.empty(); }

    // Event loop: a verified container `c` was seen. Queues a request when
    // none is pending, and no answer came or `c` lacks the labels of one
    // (the resolver's cache was cleared), and the last try is older than
    // retry_after; otherwise does nothing. Never blocks on the worker.
    void want(const container_info& c);

    // Event loop: the answers that arrived since the last call.
    [[nodiscard]] std::vector<runtime_answer> take();

    [[nodiscard]] runtime_api_stats stats() const;

private:
    struct request {
        std::string id;
        container_runtime runtime = container_runtime::unknown;
    };
    struct result_of {
        std::string id;
        std::optional<runtime_answer> answer; // nullopt: no socket answered
    };
    enum class state : std::uint8_t { pending, answered, failed };
    struct known {
        state s = state::pending;
        std::chrono::steady_clock::time_point at{};
    };
    void run();
    [[nodiscard]] std::optional<runtime_answer> ask(const request& r);

    options opts_;
    std::unordered_map<std::string, known> known_; // event loop only
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<request> queue_;
    std::vector<result_of> results_;
    bool done_ = false;
    runtime_api_stats stats_; // under mu_
    std::thread thread_;
};

} // namespace barbwire::sensor
