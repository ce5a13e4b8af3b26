/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals shared by the stages that load the model (model_load.c drives
 * them: docs/architecture.md, "The offline pipeline"). Not an API: use
 * model.h. Findings (analyze.c) and exporters read the model through
 * model.h alone.
 */
#ifndef LAYERPROF_MODEL_INT_H
#define LAYERPROF_MODEL_INT_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "containers.h"
#include "model.h"
#include "util.h"

struct lp_provenance;
struct lp_prov_queue;

/* What pass 2 needs to know of one interned path, worked out the first
 * time (attribution and display are functions of the path once the
 * steps and snapshots are known; paths under a temporary bind mount
 * depend on the mounts of the moment and are never cached). */
struct lp_pinfo {
	uint8_t known;          /* PI_* bits: which fields below are set */
	uint8_t bkmount;        /* under a temporary mount (lp_tmpmount_at): not cacheable */
	uint8_t part;           /* enum lp_snap_part */
	uint8_t space_host, space_cont;
	uint8_t image_store;    /* lp_is_image_store_path() (PI_IMAGE_STORE) */
	uint16_t dir_len, rel_off;
	int16_t ctx_rel;        /* offset of the path in the context snapshot, -1: not in it */
	int32_t snap;           /* index in snaps of its snapshot dir, -1 */
	int32_t rootfs_step;    /* LP_SNAP_ROOTFS: the RUN step of that container, -1 */
	uint32_t disp_host, disp_cont; /* ids of the path as displayed */
	/* the file row last used for it, by a container process [1] or not
	 * [0]: step + 2 (0: none; step -1 is "no step") and index in files */
	int32_t file_step[2];
	uint32_t file_idx[2];
	/* the RUN step (+ 1) that last read it, and the number of context
	 * files then (container_read() done) */
	int32_t read_step;
	uint32_t read_gen;
	/* bkmount: the id of what it translates to (lp_model_translate), good
	 * while mnt_gen + 1 is trans_gen (0: not worked out) */
	uint32_t trans_id, trans_gen;
	/* layer provenance (model_pass2.c, layer_read): the step (+ 1) whose
	 * read of it was sent last, and prov_epoch then */
	int32_t prov_read_step;
	uint32_t prov_read_epoch;
};
#define PI_SPLIT     1u     /* part, dir_len, rel_off, snap, rootfs_step */
#define PI_DISP_HOST 2u
#define PI_DISP_CONT 4u
#define PI_CTXREL    8u
#define PI_IMAGE_STORE 16u  /* image_store */
#define PI_BASE      0x80u  /* bkmount */

/* ------------------------------------------------------------- snapshots */

/* How a host path falls into a layer snapshot. */
enum lp_snap_part {
	LP_SNAP_NONE = 0,
	LP_SNAP_DIFF,           /* <root>/overlay2/<id>/diff/... (parentless or upper) */
	LP_SNAP_MERGED,         /* <root>/overlay2/<id>/merged/... */
	LP_SNAP_FS,             /* containerd: .../snapshots/<n>/fs/... */
	LP_SNAP_TMPMOUNT,       /* .../buildkit-mount<n>/..., .../cachemounts/buildkit<n>/...
				 * (temporary mounts: lp_tmpmount_at) */
	LP_SNAP_ROOTFS,         /* .../buildkit/executor/<id>/rootfs/... */
};
/* Split a host path: *dir_len gets the length of the snapshot dir part
 * ("<root>/overlay2/<id>"), *rel the path inside the layer (no leading
 * slash, "" for the root). Returns LP_SNAP_NONE when not in a snapshot. */
enum lp_snap_part lp_snap_split(const char *path, size_t *dir_len, const char **rel);

/* A snapshot dir seen written by the daemon during the recording. */
struct lp_snap {
	char *dir;              /* "<root>/overlay2/<id>" */
	enum lp_snap_part part; /* of the first write */
	uint64_t first_ts, last_ts;
	uint64_t writes;        /* creates + renames + mkdirs + write fds */
	struct lp_smap paths;   /* rel paths written -> bytes index (unused: -1) */
	size_t ctx_matches;     /* rel paths that are context manifest entries */
	int step;               /* assigned step, or -1 */
	uint32_t writer;        /* pid of the daemon (family root) that wrote it */
	bool is_context;
};

/* Private part of the model (model->priv). */
struct lp_priv {
	struct lp_u64map pid_last;   /* pid -> last lp_proc index with that pid */
	int *pid_prev;               /* per proc: previous proc with the same pid, -1 */
	size_t pid_prev_cap;
	struct lp_smap step_by_num;  /* "N" -> step index */
	struct lp_smap ctx_idx;      /* ctx path -> ctx file index */
	struct lp_smap ctx_dirs;     /* every directory holding a manifest entry, and the empty ones it lists */
	struct lp_smap rfc_seen;     /* "step\x1fctxpath": reads_from_context dedup */
	struct lp_strv *step_rfc;    /* per step reads_from_context being built */
	char **first_cmd;            /* per proc: text of its first exec ("-c" script or argv) */
	struct lp_smap snap_idx;     /* snapshot dir -> index in snaps */
	struct lp_snap *snaps;
	size_t nsnaps, snaps_cap;
	size_t files_cap, procs_cap, steps_cap, ctx_cap, findings_cap;
	int ctx_snap;                /* index of the context snapshot, -1 */
	uint64_t lag_ns;             /* progress print lag tolerated in windows */
	uint64_t work_end_ns;        /* end of the last step that is not an export */
	/* Pending exec argv, per tgid (kept on the proc as pend_argv). */
	char ***pend_argv;           /* per proc: argv of an exec entered, not yet done */
	int *pend_argc;
	/* Per-step ENOENT evidence lines, and the paths, of the step's own
	 * (container) processes. */
	struct lp_strv *step_enoent;
	struct lp_strv *step_missing;
	/* .tmp.N file in the context snapshot -> bytes written (pending rename) */
	struct lp_smap tmp_idx;
	uint64_t *tmp_bytes;
	size_t ntmp, tmp_cap;
	/* The context snapshot's commit (step_times.c): BuildKit commits the
	 * snapshot after its last file and syncs its metadata db (fdatasync)
	 * before the vertex is done, 0.05-0.4 s on a busy disk. The ends of
	 * the writing process's syncs after its last write into the
	 * snapshot, in order, until the writing thread does something else.
	 * Any thread's: the Go runtime moves the goroutine that commits
	 * between threads (dockerd 29 syncs on another thread than the one
	 * that wrote the last file, 130-230 ms later). */
	uint32_t commit_tid;         /* the last write's thread; 0: no run open */
	uint32_t commit_tgid;        /* its process */
	/* The client's last open of the context's root before its walk
	 * began, where a walk found without the engine's times starts
	 * (model_pass2.c ctx_walk) */
	uint64_t ctx_root_open_ns;
	/* The ends of every sync of the build daemon (any thread), in trace
	 * order: a COPY's layer is committed after its last write, the same
	 * way (step_times.c copy_commit_end) */
	uint64_t *dsync_ts;
	size_t ndsync, dsync_cap;
	uint64_t *commit_ts;
	size_t ncommit, commit_cap;
	/* The daemon serving this build (several may be traced): the one the
	 * CLI's -H names, else the writer of the context snapshot. */
	uint32_t daemon_pid;
	bool daemon_known, daemon_tried;
	/* With the containerd image store, the containerd serving the build
	 * daemon unpacks and exports for it: its work is the build's too
	 * (lp_model_find_store_partner), 0 when none. */
	uint32_t store_pid;
	/* (tgid, fd) -> when the process opened/dup'ed it (pass 2): an fd used
	 * after an exec that the process did not open since is inherited, and
	 * the resolver cannot know it was close-on-exec */
	struct lp_u64map fd_opened;  /* (tgid << 32 | fd) -> ts */
	/* Bind mounts seen (temporary buildkit-mount dirs): target -> source */
	struct lp_smap mnt_idx;
	char **mnt_src;
	size_t nmnt, mnt_cap;
	uint32_t mnt_gen;           /* changes with every change of the mounts */
	/* Progress lines go to the shared parser (progress.h) in pass 1 */
	const struct lp_session_build *only; /* the session build modelled, or NULL */
	void (*observe)(void *arg, const struct lp_hdr *h); /* lp_model_options' */
	void *observe_arg;
	bool no_provenance;          /* lp_model_options': prov stays NULL */
	/* pass 2's tape, kept for lp_model_replay (lp_model_options.keep_tape);
	 * NULL when not asked for or dropped */
	struct lp_tape *kept_tape;
	bool replay_all;            /* lp_model_options.replay_all, with a tape */
	struct lp_progress *prog;
	/* a progress line cut into records (LP_PROGRESS_CONTINUES), per
	 * stream (1 stdout, 2 stderr), until its last piece */
	struct lp_buf progress_whole[2];
	/* Per proc: the role its comm/exe/argv give (lp_role_of_proc), cached
	 * while they do not change, and pass 2's daemon tests (PC_* bits). */
	uint8_t *pcache;
	/* the model's own last process lookup (lp_model_proc_at_cached) */
	struct lp_proc_hint pc;
	/* Pass 2 works on interned paths (model_pass2.c) */
	struct lp_strtab paths;
	struct lp_pinfo *pinfo;      /* [path id] */
	size_t npinfo;
	/* Is a container path still what a COPY placed there? (provenance.h) */
	struct lp_provenance *prov;
	struct lp_prov_queue *provq; /* pass 2's calls of prov, on its own thread (prov_queue.h) */
	uint32_t prov_epoch;         /* changes sent that may touch any path's
				      * ownership (layer_changed) */
	struct lp_u64map file_by_key; /* (step + 1 << 32 | shown path id) -> file index */
	/* [step]: does its command have a --mount? 0 not looked at yet, 1 no, 2 yes (pass 2) */
	uint8_t *step_mounts;
	size_t nstep_mounts;
};

static inline struct lp_priv *lp_priv(const struct lp_model *m)
{
	return (struct lp_priv *)m->priv;
}

/* ------------------------------------------- model_util.c: small helpers */

void lp_argv_free(char **v, int n);
/* What a process ran, as a Dockerfile RUN shows it: the script of
 * "sh -c SCRIPT", else the argv joined with blanks. */
char *lp_argv_cmd_text(char **argv, int argc);
/* A context-transfer temporary file (".tmp.N", renamed over the real
 * name once written): rel's last component. */
bool lp_is_transfer_tmp_name(const char *rel);
/* A file of the build definition, sent on its own before the context: a
 * Dockerfile (this build's, whatever its name) -> LP_STEPK_LOAD_DOCKERFILE,
 * a .dockerignore -> LP_STEPK_LOAD_DOCKERIGNORE, else LP_STEPK_OTHER. */
enum lp_step_kind lp_definition_file_kind(const struct lp_model *m, const char *rel);
/* An open(2) flags word that writes (or creates, or truncates). */
static inline bool lp_open_writes(uint64_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

/* ------------------------------------------------ model.c: data, lookups */

struct lp_proc *lp_model_proc_new(struct lp_model *m, uint32_t pid, uint64_t ts);
/* The proc with that pid at ts, created (unknown origin) when absent. */
struct lp_proc *lp_model_proc_get(struct lp_model *m, uint32_t pid, uint64_t ts);
/* lp_model_proc_at() / _get() for the passes, which see a process's
 * records in runs: the last answer is kept while it holds. */
const struct lp_proc *lp_model_proc_at_cached(struct lp_model *m, uint32_t tgid, uint64_t ts);
struct lp_proc *lp_model_proc_get_cached(struct lp_model *m, uint32_t tgid, uint64_t ts);
/* A new step #num named name (parsed like a progress vertex), started at ts. */
struct lp_step *lp_model_step_new(struct lp_model *m, int num, const char *name, uint64_t ts);
/* The aggregate of a step, or of no step (-1: model->unattributed). */
struct lp_agg *lp_model_step_agg(struct lp_model *m, int step);
struct lp_ctx_file *lp_model_ctx_get(struct lp_model *m, const char *path, bool create);
/* Note a directory of the context: path's ancestors, and path itself
 * when self (an empty directory the manifest lists). */
void lp_model_ctx_dir_put(struct lp_model *m, const char *path, bool self);
struct lp_finding *lp_model_finding_new(struct lp_model *m, enum lp_finding_kind k, int step);
void lp_finding_add_path(struct lp_finding *f, const char *path);
/* Free what a finding owns (not the finding itself). */
void lp_finding_free(struct lp_finding *f);
void lp_finding_add_evidence(struct lp_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The interned paths of the trace (pass 1 interns, pass 2 looks up). */
static inline uint32_t lp_model_intern(struct lp_model *m, const char *s)
{
	return s ? lp_strtab_intern(&lp_priv(m)->paths, s) : 0;
}
static inline const char *lp_model_path(const struct lp_model *m, uint32_t id)
{
	return lp_strtab_str(&lp_priv(m)->paths, id);
}

/* The most memory pass 1's tape of the trace may take (model_tape.c);
 * past it, pass 2 reads the trace again. Tests set 0 to take that road. */
extern uint64_t lp_model_tape_max;

/* ---------------------------------------------------- model_meta.c: META */

/* The META record's JSON (build context, Dockerfile, command, data roots,
 * image) and the trailer's (lost events, command status, image). */
void lp_model_parse_meta(struct lp_model *m, const char *meta_json);
/* A session build's LP_REC_BUILD JSON, over META's build fields. */
void lp_model_parse_session_build(struct lp_model *m, const char *json);
/* The `--version` line record got of daemon pid at the end of the
 * recording (trailer "daemon_versions"), malloc'd, or NULL. */
char *lp_model_daemon_version(const char *trailer, uint32_t pid);
/* Its image, from the trailer's "session_images" (record inspected it). */
void lp_model_parse_session_image(struct lp_model *m, const char *trailer);
void lp_model_parse_trailer(struct lp_model *m, const char *trailer_json);

/* --------------------------------------------- model_roles.c: processes */

/* The role a process's comm/exe/argv give by themselves (daemon, runc),
 * else OTHER. */
enum lp_role lp_role_of_proc(const struct lp_proc *p);
/* lp_role_of_proc(p), worked out again only after lp_model_role_changed(p)
 * (it is asked for nearly every event). */
enum lp_role lp_model_role_cached(const struct lp_model *m, const struct lp_proc *p);
void lp_model_role_changed(struct lp_model *m, const struct lp_proc *p);
/* The --bundle (-b) of a runc command line, or NULL; *is_run: it says "run". */
const char *lp_proc_runc_bundle(const struct lp_proc *p, bool *is_run);
/* Is p a build client itself (the docker CLI, its buildx plugin, buildx or
 * buildctl run alone), not a program the traced command runs beside it: a
 * script around the CLI, or the git that buildx runs for its provenance
 * labels, which reads .git/ in the context before any transfer? */
bool lp_proc_is_build_client(const struct lp_proc *p);
/* A daemon by its assigned or its own role. */
bool lp_model_is_daemonish(const struct lp_model *m, const struct lp_proc *p);
/* Is p the build's daemon or one of its descendants? (true when unknown) */
bool lp_model_in_build_daemon(const struct lp_model *m, const struct lp_proc *p);
/* The pid of the topmost daemon above p (p itself when it is one), or 0. */
uint32_t lp_model_daemon_root(const struct lp_model *m, const struct lp_proc *p);
/* Which traced daemon serves the build, from the CLI's -H (once). */
void lp_model_identify_daemon(struct lp_model *m);
/* After correlation (the context snapshot is known): the containerd that
 * serves a containerd-store build (lp_priv.store_pid). */
void lp_model_find_store_partner(struct lp_model *m);
/* Pass 2's daemon tests of p, worked out once (roles and the process tree
 * are final by then): PC_DAEMONISH, PC_INBUILD bits. */
#define PC_DAEMONISH 0x10u
#define PC_INBUILD   0x20u
uint8_t lp_model_pass2_flags(const struct lp_model *m, const struct lp_proc *p);
/* A process of the daemon serving this build. */
bool lp_model_is_build_daemon(const struct lp_model *m, const struct lp_proc *p);

/* ------------------------------- correlate.c: steps, their lines and owners */

/* Feed one progress line (no newline) stamped ts. */
void lp_progress_line(struct lp_model *m, const char *line, size_t len, uint64_t ts);
/* After pass 1: the steps, from the progress parser. */
void lp_progress_steps(struct lp_model *m);
/* After pass 1: parse step names, Dockerfile lines, roles, RUN/COPY
 * attribution, context snapshot. */
void lp_correlate(struct lp_model *m);

/* ------------------------------------------- attribution.c: the queries */

/* A bind mount target -> source, for lp_model_translate. */
void lp_model_note_mount(struct lp_model *m, const char *target, const char *source);
void lp_model_reset_mounts(struct lp_model *m);
/* A path under a temporary bind mount (<dr>/tmp/buildkit-mountNNN/...) as
 * the path of its source (the context snapshot...); buf, or path itself. */
const char *lp_model_translate(const struct lp_model *m, const char *path, char *buf, size_t len);
/* Pass 2's view of an interned path id (grown on demand; never NULL). */
struct lp_pinfo *lp_model_pinfo_slow(const struct lp_model *m, uint32_t id);
/* Room for the pinfo of ids below n, exactly (zeroed). */
void lp_model_pinfo_reserve(const struct lp_model *m, size_t n);
static inline struct lp_pinfo *lp_model_pinfo(const struct lp_model *m, uint32_t id)
{
	struct lp_priv *pv = lp_priv(m);
	if (id < pv->npinfo && (pv->pinfo[id].known & PI_BASE))
		return &pv->pinfo[id]; /* asked for several times per event */
	return lp_model_pinfo_slow(m, id);
}
/* Where a RUN's bundle id starts in path (after .../buildkit/executor/ or
 * .../<worker>-overlayfs/executor/), or NULL. */
const char *lp_executor_at(const char *path);
/* Where a temporary mount's dir name starts in path (buildkit-mountNNN,
 * cachemounts/buildkitNNN), or NULL. */
const char *lp_tmpmount_at(const char *path);
/* The upperdir= of a successful overlay mount(2): where the writes through
 * its target land (the containerd snapshotter and BuildKit's OCI worker
 * mount a snapshot with parents as an overlay at /tmp/buildkit-mountN; its
 * upperdir is the snapshot's own fs/ dir). NULL for any other mount, or
 * when the options were cut before upperdir= (into buf). */
const char *lp_mount_upperdir(const struct lp_ev_syscall *ev, char *buf, size_t len);
/* Is path in an image store the export writes: dockerd's graphdriver
 * store (<data-root>/image/<driver>/layerdb, imagedb, repositories.json)
 * or containerd's content store? */
bool lp_is_image_store_path(const char *path);
/* Does the record change the file system (an open for writing, bytes
 * written, a rename, mkdir, unlink, an in-kernel copy...)? */
bool lp_rec_writes(const struct lp_hdr *rec);
/* Which load step (of kind k; LP_STEPK_OTHER: the Dockerfile's or
 * .dockerignore's) the client's read or open in the context directory at
 * ts is part of: the one whose engine window is nearest, if nearer than
 * the context step's; -1 otherwise (attribution.c). */
int lp_model_definition_step(const struct lp_model *m, enum lp_step_kind k, uint64_t ts);
/* Where a host path falls among the layer snapshots (lp_snap_split()),
 * which snapshot that is, and for a RUN's rootfs, which step. */
struct lp_split {
	enum lp_snap_part part;
	size_t dir_len;
	const char *rel;
	int snap;               /* index in snaps of the snapshot dir (not rootfs), -1 */
	int rootfs_step;        /* LP_SNAP_ROOTFS: the RUN step of that container, -1 */
};
/* id: path's interned id, to work it out once (0: not interned). */
void lp_model_split(const struct lp_model *m, const char *path, uint32_t id, struct lp_split *sp);
/* Is path in the context snapshot? Then *rel is its context-relative part. */
bool lp_model_is_ctx_snapshot_path(const struct lp_model *m, const char *path, const char **rel);
/* Expected context path of a container path written by COPY step s, or NULL
 * (buf filled). */
const char *lp_copy_ctx_path(const struct lp_model *m, int s, const char *container_path,
			     char *buf, size_t len);
/* Is the context-relative path among the sources of COPY step s? */
bool lp_copy_has_source(const struct lp_model *m, int s, const char *ctx_path);

/* -------------------------------------------------- analyze.c: findings */

void lp_analyze(struct lp_model *m);
/* The instruction as written: its Dockerfile line, else the step's name
 * (allocated). */
char *lp_finding_instr_text(const struct lp_model *m, const struct lp_step *s);

#endif
