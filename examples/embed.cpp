// A minimal program embedding libbarbwire.
//
// It builds a correlator from the built-in rules, feeds it the events of a
// small story (an interactive bash starts python; python reads /etc/shadow and
// connects out two seconds later) and prints each alert in both forms.
// Everything here is plain library use: no root, no kernel, no files.

#include <chrono>
#include <cstdio>

#include <barbwire/barbwire.hpp>

using namespace std::chrono_literals;

int main() {
    barbwire::correlator corr(barbwire::default_config());

    auto exec = [](barbwire::nanoseconds ts, barbwire::pid_type pid, barbwire::pid_type ppid, const char* comm,
                   const char* exe) {
        barbwire::exec_event e;
        e.ppid = ppid;
        e.uid = 1000;
        e.comm = comm;
        e.exe = exe;
        e.argv = {comm};
        return barbwire::event{ts, pid, pid, false, e};
    };
    barbwire::open_event shadow;
    shadow.path = "/etc/shadow";
    barbwire::net_event conn;
    conn.addr = *barbwire::ip_address::parse("203.0.113.5");
    conn.port = 443;

    const barbwire::event story[] = {
        exec(0s, 4100, 4000, "bash", "/usr/bin/bash"),
        exec(0s, 4242, 4100, "python3", "/usr/bin/python3.11"),
        barbwire::event{0s, 4242, 4242, false, shadow},
        barbwire::event{2s, 4242, 4242, false, conn},
    };

    int alerts = 0;
    for (const auto& ev : story) {
        if (auto a = corr.process(ev)) {
            ++alerts;
            std::printf("%s\n%s\n", barbwire::render_text(*a).c_str(), barbwire::to_json(*a).dump(2).c_str());
        }
    }
    std::printf("%d alert(s); stats: %s\n", alerts, barbwire::to_json(corr.stats()).dump().c_str());
    return alerts == 1 ? 0 : 1;
}
