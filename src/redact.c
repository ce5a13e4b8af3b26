/* SPDX-License-Identifier: BSD-2-Clause */
/* Secrets out of recorded command lines; the rules are in redact.h. */
#include "redact.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* Case-insensitive "does s[0..len) contain needle". */
static bool contains_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return true;
	return false;
}

bool lp_redact_name_is_secret(const char *name, size_t len)
{
	static const char *const words[] = {
		"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "KEY",
		"CREDENTIAL", "AUTH", "COOKIE", "PRIVATE", "SESSION",
	};
	for (size_t i = 0; i < LP_ARRAY_SIZE(words); i++)
		if (contains_ci(name, len, words[i]))
			return true;
	return false;
}

/* Length of a leading NAME in "NAME=VALUE" (identifier-like), 0 if none. */
static size_t name_eq_len(const char *s)
{
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	size_t i = 1;
	while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-')
		i++;
	return s[i] == '=' ? i : 0;
}

static bool has_suffix(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);
	return len >= n && strncasecmp(s + len - n, suf, n) == 0;
}

/* A long option (name without the dashes, len bytes) whose value is a secret. */
static bool long_opt_is_secret(const char *name, size_t len)
{
	static const char *const words[] = {
		"password", "passwd", "token", "secret", "apikey", "api-key", "api_key",
		"credential",
	};
	static const char *const harmless[] = { "-stdin", "-file", "-env", "-path", "-dir", "-id" };
	bool secret = false;
	for (size_t i = 0; i < LP_ARRAY_SIZE(words) && !secret; i++)
		secret = contains_ci(name, len, words[i]);
	if (!secret)
		return false;
	for (size_t i = 0; i < LP_ARRAY_SIZE(harmless); i++)
		if (has_suffix(name, len, harmless[i]))
			return false;
	return true;
}

/* "id=npm,src=/root/.npmrc" -> "id=npm,***"; no id -> "***". */
static void redact_secret_spec(struct lp_buf *b, const char *spec)
{
	const char *p = spec;
	bool kept = false;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > 3 && strncasecmp(p, "id=", 3) == 0) {
			lp_buf_append(b, p, n);
			kept = true;
			break;
		}
		p = end ? end + 1 : p + n;
	}
	lp_buf_puts(b, kept ? "," LP_REDACTED : LP_REDACTED);
}

/* Hide passwords in URLs: scheme://user:PASS@host. Returns true if changed. */
static bool redact_urls(struct lp_buf *out, const char *s)
{
	bool changed = false;
	const char *p = s;
	for (;;) {
		const char *sep = strstr(p, "://");
		if (!sep)
			break;
		const char *auth = sep + 3;
		size_t alen = strcspn(auth, "/?# \t\n\"'");
		const char *at = memrchr(auth, '@', alen);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon && at > colon + 1) {
			lp_buf_append(out, p, (size_t)(colon + 1 - p));
			lp_buf_puts(out, LP_REDACTED);
			p = at;
			changed = true;
		} else {
			lp_buf_append(out, p, (size_t)(auth - p));
			p = auth;
		}
	}
	lp_buf_puts(out, p);
	return changed;
}

/* Known token shapes, wherever they appear in an argument (a header value,
 * a URL query, an npmrc line...): the prefix is kept so the reader knows
 * what kind of credential was there. `min` is the least number of token
 * characters after the prefix for it to count (short words are not
 * tokens). */
static const struct token_shape {
	const char *prefix;
	size_t min;
	bool upper_alnum; /* AWS key ids: [0-9A-Z] only */
} token_shapes[] = {
	{ "ghp_", 20, false },	      /* GitHub personal access token */
	{ "gho_", 20, false },	      /* GitHub OAuth */
	{ "ghu_", 20, false },	      /* GitHub user-to-server */
	{ "ghs_", 20, false },	      /* GitHub server-to-server */
	{ "ghr_", 20, false },	      /* GitHub refresh */
	{ "github_pat_", 20, false }, /* GitHub fine-grained PAT */
	{ "glpat-", 16, false },      /* GitLab personal access token */
	{ "xoxb-", 10, false },	      /* Slack bot */
	{ "xoxp-", 10, false },	      /* Slack user */
	{ "xoxa-", 10, false },	      /* Slack app */
	{ "xoxs-", 10, false },	      /* Slack session */
	{ "npm_", 30, false },	      /* npm automation/publish token */
	{ "AKIA", 16, true },	      /* AWS access key id */
	{ "ASIA", 16, true },	      /* AWS temporary key id */
	{ "eyJ", 16, false },	      /* a JWT: base64url of '{"' */
	{ "Bearer ", 8, false },      /* Authorization: Bearer ... */
	{ "Basic ", 8, false },	      /* Authorization: Basic ... */
};

/* Whether c can start one of token_shapes' prefixes: most characters of an
 * argument cannot, and then no prefix is compared (redaction runs on the
 * recorder's consuming thread, for every exec: comparing all the prefixes
 * at every character was most of its time). */
static bool shape_first[256];
static size_t shape_len[LP_ARRAY_SIZE(token_shapes)];
static pthread_once_t shapes_once = PTHREAD_ONCE_INIT;

static void shapes_init(void)
{
	for (size_t i = 0; i < LP_ARRAY_SIZE(token_shapes); i++) {
		shape_first[(unsigned char)token_shapes[i].prefix[0]] = true;
		shape_len[i] = strlen(token_shapes[i].prefix);
	}
}

static bool token_char(unsigned char c, bool upper_alnum)
{
	if (upper_alnum)
		return isdigit(c) || isupper(c);
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '=' || c == '+' ||
	       c == '/' || c == '~';
}

/* Where a shell word ends: the value of NAME=VALUE inside `sh -c "..."`. */
static size_t shell_word_len(const char *p)
{
	return strcspn(p, " \t\n\"'`;&|()<>");
}

/* What ends a shell word before a NAME=VALUE: " \t\n\"'`;&|(" (a table: it
 * is asked at every character). */
static const bool word_sep[256] = {
	[' '] = true, ['\t'] = true, ['\n'] = true, ['"'] = true, ['\''] = true,
	['`'] = true, [';'] = true, ['&'] = true, ['|'] = true, ['('] = true,
};

/* Replace every known-shape token in s by its prefix and "***", and the
 * VALUE of every secret-looking NAME=VALUE that starts a shell word inside
 * the argument (sh -c "TOKEN=x npm ci", echo "PASSWORD=y" > .env). */
static bool redact_tokens(struct lp_buf *out, const char *s)
{
	bool changed = false;
	const char *p = s, *copied = s;
	pthread_once(&shapes_once, shapes_init);
	while (*p) {
		/* a token starts a word: not in the middle of one */
		bool boundary = p == s || !isalnum((unsigned char)p[-1]);
		bool word_start = p == s || word_sep[(unsigned char)p[-1]];
		size_t nl = word_start ? name_eq_len(p) : 0;
		if (nl && lp_redact_name_is_secret(p, nl)) {
			const char *v = p + nl + 1;
			size_t vl;
			if (*v == '\'' || *v == '"') { /* NAME='VALUE': what is inside the quotes */
				const char *q = strchr(v + 1, *v);
				v++;
				vl = q ? (size_t)(q - v) : strlen(v);
			} else {
				vl = shell_word_len(v);
			}
			bool done_already = vl == strlen(LP_REDACTED) && !strncmp(v, LP_REDACTED, vl);
			if (vl && !done_already) {
				lp_buf_append(out, copied, (size_t)(v - copied));
				lp_buf_puts(out, LP_REDACTED);
				p = copied = v + vl;
				changed = true;
				continue;
			}
		}
		const struct token_shape *hit = NULL;
		size_t tlen = 0;
		bool can = boundary && shape_first[(unsigned char)*p];
		for (size_t i = 0; can && i < LP_ARRAY_SIZE(token_shapes) && !hit; i++) {
			const struct token_shape *t = &token_shapes[i];
			size_t pl = shape_len[i];
			if (strncmp(p, t->prefix, pl) != 0)
				continue;
			size_t n = 0;
			while (token_char((unsigned char)p[pl + n], t->upper_alnum))
				n++;
			if (n >= t->min) {
				hit = t;
				tlen = pl + n;
			}
		}
		if (!hit) {
			p++;
			continue;
		}
		lp_buf_append(out, copied, (size_t)(p - copied));
		lp_buf_puts(out, hit->prefix);
		lp_buf_puts(out, LP_REDACTED);
		p += tlen;
		copied = p;
		changed = true;
	}
	if (changed)
		lp_buf_puts(out, copied);
	return changed;
}

/* curl -u USER:PASSWORD / --user USER:PASSWORD: "USER:***". */
static bool redact_user_password(struct lp_buf *out, const char *s)
{
	const char *colon = strchr(s, ':');
	if (!colon || !colon[1])
		return false;
	lp_buf_append(out, s, (size_t)(colon + 1 - s));
	lp_buf_puts(out, LP_REDACTED);
	return true;
}

/* NAME=VALUE with a secret-looking NAME: "NAME=***". */
static bool redact_name_value(struct lp_buf *out, const char *s)
{
	size_t n = name_eq_len(s);
	if (!n || !lp_redact_name_is_secret(s, n))
		return false;
	lp_buf_append(out, s, n + 1);
	lp_buf_puts(out, LP_REDACTED);
	return true;
}

enum next_kind { NEXT_PLAIN, NEXT_SECRET, NEXT_SECRET_SPEC, NEXT_USER_PASSWORD };

char **lp_redact_argv(int argc, const char *const *argv, int *changed)
{
	char **out = lp_xcalloc(argc > 0 ? (size_t)argc : 1, sizeof(char *));
	int nchanged = 0;
	enum next_kind next = NEXT_PLAIN;
	bool login = false, mysql_like = false, sshpass = false, curl_like = false, shell = false;
	if (argc > 0 && argv[0]) {
		const char *b = lp_base_name(argv[0]);
		shell = !strcmp(b, "sh") || !strcmp(b, "bash") || !strcmp(b, "dash") ||
			!strcmp(b, "ash") || !strcmp(b, "zsh");
		curl_like = !strcmp(b, "curl") || !strcmp(b, "wget");
		mysql_like = !strcmp(b, "mysql") || !strcmp(b, "mysqladmin") ||
			     !strcmp(b, "mysqldump") || !strcmp(b, "mariadb");
		sshpass = !strcmp(b, "sshpass");
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i] ? argv[i] : "";
		struct lp_buf b = { 0 };
		bool did = false;
		enum next_kind kind = next;
		next = NEXT_PLAIN;

		if (kind == NEXT_SECRET && a[0] != '-') {
			lp_buf_puts(&b, LP_REDACTED);
			did = true;
		} else if (kind == NEXT_SECRET_SPEC) {
			redact_secret_spec(&b, a);
			did = true;
		} else if (kind == NEXT_USER_PASSWORD && a[0] != '-') {
			did = redact_user_password(&b, a);
		} else if (curl_like && (!strcmp(a, "-u") || !strcmp(a, "--user"))) {
			next = NEXT_USER_PASSWORD;
		} else if (curl_like && (!strncmp(a, "--user=", 7) || (!strncmp(a, "-u", 2) && a[2]))) {
			size_t pl = a[1] == '-' ? 7 : 2;
			lp_buf_append(&b, a, pl);
			did = redact_user_password(&b, a + pl);
			if (!did)
				lp_buf_free(&b);
		} else if (a[0] == '-' && a[1] == '-' && a[2]) {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
			if (nlen == 6 && !strncmp(name, "secret", 6)) {
				if (eq) {
					lp_buf_append(&b, a, (size_t)(eq + 1 - a));
					redact_secret_spec(&b, eq + 1);
					did = true;
				} else {
					next = NEXT_SECRET_SPEC;
				}
			} else if (long_opt_is_secret(name, nlen)) {
				if (eq) {
					lp_buf_append(&b, a, (size_t)(eq + 1 - a));
					lp_buf_puts(&b, LP_REDACTED);
					did = true;
				} else {
					next = NEXT_SECRET;
				}
			} else if (eq) {
				/* --build-arg=TOKEN=x, --env=TOKEN=x */
				struct lp_buf v = { 0 };
				if (redact_name_value(&v, eq + 1)) {
					lp_buf_append(&b, a, (size_t)(eq + 1 - a));
					lp_buf_puts(&b, v.data);
					did = true;
				}
				lp_buf_free(&v);
			}
		} else if (a[0] == '-' && a[1] == 'p' && (login || mysql_like || sshpass)) {
			if (a[2]) {
				lp_buf_puts(&b, "-p" LP_REDACTED);
				did = true;
			} else if (!mysql_like) {
				next = NEXT_SECRET; /* mysql -p alone prompts */
			}
		} else if (shell && i > 0 && argv[i - 1] && argv[i - 1][0] == '-' &&
			   strchr(argv[i - 1], 'c') && argv[i - 1][1] != '-') {
			/* sh -c SCRIPT: a script, not one NAME=VALUE; its
			 * assignments are found word by word below */
		} else if (a[0] != '-') {
			did = redact_name_value(&b, a);
			if (!strcmp(a, "login"))
				login = true;
		}
		if (!did) {
			lp_buf_free(&b);
			did = redact_urls(&b, a);
		} else {
			struct lp_buf u = { 0 };
			if (redact_urls(&u, b.data)) {
				lp_buf_free(&b);
				b = u;
			} else {
				lp_buf_free(&u);
			}
		}
		/* last, token shapes anywhere in what is left */
		struct lp_buf t = { 0 };
		if (redact_tokens(&t, did ? (b.data ? b.data : "") : a)) {
			lp_buf_free(&b);
			b = t;
			did = true;
		} else {
			lp_buf_free(&t);
		}
		if (did) {
			out[i] = b.data ? b.data : lp_xstrdup("");
			nchanged++;
		} else {
			lp_buf_free(&b);
			out[i] = lp_xstrdup(a);
		}
	}
	if (changed)
		*changed = nchanged;
	return out;
}

void lp_redact_free(char **v, int argc)
{
	if (!v)
		return;
	for (int i = 0; i < argc; i++)
		free(v[i]);
	free(v);
}

size_t lp_redact_exec_argv(const struct lp_ev_exec_argv *ev, size_t len, void *out,
			   size_t outlen)
{
	if (len < sizeof(*ev) || ev->h.size > len || ev->h.size < sizeof(*ev))
		return 0;
	size_t dlen = ev->data_len;
	if (dlen > ev->h.size - sizeof(*ev))
		dlen = ev->h.size - sizeof(*ev);
	const char *data = (const char *)(ev + 1);

	/* Split into filename + up to argc arguments. */
	const char *strs[LP_ARGV_MAX_ARGS + 2];
	size_t lens[LP_ARGV_MAX_ARGS + 2];
	int n = 0;
	size_t off = 0;
	while (off < dlen && n < (int)LP_ARRAY_SIZE(strs) && n <= ev->argc) {
		const char *s = data + off;
		const char *nul = memchr(s, '\0', dlen - off);
		size_t l = nul ? (size_t)(nul - s) : dlen - off;
		strs[n] = s;
		lens[n] = l;
		n++;
		off += l + 1;
	}
	if (n < 2)
		return 0; /* no argument to look at */

	/* NUL-terminated copies of the arguments (the last may lack its NUL). */
	int argc = n - 1;
	char **args = lp_xcalloc((size_t)argc, sizeof(char *));
	for (int i = 0; i < argc; i++) {
		args[i] = lp_xmalloc(lens[i + 1] + 1);
		memcpy(args[i], strs[i + 1], lens[i + 1]);
		args[i][lens[i + 1]] = '\0';
	}
	int changed = 0;
	char **red = lp_redact_argv(argc, (const char *const *)args, &changed);
	size_t result = 0;
	if (changed) {
		size_t need = sizeof(*ev) + lens[0] + 1;
		for (int i = 0; i < argc; i++)
			need += strlen(red[i]) + 1;
		size_t padded = (need + 7) & ~(size_t)7;
		result = SIZE_MAX; /* must change it but cannot: drop it */
		if (padded <= outlen && padded <= UINT16_MAX) {
			struct lp_ev_exec_argv *o = out;
			memset(out, 0, padded);
			memcpy(o, ev, sizeof(*ev));
			char *p = (char *)(o + 1);
			memcpy(p, strs[0], lens[0]);
			p += lens[0] + 1;
			for (int i = 0; i < argc; i++) {
				size_t l = strlen(red[i]);
				memcpy(p, red[i], l);
				p += l + 1;
			}
			o->data_len = (__u16)(need - sizeof(*ev));
			o->argc = (__u16)argc;
			o->h.size = (__u16)padded;
			result = padded;
		}
	}
	lp_redact_free(red, argc);
	lp_redact_free(args, argc);
	return result;
}
