// SPDX-License-Identifier: BSD-2-Clause
/* prov_queue.h: provenance's calls run on a thread of their own give what
 * the same calls give run at once, and the answers come back in order. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "containers.h"
#include "prov_queue.h"
#include "provenance.h"
#include "util.h"

#define NPATHS 3000
#define NOPS 400000 /* more calls than the queue's batches hold at once */

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* The same random script of calls, straight on `direct` and through q
 * (onto `queued`): every answer to a question the same, in order. */
static void script(struct lp_provenance *direct, struct lp_prov_queue *q, const struct lp_strtab *paths,
		   const uint32_t *ids)
{
	static const char *const stages[] = { "", "build" };
	static bool want[NOPS];
	size_t nask = 0, ntaken = 0;
	for (int i = 0; i < NOPS; i++) {
		const char *st = stages[rnd(2)];
		uint32_t id = ids[rnd(NPATHS)], id2 = ids[rnd(NPATHS)];
		const char *p = lp_strtab_str(paths, id), *p2 = lp_strtab_str(paths, id2);
		int step = (int)rnd(6);
		uint64_t ts = (uint64_t)i + 1;
		/* a path of no id, in a buffer that is reused at once */
		char buf[64];
		bool noid = rnd(8) == 0;
		if (noid) {
			snprintf(buf, sizeof(buf), "%s", p);
			p = buf;
			id = 0;
		}
		switch (rnd(9)) {
		case 0: {
			bool dir = rnd(4) == 0;
			lp_prov_gone_id(direct, st, p, id, dir, ts);
			lp_provq_gone(q, st, p, id, dir, ts);
			break;
		}
		case 1:
			lp_prov_placed_id(direct, st, p, id, ts);
			lp_provq_placed(q, st, p, id, ts);
			break;
		case 2:
			lp_prov_write_id(direct, st, p, id, step, 10);
			lp_provq_write(q, st, p, id, step, 10);
			break;
		case 3:
			lp_prov_link_id(direct, st, p, id, step);
			lp_provq_link(q, st, p, id, step);
			break;
		case 4:
			lp_prov_delete_id(direct, st, p, id, step);
			lp_provq_delete(q, st, p, id, step);
			break;
		case 5:
			lp_prov_rename_id(direct, st, p, id, p2, id2, step);
			lp_provq_rename(q, st, p, id, p2, id2, step);
			break;
		case 6:
			lp_prov_read_id(direct, st, p, id, step);
			lp_provq_read(q, st, p, id, step);
			break;
		default:
			if (noid)
				break; /* questions are asked of interned paths */
			want[nask] = lp_prov_from_copy_id(direct, st, p, id);
			struct lp_provq_ask a = { .cpath = p, .id = id, .step = step, .gen = nask };
			lp_provq_ask_from_copy(q, st, &a);
			nask++;
			break;
		}
		if (noid)
			memset(buf, 'x', sizeof(buf) - 1);
		struct lp_provq_ask a;
		bool yes;
		while (lp_provq_answer(q, &a, &yes)) {
			cr_assert_eq(a.gen, ntaken, "answers in the order asked");
			cr_assert_eq(yes, want[ntaken], "question %zu", ntaken);
			ntaken++;
		}
	}
	if (lp_provq_settle(q)) {
		struct lp_provq_ask a;
		bool yes;
		while (lp_provq_answer(q, &a, &yes)) {
			cr_assert_eq(a.gen, ntaken);
			cr_assert_eq(yes, want[ntaken], "question %zu", ntaken);
			ntaken++;
		}
	}
	cr_assert_eq(ntaken, nask);
	cr_assert(nask > 10000);
	cr_assert_not(lp_provq_pending(q));
}

static void same_results(struct lp_provenance *a, struct lp_provenance *b)
{
	size_t na, nb;
	const struct lp_layer_change *ca = lp_prov_changes(a, &na), *cb = lp_prov_changes(b, &nb);
	cr_assert_eq(na, nb);
	cr_assert(na > 100);
	for (size_t i = 0; i < na; i++) {
		cr_assert_eq(ca[i].from, cb[i].from);
		cr_assert_eq(ca[i].to, cb[i].to);
		cr_assert_eq(ca[i].deleted, cb[i].deleted);
		cr_assert_eq(ca[i].link, cb[i].link);
		cr_assert_eq(ca[i].bytes, cb[i].bytes);
		cr_assert_str_eq(ca[i].path, cb[i].path);
		cr_assert_str_eq(ca[i].stage, cb[i].stage);
	}
	const struct lp_layer_read *ra = lp_prov_reads(a, &na), *rb = lp_prov_reads(b, &nb);
	cr_assert_eq(na, nb);
	for (size_t i = 0; i < na; i++) {
		cr_assert_eq(ra[i].step, rb[i].step);
		cr_assert_eq(ra[i].copy_of, rb[i].copy_of);
		cr_assert_str_eq(ra[i].path, rb[i].path);
	}
	for (int s = 0; s < 6; s++) {
		struct lp_layer_counts x = lp_prov_step_counts(a, s), y = lp_prov_step_counts(b, s);
		cr_assert_eq(memcmp(&x, &y, sizeof(x)), 0, "step %d", s);
	}
	cr_assert_eq(lp_prov_gone_count(a), lp_prov_gone_count(b));
}

static void run(bool threaded)
{
	struct lp_strtab paths = { 0 };
	uint32_t ids[NPATHS];
	for (int i = 0; i < NPATHS; i++) {
		char p[64];
		/* files in a few directories, some of them directories themselves */
		snprintf(p, sizeof(p), "/app/d%d/%s%d", i % 7, i % 5 ? "f" : "", i / 5);
		ids[i] = lp_strtab_intern(&paths, p);
	}
	struct lp_provenance *direct = lp_prov_new(), *queued = lp_prov_new();
	lp_prov_expect_ids(queued, paths.n);
	struct lp_prov_queue *q = lp_provq_new(queued, threaded);
	script(direct, q, &paths, ids);
	lp_provq_finish(q);
	same_results(direct, queued);
	lp_prov_free(direct);
	lp_prov_free(queued);
	lp_strtab_free(&paths);
}

Test(prov_queue, on_a_thread_as_at_once)
{
	run(true);
}

Test(prov_queue, without_a_thread_as_at_once)
{
	run(false);
}
