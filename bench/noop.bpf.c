// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of the sensor-overhead benchmark (bench/sensor_bench.py --floor):
 * one program on every hook bpf/barbwire.bpf.c attaches, each doing nothing.
 * Attaching a syscall tracepoint at all sends every syscall of every task
 * through the kernel's tracing path, and each hook costs a BPF program call;
 * a workload run under these programs measures that part of the sensor's
 * overhead, which no work in the programs can remove.
 *
 * Keep the sections the same as bpf/barbwire.bpf.c's (grep -n 'SEC(').
 * Program names start with noop_, not handle_, so they are never taken for
 * the sensor's.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Process lifecycle */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(noop_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(noop_sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(noop_sched_process_exit, struct task_struct *p)
{
	return 0;
}

/* File opens */

SEC("tracepoint/syscalls/sys_exit_openat")
int noop_sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int noop_sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int noop_sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_creat")
int noop_sys_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

/* Network */

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(noop_inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int noop_sys_exit_sendto(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int noop_sys_exit_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

/* Renames and mount-table changes */

SEC("tracepoint/syscalls/sys_exit_rename")
int noop_sys_exit_rename(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_renameat")
int noop_sys_exit_renameat(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_renameat2")
int noop_sys_exit_renameat2(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mount")
int noop_sys_exit_mount(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_umount")
int noop_sys_exit_umount(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_move_mount")
int noop_sys_exit_move_mount(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_pivot_root")
int noop_sys_exit_pivot_root(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}
