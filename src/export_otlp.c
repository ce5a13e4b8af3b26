/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenTelemetry traces of a recording: the model as one OTLP trace (see
 * otlp.h for the shape), its OTLP/JSON encoding, the --otlp-* options that
 * export and record share, and the one "load, make, send" path.
 *
 * Span and attribute names (stable; new ones may be added):
 *   root     "build <tag>" (or "build"): layerprof.build.status, .wall_ms,
 *            .steps, .cached_steps, .cacheable_steps, .cache_hit_rate (when
 *            known), .context_bytes, .context_files, .image_bytes (when
 *            measured), .events, .lost_events, .command, .trace_file;
 *            Status ERROR with the build's error line when it failed
 *   step     the step's name as BuildKit prints it ("[3/5] COPY . ."):
 *            layerprof.step.id, .cached, .status, .dockerfile_line (when
 *            known), .stage, .instruction, .files_read, .bytes_read,
 *            .files_written, .bytes_written, .execs, .context_files_read
 *            (count) and .context_paths_read, .time_source
 *   process  its argv[0]'s base name (else its comm): process.pid, process.parent_pid,
 *            layerprof.process.comm,
 *            process.executable.path, process.command_args (argv as the
 *            trace holds it: redacted by record), process.exit_code,
 *            layerprof.process.on_cpu_ns (CPU time, when it exited),
 *            layerprof.process.role, .bytes_read, .bytes_written,
 *            .files_read, .files_written
 *   events   a finding on its step's span (else the root's), named by its
 *            kind: layerprof.finding.kind, .message, .suggestion, .paths,
 *            .paths_total, .evidence, .estimated_savings_ms, .estimated_savings_bytes,
 *            .edit_before, .edit_after
 * Resource: service.name (layerprof, or --otlp-service), service.version and
 * layerprof.version (the recorder's), host.name, host.arch, os.type,
 * os.version (kernel release), layerprof.engine (the build daemon's
 * name) and layerprof.engine.executable, layerprof.engine.version when the
 * trace has it (record does not ask the daemon today), layerprof.docker_cli.major
 * and layerprof.buildx.version (when record asked the CLI), layerprof.builder
 * and layerprof.builder.driver.
 *
 * The trace id is a hash of the trace's META (the same file gives the same
 * trace id, so sending it twice does not make a second trace); span ids are
 * hashes of the trace id and the span's place. A span of no measured time
 * is 1 ns long; the build's span starts and ends on whole µs (widened by
 * less than 1 µs) so that every child is inside it in µs too.
 */
#include "otlp.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "export.h"
#include "model.h"
#include "session.h"
#include "trace.h"
#include "version.h"

/* ------------------------------------------------------------ attributes */

static struct lp_otlp_attr *attr_new(struct lp_otlp_attrs *a, const char *key, enum lp_otlp_vtype t)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = lp_xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	struct lp_otlp_attr *x = &a->v[a->n++];
	memset(x, 0, sizeof(*x));
	x->key = lp_xstrdup(key);
	x->type = t;
	return x;
}

void lp_otlp_add_str(struct lp_otlp_attrs *a, const char *key, const char *v)
{
	attr_new(a, key, LP_OTLP_STR)->s = lp_xstrdup(v ? v : "");
}

void lp_otlp_add_int(struct lp_otlp_attrs *a, const char *key, int64_t v)
{
	attr_new(a, key, LP_OTLP_INT)->i = v;
}

void lp_otlp_add_bool(struct lp_otlp_attrs *a, const char *key, bool v)
{
	attr_new(a, key, LP_OTLP_BOOL)->b = v;
}

void lp_otlp_add_double(struct lp_otlp_attrs *a, const char *key, double v)
{
	attr_new(a, key, LP_OTLP_DOUBLE)->d = v;
}

void lp_otlp_add_strs(struct lp_otlp_attrs *a, const char *key, const char *const *v, size_t n)
{
	struct lp_otlp_attr *x = attr_new(a, key, LP_OTLP_STRS);
	x->strs = lp_xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		x->strs[i] = lp_xstrdup(v[i] ? v[i] : "");
	x->nstrs = n;
}

void lp_otlp_attrs_free(struct lp_otlp_attrs *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].key);
		free(a->v[i].s);
		for (size_t k = 0; k < a->v[i].nstrs; k++)
			free(a->v[i].strs[k]);
		free(a->v[i].strs);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

void lp_otlp_doc_free(struct lp_otlp_doc *d)
{
	lp_otlp_attrs_free(&d->resource);
	for (size_t i = 0; i < d->nspans; i++) {
		struct lp_otlp_span *s = &d->spans[i];
		free(s->name);
		free(s->status_message);
		lp_otlp_attrs_free(&s->attrs);
		for (size_t k = 0; k < s->nevents; k++) {
			free(s->events[k].name);
			lp_otlp_attrs_free(&s->events[k].attrs);
		}
		free(s->events);
	}
	free(d->spans);
	memset(d, 0, sizeof(*d));
}

/* ------------------------------------------------------------- model -> doc */

/* An unsigned number of the META text, exactly (cJSON's doubles round
 * nanosecond timestamps): the first "key": at any depth. 0 when absent. */
static uint64_t meta_u64(const char *meta, const char *key)
{
	char pat[96];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = meta ? strstr(meta, pat) : NULL;
	if (!p)
		return 0;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno || end == p || *end == '.' || *end == 'e' || *end == 'E')
		return (uint64_t)strtod(p, NULL);   /* written as a double by an older recorder */
	return v;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) && v->valuestring && *v->valuestring ? v->valuestring : NULL;
}

struct mk {
	const struct lp_model *m;
	struct lp_otlp_doc *d;
	uint64_t mono0, real0;      /* the META's clock pair */
	uint64_t fallback_ns;       /* a monotonic time for spans with none */
};

static uint64_t wall(const struct mk *k, uint64_t mono)
{
	if (!mono)
		mono = k->fallback_ns;
	if (!k->real0)
		return mono;            /* no pair: the monotonic value (still ordered) */
	if (mono >= k->mono0)
		return k->real0 + (mono - k->mono0);
	uint64_t back = k->mono0 - mono;
	return back < k->real0 ? k->real0 - back : 0;
}

static void make_id(const uint8_t trace_id[16], const char *what, long idx, uint8_t *out, size_t n)
{
	char key[96];
	snprintf(key, sizeof(key), "%02x%02x%02x%02x%02x%02x%02x%02x/%s/%ld", trace_id[0], trace_id[1],
		 trace_id[2], trace_id[3], trace_id[4], trace_id[5], trace_id[6], trace_id[7], what, idx);
	for (size_t i = 0; i < n; i += 4) {
		uint32_t h = lp_hash_str(key, (uint32_t)(0x9e3779b9u * (i / 4 + 1)));
		for (size_t b = 0; b < 4 && i + b < n; b++)
			out[i + b] = (uint8_t)(h >> (8 * b));
	}
	bool zero = true;
	for (size_t i = 0; i < n; i++)
		zero = zero && !out[i];
	if (zero)
		out[0] = 1;     /* all-zero ids are invalid */
}

static struct lp_otlp_span *span_new(struct lp_otlp_doc *d, const char *name)
{
	if (d->nspans == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 32;
		d->spans = lp_xrealloc(d->spans, d->cap * sizeof(*d->spans));
	}
	struct lp_otlp_span *s = &d->spans[d->nspans++];
	memset(s, 0, sizeof(*s));
	memcpy(s->trace_id, d->trace_id, sizeof(s->trace_id));
	s->name = lp_xstrdup(name && *name ? name : "?");
	s->kind = LP_OTLP_KIND_INTERNAL;
	return s;
}

static struct lp_otlp_event *event_new(struct lp_otlp_span *s, const char *name, uint64_t t)
{
	s->events = lp_xrealloc(s->events, (s->nevents + 1) * sizeof(*s->events));
	struct lp_otlp_event *e = &s->events[s->nevents++];
	memset(e, 0, sizeof(*e));
	e->name = lp_xstrdup(name);
	e->time_unix_ns = t;
	return e;
}

/* The build daemon's comm and pid: the daemon above a RUN step's processes,
 * else the first dockerd/buildkitd the trace knows. */
static const struct lp_proc *build_daemon(const struct lp_model *m)
{
	for (size_t i = 0; i < m->nsteps; i++) {
		int pi = m->steps[i].first_proc;
		for (int guard = 0; pi >= 0 && (size_t)pi < m->nprocs && guard < 64; guard++) {
			const struct lp_proc *p = &m->procs[pi];
			if (p->role == LP_ROLE_DAEMON &&
			    (!strncmp(p->comm, "dockerd", 7) || !strncmp(p->comm, "buildkitd", 9)))
				return p;
			pi = p->parent;
		}
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		if (p->role == LP_ROLE_DAEMON && (!strcmp(p->comm, "dockerd") || !strcmp(p->comm, "buildkitd")))
			return p;
	}
	return NULL;
}

static void add_resource(struct mk *k, const cJSON *meta, const char *service)
{
	struct lp_otlp_attrs *r = &k->d->resource;
	const cJSON *host = cJSON_GetObjectItemCaseSensitive(meta, "host");
	const char *ver = jstr(meta, "layerprof_version");
	lp_otlp_add_str(r, "service.name", service && *service ? service : "layerprof");
	if (ver) {
		lp_otlp_add_str(r, "service.version", ver);
		lp_otlp_add_str(r, "layerprof.version", ver);
	}
	lp_otlp_add_str(r, "host.name", jstr(host, "hostname") ? jstr(host, "hostname") : "unknown");
	if (jstr(host, "machine"))
		lp_otlp_add_str(r, "host.arch", !strcmp(jstr(host, "machine"), "x86_64") ? "amd64" : jstr(host, "machine"));
	lp_otlp_add_str(r, "os.type", "linux");
	if (jstr(host, "kernel_release"))
		lp_otlp_add_str(r, "os.version", jstr(host, "kernel_release"));

	const struct lp_proc *dp = build_daemon(k->m);
	const cJSON *ds = cJSON_GetObjectItemCaseSensitive(meta, "daemons"), *dj;
	const char *exe = NULL, *dver = NULL;
	cJSON_ArrayForEach(dj, ds) {
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(dj, "pid");
		if (dp && cJSON_IsNumber(pid) && (uint32_t)pid->valuedouble == dp->pid) {
			exe = jstr(dj, "exe");
			dver = jstr(dj, "version");
		}
	}
	if (dp) {
		lp_otlp_add_str(r, "layerprof.engine", dp->comm);
		if (exe || dp->exe)
			lp_otlp_add_str(r, "layerprof.engine.executable", exe ? exe : dp->exe);
		if (!dver)
			dver = k->m->build.engine_version; /* record asked it at the end */
		if (dver)
			lp_otlp_add_str(r, "layerprof.engine.version", dver);
	}
	/* the client side, when record asked it (docker CLI major, buildx) */
	const cJSON *bj = cJSON_GetObjectItemCaseSensitive(meta, "build");
	const cJSON *cli = cJSON_GetObjectItemCaseSensitive(bj, "docker_cli_major");
	if (cJSON_IsNumber(cli) && cli->valuedouble > 0)
		lp_otlp_add_int(r, "layerprof.docker_cli.major", (int64_t)cli->valuedouble);
	if (jstr(bj, "buildx_version"))
		lp_otlp_add_str(r, "layerprof.buildx.version", jstr(bj, "buildx_version"));
	if (k->m->build.builder)
		lp_otlp_add_str(r, "layerprof.builder", k->m->build.builder);
	if (k->m->build.builder_driver)
		lp_otlp_add_str(r, "layerprof.builder.driver", k->m->build.builder_driver);
}

static void add_finding_event(struct mk *k, struct lp_otlp_span *s, const struct lp_finding *f, uint64_t t)
{
	const char *kind = lp_finding_kind_name(f->kind);
	struct lp_otlp_event *e = event_new(s, kind, t);
	lp_otlp_add_str(&e->attrs, "layerprof.finding.kind", kind);
	lp_otlp_add_str(&e->attrs, "layerprof.finding.message", f->message);
	if (f->suggestion)
		lp_otlp_add_str(&e->attrs, "layerprof.finding.suggestion", f->suggestion);
	if (f->npaths)
		lp_otlp_add_strs(&e->attrs, "layerprof.finding.paths", (const char *const *)f->paths, f->npaths);
	lp_otlp_add_int(&e->attrs, "layerprof.finding.paths_total", (int64_t)f->npaths_total);
	if (f->nevidence)
		lp_otlp_add_strs(&e->attrs, "layerprof.finding.evidence", (const char *const *)f->evidence,
				 f->nevidence);
	if (f->savings_ms)
		lp_otlp_add_int(&e->attrs, "layerprof.finding.estimated_savings_ms", f->savings_ms);
	if (f->savings_bytes)
		lp_otlp_add_int(&e->attrs, "layerprof.finding.estimated_savings_bytes", f->savings_bytes);
	if (f->edit_before)
		lp_otlp_add_str(&e->attrs, "layerprof.finding.edit_before", f->edit_before);
	if (f->edit_after)
		lp_otlp_add_str(&e->attrs, "layerprof.finding.edit_after", f->edit_after);
	(void)k;
}

static void add_agg(struct lp_otlp_attrs *a, const char *pfx, const struct lp_agg *g)
{
	char key[96];
#define AGG(name, v) (snprintf(key, sizeof(key), "%s." name, pfx), lp_otlp_add_int(a, key, (int64_t)(v)))
	AGG("files_read", g->files_read);
	AGG("bytes_read", g->bytes_read);
	AGG("files_written", g->files_written);
	AGG("bytes_written", g->bytes_written);
	AGG("execs", g->execs);
#undef AGG
}

void lp_otlp_from_model(const struct lp_model *m, const char *meta_json, const char *trace_name,
			const char *service, int build, struct lp_otlp_doc *d)
{
	memset(d, 0, sizeof(*d));
	struct mk k = { .m = m, .d = d };
	k.mono0 = meta_u64(meta_json, "start_monotonic_ns");
	k.real0 = meta_u64(meta_json, "start_realtime_ns");
	const struct lp_build *b = &m->build;
	k.fallback_ns = b->start_ns ? b->start_ns : k.mono0;
	cJSON *meta = cJSON_Parse(meta_json ? meta_json : "{}");

	/* the trace id: the META identifies the recording (and the index a
	 * build of a session) */
	const char *idsrc = meta_json ? meta_json : "";
	for (int i = 0; i < 4; i++) {
		uint32_t seed = 0x85ebca6bu * (uint32_t)(i + 1) + (build >= 0 ? 0x27d4eb2fu * (uint32_t)(build + 1) : 0);
		uint32_t h = lp_hash_str(idsrc, seed);
		for (int bb = 0; bb < 4; bb++)
			d->trace_id[4 * i + bb] = (uint8_t)(h >> (8 * bb));
	}
	d->scope_name = "layerprof";
	d->scope_version = LAYERPROF_VERSION;
	add_resource(&k, meta, service);

	/* root: the build */
	char name[512];
	snprintf(name, sizeof(name), "build%s%s", b->image_ref ? " " : "", b->image_ref ? b->image_ref : "");
	struct lp_otlp_span *root = span_new(d, name);
	make_id(d->trace_id, "build", 0, root->span_id, 8);
	uint64_t b0 = b->start_ns ? b->start_ns : k.mono0;
	uint64_t b1 = b->wall_ns ? b0 + b->wall_ns : (b->end_ns ? b->end_ns : b0);
	struct lp_otlp_attrs *ra = &root->attrs;
	lp_otlp_add_str(ra, "layerprof.build.status", b->failed ? "failed" : "ok");
	lp_otlp_add_int(ra, "layerprof.build.wall_ms", (int64_t)(b->wall_ns / 1000000));
	lp_otlp_add_int(ra, "layerprof.build.steps", (int64_t)b->steps);
	lp_otlp_add_int(ra, "layerprof.build.cached_steps", (int64_t)b->cached_steps);
	lp_otlp_add_int(ra, "layerprof.build.cacheable_steps", (int64_t)b->cacheable_steps);
	if (b->cache_hit_rate >= 0 && !b->steps_inferred)
		lp_otlp_add_double(ra, "layerprof.build.cache_hit_rate", b->cache_hit_rate);
	lp_otlp_add_int(ra, "layerprof.build.context_bytes", (int64_t)m->context.bytes);
	lp_otlp_add_int(ra, "layerprof.build.context_files", (int64_t)m->context.files);
	if (b->image_bytes_source)
		lp_otlp_add_int(ra, "layerprof.build.image_bytes", (int64_t)b->image_bytes);
	lp_otlp_add_int(ra, "layerprof.build.events", (int64_t)b->events);
	lp_otlp_add_int(ra, "layerprof.build.lost_events", (int64_t)b->lost_events);
	lp_otlp_add_int(ra, "layerprof.build.findings", (int64_t)m->nfindings);
	if (b->steps_inferred)
		lp_otlp_add_bool(ra, "layerprof.build.steps_inferred", true);
	if (b->truncated)
		lp_otlp_add_bool(ra, "layerprof.build.truncated", true);
	if (b->command)
		lp_otlp_add_str(ra, "layerprof.build.command", b->command);
	if (b->image_ref)
		lp_otlp_add_str(ra, "layerprof.build.image", b->image_ref);
	if (b->target)
		lp_otlp_add_str(ra, "layerprof.build.target", b->target);
	if (build >= 0)
		lp_otlp_add_int(ra, "layerprof.build.index", build);
	if (b->session_overlaps)
		lp_otlp_add_bool(ra, "layerprof.build.overlaps", true);
	if (trace_name)
		lp_otlp_add_str(ra, "layerprof.trace_file", trace_name);
	if (b->failed) {
		root->status_code = LP_OTLP_STATUS_ERROR;
		root->status_message = lp_xstrdup(b->error ? b->error : "the build failed");
	}

	/* steps (their span index by step index) */
	size_t *step_span = lp_xcalloc(m->nsteps ? m->nsteps : 1, sizeof(size_t));
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		uint64_t s0 = lp_step_start_ns(s), s1 = lp_step_end_ns(s);
		if (!s0)
			s0 = s->start_ns ? s->start_ns : b0;
		if (!s1 || s1 < s0)
			s1 = s->end_ns > s0 ? s->end_ns : s0;
		if (s1 <= s0)
			s1 = s0 + 1;    /* no measured time: 1 ns (see below) */
		step_span[i] = d->nspans;
		struct lp_otlp_span *sp = span_new(d, s->name);
		make_id(d->trace_id, "step", (long)i, sp->span_id, 8);
		memcpy(sp->parent_id, d->spans[0].span_id, 8);
		sp->has_parent = true;
		sp->start_unix_ns = s0;         /* mapped below */
		sp->end_unix_ns = s1;
		if (s0 < b0)
			b0 = s0;
		if (s1 > b1)
			b1 = s1;
		struct lp_otlp_attrs *a = &sp->attrs;
		lp_otlp_add_str(a, "layerprof.step.id", s->id);
		lp_otlp_add_bool(a, "layerprof.step.cached", s->cached);
		lp_otlp_add_str(a, "layerprof.step.status", lp_step_status_name(s->status));
		if (s->dockerfile_line > 0)
			lp_otlp_add_int(a, "layerprof.step.dockerfile_line", s->dockerfile_line);
		lp_otlp_add_str(a, "layerprof.step.stage", s->stage ? s->stage : "");
		lp_otlp_add_str(a, "layerprof.step.instruction", s->instruction ? s->instruction : "");
		add_agg(a, "layerprof.step", &s->agg);
		lp_otlp_add_int(a, "layerprof.step.context_files_read", (int64_t)s->nreads_from_context);
		if (s->nreads_from_context)
			lp_otlp_add_strs(a, "layerprof.step.context_paths_read",
					 (const char *const *)s->reads_from_context, s->nreads_from_context);
		lp_otlp_add_str(a, "layerprof.step.time_source", lp_time_source_name(s->time_src));
		if (s->inferred)
			lp_otlp_add_bool(a, "layerprof.step.inferred", true);
		if (s->status == LP_STEP_ERROR) {
			sp->status_code = LP_OTLP_STATUS_ERROR;
			sp->status_message = lp_xstrdup(s->error ? s->error : "the step failed");
		}
	}

	/* processes: under their parent process when it is in the same step */
	long *proc_span = lp_xcalloc(m->nprocs ? m->nprocs : 1, sizeof(long));
	for (size_t i = 0; i < m->nprocs; i++)
		proc_span[i] = -1;
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		if (p->step < 0 || (size_t)p->step >= m->nsteps)
			continue;
		const struct lp_otlp_span *ss = &d->spans[step_span[p->step]];
		uint64_t p0 = p->start_ns ? p->start_ns : p->exec_ns ? p->exec_ns : ss->start_unix_ns;
		uint64_t p1 = p->exited && p->end_ns > p0 ? p->end_ns : ss->end_unix_ns > p0 ? ss->end_unix_ns : p0 + 1;
		proc_span[i] = (long)d->nspans;
		/* named by what was run (argv[0]): a re-exec'd /proc/self/exe shows as comm "exe" */
		const char *pname = p->argc > 0 && p->argv[0] && *p->argv[0] ? lp_base_name(p->argv[0]) : p->comm;
		struct lp_otlp_span *sp = span_new(d, pname && *pname ? pname : p->comm);
		make_id(d->trace_id, "proc", (long)i, sp->span_id, 8);
		sp->has_parent = true;
		sp->start_unix_ns = p0;
		sp->end_unix_ns = p1;
		if (p1 > b1)
			b1 = p1;
		if (p0 < b0)
			b0 = p0;
		struct lp_otlp_attrs *a = &sp->attrs;
		lp_otlp_add_int(a, "process.pid", p->pid);
		lp_otlp_add_int(a, "process.parent_pid", p->ppid);
		lp_otlp_add_str(a, "layerprof.process.comm", p->comm);
		if (p->exe)
			lp_otlp_add_str(a, "process.executable.path", p->exe);
		if (p->argc > 0)
			lp_otlp_add_strs(a, "process.command_args", (const char *const *)p->argv, (size_t)p->argc);
		if (p->exited)
			lp_otlp_add_int(a, "process.exit_code", p->exit_code);
		if (p->cpu_ns) /* 0: unknown (running at the end, or a trace made before the field) */
			lp_otlp_add_int(a, "layerprof.process.on_cpu_ns", (int64_t)p->cpu_ns);
		lp_otlp_add_str(a, "layerprof.process.role", lp_role_name(p->role));
		add_agg(a, "layerprof.process", &p->agg);
		if (p->exited && p->exit_code != 0)
			sp->status_code = LP_OTLP_STATUS_ERROR;
	}
	/* parents: the nearest ancestor process in the same step whose span
	 * holds this one in time (a child that outlives its parent, as runc
	 * init does runc, goes under the grandparent: backends take a child
	 * outside its parent for clock skew), else the step; process.parent_pid
	 * keeps the real parent */
	for (size_t i = 0; i < m->nprocs; i++) {
		if (proc_span[i] < 0)
			continue;
		const struct lp_proc *p = &m->procs[i];
		struct lp_otlp_span *sp = &d->spans[proc_span[i]];
		int par = p->parent;
		for (int guard = 0; par >= 0 && (size_t)par < m->nprocs && guard < 64; guard++) {
			const struct lp_otlp_span *ps = proc_span[par] >= 0 ? &d->spans[proc_span[par]] : NULL;
			if (!ps || m->procs[par].step != p->step) {
				par = -1;
				break;
			}
			if (ps->start_unix_ns <= sp->start_unix_ns && sp->end_unix_ns <= ps->end_unix_ns)
				break;
			par = m->procs[par].parent;
		}
		if (par >= 0 && (size_t)par < m->nprocs && proc_span[par] >= 0)
			memcpy(sp->parent_id, d->spans[proc_span[par]].span_id, 8);
		else
			memcpy(sp->parent_id, d->spans[step_span[p->step]].span_id, 8);
	}

	/* findings: events of their step's span, else of the root */
	for (size_t i = 0; i < m->nfindings; i++) {
		const struct lp_finding *f = &m->findings[i];
		struct lp_otlp_span *sp = f->step >= 0 && (size_t)f->step < m->nsteps ? &d->spans[step_span[f->step]]
										  : &d->spans[0];
		add_finding_event(&k, sp, f, sp == &d->spans[0] ? b1 : sp->end_unix_ns);
	}

	/* the root covers its children; then every time to wall-clock time */
	d->spans[0].start_unix_ns = b0;
	d->spans[0].end_unix_ns = b1;
	for (size_t i = 0; i < d->nspans; i++) {
		struct lp_otlp_span *s = &d->spans[i];
		s->start_unix_ns = wall(&k, s->start_unix_ns);
		s->end_unix_ns = wall(&k, s->end_unix_ns);
		/* no measured time (a cached step): 1 ns, as backends take an end
		 * equal to the start for a broken span (Jaeger: "negative duration") */
		if (s->end_unix_ns <= s->start_unix_ns)
			s->end_unix_ns = s->start_unix_ns + 1;
		/* the build's span on whole µs, widened by less than 1 µs: backends
		 * that keep µs (Jaeger) then still see every child inside it */
		if (i == 0) {
			s->start_unix_ns -= s->start_unix_ns % 1000;
			s->end_unix_ns += (1000 - s->end_unix_ns % 1000) % 1000;
		}
		for (size_t e = 0; e < s->nevents; e++)
			s->events[e].time_unix_ns = wall(&k, s->events[e].time_unix_ns);
	}
	free(step_span);
	free(proc_span);
	cJSON_Delete(meta);
}

/* ------------------------------------------------------------ OTLP/JSON */

/* OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions): ids as
 * hex strings, enums as numbers, 64-bit integers as decimal strings. */
static void json_hex(struct lp_buf *b, const uint8_t *p, size_t n)
{
	lp_buf_puts(b, "\"");
	for (size_t i = 0; i < n; i++)
		lp_buf_printf(b, "%02x", p[i]);
	lp_buf_puts(b, "\"");
}

static void json_attrs(struct lp_buf *b, const struct lp_otlp_attrs *as)
{
	lp_buf_puts(b, "[");
	for (size_t i = 0; i < as->n; i++) {
		const struct lp_otlp_attr *a = &as->v[i];
		lp_buf_puts(b, i ? ",{\"key\":" : "{\"key\":");
		lp_buf_json_str(b, a->key);
		lp_buf_puts(b, ",\"value\":{");
		switch (a->type) {
		case LP_OTLP_STR:
			lp_buf_puts(b, "\"stringValue\":");
			lp_buf_json_str(b, a->s);
			break;
		case LP_OTLP_INT:
			lp_buf_printf(b, "\"intValue\":\"%lld\"", (long long)a->i);
			break;
		case LP_OTLP_BOOL:
			lp_buf_printf(b, "\"boolValue\":%s", a->b ? "true" : "false");
			break;
		case LP_OTLP_DOUBLE:
			lp_buf_printf(b, "\"doubleValue\":%.17g", a->d);
			break;
		case LP_OTLP_STRS:
			lp_buf_puts(b, "\"arrayValue\":{\"values\":[");
			for (size_t k = 0; k < a->nstrs; k++) {
				lp_buf_puts(b, k ? ",{\"stringValue\":" : "{\"stringValue\":");
				lp_buf_json_str(b, a->strs[k]);
				lp_buf_puts(b, "}");
			}
			lp_buf_puts(b, "]}");
			break;
		}
		lp_buf_puts(b, "}}");
	}
	lp_buf_puts(b, "]");
}

void lp_otlp_encode_json(const struct lp_otlp_doc *d, struct lp_buf *b)
{
	lp_buf_puts(b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":");
	json_attrs(b, &d->resource);
	lp_buf_puts(b, "},\n\"scopeSpans\":[{\"scope\":{\"name\":");
	lp_buf_json_str(b, d->scope_name);
	if (d->scope_version) {
		lp_buf_puts(b, ",\"version\":");
		lp_buf_json_str(b, d->scope_version);
	}
	lp_buf_puts(b, "},\"spans\":[");
	for (size_t i = 0; i < d->nspans; i++) {
		const struct lp_otlp_span *s = &d->spans[i];
		lp_buf_puts(b, i ? ",\n{\"traceId\":" : "\n{\"traceId\":");
		json_hex(b, s->trace_id, sizeof(s->trace_id));
		lp_buf_puts(b, ",\"spanId\":");
		json_hex(b, s->span_id, 8);
		if (s->has_parent) {
			lp_buf_puts(b, ",\"parentSpanId\":");
			json_hex(b, s->parent_id, 8);
		}
		lp_buf_puts(b, ",\"flags\":1,\"name\":");
		lp_buf_json_str(b, s->name);
		lp_buf_printf(b, ",\"kind\":%d,\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\",\"attributes\":",
			      s->kind, (unsigned long long)s->start_unix_ns, (unsigned long long)s->end_unix_ns);
		json_attrs(b, &s->attrs);
		if (s->nevents) {
			lp_buf_puts(b, ",\"events\":[");
			for (size_t e = 0; e < s->nevents; e++) {
				const struct lp_otlp_event *ev = &s->events[e];
				lp_buf_printf(b, "%s{\"timeUnixNano\":\"%llu\",\"name\":", e ? "," : "",
					      (unsigned long long)ev->time_unix_ns);
				lp_buf_json_str(b, ev->name);
				lp_buf_puts(b, ",\"attributes\":");
				json_attrs(b, &ev->attrs);
				lp_buf_puts(b, "}");
			}
			lp_buf_puts(b, "]");
		}
		if (s->status_code || s->status_message) {
			lp_buf_puts(b, ",\"status\":{");
			if (s->status_message) {
				lp_buf_puts(b, "\"message\":");
				lp_buf_json_str(b, s->status_message);
			}
			if (s->status_code)
				lp_buf_printf(b, "%s\"code\":%d", s->status_message ? "," : "", s->status_code);
			lp_buf_puts(b, "}");
		}
		lp_buf_puts(b, "}");
	}
	lp_buf_puts(b, "]}]}]}\n");
}

/* `export -o x.otlp.json`: the same JSON a collector gets with --otlp-format json. */
int lp_export_otlp_json(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
			const struct lp_export_opts *opt, char *err, size_t errlen)
{
	struct lp_otlp_doc d;
	if (lp_otlp_from_reader(m, r, opt->trace_name, opt->service, &d, NULL, err, errlen) < 0)
		return -1;
	struct lp_buf b = { 0 };
	lp_otlp_encode_json(&d, &b);
	lp_xout_write(o, b.data, b.len);
	lp_buf_free(&b);
	lp_otlp_doc_free(&d);
	return 0;
}

/* ----------------------------------------------------------- options */

const char lp_otlp_help[] =
	"      --otlp-endpoint URL  send the build as an OpenTelemetry trace: OTLP/HTTP POST\n"
	"                           to URL/v1/traces (http:// or https://; a URL that already\n"
	"                           ends in /v1/traces is used as it is)\n"
	"      --otlp-format F      protobuf (default) or json\n"
	"      --otlp-header K=V    an HTTP header (repeatable), e.g. authorization=Bearer...\n"
	"      --otlp-service NAME  the resource's service.name (default layerprof)\n"
	"      --otlp-timeout SEC   per attempt (default 10s; 250ms, 30s, 1m)\n"
	"      --otlp-retries N     further attempts after a connection failure, a timeout or\n"
	"                           HTTP 429/502/503/504, waiting 0.5 s, 1 s, 2 s... (default 3)\n"
	"      --otlp-compression C gzip (default) or none\n"
	"      --otlp-max-spans N   spans per request (default 1000): a big build goes as\n"
	"                           several requests of the same trace\n";

void lp_otlp_opts_init(struct lp_otlp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->gzip = true;
	o->service = "layerprof";
	o->timeout_ms = LP_OTLP_DEFAULT_TIMEOUT_MS;
	o->retries = LP_OTLP_DEFAULT_RETRIES;
	o->backoff_ms = LP_OTLP_DEFAULT_BACKOFF_MS;
	o->max_spans = LP_OTLP_DEFAULT_MAX_SPANS;
}

void lp_otlp_opts_free(struct lp_otlp_opts *o)
{
	for (size_t i = 0; i < o->nheaders; i++)
		free(o->headers[i]);
	free(o->headers);
	o->headers = NULL;
	o->nheaders = 0;
}

int lp_otlp_opt(struct lp_otlp_opts *o, const char *cmd, int c, const char *val)
{
	if (c == LP_OTLP_OPT_ENDPOINT) {
		if (strncmp(val, "http://", 7) && strncmp(val, "https://", 8)) {
			lp_error("%s: --otlp-endpoint wants an http:// or https:// URL, not '%s'", cmd, val);
			return -1;
		}
		o->endpoint = val;
	} else if (c == LP_OTLP_OPT_FORMAT) {
		if (!strcmp(val, "json"))
			o->json = true;
		else if (!strcmp(val, "protobuf") || !strcmp(val, "proto"))
			o->json = false;
		else {
			lp_error("%s: --otlp-format is protobuf or json, not '%s'", cmd, val);
			return -1;
		}
	} else if (c == LP_OTLP_OPT_HEADER) {
		const char *eq = strchr(val, '=');
		size_t klen = eq ? (size_t)(eq - val) : 0;
		if (!eq || !klen || strcspn(val, ": \t\r\n") < klen || strpbrk(val, "\r\n")) {
			lp_error("%s: --otlp-header wants KEY=VALUE (no newlines), not '%s'", cmd, val);
			return -1;
		}
		o->headers = lp_xrealloc(o->headers, (o->nheaders + 1) * sizeof(char *));
		o->headers[o->nheaders++] = lp_xasprintf("%.*s: %s", (int)(eq - val), val, eq + 1);
	} else if (c == LP_OTLP_OPT_SERVICE) {
		if (!*val) {
			lp_error("%s: --otlp-service needs a name", cmd);
			return -1;
		}
		o->service = val;
	} else if (c == LP_OTLP_OPT_TIMEOUT) {
		if (!lp_parse_duration_ms(val, &o->timeout_ms) || !o->timeout_ms) {
			lp_error("%s: --otlp-timeout wants a positive time (10, 10s, 250ms, 1m), not '%s'", cmd, val);
			return -1;
		}
	} else if (c == LP_OTLP_OPT_RETRIES) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(val, &end, 10);
		if (errno || end == val || *end || val[0] == '-' || v > 20) {
			lp_error("%s: --otlp-retries wants a number from 0 to 20, not '%s'", cmd, val);
			return -1;
		}
		o->retries = (unsigned)v;
	} else if (c == LP_OTLP_OPT_MAX_SPANS) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(val, &end, 10);
		if (errno || end == val || *end || val[0] == '-' || v == 0 || v > 1000000) {
			lp_error("%s: --otlp-max-spans wants a number from 1 to 1000000, not '%s'", cmd, val);
			return -1;
		}
		o->max_spans = v;
	} else if (c == LP_OTLP_OPT_COMPRESSION) {
		if (!strcmp(val, "gzip"))
			o->gzip = true;
		else if (!strcmp(val, "none"))
			o->gzip = false;
		else {
			lp_error("%s: --otlp-compression is gzip or none, not '%s'", cmd, val);
			return -1;
		}
	} else {
		lp_error("%s: unknown option %d", cmd, c);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- shipping */

int lp_otlp_from_reader(const struct lp_model *m, struct lp_reader *r, const char *path,
			const char *service, struct lp_otlp_doc *d, size_t *ntraces, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	const char *meta = lp_reader_meta(r);
	if (!lp_session_recorded(path)) {
		struct lp_model *own = NULL;
		if (!m) {
			struct lp_model_options mo = { .no_findings = false };
			if (!(own = lp_model_from_reader(r, &mo, err, errlen)))
				return -1;
		}
		lp_otlp_from_model(m ? m : own, meta, path, service, -1, d);
		lp_model_free(own);
		if (ntraces)
			*ntraces = 1;
		return 0;
	}
	/* a session: each build its own model and trace, one document */
	struct lp_model **models;
	size_t n;
	if (lp_session_load(path, false, &models, &n, err, errlen) < 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		struct lp_otlp_doc part;
		lp_otlp_from_model(models[k], meta, path, service, (int)k, &part);
		lp_model_free(models[k]);
		if (k == 0) {
			*d = part;      /* its resource (the host's) and spans */
			continue;
		}
		if (d->nspans + part.nspans > d->cap) {
			d->cap = d->nspans + part.nspans;
			d->spans = lp_xrealloc(d->spans, d->cap * sizeof(*d->spans));
		}
		memcpy(d->spans + d->nspans, part.spans, part.nspans * sizeof(*part.spans));
		d->nspans += part.nspans;
		free(part.spans);
		part.spans = NULL;
		part.nspans = 0;
		lp_otlp_doc_free(&part);
	}
	free(models);
	if (ntraces)
		*ntraces = n;
	return 0;
}

int lp_otlp_send(const struct lp_model *m, struct lp_reader *r, const char *trace_name,
		 const struct lp_otlp_opts *o, size_t *spans, size_t *traces, size_t *bytes, char *err,
		 size_t errlen)
{
	struct lp_otlp_doc d;
	if (lp_otlp_from_reader(m, r, trace_name, o->service, &d, traces, err, errlen) < 0)
		return -1;
	struct lp_buf body = { 0 };
	size_t per = o->max_spans ? o->max_spans : LP_OTLP_DEFAULT_MAX_SPANS, sent = 0, total = 0;
	int rc = 0;
	for (size_t i = 0; i < d.nspans && rc == 0; i += per) {
		/* a view of some of the spans: the same resource */
		struct lp_otlp_doc part = d;
		part.spans = d.spans + i;
		part.nspans = d.nspans - i < per ? d.nspans - i : per;
		body.len = 0;
		if (o->json)
			lp_otlp_encode_json(&part, &body);
		else
			lp_otlp_encode_proto(&part, &body);
		total += body.len;
		rc = lp_otlp_post(o, body.data, body.len, err, errlen);
		if (rc == 0)
			sent += part.nspans;
		else if (i > 0) {
			size_t n = strlen(err);
			snprintf(err + n, errlen - n, "; %zu of %zu spans were sent before", sent, d.nspans);
		}
	}
	if (spans)
		*spans = sent;
	if (bytes)
		*bytes = total;
	lp_buf_free(&body);
	lp_otlp_doc_free(&d);
	return rc;
}

int lp_otlp_ship_file(const char *path, const struct lp_otlp_opts *o, size_t *spans, size_t *traces,
		      char *err, size_t errlen)
{
	char lerr[512] = "";
	*spans = 0;
	struct lp_reader *r = lp_reader_open(path, lerr, sizeof(lerr));
	if (!r) {
		snprintf(err, errlen, "%s: %s", path, lerr[0] ? lerr : "not a readable layerprof trace");
		return -1;
	}
	int rc = lp_otlp_send(NULL, r, path, o, spans, traces, NULL, err, errlen);
	lp_reader_close(r);
	return rc;
}
