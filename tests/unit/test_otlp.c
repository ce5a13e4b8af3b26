/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The OTLP encoder (otlp_proto.c) and the OpenTelemetry export (the
 * protobuf writer itself: test_pb.c):
 *  - the whole ExportTraceServiceRequest decoded by an independent decoder,
 *    `protoc --decode_raw` (skipped with the reason when protoc is absent:
 *    apt-get install protobuf-compiler), field numbers checked against
 *    opentelemetry-proto's;
 *  - the model of a real recording as a trace: root, steps, processes under
 *    their steps, findings as events, wall-clock times; the JSON parses.
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model.h"
#include "otlp.h"
#include "trace.h"

/* A small trace by hand: every kind of field the encoder writes. */
static void small_doc(struct lp_otlp_doc *d)
{
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < 16; i++)
		d->trace_id[i] = (uint8_t)(0xa0 + i);
	d->scope_name = "layerprof";
	d->scope_version = "9.9";
	lp_otlp_add_str(&d->resource, "service.name", "layerprof");
	d->spans = calloc(2, sizeof(*d->spans));
	d->nspans = d->cap = 2;
	struct lp_otlp_span *root = &d->spans[0], *c = &d->spans[1];
	memcpy(root->trace_id, d->trace_id, 16);
	memcpy(c->trace_id, d->trace_id, 16);
	memset(root->span_id, 0x11, 8);
	root->name = strdup("build app");
	root->kind = LP_OTLP_KIND_INTERNAL;
	root->start_unix_ns = 1000;
	root->end_unix_ns = 2000;
	lp_otlp_add_bool(&root->attrs, "layerprof.step.cached", false);
	lp_otlp_add_int(&root->attrs, "n", 42);
	lp_otlp_add_double(&root->attrs, "r", 0.25);
	root->status_code = LP_OTLP_STATUS_ERROR;
	root->status_message = strdup("failed");
	memset(c->span_id, 0x22, 8);
	memset(c->parent_id, 0x11, 8);
	c->has_parent = true;
	c->name = strdup("[1/2] RUN x");
	c->kind = LP_OTLP_KIND_INTERNAL;
	c->start_unix_ns = 1100;
	c->end_unix_ns = 1900;
	const char *argv[] = { "sh", "-c" };
	lp_otlp_add_strs(&c->attrs, "process.command_args", argv, 2);
	c->events = calloc(1, sizeof(*c->events));
	c->nevents = 1;
	c->events[0].name = strdup("layer-order");
	c->events[0].time_unix_ns = 1900;
	lp_otlp_add_str(&c->events[0].attrs, "layerprof.finding.kind", "layer-order");
}

/* protoc --decode_raw of bytes, into a malloc'ed string; NULL when protoc
 * cannot run. */
static char *decode_raw(const struct lp_buf *b)
{
	char in[] = "/tmp/lp-test-otlp.XXXXXX";
	int fd = mkstemp(in);
	if (fd < 0)
		return NULL;
	if (write(fd, b->data, b->len) != (ssize_t)b->len) {
		close(fd);
		unlink(in);
		return NULL;
	}
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "protoc --decode_raw < %s 2>&1", in);
	FILE *p = popen(cmd, "r");
	struct lp_buf out = { 0 };
	char chunk[4096];
	size_t n;
	while (p && (n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		lp_buf_append(&out, chunk, n);
	int st = p ? pclose(p) : -1;
	unlink(in);
	if (st != 0) {
		lp_buf_free(&out);
		return NULL;
	}
	return out.data ? out.data : strdup("");
}

/* s with whitespace squeezed to single spaces: protoc's indentation aside. */
static char *squeeze(const char *s)
{
	char *o = malloc(strlen(s) + 1);
	size_t k = 0;
	bool sp = false;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\t') {
			sp = k > 0;
			continue;
		}
		if (sp)
			o[k++] = ' ';
		sp = false;
		o[k++] = *s;
	}
	o[k] = 0;
	return o;
}

Test(otlp, request_decodes_with_protoc)
{
	if (system("command -v protoc >/dev/null 2>&1") != 0)
		cr_skip_test("protoc not installed (apt-get install protobuf-compiler): no independent decoder");
	struct lp_otlp_doc d;
	small_doc(&d);
	struct lp_buf b = { 0 };
	lp_otlp_encode_proto(&d, &b);
	char *raw = decode_raw(&b);
	cr_assert_not_null(raw, "protoc --decode_raw rejected the encoding");
	char *sq = squeeze(raw);
	/* ExportTraceServiceRequest.resource_spans(1) > ResourceSpans.resource(1) >
	 * Resource.attributes(1) > KeyValue{key(1), value(2) > AnyValue.string_value(1)} */
	cr_assert(strstr(sq, "1 { 1 { 1 { 1: \"service.name\" 2 { 1: \"layerprof\" } } }"), "%s", sq);
	/* ResourceSpans.scope_spans(2) > ScopeSpans.scope(1) > name(1), version(2) */
	cr_assert(strstr(sq, "2 { 1 { 1: \"layerprof\" 2: \"9.9\" }"), "%s", sq);
	/* Span: trace_id(1) bytes, span_id(2), name(5), kind(6), start(7)/end(8) fixed64 */
	cr_assert(strstr(sq, "1: \"\\240\\241\\242\\243"), "%s", sq);
	cr_assert(strstr(sq, "5: \"build app\" 6: 1 7: 0x00000000000003e8 8: 0x00000000000007d0"), "%s", sq);
	/* attributes(9): bool_value(2) 0, int_value(3) 42, double_value(4) 0.25 */
	cr_assert(strstr(sq, "9 { 1: \"layerprof.step.cached\" 2 { 2: 0 } }"), "%s", sq);
	cr_assert(strstr(sq, "9 { 1: \"n\" 2 { 3: 42 } }"), "%s", sq);
	cr_assert(strstr(sq, "9 { 1: \"r\" 2 { 4: 0x3fd0000000000000 } }"), "%s", sq);
	/* status(15): message(2), code(3) = ERROR(2); flags(16) fixed32 */
	cr_assert(strstr(sq, "15 { 2: \"failed\" 3: 2 } 16: 0x00000001"), "%s", sq);
	/* the child: parent_span_id(4); array_value(5) > values(1) > string_value(1) */
	cr_assert(strstr(sq, "4: \"\\021\\021\\021\\021\\021\\021\\021\\021\""), "%s", sq);
	cr_assert(strstr(sq, "9 { 1: \"process.command_args\" 2 { 5 { 1 { 1: \"sh\" } 1 { 1: \"-c\" } } } }"), "%s", sq);
	/* events(11): time(1) fixed64, name(2), attributes(3) */
	cr_assert(strstr(sq, "11 { 1: 0x000000000000076c 2: \"layer-order\" 3 { 1: \"layerprof.finding.kind\" 2 { 1: \"layer-order\" } } }"),
		  "%s", sq);
	free(sq);
	free(raw);
	lp_buf_free(&b);
	lp_otlp_doc_free(&d);
}

#define TRACE "tests/data/traces/bad-order-edit.lptrace"

Test(otlp, model_as_a_trace)
{
	if (access(TRACE, R_OK) != 0)
		cr_skip_test("%s not found (run the tests from the repository root)", TRACE);
	char err[256];
	struct lp_reader *r = lp_reader_open(TRACE, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	struct lp_model_options mo = { 0 };
	struct lp_model *m = lp_model_from_reader(r, &mo, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	struct lp_otlp_doc d;
	lp_otlp_from_model(m, lp_reader_meta(r), TRACE, "ci-builds", -1, &d);
	cr_assert_str_eq(d.spans[0].name, "build lp-bad");
	cr_assert_not(d.spans[0].has_parent);
	cr_assert_str_eq(d.resource.v[0].key, "service.name");
	cr_assert_str_eq(d.resource.v[0].s, "ci-builds");
	size_t steps = 0, procs = 0, events = 0;
	for (size_t i = 1; i < d.nspans; i++) {
		const struct lp_otlp_span *s = &d.spans[i];
		cr_assert(s->has_parent);
		cr_assert_geq(s->end_unix_ns, s->start_unix_ns);
		/* wall-clock time: after 2020 */
		cr_assert_gt(s->start_unix_ns, 1577836800ull * 1000000000ull);
		cr_assert_geq(s->start_unix_ns, d.spans[0].start_unix_ns);
		cr_assert_leq(s->end_unix_ns, d.spans[0].end_unix_ns);
		if (!memcmp(s->parent_id, d.spans[0].span_id, 8))
			steps++;
		else
			procs++;
		events += s->nevents;
	}
	cr_assert_eq(steps, m->nsteps);
	/* the build's span on whole µs: children stay inside it in µs too */
	cr_assert_eq(d.spans[0].start_unix_ns % 1000, 0);
	cr_assert_eq(d.spans[0].end_unix_ns % 1000, 0);
	cr_assert_gt(procs, 0);
	cr_assert_eq(events, m->nfindings);
	/* the same file gives the same ids */
	struct lp_otlp_doc d2;
	lp_otlp_from_model(m, lp_reader_meta(r), TRACE, NULL, -1, &d2);
	cr_assert_eq(memcmp(d.trace_id, d2.trace_id, 16), 0);
	cr_assert_eq(memcmp(d.spans[3].span_id, d2.spans[3].span_id, 8), 0);
	for (size_t i = 0; i < d.nspans; i++)
		cr_assert_eq(memcmp(d.spans[i].trace_id, d.trace_id, 16), 0);
	/* a build of a session has a trace id of its own */
	struct lp_otlp_doc d3;
	lp_otlp_from_model(m, lp_reader_meta(r), TRACE, NULL, 1, &d3);
	cr_assert_neq(memcmp(d.trace_id, d3.trace_id, 16), 0);
	lp_otlp_doc_free(&d3);
	struct lp_buf j = { 0 };
	lp_otlp_encode_json(&d, &j);
	cJSON *doc = cJSON_Parse(j.data);
	cr_assert_not_null(doc, "OTLP/JSON does not parse");
	cJSON *spans = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
		cJSON_GetObjectItem(doc, "resourceSpans"), 0), "scopeSpans"), 0), "spans");
	cr_assert_eq((size_t)cJSON_GetArraySize(spans), d.nspans);
	cJSON_Delete(doc);
	lp_buf_free(&j);
	lp_otlp_doc_free(&d);
	lp_otlp_doc_free(&d2);
	lp_model_free(m);
	lp_reader_close(r);
}

Test(otlp, options)
{
	struct lp_otlp_opts o;
	lp_otlp_opts_init(&o);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_ENDPOINT, "ftp://x"), -1);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_ENDPOINT, "http://127.0.0.1:4318"), 0);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_HEADER, "novalue"), -1);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_HEADER, "a:b=c"), -1);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_HEADER, "authorization=Bearer x=y"), 0);
	cr_assert_str_eq(o.headers[0], "authorization: Bearer x=y");
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_FORMAT, "xml"), -1);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_FORMAT, "json"), 0);
	cr_assert(o.json);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_TIMEOUT, "250ms"), 0);
	cr_assert_eq(o.timeout_ms, 250);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_RETRIES, "-1"), -1);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_COMPRESSION, "none"), 0);
	cr_assert_not(o.gzip);
	cr_assert_eq(o.max_spans, LP_OTLP_DEFAULT_MAX_SPANS);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_MAX_SPANS, "0"), -1);
	cr_assert_eq(lp_otlp_opt(&o, "t", LP_OTLP_OPT_MAX_SPANS, "50"), 0);
	cr_assert_eq(o.max_spans, 50);
	lp_otlp_opts_free(&o);
}
