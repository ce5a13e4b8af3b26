/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * layerprof dump FILE [--json] [--raw]: every record of a trace, one per
 * line, perf-script/strace style (or NDJSON), with paths resolved to
 * absolute ones.
 */
#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "commands.h"
#include "event.h"
#include "exitcode.h"
#include "meter.h"
#include "resolve.h"
#include "syscalls.h"
#include "sysfmt.h"
#include "trace.h"
#include "util.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: layerprof dump FILE [--json] [--raw]\n"
		"\n"
		"Print every record of a trace file, one per line, in trace order:\n"
		"the metadata (META) first, then the events, the trailer and what\n"
		"the reader recovered.\n"
		"\n"
		"  12.345678 dockerd[1234/1240] openat(AT_FDCWD, \"a/b\" -> /srv/a/b, O_RDONLY|O_CLOEXEC, 0) = 7 <0.000012>\n"
		"\n"
		"Times are seconds since the start of the recording, then the latency\n"
		"of the call in <>. Relative paths are resolved to absolute ones from\n"
		"the process's cwd and fd table as the trace tells them (shown after\n"
		"->); flags and errors are decoded (= -2 ENOENT).\n"
		"\n"
		"Options:\n"
		"  --json     one JSON object per line (NDJSON) with every field decoded\n"
		"  --raw      do not resolve paths: print them as the process passed them\n"
		"  -h, --help this help\n"
		"\n"
		"Exit status:\n"
		"  0  the records were printed. A damaged trace (killed recording, full\n"
		"     disk, corrupt block) still prints every record recovered before\n"
		"     the damage, then a warning on stderr saying where it stopped and\n"
		"     what was recovered, and exits 0.\n"
		"  2  bad command line\n"
		"  6  FILE is missing, not a layerprof trace, of a newer format, or\n"
		"     unreadable from its first block\n"
		"  7  the output could not be written\n");
}

struct dump {
	struct lp_reader *rd;
	struct lp_resolver *res;
	bool json, raw;
	bool have_start;
	uint64_t start_ns;
	struct lp_buf line;
	FILE *out;
};

/* lp_buf_printf with one vsnprintf for short output (the common case). */
static void putf(struct lp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct lp_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		lp_buf_append(b, tmp, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	char *big = NULL;
	if (vasprintf(&big, fmt, ap) >= 0)
		lp_buf_puts(b, big);
	va_end(ap);
	free(big);
}

/* Signed nanoseconds as seconds with `digits` decimals (truncated), without
 * floating point: "12.345678", "-0.000001". */
static void put_secs(struct lp_buf *b, int64_t ns, int digits, int width)
{
	static const int64_t div[] = { 1000000000, 100000000, 10000000, 1000000, 100000,
				       10000, 1000, 100, 10, 1 };
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	char num[48];
	size_t n = 0;
	if (ns < 0)
		num[n++] = '-';
	n += lp_fmt_u64(num + n, a / 1000000000u);
	num[n++] = '.';
	lp_fmt_u64_fixed(num + n, a % 1000000000u / (uint64_t)div[digits], digits);
	n += (size_t)digits;
	lp_buf_reserve(b, n + (size_t)width);
	for (size_t pad = n; pad < (size_t)width; pad++)
		b->data[b->len++] = ' ';
	lp_buf_append(b, num, n);
}

/* ---------------------------------------------------------- string output */

/* strace-like escaping: quotes, backslash, control bytes as \n \t \xNN;
 * other bytes (UTF-8 names) as they are. */
static bool plain_byte(unsigned char c)
{
	return c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
}

/* Whether one of the 8 bytes of w is not a plain_byte (bit tricks: a byte
 * below 0x20, or equal to '"', '\\' or DEL; never a false "no"). */
#define BYTES(c) (0x0101010101010101ull * (uint8_t)(c))
static inline uint64_t zero_byte(uint64_t v)
{
	return (v - BYTES(1)) & ~v & BYTES(0x80);
}

static inline bool word_needs_escape(uint64_t w)
{
	return (((w - BYTES(0x20)) & ~w & BYTES(0x80)) | zero_byte(w ^ BYTES('"')) |
		zero_byte(w ^ BYTES('\\')) | zero_byte(w ^ BYTES(0x7f))) != 0;
}

static void put_escaped(struct lp_buf *b, const char *s, size_t n)
{
	/* written in place: \xNN, the longest escape, is 4 bytes a byte */
	lp_buf_reserve(b, 4 * n);
	char *o = b->data + b->len;
	for (size_t i = 0; i < n; i++) {
		uint64_t w;
		/* eight plain bytes at a time: paths are most of the output */
		while (i + 8 <= n && (memcpy(&w, s + i, 8), !word_needs_escape(w))) {
			memcpy(o, &w, 8);
			o += 8;
			i += 8;
		}
		if (i == n)
			break;
		unsigned char c = (unsigned char)s[i];
		if (plain_byte(c)) {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\t': *o++ = 't'; break;
		case '\r': *o++ = 'r'; break;
		default: /* the other C0 controls and DEL */
			*o++ = 'x';
			*o++ = "0123456789abcdef"[c >> 4];
			*o++ = "0123456789abcdef"[c & 15];
		}
	}
	*o = '\0';
	b->len = (size_t)(o - b->data);
}

static void put_quoted(struct lp_buf *b, const char *s, size_t n)
{
	lp_buf_puts(b, "\"");
	put_escaped(b, s, n);
	lp_buf_puts(b, "\"");
}

/* A JSON string; bytes that are not valid UTF-8 become \u00XX (their
 * Latin-1 reading) so every line stays valid JSON and shows the bytes. */
static void json_str_n(struct lp_buf *b, const char *s, size_t n)
{
	lp_buf_json_strn(b, s, n, LP_JSON_INVALID_LATIN1);
}

static void json_str(struct lp_buf *b, const char *s)
{
	if (s)
		json_str_n(b, s, strlen(s));
	else
		lp_buf_puts(b, "null");
}

static void json_key(struct lp_buf *b, const char *k)
{
	lp_buf_lit(b, ",\"");
	lp_buf_puts(b, k);
	lp_buf_lit(b, "\":");
}

/* ,"key":N — `key` a literal with its comma, quotes and colon */
#define json_u64(b, key, v) (lp_buf_lit((b), key), lp_buf_u64((b), (v)))
#define json_i64(b, key, v) (lp_buf_lit((b), key), lp_buf_i64((b), (v)))

/* ---------------------------------------------------------------- common */

static const char *comm_of(const struct dump *d, const struct lp_hdr *h, char tmp[LP_COMM_LEN + 1])
{
	const char *c = NULL;
	switch (h->kind) {
	case LP_EV_EXEC:
		lp_comm_copy(tmp, ((const struct lp_ev_exec *)h)->comm);
		c = tmp;
		break;
	case LP_EV_EXIT:
	case LP_REC_PROC_SEED:
	case LP_REC_TRACE_PID:
		c = lp_resolver_comm(d->res, h->tgid);
		if (!c) {
			const char *src = h->kind == LP_EV_EXIT ? ((const struct lp_ev_exit *)h)->comm
					: h->kind == LP_REC_PROC_SEED
						? ((const struct lp_rec_proc_seed *)h)->comm
						: ((const struct lp_rec_trace_pid *)h)->comm;
			lp_comm_copy(tmp, src);
			c = tmp;
		}
		break;
	default:
		c = lp_resolver_comm(d->res, h->tgid);
	}
	return c && *c ? c : NULL;
}

static void text_prefix(struct dump *d, const struct lp_hdr *h)
{
	char tmp[LP_COMM_LEN + 1];
	const char *comm = comm_of(d, h, tmp);
	put_secs(&d->line, (int64_t)(h->ts - d->start_ns), 6, 12);
	lp_buf_puts(&d->line, " ");
	if (h->tgid == 0 && h->tid == 0) {
		lp_buf_puts(&d->line, "- "); /* made by layerprof, no process */
		return;
	}
	if (comm)
		put_escaped(&d->line, comm, strlen(comm));
	else
		lp_buf_puts(&d->line, "?");
	lp_buf_lit(&d->line, "[");
	lp_buf_u64(&d->line, h->tgid);
	if (h->tgid != h->tid && h->tid != 0) {
		lp_buf_lit(&d->line, "/");
		lp_buf_u64(&d->line, h->tid);
	}
	lp_buf_lit(&d->line, "] ");
}

static void json_prefix(struct dump *d, const struct lp_hdr *h)
{
	char tmp[LP_COMM_LEN + 1];
	const char *kind = lp_kind_name(h->kind);
	lp_buf_puts(&d->line, "{\"kind\":");
	json_str(&d->line, kind ? kind : "unknown");
	json_u64(&d->line, ",\"kind_id\":", h->kind);
	json_u64(&d->line, ",\"size\":", h->size);
	json_u64(&d->line, ",\"ts_ns\":", h->ts);
	lp_buf_lit(&d->line, ",\"t_rel_s\":");
	put_secs(&d->line, (int64_t)(h->ts - d->start_ns), 9, 0);
	json_u64(&d->line, ",\"pid\":", h->tgid);
	json_u64(&d->line, ",\"tid\":", h->tid);
	json_u64(&d->line, ",\"flags\":", h->flags);
	json_key(&d->line, "comm");
	json_str(&d->line, comm_of(d, h, tmp));
}

/* ---------------------------------------------------------------- syscall */

static bool is_string_type(int t)
{
	return t == LP_ARG_PATH || t == LP_ARG_MOUNT_SRC || t == LP_ARG_LINK_TARGET ||
	       t == LP_ARG_STR;
}

static void text_syscall(struct dump *d, const struct lp_ev_syscall *ev)
{
	unsigned sc = ev->h.aux;
	const struct lp_sc_desc *desc = lp_sc_desc(sc);
	struct lp_buf *b = &d->line;
	char tmp[4096];

	if (desc) {
		lp_buf_puts(b, desc->name);
	} else {
		lp_buf_lit(b, "syscall_");
		lp_buf_u64(b, sc);
	}
	lp_buf_lit(b, "(");
	unsigned nargs = desc ? desc->nargs : 6;
	for (unsigned a = 0; a < nargs && a < 6; a++) {
		int t = desc ? desc->arg[a].type : LP_ARG_PTR;
		if (a)
			lp_buf_lit(b, ", ");
		unsigned idx;
		size_t n;
		const char *s = lp_ev_syscall_arg_str(ev, a, &idx, &n);
		if (s && (is_string_type(t) || !desc)) {
			put_quoted(b, s, n);
			if (lp_ev_syscall_str_truncated(ev, idx))
				lp_buf_puts(b, "...");
			if (!d->raw && lp_sc_arg_is_path(sc, a, ev->args)) {
				const char *r = lp_resolve_path(d->res, ev, (int)idx, tmp, sizeof(tmp));
				if (r && strcmp(r, s) != 0) {
					lp_buf_puts(b, " -> ");
					put_escaped(b, r, strlen(r));
				}
			}
		} else if (is_string_type(t)) {
			lp_buf_puts(b, lp_fmt_arg(LP_ARG_PTR, ev->args[a], tmp, sizeof(tmp)));
		} else {
			lp_buf_puts(b, lp_fmt_arg(t, ev->args[a], tmp, sizeof(tmp)));
		}
	}
	lp_buf_lit(b, ") = ");
	lp_buf_i64(b, (int64_t)ev->ret);
	if (ev->ret < 0 && ev->ret >= -4095) {
		const char *e = lp_errno_name((int)-ev->ret);
		lp_buf_lit(b, " ");
		lp_buf_puts(b, e ? e : "");
	}
	lp_buf_lit(b, " <");
	put_secs(b, (int64_t)ev->lat_ns, 6, 0);
	lp_buf_lit(b, ">");
	if (ev->h.flags & LP_F_OPEN_DIR)
		lp_buf_puts(b, " (a directory)");
	if (ev->h.flags & LP_F_STR_FAULT)
		lp_buf_puts(b, " (a string argument could not be read)");
}

static void json_syscall(struct dump *d, const struct lp_ev_syscall *ev)
{
	unsigned sc = ev->h.aux;
	const struct lp_sc_desc *desc = lp_sc_desc(sc);
	struct lp_buf *b = &d->line;
	char tmp[4096];

	json_key(b, "syscall");
	if (desc)
		json_str(b, desc->name);
	else
		putf(b, "\"syscall_%u\"", sc);
	json_u64(b, ",\"sc\":", sc);
	json_i64(b, ",\"ret\":", (int64_t)ev->ret);
	json_key(b, "errno");
	if (ev->ret < 0 && ev->ret >= -4095)
		json_str(b, lp_errno_name((int)-ev->ret));
	else
		lp_buf_puts(b, "null");
	json_u64(b, ",\"latency_ns\":", ev->lat_ns);

	unsigned nargs = desc ? desc->nargs : 6;
	lp_buf_puts(b, ",\"args\":[");
	for (unsigned a = 0; a < nargs && a < 6; a++) {
		int t = desc ? desc->arg[a].type : LP_ARG_PTR;
		if (a)
			lp_buf_puts(b, ",");
		if (lp_argt_is_signed(t))
			lp_buf_i64(b, t == LP_ARG_OFFSET ? (int64_t)ev->args[a]
							 : (int64_t)(int32_t)ev->args[a]);
		else
			lp_buf_u64(b, ev->args[a]);
	}
	lp_buf_puts(b, "],\"args_text\":[");
	for (unsigned a = 0; a < nargs && a < 6; a++) {
		int t = desc ? desc->arg[a].type : LP_ARG_PTR;
		if (a)
			lp_buf_puts(b, ",");
		size_t n;
		const char *s = lp_ev_syscall_arg_str(ev, a, NULL, &n);
		if (s && (is_string_type(t) || !desc))
			json_str_n(b, s, n);
		else
			json_str(b, lp_fmt_arg(is_string_type(t) ? LP_ARG_PTR : t, ev->args[a], tmp,
					       sizeof(tmp)));
	}
	lp_buf_puts(b, "],\"strings\":[");
	for (unsigned i = 0; i < ev->nstr && i < LP_SYSCALL_MAX_STRS; i++) {
		unsigned a = ev->str_arg[i];
		int t = lp_sc_arg_type(sc, a);
		size_t n = 0;
		const char *s = lp_ev_syscall_str(ev, i, &n);
		bool path = lp_sc_arg_is_path(sc, a, ev->args);
		if (i)
			lp_buf_puts(b, ",");
		json_u64(b, "{\"arg\":", a);
		lp_buf_lit(b, ",\"type\":");
		json_str(b, path ? "path" : lp_argt_name(t));
		json_key(b, "raw");
		if (s)
			json_str_n(b, s, n);
		else
			lp_buf_puts(b, "null");
		if (path) {
			json_key(b, "resolved");
			const char *r = s && !d->raw
					? lp_resolve_path(d->res, ev, (int)i, tmp, sizeof(tmp))
					: NULL;
			json_str(b, r);
		}
		lp_buf_puts(b, lp_ev_syscall_str_truncated(ev, i) ? ",\"truncated\":true}"
								    : ",\"truncated\":false}");
	}
	lp_buf_puts(b, "]");
	if (ev->h.flags & LP_F_STR_FAULT)
		lp_buf_puts(b, ",\"string_fault\":true");
	if (ev->h.flags & LP_F_OPEN_DIR)
		lp_buf_puts(b, ",\"directory\":true");
}

/* ----------------------------------------------------------- other kinds */

static void text_argv(struct lp_buf *b, struct lp_str_iter *it, bool skip_first)
{
	const char *s;
	size_t n;
	bool first = true;
	if (skip_first)
		lp_str_next(it, NULL);
	lp_buf_puts(b, "[");
	while ((s = lp_str_next(it, &n))) {
		if (!first)
			lp_buf_puts(b, ", ");
		put_quoted(b, s, n);
		first = false;
	}
	lp_buf_puts(b, "]");
}

static void json_argv(struct lp_buf *b, struct lp_str_iter *it)
{
	const char *s;
	size_t n;
	bool first = true;
	lp_buf_puts(b, "[");
	while ((s = lp_str_next(it, &n))) {
		if (!first)
			lp_buf_puts(b, ",");
		json_str_n(b, s, n);
		first = false;
	}
	lp_buf_puts(b, "]");
}

static const char *why_name(uint32_t why)
{
	switch (why) {
	case LP_WHY_COMMAND: return "command";
	case LP_WHY_PID: return "pid";
	case LP_WHY_COMM: return "comm";
	default: return "unknown";
	}
}

static void text_fd_io_half(struct lp_buf *b, const char *verb, uint64_t bytes, uint32_t calls,
			    uint64_t ns)
{
	char t[32];
	lp_buf_puts(b, verb);
	lp_buf_lit(b, " ");
	lp_buf_u64(b, bytes);
	lp_buf_lit(b, " B");
	if (calls) {
		lp_buf_lit(b, " in ");
		lp_buf_u64(b, calls);
		lp_buf_puts(b, calls == 1 ? " call " : " calls ");
		lp_buf_puts(b, lp_fmt_duration_ns(ns, t, sizeof(t)));
	}
}

static void text_record(struct dump *d, const struct lp_hdr *h)
{
	struct lp_buf *b = &d->line;
	char tmp[4096], c[LP_COMM_LEN + 1];
	const char *kind = lp_kind_name(h->kind);

	if (!kind) {
		putf(b, "record kind %#x (size %u): unknown to this layerprof, skipped",
			      h->kind, h->size);
		return;
	}
	if (!lp_ev_valid(h)) {
		putf(b, "malformed %s record (size %u), skipped", kind, h->size);
		return;
	}
	switch (h->kind) {
	case LP_EV_SYSCALL:
		text_syscall(d, (const void *)h);
		break;
	case LP_EV_FORK: {
		const struct lp_ev_fork *ev = (const void *)h;
		lp_comm_copy(c, ev->child_comm);
		putf(b, "fork -> %u", h->aux);
		if (c[0]) {
			lp_buf_puts(b, " (");
			put_escaped(b, c, strlen(c));
			lp_buf_puts(b, ")");
		}
		break;
	}
	case LP_EV_EXEC: {
		const struct lp_ev_exec *ev = (const void *)h;
		size_t n;
		const char *f = lp_ev_exec_filename(ev, &n);
		lp_buf_puts(b, "exec ");
		if (f)
			put_quoted(b, f, n);
		else
			lp_buf_puts(b, "?");
		if (f && !d->raw) {
			const char *cwd = lp_resolver_cwd(d->res, h->tgid);
			const char *r = f[0] == '/' || cwd
					? lp_path_normalize(f[0] == '/' ? NULL : cwd, f, tmp, sizeof(tmp))
					: NULL;
			if (r && strcmp(r, f) != 0) {
				lp_buf_puts(b, " -> ");
				put_escaped(b, r, strlen(r));
			}
		}
		putf(b, " ppid %u", ev->ppid);
		if (h->aux && h->aux != h->tgid)
			putf(b, " (exec'd by thread %u)", h->aux);
		break;
	}
	case LP_EV_EXEC_ARGV: {
		const struct lp_ev_exec_argv *ev = (const void *)h;
		struct lp_str_iter it;
		const char *name = lp_sc_name(h->aux);
		lp_ev_argv_iter(ev, &it);
		size_t n;
		const char *f = lp_str_next(&it, &n);
		putf(b, "%s(", name ? name : "exec");
		if (h->aux == LP_SC_EXECVEAT)
			putf(b, "%s, ", lp_fmt_arg(LP_ARG_DIRFD, (uint64_t)(int64_t)ev->dirfd,
							    tmp, sizeof(tmp)));
		if (f)
			put_quoted(b, f, n);
		else
			lp_buf_puts(b, "?");
		lp_buf_puts(b, ", ");
		text_argv(b, &it, false);
		if (h->flags & LP_F_ARGV_TRUNC)
			lp_buf_puts(b, "...");
		lp_buf_puts(b, ") entered");
		break;
	}
	case LP_EV_EXIT: {
		const struct lp_ev_exit *ev = (const void *)h;
		putf(b, "exit: %s", lp_fmt_wait_status(h->aux, tmp, sizeof(tmp)));
		putf(b, " (chown %u, chmod %u, utimens %u, stat ok %u)", ev->counts.chown,
			      ev->counts.chmod, ev->counts.utimens, ev->counts.stat_ok);
		uint64_t cpu = lp_ev_exit_cpu_ns(ev);
		if (cpu) /* 0: a trace made before the field */
			putf(b, ", on CPU %s (%" PRIu64 " ns)", lp_fmt_duration_ns(cpu, tmp, sizeof(tmp)), cpu);
		break;
	}
	case LP_EV_FD_IO: {
		const struct lp_ev_fd_io *ev = (const void *)h;
		const char *p = d->raw ? NULL : lp_resolver_fdio_path(d->res, ev);
		enum lp_fd_kind k = lp_fdio_kind(ev);
		lp_buf_lit(b, "fd ");
		lp_buf_i64(b, (int32_t)h->aux);
		if (p) {
			lp_buf_lit(b, " (");
			put_escaped(b, p, strlen(p));
			lp_buf_lit(b, ")");
		} else if (k != LP_FDK_UNKNOWN && k != LP_FDK_FILE) {
			putf(b, " (%s)", lp_fd_kind_name(k));
		}
		lp_buf_lit(b, ": ");
		text_fd_io_half(b, "read", ev->rbytes, ev->rcalls, ev->rns);
		lp_buf_lit(b, ", ");
		text_fd_io_half(b, "wrote", ev->wbytes, ev->wcalls, ev->wns);
		if ((ev->io_flags & LP_FDIO_DRAINED) || (h->flags & LP_FDIO_DRAINED))
			lp_buf_puts(b, lp_resolver_fdio_closes(d->res, h)
					       ? " (closed at exit)" : " (still open)");
		else if (ev->io_flags & LP_FDIO_GONE)
			lp_buf_puts(b, " (closed by exec or close_range)");
		break;
	}
	case LP_REC_PROC_SEED: {
		const struct lp_rec_proc_seed *ev = (const void *)h;
		size_t n;
		const char *s;
		struct lp_str_iter it;
		putf(b, "seed process ppid %u exe ", h->aux);
		if ((s = lp_ev_seed_exe(ev, &n)))
			put_quoted(b, s, n);
		else
			lp_buf_puts(b, "?");
		lp_buf_puts(b, " cwd ");
		if ((s = lp_ev_seed_cwd(ev, &n)))
			put_quoted(b, s, n);
		else
			lp_buf_puts(b, "?");
		lp_buf_puts(b, " cmdline ");
		lp_ev_seed_cmdline_iter(ev, &it);
		text_argv(b, &it, false);
		break;
	}
	case LP_REC_FD_SEED: {
		size_t n;
		const char *s = lp_ev_fd_seed_path((const void *)h, &n);
		putf(b, "seed fd %d -> ", (int32_t)h->aux);
		if (s)
			put_escaped(b, s, n);
		else
			lp_buf_puts(b, "?");
		break;
	}
	case LP_REC_PROGRESS: {
		size_t n = 0;
		const char *s = lp_ev_progress_text((const void *)h, &n);
		putf(b, "progress %s ", h->aux == 2 ? "stderr" : h->aux == 1 ? "stdout" : "?");
		put_quoted(b, s ? s : "", s ? n : 0);
		if (((const struct lp_rec_progress *)h)->flags & LP_PROGRESS_CONTINUES)
			lp_buf_puts(b, " (continues)");
		break;
	}
	case LP_REC_TRACE_PID:
		putf(b, "trace pid %u (%s)", h->tgid, why_name(h->aux));
		break;
	case LP_REC_CONTEXT_FILE: {
		const struct lp_rec_context_file *ev = (const void *)h;
		size_t n;
		const char *s = lp_ev_context_path(ev, &n);
		lp_buf_puts(b, "context file ");
		if (s)
			put_quoted(b, s, n);
		else
			lp_buf_puts(b, "?");
		putf(b, " %" PRIu64 " B mode 0%o mtime %" PRId64 ".%09" PRId64,
			      (uint64_t)ev->size, ev->mode, (int64_t)ev->mtime_ns / 1000000000,
			      ((int64_t)ev->mtime_ns % 1000000000 + 1000000000) % 1000000000);
		break;
	}
	default:
		break;
	}
}

static void json_record(struct dump *d, const struct lp_hdr *h)
{
	struct lp_buf *b = &d->line;
	char c[LP_COMM_LEN + 1];

	if (!lp_kind_name(h->kind))
		return;
	if (!lp_ev_valid(h)) {
		lp_buf_puts(b, ",\"malformed\":true");
		return;
	}
	switch (h->kind) {
	case LP_EV_SYSCALL:
		json_syscall(d, (const void *)h);
		break;
	case LP_EV_FORK:
		lp_comm_copy(c, ((const struct lp_ev_fork *)h)->child_comm);
		putf(b, ",\"child_pid\":%u", h->aux);
		json_key(b, "child_comm");
		json_str(b, c);
		break;
	case LP_EV_EXEC: {
		const struct lp_ev_exec *ev = (const void *)h;
		char tmp[4096];
		const char *f = lp_ev_exec_filename(ev, NULL);
		json_key(b, "filename");
		json_str(b, f);
		json_key(b, "filename_resolved");
		const char *cwd = lp_resolver_cwd(d->res, h->tgid);
		json_str(b, f && !d->raw && (f[0] == '/' || cwd)
				? lp_path_normalize(f[0] == '/' ? NULL : cwd, f, tmp, sizeof(tmp))
				: NULL);
		lp_comm_copy(c, ev->comm);
		json_key(b, "new_comm");
		json_str(b, c);
		putf(b, ",\"ppid\":%u,\"old_pid\":%u", ev->ppid, h->aux);
		break;
	}
	case LP_EV_EXEC_ARGV: {
		const struct lp_ev_exec_argv *ev = (const void *)h;
		struct lp_str_iter it;
		json_key(b, "syscall");
		json_str(b, lp_sc_name(h->aux));
		putf(b, ",\"dirfd\":%d", ev->dirfd);
		lp_ev_argv_iter(ev, &it);
		json_key(b, "filename");
		json_str(b, lp_str_next(&it, NULL));
		json_key(b, "argv");
		json_argv(b, &it);
		putf(b, ",\"argv_truncated\":%s",
			      (h->flags & LP_F_ARGV_TRUNC) ? "true" : "false");
		break;
	}
	case LP_EV_EXIT: {
		const struct lp_ev_exit *ev = (const void *)h;
		uint32_t st = h->aux, sig = st & 0x7f;
		putf(b, ",\"exit_status\":%u", st);
		if (sig == 0) {
			putf(b, ",\"exit_code\":%u,\"signal\":null", (st >> 8) & 0xff);
		} else {
			lp_buf_puts(b, ",\"exit_code\":null,\"signal\":");
			json_str(b, lp_signal_name((int)sig));
			putf(b, ",\"signal_number\":%u", sig);
		}
		putf(b, ",\"core_dumped\":%s", (st & 0x80) ? "true" : "false");
		putf(b, ",\"counts\":{\"chown\":%u,\"chmod\":%u,\"utimens\":%u,\"stat_ok\":%u}",
			      ev->counts.chown, ev->counts.chmod, ev->counts.utimens,
			      ev->counts.stat_ok);
		uint64_t cpu = lp_ev_exit_cpu_ns(ev);
		if (cpu)
			putf(b, ",\"cpu_ns\":%" PRIu64, cpu);
		else
			lp_buf_puts(b, ",\"cpu_ns\":null"); /* unknown: a trace made before the field */
		break;
	}
	case LP_EV_FD_IO: {
		const struct lp_ev_fd_io *ev = (const void *)h;
		json_i64(b, ",\"fd\":", (int32_t)h->aux);
		json_key(b, "path");
		json_str(b, d->raw ? NULL : lp_resolver_fdio_path(d->res, ev));
		json_key(b, "fd_kind");
		json_str(b, lp_fd_kind_name(lp_fdio_kind(ev)));
		json_u64(b, ",\"first_ts_ns\":", ev->first_ts);
		json_u64(b, ",\"last_ts_ns\":", ev->last_ts);
		json_u64(b, ",\"read_bytes\":", ev->rbytes);
		json_u64(b, ",\"read_calls\":", ev->rcalls);
		json_u64(b, ",\"read_ns\":", ev->rns);
		json_u64(b, ",\"write_bytes\":", ev->wbytes);
		json_u64(b, ",\"write_calls\":", ev->wcalls);
		json_u64(b, ",\"write_ns\":", ev->wns);
		lp_buf_puts(b, ((ev->io_flags | h->flags) & LP_FDIO_DRAINED) ? ",\"drained\":true"
									   : ",\"drained\":false");
		lp_buf_puts(b, lp_resolver_fdio_closes(d->res, h) ? ",\"closed\":true" : ",\"closed\":false");
		break;
	}
	case LP_REC_PROC_SEED: {
		const struct lp_rec_proc_seed *ev = (const void *)h;
		struct lp_str_iter it;
		putf(b, ",\"ppid\":%u", h->aux);
		json_key(b, "exe");
		json_str(b, lp_ev_seed_exe(ev, NULL));
		json_key(b, "cwd");
		json_str(b, lp_ev_seed_cwd(ev, NULL));
		json_key(b, "cmdline");
		lp_ev_seed_cmdline_iter(ev, &it);
		json_argv(b, &it);
		break;
	}
	case LP_REC_FD_SEED:
		putf(b, ",\"fd\":%d", (int32_t)h->aux);
		json_key(b, "path");
		json_str(b, lp_ev_fd_seed_path((const void *)h, NULL));
		break;
	case LP_REC_PROGRESS: {
		size_t n = 0;
		const char *s = lp_ev_progress_text((const void *)h, &n);
		json_key(b, "stream");
		json_str(b, h->aux == 2 ? "stderr" : h->aux == 1 ? "stdout" : NULL);
		json_key(b, "text");
		json_str_n(b, s ? s : "", s ? n : 0);
		/* the line goes on in the next progress record */
		putf(b, ",\"continues\":%s",
		     ((const struct lp_rec_progress *)h)->flags & LP_PROGRESS_CONTINUES ? "true" : "false");
		break;
	}
	case LP_REC_TRACE_PID:
		json_key(b, "why");
		json_str(b, why_name(h->aux));
		break;
	case LP_REC_CONTEXT_FILE: {
		const struct lp_rec_context_file *ev = (const void *)h;
		json_key(b, "path");
		json_str(b, lp_ev_context_path(ev, NULL));
		putf(b, ",\"file_size\":%" PRIu64 ",\"mtime_ns\":%" PRId64 ",\"mode\":%u",
			      (uint64_t)ev->size, (int64_t)ev->mtime_ns, ev->mode);
		break;
	}
	default:
		break;
	}
}

/* ------------------------------------------------------------- the driver */

/* Lines gather in d->line and go out in big writes: one fwrite per line
 * was a tenth of the time. */
#define DUMP_FLUSH_AT (256u << 10)

static void flush_lines(struct dump *d)
{
	if (d->line.len)
		fwrite(d->line.data, 1, d->line.len, d->out);
	d->line.len = 0;
	d->line.data[0] = '\0';
}

static void emit(struct dump *d)
{
	lp_buf_lit(&d->line, "\n");
	if (d->line.len >= DUMP_FLUSH_AT)
		flush_lines(d);
}

/* start_monotonic_ns from META (number or decimal string). */
static bool meta_start(const cJSON *meta, uint64_t *out)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(meta, "start_monotonic_ns");
	if (cJSON_IsNumber(s) && s->valuedouble >= 0) {
		*out = (uint64_t)s->valuedouble;
		return true;
	}
	if (cJSON_IsString(s) && s->valuestring) {
		char *end;
		unsigned long long v = strtoull(s->valuestring, &end, 10);
		if (end != s->valuestring && !*end) {
			*out = v;
			return true;
		}
	}
	return false;
}

static void print_json_blob(struct dump *d, const char *label, const char *text)
{
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	char *compact = j ? cJSON_PrintUnformatted(j) : NULL;
	if (d->json) {
		putf(&d->line, "{\"kind\":\"%s\",\"%s\":", label, label);
		if (compact)
			lp_buf_json_text(&d->line, compact);
		else
			json_str(&d->line, text);
		lp_buf_puts(&d->line, "}");
	} else {
		putf(&d->line, "# %s ", label);
		if (compact)
			lp_buf_json_text(&d->line, compact);
		else if (text)
			put_escaped(&d->line, text, strlen(text));
		else
			lp_buf_puts(&d->line, "(none: the recording did not finish)");
	}
	emit(d);
	free(compact);
	cJSON_Delete(j);
}

int cmd_dump(int argc, char **argv)
{
	struct dump d = { .out = stdout };
	const struct lp_cmdline_flag flags[] = { { "json", 0, &d.json }, { "raw", 0, &d.raw } };
	int status = lp_cmdline_flags("dump", argc, argv, flags, LP_ARRAY_SIZE(flags), usage);
	if (status >= 0)
		return status;
	const char *path = optind < argc ? argv[optind] : NULL;
	if (optind + 1 < argc) {
		lp_error("dump: one trace file at a time ('%s' and '%s' given)", path, argv[optind + 1]);
		return LP_EXIT_USAGE;
	}
	path = lp_cmdline_trace("dump", path);
	if (!path)
		return LP_EXIT_USAGE;

	char err[512];
	d.rd = lp_reader_open(path, err, sizeof(err));
	if (!d.rd) {
		lp_error("dump: %s", err);
		return LP_EXIT_BADTRACE;
	}
	d.res = lp_resolver_new();
	lp_buf_reserve(&d.line, DUMP_FLUSH_AT + 8192);
	/* progress only when the records go elsewhere than the terminal: the
	 * line would land between them */
	if (!isatty(fileno(d.out))) {
		lp_meter_start();
		lp_meter_phase("reading", lp_reader_status(d.rd)->file_size, true);
	}

	const char *meta = lp_reader_meta(d.rd);
	cJSON *mj = cJSON_Parse(meta);
	d.have_start = mj && meta_start(mj, &d.start_ns);
	cJSON_Delete(mj);
	print_json_blob(&d, "meta", meta);

	const struct lp_hdr *h;
	while (lp_reader_next(d.rd, &h) == 1) {
		if (!d.have_start) {
			d.start_ns = h->ts;
			d.have_start = true;
		}
		if (d.json) {
			json_prefix(&d, h);
			json_record(&d, h);
			lp_buf_puts(&d.line, "}");
		} else {
			text_prefix(&d, h);
			text_record(&d, h);
		}
		emit(&d);
		/* resolution uses the state before the call, then the call
		 * updates it */
		lp_resolver_feed(d.res, h);
	}

	const struct lp_reader_status *st = lp_reader_status(d.rd);
	print_json_blob(&d, "trailer", lp_reader_trailer(d.rd));
	if (d.json) {
		putf(&d.line, "{\"kind\":\"status\",\"blocks\":%" PRIu64 ",\"records\":%" PRIu64
			      ",\"bytes\":%" PRIu64 ",\"file_size\":%" PRIu64
			      ",\"has_trailer\":%s,\"damaged\":%s,\"message\":",
			      st->blocks, st->records, st->bytes, st->file_size,
			      st->has_trailer ? "true" : "false", st->damaged ? "true" : "false");
		json_str(&d.line, st->message);
		lp_buf_puts(&d.line, "}");
	} else {
		putf(&d.line, "# status %s", st->message);
	}
	emit(&d);
	flush_lines(&d);

	int rc = LP_EXIT_OK;
	if (fflush(d.out) != 0 || ferror(d.out)) {
		lp_error("dump: cannot write the output: %s", strerror(errno));
		rc = LP_EXIT_IO;
	}
	if (rc == LP_EXIT_OK && lp_meter_was_shown())
		lp_meter_done("dumped %llu records of %s", (unsigned long long)st->records, path);
	lp_meter_clear();
	if (st->damaged)
		lp_warn("%s: %s", path, st->message);
	else if (!st->has_trailer)
		lp_warn("%s: %s", path, st->message);

	lp_buf_free(&d.line);
	lp_resolver_free(d.res);
	lp_reader_close(d.rd);
	return rc;
}
