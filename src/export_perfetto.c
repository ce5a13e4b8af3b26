/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Perfetto's native trace format: a protobuf Trace, a stream of
 * TracePackets, each a TrackDescriptor or a TrackEvent (the Perfetto UI's
 * "Open trace file" reads it; so does its trace processor).
 *
 * Tracks (TrackDescriptor, nested with parent_uuid):
 *   build                        one slice for the build; findings as instants
 *     I/O read, I/O written      counters, bytes/s (export_counters.c)
 *     open files                 counter
 *     <step name>                one track per step (in the report's order), its
 *                                slice the step's time as the report has it
 *       <comm> [pid]             one track per process of the step, its
 *                                slice the process's lifetime (args: pid,
 *                                ppid, exe, role, exit_code, on_cpu_ns)
 *         syscalls tid N         every traced syscall of that thread, a
 *                                slice of its measured latency (args: path,
 *                                error)
 *     <comm> [pid]               processes of no step sit under the build
 * Flows: a step's slice -> its top processes' slices -> their children's.
 * Nothing is capped or merged: the packets are written as the records are
 * read, so memory holds only the tracks' state, the interned strings (one
 * per distinct syscall and path) and the counters' buckets.
 *
 * Timestamps: the trace's own clock (CLOCK_MONOTONIC ns), unconverted.
 * One packet sequence (trusted_packet_sequence_id 1); syscall and
 * annotation names and paths are interned (InternedData) on first use.
 *
 * Field numbers, each checked against Perfetto's protos/perfetto/trace/
 * (tests/exports/perfetto_min.proto mirrors them for protoc --decode):
 *   trace.proto                    Trace.packet = 1
 *   trace_packet.proto             TracePacket: timestamp = 8,
 *                                  trusted_packet_sequence_id = 10,
 *                                  track_event = 11, interned_data = 12,
 *                                  sequence_flags = 13, track_descriptor = 60
 *                                  (SEQ_INCREMENTAL_STATE_CLEARED = 1,
 *                                  SEQ_NEEDS_INCREMENTAL_STATE = 2)
 *   interned_data/interned_data.proto  InternedData: event_names = 2,
 *                                  debug_annotation_names = 3,
 *                                  debug_annotation_string_values = 29
 *   track_event/track_event.proto  EventName: iid = 1, name = 2
 *                                  TrackEvent: debug_annotations = 4,
 *                                  type = 9, name_iid = 10, track_uuid = 11,
 *                                  categories = 22, name = 23,
 *                                  counter_value = 30, double_counter_value = 44,
 *                                  flow_ids = 47 (fixed64),
 *                                  terminating_flow_ids = 48 (fixed64)
 *                                  (TYPE_SLICE_BEGIN = 1, TYPE_SLICE_END = 2,
 *                                  TYPE_INSTANT = 3, TYPE_COUNTER = 4)
 *   track_event/debug_annotation.proto  DebugAnnotation: name_iid = 1,
 *                                  bool_value = 2, uint_value = 3,
 *                                  int_value = 4, string_value = 6,
 *                                  name = 10, string_value_iid = 17;
 *                                  DebugAnnotationName: iid = 1, name = 2
 *   profiling/profile_common.proto InternedString: iid = 1, str = 2
 *   track_event/track_descriptor.proto  TrackDescriptor: uuid = 1, name = 2,
 *                                  parent_uuid = 5, counter = 8,
 *                                  child_ordering = 11 (EXPLICIT = 3),
 *                                  sibling_order_rank = 12, description = 14
 *   track_event/counter_descriptor.proto  CounterDescriptor: unit = 3
 *                                  (UNIT_COUNT = 2), unit_name = 6
 */
#include "export.h"

#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "event.h"
#include "model.h"
#include "pb.h"
#include "resolve.h"
#include "syscalls.h"
#include "trace.h"
#include "util.h"
#include "varint.h"

enum {
	TRACE_PACKET = 1,
	PKT_TIMESTAMP = 8, PKT_SEQ_ID = 10, PKT_TRACK_EVENT = 11, PKT_INTERNED = 12, PKT_SEQ_FLAGS = 13,
	PKT_TRACK_DESCRIPTOR = 60,
	SEQ_CLEARED = 1, SEQ_NEEDS_STATE = 2,
	INT_EVENT_NAMES = 2, INT_ANNOT_NAMES = 3, INT_ANNOT_STRINGS = 29,
	IID = 1, IID_NAME = 2,          /* EventName, DebugAnnotationName, InternedString */
	TE_ANNOT = 4, TE_TYPE = 9, TE_NAME_IID = 10, TE_TRACK = 11, TE_CATEGORIES = 22, TE_NAME = 23,
	TE_COUNTER = 30, TE_DOUBLE_COUNTER = 44, TE_FLOWS = 47, TE_END_FLOWS = 48,
	SLICE_BEGIN = 1, SLICE_END = 2, INSTANT = 3, COUNTER = 4,
	DA_NAME_IID = 1, DA_BOOL = 2, DA_UINT = 3, DA_INT = 4, DA_STRING = 6, DA_NAME = 10, DA_STRING_IID = 17,
	TD_UUID = 1, TD_NAME = 2, TD_PARENT = 5, TD_COUNTER = 8, TD_CHILD_ORDER = 11, TD_RANK = 12,
	TD_DESCRIPTION = 14, ORDER_EXPLICIT = 3,
	CD_UNIT = 3, CD_UNIT_NAME = 6, UNIT_COUNT = 2,
};

#define SEQ_ID 1u
/* Track uuids: small numbers (short varints), one range per kind. */
#define UUID_BUILD 1u
#define UUID_READ 2u
#define UUID_WRITTEN 3u
#define UUID_OPEN 4u
#define UUID_STEP0 16u
/* annotation names, interned in the first packet */
enum { AN_PATH = 1, AN_ERROR, AN_RET };
static const char *const annot_names[] = { NULL, "path", "error", "ret" };

struct pthr {
	uint64_t uuid;
	uint64_t last_end;      /* a thread's syscalls do not overlap: clamped */
};

struct px {
	const struct lp_model *m;
	struct lp_xout *o;
	struct lp_buf p;        /* the packet being written */
	size_t mark;            /* its Trace.packet length mark */
	uint64_t uuid_proc0, uuid_thr0;
	struct lp_u64map thr_idx;   /* (proc index + 1) << 32 | tid -> index in thr */
	struct pthr *thr;
	size_t nthr, thr_cap;
	uint8_t *sc_interned;   /* per syscall number: its name was interned */
	size_t nsc;
	uint32_t niids;         /* path iids given: 1..niids */
	struct lp_strtab paths; /* the paths of no model id, interned */
	uint32_t *iid_of_str;   /* [id in paths]: its iid */
	size_t niid_of_str;
	uint32_t last_str;      /* the last of paths interned: a stat then an open */
	uint32_t *iid_of_model; /* [model path id]: its iid (0: not yet), when
				 * the model's tape gives the records */
	size_t niid_of_model;
	/* the last event's thread: consecutive events of one thread skip the
	 * lookups */
	struct lp_proc_hint proc_hint;
	const struct lp_proc *last_proc;
	uint32_t last_tgid, last_tid;
	struct pthr *last_thr;
	struct lp_iocount io;
	uint64_t t0, t_end;
	uint64_t last_ts;       /* the latest valid record's (see_end) */
	uint64_t packets, slices;
};

/* ------------------------------------------------------------- packets */

static void pkt_begin(struct px *c, uint64_t ts, bool event)
{
	c->p.len = 0;
	c->mark = lp_pb_begin(&c->p, TRACE_PACKET);
	if (ts)
		lp_pb_uint(&c->p, PKT_TIMESTAMP, ts);
	lp_pb_uint(&c->p, PKT_SEQ_ID, SEQ_ID);
	if (event)
		lp_pb_uint(&c->p, PKT_SEQ_FLAGS, SEQ_NEEDS_STATE);
}

static void pkt_end(struct px *c)
{
	lp_pb_end(&c->p, c->mark);
	lp_xout_write(c->o, c->p.data, c->p.len);
	c->packets++;
}

static void track(struct px *c, uint64_t uuid, uint64_t parent, const char *name, const char *desc, int rank)
{
	pkt_begin(c, 0, false);
	size_t td = lp_pb_begin(&c->p, PKT_TRACK_DESCRIPTOR);
	lp_pb_uint(&c->p, TD_UUID, uuid);
	if (parent)
		lp_pb_uint(&c->p, TD_PARENT, parent);
	lp_pb_string(&c->p, TD_NAME, name);
	if (desc)
		lp_pb_string(&c->p, TD_DESCRIPTION, desc);
	lp_pb_uint(&c->p, TD_CHILD_ORDER, ORDER_EXPLICIT);
	if (rank >= 0)
		lp_pb_uint(&c->p, TD_RANK, (uint64_t)rank);
	lp_pb_end(&c->p, td);
	pkt_end(c);
}

static void counter_track(struct px *c, uint64_t uuid, const char *name, const char *unit_name, int rank)
{
	pkt_begin(c, 0, false);
	size_t td = lp_pb_begin(&c->p, PKT_TRACK_DESCRIPTOR);
	lp_pb_uint(&c->p, TD_UUID, uuid);
	lp_pb_uint(&c->p, TD_PARENT, UUID_BUILD);
	lp_pb_string(&c->p, TD_NAME, name);
	lp_pb_uint(&c->p, TD_RANK, (uint64_t)rank);
	size_t cd = lp_pb_begin(&c->p, TD_COUNTER);
	if (unit_name)
		lp_pb_string(&c->p, CD_UNIT_NAME, unit_name);
	else
		lp_pb_uint(&c->p, CD_UNIT, UNIT_COUNT);
	lp_pb_end(&c->p, cd);
	lp_pb_end(&c->p, td);
	pkt_end(c);
}

/* A TrackEvent: te_begin .. te_end around its fields. */
static size_t te_begin(struct px *c, unsigned type, uint64_t track_uuid)
{
	size_t te = lp_pb_begin(&c->p, PKT_TRACK_EVENT);
	lp_pb_uint(&c->p, TE_TYPE, type);
	lp_pb_uint(&c->p, TE_TRACK, track_uuid);
	return te;
}

static void annot_str(struct px *c, const char *name, const char *v)
{
	if (!v)
		return;
	size_t a = lp_pb_begin(&c->p, TE_ANNOT);
	lp_pb_string(&c->p, DA_NAME, name);
	lp_pb_string(&c->p, DA_STRING, v);
	lp_pb_end(&c->p, a);
}

static void annot_int(struct px *c, const char *name, int64_t v)
{
	size_t a = lp_pb_begin(&c->p, TE_ANNOT);
	lp_pb_string(&c->p, DA_NAME, name);
	lp_pb_int(&c->p, DA_INT, v);
	lp_pb_end(&c->p, a);
}

static void annot_uint(struct px *c, const char *name, uint64_t v)
{
	size_t a = lp_pb_begin(&c->p, TE_ANNOT);
	lp_pb_string(&c->p, DA_NAME, name);
	lp_pb_uint(&c->p, DA_UINT, v);
	lp_pb_end(&c->p, a);
}

static void annot_bool(struct px *c, const char *name, bool v)
{
	size_t a = lp_pb_begin(&c->p, TE_ANNOT);
	lp_pb_string(&c->p, DA_NAME, name);
	lp_pb_uint(&c->p, DA_BOOL, v ? 1 : 0);
	lp_pb_end(&c->p, a);
}

static void slice_end(struct px *c, uint64_t ts, uint64_t track_uuid)
{
	pkt_begin(c, ts, true);
	size_t te = te_begin(c, SLICE_END, track_uuid);
	lp_pb_end(&c->p, te);
	pkt_end(c);
	c->slices++;
}

/* ------------------------------------------------------------ the model */

static uint64_t step_uuid(int step)
{
	return UUID_STEP0 + (uint64_t)step;
}

static uint64_t proc_uuid(const struct px *c, int proc)
{
	return c->uuid_proc0 + (uint64_t)proc;
}

/* The flow into a process's slice: from its parent's, else from its step's. */
static uint64_t flow_id(int proc)
{
	return (uint64_t)proc + 1;
}

static bool flows_from_parent(const struct lp_model *m, const struct lp_proc *p)
{
	return p->parent >= 0 && (size_t)p->parent < m->nprocs && m->procs[p->parent].step == p->step;
}

static void proc_name(const struct lp_proc *p, char *buf, size_t len)
{
	char comm[LP_COMM_LEN + 1];
	lp_comm_copy(comm, p->comm);
	snprintf(buf, len, "%s [%u]", comm[0] ? comm : "?", p->pid);
}

static void emit_tracks(struct px *c)
{
	const struct lp_model *m = c->m;
	const struct lp_build *b = &m->build;
	char desc[512];
	snprintf(desc, sizeof(desc), "%s", b->command ? b->command : "");
	track(c, UUID_BUILD, 0, "build", desc[0] ? desc : NULL, -1);
	counter_track(c, UUID_READ, "I/O read", "bytes/s", 0);
	counter_track(c, UUID_WRITTEN, "I/O written", "bytes/s", 1);
	counter_track(c, UUID_OPEN, "open files", NULL, 2);
	/* steps in the report's order, after the counters */
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		track(c, step_uuid((int)i), UUID_BUILD, s->name && *s->name ? s->name : s->id,
		      s->instruction && *s->instruction ? s->instruction : NULL, (int)i + 3);
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		char nm[64];
		proc_name(p, nm, sizeof(nm));
		char *argv = NULL;
		if (p->argc > 0) {
			struct lp_buf a = { 0 };
			for (int k = 0; k < p->argc && a.len < 1000; k++) {
				if (k)
					lp_buf_puts(&a, " ");
				lp_buf_puts(&a, p->argv[k] ? p->argv[k] : "");
			}
			argv = a.data;
		}
		bool in_step = p->step >= 0 && (size_t)p->step < m->nsteps;
		track(c, proc_uuid(c, (int)i), in_step ? step_uuid(p->step) : UUID_BUILD, nm, argv,
		      (int)m->nsteps + 3 + (int)i);
		free(argv);
	}
}

static void emit_build(struct px *c, uint64_t a, uint64_t e)
{
	const struct lp_model *m = c->m;
	const struct lp_build *b = &m->build;
	char name[256];
	snprintf(name, sizeof(name), "build (%zu steps, %zu cached)%s", b->steps, b->cached_steps,
		 b->failed ? " FAILED" : "");
	pkt_begin(c, a, true);
	size_t te = te_begin(c, SLICE_BEGIN, UUID_BUILD);
	lp_pb_string(&c->p, TE_NAME, name);
	lp_pb_string(&c->p, TE_CATEGORIES, "build");
	annot_str(c, "command", b->command);
	annot_str(c, "status", b->failed ? "failed" : "ok");
	annot_str(c, "error", b->error);
	annot_uint(c, "wall_ns", b->wall_ns);
	annot_uint(c, "context_bytes_sent", m->context.sent_bytes);
	lp_pb_end(&c->p, te);
	pkt_end(c);
	for (size_t i = 0; i < m->nfindings; i++) {
		const struct lp_finding *f = &m->findings[i];
		uint64_t ts = a;
		if (f->step >= 0 && (size_t)f->step < m->nsteps && lp_step_start_ns(&m->steps[f->step]))
			ts = lp_step_start_ns(&m->steps[f->step]);
		if (ts < a || ts > e)
			ts = a;
		char nm[64];
		snprintf(nm, sizeof(nm), "finding: %s", lp_finding_kind_name(f->kind));
		pkt_begin(c, ts, true);
		te = te_begin(c, INSTANT, UUID_BUILD);
		lp_pb_string(&c->p, TE_NAME, nm);
		lp_pb_string(&c->p, TE_CATEGORIES, "finding");
		annot_str(c, "message", f->message);
		annot_str(c, "suggestion", f->suggestion);
		lp_pb_end(&c->p, te);
		pkt_end(c);
	}
	slice_end(c, e, UUID_BUILD);
}

static void emit_steps(struct px *c)
{
	const struct lp_model *m = c->m;
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		uint64_t a = lp_step_start_ns(s);
		if (!a)
			continue;       /* never timed (a cached step): a track, no slice */
		uint64_t e = a + lp_step_wall_ns(s);
		pkt_begin(c, a, true);
		size_t te = te_begin(c, SLICE_BEGIN, step_uuid((int)i));
		lp_pb_string(&c->p, TE_NAME, s->name && *s->name ? s->name : s->id);
		lp_pb_string(&c->p, TE_CATEGORIES, s->status == LP_STEP_ERROR ? "step,error" : s->cached ? "step,cached" : "step");
		annot_str(c, "id", s->id);
		annot_str(c, "stage", s->stage);
		annot_str(c, "status", lp_step_status_name(s->status));
		annot_bool(c, "cached", s->cached);
		annot_str(c, "time_source", lp_time_source_name(s->time_src));
		annot_str(c, "error", s->error);
		if (s->dockerfile_line > 0)
			annot_int(c, "dockerfile_line", s->dockerfile_line);
		annot_uint(c, "processes", s->agg.procs);
		annot_uint(c, "bytes_read", s->agg.bytes_read);
		annot_uint(c, "bytes_written", s->agg.bytes_written);
		for (size_t k = 0; k < m->nprocs; k++) {
			const struct lp_proc *p = &m->procs[k];
			if (p->step == (int)i && !flows_from_parent(m, p))
				lp_pb_fixed64(&c->p, TE_FLOWS, flow_id((int)k));
		}
		lp_pb_end(&c->p, te);
		pkt_end(c);
		slice_end(c, e, step_uuid((int)i));
	}
}

static void emit_procs(struct px *c)
{
	const struct lp_model *m = c->m;
	/* children by parent, for the flows out of a process's slice */
	int *first_child = lp_xcalloc(m->nprocs + 1, sizeof(int)), *next = lp_xcalloc(m->nprocs + 1, sizeof(int));
	for (size_t i = 0; i < m->nprocs; i++)
		first_child[i] = -1;
	for (size_t i = m->nprocs; i-- > 0;) {
		const struct lp_proc *p = &m->procs[i];
		next[i] = -1;
		if (flows_from_parent(m, p)) {
			next[i] = first_child[p->parent];
			first_child[p->parent] = (int)i;
		}
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		uint64_t a = p->start_ns && p->start_ns > c->t0 ? p->start_ns : c->t0;
		uint64_t e = p->end_ns ? p->end_ns : c->t_end;
		if (e < a)
			e = a;
		char nm[64];
		proc_name(p, nm, sizeof(nm));
		pkt_begin(c, a, true);
		size_t te = te_begin(c, SLICE_BEGIN, proc_uuid(c, (int)i));
		lp_pb_string(&c->p, TE_NAME, nm);
		lp_pb_string(&c->p, TE_CATEGORIES, "process");
		annot_uint(c, "pid", p->pid);
		annot_uint(c, "ppid", p->ppid);
		annot_str(c, "exe", p->exe);
		annot_str(c, "role", lp_role_name(p->role));
		if (p->exited)
			annot_int(c, "exit_code", p->exit_code);
		if (p->cpu_ns) /* 0: unknown (running at the end, or a trace made before the field) */
			annot_uint(c, "on_cpu_ns", p->cpu_ns);
		if (flows_from_parent(m, p) || (p->step >= 0 && (size_t)p->step < m->nsteps &&
						lp_step_start_ns(&m->steps[p->step])))
			lp_pb_fixed64(&c->p, TE_END_FLOWS, flow_id((int)i));
		for (int k = first_child[i]; k >= 0; k = next[k])
			lp_pb_fixed64(&c->p, TE_FLOWS, flow_id(k));
		lp_pb_end(&c->p, te);
		pkt_end(c);
		slice_end(c, e, proc_uuid(c, (int)i));
	}
	free(first_child);
	free(next);
}

static void emit_counters(struct px *c)
{
	struct lp_iocount_it it = { 0 };
	double prev_r = -1, prev_w = -1;
	int64_t prev_open = -1;
	while (lp_iocount_next(&c->io, &it, c->t_end)) {
		for (int k = 0; k < 3; k++) {
			uint64_t uuid = k == 0 ? UUID_READ : k == 1 ? UUID_WRITTEN : UUID_OPEN;
			double v = k == 0 ? it.read_bps : k == 1 ? it.write_bps : (double)it.open;
			double *prev = k == 0 ? &prev_r : k == 1 ? &prev_w : NULL;
			if (k < 2 ? (v == *prev && !it.is_last) : (it.open == prev_open && !it.is_last))
				continue;
			pkt_begin(c, it.ts, true);
			size_t te = te_begin(c, COUNTER, uuid);
			if (k < 2)
				lp_pb_double(&c->p, TE_DOUBLE_COUNTER, v);
			else
				lp_pb_int(&c->p, TE_COUNTER, it.open);
			lp_pb_end(&c->p, te);
			pkt_end(c);
			if (k < 2)
				*prev = v;
			else
				prev_open = it.open;
		}
	}
}

/* -------------------------------------------------------------- events */

static struct pthr *thread_track(struct px *c, const struct lp_proc *p, uint32_t tgid, uint32_t tid)
{
	uint64_t key = ((uint64_t)(p ? (uint32_t)p->index + 1 : 0) << 32) | tid;
	uint64_t *ix = lp_u64map_find(&c->thr_idx, key);
	if (ix)
		return &c->thr[*ix];
	if (c->nthr == c->thr_cap) {
		c->thr_cap = c->thr_cap ? c->thr_cap * 2 : 256;
		c->thr = lp_xrealloc(c->thr, c->thr_cap * sizeof(*c->thr));
	}
	struct pthr *t = &c->thr[c->nthr];
	t->uuid = c->uuid_thr0 + c->nthr;
	t->last_end = 0;
	lp_u64map_put(&c->thr_idx, key, c->nthr++);
	char nm[96];
	if (p && tid == p->pid)
		snprintf(nm, sizeof(nm), "syscalls");
	else if (p)
		snprintf(nm, sizeof(nm), "syscalls, thread %u", tid);
	else
		snprintf(nm, sizeof(nm), "syscalls of pid %u thread %u (not a process of the model)", tgid, tid);
	track(c, t->uuid, p ? proc_uuid(c, p->index) : UUID_BUILD, nm, NULL, -1);
	return t;
}

/* The hot path, one syscall: both packets written straight into a small
 * buffer (every length fits one byte) with the one varint codec. */
static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	return p + lp_varint_encode(p, v);
}

/* Packet fields common to every event: timestamp, sequence, flags. */
static uint8_t *put_event_head(uint8_t *p, uint64_t ts)
{
	*p++ = PKT_TIMESTAMP << 3;
	p = put_varint(p, ts);
	*p++ = PKT_SEQ_ID << 3;
	*p++ = SEQ_ID;
	*p++ = PKT_SEQ_FLAGS << 3;
	*p++ = SEQ_NEEDS_STATE;
	return p;
}

/* The most bytes slice_packet() writes (an errno's name under 32). */
#define SLICE_PACKET_MAX 128

/* Trace.packet { head, track_event { type, track, name_iid, annotations
 * path = path_iid, error = err, ret = ret } } of a slice's begin or end at
 * out (name_iid, path_iid: 0, err: NULL for none; every length fits one
 * byte). */
static uint8_t *slice_packet(uint8_t *out, uint64_t ts, unsigned type, uint64_t track, uint64_t name_iid,
			     uint64_t path_iid, const char *err, int64_t ret)
{
	*out++ = (TRACE_PACKET << 3) | LP_PB_LEN;
	uint8_t *pk_len = out++;
	out = put_event_head(out, ts);
	*out++ = (PKT_TRACK_EVENT << 3) | LP_PB_LEN;
	uint8_t *te_len = out++;
	*out++ = TE_TYPE << 3;
	*out++ = (uint8_t)type;
	*out++ = TE_TRACK << 3;
	out = put_varint(out, track);
	if (name_iid) {
		*out++ = TE_NAME_IID << 3;
		out = put_varint(out, name_iid);
	}
	if (path_iid) {
		*out++ = (TE_ANNOT << 3) | LP_PB_LEN;
		uint8_t *an_len = out++;
		*out++ = DA_NAME_IID << 3;
		*out++ = AN_PATH;
		out = put_varint(out, (DA_STRING_IID << 3) | LP_PB_VARINT);
		out = put_varint(out, path_iid);
		*an_len = (uint8_t)(out - an_len - 1);
	}
	if (err) {
		size_t n = strlen(err);
		*out++ = (TE_ANNOT << 3) | LP_PB_LEN;
		uint8_t *an_len = out++;
		*out++ = DA_NAME_IID << 3;
		*out++ = AN_ERROR;
		*out++ = (DA_STRING << 3) | LP_PB_LEN;
		*out++ = (uint8_t)n;
		memcpy(out, err, n);
		out += n;
		*an_len = (uint8_t)(out - an_len - 1);
		*out++ = (TE_ANNOT << 3) | LP_PB_LEN;
		an_len = out++;
		*out++ = DA_NAME_IID << 3;
		*out++ = AN_RET;
		*out++ = DA_INT << 3;
		out = put_varint(out, (uint64_t)ret); /* int64: two's complement */
		*an_len = (uint8_t)(out - an_len - 1);
	}
	*te_len = (uint8_t)(out - te_len - 1);
	*pk_len = (uint8_t)(out - pk_len - 1);
	return out;
}

/* The thread track of an event: the last one again while the process
 * (lp_model_proc_at_hint) and the thread stay the same. */
static struct pthr *thread_of(struct px *c, const struct lp_hdr *h)
{
	const struct lp_proc *p = lp_model_proc_at_hint(c->m, &c->proc_hint, h->tgid, h->ts);
	if (c->last_thr && p == c->last_proc && h->tgid == c->last_tgid && h->tid == c->last_tid)
		return c->last_thr;
	c->last_proc = p;
	c->last_tgid = h->tgid;
	c->last_tid = h->tid;
	c->last_thr = thread_track(c, p, h->tgid, h->tid);
	return c->last_thr;
}

/* The iid of a syscall's path, given on first use (*is_new; *str is then
 * the string to intern under it): by the model's id of the path when the
 * tape gave it (model_id), by the string otherwise. A file's path is its
 * model id's alone (the model interns each string once): its iid needs no
 * hashing; "pipe:[N]", "socket:[N]" and paths of no id are interned here,
 * as the one name they are shown by. Iids go up by one in the order of
 * first use either way. */
static uint32_t path_iid(struct px *c, const char *path, uint32_t model_id, bool *is_new, const char **str)
{
	*is_new = false;
	if (model_id && model_id < c->niid_of_model && c->iid_of_model[model_id])
		return c->iid_of_model[model_id];
	const char *norm = lp_export_norm_target(path);
	uint32_t iid;
	if (model_id && norm == path) {
		iid = ++c->niids;
		*is_new = true;
		*str = path;
	} else {
		uint32_t k = c->last_str;
		if (!k || strcmp(lp_strtab_str(&c->paths, k), norm)) {
			k = c->last_str = lp_strtab_intern(&c->paths, norm);
			lp_grow((void **)&c->iid_of_str, &c->niid_of_str, (size_t)k + 1, sizeof(*c->iid_of_str));
		}
		if (!c->iid_of_str[k]) {
			c->iid_of_str[k] = ++c->niids;
			*is_new = true;
			*str = lp_strtab_str(&c->paths, k);
		}
		iid = c->iid_of_str[k];
	}
	if (model_id) {
		lp_grow((void **)&c->iid_of_model, &c->niid_of_model, (size_t)model_id + 1,
			sizeof(*c->iid_of_model));
		c->iid_of_model[model_id] = iid;
	}
	return iid;
}

/* One syscall's slice; path: lp_resolver_event_path() of it (NULL: none),
 * model_id: the model's id of that path (0: not known). */
static void on_syscall(struct px *c, const struct lp_ev_syscall *ev, const char *path, uint32_t model_id)
{
	const struct lp_hdr *h = &ev->h;
	unsigned sc = h->aux;
	lp_iocount_syscall(&c->io, ev);
	struct pthr *t = thread_of(c, h);
	uint64_t end = h->ts;
	uint64_t start = ev->lat_ns < end ? end - ev->lat_ns : 0;
	if (start < t->last_end)
		start = t->last_end;
	if (end < start)
		end = start;
	t->last_end = end;

	/* interned on first use: the syscall's name, the path */
	bool new_name = false;
	lp_grow((void **)&c->sc_interned, &c->nsc, (size_t)sc + 1, 1);
	if (!c->sc_interned[sc]) {
		c->sc_interned[sc] = 1;
		new_name = true;
	}
	bool new_path = false;
	const char *path_str = NULL;
	uint32_t iid = path ? path_iid(c, path, model_id, &new_path, &path_str) : 0;

	const char *err = ev->ret < 0 ? lp_errno_name((int)-ev->ret) : NULL;
	if (ev->ret < 0 && !err)
		err = "error";
	if (!new_name && !new_path && (!err || strlen(err) < 32)) {
		/* both packets straight into the output's buffer */
		uint8_t *base = lp_xout_room(c->o, 2 * SLICE_PACKET_MAX), *o = base;
		o = slice_packet(o, start, SLICE_BEGIN, t->uuid, (uint64_t)sc + 1, iid, err, ev->ret);
		o = slice_packet(o, end, SLICE_END, t->uuid, 0, 0, NULL, 0);
		lp_xout_wrote(c->o, (size_t)(o - base));
		c->packets += 2;
		c->slices++;
		return;
	}

	pkt_begin(c, start, true);
	if (new_name || new_path) {
		size_t in = lp_pb_begin(&c->p, PKT_INTERNED);
		if (new_name) {
			char nb[32];
			const char *n = lp_sc_name(sc);
			if (!n)
				snprintf(nb, sizeof(nb), "syscall%u", sc), n = nb;
			size_t en = lp_pb_begin(&c->p, INT_EVENT_NAMES);
			lp_pb_uint(&c->p, IID, (uint64_t)sc + 1);
			lp_pb_string(&c->p, IID_NAME, n);
			lp_pb_end(&c->p, en);
		}
		if (new_path) {
			size_t is = lp_pb_begin(&c->p, INT_ANNOT_STRINGS);
			lp_pb_uint(&c->p, IID, iid);
			lp_pb_string(&c->p, IID_NAME, path_str);
			lp_pb_end(&c->p, is);
		}
		lp_pb_end(&c->p, in);
	}
	size_t te = te_begin(c, SLICE_BEGIN, t->uuid);
	lp_pb_uint(&c->p, TE_NAME_IID, (uint64_t)sc + 1);
	if (iid) {
		size_t a = lp_pb_begin(&c->p, TE_ANNOT);
		lp_pb_uint(&c->p, DA_NAME_IID, AN_PATH);
		lp_pb_uint(&c->p, DA_STRING_IID, iid);
		lp_pb_end(&c->p, a);
	}
	if (err) {
		size_t a = lp_pb_begin(&c->p, TE_ANNOT);
		lp_pb_uint(&c->p, DA_NAME_IID, AN_ERROR);
		lp_pb_string(&c->p, DA_STRING, err);
		lp_pb_end(&c->p, a);
		a = lp_pb_begin(&c->p, TE_ANNOT);
		lp_pb_uint(&c->p, DA_NAME_IID, AN_RET);
		lp_pb_int(&c->p, DA_INT, ev->ret);
		lp_pb_end(&c->p, a);
	}
	lp_pb_end(&c->p, te);
	pkt_end(c);
	slice_end(c, end, t->uuid);
}

/* The first packet: clears the sequence's interned state, names the
 * annotations every syscall slice uses. */
static void emit_first(struct px *c)
{
	c->p.len = 0;
	c->mark = lp_pb_begin(&c->p, TRACE_PACKET);
	lp_pb_uint(&c->p, PKT_SEQ_ID, SEQ_ID);
	lp_pb_uint(&c->p, PKT_SEQ_FLAGS, SEQ_CLEARED);
	size_t in = lp_pb_begin(&c->p, PKT_INTERNED);
	for (unsigned i = 1; i < LP_ARRAY_SIZE(annot_names); i++) {
		size_t n = lp_pb_begin(&c->p, INT_ANNOT_NAMES);
		lp_pb_uint(&c->p, IID, i);
		lp_pb_string(&c->p, IID_NAME, annot_names[i]);
		lp_pb_end(&c->p, n);
	}
	lp_pb_end(&c->p, in);
	pkt_end(c);
}

/* ---------------------------------------------------------------- main */

/* The trace's first record and the model's earliest and latest times. */
static void span(struct px *c, struct lp_reader *r)
{
	const struct lp_model *m = c->m;
	uint64_t t0 = UINT64_MAX, te = 0;
	const struct lp_hdr *h;
	if (lp_reader_rewind(r) == 0 && lp_reader_next(r, &h) == 1 && h->ts)
		t0 = h->ts;
#define SEE(a, b) do { if ((a) && (a) < t0) t0 = (a); if ((b) > te) te = (b); } while (0)
	SEE(m->build.start_ns, m->build.end_ns);
	for (size_t i = 0; i < m->nsteps; i++)
		SEE(lp_step_start_ns(&m->steps[i]), lp_step_end_ns(&m->steps[i]));
	for (size_t i = 0; i < m->nprocs; i++)
		SEE(m->procs[i].start_ns, m->procs[i].end_ns);
#undef SEE
	if (t0 == UINT64_MAX)
		t0 = 0;
	if (te < t0)
		te = t0;
	c->t0 = t0;
	c->t_end = te;
}

/* ts, a valid record's, may end the trace: not one 30 days past its start
 * (a damaged time stamp) */
static void see_end(struct px *c, uint64_t ts)
{
	if (ts > c->last_ts && ts - c->t0 < 30ull * 24 * 3600 * 1000000000ull)
		c->last_ts = ts;
}

/* One valid record; path and model_id: on_syscall's. */
static void on_record(struct px *c, const struct lp_hdr *h, const char *path, uint32_t model_id)
{
	see_end(c, h->ts);
	switch (h->kind) {
	case LP_EV_SYSCALL:
		on_syscall(c, (const void *)h, path, model_id);
		break;
	case LP_EV_FD_IO: {
		uint64_t a, b;
		lp_iocount_fdio(&c->io, c->m, (const void *)h, &a, &b);
		break;
	}
	case LP_EV_EXIT:
		lp_iocount_exit(&c->io, h->tgid, h->ts);
		break;
	default:
		break;
	}
}

/* A record replayed by the model: a syscall's path resolved when the
 * model read the trace, and interned there (the id). */
static void on_replayed(void *arg, const struct lp_model_rec *rec)
{
	on_record(arg, rec->h, rec->h->kind == LP_EV_SYSCALL ? rec->shown : NULL, rec->shown_id);
}

/* The records from the trace again, through a resolver of their own. */
static void read_trace(struct px *c, struct lp_reader *r)
{
	struct lp_resolver *res = lp_resolver_new();
	const struct lp_hdr *h;
	while (lp_reader_next(r, &h) == 1) {
		if (!lp_ev_valid(h))
			continue;
		if (h->kind != LP_EV_SYSCALL) {
			on_record(c, h, NULL, 0);
			lp_resolver_feed(res, h);
			continue;
		}
		const struct lp_ev_syscall *ev = (const void *)h;
		char pbuf[4096], fbuf[4096];
		/* the path the resolver's feed resolves too: once, not twice */
		const char *first = lp_resolver_first_path(res, ev, NULL, pbuf, sizeof(pbuf));
		on_record(c, h, first ? first : lp_resolver_event_path(res, ev, fbuf, sizeof(fbuf)), 0);
		lp_resolver_feed_first(res, h, first);
	}
	lp_resolver_free(res);
}

int lp_export_perfetto(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		       const struct lp_export_opts *opt, char *err, size_t errlen)
{
	(void)opt;
	struct px c;
	memset(&c, 0, sizeof(c));
	c.m = m;
	c.o = o;
	span(&c, r);
	if (lp_reader_rewind(r) < 0) {
		snprintf(err, errlen, "cannot rewind the trace");
		return -1;
	}
	c.uuid_proc0 = UUID_STEP0 + m->nsteps;
	c.uuid_thr0 = c.uuid_proc0 + m->nprocs;
	lp_iocount_init(&c.io, c.t0, c.t_end);

	emit_first(&c);
	emit_tracks(&c);
	c.last_ts = c.t_end;
	/* the records: the model's read of the trace replayed when it kept
	 * them all (lp_model_options.replay_all), else the trace again */
	if (!lp_model_replay(m, true, on_replayed, &c))
		read_trace(&c, r);
	c.t_end = c.last_ts;
	const struct lp_build *b = &m->build;
	uint64_t ba = b->start_ns ? b->start_ns : c.t0;
	uint64_t be = b->end_ns > ba ? b->end_ns : c.t_end;
	emit_build(&c, ba, be);
	emit_steps(&c);
	emit_procs(&c);
	emit_counters(&c);

	lp_iocount_free(&c.io);
	lp_strtab_free(&c.paths);
	free(c.iid_of_str);
	lp_u64map_free(&c.thr_idx);
	free(c.thr);
	free(c.sc_interned);
	free(c.iid_of_model);
	lp_buf_free(&c.p);
	return 0;
}
