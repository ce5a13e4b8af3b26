/* SPDX-License-Identifier: BSD-2-Clause */
/* BuildKit --progress=plain parser; see progress.h for the format and API. */
#include "progress.h"
#include "rawjson.h"

#include <stdlib.h>
#include <string.h>

/* A rawjson object longer than this is taken for text (cut), by feed()
 * and feed_line() alike. */
#define JSON_LINE_MAX (1u << 20)

enum block_state {
	BLOCK_NONE,      /* not in an error block */
	BLOCK_WANT_NAME, /* after the opening "------" */
	BLOCK_IN,        /* inside, after the " > [name]:" line */
};

struct lp_progress {
	struct lp_progress_step **steps;
	size_t nsteps, cap;
	/* id -> index+1, open addressing; 0 marks an empty slot */
	uint32_t *hkeys;
	size_t *hvals;
	size_t hcap;

	size_t max_lines, max_line;

	/* partial line of lp_progress_feed() */
	char *pbuf;
	size_t plen, pcap;
	bool pdropping; /* the partial line is over max_line: discard until '\n' */
	bool pcut;      /* ...and a byte other than '\r' was discarded: the line,
			 * trailing '\r's stripped, is longer than max_line */

	enum block_state block;
	struct lp_progress_step *block_step;
	bool any_failed;
	bool saw_block;
	char *final_error;
	int final_prio; /* 2: an "error:" line, 1: another candidate */

	bool have_ts;
	uint64_t first_ts, last_ts;
	size_t nlines, nother, ntrunc;

	/* buildx: "#0 building with "NAME" instance using DRIVER driver" */
	char *builder, *driver;
	size_t nwarn;        /* "#N WARN: ..." lines */
	long warn_summary;   /* N of "N warnings found", -1 when not printed */
	bool in_warn_list;   /* after that summary: its " - Rule: ..." lines */
	bool in_warning;     /* after a buildx "WARNING: ..." line: its "error: ..." continuation lines */

	/* --progress=rawjson: its lines are translated into plain ones and fed
	 * back (rawjson.h); made at the first such line */
	struct lp_rawjson *rj;
	size_t njson;
};

/* ---- small string helpers (no POSIX needed) ---- */

/* A NUL-terminated copy of s[0..n) with NUL bytes shown as '?'. */
static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i] ? s[i] : '?';
	d[n] = '\0';
	return d;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

static bool has_prefix(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	return n >= k && memcmp(s, pre, k) == 0;
}

static bool has_prefix_ci(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);
	if (n < k)
		return false;
	for (size_t i = 0; i < k; i++)
		if (to_lower(s[i]) != to_lower(pre[i]))
			return false;
	return true;
}

static bool eq_n(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* ---- numbers ---- */

/* Parses "123", "1.34", ".5" at s; returns chars used (0 on no number).
 * *ip gets the integer part, *frac_nano the fraction in 1e-9 units. */
static size_t parse_decimal(const char *s, size_t n, uint64_t *ip, uint64_t *frac_nano)
{
	size_t i = 0;
	uint64_t v = 0, f = 0;
	bool any = false;
	while (i < n && is_digit(s[i])) {
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
		i++;
		any = true;
	}
	if (i < n && s[i] == '.') {
		size_t j = i + 1, digits = 0;
		uint64_t scale = 100000000;
		while (j < n && is_digit(s[j])) {
			if (digits < 9) {
				f += (uint64_t)(s[j] - '0') * scale;
				scale /= 10;
			}
			digits++;
			j++;
			any = true;
		}
		if (digits == 0 && !any)
			return 0;
		i = j;
	}
	if (!any)
		return 0;
	*ip = v;
	*frac_nano = f;
	return i;
}

/* ip.frac * mult, rounded; false on overflow. */
static bool scale_value(uint64_t ip, uint64_t frac_nano, uint64_t mult, uint64_t *out)
{
	if (mult && ip > UINT64_MAX / mult)
		return false;
	uint64_t whole = ip * mult;
	uint64_t part;
	if (mult % 1000000000u == 0)
		part = frac_nano * (mult / 1000000000u);
	else
		part = (uint64_t)((double)frac_nano * (double)mult / 1e9 + 0.5);
	if (whole > UINT64_MAX - part)
		return false;
	*out = whole + part;
	return true;
}

bool lp_progress_parse_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t ip, fr, mult;
	if (!s)
		return false;
	trim(&s, &len);
	size_t k = parse_decimal(s, len, &ip, &fr);
	if (!k)
		return false;
	s += k;
	len -= k;
	while (len && *s == ' ') {
		s++;
		len--;
	}
	char u = len ? to_lower(s[0]) : 'b';
	switch (u) {
	case 'b': mult = 1; break;
	case 'k': mult = 1000; break;
	case 'm': mult = 1000000; break;
	case 'g': mult = 1000000000; break;
	case 't': mult = 1000000000000ull; break;
	default: return false;
	}
	if (len) {
		size_t rest = len - 1;
		const char *r = s + 1;
		if (u == 'b') {
			if (rest && !eq_n(r, rest, "ytes"))
				return false;
		} else if (rest >= 2 && to_lower(r[0]) == 'i' && to_lower(r[1]) == 'b' && rest == 2) {
			/* KiB, MiB, ... */
			uint64_t b = 1;
			for (int i = 0; i < (u == 'k' ? 1 : u == 'm' ? 2 : u == 'g' ? 3 : 4); i++)
				b *= 1024;
			mult = b;
		} else if (!(rest == 0 || (rest == 1 && to_lower(r[0]) == 'b'))) {
			return false;
		}
	}
	return scale_value(ip, fr, mult, out);
}

bool lp_progress_parse_duration(const char *s, size_t len, uint64_t *out_ns)
{
	uint64_t total = 0;
	bool first = true;
	if (!s)
		return false;
	trim(&s, &len);
	if (!len)
		return false;
	for (; len; first = false) {
		uint64_t ip, fr, unit, v;
		size_t k = parse_decimal(s, len, &ip, &fr);
		if (!k)
			return false;
		s += k;
		len -= k;
		if (!len) {
			if (!first)
				return false;
			unit = 1000000000ull; /* a bare number: seconds */
		} else if (has_prefix(s, len, "ns")) {
			unit = 1, s += 2, len -= 2;
		} else if (has_prefix(s, len, "us")) {
			unit = 1000, s += 2, len -= 2;
		} else if (has_prefix(s, len, "\xc2\xb5s")) {
			unit = 1000, s += 3, len -= 3;
		} else if (has_prefix(s, len, "ms")) {
			unit = 1000000, s += 2, len -= 2;
		} else if (s[0] == 's') {
			unit = 1000000000ull, s++, len--;
		} else if (s[0] == 'm') {
			unit = 60000000000ull, s++, len--;
		} else if (s[0] == 'h') {
			unit = 3600000000000ull, s++, len--;
		} else {
			return false;
		}
		if (!scale_value(ip, fr, unit, &v) || total > UINT64_MAX - v)
			return false;
		total += v;
	}
	*out_ns = total;
	return true;
}

/* ---- bounded line lists ---- */

static void lines_push(struct lp_progress_lines *l, size_t max, uint64_t ts, int64_t off,
		       const char *text, size_t n)
{
	char *t;
	if (max < 2)
		max = 2;
	if (!l->v) {
		l->v = calloc(max, sizeof(*l->v));
		if (!l->v)
			goto drop;
		l->cap_ = max;
		l->head_ = max / 2;
		l->ring_pos_ = 0;
	}
	t = dup_n(text, n);
	if (!t)
		goto drop;
	if (l->count < l->cap_) {
		l->v[l->count++] = (struct lp_progress_line){ ts, off, t };
	} else {
		size_t ring = l->cap_ - l->head_;
		size_t at = l->head_ + l->ring_pos_;
		free(l->v[at].text);
		l->v[at] = (struct lp_progress_line){ ts, off, t };
		l->ring_pos_ = (l->ring_pos_ + 1) % ring;
	}
	l->total++;
	l->dropped = l->total - l->count;
	return;
drop:
	l->total++;
	l->dropped = l->total - l->count;
}

const struct lp_progress_line *lp_progress_lines_at(const struct lp_progress_lines *l, size_t i)
{
	if (!l || i >= l->count)
		return NULL;
	if (l->count < l->cap_ || i < l->head_)
		return &l->v[i];
	size_t ring = l->cap_ - l->head_;
	return &l->v[l->head_ + (l->ring_pos_ + (i - l->head_)) % ring];
}

static void lines_free(struct lp_progress_lines *l)
{
	if (l->v)
		for (size_t i = 0; i < l->count; i++)
			free(l->v[i].text);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- parser object ---- */

struct lp_progress *lp_progress_new(void)
{
	struct lp_progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->max_lines = LP_PROGRESS_DEFAULT_MAX_LINES;
	p->max_line = LP_PROGRESS_DEFAULT_MAX_LINE;
	p->warn_summary = -1;
	return p;
}

void lp_progress_set_limits(struct lp_progress *p, size_t max_lines, size_t max_line)
{
	if (!p)
		return;
	p->max_lines = max_lines < 2 ? 2 : max_lines;
	/* the partial-line buffer is sized by max_line: only change it when empty */
	if (p->plen == 0 && !p->pdropping) {
		free(p->pbuf);
		p->pbuf = NULL;
		p->pcap = 0;
		p->max_line = max_line < 16 ? 16 : max_line;
	}
}

static void step_free(struct lp_progress_step *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->stage);
	free(s->platform);
	free(s->text);
	free(s->digest);
	free(s->error);
	free(s->error_text);
	lines_free(&s->output);
	lines_free(&s->status);
	lines_free(&s->block_);
	free(s);
}

/* A step named name[0..n), everything else empty; NULL when out of memory. */
static struct lp_progress_step *step_alloc(const char *name, size_t n)
{
	struct lp_progress_step *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->name = dup_n(name, n);
	s->stage = dup_n("", 0);
	s->platform = dup_n("", 0);
	s->text = dup_n("", 0);
	s->digest = dup_n("", 0);
	s->instruction = "OTHER";
	if (!s->name || !s->stage || !s->platform || !s->text || !s->digest) {
		step_free(s);
		return NULL;
	}
	return s;
}

void lp_progress_free(struct lp_progress *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsteps; i++)
		step_free(p->steps[i]);
	free(p->steps);
	free(p->hkeys);
	free(p->hvals);
	free(p->pbuf);
	free(p->final_error);
	free(p->builder);
	free(p->driver);
	lp_rawjson_free(p->rj);
	free(p);
}

static size_t hash_id(uint32_t id, size_t cap)
{
	return (size_t)((id * 2654435761u) & (uint32_t)(cap - 1));
}

static struct lp_progress_step *find_id(const struct lp_progress *p, uint32_t id)
{
	if (!p->hcap)
		return NULL;
	for (size_t h = hash_id(id, p->hcap);; h = (h + 1) & (p->hcap - 1)) {
		if (!p->hvals[h])
			return NULL;
		if (p->hkeys[h] == id)
			return p->steps[p->hvals[h] - 1];
	}
}

static bool hash_put(uint32_t *keys, size_t *vals, size_t cap, uint32_t id, size_t v)
{
	for (size_t h = hash_id(id, cap), n = 0; n < cap; h = (h + 1) & (cap - 1), n++) {
		if (!vals[h]) {
			keys[h] = id;
			vals[h] = v;
			return true;
		}
	}
	return false;
}

static struct lp_progress_step *new_step(struct lp_progress *p, uint32_t id)
{
	if (p->nsteps >= LP_PROGRESS_MAX_STEPS)
		return NULL;
	if ((p->nsteps + 1) * 2 > p->hcap) {
		size_t ncap = p->hcap ? p->hcap * 2 : 64;
		uint32_t *nk = calloc(ncap, sizeof(*nk));
		size_t *nv = calloc(ncap, sizeof(*nv));
		if (!nk || !nv) {
			free(nk);
			free(nv);
			return NULL;
		}
		for (size_t i = 0; i < p->hcap; i++)
			if (p->hvals[i])
				hash_put(nk, nv, ncap, p->hkeys[i], p->hvals[i]);
		free(p->hkeys);
		free(p->hvals);
		p->hkeys = nk;
		p->hvals = nv;
		p->hcap = ncap;
	}
	if (p->nsteps == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 32;
		struct lp_progress_step **ns = realloc(p->steps, ncap * sizeof(*ns));
		if (!ns)
			return NULL;
		p->steps = ns;
		p->cap = ncap;
	}
	struct lp_progress_step *s = step_alloc("", 0);
	if (!s)
		return NULL;
	s->id = id;
	p->steps[p->nsteps++] = s;
	hash_put(p->hkeys, p->hvals, p->hcap, id, p->nsteps);
	return s;
}

static void set_str(char **dst, const char *s, size_t n)
{
	char *d = dup_n(s, n);
	if (!d)
		return;
	free(*dst);
	*dst = d;
}

/* ---- vertex names ---- */

static const char *const keywords[] = {
	"FROM", "RUN", "COPY", "ADD", "WORKDIR", "ENV", "ARG", "LABEL", "USER", "VOLUME",
	"EXPOSE", "CMD", "ENTRYPOINT", "SHELL", "HEALTHCHECK", "STOPSIGNAL", "ONBUILD",
	"MAINTAINER",
};

static const char *keyword_of(const char *s, size_t n)
{
	size_t k = 0;
	char w[16];
	while (k < n && !is_space(s[k]))
		k++;
	if (k == 0 || k >= sizeof(w))
		return "OTHER";
	for (size_t i = 0; i < k; i++)
		w[i] = to_upper(s[i]);
	w[k] = '\0';
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(w, keywords[i]) == 0)
			return keywords[i];
	return "OTHER";
}

/* "3/5" -> 3, 5 */
static bool parse_index(const char *s, size_t n, unsigned *i, unsigned *t)
{
	unsigned a = 0, b = 0;
	size_t k = 0;
	bool da = false, db = false;
	while (k < n && is_digit(s[k])) {
		if (a > 100000000u)
			return false;
		a = a * 10 + (unsigned)(s[k++] - '0');
		da = true;
	}
	if (!da || k >= n || s[k] != '/')
		return false;
	k++;
	while (k < n && is_digit(s[k])) {
		if (b > 100000000u)
			return false;
		b = b * 10 + (unsigned)(s[k++] - '0');
		db = true;
	}
	if (!db || k != n)
		return false;
	*i = a;
	*t = b;
	return true;
}

static void parse_name(struct lp_progress_step *s)
{
	const char *n = s->name;
	size_t len = strlen(n);
	const char *close = n[0] == '[' ? memchr(n, ']', len) : NULL;

	if (close) {
		const char *in = n + 1, *after = close + 1;
		size_t inlen = (size_t)(close - in), alen = len - (size_t)(after - n);
		trim(&after, &alen);
		trim(&in, &inlen);
		set_str(&s->text, after, alen);
		/* tokens of the bracket: [platform] [stage] i/n */
		const char *tok[3];
		size_t tlen[3], nt = 0, k = 0;
		bool too_many = false;
		while (k < inlen) {
			while (k < inlen && in[k] == ' ')
				k++;
			if (k >= inlen)
				break;
			size_t st = k;
			while (k < inlen && in[k] != ' ')
				k++;
			if (nt == 3) {
				too_many = true;
				break;
			}
			tok[nt] = in + st;
			tlen[nt++] = k - st;
		}
		unsigned i, t;
		if (!too_many && nt >= 1 && parse_index(tok[nt - 1], tlen[nt - 1], &i, &t)) {
			s->index = i;
			s->total = t;
			for (size_t j = 0; j + 1 < nt; j++) {
				if (memchr(tok[j], '/', tlen[j]) && !(nt == 3 && j == 1))
					set_str(&s->platform, tok[j], tlen[j]);
				else
					set_str(&s->stage, tok[j], tlen[j]);
			}
			s->instruction = keyword_of(after, alen);
		} else if (eq_n(in, inlen, "internal")) {
			s->instruction = "INTERNAL";
		} else {
			s->instruction = "OTHER";
		}
		return;
	}
	set_str(&s->text, n, len);
	s->instruction = has_prefix(n, len, "exporting ") ? "EXPORT" : "OTHER";
}

bool lp_progress_step_is_instruction(const struct lp_progress_step *s)
{
	return s && s->total > 0;
}

struct lp_progress_step *lp_progress_parse_step_name(const char *name)
{
	struct lp_progress_step *s = step_alloc(name, strlen(name));
	if (s)
		parse_name(s);
	return s;
}

void lp_progress_step_name_free(struct lp_progress_step *s)
{
	step_free(s);
}

/* ---- line handling ---- */

static bool is_hex64_digest(const char *s, size_t n)
{
	if (n != 71 || !has_prefix(s, n, "sha256:"))
		return false;
	for (size_t i = 7; i < n; i++) {
		char c = s[i];
		if (!(is_digit(c) || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

/* "0.337 text" / "0.337" -> offset, text */
static bool parse_output(const char *s, size_t n, int64_t *off, const char **text, size_t *tlen)
{
	size_t k = 0;
	while (k < n && is_digit(s[k]))
		k++;
	if (k == 0 || k > 12 || k >= n || s[k] != '.')
		return false;
	size_t d = k + 1;
	while (d < n && is_digit(s[d]))
		d++;
	if (d == k + 1 || (d < n && s[d] != ' '))
		return false;
	uint64_t ip, fr;
	if (parse_decimal(s, d, &ip, &fr) != d)
		return false;
	*off = (int64_t)(ip * 1000000000ull + fr);
	*text = d < n ? s + d + 1 : s + d;
	*tlen = d < n ? n - d - 1 : 0;
	return true;
}

static void note_transfer(struct lp_progress_step *st, const char *s, size_t n)
{
	/* "transferring context: 1.34kB done", "transferring dockerfile: 417B done",
	 * "transferring context: 35.2MB 2.0s" */
	if (!has_prefix(s, n, "transferring "))
		return;
	const char *colon = memchr(s, ':', n);
	if (!colon)
		return;
	const char *v = colon + 1;
	size_t vl = n - (size_t)(v - s);
	while (vl && *v == ' ')
		v++, vl--;
	size_t k = 0;
	while (k < vl && v[k] != ' ')
		k++;
	uint64_t b;
	if (lp_progress_parse_size(v, k, &b)) {
		if (!st->has_transfer || b > st->transfer_bytes)
			st->transfer_bytes = b;
		st->has_transfer = true;
	}
}

/* buildx's own vertex lines: "#0 building with "NAME" instance using DRIVER
 * driver" names the builder; "#N WARN: Rule: text" is a Dockerfile lint
 * warning (kept as a status line of #N, and counted). */
static void buildx_vertex_line(struct lp_progress *p, uint32_t id, const char *r, size_t n)
{
	static const char pre[] = "building with \"", mid[] = "\" instance using ", post[] = " driver";
	p->in_warning = false;
	if (has_prefix(r, n, "WARN: ")) {
		p->nwarn++;
		return;
	}
	if (id != 0 || p->builder || !has_prefix(r, n, pre))
		return;
	const char *nm = r + sizeof(pre) - 1, *end = r + n;
	const char *q = memchr(nm, '"', (size_t)(end - nm));
	if (!q || !has_prefix(q, (size_t)(end - q), mid))
		return;
	const char *dv = q + sizeof(mid) - 1;
	size_t dl = (size_t)(end - dv);
	if (dl <= sizeof(post) - 1 || memcmp(end - (sizeof(post) - 1), post, sizeof(post) - 1) != 0)
		return;
	dl -= sizeof(post) - 1;
	set_str(&p->builder, nm, (size_t)(q - nm));
	set_str(&p->driver, dv, dl);
}

/* Skips the ANSI color sequences ("\x1b[33m") buildx puts around its
 * warning summary, even in plain mode. */
static void skip_ansi(const char **s, size_t *n)
{
	while (*n >= 2 && (*s)[0] == '\x1b' && (*s)[1] == '[') {
		size_t k = 2;
		while (k < *n && (is_digit((*s)[k]) || (*s)[k] == ';'))
			k++;
		if (k >= *n)
			return;
		*s += k + 1;
		*n -= k + 1;
		trim(s, n);
	}
}

/* buildx's summary after the build: "N warning(s) found (use docker --debug
 * to expand):" and its " - Rule: text (line N)" lines. Not error text. */
static bool buildx_warning_summary(struct lp_progress *p, const char *t, size_t tl)
{
	skip_ansi(&t, &tl);
	size_t k = 0;
	long v = 0;
	while (k < tl && is_digit(t[k]) && v < 1000000)
		v = v * 10 + (t[k++] - '0');
	if (k > 0 && k < tl && (has_prefix(t + k, tl - k, " warnings found") || has_prefix(t + k, tl - k, " warning found"))) {
		p->warn_summary = v;
		p->in_warn_list = true;
		return true;
	}
	if (p->in_warn_list && has_prefix(t, tl, "- "))
		return true;
	p->in_warn_list = false;
	/* "WARNING: current commit information was not captured by the build:
	 * failed to get git commit: error: ..." is followed by the rest of git's
	 * stderr, "error: ..."/"fatal: ..." lines, on a build that did not fail */
	/* buildx's: it printed its "#0 building with" line, or rawjson (the
	 * git warning may come before either) */
	bool buildx = p->builder || p->njson;
	if ((buildx && has_prefix(t, tl, "WARNING: ")) ||
	    has_prefix(t, tl, "WARNING: current commit information was not captured")) {
		p->in_warning = true;
		return false;
	}
	if (p->in_warning && buildx && (has_prefix(t, tl, "error: ") || has_prefix(t, tl, "fatal: ")))
		return true;
	p->in_warning = false;
	return false;
}

static void vertex_line(struct lp_progress *p, uint64_t ts, uint32_t id, const char *r, size_t n)
{
	struct lp_progress_step *s = find_id(p, id);
	bool is_new = false;
	if (!s) {
		s = new_step(p, id);
		if (!s) {
			p->nother++;
			return;
		}
		is_new = true;
		s->first_ts_ns = ts;
	}
	s->last_ts_ns = ts;
	buildx_vertex_line(p, id, r, n);

	if (eq_n(r, n, "CACHED")) {
		s->cached = true;
		s->end_ts_ns = ts;
	} else if (has_prefix(r, n, "DONE") && (n == 4 || r[4] == ' ')) {
		uint64_t d;
		s->done = true;
		s->end_ts_ns = ts;
		if (n > 5 && lp_progress_parse_duration(r + 5, n - 5, &d)) {
			s->duration_ns = d;
			s->has_duration = true;
		}
	} else if (has_prefix(r, n, "ERROR") && (n == 5 || r[5] == ':' || r[5] == ' ')) {
		const char *m = r + 5;
		size_t ml = n - 5;
		if (ml && *m == ':')
			m++, ml--;
		trim(&m, &ml);
		if (!s->error)
			s->error = dup_n(m, ml);
		s->failed = true;
		s->end_ts_ns = ts;
		p->any_failed = true;
	} else if (eq_n(r, n, "CANCELED") || eq_n(r, n, "CANCELLED")) {
		s->canceled = true;
		s->end_ts_ns = ts;
	} else if (is_hex64_digest(r, n) && !s->digest[0]) {
		set_str(&s->digest, r, n);
	} else {
		int64_t off;
		const char *t;
		size_t tl;
		if (!is_new && s->name[0] && parse_output(r, n, &off, &t, &tl)) {
			lines_push(&s->output, p->max_lines, ts, off, t, tl);
		} else if (is_new || !s->name[0]) {
			if (n) {
				set_str(&s->name, r, n);
				parse_name(s);
			}
		} else if (strlen(s->name) == n && memcmp(s->name, r, n) == 0) {
			/* repeated header: the CLI switched back to this vertex */
		} else {
			lines_push(&s->status, p->max_lines, ts, -1, r, n);
			note_transfer(s, r, n);
		}
	}
}

static struct lp_progress_step *step_for_block(struct lp_progress *p, const char *name, size_t n)
{
	struct lp_progress_step *any = NULL;
	for (size_t i = 0; i < p->nsteps; i++) {
		struct lp_progress_step *s = p->steps[i];
		if (strlen(s->name) == n && memcmp(s->name, name, n) == 0) {
			if (s->failed)
				return s;
			if (!any)
				any = s;
		}
	}
	if (any)
		return any;
	for (size_t i = p->nsteps; i-- > 0;)
		if (p->steps[i]->failed)
			return p->steps[i];
	return NULL;
}

static bool all_dashes(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '-')
			return false;
	return true;
}

/* A Dockerfile excerpt of buildx's error output: "Dockerfile:3", "   2 | >>> RUN x". */
static bool is_snippet(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && s[k] == ' ')
		k++;
	size_t d = k;
	while (d < n && is_digit(s[d]))
		d++;
	if (d > k) {
		while (d < n && s[d] == ' ')
			d++;
		if (d < n && s[d] == '|')
			return true;
	}
	const char *c = memchr(s, ':', n);
	if (c && c + 1 < s + n && !memchr(s, ' ', n)) {
		const char *q = c + 1;
		while (q < s + n && is_digit(*q))
			q++;
		if (q == s + n && q > c + 1)
			return true;
	}
	return false;
}

static void other_line(struct lp_progress *p, uint64_t ts, const char *s, size_t n)
{
	const char *t = s;
	size_t tl = n;
	trim(&t, &tl);

	if (p->block == BLOCK_NONE && buildx_warning_summary(p, t, tl)) {
		p->nother++;
		return;
	}
	if (eq_n(t, tl, "------") && (p->any_failed || p->block != BLOCK_NONE)) {
		if (p->block == BLOCK_NONE) {
			p->block = BLOCK_WANT_NAME;
			p->block_step = NULL;
			p->saw_block = true;
		} else {
			p->block = BLOCK_NONE;
		}
		return;
	}
	if (p->block == BLOCK_WANT_NAME) {
		if (has_prefix(t, tl, "> ")) {
			const char *nm = t + 2;
			size_t nl = tl - 2;
			if (nl && nm[nl - 1] == ':')
				nl--;
			trim(&nm, &nl);
			p->block_step = step_for_block(p, nm, nl);
		} else {
			p->block_step = step_for_block(p, "", 0);
		}
		p->block = BLOCK_IN;
	}
	if (p->block == BLOCK_IN) {
		if (p->block_step) {
			/* keep the text as printed, minus the CLI's one-space indent */
			const char *b = s;
			size_t bl = n;
			if (bl && *b == ' ')
				b++, bl--;
			while (bl && is_space(b[bl - 1]))
				bl--;
			lines_push(&p->block_step->block_, p->max_lines, ts, -1, b, bl);
		}
		return;
	}

	p->nother++;
	if (!tl || all_dashes(t, tl) || is_snippet(t, tl))
		return;
	int prio = 0;
	if (has_prefix_ci(t, tl, "error:") || has_prefix_ci(t, tl, "error "))
		prio = 2;
	else if ((p->any_failed || p->saw_block) && !has_prefix_ci(t, tl, "warning"))
		prio = 1;
	else if (has_prefix(t, tl, "failed to "))
		prio = 1;
	if (prio > p->final_prio || (prio == 2 && p->final_prio == 2)) {
		set_str(&p->final_error, t, tl);
		p->final_prio = prio;
	}
}

/* One line; cut: line[0..len) is the start of a line longer than max_line,
 * whose end feed() did not keep. */
struct rawjson_ctx {
	struct lp_progress *p;
	uint64_t ts;
};

static void line_in(struct lp_progress *p, uint64_t ts_ns, const char *line, size_t len, bool cut);

static void rawjson_line(void *ctx, const char *line, size_t len)
{
	struct rawjson_ctx *c = ctx;
	line_in(c->p, c->ts, line, len, false);
}

/* A rawjson SolveStatus line: its plain translation is fed instead. Whole
 * lines only (a JSON object cut by feed()'s max_line does not parse and is
 * taken as a text line). */
static bool rawjson_in(struct lp_progress *p, uint64_t ts_ns, const char *line, size_t len)
{
	if (!len || line[0] != '{')
		return false;
	if (!p->rj && !(p->rj = lp_rawjson_new()))
		return false;
	struct rawjson_ctx c = { p, ts_ns };
	if (!lp_rawjson_feed(p->rj, line, len, rawjson_line, &c))
		return false;
	p->njson++;
	return true;
}

static void line_in(struct lp_progress *p, uint64_t ts_ns, const char *line, size_t len, bool cut)
{
	if (!cut) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len <= JSON_LINE_MAX && rawjson_in(p, ts_ns, line, len))
			return;
	}
	p->nlines++;
	if (!p->have_ts) {
		p->first_ts = ts_ns;
		p->have_ts = true;
	}
	p->last_ts = ts_ns;
	if (cut || len > p->max_line) {
		len = len < p->max_line ? len : p->max_line;
		p->ntrunc++;
	}
	if (len >= 2 && line[0] == '#' && is_digit(line[1])) {
		size_t k = 1;
		uint64_t id = 0;
		while (k < len && is_digit(line[k]) && id <= UINT32_MAX)
			id = id * 10 + (uint64_t)(line[k++] - '0');
		if (id <= UINT32_MAX && (k == len || line[k] == ' ')) {
			const char *r = k < len ? line + k + 1 : line + k;
			size_t rl = k < len ? len - k - 1 : 0;
			while (rl && is_space(r[rl - 1]))
				rl--;
			vertex_line(p, ts_ns, (uint32_t)id, r, rl);
			return;
		}
	}
	other_line(p, ts_ns, line, len);
}

void lp_progress_feed_line(struct lp_progress *p, uint64_t ts_ns, const char *line, size_t len)
{
	if (!p || (!line && len))
		return;
	line_in(p, ts_ns, line ? line : "", len, false);
}

/* feed() keeps max_line + 1 bytes of a line (JSON_LINE_MAX + 1 of a rawjson
 * object) and drops the rest; whether the
 * line is too long depends on whether what it dropped was only trailing
 * '\r's (pcut), so that feed() and feed_line() agree on every stream. */
static void flush_partial(struct lp_progress *p, uint64_t ts_ns)
{
	line_in(p, ts_ns, p->pbuf ? p->pbuf : "", p->plen, p->pcut);
	p->plen = 0;
	p->pdropping = false;
	p->pcut = false;
}

void lp_progress_feed(struct lp_progress *p, uint64_t ts_ns, const char *data, size_t len)
{
	if (!p || !data)
		return;
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		size_t take = 0;
		if (!p->pdropping) {
			/* a rawjson object is kept whole up to JSON_LINE_MAX, any
			 * other line up to max_line, as feed_line() would take them */
			bool json = (p->plen ? p->pbuf[0] : n ? data[0] : 0) == '{';
			size_t keep = json ? JSON_LINE_MAX : p->max_line;
			size_t want = p->plen + (n < keep + 1 - p->plen ? n : keep + 1 - p->plen);
			if (want > p->pcap || !p->pbuf) {
				size_t cap = p->pcap ? p->pcap : p->max_line + 1;
				while (cap < want)
					cap *= 2;
				char *nb = realloc(p->pbuf, cap);
				if (!nb)
					return;
				p->pbuf = nb;
				p->pcap = cap;
			}
			size_t room = keep + 1 - p->plen;
			take = n < room ? n : room;
			memcpy(p->pbuf + p->plen, data, take);
			p->plen += take;
			if (p->plen > keep)
				p->pdropping = true;
		}
		for (size_t i = take; i < n && !p->pcut; i++)
			if (data[i] != '\r')
				p->pcut = true;
		if (nl) {
			flush_partial(p, ts_ns);
			n++;
		}
		data += n;
		len -= n;
	}
}

static void compose_errors(struct lp_progress *p)
{
	for (size_t i = 0; i < p->nsteps; i++) {
		struct lp_progress_step *s = p->steps[i];
		if (!s->failed)
			continue;
		size_t need = (s->error ? strlen(s->error) : 0) + 1;
		for (size_t j = 0; j < s->block_.count; j++)
			need += strlen(lp_progress_lines_at(&s->block_, j)->text) + 1;
		if (p->final_error)
			need += strlen(p->final_error) + 1;
		char *t = malloc(need), *w = t;
		if (!t)
			continue;
		size_t k = s->error ? strlen(s->error) : 0;
		memcpy(w, s->error ? s->error : "", k);
		w += k;
		for (size_t j = 0; j < s->block_.count; j++) {
			const char *b = lp_progress_lines_at(&s->block_, j)->text;
			*w++ = '\n';
			k = strlen(b);
			memcpy(w, b, k);
			w += k;
		}
		if (p->final_error) {
			*w++ = '\n';
			k = strlen(p->final_error);
			memcpy(w, p->final_error, k);
			w += k;
		}
		*w = '\0';
		free(s->error_text);
		s->error_text = t;
	}
}

void lp_progress_finish(struct lp_progress *p)
{
	if (!p)
		return;
	if (p->plen || p->pdropping)
		flush_partial(p, p->last_ts);
	if (p->rj) {
		struct rawjson_ctx c = { p, p->last_ts };
		lp_rawjson_flush(p->rj, rawjson_line, &c);
		for (size_t i = 0; i < p->nsteps; i++) {
			struct lp_progress_step *s = p->steps[i];
			struct lp_rawjson_times t;
			if (!lp_rawjson_times_of(p->rj, s->id, &t) || !t.started_ns)
				continue;
			s->has_engine_time = true;
			s->engine_start_ns = t.started_ns;
			s->engine_end_ns = t.completed_ns;
			s->engine_active_ns = t.active_ns;
		}
	}
	compose_errors(p);
}

bool lp_progress_is_rawjson(const struct lp_progress *p)
{
	return p && p->njson > 0;
}

/* ---- accessors ---- */

size_t lp_progress_step_count(const struct lp_progress *p)
{
	return p ? p->nsteps : 0;
}

const struct lp_progress_step *lp_progress_step_at(const struct lp_progress *p, size_t i)
{
	return p && i < p->nsteps ? p->steps[i] : NULL;
}

const struct lp_progress_step *lp_progress_step_by_id(const struct lp_progress *p, uint32_t id)
{
	return p ? find_id(p, id) : NULL;
}

const struct lp_progress_step *lp_progress_step_by_name(const struct lp_progress *p, const char *name)
{
	if (!p || !name)
		return NULL;
	for (size_t i = 0; i < p->nsteps; i++)
		if (strcmp(p->steps[i]->name, name) == 0)
			return p->steps[i];
	return NULL;
}

bool lp_progress_failed(const struct lp_progress *p)
{
	return p && (p->any_failed || p->final_error);
}

const char *lp_progress_final_error(const struct lp_progress *p)
{
	return p ? p->final_error : NULL;
}

const char *lp_progress_builder(const struct lp_progress *p)
{
	return p ? p->builder : NULL;
}

const char *lp_progress_builder_driver(const struct lp_progress *p)
{
	return p ? p->driver : NULL;
}

size_t lp_progress_warning_count(const struct lp_progress *p)
{
	return p ? p->nwarn : 0;
}

long lp_progress_warnings_found(const struct lp_progress *p)
{
	return p ? p->warn_summary : -1;
}

uint64_t lp_progress_context_bytes(const struct lp_progress *p)
{
	uint64_t sum = 0;
	if (!p)
		return 0;
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct lp_progress_step *s = p->steps[i];
		if (s->has_transfer && strcmp(s->instruction, "INTERNAL") == 0 &&
		    strcmp(s->text, "load build context") == 0)
			sum += s->transfer_bytes;
	}
	return sum;
}

uint64_t lp_progress_first_ts(const struct lp_progress *p)
{
	return p ? p->first_ts : 0;
}

uint64_t lp_progress_last_ts(const struct lp_progress *p)
{
	return p ? p->last_ts : 0;
}

size_t lp_progress_line_count(const struct lp_progress *p)
{
	return p ? p->nlines : 0;
}

size_t lp_progress_other_line_count(const struct lp_progress *p)
{
	return p ? p->nother : 0;
}

size_t lp_progress_truncated_count(const struct lp_progress *p)
{
	return p ? p->ntrunc : 0;
}
