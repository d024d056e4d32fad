// SPDX-License-Identifier: Apache-2.0
/*
 * noop_attach: the floor of the sensor-overhead benchmark. Loads noop.bpf.c
 * (a program that returns 0 on every hook the sensor attaches), attaches all
 * of them, and holds them until SIGINT or SIGTERM. bench/sensor_bench.py
 * --floor starts it in place of `barbwire run`, so it speaks the same two
 * stderr lines the harness reads:
 *
 *   barbwire: ready (noop floor: N programs attached)
 *   barbwire: stopped after S s: 0 events (noop floor), 0 kernel drops
 *
 * Exit status: 0 after a clean stop, 1 when anything failed (one line on
 * stderr saying what).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "noop.skel.h"

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static void on_stop_signal(int sig)
{
	(void)sig; /* never runs: the signals stay blocked and sigwait takes them */
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *err_string(int err)
{
	return strerror(err < 0 ? -err : err);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "noop_attach: needs root (it loads BPF programs)\n");
		return 1;
	}

	/* Blocked before anything is attached, so a signal that arrives early
	 * waits for sigwait below instead of killing the process. A handler, not
	 * the inherited disposition: an ignored signal (SIGINT of a background
	 * job started by a shell) would be discarded, never waited for. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0) {
		fprintf(stderr, "noop_attach: setting up SIGINT/SIGTERM failed: %s\n", strerror(errno));
		return 1;
	}

	libbpf_set_print(quiet_libbpf);

	struct noop_bpf *skel = noop_bpf__open();
	if (skel == NULL) {
		fprintf(stderr, "noop_attach: opening the BPF object failed: %s\n", err_string(errno));
		return 1;
	}
	int err = noop_bpf__load(skel);
	if (err != 0) {
		fprintf(stderr, "noop_attach: loading the BPF programs failed: %s\n", err_string(err));
		noop_bpf__destroy(skel);
		return 1;
	}

	/* One by one, so a failure names its program; the skeleton owns the links. */
	const struct bpf_object_skeleton *s = skel->skeleton;
	int attached = 0;
	for (int i = 0; i < s->prog_cnt; ++i) {
		struct bpf_program *prog = *s->progs[i].prog;
		struct bpf_link *link = bpf_program__attach(prog);
		if (link == NULL) {
			const int e = errno;
			fprintf(stderr, "noop_attach: attaching %s (%s) failed: %s\n", bpf_program__name(prog),
			        bpf_program__section_name(prog), err_string(e));
			noop_bpf__destroy(skel);
			return 1;
		}
		*s->progs[i].link = link;
		++attached;
	}

	const double t0 = now_s();
	fprintf(stderr, "barbwire: ready (noop floor: %d programs attached)\n", attached);
	fflush(stderr);

	int sig = 0;
	while (sigwait(&stop, &sig) != 0) {
	}

	const double elapsed = now_s() - t0;
	noop_bpf__destroy(skel);
	fprintf(stderr, "barbwire: stopped after %.3f s: 0 events (noop floor), 0 kernel drops\n", elapsed);
	return 0;
}
