/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Exporters (`layerprof export`): the pictures people open in the tools they
 * already use. Internal to export*.c; the command line is in export.c.
 *
 *   chrome   Chrome Trace Event JSON (Object Format) for the Perfetto UI and
 *            speedscope, optionally gzip'ed (one gzip member)
 *   folded   folded stacks for flamegraph.pl, inferno, speedscope:
 *            build;<step>;<comm[pid]>;<syscall>;<path> <count>
 *   svg      a self-contained flame graph of the same stacks
 *   otlp     the build as an OpenTelemetry trace, OTLP/JSON (export_otlp.c;
 *            also sent to a collector with --otlp-endpoint, otlp.h)
 *   prom     OpenMetrics text for node_exporter's textfile collector
 *   perfetto Perfetto's native protobuf trace (TrackEvent): tracks for the
 *            build, its steps, their processes and threads, every traced
 *            syscall, I/O counters, step -> process flows; no event cap
 *
 * Every exporter reads the model (who did what, steps) and makes its own
 * pass over a reader for per-event detail, with its own lp_resolver.
 */
#ifndef LAYERPROF_EXPORT_H
#define LAYERPROF_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

#include "containers.h"
#include "util.h"

struct lp_model;
struct lp_reader;

enum lp_export_format { LP_FMT_NONE = 0, LP_FMT_CHROME, LP_FMT_FOLDED, LP_FMT_SVG, LP_FMT_OTLP_JSON, LP_FMT_PROM,
			 LP_FMT_PERFETTO };
enum lp_export_metric { LP_METRIC_TIME = 0, LP_METRIC_BYTES, LP_METRIC_OPS };

struct lp_export_opts {
	enum lp_export_metric metric;
	const char *trace_name;     /* the trace file as given (legends, otherData) */
	uint64_t max_events;        /* chrome: cap on per-event slices; 0 = default */
	const char *service;        /* otlp: the resource's service.name */
};

/* Default cap of per-event slices in a Chrome trace (about 100 MB of JSON). */
#define LP_CHROME_DEFAULT_MAX_EVENTS 500000u

/* ------------------------------------------------------------ output sink */

/*
 * Buffered output to a FILE, optionally through zlib as ONE gzip member
 * (deflateInit2 windowBits 31). Errors stick: after the first one every
 * write is a no-op and lp_xout_close() reports it.
 */
struct lp_xout {
	FILE *f;
	bool gz;
	bool zinit;
	z_stream z;
	struct lp_buf b;            /* pending bytes */
	int err;                    /* errno of the first failure, 0 none */
	uint64_t bytes_in;          /* bytes produced (before compression) */
};
void lp_xout_init(struct lp_xout *o, FILE *f, bool gz);
void lp_xout_write(struct lp_xout *o, const void *p, size_t n);
void lp_xout_puts(struct lp_xout *o, const char *s);
void lp_xout_printf(struct lp_xout *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Flush what is pending when more than `threshold` bytes are buffered. */
void lp_xout_maybe_flush(struct lp_xout *o);
/* Finish the gzip member, flush the FILE (not closed). 0 or -1 (errno set). */
int lp_xout_finish(struct lp_xout *o);

/* ---------------------------------------------------------- text helpers */

/* JSON and XML escaping, UTF-8: util.h. */
/*
 * One frame of a folded stack: no ';', no control characters, no leading,
 * trailing or repeated spaces, valid UTF-8, at most max bytes (cut on a
 * character boundary), never empty ("?"). Writes into buf, returns it.
 */
char *lp_folded_frame(const char *s, char *buf, size_t len);
struct lp_resolver;
struct lp_ev_syscall;
/*
 * The path an event is about, resolved (before lp_resolver_feed of that
 * record): the first string argument that is a path, else the file of its
 * fd argument (copy_file_range/sendfile/splice: the destination). NULL when
 * unknown.
 */
const char *lp_export_event_path(struct lp_resolver *res, const struct lp_ev_syscall *ev,
				 char *buf, size_t len);
/* "pipe:[123]" -> "pipe", "socket:[9]" -> "socket": fd targets without
 * their inode numbers, so stacks aggregate. Returns s or a static string. */
const char *lp_export_norm_target(const char *s);
/* Time in µs relative to t0, as "123.456" (ns precision; ts < t0 gives 0). */
void lp_buf_us(struct lp_buf *b, uint64_t ts, uint64_t t0);

/* ------------------------------------------------------- I/O counters */

/*
 * Bytes read/written and open files over time (export_counters.c), for the
 * Chrome and Perfetto exports: fed with the trace's records in order, read
 * back as one value per bucket (about 1000 buckets over [t0, t_end], 1 ms
 * at least). Memory does not grow with the events.
 */
struct lp_iocount {
	uint64_t t0, bucket_ns;
	size_t nbuckets;
	double *rd, *wr;            /* bytes per bucket */
	double *rd_diff, *wr_diff;  /* spread over whole buckets (difference arrays) */
	int64_t *open_max, *open_last;
	uint8_t *open_touched;
	int64_t open_cur;
	struct lp_u64map open_fds;      /* (tgid << 32 | fd) -> 1 */
	struct lp_u64map open_per_tgid; /* tgid -> count */
	uint64_t rbytes, wbytes;        /* totals fed */
};
struct lp_iocount_it {
	bool started, is_last;
	size_t b, last;
	double rdc, wrc;
	int64_t carry;
	uint64_t ts;                /* the bucket's start */
	double read_bps, write_bps; /* bytes/s in the bucket */
	int64_t open;               /* files open (the bucket's peak) */
};
struct lp_ev_fd_io;
void lp_iocount_init(struct lp_iocount *c, uint64_t t0, uint64_t t_end);
/* A syscall that opened a file (ret = its fd). */
void lp_iocount_syscall(struct lp_iocount *c, const struct lp_ev_syscall *ev);
/* An fd's transfer totals; *first..*last the span they were spread over.
 * True when the fd was still open at the end (drained, not closed). */
bool lp_iocount_fdio(struct lp_iocount *c, const struct lp_model *m, const struct lp_ev_fd_io *e,
		     uint64_t *first, uint64_t *last);
/* A process exited: its files are closed. */
void lp_iocount_exit(struct lp_iocount *c, uint32_t tgid, uint64_t ts);
/* The next bucket up to t_end's (start with a zeroed it); false at the end. */
bool lp_iocount_next(struct lp_iocount *c, struct lp_iocount_it *it, uint64_t t_end);
void lp_iocount_free(struct lp_iocount *c);

/* ---------------------------------------------------------- stacks */

/* One aggregated stack: frames joined by ';' (already sanitized). */
struct lp_stack {
	char *key;                  /* "build;step;comm[pid];syscall;path" */
	int step;                   /* model step index, -1 none */
	uint64_t time_ns, bytes, ops;
};

struct lp_stacks {
	struct lp_stack *v;
	size_t n, cap;
	void *index;                /* private hash index */
	uint64_t total_time_us, total_bytes, total_ops;   /* sums of lp_stack_count */
	uint64_t folded_paths;      /* events whose path was folded (budget) */
};

/*
 * Aggregate every event of the reader into stacks (one row per distinct
 * build;step;process;syscall;path). Time metric also gets, per step, its
 * wall time not spent in traced syscalls ("(outside traced syscalls)").
 * Returns 0, or -1 with err filled.
 */
int lp_stacks_collect(const struct lp_model *m, struct lp_reader *r, struct lp_stacks *st,
		      char *err, size_t errlen);
/* The count of one stack for a metric. */
uint64_t lp_stack_count(const struct lp_stack *s, enum lp_export_metric metric);
/* A step's place in build order: its start time (unknown, then no step, last). */
uint64_t lp_export_step_rank(const struct lp_model *m, int step);
/* Sort by step (in build order: start time; no step last), then key.
 * Stacks sharing a prefix within a step are then contiguous. */
void lp_stacks_sort(struct lp_stacks *st, const struct lp_model *m);
/* Collect and sort: what both stack exporters start with. -1 (err set,
 * st freed) on failure. */
int lp_stacks_load(const struct lp_model *m, struct lp_reader *r, struct lp_stacks *st, char *err, size_t errlen);
void lp_stacks_free(struct lp_stacks *st);
/* "time", "bytes", "ops" and what the width measures. */
const char *lp_metric_name(enum lp_export_metric m);
const char *lp_metric_unit(enum lp_export_metric m);   /* "µs", "bytes", "calls" */
const char *lp_metric_what(enum lp_export_metric m);   /* legend sentence */

/* ------------------------------------------------------------ exporters */

int lp_export_chrome(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		     const struct lp_export_opts *opt, char *err, size_t errlen);
int lp_export_folded(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		     const struct lp_export_opts *opt, char *err, size_t errlen);
int lp_export_svg(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		  const struct lp_export_opts *opt, char *err, size_t errlen);

int lp_export_otlp_json(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
			const struct lp_export_opts *opt, char *err, size_t errlen);
int lp_export_prom(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		   const struct lp_export_opts *opt, char *err, size_t errlen);
int lp_export_perfetto(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		       const struct lp_export_opts *opt, char *err, size_t errlen);

#endif /* LAYERPROF_EXPORT_H */
