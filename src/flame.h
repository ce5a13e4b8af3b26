/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flame graph's tree: where the build's time (or bytes, or calls)
 * went. The one builder every flame view draws from (export_folded.c,
 * export_svg.c, the speedscope and HTML exports); docs/architecture.md,
 * "The flame tree".
 *
 *   build -> step -> process tree (children under their parents)
 *         -> time: the process's self time by state -> syscall
 *            bytes/ops: syscall -> file path
 *
 * Made from the model (steps and their measured times, processes with
 * parent, start, end and step) and one pass over the trace's events
 * (which syscall time of which process, on what kind of fd).
 *
 * Rules of the tree, metric time (values in ns):
 *  - the build node is the build's wall time (lp_build.wall_ns). When
 *    steps ran in parallel (stages) and their times add up to more, it is
 *    that sum instead (lp_flame.steps_overlap says so), so no child is
 *    wider than its parent;
 *  - a step is exactly its measured time, lp_step_wall_ns(): what
 *    `layerprof report` prints (0 for a cached step). The build's time
 *    outside its steps is the frame "(outside build steps)";
 *  - a step's processes: the ones the model gives the step (lp_proc.step),
 *    each under its nearest ancestor in the step whose lifetime holds its
 *    own (lp_flame_proc_parent: runc's init outlives the runc:[0:PARENT]
 *    that forked it and goes under runc), the top ones (runc) under the
 *    step. A process
 *    covers its lifetime [start, end] cut to its parent's (the step's time
 *    for a top process; the end of the build for one still running);
 *  - siblings never sum to more than their parent: where siblings overlap
 *    in time, each moment is split equally among the siblings alive then
 *    (two concurrent 1 s children of a 1 s parent get 0.5 s each). What a
 *    process got of its lifetime scales everything under it alike;
 *  - a process's self time (its part not covered by its children) splits
 *    into states (enum lp_flame_state): its traced syscalls' time that
 *    falls in its self time (a call's time is where the call ran: an fd's
 *    read/write aggregate spreads its time evenly over its first to last
 *    call), by the kind of what it waited on, and the rest, U, outside
 *    traced calls: "on CPU" = min(U, its CPU time scaled by what it got
 *    of its lifetime, as its calls are) and "off CPU, untraced wait
 *    (sleep, epoll, futex, network)" = U - that, when the exit record gave
 *    its CPU time (lp_proc.cpu_ns); when unknown (a trace made before, a
 *    process still running at the end), all of U is "running or untraced
 *    wait" (the name says both: see below). CPU time spent inside traced
 *    calls (a read's copy) is not told apart, so "on CPU" may take some of
 *    it: it is an upper bound, "off CPU" a lower one;
 *  - a daemon's traced work the model attributes to a step (a COPY's
 *    writes, snapshot syncs) is a process frame under the step whose
 *    value is its syscall time (no lifetime: daemons outlive steps),
 *    scaled down when it adds up to more than the step's processes leave
 *    of the step (threads in calls at the same time);
 *  - what is left of a step is "(engine work, no traced process)":
 *    BuildKit's own work the kernel did not show us (a COPY's, an
 *    export's, a step whose work was not traced at all).
 * Not traced by the kernel side: time in wait4, poll/epoll_wait, futex,
 * nanosleep, recv/send on a socket (npm's downloads wait in epoll_wait).
 * The process's CPU time tells it from running ("off CPU"); without it
 * the frame is named for both (a parent waiting on its child is covered
 * by the child's frame anyway).
 *
 * Metrics bytes and ops: the same build -> step -> process tree, values
 * bytes read, written and copied / calls, each process's own under
 * "syscall -> file path" leaves (paths as people read them,
 * lp_model_display_path; pipes and sockets as "pipe", "socket"); events
 * of no step under "(outside build steps)". No rule about time applies.
 *
 * Node names are plain UTF-8 text, not sanitized for any format
 * (lp_folded_frame, lp_xml_str do that). Children are in display order:
 * steps in build order, then the gap; processes before states; processes
 * by start (time: a daemon's frame, which has none, first) or by value
 * (bytes, ops); states in enum order; the rest by value, largest first.
 */
#ifndef LAYERPROF_FLAME_H
#define LAYERPROF_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lp_model;
struct lp_reader;

/* What a flame graph's width measures (`export --metric`). */
enum lp_export_metric { LP_METRIC_TIME = 0, LP_METRIC_BYTES, LP_METRIC_OPS };

enum lp_flame_kind {
	LP_FLAME_BUILD = 0,     /* the root, node 0 */
	LP_FLAME_STEP,          /* a build step (lp_flame_node.step) */
	LP_FLAME_PROC,          /* a traced process (lp_flame_node.proc) */
	LP_FLAME_STATE,         /* time: a part of a process's self time (.state) */
	LP_FLAME_SYSCALL,       /* a syscall: under a state (time) or a process (bytes, ops) */
	LP_FLAME_PATH,          /* bytes, ops: a file path under its syscall */
	LP_FLAME_GAP,           /* time no traced process accounts for (named in parentheses) */
};

/* Where a process's self time went (metric time). */
enum lp_flame_state {
	LP_FST_NONE = 0,
	LP_FST_RUNNING,         /* "running or untraced wait": in no traced syscall (on
				 * CPU, or in a call layerprof does not trace: wait4,
				 * poll, futex...), CPU time unknown (old traces,
				 * processes still running at the end) */
	LP_FST_ON_CPU,          /* "on CPU": in no traced syscall, on a CPU */
	LP_FST_OFF_CPU,         /* "off CPU, untraced wait (...)": in no traced syscall,
				 * off CPU: sleeping, in epoll_wait, futex, wait4... */
	LP_FST_FILE_IO,         /* "file I/O": read/write on files, opens, stats,
				 * renames, unlinks, syncs, in-kernel copies */
	LP_FST_PIPE,            /* "waiting on pipe": read/write on a pipe */
	LP_FST_SOCKET,          /* "waiting on socket": read/write on a socket */
	LP_FST_FD_UNKNOWN,      /* "waiting on fd N, kind unknown": read/write on an fd
				 * that is no file the trace opened, in a recording made
				 * before fds had kinds (lp_ev_fd_io.fd_mode 0) */
	LP_FST_OTHER_FD,        /* "other fd I/O": devices, eventfds, timerfds */
	LP_FST_MOUNT,           /* "mounts": mount/umount of layers */
	LP_FST_OTHER,           /* "other syscalls": exec, dup, fcntl, chdir, ... */
	LP_FST_NR
};

struct lp_flame_node {
	const char *name;       /* never NULL or empty; owned by the tree */
	enum lp_flame_kind kind;
	enum lp_flame_state state; /* LP_FLAME_STATE (and the SYSCALL nodes under one), else NONE */
	int parent;             /* -1 for the root */
	int first_child, next_sibling; /* -1 none; children in display order */
	int depth;              /* root 0, steps 1 */
	uint64_t value;         /* ns, bytes or calls (lp_flame.metric) */
	int step;               /* model step index of this node and everything under it, -1 none */
	int proc;               /* model process index (PROC and below), -1 none */
	uint64_t start_ns, end_ns; /* STEP, PROC: the interval it covers (CLOCK_MONOTONIC,
				    * cut as the rules say); 0 unknown */
	int fd;                 /* LP_FST_FD_UNKNOWN states: the fd, else -1 */
};

struct lp_flame {
	enum lp_export_metric metric;
	struct lp_flame_node *nodes; /* nodes[0] is the build */
	size_t n;
	uint64_t wall_ns;       /* the build's wall time (lp_build.wall_ns) */
	bool steps_overlap;     /* time: steps' times sum to more than wall_ns */
	uint64_t folded_paths;  /* bytes/ops: events whose path was folded into its
				 * directory (more distinct paths than LP_FLAME_PATH_BUDGET) */
	int max_depth;
	void *priv;             /* the names' storage */
};

/* Distinct (process, syscall, path) leaves kept with their own path; past
 * it, new paths fold into their directory (its name and a star), past twice as many into "(other paths)". */
#define LP_FLAME_PATH_BUDGET 400000u

/*
 * Build the tree of one metric from the model and a pass over the reader
 * (rewound first). 0, or -1 with err filled (nothing to free then).
 */
int lp_flame_build(const struct lp_model *m, struct lp_reader *r, enum lp_export_metric metric,
		   struct lp_flame *f, char *err, size_t errlen);
void lp_flame_free(struct lp_flame *f);

/* The process a process is drawn under: its nearest ancestor in the same
 * step whose lifetime holds its own (a process that outlives its parent
 * goes under a grandparent), -1 for none (it is a top process of its
 * step). Lifetimes: fork (else exec) to exit, no exit = still running. */
int lp_flame_proc_parent(const struct lp_model *m, int proc);

/* "running", "file I/O", "waiting on pipe", ... (the state nodes' names,
 * except LP_FST_FD_UNKNOWN's, which names its fd). */
const char *lp_flame_state_name(enum lp_flame_state s);
/* "build", "step", "process", "state", "syscall", "path", "gap" */
const char *lp_flame_kind_name(enum lp_flame_kind k);

/*
 * The value of each node's [start, end) on one axis: node i covers
 * [off[i], off[i] + value) in units of the metric, children laid out left
 * to right from their parent's offset. For drawing (svg, html) and for
 * whole-unit exports that must keep sums: lp_flame_rounded() gives node
 * i's value in units of `div` (1000: µs from ns) as the difference of its
 * rounded end and start offsets, so any node's children sum to within one
 * unit of it and a step's total is its rounded time.
 */
uint64_t *lp_flame_offsets(const struct lp_flame *f);
uint64_t lp_flame_rounded(const struct lp_flame *f, const uint64_t *off, int i, uint64_t div);

#endif /* LAYERPROF_FLAME_H */
