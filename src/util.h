/* SPDX-License-Identifier: BSD-2-Clause */
/* Small helpers used everywhere: messages, a growable buffer, numbers. */
#ifndef LAYERPROF_UTIL_H
#define LAYERPROF_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "layerprof: <message>" on stderr, one line. */
void lp_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that cannot fail silently: prints and exits on OOM. */
void *lp_xmalloc(size_t n);
void *lp_xcalloc(size_t n, size_t size);
/* Zeroed like lp_xcalloc, but every page written now: for a table read
 * before it is written (a hash table's probes). A big calloc's pages are
 * mapped lazily, a first read maps the shared zero page, and the first
 * write to each then copies it and flushes the TLB of every CPU the
 * process runs on: an interrupt to each of the other threads. */
void *lp_xcalloc_written(size_t n, size_t size);
void *lp_xrealloc(void *p, size_t n);
char *lp_xstrdup(const char *s);
/* Grow *p (an array of *cap elements of elem bytes) to hold need, doubling;
 * the new room is zeroed. */
void lp_grow(void **p, size_t *cap, size_t need, size_t elem);
/* The same, the new room left as it is (the caller fills each element as
 * it uses it: untouched pages stay out of the resident memory). */
void lp_grow_raw(void **p, size_t *cap, size_t need, size_t elem);
/* vsnprintf into a new string. */
char *lp_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A copy of s[0..n) (stopping at a NUL) on one line: every run of white
 * space becomes one blank, none at either end. Never NULL. */
char *lp_collapse_ws(const char *s, size_t n);

/* ---- strings: the one home of these small helpers */
/* The last component of a path ("/usr/bin/sh" -> "sh"); NULL stays NULL. */
const char *lp_base_name(const char *path);
static inline bool lp_starts_with(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return false;
	return true;
}
/* An absolute path normalized lexically ("." and ".." resolved, repeated
 * slashes dropped) into out; "" for "/". */
void lp_norm_abs_path(const char *in, char *out, size_t len);

/* A growable byte buffer, always NUL-terminated. */
struct lp_buf {
	char *data;
	size_t len, cap;
};
void lp_buf_grow(struct lp_buf *b, size_t extra);
/* Room for `extra` more bytes and the NUL. Inline: exports and dump append
 * a few bytes at a time, tens of millions of times. */
static inline void lp_buf_reserve(struct lp_buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
		lp_buf_grow(b, extra);
}
static inline void lp_buf_append(struct lp_buf *b, const void *p, size_t n)
{
	lp_buf_reserve(b, n);
	memcpy(b->data + b->len, p, n); /* inlined when n is a constant */
	b->len += n;
	b->data[b->len] = '\0';
}
void lp_buf_puts(struct lp_buf *b, const char *s);
/* A string literal, its length known at compile time. */
#define lp_buf_lit(b, lit) lp_buf_append((b), "" lit, sizeof(lit) - 1)

/* ---- numbers as text, without printf: the one fast formatter of the
 * per-event output paths (dump, exports). Same text as printf's %llu /
 * %lld; the functions write no NUL and return the length. */
#define LP_U64_DIGITS 20
size_t lp_fmt_u64(char *out, uint64_t v);
size_t lp_fmt_i64(char *out, int64_t v);
/* printf's %#llx: "0" for 0, else "0x" and lowercase hex digits. */
size_t lp_fmt_x64(char *out, uint64_t v);
/* v as exactly `width` digits, zero-padded (printf's %0*llu for a v that
 * fits). */
void lp_fmt_u64_fixed(char *out, uint64_t v, int width);
static inline void lp_buf_u64(struct lp_buf *b, uint64_t v)
{
	lp_buf_reserve(b, LP_U64_DIGITS);
	b->len += lp_fmt_u64(b->data + b->len, v);
	b->data[b->len] = '\0';
}
static inline void lp_buf_i64(struct lp_buf *b, int64_t v)
{
	lp_buf_reserve(b, LP_U64_DIGITS + 1);
	b->len += lp_fmt_i64(b->data + b->len, v);
	b->data[b->len] = '\0';
}
void lp_buf_printf(struct lp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- text encodings: the one home of UTF-8 and JSON/XML escaping */
/* Length of the valid UTF-8 sequence at s (n bytes readable; a NUL ends a
 * string early and safely), 1..4, or 0 when it is not valid UTF-8. */
size_t lp_utf8_seq_len(const unsigned char *s, size_t n);
/* Number of UTF-8 characters in s (invalid bytes count one each). */
size_t lp_utf8_chars(const char *s);
/* What a JSON string shows for a byte that is not UTF-8. */
enum lp_json_invalid {
	LP_JSON_INVALID_REPLACE,   /* U+FFFD: reports and exports */
	LP_JSON_INVALID_LATIN1,    /* \u00XX, the byte kept (dump: the raw record) */
};
/* Append s[0..n) as a JSON string literal (quotes included); control
 * characters and DEL as \uXXXX. */
void lp_buf_json_strn(struct lp_buf *b, const char *s, size_t n, enum lp_json_invalid invalid);
/* The same for a C string; NULL is "". Invalid UTF-8 becomes U+FFFD. */
void lp_buf_json_str(struct lp_buf *b, const char *s);
/* Append s escaped for XML text/attributes (& < > " '); control characters
 * and invalid UTF-8 become '?'. At most max_chars characters (0: all), then
 * "..". */
void lp_xml_str(struct lp_buf *b, const char *s, size_t max_chars);
void lp_buf_free(struct lp_buf *b);

/* CLOCK_MONOTONIC in ns, the clock bpf_ktime_get_ns() uses. */
uint64_t lp_now_ns(void);

/* A stream that writes to dst with every control character but '\n' and
 * '\t' (C0 and DEL) replaced by '?'. For human-readable output that quotes
 * trace-derived text (paths, argv, error lines): an escape sequence in a
 * file name must not reach the reader's terminal. fclose() it to flush;
 * dst stays open. NULL when the stream cannot be made. */
FILE *lp_sanitizing_stream(FILE *dst);

/* Append JSON text (as cJSON prints it) with DEL (0x7f), which JSON allows
 * raw inside strings, written as \u007f: the same document, and no byte a
 * terminal could act on (cJSON already escapes the C0 controls). */
void lp_buf_json_text(struct lp_buf *b, const char *json);

/* Parse "1.5KB", "200MB", "3GiB", "123" into bytes; false on junk. */
bool lp_parse_bytes(const char *s, uint64_t *out);
/* Parse "90", "90s", "5m", "1h", "250ms" into milliseconds; false on junk. */
bool lp_parse_duration_ms(const char *s, uint64_t *out);
/* "1.2 MB" style, into buf. */
const char *lp_fmt_bytes(uint64_t n, char *buf, size_t len);
/* "1.25 s" / "830 ms" / "12 us" style, into buf. */
const char *lp_fmt_duration_ns(uint64_t ns, char *buf, size_t len);
/* Columns a table may use: $COLUMNS when set, else the terminal's width
 * when stdout is one, else 0 (no limit: a file or a pipe gets it all). */
int lp_term_width(void);
/* Copy s into buf, cut to at most max columns with "..." (max 0: whole). */
const char *lp_fit(const char *s, int max, char *buf, size_t len);

/* "file" or "files" for n: the word that goes with a count. */
static inline const char *lp_plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

#endif
