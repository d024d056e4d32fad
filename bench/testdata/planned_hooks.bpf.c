// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the sensor's planned hook set (issue 12), for the floor
 * generator's test: bench/gen_noop.py must turn an object with these sections
 * into a no-op floor that compiles, and (root) loads and attaches on this
 * kernel. Not a sensor: the programs only return 0. Two programs share
 * tp_btf/sys_exit to check that every program of a section gets its own
 * floor program.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_sched_process_fork, struct task_struct *parent, struct task_struct *child) { return 0; }

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) { return 0; }

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_sched_process_exit, struct task_struct *p) { return 0; }

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_inet_sock_set_state, const struct sock *sk, int oldstate, int newstate) { return 0; }

SEC("tp_btf/sock_send_length")
int BPF_PROG(handle_sock_send_length, struct sock *sk, int ret, int flags) { return 0; }

SEC("tp_btf/net_dev_queue")
int BPF_PROG(handle_net_dev_queue, struct sk_buff *skb) { return 0; }

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret) { return 0; }

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit_compat, struct pt_regs *regs, long ret) { return 0; }

SEC("tp_btf/io_uring_complete")
int BPF_PROG(handle_io_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe) { return 0; }
