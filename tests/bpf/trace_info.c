/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small window into a trace file for the shell tests (tests/bpf/run.sh):
 *
 *   trace_info FILE meta      the META JSON
 *   trace_info FILE trailer   the TRAILER JSON (exit 1 when absent)
 *   trace_info FILE tgids     distinct tgids of kernel events, one a line
 *   trace_info FILE status    "records=N kernel=N trailer=0|1 damaged=0|1"
 *   trace_info FILE kinds     "KIND COUNT" lines
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "trace.h"
#include "util.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: trace_info FILE meta|trailer|tgids|status|kinds\n");
		return 2;
	}
	char err[512];
	struct lp_reader *r = lp_reader_open(argv[1], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "trace_info: %s\n", err);
		return 1;
	}
	const char *what = argv[2];
	if (!strcmp(what, "meta")) {
		printf("%s\n", lp_reader_meta(r));
		lp_reader_close(r);
		return 0;
	}
	uint32_t *tgids = NULL;
	size_t ntgids = 0;
	uint64_t records = 0, kernel = 0, kinds[256] = { 0 };
	const struct lp_hdr *h;
	while (lp_reader_next(r, &h) == 1) {
		records++;
		kinds[h->kind]++;
		if (h->kind >= 0x80)
			continue;
		kernel++;
		size_t i = 0;
		while (i < ntgids && tgids[i] != h->tgid)
			i++;
		if (i == ntgids) {
			tgids = lp_xrealloc(tgids, (ntgids + 1) * sizeof(*tgids));
			tgids[ntgids++] = h->tgid;
		}
	}
	const struct lp_reader_status *st = lp_reader_status(r);
	int rc = 0;
	if (!strcmp(what, "trailer")) {
		const char *t = lp_reader_trailer(r);
		if (t)
			printf("%s\n", t);
		rc = t ? 0 : 1;
	} else if (!strcmp(what, "tgids")) {
		for (size_t i = 0; i < ntgids; i++)
			printf("%u\n", tgids[i]);
	} else if (!strcmp(what, "status")) {
		printf("records=%llu kernel=%llu trailer=%d damaged=%d\n", (unsigned long long)records,
		       (unsigned long long)kernel, st->has_trailer, st->damaged);
	} else if (!strcmp(what, "kinds")) {
		for (int k = 0; k < 256; k++)
			if (kinds[k])
				printf("%s %llu\n", lp_kind_name((unsigned)k) ? lp_kind_name((unsigned)k) : "?",
				       (unsigned long long)kinds[k]);
	} else {
		fprintf(stderr, "trace_info: unknown request '%s'\n", what);
		rc = 2;
	}
	free(tgids);
	lp_reader_close(r);
	return rc;
}
