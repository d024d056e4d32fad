#pragma once
// Two layers keep repeated alerts quiet (docs/scoring.md, steps 5 and 6).
//
// dedup_table, the seed's per-process dedup: one alert per (pid, destination address, port,
// protocol) per window, per process instance (the generation: a reused pid
// does not inherit the old process's dedup history).
//
// The table remembers when the last alert for a key was EMITTED. An alert
// whose time is within `window` of that (|ts - last| <= window, inclusive,
// the same boundary as correlation) is suppressed and counted; a suppressed
// alert does not extend the quiet period, so a steady beacon still alerts
// about once per window. Bounded by capacity with LRU eviction (counted);
// expire() removes keys whose last alert is more than `window` old.
//
// incident_table, rate limiting across a family: see below.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "barbwire/alert.hpp"
#include "barbwire/clock.hpp"
#include "barbwire/config.hpp"
#include "barbwire/detail/lru.hpp"
#include "barbwire/event.hpp"

namespace barbwire {

struct dedup_key {
    pid_type pid = 0;
    ip_address addr;
    std::uint16_t port = 0;
    ip_proto protocol = ip_proto::tcp;
    std::uint64_t generation = 0; // process instance (process_table::generation): a reused pid starts afresh
    friend bool operator==(const dedup_key&, const dedup_key&) = default;
};

struct dedup_key_hash {
    [[nodiscard]] std::size_t operator()(const dedup_key& k) const noexcept {
        std::uint64_t a = 0;
        std::uint64_t b = 0;
        std::memcpy(&a, k.addr.bytes.data(), 8);
        std::memcpy(&b, k.addr.bytes.data() + 8, 8);
        std::uint64_t h = (std::uint64_t{k.pid} << 32) ^ (std::uint64_t{k.port} << 16) ^
                          (std::uint64_t{static_cast<std::uint8_t>(k.protocol)} << 8) ^ k.addr.family;
        for (std::uint64_t v : {a, b}) {
            h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
            h ^= h >> 31;
            h *= 0xbf58476d1ce4e5b9ULL;
        }
        h ^= k.generation * 0x94d049bb133111ebULL;
        h ^= h >> 29;
        return static_cast<std::size_t>(h);
    }
};

class dedup_table {
public:
    explicit dedup_table(std::size_t capacity = limits{}.max_dedup_entries) { set_capacity(capacity); }

    // True when an alert for `key` at `ts` of severity `sev` duplicates one
    // emitted within `window` at least as severe: it is counted as
    // suppressed. Otherwise `ts` (and `sev`, when higher) is recorded as the
    // key's last alert (the key becomes most recently used) and false is
    // returned: the caller emits the alert. A more severe alert for the same
    // destination is an escalation, never a duplicate (a connect to port 53
    // scored as a lookup, then a large send on that connection).
    [[nodiscard]] bool suppress(const dedup_key& key, nanoseconds ts, nanoseconds window,
                                severity sev = severity::low) {
        detail::slab_index i = map_.find(key);
        if (i != detail::no_index) {
            last_alerted& v = map_.value(i);
            const nanoseconds gap = ts >= v.ts ? elapsed(v.ts, ts) : elapsed(ts, v.ts);
            if (gap <= window && sev <= v.sev) {
                ++suppressed_;
                return true;
            }
            v.sev = gap <= window ? std::max(v.sev, sev) : sev;
            v.ts = std::max(v.ts, ts);
            map_.move_to_back(i, 0);
            return false;
        }
        if (map_.size() >= capacity_) evict_one();
        i = map_.insert(key, 0);
        map_.value(i) = last_alerted{ts, sev};
        return false;
    }

    // When the last alert for `key` was emitted, if remembered.
    [[nodiscard]] std::optional<nanoseconds> last_alert(const dedup_key& key) const {
        const detail::slab_index i = map_.find(key);
        if (i == detail::no_index) return std::nullopt;
        return map_.value(i).ts;
    }

    // Removes keys whose last alert is more than `window` before `now`.
    std::size_t expire(nanoseconds now, nanoseconds window) {
        std::size_t n = 0;
        for (detail::slab_index i = map_.front(0); i != detail::no_index; i = map_.front(0)) {
            if (!older_than(map_.value(i).ts, window, now)) break;
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
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t suppressed() const noexcept { return suppressed_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }
    [[nodiscard]] std::uint64_t expired() const noexcept { return expired_; }

    void clear() { map_.clear(); }

private:
    void evict_one() {
        map_.erase(map_.front(0));
        ++evictions_;
    }

    struct last_alerted {
        nanoseconds ts{0};
        severity sev = severity::low;
    };
    detail::slab_map<dedup_key, last_alerted, dedup_key_hash, 1> map_;
    std::size_t capacity_ = 1;
    std::uint64_t suppressed_ = 0;
    std::uint64_t evictions_ = 0;
    std::uint64_t expired_ = 0;
};

// ---------------------------------------------------------------------------
// Rate limiting across a family (docs/scoring.md, step 6).
//
// An incident is one secret going out from one family through one program:
// key (scope, secret, sending program).
//  * scope: the sender's session when it is known and not init's (sid > 1,
//    the boundary of process families, docs/design.md), else the sending
//    process instance (pid and generation);
//  * secret: the file's (dev, ino) when both are known, else its path, and
//    the category it matched;
//  * sending program: the sender's executable path (its comm when unknown).
//
// The first alert-worthy network event of an incident is alerted and opens a
// quiet period of `period`. Later ones with |ts - alert| <= period are
// counted (how many, first and last time, distinct destinations and senders,
// the highest score and severity), not alerted, unless their severity is
// higher than every severity alerted in the period: an escalation is always
// alerted (and opens a new period). A period ends when event time or
// housekeeping passes alert + period (close_due), at flush() (the sensor
// stops) or at an eviction. If it counted anything, an incident_summary is
// queued for the caller (drain()), and the incident stays known for one more
// period: its next alert carries those counts as `repeats`. A period that
// counted nothing ends the incident.
//
// Bounded: at most `capacity` incidents (an idle one, whose period ended, is
// evicted first; else the one alerted longest ago, whose counts are
// summarized, not lost; counted). Distinct destinations and senders are
// counted with one LRU table of (incident, value) marks of 4 x capacity
// entries: once a mark is evicted, a repeat of that value counts again
// (mark_evictions says when counts may be high). At most `capacity`
// summaries wait to be drained; beyond that the oldest is dropped (counted).
// The table reads no clock: every time comes from the caller.

enum class incident_scope : std::uint8_t { process = 0, session = 1 };

[[nodiscard]] constexpr std::string_view to_string(incident_scope s) noexcept {
    return s == incident_scope::session ? "session" : "process";
}

struct incident_key {
    incident_scope scope = incident_scope::process;
    std::uint32_t scope_id = 0;     // sid (session scope) or pid (process scope)
    std::uint64_t generation = 0;   // process instance (process scope); 0 for a session
    std::uint64_t dev = 0;          // the secret: (dev, ino) when both are known ...
    std::uint64_t ino = 0;
    std::uint64_t path_hash = 0;    // ... else a hash of its path (0 when dev and ino are known)
    std::uint64_t category_hash = 0; // hash of the category the file matched
    std::uint64_t program_hash = 0; // the sending program: hash of its exe path (of its comm when unknown)
    friend bool operator==(const incident_key&, const incident_key&) = default;
};

namespace detail {

[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// FNV-1a, 64 bit: the same value on every run and platform.
[[nodiscard]] constexpr std::uint64_t hash_text(std::string_view s) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

struct mark_hash {
    [[nodiscard]] std::size_t operator()(std::uint64_t k) const noexcept { return static_cast<std::size_t>(k); }
};

} // namespace detail

struct incident_key_hash {
    [[nodiscard]] std::size_t operator()(const incident_key& k) const noexcept {
        std::uint64_t h = detail::mix64((std::uint64_t{static_cast<std::uint8_t>(k.scope)} << 32) | k.scope_id);
        for (std::uint64_t v : {k.generation, k.dev, k.ino, k.path_hash, k.category_hash, k.program_hash})
            h = detail::mix64(h ^ (v + 0x9e3779b97f4a7c15ULL));
        return static_cast<std::size_t>(h);
    }
};

// What the incident's latest alert named, for its summaries.
struct incident_subject {
    process_ref process; // the sender
    std::string path;    // the file
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::string category;
    friend bool operator==(const incident_subject&, const incident_subject&) = default;
};

// Why a quiet period ended.
enum class summary_reason : std::uint8_t {
    quiet = 0,     // the period ran out
    escalated = 1, // a more severe alert of the same incident
    flushed = 2,   // flush(): the sensor or the replay stopped
    evicted = 3,   // the incident table was full
};

[[nodiscard]] constexpr std::string_view to_string(summary_reason r) noexcept {
    switch (r) {
    case summary_reason::quiet: return "quiet";
    case summary_reason::escalated: return "escalated";
    case summary_reason::flushed: return "flushed";
    case summary_reason::evicted: return "evicted";
    }
    return "quiet";
}

// "N more like this": what one quiet period of an incident suppressed.
struct incident_summary {
    std::uint64_t incident = 0;
    nanoseconds ts{0};          // when the period ended (alert + period, the escalating alert, flush, eviction)
    summary_reason reason = summary_reason::quiet;
    nanoseconds alert_ts{0};    // the alert the repeats followed
    nanoseconds quiet_until{0}; // alert_ts + period
    incident_scope scope = incident_scope::process;
    std::uint32_t scope_id = 0; // sid or pid
    incident_subject subject;   // what that alert named
    repeat_counts repeats;      // what the period suppressed (count > 0)
    alert::destination_info last_destination;
    friend bool operator==(const incident_summary&, const incident_summary&) = default;
};

class incident_table {
public:
    // The alert of an incident: its id, and what was suppressed since the
    // previous alert of the same incident, when anything was.
    struct opened {
        std::uint64_t id = 0;
        std::optional<repeat_counts> repeats;
    };

    explicit incident_table(std::size_t capacity = limits{}.max_dedup_entries) { set_capacity(capacity); }

    // True when an alert-worthy network event of `key` at `ts` falls in the
    // open quiet period of its incident and does not escalate it: it is
    // counted (sender `pid` of process `generation`, destination `dest`).
    // False: the caller alerts (and then calls record_alert).
    [[nodiscard]] bool suppress(const incident_key& key, nanoseconds ts, int score, severity sev, pid_type pid,
                                std::uint64_t generation, const alert::destination_info& dest, nanoseconds period) {
        const detail::slab_index i = map_.find(key);
        if (i == detail::no_index || map_.list_of(i) != open_list) return false;
        incident_state& v = map_.value(i);
        const nanoseconds gap = ts >= v.alert_ts ? elapsed(v.alert_ts, ts) : elapsed(ts, v.alert_ts);
        if (gap > period || sev > v.alerted) return false;
        newest_ = std::max(newest_, ts);
        repeat_counts& c = v.counts;
        if (c.count == 0) {
            c.first = c.last = ts;
            c.max_score = score;
            c.max_severity = sev;
        }
        ++c.count;
        c.first = std::min(c.first, ts);
        c.last = std::max(c.last, ts);
        c.max_score = std::max(c.max_score, score);
        c.max_severity = std::max(c.max_severity, sev);
        std::uint64_t d = detail::hash_text(std::string_view(reinterpret_cast<const char*>(dest.addr.bytes.data()),
                                                             dest.addr.bytes.size()));
        d = detail::mix64(d ^ (std::uint64_t{dest.addr.family} << 24) ^ (std::uint64_t{dest.port} << 8) ^
                          static_cast<std::uint8_t>(dest.protocol));
        if (mark(v.id, 1, d)) ++c.destinations;
        if (mark(v.id, 2, detail::mix64((std::uint64_t{pid} << 32) ^ generation))) ++c.processes;
        v.last_destination = dest;
        ++suppressed_;
        return true;
    }

    // An alert of `key` was emitted at `ts`: opens its incident, or continues
    // it (the period in progress ends, summarized as `escalated` when it
    // counted anything; an idle incident hands over the counts of its last
    // period). A new period of `period` starts at `ts`.
    opened record_alert(const incident_key& key, nanoseconds ts, severity sev, incident_subject subject,
                        const alert::destination_info& dest, nanoseconds period) {
        newest_ = std::max(newest_, ts);
        opened out;
        detail::slab_index i = map_.find(key);
        if (i != detail::no_index && map_.list_of(i) == open_list) {
            incident_state& v = map_.value(i);
            if (v.counts.count > 0) {
                out.repeats = v.counts;
                queue(i, summary_reason::escalated, ts, period);
            }
            map_.move_to_back(i, open_list);
        } else if (i != detail::no_index) {
            incident_state& v = map_.value(i);
            out.repeats = std::move(v.previous);
            map_.move_to_back(i, open_list);
        } else {
            if (map_.size() >= capacity_) evict_one(period);
            i = map_.insert(key, open_list);
            map_.value(i).id = ++next_id_;
            ++opened_;
        }
        incident_state& v = map_.value(i); // a reused slot: every field is set here
        v.alert_ts = ts;
        v.idle_until = nanoseconds{0};
        v.alerted = sev;
        v.counts = {};
        v.previous.reset();
        v.last_destination = dest;
        v.subject = std::move(subject);
        out.id = v.id;
        return out;
    }

    // Ends the quiet periods that ran out before `now` (alert + period <
    // now) and forgets incidents idle for a whole period.
    void close_due(nanoseconds now, nanoseconds period) {
        newest_ = std::max(newest_, now);
        for (detail::slab_index i = map_.front(open_list); i != detail::no_index; i = map_.front(open_list)) {
            const nanoseconds end = saturating_add(map_.value(i).alert_ts, period);
            if (!(end < now)) break;
            end_period(i, summary_reason::quiet, end, period);
        }
        for (detail::slab_index i = map_.front(idle_list); i != detail::no_index; i = map_.front(idle_list)) {
            if (!(map_.value(i).idle_until < now)) break;
            map_.erase(i);
        }
    }

    // Ends every open quiet period at `now` (the sensor or replay stops):
    // the counted ones are summarized as `flushed`.
    void flush(nanoseconds now, nanoseconds period) {
        newest_ = std::max(newest_, now);
        for (detail::slab_index i = map_.front(open_list); i != detail::no_index; i = map_.front(open_list))
            end_period(i, summary_reason::flushed, now, period);
    }

    // The summaries queued since the last call, oldest first.
    [[nodiscard]] std::vector<incident_summary> drain() { return std::exchange(pending_, {}); }
    [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }

    // New capacity (minimum 1); a lower one evicts at once (summarizing).
    void set_capacity(std::size_t n, nanoseconds period = nanoseconds{0}) {
        capacity_ = std::max<std::size_t>(n, 1);
        map_.shrink_to(capacity_, [this, period] { evict_one(period); });
        marks_.shrink_to(capacity_ * marks_per_incident, [this] { evict_mark(); });
    }

    [[nodiscard]] std::size_t size() const noexcept { return map_.size(); }
    [[nodiscard]] std::size_t open_periods() const noexcept { return map_.list_size(open_list); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::size_t marks() const noexcept { return marks_.size(); }
    [[nodiscard]] std::uint64_t opened_incidents() const noexcept { return opened_; }
    [[nodiscard]] std::uint64_t suppressed() const noexcept { return suppressed_; }
    [[nodiscard]] std::uint64_t summaries() const noexcept { return summaries_; }
    [[nodiscard]] std::uint64_t summaries_dropped() const noexcept { return summaries_dropped_; }
    [[nodiscard]] std::uint64_t evictions() const noexcept { return evictions_; }
    [[nodiscard]] std::uint64_t mark_evictions() const noexcept { return mark_evictions_; }

    void clear() {
        map_.clear();
        marks_.clear();
        pending_.clear();
    }

private:
    static constexpr std::size_t open_list = 0; // quiet period running, ordered by alert time
    static constexpr std::size_t idle_list = 1; // period ended with counts, ordered by idle_until
    static constexpr std::size_t marks_per_incident = 4;

    struct incident_state {
        std::uint64_t id = 0;
        nanoseconds alert_ts{0};   // the latest alert: its period runs to alert_ts + period
        nanoseconds idle_until{0}; // idle: forgotten after this
        severity alerted = severity::low;      // the highest severity alerted in this period
        repeat_counts counts;                  // suppressed in this period
        std::optional<repeat_counts> previous; // idle: the last period's counts, for the next alert
        alert::destination_info last_destination;
        incident_subject subject;
    };

    // True when (incident, tag, value) is a new mark.
    bool mark(std::uint64_t id, std::uint64_t tag, std::uint64_t value) {
        const std::uint64_t k = detail::mix64(detail::mix64(id * 4 + tag) ^ value);
        detail::slab_index i = marks_.find(k);
        if (i != detail::no_index) {
            marks_.move_to_back(i, 0);
            return false;
        }
        if (marks_.size() >= capacity_ * marks_per_incident) evict_mark();
        (void)marks_.insert(k, 0);
        return true;
    }

    void evict_mark() {
        marks_.erase(marks_.front(0));
        ++mark_evictions_;
    }

    void queue(detail::slab_index i, summary_reason why, nanoseconds ts, nanoseconds period) {
        const incident_key& k = map_.key(i);
        const incident_state& v = map_.value(i);
        if (pending_.size() >= capacity_) {
            pending_.erase(pending_.begin());
            ++summaries_dropped_;
        }
        pending_.push_back(incident_summary{v.id, ts, why, v.alert_ts, saturating_add(v.alert_ts, period), k.scope, k.scope_id,
                                            v.subject, v.counts, v.last_destination});
        ++summaries_;
    }

    // The quiet period of node i ends at `ts`: summarized and kept idle for
    // one more period when it counted anything, else forgotten.
    void end_period(detail::slab_index i, summary_reason why, nanoseconds ts, nanoseconds period) {
        incident_state& v = map_.value(i);
        if (v.counts.count == 0) {
            map_.erase(i);
            return;
        }
        queue(i, why, ts, period);
        v.previous = v.counts;
        v.counts = {};
        v.idle_until = saturating_add(ts, period);
        map_.move_to_back(i, idle_list);
    }

    void evict_one(nanoseconds period) {
        detail::slab_index i = map_.front(idle_list);
        if (i == detail::no_index) {
            i = map_.front(open_list);
            if (map_.value(i).counts.count > 0) queue(i, summary_reason::evicted, newest_, period);
        }
        map_.erase(i);
        ++evictions_;
    }

    detail::slab_map<incident_key, incident_state, incident_key_hash, 2> map_;
    detail::slab_map<std::uint64_t, std::uint8_t, detail::mark_hash, 1> marks_;
    std::vector<incident_summary> pending_;
    std::size_t capacity_ = 1;
    std::uint64_t next_id_ = 0;
    nanoseconds newest_{0};
    std::uint64_t opened_ = 0;
    std::uint64_t suppressed_ = 0;
    std::uint64_t summaries_ = 0;
    std::uint64_t summaries_dropped_ = 0;
    std::uint64_t evictions_ = 0;
    std::uint64_t mark_evictions_ = 0;
};

// The summary as one JSON object (docs/alerts.md, "Summaries"): "type" is
// "summary", which alerts do not have.
[[nodiscard]] inline nlohmann::json to_json(const incident_summary& s) {
    using nlohmann::json;
    const auto& d = s.last_destination;
    return {
        {"type", "summary"},
        {"version", 1},
        {"incident", s.incident},
        {"ts_ns", s.ts.count()},
        {"ended", std::string(to_string(s.reason))},
        {"alert_ts_ns", s.alert_ts.count()},
        {"quiet_until_ns", s.quiet_until.count()},
        {"scope", {{"kind", std::string(to_string(s.scope))}, {"id", s.scope_id}}},
        {"process", detail::process_ref_json(s.subject.process)},
        {"file",
         {{"path", detail::json_string(s.subject.path)},
          {"dev", s.subject.dev},
          {"ino", s.subject.ino},
          {"category", detail::json_string(s.subject.category)}}},
        {"repeats", detail::repeat_counts_json(s.repeats)},
        {"last_destination",
         {{"op", std::string(to_string(d.op))},
          {"protocol", proto_text(d.protocol)},
          {"addr", d.addr.to_string()},
          {"port", d.port},
          {"family", d.addr.family == AF_INET6 ? "ipv6" : "ipv4"}}},
    };
}

// The summary as one '\n'-terminated line of text (values through
// detail::text_safe):
// "── barbwire incident 3: 999 more like the alert of PID 4242 (curl) at 1.000 s: file /home/u/.ssh/id_rsa,
//  session 1234; 999 more, to 1 destination, ... (last 127.0.0.1:8080); quiet period over"
[[nodiscard]] inline std::string render_text(const incident_summary& s) {
    using detail::text_safe;
    char at[40];
    std::snprintf(at, sizeof(at), "%.3f s", static_cast<double>(s.alert_ts.count()) / 1e9);
    const std::string comm = s.subject.process.comm.empty() ? std::string("?") : text_safe(s.subject.process.comm);
    std::string why;
    switch (s.reason) {
    case summary_reason::quiet: why = "quiet period over"; break;
    case summary_reason::escalated: why = "ended by a more severe alert"; break;
    case summary_reason::flushed: why = "sensor stopped"; break;
    case summary_reason::evicted: why = "incident table full"; break;
    }
    return "\u2500\u2500 barbwire incident " + std::to_string(s.incident) + ": like the alert of PID " +
           std::to_string(s.subject.process.pid) + " (" + comm + ") at " + at + ", file " +
           text_safe(s.subject.path) + ", " + std::string(to_string(s.scope)) + " " + std::to_string(s.scope_id) +
           ": " + detail::repeat_counts_text(s.repeats) + " (last " +
           detail::endpoint(s.last_destination.addr, s.last_destination.port) + "); " + why + "\n";
}

} // namespace barbwire
