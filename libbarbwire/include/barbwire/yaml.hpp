#pragma once
// YAML rules files (the seed's format) -> the JSON tree parse_config validates.
// Optional: needs yaml-cpp (>= 0.6), so the umbrella header does not include it.
//
// yaml-cpp scalars are untyped; this header types them by the YAML 1.2 core
// schema. A PLAIN (unquoted) scalar that reads as an integer becomes an
// integer, as a float a float, true/false a boolean, null/~/empty a null, and
// anything else a string. A QUOTED or block scalar is always a string, so
// `window_duration: "5"` is the string "5" and fails validation. YAML 1.1
// spellings (yes/no/on/off, 0755 as octal, 1_000) are strings.
//
// Every value's 1-based source line is recorded under its JSON path (the
// paths parse_config uses in its messages), so validation errors point to a
// line: "suspicious_files[1].base_score: expected ... (line 12)".

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "barbwire/config.hpp"
#include "barbwire/detail/utf8.hpp"
#include "barbwire/error.hpp"

namespace barbwire {

// JSON path ("suspicious_files[1].base_score") -> 1-based source line.
// A mapping entry maps to the line of its key, a list item to the line where
// the item starts, the document itself to "".
using source_lines = std::map<std::string, std::size_t, std::less<>>;

struct yaml_document {
    nlohmann::json root; // null for an empty document
    source_lines lines;

    // The line of `path`, or of its nearest ancestor that has one.
    [[nodiscard]] std::optional<std::size_t> line_of(std::string_view path) const;
};

namespace detail {

// The parent of a path: "a.b[2]" -> "a.b" -> "a" -> "". Quoted keys
// ("a.\"x.y\"") are single components.
[[nodiscard]] inline std::string_view parent_path(std::string_view path) noexcept {
    std::size_t cut = 0;
    bool in_quote = false;
    for (std::size_t i = 0; i < path.size(); ++i) {
        char c = path[i];
        if (in_quote) {
            if (c == '\\') ++i;
            else if (c == '"') in_quote = false;
        } else if (c == '"') {
            in_quote = true;
        } else if (c == '.' || c == '[') {
            cut = i;
        }
    }
    return path.substr(0, cut);
}

inline constexpr std::size_t yaml_max_nodes = 1'000'000; // bounds alias expansion ("billion laughs")

[[nodiscard]] inline bool all_digits(std::string_view s, int base) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = base == 8    ? (c >= '0' && c <= '7')
                  : base == 10 ? (c >= '0' && c <= '9')
                               : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
        if (!ok) return false;
    }
    return true;
}

// [-+]? ( \.[0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
[[nodiscard]] inline bool looks_like_float(std::string_view s) noexcept {
    std::size_t i = 0;
    auto digits = [&] {
        std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        return i - start;
    };
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t intd = digits();
    if (i < s.size() && s[i] == '.') {
        ++i;
        std::size_t frac = digits();
        if (intd == 0 && frac == 0) return false;
    } else if (intd == 0) {
        return false;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        if (digits() == 0) return false;
    }
    return i == s.size();
}

// Types a plain scalar by the YAML 1.2 core schema.
[[nodiscard]] inline nlohmann::json resolve_plain(const std::string& text) {
    using nlohmann::json;
    std::string_view s = text;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;

    std::string_view body = s;
    bool negative = false;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        negative = body[0] == '-';
        body.remove_prefix(1);
    }
    if (all_digits(body, 10)) {
        std::uint64_t u = 0;
        auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), u);
        if (ec == std::errc{} && p == body.data() + body.size()) {
            if (!negative) return u;
            if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return -static_cast<std::int64_t>(u);
            if (u == static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1)
                return std::numeric_limits<std::int64_t>::min();
        }
        // Too large for 64 bits: fall through to a (huge) float.
    }
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        int base = s[1] == 'x' ? 16 : 8;
        std::string_view d = s.substr(2);
        std::uint64_t u = 0;
        if (all_digits(d, base)) {
            auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), u, base);
            if (ec == std::errc{} && p == d.data() + d.size()) return u;
        }
        return text;
    }
    if (looks_like_float(s)) {
        double d = 0;
        auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), d);
        if (ec == std::errc::result_out_of_range) d = std::numeric_limits<double>::infinity();
        else if (ec != std::errc{} || p != body.data() + body.size()) return text;
        return negative ? -d : d;
    }
    if (body == ".inf" || body == ".Inf" || body == ".INF")
        return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
    return text;
}

inline constexpr std::string_view yaml_tag_prefix = "tag:yaml.org,2002:";

// Builds the JSON tree and the line map from yaml-cpp's parse events. The
// first problem is recorded and every later event ignored (no exception is
// thrown through yaml-cpp).
class yaml_builder final : public YAML::EventHandler {
public:
    struct failure {
        std::string message;
        std::size_t line; // 1-based
    };

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (error_) return;
        if (expecting_key()) return fail("a mapping key is empty or null; expected a key name", mark);
        finish(nullptr, mark, anchor, 1);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (error_) return;
        if (expecting_key()) return fail("an alias cannot be a mapping key; expected a key name", mark);
        auto it = anchors_.find(anchor);
        if (it == anchors_.end())
            return fail("an alias refers to an anchor that is not complete here; expected an earlier anchor", mark);
        finish(it->second.first, mark, 0, it->second.second);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override {
        if (error_) return;
        // yaml-cpp passes bytes through; JSON (the tree parse_config takes,
        // and every place rules are written back: reload summaries, traces)
        // holds UTF-8 only.
        if (!detail::valid_utf8(value))
            return fail(std::string(expecting_key() ? "a key" : "a value") +
                            " is not valid UTF-8; rules files are UTF-8 text (a path with other bytes can be "
                            "matched by a pattern of its UTF-8 part)",
                        mark);
        if (expecting_key()) {
            frame& f = stack_.back();
            if (anchor != 0) anchors_[anchor] = {value, 1};
            std::string p = path_key(f.path, value);
            if (f.value.contains(value)) {
                auto first = lines.find(p);
                return fail(p + ": duplicate key" +
                                (first != lines.end() ? ", first given at line " + std::to_string(first->second) : "") +
                                "; each key may appear once in a mapping",
                            mark, true);
            }
            f.key = value;
            f.key_line = line(mark);
            lines[p] = f.key_line;
            return;
        }
        nlohmann::json v;
        if (tag == "?") {
            v = resolve_plain(value);
        } else if (tag == "!" || tag == std::string(yaml_tag_prefix) + "str") {
            v = value;
        } else if (tag.rfind(yaml_tag_prefix, 0) == 0) {
            std::string_view t = std::string_view(tag).substr(yaml_tag_prefix.size());
            v = resolve_plain(value);
            bool ok = (t == "int" && v.is_number_integer()) || (t == "float" && v.is_number()) ||
                      (t == "bool" && v.is_boolean()) || (t == "null" && v.is_null());
            if (!ok) return fail("value " + quote(value) + " does not match its tag !!" + std::string(t), mark);
            if (t == "float") v = v.get<double>();
        } else {
            return fail("unsupported YAML tag " + quote(tag) + "; expected plain or quoted values", mark);
        }
        finish(std::move(v), mark, anchor, 1);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        start(mark, tag, anchor, false);
    }
    void OnSequenceEnd() override { end(); }
    void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        start(mark, tag, anchor, true);
    }
    void OnMapEnd() override { end(); }

    std::optional<nlohmann::json> root;
    source_lines lines;
    [[nodiscard]] const std::optional<failure>& error() const noexcept { return error_; }

private:
    struct frame {
        nlohmann::json value;
        bool is_map = false;
        std::string path;
        std::optional<std::string> key; // a map's pending key
        std::size_t key_line = 0;
        std::size_t line = 0;
        YAML::anchor_t anchor = 0;
        std::size_t nodes = 1;
    };

    [[nodiscard]] static std::size_t line(const YAML::Mark& m) noexcept {
        return m.line >= 0 ? static_cast<std::size_t>(m.line) + 1 : 0;
    }
    [[nodiscard]] bool expecting_key() const noexcept {
        return !stack_.empty() && stack_.back().is_map && !stack_.back().key;
    }

    void fail(std::string message, const YAML::Mark& mark, bool has_path = false) {
        if (error_) return;
        std::size_t l = line(mark);
        // Name the value being read: the pending key's path, the next list
        // item's, or the enclosing mapping's when a key is expected.
        std::string where;
        if (!stack_.empty()) {
            const frame& f = stack_.back();
            where = f.is_map ? (f.key ? path_key(f.path, *f.key) : f.path) : path_index(f.path, f.value.size());
        }
        if (!has_path) message = (where.empty() ? std::string("YAML") : where) + ": " + message;
        error_ = failure{std::move(message), l};
    }

    // The path of the node about to start or finish at the top of the stack,
    // recording its line when it is a list item.
    [[nodiscard]] std::string child_path(const YAML::Mark& mark) {
        if (stack_.empty()) {
            lines[""] = line(mark);
            return "";
        }
        frame& f = stack_.back();
        if (f.is_map) return path_key(f.path, *f.key);
        std::string p = path_index(f.path, f.value.size());
        lines[p] = line(mark);
        return p;
    }

    void start(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, bool is_map) {
        if (error_) return;
        if (expecting_key())
            return fail("a mapping key is itself a list or mapping; expected a plain key name", mark);
        std::string kind = is_map ? "map" : "seq";
        if (tag != "?" && tag != "!" && tag != std::string(yaml_tag_prefix) + kind)
            return fail("unsupported YAML tag " + quote(tag) + " on a " + (is_map ? "mapping" : "list"), mark);
        frame f;
        f.value = is_map ? nlohmann::json::object() : nlohmann::json::array();
        f.is_map = is_map;
        f.path = child_path(mark);
        f.line = line(mark);
        f.anchor = anchor;
        stack_.push_back(std::move(f));
    }

    void end() {
        if (error_ || stack_.empty()) return;
        frame f = std::move(stack_.back());
        stack_.pop_back();
        YAML::Mark m;
        m.line = static_cast<int>(f.line) - 1;
        if (f.anchor != 0) anchors_[f.anchor] = {f.value, f.nodes};
        attach(std::move(f.value), m, f.nodes);
    }

    // A scalar, null or alias is complete.
    void finish(nlohmann::json v, const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t nodes) {
        if (!stack_.empty() && !stack_.back().is_map) (void)child_path(mark); // record the item's line
        if (anchor != 0) anchors_[anchor] = {v, nodes};
        attach(std::move(v), mark, nodes);
    }

    void attach(nlohmann::json v, const YAML::Mark& mark, std::size_t nodes) {
        total_nodes_ += nodes;
        if (total_nodes_ > yaml_max_nodes)
            return fail("the document expands to more than " + std::to_string(yaml_max_nodes) +
                            " values (through aliases?); a rules file is far smaller",
                        mark);
        if (stack_.empty()) {
            root = std::move(v);
            return;
        }
        frame& f = stack_.back();
        f.nodes += nodes;
        if (f.is_map) {
            f.value[*f.key] = std::move(v);
            f.key.reset();
        } else {
            f.value.push_back(std::move(v));
        }
    }

    std::vector<frame> stack_;
    std::map<YAML::anchor_t, std::pair<nlohmann::json, std::size_t>> anchors_;
    std::size_t total_nodes_ = 0;
    std::optional<failure> error_;
};

// Counts the documents after the first and remembers where the next begins.
class yaml_doc_probe final : public YAML::EventHandler {
public:
    std::optional<int> first_line;
    void note(const YAML::Mark& m) {
        if (!first_line) first_line = m.line;
    }
    void OnDocumentStart(const YAML::Mark& m) override { note(m); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { note(m); }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        note(m);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        note(m);
    }
    void OnMapEnd() override {}
};

[[nodiscard]] inline std::string yaml_position(const YAML::Mark& m) {
    if (m.is_null() || m.line < 0) return "";
    return " at line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
}

} // namespace detail

inline std::optional<std::size_t> yaml_document::line_of(std::string_view path) const {
    while (true) {
        if (auto it = lines.find(path); it != lines.end() && it->second > 0) return it->second;
        if (path.empty()) return std::nullopt;
        path = detail::parent_path(path);
    }
}

// YAML text -> JSON tree plus the line of every value. One document only;
// duplicate keys, complex keys and unknown tags are errors.
[[nodiscard]] inline result<yaml_document> parse_yaml(std::string_view text) {
    try {
        std::istringstream in{std::string(text)};
        YAML::Parser parser(in);
        detail::yaml_builder builder;
        bool any = parser.HandleNextDocument(builder);
        if (const auto& e = builder.error())
            return make_error(errc::invalid_config, e->message + (e->line ? " (line " + std::to_string(e->line) + ")" : ""));
        if (any) {
            detail::yaml_doc_probe probe;
            if (parser.HandleNextDocument(probe)) {
                std::string where = probe.first_line ? " (line " + std::to_string(*probe.first_line + 1) + ")" : "";
                return make_error(errc::invalid_config,
                                  "YAML: the text holds more than one document (\"---\" separates them); "
                                  "expected a single rules document" + where);
            }
        }
        yaml_document doc;
        doc.root = builder.root ? std::move(*builder.root) : nlohmann::json(nullptr);
        doc.lines = std::move(builder.lines);
        return doc;
    } catch (const YAML::Exception& e) {
        return make_error(errc::invalid_config, "YAML syntax error" + detail::yaml_position(e.mark) + ": " + e.msg);
    } catch (const std::exception& e) {
        return make_error(errc::invalid_config, std::string("YAML could not be read: ") + e.what());
    }
}

// YAML text -> the JSON tree parse_config takes.
[[nodiscard]] inline result<nlohmann::json> yaml_to_json(std::string_view text) {
    auto doc = parse_yaml(text);
    if (!doc) return tl::unexpected(std::move(doc.error()));
    return std::move(doc->root);
}

// A rules file's text, JSON or YAML, parsed and validated. Text whose first
// non-blank character (after an optional UTF-8 BOM) is '{' is JSON; anything
// else is YAML. Validation errors in YAML end with " (line N)".
[[nodiscard]] inline result<config> parse_config_text(std::string_view text) {
    std::string_view rest = text;
    if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
    auto first = rest.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && rest[first] == '{') return parse_config_json(rest);

    auto doc = parse_yaml(text);
    if (!doc) return tl::unexpected(std::move(doc.error()));
    try {
        auto c = detail::parse_config_tree(doc->root);
        if (c) return std::move(*c);
        std::string msg = std::move(c.error().message);
        if (auto l = doc->line_of(c.error().path)) msg += " (line " + std::to_string(*l) + ")";
        return make_error(errc::invalid_config, std::move(msg));
    } catch (const std::exception& e) {
        return make_error(errc::invalid_config, std::string("config could not be validated: ") + e.what());
    }
}

} // namespace barbwire
