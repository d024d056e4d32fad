// Stateful fuzzing of the correlator (issue 15): the input is read as a
// stream of events (execs, forks, exits, opens, writes, connects, sends,
// file identities) among a few processes, files and destinations, with
// times that go forward, stand still, go back a little or jump to the ends
// of the type. After every event the correlator's invariants must hold:
//
//   - every table stays within its capacity, and its high-water mark too,
//     with small capacities so that eviction runs all the time (read from
//     the stats after every event; through the published JSON stats, for
//     each "X" with an "X_capacity", X <= X_capacity, every 256 events and
//     after the last);
//   - the counters agree: events counted == events fed (after every event);
//   - no alert without a sensitive open in scope: an alert names a file
//     some process of the stream opened or wrote (a derived secret), at
//     its path or an identity's path, and a destination the stream used;
//   - nothing throws, and the alert renders to JSON.
//
// Pure: no clock (time is the events'), no I/O.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <barbwire/alert.hpp>
#include <barbwire/correlator.hpp>

#include "fuzz_check.hpp"

namespace {

using namespace barbwire;
using namespace std::chrono_literals;

class byte_reader {
public:
    byte_reader(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
    [[nodiscard]] bool empty() const noexcept { return i_ >= n_; }
    std::uint8_t u8() { return i_ < n_ ? d_[i_++] : 0; }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        for (int k = 0; k < 4; ++k) v = v << 8 | u8();
        return v;
    }

private:
    const std::uint8_t* d_;
    std::size_t n_;
    std::size_t i_ = 0;
};

// Sensitive (built-in categories) and ordinary files; the index is the inode.
const char* const k_paths[] = {
    "/etc/shadow", "/root/.ssh/id_rsa", "/home/a/.aws/credentials", "/home/a/.ssh/id_ed25519",
    "/tmp/staged", "/home/a/notes.txt", "/usr/lib/libc.so.6", "/etc/passwd",
    "/home/a/.config/gh/hosts.yml", "/proc/1/environ", "/var/tmp/x", "/home/a/.kube/config",
};
constexpr std::size_t k_npaths = sizeof(k_paths) / sizeof(k_paths[0]);
const char* const k_comms[] = {"bash", "python3", "curl", "ssh", "sshd", "cat", "node", "systemd"};
const char* const k_addrs[] = {"203.0.113.7", "127.0.0.1", "10.0.0.2", "::1", "2001:db8::5", "8.8.8.8"};
const std::uint16_t k_ports[] = {443, 53, 22, 80, 8080, 1};

config make_small_config() {
    config c = default_config();
    c.limits.max_processes = 16;
    c.limits.max_opens_per_process = 3;
    c.limits.max_tracked_openers = 6;
    c.limits.max_dedup_entries = 5;
    c.limits.max_file_identities = 4;
    c.limits.max_holders = 4;
    c.limits.max_derived_files = 3;
    c.alert_threshold = 0; // every correlation becomes an alert: the properties see them all
    return c;
}

// Made once: default_config() parses the built-in rules' JSON, and
// compiling them builds the file matcher's automaton (under the sanitizers
// and coverage that cost more than most inputs' events); each input's
// correlator starts from a copy.
const rule_set& small_rules() {
    static const rule_set r(make_small_config());
    return r;
}

// Every table within its capacity, its high-water mark too, read from the
// stats themselves: cheap enough for every event.
void check_capacities(const correlator_stats& s) {
    BW_FUZZ_CHECK(s.processes <= s.processes_capacity && s.processes_peak <= s.processes_capacity);
    BW_FUZZ_CHECK(s.openers <= s.openers_capacity && s.openers_peak <= s.openers_capacity);
    BW_FUZZ_CHECK(s.dedup_entries <= s.dedup_capacity && s.dedup_peak <= s.dedup_capacity);
    BW_FUZZ_CHECK(s.file_identities <= s.file_identities_capacity &&
                  s.file_identities_peak <= s.file_identities_capacity);
    BW_FUZZ_CHECK(s.holders <= s.holders_capacity && s.holders_peak <= s.holders_capacity);
    BW_FUZZ_CHECK(s.derived_files <= s.derived_files_capacity && s.derived_files_peak <= s.derived_files_capacity);
    BW_FUZZ_CHECK(s.bound_files <= s.bound_files_capacity);
    BW_FUZZ_CHECK(s.incidents <= s.incidents_capacity && s.incidents_peak <= s.incidents_capacity);
}

// The same through the stats as they are published (JSON): for each "X"
// with an "X_capacity", X <= X_capacity, so that a table added later is
// checked without changing this harness; and the event counter. Rendering
// the stats costs more than the event (it was a seventh of the harness's
// time at every 64), so this runs every 256 events and after the last one;
// check_capacities runs after every event.
void check_published(const correlator_stats& stats, std::uint64_t fed) {
    const nlohmann::json s = to_json(stats);
    for (auto it = s.begin(); it != s.end(); ++it) {
        const auto cap = s.find(it.key() + "_capacity");
        if (cap != s.end() && it->is_number_unsigned() && cap->is_number_unsigned())
            BW_FUZZ_CHECK(it->get<std::uint64_t>() <= cap->get<std::uint64_t>());
    }
    BW_FUZZ_CHECK(s.at("events").get<std::uint64_t>() == fed);
}

nanoseconds next_time(byte_reader& in, nanoseconds t) {
    const std::uint8_t how = in.u8();
    switch (how % 8) {
    case 0: return t;                                        // the same instant
    case 1: return saturating_add(t, -nanoseconds(in.u8())); // a little back (per-CPU ring order)
    case 2: return nanoseconds::max() - nanoseconds(in.u32()); // near the end of time
    case 3: return nanoseconds(in.u32());                    // anywhere early
    case 4: return saturating_add(t, std::chrono::seconds(in.u8()));        // past windows
    default: return saturating_add(t, std::chrono::milliseconds(in.u8())); // the usual
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    byte_reader in(data, size);
    correlator corr(small_rules());
    nanoseconds t = 1s;
    std::set<std::string> touched;   // paths opened or written so far
    std::set<std::string> addrs;     // destinations used so far
    std::uint64_t fed = 0;
    for (int steps = 0; !in.empty() && steps < 4096; ++steps) {
        const std::uint8_t op = in.u8();
        t = next_time(in, t);
        const pid_type pid = 100 + in.u8() % 24;
        event ev{t, pid, pid, false, exit_event{0}};
        switch (op % 9) {
        case 0: {
            exec_event x;
            x.ppid = 100 + in.u8() % 24;
            x.comm = k_comms[in.u8() % 8];
            x.exe = "/usr/bin/" + x.comm;
            x.argv = {x.comm};
            x.uid = in.u8() % 2 ? 0 : 1000;
            ev.body = x;
            break;
        }
        case 1: {
            const pid_type child = 100 + in.u8() % 24;
            // a new process, or (child pid == parent's) a new thread
            ev.body = in.u8() % 3 == 0 ? fork_event{pid, child} : fork_event{child, child};
            break;
        }
        case 2: ev.body = exit_event{0}; break;
        case 3:
        case 4: {
            open_event o;
            const std::size_t k = in.u8() % k_npaths;
            o.path = k_paths[k];
            o.dev = 2049;
            o.ino = 1 + (in.u8() % 2 ? k : in.u8() % 4); // sometimes a hard link of another file
            o.uid = 1000;
            touched.insert(o.path);
            ev.body = o;
            break;
        }
        case 5: {
            write_event w;
            const std::size_t k = in.u8() % k_npaths;
            w.path = k_paths[k];
            w.dev = 2049;
            w.ino = 1 + k;
            w.bytes = 1 + in.u8();
            touched.insert(w.path);
            ev.body = w;
            break;
        }
        case 6:
        case 7: {
            net_event n;
            const char* a = k_addrs[in.u8() % 6];
            n.addr = *ip_address::parse(a);
            n.port = k_ports[in.u8() % 6];
            n.op = (op % 9) == 6 ? net_op::connect : net_op::send;
            n.protocol = in.u8() % 3 == 0 ? ip_proto::udp : ip_proto::tcp;
            n.bytes = n.op == net_op::send ? 1 + in.u8() : 0;
            n.uid = 1000;
            addrs.insert(n.addr.to_string());
            ev.body = n;
            break;
        }
        default: {
            file_event f; // a named file's identity, as the sensor reports it
            const std::size_t k = in.u8() % k_npaths;
            f.path = k_paths[k];
            f.dev = 2049;
            f.ino = 1 + k;
            ev.pid = ev.tid = 0;
            ev.body = f;
            break;
        }
        }
        ++fed;
        const std::optional<alert> a = corr.process(ev);
        if (a) {
            BW_FUZZ_CHECK(ev.as<net_event>() != nullptr);
            BW_FUZZ_CHECK(touched.count(a->file.path) == 1 || touched.count(a->file.same_inode_as) == 1 ||
                          a->file.derived_from != nullptr);
            BW_FUZZ_CHECK(addrs.count(a->destination.addr.to_string()) == 1);
            (void)to_json(*a).dump();
        }
        if (in.u8() % 16 == 0) corr.expire(t);
        (void)corr.drain_summaries();
        (void)corr.drain_holder_changes();
        (void)corr.drain_derived_changes();

        check_capacities(corr.stats());
        BW_FUZZ_CHECK(corr.stats().events == fed);
        if (fed % 256 == 0) check_published(corr.stats(), fed);
    }
    check_published(corr.stats(), fed);
    return 0;
}
