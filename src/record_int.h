/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the two halves of `layerprof record` share: record.c (options,
 * the BPF side, the command, the event loop, the trace's META and
 * trailer) and record_session.c (the docker shim's socket: the builds a
 * recorded script runs, each with its own progress stream). Not a public
 * interface: one struct rec per recording, owned by record.c.
 */
#ifndef LAYERPROF_RECORD_INT_H
#define LAYERPROF_RECORD_INT_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dockerctx.h"
#include "loader.h"
#include "otlp.h"
#include "rawjson.h"
#include "redact.h"
#include "trace.h"
#include "util.h"

#define DEFAULT_RINGBUF (16u << 20)
#define MAX_RINGBUF (1u << 30)
#define CONTEXT_MAX_FILES 200000
#define DOCKERFILE_MAX (1u << 20)
#define PROGRESS_LINE_MAX 16384   /* a longer line is cut into records */
#define WHOLE_LINE_MAX (8u << 20) /* a longer one is not taken as rawjson */
#define FLUSH_INTERVAL_NS 1000000000ull
#define EXIT_GRACE_NS 500000000ull /* output still coming after the command exited */
/* Ring buffer wake-ups are batched in the kernel (wakeup_bytes): a trickle
 * of events wakes nobody, so the loop also polls this often. */
#define POLL_INTERVAL_MS 100
#define POLL_FALLBACK_MS 10


enum end_reason { END_NONE = 0, END_COMMAND, END_SIGNAL, END_DURATION, END_ERROR };

struct daemon {
	uint32_t pid;
	char comm[LP_COMM_LEN];
	char *exe;
	char *data_root;     /* dockerd only */
	bool traced;
};

struct outpipe {
	int fd;              /* read end, -1 when closed */
	int stream;          /* 1 stdout, 2 stderr */
	struct lp_buf line;  /* partial line */
	struct lp_buf whole; /* a line longer than a record, until its end */
	uint32_t tgid;       /* whose lines: 0 = the recorded command's */
	/* `docker buildx bake`: its targets; the lines of each target's
	 * vertices are stored with hdr.tid = 1 + its index (session.h), the
	 * target's prefix taken off their names */
	char **bake;
	int nbake;
	int *vtx_bake;       /* vertex #N -> target index + 1, 0 unknown */
	size_t nvtx;
};

/* A build the recorded command ran, seen through the docker shim (shim.h):
 * its own progress stream. */
struct shim_conn {
	uint32_t pid;        /* its docker CLI (SO_PEERCRED) */
	int index;           /* of the build, in start order; -1 before its header */
	struct outpipe p;    /* the stream (stream 2: shown on our stderr) */
	struct lp_buf head;  /* the header line, until its '\n' */
	char **argv;         /* its command line (for `image inspect` at the end) */
	int argc;
	char *docker_host;   /* its DOCKER_HOST, or NULL */
	char **bake_tags;    /* a bake: each target's first tag (or NULL), p.nbake of them */
};

struct creds {
	bool drop;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
	char *name;          /* NULL when the uid has no passwd entry */
	char *home;
};

/* A command started by record (spawn_command). */
struct spawn {
	int sync_w;          /* write a byte to let the child exec */
	pid_t pid;
};

/* What a docker build will read: found before it starts (analyze_build). */
struct build_ctx {
	char *context_abs, *dockerfile_abs, *dockerfile_text, *dockerignore;
	bool dockerfile_truncated;
	struct lp_ctx_list ctx;
	bool ctx_listed;
};

struct rec {
	/* options */
	const char *out_path;
	uint32_t *pids;
	size_t npids;
	const char *comms[LP_MAX_COMMS];
	size_t ncomms;
	bool no_daemons, redact, verbose;
	struct lp_otlp_opts otlp;    /* --otlp-*: send the finished trace (ship_otlp) */
	uint64_t duration_ms;
	uint32_t ringbuf;
	const char *user;
	int cmd_argc;
	char **cmd_argv;

	/* the build */
	struct lp_docker_build docker;
	bool is_build;
	bool progress_added, buildkit_set;
	struct build_ctx bc; /* its context and Dockerfile */
	char image_id[80];   /* from "writing image sha256:..." (note_image_id) */
	char image_name[256];/* from "naming to NAME" */
	bool no_buildx;      /* the CLI said its buildx component is missing */
	/* --build-progress: which progress format to ask the CLI for */
	enum { PROGRESS_AUTO, PROGRESS_PLAIN, PROGRESS_RAWJSON } want_progress;
	const char *progress_format; /* what the build was run with: "plain",
				      * "rawjson", or the user's own --progress */
	struct lp_docker_cli cli;    /* what the CLI said about itself (auto) */
	bool show_translated;        /* rawjson added by us: show the user its
				      * plain translation, not the JSON */
	struct lp_rawjson *rj;       /* rawjson -> plain lines (image id, display) */
	/* the docker shim (shim.h): the builds the command runs, kept apart */
	bool no_shim;
	char *shim_dir;              /* mkdtemp'd; NULL when not in use */
	char *shim_docker;           /* the real docker */
	int shim_listen;             /* -1 when not in use */
	struct shim_conn **conns;
	size_t nconns;
	int nbuilds;

	/* run time */
	struct lp_loader *l;
	struct lp_writer *w;
	uint64_t events, malformed, redacted, dropped;
	uint64_t progress_lines;
	bool write_failed;
	struct daemon *daemons;
	size_t ndaemons;
	struct creds creds;
	char **envp;

	pid_t child;
	bool child_exited;
	int child_status;    /* wait status */
	uint64_t child_exit_ns;
	struct outpipe out[2];

	uint64_t start_mono, start_real;

	/* the event loop (record_setup .. record_free) */
	int sfd, ep;                 /* signalfd and epoll; -1 when not made */
	int own_fd;                  /* the trace file, read-only, to hand over at the end */
	struct spawn sp;
	char **run_argv;             /* the command as run (--progress=plain added...) */
	sigset_t orig_mask;          /* restored at the end when mask_set */
	bool mask_set;
	const char *names[LP_MAX_COMMS]; /* process names watched for */
	size_t nnames;
	enum end_reason why;
	int interrupts, last_sig;
	uint8_t redact_buf[65536 + LP_REDACT_GROWTH(LP_ARGV_MAX_ARGS + 1)] __attribute__((aligned(8)));
};

/* One ring-buffer record into the trace (checked, argv redacted, appended):
 * record's consumer, also driven by bench/replay.c without the kernel.
 * ctx is the struct rec; 1 when the writer failed (stop polling). */
int rec_on_event(void *ctx, const void *data, size_t size);

struct capture {
	pid_t pid;   /* -1 when it could not start */
	int fd;
};

enum { TAG_RING = 1, TAG_SIG, TAG_OUT0, TAG_OUT1, TAG_SHIM, TAG_CONN0 = 16 };

/* ---- record.c, for record_session.c ---- */
bool rec_write_all(int fd, const char *p, size_t n);
/* The context, Dockerfile and .dockerignore of build d run in cwd (NULL:
 * ours), the files it will send. */
void rec_analyze_context(const struct lp_docker_build *d, const char *cwd, struct build_ctx *bc, bool verbose);
/* META's "build" object (and a LP_REC_BUILD's). */
void rec_add_build_json(cJSON *b, const struct lp_docker_build *d, const struct build_ctx *bc,
			const char *docker_host);
/* -H/--host of a docker command line, else env_host. */
const char *rec_docker_host_of(int argc, char *const *argv, const char *env_host);
/* LP_REC_CONTEXT_FILE records of a build's context list. */
int rec_write_context_files(struct rec *r, const struct build_ctx *bc, uint32_t tgid, uint32_t aux);
/* Progress output of a stream: recorded (record), shown, and read for the
 * image id; rec_end_output at its end. */
void rec_take_output(struct rec *r, struct outpipe *p, const char *data, size_t n, uint64_t ts, bool record);
void rec_end_output(struct rec *r, struct outpipe *p, bool record);
/* A short helper run as the command's user in cwd (NULL: ours), its
 * stdout (NULL on failure or past the deadline). */
void rec_capture_start(struct rec *r, char **argv, const char *cwd, struct capture *c);
char *rec_capture_finish(struct capture *c, uint64_t deadline_ns);
/* `docker [global options] image inspect REF`: id and size, or NULL. */
cJSON *rec_inspect_ref(struct rec *r, char *const *global, int nglobal, const char *ref);

/* ---- record_session.c ---- */
/* Put the docker shim first in the command's PATH (not for a command that
 * is a build itself); rec_shim_teardown removes it. */
void rec_shim_setup(struct rec *r);
void rec_shim_teardown(struct rec *r);
/* The event loop's: a build connected (TAG_SHIM), a build's stream has
 * data (TAG_CONN0 + i); are streams still open? */
void rec_shim_accept(struct rec *r);
void rec_shim_read(struct rec *r, struct shim_conn *c, bool record);
bool rec_shim_streams_open(const struct rec *r);
/* The trailer's "session_images": each build's image, by tag. */
cJSON *rec_inspect_session_images(struct rec *r);

#endif
