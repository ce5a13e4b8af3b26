/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small protobuf writer: varints, fixed-width and length-delimited fields,
 * nested messages, appended to an lp_buf. Field numbers and types are the
 * callers' (otlp_proto.c, export_perfetto.c); nothing here knows a schema.
 */
#ifndef LAYERPROF_PB_H
#define LAYERPROF_PB_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Wire types. */
enum { LP_PB_VARINT = 0, LP_PB_I64 = 1, LP_PB_LEN = 2, LP_PB_I32 = 5 };
void lp_pb_varint(struct lp_buf *b, uint64_t v);
void lp_pb_tag(struct lp_buf *b, unsigned field, unsigned wire);
void lp_pb_uint(struct lp_buf *b, unsigned field, uint64_t v);        /* varint field */
void lp_pb_int(struct lp_buf *b, unsigned field, int64_t v);          /* int64 (two's complement) */
void lp_pb_fixed64(struct lp_buf *b, unsigned field, uint64_t v);
void lp_pb_fixed32(struct lp_buf *b, unsigned field, uint32_t v);
void lp_pb_double(struct lp_buf *b, unsigned field, double v);
void lp_pb_bytes(struct lp_buf *b, unsigned field, const void *p, size_t n);
/* A string field, made valid UTF-8 (invalid bytes become U+FFFD): proto3
 * strings must be. */
void lp_pb_string(struct lp_buf *b, unsigned field, const char *s);
/* A nested message: lp_pb_begin writes the tag and returns a mark;
 * lp_pb_end puts the length (a varint) in front of what was written since. */
size_t lp_pb_begin(struct lp_buf *b, unsigned field);
void lp_pb_end(struct lp_buf *b, size_t mark);

#endif /* LAYERPROF_PB_H */
