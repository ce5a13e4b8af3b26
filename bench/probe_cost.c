/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Load one program set of probe_cost.bpf.c and run a command under it.
 *
 *   probe_cost none|tp_empty|raw_empty|floor|tp_hash|tp_bits|raw_hash|raw_bits [--trace] -- COMMAND...
 *
 * floor: empty programs on record's own attach points (bench section 9).
 *
 * Without --trace the command is NOT in the traced set (pid 1 is): it pays
 * only the hook + filter cost, like a process outside the build while
 * layerprof records (bench section 3). With --trace it is, and also pays
 * for the in-flight syscall state (bench section 1, minus the events).
 * Prints on stderr how many syscall exits found their entry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probe_cost.skel.h"

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: probe_cost MODE [--trace] -- COMMAND...\n");
		return 2;
	}
	const char *mode = argv[1];
	int i = 2, trace = 0;
	if (!strcmp(argv[i], "--trace")) {
		trace = 1;
		i++;
	}
	if (strcmp(argv[i], "--")) {
		fprintf(stderr, "probe_cost: expected --\n");
		return 2;
	}
	char **cmd = argv + i + 1;
	const char *prefix = !strcmp(mode, "tp_hash")    ? "th_"
			     : !strcmp(mode, "tp_bits")  ? "tb_"
			     : !strcmp(mode, "raw_hash") ? "rh_"
			     : !strcmp(mode, "raw_bits") ? "rb_"
			     : !strcmp(mode, "tp_empty") ? "te_"
			     : !strcmp(mode, "raw_empty") ? "re_"
			     : !strcmp(mode, "floor")    ? "fl_"
			     : !strcmp(mode, "none")     ? NULL
							 : "?";
	if (prefix && *prefix == '?') {
		fprintf(stderr, "probe_cost: unknown mode %s\n", mode);
		return 2;
	}
	struct probe_cost_bpf *s = NULL;
	if (prefix) {
		libbpf_set_print(quiet);
		s = probe_cost_bpf__open();
		if (!s)
			return 1;
		struct bpf_program *p;
		bpf_object__for_each_program(p, s->obj)
			bpf_program__set_autoload(p, !strncmp(bpf_program__name(p), prefix, 3));
		if (probe_cost_bpf__load(s)) {
			fprintf(stderr, "probe_cost: load failed\n");
			return 1;
		}
		static const unsigned nrs[] = { 257, 0, 1, 3, 262, 87, 83, 84 };
		__u8 one = 1;
		for (size_t k = 0; k < sizeof(nrs) / sizeof(nrs[0]); k++)
			bpf_map__update_elem(s->maps.cls, &nrs[k], sizeof(nrs[k]), &one, 1, BPF_ANY);
		bpf_object__for_each_program(p, s->obj) {
			if (!bpf_program__autoload(p))
				continue;
			if (!bpf_program__attach(p)) {
				fprintf(stderr, "probe_cost: attaching %s failed: %s\n",
					bpf_program__name(p), strerror(errno));
				return 1;
			}
		}
		/* something is traced: pid 1 */
		__u32 init = 1;
		bpf_map__update_elem(s->maps.traced, &init, sizeof(init), &one, 1, BPF_ANY);
		s->bss->bits[0] |= 1ull << 1;
	}
	int pfd[2];
	if (pipe(pfd) < 0)
		return 1;
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(pfd[1]);
		if (read(pfd[0], &b, 1) < 0)
			_exit(127);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	close(pfd[0]);
	if (s && trace) {
		__u32 k = (__u32)c;
		__u8 one = 1;
		bpf_map__update_elem(s->maps.traced, &k, sizeof(k), &one, 1, BPF_ANY);
		s->bss->bits[k >> 6] |= 1ull << (k & 63);
	}
	if (write(pfd[1], "x", 1) < 0)
		return 1;
	close(pfd[1]);
	int st = 0;
	waitpid(c, &st, 0);
	if (s) {
		fprintf(stderr, "probe_cost: %s%s: %llu syscall exits matched\n", mode,
			trace ? " --trace" : "", (unsigned long long)s->bss->done);
		probe_cost_bpf__destroy(s);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
