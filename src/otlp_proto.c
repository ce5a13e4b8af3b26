/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The OTLP ExportTraceServiceRequest of an lp_otlp_doc, in protobuf (the
 * writer is pb.h).
 *
 * Field numbers, each checked against the published opentelemetry-proto
 * files (opentelemetry/proto/...):
 *
 *   collector/trace/v1/trace_service.proto
 *     ExportTraceServiceRequest  resource_spans = 1
 *   trace/v1/trace.proto
 *     ResourceSpans              resource = 1, scope_spans = 2
 *     ScopeSpans                 scope = 1, spans = 2
 *     Span                       trace_id = 1 (bytes), span_id = 2 (bytes),
 *                                parent_span_id = 4 (bytes), name = 5,
 *                                kind = 6 (enum), start_time_unix_nano = 7 (fixed64),
 *                                end_time_unix_nano = 8 (fixed64), attributes = 9,
 *                                events = 11, status = 15, flags = 16 (fixed32)
 *     Span.Event                 time_unix_nano = 1 (fixed64), name = 2, attributes = 3
 *     Status                     message = 2, code = 3 (enum)
 *   common/v1/common.proto
 *     InstrumentationScope       name = 1, version = 2
 *     KeyValue                   key = 1, value = 2
 *     AnyValue (oneof)           string_value = 1, bool_value = 2, int_value = 3 (int64),
 *                                double_value = 4, array_value = 5
 *     ArrayValue                 values = 1
 *   resource/v1/resource.proto
 *     Resource                   attributes = 1
 *
 * proto3 leaves default values out; a oneof member is always written (its
 * presence is the value's type).
 */
#include "otlp.h"

#include "pb.h"

/* ------------------------------------------------------------------- OTLP */

static void pb_anyvalue(struct lp_buf *b, unsigned field, const struct lp_otlp_attr *a)
{
	size_t m = lp_pb_begin(b, field);
	switch (a->type) {
	case LP_OTLP_STR:
		lp_pb_string(b, 1, a->s);               /* string_value */
		break;
	case LP_OTLP_BOOL:
		lp_pb_uint(b, 2, a->b ? 1 : 0);         /* bool_value */
		break;
	case LP_OTLP_INT:
		lp_pb_int(b, 3, a->i);                  /* int_value */
		break;
	case LP_OTLP_DOUBLE:
		lp_pb_double(b, 4, a->d);               /* double_value */
		break;
	case LP_OTLP_STRS: {
		size_t arr = lp_pb_begin(b, 5);         /* array_value */
		for (size_t i = 0; i < a->nstrs; i++) {
			size_t v = lp_pb_begin(b, 1);   /* ArrayValue.values */
			lp_pb_string(b, 1, a->strs[i]);
			lp_pb_end(b, v);
		}
		lp_pb_end(b, arr);
		break;
	}
	}
	lp_pb_end(b, m);
}

static void pb_attrs(struct lp_buf *b, unsigned field, const struct lp_otlp_attrs *as)
{
	for (size_t i = 0; i < as->n; i++) {
		size_t kv = lp_pb_begin(b, field);      /* KeyValue */
		lp_pb_string(b, 1, as->v[i].key);
		pb_anyvalue(b, 2, &as->v[i]);
		lp_pb_end(b, kv);
	}
}

static void pb_span(struct lp_buf *b, const struct lp_otlp_span *s)
{
	size_t m = lp_pb_begin(b, 2);                   /* ScopeSpans.spans */
	lp_pb_bytes(b, 1, s->trace_id, sizeof(s->trace_id));
	lp_pb_bytes(b, 2, s->span_id, sizeof(s->span_id));
	if (s->has_parent)
		lp_pb_bytes(b, 4, s->parent_id, sizeof(s->parent_id));
	lp_pb_string(b, 5, s->name);
	if (s->kind)
		lp_pb_uint(b, 6, (uint64_t)s->kind);
	lp_pb_fixed64(b, 7, s->start_unix_ns);
	lp_pb_fixed64(b, 8, s->end_unix_ns);
	pb_attrs(b, 9, &s->attrs);
	for (size_t i = 0; i < s->nevents; i++) {
		const struct lp_otlp_event *e = &s->events[i];
		size_t em = lp_pb_begin(b, 11);
		lp_pb_fixed64(b, 1, e->time_unix_ns);
		lp_pb_string(b, 2, e->name);
		pb_attrs(b, 3, &e->attrs);
		lp_pb_end(b, em);
	}
	if (s->status_code || s->status_message) {
		size_t st = lp_pb_begin(b, 15);
		if (s->status_message)
			lp_pb_string(b, 2, s->status_message);
		if (s->status_code)
			lp_pb_uint(b, 3, (uint64_t)s->status_code);
		lp_pb_end(b, st);
	}
	lp_pb_fixed32(b, 16, 0x01);     /* flags: W3C trace flags "sampled" */
	lp_pb_end(b, m);
}

void lp_otlp_encode_proto(const struct lp_otlp_doc *d, struct lp_buf *out)
{
	size_t rs = lp_pb_begin(out, 1);                /* ExportTraceServiceRequest.resource_spans */
	size_t res = lp_pb_begin(out, 1);               /* ResourceSpans.resource */
	pb_attrs(out, 1, &d->resource);                 /* Resource.attributes */
	lp_pb_end(out, res);
	size_t ss = lp_pb_begin(out, 2);                /* ResourceSpans.scope_spans */
	size_t sc = lp_pb_begin(out, 1);                /* ScopeSpans.scope */
	lp_pb_string(out, 1, d->scope_name);
	if (d->scope_version)
		lp_pb_string(out, 2, d->scope_version);
	lp_pb_end(out, sc);
	for (size_t i = 0; i < d->nspans; i++)
		pb_span(out, &d->spans[i]);
	lp_pb_end(out, ss);
	lp_pb_end(out, rs);
}
