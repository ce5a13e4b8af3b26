/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pass 1 (model_pass.h): the structure of the build. META is read before;
 * here, record by record: the process tree (seed/fork/exec/exit, argv,
 * roles), progress lines (to the progress parser, via correlate.c), the
 * context manifest, bind mounts, and which layer snapshot dirs the daemon
 * wrote (resolved paths). Correlation works on what this leaves.
 */
#include "model_pass.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "event.h"
#include "resolve.h"
#include "syscalls.h"
#include "trace.h"

/* A progress line longer than this (in pieces) is not put together. */
#define PROGRESS_WHOLE_MAX (8u << 20)
#include "util.h"

static char **argv_from_iter(struct lp_str_iter *it, int *argc, bool skip_first, char **first)
{
	char **v = NULL;
	int n = 0;
	const char *s;
	size_t len;
	bool skipped = !skip_first;
	while ((s = lp_str_next(it, &len))) {
		if (!skipped) {
			skipped = true;
			if (first)
				*first = lp_xstrdup(s);
			continue;
		}
		v = lp_xrealloc(v, (size_t)(n + 2) * sizeof(char *));
		v[n++] = lp_xstrdup(s);
		v[n] = NULL;
	}
	*argc = n;
	return v;
}

static struct lp_snap *snap_get(struct lp_model *m, const char *path, size_t dir_len,
				enum lp_snap_part part, uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	char *dir = strndup(path, dir_len);
	if (!dir)
		return NULL;
	int i = lp_smap_get(&pv->snap_idx, dir);
	if (i < 0) {
		lp_grow((void **)&pv->snaps, &pv->snaps_cap, pv->nsnaps + 1, sizeof(struct lp_snap));
		i = (int)pv->nsnaps++;
		struct lp_snap *s = &pv->snaps[i];
		memset(s, 0, sizeof(*s));
		s->dir = lp_xstrdup(dir);
		s->part = part;
		s->first_ts = ts;
		s->step = -1;
		lp_smap_put(&pv->snap_idx, dir, i);
	}
	free(dir);
	struct lp_snap *s = &pv->snaps[i];
	if (ts < s->first_ts)
		s->first_ts = ts;
	if (ts > s->last_ts)
		s->last_ts = ts;
	return s;
}

#define SNAP_PATHS_MAX 200000

/* Pass 1: a daemon wrote (created, renamed into, mkdir'ed) path. */
static void note_snap_write(struct lp_model *m, const struct lp_proc *p, const char *path, uint64_t ts)
{
	if (!lp_model_in_build_daemon(m, p))
		return;
	size_t dl;
	const char *rel;
	enum lp_snap_part part = lp_snap_split(path, &dl, &rel);
	if (part == LP_SNAP_NONE || part == LP_SNAP_ROOTFS)
		return;
	struct lp_snap *s = snap_get(m, path, dl, part, ts);
	if (!s)
		return;
	s->writes++;
	if (!s->writer)
		s->writer = lp_model_daemon_root(m, p);
	if (*rel && s->paths.n < SNAP_PATHS_MAX && lp_smap_get(&s->paths, rel) < 0) {
		lp_smap_put(&s->paths, rel, 1);
		/* the Dockerfile (whatever its name: -f Dockerfile.prod) and
		 * .dockerignore go to snapshots of their own first: a rebuild
		 * whose context BuildKit kept sends one changed file, and the
		 * Dockerfile's snapshot would tie with the context's */
		if (lp_smap_get(&lp_priv(m)->ctx_idx, rel) >= 0 &&
		    lp_definition_file_kind(m, rel) == LP_STEPK_OTHER)
			s->ctx_matches++;
	}
}

/* pcache bits (per proc) */
#define PC_ROLE_OK   0x80u  /* bits 0-2 hold lp_role_of_proc() */
/* A successful bind mount: remember where a temporary mount points. */
void lp_pass1_note_mount(struct lp_model *m, struct lp_resolver *res, const struct lp_ev_syscall *ev)
{
	char ub[4096], tb0[4096];
	const char *up = lp_mount_upperdir(ev, ub, sizeof(ub));
	if (up) {
		const char *dst = ev->nstr >= 2 ? lp_resolve_path(res, ev, 1, tb0, sizeof(tb0)) : NULL;
		if (dst)
			lp_model_note_mount(m, dst, up);
		return;
	}
	if (ev->h.aux != LP_SC_MOUNT || ev->ret < 0 || ev->nstr < 2 || !(ev->args[3] & 4096 /* MS_BIND */) ||
	    (ev->args[3] & 32 /* MS_REMOUNT */))
		return;
	const char *raw = lp_ev_syscall_str(ev, 0, NULL);
	if (!raw || !*raw)
		return;
	char sb[4096], tb[4096];
	const char *src = lp_resolve_path(res, ev, 0, sb, sizeof(sb));
	const char *dst = lp_resolve_path(res, ev, 1, tb, sizeof(tb));
	if (src && dst)
		lp_model_note_mount(m, dst, src);
}
void lp_pass1_record(struct lp_model *m, struct lp_resolver *res, const struct lp_hdr *h)
{
	struct lp_priv *pv = lp_priv(m);
	switch (h->kind) {
	case LP_REC_PROC_SEED: {
		const struct lp_rec_proc_seed *e = (const void *)h;
		/* reuse a placeholder made by an earlier record of this pid */
		const struct lp_proc *old = lp_model_proc_at(m, h->tgid, h->ts);
		struct lp_proc *p = old && !old->exe && !old->argc && !old->exited
					    ? &m->procs[old->index]
					    : lp_model_proc_new(m, h->tgid, 0);
		p->seeded = true;
		p->ppid = h->aux;
		char comm[LP_COMM_LEN + 1];
		lp_comm_copy(comm, e->comm);
		memcpy(p->comm, comm, LP_COMM_LEN);
		p->comm[LP_COMM_LEN - 1] = 0;
		const char *exe = lp_ev_seed_exe(e, NULL);
		if (exe && *exe)
			p->exe = lp_xstrdup(exe);
		struct lp_str_iter it;
		lp_ev_seed_cmdline_iter(e, &it);
		p->argv = argv_from_iter(&it, &p->argc, false, NULL);
		lp_model_role_changed(m, p);
		if (p->role != LP_ROLE_CLI)
			p->role = lp_role_of_proc(p);
		const struct lp_proc *par = lp_model_proc_at(m, p->ppid, h->ts);
		if (par && par->index != p->index)
			p->parent = par->index;
		break;
	}
	case LP_REC_TRACE_PID: {
		const struct lp_rec_trace_pid *e = (const void *)h;
		struct lp_proc *p = lp_model_proc_get(m, h->tgid, h->ts);
		if (!p->comm[0]) {
			char comm[LP_COMM_LEN + 1];
			lp_comm_copy(comm, e->comm);
			memcpy(p->comm, comm, LP_COMM_LEN);
			p->comm[LP_COMM_LEN - 1] = 0;
			lp_model_role_changed(m, p);
		}
		if (h->aux == LP_WHY_COMMAND) {
			p->role = LP_ROLE_CLI;
			if (!p->start_ns) {
				p->start_ns = h->ts; /* started by record just now */
				pv->pc.valid = false; /* lp_model_proc_at_cached() */
			}
		}
		else if (p->role == LP_ROLE_OTHER)
			p->role = lp_role_of_proc(p);
		break;
	}
	case LP_EV_FORK: {
		const struct lp_ev_fork *e = (const void *)h;
		struct lp_proc *par = lp_model_proc_get(m, h->tgid, h->ts);
		int pidx = par->index;
		struct lp_proc *c = lp_model_proc_new(m, h->aux, h->ts);
		par = &m->procs[pidx];
		c->ppid = h->tgid;
		c->parent = pidx;
		char comm[LP_COMM_LEN + 1];
		lp_comm_copy(comm, e->child_comm);
		memcpy(c->comm, comm, LP_COMM_LEN);
		c->comm[LP_COMM_LEN - 1] = 0;
		if (par->exe)
			c->exe = lp_xstrdup(par->exe);
		if (par->argc) {
			c->argv = lp_xcalloc((size_t)par->argc + 1, sizeof(char *));
			for (int i = 0; i < par->argc; i++)
				c->argv[i] = lp_xstrdup(par->argv[i]);
			c->argc = par->argc;
		}
		c->role = par->role == LP_ROLE_CLI ? LP_ROLE_CLI : lp_role_of_proc(c);
		par->agg.forks++;
		break;
	}
	case LP_EV_EXEC_ARGV: {
		const struct lp_ev_exec_argv *e = (const void *)h;
		struct lp_proc *p = lp_model_proc_get(m, h->tgid, h->ts);
		lp_argv_free(pv->pend_argv[p->index], pv->pend_argc[p->index]);
		struct lp_str_iter it;
		lp_ev_argv_iter(e, &it);
		pv->pend_argv[p->index] = argv_from_iter(&it, &pv->pend_argc[p->index], true, NULL);
		break;
	}
	case LP_EV_EXEC: {
		const struct lp_ev_exec *e = (const void *)h;
		struct lp_proc *p = lp_model_proc_get(m, h->tgid, h->ts);
		const char *fn = lp_ev_exec_filename(e, NULL);
		free(p->exe);
		p->exe = fn ? lp_xstrdup(fn) : NULL;
		char comm[LP_COMM_LEN + 1];
		lp_comm_copy(comm, e->comm);
		memcpy(p->comm, comm, LP_COMM_LEN);
		p->comm[LP_COMM_LEN - 1] = 0;
		if (pv->pend_argv[p->index] || pv->pend_argc[p->index] == 0) {
			lp_argv_free(p->argv, p->argc);
			p->argv = pv->pend_argv[p->index];
			p->argc = pv->pend_argc[p->index];
			pv->pend_argv[p->index] = NULL;
			pv->pend_argc[p->index] = 0;
		}
		if (!pv->first_cmd[p->index] && p->argc)
			pv->first_cmd[p->index] = lp_argv_cmd_text(p->argv, p->argc);
		p->exec_ns = h->ts;
		if (!p->ppid && e->ppid)
			p->ppid = e->ppid;
		lp_model_role_changed(m, p);
		if (p->role != LP_ROLE_CLI)
			p->role = lp_role_of_proc(p);
		p->agg.execs++;
		break;
	}
	case LP_EV_EXIT: {
		const struct lp_ev_exit *e = (const void *)h;
		struct lp_proc *p = lp_model_proc_get(m, h->tgid, h->ts);
		p->exited = true;
		p->end_ns = h->ts;
		p->exit_raw = h->aux;
		p->cpu_ns = lp_ev_exit_cpu_ns(e);
		if (h->aux & 0x7f)
			p->exit_code = 128 + (int)(h->aux & 0x7f);
		else
			p->exit_code = (int)((h->aux >> 8) & 0xff);
		p->agg.chown += e->counts.chown;
		p->agg.chmod += e->counts.chmod;
		p->agg.utimens += e->counts.utimens;
		p->agg.stat_ok += e->counts.stat_ok;
		break;
	}
	case LP_REC_PROGRESS: {
		const struct lp_rec_progress *e = (const void *)h;
		size_t len;
		const char *t = lp_ev_progress_text(e, &len);
		if (!t)
			break;
		/* a long line (a rawjson object) comes in pieces: parse it whole */
		struct lp_buf *whole = &lp_priv(m)->progress_whole[h->aux == 1 ? 0 : 1];
		if (!(e->flags & LP_PROGRESS_CONTINUES) && !whole->len) {
			lp_progress_line(m, t, len, h->ts);
			break;
		}
		if (whole->len + len <= PROGRESS_WHOLE_MAX)
			lp_buf_append(whole, t, len);
		if (!(e->flags & LP_PROGRESS_CONTINUES)) {
			lp_progress_line(m, whole->data, whole->len, h->ts);
			whole->len = 0;
		}
		break;
	}
	case LP_REC_CONTEXT_FILE: {
		const struct lp_rec_context_file *e = (const void *)h;
		const char *path = lp_ev_context_path(e, NULL);
		if (!path || !*path)
			break;
		while (path[0] == '.' && path[1] == '/')
			path += 2;
		if (S_ISDIR(e->mode)) { /* an empty directory: no file */
			lp_model_ctx_dir_put(m, path, true);
			break;
		}
		struct lp_ctx_file *c = lp_model_ctx_get(m, path, true);
		if (!c->in_manifest) {
			c->in_manifest = true;
			c->size = e->size;
			c->mtime_ns = e->mtime_ns;
			c->mode = e->mode;
			if (!e->mode || S_ISREG(e->mode)) {
				m->context.manifest_files++;
				m->context.manifest_bytes += e->size;
			}
		}
		break;
	}
	case LP_EV_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		lp_model_identify_daemon(m);
		struct lp_proc *p = lp_model_proc_get_cached(m, h->tgid, h->ts);
		if (!lp_model_is_daemonish(m, p) || ev->ret < 0)
			break;
		lp_pass1_note_mount(m, res, ev);
		unsigned sc = h->aux;
		char buf[4096];
		const char *path = NULL;
		if (lp_sc_opens_path(sc)) {
			if (sc == LP_SC_OPENAT2 || lp_open_writes(sc == LP_SC_OPEN ? ev->args[1]
							    : sc == LP_SC_CREAT ? O_CREAT | O_WRONLY
							    : ev->args[2]))
				path = lp_resolve_path(res, ev, 0, buf, sizeof(buf));
			if (sc == LP_SC_OPENAT2)
				path = NULL;
		} else if (sc == LP_SC_MKDIR || sc == LP_SC_MKDIRAT || sc == LP_SC_MKNOD ||
			   sc == LP_SC_MKNODAT) {
			path = lp_resolve_path(res, ev, 0, buf, sizeof(buf));
		} else if (lp_sc_is_rename(sc) || sc == LP_SC_LINK || sc == LP_SC_LINKAT || sc == LP_SC_SYMLINK ||
			   sc == LP_SC_SYMLINKAT) {
			path = lp_resolve_path(res, ev, ev->nstr > 1 ? 1 : 0, buf, sizeof(buf));
		}
		char tb[4096];
		if (path)
			note_snap_write(m, p, lp_model_translate(m, path, tb, sizeof(tb)), h->ts);
		break;
	}
	case LP_EV_FD_IO: {
		const struct lp_ev_fd_io *e = (const void *)h;
		if (!e->wbytes)
			break;
		struct lp_proc *p = lp_model_proc_get_cached(m, h->tgid, h->ts);
		if (!lp_model_is_daemonish(m, p))
			break;
		const char *path = lp_resolver_fdio_path(res, e);
		char tb[4096];
		if (path)
			note_snap_write(m, p, lp_model_translate(m, path, tb, sizeof(tb)), h->ts);
		break;
	}
	default:
		break;
	}
}
