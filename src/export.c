/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * layerprof export FILE -o OUT [--format chrome|perfetto|folded|svg|speedscope|otlp|prom|html] [--metric time|bytes|ops]
 * layerprof export FILE --otlp-endpoint URL [--otlp-*...] [-o OUT]
 *
 * The format comes from OUT's suffix unless --format is given:
 *   .json .json.gz   Chrome Trace Event JSON (the Perfetto UI, speedscope)
 *   .perfetto-trace .pftrace  Perfetto's native protobuf trace (no event cap)
 *   .folded          folded stacks (flamegraph.pl, inferno, speedscope)
 *   .svg             self-contained SVG flame graph
 *   .speedscope.json speedscope's own JSON (a unit on the axis)
 *   .otlp.json       the build as an OpenTelemetry trace (OTLP/JSON)
 *   .prom            OpenMetrics text (node_exporter's textfile collector)
 *   .html            one self-contained page: report, timeline, flame graph
 * --otlp-endpoint sends the OpenTelemetry trace to a collector (otlp.h),
 * with or without an OUT; the trace file is only read.
 * A trailing .gz compresses any format as one gzip member. OUT is written
 * to a temporary file in its directory and renamed at the end, so a reader
 * never sees half a file; a device or FIFO (/dev/null, mkfifo) is written in
 * place; "-o -" writes to stdout.
 *
 * Also here: the output sink (buffered, optionally gzip) and the text
 * helpers the exporters share (JSON/XML escaping, folded frames).
 */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cmdline.h"
#include "commands.h"
#include "exitcode.h"
#include "event.h"
#include "meter.h"
#include "model.h"
#include "otlp.h"
#include "resolve.h"
#include "syscalls.h"
#include "trace.h"
#include "util.h"

/* ------------------------------------------------------------ output sink */

#define XOUT_FLUSH_AT (256u << 10)
/* zlib level of -o *.gz: 1, the fastest. A view format is written once and
 * opened a few times: level 6 made the Chrome JSON of a 10M-event trace
 * about 25% smaller (13.4 vs 18.0 MB) for three times the deflate time. */
#define XOUT_GZ_LEVEL 1
/* Buffers between the caller and the writer thread: one filling, one being
 * written (deflated), one waiting (a burst of output does not stall the
 * caller). */
#define XOUT_BUFS 3

/*
 * The writer thread (lp_xout.wt), made at the first full buffer: buffers go
 * round a ring, the caller fills one and hands it over (ready), the thread
 * writes out the oldest ready one (through deflate with gz) and gives it
 * back, so that the caller's formatting and the file system's work (the
 * copy into the page cache, the blocks' allocation: ~0.3 s of a 350 MB
 * Perfetto trace) overlap. `err` is the thread's first failure, seen by
 * the caller at its next hand-over.
 */
struct lp_xout_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool gz;
	z_stream z;
	FILE *f;
	struct lp_buf buf[XOUT_BUFS];
	size_t head, nready;        /* the oldest ready buffer, how many are */
	bool finish;                /* the last one is handed over: Z_FINISH after it */
	int err;
};

void lp_xout_init(struct lp_xout *o, FILE *f, bool gz)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->gz = gz;
}

static void xout_fail(struct lp_xout *o, int e)
{
	if (!o->err)
		o->err = e ? e : EIO;
}

static void xout_put_file(struct lp_xout *o, const void *p, size_t n)
{
	if (o->err || !n)
		return;
	if (fwrite(p, 1, n, o->f) != n)
		xout_fail(o, errno);
}

/* One buffer through deflate (flush: Z_NO_FLUSH or Z_FINISH) onto f; an
 * errno, or 0. */
static int gz_deflate(z_stream *z, FILE *f, const struct lp_buf *b, int flush)
{
	unsigned char out[64 << 10];
	z->next_in = (Bytef *)(b->len ? b->data : "");
	z->avail_in = (uInt)b->len;
	int zr;
	do {
		z->next_out = out;
		z->avail_out = sizeof(out);
		zr = deflate(z, flush);
		if (zr == Z_STREAM_ERROR)
			return EIO;
		size_t n = sizeof(out) - z->avail_out;
		if (n && fwrite(out, 1, n, f) != n)
			return errno ? errno : EIO;
	} while (z->avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static void *writer_main(void *arg)
{
	struct lp_xout_writer *g = arg;
	pthread_mutex_lock(&g->mu);
	for (;;) {
		while (!g->nready && !g->finish)
			pthread_cond_wait(&g->cv, &g->mu);
		if (!g->nready)
			break;
		struct lp_buf *b = &g->buf[g->head];
		bool last = g->finish && g->nready == 1;
		int err = g->err;
		pthread_mutex_unlock(&g->mu);
		if (!err && g->gz) /* after a failure the rest is dropped */
			err = gz_deflate(&g->z, g->f, b, last ? Z_FINISH : Z_NO_FLUSH);
		else if (!err && b->len && fwrite(b->data, 1, b->len, g->f) != b->len)
			err = errno ? errno : EIO;
		b->len = 0;
		pthread_mutex_lock(&g->mu);
		if (err && !g->err)
			g->err = err;
		g->head = (g->head + 1) % XOUT_BUFS;
		g->nready--;
		pthread_cond_broadcast(&g->cv);
		if (last)
			break;
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

static struct lp_xout_writer *writer_start(FILE *f, bool gz)
{
	struct lp_xout_writer *g = lp_xcalloc(1, sizeof(*g));
	g->f = f;
	g->gz = gz;
	/* windowBits 31 = 15 + 16: a gzip wrapper, one member */
	if (gz && deflateInit2(&g->z, XOUT_GZ_LEVEL, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		return NULL;
	}
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if (pthread_create(&g->thread, NULL, writer_main, g) != 0) {
		pthread_cond_destroy(&g->cv);
		pthread_mutex_destroy(&g->mu);
		if (gz)
			deflateEnd(&g->z);
		free(g);
		return NULL;
	}
	pthread_setname_np(g->thread, gz ? "lp-gzip" : "lp-write");
	return g;
}

/* o->b to the writer thread (the last one: finish), o->b then an empty
 * buffer of the ring; the thread's first failure becomes o's. */
static void writer_hand_over(struct lp_xout *o, bool finish)
{
	struct lp_xout_writer *g = o->wt;
	pthread_mutex_lock(&g->mu);
	while (g->nready == XOUT_BUFS - 1)
		pthread_cond_wait(&g->cv, &g->mu);
	/* (not the oldest ready slot: the thread may be deflating it) */
	size_t slot = (g->head + g->nready) % XOUT_BUFS;
	struct lp_buf full = o->b;
	o->b = g->buf[slot];
	g->buf[slot] = full;
	g->nready++;
	g->finish = finish;
	if (g->err)
		xout_fail(o, g->err);
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* The writer thread finished and gone; its failure, if any, is o's. */
static void writer_stop(struct lp_xout *o)
{
	struct lp_xout_writer *g = o->wt;
	pthread_join(g->thread, NULL);
	if (g->err)
		xout_fail(o, g->err);
	if (g->gz)
		deflateEnd(&g->z);
	for (int i = 0; i < XOUT_BUFS; i++)
		lp_buf_free(&g->buf[i]);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
	o->wt = NULL;
}

/* Push b's pending bytes to the writer thread (made now if need be; if it
 * cannot be, plain bytes go straight out). */
static void xout_drain(struct lp_xout *o)
{
	if (o->err) {
		o->b.len = 0;
		return;
	}
	if (!o->wt && !(o->wt = writer_start(o->f, o->gz))) {
		if (o->gz)
			xout_fail(o, ENOMEM);
		else
			xout_put_file(o, o->b.data, o->b.len);
		o->b.len = 0;
		return;
	}
	writer_hand_over(o, false);
}

void lp_xout_write(struct lp_xout *o, const void *p, size_t n)
{
	if (o->err || !n)
		return;
	lp_buf_append(&o->b, p, n);
	o->bytes_in += n;
	if (o->b.len >= XOUT_FLUSH_AT)
		xout_drain(o);
}

void lp_xout_wrote(struct lp_xout *o, size_t n)
{
	if (o->err)
		return; /* dropped, as lp_xout_write drops it */
	o->b.len += n;
	o->bytes_in += n;
	if (o->b.len >= XOUT_FLUSH_AT)
		xout_drain(o);
}

void lp_xout_puts(struct lp_xout *o, const char *s)
{
	lp_xout_write(o, s, strlen(s));
}

void lp_xout_printf(struct lp_xout *o, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		lp_xout_write(o, small, (size_t)n);
		return;
	}
	char *big = lp_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	lp_xout_write(o, big, (size_t)n);
	free(big);
}

void lp_xout_maybe_flush(struct lp_xout *o)
{
	if (o->b.len >= XOUT_FLUSH_AT)
		xout_drain(o);
}

int lp_xout_finish(struct lp_xout *o)
{
	if (o->gz && !o->wt && !o->err && !(o->wt = writer_start(o->f, true)))
		xout_fail(o, ENOMEM);
	if (o->wt) {
		/* the rest (gz: with Z_FINISH), even after a failure: the
		 * thread stops at it */
		writer_hand_over(o, true);
		writer_stop(o);
	} else {
		/* plain, and never a full buffer: no thread for it */
		xout_put_file(o, o->b.data, o->b.len);
		o->b.len = 0;
	}
	lp_buf_free(&o->b);
	if (!o->err && fflush(o->f) != 0)
		xout_fail(o, errno);
	if (o->err) {
		errno = o->err;
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- text helpers */

char *lp_folded_frame(const char *s, char *buf, size_t len)
{
	size_t k = 0;
	bool space = false;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	if (len < 2) {
		if (len)
			buf[0] = 0;
		return buf;
	}
	while (*p) {
		unsigned c = *p;
		size_t n = 1;
		char sub = 0;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
			space = k > 0;
			p++;
			continue;
		}
		if (c == ';')
			sub = ':';
		else if (c < 0x20 || c == 0x7f)
			sub = '?';
		else if (c >= 0x80 && !(n = lp_utf8_seq_len(p, 4))) {
			sub = '?';
			n = 1;
		}
		size_t need = (sub ? 1 : n) + (space ? 1 : 0);
		if (k + need >= len)
			break;
		if (space)
			buf[k++] = ' ';
		space = false;
		if (sub)
			buf[k++] = sub;
		else
			memcpy(buf + k, p, n), k += n;
		p += n;
	}
	if (!k)
		buf[k++] = '?';
	buf[k] = 0;
	return buf;
}

void lp_buf_us(struct lp_buf *b, uint64_t ts, uint64_t t0)
{
	lp_buf_ns_as_us(b, ts > t0 ? ts - t0 : 0);
}

void lp_buf_ns_as_us(struct lp_buf *b, uint64_t ns)
{
	lp_buf_reserve(b, LP_U64_DIGITS + 4);
	b->len += lp_fmt_u64(b->data + b->len, ns / 1000);
	b->data[b->len++] = '.';
	lp_fmt_u64_fixed(b->data + b->len, ns % 1000, 3);
	b->len += 3;
	b->data[b->len] = '\0';
}

const char *lp_export_norm_target(const char *s)
{
	if (!s || s[0] == '/')
		return s; /* a file: nearly every call */
	if (!strncmp(s, "pipe:", sizeof("pipe:") - 1))
		return "pipe";
	if (!strncmp(s, "socket:", sizeof("socket:") - 1))
		return "socket";
	return s; /* anon_inode:[eventpoll], net:, mnt: are kinds already */
}

const char *lp_metric_name(enum lp_export_metric m)
{
	switch (m) {
	case LP_METRIC_BYTES: return "bytes";
	case LP_METRIC_OPS: return "ops";
	default: return "time";
	}
}

const char *lp_metric_unit(enum lp_export_metric m)
{
	switch (m) {
	case LP_METRIC_BYTES: return "bytes";
	case LP_METRIC_OPS: return "calls";
	default: return "\xc2\xb5s";
	}
}

const char *lp_metric_what(enum lp_export_metric m)
{
	switch (m) {
	case LP_METRIC_BYTES:
		return "Width = bytes read, written and copied (per fd totals, copy_file_range/sendfile/splice)";
	case LP_METRIC_OPS:
		return "Width = number of calls (syscalls traced one by one, read/write calls per fd, chown/chmod/utimens counts)";
	default:
		return "Width = wall time: steps as measured, processes by lifetime, their own time by state";
	}
}

const char *lp_metric_fmt(enum lp_export_metric m, uint64_t value, char *buf, size_t len)
{
	switch (m) {
	case LP_METRIC_BYTES:
		return lp_fmt_bytes(value, buf, len);
	case LP_METRIC_OPS:
		snprintf(buf, len, "%llu call%s", (unsigned long long)value, value == 1 ? "" : "s");
		return buf;
	default:
		return lp_fmt_duration_ns(value, buf, len);
	}
}

/* --------------------------------------------------------- command line */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: layerprof export FILE -o OUT [--format chrome|perfetto|folded|svg|speedscope|otlp|prom|html]\n"
		"                        [--metric time|bytes|ops]\n"
		"       layerprof export FILE --otlp-endpoint URL [--otlp-...] [-o OUT]\n"
		"\n"
		"Write a recording as a picture for the tools people already use, or send it to\n"
		"an OpenTelemetry collector.\n"
		"\n"
		"  -o, --output OUT     output file; '-' for stdout (default format: chrome)\n"
		"  -f, --format FMT     chrome  Chrome Trace Event JSON (the Perfetto UI: Open trace file;\n"
		"                               speedscope): a track per step, capped by --max-events\n"
		"                       perfetto Perfetto's own protobuf trace, every event (no cap):\n"
		"                               tracks per build, step, process and thread, I/O counters,\n"
		"                               step -> process flows\n"
		"                       folded  folded stacks for flamegraph.pl, inferno (counts: \xc2\xb5s, bytes\n"
		"                               or calls, per --metric; the format has no unit field)\n"
		"                       svg     self-contained SVG flame graph (hover, click to zoom, search)\n"
		"                       speedscope  speedscope's JSON, with its unit (.speedscope.json)\n"
		"                       otlp    the build as an OpenTelemetry trace, OTLP/JSON (the body\n"
		"                               --otlp-format json sends)\n"
		"                       prom    OpenMetrics text for node_exporter's textfile collector\n"
		"                               (build duration, status, cache hit ratio, context, image,\n"
		"                               per-step durations, findings by kind, lost events)\n"
		"                       html    one self-contained page (no network): summary, findings\n"
		"                               with evidence and edits, step timeline, flame graph of\n"
		"                               the time (click to zoom, search), busiest files\n"
		"                       default: from OUT's suffix (.json, .json.gz, .perfetto-trace,\n"
		"                       .pftrace, .folded, .svg, .speedscope.json, .otlp.json, .prom,\n"
		"                       .html);\n"
		"                       a trailing .gz compresses any format (one gzip member)\n"
		"  -m, --metric M       flame graph widths: time (wall time, default; folded in \xc2\xb5s),\n"
		"                       bytes (read/written/copied), ops (calls)\n"
		"      --max-events N   chrome: keep at most N per-event slices (default %u, 0: no cap);\n"
		"                       tiny consecutive syscalls are merged first; a warning says\n"
		"                       when slices were dropped (the perfetto format keeps all)\n"
		"  -h, --help           this help\n"
		"\n"
		"OpenTelemetry (a trace per build: the build, its steps, their processes; findings\n"
		"as span events):\n"
		"%s"
		"\n"
		"Flame graphs (folded, svg, speedscope): build;<step>;<process>;<its children...>;\n"
		"then, for time, the process's own time by state (running, file I/O, waiting on\n"
		"pipe/socket...) and syscall, each step exactly its time in `report`; for bytes and\n"
		"ops, <syscall>;<path>. OUT is written to a temporary file\n"
		"in its directory and renamed when complete. A failed send exits 1 and says why;\n"
		"the trace file is never modified.\n",
		LP_CHROME_DEFAULT_MAX_EVENTS, lp_otlp_help);
}

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);
	return n >= k && !strcmp(s + n - k, suf);
}

/* Format from a file name's suffix (after an optional .gz). */
static enum lp_export_format format_of_name(const char *out, bool *gz)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", out);
	*gz = false;
	if (ends_with(tmp, ".gz")) {
		*gz = true;
		tmp[strlen(tmp) - 3] = 0;
	}
	if (ends_with(tmp, ".otlp.json"))
		return LP_FMT_OTLP_JSON;
	if (ends_with(tmp, ".speedscope.json"))
		return LP_FMT_SPEEDSCOPE;
	if (ends_with(tmp, ".json"))
		return LP_FMT_CHROME;
	if (ends_with(tmp, ".prom"))
		return LP_FMT_PROM;
	if (ends_with(tmp, ".folded"))
		return LP_FMT_FOLDED;
	if (ends_with(tmp, ".svg"))
		return LP_FMT_SVG;
	if (ends_with(tmp, ".html") || ends_with(tmp, ".htm"))
		return LP_FMT_HTML;
	if (ends_with(tmp, ".perfetto-trace") || ends_with(tmp, ".pftrace"))
		return LP_FMT_PERFETTO;
	return LP_FMT_NONE;
}

/* The temporary file, removed when a signal interrupts the export. */
static char tmp_path[4096];
static volatile sig_atomic_t tmp_live;

static void on_signal(int sig)
{
	if (tmp_live)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The closing line (meter.h): what was written, how big. */
static void written(const char *out, uint64_t produced)
{
	char size[32];
	struct stat sb;
	if (!out)
		lp_meter_done("wrote %s to stdout", lp_fmt_bytes(produced, size, sizeof(size)));
	else if (stat(out, &sb) == 0)
		lp_meter_done("wrote %s (%s)", out, lp_fmt_bytes((uint64_t)sb.st_size, size, sizeof(size)));
}

static int run_export(enum lp_export_format fmt, const struct lp_model *m, struct lp_reader *r,
		      struct lp_xout *o, const struct lp_export_opts *opt, char *err, size_t errlen)
{
	switch (fmt) {
	case LP_FMT_CHROME: return lp_export_chrome(m, r, o, opt, err, errlen);
	case LP_FMT_FOLDED: return lp_export_folded(m, r, o, opt, err, errlen);
	case LP_FMT_SVG: return lp_export_svg(m, r, o, opt, err, errlen);
	case LP_FMT_SPEEDSCOPE: return lp_export_speedscope(m, r, o, opt, err, errlen);
	case LP_FMT_OTLP_JSON: return lp_export_otlp_json(m, r, o, opt, err, errlen);
	case LP_FMT_PROM: return lp_export_prom(m, r, o, opt, err, errlen);
	case LP_FMT_HTML: return lp_export_html(m, r, o, opt, err, errlen);
	case LP_FMT_PERFETTO: return lp_export_perfetto(m, r, o, opt, err, errlen);
	default:
		snprintf(err, errlen, "no format");
		return -1;
	}
}

static int export_run(int argc, char **argv, struct lp_otlp_opts *otlp)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "metric", required_argument, NULL, 'm' },
		{ "max-events", required_argument, NULL, 'E' },
		LP_OTLP_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	enum lp_export_format fmt = LP_FMT_NONE;
	struct lp_export_opts opt = { .metric = LP_METRIC_TIME, .max_events = LP_CHROME_DEFAULT_MAX_EVENTS };
	int c;
	struct lp_cmdline cl = { "export", "o:f:m:h", longopts };
	while ((c = lp_cmdline_next(&cl, argc, argv)) != -1) {
		if (lp_otlp_is_opt(c)) {
			if (lp_otlp_opt(otlp, "export", c, optarg) < 0)
				return LP_EXIT_USAGE;
			continue;
		}
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'f':
			if (!strcmp(optarg, "chrome") || !strcmp(optarg, "json"))
				fmt = LP_FMT_CHROME;
			else if (!strcmp(optarg, "perfetto") || !strcmp(optarg, "pftrace"))
				fmt = LP_FMT_PERFETTO;
			else if (!strcmp(optarg, "folded"))
				fmt = LP_FMT_FOLDED;
			else if (!strcmp(optarg, "svg"))
				fmt = LP_FMT_SVG;
			else if (!strcmp(optarg, "speedscope"))
				fmt = LP_FMT_SPEEDSCOPE;
			else if (!strcmp(optarg, "otlp") || !strcmp(optarg, "otlp-json"))
				fmt = LP_FMT_OTLP_JSON;
			else if (!strcmp(optarg, "prom") || !strcmp(optarg, "openmetrics") || !strcmp(optarg, "prometheus"))
				fmt = LP_FMT_PROM;
			else if (!strcmp(optarg, "html"))
				fmt = LP_FMT_HTML;
			else {
				lp_error("export: unknown format '%s' (choose chrome, perfetto, folded, svg, speedscope, otlp, prom or html)", optarg);
				return LP_EXIT_USAGE;
			}
			break;
		case 'm':
			if (!strcmp(optarg, "time"))
				opt.metric = LP_METRIC_TIME;
			else if (!strcmp(optarg, "bytes"))
				opt.metric = LP_METRIC_BYTES;
			else if (!strcmp(optarg, "ops") || !strcmp(optarg, "calls"))
				opt.metric = LP_METRIC_OPS;
			else {
				lp_error("export: unknown metric '%s' (choose time, bytes or ops)", optarg);
				return LP_EXIT_USAGE;
			}
			break;
		case 'E': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				lp_error("export: --max-events wants a number, not '%s'", optarg);
				return LP_EXIT_USAGE;
			}
			opt.max_events = v;
			break;
		}
		case 'h':
			usage(stdout);
			return LP_EXIT_OK;
		default: /* LP_CMDLINE_ERROR, already reported */
			return LP_EXIT_USAGE;
		}
	}
	const char *in = lp_cmdline_trace("export", optind < argc ? argv[optind++] : NULL);
	if (!in)
		return LP_EXIT_USAGE;
	if (optind < argc) {
		lp_error("export: unexpected argument '%s'; usage: layerprof export FILE -o OUT", argv[optind]);
		return LP_EXIT_USAGE;
	}
	if ((!out || !*out) && !otlp->endpoint) {
		lp_error("export: no output given; use -o OUT (.json, .json.gz, .perfetto-trace, .folded, .svg, .speedscope.json, .otlp.json, .prom, .html), "
			 "-o - or --otlp-endpoint URL");
		return LP_EXIT_USAGE;
	}
	bool to_file = out && *out;
	bool to_stdout = to_file && !strcmp(out, "-");
	bool gz = false;
	if (!to_file) {
		/* only the send */
	} else if (!to_stdout) {
		enum lp_export_format by_name = format_of_name(out, &gz);
		if (fmt == LP_FMT_NONE)
			fmt = by_name;
		if (fmt == LP_FMT_NONE) {
			lp_error("export: cannot tell the format of '%s'; use a .json, .json.gz, .perfetto-trace, .pftrace, .folded, .svg, "
				 ".speedscope.json, .otlp.json, .prom or .html name, or --format chrome|perfetto|folded|svg|speedscope|otlp|prom|html", out);
			return LP_EXIT_USAGE;
		}
	} else if (fmt == LP_FMT_NONE) {
		fmt = LP_FMT_CHROME;
	}
	if (fmt == LP_FMT_HTML && opt.metric != LP_METRIC_TIME) {
		lp_error("export: the HTML report's flame graph is of time; --metric %s is for folded, svg and "
			 "speedscope", lp_metric_name(opt.metric));
		return LP_EXIT_USAGE;
	}
	opt.trace_name = in;
	opt.service = otlp->service;

	char err[512] = "";
	if (otlp->endpoint && lp_otlp_http_ready(err, sizeof(err)) < 0) {
		/* before the trace is read, not after */
		lp_error("export: --otlp-endpoint: %s", err);
		return LP_EXIT_FAILURE;
	}
	lp_meter_start();
	/* the flame graphs show neither findings nor layer provenance: the
	 * model skips them (a sixth of the load of a big trace); not when the
	 * same model is also sent as OTLP, which carries the findings */
	bool flame_only = (fmt == LP_FMT_FOLDED || fmt == LP_FMT_SVG || fmt == LP_FMT_SPEEDSCOPE) && !otlp->endpoint;
	struct lp_model_options mo = { .no_findings = flame_only, .no_provenance = flame_only };
	/* the flame graph of time (the HTML report's too) reads the records
	 * again from the model's tape, not the trace */
	mo.keep_tape = (flame_only || fmt == LP_FMT_HTML) && opt.metric == LP_METRIC_TIME;
	struct lp_chrome_pre chrome_pre = { 0 };
	if (fmt == LP_FMT_CHROME) {
		/* its pre-pass rides on the model's read of the trace */
		mo.observe = lp_chrome_observe;
		mo.observe_arg = &chrome_pre;
		opt.chrome_pre = &chrome_pre;
	}
	if (fmt == LP_FMT_PERFETTO || fmt == LP_FMT_CHROME) {
		/* their pass over the records replays the model's read of the
		 * trace (lp_model_replay), with the paths resolved then */
		mo.keep_tape = mo.replay_all = true;
	}
	struct lp_model *m = lp_model_load(in, &mo, err, sizeof(err));
	if (!m) {
		lp_error("export: %s: %s", in, err[0] ? err : "not a readable layerprof trace");
		return LP_EXIT_BADTRACE;
	}
	struct lp_reader *r = lp_reader_open(in, err, sizeof(err));
	if (!r) {
		lp_error("export: %s: %s", in, err[0] ? err : "not a readable layerprof trace");
		lp_model_free(m);
		return LP_EXIT_BADTRACE;
	}

	int status = LP_EXIT_OK;
	FILE *f = stdout;
	int fd = -1;
	bool in_place = false;  /* OUT is not a regular file: no temp, no rename */
	if (!to_file)
		goto send;
	struct stat ost;
	if (!to_stdout && stat(out, &ost) == 0 && S_ISDIR(ost.st_mode)) {
		lp_error("export: cannot write '%s': it is a directory", out);
		status = LP_EXIT_IO;
		goto done;
	}
	if (!to_stdout && stat(out, &ost) == 0 && !S_ISREG(ost.st_mode)) {
		/* A device, FIFO or socket (/dev/null, a pipe made with mkfifo):
		 * written in place. The temp-and-rename below would replace the
		 * device node itself with a regular file. */
		fd = open(out, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			lp_error("export: cannot write '%s': %s", out, strerror(errno));
			if (fd >= 0)
				close(fd);
			status = LP_EXIT_IO;
			goto done;
		}
		in_place = true;
	} else if (!to_stdout) {
		/* temp file beside OUT, renamed when complete */
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", out);
		char *slash = strrchr(dir, '/');
		const char *base = out;
		if (slash) {
			base = out + (slash - dir) + 1;
			if (slash == dir)
				slash[1] = 0;
			else
				*slash = 0;
		} else {
			snprintf(dir, sizeof(dir), ".");
		}
		if (!*base) {
			lp_error("export: cannot write '%s': not a file name", out);
			status = LP_EXIT_IO;
			goto done;
		}
		if ((size_t)snprintf(tmp_path, sizeof(tmp_path), "%s/.%s.XXXXXX", dir, base) >= sizeof(tmp_path)) {
			lp_error("export: cannot write '%s': name too long", out);
			status = LP_EXIT_IO;
			goto done;
		}
		fd = mkstemp(tmp_path);
		if (fd < 0) {
			lp_error("export: cannot write in '%s': %s", dir, strerror(errno));
			status = LP_EXIT_IO;
			goto done;
		}
		tmp_live = 1;
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
		mode_t um = umask(0);
		umask(um);
		if (fchmod(fd, 0666 & ~um) < 0) {
			/* not fatal: the file stays 0600 */
		}
		f = fdopen(fd, "w");
		if (!f) {
			lp_error("export: cannot write '%s': %s", tmp_path, strerror(errno));
			close(fd);
			status = LP_EXIT_IO;
			goto cleanup_tmp;
		}
	}

	struct lp_xout o;
	lp_xout_init(&o, f, gz);
	char phase[200];
	snprintf(phase, sizeof(phase), "writing %s", to_stdout ? "stdout" : out);
	lp_meter_phase(phase, lp_reader_status(r)->file_size, true); /* the exporter's passes over r */
	int rc = run_export(fmt, m, r, &o, &opt, err, sizeof(err));
	int fin = lp_xout_finish(&o);
	int fe = errno;
	if (rc < 0) {
		lp_error("export: %s: %s", in, err);
		status = LP_EXIT_BADTRACE;
	} else if (fin < 0) {
		lp_error("export: cannot write '%s': %s", to_stdout ? "stdout" : out, strerror(fe));
		status = LP_EXIT_IO;
	}
	if (!to_stdout) {
		if (status == LP_EXIT_OK && fsync(fileno(f)) < 0 && errno != EINVAL) {
			lp_error("export: cannot write '%s': %s", out, strerror(errno));
			status = LP_EXIT_IO;
		}
		if (fclose(f) != 0 && status == LP_EXIT_OK) {
			lp_error("export: cannot write '%s': %s", out, strerror(errno));
			status = LP_EXIT_IO;
		}
		if (status == LP_EXIT_OK && !in_place && rename(tmp_path, out) < 0) {
			lp_error("export: cannot write '%s': %s", out, strerror(errno));
			status = LP_EXIT_IO;
		}
		if (status == LP_EXIT_OK)
			tmp_live = 0;
	}
	if (status == LP_EXIT_OK)
		written(to_stdout ? NULL : out, o.bytes_in);
	lp_meter_clear();
cleanup_tmp:
	if (tmp_live) {
		unlink(tmp_path);
		tmp_live = 0;
	}
	if (!to_stdout) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
	}
send:
	if (status == LP_EXIT_OK && otlp->endpoint) {
		size_t spans = 0, traces = 0, bytes = 0;
		uint64_t t0 = lp_now_ns();
		if (lp_otlp_send(m, r, in, otlp, &spans, &traces, &bytes, err, sizeof(err)) < 0) {
			lp_error("export: OTLP: %s; %s is unchanged, send it again with "
				 "'layerprof export %s --otlp-endpoint URL'", err, in, in);
			status = LP_EXIT_FAILURE;
		} else {
			char dur[32];
			fprintf(stderr, "layerprof export: sent %zu trace%s, %zu spans (%zu bytes of %s%s) to %s in %s\n",
				traces, traces == 1 ? "" : "s", spans, bytes,
				otlp->json ? "JSON" : "protobuf", otlp->gzip ? ", gzip'ed" : "", otlp->endpoint,
				lp_fmt_duration_ns(lp_now_ns() - t0, dur, sizeof(dur)));
		}
	}
done:
	lp_reader_close(r);
	lp_model_free_at_exit(m);
	return status;
}

int cmd_export(int argc, char **argv)
{
	struct lp_otlp_opts otlp;
	lp_otlp_opts_init(&otlp);
	int rc = export_run(argc, argv, &otlp);
	lp_otlp_opts_free(&otlp);
	return rc;
}
