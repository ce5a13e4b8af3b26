/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Exporters (`layerprof export`): the pictures people open in the tools they
 * already use. Internal to export*.c; the command line is in export.c.
 *
 *   chrome   Chrome Trace Event JSON (Object Format) for the Perfetto UI and
 *            speedscope, optionally gzip'ed (one gzip member)
 *   folded   the flame tree (flame.h) as folded stacks for flamegraph.pl,
 *            inferno: build;<step>;<process>;...;<state>;<syscall> <count>
 *   svg      a self-contained flame graph of the same tree
 *   speedscope  the same tree in speedscope's JSON, with its unit
 *   otlp     the build as an OpenTelemetry trace, OTLP/JSON (export_otlp.c;
 *            also sent to a collector with --otlp-endpoint, otlp.h)
 *   prom     OpenMetrics text for node_exporter's textfile collector
 *   html     one self-contained page: the report, a step timeline, the
 *            flame graph of where the time went (export_html.c)
 *   perfetto Perfetto's native protobuf trace (TrackEvent): tracks for the
 *            build, its steps, their processes and threads, every traced
 *            syscall, I/O counters, step -> process flows; no event cap
 *
 * Every exporter reads the model (who did what, steps) and makes its own
 * pass over a reader for per-event detail, with its own lp_resolver (the
 * flame graphs through lp_flame_build's).
 */
#ifndef LAYERPROF_EXPORT_H
#define LAYERPROF_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "containers.h"
#include "flame.h"
#include "layerprof/abi.h"
#include "util.h"

struct lp_model;
struct lp_reader;

enum lp_export_format { LP_FMT_NONE = 0, LP_FMT_CHROME, LP_FMT_FOLDED, LP_FMT_SVG, LP_FMT_OTLP_JSON, LP_FMT_PROM,
			 LP_FMT_SPEEDSCOPE, LP_FMT_HTML, LP_FMT_PERFETTO };
/* enum lp_export_metric (time, bytes, ops): flame.h */

struct lp_export_opts {
	enum lp_export_metric metric;
	const char *trace_name;     /* the trace file as given (legends, otherData) */
	uint64_t max_events;        /* chrome: cap on per-event slices; 0 = default */
	const char *service;        /* otlp: the resource's service.name */
	/* chrome: what its pre-pass needs, gathered while the model read the
	 * trace (lp_chrome_observe as lp_model_options.observe), or NULL: it
	 * reads the trace once more for it */
	const struct lp_chrome_pre *chrome_pre;
};

/* The Chrome export's pre-pass: the trace's first time stamp and the
 * histogram of event durations (log2 buckets) its merge threshold comes
 * from. */
struct lp_chrome_pre {
	bool have_first;
	uint64_t first_ts;
	uint64_t hist[64];
};
/* lp_model_options.observe for a struct lp_chrome_pre (zeroed first). */
void lp_chrome_observe(void *pre, const struct lp_hdr *h);

/* Default cap of per-event slices in a Chrome trace (about 100 MB of JSON). */
#define LP_CHROME_DEFAULT_MAX_EVENTS 500000u

/* ------------------------------------------------------------ output sink */

/*
 * Buffered output to a FILE, optionally through zlib as ONE gzip member
 * (deflateInit2 windowBits 31). Errors stick: after the first one every
 * write is a no-op and lp_xout_finish() reports it. Past the first buffer
 * (256 KiB), the file writes, and with gzip deflate, run on a thread of
 * their own ("lp-write", "lp-gzip"), a full buffer handed over while the
 * next one fills: the export's formatting and the writing (compression)
 * then use both cores. The thread sees the same bytes in the same order,
 * so the file is the one the caller's thread would write.
 */
struct lp_xout_writer;
struct lp_xout {
	FILE *f;
	bool gz;
	struct lp_xout_writer *wt;  /* the writer thread, made at the first full buffer */
	struct lp_buf b;            /* pending bytes */
	int err;                    /* errno of the first failure, 0 none */
	uint64_t bytes_in;          /* bytes produced (before compression) */
};
void lp_xout_init(struct lp_xout *o, FILE *f, bool gz);
void lp_xout_write(struct lp_xout *o, const void *p, size_t n);
/* Room for n bytes at the end of o's buffer: a hot path writes there and
 * then counts what it wrote with lp_xout_wrote(), with no copy. */
static inline uint8_t *lp_xout_room(struct lp_xout *o, size_t n)
{
	lp_buf_reserve(&o->b, n);
	return (uint8_t *)o->b.data + o->b.len;
}
void lp_xout_wrote(struct lp_xout *o, size_t n);
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
/* "pipe:[123]" -> "pipe", "socket:[9]" -> "socket": fd targets without
 * their inode numbers, so stacks aggregate. Returns s or a static string. */
const char *lp_export_norm_target(const char *s);
/* Time in µs relative to t0, as "123.456" (ns precision; ts < t0 gives 0). */
void lp_buf_us(struct lp_buf *b, uint64_t ts, uint64_t t0);
/* A duration in ns as µs with 3 decimals ("12.345"), printf-free. */
void lp_buf_ns_as_us(struct lp_buf *b, uint64_t ns);

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

/*
 * Every stack of a flame tree with a count of its own, in tree order (a
 * parent before its children, siblings in display order): frames[0..depth]
 * are the node indexes from the build down, count the node's own part in
 * whole units of div (lp_flame_rounded: 1000 turns ns into µs), so the
 * counts under any node sum to its rounded value. Stacks whose count is 0
 * are skipped. What export_folded.c and export_speedscope.c print.
 */
typedef void (*lp_stack_fn)(const struct lp_flame *f, const int *frames, int depth, uint64_t count, void *arg);
void lp_flame_stacks(const struct lp_flame *f, uint64_t div, lp_stack_fn fn, void *arg);
/* The unit divisor of a metric's whole-unit counts: 1000 (ns -> µs) for time, else 1. */
uint64_t lp_metric_div(enum lp_export_metric m);

/* "time", "bytes", "ops" and what the width measures. */
const char *lp_metric_name(enum lp_export_metric m);
const char *lp_metric_unit(enum lp_export_metric m);   /* "µs", "bytes", "calls" */
/* A tree value (ns, bytes or calls) as people read it: "1.23 s", "4.50 MB", "12 calls". */
const char *lp_metric_fmt(enum lp_export_metric m, uint64_t value, char *buf, size_t len);
const char *lp_metric_what(enum lp_export_metric m);   /* legend sentence */

/* ------------------------------------------------------------ exporters */

int lp_export_chrome(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		     const struct lp_export_opts *opt, char *err, size_t errlen);
int lp_export_folded(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		     const struct lp_export_opts *opt, char *err, size_t errlen);
int lp_export_svg(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		  const struct lp_export_opts *opt, char *err, size_t errlen);
int lp_export_speedscope(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
			 const struct lp_export_opts *opt, char *err, size_t errlen);

int lp_export_otlp_json(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
			const struct lp_export_opts *opt, char *err, size_t errlen);
int lp_export_prom(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		   const struct lp_export_opts *opt, char *err, size_t errlen);
int lp_export_html(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		   const struct lp_export_opts *opt, char *err, size_t errlen);
/* Append JSON text (as cJSON prints it) for a <script type="application/json">
 * data island: '<', '>', '&' and DEL as \u escapes, so no "</script>" or
 * "<!--" in a string can end the island; bytes that are not UTF-8 as \ufffd. */
void lp_html_json_island(struct lp_buf *b, const char *json);
int lp_export_perfetto(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		       const struct lp_export_opts *opt, char *err, size_t errlen);

#endif /* LAYERPROF_EXPORT_H */
