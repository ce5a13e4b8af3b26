/* SPDX-License-Identifier: BSD-2-Clause */
#include "util.h"

#include "meter.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
	lp_meter_clear(); /* never on the end of a progress line */
	fprintf(stderr, "layerprof: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void lp_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void lp_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

static void out_of_memory(size_t n)
{
	fprintf(stderr, "layerprof: out of memory (allocating %zu bytes)\n", n);
	exit(1);
}

void *lp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *lp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *lp_xcalloc_written(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		out_of_memory(SIZE_MAX);
	void *p = lp_xmalloc(n * size);
	memset(p, 0, n * size);
	return p;
}

void *lp_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

void lp_grow_raw(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	*p = lp_xrealloc(*p, nc * elem);
	*cap = nc;
}

void lp_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t old = *cap;
	lp_grow_raw(p, cap, need, elem);
	if (*cap > old)
		memset((char *)*p + old * elem, 0, (*cap - old) * elem);
}

char *lp_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = lp_xmalloc(n);
	memcpy(p, s, n);
	return p;
}

void lp_buf_grow(struct lp_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = lp_xrealloc(b->data, cap);
	b->cap = cap;
}

void lp_buf_puts(struct lp_buf *b, const char *s)
{
	size_t n = strlen(s);
	lp_buf_reserve(b, n);
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

/* Two digits at a time: half the divisions of the plain loop. */
static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

size_t lp_fmt_u64(char *out, uint64_t v)
{
	char tmp[LP_U64_DIGITS];
	size_t i = sizeof(tmp);
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		tmp[--i] = digit_pairs[2 * r + 1];
		tmp[--i] = digit_pairs[2 * r];
	}
	if (v >= 10) {
		tmp[--i] = digit_pairs[2 * v + 1];
		tmp[--i] = digit_pairs[2 * v];
	} else {
		tmp[--i] = (char)('0' + v);
	}
	size_t n = sizeof(tmp) - i;
	memcpy(out, tmp + i, n);
	return n;
}

size_t lp_fmt_i64(char *out, int64_t v)
{
	if (v >= 0)
		return lp_fmt_u64(out, (uint64_t)v);
	out[0] = '-';
	return 1 + lp_fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
}

size_t lp_fmt_x64(char *out, uint64_t v)
{
	if (v == 0) {
		out[0] = '0';
		return 1;
	}
	char tmp[16];
	size_t i = sizeof(tmp);
	for (; v; v >>= 4)
		tmp[--i] = "0123456789abcdef"[v & 15];
	out[0] = '0';
	out[1] = 'x';
	memcpy(out + 2, tmp + i, sizeof(tmp) - i);
	return 2 + sizeof(tmp) - i;
}

void lp_fmt_u64_fixed(char *out, uint64_t v, int width)
{
	int i = width;
	for (; i >= 2; i -= 2) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		out[i - 1] = digit_pairs[2 * r + 1];
		out[i - 2] = digit_pairs[2 * r];
	}
	if (i == 1)
		out[0] = (char)('0' + v % 10);
}

void lp_buf_printf(struct lp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	lp_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

size_t lp_utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Are the 8 bytes at p all json_plain()? Eight at a time: the Chrome
 * export and dump escape a hundred million bytes of names and paths. A
 * byte below 0x20 or from 0x7f up, or a '"' or '\\', makes it false. */
static bool json_plain8(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t x;
	memcpy(&x, p, 8);
#define LP_ZERO_BYTE(v) (((v) - ones) & ~(v) & highs)
	uint64_t bad = ((x - 0x20 * ones) & ~x & highs) /* < 0x20 */ | (x & highs) /* >= 0x80 */ |
		       LP_ZERO_BYTE(x ^ (0x7f * ones)) | LP_ZERO_BYTE(x ^ ('"' * ones)) |
		       LP_ZERO_BYTE(x ^ ('\\' * ones));
#undef LP_ZERO_BYTE
	return !bad;
}

void lp_buf_json_strn(struct lp_buf *b, const char *s, size_t n, enum lp_json_invalid invalid)
{
	const unsigned char *p = (const unsigned char *)s;
	lp_buf_append(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (json_plain(c)) {
			size_t j = i + 1;
			while (j + 8 <= n && json_plain8(p + j))
				j += 8;
			while (j < n && json_plain(p[j]))
				j++;
			lp_buf_append(b, p + i, j - i);
			i = j;
			continue;
		}
		size_t k = c >= 0x80 ? lp_utf8_seq_len(p + i, n - i) : 1;
		if (k > 1) {
			lp_buf_append(b, p + i, k);
			i += k;
			continue;
		}
		i++;
		switch (c) {
		case '"': lp_buf_puts(b, "\\\""); break;
		case '\\': lp_buf_puts(b, "\\\\"); break;
		case '\n': lp_buf_puts(b, "\\n"); break;
		case '\r': lp_buf_puts(b, "\\r"); break;
		case '\t': lp_buf_puts(b, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7f || invalid == LP_JSON_INVALID_LATIN1)
				lp_buf_printf(b, "\\u%04x", c);
			else
				lp_buf_puts(b, "\\ufffd");
		}
	}
	lp_buf_append(b, "\"", 1);
}

void lp_buf_json_str(struct lp_buf *b, const char *s)
{
	s = s ? s : "";
	lp_buf_json_strn(b, s, strlen(s), LP_JSON_INVALID_REPLACE);
}

size_t lp_utf8_chars(const char *s)
{
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t k = lp_utf8_seq_len(p, 4);
		p += k ? k : 1;
		n++;
	}
	return n;
}

void lp_xml_str(struct lp_buf *b, const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t total = max_chars ? lp_utf8_chars((const char *)p) : 0;
	size_t keep = (max_chars && total > max_chars) ? (max_chars >= 2 ? max_chars - 2 : 0) : SIZE_MAX;
	size_t chars = 0;
	while (*p && chars < keep) {
		unsigned c = *p;
		size_t n = 1;
		switch (c) {
		case '&': lp_buf_puts(b, "&amp;"); break;
		case '<': lp_buf_puts(b, "&lt;"); break;
		case '>': lp_buf_puts(b, "&gt;"); break;
		case '"': lp_buf_puts(b, "&quot;"); break;
		case '\'': lp_buf_puts(b, "&#39;"); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				lp_buf_append(b, "?", 1);
			} else {
				n = lp_utf8_seq_len(p, 4);
				if (!n) {
					lp_buf_append(b, "?", 1);
					n = 1;
				} else {
					lp_buf_append(b, p, n);
				}
			}
		}
		p += n;
		chars++;
	}
	if (keep != SIZE_MAX)
		lp_buf_puts(b, "..");
}

void lp_buf_free(struct lp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

uint64_t lp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Split "12.5MB" into 12.5 and "MB"; false when there is no number. */
static bool split_number(const char *s, double *value, const char **unit)
{
	char *end;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '-')
		return false;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return false;
	while (isspace((unsigned char)*end))
		end++;
	*value = v;
	*unit = end;
	return true;
}

struct unit {
	const char *name;
	double mult;
};

/* "<number><unit>" with a unit of the table (case-insensitive), into a
 * whole number of the base unit; false on junk or overflow. */
static bool parse_with_units(const char *s, const struct unit *units, size_t nunits, uint64_t *out)
{
	double v;
	const char *unit;
	if (!split_number(s, &v, &unit))
		return false;
	for (size_t i = 0; i < nunits; i++) {
		if (strcasecmp(unit, units[i].name) == 0) {
			double x = v * units[i].mult;
			if (x > 1.8e19)
				return false;
			*out = (uint64_t)(x + 0.5);
			return true;
		}
	}
	return false;
}

bool lp_parse_bytes(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1e3 }, { "kb", 1e3 }, { "kib", 1024.0 },
		{ "m", 1e6 }, { "mb", 1e6 }, { "mib", 1048576.0 },
		{ "g", 1e9 }, { "gb", 1e9 }, { "gib", 1073741824.0 },
		{ "t", 1e12 }, { "tb", 1e12 }, { "tib", 1099511627776.0 },
	};
	return parse_with_units(s, units, LP_ARRAY_SIZE(units), out);
}

bool lp_parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "m", 60000 },
		{ "min", 60000 }, { "h", 3600000 },
	};
	return parse_with_units(s, units, LP_ARRAY_SIZE(units), out);
}

const char *lp_fmt_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1000 && u + 1 < LP_ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0, v, units[u]);
	return buf;
}

const char *lp_fmt_duration_ns(uint64_t ns, char *buf, size_t len)
{
	/* one style: a number, a space, a unit (us, ms, s, min) */
	if (ns >= 60000000000ull)
		snprintf(buf, len, "%llu min %02llu s", (unsigned long long)(ns / 60000000000ull),
			 (unsigned long long)(ns / 1000000000ull % 60));
	else if (ns >= 1000000000ull)
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000000ull)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else if (len >= 12) {
		/* the common case, without floating point: %.0f of ns / 1e3
		 * rounds to nearest, an exact half (x.5 is exact in binary) to
		 * even */
		uint64_t us = ns / 1000, r = ns % 1000;
		if (r > 500 || (r == 500 && (us & 1)))
			us++;
		size_t n = lp_fmt_u64(buf, us);
		memcpy(buf + n, " us", 4);
	} else
		snprintf(buf, len, "%.0f us", (double)ns / 1e3);
	return buf;
}

char *lp_collapse_ws(const char *s, size_t n)
{
	char *o = lp_xmalloc(n + 1);
	size_t k = 0;
	bool sp = false;
	for (size_t i = 0; s && i < n && s[i]; i++) {
		if (isspace((unsigned char)s[i])) {
			sp = k > 0;
			continue;
		}
		if (sp)
			o[k++] = ' ';
		sp = false;
		o[k++] = s[i];
	}
	o[k] = 0;
	return o;
}

void lp_buf_json_text(struct lp_buf *b, const char *json)
{
	const char *p = json;
	for (const char *del; (del = strchr(p, 0x7f)); p = del + 1) {
		lp_buf_append(b, p, (size_t)(del - p));
		lp_buf_puts(b, "\\u007f");
	}
	lp_buf_puts(b, p);
}

/* ---------------------------------------------------- sanitizing stream */

static ssize_t sanitize_write(void *cookie, const char *buf, size_t n)
{
	FILE *dst = cookie;
	char tmp[4096];
	size_t done = 0;
	while (done < n) {
		size_t k = n - done < sizeof(tmp) ? n - done : sizeof(tmp);
		for (size_t i = 0; i < k; i++) {
			unsigned char c = (unsigned char)buf[done + i];
			tmp[i] = ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) ? '?' : (char)c;
		}
		if (fwrite(tmp, 1, k, dst) != k)
			return done ? (ssize_t)done : -1;
		done += k;
	}
	return (ssize_t)n;
}

static int sanitize_close(void *cookie)
{
	return fflush((FILE *)cookie) == 0 ? 0 : -1;
}

FILE *lp_sanitizing_stream(FILE *dst)
{
	cookie_io_functions_t io = { .write = sanitize_write, .close = sanitize_close };
	return fopencookie(dst, "w", io);
}

const char *lp_base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path;
}

/* One walk over the components, no copy and no printf: pass 2 asks it
 * for a COPY's destination and a container path at container reads. */
void lp_norm_abs_path(const char *in, char *out, size_t len)
{
	size_t k = 0, inlen = strnlen(in, 4095); /* (the 4 KiB a path can have) */
	out[0] = 0;
	for (size_t i = 0; i < inlen;) {
		while (i < inlen && in[i] == '/')
			i++;
		size_t s = i;
		while (i < inlen && in[i] != '/')
			i++;
		size_t tl = i - s;
		if (!tl || (tl == 1 && in[s] == '.'))
			continue;
		if (tl == 2 && in[s] == '.' && in[s + 1] == '.') {
			while (k > 0 && out[k - 1] != '/')
				k--;
			if (k > 0)
				k--;
			out[k] = 0;
			continue;
		}
		/* "/" + the component; one that does not fit is cut, and ends it */
		size_t room = len - k - 1, n = 1 + tl, put = n < room ? n : room;
		if (put) {
			out[k] = '/';
			memcpy(out + k + 1, in + s, put - 1);
		}
		out[k + put] = 0;
		if (n > room)
			break;
		k += n;
	}
}

char *lp_xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = lp_xmalloc((size_t)(n < 0 ? 0 : n) + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
	va_end(ap);
	return s;
}

int lp_term_width(void)
{
	const char *c = getenv("COLUMNS");
	if (c && *c) {
		char *end;
		long v = strtol(c, &end, 10);
		if (!*end && v >= 20 && v < 100000)
			return (int)v;
	}
	struct winsize ws;
	if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 0;
}

const char *lp_fit(const char *s, int max, char *buf, size_t len)
{
	if (!s)
		s = "";
	size_t n = lp_utf8_chars(s);
	if (max <= 0 || n <= (size_t)max) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	if (max < 4) {
		snprintf(buf, len, "%.*s", max, s);
		return buf;
	}
	/* keep max - 3 characters (UTF-8 sequences whole), then "..." */
	size_t k = 0, chars = 0, sl = strlen(s);
	while (k < sl && chars < (size_t)max - 3) {
		size_t q = lp_utf8_seq_len((const unsigned char *)s + k, sl - k);
		k += q ? q : 1;
		chars++;
	}
	snprintf(buf, len, "%.*s...", (int)k, s);
	return buf;
}
