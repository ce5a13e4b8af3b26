/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flame tree (flame.h states its rules): the steps and the process
 * trees come from the model; one pass over the events adds what the
 * processes did (time: their syscalls' time, by state, where it falls in
 * their self time; bytes/ops: syscall -> path leaves).
 *
 * Time geometry: every placed process has an interval and a scale (its
 * value per ns of its interval). Its children share its interval: the
 * sweep over their ends integrates 1/k (k children alive) so each gets
 * F(end) - F(start), and the moments with none alive are its self
 * segments, which the events' windows are intersected with.
 */
#include "flame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "event.h"
#include "export.h"
#include "model.h"
#include "resolve.h"
#include "syscalls.h"
#include "trace.h"
#include "util.h"

#define NO_STEP_FRAME "(outside build steps)"
#define ENGINE_FRAME "(engine work, no traced process)"
#define OTHER_PATHS_FRAME "(other paths)"

/* ------------------------------------------------------------ names */

const char *lp_flame_state_name(enum lp_flame_state s)
{
	static const char *const n[LP_FST_NR] = {
		[LP_FST_NONE] = "?",
		[LP_FST_RUNNING] = "running or untraced wait",
		[LP_FST_ON_CPU] = "on CPU",
		[LP_FST_OFF_CPU] = "off CPU, untraced wait (sleep, epoll, futex, network)",
		[LP_FST_FILE_IO] = "file I/O",
		[LP_FST_PIPE] = "waiting on pipe",
		[LP_FST_SOCKET] = "waiting on socket",
		[LP_FST_FD_UNKNOWN] = "waiting on fd, kind unknown",
		[LP_FST_OTHER_FD] = "other fd I/O",
		[LP_FST_MOUNT] = "mounts",
		[LP_FST_OTHER] = "other syscalls",
	};
	return (unsigned)s < LP_FST_NR ? n[s] : "?";
}

const char *lp_flame_kind_name(enum lp_flame_kind k)
{
	static const char *const n[] = { "build", "step", "process", "state", "syscall", "path", "gap" };
	return (unsigned)k < LP_ARRAY_SIZE(n) ? n[k] : "?";
}

/* ------------------------------------------------------------ builder */

struct seg {
	uint64_t a, b;
};

/* A placed process (metric time). */
struct pinfo {
	int node;               /* -1: not placed */
	uint64_t a, b;          /* its interval */
	double scale;           /* value per ns of interval */
	uint32_t seg0, nseg;    /* its self segments in fb.segs */
	uint64_t self_ns;       /* their total length */
};

struct fb {
	const struct lp_model *m;
	struct lp_flame *f;
	size_t cap;
	int *last;              /* last child of each node, while building */
	struct lp_strtab names;
	struct lp_u64map kids, path_kids; /* children by name (child_find) */
	/* bytes/ops: (syscall node << 32 | hash of a resolved path) -> (path id
	 * in raws << 32 | its leaf), so a path seen before skips its display
	 * form; kept for the paths met before the budget is reached */
	struct lp_u64map rawkids;
	struct lp_strtab raws;
	struct lp_u64map pcache; /* bytes/ops: (step + 1 << 32 | process) -> its node */
	/* time */
	struct pinfo *pi;
	struct seg *segs;
	uint64_t *segpre;       /* prefix sums of segment lengths, nsegs + 1 */
	size_t nsegs, capsegs;
	struct lp_u64map self;  /* self_key() -> ns of a placed process's calls in its self time */
	struct lp_u64map engine;/* engine_key() -> ns of a daemon's calls for a step */
	int *step_node;         /* model step -> node */
	int nostep_node;        /* bytes/ops: "(outside build steps)", -1 until needed */
	struct lp_resolver *res;
	uint64_t leaves;        /* bytes/ops: path leaves made */
	struct lp_proc_hint proc_hint; /* proc_at()'s */
};

/* lp_model_proc_at() through the builder's hint: consecutive records are
 * mostly one process's. */
static const struct lp_proc *proc_at(struct fb *b, uint32_t tgid, uint64_t ts)
{
	return lp_model_proc_at_hint(b->m, &b->proc_hint, tgid, ts);
}

static const char *intern(struct fb *b, const char *s, uint32_t *id)
{
	uint32_t k = lp_strtab_intern(&b->names, s && *s ? s : "?");
	if (id)
		*id = k;
	return lp_strtab_str(&b->names, k);
}

static int node_add(struct fb *b, int parent, enum lp_flame_kind kind, const char *name)
{
	struct lp_flame *f = b->f;
	if (f->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		f->nodes = lp_xrealloc(f->nodes, b->cap * sizeof(*f->nodes));
		b->last = lp_xrealloc(b->last, b->cap * sizeof(int));
	}
	int i = (int)f->n++;
	struct lp_flame_node *x = &f->nodes[i];
	memset(x, 0, sizeof(*x));
	x->name = intern(b, name, NULL);
	x->kind = kind;
	x->parent = parent;
	x->first_child = x->next_sibling = -1;
	x->step = parent >= 0 ? f->nodes[parent].step : -1;
	x->proc = parent >= 0 ? f->nodes[parent].proc : -1;
	x->state = parent >= 0 ? f->nodes[parent].state : LP_FST_NONE;
	x->fd = -1;
	x->depth = parent >= 0 ? f->nodes[parent].depth + 1 : 0;
	if (x->depth > f->max_depth)
		f->max_depth = x->depth;
	b->last[i] = -1;
	if (parent >= 0) {
		int l = b->last[parent];
		if (l >= 0)
			f->nodes[l].next_sibling = i;
		else
			f->nodes[parent].first_child = i;
		b->last[parent] = i;
	}
	return i;
}

/*
 * Children by name: kids maps (parent << 32 | hash of the name) to a node,
 * colliding names probing on to the next key; a lookup compares the
 * node's own name, so nothing is interned until a node is made (paths
 * past the budget are looked up and folded, never kept).
 */
static uint64_t kid_key(int parent, const char *name)
{
	return (uint64_t)(uint32_t)parent << 32 | lp_hash_str(name, 0x9e3779b9u);
}

/* Path leaves have their own map: the others' stays small and in cache. */
static struct lp_u64map *kids_of(struct fb *b, enum lp_flame_kind kind)
{
	return kind == LP_FLAME_PATH ? &b->path_kids : &b->kids;
}

static int child_find(struct fb *b, int parent, enum lp_flame_kind kind, const char *name, uint64_t *free_key)
{
	uint64_t k = kid_key(parent, name);
	for (const uint64_t *v; (v = lp_u64map_find(kids_of(b, kind), k)); k++) {
		const struct lp_flame_node *x = &b->f->nodes[*v];
		if (x->parent == parent && !strcmp(x->name, name))
			return (int)*v;
	}
	if (free_key)
		*free_key = k;
	return -1;
}

/* The child of parent named name (made when absent). */
static int child(struct fb *b, int parent, enum lp_flame_kind kind, const char *name)
{
	if (!name || !*name)
		name = "?";
	uint64_t k;
	int i = child_find(b, parent, kind, name, &k);
	if (i >= 0)
		return i;
	i = node_add(b, parent, kind, name);
	lp_u64map_put(kids_of(b, kind), k, (uint64_t)i);
	return i;
}

/* "comm[pid]"; a process the model does not know by the resolver's comm of tgid */
static const char *proc_name(const struct lp_proc *p, struct lp_resolver *res, uint32_t tgid, char *buf, size_t len)
{
	char comm[LP_COMM_LEN + 1];
	if (p && p->argc > 0 && p->argv[0] && *p->argv[0] && !(p->comm[0] && strncmp(p->comm, "exe", LP_COMM_LEN))) {
		/* a re-exec'd /proc/self/exe (busybox applets, runc init) has comm "exe":
		 * name it by what was run */
		snprintf(comm, sizeof(comm), "%s", lp_base_name(p->argv[0]));
	} else if (p && p->comm[0]) {
		lp_comm_copy(comm, p->comm);
	} else {
		const char *rc = res ? lp_resolver_comm(res, tgid) : NULL;
		snprintf(comm, sizeof(comm), "%s", rc && *rc ? rc : "?");
	}
	snprintf(buf, len, "%s[%u]", comm, p ? p->pid : tgid);
	return buf;
}

static const char *step_name(const struct lp_step *s)
{
	return s->name && *s->name ? s->name : s->id;
}

/* Steps in build order: start time; unknown last, then by index. */
static int cmp_step_order(const void *a, const void *b, void *arg)
{
	const struct lp_model *m = arg;
	int x = *(const int *)a, y = *(const int *)b;
	uint64_t rx = lp_step_start_ns(&m->steps[x]), ry = lp_step_start_ns(&m->steps[y]);
	if (!rx)
		rx = UINT64_MAX;
	if (!ry)
		ry = UINT64_MAX;
	if (rx != ry)
		return rx < ry ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void add_steps(struct fb *b)
{
	const struct lp_model *m = b->m;
	int *order = lp_xcalloc(m->nsteps + 1, sizeof(int));
	for (size_t i = 0; i < m->nsteps; i++)
		order[i] = (int)i;
	if (m->nsteps > 1)
		qsort_r(order, m->nsteps, sizeof(int), cmp_step_order, (void *)m);
	b->step_node = lp_xcalloc(m->nsteps + 1, sizeof(int));
	for (size_t k = 0; k < m->nsteps; k++) {
		int s = order[k];
		const struct lp_step *st = &m->steps[s];
		int n = node_add(b, 0, LP_FLAME_STEP, step_name(st));
		struct lp_flame_node *x = &b->f->nodes[n];
		x->step = s;
		x->start_ns = lp_step_start_ns(st);
		x->end_ns = lp_step_end_ns(st);
		if (b->f->metric == LP_METRIC_TIME)
			x->value = lp_step_wall_ns(st);
		b->step_node[s] = n;
	}
	free(order);
}

/* -------------------------------------------------------- time: placing */

struct endpt {
	uint64_t t;
	int who;                /* index into the group */
	int start;              /* 1 start, 0 end */
};

static int cmp_endpt(const void *a, const void *b)
{
	const struct endpt *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->start - y->start; /* ends first: a zero-length gap stays zero */
}

static void seg_push(struct fb *b, uint64_t a, uint64_t e)
{
	if (e <= a)
		return;
	if (b->nsegs == b->capsegs) {
		b->capsegs = b->capsegs ? b->capsegs * 2 : 1024;
		b->segs = lp_xrealloc(b->segs, b->capsegs * sizeof(*b->segs));
	}
	b->segs[b->nsegs++] = (struct seg){ a, e };
}

/*
 * Place the group of processes kids[0..n) inside [a, e) of a parent with
 * value per ns `scale` under node `parent_node`: each gets its interval
 * cut to [a, e), its share of the moments it shares with siblings, a node.
 * The parent's self segments (moments no child covers) go to b->segs
 * when self_of >= 0 (a process; a step's own remainder is computed apart).
 * Returns the total value given to the children.
 */
static uint64_t place_group(struct fb *b, const int *kids, size_t n, uint64_t a, uint64_t e, double scale,
			    int parent_node, int self_of)
{
	const struct lp_model *m = b->m;
	struct endpt *ep = lp_xcalloc(2 * n + 1, sizeof(*ep));
	double *fs = lp_xcalloc(2 * n + 1, sizeof(double));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct lp_proc *p = &m->procs[kids[i]];
		uint64_t s = p->start_ns && p->start_ns > a ? p->start_ns : a;
		uint64_t t = p->end_ns && p->end_ns < e ? p->end_ns : e;
		if (p->start_ns && p->start_ns >= e)
			continue;
		if (p->end_ns && p->end_ns <= a)
			continue;
		if (t <= s)
			continue;
		b->pi[kids[i]].a = s;
		b->pi[kids[i]].b = t;
		ep[k++] = (struct endpt){ s, (int)i, 1 };
		ep[k++] = (struct endpt){ t, (int)i, 0 };
	}
	qsort(ep, k, sizeof(*ep), cmp_endpt);
	double F = 0;
	uint64_t prev = a;
	int alive = 0;
	double *fstart = fs, *fend = fs + n;
	uint32_t seg0 = (uint32_t)b->nsegs;
	uint64_t gap_from = a;
	for (size_t j = 0; j < k; j++) {
		if (alive > 0)
			F += (double)(ep[j].t - prev) / alive;
		prev = ep[j].t;
		if (ep[j].start) {
			if (alive == 0 && self_of >= 0)
				seg_push(b, gap_from, ep[j].t);
			alive++;
			fstart[ep[j].who] = F;
		} else {
			alive--;
			fend[ep[j].who] = F;
			if (alive == 0)
				gap_from = ep[j].t;
		}
	}
	if (self_of >= 0) {
		seg_push(b, gap_from, e);
		struct pinfo *pp = &b->pi[self_of];
		pp->seg0 = seg0;
		pp->nseg = (uint32_t)(b->nsegs - seg0);
		pp->self_ns = 0;
		for (size_t j = seg0; j < b->nsegs; j++)
			pp->self_ns += b->segs[j].b - b->segs[j].a;
	}
	/* nodes in start order (ep holds each start once, in time order) */
	uint64_t given = 0;
	for (size_t j = 0; j < k; j++) {
		if (!ep[j].start)
			continue;
		int pi = kids[ep[j].who];
		struct pinfo *x = &b->pi[pi];
		double share = fend[ep[j].who] - fstart[ep[j].who];
		uint64_t v = (uint64_t)(share * scale);
		char nb[64];
		int node = node_add(b, parent_node, LP_FLAME_PROC, proc_name(&m->procs[pi], NULL, 0, nb, sizeof(nb)));
		struct lp_flame_node *nd = &b->f->nodes[node];
		nd->proc = pi;
		nd->value = v;
		nd->start_ns = x->a;
		nd->end_ns = x->b;
		x->node = node;
		x->scale = x->b > x->a ? (double)v / (double)(x->b - x->a) : 0;
		given += v;
	}
	free(ep);
	free(fs);
	return given;
}

static uint64_t life_start(const struct lp_proc *p)
{
	return p->start_ns ? p->start_ns : p->exec_ns;
}

static uint64_t life_end(const struct lp_proc *p)
{
	return p->exited && p->end_ns ? p->end_ns : UINT64_MAX;
}

int lp_flame_proc_parent(const struct lp_model *m, int proc)
{
	if (proc < 0 || (size_t)proc >= m->nprocs)
		return -1;
	const struct lp_proc *p = &m->procs[proc];
	int par = p->parent;
	for (int guard = 0; par >= 0 && (size_t)par < m->nprocs && par != proc && guard < 64; guard++) {
		const struct lp_proc *a = &m->procs[par];
		if (a->step != p->step)
			return -1;
		if (life_start(a) <= life_start(p) && life_end(p) <= life_end(a))
			return par;
		par = a->parent;
	}
	return -1;
}

/* Place every step's process trees (breadth first). */
static void place_procs(struct fb *b)
{
	const struct lp_model *m = b->m;
	size_t np = m->nprocs;
	b->pi = lp_xcalloc(np + 1, sizeof(*b->pi));
	for (size_t i = 0; i < np; i++)
		b->pi[i].node = -1;
	/* children of each process within its step; top processes of each step */
	int *head = lp_xcalloc(np + 1, sizeof(int)), *next = lp_xcalloc(np + 1, sizeof(int));
	int *shead = lp_xcalloc(m->nsteps + 1, sizeof(int)), *stail = lp_xcalloc(m->nsteps + 1, sizeof(int));
	int *tail = lp_xcalloc(np + 1, sizeof(int));
	for (size_t i = 0; i < np; i++)
		head[i] = tail[i] = next[i] = -1;
	for (size_t s = 0; s < m->nsteps; s++)
		shead[s] = stail[s] = -1;
	for (size_t i = 0; i < np; i++) {
		const struct lp_proc *p = &m->procs[i];
		if (p->step < 0 || (size_t)p->step >= m->nsteps)
			continue;
		int par = lp_flame_proc_parent(m, (int)i);
		if (par >= 0) {
			if (tail[par] >= 0)
				next[tail[par]] = (int)i;
			else
				head[par] = (int)i;
			tail[par] = (int)i;
		} else {
			if (stail[p->step] >= 0)
				next[stail[p->step]] = (int)i;
			else
				shead[p->step] = (int)i;
			stail[p->step] = (int)i;
		}
	}
	int *group = lp_xcalloc(np + 1, sizeof(int));
	int *queue = lp_xcalloc(np + 1, sizeof(int));
	for (size_t s = 0; s < m->nsteps; s++) {
		struct lp_flame_node *sn = &b->f->nodes[b->step_node[s]];
		uint64_t a = sn->start_ns, e = sn->end_ns;
		if (shead[s] < 0 || !sn->value || !a || e <= a)
			continue;
		size_t n = 0;
		for (int c = shead[s]; c >= 0; c = next[c])
			group[n++] = c;
		place_group(b, group, n, a, e, (double)sn->value / (double)(e - a), b->step_node[s], -1);
		size_t qh = 0, qt = 0;
		for (size_t i = 0; i < n; i++)
			if (b->pi[group[i]].node >= 0)
				queue[qt++] = group[i];
		while (qh < qt) {
			int p = queue[qh++];
			struct pinfo *pp = &b->pi[p];
			size_t k = 0;
			for (int c = head[p]; c >= 0; c = next[c])
				group[k++] = c;
			place_group(b, group, k, pp->a, pp->b, pp->scale, pp->node, p);
			for (size_t i = 0; i < k; i++)
				if (b->pi[group[i]].node >= 0 && qt < np)
					queue[qt++] = group[i];
		}
	}
	free(group);
	free(queue);
	free(head);
	free(next);
	free(tail);
	free(shead);
	free(stail);
	b->segpre = lp_xcalloc(b->nsegs + 1, sizeof(uint64_t));
	for (size_t j = 0; j < b->nsegs; j++)
		b->segpre[j + 1] = b->segpre[j] + (b->segs[j].b - b->segs[j].a);
}

/* ns of a placed process's self segments before t: the segments that end
 * by t whole (prefix sums), and the part of the one t falls in. */
static uint64_t self_before(const struct fb *b, const struct pinfo *p, uint64_t t)
{
	const struct seg *s = b->segs + p->seg0;
	size_t l = 0, r = p->nseg;
	while (l < r) {
		size_t mid = (l + r) / 2;
		if (s[mid].b <= t)
			l = mid + 1;
		else
			r = mid;
	}
	uint64_t sum = b->segpre[p->seg0 + l] - b->segpre[p->seg0];
	if (l < p->nseg && t > s[l].a)
		sum += t - s[l].a;
	return sum;
}

/* ns of [lo, hi) inside the self segments of a placed process. */
static uint64_t self_overlap(const struct fb *b, const struct pinfo *p, uint64_t lo, uint64_t hi)
{
	if (!p->nseg || hi <= lo)
		return 0;
	return self_before(b, p, hi) - self_before(b, p, lo);
}

/* ------------------------------------------------------ time: the events */

static enum lp_flame_state sc_state(unsigned sc)
{
	switch (sc) {
	case LP_SC_MOUNT: case LP_SC_UMOUNT2: case LP_SC_MOVE_MOUNT: case LP_SC_FSMOUNT:
	case LP_SC_FSCONFIG: case LP_SC_FSOPEN: case LP_SC_OPEN_TREE:
		return LP_FST_MOUNT;
	case LP_SC_CHDIR: case LP_SC_FCHDIR: case LP_SC_DUP: case LP_SC_DUP2: case LP_SC_DUP3:
	case LP_SC_FCNTL: case LP_SC_EXECVE: case LP_SC_EXECVEAT: case LP_SC_CLOSE_RANGE:
		return LP_FST_OTHER;
	default:
		return sc < LP_SC_NR ? LP_FST_FILE_IO : LP_FST_OTHER;
	}
}

/* What time_record asks of a record's paths: the reader's resolver (src
 * NULL, before the record is fed to it), or the model's tape, which keeps
 * the answers (lp_model_replay). */
static const char *fd_path_of(const struct fb *b, const struct lp_ev_fd_io *e, const struct lp_model_rec *src)
{
	return src ? src->fd_path : lp_resolver_fd_path(b->res, e->h.tgid, (int)e->h.aux);
}

static const char *shown_of(const struct fb *b, const struct lp_hdr *h, const struct lp_model_rec *src, char *buf,
			    size_t len)
{
	if (src)
		return src->shown;
	if (h->kind == LP_EV_SYSCALL)
		return lp_resolver_event_path(b->res, (const struct lp_ev_syscall *)h, buf, len);
	return lp_resolver_fdio_path(b->res, (const struct lp_ev_fd_io *)h);
}

/* What the fd of a read/write aggregate was (before feeding the record). */
static enum lp_flame_state fdio_state(const struct fb *b, const struct lp_ev_fd_io *e,
				      const struct lp_model_rec *src)
{
	switch (lp_fdio_kind(e)) {
	case LP_FDK_FILE:
	case LP_FDK_DIR:
		return LP_FST_FILE_IO;
	case LP_FDK_PIPE:
		return LP_FST_PIPE;
	case LP_FDK_SOCKET:
		return LP_FST_SOCKET;
	case LP_FDK_UNKNOWN:
		break;
	default:
		return LP_FST_OTHER_FD;
	}
	/* a recording without fd kinds: what the fd was opened as, if the
	 * trace says (seeded fds are "pipe:[N]", "socket:[N]") */
	const char *p = fd_path_of(b, e, src);
	if (!p)
		return LP_FST_FD_UNKNOWN;
	if (!strncmp(p, "pipe:", 5))
		return LP_FST_PIPE;
	if (!strncmp(p, "socket:", 7))
		return LP_FST_SOCKET;
	if (!strncmp(p, "/dev/", 5) || p[0] != '/')
		return LP_FST_OTHER_FD;
	return LP_FST_FILE_IO;
}

/* Keys of the accumulators: state (4 bits), syscall (8 bits), fd (20 bits,
 * LP_FST_FD_UNKNOWN only), and the process (self) or step and process (engine). */
static uint64_t self_key(int proc, enum lp_flame_state st, unsigned sc, int fd)
{
	return (uint64_t)(uint32_t)proc << 32 | (uint64_t)(st & 0xf) << 28 | (uint64_t)(sc & 0xff) << 20 |
	       (uint64_t)((st == LP_FST_FD_UNKNOWN ? (uint32_t)fd : 0) & 0xfffff);
}

static uint64_t engine_key(int step, int proc, enum lp_flame_state st, unsigned sc)
{
	return (uint64_t)(uint32_t)step << 44 | (uint64_t)((uint32_t)proc & 0xffffff) << 20 |
	       (uint64_t)(st & 0xf) << 12 | (sc & 0xff);
}

static void acc(struct lp_u64map *map, uint64_t key, uint64_t v)
{
	if (!v)
		return;
	uint64_t *x = lp_u64map_find(map, key);
	if (x)
		*x += v;
	else
		lp_u64map_put(map, key, v);
}

/* One call (or an fd's calls) of ns within [lo, hi) by the process of h.
 * path_id: the model's id of path, when replayed (0: unknown). *step: the
 * event's step once looked up (-2 before: the lookup is the costly part,
 * and an fd's reads and writes share it). */
static void time_add(struct fb *b, const struct lp_hdr *h, const struct lp_proc *p, enum lp_flame_state st,
		     unsigned sc, int fd, uint64_t lo, uint64_t hi, uint64_t ns, const char *path, uint32_t path_id,
		     int *step_of_h)
{
	if (!ns)
		return;
	const struct lp_model *m = b->m;
	if (p && p->step >= 0) {
		const struct pinfo *pi = &b->pi[p->index];
		if (pi->node < 0)
			return; /* outside its step's time */
		if (hi <= lo)
			lo = hi > ns ? hi - ns : 0;
		uint64_t in = self_overlap(b, pi, lo, hi);
		uint64_t v = (uint64_t)((double)ns * (double)in / (double)(hi - lo));
		acc(&b->self, self_key(p->index, st, sc, fd), v);
		return;
	}
	if (!p)
		return;
	if (*step_of_h == -2) /* the step of the record's process at its time stamp */
		*step_of_h = lp_model_event_step_p(m, h, h->kind == LP_EV_SYSCALL ? p : proc_at(b, h->tgid, h->ts),
						   path, path_id);
	int step = *step_of_h;
	if (step < 0 || (size_t)step >= m->nsteps)
		return;
	acc(&b->engine, engine_key(step, p->index, st, sc), ns);
}

static void time_record(struct fb *b, const struct lp_hdr *h, const struct lp_model_rec *src)
{
	char pbuf[4096];
	int step = -2;
	if (h->kind == LP_EV_SYSCALL) {
		const struct lp_ev_syscall *ev = (const void *)h;
		if (!ev->lat_ns)
			return;
		const struct lp_proc *p = proc_at(b, h->tgid, h->ts);
		const char *path = NULL;
		if (p && p->step < 0)
			path = shown_of(b, h, src, pbuf, sizeof(pbuf));
		unsigned sc = h->aux;
		time_add(b, h, p, sc_state(sc), sc, -1, h->ts - (ev->lat_ns < h->ts ? ev->lat_ns : h->ts), h->ts,
			 ev->lat_ns, path, src ? src->shown_id : 0, &step);
	} else if (h->kind == LP_EV_FD_IO) {
		const struct lp_ev_fd_io *e = (const void *)h;
		if (!e->rns && !e->wns)
			return;
		const struct lp_proc *p = proc_at(b, h->tgid, e->last_ts ? e->last_ts : h->ts);
		enum lp_flame_state st = fdio_state(b, e, src);
		const char *path = p && p->step < 0 ? shown_of(b, h, src, pbuf, sizeof(pbuf)) : NULL;
		uint64_t lo = e->first_ts, hi = e->last_ts;
		if (!hi || hi < lo)
			lo = hi = h->ts;
		/* the calls took at least their time: widen a window shorter than that */
		uint64_t ns = e->rns + e->wns;
		if (hi - lo < ns)
			lo = hi > ns ? hi - ns : 0;
		uint32_t id = src ? src->shown_id : 0;
		time_add(b, h, p, st, LP_SC_READ, (int)h->aux, lo, hi, e->rns, path, id, &step);
		time_add(b, h, p, st, LP_SC_WRITE, (int)h->aux, lo, hi, e->wns, path, id, &step);
	}
}

static void time_replayed(void *arg, const struct lp_model_rec *rec)
{
	time_record(arg, rec->h, rec); /* an exit is nothing to it */
}

/* --------------------------------------------------- time: the states */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Keys of a map, sorted (a deterministic tree). */
static uint64_t *sorted_keys(const struct lp_u64map *map, size_t *n)
{
	uint64_t *k = lp_xcalloc(map->n + 1, sizeof(uint64_t));
	size_t j = 0;
	for (size_t i = 0; i < map->cap; i++)
		if (lp_u64map_used(map, i))
			k[j++] = lp_u64map_key(map, i);
	qsort(k, j, sizeof(uint64_t), cmp_u64);
	*n = j;
	return k;
}

static const char *sc_label(unsigned sc, char *buf, size_t len)
{
	const char *n = lp_sc_name(sc);
	if (n)
		return n;
	snprintf(buf, len, "syscall%u", sc);
	return buf;
}

static int state_node(struct fb *b, int parent, enum lp_flame_state st, int fd)
{
	char nb[64];
	const char *name = lp_flame_state_name(st);
	if (st == LP_FST_FD_UNKNOWN) {
		snprintf(nb, sizeof(nb), "waiting on fd %d, kind unknown", fd);
		name = nb;
	}
	int n = child(b, parent, LP_FLAME_STATE, name);
	b->f->nodes[n].state = st;
	b->f->nodes[n].fd = st == LP_FST_FD_UNKNOWN ? fd : -1;
	return n;
}

/* Add syscall leaves (state, sc, fd, raw ns) under `under`, each raw ns
 * times `factor`; returns the value given. */
static uint64_t add_state_leaf(struct fb *b, int under, enum lp_flame_state st, unsigned sc, int fd, double v)
{
	uint64_t x = (uint64_t)v;
	if (!x)
		return 0;
	int sn = state_node(b, under, st, fd);
	char nb[32];
	int cn = child(b, sn, LP_FLAME_SYSCALL, sc_label(sc, nb, sizeof(nb)));
	b->f->nodes[cn].value += x;
	b->f->nodes[sn].value += x;
	return x;
}

/* A placed process's self time outside its traced calls, `u`: "on CPU"
 * up to its CPU time (scaled like its calls: what it got of its lifetime),
 * the rest "off CPU, untraced wait"; "running or untraced wait" when its
 * CPU time is unknown (a trace made before the exit record had it, or a
 * process still running at the end). */
static void untraced_states(struct fb *b, size_t p, uint64_t u)
{
	struct lp_flame *f = b->f;
	const struct pinfo *pi = &b->pi[p];
	uint64_t cpu_ns = b->m->procs[p].cpu_ns;
	if (!cpu_ns) {
		int rn = state_node(b, pi->node, LP_FST_RUNNING, -1);
		f->nodes[rn].value = u;
		return;
	}
	double scaled = (double)cpu_ns * pi->scale;
	uint64_t on = scaled >= (double)u ? u : (uint64_t)scaled;
	if (on) {
		int n = state_node(b, pi->node, LP_FST_ON_CPU, -1);
		f->nodes[n].value = on;
	}
	if (u > on) {
		int n = state_node(b, pi->node, LP_FST_OFF_CPU, -1);
		f->nodes[n].value = u - on;
	}
}

static void time_states(struct fb *b)
{
	const struct lp_model *m = b->m;
	struct lp_flame *f = b->f;
	/* raw totals per placed process, to scale calls that overlap (threads) */
	uint64_t *raw = lp_xcalloc(m->nprocs + 1, sizeof(uint64_t));
	size_t nk;
	uint64_t *keys = sorted_keys(&b->self, &nk);
	for (size_t i = 0; i < nk; i++)
		raw[keys[i] >> 32] += *lp_u64map_find(&b->self, keys[i]);
	uint64_t *stated = lp_xcalloc(m->nprocs + 1, sizeof(uint64_t));
	for (size_t i = 0; i < nk; i++) {
		int pidx = (int)(keys[i] >> 32);
		const struct pinfo *pi = &b->pi[pidx];
		double factor = pi->scale;
		if (raw[pidx] > pi->self_ns)
			factor *= (double)pi->self_ns / (double)raw[pidx];
		enum lp_flame_state st = (enum lp_flame_state)((keys[i] >> 28) & 0xf);
		unsigned sc = (unsigned)((keys[i] >> 20) & 0xff);
		int fd = (int)(keys[i] & 0xfffff);
		stated[pidx] += add_state_leaf(b, pi->node, st, sc, fd,
					       (double)*lp_u64map_find(&b->self, keys[i]) * factor);
	}
	free(keys);
	/* running: the rest of each placed process's value */
	for (size_t p = 0; p < m->nprocs; p++) {
		const struct pinfo *pi = &b->pi[p];
		if (pi->node < 0)
			continue;
		struct lp_flame_node *nd = &f->nodes[pi->node];
		uint64_t kids = 0;
		for (int c = nd->first_child; c >= 0; c = f->nodes[c].next_sibling)
			if (f->nodes[c].kind == LP_FLAME_PROC)
				kids += f->nodes[c].value;
		uint64_t self = nd->value > kids ? nd->value - kids : 0;
		if (stated[p] > self) {
			/* rounding: take the excess off the largest state */
			int big = -1;
			for (int c = nd->first_child; c >= 0; c = f->nodes[c].next_sibling)
				if (f->nodes[c].kind == LP_FLAME_STATE && (big < 0 || f->nodes[c].value > f->nodes[big].value))
					big = c;
			uint64_t ex = stated[p] - self;
			if (big >= 0 && f->nodes[big].value >= ex) {
				f->nodes[big].value -= ex;
				int leaf = f->nodes[big].first_child;
				for (int c = leaf; c >= 0; c = f->nodes[c].next_sibling)
					if (f->nodes[c].value > f->nodes[leaf].value)
						leaf = c;
				if (leaf >= 0)
					f->nodes[leaf].value = f->nodes[leaf].value > ex ? f->nodes[leaf].value - ex : 0;
			}
			continue;
		}
		if (self > stated[p])
			untraced_states(b, p, self - stated[p]);
	}
	free(raw);
	free(stated);

	/* daemons' work per step, in what the step's processes leave */
	keys = sorted_keys(&b->engine, &nk);
	size_t i = 0;
	while (i < nk) {
		int step = (int)(keys[i] >> 44);
		size_t j = i;
		uint64_t total = 0;
		for (; j < nk && (int)(keys[j] >> 44) == step; j++)
			total += *lp_u64map_find(&b->engine, keys[j]);
		int sn = b->step_node[step];
		uint64_t used = 0;
		for (int c = f->nodes[sn].first_child; c >= 0; c = f->nodes[c].next_sibling)
			used += f->nodes[c].value;
		uint64_t room = f->nodes[sn].value > used ? f->nodes[sn].value - used : 0;
		double factor = total > room ? (double)room / (double)total : 1.0;
		for (size_t k = i; k < j; k++) {
			int pidx = (int)((keys[k] >> 20) & 0xffffff);
			char nb[64];
			int pn = child(b, sn, LP_FLAME_PROC, proc_name(&m->procs[pidx], NULL, 0, nb, sizeof(nb)));
			f->nodes[pn].proc = pidx;
			enum lp_flame_state st = (enum lp_flame_state)((keys[k] >> 12) & 0xf);
			uint64_t v = add_state_leaf(b, pn, st, (unsigned)(keys[k] & 0xff), -1,
						    (double)*lp_u64map_find(&b->engine, keys[k]) * factor);
			f->nodes[pn].value += v;
		}
		i = j;
	}
	free(keys);

	/* each step's remainder; the build's time outside steps */
	uint64_t steps = 0;
	for (int s = f->nodes[0].first_child; s >= 0; s = f->nodes[s].next_sibling) {
		struct lp_flame_node *sn = &f->nodes[s];
		uint64_t used = 0;
		for (int c = sn->first_child; c >= 0; c = f->nodes[c].next_sibling)
			used += f->nodes[c].value;
		if (sn->value > used) {
			int g = node_add(b, s, LP_FLAME_GAP, ENGINE_FRAME);
			f->nodes[g].value = f->nodes[s].value - used;
		}
		steps += f->nodes[s].value;
	}
	f->nodes[0].value = f->wall_ns;
	if (steps > f->wall_ns) {
		f->steps_overlap = true;
		f->nodes[0].value = steps;
	} else if (f->wall_ns > steps) {
		int g = node_add(b, 0, LP_FLAME_GAP, NO_STEP_FRAME);
		f->nodes[g].value = f->wall_ns - steps;
	}
}

/* -------------------------------------------------------- bytes and ops */

/* The node of process p (with its ancestors in the same step) under step. */
static int proc_node(struct fb *b, const struct lp_proc *p, int step, uint32_t tgid)
{
	const struct lp_model *m = b->m;
	uint64_t ck = (uint64_t)(uint32_t)(step + 1) << 32 | (uint32_t)(p ? p->index : 0);
	const uint64_t *cached = p ? lp_u64map_find(&b->pcache, ck) : NULL;
	if (cached)
		return (int)*cached;
	char nb[64];
	int parent;
	if (step < 0) {
		if (b->nostep_node < 0)
			b->nostep_node = node_add(b, 0, LP_FLAME_GAP, NO_STEP_FRAME);
		parent = b->nostep_node;
	} else if (p && p->step == step && lp_flame_proc_parent(m, p->index) >= 0) {
		const struct lp_proc *a = &m->procs[lp_flame_proc_parent(m, p->index)];
		parent = proc_node(b, a, step, a->pid);
	} else {
		parent = b->step_node[step];
	}
	int n = child(b, parent, LP_FLAME_PROC, proc_name(p, b->res, tgid, nb, sizeof(nb)));
	struct lp_flame_node *x = &b->f->nodes[n];
	if (p) {
		x->proc = p->index;
		x->start_ns = p->start_ns;
		x->end_ns = p->end_ns;
		lp_u64map_put(&b->pcache, ck, (uint64_t)n);
	}
	return n;
}

static void count_add(struct fb *b, const struct lp_hdr *h, const struct lp_proc *p, int step, const char *what,
		      const char *path, bool want_path, uint64_t bytes, uint64_t ops)
{
	uint64_t v = b->f->metric == LP_METRIC_BYTES ? bytes : ops;
	if (!v)
		return;
	const struct lp_model *m = b->m;
	int pn = proc_node(b, p, step, h->tgid);
	int sn = child(b, pn, LP_FLAME_SYSCALL, what);
	int leaf = sn;
	uint64_t rkey = 0;
	if (want_path && path) {
		/* the same path under the same syscall: the leaf made for it before */
		rkey = (uint64_t)(uint32_t)sn << 32 | lp_hash_str(path, 0x85ebca6bu);
		for (const uint64_t *seen; (seen = lp_u64map_find(&b->rawkids, rkey)); rkey++) {
			if (!strcmp(lp_strtab_str(&b->raws, (uint32_t)(*seen >> 32)), path)) {
				b->f->nodes[(uint32_t)*seen].value += v;
				return;
			}
		}
	}
	if (want_path) {
		char dbuf[4096];
		const char *shown = "(unknown)";
		if (path) {
			enum lp_path_space space;
			shown = lp_model_display_path(m, step, lp_export_norm_target(path), dbuf, sizeof(dbuf), &space);
			if (!shown || !*shown)
				shown = path;
		}
		bool budget = b->leaves >= LP_FLAME_PATH_BUDGET;
		if (budget && child_find(b, sn, LP_FLAME_PATH, shown, NULL) < 0) {
			/* past the budget, new paths fold into their directory, then into one frame */
			char dir[4096];
			const char *slash = strrchr(shown, '/');
			if (b->leaves < 2 * LP_FLAME_PATH_BUDGET && slash && slash != shown) {
				snprintf(dir, sizeof(dir), "%.*s/*", (int)(slash - shown), shown);
				shown = dir;
			} else {
				shown = OTHER_PATHS_FRAME;
			}
			b->f->folded_paths++;
		}
		size_t before = b->f->n;
		leaf = child(b, sn, LP_FLAME_PATH, shown);
		if (b->f->n != before)
			b->leaves++;
		if (path && !budget)
			lp_u64map_put(&b->rawkids, rkey, (uint64_t)lp_strtab_intern(&b->raws, path) << 32 | (uint32_t)leaf);
	}
	b->f->nodes[leaf].value += v;
}

/* The step of an event by p: a step's process's own (what
 * lp_model_event_step answers first, after the path work it then skips). */
static int event_step(const struct fb *b, const struct lp_hdr *h, const struct lp_proc *p, const char *path)
{
	return p && p->step >= 0 ? p->step : lp_model_event_step(b->m, h, path);
}

static void count_record(struct fb *b, const struct lp_hdr *h)
{
	char pbuf[4096];
	const struct lp_proc *p = proc_at(b, h->tgid, h->ts);
	switch (h->kind) {
	case LP_EV_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		unsigned sc = h->aux;
		const char *path = lp_resolver_event_path(b->res, ev, pbuf, sizeof(pbuf));
		int step = event_step(b, h, p, path);
		char nb[32];
		uint64_t bytes = lp_sc_is_copy(sc) && ev->ret > 0 ? (uint64_t)ev->ret : 0;
		count_add(b, h, p, step, sc_label(sc, nb, sizeof(nb)), path, true, bytes, 1);
		break;
	}
	case LP_EV_FD_IO: {
		const struct lp_ev_fd_io *e = (const void *)h;
		const char *path = lp_resolver_fdio_path(b->res, e);
		if (!path && !lp_fdio_is_path_io(e))
			path = lp_fd_kind_name(lp_fdio_kind(e));
		int step = event_step(b, h, p, path);
		count_add(b, h, p, step, "read", path, true, e->rbytes, e->rcalls);
		count_add(b, h, p, step, "write", path, true, e->wbytes, e->wcalls);
		break;
	}
	case LP_EV_EXEC: {
		const struct lp_ev_exec *e = (const void *)h;
		const char *fn = lp_ev_exec_filename(e, NULL);
		count_add(b, h, p, event_step(b, h, p, fn), "execve", fn, true, 0, 1);
		break;
	}
	case LP_EV_FORK:
		count_add(b, h, p, event_step(b, h, p, NULL), "fork", NULL, false, 0, 1);
		break;
	case LP_EV_EXIT: {
		const struct lp_ev_exit *e = (const void *)h;
		int step = event_step(b, h, p, NULL);
		static const char *const names[] = { "chown", "chmod", "utimensat", "stat (ok)" };
		uint32_t v[] = { e->counts.chown, e->counts.chmod, e->counts.utimens, e->counts.stat_ok };
		for (size_t i = 0; i < LP_ARRAY_SIZE(v); i++)
			count_add(b, h, p, step, names[i], NULL, false, 0, v[i]);
		break;
	}
	default:
		break;
	}
}

/* Values of inner nodes: their children's sums (bytes, ops). Children
 * always come after their parent, so one backward sweep does it. */
static void sum_up(struct lp_flame *f)
{
	for (size_t i = f->n; i-- > 1;)
		f->nodes[f->nodes[i].parent].value += f->nodes[i].value;
}

/* ------------------------------------------------------------ ordering */

static int cmp_children(const void *a, const void *b, void *arg)
{
	const struct lp_flame *f = arg;
	const struct lp_flame_node *x = &f->nodes[*(const int *)a], *y = &f->nodes[*(const int *)b];
	/* steps keep their build order; gaps after everything */
	int rx = x->kind == LP_FLAME_GAP ? 3 : x->kind == LP_FLAME_STEP ? 0 : x->kind == LP_FLAME_PROC ? 1 : 2;
	int ry = y->kind == LP_FLAME_GAP ? 3 : y->kind == LP_FLAME_STEP ? 0 : y->kind == LP_FLAME_PROC ? 1 : 2;
	if (rx != ry)
		return rx - ry;
	if (x->kind == LP_FLAME_STEP || x->kind == LP_FLAME_GAP)
		return *(const int *)a - *(const int *)b;
	if (x->kind == LP_FLAME_PROC && f->metric == LP_METRIC_TIME && x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->kind == LP_FLAME_STATE && x->state != y->state)
		return x->state < y->state ? -1 : 1;
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void order_children(struct lp_flame *f)
{
	int *v = NULL;
	size_t cap = 0;
	for (size_t i = 0; i < f->n; i++) {
		size_t k = 0;
		for (int c = f->nodes[i].first_child; c >= 0; c = f->nodes[c].next_sibling) {
			if (k == cap) {
				cap = cap ? cap * 2 : 64;
				v = lp_xrealloc(v, cap * sizeof(int));
			}
			v[k++] = c;
		}
		if (k < 2)
			continue;
		qsort_r(v, k, sizeof(int), cmp_children, f);
		f->nodes[i].first_child = v[0];
		for (size_t j = 0; j + 1 < k; j++)
			f->nodes[v[j]].next_sibling = v[j + 1];
		f->nodes[v[k - 1]].next_sibling = -1;
	}
	free(v);
}

/* ---------------------------------------------------------------- API */

int lp_flame_build(const struct lp_model *m, struct lp_reader *r, enum lp_export_metric metric,
		   struct lp_flame *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	if (r && lp_reader_rewind(r) < 0) {
		snprintf(err, errlen, "cannot rewind the trace");
		return -1;
	}
	struct fb b = { .m = m, .f = f, .nostep_node = -1 };
	f->metric = metric;
	f->wall_ns = m->build.wall_ns;
	node_add(&b, -1, LP_FLAME_BUILD, "build");
	add_steps(&b);
	if (metric == LP_METRIC_TIME)
		place_procs(&b);
	b.res = lp_resolver_new();
	const struct lp_hdr *h;
	bool fd_kinds = false;
	/* time needs only the syscall and fd I/O records, and their paths: the
	 * model's tape has them (lp_model_options.keep_tape), so the trace is
	 * not decoded again */
	if (metric == LP_METRIC_TIME && lp_model_replay(m, false, time_replayed, &b))
		r = NULL;
	/* (the reader decodes ahead on its own thread: trace_reader.c) */
	while (r && lp_reader_next(r, &h) == 1) {
		if (!lp_ev_valid(h))
			continue;
		if (metric == LP_METRIC_TIME) {
			time_record(&b, h, NULL);
			/* time asks the resolver for the paths of daemons' calls and,
			 * in a recording without fd kinds, what a step's fds are: with
			 * kinds, a step process's calls need not be fed (most of a
			 * trace); forks, execs and exits always are */
			if (h->kind == LP_EV_FD_IO && ((const struct lp_ev_fd_io *)h)->fd_mode)
				fd_kinds = true;
			if (fd_kinds && (h->kind == LP_EV_SYSCALL || h->kind == LP_EV_FD_IO)) {
				const struct lp_proc *p = proc_at(&b, h->tgid, h->ts);
				if (p && p->step >= 0)
					continue;
			}
		} else {
			count_record(&b, h);
		}
		lp_resolver_feed(b.res, h);
	}
	if (metric == LP_METRIC_TIME)
		time_states(&b);
	else
		sum_up(f);
	order_children(f);
	lp_resolver_free(b.res);
	free(b.last);
	free(b.pi);
	free(b.segs);
	free(b.segpre);
	free(b.step_node);
	lp_u64map_free(&b.kids);
	lp_u64map_free(&b.path_kids);
	lp_u64map_free(&b.rawkids);
	lp_strtab_free(&b.raws);
	lp_u64map_free(&b.pcache);
	lp_u64map_free(&b.self);
	lp_u64map_free(&b.engine);
	struct lp_strtab *names = lp_xcalloc(1, sizeof(*names));
	*names = b.names;
	f->priv = names;
	return 0;
}

void lp_flame_free(struct lp_flame *f)
{
	if (!f)
		return;
	free(f->nodes);
	if (f->priv) {
		lp_strtab_free(f->priv);
		free(f->priv);
	}
	memset(f, 0, sizeof(*f));
}

uint64_t *lp_flame_offsets(const struct lp_flame *f)
{
	uint64_t *off = lp_xcalloc(f->n + 1, sizeof(uint64_t));
	/* parents come before their children: lay out each node's children */
	for (size_t i = 0; i < f->n; i++) {
		uint64_t x = off[i];
		for (int c = f->nodes[i].first_child; c >= 0; c = f->nodes[c].next_sibling) {
			off[c] = x;
			x += f->nodes[c].value;
		}
	}
	return off;
}

uint64_t lp_flame_rounded(const struct lp_flame *f, const uint64_t *off, int i, uint64_t div)
{
	if (!div)
		div = 1;
	uint64_t a = off[i], e = off[i] + f->nodes[i].value;
	return (e + div / 2) / div - (a + div / 2) / div;
}
