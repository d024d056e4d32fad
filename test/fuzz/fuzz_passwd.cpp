// Fuzz the sensor's /etc/passwd reader (issue 15): parse_passwd, which the
// sensor runs as root over a file that useradd, LDAP sync scripts and
// whoever can write it fill in, and the home helpers (normalize_home,
// join_home) whose output is joined to the rules' patterns.
//
// The first byte chooses max_homes (0..7, small so that the bound bites);
// the rest is the passwd text. Properties:
//
//   - bounded: at most max_homes homes, one uid per home, over_limit counts
//     exactly the distinct homes left out, and the bound changes nothing
//     else (the homes are a prefix of the unbounded list; entries, skipped
//     and first_skipped_line are the same);
//   - counters consistent: entries + skipped <= lines, first_skipped_line
//     is 0 exactly when nothing was skipped, and names a line that is not
//     empty, a comment or a NIS compat line;
//   - every home is absolute, normalized (normalize_home gives it back), has
//     no "//", no trailing '/' (except "/"), no NUL, and is listed once;
//   - line by line: parsing each line alone and merging (first home wins,
//     with its uid) gives exactly the whole file's result: no state leaks
//     from one line into the next;
//   - normalize_home and join_home: normalize_home is idempotent, removes
//     only '/', and joining a home to a pattern is the same path as "home/pattern".
//
// Pure: no I/O.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_set>

#include "file_names.hpp"
#include "fuzz_check.hpp"

namespace {

using barbwire::sensor::join_home;
using barbwire::sensor::normalize_home;
using barbwire::sensor::parse_passwd;
using barbwire::sensor::passwd_homes;

constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

std::string without_slashes(std::string_view s) {
    std::string out;
    for (const char c : s)
        if (c != '/') out += c;
    return out;
}

bool normalized(const std::string& h) {
    return !h.empty() && h.front() == '/' && h.find("//") == std::string::npos && (h == "/" || h.back() != '/') &&
           h.find('\0') == std::string::npos;
}

void check_home_helpers(std::string_view a, std::string_view b) {
    const auto n = normalize_home(a);
    const bool absolute = !a.empty() && a.front() == '/' && a.find('\0') == std::string_view::npos;
    BW_FUZZ_CHECK(n.has_value() == absolute);
    if (!n) return;
    BW_FUZZ_CHECK(normalized(*n));
    BW_FUZZ_CHECK(normalize_home(*n) == n);           // idempotent
    BW_FUZZ_CHECK(without_slashes(*n) == without_slashes(a)); // only '/' removed
    if (b.find('\0') != std::string_view::npos) return;
    const std::string joined = join_home(*n, b);
    BW_FUZZ_CHECK(joined.size() > n->size() || *n == "/");
    BW_FUZZ_CHECK(joined.starts_with(*n == "/" ? std::string("/") : *n + "/"));
    std::string plain(a);
    plain += '/';
    plain += b;
    BW_FUZZ_CHECK(normalize_home(joined) == normalize_home(plain));
    BW_FUZZ_CHECK(join_home(a, b) == joined || a.ends_with('/') || a.find("//") != std::string_view::npos);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0 || size > 64 * 1024) return 0;
    const std::size_t max_homes = data[0] % 8;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

    const passwd_homes all = parse_passwd(text, unbounded);
    const passwd_homes r = parse_passwd(text, max_homes);

    // The lines, as the parser counts them ("a\n" is one line, "a\nb" two).
    std::size_t lines = 0;
    for (const char c : text) lines += c == '\n';
    if (!text.empty() && text.back() != '\n') ++lines;

    // Counters.
    BW_FUZZ_CHECK(all.over_limit == 0);
    BW_FUZZ_CHECK(all.entries + all.skipped <= lines);
    BW_FUZZ_CHECK(all.homes.size() <= all.entries);
    BW_FUZZ_CHECK((all.skipped == 0) == (all.first_skipped_line == 0));
    BW_FUZZ_CHECK(all.first_skipped_line <= lines);

    // The bound changes nothing but the length of the list.
    BW_FUZZ_CHECK(r.homes.size() <= max_homes);
    BW_FUZZ_CHECK(r.uids.size() == r.homes.size());
    BW_FUZZ_CHECK(r.homes.size() == std::min(max_homes, all.homes.size()));
    BW_FUZZ_CHECK(r.over_limit == all.homes.size() - r.homes.size());
    BW_FUZZ_CHECK(r.entries == all.entries);
    BW_FUZZ_CHECK(r.skipped == all.skipped);
    BW_FUZZ_CHECK(r.first_skipped_line == all.first_skipped_line);
    for (std::size_t i = 0; i < r.homes.size(); ++i) {
        BW_FUZZ_CHECK(r.homes[i] == all.homes[i]);
        BW_FUZZ_CHECK(r.uids[i] == all.uids[i]);
    }

    // Every home: absolute, normalized, once.
    BW_FUZZ_CHECK(all.uids.size() == all.homes.size());
    std::unordered_set<std::string> seen;
    for (const std::string& h : all.homes) {
        BW_FUZZ_CHECK(normalized(h));
        BW_FUZZ_CHECK(normalize_home(h) == h);
        BW_FUZZ_CHECK(seen.insert(h).second);
    }

    // Line by line: the same result, merged.
    passwd_homes merged;
    std::unordered_set<std::string> merged_seen;
    std::size_t line_no = 0;
    for (std::string_view rest = text; !rest.empty();) {
        const std::size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        ++line_no;
        const passwd_homes one = parse_passwd(line, unbounded);
        BW_FUZZ_CHECK(one.entries + one.skipped <= 1);
        BW_FUZZ_CHECK(one.homes.size() <= one.entries);
        if (one.skipped == 1) {
            BW_FUZZ_CHECK(one.first_skipped_line == 1);
            // a skipped line is never one the parser ignores
            std::string_view l = line;
            if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
            BW_FUZZ_CHECK(!l.empty() && l.front() != '#' && l.front() != '+' && l.front() != '-');
            if (merged.skipped++ == 0) merged.first_skipped_line = line_no;
        }
        if (one.entries == 1) {
            ++merged.entries;
            BW_FUZZ_CHECK(one.homes.size() == 1);
            if (merged_seen.insert(one.homes[0]).second) {
                merged.homes.push_back(one.homes[0]);
                merged.uids.push_back(one.uids[0]);
            }
            // the home is the sixth field, normalized; the uid the third
            check_home_helpers(one.homes[0], line.substr(0, line.find(':')));
        }
    }
    BW_FUZZ_CHECK(line_no == lines);
    BW_FUZZ_CHECK(merged.entries == all.entries);
    BW_FUZZ_CHECK(merged.skipped == all.skipped);
    BW_FUZZ_CHECK(merged.first_skipped_line == all.first_skipped_line);
    BW_FUZZ_CHECK(merged.homes == all.homes);
    BW_FUZZ_CHECK(merged.uids == all.uids);

    // The helpers on the raw text: its first line as a home, the second as a pattern.
    const std::size_t nl = text.find('\n');
    const std::string_view first = text.substr(0, nl);
    const std::string_view second = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    check_home_helpers(first, second.substr(0, second.find('\n')));
    return 0;
}
