// SPDX-License-Identifier: BSD-2-Clause
/*
 * BuildKit's --progress=rawjson stream -> the plain printer's lines, and
 * each vertex's exact times (rawjson.h). The format is buildkit's
 * client.SolveStatus marshalled by encoding/json: time.Time fields are
 * RFC 3339 with nanoseconds, []byte fields (log data, warning texts) are
 * standard base64.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "progress.h"
#include "rawjson.h"
#include "util.h"

struct vtx {
	char *digest;
	uint32_t id;          /* #N once its header was emitted, else 0 */
	char *name;
	uint64_t first_start, last_complete;
	uint64_t open_start;  /* start of the interval still running, 0 if none */
	uint64_t closed_start;/* start of the last interval closed (a repeated
			       * update of a finished interval counts once) */
	uint64_t active_ns;
	uint64_t done_at;     /* completion already printed as DONE */
	bool cached, cached_printed, error_printed;
	struct lp_buf partial; /* output line waiting for its '\n' */
	char **done_status;    /* status ids printed as done */
	size_t ndone_status;
};

struct lp_rawjson {
	struct vtx *v;
	size_t n, cap;
	size_t *slots; /* digest hash -> index + 1; 0 = empty */
	size_t nslots;
	uint32_t next_id;
	size_t *by_id; /* #N - 1 -> index */
	size_t nby_id;
	struct lp_buf line;
};

struct lp_rawjson *lp_rawjson_new(void)
{
	struct lp_rawjson *t = calloc(1, sizeof(*t));
	if (t)
		t->next_id = 1;
	return t;
}

void lp_rawjson_free(struct lp_rawjson *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		struct vtx *x = &t->v[i];
		free(x->digest);
		free(x->name);
		lp_buf_free(&x->partial);
		for (size_t k = 0; k < x->ndone_status; k++)
			free(x->done_status[k]);
		free(x->done_status);
	}
	free(t->v);
	free(t->slots);
	free(t->by_id);
	lp_buf_free(&t->line);
	free(t);
}

/* ------------------------------------------------------------ primitives */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t lp_base64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '=')
			break;
		int v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return (size_t)-1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return o;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool lp_rawjson_parse_time(const char *s, uint64_t *out_ns)
{
	/* YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm) */
	int Y, M, D, h, m, sec;
	if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return false;
	if (!digits(s, 4, &Y) || !digits(s + 5, 2, &M) || !digits(s + 8, 2, &D) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &m) || !digits(s + 17, 2, &sec))
		return false;
	if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return false;
	const char *p = s + 19;
	uint64_t frac = 0;
	if (*p == '.') {
		p++;
		int nd = 0;
		while (*p >= '0' && *p <= '9') {
			if (nd < 9) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				nd++;
			}
			p++;
		}
		if (!nd)
			return false;
		while (nd++ < 9)
			frac *= 10;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (strlen(p) < 6 || p[3] != ':' || !digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om))
			return false;
		off = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p)
		return false;
	struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
			 .tm_hour = h, .tm_min = m, .tm_sec = sec };
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || (int64_t)t - off < 0)
		return false;
	*out_ns = (uint64_t)((int64_t)t - off) * 1000000000ull + frac;
	return true;
}

/* ------------------------------------------------------------- vertices */

static size_t hash_str(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void rehash(struct lp_rawjson *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 64;
	free(t->slots);
	t->slots = lp_xcalloc(n, sizeof(size_t));
	t->nslots = n;
	for (size_t i = 0; i < t->n; i++) {
		size_t k = hash_str(t->v[i].digest) & (n - 1);
		while (t->slots[k])
			k = (k + 1) & (n - 1);
		t->slots[k] = i + 1;
	}
}

static struct vtx *vertex(struct lp_rawjson *t, const char *digest, bool create)
{
	if (t->nslots) {
		size_t k = hash_str(digest) & (t->nslots - 1);
		while (t->slots[k]) {
			struct vtx *x = &t->v[t->slots[k] - 1];
			if (!strcmp(x->digest, digest))
				return x;
			k = (k + 1) & (t->nslots - 1);
		}
	}
	if (!create || t->n >= LP_PROGRESS_MAX_STEPS)
		return NULL;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->v = lp_xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	struct vtx *x = &t->v[t->n++];
	memset(x, 0, sizeof(*x));
	x->digest = lp_xstrdup(digest);
	x->name = lp_xstrdup("");
	if (t->n * 2 > t->nslots)
		rehash(t);
	else {
		size_t k = hash_str(digest) & (t->nslots - 1);
		while (t->slots[k])
			k = (k + 1) & (t->nslots - 1);
		t->slots[k] = t->n;
	}
	return x;
}

/* ---------------------------------------------------------- translation */

struct out {
	struct lp_rawjson *t;
	lp_rawjson_emit_fn emit;
	void *ctx;
};

/* A formatted line, as the plain printer would print it: a name, error or
 * warning with a newline inside comes out as that many lines (the ones
 * after the first without their "#N"), so the parser meets the same lines
 * in both formats and every emitted line is one line. */
static void emit_lines(struct out *o, const char *s, size_t n)
{
	for (const char *nl; (nl = memchr(s, '\n', n)); n -= (size_t)(nl - s) + 1, s = nl + 1)
		o->emit(o->ctx, s, (size_t)(nl - s));
	o->emit(o->ctx, s, n);
}

static void say(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct out *o, const char *fmt, ...)
{
	struct lp_buf *b = &o->t->line;
	b->len = 0;
	va_list ap;
	va_start(ap, fmt);
	char small[512];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		emit_lines(o, small, (size_t)n);
		return;
	}
	lp_buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	emit_lines(o, b->data, (size_t)n);
}

/* The vertex's "#N name" header, the first time it shows activity. */
static void header(struct out *o, struct vtx *x)
{
	if (x->id)
		return;
	x->id = o->t->next_id++;
	if (o->t->nby_id < x->id) {
		o->t->by_id = lp_xrealloc(o->t->by_id, x->id * sizeof(size_t));
		o->t->nby_id = x->id;
	}
	o->t->by_id[x->id - 1] = (size_t)(x - o->t->v);
	say(o, "#%u %s", x->id, x->name);
}

static uint64_t time_of(const cJSON *obj, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	uint64_t ns = 0;
	if (cJSON_IsString(j) && lp_rawjson_parse_time(j->valuestring, &ns))
		return ns;
	return 0;
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* Output: "#N 0.091 text" per complete line, offset from the vertex's start. */
static void emit_output(struct out *o, struct vtx *x, uint64_t ts, const char *data, size_t n)
{
	double off = ts > x->first_start && x->first_start ? (double)(ts - x->first_start) / 1e9 : 0;
	for (size_t i = 0; i < n; i++) {
		if (data[i] != '\n') {
			lp_buf_append(&x->partial, data + i, 1);
			continue;
		}
		size_t l = x->partial.len;
		while (l && x->partial.data[l - 1] == '\r')
			l--;
		say(o, "#%u %.3f %.*s", x->id, off, (int)l, l ? x->partial.data : "");
		x->partial.len = 0;
	}
}

static void flush_output(struct out *o, struct vtx *x)
{
	if (x->partial.len && x->id) {
		say(o, "#%u %.3f %.*s", x->id,
		    x->last_complete > x->first_start ? (double)(x->last_complete - x->first_start) / 1e9
						      : 0.0,
		    (int)x->partial.len, x->partial.data);
		x->partial.len = 0;
	}
}

static void on_vertex(struct out *o, const cJSON *jv)
{
	const char *digest = str_of(jv, "digest");
	if (!digest)
		return;
	struct vtx *x = vertex(o->t, digest, true);
	if (!x)
		return;
	const char *name = str_of(jv, "name");
	if (name && !x->id) {
		free(x->name);
		x->name = lp_xstrdup(name);
	}
	uint64_t s = time_of(jv, "started"), c = time_of(jv, "completed");
	const char *err = str_of(jv, "error");
	bool cached = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jv, "cached"));
	if (s && s != x->open_start && s != x->closed_start) {
		x->open_start = s;
		if (!x->first_start || s < x->first_start)
			x->first_start = s;
	}
	bool newly_done = false;
	if (c && x->open_start && c >= x->open_start && (!s || s == x->open_start)) {
		x->active_ns += c - x->open_start;
		x->closed_start = x->open_start;
		x->open_start = 0;
		newly_done = true;
	}
	if (c > x->last_complete)
		x->last_complete = c;
	x->cached |= cached;
	/* a vertex is printed once it started, or when it ends without having
	 * started (cached, failed before it ran) */
	if (!s && !c && !cached && !(err && *err))
		return;
	header(o, x);
	if (cached && !x->cached_printed) {
		x->cached_printed = true;
		say(o, "#%u CACHED", x->id);
		return;
	}
	if (err && *err && c && !x->error_printed) {
		x->error_printed = true;
		flush_output(o, x);
		if (strstr(err, "context canceled"))
			say(o, "#%u CANCELED", x->id);
		else
			say(o, "#%u ERROR: %s", x->id, err);
		return;
	}
	if (newly_done && !x->cached && !(err && *err) && c > x->done_at) {
		flush_output(o, x);
		x->done_at = c;
		say(o, "#%u DONE %.1fs", x->id, (double)x->active_ns / 1e9);
	}
}

static void on_status(struct out *o, const cJSON *js)
{
	const char *digest = str_of(js, "vertex"), *id = str_of(js, "id");
	if (!digest || !id)
		return;
	struct vtx *x = vertex(o->t, digest, false);
	if (!x || !time_of(js, "completed"))
		return; /* printed once, when it is done */
	for (size_t i = 0; i < x->ndone_status; i++)
		if (!strcmp(x->done_status[i], id))
			return;
	x->done_status = lp_xrealloc(x->done_status, (x->ndone_status + 1) * sizeof(char *));
	x->done_status[x->ndone_status++] = lp_xstrdup(id);
	header(o, x);
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(js, "current");
	const char *what = str_of(js, "name");
	if (what && !strcmp(what, "transferring") && cJSON_IsNumber(cur) && cur->valuedouble >= 0)
		say(o, "#%u %s %.0fB done", x->id, id, cur->valuedouble);
	else
		say(o, "#%u %s done", x->id, id);
}

/* A base64 field decoded into o->t->line's storage; NULL when bad. */
static char *decode_field(const cJSON *j, size_t *n)
{
	if (!cJSON_IsString(j))
		return NULL;
	size_t len = strlen(j->valuestring);
	char *buf = lp_xmalloc(len / 4 * 3 + 4);
	size_t got = lp_base64_decode(j->valuestring, len, (unsigned char *)buf);
	if (got == (size_t)-1) {
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	*n = got;
	return buf;
}

static void on_log(struct out *o, const cJSON *jl)
{
	const char *digest = str_of(jl, "vertex");
	struct vtx *x = digest ? vertex(o->t, digest, false) : NULL;
	size_t n = 0;
	char *data = decode_field(cJSON_GetObjectItemCaseSensitive(jl, "data"), &n);
	if (!x || !data) {
		free(data);
		return;
	}
	header(o, x);
	emit_output(o, x, time_of(jl, "timestamp"), data, n);
	free(data);
}

static void on_warning(struct out *o, const cJSON *jw)
{
	const char *digest = str_of(jw, "vertex");
	struct vtx *x = digest ? vertex(o->t, digest, false) : NULL;
	size_t n = 0;
	char *text = decode_field(cJSON_GetObjectItemCaseSensitive(jw, "short"), &n);
	if (!text)
		return;
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (text[i] == '\n' || text[i] == '\r' || !text[i])
			text[i] = ' ';
	if (x) {
		header(o, x);
		say(o, "#%u WARN: %.*s", x->id, (int)n, text);
	} else {
		say(o, "WARN: %.*s", (int)n, text);
	}
	free(text);
}

static void each(struct out *o, const cJSON *root, const char *key,
		 void (*fn)(struct out *, const cJSON *))
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key), *e;
	if (cJSON_IsArray(arr))
		cJSON_ArrayForEach(e, arr)
			if (cJSON_IsObject(e))
				fn(o, e);
}

bool lp_rawjson_feed(struct lp_rawjson *t, const char *line, size_t len, lp_rawjson_emit_fn emit,
		     void *ctx)
{
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (!t || i >= len || line[i] != '{')
		return false;
	cJSON *root = cJSON_ParseWithLength(line, len);
	/* an object with none of SolveStatus's arrays is some other JSON */
	static const char *const keys[] = { "vertexes", "statuses", "logs", "warnings" };
	bool status = false;
	for (size_t k = 0; k < 4 && cJSON_IsObject(root); k++)
		status |= cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, keys[k]));
	if (!status) {
		cJSON_Delete(root);
		return false;
	}
	struct out o = { t, emit, ctx };
	/* the order buildkit's printer applies an update in */
	each(&o, root, "vertexes", on_vertex);
	each(&o, root, "statuses", on_status);
	each(&o, root, "logs", on_log);
	each(&o, root, "warnings", on_warning);
	cJSON_Delete(root);
	return true;
}

void lp_rawjson_flush(struct lp_rawjson *t, lp_rawjson_emit_fn emit, void *ctx)
{
	if (!t)
		return;
	struct out o = { t, emit, ctx };
	for (size_t i = 0; i < t->n; i++)
		flush_output(&o, &t->v[i]);
}

bool lp_rawjson_times_of(const struct lp_rawjson *t, uint32_t id, struct lp_rawjson_times *out)
{
	if (!t || !id || id > t->nby_id)
		return false;
	const struct vtx *x = &t->v[t->by_id[id - 1]];
	out->started_ns = x->first_start;
	out->completed_ns = x->last_complete;
	out->active_ns = x->active_ns;
	out->cached = x->cached;
	return true;
}
