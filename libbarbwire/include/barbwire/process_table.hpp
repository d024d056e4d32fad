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
//  * lineage: every entry has a generation (a serial number, new for every
//    new process instance, kept across an exec of a live process) and
//    remembers the generation of the parent it was linked to, so a reused
//    parent pid is never mistaken for the parent (parent() checks it). An
//    exited process that still has children in the table is PINNED: it does
//    not expire while they are there (their ancestry needs it); when its
//    last child goes, it is retired and expires one window later. An exec
//    whose ppid differs from the remembered one (the kernel reparented the
//    process to init or a subreaper) moves the link to the new parent; until
//    then a child of a dead parent keeps its remembered lineage.
//  * any other event from an unknown pid creates a minimal entry
//    (origin::unknown: pid and timestamps only).
//
// Bounded: at most capacity() entries. Inserting into a full table evicts
// the exited (unpinned) entry retired first if there is one, otherwise the
// pinned exited ancestor that exited first, otherwise the live entry seen
// least recently; evictions are counted. Every operation is O(1)
// amortized (hash index + intrusive lists by index); expire() is O(expired).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "barbwire/clock.hpp"
#include "barbwire/config.hpp"
#include "barbwire/detail/lru.hpp"
#include "barbwire/detail/shared_const.hpp"
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

// The script a process runs, held out of line and shared (a fork's child
// shares its parent's): detail/shared_const.hpp.
using shared_script = detail::shared_const<script_identity>;

static_assert(foreign_all <= 0xff, "process_info::foreign is a byte");

struct process_info {
    pid_type pid = 0;
    pid_type ppid = 0;  // 0: unknown
    std::uint32_t uid = 0;
    std::uint32_t sid = 0;
    std::uint32_t pgid = 0;
    // foreign_code bits: code from outside the program got in. Set at exec
    // (preload environment or file, traced at exec), by foreign events (a
    // ptrace attach, a memory write: until the next exec), and inherited
    // at fork (a child copies the memory its parent had). The bits fit a
    // byte (foreign_all); the byte, origin and exe_host_file share the
    // word after pgid (the table keeps one entry per process: every 8
    // bytes are half a MiB at the default limits).
    std::uint8_t foreign = 0;
    process_origin origin = process_origin::unknown;
    std::optional<bool> exe_host_file; // the exe's (dev, ino) is the file at `exe` in the
                                       // host's mount namespace; nullopt: unknown
    std::string comm;
    std::string exe;        // kernel executable path; empty when unknown
    std::string exe_sha256; // empty when unknown
    std::uint64_t exe_dev = 0;
    std::uint64_t exe_ino = 0;
    std::optional<std::uint32_t> exe_uid;  // owner of the executable; nullopt when unknown
    std::optional<std::uint32_t> exe_mode; // its st_mode & 07777; nullopt when unknown
    // Identity checks by the sensor (exec_event has the meanings; exe_host_file
    // is above, beside origin, where it costs no padding):
    std::string exe_package;           // the dpkg package that ships `exe` unmodified; empty: none/unknown
    detail::shared_strings argv; // shared with the forks that inherit it (detail/shared_const.hpp)
    // The script an interpreter runs (exec_event::script, then script_event):
    // its program identity for trust, allowlists and baselines. A pending one
    // (dev 0, ino 0, no hash) is a script whose file is not known yet.
    shared_script script;
    // The container it runs in (container.hpp); empty: the host, or not known.
    // A container boundary is a family boundary.
    shared_container container;
    nanoseconds first_seen{0};
    nanoseconds last_seen{0};
    detail::optional_time exit_ts; // set once the process has exited

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
        now_ = std::max(now_, ev.ts);
        if (const auto* e = ev.as<exec_event>()) return on_exec(ev, *e);
        if (const auto* f = ev.as<fork_event>()) return on_fork(ev, *f);
        if (ev.as<exit_event>() != nullptr) return on_exit(ev);
        if (const auto* f = ev.as<foreign_event>()) {
            touch(ev.pid, ev.ts);
            if (f->target == 0) return table_change::touched;
            map_.value(touch_index(f->target, ev.ts)).info.foreign |= f->bits & foreign_all;
            return table_change::touched;
        }
        if (const auto* s = ev.as<script_event>()) {
            map_.value(touch_index(ev.pid, ev.ts)).info.script = s->script;
            return table_change::touched;
        }
        touch(ev.pid, ev.ts);
        return table_change::touched;
    }

    // Ensures `pid` has an entry (a minimal one if unknown), refreshes its
    // last_seen and LRU position, and returns it. The reference is valid
    // until the next call that inserts.
    const process_info& touch(pid_type pid, nanoseconds ts) { return map_.value(touch_index(pid, ts)).info; }

    // Inserts or replaces an entry from /proc (or any other source). An entry
    // with exit_ts set goes to the exited list. A replaced entry is a new
    // process instance (new generation).
    table_change seed(process_info info) {
        const pid_type pid = info.pid;
        detail::slab_index i = map_.find(pid);
        const bool existed = i != detail::no_index;
        if (existed) {
            unlink_parent(map_.value(i));
        } else {
            i = insert(pid);
        }
        entry& e = map_.value(i);
        e.info = std::move(info);
        e.generation = ++next_generation_;
        e.parent_generation = 0;
        e.children = 0;
        e.retire_ts = e.info.exit_ts ? std::max(*e.info.exit_ts, now_) : nanoseconds{0};
        place(i);
        link_parent(i);
        return existed ? table_change::replaced : table_change::created;
    }

    // A hint before an event that may insert `pid` (a fork's child): starts
    // loading the index slot of `pid` and, when the table is full, the
    // entry the insert would evict. Changes nothing.
    void prefetch_insert(pid_type pid) const noexcept {
        map_.prefetch(pid);
        if (map_.size() < capacity_) return;
        const detail::slab_index v = victim();
        if (v == detail::no_index) return;
        map_.prefetch_node(v);
        detail::prefetch_address(&map_.value(v).parent_generation);
    }

    [[nodiscard]] const process_info* find(pid_type pid) const {
        const detail::slab_index i = map_.find(pid);
        return i == detail::no_index ? nullptr : &map_.value(i).info;
    }

    // The generation of the entry holding `pid` (0 when not in the table).
    // A new process instance on a pid always gets a new generation.
    [[nodiscard]] std::uint64_t generation(pid_type pid) const {
        const detail::slab_index i = map_.find(pid);
        return i == detail::no_index ? 0 : map_.value(i).generation;
    }

    // Children of the entry holding `pid` that are in the table and linked to it.
    [[nodiscard]] std::uint32_t children(pid_type pid) const {
        const detail::slab_index i = map_.find(pid);
        return i == detail::no_index ? 0 : map_.value(i).children;
    }

    // True when `pid` is an exited process kept only because children in the
    // table still need its lineage.
    [[nodiscard]] bool pinned(pid_type pid) const {
        const detail::slab_index i = map_.find(pid);
        return i != detail::no_index && map_.list_of(i) == pinned_list;
    }

    // The parent entry of p, or nullptr when unknown (ppid 0, not in the
    // table, p claims to be its own parent, or the pid now holds another
    // process than the one p was linked to). `p` must be an entry of this
    // table (a reference from find()/touch()).
    [[nodiscard]] const process_info* parent(const process_info& p) const {
        if (p.ppid == 0 || p.ppid == p.pid) return nullptr;
        const detail::slab_index c = map_.find(p.pid);
        const detail::slab_index i = map_.find(p.ppid);
        if (i == detail::no_index) return nullptr;
        if (c == detail::no_index || &map_.value(c).info != &p) return &map_.value(i).info; // not ours: by pid
        return parent_matches(map_.value(c), map_.value(i)) ? &map_.value(i).info : nullptr;
    }

    // Removes exited processes retired more than `window` before `now`
    // (retire + window < now; the retire time is the exit time, or when the
    // last child of a pinned process went). Pinned processes stay. Returns
    // how many were removed.
    std::size_t expire(nanoseconds now, nanoseconds window) {
        now_ = std::max(now_, now);
        std::size_t n = 0;
        for (detail::slab_index i = map_.front(exited_list); i != detail::no_index; i = map_.front(exited_list)) {
            if (!older_than(map_.value(i).retire_ts, window, now)) break;
            erase(i);
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
    [[nodiscard]] std::size_t exited_count() const noexcept {
        return map_.list_size(exited_list) + map_.list_size(pinned_list);
    }
    [[nodiscard]] std::size_t pinned_count() const noexcept { return map_.list_size(pinned_list); }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }
    [[nodiscard]] std::uint64_t expired() const noexcept { return expired_; }

    // Visits every entry: live ones from least to most recently seen, then
    // exited ones in retire order, then pinned exited ancestors in exit order.
    template <class F> void for_each(F&& f) const {
        for (std::size_t l : {live, exited_list, pinned_list})
            for (detail::slab_index i = map_.front(l); i != detail::no_index; i = map_.next(i)) f(map_.value(i).info);
    }

    void clear() { map_.clear(); }

private:
    static constexpr std::size_t live = 0;
    static constexpr std::size_t exited_list = 1;
    static constexpr std::size_t pinned_list = 2;

    struct entry {
        process_info info;
        std::uint64_t generation = 0;        // this process instance
        std::uint64_t parent_generation = 0; // the parent instance it is linked to; 0: not linked
        std::uint32_t children = 0;          // entries linked to this one as their parent
        nanoseconds retire_ts{0};            // exited: when it became expirable
    };

    // Is `par` the parent instance `child` belongs to? When the link was
    // never made (the parent was unknown then), accept a parent first seen
    // no later than the child: a pid reused after the child appeared is not
    // its parent.
    static bool parent_matches(const entry& child, const entry& par) noexcept {
        if (child.parent_generation != 0) return par.generation == child.parent_generation;
        return par.info.first_seen <= child.info.first_seen;
    }

    // Resets every field of a (possibly reused) slot as a new process
    // instance; strings keep their capacity. A caller that assigns argv
    // right after passes argv_follows, so that the slot's old argv strings
    // are reused (assigned over) rather than freed and allocated again.
    enum class argv_follows : bool { no, yes };
    void fresh(detail::slab_index i, pid_type pid, nanoseconds ts, argv_follows af = argv_follows::no) {
        entry& e = map_.value(i);
        process_info& p = e.info;
        p.pid = pid;
        p.ppid = 0;
        p.uid = p.sid = p.pgid = 0;
        p.comm.clear();
        p.exe.clear();
        p.exe_sha256.clear();
        p.exe_dev = p.exe_ino = 0;
        p.exe_uid.reset();
        p.exe_mode.reset();
        p.exe_host_file.reset();
        p.exe_package.clear();
        if (af == argv_follows::no) p.argv.clear();
        p.script.reset();
        p.container.reset();
        p.foreign = 0;
        p.first_seen = p.last_seen = ts;
        p.exit_ts.reset();
        p.origin = process_origin::unknown;
        e.generation = ++next_generation_;
        e.parent_generation = 0;
        e.children = 0;
        e.retire_ts = nanoseconds{0};
    }

    // touch(), giving the entry's slot.
    detail::slab_index touch_index(pid_type pid, nanoseconds ts) {
        now_ = std::max(now_, ts);
        detail::slab_index i = map_.find(pid);
        if (i == detail::no_index) {
            i = insert(pid);
            fresh(i, pid, ts);
        } else if (map_.list_of(i) == live) {
            map_.move_to_back(i, live);
        }
        process_info& p = map_.value(i).info;
        p.last_seen = std::max(p.last_seen, ts);
        return i;
    }

    // Puts entry i on the list its state calls for (live / exited / pinned).
    void place(detail::slab_index i) {
        const entry& e = map_.value(i);
        const std::size_t want = !e.info.exited() ? live : (e.children > 0 ? pinned_list : exited_list);
        map_.move_to_back(i, want);
    }

    // Links entry i to its parent entry (by ppid), counting the child.
    // `pi`: the parent's entry when the caller has it (no_index: look it up).
    void link_parent(detail::slab_index i, detail::slab_index pi = detail::no_index) {
        entry& e = map_.value(i);
        e.parent_generation = 0;
        if (e.info.ppid == 0 || e.info.ppid == e.info.pid) return;
        if (pi == detail::no_index) pi = map_.find(e.info.ppid);
        if (pi == detail::no_index) return;
        entry& par = map_.value(pi);
        e.parent_generation = par.generation;
        if (par.children++ == 0 && map_.list_of(pi) == exited_list) map_.move_to_back(pi, pinned_list);
    }

    // Drops e's link to its parent; an exited parent whose last child this
    // was is retired (expires one window from now).
    void unlink_parent(entry& e) {
        if (e.parent_generation == 0) return;
        const std::uint64_t g = e.parent_generation;
        e.parent_generation = 0;
        const detail::slab_index pi = map_.find(e.info.ppid);
        if (pi == detail::no_index) return;
        entry& par = map_.value(pi);
        if (par.generation != g || par.children == 0) return;
        if (--par.children == 0 && map_.list_of(pi) == pinned_list) {
            par.retire_ts = std::max(par.retire_ts, now_);
            map_.move_to_back(pi, exited_list);
        }
    }

    void erase(detail::slab_index i) {
        unlink_parent(map_.value(i));
        map_.erase(i);
    }

    // The entry evict_one() takes: the exited entry retired first, else the
    // pinned one that exited first, else the live one seen least recently.
    [[nodiscard]] detail::slab_index victim() const noexcept {
        detail::slab_index v = map_.front(exited_list);
        if (v == detail::no_index) v = map_.front(pinned_list);
        if (v == detail::no_index) v = map_.front(live);
        return v;
    }

    // Evicts one entry; returns the slot it freed.
    detail::slab_index evict_one() {
        const detail::slab_index v = victim();
        erase(v);
        ++evictions_;
        return v;
    }

    // A new entry for `pid` (evicting one when full). `evicted` receives the
    // slot an eviction freed, or no_index: every other slab index stays valid.
    detail::slab_index insert(pid_type pid, detail::slab_index* evicted = nullptr) {
        detail::slab_index v = detail::no_index;
        if (map_.size() >= capacity_) v = evict_one();
        if (evicted != nullptr) *evicted = v;
        return map_.insert(pid, live);
    }

    table_change on_exec(const event& ev, const exec_event& e) {
        detail::slab_index i = map_.find(ev.pid);
        table_change change = table_change::updated;
        if (i == detail::no_index) {
            i = insert(ev.pid);
            fresh(i, ev.pid, ev.ts, argv_follows::yes);
            change = table_change::created;
        } else if (map_.value(i).info.exited()) {
            unlink_parent(map_.value(i));
            map_.move_to_back(i, live);
            fresh(i, ev.pid, ev.ts, argv_follows::yes); // a new process: its old children are not ours
            change = table_change::replaced;
        } else {
            map_.move_to_back(i, live);
        }
        entry& en = map_.value(i);
        process_info& p = en.info;
        // A new ppid: the kernel reparented us (to init or a subreaper).
        const bool relink = p.ppid != e.ppid || en.parent_generation == 0;
        if (relink) unlink_parent(en);
        p.ppid = e.ppid;
        p.uid = e.uid;
        p.sid = e.sid;
        p.pgid = e.pgid;
        p.comm = e.comm;
        p.exe = e.exe;
        p.exe_sha256 = e.exe_sha256;
        p.exe_dev = e.exe_dev;
        p.exe_ino = e.exe_ino;
        p.exe_uid = e.exe_uid;
        p.exe_mode = e.exe_mode;
        p.exe_host_file = e.exe_host_file;
        p.exe_package = e.exe_package;
        p.argv = e.argv;
        p.script = e.script;
        p.container = e.container;
        p.foreign = e.foreign; // a new image: what was written into the old one is gone
        p.last_seen = std::max(p.last_seen, ev.ts);
        p.origin = process_origin::exec;
        if (relink) link_parent(i);
        return change;
    }

    table_change on_fork(const event& ev, const fork_event& f) {
        const pid_type parent_pid = ev.pid;
        detail::slab_index pi = touch_index(parent_pid, ev.ts); // now the most recently seen entry
        if (f.is_thread(parent_pid) || f.child_pid == 0) return table_change::none;

        detail::slab_index c = map_.find(f.child_pid);
        table_change change = table_change::replaced;
        if (c == detail::no_index) {
            detail::slab_index evicted = detail::no_index;
            c = insert(f.child_pid, &evicted);
            if (evicted == pi) pi = detail::no_index; // the parent was evicted (capacity 1)
            change = table_change::created;
        } else {
            unlink_parent(map_.value(c));
            map_.move_to_back(c, live);
        }
        fresh(c, f.child_pid, ev.ts, argv_follows::yes);
        process_info& child = map_.value(c).info;
        child.ppid = parent_pid;
        child.origin = process_origin::fork;
        if (pi != detail::no_index) {
            const process_info& parent = map_.value(pi).info;
            child.uid = parent.uid;
            child.sid = parent.sid;
            child.pgid = parent.pgid;
            child.comm = parent.comm;
            child.exe = parent.exe;
            child.exe_sha256 = parent.exe_sha256;
            child.exe_dev = parent.exe_dev;
            child.exe_ino = parent.exe_ino;
            child.exe_uid = parent.exe_uid;
            child.exe_mode = parent.exe_mode;
            child.exe_host_file = parent.exe_host_file;
            child.exe_package = parent.exe_package;
            child.argv = parent.argv;
            child.script = parent.script;
            child.container = parent.container; // until an exec says otherwise (a runtime moves its child, then execs)
            child.foreign = parent.foreign;
        } else {
            child.argv.clear();
        }
        link_parent(c, pi);
        return change;
    }

    table_change on_exit(const event& ev) {
        if (ev.tid != ev.pid) return table_change::none; // a thread, not the process
        const detail::slab_index i = map_.find(ev.pid);
        if (i == detail::no_index) return table_change::none;
        entry& e = map_.value(i);
        if (e.info.exited()) return table_change::none;
        e.info.exit_ts = ev.ts;
        e.info.last_seen = std::max(e.info.last_seen, ev.ts);
        e.retire_ts = std::max(ev.ts, now_);
        place(i);
        return table_change::exited;
    }

    detail::slab_map<pid_type, entry, std::hash<pid_type>, 3> map_;
    std::size_t capacity_ = 1;
    std::uint64_t evictions_ = 0;
    std::uint64_t expired_ = 0;
    std::uint64_t next_generation_ = 0;
    nanoseconds now_{0}; // newest time seen (events and expire calls)
};

} // namespace barbwire
