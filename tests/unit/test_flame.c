/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flame tree (flame.c) on synthetic builds: a step is exactly its
 * time, processes nest under their parents, overlapping siblings share
 * their common time, a process's self time splits into states with the
 * kinds of its fds, no node is narrower than its children, and the
 * whole-unit stacks add up to each step's rounded time. Expected values
 * are computed here from the model's process lifetimes, not from the
 * tree.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"
#include "flame.h"
#include "model.h"
#include "scenarios.h"
#include "trace.h"

#define US 1000ull

/* An fd's read/write aggregate with a known kind (S_IFIFO, S_IFSOCK) or
 * none (mode 0: a recording without fd kinds). */
static void fdio_kind(struct synth *s, uint32_t pid, int fd, uint64_t first, uint64_t last, uint64_t rns,
		      uint64_t wns, uint32_t mode)
{
	struct lp_ev_fd_io r;
	memset(&r, 0, sizeof(r));
	syn_hdr(&r.h, LP_EV_FD_IO, pid, (uint32_t)fd, last + 1000);
	r.first_ts = first;
	r.last_ts = last;
	r.rbytes = rns ? 100 : 0;
	r.wbytes = wns ? 50 : 0;
	r.rns = rns;
	r.wns = wns;
	r.rcalls = rns ? 1 : 0;
	r.wcalls = wns ? 1 : 0;
	r.fd_mode = mode ? LP_FDMODE_KNOWN | mode : 0;
	syn_put(s, &r, sizeof(r));
}

/* The RUN's command (pid): two children A and B that overlap by 2 ms, a
 * pipe it waits on in its own time (2 ms) and partly while A runs, a
 * socket (1 ms), an fd of unknown kind (0.3 ms). */
#define PID_A 520
#define PID_B 521
static uint64_t worker(struct synth *s, uint32_t pid, uint64_t t, void *arg)
{
	(void)arg;
	const char *aargv[] = { "cc", "-c", "a.c", NULL }, *bargv[] = { "cc", "-c", "b.c", NULL };
	syn_fork(s, t + 1000 * US, pid, PID_A, "sh");
	syn_exec(s, t + 1000 * US + 10, PID_A, pid, "/usr/bin/cc", "cc", aargv);
	syn_fork(s, t + 3000 * US, pid, PID_B, "sh");
	syn_exec(s, t + 3000 * US + 10, PID_B, pid, "/usr/bin/cc", "cc", bargv);
	syn_exit(s, t + 5000 * US, PID_A, 0);
	syn_exit(s, t + 9000 * US, PID_B, 0);
	/* waits on the pipe: 0.5 ms before A starts, 1 ms while A runs */
	fdio_kind(s, pid, 40, t + 500 * US, t + 2000 * US, 1500 * US, 0, S_IFIFO);
	fdio_kind(s, pid, 41, t + 10000 * US, t + 12000 * US, 2000 * US, 0, S_IFIFO);
	fdio_kind(s, pid, 42, t + 13000 * US, t + 14000 * US, 0, 1000 * US, S_IFSOCK);
	fdio_kind(s, pid, 43, t + 14000 * US, t + 14300 * US, 300 * US, 0, 0);
	return t + 15000 * US;
}

static char *scenario_compile(void)
{
	static struct synth s;
	common_start(&s, "FROM layerprof/busybox\nRUN true\nRUN make\n");
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/3] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	syn_progress(&s, MS(40), "#5 [2/3] RUN true");
	syn_progress(&s, MS(41), "#5 CACHED");
	syn_progress(&s, MS(50), "#6 [3/3] RUN make");
	const char *reads[] = { "/app/Makefile", NULL };
	syn_run_work(&s, MS(60), 100 * SYN_MS, 500, "makecontainerid00000000001", "make", reads, 0, worker, NULL);
	syn_progress(&s, MS(170), "#6 DONE 0.1s");
	syn_close(&s, NULL);
	return strdup(s.path);
}

static struct lp_model *load(const char *path)
{
	char err[256] = "";
	struct lp_model_options o = { .no_findings = true };
	struct lp_model *m = lp_model_load(path, &o, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	return m;
}

static void build(const struct lp_model *m, const char *path, enum lp_export_metric metric, struct lp_flame *f)
{
	char err[256] = "";
	struct lp_reader *r = lp_reader_open(path, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(lp_flame_build(m, r, metric, f, err, sizeof(err)), 0, "%s", err);
	lp_reader_close(r);
}

static int proc_index(const struct lp_model *m, uint32_t pid)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid == pid)
			return (int)i;
	return -1;
}

static int node_of_proc(const struct lp_flame *f, int proc)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->nodes[i].kind == LP_FLAME_PROC && f->nodes[i].proc == proc)
			return (int)i;
	return -1;
}

static int child_named(const struct lp_flame *f, int parent, const char *name)
{
	for (int c = f->nodes[parent].first_child; c >= 0; c = f->nodes[c].next_sibling)
		if (!strcmp(f->nodes[c].name, name))
			return c;
	return -1;
}

static uint64_t kids_sum(const struct lp_flame *f, int i)
{
	uint64_t s = 0;
	for (int c = f->nodes[i].first_child; c >= 0; c = f->nodes[c].next_sibling)
		s += f->nodes[c].value;
	return s;
}

/* The rules that hold in every tree: children fit, links are consistent. */
static void check_shape(const struct lp_flame *f)
{
	cr_assert(f->n > 0);
	cr_assert_eq(f->nodes[0].kind, LP_FLAME_BUILD);
	cr_assert_eq(f->nodes[0].parent, -1);
	for (size_t i = 0; i < f->n; i++) {
		const struct lp_flame_node *x = &f->nodes[i];
		cr_assert(x->name && *x->name);
		cr_assert_leq(kids_sum(f, (int)i), x->value, "node %zu %s: children %llu > %llu", i, x->name,
			      (unsigned long long)kids_sum(f, (int)i), (unsigned long long)x->value);
		for (int c = x->first_child; c >= 0; c = f->nodes[c].next_sibling) {
			cr_assert_eq(f->nodes[c].parent, (int)i);
			cr_assert_eq(f->nodes[c].depth, x->depth + 1);
		}
	}
}

Test(flame, steps_are_their_times_and_the_build_its_wall)
{
	char *path = scenario_bad_order(false);
	struct lp_model *m = load(path);
	struct lp_flame f;
	build(m, path, LP_METRIC_TIME, &f);
	check_shape(&f);
	uint64_t steps = 0, prev_start = 0;
	size_t nsteps = 0;
	bool cached_seen = false;
	for (int s = f.nodes[0].first_child; s >= 0; s = f.nodes[s].next_sibling) {
		const struct lp_flame_node *x = &f.nodes[s];
		if (x->kind != LP_FLAME_STEP) {
			cr_assert_eq(x->kind, LP_FLAME_GAP);
			cr_assert_str_eq(x->name, "(outside build steps)");
			continue;
		}
		const struct lp_step *st = &m->steps[x->step];
		cr_assert_eq(x->value, lp_step_wall_ns(st), "%s: %llu vs %llu", st->name, (unsigned long long)x->value,
			     (unsigned long long)lp_step_wall_ns(st));
		/* a step's children fill it exactly (the rest is "engine work") */
		cr_assert_eq(kids_sum(&f, s), x->value, "%s", st->name);
		if (st->cached) {
			cr_assert_eq(x->value, 0);
			cached_seen = true;
		}
		/* build order */
		uint64_t a = lp_step_start_ns(st);
		if (a) {
			cr_assert_geq(a, prev_start);
			prev_start = a;
		}
		steps += x->value;
		nsteps++;
	}
	cr_assert_eq(nsteps, m->nsteps);
	cr_assert(cached_seen, "the WORKDIR step is cached");
	cr_assert_eq(f.wall_ns, m->build.wall_ns);
	cr_assert_eq(f.nodes[0].value, steps > m->build.wall_ns ? steps : m->build.wall_ns);
	cr_assert_eq(kids_sum(&f, 0), f.nodes[0].value);
	/* COPY: the daemon's writes under the step, the rest engine work */
	int copy = -1;
	for (int s = f.nodes[0].first_child; s >= 0; s = f.nodes[s].next_sibling)
		if (!strcmp(f.nodes[s].name, "[3/5] COPY . ."))
			copy = s;
	cr_assert_geq(copy, 0);
	int d = child_named(&f, copy, "dockerd[100]");
	cr_assert_geq(d, 0, "no daemon work under the COPY");
	cr_assert_eq(f.nodes[d].proc, proc_index(m, 100));
	cr_assert_geq(child_named(&f, d, "file I/O"), 0);
	cr_assert_geq(child_named(&f, copy, "(engine work, no traced process)"), 0);
	lp_flame_free(&f);
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(flame, nesting_sharing_and_self_states)
{
	char *path = scenario_compile();
	struct lp_model *m = load(path);
	struct lp_flame f;
	build(m, path, LP_METRIC_TIME, &f);
	check_shape(&f);
	int wi = proc_index(m, 503), ai = proc_index(m, PID_A), bi = proc_index(m, PID_B);
	cr_assert(wi >= 0 && ai >= 0 && bi >= 0);
	const struct lp_proc *w = &m->procs[wi], *a = &m->procs[ai], *b = &m->procs[bi];
	int wn = node_of_proc(&f, wi), an = node_of_proc(&f, ai), bn = node_of_proc(&f, bi);
	cr_assert(wn >= 0 && an >= 0 && bn >= 0);
	/* nested: runc -> ... -> sh -> worker -> A, B */
	cr_assert_eq(f.nodes[an].parent, wn);
	cr_assert_eq(f.nodes[bn].parent, wn);
	int up = f.nodes[wn].parent;
	cr_assert_eq(f.nodes[up].kind, LP_FLAME_PROC);
	cr_assert_eq(f.nodes[up].proc, proc_index(m, 502));
	/* the step's processes span its measured time: the worker covers its lifetime */
	cr_assert_eq(f.nodes[wn].value, w->end_ns - w->start_ns);
	/* A [1, 5) ms and B [3, 9) ms share [3, 5): 1 ms more each */
	uint64_t both = (a->end_ns < b->end_ns ? a->end_ns : b->end_ns) - (a->start_ns > b->start_ns ? a->start_ns : b->start_ns);
	cr_assert_eq(both, 2000 * US);
	cr_assert_eq(f.nodes[an].value, a->end_ns - a->start_ns - both / 2);
	cr_assert_eq(f.nodes[bn].value, b->end_ns - b->start_ns - both / 2);
	cr_assert_eq(f.nodes[an].value + f.nodes[bn].value, b->end_ns - a->start_ns);
	/* the worker's self time: its lifetime less the children's union */
	uint64_t self = (w->end_ns - w->start_ns) - (b->end_ns - a->start_ns);
	cr_assert_eq(kids_sum(&f, wn), f.nodes[wn].value, "states fill the self time exactly");
	uint64_t states = 0;
	for (int c = f.nodes[wn].first_child; c >= 0; c = f.nodes[c].next_sibling)
		if (f.nodes[c].kind == LP_FLAME_STATE)
			states += f.nodes[c].value;
	cr_assert_eq(states, self);
	/* the pipe: 2 ms in its own time, and 0.5 of the 1.5 ms before A started */
	int pipe = child_named(&f, wn, "waiting on pipe");
	cr_assert_geq(pipe, 0);
	cr_assert_eq(f.nodes[pipe].state, LP_FST_PIPE);
	cr_assert_eq(f.nodes[pipe].value, 2500 * US);
	cr_assert_eq(f.nodes[child_named(&f, pipe, "read")].value, 2500 * US);
	int sock = child_named(&f, wn, "waiting on socket");
	cr_assert_geq(sock, 0);
	cr_assert_eq(f.nodes[sock].value, 1000 * US);
	cr_assert_geq(child_named(&f, sock, "write"), 0);
	int unk = child_named(&f, wn, "waiting on fd 43, kind unknown");
	cr_assert_geq(unk, 0);
	cr_assert_eq(f.nodes[unk].fd, 43);
	cr_assert_eq(f.nodes[unk].value, 300 * US);
	int run = child_named(&f, wn, "running or untraced wait");
	cr_assert_geq(run, 0);
	int fio = child_named(&f, wn, "file I/O");
	cr_assert_geq(fio, 0, "the Makefile's open and sendfile");
	cr_assert_eq(f.nodes[run].value, self - 3800 * US - f.nodes[fio].value);
	/* A and B did nothing traced: all running */
	cr_assert_eq(f.nodes[child_named(&f, an, "running or untraced wait")].value, f.nodes[an].value);
	/* the cached step: nothing */
	for (int s = f.nodes[0].first_child; s >= 0; s = f.nodes[s].next_sibling)
		if (f.nodes[s].kind == LP_FLAME_STEP && m->steps[f.nodes[s].step].cached) {
			cr_assert_eq(f.nodes[s].value, 0);
			cr_assert_eq(f.nodes[s].first_child, -1);
		}
	lp_flame_free(&f);
	lp_model_free(m);
	unlink(path);
	free(path);
}

/* Children that ran one after the other (each alone, so its width is its
 * lifetime, 10 ms), none in a traced call: their time outside traced calls
 * split by the CPU time of their exit records. */
#define PID_C 530 /* on CPU 3 ms of 10 */
#define PID_D 531 /* an exit record as traces made before cpu_ns have it */
#define PID_E 532 /* 50 ms of CPU (threads on several CPUs) in 10 ms */
#define PID_F 533 /* a full exit record whose cpu_ns is 0: unknown */
static uint64_t cpu_worker(struct synth *s, uint32_t pid, uint64_t t, void *arg)
{
	(void)arg;
	const uint32_t kids[] = { PID_C, PID_D, PID_E, PID_F };
	const uint64_t cpu[] = { 3 * SYN_MS, 0, 50 * SYN_MS, 0 };
	const size_t size[] = { sizeof(struct lp_ev_exit), offsetof(struct lp_ev_exit, cpu_ns),
				sizeof(struct lp_ev_exit), sizeof(struct lp_ev_exit) };
	const char *argv[] = { "sleep", "1", NULL };
	for (int i = 0; i < 4; i++) {
		uint64_t a = t + (uint64_t)(1 + 11 * i) * SYN_MS;
		syn_fork(s, a, pid, kids[i], "sh");
		syn_exec(s, a + 10, kids[i], pid, "/bin/sleep", "sleep", argv);
		syn_exit_cpu(s, a + 10 * SYN_MS, kids[i], 0, cpu[i], size[i]);
	}
	return t + 50 * SYN_MS;
}

static char *scenario_cpu(void)
{
	static struct synth s;
	common_start(&s, "FROM layerprof/busybox\nRUN ./wait\n");
	internal_steps(&s, "docker.io/layerprof/busybox:latest");
	syn_progress(&s, MS(30), "#4 [1/2] FROM docker.io/layerprof/busybox");
	syn_progress(&s, MS(31), "#4 DONE 0.0s");
	syn_progress(&s, MS(50), "#5 [2/2] RUN ./wait");
	syn_run_work(&s, MS(60), 100 * SYN_MS, 500, "waitcontainerid00000000001", "./wait", NULL, 0,
		     cpu_worker, NULL);
	syn_progress(&s, MS(170), "#5 DONE 0.1s");
	syn_close(&s, NULL);
	return strdup(s.path);
}

static uint64_t state_value(const struct lp_flame *f, int proc_node, const char *name)
{
	int n = child_named(f, proc_node, name);
	return n >= 0 ? f->nodes[n].value : 0;
}

Test(flame, untraced_time_splits_on_and_off_cpu_by_the_exit_cpu_time)
{
	char *path = scenario_cpu();
	struct lp_model *m = load(path);
	struct lp_flame f;
	build(m, path, LP_METRIC_TIME, &f);
	check_shape(&f);
	const char *on = lp_flame_state_name(LP_FST_ON_CPU), *off = lp_flame_state_name(LP_FST_OFF_CPU),
		   *run = lp_flame_state_name(LP_FST_RUNNING);
	const uint32_t kids[] = { PID_C, PID_D, PID_E, PID_F };
	const uint64_t want_cpu[] = { 3 * SYN_MS, 0, 50 * SYN_MS, 0 };
	/* expected (on, off, running) of each child's 10 ms */
	const uint64_t want[4][3] = {
		{ 3 * SYN_MS, 7 * SYN_MS, 0 },
		{ 0, 0, 10 * SYN_MS },
		{ 10 * SYN_MS, 0, 0 },
		{ 0, 0, 10 * SYN_MS },
	};
	for (int i = 0; i < 4; i++) {
		int pi = proc_index(m, kids[i]);
		cr_assert_geq(pi, 0);
		cr_assert_eq(m->procs[pi].cpu_ns, want_cpu[i], "pid %u: the model's cpu_ns", kids[i]);
		int pn = node_of_proc(&f, pi);
		cr_assert_geq(pn, 0);
		cr_assert_eq(f.nodes[pn].value, 10 * SYN_MS, "pid %u lived 10 ms alone", kids[i]);
		cr_assert_eq(state_value(&f, pn, on), want[i][0], "pid %u on CPU", kids[i]);
		cr_assert_eq(state_value(&f, pn, off), want[i][1], "pid %u off CPU", kids[i]);
		cr_assert_eq(state_value(&f, pn, run), want[i][2], "pid %u running or untraced wait", kids[i]);
		/* a state with no time has no frame */
		cr_assert_eq(child_named(&f, pn, on) >= 0, want[i][0] > 0);
		cr_assert_eq(child_named(&f, pn, off) >= 0, want[i][1] > 0);
		cr_assert_eq(child_named(&f, pn, run) >= 0, want[i][2] > 0);
		cr_assert_eq(kids_sum(&f, pn), f.nodes[pn].value);
	}
	lp_flame_free(&f);
	lp_model_free(m);
	unlink(path);
	free(path);
}

struct per_step {
	const struct lp_flame *f;
	uint64_t *sum;          /* by node index of the step */
};

static void sum_stack(const struct lp_flame *f, const int *frames, int depth, uint64_t count, void *arg)
{
	struct per_step *ps = arg;
	cr_assert_gt(count, 0);
	if (depth >= 1 && f->nodes[frames[1]].kind == LP_FLAME_STEP)
		ps->sum[frames[1]] += count;
	for (int d = 1; d <= depth; d++)
		cr_assert_eq(f->nodes[frames[d]].parent, frames[d - 1]);
}

Test(flame, whole_unit_stacks_add_up_to_each_step)
{
	char *path = scenario_bad_order(false);
	struct lp_model *m = load(path);
	struct lp_flame f;
	build(m, path, LP_METRIC_TIME, &f);
	uint64_t *off = lp_flame_offsets(&f);
	struct per_step ps = { &f, calloc(f.n, sizeof(uint64_t)) };
	lp_flame_stacks(&f, 1000, sum_stack, &ps);
	for (int s = f.nodes[0].first_child; s >= 0; s = f.nodes[s].next_sibling) {
		if (f.nodes[s].kind != LP_FLAME_STEP)
			continue;
		uint64_t us = lp_flame_rounded(&f, off, s, 1000);
		cr_assert_eq(ps.sum[s], us, "%s", f.nodes[s].name);
		uint64_t ns = f.nodes[s].value;
		cr_assert(us * 1000 + 1000 >= ns && ns + 1000 >= us * 1000, "%s: %llu us for %llu ns", f.nodes[s].name,
			  (unsigned long long)us, (unsigned long long)ns);
	}
	free(ps.sum);
	free(off);
	lp_flame_free(&f);
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(flame, bytes_and_ops_keep_paths_under_the_process_tree)
{
	char *path = scenario_compile();
	struct lp_model *m = load(path);
	struct lp_flame f;
	build(m, path, LP_METRIC_BYTES, &f);
	check_shape(&f);
	/* bytes: inner nodes are their children's sums */
	for (size_t i = 0; i < f.n; i++)
		if (f.nodes[i].first_child >= 0)
			cr_assert_eq(kids_sum(&f, (int)i), f.nodes[i].value, "%s", f.nodes[i].name);
	int wn = node_of_proc(&f, proc_index(m, 503));
	cr_assert_geq(wn, 0);
	cr_assert_eq(f.nodes[f.nodes[wn].parent].proc, proc_index(m, 502));
	int rd = child_named(&f, wn, "read");
	cr_assert_geq(rd, 0);
	int pipe = child_named(&f, rd, "pipe");
	cr_assert_geq(pipe, 0, "the pipe's bytes under read;pipe");
	cr_assert_eq(f.nodes[pipe].kind, LP_FLAME_PATH);
	cr_assert_eq(f.nodes[pipe].value, 200); /* two pipe reads of 100 bytes */
	int wr = child_named(&f, wn, "write");
	cr_assert_geq(child_named(&f, wr, "socket"), 0);
	lp_flame_free(&f);

	build(m, path, LP_METRIC_OPS, &f);
	check_shape(&f);
	wn = node_of_proc(&f, proc_index(m, 503));
	int fork = child_named(&f, wn, "fork");
	cr_assert_geq(fork, 0);
	cr_assert_eq(f.nodes[fork].value, 2);
	lp_flame_free(&f);
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(flame, proc_parent_skips_an_ancestor_that_exits_first)
{
	char *path = scenario_compile();
	struct lp_model *m = load(path);
	/* runc (500) forks 501 (init), 501 forks 502, which outlives 501?
	 * In the scenario 502 exits before 501: its parent holds it. */
	int i502 = proc_index(m, 502), i501 = proc_index(m, 501);
	cr_assert_eq(lp_flame_proc_parent(m, i502), i501);
	/* a top process of its step: runc, whose parent (dockerd) has no step */
	cr_assert_eq(lp_flame_proc_parent(m, proc_index(m, 500)), -1);
	cr_assert_eq(lp_flame_proc_parent(m, -1), -1);
	/* make 502 outlive 501: it goes under runc */
	struct lp_proc *p501 = &m->procs[i501];
	uint64_t keep = p501->end_ns;
	p501->end_ns = m->procs[i502].end_ns - 1;
	cr_assert_eq(lp_flame_proc_parent(m, i502), proc_index(m, 500));
	p501->end_ns = keep;
	lp_model_free(m);
	unlink(path);
	free(path);
}

Test(flame, names)
{
	cr_assert_str_eq(lp_flame_state_name(LP_FST_PIPE), "waiting on pipe");
	cr_assert_str_eq(lp_flame_state_name(LP_FST_SOCKET), "waiting on socket");
	cr_assert_str_eq(lp_flame_state_name(LP_FST_RUNNING), "running or untraced wait");
	cr_assert_str_eq(lp_flame_state_name(LP_FST_ON_CPU), "on CPU");
	cr_assert_str_eq(lp_flame_state_name(LP_FST_OFF_CPU), "off CPU, untraced wait (sleep, epoll, futex, network)");
	cr_assert_str_eq(lp_flame_state_name((enum lp_flame_state)99), "?");
	cr_assert_str_eq(lp_flame_kind_name(LP_FLAME_GAP), "gap");
}
