/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The BPF side seen from user space (see loader.h): open the skeleton,
 * configure it, choose the attach kind of the process programs and of the
 * syscall programs, skip the syscalls this kernel lacks, load, attach, and
 * read the ring buffer.
 *
 * Choosing tp_btf / raw_tp / tp for fork, exec and exit:
 *   1. Only one variant of each process program is autoloaded
 *      (bpf_program__set_autoload), the best first (tp_btf), and the
 *      object is loaded and attached. Not probed beforehand: a tp_btf
 *      probe parses the kernel's BTF once more (~10 ms of a ~0.1 s start).
 *   2. If the load fails in a process program (the verifier of some kernel
 *      rejects the BTF-typed variant), or the program loads but cannot be
 *      attached (libbpf_probe_bpf_prog_type(TRACING) says yes on kernels
 *      where that happens), the next kind is tried with a fresh skeleton.
 *      If it fails in a syscall program, that syscall is reported missing
 *      and the load is retried without it: an optional syscall never costs
 *      the whole recording.
 *
 * Choosing the syscall attach mode (see layerprof.bpf.c):
 *   raw  sys_enter + sys_exit, two programs for all syscalls, with a
 *        syscall-number table (sc_of_nr) filled here from the build's
 *        <asm/unistd.h>; BTF-typed (tp_btf) when the process programs are,
 *        else raw_tp (a tp_btf pair that fails to load or attach falls back
 *        to the raw_tp one). Preferred: the hook itself costs every process
 *        of the host less than ~140 per-syscall tracepoints
 *        (bench/README.md), and 2 links detach at once where ~140 took
 *        seconds.
 *        + fentry: where a load-only probe says tracing programs load, the
 *        hot file I/O rows (open, read/write, close) run on fentry/fexit of
 *        __x64_sys_* and are left out of sc_of_nr; a load or attach failure
 *        drops them (the object is loaded again without).
 *   tp   the per-syscall tracepoints, when a raw program fails to load or
 *        attach (the whole object is then loaded again without them).
 * This is deterministic (same host, same choice), costs one extra load only
 * on hosts where the probe and the real program disagree, and the choice is
 * reported in lp_features.
 */
#include "loader.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gelf.h>
#include <libelf.h>

#include "exitcode.h"
#include "layerprof.skel.h"
#include "probe.h"
#include "util.h"

#define LP_DEFAULT_RINGBUF (16u << 20)
#define LP_DEFAULT_WAKEUP (256u << 10)
#define LP_MAX_LOAD_TRIES 12

/*
 * x86-64 syscall numbers for the raw mode's table, from the build's
 * <asm/unistd.h>, by tracepoint name. A few tracepoints are named after the
 * kernel function, not the syscall; syscalls newer than some distributions'
 * headers get their number here (the numbers are ABI, they never change).
 * On another architecture the table stays empty and the tp mode is used.
 */
#if defined(__x86_64__)
#include <asm/unistd.h>
#define __NR_newstat __NR_stat
#define __NR_newlstat __NR_lstat
#define __NR_umount __NR_umount2
#define __NR_sendfile64 __NR_sendfile
#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef __NR_fsopen
#define __NR_fsopen 430
#endif
#ifndef __NR_fsconfig
#define __NR_fsconfig 431
#endif
#ifndef __NR_fsmount
#define __NR_fsmount 432
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_faccessat2
#define __NR_faccessat2 439
#endif
#define LP_NR_OF(TP) __NR_##TP
#else
#define LP_NR_OF(TP) (-1)
#endif

/* The rows of syscalls.def, with their program names in the tp mode (see
 * layerprof.bpf.c: en_<tp> exists unless the class is counted at exit
 * only) and their syscall number for the raw mode. */
static const struct lp_row {
	const char *tp;
	const char *enter;
	const char *exit;
	const char *fentry, *fexit; /* the hot file I/O path's programs */
	int nr;      /* x86-64 syscall number, -1: unknown */
	uint8_t sc;  /* enum lp_sc */
} rows[] = {
#define LP_SYSCALL(SC, TP, CLASS, S0, S1, S2, S3)                              \
	{ #TP, "en_" #TP, "ex_" #TP, "fe_" #TP, "fx_" #TP, LP_NR_OF(TP), LP_SC_##SC },
#include "layerprof/syscalls.def"
#undef LP_SYSCALL
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

enum { EV_FORK, EV_EXEC, EV_EXIT, EV_NR };

struct lp_loader {
	struct layerprof_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	size_t nlinks, caplinks;
	lp_event_cb cb;
	void *cb_ctx;
	struct lp_features feat;
	int consumed;
	bool stop;
	char tracefs[64];
	bool tracefs_mounted; /* by us: unmounted again on close */
};

/* ---- libbpf messages: hidden unless verbose; the last failure kept ---- */

static bool g_verbose;
static char g_last_warn[256];   /* last libbpf warning, one line */
static char g_failed_prog[64];  /* program named by the last load failure */

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	va_list aq;
	va_copy(aq, ap);
	vsnprintf(msg, sizeof(msg), fmt, aq);
	va_end(aq);
	if (level == LIBBPF_WARN) {
		const char *p = strstr(msg, "prog '");
		if (p && (strstr(msg, "load failed") || strstr(msg, "failed to load"))) {
			p += 6;
			size_t n = strcspn(p, "'");
			if (n >= sizeof(g_failed_prog))
				n = sizeof(g_failed_prog) - 1;
			memcpy(g_failed_prog, p, n);
			g_failed_prog[n] = 0;
		}
		if (!strstr(msg, "-- BEGIN") && !strstr(msg, "-- END")) {
			size_t n = strcspn(msg, "\n");
			if (n >= sizeof(g_last_warn))
				n = sizeof(g_last_warn) - 1;
			memcpy(g_last_warn, msg, n);
			g_last_warn[n] = 0;
		}
	}
	if (g_verbose)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

const char *lp_attach_kind_name(enum lp_attach_kind k)
{
	switch (k) {
	case LP_ATTACH_TP_BTF: return "tp_btf";
	case LP_ATTACH_RAW_TP: return "raw_tp";
	case LP_ATTACH_TP: return "tp";
	default: return "none";
	}
}

const char *lp_syscall_hooks_name(enum lp_attach_kind k)
{
	switch (k) {
	case LP_ATTACH_TP_BTF: return "tp_btf sys_enter + sys_exit";
	case LP_ATTACH_RAW_TP: return "raw_tp sys_enter + sys_exit";
	case LP_ATTACH_TP: return "tp, one tracepoint per syscall and direction";
	default: return "none";
	}
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_err(char *err, size_t len, int *code, int c, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void set_err(char *err, size_t len, int *code, int c, const char *fmt, ...)
{
	if (err && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	if (code)
		*code = c;
}

static uint32_t ringbuf_size(uint32_t want)
{
	long page = sysconf(_SC_PAGESIZE);
	uint32_t min = page > 0 ? (uint32_t)page : 4096u;
	if (!want)
		want = LP_DEFAULT_RINGBUF;
	if (want < min)
		want = min;
	if (want > (1u << 30))
		want = 1u << 30;
	uint32_t p = min;
	while (p < want)
		p <<= 1;
	return p;
}

static struct bpf_program *prog_by_name(struct layerprof_bpf *s, const char *name)
{
	return name ? bpf_object__find_program_by_name(s->obj, name) : NULL;
}

/* The three variants of a process program, in lp_attach_kind order - 1. */
static void proc_progs(struct layerprof_bpf *s, struct bpf_program *p[EV_NR][3])
{
	p[EV_FORK][0] = s->progs.fork_btf;
	p[EV_FORK][1] = s->progs.fork_raw;
	p[EV_FORK][2] = s->progs.fork_tp;
	p[EV_EXEC][0] = s->progs.exec_btf;
	p[EV_EXEC][1] = s->progs.exec_raw;
	p[EV_EXEC][2] = s->progs.exec_tp;
	p[EV_EXIT][0] = s->progs.exit_btf;
	p[EV_EXIT][1] = s->progs.exit_raw;
	p[EV_EXIT][2] = s->progs.exit_tp;
}

static void add_missing(struct lp_features *f, const char *name)
{
	size_t n = strlen(f->missing);
	snprintf(f->missing + n, sizeof(f->missing) - n, "%s%s", n ? "," : "", name);
	f->syscalls_missing++;
}

/* Does this build know the syscall numbers the raw mode needs? */
static bool have_syscall_nrs(void)
{
	for (size_t i = 0; i < NROWS; i++)
		if (rows[i].nr >= 0)
			return true;
	return false;
}

/*
 * The syscall attach mode to try first: LAYERPROF_FORCE_SYSCALLS=tp|raw_tp
 * when set (tests of both modes), else tp when LAYERPROF_FORCE_ATTACH=tp
 * asks to skip every better kind, else raw_tp.
 */
static enum lp_attach_kind syscalls_wanted(void)
{
	const char *f = getenv("LAYERPROF_FORCE_SYSCALLS");
	if (f && !strcmp(f, "tp"))
		return LP_ATTACH_TP;
	if (f && (!strcmp(f, "raw_tp") || !strcmp(f, "fentry")))
		return LP_ATTACH_RAW_TP;
	f = getenv("LAYERPROF_FORCE_ATTACH");
	if (f && !strcmp(f, "tp"))
		return LP_ATTACH_TP;
	return LP_ATTACH_RAW_TP;
}

/*
 * The hot file I/O path on fentry/fexit (layerprof.bpf.c): wanted with the
 * raw mode unless LAYERPROF_FORCE_SYSCALLS or LAYERPROF_FORCE_ATTACH ask
 * for raw_tp or tp; LAYERPROF_FORCE_SYSCALLS=fentry makes it required
 * (tests: a failure is then an error, not a fallback).
 */
static enum fentry_want { FENTRY_NO, FENTRY_TRY, FENTRY_MUST } fentry_wanted(void)
{
	const char *f = getenv("LAYERPROF_FORCE_SYSCALLS");
	if (f && !strcmp(f, "fentry"))
		return FENTRY_MUST;
	if (f && (!strcmp(f, "tp") || !strcmp(f, "raw_tp")))
		return FENTRY_NO;
	f = getenv("LAYERPROF_FORCE_ATTACH");
	if (f && (!strcmp(f, "tp") || !strcmp(f, "raw_tp")))
		return FENTRY_NO;
	return FENTRY_TRY;
}

enum lp_attach_kind lp_loader_syscalls_wanted(void)
{
	return have_syscall_nrs() ? syscalls_wanted() : LP_ATTACH_TP;
}

/* skip[i]: the tp mode cannot trace row i, its tracepoints are absent. */
static void tp_rows_absent(const char *tfs, bool skip[NROWS])
{
	/* tracefs builds events/ on lookup (eventfs): on this VM's 6.18 the
	 * whole syscalls group was seen missing for a moment twice in a day
	 * (bpftrace too), then back. A group with none of its events is
	 * looked up again, for up to 0.5 s, before the rows are given up. */
	for (int tries = 0;; tries++) {
		size_t absent = 0;
		for (size_t i = 0; i < NROWS; i++) {
			char en[96], ex[96];
			snprintf(en, sizeof(en), "sys_enter_%s", rows[i].tp);
			snprintf(ex, sizeof(ex), "sys_exit_%s", rows[i].tp);
			skip[i] = !lp_tracepoint_exists(tfs, "syscalls", en) ||
				  !lp_tracepoint_exists(tfs, "syscalls", ex);
			absent += skip[i];
		}
		if (absent < NROWS || !tfs || tries == 10)
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
	}
}

/* Autoload the syscall programs of mode sys (the rows in skip[] left out
 * in the tp mode; with fentry, the hot rows on fentry/fexit), and fill the
 * raw mode's syscall-number table (without the rows fentry takes). */
static void configure_syscalls(struct layerprof_bpf *s, enum lp_attach_kind sys, bool sysbtf,
			       bool fentry, const bool skip[NROWS])
{
	bool raw = sys == LP_ATTACH_RAW_TP;
	fentry = fentry && raw;
	bpf_program__set_autoload(s->progs.sys_enter_raw, raw && !sysbtf);
	bpf_program__set_autoload(s->progs.sys_exit_raw, raw && !sysbtf);
	bpf_program__set_autoload(s->progs.sys_enter_btf, raw && sysbtf);
	bpf_program__set_autoload(s->progs.sys_exit_btf, raw && sysbtf);
	for (size_t i = 0; i < NROWS; i++) {
		struct bpf_program *p = prog_by_name(s, rows[i].enter);
		if (p)
			bpf_program__set_autoload(p, !raw && !skip[i]);
		p = prog_by_name(s, rows[i].exit);
		if (p)
			bpf_program__set_autoload(p, !raw && !skip[i]);
		struct bpf_program *fe = prog_by_name(s, rows[i].fentry);
		struct bpf_program *fx = prog_by_name(s, rows[i].fexit);
		if (fe)
			bpf_program__set_autoload(fe, fentry);
		if (fx)
			bpf_program__set_autoload(fx, fentry);
		size_t nr = (size_t)rows[i].nr;
		if (rows[i].nr >= 0 && nr < sizeof(s->rodata->sc_of_nr) && !(fentry && fe && fx))
			s->rodata->sc_of_nr[nr] = rows[i].sc;
	}
}

/*
 * The BPF atomics beyond a plain add (compare-and-swap, fetch), Linux 5.12:
 * does this kernel load a program with one? Asked once (~0.1 ms).
 */
static bool kernel_has_bpf_atomics(void)
{
	static int known = -1;
	if (known >= 0)
		return known;
	const struct bpf_insn prog[] = {
		/* *(u64 *)(r10 - 8) = 0 */
		{ .code = BPF_ST | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_10, .off = -8, .imm = 0 },
		/* r0 = 0; r1 = 1 */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1 },
		/* r0 = cmpxchg_64(r10 - 8, r0, r1) */
		{ .code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst_reg = BPF_REG_10, .src_reg = BPF_REG_1,
		  .off = -8, .imm = BPF_CMPXCHG },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", prog, sizeof(prog) / sizeof(prog[0]),
			       NULL);
	known = fd >= 0;
	if (fd >= 0)
		close(fd);
	return known;
}

/*
 * The object's ELF with every atomic instruction a kernel before 5.12
 * rejects (compare-and-swap, fetch: a non-zero imm) turned into a plain
 * load of the same word into the register it would have set. Those
 * kernels refuse such an instruction anywhere in a program, reachable or
 * not, before any dead-code pruning; all of ours sit behind fd_slots_on,
 * false then. Made once, kept for the process (libbpf reads it until load).
 */
static const void *elf_without_atomics(size_t *sz)
{
	static void *copy;
	static size_t copy_sz;
	if (copy) {
		*sz = copy_sz;
		return copy;
	}
	size_t n;
	const void *orig = layerprof_bpf__elf_bytes(&n);
	char *buf = lp_xmalloc(n);
	memcpy(buf, orig, n);
	if (elf_version(EV_CURRENT) == EV_NONE)
		goto fail;
	Elf *e = elf_memory(buf, n);
	if (!e)
		goto fail;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR) ||
		    sh.sh_offset + sh.sh_size > n)
			continue;
		struct bpf_insn *insn = (struct bpf_insn *)(buf + sh.sh_offset);
		for (size_t i = 0; i < sh.sh_size / sizeof(*insn); i++) {
			if (BPF_CLASS(insn[i].code) != BPF_STX || BPF_MODE(insn[i].code) != BPF_ATOMIC ||
			    insn[i].imm == 0)
				continue;
			struct bpf_insn ld = {
				.code = (__u8)(BPF_LDX | BPF_MEM | BPF_SIZE(insn[i].code)),
				.dst_reg = insn[i].imm == BPF_CMPXCHG ? BPF_REG_0 : insn[i].src_reg,
				.src_reg = insn[i].dst_reg,
				.off = insn[i].off,
			};
			insn[i] = ld;
		}
	}
	elf_end(e);
	copy = buf;
	copy_sz = n;
	*sz = n;
	return copy;
fail:
	free(buf);
	return NULL;
}

/* layerprof_bpf__open(), from the ELF above where the kernel lacks the
 * atomics (or LAYERPROF_FDIO=hash asks for that path: its tests). */
static struct layerprof_bpf *open_skeleton(bool atomics)
{
	if (atomics)
		return layerprof_bpf__open();
	size_t sz;
	const void *elf = elf_without_atomics(&sz);
	if (!elf) {
		errno = EINVAL;
		return NULL;
	}
	struct layerprof_bpf *s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	int err = layerprof_bpf__create_skeleton(s);
	if (!err) {
		s->skeleton->data = (void *)elf;
		s->skeleton->data_sz = sz;
		err = bpf_object__open_skeleton(s->skeleton, NULL);
	}
	if (err) {
		layerprof_bpf__destroy(s);
		errno = -err;
		return NULL;
	}
	return s;
}

/*
 * Open and configure a skeleton for process-program kind `kind` and syscall
 * mode `sys`, with the rows in skip[] left out. Returns the skeleton, or
 * NULL with -errno in *e.
 */
static struct layerprof_bpf *open_configured(const struct lp_loader_opts *o, enum lp_attach_kind kind,
					     enum lp_attach_kind sys, bool sysbtf, bool fentry,
					     const bool skip[NROWS], int *e)
{
	/* per-fd aggregates in array slots where the kernel has the atomic
	 * compare-and-swap (see fd_slots in bpf/lp_core.bpf.h);
	 * LAYERPROF_FDIO=hash keeps them all in the HASH map, the path of
	 * kernels before 5.12, object included (its tests) */
	const char *fdio = getenv("LAYERPROF_FDIO");
	bool slots = !(fdio && !strcmp(fdio, "hash")) && kernel_has_bpf_atomics();
	struct layerprof_bpf *s = open_skeleton(slots);
	if (!s) {
		*e = -errno;
		return NULL;
	}
	s->rodata->fd_slots_on = slots;
	s->rodata->self_tgid = o->self_tgid;
	uint32_t rbsz = ringbuf_size(o->ringbuf_bytes);
	uint64_t wake = o->wakeup_bytes;
	if (!wake)
		wake = rbsz / 4 < LP_DEFAULT_WAKEUP ? rbsz / 4 : LP_DEFAULT_WAKEUP;
	s->rodata->wakeup_bytes = wake;
	int err = bpf_map__set_max_entries(s->maps.rb, rbsz);
	if (err) {
		*e = err;
		layerprof_bpf__destroy(s);
		return NULL;
	}
	struct bpf_program *pp[EV_NR][3];
	proc_progs(s, pp);
	for (int ev = 0; ev < EV_NR; ev++)
		for (int k = 0; k < 3; k++)
			bpf_program__set_autoload(pp[ev][k], k == (int)kind - 1);
	/* the BTF-typed sys_enter/sys_exit where tp_btf works */
	configure_syscalls(s, sys, sysbtf && kind == LP_ATTACH_TP_BTF, fentry, skip);
	return s;
}

static int row_of_prog(const char *name)
{
	for (size_t i = 0; i < NROWS; i++)
		if (!strcmp(name, rows[i].enter) || !strcmp(name, rows[i].exit))
			return (int)i;
	return -1;
}

static bool is_fentry_prog(const char *name)
{
	return !strncmp(name, "fe_", 3) || !strncmp(name, "fx_", 3);
}

static bool is_raw_syscall_prog(const char *name)
{
	return !strcmp(name, "sys_enter_raw") || !strcmp(name, "sys_exit_raw");
}

static bool is_btf_syscall_prog(const char *name)
{
	return !strcmp(name, "sys_enter_btf") || !strcmp(name, "sys_exit_btf");
}

/*
 * Open, configure and load, with the fallbacks described on top: a raw
 * syscall program rejected -> the tp mode; a per-syscall program rejected
 * -> without that syscall; anything else -> the next process-program kind.
 * *kind, *sys and skip[] say what was loaded in the end. NULL on failure,
 * with err and *exit_code set.
 */
static struct layerprof_bpf *load(const struct lp_loader_opts *o, enum lp_attach_kind *kind,
				  enum lp_attach_kind *sys, bool *sysbtf, bool *fentry, bool fentry_must,
				  bool skip[NROWS],
				  const char *tfs, const char *rel, char *err, size_t errlen, int *exit_code)
{
	for (int tries = 1;; tries++) {
		int oe = 0;
		struct layerprof_bpf *s = open_configured(o, *kind, *sys, *sysbtf, *fentry, skip, &oe);
		if (!s) {
			set_err(err, errlen, exit_code, LP_EXIT_FAILURE,
				"cannot open the BPF object: %s", strerror(-oe));
			return NULL;
		}
		g_failed_prog[0] = 0;
		int le = layerprof_bpf__load(s);
		if (!le)
			return s;
		layerprof_bpf__destroy(s);
		bool raw_prog = g_failed_prog[0] && is_raw_syscall_prog(g_failed_prog);
		int row = g_failed_prog[0] ? row_of_prog(g_failed_prog) : -1;
		if (*sysbtf && tries < LP_MAX_LOAD_TRIES && is_btf_syscall_prog(g_failed_prog)) {
			if (o->verbose)
				fprintf(stderr, "layerprof: tp_btf sys_enter/sys_exit rejected (%s), "
					"trying the raw_tp ones\n", strerror(-le));
			*sysbtf = false;
			continue;
		}
		if (*fentry && !fentry_must && tries < LP_MAX_LOAD_TRIES &&
		    (is_fentry_prog(g_failed_prog) || !g_failed_prog[0])) {
			if (o->verbose)
				fprintf(stderr, "layerprof: fentry/fexit programs rejected (%s), file I/O "
					"through sys_enter/sys_exit\n", strerror(-le));
			*fentry = false;
			continue;
		}
		if (tries < LP_MAX_LOAD_TRIES && le != -EPERM) {
			if (raw_prog || (row < 0 && *kind == LP_ATTACH_TP && *sys == LP_ATTACH_RAW_TP)) {
				if (o->verbose)
					fprintf(stderr, "layerprof: raw_tp syscall programs rejected, "
						"falling back to one tracepoint per syscall\n");
				*sys = LP_ATTACH_TP;
				tp_rows_absent(tfs, skip);
				continue;
			}
			if (row >= 0) {
				skip[row] = true; /* reported missing later */
				if (o->verbose)
					fprintf(stderr, "layerprof: %s rejected by the kernel, tracing without it\n",
						rows[row].tp);
				continue;
			}
			if (*kind < LP_ATTACH_TP) {
				if (o->verbose)
					fprintf(stderr, "layerprof: %s programs rejected, falling back to %s\n",
						lp_attach_kind_name(*kind),
						lp_attach_kind_name((enum lp_attach_kind)(*kind + 1)));
				*kind = (enum lp_attach_kind)(*kind + 1);
				continue;
			}
		}
		if (le == -EPERM)
			set_err(err, errlen, exit_code, LP_EXIT_PRIVILEGE,
				"the kernel refused to load BPF programs (%s): run it with sudo, on "
				"the host (not in a container), without kernel lockdown",
				strerror(-le));
		else
			set_err(err, errlen, exit_code, LP_EXIT_KERNEL,
				"the kernel (%s) rejected layerprof's BPF programs%s%s%s: %s "
				"(run with --verbose for the verifier log)",
				rel, g_failed_prog[0] ? " (" : "", g_failed_prog,
				g_failed_prog[0] ? ")" : "", g_last_warn[0] ? g_last_warn : strerror(-le));
		return NULL;
	}
}

static bool keep_link(struct lp_loader *l, struct bpf_link *link)
{
	if (l->nlinks == l->caplinks) {
		size_t n = l->caplinks ? l->caplinks * 2 : 160;
		l->links = lp_xrealloc(l->links, n * sizeof(*l->links));
		l->caplinks = n;
	}
	l->links[l->nlinks++] = link;
	return true;
}

static struct bpf_link *attach(struct lp_loader *l, struct bpf_program *p)
{
	struct bpf_link *link = bpf_program__attach(p);
	if (!link)
		return NULL;
	keep_link(l, link);
	return link;
}

/* Forget the last link kept (it is being destroyed). */
static void drop_last_link(struct lp_loader *l, struct bpf_link *link)
{
	bpf_link__destroy(link);
	l->nlinks--;
}

/* fork, exec and exit, with the programs of kind `kind`. */
static int attach_procs(struct lp_loader *l, enum lp_attach_kind kind, char *err, size_t errlen,
			int *exit_code)
{
	struct bpf_program *pp[EV_NR][3];
	proc_progs(l->skel, pp);
	static const char *const evname[EV_NR] = { "sched_process_fork", "sched_process_exec",
						    "sched_process_exit" };
	enum lp_attach_kind *fk[EV_NR] = { &l->feat.proc_fork, &l->feat.proc_exec, &l->feat.proc_exit };
	for (int ev = 0; ev < EV_NR; ev++) {
		if (!attach(l, pp[ev][kind - 1])) {
			int ae = errno;
			set_err(err, errlen, exit_code, ae == EPERM ? LP_EXIT_PRIVILEGE : LP_EXIT_KERNEL,
				"cannot attach to %s (%s): %s", evname[ev], lp_attach_kind_name(kind),
				strerror(ae));
			return -ae;
		}
		*fk[ev] = kind;
	}
	return 0;
}

/*
 * The raw mode: sys_exit first, so that every in-flight slot sys_enter
 * takes has an exit program to give it back. -errno when either cannot be
 * attached (nothing of the pair is left attached).
 */
static int attach_syscalls_raw(struct lp_loader *l)
{
	bool btf = bpf_program__autoload(l->skel->progs.sys_enter_btf);
	struct bpf_link *x = attach(l, btf ? l->skel->progs.sys_exit_btf : l->skel->progs.sys_exit_raw);
	if (!x)
		return -errno;
	if (!attach(l, btf ? l->skel->progs.sys_enter_btf : l->skel->progs.sys_enter_raw)) {
		int e = errno;
		drop_last_link(l, x);
		return -e;
	}
	for (size_t i = 0; i < NROWS; i++) {
		if (rows[i].nr >= 0)
			l->feat.syscalls_attached++;
		else
			add_missing(&l->feat, rows[i].tp);
	}
	l->feat.syscalls = btf ? LP_ATTACH_TP_BTF : LP_ATTACH_RAW_TP;
	return 0;
}

/* The tp mode: an exit and (for most classes) an enter tracepoint per row. */
static void attach_syscalls_tp(struct lp_loader *l, const bool skip[NROWS])
{
	for (size_t i = 0; i < NROWS; i++) {
		if (skip[i]) {
			add_missing(&l->feat, rows[i].tp);
			continue;
		}
		struct bpf_program *pe = prog_by_name(l->skel, rows[i].enter);
		struct bpf_program *px = prog_by_name(l->skel, rows[i].exit);
		struct bpf_link *lx = px ? attach(l, px) : NULL;
		struct bpf_link *le = lx && pe ? attach(l, pe) : NULL;
		if (!lx || (pe && !le)) {
			/* an exit without its enter (or the reverse) would be useless */
			if (lx)
				drop_last_link(l, lx);
			add_missing(&l->feat, rows[i].tp);
			continue;
		}
		l->feat.syscalls_attached++;
	}
	l->feat.syscalls = LP_ATTACH_TP;
}

/* The hot rows on fentry/fexit (fexit first, as in the raw mode). -errno
 * when one cannot be attached (the caller starts again without them). */
static int attach_fentry(struct lp_loader *l)
{
	for (size_t i = 0; i < NROWS; i++) {
		struct bpf_program *fe = prog_by_name(l->skel, rows[i].fentry);
		struct bpf_program *fx = prog_by_name(l->skel, rows[i].fexit);
		if (!fe || !fx || !bpf_program__autoload(fe))
			continue;
		if (!attach(l, fx) || !attach(l, fe))
			return -errno;
		l->feat.fentry_syscalls++;
	}
	return 0;
}

static void detach_all(struct bpf_link **links, size_t n);

/* Undo load + attach, to try again in another mode. */
static void unload(struct lp_loader *l)
{
	detach_all(l->links, l->nlinks);
	l->nlinks = 0;
	layerprof_bpf__destroy(l->skel);
	l->skel = NULL;
	memset(&l->feat, 0, sizeof(l->feat));
}

static int ring_sample(void *ctx, void *data, size_t size)
{
	struct lp_loader *l = ctx;
	l->consumed++;
	if (l->cb && l->cb(l->cb_ctx, data, size)) {
		l->stop = true;
		return -ECANCELED;
	}
	return 0;
}

struct lp_loader *lp_loader_open(const struct lp_loader_opts *opts, lp_event_cb cb, void *cb_ctx,
				 char *err, size_t errlen, int *exit_code)
{
	struct lp_loader_opts o = opts ? *opts : (struct lp_loader_opts){ 0 };
	int code_dummy;
	if (!exit_code)
		exit_code = &code_dummy;
	*exit_code = LP_EXIT_FAILURE;
	if (err && errlen)
		err[0] = 0;
	uint64_t t0 = mono_ms(), t0_us = mono_us();
	char rel[128];
	lp_probe_kernel_version(rel, sizeof(rel));

	/* 1. privileges and kernel features, cheapest and clearest first */
	struct lp_privs pv;
	lp_probe_privs(&pv);
	if (!pv.enough) {
		set_err(err, errlen, exit_code, LP_EXIT_PRIVILEGE,
			"record needs root (or CAP_BPF and CAP_PERFMON): run it with sudo");
		return NULL;
	}
	if (!lp_probe_btf()) {
		set_err(err, errlen, exit_code, LP_EXIT_KERNEL,
			"this kernel (%s) has no BTF at %s: layerprof needs Linux >= 5.8 built "
			"with CONFIG_DEBUG_INFO_BTF=y", rel, LP_BTF_VMLINUX);
		return NULL;
	}
	g_verbose = o.verbose;
	g_last_warn[0] = g_failed_prog[0] = 0;
	libbpf_set_print(print_fn);

	int e = lp_probe_bpf_syscall();
	if (e) {
		if (e == -EPERM || e == -EACCES)
			set_err(err, errlen, exit_code, LP_EXIT_PRIVILEGE,
				"the kernel refused the bpf() syscall (%s): run as root on the host, "
				"not in an unprivileged container", strerror(-e));
		else
			set_err(err, errlen, exit_code, LP_EXIT_KERNEL,
				"the bpf() syscall does not work on this kernel (%s): %s", rel,
				strerror(-e));
		return NULL;
	}
	e = lp_probe_ringbuf();
	if (e) {
		if (e == -EPERM)
			set_err(err, errlen, exit_code, LP_EXIT_PRIVILEGE,
				"the kernel refused to create a BPF ring buffer (%s): run it with sudo",
				strerror(-e));
		else
			set_err(err, errlen, exit_code, LP_EXIT_KERNEL,
				"this kernel (%s) has no BPF ring buffer: layerprof needs Linux >= 5.8",
				rel);
		return NULL;
	}
	bool mounted = false;
	int terr = 0;
	const char *tfs = lp_tracefs(true, &mounted, &terr);
	if (!tfs && terr == EACCES) {
		set_err(err, errlen, exit_code, LP_EXIT_PRIVILEGE,
			"tracefs is not readable by this user (it is root-only): run it with sudo "
			"(CAP_BPF and CAP_PERFMON are not enough then)");
		return NULL;
	}
	if (!tfs) {
		set_err(err, errlen, exit_code, terr == EPERM ? LP_EXIT_PRIVILEGE : LP_EXIT_KERNEL,
			"tracefs is not mounted and mounting it on /sys/kernel/tracing failed (%s): "
			"try 'mount -t tracefs tracefs /sys/kernel/tracing'", strerror(terr));
		return NULL;
	}
	if (mounted && o.verbose)
		fprintf(stderr, "layerprof: mounted tracefs on %s\n", tfs);

	/* 2. which attach kind for fork/exec/exit: the best one that loads
	 * and attaches (step 4 falls back kind by kind). Not probed first:
	 * the tp_btf probe alone parses the kernel's BTF (~10 ms), which
	 * libbpf does again for the object. */
	enum lp_attach_kind kind = LP_ATTACH_TP_BTF;
	/* LAYERPROF_FORCE_ATTACH=raw_tp|tp skips the better kinds: for tests
	 * of the fallbacks, and as a workaround on a kernel that misbehaves. */
	const char *force = getenv("LAYERPROF_FORCE_ATTACH");
	if (force && !strcmp(force, "raw_tp"))
		kind = LP_ATTACH_RAW_TP;
	else if (force && !strcmp(force, "tp"))
		kind = LP_ATTACH_TP;

	struct lp_loader *l = lp_xcalloc(1, sizeof(*l));
	l->cb = cb;
	l->cb_ctx = cb_ctx;
	snprintf(l->tracefs, sizeof(l->tracefs), "%s", tfs);
	l->tracefs_mounted = mounted;

	/* 3. the syscall mode; in the tp mode, the syscalls whose tracepoints
	 * this kernel lacks */
	enum lp_attach_kind sys = lp_loader_syscalls_wanted();
	bool skip[NROWS] = { false };
	if (sys == LP_ATTACH_TP)
		tp_rows_absent(tfs, skip);
	/* the hot file I/O path on fentry/fexit when this kernel lets a
	 * tracing program load (a load-only probe: ~3 ms) */
	enum fentry_want fw = sys == LP_ATTACH_RAW_TP ? fentry_wanted() : FENTRY_NO;
	bool fentry = false;
	/* sys_enter/sys_exit BTF-typed where tp_btf works (cheaper argument
	 * reads), unless the raw ones are asked for */
	const char *fsys = getenv("LAYERPROF_FORCE_SYSCALLS");
	bool sysbtf = !(fsys && !strcmp(fsys, "raw_tp"));
	if (fw != FENTRY_NO) {
		char fwhy[96];
		fentry = lp_probe_load(LP_PROBE_FENTRY, tfs, fwhy, sizeof(fwhy)) == 0;
		if (!fentry && fw == FENTRY_MUST) {
			set_err(err, errlen, exit_code, LP_EXIT_KERNEL,
				"LAYERPROF_FORCE_SYSCALLS=fentry: fentry programs cannot be used on this "
				"kernel (%s): %s", rel, fwhy);
			goto fail;
		}
		if (!fentry && o.verbose)
			fprintf(stderr, "layerprof: fentry unavailable (%s): file I/O through "
				"sys_enter/sys_exit\n", fwhy);
	}

	/* 4. load and attach (with the fallbacks described on top) */
	uint64_t probed_us = mono_us(), verify_us = 0;
	for (;;) {
		uint64_t v0 = mono_us();
		l->skel = load(&o, &kind, &sys, &sysbtf, &fentry, fw == FENTRY_MUST, skip, tfs, rel, err,
			       errlen, exit_code);
		verify_us += mono_us() - v0;
		if (!l->skel)
			goto fail;
		if (attach_procs(l, kind, err, errlen, exit_code) < 0) {
			if (kind == LP_ATTACH_TP)
				goto fail;
			/* loaded but not attachable (seen with tp_btf on some
			 * kernels): the next kind */
			if (o.verbose)
				fprintf(stderr, "layerprof: %s (%s), falling back to %s\n", err,
					lp_attach_kind_name(kind),
					lp_attach_kind_name((enum lp_attach_kind)(kind + 1)));
			unload(l);
			kind = (enum lp_attach_kind)(kind + 1);
			continue;
		}
		if (sys == LP_ATTACH_TP) {
			attach_syscalls_tp(l, skip);
			break;
		}
		int ae = attach_syscalls_raw(l);
		if (!ae && fentry && (ae = attach_fentry(l)) < 0) {
			if (fw == FENTRY_MUST) {
				set_err(err, errlen, exit_code, LP_EXIT_KERNEL,
					"LAYERPROF_FORCE_SYSCALLS=fentry: cannot attach the fentry/fexit "
					"programs: %s", strerror(-ae));
				goto fail;
			}
			if (o.verbose)
				fprintf(stderr, "layerprof: cannot attach the fentry/fexit programs (%s), "
					"file I/O through sys_enter/sys_exit\n", strerror(-ae));
			unload(l);
			fentry = false;
			continue;
		}
		if (!ae)
			break;
		if (sysbtf && kind == LP_ATTACH_TP_BTF) {
			if (o.verbose)
				fprintf(stderr, "layerprof: cannot attach tp_btf sys_enter/sys_exit (%s), "
					"trying the raw_tp ones\n", strerror(-ae));
			unload(l);
			sysbtf = false;
			continue;
		}
		if (o.verbose)
			fprintf(stderr, "layerprof: cannot attach raw_tp sys_enter/sys_exit (%s), "
				"falling back to one tracepoint per syscall\n", strerror(-ae));
		unload(l);
		sys = LP_ATTACH_TP;
		tp_rows_absent(tfs, skip);
	}
	if (!l->feat.syscalls_attached) {
		size_t absent = 0;
		for (size_t i = 0; i < NROWS; i++)
			absent += skip[i];
		set_err(err, errlen, exit_code, LP_EXIT_KERNEL,
			"no syscall tracepoint could be attached (%zu of %zu absent from events/syscalls in %s%s%s): "
			"is CONFIG_FTRACE_SYSCALLS set?", absent, (size_t)NROWS, tfs,
			absent < NROWS ? "; the others: " : "", absent < NROWS ? strerror(errno) : "");
		goto fail;
	}
	if (o.verbose)
		fprintf(stderr, "layerprof: syscalls: %s%s (%u traced, %zu programs attached)\n",
			lp_syscall_hooks_name(l->feat.syscalls),
			l->feat.fentry_syscalls ? "; file I/O (open, read/write, close) on fentry/fexit" : "",
			l->feat.syscalls_attached, l->nlinks - EV_NR);

	/* 5. the ring buffer */
	l->rb = ring_buffer__new(bpf_map__fd(l->skel->maps.rb), ring_sample, l, NULL);
	if (!l->rb) {
		set_err(err, errlen, exit_code, LP_EXIT_FAILURE, "cannot read the BPF ring buffer: %s",
			strerror(errno));
		goto fail;
	}
	l->feat.load_ms = (unsigned)(mono_ms() - t0);
	l->feat.probe_us = (unsigned)(probed_us - t0_us);
	l->feat.verify_us = (unsigned)verify_us;
	l->feat.attach_us = (unsigned)(mono_us() - probed_us - verify_us);
	return l;

fail:
	lp_loader_close(l);
	return NULL;
}

const struct lp_features *lp_loader_features(const struct lp_loader *l)
{
	return l ? &l->feat : NULL;
}

/* "ask the map" in the kernel's traced_hint cache (bpf/lp_core.bpf.h) */
#define LP_HINT_ASK 0xffffffffu

int lp_loader_trace_pid(struct lp_loader *l, uint32_t tgid)
{
	if (!l || !tgid)
		return -EINVAL;
	uint8_t one = 1;
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.traced), &tgid, &one, BPF_ANY))
		return -errno;
	/* The filter reads a cache first, whose entry for tgid may say "not
	 * traced" (0): make it ask the map. Always safe, whatever the entry
	 * held (see traced_hint); done after the map update, through the
	 * .bss the skeleton maps into our memory. */
	if (!l->skel->bss)
		return -ENOTSUP;
	size_t n = sizeof(l->skel->bss->traced_hint) / sizeof(l->skel->bss->traced_hint[0]);
	__atomic_store_n(&l->skel->bss->traced_hint[tgid & (n - 1)], LP_HINT_ASK, __ATOMIC_SEQ_CST);
	return 0;
}

int lp_loader_add_comm(struct lp_loader *l, const char *comm)
{
	if (!l || !comm || !comm[0])
		return -EINVAL;
	char want[LP_COMM_LEN];
	memset(want, 0, sizeof(want));
	strncpy(want, comm, LP_COMM_LEN - 1); /* the kernel keeps 15 chars */
	int fd = bpf_map__fd(l->skel->maps.comms);
	int free_slot = -1;
	for (uint32_t i = 0; i < LP_MAX_COMMS; i++) {
		char cur[LP_COMM_LEN];
		if (bpf_map_lookup_elem(fd, &i, cur))
			return -errno;
		if (!cur[0]) {
			if (free_slot < 0)
				free_slot = (int)i;
			continue;
		}
		if (!memcmp(cur, want, sizeof(want)))
			return 0;
	}
	if (free_slot < 0)
		return -ENOSPC;
	uint32_t k = (uint32_t)free_slot;
	if (bpf_map_update_elem(fd, &k, want, BPF_ANY))
		return -errno;
	return 0;
}

bool lp_loader_is_traced(struct lp_loader *l, uint32_t tgid)
{
	if (!l)
		return false;
	uint8_t v;
	return bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.traced), &tgid, &v) == 0;
}

int lp_loader_poll(struct lp_loader *l, int timeout_ms)
{
	if (!l || !l->rb)
		return -EINVAL;
	l->consumed = 0;
	l->stop = false;
	/* Wait for a wake-up (or the timeout)... */
	int r = ring_buffer__poll(l->rb, timeout_ms);
	if (l->stop)
		return l->consumed;
	if (r < 0 && r != -EINTR)
		return r;
	/* ...then take everything there is: records sent with
	 * BPF_RB_NO_WAKEUP never make epoll report the ring as ready. */
	int c = ring_buffer__consume(l->rb);
	if (l->stop || l->consumed)
		return l->consumed;
	if (c < 0)
		return c;
	return r < 0 ? r : 0;
}

int lp_loader_epoll_fd(struct lp_loader *l)
{
	if (!l || !l->rb)
		return -EINVAL;
	return ring_buffer__epoll_fd(l->rb);
}

/* Hand the callback aggregate v of (tgid, fd), read out at time now. True
 * when the callback asks to stop. */
static bool send_drained(struct lp_loader *l, struct lp_ev_fd_io *v, uint32_t tgid, int32_t fd, uint64_t now)
{
	v->h.size = sizeof(*v);
	v->h.kind = LP_EV_FD_IO;
	v->h.flags = 0;
	v->h.tgid = tgid;
	v->h.tid = 0;
	v->h.aux = (uint32_t)fd;
	v->h.ts = now;
	v->io_flags = LP_FDIO_DRAINED;
	return l->cb && l->cb(l->cb_ctx, v, sizeof(*v));
}

int lp_loader_drain_fd_io(struct lp_loader *l)
{
	if (!l || !l->skel)
		return -EINVAL;
	int fd = bpf_map__fd(l->skel->maps.fdio);
	/* Keys first: deleting while walking with get_next_key restarts the
	 * walk on some kernels. */
	size_t n = 0, cap = 256;
	struct lp_fd_key *keys = lp_xmalloc(cap * sizeof(*keys));
	struct lp_fd_key k, next;
	const void *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (n == cap) {
			cap *= 2;
			keys = lp_xrealloc(keys, cap * sizeof(*keys));
		}
		keys[n++] = next;
		k = next;
		prev = &k;
	}
	int sent = 0;
	bool stop = false;
	uint64_t now = lp_now_ns();
	/* (deleted without lowering their slots' in_hash: a count too high
	 * only sends later fds of those slots to the HASH map) */
	for (size_t i = 0; i < n && !stop; i++) {
		struct lp_ev_fd_io v;
		if (bpf_map_lookup_elem(fd, &keys[i], &v))
			continue; /* closed meanwhile: sent through the ring buffer */
		bpf_map_delete_elem(fd, &keys[i]);
		if (!v.rcalls && !v.wcalls)
			continue; /* emptied in place, kept for reuse (LP_FDIO_KEEP) */
		sent++;
		stop = send_drained(l, &v, keys[i].tgid, keys[i].fd, now);
	}
	free(keys);
	/* then the slots (bpf/lp_core.bpf.h, fd_slots), each taken as a
	 * flush takes it: a program still running may flush it meanwhile */
	struct lp_fd_slot *slots = l->skel->bss->fd_slots;
	size_t nslots = sizeof(l->skel->bss->fd_slots) / sizeof(slots[0]);
	for (size_t i = 0; i < nslots && !stop; i++) {
		uint64_t key = __atomic_load_n(&slots[i].key, __ATOMIC_ACQUIRE);
		if (!key || key == LP_FD_SLOT_BUSY ||
		    !__atomic_compare_exchange_n(&slots[i].key, &key, LP_FD_SLOT_BUSY, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		struct lp_ev_fd_io v = slots[i].a;
		memset(&slots[i].a, 0, sizeof(slots[i].a));
		__atomic_store_n(&slots[i].key, 0, __ATOMIC_RELEASE);
		if (!v.rcalls && !v.wcalls)
			continue;
		sent++;
		stop = send_drained(l, &v, (uint32_t)(key >> 32), (int32_t)(uint32_t)key, now);
	}
	return sent;
}

int lp_loader_lost(struct lp_loader *l, uint64_t lost[LP_LOST_NR], uint64_t *per_cpu, int max_cpus)
{
	for (int r = 0; r < LP_LOST_NR; r++)
		lost[r] = 0;
	if (!l || !l->skel)
		return -EINVAL;
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	if (per_cpu)
		for (int c = 0; c < max_cpus; c++)
			per_cpu[c] = 0;
	uint64_t *vals = lp_xcalloc((size_t)ncpu, sizeof(uint64_t));
	int fd = bpf_map__fd(l->skel->maps.lost);
	for (uint32_t r = 0; r < LP_LOST_NR; r++) {
		if (bpf_map_lookup_elem(fd, &r, vals))
			continue;
		for (int c = 0; c < ncpu; c++) {
			lost[r] += vals[c];
			if (per_cpu && c < max_cpus)
				per_cpu[c] += vals[c];
		}
	}
	free(vals);
	return ncpu;
}

/*
 * Detaching a tracepoint program waits for an RCU grace period (tens of ms
 * each, ~140 of them: seconds). Detach from several threads so the waits
 * overlap; a detach that cannot get a thread is done here.
 */
struct detach_job {
	struct bpf_link **links;
	size_t n, start, step;
};

static void *detach_some(void *arg)
{
	struct detach_job *j = arg;
	for (size_t i = j->start; i < j->n; i += j->step)
		bpf_link__destroy(j->links[i]);
	return NULL;
}

#define LP_DETACH_THREADS 24

static void detach_all(struct bpf_link **links, size_t n)
{
	pthread_t th[LP_DETACH_THREADS];
	struct detach_job jobs[LP_DETACH_THREADS];
	bool started[LP_DETACH_THREADS] = { false };
	size_t nt = n < 16 ? 1 : LP_DETACH_THREADS;
	for (size_t t = 0; t < nt; t++) {
		jobs[t] = (struct detach_job){ links, n, t, nt };
		if (t > 0)
			started[t] = pthread_create(&th[t], NULL, detach_some, &jobs[t]) == 0;
	}
	detach_some(&jobs[0]);
	for (size_t t = 1; t < nt; t++) {
		if (started[t])
			pthread_join(th[t], NULL);
		else
			detach_some(&jobs[t]);
	}
}

/*
 * Closing does not wait for the kernel to free the programs: a raw
 * tracepoint link lets go of its program only after an RCU grace period
 * (Linux >= 6.9), 60-250 ms that were most of record's stop time. They are
 * detached (they no longer run) when this returns; the kernel frees them
 * shortly after (tests/bpf checks that none is left, waiting for that).
 */
void lp_loader_close(struct lp_loader *l)
{
	if (!l)
		return;
	ring_buffer__free(l->rb);
	detach_all(l->links, l->nlinks);
	free(l->links);
	layerprof_bpf__destroy(l->skel);
	lp_tracefs_release(l->tracefs, l->tracefs_mounted);
	free(l);
}
