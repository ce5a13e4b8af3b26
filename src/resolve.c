/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Path resolver (resolve.h): per-process comm, cwd, exe and fd table,
 * rebuilt from the trace record by record.
 *
 *   LP_REC_PROC_SEED   a fresh entry: comm, exe, cwd (from /proc at start)
 *   LP_REC_FD_SEED     fd -> /proc/PID/fd/N target
 *   LP_EV_FORK         the child copies the parent's cwd, exe and fd table
 *   LP_EV_EXEC         new comm and exe; only fds 0-2 are kept. Which fds
 *                      were close-on-exec is not in the trace, and the
 *                      programs that matter here (dockerd, containerd,
 *                      runc: Go) open everything O_CLOEXEC; keeping the
 *                      rest would name a stale file for a pipe or socket
 *                      the new program makes with an untraced call (runc's
 *                      sync pipe read as dockerd's metadata.db). An fd
 *                      really inherited past 2 is shown unknown, not wrong
 *   LP_EV_EXIT         the process is forgotten (lazily: the last exited
 *                      processes are kept a while, so records that arrive
 *                      just after the exit - per-fd I/O drained at exit -
 *                      still resolve; a new process with the same pid
 *                      replaces the entry)
 *   LP_EV_SYSCALL      only successful calls: open family (ret fd -> path),
 *                      dup/dup2/dup3/fcntl(F_DUPFD*) (copy), close (forget),
 *                      chdir (cwd = path), fchdir (cwd = fd's path);
 *                      fsopen/fsmount make fds with no path (forgotten)
 *   LP_EV_FD_IO        a close forgets the fd; so does the drain at the
 *                      end of the recording (LP_FDIO_DRAINED) of a process
 *                      that had exited: the kernel closed its fds at exit.
 *                      The drain of a running process's fd leaves it open.
 *                      A close that comes after another thread's open of
 *                      its number (freed inside close(2)) with I/O begun
 *                      before that open is the earlier file's
 *
 * Limits, by design: resolution is lexical (symlinks are not followed, the
 * process's root - chroot, container - is not known: paths inside a
 * container are container-relative); a rename does not update the fds or
 * cwds that named the old path; an fd closed without I/O may keep its old
 * path until the number is reused by a traced call.
 */
#include "resolve.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "event.h"
#include "syscalls.h"
#include "util.h"

#define X_AT_FDCWD (-100)
#define X_F_DUPFD 0
#define X_F_DUPFD_CLOEXEC 1030
#define X_CLOSE_RANGE_CLOEXEC (1u << 2)
#define GRAVEYARD 256 /* exited processes kept for late records */

/* ------------------------------------------------ refcounted path strings */

struct path {
	unsigned ref;
	uint32_t tag;   /* the caller's (lp_resolver_fd_tag) */
	char s[];
};

static struct path *path_new(const char *s)
{
	size_t n = strlen(s);
	struct path *p = lp_xmalloc(sizeof(*p) + n + 1);
	p->ref = 1;
	p->tag = 0;
	memcpy(p->s, s, n + 1);
	return p;
}

static struct path *path_ref(struct path *p)
{
	if (p)
		p->ref++;
	return p;
}

static void path_unref(struct path *p)
{
	if (p && --p->ref == 0)
		free(p);
}

/* ------------------------- u32 -> pointer map, on containers.h's u64 map */

static void *map_at(const struct lp_u64map *m, size_t slot)
{
	return lp_u64map_used(m, slot) ? (void *)(uintptr_t)lp_u64map_val(m, slot) : NULL;
}

static void *map_get(const struct lp_u64map *m, uint32_t k)
{
	const uint64_t *v = lp_u64map_find(m, k);
	return v ? (void *)(uintptr_t)*v : NULL;
}

/* Insert or replace; the caller frees a replaced value (it gets it with
 * map_get first). */
static void map_put(struct lp_u64map *m, uint32_t k, void *v)
{
	lp_u64map_put(m, k, (uintptr_t)v);
}

/* Remove k; returns its value (to free) or NULL. */
static void *map_del(struct lp_u64map *m, uint32_t k)
{
	void *v = map_get(m, k);
	lp_u64map_del(m, k);
	return v;
}

/* --------------------------------------------------------- the fd table */

/*
 * fd -> struct path *, one reference each. Every open and close of a trace
 * comes here (an open puts, its close takes away, its I/O looks up), and a
 * process's fds are small numbers: those below FD_LOW are slots of an
 * array, the rest (a daemon's thousands of sockets) a map.
 */
#define FD_LOW 64

struct fdtab {
	struct path *low[FD_LOW];
	struct lp_u64map high;  /* (uint32_t)fd >= FD_LOW -> struct path * */
};

static struct path *fdtab_get(const struct fdtab *t, int32_t fd)
{
	if (fd < 0)
		return NULL;
	return fd < FD_LOW ? t->low[fd] : map_get(&t->high, (uint32_t)fd);
}

/* Set fd to path (the table takes the caller's reference; NULL: forget
 * fd), dropping the table's reference to what it held. */
static void fdtab_put(struct fdtab *t, int32_t fd, struct path *path)
{
	if (fd < 0) {
		path_unref(path);
		return;
	}
	struct path *old;
	if (fd < FD_LOW) {
		old = t->low[fd];
		t->low[fd] = path;
	} else {
		/* one probe when the number is taken or freed */
		uint64_t *slot = lp_u64map_find(&t->high, (uint32_t)fd);
		if (!slot) {
			if (path)
				map_put(&t->high, (uint32_t)fd, path);
			return;
		}
		old = (struct path *)(uintptr_t)*slot;
		if (path)
			*slot = (uintptr_t)path;
		else
			lp_u64map_del_found(&t->high, slot);
	}
	path_unref(old);
}

static void fdtab_clear(struct fdtab *t)
{
	for (int fd = 0; fd < FD_LOW; fd++) {
		path_unref(t->low[fd]);
		t->low[fd] = NULL;
	}
	for (size_t i = 0; i < t->high.cap; i++)
		if (lp_u64map_used(&t->high, i))
			path_unref(map_at(&t->high, i));
	lp_u64map_free(&t->high);
	memset(&t->high, 0, sizeof(t->high));
}

/* The fds of from, in [first, last], into to (another reference each). */
static void fdtab_copy_range(struct fdtab *to, const struct fdtab *from, uint32_t first, uint32_t last)
{
	for (uint32_t fd = first; fd < FD_LOW && fd <= last; fd++)
		if (from->low[fd])
			fdtab_put(to, (int32_t)fd, path_ref(from->low[fd]));
	for (size_t i = 0; i < from->high.cap; i++) {
		if (!lp_u64map_used(&from->high, i))
			continue;
		uint64_t fd = lp_u64map_key(&from->high, i);
		if (fd >= first && fd <= last)
			fdtab_put(to, (int32_t)fd, path_ref(map_at(&from->high, i)));
	}
}

/* ------------------------------------------------------------- processes */

struct proc {
	uint32_t tgid;
	bool dead;
	char comm[LP_COMM_LEN + 1];
	struct path *cwd, *exe;
	struct fdtab fds;
	/* The file an open took an fd number over from, before the close
	 * that freed the number was seen: the kernel frees it inside
	 * close(2), so another thread's open can return first, and the
	 * close's per-fd I/O comes after the open in the trace. Its I/O
	 * began before that open returned: it is the earlier file's
	 * (lp_resolver_fdio_path). One per process: the window is a few
	 * microseconds. */
	int32_t took_fd;
	struct path *took_from; /* NULL: no number taken over */
	uint64_t took_at_ns;  /* when the open returned */
};

/* The process asked for last: a trace's records come in runs of one
 * process's, and the lookups of one record ask for the same one several
 * times. Reached through a pointer, so the lookups of a const resolver
 * can keep it too. */
struct proc_hint {
	uint32_t tgid;
	struct proc *p;         /* NULL: none */
};

struct lp_resolver {
	struct lp_u64map procs; /* tgid -> struct proc * */
	uint32_t graveyard[GRAVEYARD];
	unsigned grave_next, grave_n;
	struct proc_hint *hint; /* dropped whenever an entry is freed */
};

static void proc_free(struct proc *p)
{
	if (!p)
		return;
	path_unref(p->cwd);
	path_unref(p->exe);
	path_unref(p->took_from);
	fdtab_clear(&p->fds);
	free(p);
}

static struct proc *proc_get(const struct lp_resolver *r, uint32_t tgid)
{
	struct proc_hint *h = r->hint;
	if (h->p && h->tgid == tgid)
		return h->p;
	struct proc *p = map_get(&r->procs, tgid);
	if (p) {
		h->tgid = tgid;
		h->p = p;
	}
	return p;
}

/* A fresh entry for tgid, replacing any old one. */
static struct proc *proc_new(struct lp_resolver *r, uint32_t tgid)
{
	r->hint->p = NULL;
	proc_free(map_get(&r->procs, tgid));
	struct proc *p = lp_xcalloc(1, sizeof(*p));
	p->tgid = tgid;
	map_put(&r->procs, tgid, p);
	return p;
}

/* The live entry for tgid, created when unknown (or exited: a record for a
 * dead pid means it was reused without a fork we saw). */
static struct proc *proc_live(struct lp_resolver *r, uint32_t tgid)
{
	struct proc *p = proc_get(r, tgid);
	if (p && !p->dead)
		return p;
	return proc_new(r, tgid);
}

static void set_path(struct path **slot, const char *s)
{
	path_unref(*slot);
	*slot = s ? path_new(s) : NULL;
}

static void fd_put(struct proc *p, int32_t fd, struct path *path)
{
	fdtab_put(&p->fds, fd, path);
}

/* exec: forget every fd but stdin, stdout and stderr (see the top). */
static void fds_keep_std(struct proc *p)
{
	struct fdtab kept;
	memset(&kept, 0, sizeof(kept));
	fdtab_copy_range(&kept, &p->fds, 0, 2);
	fdtab_clear(&p->fds);
	p->fds = kept;
}

/* close_range(first, last): forget the fds in [first, last]. */
static void fds_close_range(struct proc *p, uint32_t first, uint32_t last)
{
	for (uint32_t fd = first; fd < FD_LOW && fd <= last; fd++)
		fdtab_put(&p->fds, (int32_t)fd, NULL);
	if (last < FD_LOW)
		return;
	/* Collect first: deleting shifts entries back across the scan. */
	size_t n = 0;
	uint32_t *doomed = lp_xcalloc(p->fds.high.n + 1, sizeof(*doomed));
	for (size_t i = 0; i < p->fds.high.cap; i++)
		if (lp_u64map_used(&p->fds.high, i) && lp_u64map_key(&p->fds.high, i) >= first &&
		    lp_u64map_key(&p->fds.high, i) <= last)
			doomed[n++] = (uint32_t)lp_u64map_key(&p->fds.high, i);
	for (size_t i = 0; i < n; i++)
		fdtab_put(&p->fds, (int32_t)doomed[i], NULL);
	free(doomed);
}

static struct path *fd_get(const struct proc *p, int32_t fd)
{
	return fdtab_get(&p->fds, fd);
}

static void bury(struct lp_resolver *r, struct proc *p)
{
	uint32_t tgid = p->tgid; /* p may be the oldest grave itself */
	p->dead = true;
	if (r->grave_n == GRAVEYARD) {
		uint32_t old = r->graveyard[r->grave_next];
		struct proc *o = proc_get(r, old);
		if (o && o->dead && o != p) {
			r->hint->p = NULL;
			proc_free(map_del(&r->procs, old));
		}
	} else {
		r->grave_n++;
	}
	r->graveyard[r->grave_next] = tgid;
	r->grave_next = (r->grave_next + 1) % GRAVEYARD;
}

/* ------------------------------------------------------------ normalizing */

/* Append path component c[0..n) to out (olen bytes, no trailing slash;
 * "" is the root). Returns false when it does not fit. */
static bool push_comp(char *out, size_t *olen, size_t cap, const char *c, size_t n)
{
	if (n == 0 || (n == 1 && c[0] == '.'))
		return true;
	if (n == 2 && c[0] == '.' && c[1] == '.') {
		while (*olen > 0 && out[*olen - 1] != '/')
			(*olen)--;
		if (*olen > 0)
			(*olen)--; /* the slash */
		return true;
	}
	if (*olen + 1 + n + 1 > cap)
		return false;
	out[(*olen)++] = '/';
	memcpy(out + *olen, c, n);
	*olen += n;
	return true;
}

static bool push_path(char *out, size_t *olen, size_t cap, const char *s)
{
	while (*s) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		if (!push_comp(out, olen, cap, s, (size_t)(e - s)))
			return false;
		s = e;
	}
	return true;
}

/* Does a component that is empty, "." or ".." start right after the '/'
 * at p (p[1] is readable; so is whatever those tests reach)? */
static bool odd_comp_at(const char *p)
{
	return p[1] == '/' || (p[1] == '.' && (p[2] == '/' || !p[2] || (p[2] == '.' && (p[3] == '/' || !p[3]))));
}

/* Length of path when it is already normal: absolute, and no empty, "."
 * or ".." component, no trailing slash ("/" itself is normal). 0 when not.
 * Most paths a trace holds are: they are copied as they are. Eight bytes
 * at a time (every path of a trace comes here, twice in an export): a
 * word where no '/' is followed by a '/' or '.' needs no closer look. */
static size_t normal_len_n(const char *path, size_t n)
{
	if (path[0] != '/')
		return 0;
	if (n == 1)
		return 1;
	if (path[n - 1] == '/')
		return 0;
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
#define ZERO_BYTE(v) (((v) - ones) & ~(v) & highs)
	size_t k = 0;
	for (; k + 8 < n; k += 8) {
		uint64_t w0, w1;
		memcpy(&w0, path + k, 8);     /* bytes k..k+7 */
		memcpy(&w1, path + k + 1, 8); /* the byte after each of them */
		/* a byte's flag may be set falsely above a flagged one (never
		 * missed): the closer look decides */
		if (!(ZERO_BYTE(w0 ^ ('/' * ones)) & (ZERO_BYTE(w1 ^ ('/' * ones)) | ZERO_BYTE(w1 ^ ('.' * ones)))))
			continue;
		for (size_t j = k; j < k + 8; j++)
			if (path[j] == '/' && odd_comp_at(path + j))
				return 0;
	}
#undef ZERO_BYTE
	for (; k < n; k++)
		if (path[k] == '/' && odd_comp_at(path + k))
			return 0;
	return n;
}

static size_t normal_len(const char *path)
{
	return path[0] == '/' ? normal_len_n(path, strlen(path)) : 0;
}

const char *lp_path_normalize(const char *base, const char *path, char *buf, size_t len)
{
	if (!buf || len < 2 || !path)
		return NULL;
	size_t n = normal_len(path);
	if (n && n < len) {
		memcpy(buf, path, n + 1);
		return buf;
	}
	size_t olen = 0;
	bool ok = true;
	if (path[0] != '/' && base)
		ok = push_path(buf, &olen, len, base);
	if (ok)
		push_path(buf, &olen, len, path);
	if (olen == 0)
		buf[olen++] = '/';
	buf[olen] = '\0';
	return buf;
}

static const char *copy_out(const char *s, char *buf, size_t len)
{
	if (!buf || len == 0)
		return NULL;
	size_t n = strlen(s);
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

/* The directory a dirfd argument names in process p, or NULL. */
static const char *dirfd_path(const struct proc *p, int32_t dirfd)
{
	if (!p)
		return NULL;
	if (dirfd == X_AT_FDCWD)
		return p->cwd ? p->cwd->s : NULL;
	struct path *fp = fd_get(p, dirfd);
	return fp ? fp->s : NULL;
}

/* String i of ev resolved into buf. *raw (may be NULL) gets whether the
 * string was normal as it stands (buf then holds exactly it, *raw_len bytes),
 * which lets a caller use the record's own bytes instead. */
static const char *resolve_raw(const struct lp_resolver *r, const struct lp_ev_syscall *ev, unsigned i, char *buf,
			       size_t len, bool *raw, size_t *raw_len)
{
	size_t n;
	const char *s = lp_ev_syscall_str(ev, i, &n);
	if (raw)
		*raw = false;
	if (!s)
		return NULL;
	unsigned sc = ev->h.aux, arg = ev->str_arg[i];
	if (!lp_sc_arg_is_path(sc, arg, ev->args))
		return copy_out(s, buf, len); /* not a path: as given */
	if (s[0] == '/') {
		/* most paths: already normal, and their length is known */
		if (raw && normal_len_n(s, n) == n && n < len && len >= 2) {
			*raw = true;
			*raw_len = n;
			return s;
		}
		return lp_path_normalize(NULL, s, buf, len);
	}

	const struct lp_argdesc *d = &lp_sc_desc(sc)->arg[arg];
	const struct proc *p = proc_get(r, ev->h.tgid);
	int32_t dirfd = d->base == LP_BASE_CWD ? X_AT_FDCWD : (int32_t)ev->args[d->base];
	const char *base = dirfd_path(p, dirfd);

	if (s[0] == '\0') {
		/* an empty path names the dirfd itself only with AT_EMPTY_PATH
		 * (or move_mount's own flag); otherwise it is an ENOENT */
		bool empty_ok = d->empty_arg >= 0 && (ev->args[d->empty_arg] & d->empty_bit);
		if (empty_ok && base && base[0] == '/')
			return lp_path_normalize(NULL, base, buf, len);
		return copy_out(s, buf, len);
	}
	if (!base || base[0] != '/')
		return copy_out(s, buf, len); /* base unknown: as given */
	return lp_path_normalize(base, s, buf, len);
}

static const char *resolve(const struct lp_resolver *r, const struct lp_ev_syscall *ev, unsigned i, char *buf,
			   size_t len)
{
	return resolve_raw(r, ev, i, buf, len, NULL, NULL);
}

/* ------------------------------------------------------------------- API */

static void feed(struct lp_resolver *r, const struct lp_hdr *rec, bool known, const char *given);

struct lp_resolver *lp_resolver_new(void)
{
	struct lp_resolver *r = lp_xcalloc(1, sizeof(struct lp_resolver));
	r->hint = lp_xcalloc(1, sizeof(*r->hint));
	return r;
}

void lp_resolver_free(struct lp_resolver *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->procs.cap; i++)
		if (lp_u64map_used(&r->procs, i))
			proc_free(map_at(&r->procs, i));
	lp_u64map_free(&r->procs);
	free(r->hint);
	free(r);
}

const char *lp_resolve_path(struct lp_resolver *r, const struct lp_ev_syscall *ev, int i,
			    char *buf, size_t len)
{
	if (!r || !ev || i < 0 || ev->h.kind != LP_EV_SYSCALL)
		return NULL;
	return resolve(r, ev, (unsigned)i, buf, len);
}

const char *lp_resolver_first_path_raw(struct lp_resolver *r, const struct lp_ev_syscall *ev, int *idx,
				       char *buf, size_t len, size_t *raw_len)
{
	if (idx)
		*idx = -1;
	if (raw_len)
		*raw_len = 0;
	if (!r || !ev || ev->h.kind != LP_EV_SYSCALL)
		return NULL;
	for (unsigned i = 0; i < ev->nstr && i < LP_SYSCALL_MAX_STRS; i++) {
		if (!lp_sc_arg_is_path(ev->h.aux, ev->str_arg[i], ev->args))
			continue;
		if (idx)
			*idx = (int)i;
		bool raw = false;
		size_t n = 0;
		const char *s = resolve_raw(r, ev, i, buf, len, raw_len ? &raw : NULL, &n);
		if (raw)
			*raw_len = n;
		return s;
	}
	return NULL;
}

const char *lp_resolver_first_path(struct lp_resolver *r, const struct lp_ev_syscall *ev, int *idx,
				   char *buf, size_t len)
{
	return lp_resolver_first_path_raw(r, ev, idx, buf, len, NULL);
}

/* The resolved path of the first path argument of ev, as a new path:
 * given by the caller (known), or resolved here. */
static struct path *first_path(struct lp_resolver *r, const struct lp_ev_syscall *ev, bool known,
			       const char *given)
{
	if (known)
		return given ? path_new(given) : NULL;
	char buf[4096];
	const char *s = lp_resolver_first_path(r, ev, NULL, buf, sizeof(buf));
	return s ? path_new(s) : NULL;
}

/* Per-fd I/O of the file an open took the number over from: it began
 * before that open returned (a file's I/O comes after its own open). */
static bool took_over_io(const struct proc *p, const struct lp_ev_fd_io *ev)
{
	return p->took_from && p->took_fd == (int32_t)ev->h.aux && ev->first_ts && ev->first_ts < p->took_at_ns;
}

static void feed_syscall(struct lp_resolver *r, const struct lp_ev_syscall *ev, bool known,
			 const char *given)
{
	if (ev->ret < 0)
		return; /* failed calls change nothing */
	unsigned sc = ev->h.aux;
	int32_t ret = (int32_t)ev->ret, a0 = (int32_t)ev->args[0];
	struct proc *p;

	if (lp_sc_opens_path(sc)) {
		struct path *path = first_path(r, ev, known, given);
		p = proc_live(r, ev->h.tgid);
		struct path *old = fd_get(p, ret);
		if (old) {
			path_unref(p->took_from);
			p->took_from = path_ref(old);
			p->took_fd = ret;
			p->took_at_ns = ev->h.ts;
		}
		fd_put(p, ret, path);
		return;
	}
	switch (sc) {
	case LP_SC_FCNTL:
		if (ev->args[1] != X_F_DUPFD && ev->args[1] != X_F_DUPFD_CLOEXEC)
			return;
		/* fallthrough */
	case LP_SC_DUP:
	case LP_SC_DUP2:
	case LP_SC_DUP3:
		p = proc_live(r, ev->h.tgid);
		if (ret != a0) /* dup2(fd, fd) changes nothing */
			fd_put(p, ret, path_ref(fd_get(p, a0)));
		return;
	case LP_SC_CLOSE:
		fd_put(proc_live(r, ev->h.tgid), a0, NULL);
		return;
	case LP_SC_CLOSE_RANGE:
		if (!(ev->args[2] & X_CLOSE_RANGE_CLOEXEC))
			fds_close_range(proc_live(r, ev->h.tgid), (uint32_t)ev->args[0],
					(uint32_t)ev->args[1]);
		return;
	case LP_SC_FSOPEN:
	case LP_SC_FSMOUNT:
		fd_put(proc_live(r, ev->h.tgid), ret, NULL);
		return;
	case LP_SC_CHDIR: {
		struct path *path = first_path(r, ev, known, given);
		p = proc_live(r, ev->h.tgid);
		if (path && path->s[0] == '/') {
			path_unref(p->cwd);
			p->cwd = path;
		} else {
			path_unref(path);
			path_unref(p->cwd);
			p->cwd = NULL; /* somewhere we cannot name */
		}
		return;
	}
	case LP_SC_FCHDIR: {
		p = proc_live(r, ev->h.tgid);
		struct path *fp = path_ref(fd_get(p, a0));
		path_unref(p->cwd);
		p->cwd = fp;
		return;
	}
	default:
		return;
	}
}

void lp_resolver_feed(struct lp_resolver *r, const struct lp_hdr *rec)
{
	feed(r, rec, false, NULL);
}

void lp_resolver_feed_first(struct lp_resolver *r, const struct lp_hdr *rec, const char *first)
{
	feed(r, rec, true, first);
}

static void feed(struct lp_resolver *r, const struct lp_hdr *rec, bool known, const char *given)
{
	if (!r || !rec || !lp_ev_valid(rec))
		return;
	struct proc *p;
	switch (rec->kind) {
	case LP_REC_PROC_SEED: {
		const struct lp_rec_proc_seed *ev = (const void *)rec;
		p = proc_new(r, rec->tgid);
		lp_comm_copy(p->comm, ev->comm);
		set_path(&p->exe, lp_ev_seed_exe(ev, NULL));
		const char *cwd = lp_ev_seed_cwd(ev, NULL);
		set_path(&p->cwd, cwd && cwd[0] == '/' ? cwd : NULL);
		break;
	}
	case LP_REC_FD_SEED: {
		const char *s = lp_ev_fd_seed_path((const void *)rec, NULL);
		p = proc_live(r, rec->tgid);
		fd_put(p, (int32_t)rec->aux, s ? path_new(s) : NULL);
		break;
	}
	case LP_REC_TRACE_PID: {
		const struct lp_rec_trace_pid *ev = (const void *)rec;
		p = proc_live(r, rec->tgid);
		if (ev->comm[0])
			lp_comm_copy(p->comm, ev->comm);
		break;
	}
	case LP_EV_FORK: {
		const struct lp_ev_fork *ev = (const void *)rec;
		if (rec->aux == rec->tgid)
			break; /* not a new process */
		struct proc *parent = proc_get(r, rec->tgid);
		struct proc *child = proc_new(r, rec->aux);
		if (parent) {
			memcpy(child->comm, parent->comm, sizeof(child->comm));
			child->cwd = path_ref(parent->cwd);
			child->exe = path_ref(parent->exe);
			fdtab_copy_range(&child->fds, &parent->fds, 0, UINT32_MAX);
		}
		if (ev->child_comm[0])
			lp_comm_copy(child->comm, ev->child_comm);
		break;
	}
	case LP_EV_EXEC: {
		const struct lp_ev_exec *ev = (const void *)rec;
		p = proc_live(r, rec->tgid);
		lp_comm_copy(p->comm, ev->comm);
		fds_keep_std(p);
		const char *f = lp_ev_exec_filename(ev, NULL);
		if (f) {
			char buf[4096];
			if (f[0] == '/')
				f = lp_path_normalize(NULL, f, buf, sizeof(buf));
			else if (p->cwd)
				f = lp_path_normalize(p->cwd->s, f, buf, sizeof(buf));
			set_path(&p->exe, f);
		}
		break;
	}
	case LP_EV_EXIT: {
		const struct lp_ev_exit *ev = (const void *)rec;
		p = proc_get(r, rec->tgid);
		if (p && !p->dead) {
			if (!p->comm[0])
				lp_comm_copy(p->comm, ev->comm);
			bury(r, p);
		}
		break;
	}
	case LP_EV_FD_IO:
		if (!lp_resolver_fdio_closes(r, rec))
			break; /* drained at the end of the recording: still open */
		p = proc_get(r, rec->tgid);
		if (p && took_over_io(p, (const void *)rec)) {
			/* the earlier file's close: the new one stays open */
			path_unref(p->took_from);
			p->took_from = NULL;
		} else if (p) {
			fd_put(p, (int32_t)rec->aux, NULL);
		}
		break;
	case LP_EV_SYSCALL:
		feed_syscall(r, (const void *)rec, known, given);
		break;
	default:
		break;
	}
}

bool lp_resolver_fdio_closes(const struct lp_resolver *r, const struct lp_hdr *rec)
{
	if (!r || !rec || rec->kind != LP_EV_FD_IO || !lp_ev_valid(rec))
		return false;
	const struct lp_ev_fd_io *ev = (const void *)rec;
	if (!((ev->io_flags | rec->flags) & LP_FDIO_DRAINED))
		return true; /* sent at close */
	/* drained when the recording ended: the fds of a process that had
	 * exited by then were closed at its exit */
	const struct proc *p = proc_get(r, rec->tgid);
	return p && p->dead;
}

const char *lp_resolver_fdio_path(const struct lp_resolver *r, const struct lp_ev_fd_io *ev)
{
	if (!lp_fdio_is_path_io(ev))
		return NULL;
	const struct proc *p = r ? proc_get(r, ev->h.tgid) : NULL;
	if (p && took_over_io(p, ev))
		return p->took_from ? p->took_from->s : NULL;
	return lp_resolver_fd_path(r, ev->h.tgid, (int)ev->h.aux);
}

bool lp_resolver_fdio_took_over(const struct lp_resolver *r, const struct lp_ev_fd_io *ev)
{
	const struct proc *p = r && lp_fdio_is_path_io(ev) ? proc_get(r, ev->h.tgid) : NULL;
	return p && took_over_io(p, ev);
}

int lp_resolver_event_fd_arg(const struct lp_ev_syscall *ev)
{
	unsigned sc = ev->h.aux;
	switch (sc) {
	case LP_SC_COPY_FILE_RANGE:
	case LP_SC_SPLICE:
		return 2;       /* fd_out */
	case LP_SC_SENDFILE:
		return 0;       /* out_fd */
	default:
		break;
	}
	const struct lp_sc_desc *d = lp_sc_desc(sc);
	for (unsigned a = 0; d && a < d->nargs && a < 6; a++)
		if (d->arg[a].type == LP_ARG_FD || (d->arg[a].type == LP_ARG_DIRFD && d->nargs == 1))
			return (int)a;
	return -1;
}

const char *lp_resolver_event_path(struct lp_resolver *r, const struct lp_ev_syscall *ev, char *buf,
				   size_t len)
{
	unsigned sc = ev->h.aux;
	if (sc != LP_SC_COPY_FILE_RANGE && sc != LP_SC_SPLICE && sc != LP_SC_SENDFILE) {
		unsigned nstr = ev->nstr < LP_SYSCALL_MAX_STRS ? ev->nstr : LP_SYSCALL_MAX_STRS;
		for (unsigned i = 0; i < nstr; i++) {
			unsigned arg = ev->str_arg[i];
			if (arg >= 6 || !lp_sc_arg_is_path(sc, arg, ev->args))
				continue;
			const char *p = lp_resolve_path(r, ev, (int)i, buf, len);
			if (p)
				return p;
		}
	}
	int fdarg = lp_resolver_event_fd_arg(ev);
	if (fdarg < 0)
		return NULL;
	const char *p = lp_resolver_fd_path(r, ev->h.tgid, (int)(int32_t)ev->args[fdarg]);
	if (!p)
		return NULL;
	snprintf(buf, len, "%s", p);
	return buf;
}

const char *lp_resolver_fd_path(const struct lp_resolver *r, uint32_t tgid, int fd)
{
	const struct proc *p = r ? proc_get(r, tgid) : NULL;
	const struct path *fp = p ? fd_get(p, fd) : NULL;
	return fp ? fp->s : NULL;
}

const char *lp_resolver_fd_tag(const struct lp_resolver *r, uint32_t tgid, int fd, uint32_t **tag)
{
	const struct proc *p = r ? proc_get(r, tgid) : NULL;
	struct path *fp = p ? fd_get(p, fd) : NULL;
	*tag = fp ? &fp->tag : NULL;
	return fp ? fp->s : NULL;
}

const char *lp_resolver_cwd(const struct lp_resolver *r, uint32_t tgid)
{
	const struct proc *p = r ? proc_get(r, tgid) : NULL;
	return p && p->cwd ? p->cwd->s : NULL;
}

const char *lp_resolver_comm(const struct lp_resolver *r, uint32_t tgid)
{
	const struct proc *p = r ? proc_get(r, tgid) : NULL;
	return p && p->comm[0] ? p->comm : NULL;
}

const char *lp_resolver_exe(const struct lp_resolver *r, uint32_t tgid)
{
	const struct proc *p = r ? proc_get(r, tgid) : NULL;
	return p && p->exe ? p->exe->s : NULL;
}
