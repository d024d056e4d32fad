// sensor/containers: mount tables, host paths, the runtimes' metadata, and
// the resolver over a fake /proc and a fake runtime state tree.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/sysmacros.h>
#include <unistd.h>

#include "containers.hpp"

using namespace barbwire;
using namespace barbwire::sensor;
namespace fs = std::filesystem;

namespace {

const std::string id_a = "3f2a9c1e0b7d4e5f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f";

struct temp_tree {
    fs::path root;
    temp_tree() {
        char tmpl[] = "/tmp/bw-containers-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        root = tmpl;
    }
    ~temp_tree() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
    void write(const std::string& rel, const std::string& text) const {
        fs::create_directories((root / rel).parent_path());
        std::ofstream(root / rel) << text;
    }
    void mkdir(const std::string& rel) const { fs::create_directories(root / rel); }
};

// The container's mounts (an overlay root, a volume bound from the host's
// /srv/data, its own tmpfs) and the host's (the same overlay at podman's
// merged directory, /srv on /dev/vda1).
const std::string inner_mountinfo =
    "600 550 0:52 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
    "601 600 254:1 /srv/data /data rw,relatime - ext4 /dev/vda1 rw\n"
    "602 600 0:60 / /run/secrets\\040dir rw - tmpfs tmpfs rw\n"
    "603 600 0:53 / /proc rw - proc proc rw\n";
const std::string host_mountinfo =
    "22 1 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
    "40 22 0:52 / /var/lib/containers/storage/overlay/abc/merged rw - overlay overlay rw\n"
    "41 22 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";

} // namespace

TEST_CASE("parse_mountinfo: devices, roots, mount points (escapes undone), types", "[sensor][containers]") {
    const auto m = parse_mountinfo(inner_mountinfo + "garbage line\n\n1 2 x:y / / - t s o\n");
    REQUIRE(m.size() == 4);
    CHECK(m[0].dev == makedev(0, 52));
    CHECK(m[0].mount_point == "/");
    CHECK(m[0].fstype == "overlay");
    CHECK(m[1].dev == makedev(254, 1));
    CHECK(m[1].root == "/srv/data");
    CHECK(m[1].mount_point == "/data");
    CHECK(m[2].mount_point == "/run/secrets dir");
    CHECK(parse_mountinfo(host_mountinfo)[2].fstype == "cgroup2");
}

TEST_CASE("host_path_of: through the overlay, a bound volume; none for the container's own tmpfs",
          "[sensor][containers]") {
    const auto inner = parse_mountinfo(inner_mountinfo);
    const auto host = parse_mountinfo(host_mountinfo);
    CHECK(host_path_of("/root/.ssh/id_rsa", inner, host) ==
          std::optional<std::string>("/var/lib/containers/storage/overlay/abc/merged/root/.ssh/id_rsa"));
    CHECK(host_path_of("/data/creds.json", inner, host) == std::optional<std::string>("/srv/data/creds.json"));
    CHECK(host_path_of("/data", inner, host) == std::optional<std::string>("/srv/data"));
    CHECK(host_path_of("/datafile", inner, host) ==
          std::optional<std::string>("/var/lib/containers/storage/overlay/abc/merged/datafile")); // not under /data
    CHECK_FALSE(host_path_of("/run/secrets dir/token", inner, host)); // the host does not mount that tmpfs
    CHECK_FALSE(host_path_of("relative", inner, host));
    CHECK_FALSE(host_path_of("/x", {}, host));
    // a later mount on the same point hides the earlier one
    const auto shadow = parse_mountinfo(inner_mountinfo + "604 601 0:52 /other /data rw - overlay overlay rw\n");
    CHECK(host_path_of("/data/f", shadow, host) ==
          std::optional<std::string>("/var/lib/containers/storage/overlay/abc/merged/other/f"));
}

TEST_CASE("apply_annotations: containerd's and CRI-O's Kubernetes annotations", "[sensor][containers]") {
    container_info c;
    apply_annotations(c, nlohmann::json{{"io.kubernetes.cri.container-name", "app"},
                                        {"io.kubernetes.cri.image-name", "registry.local/app:1.2"},
                                        {"io.kubernetes.cri.sandbox-name", "web-0"},
                                        {"io.kubernetes.cri.sandbox-namespace", "shop"},
                                        {"io.kubernetes.cri.sandbox-uid", "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab"}});
    CHECK(c.k8s_container == "app");
    CHECK(c.name == "app");
    CHECK(c.image == "registry.local/app:1.2");
    CHECK(c.pod_name == "web-0");
    CHECK(c.pod_namespace == "shop");
    CHECK(c.pod_uid == "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab");
    CHECK(c.in_pod());
    container_info o;
    o.pod_uid = "from-the-path";
    apply_annotations(o, nlohmann::json{{"io.kubernetes.container.name", "db"},
                                        {"io.kubernetes.pod.name", "db-1"},
                                        {"io.kubernetes.pod.namespace", "data"},
                                        {"io.kubernetes.pod.uid", "other"},
                                        {"io.kubernetes.cri-o.ImageName", "quay.local/db:9"},
                                        {"io.kubernetes.cri-o.Name", "k8s_db_db-1_data_x_0"}});
    CHECK(o.pod_uid == "from-the-path"); // fills only what is empty
    CHECK(o.name == "k8s_db_db-1_data_x_0");
    CHECK(o.k8s_container == "db");
    CHECK(o.image == "quay.local/db:9");
    // not an object, wrong types: nothing
    container_info n;
    apply_annotations(n, nlohmann::json::array({1, 2}));
    apply_annotations(n, nlohmann::json{{"io.kubernetes.pod.name", 7}});
    CHECK(n == container_info{});
}

TEST_CASE("apply_storage_containers and apply_docker_config: names and images", "[sensor][containers]") {
    container_info c;
    c.id = id_a;
    const auto containers = nlohmann::json::array(
        {{{"id", "other"}, {"names", {"x"}}, {"image", "i0"}}, {{"id", id_a}, {"names", {"web", "alias"}}, {"image", "i1"}}});
    const auto images = nlohmann::json::array({{{"id", "i1"}, {"names", {"localhost/app:latest"}}}});
    apply_storage_containers(c, containers, &images);
    CHECK(c.name == "web");
    CHECK(c.image == "localhost/app:latest");
    container_info d;
    d.id = id_a;
    apply_storage_containers(d, containers, nullptr);
    CHECK(d.image == "i1"); // no images.json: the id
    container_info k;
    apply_docker_config(k, nlohmann::json{{"Name", "/redis"},
                                          {"Config", {{"Image", "redis:7"}, {"Labels", {{"io.kubernetes.pod.name", "p"}}}}}});
    CHECK(k.name == "redis");
    CHECK(k.image == "redis:7");
    CHECK(k.pod_name == "p");
}

TEST_CASE("container_resolver: /proc/PID/cgroup, the runtime's state, the mount table", "[sensor][containers]") {
    temp_tree t;
    const std::string proc = (t.root / "proc").string();
    const std::string state = (t.root / "state").string();
    t.write("proc/self/cgroup", "0::/\n");
    t.write("proc/self/mountinfo", host_mountinfo);
    t.write("proc/100/cgroup", "0::/machine.slice/libpod-" + id_a + ".scope/container\n");
    t.write("proc/100/mountinfo", inner_mountinfo);
    t.write("proc/101/cgroup", "0::/machine.slice/libpod-" + id_a + ".scope/container\n");
    t.write("proc/200/cgroup", "0::/user.slice/user-1000.slice/session-1.scope\n");
    t.mkdir("state/var/lib/containers/storage/overlay-containers/" + id_a + "/userdata");
    t.write("state/var/lib/containers/storage/overlay-containers/containers.json",
            nlohmann::json::array({{{"id", id_a}, {"names", {"web"}}, {"image", "i1"}}}).dump());
    t.write("state/var/lib/containers/storage/overlay-images/images.json",
            nlohmann::json::array({{{"id", "i1"}, {"names", {"localhost/app:1"}}}}).dump());

    container_resolver r(proc, state);
    bool known = false;
    const shared_container a = r.resolve(100, 0, known);
    CHECK(known);
    REQUIRE(a);
    CHECK(a->id == id_a);
    CHECK(a->runtime == container_runtime::podman);
    // the state tree is root-owned only when the test runs as root
    const bool root = ::geteuid() == 0;
    CHECK(a->verified == root);
    CHECK(a->name == (root ? "web" : ""));   // an unconfirmed claim gets no metadata
    CHECK(a->image == (root ? "localhost/app:1" : ""));
    // the second process of the container shares the one copy
    const shared_container b = r.resolve(101, 0, known);
    CHECK(b.shared() == a.shared());
    // a host process
    CHECK_FALSE(r.resolve(200, 0, known));
    CHECK(known);
    // gone, with no cgroup id: not known (the caller keeps the inherited one)
    CHECK_FALSE(r.resolve(999, 0, known));
    CHECK_FALSE(known);
    CHECK(r.stats().unresolved == 1);
    CHECK(r.stats().containers == 1);
    // host paths from the container's mount table, remembered after pid 100 is gone
    fs::remove_all(t.root / "proc/100");
    CHECK(r.host_path(*a, 100, "/etc/shadow") ==
          std::optional<std::string>("/var/lib/containers/storage/overlay/abc/merged/etc/shadow"));
    CHECK(r.host_path(*a, 100, "/data/x") == std::optional<std::string>("/srv/data/x"));
}

TEST_CASE("container_resolver: a cgroup id is cached only when the unified hierarchy decides",
          "[sensor][containers]") {
    temp_tree t;
    const std::string proc = (t.root / "proc").string();
    // a hybrid host: the container is in the v1 hierarchies; the unified id is its parent's
    t.write("proc/self/cgroup", "1:name=systemd:/\n0::/\n");
    t.write("proc/300/cgroup", "4:pids:/libpod_parent/libpod-" + id_a + "\n0::/\n");
    t.write("proc/301/cgroup", "4:pids:/\n0::/\n");
    container_resolver r(proc, (t.root / "state").string());
    bool known = false;
    CHECK(r.resolve(300, 7, known));
    // the same unified id, a host process: not the cached container
    CHECK_FALSE(r.resolve(301, 7, known));
    CHECK(known);
    // a v2-only host: the id decides, and a gone process is found by it
    temp_tree u;
    const std::string proc2 = (u.root / "proc").string();
    u.write("proc/self/cgroup", "0::/\n");
    u.write("proc/400/cgroup", "0::/system.slice/docker-" + id_a + ".scope\n");
    container_resolver v(proc2, (u.root / "state").string());
    const auto c = v.resolve(400, 42, known);
    REQUIRE(c);
    fs::remove_all(u.root / "proc/400");
    const auto again = v.resolve(400, 42, known); // cached by the id
    CHECK(known);
    CHECK(again.shared() == c.shared());
}
