#pragma once
// What the correlator remembers as evidence: a sensitive open, and where a
// derived secret came from. Shared by the window tables (correlator.hpp),
// the secrets processes hold past the window (held.hpp) and the files
// derived from secrets (taint.hpp).

#include <cstdint>
#include <memory>
#include <string>

#include "barbwire/alert.hpp"
#include "barbwire/clock.hpp"
#include "barbwire/event.hpp"
#include "barbwire/rules.hpp"

namespace barbwire {

namespace detail {
// A file by identity, (device, inode number): the key of the tables that
// remember files by inode (file_identities here, identity_mirror in
// kernel_filter.hpp).
struct inode_key {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    friend bool operator==(const inode_key&, const inode_key&) = default;
};
struct inode_key_hash {
    std::size_t operator()(const inode_key& k) const noexcept {
        // splitmix64 finalizer over both halves: inode numbers are dense
        std::uint64_t x = k.ino ^ (k.dev * 0x9E3779B97F4A7C15ull);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        return static_cast<std::size_t>(x ^ (x >> 31));
    }
};
} // namespace detail

// A remembered open of a sensitive file.
struct sensitive_open {
    nanoseconds ts{0};
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    file_match match;
    std::string path;          // the path opened
    std::string same_inode_as; // the named path the match came through (file identity); empty: the path's own
    access_path source = access_path::syscall;     // how it was opened
    std::shared_ptr<const derived_origin> derived; // a derived secret: where it came from; null otherwise
    friend bool operator==(const sensitive_open& a, const sensitive_open& b) {
        return a.ts == b.ts && a.dev == b.dev && a.ino == b.ino && a.match == b.match && a.path == b.path &&
               a.same_inode_as == b.same_inode_as && a.source == b.source &&
               (a.derived == b.derived || (a.derived && b.derived && *a.derived == *b.derived));
    }
};

} // namespace barbwire
