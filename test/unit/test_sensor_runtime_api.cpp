// sensor/runtime_api: the docker (podman) and CRI-O answers, the merge into
// a container, which sockets are asked and trusted, and the worker against
// small HTTP servers on unix sockets in a temporary directory (one that
// answers, one that names another id, one that never answers).
#include <catch2/catch.hpp>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <optional>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "containers.hpp"
#include "runtime_api.hpp"

using namespace barbwire;
using namespace barbwire::sensor;
namespace fs = std::filesystem;

namespace {

const std::string id_a = "3f2a9c1e0b7d4e5f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f";
const std::string id_b = "0000000000000000000000000000000000000000000000000000000000000bbb";

// docker's GET /containers/<id>/json, cut to what is read (podman's compat answer has the same shape).
std::string docker_answer(const std::string& id) {
    return R"({"Id":")" + id + R"(","Name":"/web","State":{"Running":true},
      "Config":{"Image":"localhost/app:1","Labels":{"team":"payments","app":"x","n":7,
                "io.kubernetes.pod.name":"web-0","io.kubernetes.pod.namespace":"shop"}},
      "HostConfig":{"NetworkMode":"host"}})";
}

// CRI-O's GET /containers/<id>.
const std::string crio_answer = R"({"name":"k8s_app_web-0_shop_1234_0","pid":4242,"image":"quay.io/shop/app:2",
  "image_ref":"quay.io/shop/app@sha256:abcd","created_time":1700000000,
  "labels":{"io.kubernetes.container.name":"app","io.kubernetes.pod.name":"web-0",
            "io.kubernetes.pod.namespace":"shop","io.kubernetes.pod.uid":"11111111-2222-3333-4444-555555555555"},
  "annotations":{"io.kubernetes.container.hash":"9c2b"},
  "crio_annotations":{"io.kubernetes.cri-o.ContainerID":")" + id_a + R"(","io.kubernetes.cri-o.Name":"k8s_app"},
  "log_path":"/var/log/pods/x.log","root":"/var/lib/containers/storage/overlay/y/merged","sandbox":"abc",
  "ip_addresses":["10.0.0.5"]})";

struct temp_dir {
    fs::path root;
    temp_dir() {
        char tmpl[] = "/tmp/bw-runtime-api-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        root = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
};

// A unix socket listening at `path`; with `answer`, a thread serves each
// connection that HTTP answer; without, connections are never accepted.
class fake_runtime {
public:
    fake_runtime(const std::string& path, std::optional<std::string> body) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        REQUIRE(path.size() < sizeof(a.sun_path));
        std::copy(path.begin(), path.end(), a.sun_path);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        if (!body) return;
        thread_ = std::thread([this, b = *body] {
            for (;;) {
                const int c = ::accept(fd_, nullptr, nullptr);
                if (c < 0 || stop_) {
                    if (c >= 0) ::close(c);
                    return;
                }
                std::string req;
                char buf[4096];
                while (req.find("\r\n\r\n") == std::string::npos) {
                    const ssize_t n = ::read(c, buf, sizeof(buf));
                    if (n <= 0) break;
                    req.append(buf, static_cast<std::size_t>(n));
                }
                ++requests;
                const std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                        std::to_string(b.size()) + "\r\nConnection: close\r\n\r\n" + b;
                (void)!::write(c, out.data(), out.size());
                ::close(c);
            }
        });
    }
    ~fake_runtime() {
        stop_ = true;
        if (thread_.joinable()) {
            // A connection wakes accept(), which then sees stop_.
            const int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            std::copy(path_.begin(), path_.end(), a.sun_path);
            (void)::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a));
            thread_.join();
            ::close(c);
        }
        ::close(fd_);
    }
    std::atomic<int> requests{0};

private:
    std::string path_;
    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

container_info verified_container(const std::string& id, container_runtime rt = container_runtime::podman) {
    container_info c;
    c.id = id;
    c.runtime = rt;
    c.verified = true;
    c.name = "from-state";
    return c;
}

// take() until an answer comes or `limit` passes.
std::vector<runtime_answer> wait_answers(runtime_api& api, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto got = api.take();
        if (!got.empty() || std::chrono::steady_clock::now() >= end) return got;
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
}

} // namespace

TEST_CASE("parse_docker_inspect: id, name without '/', image, string labels sorted, the pod", "[sensor][runtime_api]") {
    auto a = parse_docker_inspect(docker_answer(id_a));
    REQUIRE(a);
    CHECK(a->from == runtime_api_kind::docker);
    CHECK(a->info.id == id_a);
    CHECK(a->info.name == "web");
    CHECK(a->info.image == "localhost/app:1");
    const container_labels want = {{"app", "x"},
                                   {"io.kubernetes.pod.name", "web-0"},
                                   {"io.kubernetes.pod.namespace", "shop"},
                                   {"team", "payments"}}; // "n": 7 is no string
    CHECK(a->info.labels == want);
    CHECK(a->info.pod_name == "web-0"); // cri-dockerd's labels name the pod
    CHECK(a->info.pod_namespace == "shop");
}

TEST_CASE("parse_docker_inspect: null labels, no Config, bad answers", "[sensor][runtime_api]") {
    auto a = parse_docker_inspect(R"({"Id":")" + id_a + R"(","Name":"/x","Config":{"Labels":null}})");
    REQUIRE(a);
    CHECK(a->info.labels.empty());
    a = parse_docker_inspect(R"({"Id":")" + id_a + R"("})");
    REQUIRE(a);
    CHECK(a->info.name.empty());
    CHECK_FALSE(parse_docker_inspect("not json"));
    CHECK_FALSE(parse_docker_inspect("[1,2]"));
    CHECK_FALSE(parse_docker_inspect(R"({"message":"no such container"})")); // no Id
    CHECK_FALSE(parse_docker_inspect(R"({"Id":""})"));
    CHECK(parse_docker_inspect("").error().find("not JSON") != std::string::npos);
}

TEST_CASE("parse_docker_inspect: labels bounded (count, key and value length, UTF-8 kept whole)",
          "[sensor][runtime_api]") {
    std::string labels;
    for (int i = 0; i < 100; ++i) labels += (i ? "," : "") + std::string("\"k") + std::to_string(100 + i) + "\":\"v\"";
    const std::string long_value(1000, 'a');
    const std::string long_key(300, 'z');
    labels += ",\"" + long_key + "\":\"" + long_value + "\"";
    // 255 'b' then a 2-byte character: the cut must not split it.
    labels += ",\"k000\":\"" + std::string(255, 'b') + "\xc3\xa9\"";
    auto a = parse_docker_inspect(R"({"Id":")" + id_a + R"(","Config":{"Labels":{)" + labels + "}}}");
    REQUIRE(a);
    REQUIRE(a->info.labels.size() == max_container_labels);
    CHECK(a->info.labels.front().first == "k000"); // sorted by key: the first 32 keys kept
    CHECK(a->info.labels.front().second == std::string(255, 'b'));
    CHECK(a->info.labels.back().first == "k130");
    for (const auto& [k, v] : a->info.labels) {
        CHECK(k.size() <= max_label_key);
        CHECK(v.size() <= max_label_value);
    }
    const container_labels cut = bounded_labels({{long_key, long_value}, {"", "no key"}});
    REQUIRE(cut.size() == 1);
    CHECK(cut[0].first == std::string(max_label_key, 'z'));
    CHECK(cut[0].second == std::string(max_label_value, 'a'));
}

TEST_CASE("parse_crio_inspect: the id from crio_annotations, name, image, labels, the pod", "[sensor][runtime_api]") {
    auto a = parse_crio_inspect(crio_answer);
    REQUIRE(a);
    CHECK(a->from == runtime_api_kind::crio);
    CHECK(a->info.id == id_a);
    CHECK(a->info.name == "k8s_app_web-0_shop_1234_0");
    CHECK(a->info.image == "quay.io/shop/app:2");
    CHECK(a->info.pod_name == "web-0");
    CHECK(a->info.pod_namespace == "shop");
    CHECK(a->info.pod_uid == "11111111-2222-3333-4444-555555555555");
    CHECK(a->info.k8s_container == "app");
    REQUIRE(a->info.labels.size() == 4);
    CHECK(a->info.labels[0] == std::pair<std::string, std::string>{"io.kubernetes.container.name", "app"});
    // No id, no answer: it could be any container's.
    CHECK_FALSE(parse_crio_inspect(R"({"name":"x","labels":{"a":"b"}})"));
    CHECK_FALSE(parse_crio_inspect("{"));
}

TEST_CASE("apply_runtime_answer: labels replaced, only empty fields filled", "[sensor][runtime_api]") {
    container_info c = verified_container(id_a);
    c.image = "from-state-image";
    c.labels = {{"old", "1"}};
    auto a = parse_docker_inspect(docker_answer(id_a));
    REQUIRE(a);
    apply_runtime_answer(c, *a);
    CHECK(c.name == "from-state");
    CHECK(c.image == "from-state-image");
    CHECK(c.pod_name == "web-0");
    CHECK(c.labels == a->info.labels);
    CHECK(c.verified);
}

TEST_CASE("labels_of and docker's config.v2.json labels (no socket needed)", "[sensor][runtime_api]") {
    container_info c = verified_container(id_a, container_runtime::docker);
    c.name.clear();
    apply_docker_config(c, nlohmann::json::parse(R"({"Name":"/db","Config":{"Image":"pg:16","Labels":{"tier":"data"}}})"));
    CHECK(c.name == "db");
    CHECK(c.labels == container_labels{{"tier", "data"}});
    CHECK(labels_of(nlohmann::json::array()).empty());
}

TEST_CASE("sockets: the option, kinds by file name, which runtime asks which", "[sensor][runtime_api]") {
    auto s = parse_runtime_socket("/tmp/x/podman.sock");
    REQUIRE(s);
    CHECK(s->kind == runtime_api_kind::docker);
    CHECK(parse_runtime_socket("/var/run/crio/crio.sock")->kind == runtime_api_kind::crio);
    CHECK_FALSE(parse_runtime_socket("relative.sock"));
    CHECK_FALSE(parse_runtime_socket(""));
    CHECK_FALSE(parse_runtime_socket("/" + std::string(200, 'a')));
    const auto all = default_runtime_sockets();
    CHECK(sockets_for(container_runtime::containerd, all).empty()); // gRPC only: never asked
    CHECK(sockets_for(container_runtime::lxc, all).empty());
    for (const auto& x : sockets_for(container_runtime::podman, all)) CHECK(x.kind == runtime_api_kind::docker);
    for (const auto& x : sockets_for(container_runtime::crio, all)) CHECK(x.kind == runtime_api_kind::crio);
    const auto k8s = sockets_for(container_runtime::kubernetes, all);
    REQUIRE_FALSE(k8s.empty());
    CHECK(k8s.front().kind == runtime_api_kind::crio);
}

TEST_CASE("trusted_socket: only a socket file of root's, under directories only root can change",
          "[sensor][runtime_api]") {
    temp_dir d;
    const std::string file = (d.root / "regular.sock").string();
    std::ofstream(file) << "x";
    CHECK(trusted_socket(file).error().find("not a socket") != std::string::npos);
    CHECK_FALSE(trusted_socket((d.root / "absent.sock").string()));
    const std::string sock = (d.root / "api.sock").string();
    fake_runtime listening(sock, std::nullopt);
    if (::geteuid() != 0) {
        CHECK(trusted_socket(sock).error().find("not owned by root") != std::string::npos);
        return;
    }
    REQUIRE(::chmod(d.root.c_str(), 0700) == 0);
    auto ok = trusted_socket(sock);
    REQUIRE(ok);
    CHECK(*ok == sock);
    REQUIRE(::chmod(d.root.c_str(), 0777) == 0); // anyone could replace the socket
    CHECK(trusted_socket(sock).error().find("writable by others") != std::string::npos);
    REQUIRE(::chmod(d.root.c_str(), 0700) == 0);
    REQUIRE(::chown(sock.c_str(), 1000, 1000) == 0);
    CHECK(trusted_socket(sock).error().find("not owned by root") != std::string::npos);
}

TEST_CASE("runtime_api: asks once, off the caller's thread; answers come back through take()", "[sensor][runtime_api]") {
    if (::geteuid() != 0) {
        WARN("skipped: the sockets must be root's to be trusted");
        return;
    }
    temp_dir d;
    REQUIRE(::chmod(d.root.c_str(), 0700) == 0);
    const std::string sock = (d.root / "podman.sock").string();
    fake_runtime server(sock, docker_answer(id_a));
    runtime_api::options o;
    o.sockets = {{sock, runtime_api_kind::docker}};
    runtime_api api(o);
    REQUIRE(api.enabled());
    container_info unverified = verified_container(id_a);
    unverified.verified = false;
    api.want(unverified); // a cgroup path's claim: never asked
    api.want(verified_container(id_a, container_runtime::containerd)); // no socket for it
    CHECK(api.stats().requests == 0);
    api.want(verified_container(id_a));
    api.want(verified_container(id_a)); // pending: not asked twice
    const auto got = wait_answers(api, std::chrono::seconds{5});
    REQUIRE(got.size() == 1);
    CHECK(got[0].info.id == id_a);
    CHECK(got[0].info.labels.size() == 4);
    api.want(verified_container(id_a)); // answered: not asked again
    const runtime_api_stats st = api.stats();
    CHECK(st.requests == 1);
    CHECK(st.answers == 1);
    CHECK(server.requests == 1);
}

TEST_CASE("runtime_api: an answer for another id is ignored", "[sensor][runtime_api]") {
    if (::geteuid() != 0) {
        WARN("skipped: the sockets must be root's to be trusted");
        return;
    }
    temp_dir d;
    REQUIRE(::chmod(d.root.c_str(), 0700) == 0);
    const std::string sock = (d.root / "docker.sock").string();
    fake_runtime server(sock, docker_answer(id_b));
    runtime_api::options o;
    o.sockets = {{sock, runtime_api_kind::docker}};
    runtime_api api(o);
    api.want(verified_container(id_a, container_runtime::docker));
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    while (api.stats().failures == 0 && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    CHECK(api.take().empty());
    CHECK(api.stats().mismatched == 1);
    CHECK(api.stats().failures == 1);
}

TEST_CASE("runtime_api: a hung socket costs the caller nothing; the queue is bounded; no retry at once",
          "[sensor][runtime_api]") {
    if (::geteuid() != 0) {
        WARN("skipped: the sockets must be root's to be trusted");
        return;
    }
    temp_dir d;
    REQUIRE(::chmod(d.root.c_str(), 0700) == 0);
    const std::string sock = (d.root / "podman.sock").string();
    fake_runtime hung(sock, std::nullopt); // listens, never accepts: connects succeed, no answer ever
    runtime_api::options o;
    o.sockets = {{sock, runtime_api_kind::docker}};
    o.queue_capacity = 2;
    o.timeout = std::chrono::milliseconds{200};
    runtime_api api(o);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i) {
        std::string id = id_a;
        id[63] = "0123456789"[i];
        api.want(verified_container(id));
    }
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds{100}); // want() never waits
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    runtime_api_stats st = api.stats();
    while (st.failures < st.requests && std::chrono::steady_clock::now() < end) {
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
        st = api.stats();
    }
    CHECK(st.queue_full >= 1);                 // 10 wanted, at most 1 in flight + 2 queued
    CHECK(st.requests + st.queue_full == 10);
    CHECK(st.failures == st.requests);
    CHECK(api.take().empty());
    std::string first = id_a;
    first[63] = '0';
    api.want(verified_container(first)); // failed just now: not asked again for a while
    CHECK(api.stats().requests == st.requests);
}

TEST_CASE("runtime_api: a copy without the answer's labels (a cleared cache) is asked again after retry_after",
          "[sensor][runtime_api]") {
    if (::geteuid() != 0) {
        WARN("skipped: the sockets must be root's to be trusted");
        return;
    }
    temp_dir d;
    REQUIRE(::chmod(d.root.c_str(), 0700) == 0);
    const std::string sock = (d.root / "podman.sock").string();
    fake_runtime server(sock, docker_answer(id_a));
    runtime_api::options o;
    o.sockets = {{sock, runtime_api_kind::docker}};
    o.retry_after = std::chrono::seconds{0};
    runtime_api api(o);
    container_info c = verified_container(id_a);
    api.want(c);
    const auto got = wait_answers(api, std::chrono::seconds{5});
    REQUIRE(got.size() == 1);
    apply_runtime_answer(c, got[0]);
    api.want(c); // its copy has the labels: settled
    CHECK(api.stats().requests == 1);
    api.want(verified_container(id_a)); // a fresh copy without them: asked again
    CHECK(api.stats().requests == 2);
    CHECK(wait_answers(api, std::chrono::seconds{5}).size() == 1);
}
