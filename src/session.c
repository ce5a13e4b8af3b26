// SPDX-License-Identifier: BSD-2-Clause
/* The builds of a recording (session.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "meter.h"
#include "model.h"
#include "session.h"
#include "trace.h"
#include "util.h"

int lp_session_list(struct lp_reader *r, struct lp_session *out)
{
	memset(out, 0, sizeof(*out));
	if (lp_reader_rewind(r) < 0)
		return -1;
	const struct lp_hdr *h;
	size_t cap = 0;
	while (lp_reader_next(r, &h) == 1) {
		if (h->kind != LP_REC_BUILD || !lp_ev_valid(h))
			continue;
		size_t len;
		const char *json = lp_ev_build_json((const void *)h, &len);
		if (!json)
			continue;
		if (h->aux == LP_BUILD_BEGIN) {
			if (out->n == cap) {
				cap = cap ? cap * 2 : 8;
				out->builds = lp_xrealloc(out->builds, cap * sizeof(*out->builds));
			}
			struct lp_session_build *b = &out->builds[out->n];
			memset(b, 0, sizeof(*b));
			b->index = (int)out->n++;
			b->pid = h->tgid;
			b->begin_ns = h->ts;
			b->json = lp_xstrdup(json);
			cJSON *j = cJSON_Parse(json);
			const cJSON *bi = cJSON_GetObjectItemCaseSensitive(j, "bake_index");
			if (cJSON_IsNumber(bi) && bi->valuedouble >= 1)
				b->bake_index = (uint32_t)bi->valuedouble;
			cJSON_Delete(j);
		} else if (h->aux == LP_BUILD_END) {
			/* the builds of that pid still open (a bake: all its targets) */
			for (size_t i = out->n; i-- > 0;) {
				if (out->builds[i].pid == h->tgid && !out->builds[i].end_ns)
					out->builds[i].end_ns = h->ts;
			}
		}
	}
	for (size_t i = 0; i < out->n; i++) {
		struct lp_session_build *a = &out->builds[i];
		for (size_t j = 0; j < out->n; j++) {
			const struct lp_session_build *b = &out->builds[j];
			uint64_t ae = a->end_ns ? a->end_ns : UINT64_MAX, be = b->end_ns ? b->end_ns : UINT64_MAX;
			if (i != j && a->begin_ns < be && b->begin_ns < ae)
				a->overlaps = true;
		}
	}
	return lp_reader_rewind(r) < 0 ? -1 : 0;
}

void lp_session_free(struct lp_session *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->builds[i].json);
	free(s->builds);
	memset(s, 0, sizeof(*s));
}

bool lp_session_keeps(const struct lp_session_build *b, const struct lp_hdr *h)
{
	if (!b) /* the whole recording: the command's own context list */
		return h->kind != LP_REC_BUILD && !(h->kind == LP_REC_CONTEXT_FILE && h->tgid);
	switch (h->kind) {
	case LP_REC_PROGRESS:
		/* a bake's target: its vertices' lines, and the shared ones */
		return h->tgid == b->pid && (!b->bake_index || h->tid == b->bake_index || h->tid == b->pid);
	case LP_REC_CONTEXT_FILE:
		return h->tgid == b->pid && h->aux == b->bake_index;
	case LP_REC_BUILD:
		return false;
	case LP_EV_SYSCALL:
	case LP_EV_FD_IO:
		/* file work inside the build's window only; the process tree
		 * (fork, exec, exit, seeds) is kept whole */
		return h->ts >= b->begin_ns && (!b->end_ns || h->ts <= b->end_ns);
	default:
		return true;
	}
}

bool lp_session_recorded(const char *path)
{
	char err[256];
	struct lp_reader *r = path ? lp_reader_open(path, err, sizeof(err)) : NULL;
	if (!r)
		return false;
	cJSON *meta = lp_reader_meta(r) ? cJSON_Parse(lp_reader_meta(r)) : NULL;
	bool yes = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "docker_shim"));
	cJSON_Delete(meta);
	lp_reader_close(r);
	return yes;
}

int lp_session_load(const char *path, bool progress, struct lp_model ***models, size_t *n, char *err,
		    size_t errlen)
{
	*models = NULL;
	*n = 0;
	struct lp_reader *r = lp_reader_open(path, err, errlen);
	struct lp_session ss = { 0 };
	if (!r)
		return -1;
	if (lp_session_list(r, &ss) < 0) {
		snprintf(err, errlen, "cannot read the trace");
		lp_reader_close(r);
		return -1;
	}
	size_t nb = ss.n ? ss.n : 1;
	struct lp_model **v = lp_xcalloc(nb, sizeof(*v));
	if (progress)
		lp_meter_start(); /* each build's load shows its phases (model_load.c) */
	int rc = 0;
	for (size_t k = 0; k < nb; k++) {
		struct lp_model_options opt = { .build = ss.n ? &ss.builds[k] : NULL, .nbuilds = nb };
		v[k] = lp_model_from_reader(r, &opt, err, errlen);
		if (!v[k]) {
			for (size_t j = 0; j < k; j++)
				lp_model_free(v[j]);
			free(v);
			v = NULL;
			rc = -1;
			break;
		}
	}
	lp_session_free(&ss);
	lp_reader_close(r);
	if (rc == 0) {
		*models = v;
		*n = nb;
	}
	return rc;
}
