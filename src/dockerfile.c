/* SPDX-License-Identifier: BSD-2-Clause */
/* Lenient Dockerfile parser and BuildKit step matcher; see dockerfile.h. */
#include "dockerfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (16u << 20)
#define WILD '\x01' /* wildcard marker in match patterns */

struct lp_dockerfile {
	char escape;
	struct lp_dockerfile_instr *in;
	size_t nin, capin;
	struct lp_dockerfile_stage *st;
	size_t nst, capst;
	bool oom;
};

/* ---- string helpers ---- */

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

static char *dup_s(const char *s)
{
	return dup_n(s, strlen(s));
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool eq_ci(const char *a, const char *b)
{
	while (*a && *b && lower(*a) == lower(*b))
		a++, b++;
	return *a == '\0' && *b == '\0';
}

static void lower_str(char *s)
{
	for (; *s; s++)
		*s = lower(*s);
}

/* A growable string. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 64;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *ns = realloc(b->s, nc);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = nc;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_addc(struct sbuf *b, char c)
{
	sb_add(b, &c, 1);
}

/* Take the string (never NULL unless OOM). */
static char *sb_take(struct sbuf *b)
{
	if (b->oom) {
		free(b->s);
		return NULL;
	}
	if (!b->s)
		return dup_n("", 0);
	return b->s;
}

/* ---- physical lines ---- */

struct line {
	const char *s;
	size_t n;
};

/* leading blanks skipped */
static const char *ltrim(const char *s, size_t n, size_t *rest)
{
	while (n && is_blank(*s))
		s++, n--;
	*rest = n;
	return s;
}

static bool is_comment(struct line l)
{
	size_t n;
	const char *s = ltrim(l.s, l.n, &n);
	return n && *s == '#';
}

static bool is_empty(struct line l)
{
	size_t n;
	ltrim(l.s, l.n, &n);
	return n == 0;
}

/* Drops a trailing "<escape>[ \t]*"; true when there was one. */
static bool trim_continuation(const char *s, size_t *n, char esc)
{
	size_t k = *n;
	while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
		k--;
	if (k && s[k - 1] == esc) {
		*n = k - 1;
		return true;
	}
	return false;
}

/* "# key=value" directive at the top; sets escape. */
static bool directive(struct line l, char *esc)
{
	size_t n;
	const char *s = ltrim(l.s, l.n, &n);
	if (!n || *s != '#')
		return false;
	s++, n--;
	s = ltrim(s, n, &n);
	size_t k = 0;
	while (k < n && ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
			 (k && s[k] >= '0' && s[k] <= '9')))
		k++;
	if (!k)
		return false;
	char key[16];
	if (k >= sizeof(key))
		return false;
	for (size_t i = 0; i < k; i++)
		key[i] = lower(s[i]);
	key[k] = '\0';
	size_t r;
	const char *v = ltrim(s + k, n - k, &r);
	if (!r || *v != '=')
		return false;
	v = ltrim(v + 1, r - 1, &r);
	while (r && is_blank(v[r - 1]))
		r--;
	if (strcmp(key, "escape") == 0 && r == 1 && (*v == '\\' || *v == '`'))
		*esc = *v;
	return true;
}

/* ---- instruction details ---- */

static void free_instr(struct lp_dockerfile_instr *in)
{
	free(in->args);
	free(in->text);
	for (size_t i = 0; i < in->nflags; i++) {
		free(in->flags[i].name);
		free(in->flags[i].value);
	}
	free(in->flags);
	for (size_t i = 0; i < in->nargv; i++)
		free(in->argv[i]);
	free(in->argv);
	free(in->heredoc);
	free(in->dst_abs);
	free(in->workdir);
}

static bool push_str(char ***v, size_t *n, char *s)
{
	if (!s)
		return false;
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv) {
		free(s);
		return false;
	}
	nv[(*n)++] = s;
	*v = nv;
	return true;
}

/* Parses a JSON array of strings at s; true and the strings when it is one. */
static bool parse_json_array(const char *s, size_t n, char ***out, size_t *nout)
{
	size_t i = 0;
	char **v = NULL;
	size_t nv = 0;
	struct sbuf b = { 0 };

#define SKIPWS() while (i < n && (is_blank(s[i]) || s[i] == '\n')) i++
	SKIPWS();
	if (i >= n || s[i] != '[')
		return false;
	i++;
	SKIPWS();
	if (i < n && s[i] == ']') {
		i++;
		goto end;
	}
	for (;;) {
		SKIPWS();
		if (i >= n || s[i] != '"')
			goto fail;
		i++;
		b = (struct sbuf){ 0 };
		sb_add(&b, "", 0);
		while (i < n && s[i] != '"') {
			char c = s[i++];
			if (c == '\\') {
				if (i >= n)
					goto fail;
				c = s[i++];
				switch (c) {
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 'r': c = '\r'; break;
				case 'b': c = '\b'; break;
				case 'f': c = '\f'; break;
				case 'u': {
					unsigned cp = 0;
					if (i + 4 > n)
						goto fail;
					for (int k = 0; k < 4; k++) {
						char h = s[i++];
						cp <<= 4;
						if (h >= '0' && h <= '9') cp |= (unsigned)(h - '0');
						else if (lower(h) >= 'a' && lower(h) <= 'f') cp |= (unsigned)(lower(h) - 'a' + 10);
						else goto fail;
					}
					if (cp < 0x80) {
						c = cp ? (char)cp : '?';
					} else if (cp < 0x800) {
						sb_addc(&b, (char)(0xc0 | (cp >> 6)));
						c = (char)(0x80 | (cp & 0x3f));
					} else {
						sb_addc(&b, (char)(0xe0 | (cp >> 12)));
						sb_addc(&b, (char)(0x80 | ((cp >> 6) & 0x3f)));
						c = (char)(0x80 | (cp & 0x3f));
					}
					break;
				}
				default: break; /* \" \\ \/ */
				}
			}
			sb_addc(&b, c);
		}
		if (i >= n)
			goto fail;
		i++; /* closing quote */
		char *str = sb_take(&b);
		b = (struct sbuf){ 0 };
		if (!push_str(&v, &nv, str))
			goto fail;
		SKIPWS();
		if (i < n && s[i] == ',') {
			i++;
			continue;
		}
		if (i < n && s[i] == ']') {
			i++;
			break;
		}
		goto fail;
	}
end:
	SKIPWS();
	if (i != n)
		goto fail;
#undef SKIPWS
	*out = v;
	*nout = nv;
	return true;
fail:
	free(b.s);
	for (size_t k = 0; k < nv; k++)
		free(v[k]);
	free(v);
	return false;
}

/* Leading "--name[=value]" words; returns where the rest starts. */
static const char *parse_flags(struct lp_dockerfile_instr *in, const char *s, size_t n, size_t *rest)
{
	for (;;) {
		s = ltrim(s, n, &n);
		if (n < 3 || s[0] != '-' || s[1] != '-')
			break;
		size_t k = 2;
		while (k < n && !is_blank(s[k]))
			k++;
		const char *eq = memchr(s + 2, '=', k - 2);
		struct lp_dockerfile_flag f;
		f.name = dup_n(s + 2, eq ? (size_t)(eq - s - 2) : k - 2);
		f.value = NULL;
		if (eq) {
			const char *v = eq + 1;
			size_t vl = (size_t)(s + k - v);
			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0])
				v++, vl -= 2;
			f.value = dup_n(v, vl);
		}
		struct lp_dockerfile_flag *nf = realloc(in->flags, (in->nflags + 1) * sizeof(*nf));
		if (!f.name || (eq && !f.value) || !nf) {
			free(f.name);
			free(f.value);
			if (nf)
				in->flags = nf;
			break;
		}
		lower_str(f.name);
		in->flags = nf;
		in->flags[in->nflags++] = f;
		s += k;
		n -= k;
	}
	*rest = n;
	return s;
}

const char *lp_dockerfile_instr_flag(const struct lp_dockerfile_instr *in, const char *name, bool *present)
{
	if (present)
		*present = false;
	if (!in || !name)
		return NULL;
	for (size_t i = in->nflags; i-- > 0;) {
		if (eq_ci(in->flags[i].name, name)) {
			if (present)
				*present = true;
			return in->flags[i].value;
		}
	}
	return NULL;
}

/* Shell-like words: split on blanks, quotes group and are removed ('...'
 * literally, "..." with escaped quotes), the escape character escapes the
 * next character outside single quotes. */
static void split_words(struct lp_dockerfile_instr *in, const char *s, size_t n, char esc)
{
	size_t i = 0;
	for (;;) {
		while (i < n && (is_blank(s[i]) || s[i] == '\n'))
			i++;
		if (i >= n)
			break;
		struct sbuf w = { 0 };
		char q = 0;
		sb_add(&w, "", 0);
		for (; i < n; i++) {
			char c = s[i];
			if (q) {
				if (c == q)
					q = 0;
				else if (q == '"' && c == esc && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == esc))
					sb_addc(&w, s[++i]);
				else
					sb_addc(&w, c);
			} else if (c == '"' || c == '\'') {
				q = c;
			} else if (is_blank(c) || c == '\n') {
				break;
			} else if (c == esc && i + 1 < n) {
				sb_addc(&w, s[++i]);
			} else {
				sb_addc(&w, c);
			}
		}
		if (!push_str(&in->argv, &in->nargv, sb_take(&w)))
			break;
	}
}

static bool heredoc_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-' || c == '.';
}

/* Heredoc markers in args: "<<EOF", "<<-EOF", "<<'EOF'", "<<\"EOF\"". */
static size_t heredoc_markers(const char *s, size_t n, char marks[][64], bool *strip_tabs, size_t max)
{
	size_t found = 0;
	for (size_t i = 0; i + 2 < n && found < max; i++) {
		if (s[i] != '<' || s[i + 1] != '<' || (i && s[i - 1] == '<'))
			continue;
		size_t j = i + 2;
		bool strip = false;
		if (j < n && s[j] == '-')
			strip = true, j++;
		char q = 0;
		if (j < n && (s[j] == '"' || s[j] == '\''))
			q = s[j++];
		if (j >= n || !((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') || s[j] == '_'))
			continue;
		size_t k = j;
		while (k < n && heredoc_word_char(s[k]))
			k++;
		if (q) {
			if (k >= n || s[k] != q)
				continue;
		}
		if (k - j >= 64)
			continue;
		memcpy(marks[found], s + j, k - j);
		marks[found][k - j] = '\0';
		strip_tabs[found] = strip;
		found++;
		i = k;
	}
	return found;
}

static struct lp_dockerfile_instr *new_instr(struct lp_dockerfile *df)
{
	if (df->nin == df->capin) {
		size_t nc = df->capin ? df->capin * 2 : 32;
		struct lp_dockerfile_instr *n = realloc(df->in, nc * sizeof(*n));
		if (!n)
			return NULL;
		df->in = n;
		df->capin = nc;
	}
	struct lp_dockerfile_instr *in = &df->in[df->nin++];
	memset(in, 0, sizeof(*in));
	return in;
}

static struct lp_dockerfile_stage *new_stage(struct lp_dockerfile *df)
{
	if (df->nst == df->capst) {
		size_t nc = df->capst ? df->capst * 2 : 8;
		struct lp_dockerfile_stage *n = realloc(df->st, nc * sizeof(*n));
		if (!n)
			return NULL;
		df->st = n;
		df->capst = nc;
	}
	struct lp_dockerfile_stage *st = &df->st[df->nst++];
	memset(st, 0, sizeof(*st));
	st->base_stage = -1;
	return st;
}

int lp_dockerfile_stage_index(const struct lp_dockerfile *df, const char *name)
{
	if (!df || !name || !*name)
		return -1;
	for (size_t i = 0; i < df->nst; i++)
		if (df->st[i].name[0] && eq_ci(df->st[i].name, name))
			return (int)i;
	const char *p = name;
	unsigned long v = 0;
	while (*p >= '0' && *p <= '9' && v < 1000000)
		v = v * 10 + (unsigned long)(*p++ - '0');
	if (*p == '\0' && p != name && v < df->nst)
		return (int)v;
	return -1;
}

/* base + "/" + rel (rel alone when absolute), "." and ".." resolved, no
 * trailing slash but for "/". NULL when out of memory. */
static char *path_join(const char *base, const char *rel)
{
	struct sbuf in = { 0 }, out = { 0 };
	if (rel[0] != '/') {
		sb_add(&in, base, strlen(base));
		sb_addc(&in, '/');
	}
	sb_add(&in, rel, strlen(rel));
	char *t = sb_take(&in);
	if (!t)
		return NULL;
	sb_add(&out, "", 0);
	for (char *seg = t; *seg;) {
		char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.')) {
			/* skip */
		} else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			char *slash = out.s ? strrchr(out.s, '/') : NULL;
			if (slash) {
				*slash = '\0';
				out.len = (size_t)(slash - out.s);
			}
		} else {
			sb_addc(&out, '/');
			sb_add(&out, seg, n);
		}
		seg += n;
		while (*seg == '/')
			seg++;
	}
	free(t);
	if (!out.oom && out.len == 0)
		sb_addc(&out, '/');
	return sb_take(&out);
}

/* Fill the details of an instruction from its keyword and args. */
static void analyze(struct lp_dockerfile *df, struct lp_dockerfile_instr *in, unsigned *stepctr)
{
	const char *kw = in->keyword;
	size_t n;
	const char *rest = in->args;
	n = strlen(rest);
	bool flagged = strcmp(kw, "COPY") == 0 || strcmp(kw, "ADD") == 0 || strcmp(kw, "RUN") == 0 ||
		       strcmp(kw, "FROM") == 0 || strcmp(kw, "HEALTHCHECK") == 0;
	if (flagged)
		rest = parse_flags(in, rest, n, &n);
	else
		rest = ltrim(rest, n, &n);
	if (strcmp(kw, "FROM") != 0 && parse_json_array(rest, n, &in->argv, &in->nargv))
		in->json = true;
	else
		split_words(in, rest, n, df->escape);

	if (strcmp(kw, "FROM") == 0) {
		struct lp_dockerfile_stage *st = new_stage(df);
		if (!st) {
			df->oom = true;
			return;
		}
		const char *img = in->nargv ? in->argv[0] : "";
		st->base = dup_s(img);
		st->name = dup_s(in->nargv >= 3 && eq_ci(in->argv[1], "as") ? in->argv[2] : "");
		const char *plat = lp_dockerfile_instr_flag(in, "platform", NULL);
		st->platform = plat ? dup_s(plat) : NULL;
		if (!st->base || !st->name || (plat && !st->platform)) {
			df->oom = true;
			return;
		}
		lower_str(st->name);
		st->line = in->line;
		st->first = df->nin - 1;
		/* base: an earlier stage by name? (FROM's own stage is not yet named) */
		for (size_t i = 0; i + 1 < df->nst; i++)
			if (df->st[i].name[0] && eq_ci(df->st[i].name, img))
				st->base_stage = (int)i;
		*stepctr = 0;
		in->stage = (int)df->nst - 1;
		if (st->base_stage < 0 && !eq_ci(img, "scratch"))
			in->step = ++*stepctr;
		st->workdir = dup_s(st->base_stage >= 0 && df->st[st->base_stage].workdir ? df->st[st->base_stage].workdir
											 : "/");
		in->workdir = st->workdir ? dup_s(st->workdir) : NULL;
		if (!in->workdir)
			df->oom = true;
		return;
	}
	/* the working directory in effect */
	struct lp_dockerfile_stage *cur = df->nst ? &df->st[df->nst - 1] : NULL;
	const char *wd = cur && cur->workdir ? cur->workdir : "/";
	if (strcmp(kw, "WORKDIR") == 0 && in->nargv) {
		char *nw = path_join(wd, in->argv[0]);
		if (!nw) {
			df->oom = true;
			return;
		}
		if (cur) {
			free(cur->workdir);
			cur->workdir = nw;
			in->workdir = dup_s(nw);
		} else {
			in->workdir = nw;
		}
	} else {
		in->workdir = dup_s(wd);
	}
	if (!in->workdir) {
		df->oom = true;
		return;
	}
	in->stage = (int)df->nst - 1;
	if (df->nst && (strcmp(kw, "RUN") == 0 || strcmp(kw, "COPY") == 0 || strcmp(kw, "ADD") == 0 ||
			strcmp(kw, "WORKDIR") == 0))
		in->step = ++*stepctr;
	if (strcmp(kw, "COPY") == 0 || strcmp(kw, "ADD") == 0) {
		in->from = lp_dockerfile_instr_flag(in, "from", NULL);
		in->chown = lp_dockerfile_instr_flag(in, "chown", NULL);
		in->chmod = lp_dockerfile_instr_flag(in, "chmod", NULL);
		bool present;
		const char *lv = lp_dockerfile_instr_flag(in, "link", &present);
		in->link = present && (!lv || eq_ci(lv, "true") || strcmp(lv, "1") == 0);
		if (in->nargv >= 2) {
			in->nsrc = in->nargv - 1;
			in->src = in->argv;
			in->dst = in->argv[in->nargv - 1];
			in->dst_abs = path_join(in->workdir, in->dst);
			if (!in->dst_abs)
				df->oom = true;
		}
	}
}

static void finish_stages(struct lp_dockerfile *df)
{
	for (size_t i = 0; i < df->nst; i++) {
		struct lp_dockerfile_stage *st = &df->st[i];
		size_t end = i + 1 < df->nst ? df->st[i + 1].first : df->nin;
		st->count = end - st->first;
		st->steps = 0;
		for (size_t k = st->first; k < end; k++)
			if (df->in[k].step > st->steps)
				st->steps = df->in[k].step;
		char buf[32];
		if (st->name[0])
			st->label = dup_s(st->name);
		else if (df->nst > 1) {
			snprintf(buf, sizeof(buf), "stage-%zu", i);
			st->label = dup_s(buf);
		} else
			st->label = dup_s("");
		if (!st->label)
			df->oom = true;
	}
}

struct lp_dockerfile *lp_dockerfile_parse(const char *text, size_t len)
{
	struct lp_dockerfile *df = calloc(1, sizeof(*df));
	if (!df)
		return NULL;
	df->escape = '\\';
	if (!text)
		len = 0;

	/* physical lines */
	struct line *lines = NULL;
	size_t nl = 0, capl = 0;
	for (size_t i = 0; i < len;) {
		const char *e = memchr(text + i, '\n', len - i);
		size_t n = e ? (size_t)(e - (text + i)) : len - i;
		if (nl == capl) {
			size_t nc = capl ? capl * 2 : 64;
			struct line *nlines = realloc(lines, nc * sizeof(*nlines));
			if (!nlines) {
				free(lines);
				free(df);
				return NULL;
			}
			lines = nlines;
			capl = nc;
		}
		size_t m = n;
		if (m && text[i + m - 1] == '\r')
			m--;
		lines[nl++] = (struct line){ text + i, m };
		i += n + 1;
		if (!e)
			break;
	}

	size_t li = 0;
	/* byte order mark */
	if (nl && lines[0].n >= 3 && memcmp(lines[0].s, "\xef\xbb\xbf", 3) == 0)
		lines[0].s += 3, lines[0].n -= 3;
	while (li < nl && directive(lines[li], &df->escape))
		li++;

	unsigned stepctr = 0;
	while (li < nl && !df->oom) {
		struct line l = lines[li];
		if (is_empty(l) || is_comment(l)) {
			li++;
			continue;
		}
		unsigned start = (unsigned)li + 1;
		struct sbuf b = { 0 };
		size_t n;
		const char *s = ltrim(l.s, l.n, &n);
		bool cont = trim_continuation(s, &n, df->escape);
		sb_add(&b, s, n);
		li++;
		while (cont && li < nl) {
			struct line c = lines[li++];
			if (is_comment(c) || is_empty(c))
				continue;
			n = c.n;
			cont = trim_continuation(c.s, &n, df->escape);
			sb_add(&b, c.s, n);
		}
		char *joined = sb_take(&b);
		if (!joined) {
			df->oom = true;
			break;
		}
		struct lp_dockerfile_instr *in = new_instr(df);
		if (!in) {
			free(joined);
			df->oom = true;
			break;
		}
		in->line = start;
		in->end_line = (unsigned)li;
		/* keyword */
		size_t k = 0, jl = strlen(joined);
		while (k < jl && !is_blank(joined[k]))
			k++;
		for (size_t i = 0; i < k && i < sizeof(in->keyword) - 1; i++)
			in->keyword[i] = upper(joined[i]);
		size_t al;
		const char *a = ltrim(joined + k, jl - k, &al);
		while (al && is_blank(a[al - 1]))
			al--;
		in->args = dup_n(a, al);
		in->text = malloc(strlen(in->keyword) + 1 + al + 1);
		if (!in->args || !in->text) {
			free(joined);
			df->oom = true;
			break;
		}
		sprintf(in->text, "%s%s%s", in->keyword, al ? " " : "", in->args);
		free(joined);

		/* heredocs: consume the bodies */
		if (strcmp(in->keyword, "RUN") == 0 || strcmp(in->keyword, "COPY") == 0 ||
		    strcmp(in->keyword, "ADD") == 0) {
			char marks[8][64];
			bool strip[8];
			size_t nm = heredoc_markers(in->args, strlen(in->args), marks, strip, 8);
			if (nm) {
				struct sbuf hb = { 0 };
				for (size_t m = 0; m < nm; m++) {
					while (li < nl) {
						struct line h = lines[li++];
						const char *hs = h.s;
						size_t hn = h.n;
						if (strip[m])
							while (hn && *hs == '\t')
								hs++, hn--;
						if (hn == strlen(marks[m]) && memcmp(hs, marks[m], hn) == 0)
							break;
						sb_add(&hb, h.s, h.n);
						sb_addc(&hb, '\n');
					}
				}
				in->heredoc = sb_take(&hb);
				in->end_line = (unsigned)li;
				if (!in->heredoc)
					df->oom = true;
			}
		}
		analyze(df, in, &stepctr);
	}
	free(lines);
	if (!df->oom)
		finish_stages(df);
	if (df->oom) {
		lp_dockerfile_free(df);
		return NULL;
	}
	return df;
}

struct lp_dockerfile *lp_dockerfile_load(const char *path, int *err)
{
	int e = 0;
	FILE *f = path ? fopen(path, "rb") : NULL;
	char *buf = NULL;
	size_t len = 0;
	if (!f) {
		e = path ? errno : EINVAL;
		goto out;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		e = ENOMEM;
		goto out;
	}
	len = fread(buf, 1, MAX_FILE + 1, f);
	if (ferror(f)) {
		e = EIO;
		goto out;
	}
	if (len > MAX_FILE) {
		e = EFBIG;
		goto out;
	}
out:
	if (f)
		fclose(f);
	struct lp_dockerfile *df = NULL;
	if (!e) {
		df = lp_dockerfile_parse(buf, len);
		if (!df)
			e = ENOMEM;
	}
	free(buf);
	if (err)
		*err = e;
	return df;
}

void lp_dockerfile_free(struct lp_dockerfile *df)
{
	if (!df)
		return;
	for (size_t i = 0; i < df->nin; i++)
		free_instr(&df->in[i]);
	free(df->in);
	for (size_t i = 0; i < df->nst; i++) {
		free(df->st[i].name);
		free(df->st[i].label);
		free(df->st[i].base);
		free(df->st[i].platform);
		free(df->st[i].workdir);
	}
	free(df->st);
	free(df);
}

char lp_dockerfile_escape(const struct lp_dockerfile *df)
{
	return df ? df->escape : '\\';
}

size_t lp_dockerfile_instr_count(const struct lp_dockerfile *df)
{
	return df ? df->nin : 0;
}

const struct lp_dockerfile_instr *lp_dockerfile_instr_at(const struct lp_dockerfile *df, size_t i)
{
	return df && i < df->nin ? &df->in[i] : NULL;
}

size_t lp_dockerfile_stage_count(const struct lp_dockerfile *df)
{
	return df ? df->nst : 0;
}

const struct lp_dockerfile_stage *lp_dockerfile_stage_at(const struct lp_dockerfile *df, size_t i)
{
	return df && i < df->nst ? &df->st[i] : NULL;
}

const struct lp_dockerfile_instr *lp_dockerfile_instr_at_line(const struct lp_dockerfile *df, unsigned line)
{
	if (!df)
		return NULL;
	for (size_t i = 0; i < df->nin; i++)
		if (df->in[i].line <= line && line <= df->in[i].end_line)
			return &df->in[i];
	return NULL;
}

/* ---- step matching ---- */

/* Blanks collapsed, quotes dropped, '[' ']' ',' read as blanks; with
 * `vars`, each $NAME / ${...} becomes WILD. Returns a malloc'd string. */
static char *normalize(const char *s, bool vars, char esc)
{
	struct sbuf b = { 0 };
	bool space = false;
	sb_add(&b, "", 0);
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		if (vars && c == esc && s[i + 1] == '$') {
			/* escaped dollar: literal */
			if (space && b.len)
				sb_addc(&b, ' ');
			space = false;
			sb_addc(&b, '$');
			i++;
			continue;
		}
		if (vars && c == '$' && s[i + 1] == '{') {
			const char *e = strchr(s + i, '}');
			if (e) {
				if (space && b.len)
					sb_addc(&b, ' ');
				space = false;
				sb_addc(&b, WILD);
				i = (size_t)(e - s);
				continue;
			}
		}
		if (vars && c == '$' && (s[i + 1] == '_' || (s[i + 1] >= 'a' && s[i + 1] <= 'z') ||
					  (s[i + 1] >= 'A' && s[i + 1] <= 'Z'))) {
			size_t k = i + 1;
			while (s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
			       (s[k] >= '0' && s[k] <= '9'))
				k++;
			if (space && b.len)
				sb_addc(&b, ' ');
			space = false;
			sb_addc(&b, WILD);
			i = k - 1;
			continue;
		}
		if (c == '"' || c == '\'')
			continue;
		if (is_blank(c) || c == '\n' || c == '[' || c == ']' || c == ',') {
			space = true;
			continue;
		}
		if (space && b.len)
			sb_addc(&b, ' ');
		space = false;
		sb_addc(&b, c == WILD ? '?' : c);
	}
	return sb_take(&b);
}

/* Glob match where WILD in pat matches any run of characters. */
static bool wild_match(const char *pat, const char *str)
{
	const char *star = NULL, *back = NULL;
	while (*str) {
		if (*pat == WILD) {
			star = ++pat;
			back = str;
		} else if (*pat == *str) {
			pat++;
			str++;
		} else if (star) {
			pat = star;
			str = ++back;
		} else {
			return false;
		}
	}
	while (*pat == WILD)
		pat++;
	return *pat == '\0';
}

/* "docker.io/library/busybox:latest" -> "busybox" */
static char *norm_image(const char *s)
{
	const char *p = s;
	if (strncmp(p, "docker.io/", 10) == 0)
		p += 10;
	else if (strncmp(p, "index.docker.io/", 16) == 0)
		p += 16;
	if (strncmp(p, "library/", 8) == 0)
		p += 8;
	char *d = dup_s(p);
	if (!d)
		return NULL;
	size_t n = strlen(d);
	if (!strchr(d, '@') && n > 7 && strcmp(d + n - 7, ":latest") == 0)
		d[n - 7] = '\0';
	lower_str(d);
	return d;
}

static bool text_matches(const struct lp_dockerfile *df, const struct lp_dockerfile_instr *in, const char *printed)
{
	bool ok = false;
	if (strcmp(in->keyword, "FROM") == 0) {
		const char *sp = strchr(printed, ' ');
		const struct lp_dockerfile_stage *st = in->stage >= 0 ? &df->st[in->stage] : NULL;
		if (!sp || !st)
			return false;
		char *a = norm_image(sp + 1);
		char *b = norm_image(st->base);
		char *pb = b ? normalize(b, true, df->escape) : NULL;
		ok = a && pb && wild_match(pb, a);
		free(a);
		free(b);
		free(pb);
		return ok;
	}
	char *pat = normalize(in->text, true, df->escape);
	char *str = normalize(printed, false, df->escape);
	if (pat && str) {
		/* keyword case was normalized on both sides already (upper-case) */
		ok = wild_match(pat, str);
	}
	free(pat);
	free(str);
	return ok;
}

const struct lp_dockerfile_instr *lp_dockerfile_match_step(const struct lp_dockerfile *df, const char *name)
{
	if (!df || !name || name[0] != '[')
		return NULL;
	const char *close = strchr(name, ']');
	if (!close)
		return NULL;
	/* bracket tokens */
	char label[256] = "";
	unsigned idx = 0, tot = 0;
	bool have_idx = false;
	{
		const char *p = name + 1;
		while (p < close) {
			while (p < close && *p == ' ')
				p++;
			const char *q = p;
			while (q < close && *q != ' ')
				q++;
			if (q == p)
				break;
			size_t tl = (size_t)(q - p);
			unsigned a = 0, b = 0;
			const char *sl = memchr(p, '/', tl);
			bool numeric = sl && sl > p && sl + 1 < q;
			for (const char *r = p; numeric && r < q; r++)
				if (r != sl && !(*r >= '0' && *r <= '9'))
					numeric = false;
			if (numeric && q == close) {
				for (const char *r = p; r < sl && a < 100000000u; r++)
					a = a * 10 + (unsigned)(*r - '0');
				for (const char *r = sl + 1; r < q && b < 100000000u; r++)
					b = b * 10 + (unsigned)(*r - '0');
				idx = a, tot = b, have_idx = true;
			} else if (!sl && tl < sizeof(label)) {
				memcpy(label, p, tl);
				label[tl] = '\0';
			}
			p = q;
		}
	}
	if (!have_idx)
		return NULL;
	const char *printed = close + 1;
	while (*printed == ' ')
		printed++;
	char kw[16];
	size_t k = 0;
	while (printed[k] && !is_blank(printed[k]) && k < sizeof(kw) - 1) {
		kw[k] = upper(printed[k]);
		k++;
	}
	kw[k] = '\0';
	if (!k)
		return NULL;

	/* candidate stages */
	int only = -1;
	if (label[0]) {
		for (size_t i = 0; i < df->nst; i++)
			if (strcmp(df->st[i].label, label) == 0 || (df->st[i].name[0] && eq_ci(df->st[i].name, label)))
				only = (int)i;
	} else if (df->nst == 1) {
		only = 0;
	}

	const struct lp_dockerfile_instr *best = NULL;
	int best_score = 0;
	for (size_t i = 0; i < df->nin; i++) {
		const struct lp_dockerfile_instr *in = &df->in[i];
		if (in->stage < 0 || (only >= 0 && in->stage != only) || !in->step)
			continue;
		if (strcmp(in->keyword, kw) != 0)
			continue;
		int score = 0;
		if (in->step == idx && df->st[in->stage].steps == tot)
			score += 2;
		if (text_matches(df, in, printed))
			score += 4;
		if (only < 0 && label[0] == '\0' && df->st[in->stage].label[0] == '\0')
			score += 1;
		if (score > best_score) {
			best = in;
			best_score = score;
		}
	}
	return best_score >= 2 ? best : NULL;
}
