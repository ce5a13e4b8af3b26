/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The META and trailer records' JSON (trace.h): what record knew of the
 * build (context dir, Dockerfile and its text, the command, the daemons'
 * data roots, the image) and what it counted (lost events, the command's
 * exit status). Read with cJSON into model->build.
 */
#include "model_int.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *json_str_dup(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) && v->valuestring ? lp_xstrdup(v->valuestring) : NULL;
}

static void add_data_root(struct lp_model *m, const char *root)
{
	if (!root || !*root)
		return;
	for (size_t i = 0; i < m->build.ndata_roots; i++)
		if (!strcmp(m->build.data_roots[i], root))
			return;
	m->build.data_roots = lp_xrealloc(m->build.data_roots,
					  (m->build.ndata_roots + 1) * sizeof(char *));
	m->build.data_roots[m->build.ndata_roots++] = lp_xstrdup(root);
}

/* Any "data_root"/"data-root"/"dataRoot" string, at any depth. */
static void find_data_roots(struct lp_model *m, const cJSON *o, int depth)
{
	if (!o || depth > 6)
		return;
	const cJSON *c;
	cJSON_ArrayForEach(c, o) {
		if (c->string && cJSON_IsString(c) &&
		    (!strcmp(c->string, "data_root") || !strcmp(c->string, "data-root") ||
		     !strcmp(c->string, "dataRoot") || !strcmp(c->string, "DockerRootDir")))
			add_data_root(m, c->valuestring);
		else if (cJSON_IsObject(c) || cJSON_IsArray(c))
			find_data_roots(m, c, depth + 1);
	}
}

/* Image size from an "image" object ({"size": n} / {"Size": n}). */
static void find_image(struct lp_model *m, const cJSON *root)
{
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(root, "image");
	if (!cJSON_IsObject(img))
		return;
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(img, "size");
	if (!sz)
		sz = cJSON_GetObjectItemCaseSensitive(img, "Size");
	if (cJSON_IsNumber(sz) && sz->valuedouble > 0) {
		m->build.image_bytes = (uint64_t)sz->valuedouble;
		m->build.image_bytes_source = "image inspect";
	}
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(img, "ref");
	if (!ref)
		ref = cJSON_GetObjectItemCaseSensitive(img, "tag");
	if (cJSON_IsString(ref) && !m->build.image_ref)
		m->build.image_ref = lp_xstrdup(ref->valuestring);
}

/* META's "build" object, or a session build's (LP_REC_BUILD BEGIN) */
static void parse_build(struct lp_model *m, const cJSON *b)
{
	if (!cJSON_IsObject(b))
		return;
	free(m->build.context_dir);
	free(m->build.docker_host);
	free(m->build.dockerfile_path);
	free(m->build.dockerfile_text);
	m->build.context_dir = json_str_dup(b, "context");
	m->build.docker_host = json_str_dup(b, "docker_host");
	m->build.dockerfile_path = json_str_dup(b, "dockerfile");
	m->build.dockerfile_text = json_str_dup(b, "dockerfile_text");
	if (!m->build.target)
		m->build.target = json_str_dup(b, "target");
	if (!m->build.image_ref)
		m->build.image_ref = json_str_dup(b, "tag");
}

static void parse_command(struct lp_model *m, const cJSON *cmd)
{
	if (cJSON_IsArray(cmd)) {
		free(m->build.command);
		m->build.command = NULL;
		struct lp_buf buf = { 0 };
		const cJSON *a;
		cJSON_ArrayForEach(a, cmd) {
			if (!cJSON_IsString(a))
				continue;
			if (buf.len)
				lp_buf_puts(&buf, " ");
			lp_buf_puts(&buf, a->valuestring);
		}
		m->build.command = buf.data;
	} else if (cJSON_IsString(cmd)) {
		free(m->build.command);
		m->build.command = lp_xstrdup(cmd->valuestring);
	}
}

void lp_model_parse_session_image(struct lp_model *m, const char *trailer)
{
	cJSON *root = trailer ? cJSON_Parse(trailer) : NULL;
	cJSON *imgs = cJSON_GetObjectItemCaseSensitive(root, "session_images"), *e;
	cJSON_ArrayForEach(e, imgs) {
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(e, "index");
		if (cJSON_IsNumber(idx) && (int)idx->valuedouble == m->build.session_index) {
			cJSON *wrap = cJSON_CreateObject();
			cJSON_AddItemReferenceToObject(wrap, "image", e);
			find_image(m, wrap);
			cJSON_Delete(wrap);
		}
	}
	cJSON_Delete(root);
}

void lp_model_parse_session_build(struct lp_model *m, const char *json)
{
	cJSON *b = json ? cJSON_Parse(json) : NULL;
	parse_build(m, b);
	parse_command(m, cJSON_GetObjectItemCaseSensitive(b, "command"));
	cJSON_Delete(b);
}

void lp_model_parse_meta(struct lp_model *m, const char *meta)
{
	cJSON *root = meta ? cJSON_Parse(meta) : NULL;
	if (!root)
		return;
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "build");
	parse_build(m, b);
	parse_command(m, cJSON_GetObjectItemCaseSensitive(root, "command"));
	const cJSON *mono = cJSON_GetObjectItemCaseSensitive(root, "start_monotonic_ns");
	const cJSON *real = cJSON_GetObjectItemCaseSensitive(root, "start_realtime_ns");
	if (cJSON_IsNumber(mono) && cJSON_IsNumber(real) && mono->valuedouble > 0 &&
	    real->valuedouble > 0) {
		/* doubles: ~256 ns of precision at today's epoch, plenty here */
		m->build.realtime_minus_mono_ns = (int64_t)(real->valuedouble - mono->valuedouble);
		m->build.has_clock_pair = true;
	}
	if (cJSON_IsObject(b) && !m->build.builder) {
		/* record asked buildx when the progress stream does not say
		 * (rawjson has no "#0 building with ..." line) */
		m->build.builder = json_str_dup(b, "builder");
		if (m->build.builder)
			m->build.builder_driver = json_str_dup(b, "builder_driver");
	}
	find_data_roots(m, root, 0);
	find_image(m, root);
	cJSON_Delete(root);
}

static uint64_t sum_numbers(const cJSON *o, int depth)
{
	uint64_t s = 0;
	if (!o || depth > 4)
		return 0;
	if (cJSON_IsNumber(o))
		return o->valuedouble > 0 ? (uint64_t)o->valuedouble : 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, o) s += sum_numbers(c, depth + 1);
	return s;
}

void lp_model_parse_trailer(struct lp_model *m, const char *trailer)
{
	cJSON *root = trailer ? cJSON_Parse(trailer) : NULL;
	if (!root)
		return;
	static const char *reason_names[LP_LOST_NR] = { "ringbuf", "inflight", "fdio", "traced",
							 "counts" };
	const cJSON *lost = cJSON_GetObjectItemCaseSensitive(root, "lost");
	if (!lost)
		lost = cJSON_GetObjectItemCaseSensitive(root, "lost_events");
	if (cJSON_IsNumber(lost)) {
		m->build.lost_events = (uint64_t)lost->valuedouble;
	} else if (cJSON_IsObject(lost)) {
		const cJSON *tot = cJSON_GetObjectItemCaseSensitive(lost, "total");
		const cJSON *by = cJSON_GetObjectItemCaseSensitive(lost, "by_reason");
		if (!by)
			by = lost;
		uint64_t sum = 0;
		for (int i = 0; i < LP_LOST_NR; i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(by, reason_names[i]);
			m->build.lost_by_reason[i] = sum_numbers(v, 0);
			sum += m->build.lost_by_reason[i];
		}
		m->build.lost_events = cJSON_IsNumber(tot) ? (uint64_t)tot->valuedouble : sum;
	}
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "command_status");
	if (!st)
		st = cJSON_GetObjectItemCaseSensitive(root, "exit_status");
	if (cJSON_IsNumber(st))
		m->build.command_status = (int)st->valuedouble;
	find_data_roots(m, root, 0);
	find_image(m, root);
	cJSON_Delete(root);
}

char *lp_model_daemon_version(const char *trailer, uint32_t pid)
{
	cJSON *root = trailer ? cJSON_Parse(trailer) : NULL;
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "daemon_versions"), *e;
	char *v = NULL;
	cJSON_ArrayForEach(e, arr) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "pid");
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "version"));
		if (cJSON_IsNumber(p) && (uint32_t)p->valuedouble == pid && s && !v)
			v = lp_xstrdup(s);
	}
	cJSON_Delete(root);
	return v;
}
