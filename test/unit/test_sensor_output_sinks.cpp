// The queued outputs (sensor/output_sinks.hpp): the --output file when the
// disk fills up in the middle of a line (issue 15, fault tests).
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>

#include <sys/resource.h>

#include "output_sinks.hpp"
#include "sensor_test_files.hpp"

using namespace barbwire::sensor;

namespace {

using bw_test::read;
using bw_test::temp_dir;

std::shared_ptr<const output_message> message(const std::string& json) {
    auto m = std::make_shared<output_message>();
    m->json = json;
    m->line = json;
    return m;
}

const output_status& file_status(const std::vector<output_status>& all) {
    REQUIRE(all.size() == 2); // stdout, then the file
    return all[1];
}

// Waits until the file output has taken `sent` and failed `failed` messages.
void wait_for(const output_sinks& s, std::uint64_t sent, std::uint64_t failed) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
        const auto all = s.status();
        const output_status& f = file_status(all);
        if ((f.sent == sent && f.failed == failed && f.queued == 0) || std::chrono::steady_clock::now() > until) {
            CHECK(f.sent == sent);
            CHECK(f.failed == failed);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

// RLIMIT_FSIZE below the end of the file: a write that crosses it stops
// part-way, and the next one fails (EFBIG), as on a disk that fills up in
// the middle of a line. SIGXFSZ is ignored meanwhile, as a full disk sends none.
struct file_size_limit {
    rlimit old{};
    void (*old_handler)(int) = nullptr;
    explicit file_size_limit(rlim_t bytes) {
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
        old_handler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit r = old;
        r.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &r) == 0);
    }
    ~file_size_limit() {
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
    }
};

} // namespace

TEST_CASE("output_sinks: a file line cut short by a full disk is taken back whole", "[sensor][output_sinks]") {
    temp_dir t;
    const std::string path = (t / "alerts.jsonl").string();
    sink_options opts;
    opts.file = path;
    auto opened = output_sinks::open(opts);
    REQUIRE(opened);
    output_sinks& s = **opened;
    s.start_threads();

    const std::string first = R"({"n":1,"pad":"first alert"})";
    s.publish(message(first));
    wait_for(s, 1, 0);
    REQUIRE(read(path) == first + "\n");

    const std::string second = R"({"n":2,"pad":")" + std::string(200, 'x') + R"("})";
    {
        // Room for 20 bytes of the 200-odd: the write stops there, the retry fails.
        const file_size_limit limit(first.size() + 1 + 20);
        s.publish(message(second));
        wait_for(s, 1, 1);
    }
    // The failure is counted and said, and no part of the line is left.
    const output_status f = file_status(s.status());
    CHECK(f.last_error.find("writing " + path) != std::string::npos);
    CHECK(f.last_error.find("left in the file") == std::string::npos);
    CHECK(read(path) == first + "\n");

    // With room again, the next line follows the first one, whole.
    const std::string third = R"({"n":3})";
    s.publish(message(third));
    wait_for(s, 2, 1);
    CHECK(read(path) == first + "\n" + third + "\n");
    s.close(std::chrono::milliseconds(1000));
}
