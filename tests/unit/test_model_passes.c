/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The model is loaded in one decoding of the trace: pass 1 keeps what pass
 * 2 needs on a tape in memory (model.c). When the tape would be too big,
 * pass 2 reads the trace again instead. Both roads must give the very same
 * report, text and JSON, on every trace.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "event.h"
#include "export.h"
#include "flame.h"
#include "model.h"
#include "model_int.h"
#include "model_pass.h"
#include "resolve.h"
#include "scenarios.h"
#include "trace.h"

/* All of f from its start, as a string (f closed). */
static char *read_back(FILE *f)
{
	rewind(f);
	struct lp_buf b = { 0 };
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		lp_buf_append(&b, chunk, n);
	fclose(f);
	return b.data ? b.data : strdup("");
}

static char *run_report(const char *path, bool json)
{
	FILE *tmp = tmpfile();
	cr_assert_not_null(tmp);
	fflush(stdout);
	int saved = dup(1);
	dup2(fileno(tmp), 1);
	char *argv[] = { "report", json ? "--json" : "--top", json ? (char *)path : "50", (char *)path, NULL };
	int rc = cmd_report(json ? 3 : 4, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	cr_assert(rc == 0, "%s: report exit %d", path, rc);
	return read_back(tmp);
}

static void same_both_ways(const char *path)
{
	uint64_t keep = lp_model_tape_max;
	for (int json = 0; json < 2; json++) {
		lp_model_tape_max = keep;
		char *tape = run_report(path, json);
		lp_model_tape_max = 0; /* no room: the second reading */
		char *again = run_report(path, json);
		lp_model_tape_max = keep;
		cr_assert_str_eq(tape, again, "%s (%s): tape and second reading differ", path, json ? "json" : "text");
		free(tape);
		free(again);
	}
}

Test(passes, real_traces)
{
	static const char *traces[] = { "bad-order-cached", "bad-order-edit", "bloated", "good-order-edit",
					"missing-file", "run-fails", "target-missing" };
	int done = 0;
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		char p[256];
		snprintf(p, sizeof(p), "tests/data/traces/%s.lptrace", traces[i]);
		if (access(p, R_OK))
			continue;
		same_both_ways(p);
		done++;
	}
	if (!done)
		cr_skip_test("tests/data/traces not found (run from the repository root)");
}

Test(passes, synthetic_builds)
{
	char *paths[] = { scenario_bad_order(false), scenario_bad_order(true), scenario_bloated(),
			  scenario_missing(), scenario_last_copy(true), scenario_bloated_many(false) };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		same_both_ways(paths[i]);
		unlink(paths[i]);
		free(paths[i]);
	}
}

/* Many records, many processes and paths: the tape's varints and deltas
 * (times going back and forth, big numbers, every record kind). */
Test(passes, many_records)
{
	struct synth s;
	const char *shargv[] = { "/bin/sh", "-c", "loop", NULL };
	one_run_start(&s, "loop", "/bin/sh", "sh", shargv);
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		char p[128];
		snprintf(p, sizeof(p), "/app/d%u/f%u", (unsigned)(x % 37), (unsigned)(x % 1009));
		uint32_t pid = 400 + (uint32_t)(x % 20);
		if (i < 20)
			syn_fork(&s, MS(5), 301, pid, "sh");
		uint64_t ts = MS(6) + (uint64_t)i * 20000 - (x % 3) * 1000; /* a little out of order */
		switch (x % 5) {
		case 0:
			syn_file(&s, ts, pid, p, false, x % 100000000000ull);
			break;
		case 1:
			syn_file(&s, ts, pid, p, true, x % 1000);
			break;
		case 2:
			syn_enoent(&s, ts, pid, p);
			break;
		case 3:
			syn_sc(&s, ts, pid, LP_SC_MKDIRAT, (x & 8) ? -17 : 0, x % 5000000, p, 1, NULL, 0, 0755);
			break;
		default:
			syn_rename(&s, ts, 100, p, "/var/lib/docker/x");
			break;
		}
	}
	for (uint32_t pid = 400; pid < 420; pid++)
		syn_exit(&s, MS(900), pid, (int)pid % 3);
	syn_exit(&s, MS(901), 301, 0);
	syn_exit(&s, MS(902), 300, 0);
	syn_progress(&s, MS(903), "#2 DONE 0.9s");
	syn_close(&s, NULL);
	same_both_ways(s.path);
	unlink(s.path);
}

/* ------------------------------------------------ lp_model_options.no_provenance */

static void stack_line(const struct lp_flame *f, const int *frames, int depth, uint64_t count, void *arg)
{
	struct lp_buf *b = arg;
	for (int d = 0; d <= depth; d++) {
		lp_buf_puts(b, d ? ";" : "");
		lp_buf_puts(b, f->nodes[frames[d]].name);
	}
	char n[32];
	snprintf(n, sizeof(n), " %llu\n", (unsigned long long)count);
	lp_buf_puts(b, n);
}

/* The flame graph of metric over path's model, as folded lines. */
static char *stacks(const struct lp_model *m, const char *path, enum lp_export_metric metric)
{
	char err[256] = "";
	struct lp_reader *r = lp_reader_open(path, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	struct lp_flame f;
	cr_assert_eq(lp_flame_build(m, r, metric, &f, err, sizeof(err)), 0, "%s", err);
	lp_reader_close(r);
	struct lp_buf b = { 0 };
	lp_flame_stacks(&f, lp_metric_div(metric), stack_line, &b);
	lp_flame_free(&f);
	return b.data ? b.data : strdup("");
}

static size_t layer_facts(const struct lp_model *m)
{
	size_t n = m->nlayer_changes + m->nlayer_reads;
	for (size_t s = 0; s < m->nsteps; s++)
		n += m->steps[s].layer.created + m->steps[s].layer.overwritten + m->steps[s].layer.deleted +
		     (m->steps[s].kind == LP_STEPK_RUN ? m->steps[s].nreads_from_context : 0);
	return n;
}

/* Without provenance the flame graphs (every metric) and the steps'
 * times and activity are those of the whole model; only the layer facts
 * and findings are left out. Returns whether the whole model had any. */
static bool flame_without_provenance(const char *path)
{
	char err[256] = "";
	struct lp_model_options all = { .no_findings = false }, lean = { .no_provenance = true };
	struct lp_model *a = lp_model_load(path, &all, err, sizeof(err));
	cr_assert_not_null(a, "%s: %s", path, err);
	struct lp_model *b = lp_model_load(path, &lean, err, sizeof(err));
	cr_assert_not_null(b, "%s: %s", path, err);
	cr_assert_eq(a->nsteps, b->nsteps, "%s", path);
	cr_assert_eq(a->nprocs, b->nprocs, "%s", path);
	for (size_t s = 0; s < a->nsteps; s++) {
		cr_assert_eq(lp_step_start_ns(&a->steps[s]), lp_step_start_ns(&b->steps[s]), "%s step %zu", path, s);
		cr_assert_eq(lp_step_wall_ns(&a->steps[s]), lp_step_wall_ns(&b->steps[s]), "%s step %zu", path, s);
		cr_assert_eq(a->steps[s].agg.bytes_read, b->steps[s].agg.bytes_read, "%s step %zu", path, s);
		cr_assert_eq(a->steps[s].agg.bytes_written, b->steps[s].agg.bytes_written, "%s step %zu", path, s);
	}
	enum lp_export_metric metrics[] = { LP_METRIC_TIME, LP_METRIC_BYTES, LP_METRIC_OPS };
	for (size_t i = 0; i < 3; i++) {
		char *x = stacks(a, path, metrics[i]), *y = stacks(b, path, metrics[i]);
		cr_assert_str_eq(x, y, "%s: metric %zu", path, i);
		free(x);
		free(y);
	}
	cr_assert_eq(layer_facts(b), 0, "%s: layer facts without provenance", path);
	cr_assert_eq(b->nfindings, 0, "%s: findings without provenance", path);
	bool had = layer_facts(a) > 0;
	lp_model_free(a);
	lp_model_free(b);
	return had;
}

Test(passes, flame_graphs_need_no_provenance)
{
	char *paths[] = { scenario_bad_order(false), scenario_bad_order(true), scenario_bloated(),
			  scenario_missing(), scenario_last_copy(true), scenario_bloated_many(false) };
	int had = 0;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		had += flame_without_provenance(paths[i]);
		unlink(paths[i]);
		free(paths[i]);
	}
	static const char *traces[] = { "bad-order-edit", "run-fails", "good-order-edit" };
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		char p[256];
		snprintf(p, sizeof(p), "tests/data/traces/%s.lptrace", traces[i]);
		if (!access(p, R_OK))
			had += flame_without_provenance(p);
	}
	/* what is left out was there to leave out */
	cr_assert_gt(had, 3, "only %d models had layer facts", had);
}

static void count_rec(void *arg, const struct lp_model_rec *rec)
{
	cr_assert(rec->h->kind == LP_EV_SYSCALL || rec->h->kind == LP_EV_FD_IO || rec->h->kind == LP_EV_EXIT);
	(*(size_t *)arg)++;
}

/* The flame graph of time from the records the model kept
 * (lp_model_options.keep_tape, lp_model_replay) is the one from a second
 * reading of the trace; and with the tape dropped (no room), the trace is
 * read again. */
static void flame_from_kept_tape(const char *path)
{
	char err[256] = "";
	struct lp_model_options plain = { .no_provenance = true }, kept = { .no_provenance = true, .keep_tape = true };
	struct lp_model *a = lp_model_load(path, &plain, err, sizeof(err));
	cr_assert_not_null(a, "%s: %s", path, err);
	struct lp_model *b = lp_model_load(path, &kept, err, sizeof(err));
	cr_assert_not_null(b, "%s: %s", path, err);
	size_t n = 0;
	cr_assert(!lp_model_replay(a, false, count_rec, &n), "%s: a tape not asked for", path);
	cr_assert(lp_model_replay(b, false, count_rec, &n), "%s: no tape kept", path);
	cr_assert_gt(n, 0, "%s", path);
	char *x = stacks(a, path, LP_METRIC_TIME), *y = stacks(b, path, LP_METRIC_TIME);
	cr_assert_str_eq(x, y, "%s: flame of time from the tape", path);
	free(y);
	uint64_t keep = lp_model_tape_max;
	lp_model_tape_max = 0;
	struct lp_model *c = lp_model_load(path, &kept, err, sizeof(err));
	lp_model_tape_max = keep;
	cr_assert_not_null(c, "%s: %s", path, err);
	cr_assert(!lp_model_replay(c, false, count_rec, &n), "%s: a dropped tape", path);
	y = stacks(c, path, LP_METRIC_TIME);
	cr_assert_str_eq(x, y, "%s: flame of time with the tape dropped", path);
	free(x);
	free(y);
	lp_model_free(a);
	lp_model_free(b);
	lp_model_free(c);
}

Test(passes, flame_of_time_from_the_kept_tape)
{
	char *paths[] = { scenario_bad_order(false), scenario_bad_order(true), scenario_bloated(),
			  scenario_missing(), scenario_last_copy(true), scenario_bloated_many(false) };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		flame_from_kept_tape(paths[i]);
		unlink(paths[i]);
		free(paths[i]);
	}
	static const char *traces[] = { "bad-order-edit", "run-fails", "good-order-edit", "bloated", "missing-file" };
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		char p[256];
		snprintf(p, sizeof(p), "tests/data/traces/%s.lptrace", traces[i]);
		if (!access(p, R_OK))
			flame_from_kept_tape(p);
	}
}

/* ---------------------------------------- lp_model_options.replay_all */

/* Each replayed record against the trace's next valid one, read again
 * with a resolver of its own, as a view that reads the trace sees it. */
struct replay_cmp {
	struct lp_reader *r;
	struct lp_resolver *res;
	size_t n, bad;
	char first_bad[256];
};

static bool same_path(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void cmp_replayed(void *arg, const struct lp_model_rec *rec)
{
	struct replay_cmp *c = arg;
	const struct lp_hdr *h, *g = rec->h;
	do {
		if (lp_reader_next(c->r, &h) != 1) {
			if (!c->bad++)
				snprintf(c->first_bad, sizeof(c->first_bad), "record %zu: replayed past the trace's end", c->n);
			return;
		}
	} while (!lp_ev_valid(h));
	bool ok = h->kind == g->kind && h->ts == g->ts && h->tgid == g->tgid && h->tid == g->tid;
	char buf[4096];
	if (ok && h->kind == LP_EV_SYSCALL) {
		const struct lp_ev_syscall *a = (const void *)h, *b = (const void *)g;
		ok = h->aux == g->aux && a->ret == b->ret && a->lat_ns == b->lat_ns &&
		     same_path(lp_resolver_event_path(c->res, a, buf, sizeof(buf)), rec->shown);
	} else if (ok && h->kind == LP_EV_FD_IO) {
		const struct lp_ev_fd_io *a = (const void *)h, *b = (const void *)g;
		ok = h->aux == g->aux && h->flags == g->flags && a->rbytes == b->rbytes && a->wbytes == b->wbytes &&
		     a->rns == b->rns && a->wns == b->wns && a->rcalls == b->rcalls && a->wcalls == b->wcalls &&
		     a->io_flags == b->io_flags && a->first_ts == b->first_ts && a->last_ts == b->last_ts &&
		     a->fd_mode == b->fd_mode && same_path(lp_resolver_fdio_path(c->res, a), rec->shown);
	} else if (ok && h->kind == LP_EV_EXIT) {
		const struct lp_ev_exit *a = (const void *)h, *b = (const void *)g;
		ok = !memcmp(&a->counts, &b->counts, sizeof(a->counts)) && lp_ev_exit_cpu_ns(a) == lp_ev_exit_cpu_ns(b);
	} else if (ok) {
		ok = h->size == g->size && !memcmp(h, g, h->size) && !rec->shown;
	}
	if (!ok && !c->bad++)
		snprintf(c->first_bad, sizeof(c->first_bad), "record %zu (kind %u, ts %llu) differs", c->n,
			 (unsigned)h->kind, (unsigned long long)h->ts);
	c->n++;
	lp_resolver_feed(c->res, h);
}

/* The number of records a reader gives as valid. */
static size_t valid_records(struct lp_reader *r)
{
	const struct lp_hdr *h;
	size_t n = 0;
	cr_assert_eq(lp_reader_rewind(r), 0);
	while (lp_reader_next(r, &h) == 1)
		n += lp_ev_valid(h);
	return n;
}

static void replay_is_the_trace(const struct lp_model *m, const char *path, const char *how)
{
	char err[256] = "";
	struct lp_reader *r = lp_reader_open(path, err, sizeof(err));
	cr_assert_not_null(r, "%s: %s", path, err);
	size_t want = valid_records(r);
	for (int round = 0; round < 2; round++) { /* a replay leaves the tape as it was */
		struct replay_cmp c = { .r = r, .res = lp_resolver_new() };
		cr_assert_eq(lp_reader_rewind(r), 0);
		cr_assert(lp_model_replay(m, true, cmp_replayed, &c), "%s (%s): no replay", path, how);
		cr_assert_eq(c.bad, 0, "%s (%s), replay %d: %s", path, how, round + 1, c.first_bad);
		cr_assert_eq(c.n, want, "%s (%s): %zu records replayed, the trace has %zu", path, how, c.n, want);
		lp_resolver_free(c.res);
	}
	lp_reader_close(r);
}

/* Export FMT of m (its records replayed, or read from the trace again). */
static char *export_of(const struct lp_model *m, const char *path, bool perfetto)
{
	char err[256] = "";
	struct lp_reader *r = lp_reader_open(path, err, sizeof(err));
	cr_assert_not_null(r, "%s: %s", path, err);
	FILE *f = tmpfile();
	cr_assert_not_null(f);
	struct lp_xout o;
	lp_xout_init(&o, f, false);
	struct lp_export_opts opt = { .metric = LP_METRIC_TIME, .trace_name = path,
				      .max_events = LP_CHROME_DEFAULT_MAX_EVENTS };
	int rc = perfetto ? lp_export_perfetto(m, r, &o, &opt, err, sizeof(err))
			  : lp_export_chrome(m, r, &o, &opt, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: %s", path, err);
	cr_assert_eq(lp_xout_finish(&o), 0);
	lp_reader_close(r);
	return read_back(f);
}

/* lp_model_replay(m, true, ...) of a model loaded with replay_all is the
 * trace's valid records in its order (threads, paths and the records the
 * tape holds only in part included), from a tape spilled to a file or
 * kept in memory (no file could be made), twice; the Perfetto and Chrome
 * traces made from it are the ones made by reading the trace again. */
static void replay_all_is_the_trace(const char *path)
{
	char err[256] = "";
	struct lp_model_options plain = { 0 }, all = { .keep_tape = true, .replay_all = true },
				tape_only = { .keep_tape = true };
	struct lp_model *a = lp_model_load(path, &plain, err, sizeof(err));
	cr_assert_not_null(a, "%s: %s", path, err);
	struct lp_model *b = lp_model_load(path, &all, err, sizeof(err));
	cr_assert_not_null(b, "%s: %s", path, err);
	replay_is_the_trace(b, path, "spilled");
	const struct lp_tape *t = lp_priv(b)->kept_tape;
	cr_assert(t && t->spill && t->nchunk && !t->chunk[0], "%s: the kept tape was not spilled to a file", path);

	const char *was = getenv("TMPDIR");
	char *keep = was ? strdup(was) : NULL;
	setenv("TMPDIR", "/nonexistent-lp-test-dir", 1);
	struct lp_model *c = lp_model_load(path, &all, err, sizeof(err));
	if (keep) {
		setenv("TMPDIR", keep, 1);
		free(keep);
	} else {
		unsetenv("TMPDIR");
	}
	cr_assert_not_null(c, "%s: %s", path, err);
	t = lp_priv(c)->kept_tape;
	cr_assert(t && !t->spill && t->nchunk && t->chunk[0], "%s: no file, yet the tape left memory", path);
	replay_is_the_trace(c, path, "in memory");

	struct lp_model *d = lp_model_load(path, &tape_only, err, sizeof(err));
	cr_assert_not_null(d, "%s: %s", path, err);
	size_t n = 0;
	cr_assert(!lp_model_replay(d, true, count_rec, &n), "%s: replay of all without replay_all", path);
	cr_assert(!lp_model_replay(a, true, count_rec, &n), "%s: replay without a tape", path);

	for (int pf = 0; pf < 2; pf++) {
		char *x = export_of(a, path, pf), *y = export_of(b, path, pf), *z = export_of(c, path, pf);
		cr_assert(strlen(x) > 100, "%s: a short %s export", path, pf ? "Perfetto" : "Chrome");
		cr_assert(!strcmp(x, y) && !strcmp(x, z), "%s: the %s export from the replay differs", path,
			  pf ? "Perfetto" : "Chrome");
		free(x);
		free(y);
		free(z);
	}
	lp_model_free(a);
	lp_model_free(b);
	lp_model_free(c);
	lp_model_free(d);
}

Test(passes, replay_all_is_the_trace)
{
	char *paths[] = { scenario_bad_order(false), scenario_bad_order(true), scenario_bloated(),
			  scenario_missing(), scenario_last_copy(true), scenario_bloated_many(false) };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		replay_all_is_the_trace(paths[i]);
		unlink(paths[i]);
		free(paths[i]);
	}
	static const char *traces[] = { "bad-order-edit", "run-fails", "good-order-edit", "bloated", "missing-file" };
	int done = 0;
	for (size_t i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		char p[256];
		snprintf(p, sizeof(p), "tests/data/traces/%s.lptrace", traces[i]);
		if (!access(p, R_OK)) {
			replay_all_is_the_trace(p);
			done++;
		}
	}
	cr_assert_gt(done, 0, "tests/data/traces not found (run from the repository root)");
}
