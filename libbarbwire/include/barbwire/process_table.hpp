#pragma once
// The process table: what the correlator knows about each process (tgid),
// built from exec / fork / exit events and /proc seeding.
//
//  * exec: the process runs a new image; identity fields come from the event.
//    An exec of a live entry updates it in place (same process: first_seen is
//    kept); an exec of an exited entry is a reused pid (a new process).
//  * fork: the event's pid is the parent. A thread fork (child_pid == pid)
//    creates nothing. A process fork creates the child, which inherits the
//    parent's comm, exe, hash, argv, uid, sid and pgid, with ppid = parent.
//    A fork onto a pid already in the table replaces that entry entirely.
//  * exit: only the group leader's exit (tid == pid) ends a process; the
//    entry is marked exited and kept for lineage lookups until expire()
//    finds it older than the window. Thread exits are ignored.
//  * any other event from an unknown pid creates a minimal entry
//    (origin::unknown: pid and timestamps only).
//
// Bounded: at most capacity() entries. Inserting into a full table evicts
// the exited entry that exited first if there is one, otherwise the live
// entry seen least recently; evictions are counted. Every operation is O(1)
// amortized (hash index + intrusive lists by index); expire() is O(expired).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "barbwire/clock.hpp"
#include "barbwire/config.hpp"
#include "barbwire/detail/lru.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

// How an entry learned its identity.
enum class process_origin : std::uint8_t {
    unknown = 0, // first seen through an open/net event: pid only
    exec = 1,    // from an exec event
    fork = 2,    // inherited from the parent at fork
    seed = 3,    // seeded from /proc by the sensor
};

[[nodiscard]] constexpr std::string_view to_string(process_origin o) noexcept {
    switch (o) {
    case process_origin::unknown: return "unknown";
    case process_origin::exec: return "exec";
    case process_origin::fork: return "fork";
    case process_origin::seed: return "seed";
    }
    return "unknown";
}

struct process_info {
    pid_type pid = 0;
    pid_type ppid = 0;  // 0: unknown
    std::uint32_t uid = 0;
    std::uint32_t sid = 0;
    std::uint32_t pgid = 0;
    std::string comm;
    std::string exe;        // kernel executable path; empty when unknown
    std::string exe_sha256; // empty when unknown
    std::uint64_t exe_dev = 0;
    std::uint64_t exe_ino = 0;
    std::vector<std::string> argv;
    nanoseconds first_seen{0};
    nanoseconds last_seen{0};
    std::optional<nanoseconds> exit_ts; // set once the process has exited
    process_origin origin = process_origin::unknown;

    [[nodiscard]] bool exited() const noexcept { return exit_ts.has_value(); }
    friend bool operator==(const process_info&, const process_info&) = default;
};

// What apply() / seed() did to the table.
enum class table_change : std::uint8_t {
    none,     // nothing (thread fork/exit, exit of an unknown or exited pid)
    touched,  // an open/net event refreshed (or created a minimal) entry
    created,  // a new entry
    updated,  // exec of a live process: same process, new image
    replaced, // a pid reused: the old entry's identity is gone
    exited,   // a process exited
};

class process_table {
public:
    explicit process_table(std::size_t capacity = limits{}.max_processes) { set_capacity(capacity); }

    // Applies an event. For fork, the change describes the child (for a
    // thread fork: none). open/net events touch the event's pid.
    table_change apply(const event& ev) {
        if (const auto* e = ev.as<exec_event>()) return on_exec(ev, *e);
        if (const auto* f = ev.as<fork_event>()) return on_fork(ev, *f);
        if (ev.as<exit_event>() != nullptr) return on_exit(ev);
        touch(ev.pid, ev.ts);
        return table_change::touched;
    }

    // Ensures `pid` has an entry (a minimal one if unknown), refreshes its
    // last_seen and LRU position, and returns it. The reference is valid
    // until the next call that inserts.
    const process_info& touch(pid_type pid, nanoseconds ts) {
        detail::slab_index i = map_.find(pid);
        if (i == detail::no_index) {
            i = insert(pid);
            reset(map_.value(i), pid, ts);
        } else if (map_.list_of(i) == live) {
            map_.move_to_back(i, live);
        }
        process_info& p = map_.value(i);
        p.last_seen = std::max(p.last_seen, ts);
        return p;
    }

    // Inserts or replaces an entry from /proc (or any other source). An entry
    // with exit_ts set goes to the exited list.
    table_change seed(process_info info) {
        const pid_type pid = info.pid;
        detail::slab_index i = map_.find(pid);
        const bool existed = i != detail::no_index;
        const std::size_t list = info.exited() ? exited_list : live;
        if (existed) map_.move_to_back(i, list);
        else i = insert(pid, list);
        map_.value(i) = std::move(info);
        return existed ? table_change::replaced : table_change::created;
    }

    [[nodiscard]] const process_info* find(pid_type pid) const {
        const detail::slab_index i = map_.find(pid);
        return i == detail::no_index ? nullptr : &map_.value(i);
    }

    // The parent entry of p, or nullptr when unknown (ppid 0, not in the
    // table, or p claims to be its own parent).
    [[nodiscard]] const process_info* parent(const process_info& p) const {
        if (p.ppid == 0 || p.ppid == p.pid) return nullptr;
        return find(p.ppid);
    }

    // Removes exited processes whose exit is more than `window` before `now`
    // (exit_ts + window < now). Returns how many were removed.
    std::size_t expire(nanoseconds now, nanoseconds window) {
        std::size_t n = 0;
        for (detail::slab_index i = map_.front(exited_list); i != detail::no_index; i = map_.front(exited_list)) {
            const process_info& p = map_.value(i);
            if (!(*p.exit_ts + window < now)) break;
            map_.erase(i);
            ++n;
        }
        expired_ += n;
        return n;
    }

    // Changes the capacity (minimum 1); a smaller capacity evicts at once.
    void set_capacity(std::size_t capacity) {
        capacity_ = std::max<std::size_t>(capacity, 1);
        map_.shrink_to(capacity_, [this] { evict_one(); });
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] bool empty() const noexcept { return map_.empty(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::size_t live_count() const noexcept { return map_.list_size(live); }
    [[nodiscard]] std::size_t exited_count() const noexcept { return map_.list_size(exited_list); }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }
    [[nodiscard]] std::uint64_t expired() const noexcept { return expired_; }

    // Visits every entry: live ones from least to most recently seen, then
    // exited ones in exit order.
    template <class F> void for_each(F&& f) const {
        for (std::size_t l : {live, exited_list})
            for (detail::slab_index i = map_.front(l); i != detail::no_index; i = map_.next(i)) f(map_.value(i));
    }

    void clear() { map_.clear(); }

private:
    static constexpr std::size_t live = 0;
    static constexpr std::size_t exited_list = 1;

    // Resets every field of a (possibly reused) slot; strings keep capacity.
    static void reset(process_info& p, pid_type pid, nanoseconds ts) {
        p.pid = pid;
        p.ppid = 0;
        p.uid = p.sid = p.pgid = 0;
        p.comm.clear();
        p.exe.clear();
        p.exe_sha256.clear();
        p.exe_dev = p.exe_ino = 0;
        p.argv.clear();
        p.first_seen = p.last_seen = ts;
        p.exit_ts.reset();
        p.origin = process_origin::unknown;
    }

    void evict_one() {
        detail::slab_index victim = map_.front(exited_list);
        if (victim == detail::no_index) victim = map_.front(live);
        map_.erase(victim);
        ++evictions_;
    }

    detail::slab_index insert(pid_type pid, std::size_t list = live) {
        if (map_.size() >= capacity_) evict_one();
        return map_.insert(pid, list);
    }

    table_change on_exec(const event& ev, const exec_event& e) {
        detail::slab_index i = map_.find(ev.pid);
        table_change change = table_change::updated;
        if (i == detail::no_index) {
            i = insert(ev.pid);
            reset(map_.value(i), ev.pid, ev.ts);
            change = table_change::created;
        } else if (map_.value(i).exited()) {
            map_.move_to_back(i, live);
            reset(map_.value(i), ev.pid, ev.ts);
            change = table_change::replaced;
        } else {
            map_.move_to_back(i, live);
        }
        process_info& p = map_.value(i);
        p.ppid = e.ppid;
        p.uid = e.uid;
        p.sid = e.sid;
        p.pgid = e.pgid;
        p.comm = e.comm;
        p.exe = e.exe;
        p.exe_sha256 = e.exe_sha256;
        p.exe_dev = e.exe_dev;
        p.exe_ino = e.exe_ino;
        p.argv = e.argv;
        p.last_seen = std::max(p.last_seen, ev.ts);
        p.origin = process_origin::exec;
        return change;
    }

    table_change on_fork(const event& ev, const fork_event& f) {
        const pid_type parent_pid = ev.pid;
        touch(parent_pid, ev.ts); // the parent is now the most recently seen entry
        if (f.is_thread(parent_pid) || f.child_pid == 0) return table_change::none;

        detail::slab_index c = map_.find(f.child_pid);
        table_change change = table_change::replaced;
        if (c == detail::no_index) {
            c = insert(f.child_pid);
            change = table_change::created;
        } else {
            map_.move_to_back(c, live);
        }
        reset(map_.value(c), f.child_pid, ev.ts);
        process_info& child = map_.value(c);
        child.ppid = parent_pid;
        child.origin = process_origin::fork;
        // Re-find the parent: inserting the child may have moved the slab
        // (or, with capacity 1, evicted the parent).
        const detail::slab_index pi = map_.find(parent_pid);
        if (pi != detail::no_index) {
            const process_info& parent = map_.value(pi);
            child.uid = parent.uid;
            child.sid = parent.sid;
            child.pgid = parent.pgid;
            child.comm = parent.comm;
            child.exe = parent.exe;
            child.exe_sha256 = parent.exe_sha256;
            child.exe_dev = parent.exe_dev;
            child.exe_ino = parent.exe_ino;
            child.argv = parent.argv;
        }
        return change;
    }

    table_change on_exit(const event& ev) {
        if (ev.tid != ev.pid) return table_change::none; // a thread, not the process
        const detail::slab_index i = map_.find(ev.pid);
        if (i == detail::no_index) return table_change::none;
        process_info& p = map_.value(i);
        if (p.exited()) return table_change::none;
        p.exit_ts = ev.ts;
        p.last_seen = std::max(p.last_seen, ev.ts);
        map_.move_to_back(i, exited_list);
        return table_change::exited;
    }

    detail::slab_map<pid_type, process_info, std::hash<pid_type>, 2> map_;
    std::size_t capacity_ = 1;
    std::uint64_t evictions_ = 0;
    std::uint64_t expired_ = 0;
};

} // namespace barbwire
