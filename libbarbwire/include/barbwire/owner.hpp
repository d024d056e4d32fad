#pragma once
// Owner use (docs/rules.md, "Owner use"): a client reading its own
// credential and sending it to the server that credential is for is not
// theft.
//
//  * bound_files: which servers each credential file names, by (dev, ino),
//    fed by binding events (event.hpp, binding_event) that the sensor makes
//    when it parses a file a sensitive open read. A new binding of an inode
//    replaces the old one; an empty one removes it. Bounded (LRU, counted).
//  * verified_client: a process whose program is the distribution's or a
//    vendor package's unmodified file, at its path in the host's mount
//    namespace, running no foreign code; an interpreter only when it runs a
//    script verified the same way.
//  * is_bound_destination: (addr, port) is one of a file's servers (port 0
//    in a binding: any port).
//
// The correlator's owner_use stage (correlator.hpp) combines them. Pure: no
// I/O, no clock.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "barbwire/config.hpp"
#include "barbwire/detail/lru.hpp"
#include "barbwire/event.hpp"
#include "barbwire/evidence.hpp"
#include "barbwire/process_table.hpp"

namespace barbwire {

// Whether `exe` is a shell or a language interpreter by its file name
// (python3.11, perl5.36.0, bash, ...): a program that runs whatever code it
// is given, so its package says nothing about what it does.
[[nodiscard]] inline bool interpreter_exe(std::string_view exe) noexcept {
    const auto slash = exe.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? exe : exe.substr(slash + 1);
    // Exact names, then names that may carry a version suffix.
    for (std::string_view n : {"sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh", "fish", "tcsh", "csh", "busybox",
                               "node", "nodejs", "deno", "bun", "Rscript", "julia", "pwsh", "qjs"})
        if (name == n) return true;
    for (std::string_view n : {"python", "pypy", "perl", "ruby", "php", "lua", "luajit", "tclsh", "wish", "guile",
                               "gawk", "awk", "mawk", "osh"}) {
        if (name.substr(0, n.size()) != n) continue;
        const std::string_view rest = name.substr(n.size());
        bool version = true;
        for (char c : rest) version = version && ((c >= '0' && c <= '9') || c == '.');
        if (version) return true;
    }
    return false;
}

// Whether the program `p` runs is verified (see above). A process is never
// verified while anything foreign is known to run in it (foreign bits). An
// interpreter is verified only through its script: without one (`-c`, a
// pipe, a REPL) it runs code nobody packaged.
[[nodiscard]] inline bool verified_client(const process_info& p) noexcept {
    if (p.foreign != 0) return false;
    if (p.exe_package.empty() || p.exe_host_file != true) return false;
    if (p.script) return !p.script->package.empty() && p.script->host_file == true;
    return !interpreter_exe(p.exe);
}

// The servers one credential file names.
struct file_binding {
    std::string path;
    std::string format;
    std::vector<bound_destination> destinations;
};

[[nodiscard]] inline const bound_destination* find_destination(const file_binding& b, const ip_address& addr,
                                                               std::uint16_t port) noexcept {
    for (const bound_destination& d : b.destinations)
        if (d.addr == addr && (d.port == 0 || d.port == port)) return &d;
    return nullptr;
}

// "host[:port]" of the servers, for an alert's score line ("bound to ...").
[[nodiscard]] inline std::string bound_text(const file_binding& b, std::size_t max_shown = 4) {
    std::string out;
    std::vector<std::string> seen;
    for (const bound_destination& d : b.destinations) {
        std::string one = d.host.empty() ? d.addr.to_string() : d.host;
        if (d.port != 0) one += ":" + std::to_string(d.port);
        if (std::find(seen.begin(), seen.end(), one) != seen.end()) continue;
        if (seen.size() == max_shown) {
            out += ", ...";
            break;
        }
        if (!seen.empty()) out += ", ";
        out += one;
        seen.push_back(std::move(one));
    }
    return out;
}

// (dev, ino) -> the servers the file names. At most `capacity` files; the
// least recently bound or used one is evicted first (counted). dev 0 or
// ino 0 is never bound.
class bound_files {
public:
    explicit bound_files(std::size_t capacity = limits{}.max_file_identities) { set_capacity(capacity); }

    void bind(const binding_event& b) {
        if (b.dev == 0 || b.ino == 0) return;
        const key k{b.dev, b.ino};
        detail::slab_index i = map_.find(k);
        if (b.destinations.empty()) {
            if (i != detail::no_index) {
                clear_entry(map_.value(i));
                map_.erase(i);
            }
            return;
        }
        if (i == detail::no_index) {
            if (map_.size() >= capacity_) evict_one();
            i = map_.insert(k, 0);
        } else {
            map_.move_to_back(i, 0);
        }
        file_binding& f = map_.value(i);
        f.path = b.path;
        f.format = b.format;
        f.destinations = b.destinations;
    }

    // The binding of (dev, ino), or nullptr; a hit counts as a use (LRU).
    [[nodiscard]] const file_binding* find(std::uint64_t dev, std::uint64_t ino) {
        if (dev == 0 || ino == 0 || map_.empty()) return nullptr;
        const detail::slab_index i = map_.find(key{dev, ino});
        if (i == detail::no_index) return nullptr;
        map_.move_to_back(i, 0);
        return &map_.value(i);
    }

    // The binding of (dev, ino) without touching the LRU order.
    [[nodiscard]] const file_binding* peek(std::uint64_t dev, std::uint64_t ino) const {
        if (dev == 0 || ino == 0 || map_.empty()) return nullptr;
        const detail::slab_index i = map_.find(key{dev, ino});
        return i == detail::no_index ? nullptr : &map_.value(i);
    }

    void set_capacity(std::size_t n) {
        capacity_ = std::max<std::size_t>(n, 1);
        map_.shrink_to(capacity_, [this] { evict_one(); });
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] bool empty() const noexcept { return map_.empty(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }

private:
    using key = detail::inode_key;
    using key_hash = detail::inode_key_hash;

    static void clear_entry(file_binding& f) {
        f.path.clear();
        f.format.clear();
        f.destinations.clear();
    }
    void evict_one() {
        const detail::slab_index i = map_.front(0);
        clear_entry(map_.value(i));
        map_.erase(i);
        ++evictions_;
    }

    detail::slab_map<key, file_binding, key_hash, 1> map_;
    std::size_t capacity_ = 1;
    std::uint64_t evictions_ = 0;
};

} // namespace barbwire
