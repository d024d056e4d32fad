// barbwire/container.hpp: which container a cgroup path names.
#include <catch2/catch.hpp>

#include <algorithm>

#include <barbwire/container.hpp>

using namespace barbwire;

namespace {
const std::string id_a = "3f2a9c1e0b7d4e5f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f";
const std::string id_b = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
} // namespace

TEST_CASE("container: each runtime's cgroup path, with either driver") {
    struct row {
        std::string path;
        container_runtime runtime;
        std::string id;
        std::string pod_uid;
    };
    const std::vector<row> rows = {
        {"/system.slice/docker-" + id_a + ".scope", container_runtime::docker, id_a, ""},
        {"/docker/" + id_a, container_runtime::docker, id_a, ""},
        {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_aaaa_bbbb_cccc_0123456789ab.slice/"
         "cri-containerd-" + id_a + ".scope",
         container_runtime::containerd, id_a, "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab"},
        {"/kubepods.slice/kubepods-pod1b2c3d4e_aaaa_bbbb_cccc_0123456789ab.slice/crio-" + id_a + ".scope",
         container_runtime::crio, id_a, "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab"},
        {"/kubepods/besteffort/pod1b2c3d4e-aaaa-bbbb-cccc-0123456789ab/" + id_a, container_runtime::kubernetes, id_a,
         "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab"},
        {"/machine.slice/libpod-" + id_a + ".scope/container", container_runtime::podman, id_a, ""},
        {"/libpod_parent/libpod-" + id_a, container_runtime::podman, id_a, ""},
        {"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id_a + ".scope",
         container_runtime::podman, id_a, ""},
        {"/lxc.payload.web1", container_runtime::lxc, "web1", ""},
        {"/lxc/web1", container_runtime::lxc, "web1", ""},
    };
    for (const auto& r : rows) {
        INFO(r.path);
        const auto c = container_of_cgroup(r.path);
        REQUIRE(c);
        CHECK(c->runtime == r.runtime);
        CHECK(c->id == r.id);
        CHECK(c->pod_uid == r.pod_uid);
        CHECK_FALSE(c->verified); // only the sensor can confirm
        CHECK(r.path.rfind(c->cgroup, 0) == 0);
    }
    // the podman scope, not its "container" leaf, is the container's cgroup
    CHECK(container_of_cgroup("/machine.slice/libpod-" + id_a + ".scope/container")->cgroup ==
          "/machine.slice/libpod-" + id_a + ".scope");
}

TEST_CASE("container: host cgroups and the monitors beside containers are no containers") {
    for (const std::string& p : std::vector<std::string>{"/", "/init.scope", "/system.slice/sshd.service", "/user.slice/user-1000.slice/session-3.scope",
          "/machine.slice/libpod-conmon-" + id_a + ".scope", "/system.slice/crio-conmon-" + id_a + ".scope",
          "/system.slice/docker-" + id_a.substr(0, 63) + ".scope",          // 63 digits
          "/system.slice/docker-" + std::string(64, 'G') + ".scope",        // not hex
          "/docker/" + id_a + "x", "/kubepods.slice", "/kubepods/burstable", "/lxc", ""}) {
        INFO(p);
        CHECK_FALSE(container_of_cgroup(p));
    }
}

TEST_CASE("container: the innermost of nested containers; a pod inside one starts afresh") {
    // kind: a node container (docker) running a pod's container (containerd)
    const std::string p = "/system.slice/docker-" + id_b + ".scope/kubepods/burstable/pod1b2c3d4e-aaaa-bbbb-cccc-"
                          "0123456789ab/" + id_a;
    const auto c = container_of_cgroup(p);
    REQUIRE(c);
    CHECK(c->id == id_a);
    CHECK(c->runtime == container_runtime::kubernetes);
    CHECK(c->pod_uid == "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab");
    // the node container alone
    const auto node = container_of_cgroup("/system.slice/docker-" + id_b + ".scope/system.slice/kubelet.service");
    REQUIRE(node);
    CHECK(node->id == id_b);
    CHECK(node->pod_uid.empty());
}

TEST_CASE("container: /proc/PID/cgroup text: the unified line decides, else a v1 line") {
    const std::string v2 = "0::/system.slice/docker-" + id_a + ".scope\n";
    REQUIRE(container_of_proc_cgroup(v2));
    CHECK(container_of_proc_cgroup(v2)->id == id_a);
    // hybrid: the unified line is the parent's; a v1 controller has the container
    const std::string hybrid = "12:pids:/libpod_parent/libpod-" + id_a + "\n11:memory:/libpod_parent/libpod-" + id_a +
                               "\n1:name=systemd:/\n0::/\n";
    const auto h = container_of_proc_cgroup(hybrid);
    REQUIRE(h);
    CHECK(h->id == id_a);
    CHECK(h->runtime == container_runtime::podman);
    // the unified line wins over a v1 line naming another
    const std::string both = "3:pids:/docker/" + id_b + "\n0::/system.slice/docker-" + id_a + ".scope\n";
    CHECK(container_of_proc_cgroup(both)->id == id_a);
    // host, garbage, no trailing newline
    CHECK_FALSE(container_of_proc_cgroup("0::/init.scope\n"));
    CHECK_FALSE(container_of_proc_cgroup("garbage\n::\n1:x\n0::relative/docker/" + id_a));
    CHECK(container_of_proc_cgroup("0::/docker/" + id_a));
}

TEST_CASE("container: same_container compares ids, not pointers; empty is the host") {
    container_info c;
    c.id = id_a;
    c.runtime = container_runtime::docker;
    const shared_container a(std::make_shared<const container_info>(c));
    container_info named = c;
    named.name = "web";
    const shared_container b(std::make_shared<const container_info>(named)); // metadata differs: same container
    const shared_container host;
    CHECK(same_container(a, a));
    CHECK(same_container(a, b));
    CHECK(same_container(host, shared_container{}));
    CHECK_FALSE(same_container(a, host));
    CHECK_FALSE(same_container(host, a));
    container_info other = c;
    other.id = id_b;
    CHECK_FALSE(same_container(a, shared_container(std::make_shared<const container_info>(other))));
    CHECK(a.copy()->id == id_a);
    CHECK(c.short_id() == id_a.substr(0, 12));
    CHECK(to_string(container_runtime::crio) == "cri-o");
    CHECK(container_runtime_from("cri-o") == container_runtime::crio);
    CHECK_FALSE(container_runtime_from("rkt"));
}

TEST_CASE("container: labels are bounded, sorted and unique; the same whatever the runtime's order",
          "[container][labels]") {
    CHECK(bounded_labels({}).empty());
    const container_labels sorted = bounded_labels({{"team", "payments"}, {"app", "x"}, {"app", "second"}, {"", "y"}});
    CHECK(sorted == container_labels{{"app", "x"}, {"team", "payments"}}); // the first "app" kept, no empty key
    container_labels many;
    for (int i = 99; i >= 0; --i) many.emplace_back("k" + std::to_string(100 + i), std::to_string(i));
    const container_labels kept = bounded_labels(many);
    REQUIRE(kept.size() == max_container_labels);
    CHECK(kept.front().first == "k100");
    CHECK(kept.back().first == "k131");
    std::reverse(many.begin(), many.end());
    CHECK(bounded_labels(many) == kept);
    // Cut at a character boundary: 127 'k' and a 3-byte character would cut inside it.
    const std::string key = std::string(127, 'k') + "\xe2\x82\xac";
    const std::string value = std::string(300, 'v');
    const container_labels cut = bounded_labels({{key, value}});
    CHECK(cut[0].first == std::string(127, 'k'));
    CHECK(cut[0].second.size() == max_label_value);
    CHECK(detail::cut_utf8("ab\xc3\xa9", 3) == "ab");
    CHECK(detail::cut_utf8("ab\xc3\xa9", 4) == "ab\xc3\xa9");
    // Labels are metadata: they do not make two copies of one container two containers.
    container_info c;
    c.id = std::string(64, 'c');
    c.runtime = container_runtime::podman;
    container_info labelled = c;
    labelled.labels = {{"team", "payments"}};
    CHECK_FALSE(c == labelled);
    CHECK(same_container(shared_container(std::make_shared<const container_info>(c)),
                         shared_container(std::make_shared<const container_info>(labelled))));
}
