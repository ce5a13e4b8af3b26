/* SPDX-License-Identifier: BSD-2-Clause */
/* Bounds-checked accessors for trace records (see event.h). */
#include "event.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	size_t size;
} kinds[256] = {
	[LP_EV_SYSCALL] = { "syscall", sizeof(struct lp_ev_syscall) },
	[LP_EV_FORK] = { "fork", sizeof(struct lp_ev_fork) },
	[LP_EV_EXEC] = { "exec", sizeof(struct lp_ev_exec) },
	[LP_EV_EXEC_ARGV] = { "exec_argv", sizeof(struct lp_ev_exec_argv) },
	/* cpu_ns came later: older traces end the record before it */
	[LP_EV_EXIT] = { "exit", offsetof(struct lp_ev_exit, cpu_ns) },
	[LP_EV_FD_IO] = { "fd_io", sizeof(struct lp_ev_fd_io) },
	[LP_REC_PROC_SEED] = { "proc_seed", sizeof(struct lp_rec_proc_seed) },
	[LP_REC_FD_SEED] = { "fd_seed", sizeof(struct lp_rec_fd_seed) },
	[LP_REC_PROGRESS] = { "progress", sizeof(struct lp_rec_progress) },
	[LP_REC_TRACE_PID] = { "trace_pid", sizeof(struct lp_rec_trace_pid) },
	[LP_REC_CONTEXT_FILE] = { "context_file", sizeof(struct lp_rec_context_file) },
	[LP_REC_BUILD] = { "build", sizeof(struct lp_rec_build) },
};

const char *lp_kind_name(unsigned kind)
{
	return kind < 256 ? kinds[kind].name : NULL;
}

size_t lp_kind_min_size(unsigned kind)
{
	return kind < 256 ? kinds[kind].size : 0;
}

/* A NUL-terminated string of `n` bytes (NUL included) at offset `off` of
 * the record, or NULL. */
static const char *field(const struct lp_hdr *h, size_t off, size_t n, size_t *len)
{
	if (n == 0 || off > h->size || n > (size_t)h->size - off)
		return NULL;
	const char *s = (const char *)h + off;
	const char *nul = memchr(s, '\0', n);
	if (!nul)
		return NULL;
	if (len)
		*len = (size_t)(nul - s);
	return s;
}

static size_t syscall_strs_total(const struct lp_ev_syscall *ev, unsigned upto)
{
	size_t off = 0;
	for (unsigned i = 0; i < upto && i < LP_SYSCALL_MAX_STRS; i++)
		off += ev->str_len[i];
	return off;
}

bool lp_ev_valid(const struct lp_hdr *h)
{
	if (!h || h->size < sizeof(struct lp_hdr))
		return false;
	size_t min = lp_kind_min_size(h->kind);
	if (min == 0)
		return true; /* unknown kind: skippable */
	if (h->size < min)
		return false;
	size_t room = h->size - min;
	switch (h->kind) {
	case LP_EV_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		return ev->nstr <= LP_SYSCALL_MAX_STRS &&
		       syscall_strs_total(ev, ev->nstr) <= room;
	}
	case LP_EV_EXEC:
		return ((const struct lp_ev_exec *)h)->filename_len <= room;
	case LP_EV_EXEC_ARGV:
		return ((const struct lp_ev_exec_argv *)h)->data_len <= room;
	case LP_REC_PROC_SEED: {
		const struct lp_rec_proc_seed *ev = (const void *)h;
		return (size_t)ev->exe_len + ev->cwd_len + ev->cmdline_len <= room;
	}
	case LP_REC_FD_SEED:
		return ((const struct lp_rec_fd_seed *)h)->path_len <= room;
	case LP_REC_PROGRESS:
		return ((const struct lp_rec_progress *)h)->len <= room;
	case LP_REC_CONTEXT_FILE:
		return ((const struct lp_rec_context_file *)h)->path_len <= room;
	case LP_REC_BUILD:
		return ((const struct lp_rec_build *)h)->len <= room;
	default:
		return true;
	}
}

const char *lp_ev_syscall_str(const struct lp_ev_syscall *ev, unsigned i, size_t *len)
{
	if (!ev || ev->h.size < sizeof(*ev) || i >= ev->nstr || i >= LP_SYSCALL_MAX_STRS)
		return NULL;
	return field(&ev->h, sizeof(*ev) + syscall_strs_total(ev, i), ev->str_len[i], len);
}

const char *lp_ev_syscall_arg_str(const struct lp_ev_syscall *ev, unsigned arg,
				  unsigned *idx, size_t *len)
{
	if (!ev || ev->h.size < sizeof(*ev))
		return NULL;
	for (unsigned i = 0; i < ev->nstr && i < LP_SYSCALL_MAX_STRS; i++) {
		if (ev->str_arg[i] == arg) {
			if (idx)
				*idx = i;
			return lp_ev_syscall_str(ev, i, len);
		}
	}
	return NULL;
}

bool lp_ev_syscall_str_truncated(const struct lp_ev_syscall *ev, unsigned i)
{
	return i < LP_SYSCALL_MAX_STRS && (ev->h.flags & (LP_F_STR0_TRUNC << i));
}

const char *lp_ev_exec_filename(const struct lp_ev_exec *ev, size_t *len)
{
	if (!ev || ev->h.size < sizeof(*ev))
		return NULL;
	return field(&ev->h, sizeof(*ev), ev->filename_len, len);
}

uint64_t lp_ev_exit_cpu_ns(const struct lp_ev_exit *ev)
{
	if (!ev || ev->h.size < offsetof(struct lp_ev_exit, cpu_ns) + sizeof(ev->cpu_ns))
		return 0;
	uint64_t ns;
	memcpy(&ns, (const char *)ev + offsetof(struct lp_ev_exit, cpu_ns), sizeof(ns));
	return ns;
}

static void iter_init(struct lp_str_iter *it, const struct lp_hdr *h, size_t off, size_t n,
		      unsigned max)
{
	it->p = it->end = NULL;
	it->left = 0;
	if (off > h->size || n > (size_t)h->size - off)
		return;
	it->p = (const char *)h + off;
	it->end = it->p + n;
	it->left = max;
}

void lp_ev_argv_iter(const struct lp_ev_exec_argv *ev, struct lp_str_iter *it)
{
	it->p = it->end = NULL;
	it->left = 0;
	if (!ev || ev->h.size < sizeof(*ev))
		return;
	/* filename + argc arguments */
	iter_init(it, &ev->h, sizeof(*ev), ev->data_len, (unsigned)ev->argc + 1);
}

void lp_ev_seed_cmdline_iter(const struct lp_rec_proc_seed *ev, struct lp_str_iter *it)
{
	it->p = it->end = NULL;
	it->left = 0;
	if (!ev || ev->h.size < sizeof(*ev))
		return;
	size_t off = sizeof(*ev) + (size_t)ev->exe_len + ev->cwd_len;
	/* argc 0 from an older writer: take what is there */
	iter_init(it, &ev->h, off, ev->cmdline_len, ev->argc ? ev->argc : 0xffffu);
}

const char *lp_str_next(struct lp_str_iter *it, size_t *len)
{
	if (!it->p || it->left == 0 || it->p >= it->end)
		return NULL;
	const char *s = it->p;
	const char *nul = memchr(s, '\0', (size_t)(it->end - s));
	if (!nul) {
		it->p = it->end;
		return NULL;
	}
	it->p = nul + 1;
	it->left--;
	if (len)
		*len = (size_t)(nul - s);
	return s;
}

const char *lp_ev_seed_exe(const struct lp_rec_proc_seed *ev, size_t *len)
{
	if (!ev || ev->h.size < sizeof(*ev))
		return NULL;
	return field(&ev->h, sizeof(*ev), ev->exe_len, len);
}

const char *lp_ev_seed_cwd(const struct lp_rec_proc_seed *ev, size_t *len)
{
	if (!ev || ev->h.size < sizeof(*ev))
		return NULL;
	return field(&ev->h, sizeof(*ev) + ev->exe_len, ev->cwd_len, len);
}

const char *lp_ev_fd_seed_path(const struct lp_rec_fd_seed *ev, size_t *len)
{
	if (!ev || ev->h.size < sizeof(*ev))
		return NULL;
	return field(&ev->h, sizeof(*ev), ev->path_len, len);
}

const char *lp_ev_progress_text(const struct lp_rec_progress *ev, size_t *len)
{
	if (!ev || ev->h.size < sizeof(*ev) || ev->len > ev->h.size - sizeof(*ev))
		return NULL;
	*len = ev->len;
	return (const char *)ev + sizeof(*ev);
}

const char *lp_ev_context_path(const struct lp_rec_context_file *ev, size_t *len)
{
	if (!ev || ev->h.size < sizeof(*ev))
		return NULL;
	return field(&ev->h, sizeof(*ev), ev->path_len, len);
}

const char *lp_ev_build_json(const struct lp_rec_build *ev, size_t *len)
{
	if (!ev || ev->h.size < sizeof(*ev))
		return NULL;
	return field(&ev->h, sizeof(*ev), ev->len, len);
}

void lp_comm_copy(char dst[LP_COMM_LEN + 1], const char *src)
{
	size_t n = strnlen(src, LP_COMM_LEN);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

const char *lp_errno_name(int e)
{
	if (e <= 0 || e > 4095)
		return NULL;
	return strerrorname_np(e);
}

const char *lp_signal_name(int sig)
{
	static const char *const names[] = {
		[1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL",
		[5] = "SIGTRAP", [6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE",
		[9] = "SIGKILL", [10] = "SIGUSR1", [11] = "SIGSEGV", [12] = "SIGUSR2",
		[13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM", [16] = "SIGSTKFLT",
		[17] = "SIGCHLD", [18] = "SIGCONT", [19] = "SIGSTOP", [20] = "SIGTSTP",
		[21] = "SIGTTIN", [22] = "SIGTTOU", [23] = "SIGURG", [24] = "SIGXCPU",
		[25] = "SIGXFSZ", [26] = "SIGVTALRM", [27] = "SIGPROF", [28] = "SIGWINCH",
		[29] = "SIGIO", [30] = "SIGPWR", [31] = "SIGSYS",
	};
	if (sig <= 0 || (size_t)sig >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[sig];
}

enum lp_fd_kind lp_fdio_kind(const struct lp_ev_fd_io *ev)
{
	if (!(ev->fd_mode & LP_FDMODE_KNOWN))
		return LP_FDK_UNKNOWN;
	switch (ev->fd_mode & 0170000u) { /* S_IFMT */
	case 0100000u: return LP_FDK_FILE;   /* S_IFREG */
	case 0040000u: return LP_FDK_DIR;    /* S_IFDIR */
	case 0140000u: return LP_FDK_SOCKET; /* S_IFSOCK */
	case 0010000u: return LP_FDK_PIPE;   /* S_IFIFO */
	case 0020000u:                       /* S_IFCHR */
	case 0060000u: return LP_FDK_DEVICE; /* S_IFBLK */
	case 0: return LP_FDK_ANON;          /* anon inodes carry no type */
	default: return LP_FDK_OTHER;
	}
}

const char *lp_fd_kind_name(enum lp_fd_kind k)
{
	static const char *const names[] = {
		[LP_FDK_UNKNOWN] = "unknown", [LP_FDK_FILE] = "file",  [LP_FDK_DIR] = "dir",
		[LP_FDK_SOCKET] = "socket",   [LP_FDK_PIPE] = "pipe",  [LP_FDK_DEVICE] = "device",
		[LP_FDK_ANON] = "anon",       [LP_FDK_OTHER] = "other",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

bool lp_fdio_is_path_io(const struct lp_ev_fd_io *ev)
{
	enum lp_fd_kind k = lp_fdio_kind(ev);
	return k == LP_FDK_UNKNOWN || k == LP_FDK_FILE || k == LP_FDK_DEVICE;
}
