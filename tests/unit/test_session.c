// SPDX-License-Identifier: BSD-2-Clause
/*
 * Sessions (session.c): the builds of a recording made through record's
 * docker shim, which records each build's model keeps, and the models
 * themselves, on synthetic traces written with the real trace writer.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "model.h"
#include "session.h"
#include "synth.h"
#include "trace.h"

#define T(ms) (100000000000ull + (uint64_t)(ms) * SYN_MS)

static void build_rec(struct synth *s, uint64_t ts, uint32_t pid, uint32_t tid, uint32_t what, const char *json)
{
	union {
		struct lp_rec_build r;
		char b[sizeof(struct lp_rec_build) + 2048];
	} u;
	memset(&u, 0, sizeof(u));
	size_t n = strlen(json) + 1;
	syn_hdr(&u.r.h, LP_REC_BUILD, pid, what, ts);
	u.r.h.tid = tid ? tid : pid;
	u.r.len = (uint16_t)n;
	memcpy(u.b + sizeof(u.r), json, n);
	syn_put(s, &u, (sizeof(u.r) + n + 7) & ~7ul);
}

static void progress_of(struct synth *s, uint64_t ts, uint32_t pid, uint32_t tid, const char *text)
{
	union {
		struct lp_rec_progress r;
		char b[sizeof(struct lp_rec_progress) + 512];
	} u;
	memset(&u, 0, sizeof(u));
	size_t n = strlen(text);
	syn_hdr(&u.r.h, LP_REC_PROGRESS, pid, 2, ts);
	u.r.h.tid = tid ? tid : pid;
	u.r.len = (uint16_t)n;
	memcpy(u.b + sizeof(u.r), text, n);
	syn_put(s, &u, (sizeof(u.r) + n + 7) & ~7ul);
}

static struct lp_hdr hdr(uint8_t kind, uint32_t tgid, uint32_t tid, uint32_t aux, uint64_t ts)
{
	struct lp_hdr h = { 0 };
	h.kind = kind;
	h.tgid = tgid;
	h.tid = tid;
	h.aux = aux;
	h.ts = ts;
	return h;
}

/* Two builds of a script, one after the other, then a bake of two targets. */
static void write_session(struct synth *s)
{
	syn_open(s, "{\"version\":1,\"docker_shim\":true,\"command\":[\"./build-all.sh\"]}");
	build_rec(s, T(0), 300, 0, LP_BUILD_BEGIN,
		  "{\"index\":0,\"pid\":300,\"tag\":\"s/dev\",\"target\":\"dev\",\"context\":\"/w\","
		  "\"dockerfile_text\":\"FROM x AS dev\\nRUN make\\n\",\"command\":[\"docker\",\"build\",\"-t\",\"s/dev\",\".\"]}");
	progress_of(s, T(1), 300, 0, "#1 [dev 1/2] FROM docker.io/library/x");
	progress_of(s, T(2), 300, 0, "#1 DONE 0.0s");
	progress_of(s, T(3), 300, 0, "#2 [dev 2/2] RUN make");
	progress_of(s, T(90), 300, 0, "#2 CACHED");
	build_rec(s, T(100), 300, 0, LP_BUILD_END, "{\"index\":0}");
	build_rec(s, T(200), 301, 0, LP_BUILD_BEGIN,
		  "{\"index\":1,\"pid\":301,\"tag\":\"s/prod\",\"target\":\"prod\",\"context\":\"/w\","
		  "\"command\":[\"docker\",\"build\",\"-t\",\"s/prod\",\".\"]}");
	progress_of(s, T(201), 301, 0, "#1 [internal] load build definition from Dockerfile");
	progress_of(s, T(202), 301, 0, "ERROR: failed to solve: target stage \"prod\" could not be found");
	build_rec(s, T(250), 301, 0, LP_BUILD_END, "{\"index\":1}");
	/* a bake of two targets: one pid, vertices split by hdr.tid */
	build_rec(s, T(300), 302, 1, LP_BUILD_BEGIN,
		  "{\"index\":2,\"pid\":302,\"tag\":\"b/web\",\"bake_target\":\"web\",\"bake_index\":1,\"command\":[\"docker\",\"buildx\",\"bake\"]}");
	build_rec(s, T(300), 302, 2, LP_BUILD_BEGIN,
		  "{\"index\":3,\"pid\":302,\"tag\":\"b/api\",\"bake_target\":\"api\",\"bake_index\":2,\"command\":[\"docker\",\"buildx\",\"bake\"]}");
	progress_of(s, T(301), 302, 0, "#0 building with \"default\" instance using docker driver");
	progress_of(s, T(302), 302, 1, "#1 [1/2] FROM docker.io/library/x");
	progress_of(s, T(303), 302, 2, "#2 [1/2] FROM docker.io/library/y");
	progress_of(s, T(304), 302, 1, "#3 [2/2] RUN web");
	progress_of(s, T(305), 302, 2, "#4 [2/2] RUN api");
	progress_of(s, T(380), 302, 1, "#3 DONE 0.1s");
	progress_of(s, T(381), 302, 2, "#4 DONE 0.1s");
	build_rec(s, T(400), 302, 0, LP_BUILD_END, "{\"index\":2}");
	syn_close(s, NULL);
}

Test(session, list_and_keeps)
{
	struct synth s;
	write_session(&s);
	char err[256];
	struct lp_reader *r = lp_reader_open(s.path, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	struct lp_session ss;
	cr_assert_eq(lp_session_list(r, &ss), 0);
	cr_assert_eq(ss.n, 4);
	cr_expect_eq(ss.builds[0].pid, 300);
	cr_expect_eq(ss.builds[0].begin_ns, T(0));
	cr_expect_eq(ss.builds[0].end_ns, T(100));
	cr_expect_eq(ss.builds[1].end_ns, T(250));
	cr_expect(!ss.builds[0].overlaps && !ss.builds[1].overlaps);
	/* the bake's targets: one END closes both, they overlap each other */
	cr_expect_eq(ss.builds[2].bake_index, 1);
	cr_expect_eq(ss.builds[3].bake_index, 2);
	cr_expect_eq(ss.builds[2].end_ns, T(400));
	cr_expect_eq(ss.builds[3].end_ns, T(400));
	cr_expect(ss.builds[2].overlaps && ss.builds[3].overlaps);

	const struct lp_session_build *b0 = &ss.builds[0], *web = &ss.builds[2], *api = &ss.builds[3];
	struct lp_hdr h = hdr(LP_REC_PROGRESS, 300, 300, 2, T(5));
	cr_expect(lp_session_keeps(b0, &h), "its own progress");
	h = hdr(LP_REC_PROGRESS, 301, 301, 2, T(5));
	cr_expect(!lp_session_keeps(b0, &h), "another build's progress");
	h = hdr(LP_EV_SYSCALL, 999, 999, 2, T(50));
	cr_expect(lp_session_keeps(b0, &h), "file work in its time");
	h = hdr(LP_EV_FD_IO, 999, 999, 2, T(150));
	cr_expect(!lp_session_keeps(b0, &h), "file work outside its time");
	h = hdr(LP_EV_FORK, 999, 999, 2, T(150));
	cr_expect(lp_session_keeps(b0, &h), "the process tree is kept whole");
	h = hdr(LP_REC_CONTEXT_FILE, 300, 300, 0, T(0));
	cr_expect(lp_session_keeps(b0, &h), "its context list");
	h = hdr(LP_REC_CONTEXT_FILE, 0, 0, 0, T(0));
	cr_expect(!lp_session_keeps(b0, &h), "the recorded command's context list");
	cr_expect(lp_session_keeps(NULL, &h), "...which the whole recording keeps");
	h = hdr(LP_REC_CONTEXT_FILE, 300, 300, 0, T(0));
	cr_expect(!lp_session_keeps(NULL, &h), "a build's context list is not the whole recording's");
	h = hdr(LP_REC_BUILD, 300, 300, LP_BUILD_BEGIN, T(0));
	cr_expect(!lp_session_keeps(b0, &h) && !lp_session_keeps(NULL, &h));
	/* bake: a target keeps its vertices' lines and the shared ones */
	h = hdr(LP_REC_PROGRESS, 302, 1, 2, T(302));
	cr_expect(lp_session_keeps(web, &h) && !lp_session_keeps(api, &h));
	h = hdr(LP_REC_PROGRESS, 302, 302, 2, T(301));
	cr_expect(lp_session_keeps(web, &h) && lp_session_keeps(api, &h));
	h = hdr(LP_REC_CONTEXT_FILE, 302, 302, 2, T(300));
	cr_expect(!lp_session_keeps(web, &h) && lp_session_keeps(api, &h), "context files by aux = bake index");
	lp_session_free(&ss);
	lp_reader_close(r);

	cr_expect(lp_session_recorded(s.path));
	unlink(s.path);
}

Test(session, one_model_per_build)
{
	struct synth s;
	write_session(&s);
	struct lp_model **v;
	size_t n;
	char err[256] = "";
	cr_assert_eq(lp_session_load(s.path, false, &v, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 4);
	/* build 0: its two steps, its RUN cached; nothing of the others */
	cr_expect_eq(v[0]->build.session_index, 0);
	cr_expect_str_eq(v[0]->build.image_ref, "s/dev");
	cr_expect_str_eq(v[0]->build.target, "dev");
	cr_expect_eq(v[0]->nsteps, 2);
	cr_expect(v[0]->steps[1].cached);
	cr_expect(!v[0]->build.failed);
	/* build 1: failed before any step, its own error */
	cr_expect(v[1]->build.failed);
	cr_expect(v[1]->build.error && strstr(v[1]->build.error, "target stage \"prod\""), "%s",
		  v[1]->build.error ? v[1]->build.error : "(none)");
	/* the bake's targets: each its own FROM and RUN, names as in a plain build */
	cr_expect_eq(v[2]->nsteps, 2, "web: %zu steps", v[2]->nsteps);
	cr_expect_str_eq(v[2]->steps[v[2]->nsteps - 1].name, "[2/2] RUN web");
	cr_expect_str_eq(v[3]->steps[v[3]->nsteps - 1].name, "[2/2] RUN api");
	cr_expect_str_eq(v[2]->build.builder, "default", "the shared #0 line names the builder of both");
	cr_expect_str_eq(v[3]->build.builder, "default");
	for (size_t i = 0; i < n; i++)
		lp_model_free(v[i]);
	free(v);

	/* a recording without the shim is one build */
	struct synth s2;
	syn_open(&s2, "{\"version\":1,\"command\":[\"docker\",\"build\",\".\"]}");
	progress_of(&s2, T(1), 0, 0, "#1 [1/1] FROM docker.io/library/x");
	syn_close(&s2, NULL);
	cr_expect(!lp_session_recorded(s2.path));
	cr_assert_eq(lp_session_load(s2.path, false, &v, &n, err, sizeof(err)), 0);
	cr_expect_eq(n, 1);
	cr_expect_eq(v[0]->build.session_index, -1);
	lp_model_free(v[0]);
	free(v);
	unlink(s2.path);
	unlink(s.path);
}
