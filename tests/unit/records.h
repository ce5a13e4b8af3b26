/* SPDX-License-Identifier: BSD-2-Clause */
/* Builders of trace records for the unit tests (not a test binary itself:
 * the Makefile builds tests/unit/test_*.c only). Each writes one record into
 * buf (8-aligned, big enough) and returns its size. */
#ifndef LP_TEST_RECORDS_H
#define LP_TEST_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "layerprof/abi.h"

#define AT_FDCWD_RAW ((uint64_t)(int64_t)-100)

struct sc_spec {
	uint32_t tgid, tid;
	uint64_t ts;
	unsigned sc;
	int64_t ret;
	uint64_t lat;
	uint64_t args[6];
	const char *str[6]; /* string read from args[i], NULL for none */
	uint8_t flags;
};

static inline size_t build_sc(void *buf, const struct sc_spec *s)
{
	struct lp_ev_syscall *ev = buf;
	memset(ev, 0, sizeof(*ev));
	ev->h.kind = LP_EV_SYSCALL;
	ev->h.flags = s->flags;
	ev->h.tgid = s->tgid;
	ev->h.tid = s->tid ? s->tid : s->tgid;
	ev->h.aux = s->sc;
	ev->h.ts = s->ts;
	ev->ret = s->ret;
	ev->lat_ns = s->lat;
	memcpy(ev->args, s->args, sizeof(ev->args));
	size_t off = sizeof(*ev);
	for (unsigned a = 0; a < 6; a++) {
		if (!s->str[a] || ev->nstr == LP_SYSCALL_MAX_STRS)
			continue;
		size_t n = strlen(s->str[a]) + 1;
		memcpy((char *)buf + off, s->str[a], n);
		ev->str_arg[ev->nstr] = (uint8_t)a;
		ev->str_len[ev->nstr] = (uint16_t)n;
		ev->nstr++;
		off += n;
	}
	ev->h.size = (uint16_t)off;
	return off;
}

/* comm fields: up to 16 bytes, NUL-padded (not always NUL-terminated) */
static inline void set_comm(char dst[LP_COMM_LEN], const char *src)
{
	size_t n = strlen(src);
	memset(dst, 0, LP_COMM_LEN);
	memcpy(dst, src, n < LP_COMM_LEN ? n : LP_COMM_LEN);
}

static inline void fill_hdr(struct lp_hdr *h, uint8_t kind, uint32_t tgid, uint32_t aux,
			    uint64_t ts)
{
	h->kind = kind;
	h->flags = 0;
	h->tgid = tgid;
	h->tid = tgid;
	h->aux = aux;
	h->ts = ts;
}

/* argv: NULL-terminated */
static inline size_t build_seed(void *buf, uint32_t tgid, uint32_t ppid, const char *comm,
				const char *exe, const char *cwd, const char *const *argv)
{
	struct lp_rec_proc_seed *ev = buf;
	memset(ev, 0, sizeof(*ev));
	fill_hdr(&ev->h, LP_REC_PROC_SEED, tgid, ppid, 1000);
	set_comm(ev->comm, comm);
	char *p = (char *)buf + sizeof(*ev);
	size_t n = strlen(exe) + 1;
	memcpy(p, exe, n);
	ev->exe_len = (uint16_t)n;
	p += n;
	n = strlen(cwd) + 1;
	memcpy(p, cwd, n);
	ev->cwd_len = (uint16_t)n;
	p += n;
	size_t cl = 0;
	for (unsigned i = 0; argv && argv[i]; i++) {
		n = strlen(argv[i]) + 1;
		memcpy(p + cl, argv[i], n);
		cl += n;
		ev->argc++;
	}
	ev->cmdline_len = (uint16_t)cl;
	ev->h.size = (uint16_t)(sizeof(*ev) + ev->exe_len + ev->cwd_len + cl);
	return ev->h.size;
}

static inline size_t build_fd_seed(void *buf, uint32_t tgid, int fd, const char *path)
{
	struct lp_rec_fd_seed *ev = buf;
	memset(ev, 0, sizeof(*ev));
	fill_hdr(&ev->h, LP_REC_FD_SEED, tgid, (uint32_t)fd, 1000);
	size_t n = strlen(path) + 1;
	memcpy((char *)buf + sizeof(*ev), path, n);
	ev->path_len = (uint16_t)n;
	ev->h.size = (uint16_t)(sizeof(*ev) + n);
	return ev->h.size;
}

static inline size_t build_fork(void *buf, uint32_t parent, uint32_t child, const char *comm)
{
	struct lp_ev_fork *ev = buf;
	memset(ev, 0, sizeof(*ev));
	fill_hdr(&ev->h, LP_EV_FORK, parent, child, 2000);
	set_comm(ev->child_comm, comm);
	ev->h.size = sizeof(*ev);
	return ev->h.size;
}

static inline size_t build_exec(void *buf, uint32_t tgid, const char *comm, const char *file)
{
	struct lp_ev_exec *ev = buf;
	memset(ev, 0, sizeof(*ev));
	fill_hdr(&ev->h, LP_EV_EXEC, tgid, tgid, 3000);
	set_comm(ev->comm, comm);
	size_t n = strlen(file) + 1;
	memcpy((char *)buf + sizeof(*ev), file, n);
	ev->filename_len = (uint16_t)n;
	ev->h.size = (uint16_t)(sizeof(*ev) + n);
	return ev->h.size;
}

static inline size_t build_argv(void *buf, uint32_t tgid, const char *file,
				const char *const *argv)
{
	struct lp_ev_exec_argv *ev = buf;
	memset(ev, 0, sizeof(*ev));
	fill_hdr(&ev->h, LP_EV_EXEC_ARGV, tgid, LP_SC_EXECVE, 2500);
	ev->dirfd = -100;
	char *p = (char *)buf + sizeof(*ev);
	size_t n = strlen(file) + 1, off = 0;
	memcpy(p, file, n);
	off += n;
	for (unsigned i = 0; argv && argv[i]; i++) {
		n = strlen(argv[i]) + 1;
		memcpy(p + off, argv[i], n);
		off += n;
		ev->argc++;
	}
	ev->data_len = (uint16_t)off;
	ev->h.size = (uint16_t)(sizeof(*ev) + off);
	return ev->h.size;
}

static inline size_t build_exit(void *buf, uint32_t tgid, uint32_t status, const char *comm)
{
	struct lp_ev_exit *ev = buf;
	memset(ev, 0, sizeof(*ev));
	fill_hdr(&ev->h, LP_EV_EXIT, tgid, status, 9000);
	set_comm(ev->comm, comm);
	ev->counts.chmod = 2;
	ev->h.size = sizeof(*ev);
	return ev->h.size;
}

static inline size_t build_fd_io(void *buf, uint32_t tgid, int fd, uint64_t rbytes,
				 uint32_t rcalls, bool drained)
{
	struct lp_ev_fd_io *ev = buf;
	memset(ev, 0, sizeof(*ev));
	fill_hdr(&ev->h, LP_EV_FD_IO, tgid, (uint32_t)fd, 5000);
	ev->rbytes = rbytes;
	ev->rcalls = rcalls;
	ev->rns = 100000;
	ev->io_flags = drained ? LP_FDIO_DRAINED : 0;
	ev->h.size = sizeof(*ev);
	return ev->h.size;
}

static inline size_t build_progress(void *buf, uint64_t ts, const char *text)
{
	struct lp_rec_progress *ev = buf;
	memset(ev, 0, sizeof(*ev));
	fill_hdr(&ev->h, LP_REC_PROGRESS, 0, 1, ts);
	size_t n = strlen(text);
	memcpy((char *)buf + sizeof(*ev), text, n);
	ev->len = (uint16_t)n;
	ev->h.size = (uint16_t)(sizeof(*ev) + n);
	return ev->h.size;
}

#endif
