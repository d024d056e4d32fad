// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * jit_lines: where a loaded BPF program's JIT image starts and which source
 * line each stretch of it came from, for mapping perf samples in that image
 * to lines (bench/prog_profile.sh). Debian's bpftool is built without a
 * disassembler, and then `bpftool prog dump jited` prints neither the image
 * nor its line table; the kernel gives both through BPF_OBJ_GET_INFO_BY_FD.
 *
 *   jit_lines PROG_ID [IMAGE_OUT]
 *
 * Prints one line per line-info record: the record's JIT address (hex), the
 * instruction offset, the source line number and the source line's text,
 * tab-separated. With IMAGE_OUT, also writes the JIT image there (the main
 * program's code first: disassemble with
 * `objdump -D -b binary -mi386:x86-64 --adjust-vma=ADDR`, ADDR the first
 * printed address). Needs root.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
	fprintf(stderr, "jit_lines: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: jit_lines PROG_ID [IMAGE_OUT]  (ids: bpftool prog show)\n");
		return 2;
	}
	char *end = NULL;
	unsigned long id = strtoul(argv[1], &end, 10);
	if (!end || *end || id == 0 || id > 0xffffffffUL) {
		fprintf(stderr, "jit_lines: '%s' is no program id; take one from `bpftool prog show`\n", argv[1]);
		return 2;
	}
	int fd = bpf_prog_get_fd_by_id((__u32)id);
	if (fd < 0)
		return fail("no such program, or no privilege (run as root)");
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return fail("reading the program's info");
	const __u32 n_jited = info.nr_jited_line_info, n_lines = info.nr_line_info, image_len = info.jited_prog_len;
	const __u32 rec = info.line_info_rec_size, btf_id = info.btf_id;
	if (image_len == 0 || n_jited == 0 || n_lines != n_jited || rec < sizeof(struct bpf_line_info)) {
		fprintf(stderr, "jit_lines: program %lu has no JIT image with line info (not JIT-compiled, or loaded without BTF)\n", id);
		return 1;
	}
	unsigned char *image = malloc(image_len);
	__u64 *addrs = calloc(n_jited, sizeof(*addrs));
	unsigned char *lines = calloc(n_lines, rec);
	if (!image || !addrs || !lines)
		return fail("allocating");
	memset(&info, 0, sizeof(info));
	info.jited_prog_len = image_len;
	info.jited_prog_insns = (__u64)(unsigned long)image;
	info.nr_jited_line_info = n_jited;
	info.jited_line_info = (__u64)(unsigned long)addrs;
	info.jited_line_info_rec_size = sizeof(*addrs);
	info.nr_line_info = n_lines;
	info.line_info = (__u64)(unsigned long)lines;
	info.line_info_rec_size = rec;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return fail("reading the JIT image and its line info");
	if (argc == 3) {
		FILE *f = fopen(argv[2], "wb");
		if (!f || fwrite(image, 1, image_len, f) != image_len || fclose(f) != 0)
			return fail(argv[2]);
	}
	struct btf *btf = btf__load_from_kernel_by_id(btf_id);
	for (__u32 i = 0; i < n_lines; i++) {
		const struct bpf_line_info *l = (const void *)(lines + (size_t)i * rec);
		const char *text = btf ? btf__name_by_offset(btf, l->line_off) : NULL;
		printf("%llx\t%u\t%u\t%s\n", (unsigned long long)addrs[i], l->insn_off, BPF_LINE_INFO_LINE_NUM(l->line_col),
		       text ? text : "");
	}
	btf__free(btf);
	return 0;
}
