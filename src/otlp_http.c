/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OTLP/HTTP transport: one POST of an encoded ExportTraceServiceRequest to
 * URL/v1/traces with libcurl (http and https), as the OTLP specification
 * asks: Content-Type application/x-protobuf (or application/json),
 * optionally Content-Encoding gzip, the user's headers; retried with
 * exponential backoff on what the specification calls retryable (no
 * connection, a timeout, HTTP 429, 502, 503, 504; Retry-After honoured up
 * to 30 s), never on other statuses (the collector refused the data: the
 * same request would be refused again). A 2xx with partial_success that
 * rejected spans is a warning (the rest was taken).
 *
 * libcurl is opened here, on the first POST (dlopen), not linked: its ~30
 * libraries (TLS, Kerberos, LDAP, ...) cost every layerprof command ~6 ms
 * of dynamic loading at start (bench section 7: `record -- true`), and only
 * --otlp-endpoint needs them. Without libcurl.so.4 that option fails with
 * a clear error; everything else runs.
 */
#include "otlp.h"

#include <curl/curl.h>
#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "pb.h"
#include "varint.h"
#include "version.h"

/* body as one gzip member into out; -1 on a zlib failure. */
static int gzip_body(const void *body, size_t len, struct lp_buf *out)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	size_t cap = deflateBound(&z, (uLong)len) + 32;
	lp_buf_reserve(out, cap);
	z.next_in = (Bytef *)(len ? body : "");
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->data + out->len;
	z.avail_out = (uInt)cap;
	int zr = deflate(&z, Z_FINISH);
	if (zr != Z_STREAM_END) {
		deflateEnd(&z);
		return -1;
	}
	out->len += cap - z.avail_out;
	deflateEnd(&z);
	return 0;
}

struct resp {
	struct lp_buf body;
	long retry_after_s;     /* -1 none */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t k = size * n;
	if (r->body.len < 4096)
		lp_buf_append(&r->body, p, k < 4096 - r->body.len ? k : 4096 - r->body.len);
	return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t k = size * n;
	if (k > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		char tmp[32];
		size_t m = k - 12 < sizeof(tmp) - 1 ? k - 12 : sizeof(tmp) - 1;
		memcpy(tmp, p + 12, m);
		tmp[m] = 0;
		char *end;
		long v = strtol(tmp, &end, 10);
		if (end != tmp && v >= 0)
			r->retry_after_s = v;
	}
	return k;
}

/* What the collector said, printable and short: a JSON body as it is; a
 * protobuf google.rpc.Status's message (field 2) is text among bytes. */
static void body_text(const struct lp_buf *b, char *out, size_t len)
{
	size_t k = 0;
	bool space = false;
	for (size_t i = 0; i < b->len && k + 2 < len && k < 200; i++) {
		unsigned char c = (unsigned char)b->data[i];
		if (isprint(c) && c != ' ') {
			if (space && k)
				out[k++] = ' ';
			space = false;
			out[k++] = (char)c;
		} else {
			space = true;
		}
	}
	out[k] = 0;
}

/* A 2xx answer may still reject some spans (ExportTraceServiceResponse
 * .partial_success(1) {rejected_spans(1) int64, error_message(2) string};
 * OTLP/JSON: "partialSuccess":{"rejectedSpans":"N","errorMessage":"..."}).
 * The number rejected, 0 when none; msg gets the collector's message. */
static int64_t partial_rejects(const struct lp_buf *b, bool json, char *msg, size_t len)
{
	msg[0] = 0;
	if (!b->len)
		return 0;
	if (json) {
		const char *p = strstr(b->data, "\"rejectedSpans\"");
		if (!p)
			return 0;
		p = strchr(p, ':');
		while (p && (*p == ':' || *p == ' ' || *p == '"'))
			p++;
		int64_t n = p ? strtoll(p, NULL, 10) : 0;
		const char *m = strstr(b->data, "\"errorMessage\"");
		if (m && (m = strchr(m + 14, '"'))) {
			size_t k = 0;
			for (m++; *m && *m != '"' && k + 1 < len; m++)
				msg[k++] = isprint((unsigned char)*m) ? *m : '?';
			msg[k] = 0;
		}
		return n;
	}
	const uint8_t *in = (const uint8_t *)b->data;
	size_t pos = 0, n = b->len;
	uint64_t tag, v;
	while (pos < n && lp_varint_decode(in, n, &pos, &tag) == 0) {
		if ((tag & 7) != LP_PB_LEN || lp_varint_decode(in, n, &pos, &v) < 0 || v > n - pos)
			return 0;
		if (tag >> 3 != 1) {
			pos += v;
			continue;
		}
		size_t end = pos + v;
		int64_t rejected = 0;
		while (pos < end && lp_varint_decode(in, end, &pos, &tag) == 0) {
			if ((tag >> 3) == 1 && (tag & 7) == LP_PB_VARINT) {
				if (lp_varint_decode(in, end, &pos, &v) < 0)
					return 0;
				rejected = (int64_t)v;
			} else if ((tag & 7) == LP_PB_LEN) {
				if (lp_varint_decode(in, end, &pos, &v) < 0 || v > end - pos)
					return 0;
				if ((tag >> 3) == 2) {
					size_t k = 0;
					for (size_t i = 0; i < v && k + 1 < len; i++)
						msg[k++] = isprint(in[pos + i]) ? (char)in[pos + i] : '?';
					msg[k] = 0;
				}
				pos += v;
			} else {
				return rejected;
			}
		}
		return rejected;
	}
	return 0;
}

static bool retryable_status(long code)
{
	return code == 429 || code == 502 || code == 503 || code == 504;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The libcurl functions used here, from libcurl.so.4 (ABI 4 since 2006). */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	void (*easy_cleanup)(CURL *c);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} cu;

/* Open libcurl and initialise it once; -1 with err set when it cannot be. */
static int curl_open(char *err, size_t errlen)
{
	static int state; /* 0 not tried, 1 ready, -1 failed */
	static char why[200];
	if (state == 0) {
		void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
		const char *missing = NULL;
		if (h) {
#define CU_SYM(field, name) \
	if (!missing && !(*(void **)&cu.field = dlsym(h, name))) \
		missing = name
			CU_SYM(global_init, "curl_global_init");
			CU_SYM(easy_init, "curl_easy_init");
			CU_SYM(easy_setopt, "curl_easy_setopt");
			CU_SYM(easy_perform, "curl_easy_perform");
			CU_SYM(easy_getinfo, "curl_easy_getinfo");
			CU_SYM(easy_strerror, "curl_easy_strerror");
			CU_SYM(easy_cleanup, "curl_easy_cleanup");
			CU_SYM(slist_append, "curl_slist_append");
			CU_SYM(slist_free_all, "curl_slist_free_all");
#undef CU_SYM
		}
		if (!h) {
			snprintf(why, sizeof(why), "sending over HTTP needs libcurl: %s (install libcurl4)",
				 dlerror());
			state = -1;
		} else if (missing) {
			snprintf(why, sizeof(why), "sending over HTTP needs libcurl: libcurl.so.4 has no %s "
				 "(install libcurl4)", missing);
			dlclose(h);
			state = -1;
		} else {
			state = cu.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : -1;
			if (state < 0)
				snprintf(why, sizeof(why), "cannot start libcurl (curl_global_init failed)");
		}
	}
	if (state < 0)
		snprintf(err, errlen, "%s", why);
	return state > 0 ? 0 : -1;
}

int lp_otlp_http_ready(char *err, size_t errlen)
{
	return curl_open(err, errlen);
}

int lp_otlp_post(const struct lp_otlp_opts *o, const void *body, size_t len, char *err, size_t errlen)
{
	if (!o->endpoint) {
		snprintf(err, errlen, "no OTLP endpoint");
		return -1;
	}
	/* URL/v1/traces, unless it is already there */
	size_t el = strlen(o->endpoint);
	while (el && o->endpoint[el - 1] == '/')
		el--;
	char *url = el >= 10 && !strncmp(o->endpoint + el - 10, "/v1/traces", 10)
			    ? lp_xasprintf("%.*s", (int)el, o->endpoint)
			    : lp_xasprintf("%.*s/v1/traces", (int)el, o->endpoint);

	if (curl_open(err, errlen) < 0) {
		free(url);
		return -1;
	}
	struct lp_buf gz = { 0 };
	if (o->gzip && gzip_body(body, len, &gz) < 0) {
		snprintf(err, errlen, "cannot gzip the request");
		free(url);
		return -1;
	}
	CURL *c = cu.easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot start an HTTP client (libcurl)");
		lp_buf_free(&gz);
		free(url);
		return -1;
	}
	struct curl_slist *hs = NULL;
	hs = cu.slist_append(hs, o->json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf");
	if (o->gzip)
		hs = cu.slist_append(hs, "Content-Encoding: gzip");
	hs = cu.slist_append(hs, "Expect:");
	for (size_t i = 0; i < o->nheaders; i++)
		hs = cu.slist_append(hs, o->headers[i]);
	char ua[64];
	snprintf(ua, sizeof(ua), "layerprof/%s", LAYERPROF_VERSION);
	char cerr[CURL_ERROR_SIZE];
	struct resp rs = { .retry_after_s = -1 };
	cu.easy_setopt(c, CURLOPT_URL, url);
	cu.easy_setopt(c, CURLOPT_POST, 1L);
	cu.easy_setopt(c, CURLOPT_POSTFIELDS, o->gzip ? gz.data : (const char *)body);
	cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(o->gzip ? gz.len : len));
	cu.easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	cu.easy_setopt(c, CURLOPT_USERAGENT, ua);
	cu.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)o->timeout_ms);
	cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(c, CURLOPT_WRITEDATA, &rs);
	cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	cu.easy_setopt(c, CURLOPT_HEADERDATA, &rs);
	cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");

	int rc = -1;
	unsigned attempts = 0;
	uint64_t wait = o->backoff_ms ? o->backoff_ms : LP_OTLP_DEFAULT_BACKOFF_MS;
	char last[400] = "";
	for (;;) {
		attempts++;
		rs.body.len = 0;
		rs.retry_after_s = -1;
		cerr[0] = 0;
		CURLcode cr = cu.easy_perform(c);
		long code = 0;
		bool retry;
		if (cr == CURLE_OK) {
			cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			if (code >= 200 && code < 300) {
				char pmsg[200];
				int64_t rej = partial_rejects(&rs.body, o->json, pmsg, sizeof(pmsg));
				if (rej > 0)
					lp_warn("OTLP: %s took the trace but rejected %lld span%s%s%s", url, (long long)rej,
						rej == 1 ? "" : "s", pmsg[0] ? ": " : "", pmsg);
				rc = 0;
				break;
			}
			char said[220];
			body_text(&rs.body, said, sizeof(said));
			snprintf(last, sizeof(last), "the collector refused the trace: HTTP %ld%s%s", code,
				 said[0] ? ": " : "", said);
			retry = retryable_status(code);
		} else {
			snprintf(last, sizeof(last), "cannot reach the collector: %s",
				 cerr[0] ? cerr : cu.easy_strerror(cr));
			retry = cr != CURLE_UNSUPPORTED_PROTOCOL && cr != CURLE_URL_MALFORMAT &&
				cr != CURLE_SSL_CACERT_BADFILE && cr != CURLE_PEER_FAILED_VERIFICATION;
		}
		if (!retry || attempts > o->retries)
			break;
		uint64_t w = wait;
		if (rs.retry_after_s >= 0)
			w = (uint64_t)(rs.retry_after_s > 30 ? 30 : rs.retry_after_s) * 1000u;
		sleep_ms(w);
		wait *= 2;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s: %s (%u attempt%s)", url, last, attempts, attempts == 1 ? "" : "s");
	cu.slist_free_all(hs);
	cu.easy_cleanup(c);
	lp_buf_free(&rs.body);
	lp_buf_free(&gz);
	free(url);
	return rc;
}
