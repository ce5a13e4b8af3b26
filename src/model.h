/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The model of one recording: what `report`, `export` and `diff` reason about.
 *
 *   reader -> lp_model_load (model_load.c drives the stages: two streaming
 *             passes, correlation, attribution, findings; see
 *             docs/architecture.md, "The offline pipeline")
 *
 * The model keeps aggregates, never every event: processes, steps, one row
 * per (step, path) of file activity, the build context manifest and the
 * findings. A 10M-event trace loads in well under 512 MiB (bench/gen_trace.c,
 * 10M events, ~1M distinct paths: ~340 MiB peak RSS, the trace's compact
 * copy included; model_load.c says how it is read once).
 *
 * Several daemons may be traced at once: the one serving the build is the
 * one listening where the CLI's -H points (else the writer of the context
 * snapshot); the others' work is attributed to no step.
 *
 * Exporters that need per-event detail make their own pass over a reader
 * (with their own lp_resolver) and ask the model who did what (these are
 * attribution.c's; docs/architecture.md, "Attribution"):
 *   lp_model_proc_at()       the process (with its role and step) of a tgid at ts
 *   lp_model_event_step()    the step an event belongs to (daemon-side COPY
 *                            work is attributed by path and time window)
 *   lp_model_display_path()  a host path as a person reads it: container-
 *                            relative inside a RUN, context-relative for
 *                            context files, absolute otherwise
 *
 * Indexes: steps, processes, files and context files are arrays; a "step
 * index" is a position in model->steps (-1: no step). All times are
 * CLOCK_MONOTONIC ns, the BPF clock (lp_hdr.ts); 0 means unknown.
 * Everything is owned by the model and freed by lp_model_free().
 */
#ifndef LAYERPROF_MODEL_H
#define LAYERPROF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerprof/abi.h"

struct lp_reader;
struct lp_dockerfile;

/* ------------------------------------------------------------ aggregates */

/* Activity of a step or a process. */
struct lp_agg {
	uint64_t procs;            /* processes (steps: processes attributed) */
	uint64_t execs;            /* successful execs */
	uint64_t forks;
	uint64_t files_read;       /* steps: distinct paths read; processes: read-only opens */
	uint64_t files_written;    /* steps: distinct paths written or created; processes: opens for writing */
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t read_ns, write_ns;   /* time inside read/write calls */
	uint64_t opens, open_fails;
	uint64_t enoent;           /* failed lookups/opens with ENOENT */
	uint64_t copy_bytes;       /* copy_file_range/sendfile/splice bytes */
	uint32_t chown, chmod, utimens, stat_ok; /* lp_counts from exits */
	/* Per syscall: calls, failures, time inside the call, for the
	 * syscalls this step/process made (sparse; read it with lp_agg_sc()).
	 * READ/WRITE hold the per-fd aggregates of their whole families. */
	struct lp_sc_stat *sc;
	uint16_t nsc, capsc;
};

struct lp_sc_stat {
	uint16_t sc;            /* enum lp_sc */
	uint32_t calls, fails;
	uint64_t ns;
};
/* Calls/failures/time of syscall sc in a (all zero when it made none). */
struct lp_sc_stat lp_agg_sc(const struct lp_agg *a, unsigned sc);

/*
 * Layer provenance (provenance.c; docs/architecture.md, "Layer
 * provenance"): what a RUN or COPY/ADD step did to the files of its
 * stage's file system, as the layers hold them. Every layer stays in the
 * image: a file a later step deletes or writes again still takes its
 * bytes in the earlier step's layer. Files no step of the trace wrote
 * (the base image's, a cached step's) have no known bytes.
 */
struct lp_layer_counts {
	uint32_t created;       /* files whose first version in the trace this step made */
	uint32_t overwritten;   /* files of an earlier layer it wrote again (or removed and made again) */
	uint32_t deleted;       /* files of an earlier layer it removed */
	uint64_t bytes;         /* bytes its layer holds of the files it made (measured writes) */
	uint64_t overwritten_bytes, deleted_bytes; /* the earlier layers' bytes of those files */
	uint32_t unsized;       /* of the overwritten and deleted, those whose earlier version no
				 * step of the trace made (the base image's, a cached step's):
				 * their bytes are not in the two above */
};

/* One version of a file that a later step replaced or removed. */
struct lp_layer_change {
	int from, to;           /* step indexes: whose layer holds the old version (-1: no step
				 * of the trace made it, the base image's or a cached step's:
				 * only when `to` removed it and made it again); the later step */
	bool deleted;           /* removed (else written again) */
	bool link;              /* the old version was a symbolic link, or no step of the
				 * trace made it and the new one is (no file data: the
				 * layer findings leave it out) */
	uint64_t bytes;         /* the old version's bytes, as `from` wrote them */
	const char *stage, *path; /* container path */
};

/* A read of a file version that had replaced an earlier step's version. */
struct lp_layer_read {
	int step;               /* the reader */
	int copy_of;            /* the step whose version it read */
	int replaced;           /* the step whose version that one replaced (-1: none of the trace's) */
	const char *stage, *path;
};

/* ----------------------------------------------------------------- steps */

enum lp_step_kind {
	LP_STEPK_OTHER = 0,     /* an instruction without file work (WORKDIR, ENV...) */
	LP_STEPK_FROM,          /* FROM / [internal] load metadata for ... */
	LP_STEPK_RUN,
	LP_STEPK_COPY,          /* COPY and ADD */
	LP_STEPK_LOAD_DOCKERFILE,   /* [internal] load build definition from Dockerfile */
	LP_STEPK_LOAD_DOCKERIGNORE, /* [internal] load .dockerignore */
	LP_STEPK_LOAD_CONTEXT,      /* [internal] load build context */
	LP_STEPK_LOAD_METADATA,     /* [internal] load metadata for IMAGE */
	LP_STEPK_EXPORT,            /* exporting to image */
	LP_STEPK_INTERNAL,          /* any other [internal] / non-Dockerfile vertex */
};

/* Where a step's shown time comes from (step_times.c). */
enum lp_time_source {
	LP_TIME_NONE = 0,       /* cached, or never seen working: no time */
	LP_TIME_KERNEL,         /* RUN: its runc tree's lifetime; COPY/ADD/export:
				 * first to last kernel event of its work; context: the
				 * transfer's first to last read/write */
	LP_TIME_PROGRESS,       /* BuildKit's "DONE 1.2s", else its progress lines */
	LP_TIME_ENGINE,         /* --progress=rawjson: the vertex's own started and
				 * completed times, as the engine reported them */
};

enum lp_step_status {
	LP_STEP_UNKNOWN = 0,    /* seen started, never finished (trace cut?) */
	LP_STEP_DONE,
	LP_STEP_CACHED,
	LP_STEP_ERROR,
	LP_STEP_CANCELED,
};

struct lp_step {
	int index;              /* position in model->steps */
	int num;                /* BuildKit vertex number N of "#N" */
	char id[16];            /* "#N" */
	char *name;             /* "[3/5] COPY . ." (vertex name as printed) */
	char *stage;            /* "builder", "stage-0", "internal", "" */
	int stage_step, stage_steps; /* i/n of "[stage i/n]"; 0 when absent */
	char *instruction;      /* "RUN", "COPY", "ADD", "FROM", ... or "" */
	char *args;             /* instruction text after the keyword ("npm ci"), or "" */
	enum lp_step_kind kind;
	int dockerfile_line;    /* 1-based, 0 = unknown */
	bool cached;            /* "#N CACHED" */
	bool cacheable;         /* a Dockerfile instruction that can hit the cache */
	enum lp_step_status status;
	char *error;            /* "#N ERROR ..." text (+ context lines), or NULL */
	uint64_t start_ns;      /* first progress line of the vertex (when the CLI
				 * printed it: late, in bursts; attribution windows) */
	uint64_t end_ns;        /* DONE/CACHED/ERROR line (or last line seen) */
	double reported_s;      /* "DONE 1.2s" value, -1 when absent */
	/* --progress=rawjson: the vertex's first start and last completion as
	 * the engine reported them, on the kernel's clock (CLOCK_MONOTONIC,
	 * mapped through META's clock pair); 0 when unknown */
	uint64_t e_start_ns, e_end_ns;
	uint64_t e_active_ns;   /* the sum of its active intervals (what DONE
				 * prints; less than end - start when it paused) */
	/* First and last kernel-observed activity attributed to the step
	 * (pass 2: the daemon's work on its layer, its container's syscalls
	 * and I/O), 0 when none. */
	uint64_t k_first_ns, k_last_ns;
	/* The step's time as every view shows it (step_times.c): from the
	 * kernel when its work was seen, else from progress lines. */
	uint64_t t_start_ns, t_end_ns;
	enum lp_time_source time_src;
	/* COPY/ADD: sources and destination as written ("package.json", "."),
	 * destination resolved against WORKDIR ("/app/"), or NULL. */
	char **copy_srcs;
	size_t ncopy_srcs;
	char *copy_dst;
	bool copy_from_stage;   /* COPY --from=...: sources not from the context */
	/* RUN: the runc container id (buildkit/executor/<id>) and its rootfs
	 * prefix on the host, when found. */
	char *container_id;
	char *rootfs;
	/* COPY/ADD: the snapshot dir written into (<data-root>/overlay2/<id>). */
	char *snapshot_dir;
	struct lp_agg agg;
	/* Context-relative paths read by this step that came from the context
	 * (COPY: the copied context files; RUN: files read in the container
	 * that a COPY placed there). Sorted, unique. */
	char **reads_from_context;
	size_t nreads_from_context;
	int first_proc;         /* index of its top process (runc or sh), or -1 */
	bool inferred;          /* made from kernel evidence, not progress lines (infer.h) */
	/* Evidence for a failed step, gathered while loading (analyze.c reads it):
	 * its last progress lines (at most 12, oldest first), the failed
	 * lookups of its own command ("open(\"x\") = -ENOENT (sh, pid 7)", at
	 * most 50) and the paths those looked for (unique). */
	char **log_tail;
	size_t nlog_tail;
	char **enoent_evidence;
	size_t nenoent_evidence;
	char **missing_paths;
	size_t nmissing_paths;
	/* RUN, COPY/ADD: what it did to the files of its stage (layer provenance) */
	struct lp_layer_counts layer;
};

/* ------------------------------------------------------------- processes */

enum lp_role {
	LP_ROLE_OTHER = 0,      /* traced, none of the below */
	LP_ROLE_DAEMON,         /* dockerd, containerd, buildkitd, shims */
	LP_ROLE_RUNC,           /* runc and its runc:[N:...] stages */
	LP_ROLE_CONTAINER,      /* a process inside a RUN step's container */
	LP_ROLE_CLI,            /* the traced command (docker build) and its children */
};

struct lp_proc {
	int index;              /* position in model->procs */
	uint32_t pid, ppid;
	int parent;             /* index of the parent lp_proc, or -1 */
	char comm[LP_COMM_LEN]; /* last comm */
	char *exe;              /* last exec'd file, or NULL */
	char **argv;            /* last exec's argv, argc entries (may be 0) */
	int argc;
	uint64_t start_ns;      /* fork (or first sight), 0 = before the recording */
	uint64_t exec_ns;       /* last exec */
	uint64_t end_ns;        /* exit, 0 = still running at the end */
	bool exited;
	int exit_code;          /* exit status (WEXITSTATUS), 128+sig when signalled */
	uint32_t exit_raw;      /* as the kernel encodes it */
	uint64_t cpu_ns;        /* time on a CPU, all threads (exit record), 0 = unknown:
				 * still running at the end, or a trace made before */
	int step;               /* step index or -1 */
	enum lp_role role;
	bool seeded;            /* running before the recording began */
	struct lp_agg agg;
};

/* ----------------------------------------------------------------- files */

/* How lp_file.path is written. */
enum lp_path_space {
	LP_PATH_HOST = 0,       /* absolute host path */
	LP_PATH_CONTAINER,      /* container-relative, absolute ("/app/package.json") */
	LP_PATH_CONTEXT,        /* context-relative ("src/app.js") */
	LP_PATH_SNAPSHOT,       /* relative to a snapshot dir: "<id>/diff/..." */
};

/* File activity of one step on one path (step -1: not attributed). */
struct lp_file {
	int step;
	char *path;             /* as displayed (see space) */
	enum lp_path_space space;
	uint32_t opens, open_fails, creates;
	int first_errno;        /* first failure's errno (positive), 0 none */
	uint64_t rbytes, wbytes;
	uint64_t rns, wns;      /* read/write time */
	uint64_t open_ns;       /* time inside open calls */
	uint64_t first_ts;
	bool read, written;     /* opened for reading / for writing (or created) */
	int ctx;                /* index in model->ctx_files when it is a context file, else -1 */
};

/* ------------------------------------------------------- build context */

struct lp_ctx_file {
	char *path;             /* context-relative */
	uint64_t size;
	int64_t mtime_ns;
	uint32_t mode;
	bool in_manifest;       /* listed by record (LP_REC_CONTEXT_FILE) */
	bool sent;              /* written into the context snapshot in this build */
	bool added;             /* sent, and new to the daemon */
	bool changed;           /* sent, replacing an older copy (.tmp + rename) */
	uint64_t sent_bytes;
	uint32_t readers;       /* steps that read it (the transfer itself excluded) */
	int first_reader;       /* step index, or -1 */
	bool copied;            /* a COPY/ADD read it */
	bool read_in_run;       /* a RUN read the copy a COPY placed in the container */
	bool secret;            /* name looks like a secret (.env, id_rsa, *.pem...) */
};

struct lp_context {
	char *dir;              /* META build.context (host path), or NULL */
	char *snapshot_dir;     /* the local-source snapshot written during the transfer */
	int step;               /* the "[internal] load build context" step, or -1 */
	uint64_t start_ns, end_ns;
	uint64_t manifest_files, manifest_bytes;   /* from LP_REC_CONTEXT_FILE */
	/* The build context as every view shows it: the manifest record made
	 * when it had one; else (attach mode: no command, no file list) what
	 * the kernel saw the transfer write into the context snapshot. */
	uint64_t files, bytes;
	bool from_transfer;     /* files/bytes are the transfer's (no manifest) */
	uint64_t sent_files, sent_bytes;           /* written into the snapshot */
	uint64_t added_files, changed_files;
	uint64_t write_ns;      /* time inside the daemon's writes */
	uint64_t transfer_ns;   /* first to last kernel-observed transfer I/O (CLI reads,
				 * daemon writes into the snapshot); else the step's time */
	uint64_t commit_ns;     /* after the transfer, the snapshot's commit (the writing
				 * thread's syncs, step_times.c) until the step ended;
				 * nothing sent: the daemon's syncs after the walk */
	/* The build client's walk of the context, compared with the daemon's
	 * snapshot before (or instead of) any file is sent: its first and last
	 * directory opened (model_pass2.c ctx_walk). Most of a rebuild's
	 * context step, growing with the context's size. */
	uint64_t walk_start_ns, walk_end_ns;
	uint64_t walk_ns;       /* walk_start_ns to the transfer's start (or the walk's end) */
	uint64_t commit_end_ns; /* where the commit ended (step_times.c) */
	/* The rest of the step, with the engine's times: its vertex before the
	 * walk, between its parts and after the commit, where the kernel saw
	 * no work of the client's or on the snapshot's files (the engine
	 * prepares the snapshot and opens the session: 3-30 ms of a small
	 * context's 4-40). walk + transfer + commit + engine = the step's
	 * wall. Not BuildKit's active time: its vertex pauses while the
	 * client walks. */
	uint64_t engine_ns;
};

/* Layer/snapshot machinery costs (whole build; per step in lp_step.agg). */
struct lp_snapshot_costs {
	uint64_t mounts, mount_ns;
	uint64_t umounts, umount_ns;
	uint64_t fsyncs, fsync_ns;          /* fsync, fdatasync, syncfs, sync_file_range */
	uint64_t renames, rename_ns;
	uint64_t copies, copy_ns, copy_bytes;   /* copy_file_range/sendfile/splice */
	uint64_t xattrs, mknods, links, unlinks;
	uint64_t export_ns;                 /* "exporting to image" wall time */
	uint64_t export_steps;              /* how many export steps there were: 0 when
					     * the result was not exported (a
					     * container builder without --load) */
	uint64_t export_bytes_read;         /* bytes the daemon read while exporting */
	uint64_t export_bytes_written;      /* layer/image db bytes written while exporting */
	uint64_t layer_bytes_written;       /* bytes written under snapshot dirs by all steps */
};

/* -------------------------------------------------------------- findings */

enum lp_finding_kind {
	LP_FIND_LAYER_ORDER = 0,
	LP_FIND_CACHE_MISS,
	LP_FIND_CONTEXT_BLOAT,
	LP_FIND_SECRET,          /* "secret-in-context" */
	LP_FIND_FAILED_STEP,
	LP_FIND_SNAPSHOT_COST,
	LP_FIND_SLOW_TRANSFER,
	LP_FIND_CLOBBERED,       /* "clobbered-files" (layer_findings.c) */
	LP_FIND_WASTED_LAYER,    /* "wasted-layer-bytes" */
	LP_FIND_SECRET_IN_LAYER, /* "secret-in-layer" */
	LP_FIND_NR
};

struct lp_finding {
	enum lp_finding_kind kind;
	int step;               /* step index or -1 */
	char *message;          /* one sentence */
	char **paths;           /* evidence paths (display form), npaths */
	size_t npaths;
	size_t npaths_total;    /* evidence paths in all: paths holds the first
				 * npaths of them (long lists are cut) */
	char *suggestion;       /* the concrete edit, may span lines */
	char **evidence;        /* lines of kernel evidence, nevidence */
	size_t nevidence;
	char *edit_before;      /* Dockerfile/.dockerignore snippet before, or NULL */
	char *edit_after;       /* ... and after, or NULL */
	int64_t savings_ms;     /* estimated; 0 none */
	int64_t savings_bytes;
};

/* ----------------------------------------------------------------- model */

/* A growable list of u32 (process ids). */
struct lp_u32v {
	uint32_t *v;
	size_t n, cap;
};
void lp_u32v_push(struct lp_u32v *l, uint32_t x);
bool lp_u32v_has(const struct lp_u32v *l, uint32_t x);

struct lp_build {
	bool failed;            /* a step errored or the command failed */
	bool not_exported;      /* steps ran, none exported the result (buildx with a remote or
				 * container builder and no --output/--load): no image to size */
	char *error;            /* the build's final error line ("failed to solve: ..."), or NULL */
	char **errors;          /* the progress stream's error lines, nerrors */
	size_t nerrors;
	bool cold;              /* nothing was cached and no context file was re-sent: first build */
	int command_status;     /* traced command's exit status, -1 unknown */
	char *command;          /* traced command line, or NULL */
	/* buildx's builder and its driver ("#0 building with "NAME" instance
	 * using DRIVER driver"), or NULL (an older CLI, attach mode) */
	char *builder, *builder_driver;
	/* "rawjson" (SolveStatus lines, exact vertex times) or "plain"; NULL
	 * when no progress stream was recorded */
	const char *progress_format;
	/* META: start_realtime_ns - start_monotonic_ns, to put wall-clock
	 * times (rawjson's) on the kernel's clock; has_clock_pair when known */
	int64_t realtime_minus_mono_ns;
	bool has_clock_pair;
	char *context_dir, *dockerfile_path, *dockerfile_text; /* META build.* */
	char *target;           /* META build.target: docker build --target, or NULL */
	/* a build of a session (session.h): its index (0-based), its docker
	 * CLI, and whether another build ran at the same time; -1/0/false when
	 * the model is of the whole recording */
	int session_index;
	uint32_t session_pid;
	bool session_overlaps;
	/* session builds: the containers (runc pids) of its RUN steps, and
	 * those its daemon ran in its time that run none of its commands:
	 * other builds' (a sibling's, or someone else's on a shared daemon),
	 * kept out of its steps */
	struct lp_u32v own_containers, other_containers;
	char *docker_host;      /* META build.docker_host: -H, else DOCKER_HOST, else NULL */
	char *engine_version;   /* the build daemon's `--version` line (trailer), or NULL */
	struct lp_dockerfile *dockerfile; /* dockerfile_text parsed (dockerfile.h), or NULL */
	char **data_roots;      /* traced daemons' data-root(s) */
	size_t ndata_roots;
	uint64_t start_ns, end_ns;   /* first and last progress line (or event) */
	uint64_t wall_ns;
	bool wall_from_command; /* start..exit of the traced command, not progress lines */
	bool steps_inferred;    /* no progress stream (attach mode): steps from kernel evidence,
				 * cache hits invisible (infer.h) */
	size_t steps;           /* Dockerfile steps (internal vertices excluded) */
	size_t cached_steps;
	size_t cacheable_steps;
	double cache_hit_rate;  /* cached / cacheable, 0..1; -1 when no cacheable step */
	/* One name per count, everywhere (record, report, dump, JSON):
	 * events are what the kernel side sent (kinds < 0x80: syscalls, fd
	 * aggregates, fork/exec/exit), records everything in the file (the
	 * events and the recorder's own: progress lines, context manifest,
	 * seeded processes). `record` prints both. */
	uint64_t events;        /* kernel events read */
	uint64_t records;       /* records read */
	uint64_t lost_events;   /* trailer's lost counts, all reasons */
	uint64_t lost_by_reason[LP_LOST_NR];
	bool truncated;         /* no trailer or damaged: partial recording */
	char trace_message[256];/* the reader's account of what it recovered */
	/* Final image size: from the trailer/META "image" info when record
	 * provides it, else the sum of bytes written into layers. Never for a
	 * failed build: it produced no image (an "image inspect" size would be
	 * an older image of the same tag): 0 and NULL source, "not measured". */
	uint64_t image_bytes;
	const char *image_bytes_source; /* "image inspect" | "layer bytes written" | NULL */
	char *image_ref;        /* -t tag, when known */
};

struct lp_model {
	struct lp_build build;
	struct lp_step *steps;     size_t nsteps;
	struct lp_proc *procs;     size_t nprocs;
	struct lp_file *files;     size_t nfiles;     /* sorted by (step, path) */
	struct lp_ctx_file *ctx_files; size_t nctx_files; /* sorted by path */
	struct lp_context context;
	struct lp_snapshot_costs snap;
	struct lp_finding *findings; size_t nfindings;  /* most valuable first */
	struct lp_agg unattributed; /* activity of no step (daemon housekeeping) */
	/* Layer provenance, in trace order (owned by the model's internals) */
	const struct lp_layer_change *layer_changes; size_t nlayer_changes;
	const struct lp_layer_read *layer_reads; size_t nlayer_reads;
	void *priv;                /* internal indexes */
};

struct lp_session_build;
struct lp_model_options {
	bool no_findings;          /* skip analysis (exporters that only attribute) */
	/* skip layer provenance (which version of a file each step placed,
	 * read or replaced) and the reads from the context it decides: ~15 %
	 * of the load of a big trace, for views that show neither (the flame
	 * graphs). Implies no_findings: findings are made from them. Steps'
	 * layer counts, layer_changes/reads and RUN steps' reads_from_context
	 * stay empty (a COPY's come from the daemon's reads, and stay). */
	bool no_provenance;
	/* model this build of the recording's session only (session.h);
	 * NULL: the recording as one build */
	const struct lp_session_build *build;
	size_t nbuilds;            /* builds of that session, for the progress line */
	/* called with every record pass 1 reads, in trace order, valid or not:
	 * a view's pre-pass that needs no model rides on the model's own read
	 * of the trace instead of decoding it once more (export_chrome.c) */
	void (*observe)(void *arg, const struct lp_hdr *h);
	void *observe_arg;
	/* keep what pass 2 read of the trace for lp_model_replay(): a view's
	 * own pass over the records then decodes nothing (the flame graph of
	 * time). Memory: the tape (a few bytes a record) stays until
	 * lp_model_free(). Not with a session build. */
	bool keep_tape;
	/* with keep_tape: lp_model_replay() gives every valid record of the
	 * trace, in its order, each with its thread, for a view that shows
	 * them all (the Perfetto and Chrome traces): the tape keeps every
	 * record's thread (~2 MB more a million records), and what it holds
	 * in part or not at all (execs and forks with their names, exec
	 * arguments, progress lines, context files...) is copied aside as
	 * pass 1 reads the trace */
	bool replay_all;
};

/*
 * Load the model of the trace at PATH. NULL + one line in err when the file
 * cannot be read as a trace (missing, not ours, newer, no META). A damaged or
 * truncated trace loads what was recovered and sets build.truncated.
 */
struct lp_model *lp_model_load(const char *path, const struct lp_model_options *opt,
			       char *err, size_t errlen);
/* Same on an open reader (rewound and read to the end; caller closes it). */
struct lp_model *lp_model_from_reader(struct lp_reader *r, const struct lp_model_options *opt,
				      char *err, size_t errlen);
void lp_model_free(struct lp_model *m);
/* The same at the end of a command (report, export): when the process
 * ends right after (lp_model_process_ends), the model is left to its exit,
 * where freeing its millions of blocks one by one took ~0.085 s of a
 * 10M-event export. A sanitizer build frees it all, so that its leak check
 * still accounts for every block. */
void lp_model_free_at_exit(struct lp_model *m);
/* Set by main() before it runs a command: the process ends when the
 * command returns. Unset, as in a fuzzer or a test that calls commands
 * again and again, lp_model_free_at_exit() frees. */
extern bool lp_model_process_ends;

/*
 * The syscall and fd I/O records of the trace again, in trace order, from
 * the model's tape (lp_model_options.keep_tape), without decoding the
 * trace: what the views need of them, with the paths resolved when the
 * trace was read. The record's fixed part holds its kind, tgid, ts, a
 * syscall's number, return, latency and an open's flags, an fd_io's fd,
 * counts, times, window and fd_mode, an exit's counts and CPU time; its
 * thread only with lp_model_options.replay_all (else 0 but for writes,
 * renames and syncs); no other arguments, no strings. With replay_all the
 * records the tape does not hold come as the trace has them (shown NULL).
 */
struct lp_model_rec {
	const struct lp_hdr *h;
	const char *shown;         /* lp_resolver_event_path() of a syscall,
				    * lp_resolver_fdio_path() of an fd_io */
	uint32_t shown_id;         /* the model's id of that path (0: none): the
				    * same id, the same path */
	const char *fd_path;       /* fd_io: lp_resolver_fd_path() of its fd
				    * (a file's I/O only: lp_fdio_is_path_io) */
};
/* Calls fn with each syscall, fd_io and exit record, in trace order; with
 * all, each valid record of the trace. False (and no call) when the model
 * kept no tape (not asked for, a session build, or dropped past its
 * budget), or, for all, was not loaded with replay_all: read the trace. */
bool lp_model_replay(const struct lp_model *m, bool all, void (*fn)(void *arg, const struct lp_model_rec *rec),
		     void *arg);

/* ------------------------------------------------- attribution helpers */

/* The process tgid was at time ts (pid reuse handled), or NULL. */
const struct lp_proc *lp_model_proc_at(const struct lp_model *m, uint32_t tgid, uint64_t ts);
/* A caller's one-entry cache of lp_model_proc_at (zeroed first): its last
 * answer holds for the same tgid while ts is at or after that process's
 * start and before the start of every newer process with that pid. */
struct lp_proc_hint {
	bool valid;
	uint32_t tgid;
	int idx;
	uint64_t lo, hi;
};
/* lp_model_proc_at through the hint h (consecutive records are mostly one
 * process's). The model must not gain processes while h is in use. */
const struct lp_proc *lp_model_proc_at_hint(const struct lp_model *m, struct lp_proc_hint *h, uint32_t tgid,
					    uint64_t ts);
/* Step index of process tgid at ts (-1: none). Daemon processes have no step
 * by themselves: use lp_model_event_step for their events. */
int lp_model_step_of(const struct lp_model *m, uint32_t tgid, uint64_t ts);
/*
 * Step index of one event. path: the event's resolved absolute path
 * (lp_resolve_path / lp_resolver_fd_path), or NULL. Container processes go
 * to their RUN step; daemon work goes to the COPY/ADD step whose snapshot
 * or destination matches path, or to the context transfer / export step by
 * path and time window; else -1.
 */
int lp_model_event_step(const struct lp_model *m, const struct lp_hdr *rec, const char *path);
/* The same with what the caller has at hand: p = lp_model_proc_at(m,
 * rec->tgid, rec->ts), and id, the model's id of path (lp_model_rec.shown_id;
 * 0: unknown), with which what depends on the path alone is worked out
 * once per path. */
int lp_model_event_step_p(const struct lp_model *m, const struct lp_hdr *rec, const struct lp_proc *p,
			  const char *path, uint32_t id);
/* Step index whose [start, end] contains ts, preferring the shortest; -1. */
int lp_model_step_at(const struct lp_model *m, uint64_t ts);
/*
 * When the fd of an LP_EV_FD_IO record was closed. Records are sent at
 * close (hdr.ts), but what is still in the kernel's per-fd table when the
 * recording ends is drained with LP_FDIO_DRAINED and the drain's time; for
 * a process that had exited by then, the fd was closed at its exit: that
 * time is returned and *still_open (may be NULL) is false. *still_open is
 * true only for an fd of a process still running at the end.
 */
uint64_t lp_model_fdio_close_ts(const struct lp_model *m, const struct lp_ev_fd_io *e, bool *still_open);
/*
 * A host path as a person reads it, for step (-1 allowed): container-
 * relative under the step's rootfs or any overlay2/<id>/merged, context-
 * relative under the context snapshot (also seen through the daemon's
 * temporary buildkit-mount bind mounts) or the context dir, else as given.
 * Returns buf (or path itself when unchanged). *space gets the kind.
 * Paths of LP_ROLE_CONTAINER processes are already container paths: show
 * them as they are (they are not host paths).
 */
const char *lp_model_display_path(const struct lp_model *m, int step, const char *path,
				  char *buf, size_t len, enum lp_path_space *space);

/* ---------------------------------------------------------------- lookups */

/* Step by "#N" (or "N"), -1 when absent. */
int lp_model_find_step(const struct lp_model *m, const char *id);
/* Context file by context-relative path, or NULL. */
const struct lp_ctx_file *lp_model_ctx_file(const struct lp_model *m, const char *path);
/* Files of one step: *n rows starting at the returned pointer (files are
 * sorted by step). step -1 gives the unattributed rows. */
const struct lp_file *lp_model_step_files(const struct lp_model *m, int step, size_t *n);

/* Stable names: "layer-order", "cache-miss", "context-bloat",
 * "secret-in-context", "failed-step", "snapshot-cost", "slow-transfer",
 * "clobbered-files", "wasted-layer-bytes", "secret-in-layer". */
const char *lp_finding_kind_name(enum lp_finding_kind k);
/* "other", "daemon", "runc", "container", "cli" */
const char *lp_role_name(enum lp_role r);
/* "done", "cached", "error", "canceled", "unknown" */
const char *lp_step_status_name(enum lp_step_status s);
/* A step's duration and start (CLOCK_MONOTONIC ns, 0 unknown): the one
 * definition of a step's time (report, JSON, diff, every export). From
 * the kernel when the step's work was seen (lp_step.time_src), else
 * BuildKit's "DONE 1.2s", else its progress lines; 0 for cached steps. */
uint64_t lp_step_wall_ns(const struct lp_step *s);
uint64_t lp_step_start_ns(const struct lp_step *s);
uint64_t lp_step_end_ns(const struct lp_step *s);
/* "kernel", "progress", "none" */
const char *lp_time_source_name(enum lp_time_source t);
/* Is s a Dockerfile step ("[stage i/n] INSTR ...", counted in build.steps)? */
bool lp_step_is_dockerfile(const struct lp_step *s);
/* Does s count in build.cache_hit_rate = cached_steps / cacheable_steps?
 * Dockerfile steps other than FROM (a base image is resolved, not cached). */
bool lp_step_counts_for_cache(const struct lp_step *s);
/* Whether a context-relative path looks like a secret (.env, *.pem, id_rsa*...). */
bool lp_path_is_secret(const char *ctx_path);
/* Whether a path lies in installed third-party packages (node_modules/,
 * site-packages/, .venv/, vendor/, target/...: an installer's output). */
bool lp_path_in_installed_packages(const char *path);
/* Its length up to the end of the first such directory ("/app/node_modules"
 * of "/app/node_modules/x/y.js"), 0 when it lies in none. */
size_t lp_path_installed_dir(const char *path);

#endif /* LAYERPROF_MODEL_H */
