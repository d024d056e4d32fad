// detail/lru.hpp: the slab map behind every bounded table, and its
// open-addressing index (slot_index: linear probing, backward-shift
// deletion, at most half full).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <list>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include <barbwire/detail/lru.hpp>

using barbwire::detail::no_index;
using barbwire::detail::slab_index;
using barbwire::detail::slab_map;
using barbwire::detail::slot_index;

namespace {

// A hash whose home slot in a table of 2^bits slots is `home` (the index
// takes the top bits of the hash), with `low` to tell keys apart.
std::uint64_t hash_at(std::size_t home, unsigned bits, std::uint32_t low) {
    return (std::uint64_t{home} << (64 - bits)) | low;
}

// The index's own invariants: a power-of-two size, at most half full, every
// slab index once, and no empty slot between an entry and its home (else a
// find would stop early).
void check_index(const slot_index& ix) {
    const std::size_t n = ix.slot_count();
    if (n == 0) {
        REQUIRE(ix.size() == 0);
        return;
    }
    REQUIRE((n & (n - 1)) == 0);
    REQUIRE(n >= slot_index::min_slots);
    REQUIRE(ix.size() * 2 <= n);
    std::set<slab_index> seen;
    std::size_t used = 0;
    for (std::size_t p = 0; p < n; ++p) {
        if (ix.at(p) == no_index) continue;
        ++used;
        REQUIRE(seen.insert(ix.at(p)).second);
        const std::size_t d = ix.displacement(p);
        REQUIRE(d < n);
        for (std::size_t k = 1; k <= d; ++k) REQUIRE(ix.at((p - k) & (n - 1)) != no_index);
    }
    REQUIRE(used == ix.size());
}

// slot_index driven directly: slab index i has hash hs[i].
struct index_model {
    slot_index ix;
    std::vector<std::uint64_t> hs;
    std::vector<bool> in;

    slab_index add(std::uint64_t h) {
        const auto i = static_cast<slab_index>(hs.size());
        hs.push_back(h);
        in.push_back(true);
        ix.reserve_one();
        ix.insert(h, i);
        return i;
    }
    void remove(slab_index i) {
        ix.erase(hs[i], i);
        in[i] = false;
    }
    slab_index find(std::uint64_t h, slab_index want) const {
        return ix.find(h, [&](slab_index i) { return i == want; });
    }
    void check_all() const {
        check_index(ix);
        for (slab_index i = 0; i < hs.size(); ++i) REQUIRE(find(hs[i], i) == (in[i] ? i : no_index));
    }
    // Where slab index i sits, or no_index.
    std::size_t slot_of(slab_index i) const {
        for (std::size_t p = 0; p < ix.slot_count(); ++p)
            if (ix.at(p) == i) return p;
        return no_index;
    }
};

// LRU over a slab_map as the tables use it (evict the front before inserting
// into a full map), next to a reference model.
template <class Hash>
struct lru_pair {
    slab_map<std::uint32_t, std::uint64_t, Hash, 1> map;
    std::list<std::uint32_t> order; // front: least recently used
    std::unordered_map<std::uint32_t, std::uint64_t> ref;
    std::size_t capacity;
    std::uint64_t evictions = 0;

    explicit lru_pair(std::size_t cap) : capacity(cap) { map.set_max_nodes(cap); }

    void evict_one() {
        const slab_index i = map.front(0);
        REQUIRE(i != no_index);
        REQUIRE(map.key(i) == order.front());
        ref.erase(order.front());
        order.pop_front();
        map.erase(i);
        ++evictions;
    }
    void put(std::uint32_t k, std::uint64_t v) {
        slab_index i = map.find(k);
        if (i == no_index) {
            if (map.size() >= capacity) evict_one();
            i = map.insert(k, 0);
        } else {
            map.move_to_back(i, 0);
            order.remove(k);
        }
        map.value(i) = v;
        order.push_back(k);
        ref[k] = v;
    }
    void erase(std::uint32_t k) {
        const slab_index i = map.find(k);
        REQUIRE((i != no_index) == (ref.count(k) == 1));
        if (i == no_index) return;
        map.erase(i);
        order.remove(k);
        ref.erase(k);
    }
    void shrink(std::size_t n) {
        capacity = std::max<std::size_t>(n, 1);
        map.shrink_to(capacity, [this] { evict_one(); });
    }
    void check(std::uint32_t key_range) {
        check_index(map.index());
        REQUIRE(map.size() == ref.size());
        REQUIRE(map.index().size() == ref.size());
        for (std::uint32_t k = 0; k < key_range; ++k) {
            const slab_index i = map.find(k);
            const auto it = ref.find(k);
            REQUIRE((i != no_index) == (it != ref.end()));
            if (i != no_index) {
                REQUIRE(map.key(i) == k);
                REQUIRE(map.value(i) == it->second);
            }
        }
        std::vector<std::uint32_t> listed;
        for (slab_index i = map.front(0); i != no_index; i = map.next(i)) listed.push_back(map.key(i));
        REQUIRE(listed == std::vector<std::uint32_t>(order.begin(), order.end()));
    }
};

struct mixed_hash { // what the tables use for pids: std::hash, the identity
    std::size_t operator()(std::uint32_t k) const noexcept { return std::hash<std::uint32_t>{}(k); }
};
struct few_hashes { // only 4 distinct hashes: long probe runs that wrap around
    std::size_t operator()(std::uint32_t k) const noexcept { return k % 4; }
};
struct one_hash { // every key collides
    std::size_t operator()(std::uint32_t) const noexcept { return 7; }
};

} // namespace

TEST_CASE("slot_index: an empty index finds nothing and holds no memory") {
    slot_index ix;
    REQUIRE(ix.slot_count() == 0);
    REQUIRE(ix.find(123, [](slab_index) { return true; }) == no_index);
    ix.reset(0);
    REQUIRE(ix.slot_count() == 0);
    ix.reset(5);
    REQUIRE(ix.slot_count() == 16); // 5 entries at most half full: 10 -> 16
    REQUIRE(ix.find(123, [](slab_index) { return true; }) == no_index);
}

TEST_CASE("slot_index: grows by doubling, never past half full") {
    index_model m;
    std::size_t last = 0;
    for (std::uint32_t k = 0; k < 1000; ++k) {
        m.add(std::uint64_t{k} * 0x9E3779B97F4A7C15ull);
        REQUIRE(m.ix.size() * 2 <= m.ix.slot_count());
        if (m.ix.slot_count() != last) {
            if (last != 0) REQUIRE(m.ix.slot_count() == last * 2);
            last = m.ix.slot_count();
        }
    }
    REQUIRE(m.ix.slot_count() == 2048);
    m.check_all();
    // erase does not shrink
    for (slab_index i = 0; i < 1000; ++i) m.remove(i);
    REQUIRE(m.ix.slot_count() == 2048);
    REQUIRE(m.ix.size() == 0);
    m.check_all();
}

TEST_CASE("slot_index: backward-shift deletion") {
    constexpr unsigned bits = 3; // 8 slots while at most 4 entries
    index_model m;

    SECTION("a later entry whose home is at or before the hole moves back") {
        const slab_index a = m.add(hash_at(2, bits, 1));
        const slab_index b = m.add(hash_at(2, bits, 2)); // slot 3
        const slab_index c = m.add(hash_at(2, bits, 3)); // slot 4
        REQUIRE(m.ix.slot_count() == 8);
        REQUIRE(m.slot_of(b) == 3);
        REQUIRE(m.slot_of(c) == 4);
        m.remove(a);
        REQUIRE(m.slot_of(b) == 2);
        REQUIRE(m.slot_of(c) == 3);
        REQUIRE(m.ix.at(4) == no_index);
        m.check_all();
    }

    SECTION("an entry at its home does not move, one after it still can") {
        const slab_index a = m.add(hash_at(2, bits, 1)); // slot 2
        const slab_index b = m.add(hash_at(3, bits, 2)); // slot 3, at home
        const slab_index c = m.add(hash_at(2, bits, 3)); // slot 4, displaced by 2
        m.remove(a);
        REQUIRE(m.slot_of(b) == 3); // its home: it stays
        REQUIRE(m.slot_of(c) == 2); // home 2 is at the hole: it moves back over b
        REQUIRE(m.ix.at(4) == no_index);
        m.check_all();
    }

    SECTION("an entry whose home lies after the hole stays") {
        const slab_index a = m.add(hash_at(2, bits, 1)); // slot 2
        const slab_index b = m.add(hash_at(3, bits, 2)); // slot 3
        const slab_index c = m.add(hash_at(3, bits, 3)); // slot 4, home 3
        m.remove(a);
        REQUIRE(m.ix.at(2) == no_index);
        REQUIRE(m.slot_of(b) == 3);
        REQUIRE(m.slot_of(c) == 4);
        m.check_all();
        // now remove b: c (home 3) moves into 3
        m.remove(b);
        REQUIRE(m.slot_of(c) == 3);
        m.check_all();
    }

    SECTION("a run that wraps around the end of the table") {
        const slab_index a = m.add(hash_at(6, bits, 1)); // slot 6
        const slab_index b = m.add(hash_at(6, bits, 2)); // slot 7
        const slab_index c = m.add(hash_at(7, bits, 3)); // slot 0 (wrapped)
        const slab_index d = m.add(hash_at(0, bits, 4)); // slot 1 (home 0 taken)
        REQUIRE(m.slot_of(c) == 0);
        REQUIRE(m.slot_of(d) == 1);
        m.remove(b);
        // c (home 7) moves from 0 to 7; d (home 0) then from 1 to 0
        REQUIRE(m.slot_of(a) == 6);
        REQUIRE(m.slot_of(c) == 7);
        REQUIRE(m.slot_of(d) == 0);
        REQUIRE(m.ix.at(1) == no_index);
        m.check_all();
        m.remove(a);
        m.check_all();
        REQUIRE(m.slot_of(c) == 7);
        REQUIRE(m.slot_of(d) == 0);
    }

    SECTION("the hole wraps: an entry homed before the end moves into the last slot") {
        const slab_index a = m.add(hash_at(7, bits, 1)); // slot 7
        const slab_index b = m.add(hash_at(7, bits, 2)); // slot 0
        const slab_index c = m.add(hash_at(1, bits, 3)); // slot 1, at home
        const slab_index d = m.add(hash_at(7, bits, 4)); // slot 2
        REQUIRE(m.slot_of(d) == 2);
        m.remove(a);
        REQUIRE(m.slot_of(b) == 7);
        REQUIRE(m.slot_of(c) == 1);
        REQUIRE(m.slot_of(d) == 0);
        m.check_all();
    }

    SECTION("the same tag on different keys: find asks the caller") {
        const std::uint64_t h = hash_at(5, bits, 9);
        const slab_index a = m.add(h);
        const slab_index b = m.add(h);
        REQUIRE(m.find(h, a) == a);
        REQUIRE(m.find(h, b) == b);
        REQUIRE(m.find(h, 77) == no_index);
        m.remove(a);
        REQUIRE(m.find(h, b) == b);
        REQUIRE(m.find(h, a) == no_index);
        m.check_all();
    }
}

TEST_CASE("slot_index: random churn keeps every entry reachable") {
    std::mt19937_64 rng(42);
    for (const unsigned spread : {2u, 16u, 1u << 20}) {
        index_model m;
        std::vector<slab_index> live;
        for (int step = 0; step < 20000; ++step) {
            if (live.empty() || rng() % 3 != 0) {
                // hashes drawn from few values force long runs and wrap-around
                const std::uint64_t h = (rng() % spread) * 0x9E3779B97F4A7C15ull;
                live.push_back(m.add(h));
            } else {
                const std::size_t at = rng() % live.size();
                m.remove(live[at]);
                live[at] = live.back();
                live.pop_back();
            }
            if (step % 997 == 0) m.check_all();
        }
        m.check_all();
    }
}

TEST_CASE("slab_map: insert / find / erase churn against std::unordered_map") {
    std::mt19937_64 rng(7);
    const auto run = [&](auto hash_tag, std::uint32_t key_range, int steps) {
        using H = decltype(hash_tag);
        slab_map<std::uint32_t, std::uint64_t, H, 1> map;
        std::unordered_map<std::uint32_t, std::uint64_t> ref;
        for (int step = 0; step < steps; ++step) {
            const auto k = static_cast<std::uint32_t>(rng() % key_range);
            const slab_index i = map.find(k);
            REQUIRE((i != no_index) == (ref.count(k) == 1));
            if (i == no_index) {
                const slab_index n = map.insert(k, 0);
                map.value(n) = rng();
                ref[k] = map.value(n);
            } else {
                REQUIRE(map.key(i) == k);
                REQUIRE(map.value(i) == ref[k]);
                if (rng() % 2 == 0) {
                    map.erase(i);
                    ref.erase(k);
                }
            }
            if (step % 2503 == 0) {
                check_index(map.index());
                REQUIRE(map.size() == ref.size());
                for (const auto& [key, v] : ref) {
                    const slab_index j = map.find(key);
                    REQUIRE(j != no_index);
                    REQUIRE(map.value(j) == v);
                }
            }
        }
        check_index(map.index());
        REQUIRE(map.size() == ref.size());
        for (std::uint32_t k = 0; k < key_range; ++k) REQUIRE((map.find(k) != no_index) == (ref.count(k) == 1));
    };
    SECTION("a good hash, many keys") { run(mixed_hash{}, 5000, 60000); }
    SECTION("four hashes in all") { run(few_hashes{}, 300, 20000); }
    SECTION("one hash for every key") { run(one_hash{}, 64, 5000); }
}

TEST_CASE("slab_map: an LRU with eviction matches a reference LRU") {
    std::mt19937_64 rng(11);
    SECTION("good hash") {
        lru_pair<mixed_hash> p(100);
        for (int step = 0; step < 30000; ++step) {
            const auto k = static_cast<std::uint32_t>(rng() % 400);
            if (rng() % 5 == 0) p.erase(k);
            else p.put(k, rng());
            if (step % 1009 == 0) p.check(400);
        }
        p.check(400);
        REQUIRE(p.evictions > 0);
        REQUIRE(p.map.slab_size() <= 100);
        REQUIRE(p.map.index().slot_count() <= 256); // 100 entries, at most half full
    }
    SECTION("colliding hash") {
        lru_pair<few_hashes> p(50);
        for (int step = 0; step < 20000; ++step) {
            const auto k = static_cast<std::uint32_t>(rng() % 200);
            if (rng() % 4 == 0) p.erase(k);
            else p.put(k, rng());
            if (step % 701 == 0) p.check(200);
        }
        p.check(200);
        REQUIRE(p.evictions > 0);
    }
}

TEST_CASE("slab_map: the index follows the capacity through shrink, growth, compact and clear") {
    lru_pair<mixed_hash> p(4096);
    for (std::uint32_t k = 0; k < 4096; ++k) p.put(k * 3, k);
    p.check(3 * 4096);
    REQUIRE(p.map.index().slot_count() == 8192);

    // a lower capacity evicts the oldest and rebuilds slab and index to fit
    p.shrink(100);
    REQUIRE(p.map.size() == 100);
    REQUIRE(p.map.slab_size() == 100);
    REQUIRE(p.map.index().slot_count() == 256);
    REQUIRE(p.order.front() == (4096 - 100) * 3); // the 100 most recent survive
    p.check(3 * 4096);

    // growth again, up to the new capacity only
    p.shrink(1000);
    for (std::uint32_t k = 0; k < 5000; ++k) p.put(100000 + k, k);
    REQUIRE(p.map.size() == 1000);
    REQUIRE(p.map.index().slot_count() == 2048);
    p.check(3 * 4096);
    for (std::uint32_t k = 4000; k < 5000; ++k) REQUIRE(p.map.find(100000 + k) != no_index);

    // capacity 1: every insert evicts
    p.shrink(1);
    REQUIRE(p.map.size() == 1);
    REQUIRE(p.map.index().slot_count() == slot_index::min_slots);
    p.put(5, 5);
    p.put(6, 6);
    REQUIRE(p.map.find(5) == no_index);
    REQUIRE(p.map.find(6) != no_index);
    p.check(200000);

    // an explicit compact keeps every entry and the list order
    p.shrink(64);
    for (std::uint32_t k = 0; k < 64; ++k) p.put(k, k);
    for (std::uint32_t k = 0; k < 64; k += 2) p.erase(k);
    p.map.compact();
    REQUIRE(p.map.slab_size() == 32);
    p.check(200);

    p.map.clear();
    p.order.clear();
    p.ref.clear();
    REQUIRE(p.map.index().slot_count() == 0);
    REQUIRE(p.map.find(1) == no_index);
    p.put(1, 1);
    p.check(200);
}

TEST_CASE("slab_map: a freed slot is reused and found under its new key only") {
    slab_map<std::uint32_t, int, one_hash, 2> map;
    const slab_index a = map.insert(10, 0);
    const slab_index b = map.insert(11, 1);
    map.value(a) = 1;
    map.value(b) = 2;
    map.erase(a);
    REQUIRE(map.find(10) == no_index);
    REQUIRE(map.find(11) == b);
    const slab_index c = map.insert(12, 1);
    REQUIRE(c == a); // the free list gives the slot back
    REQUIRE(map.find(12) == c);
    REQUIRE(map.find(10) == no_index);
    REQUIRE(map.list_of(c) == 1);
    REQUIRE(map.list_size(1) == 2);
    check_index(map.index());
}
