// Fuzz the credential files the owner-use check reads (issue 15;
// docs/rules.md, "Owner use"): parse_servers over .netrc, kubeconfigs
// (YAML), .git-credentials, registry auth files (JSON) and .s3cfg, and
// server_of_url. The sensor reads these as root when their owner opens
// them: the owner wrote them, so they are hostile text.
//
// The first byte picks the format (0 netrc, 1 kubeconfig, 2 git-credentials,
// 3 registry auth, 4 s3cfg) or 5, server_of_url (the second byte picks the
// default scheme). Properties:
//
//   - nothing throws (yaml-cpp and nlohmann::json errors stay inside);
//   - at most max_servers servers, no duplicates;
//   - every host is one a resolver may be asked about: 1 to 253 bytes, no
//     space, control character, '*', '%', '/', '@', '(' or ')', lower case;
//   - a netrc server has no port (0: any), every other one a port;
//   - git-credentials: one URL a line, so the file's servers are its lines'
//     servers, merged in order.
//
// Pure: no I/O (no name is resolved).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "owner_files.hpp"

namespace {

using namespace barbwire::sensor;

void check_server(const named_server& s, bool any_port) {
    BW_FUZZ_CHECK(!s.host.empty() && s.host.size() <= 253);
    for (const char c : s.host) {
        const auto u = static_cast<unsigned char>(c);
        BW_FUZZ_CHECK(u > 0x20 && u != 0x7f && c != '*' && c != '%' && c != '/' && c != '@' && c != '(' && c != ')');
        BW_FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    }
    if (any_port) BW_FUZZ_CHECK(s.port == 0);
    else BW_FUZZ_CHECK(s.port != 0);
}

void check_servers(const std::vector<named_server>& servers, bool any_port) {
    BW_FUZZ_CHECK(servers.size() <= max_servers);
    for (std::size_t i = 0; i < servers.size(); ++i) {
        check_server(servers[i], any_port);
        for (std::size_t k = 0; k < i; ++k) BW_FUZZ_CHECK(!(servers[k] == servers[i]));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2 || size > 64 * 1024) return 0;
    const int which = data[0] % 6;
    const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
    try {
        if (which == 5) {
            static constexpr std::string_view schemes[] = {"", "https", "http", "ssh", "git", "ftp", "nope"};
            const auto s = server_of_url(text, schemes[data[1] % 7]);
            if (s) check_server(*s, false);
            return 0;
        }
        const auto f = static_cast<credential_format>(which);
        const std::vector<named_server> servers = parse_servers(f, text);
        check_servers(servers, f == credential_format::netrc);

        if (f == credential_format::git_credentials) {
            std::vector<named_server> merged;
            for (std::string_view rest = text; !rest.empty();) {
                const std::size_t nl = rest.find('\n');
                const std::string_view line = rest.substr(0, nl);
                rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
                for (const named_server& s : parse_servers(f, line))
                    if (merged.size() < max_servers && std::find(merged.begin(), merged.end(), s) == merged.end())
                        merged.push_back(s);
            }
            BW_FUZZ_CHECK(merged == servers);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "exception escaped: %s\n", e.what());
        BW_FUZZ_CHECK(!"an exception escaped a parser");
    }
    return 0;
}
