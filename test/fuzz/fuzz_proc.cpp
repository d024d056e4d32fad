// Fuzz the sensor's /proc parsers and the container runtimes' state readers
// (issue 15). The sensor runs as root and reads what other processes
// control: a process's comm and command line (/proc/PID/stat, cmdline), its
// cgroup path (a user can name cgroups in a delegated subtree), a
// container's mount table (/proc/PID/mountinfo) and the runtimes' JSON
// state files, whose labels and annotations the container's creator chose.
//
// The first byte chooses the parser, the second holds flags for it, the
// rest is the text:
//
//   0  parse_proc_stat      a parsed line prints back to a line that parses
//                           the same; comm is exactly what lies between the
//                           first '(' and the last ')'; trailing fields change
//                           nothing; the seeded exec survives a trace round trip
//   1  parse_status_uid     the uid of the first "Uid:" line: lines before it
//                           that are not "Uid:" lines change nothing, a later
//                           "Uid:" line is used only when there was none
//   2  split_cmdline        at most BW_ARGV_MAX bytes kept, truncated exactly
//                           when longer, the arguments joined with NULs give
//                           back the kept bytes, no argument holds a NUL; the
//                           seeded exec survives a trace round trip
//   3  container_of_proc_cgroup  the container found is the one its own cgroup
//                           path names (container_of_cgroup of c.cgroup gives
//                           it back exactly), the id has its runtime's shape,
//                           the pod uid its; a later v1 line changes a found
//                           container never, and fills in a missing one
//   4  parse_mountinfo      at most one entry a line; fields non-empty; the
//                           entries written back as mountinfo (escaped) parse
//                           to the same entries
//   5  host_path_of         first line the path, then the container's table,
//                           then after a "--" line the host's: nothing for a
//                           relative path, an absolute result; through a
//                           table whose mounts are each their own file system
//                           (root "/"), a path maps to itself
//   6  apply_annotations    (JSON) fills only empty fields, with strings of
//                           the input; labels_of is bounded, sorted, cut at
//                           UTF-8 boundaries, made of the input's labels
//   7  apply_storage_containers  (JSON: containers.json, or [containers,
//                           images] with flag 0x40) the same
//   8  apply_docker_config  (JSON) the same, labels from Config.Labels
//
// No exception may escape any of them. Pure: no I/O.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <sys/sysmacros.h>

#include <barbwire/abi/events.h>
#include <barbwire/container.hpp>

#include "containers.hpp"
#include "file_names.hpp"
#include "fuzz_common.hpp"
#include "mounts.hpp"
#include "proc_seed.hpp"

namespace {

using namespace barbwire;
using namespace barbwire::sensor;
using namespace std::chrono_literals;

// What the sensor records for a seeded process replays the same.
void check_seed(const process_info& p, bool truncated) {
    const event e = seed_event(p, 5s, truncated);
    BW_FUZZ_CHECK(e.pid == p.pid);
    BW_FUZZ_CHECK(e.truncated == truncated);
    fuzz::check_round_trips(e);
}

// --- 0: /proc/PID/stat ---------------------------------------------------------

void fuzz_stat(std::string_view text) {
    const auto st = parse_proc_stat(text);
    if (!st) return;
    const std::size_t open = text.find('(');
    const std::size_t close = text.rfind(')');
    BW_FUZZ_CHECK(open != std::string_view::npos && close != std::string_view::npos && open < close);
    BW_FUZZ_CHECK(st->comm == text.substr(open + 1, close - open - 1));
    BW_FUZZ_CHECK(st->state != ' ' && st->state != ')');

    // Printed back as the kernel prints it, it parses the same.
    const std::string line = std::to_string(st->pid) + " (" + st->comm + ") " + st->state + " " +
                             std::to_string(st->ppid) + " " + std::to_string(st->pgid) + " " +
                             std::to_string(st->sid) + " 0 -1 4194560 107 0 0 0 1 2 0 0 20 0 1 0 33";
    const auto again = parse_proc_stat(line);
    BW_FUZZ_CHECK(again.has_value());
    BW_FUZZ_CHECK(again->pid == st->pid && again->comm == st->comm && again->state == st->state &&
                  again->ppid == st->ppid && again->pgid == st->pgid && again->sid == st->sid);
    // The kernel's 40-odd further fields change nothing.
    std::string longer(text);
    longer += " 1 2 3 18446744073709551615 -1";
    const auto more = parse_proc_stat(longer);
    BW_FUZZ_CHECK(more.has_value());
    BW_FUZZ_CHECK(more->pid == st->pid && more->comm == st->comm && more->ppid == st->ppid &&
                  more->pgid == st->pgid && more->sid == st->sid);

    // As scan_proc seeds it.
    process_info p;
    p.pid = st->pid;
    p.ppid = st->ppid;
    p.pgid = st->pgid;
    p.sid = st->sid;
    p.comm = st->comm;
    if (p.comm.size() >= BW_COMM_LEN) p.comm.resize(BW_COMM_LEN - 1);
    p.argv = {p.comm};
    check_seed(p, false);
}

// --- 1: /proc/PID/status -----------------------------------------------------------

bool has_uid_line(std::string_view s) { return s.starts_with("Uid:") || s.find("\nUid:") != std::string_view::npos; }

void fuzz_status(std::string_view text) {
    const auto uid = parse_status_uid(text);
    if (uid) BW_FUZZ_CHECK(has_uid_line(text));
    // Lines before it that are not the Uid line change nothing.
    const std::string prefixed = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t1\n" + std::string(text);
    BW_FUZZ_CHECK(parse_status_uid(prefixed) == uid);
    // A later Uid line counts only when there was none.
    const std::string appended = std::string(text) + "\nUid:\t4242\t4242\t4242\t4242\n";
    if (uid) {
        BW_FUZZ_CHECK(parse_status_uid(appended) == uid);
    } else if (!has_uid_line(text)) {
        BW_FUZZ_CHECK(parse_status_uid(appended) == std::optional<std::uint32_t>(4242));
    }
    // What was read, written back as the kernel writes it, reads the same.
    if (uid) {
        const std::string v = std::to_string(*uid);
        BW_FUZZ_CHECK(parse_status_uid("Uid:\t" + v + "\t" + v + "\t0\t0\n") == uid);
    }
}

// --- 2: /proc/PID/cmdline ---------------------------------------------------------

void fuzz_cmdline(std::string_view text, std::uint8_t flags) {
    std::string input(text);
    // Flag 0x01: repeated past the bound, so truncation runs without huge inputs.
    if ((flags & 0x01) != 0 && !input.empty())
        while (input.size() <= BW_ARGV_MAX + 8) input += text;
    bool truncated = true;
    const std::vector<std::string> argv = split_cmdline(input, truncated);
    BW_FUZZ_CHECK(truncated == (input.size() > BW_ARGV_MAX));
    const std::string_view kept = std::string_view(input).substr(0, BW_ARGV_MAX);
    std::string joined;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        BW_FUZZ_CHECK(argv[i].find('\0') == std::string::npos);
        if (i > 0) joined += '\0';
        joined += argv[i];
    }
    // the kept bytes are the arguments, NUL-separated, with or without a final NUL
    BW_FUZZ_CHECK(kept == joined || kept == joined + std::string(1, '\0'));
    BW_FUZZ_CHECK(argv.size() <= BW_ARGV_MAX);
    BW_FUZZ_CHECK(argv.empty() == kept.empty());

    process_info p;
    p.pid = 4242;
    p.ppid = 1;
    p.comm = "cmd";
    p.exe = "/usr/bin/cmd";
    p.argv = argv;
    check_seed(p, truncated);
}

// --- 3: /proc/PID/cgroup -----------------------------------------------------------

bool is_hex64(std::string_view s) {
    if (s.size() != 64) return false;
    for (const char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

void check_container_shape(const container_info& c) {
    BW_FUZZ_CHECK(!c.id.empty());
    BW_FUZZ_CHECK(!c.cgroup.empty() && c.cgroup.front() == '/');
    BW_FUZZ_CHECK(!c.verified && c.name.empty() && c.image.empty() && c.labels.empty());
    if (c.runtime == container_runtime::lxc) {
        BW_FUZZ_CHECK(c.id.find('/') == std::string::npos);
    } else {
        BW_FUZZ_CHECK(is_hex64(c.id));
        BW_FUZZ_CHECK(c.cgroup.find(c.id) != std::string::npos);
    }
    if (!c.pod_uid.empty()) {
        BW_FUZZ_CHECK(c.pod_uid.size() == 36 || c.pod_uid.size() == 32);
        for (const char ch : c.pod_uid) BW_FUZZ_CHECK((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || ch == '-');
    }
    // The path up to the container's segment names exactly it.
    const auto again = container_of_cgroup(c.cgroup);
    BW_FUZZ_CHECK(again.has_value());
    BW_FUZZ_CHECK(*again == c);
}

void fuzz_cgroup(std::string_view text) {
    const auto c = container_of_proc_cgroup(text);
    if (c) {
        check_container_shape(*c);
        BW_FUZZ_CHECK(text.find(":" + c->cgroup) != std::string_view::npos);
    }
    // Every line's path, alone.
    for (std::string_view rest = text; !rest.empty();) {
        const std::size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        const std::size_t slash = line.find('/');
        if (slash == std::string_view::npos) continue;
        if (const auto one = container_of_cgroup(line.substr(slash))) check_container_shape(*one);
    }
    // A later v1 line never changes what was found, and fills in a missing one.
    const std::string docker = "/system.slice/docker-" + std::string(64, 'e') + ".scope";
    const auto with_v1 = container_of_proc_cgroup(std::string(text) + "\n1:name=systemd:" + docker + "\n");
    BW_FUZZ_CHECK(with_v1.has_value());
    if (c) BW_FUZZ_CHECK(*with_v1 == *c);
    else BW_FUZZ_CHECK(with_v1->id == std::string(64, 'e') && with_v1->runtime == container_runtime::docker);
    // A unified line first decides.
    if (c) {
        const auto unified = container_of_proc_cgroup("0::" + c->cgroup + "\n" + std::string(text));
        BW_FUZZ_CHECK(unified.has_value() && *unified == *c);
    }

    // As the sensor records a process in it.
    if (c) {
        process_info p;
        p.pid = 7;
        p.comm = "sh";
        p.exe = "/bin/sh";
        p.container = *c;
        check_seed(p, false);
    }
}

// --- 4: mountinfo ------------------------------------------------------------------

std::string escape_mount_field(std::string_view s) {
    std::string out;
    for (const char ch : s) {
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\\') {
            const auto u = static_cast<unsigned char>(ch);
            out += '\\';
            out += static_cast<char>('0' + (u >> 6));
            out += static_cast<char>('0' + ((u >> 3) & 7));
            out += static_cast<char>('0' + (u & 7));
        } else {
            out += ch;
        }
    }
    return out;
}

std::string write_mountinfo(const std::vector<mount_entry>& m) {
    std::string out;
    for (const mount_entry& e : m) {
        out += std::to_string(e.mount_id) + " 1 " + std::to_string(major(e.dev)) + ":" + std::to_string(minor(e.dev)) + " " +
               escape_mount_field(e.root) + " " + escape_mount_field(e.mount_point) + " rw,relatime shared:1 - " +
               e.fstype + " src rw\n";
    }
    return out;
}

std::vector<mount_entry> checked_mountinfo(std::string_view text) {
    const std::vector<mount_entry> m = parse_mountinfo(text);
    std::size_t lines = 0;
    for (const char c : text) lines += c == '\n';
    if (!text.empty() && text.back() != '\n') ++lines;
    BW_FUZZ_CHECK(m.size() <= lines);
    for (const mount_entry& e : m) {
        BW_FUZZ_CHECK(!e.fstype.empty() && !e.mount_point.empty() && !e.root.empty());
        BW_FUZZ_CHECK(e.fstype.find(' ') == std::string::npos && e.fstype.find('\n') == std::string::npos);
        BW_FUZZ_CHECK(makedev(major(e.dev), minor(e.dev)) == e.dev);
        (void)walk_skips_filesystem(e.fstype);
        (void)filesystem_may_block(e.fstype);
    }
    return m;
}

void fuzz_mountinfo(std::string_view text) {
    const std::vector<mount_entry> m = checked_mountinfo(text);
    const std::string written = write_mountinfo(m);
    BW_FUZZ_CHECK(parse_mountinfo(written) == m);
}

// --- 5: host_path_of ---------------------------------------------------------------

bool path_within(std::string_view path, std::string_view prefix) {
    if (prefix == "/") return !path.empty() && path.front() == '/';
    return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

void fuzz_host_path(std::string_view text) {
    const std::size_t nl = text.find('\n');
    const std::string_view path = text.substr(0, nl);
    const std::string_view tables = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const std::size_t sep = tables.find("\n--\n");
    const std::vector<mount_entry> inner = checked_mountinfo(tables.substr(0, sep));
    const std::vector<mount_entry> host =
        checked_mountinfo(sep == std::string_view::npos ? std::string_view{} : tables.substr(sep + 4));

    bool host_absolute = true;
    for (const mount_entry& e : host) host_absolute = host_absolute && e.mount_point.front() == '/';
    for (const auto* table : {&host, &inner}) {
        const auto hp = host_path_of(path, inner, *table);
        if (path.empty() || path.front() != '/') BW_FUZZ_CHECK(!hp);
        if (hp && table == &host && host_absolute) BW_FUZZ_CHECK(!hp->empty() && hp->front() == '/');
    }

    // Each mount its own file system, mounted from its root: a path maps to itself.
    std::vector<mount_entry> own;
    for (const mount_entry& e : inner) {
        const std::string& mp = e.mount_point;
        if (mp.front() != '/' || mp.find("//") != std::string::npos || (mp != "/" && mp.back() == '/')) continue;
        own.push_back(mount_entry{own.size() + 1, e.fstype, mp, "/"});
    }
    const auto self = host_path_of(path, own, own);
    bool reachable = false;
    for (const mount_entry& e : own) reachable = reachable || path_within(path, e.mount_point);
    BW_FUZZ_CHECK(self.has_value() == reachable);
    // (a path the kernel gives has no final '/': "/a/" under the mount "/a" maps to "/a")
    if (self && !(path.size() > 1 && path.back() == '/')) BW_FUZZ_CHECK(*self == path);
}

// --- 6..8: the runtimes' JSON ------------------------------------------------------

// Deep enough for what the appliers read (three levels); bounded, so that
// deeply nested input does not exhaust the stack here.
void collect_strings(const nlohmann::json& j, std::set<std::string>& out, int depth = 0) {
    if (depth > 8) return;
    if (j.is_string()) {
        const auto& s = j.get_ref<const std::string&>();
        out.insert(s);
        if (!s.empty() && s.front() == '/') out.insert(s.substr(1)); // docker's "/name"
    } else if (j.is_structured()) {
        for (const auto& v : j) collect_strings(v, out, depth + 1);
    }
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

// labels_of: bounded, sorted, unique, cut at character boundaries, each a
// (cut) string label of the object.
void check_labels(const container_labels& labels, const nlohmann::json& object) {
    BW_FUZZ_CHECK(labels.size() <= max_container_labels);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto& [k, v] = labels[i];
        BW_FUZZ_CHECK(!k.empty() && k.size() <= max_label_key && v.size() <= max_label_value);
        BW_FUZZ_CHECK(valid_utf8(k) && valid_utf8(v));
        if (i > 0) BW_FUZZ_CHECK(labels[i - 1].first < k);
        BW_FUZZ_CHECK(object.is_object());
        bool found = false;
        for (auto it = object.begin(); it != object.end() && !found; ++it)
            found = it->is_string() && it.key().starts_with(k) && it->get_ref<const std::string&>().starts_with(v);
        BW_FUZZ_CHECK(found);
    }
    if (!object.is_object()) BW_FUZZ_CHECK(labels.empty());
    // what the sensor writes (trace lines, alerts) cannot throw on them
    (void)nlohmann::json(labels).dump();
}

container_info prefilled(std::uint8_t flags) {
    container_info c;
    c.id = "abc";
    c.runtime = container_runtime::podman;
    c.cgroup = "/machine.slice/libpod-abc.scope";
    if (flags & 0x01) c.name = "pre-name";
    if (flags & 0x02) c.image = "pre-image";
    if (flags & 0x04) c.pod_name = "pre-pod";
    if (flags & 0x08) c.pod_namespace = "pre-namespace";
    if (flags & 0x10) c.pod_uid = "pre-uid";
    if (flags & 0x20) c.k8s_container = "pre-k8s";
    return c;
}

// Only empty fields are filled, with strings of the input.
void check_filled(const container_info& before, const container_info& after, const nlohmann::json& j) {
    std::set<std::string> strings;
    collect_strings(j, strings);
    const auto field = [&](const std::string& b, const std::string& a, bool name) {
        if (!b.empty()) {
            BW_FUZZ_CHECK(a == b);
            return;
        }
        if (a.empty()) return;
        BW_FUZZ_CHECK(strings.count(a) == 1 || (name && a == after.k8s_container));
    };
    field(before.name, after.name, true);
    field(before.image, after.image, false);
    field(before.pod_name, after.pod_name, false);
    field(before.pod_namespace, after.pod_namespace, false);
    field(before.pod_uid, after.pod_uid, false);
    field(before.k8s_container, after.k8s_container, false);
    BW_FUZZ_CHECK(after.id == before.id && after.runtime == before.runtime && after.cgroup == before.cgroup &&
                  after.verified == before.verified);
}

void fuzz_json(int mode, std::string_view text, std::uint8_t flags) {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return;
    container_info c = prefilled(flags);
    const container_info before = c;
    if (mode == 6) {
        apply_annotations(c, j);
        check_filled(before, c, j);
        BW_FUZZ_CHECK(c.labels == before.labels);
        check_labels(labels_of(j), j);
    } else if (mode == 7) {
        const bool pair = (flags & 0x40) != 0 && j.is_array() && j.size() == 2;
        const nlohmann::json& containers = pair ? j[0] : j;
        const nlohmann::json* images = pair ? &j[1] : nullptr;
        // Flag 0x80: the container is the first one listed. Not one with an
        // empty id: the sensor never has one (container_of skips an empty id,
        // and the trace format refuses it), so the harness must not make one
        // either (found by the campaign: regression-crash-f7cce969...).
        if ((flags & 0x80) != 0 && containers.is_array() && !containers.empty() && containers[0].is_object()) {
            const auto id = containers[0].find("id");
            if (id != containers[0].end() && id->is_string() && !id->get_ref<const std::string&>().empty())
                c.id = id->get<std::string>();
        }
        const container_info with_id = c;
        apply_storage_containers(c, containers, images);
        check_filled(with_id, c, j);
        BW_FUZZ_CHECK(c.pod_name == with_id.pod_name && c.pod_namespace == with_id.pod_namespace &&
                      c.pod_uid == with_id.pod_uid && c.k8s_container == with_id.k8s_container);
    } else {
        if (flags & 0x40) c.labels = {{"pre", "label"}};
        const container_info with_labels = c;
        apply_docker_config(c, j);
        check_filled(with_labels, c, j);
        if (!with_labels.labels.empty()) {
            BW_FUZZ_CHECK(c.labels == with_labels.labels);
        } else if (!c.labels.empty()) {
            BW_FUZZ_CHECK(j.is_object() && j.contains("Config") && j["Config"].is_object() &&
                          j["Config"].contains("Labels"));
            check_labels(c.labels, j["Config"]["Labels"]);
        }
    }
    // What the sensor records for a process in it replays the same.
    process_info p;
    p.pid = 9;
    p.comm = "app";
    p.exe = "/app";
    p.container = c;
    check_seed(p, false);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2 || size > 64 * 1024) return 0;
    const int mode = data[0] % 9;
    const std::uint8_t flags = data[1];
    const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
    try {
        switch (mode) {
        case 0: fuzz_stat(text); break;
        case 1: fuzz_status(text); break;
        case 2: fuzz_cmdline(text, flags); break;
        case 3: fuzz_cgroup(text); break;
        case 4: fuzz_mountinfo(text); break;
        case 5: fuzz_host_path(text); break;
        default: fuzz_json(mode, text, flags); break;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "exception escaped: %s\n", e.what());
        BW_FUZZ_CHECK(!"an exception escaped a parser");
    }
    return 0;
}
