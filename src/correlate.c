/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Correlation (docs/architecture.md, "How events become build steps"): BuildKit progress lines become steps; steps get
 * their Dockerfile line; processes get a role and a step (RUN: the process
 * tree under `runc run --bundle <data-root>/buildkit/executor/<id>`,
 * matched to the step by the `sh -c` text and the time window); layer
 * snapshot dirs the daemon wrote get a step (the context snapshot: the
 * parentless one whose files are the context manifest's; COPY/ADD: the one
 * whose written paths are the COPY's destinations, in time order). What
 * this decides, attribution.c uses to give each event its step.
 */
#include "model.h"
#include "session.h"
#include "model_int.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dockerfile.h"
#include "progress.h"
#include "syscalls.h"
#include "util.h"

/* ------------------------------------------------------- small helpers */

/* Exec-form ["a", "b"] -> "a b"; anything else collapsed. */
static char *norm_cmd(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	if (*s != '[')
		return lp_collapse_ws(s, strlen(s));
	struct lp_buf b = { 0 };
	const char *p = s + 1;
	while (*p) {
		while (*p && *p != '"' && *p != ']')
			p++;
		if (*p != '"')
			break;
		p++;
		if (b.len)
			lp_buf_puts(&b, " ");
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			lp_buf_append(&b, p, 1);
			p++;
		}
		if (*p)
			p++;
	}
	char *r = lp_collapse_ws(b.data ? b.data : "", b.len);
	lp_buf_free(&b);
	return r;
}

/* ------------------------------------------------------------ progress */

/* Kind, stage, i/n, instruction and args of a step, from its vertex name
 * as the progress parser reads it (progress.h). */
static void parse_step_name(struct lp_step *s)
{
	s->stage = lp_xstrdup("");
	s->instruction = lp_xstrdup("");
	s->args = lp_xstrdup("");
	s->kind = LP_STEPK_INTERNAL;
	struct lp_progress_step *v = lp_progress_parse_step_name(s->name);
	if (!v)
		return;
	const char *text = v->text;
	if (!strcmp(v->instruction, "EXPORT")) {
		s->kind = LP_STEPK_EXPORT;
	} else if (!strcmp(v->instruction, "INTERNAL")) {
		free(s->stage);
		s->stage = lp_xstrdup("internal");
		if (lp_starts_with(text, "load build context"))
			s->kind = LP_STEPK_LOAD_CONTEXT;
		else if (lp_starts_with(text, "load build definition"))
			s->kind = LP_STEPK_LOAD_DOCKERFILE;
		else if (lp_starts_with(text, "load .dockerignore"))
			s->kind = LP_STEPK_LOAD_DOCKERIGNORE;
		else if (lp_starts_with(text, "load metadata"))
			s->kind = LP_STEPK_LOAD_METADATA;
	} else if (lp_progress_step_is_instruction(v)) {
		s->stage_step = (int)v->index;
		s->stage_steps = (int)v->total;
		free(s->stage);
		s->stage = lp_xstrdup(v->stage);
		/* the keyword as written (any word), upper case */
		size_t kl = 0;
		while (text[kl] && !isspace((unsigned char)text[kl]))
			kl++;
		free(s->instruction);
		s->instruction = lp_xmalloc(kl + 1);
		for (size_t k = 0; k < kl; k++)
			s->instruction[k] = (char)toupper((unsigned char)text[k]);
		s->instruction[kl] = 0;
		free(s->args);
		s->args = lp_collapse_ws(text + kl, strlen(text + kl));
		if (!strcmp(s->instruction, "RUN"))
			s->kind = LP_STEPK_RUN;
		else if (!strcmp(s->instruction, "COPY") || !strcmp(s->instruction, "ADD"))
			s->kind = LP_STEPK_COPY;
		else if (!strcmp(s->instruction, "FROM"))
			s->kind = LP_STEPK_FROM;
		else
			s->kind = LP_STEPK_OTHER;
		s->cacheable = s->kind != LP_STEPK_FROM;
	}
	lp_progress_step_name_free(v);
}

static struct lp_step *step_new(struct lp_model *m, int num, const char *name, uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	if (m->nsteps == pv->steps_cap) {
		size_t nc = pv->steps_cap ? pv->steps_cap * 2 : 16;
		m->steps = lp_xrealloc(m->steps, nc * sizeof(struct lp_step));
		pv->steps_cap = nc;
	}
	int idx = (int)m->nsteps++;
	struct lp_step *s = &m->steps[idx];
	memset(s, 0, sizeof(*s));
	s->index = idx;
	s->num = num;
	snprintf(s->id, sizeof(s->id), "#%d", num);
	s->name = lp_xstrdup(name);
	s->start_ns = ts;
	s->reported_s = -1;
	s->first_proc = -1;
	parse_step_name(s);
	char key[16];
	snprintf(key, sizeof(key), "%d", num);
	lp_smap_put(&pv->step_by_num, key, idx);
	return s;
}

struct lp_step *lp_model_step_new(struct lp_model *m, int num, const char *name, uint64_t ts)
{
	return step_new(m, num, name, ts);
}

/* Keep the last 12 progress lines of a step (failed-step evidence). */
static void step_log(struct lp_model *m, int idx, const char *line)
{
	struct lp_step *s = &m->steps[idx];
	if (s->nlog_tail >= 12) {
		free(s->log_tail[0]);
		memmove(s->log_tail, s->log_tail + 1, (s->nlog_tail - 1) * sizeof(char *));
		s->nlog_tail--;
	}
	s->log_tail = lp_xrealloc(s->log_tail, (s->nlog_tail + 1) * sizeof(char *));
	s->log_tail[s->nlog_tail++] = lp_xstrdup(line);
}

void lp_progress_line(struct lp_model *m, const char *text, size_t len, uint64_t ts)
{
	struct lp_priv *pv = lp_priv(m);
	if (!pv->prog)
		pv->prog = lp_progress_new();
	if (pv->prog)
		lp_progress_feed_line(pv->prog, ts, text, len);
}

static void log_lines(struct lp_model *m, int idx, const struct lp_progress_lines *l)
{
	size_t from = l->count > 6 ? l->count - 6 : 0;
	for (size_t i = from; i < l->count; i++) {
		const struct lp_progress_line *ln = lp_progress_lines_at(l, i);
		if (ln && ln->text && *ln->text && !lp_starts_with(ln->text, "sha256:"))
			step_log(m, idx, ln->text);
	}
}

void lp_progress_steps(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	if (!pv->prog)
		return;
	lp_progress_finish(pv->prog);
	size_t n = lp_progress_step_count(pv->prog);
	for (size_t i = 0; i < n; i++) {
		const struct lp_progress_step *ps = lp_progress_step_at(pv->prog, i);
		if (!ps)
			continue;
		/* buildx's "#0 building with ..." names the builder: no step */
		if (ps->id == 0 && lp_progress_builder(pv->prog))
			continue;
		struct lp_step *s = step_new(m, (int)ps->id, ps->name ? ps->name : "", ps->first_ts_ns);
		s->cached = ps->cached;
		s->status = ps->failed ? LP_STEP_ERROR : ps->canceled ? LP_STEP_CANCELED
			    : ps->cached ? LP_STEP_CACHED : ps->done ? LP_STEP_DONE : LP_STEP_UNKNOWN;
		s->end_ns = ps->end_ts_ns ? ps->end_ts_ns : ps->last_ts_ns;
		if (ps->has_duration) {
			s->reported_s = (double)ps->duration_ns / 1e9;
			/* the CLI prints one vertex at a time: end - duration is the
			 * better start estimate */
			if (ps->end_ts_ns > ps->duration_ns && ps->end_ts_ns - ps->duration_ns < s->start_ns)
				s->start_ns = ps->end_ts_ns - ps->duration_ns;
		}
		if (ps->has_engine_time && m->build.has_clock_pair) {
			int64_t a = (int64_t)ps->engine_start_ns - m->build.realtime_minus_mono_ns;
			int64_t b = (int64_t)ps->engine_end_ns - m->build.realtime_minus_mono_ns;
			if (a > 0 && ps->engine_end_ns >= ps->engine_start_ns) {
				s->e_start_ns = (uint64_t)a;
				s->e_end_ns = (uint64_t)b;
				s->e_active_ns = ps->engine_active_ns;
			}
		}
		if (ps->failed)
			s->error = lp_xstrdup(ps->error && *ps->error ? ps->error : "failed");
		log_lines(m, s->index, &ps->status);
		log_lines(m, s->index, &ps->output);
	}
	m->build.progress_format = lp_progress_is_rawjson(pv->prog) ? "rawjson" : "plain";
	if (lp_progress_builder(pv->prog)) {
		free(m->build.builder);
		free(m->build.builder_driver);
		m->build.builder = lp_xstrdup(lp_progress_builder(pv->prog));
		const char *drv = lp_progress_builder_driver(pv->prog);
		m->build.builder_driver = drv ? lp_xstrdup(drv) : NULL;
	}
	const char *fe = lp_progress_final_error(pv->prog);
	if (fe && *fe) {
		m->build.error = lp_xstrdup(fe);
		m->build.errors = lp_xrealloc(m->build.errors, (m->build.nerrors + 1) * sizeof(char *));
		m->build.errors[m->build.nerrors++] = lp_xstrdup(fe);
	}
	if (lp_progress_failed(pv->prog))
		m->build.failed = true;
}

/* ------------------------------------------------------------ Dockerfile */

/* The stage of the Dockerfile a step label names ("build", "stage-1", ""
 * for the only stage of a single-stage file), or -1. */
static int df_stage_of(const struct lp_dockerfile *df, const char *stage)
{
	int nst = (int)lp_dockerfile_stage_count(df);
	if (!*stage)
		return nst - 1; /* single-stage: the only (last) one */
	int n;
	if (sscanf(stage, "stage-%d", &n) == 1)
		return n;
	for (int i = 0; i < nst; i++)
		if (!strcasecmp(lp_dockerfile_stage_at(df, (size_t)i)->name, stage))
			return i;
	return -1;
}

/* Each Dockerfile step gets its line: in its stage, the instruction of
 * the same keyword whose text matches (exactly, then by containment),
 * unused ones first; else the next unused one of that keyword. */
static void match_dockerfile(struct lp_model *m)
{
	const struct lp_dockerfile *df = m->build.dockerfile;
	if (!df)
		return;
	size_t ndf = lp_dockerfile_instr_count(df);
	bool *used = lp_xcalloc(ndf + 1, sizeof(bool));
	for (size_t si = 0; si < m->nsteps; si++) {
		struct lp_step *s = &m->steps[si];
		if (!s->stage_steps)
			continue;
		int stage = df_stage_of(df, s->stage);
		if (stage < 0)
			continue;
		long best = -1;
		char *want = norm_cmd(s->args);
		for (int pass = 0; pass < 3 && best < 0; pass++)
			for (size_t i = 0; i < ndf && best < 0; i++) {
				const struct lp_dockerfile_instr *d = lp_dockerfile_instr_at(df, i);
				if (d->stage != stage || strcmp(d->keyword, s->instruction))
					continue;
				if (pass == 0 && used[i])
					continue;
				if (s->kind == LP_STEPK_FROM) {
					best = (long)i;
					break;
				}
				char *have = norm_cmd(d->args);
				if (!strcmp(have, want) ||
				    (pass >= 1 && (strstr(have, want) || strstr(want, have))))
					best = (long)i;
				free(have);
			}
		free(want);
		/* text differs ($VARs expanded...): the next unused one of that
		 * keyword in the stage */
		for (size_t i = 0; i < ndf && best < 0; i++) {
			const struct lp_dockerfile_instr *d = lp_dockerfile_instr_at(df, i);
			if (d->stage == stage && !used[i] && !strcmp(d->keyword, s->instruction))
				best = (long)i;
		}
		if (best >= 0) {
			used[best] = true;
			s->dockerfile_line = (int)lp_dockerfile_instr_at(df, (size_t)best)->line;
		}
	}
	free(used);
}

/* The workdir for step s: its Dockerfile instruction's, else the last
 * WORKDIR step of its stage before it, else "/". */
static const char *step_workdir(const struct lp_model *m, const struct lp_step *s)
{
	const struct lp_dockerfile_instr *in =
		m->build.dockerfile && s->dockerfile_line > 0
			? lp_dockerfile_instr_at_line(m->build.dockerfile, (unsigned)s->dockerfile_line)
			: NULL;
	if (in && in->workdir)
		return in->workdir;
	const char *wd = "/";
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *w = &m->steps[i];
		if (w == s || strcmp(w->stage, s->stage) || w->stage_step >= s->stage_step)
			continue;
		if (!strcmp(w->instruction, "WORKDIR") && w->args[0] == '/')
			wd = w->args;
	}
	return wd;
}

static void parse_copy(struct lp_model *m, struct lp_step *s)
{
	struct lp_strv toks = { 0 };
	const char *a = s->args;
	while (isspace((unsigned char)*a))
		a++;
	/* flags first */
	while (lp_starts_with(a, "--")) {
		const char *sp = strchr(a, ' ');
		size_t n = sp ? (size_t)(sp - a) : strlen(a);
		if (!strncmp(a, "--from=", 7))
			s->copy_from_stage = true;
		a += n;
		while (*a == ' ')
			a++;
	}
	if (*a == '[' && !strchr(a, '"')) {
		/* JSON form as BuildKit prints it: "[b c.txt, a.txt, /dst/]" */
		char *j = lp_xstrdup(a + 1), *save = NULL;
		char *close = strrchr(j, ']');
		if (close)
			*close = 0;
		for (char *t = strtok_r(j, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			size_t n = strlen(t);
			while (n && t[n - 1] == ' ')
				t[--n] = 0;
			if (*t)
				lp_strv_push(&toks, t);
		}
		free(j);
	} else if (*a == '[') {
		char *j = norm_cmd(a);
		char *save = NULL;
		for (char *t = strtok_r(j, " ", &save); t; t = strtok_r(NULL, " ", &save))
			lp_strv_push(&toks, t);
		free(j);
	} else {
		char *j = lp_xstrdup(a), *save = NULL;
		for (char *t = strtok_r(j, " ", &save); t; t = strtok_r(NULL, " ", &save))
			lp_strv_push(&toks, t);
		free(j);
	}
	if (toks.n < 2) {
		lp_strv_free(&toks);
		return;
	}
	const char *dst = toks.v[toks.n - 1];
	bool dir = toks.n > 2 || dst[strlen(dst) - 1] == '/' || !strcmp(dst, ".") || !strcmp(dst, "./");
	char tmp[8192], normed[4096];
	if (dst[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", dst);
	else
		snprintf(tmp, sizeof(tmp), "%s/%s", step_workdir(m, s), dst);
	lp_norm_abs_path(tmp, normed, sizeof(normed));
	s->copy_dst = lp_xasprintf("%s%s", normed, dir ? "/" : "");
	s->ncopy_srcs = toks.n - 1;
	s->copy_srcs = lp_xcalloc(s->ncopy_srcs, sizeof(char *));
	for (size_t i = 0; i + 1 < toks.n; i++) {
		const char *src = toks.v[i];
		if (strstr(src, "://"))
			s->copy_from_stage = true; /* ADD URL: not from the context */
		while (*src == '/' || (src[0] == '.' && src[1] == '/'))
			src += src[0] == '/' ? 1 : 2;
		char *c = lp_xstrdup(!strcmp(src, ".") ? "" : src);
		size_t n = strlen(c);
		while (n && c[n - 1] == '/')
			c[--n] = 0;
		s->copy_srcs[i] = c;
	}
	lp_strv_free(&toks);
}

static int match_run_step(struct lp_model *m, const char *text, uint64_t ts, const bool *taken)
{
	uint64_t lag = lp_priv(m)->lag_ns;
	char *want = text ? norm_cmd(text) : NULL;
	int best = -1;
	long best_score = -1;
	for (size_t i = 0; i < m->nsteps; i++) {
		const struct lp_step *s = &m->steps[i];
		if (s->kind != LP_STEPK_RUN || s->cached)
			continue;
		long score = 0;
		if (want) {
			char *have = norm_cmd(s->args);
			if (!strcmp(have, want))
				score += 1000;
			else if (*want && (strstr(have, want) || strstr(want, have)))
				score += 500;
			free(have);
		}
		/* a build of a session: other builds (its siblings run in
		 * parallel, or someone else's on the same daemon) run containers
		 * in the same windows; a container whose command is known must
		 * run this step's command */
		if (want && *want && score < 500 && m->build.session_pid)
			continue;
		uint64_t lo = s->start_ns > lag * 4 ? s->start_ns - lag * 4 : 0;
		uint64_t hi = s->end_ns + lag;
		if (ts >= lo && ts <= hi)
			score += 300;
		else if (score < 500)
			continue;
		if (!taken[i])
			score += 100;
		/* closer starts first */
		uint64_t d = ts > s->start_ns ? ts - s->start_ns : s->start_ns - ts;
		score -= (long)(d / 100000000ull > 99 ? 99 : d / 100000000ull);
		if (score > best_score) {
			best_score = score;
			best = (int)i;
		}
	}
	free(want);
	return best;
}

static void correlate_procs(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	int *root = lp_xmalloc((m->nprocs + 1) * sizeof(int)); /* runc-run root per proc */
	bool *taken = lp_xcalloc(m->nsteps + 1, sizeof(bool));
	for (size_t i = 0; i < m->nprocs; i++) {
		struct lp_proc *p = &m->procs[i];
		root[i] = -1;
		const struct lp_proc *par = p->parent >= 0 ? &m->procs[p->parent] : NULL;
		if (p->role != LP_ROLE_CLI && par && par->role == LP_ROLE_CLI &&
		    lp_role_of_proc(p) == LP_ROLE_OTHER)
			p->role = LP_ROLE_CLI;
		bool is_run;
		const char *bundle = lp_proc_runc_bundle(p, &is_run);
		if (bundle && is_run && lp_role_of_proc(p) == LP_ROLE_RUNC) {
			root[i] = (int)i;
			p->role = LP_ROLE_RUNC;
			continue;
		}
		if (par && p->parent < (int)i && root[p->parent] >= 0) {
			root[i] = root[p->parent];
			enum lp_role r = lp_role_of_proc(p);
			p->role = r == LP_ROLE_RUNC ? LP_ROLE_RUNC
				  : r == LP_ROLE_DAEMON ? LP_ROLE_DAEMON /* runc hooks: dockerd re-exec'd */
				  : LP_ROLE_CONTAINER;
		}
	}
	/* the container's first command of each runc run: the earliest exec
	 * among its container descendants */
	const char **texts = lp_xcalloc(m->nprocs + 1, sizeof(char *));
	uint64_t *first = lp_xmalloc((m->nprocs + 1) * sizeof(uint64_t));
	for (size_t j = 0; j < m->nprocs; j++)
		first[j] = UINT64_MAX;
	for (size_t j = 0; j < m->nprocs; j++) {
		int r = root[j];
		if (r >= 0 && m->procs[j].role == LP_ROLE_CONTAINER && pv->first_cmd[j] &&
		    m->procs[j].exec_ns < first[r]) {
			first[r] = m->procs[j].exec_ns;
			texts[r] = pv->first_cmd[j];
		}
	}
	/* several daemons traced and none named by the CLI's -H: the build's
	 * is the one whose containers ran this Dockerfile's RUN commands */
	if (!pv->daemon_known) {
		uint32_t cand[16] = { 0 };
		int votes[16] = { 0 }, nc = 0;
		for (size_t i = 0; i < m->nprocs; i++) {
			if (root[i] != (int)i || !texts[i])
				continue;
			char *want = norm_cmd(texts[i]);
			bool hit = false;
			for (size_t k = 0; k < m->nsteps && !hit; k++) {
				if (m->steps[k].kind != LP_STEPK_RUN || m->steps[k].cached)
					continue;
				char *have = norm_cmd(m->steps[k].args);
				hit = !strcmp(have, want);
				free(have);
			}
			free(want);
			uint32_t d = hit ? lp_model_daemon_root(m, &m->procs[i]) : 0;
			if (!d)
				continue;
			int c;
			for (c = 0; c < nc && cand[c] != d; c++)
				;
			if (c == nc && nc < 16)
				cand[nc++] = d;
			if (c < nc)
				votes[c]++;
		}
		int best = -1;
		for (int c = 0; c < nc; c++)
			if (best < 0 || votes[c] > votes[best])
				best = c;
		if (best >= 0) {
			pv->daemon_pid = cand[best];
			pv->daemon_known = true;
		}
	}
	for (size_t i = 0; i < m->nprocs; i++) {
		if (root[i] != (int)i)
			continue;
		struct lp_proc *r = &m->procs[i];
		if (!lp_model_in_build_daemon(m, r))
			continue; /* another daemon's container */
		const char *text = texts[i];
		uint64_t ts = r->start_ns ? r->start_ns : r->exec_ns;
		/* a build of a session: the process tree is the whole
		 * recording's; a container started outside its time is
		 * another build's, whatever it runs */
		const struct lp_session_build *sb = pv->only;
		if (sb && (ts < sb->begin_ns || (sb->end_ns && ts > sb->end_ns)))
			continue;
		int s = match_run_step(m, text, ts, taken);
		if (s < 0) {
			/* a container of this daemon, in this build's time, that
			 * runs none of its commands: another build's (a sibling of
			 * the session, or someone else's on a shared daemon) */
			if (text && sb)
				lp_u32v_push(&m->build.other_containers, r->pid);
			continue;
		}
		if (m->build.session_pid)
			lp_u32v_push(&m->build.own_containers, r->pid);
		taken[s] = true;
		struct lp_step *st = &m->steps[s];
		bool is_run;
		const char *bundle = lp_proc_runc_bundle(r, &is_run);
		if (!st->container_id && bundle) {
			st->container_id = lp_xstrdup(lp_base_name(bundle));
			st->rootfs = lp_xasprintf("%s/rootfs", bundle);
		}
		if (st->first_proc < 0)
			st->first_proc = (int)i;
		for (size_t j = i; j < m->nprocs; j++)
			if (root[j] == (int)i && m->procs[j].role != LP_ROLE_DAEMON)
				m->procs[j].step = s;
	}
	free(root);
	free(taken);
	free(texts);
	free(first);
}

/* ------------------------------------------------------ snapshot steps */

/* The build definition's own snapshots: the Dockerfile and the
 * .dockerignore are sent as local sources of their own, each into a
 * parentless snapshot holding that one file (a transfer's .tmp names
 * aside). Which load step such a snapshot is, else LP_STEPK_OTHER. */
static enum lp_step_kind definition_kind(const struct lp_model *m, const struct lp_snap *sn)
{
	if ((sn->part != LP_SNAP_DIFF && sn->part != LP_SNAP_FS) || !sn->paths.n || sn->paths.n > 4)
		return LP_STEPK_OTHER;
	enum lp_step_kind want = LP_STEPK_OTHER;
	for (size_t e = 0; e < sn->paths.n; e++) {
		const char *rel = sn->paths.ents[e].key;
		if (lp_is_transfer_tmp_name(rel))
			continue;
		enum lp_step_kind k = lp_definition_file_kind(m, rel);
		if (k == LP_STEPK_OTHER)
			return LP_STEPK_OTHER;
		if (k == LP_STEPK_LOAD_DOCKERIGNORE || want == LP_STEPK_OTHER)
			want = k;
	}
	return want;
}

static void correlate_snapshots(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	/* context snapshot: a parentless (diff / fs) snapshot holding the most
	 * manifest paths (the build definition's files not counted: they go
	 * to snapshots of their own first, model_pass1.c); without a
	 * manifest, the one most written during the "load build context"
	 * step. */
	int best = -1;
	size_t best_n = 0;
	for (size_t i = 0; i < pv->nsnaps; i++) {
		struct lp_snap *s = &pv->snaps[i];
		if (s->part != LP_SNAP_DIFF && s->part != LP_SNAP_FS)
			continue;
		if (pv->ctx_snap >= 0 && (int)i != pv->ctx_snap)
			continue; /* already known (steps inferred in attach mode, infer.c) */
		if (pv->daemon_known && s->writer && s->writer != pv->daemon_pid)
			continue;
		size_t n = s->ctx_matches;
		if (!m->nctx_files && m->context.step >= 0) {
			const struct lp_step *cs = &m->steps[m->context.step];
			if (s->first_ts + pv->lag_ns * 4 >= cs->start_ns && s->first_ts <= cs->end_ns + pv->lag_ns)
				n = s->writes;
		}
		if (n > best_n) {
			best_n = n;
			best = (int)i;
		}
	}
	if (best >= 0 && !pv->daemon_known && pv->snaps[best].writer) {
		pv->daemon_pid = pv->snaps[best].writer;
		pv->daemon_known = true;
	}
	if (best >= 0) {
		pv->ctx_snap = best;
		pv->snaps[best].is_context = true;
		pv->snaps[best].step = m->context.step;
		m->context.snapshot_dir = lp_xstrdup(pv->snaps[best].dir);
	}
	/* The Dockerfile and .dockerignore are sent into parentless snapshots
	 * of their own: their writes belong to the [internal] load steps. */
	for (size_t k = 0; k < pv->nsnaps; k++) {
		struct lp_snap *sn = &pv->snaps[k];
		if ((int)k == pv->ctx_snap || (pv->daemon_known && sn->writer && sn->writer != pv->daemon_pid))
			continue;
		enum lp_step_kind want = definition_kind(m, sn);
		if (want == LP_STEPK_OTHER)
			continue;
		for (size_t si = 0; si < m->nsteps; si++)
			if (m->steps[si].kind == want) {
				sn->step = (int)si;
				break;
			}
	}
	/* COPY/ADD/WORKDIR steps that ran: each wrote one new snapshot. Score
	 * every (snapshot, step) pair by the destination paths the step
	 * explains and the time window; assign the best pairs first. */
	size_t ns = pv->nsnaps, nst = m->nsteps;
	long *score = lp_xcalloc(ns * nst + 1, sizeof(long));
	for (size_t k = 0; k < ns; k++) {
		struct lp_snap *sn = &pv->snaps[k];
		if ((int)k == pv->ctx_snap || sn->part == LP_SNAP_TMPMOUNT || sn->part == LP_SNAP_ROOTFS ||
		    !sn->paths.n || sn->step >= 0 || (pv->daemon_known && sn->writer && sn->writer != pv->daemon_pid))
			continue;
		for (size_t si = 0; si < nst; si++) {
			struct lp_step *st = &m->steps[si];
			bool fileop = st->kind == LP_STEPK_COPY || !strcmp(st->instruction, "WORKDIR");
			if (!fileop || st->cached || st->status == LP_STEP_ERROR)
				continue;
			/* Progress lines are stamped when the CLI prints them, in
			 * bursts, often before or long after the work: the time
			 * window only breaks ties between steps that explain the
			 * same paths. */
			long sc = 0;
			uint64_t lo = st->start_ns > pv->lag_ns * 4 ? st->start_ns - pv->lag_ns * 4 : 0;
			if (sn->first_ts >= lo && sn->first_ts <= st->end_ns + pv->lag_ns)
				sc += 5;
			if (sn->first_ts >= st->start_ns && sn->first_ts <= st->end_ns)
				sc += 2; /* inside its own lines: wins a tie */
			size_t hits = 0, weak = 0, checked = 0;
			char buf[4096];
			for (size_t e = 0; e < sn->paths.n && checked < 2000; e++, checked++) {
				char cpath[4200];
				snprintf(cpath, sizeof(cpath), "/%s", sn->paths.ents[e].key);
				if (st->kind == LP_STEPK_COPY) {
					if (lp_copy_ctx_path(m, (int)si, cpath, buf, sizeof(buf)))
						hits++; /* the context file this COPY names */
					else if (st->copy_from_stage && st->copy_dst &&
						 !strncmp(cpath, st->copy_dst, strlen(st->copy_dst)))
						weak++; /* COPY --from: somewhere under its destination.
							 * A COPY from the context must explain the path
							 * itself, or every COPY into /app/ would claim
							 * every layer written under /app/. */
				} else if (!strcmp(cpath, st->args)) {
					hits++;
				}
			}
			/* explained share of what was written, and how much; a path
			 * named exactly beats one merely under a destination */
			if (hits)
				sc += 20 + (long)(100 * hits / checked) + (long)(hits > 1000 ? 1000 : hits);
			else if (weak)
				sc += 10 + (long)(50 * weak / checked) + (long)(weak > 1000 ? 500 : weak / 2);
			score[k * nst + si] = sc;
		}
	}
	bool *snap_done = lp_xcalloc(ns + 1, sizeof(bool));
	bool *step_done = lp_xcalloc(nst + 1, sizeof(bool));
	for (;;) {
		long best_sc = 0;
		size_t bk = 0, bs = 0;
		for (size_t k = 0; k < ns; k++) {
			if (snap_done[k])
				continue;
			for (size_t si = 0; si < nst; si++) {
				long sc = score[k * nst + si];
				if (step_done[si] || sc <= best_sc)
					continue;
				best_sc = sc;
				bk = k;
				bs = si;
			}
		}
		if (best_sc <= 0)
			break;
		snap_done[bk] = step_done[bs] = true;
		pv->snaps[bk].step = (int)bs;
		free(m->steps[bs].snapshot_dir);
		m->steps[bs].snapshot_dir = lp_xstrdup(pv->snaps[bk].dir);
	}
	free(score);
	free(snap_done);
	free(step_done);
}

void lp_correlate(struct lp_model *m)
{
	/* the end of the last step that is not an export (steps are final now) */
	struct lp_priv *pv = lp_priv(m);
	pv->work_end_ns = 0;
	for (size_t i = 0; i < m->nsteps; i++)
		if (m->steps[i].kind != LP_STEPK_EXPORT && m->steps[i].end_ns > pv->work_end_ns)
			pv->work_end_ns = m->steps[i].end_ns;
	match_dockerfile(m);
	for (size_t i = 0; i < m->nsteps; i++) {
		struct lp_step *s = &m->steps[i];
		if (s->kind == LP_STEPK_COPY)
			parse_copy(m, s);
		if (s->kind == LP_STEPK_LOAD_CONTEXT && m->context.step < 0)
			m->context.step = (int)i;
	}
	/* data roots from runc bundles and snapshot paths */
	for (size_t i = 0; i < m->nprocs; i++) {
		bool is_run;
		const char *b = lp_proc_runc_bundle(&m->procs[i], &is_run);
		const char *p = b && lp_executor_at(b) ? strstr(b, "/buildkit/") : NULL;
		if (p) {
			char *root = strndup(b, (size_t)(p - b));
			bool have = false;
			for (size_t k = 0; k < m->build.ndata_roots; k++)
				have |= !strcmp(m->build.data_roots[k], root);
			if (!have && root) {
				m->build.data_roots = lp_xrealloc(m->build.data_roots,
								  (m->build.ndata_roots + 1) * sizeof(char *));
				m->build.data_roots[m->build.ndata_roots++] = root;
			} else {
				free(root);
			}
		}
	}
	correlate_procs(m);
	correlate_snapshots(m);
	lp_model_find_store_partner(m);
}
