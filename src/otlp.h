/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenTelemetry traces of a recording (OTLP, `layerprof export
 * --otlp-endpoint`, `-o x.otlp.json`, `record --otlp-endpoint`).
 *
 *   model --export_otlp.c--> struct lp_otlp_doc --otlp_proto.c--> protobuf bytes
 *                                                \--export_otlp.c--> OTLP/JSON
 *   bytes --otlp_http.c--> POST URL/v1/traces (libcurl: gzip, headers,
 *                          retries with backoff, a timeout)
 *
 * One trace per build: a root span for the build, a child span per step,
 * the step's processes below it (a process under its parent process when
 * that is in the same step and holds it in time, else under the nearest
 * ancestor that does, else the step), findings as span events with their
 * evidence.
 * Times are the kernel's CLOCK_MONOTONIC mapped to wall-clock time with the
 * trace META's start_monotonic_ns / start_realtime_ns pair.
 *
 * Field numbers: opentelemetry-proto's collector/trace/v1/trace_service.proto,
 * trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto
 * (checked one by one; see otlp_proto.c).
 */
#ifndef LAYERPROF_OTLP_H
#define LAYERPROF_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct lp_model;
struct lp_reader;

/* ------------------------------------------------------------- the data */

enum lp_otlp_vtype { LP_OTLP_STR = 0, LP_OTLP_INT, LP_OTLP_BOOL, LP_OTLP_DOUBLE, LP_OTLP_STRS };

struct lp_otlp_attr {
	char *key;
	enum lp_otlp_vtype type;
	char *s;                /* STR */
	int64_t i;              /* INT */
	bool b;                 /* BOOL */
	double d;               /* DOUBLE */
	char **strs;            /* STRS: an ArrayValue of strings */
	size_t nstrs;
};

struct lp_otlp_attrs {
	struct lp_otlp_attr *v;
	size_t n, cap;
};

struct lp_otlp_event {
	uint64_t time_unix_ns;
	char *name;
	struct lp_otlp_attrs attrs;
};

/* Span.SpanKind and Status.StatusCode values (trace.proto). */
enum { LP_OTLP_KIND_INTERNAL = 1 };
enum { LP_OTLP_STATUS_UNSET = 0, LP_OTLP_STATUS_OK = 1, LP_OTLP_STATUS_ERROR = 2 };

struct lp_otlp_span {
	uint8_t trace_id[16];   /* a session's builds are several traces */
	uint8_t span_id[8];
	uint8_t parent_id[8];   /* all zero: the root */
	bool has_parent;
	char *name;
	int kind;
	uint64_t start_unix_ns, end_unix_ns;
	struct lp_otlp_attrs attrs;
	struct lp_otlp_event *events;
	size_t nevents;
	int status_code;
	char *status_message;   /* or NULL */
};

struct lp_otlp_doc {
	uint8_t trace_id[16];           /* the trace being made (spans copy it) */
	struct lp_otlp_attrs resource;
	const char *scope_name, *scope_version;
	struct lp_otlp_span *spans;     /* spans[0] is the build's root span */
	size_t nspans, cap;
};

/* Attribute helpers (the key and strings are copied). */
void lp_otlp_add_str(struct lp_otlp_attrs *a, const char *key, const char *v);
void lp_otlp_add_int(struct lp_otlp_attrs *a, const char *key, int64_t v);
void lp_otlp_add_bool(struct lp_otlp_attrs *a, const char *key, bool v);
void lp_otlp_add_double(struct lp_otlp_attrs *a, const char *key, double v);
void lp_otlp_add_strs(struct lp_otlp_attrs *a, const char *key, const char *const *v, size_t n);
void lp_otlp_attrs_free(struct lp_otlp_attrs *a);
void lp_otlp_doc_free(struct lp_otlp_doc *d);

/* ------------------------------------------------ model -> doc, encodings */

struct lp_otlp_opts {
	const char *endpoint;           /* base URL or NULL; "/v1/traces" is added */
	bool json;                      /* --otlp-format json (else protobuf) */
	bool gzip;                      /* Content-Encoding: gzip (default on) */
	const char *service;            /* service.name (default "layerprof") */
	char **headers;                 /* "Key: value" lines */
	size_t nheaders;
	uint64_t timeout_ms;            /* per attempt (default 10 s) */
	unsigned retries;               /* further attempts after the first (default 3) */
	uint64_t backoff_ms;            /* first wait, doubled each retry (default 500 ms) */
	size_t max_spans;               /* spans per request (default 1000): a big build
					 * goes as several requests, collectors cap body sizes */
};
#define LP_OTLP_DEFAULT_TIMEOUT_MS 10000u
#define LP_OTLP_DEFAULT_RETRIES 3u
#define LP_OTLP_DEFAULT_BACKOFF_MS 500u
#define LP_OTLP_DEFAULT_MAX_SPANS 1000u
void lp_otlp_opts_init(struct lp_otlp_opts *o);
void lp_otlp_opts_free(struct lp_otlp_opts *o);
/* The --otlp-* options export and record share: their getopt codes and
 * struct option entries (put LP_OTLP_LONGOPTS in a longopts table). */
enum {
	LP_OTLP_OPT_ENDPOINT = 0x4f00, LP_OTLP_OPT_FORMAT, LP_OTLP_OPT_HEADER, LP_OTLP_OPT_SERVICE,
	LP_OTLP_OPT_TIMEOUT, LP_OTLP_OPT_RETRIES, LP_OTLP_OPT_COMPRESSION, LP_OTLP_OPT_MAX_SPANS,
	LP_OTLP_OPT_LAST = LP_OTLP_OPT_MAX_SPANS
};
#define LP_OTLP_LONGOPTS \
	{ "otlp-endpoint", required_argument, NULL, LP_OTLP_OPT_ENDPOINT }, \
	{ "otlp-format", required_argument, NULL, LP_OTLP_OPT_FORMAT }, \
	{ "otlp-header", required_argument, NULL, LP_OTLP_OPT_HEADER }, \
	{ "otlp-service", required_argument, NULL, LP_OTLP_OPT_SERVICE }, \
	{ "otlp-timeout", required_argument, NULL, LP_OTLP_OPT_TIMEOUT }, \
	{ "otlp-retries", required_argument, NULL, LP_OTLP_OPT_RETRIES }, \
	{ "otlp-compression", required_argument, NULL, LP_OTLP_OPT_COMPRESSION }, \
	{ "otlp-max-spans", required_argument, NULL, LP_OTLP_OPT_MAX_SPANS }
static inline bool lp_otlp_is_opt(int c)
{
	return c >= LP_OTLP_OPT_ENDPOINT && c <= LP_OTLP_OPT_LAST;
}
/* Take one of them (code c, its value). 0, or -1 with one error line
 * (prefixed with cmd) for a bad value. */
int lp_otlp_opt(struct lp_otlp_opts *o, const char *cmd, int c, const char *val);
/* The --help lines of those options. */
extern const char lp_otlp_help[];

/* The trace of a loaded model. meta_json: the trace's META (lp_reader_meta),
 * trace_name: the file as given (an attribute), service: service.name,
 * build: its index in a session (session.h; a trace id of its own), -1 for
 * a recording of one build. */
void lp_otlp_from_model(const struct lp_model *m, const char *meta_json, const char *trace_name,
			const char *service, int build, struct lp_otlp_doc *d);
/* The traces of the recording at path, open in r: one per build of a
 * session (lp_session_load: each build's own model), else the one of m
 * (loaded from r when NULL). 0, or -1 + err. *ntraces (may be NULL) gets
 * the number of traces. */
int lp_otlp_from_reader(const struct lp_model *m, struct lp_reader *r, const char *path,
			const char *service, struct lp_otlp_doc *d, size_t *ntraces, char *err, size_t errlen);
/* ExportTraceServiceRequest, protobuf (otlp_proto.c) and OTLP/JSON (export_otlp.c). */
void lp_otlp_encode_proto(const struct lp_otlp_doc *d, struct lp_buf *out);
void lp_otlp_encode_json(const struct lp_otlp_doc *d, struct lp_buf *out);

/* ------------------------------------------------------------------ transport */

/*
 * POST body (protobuf, or JSON when o->json) to o->endpoint + "/v1/traces",
 * gzip'ed when o->gzip, with o->headers; retried with backoff on connection
 * failures, timeouts and HTTP 429/502/503/504. 0 when the collector took
 * it (2xx), else -1 with one line in err (what the collector said, or why
 * it could not be reached, and after how many attempts).
 * https needs libcurl's TLS (libcurl4 is built with it).
 */
int lp_otlp_post(const struct lp_otlp_opts *o, const void *body, size_t len, char *err, size_t errlen);
/* Whether lp_otlp_post() can run here: libcurl (opened on first use, not
 * linked) is there. 0, or -1 with what to install in err: asked before a
 * build is recorded or a trace read, not after. */
int lp_otlp_http_ready(char *err, size_t errlen);

/* Make the traces of a recording (lp_otlp_from_reader), encode them as o
 * asks and POST them, in requests of at most o->max_spans spans. *spans,
 * *traces, *bytes (may be NULL): spans and traces sent, body bytes before gzip. */
int lp_otlp_send(const struct lp_model *m, struct lp_reader *r, const char *trace_name,
		 const struct lp_otlp_opts *o, size_t *spans, size_t *traces, size_t *bytes, char *err,
		 size_t errlen);
/* Open the trace at path and lp_otlp_send it (record's --otlp-endpoint).
 * 0 or -1 + err; *spans, *traces get what was sent. */
int lp_otlp_ship_file(const char *path, const struct lp_otlp_opts *o, size_t *spans, size_t *traces,
		      char *err, size_t errlen);

#endif /* LAYERPROF_OTLP_H */
