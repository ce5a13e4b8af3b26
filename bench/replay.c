/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The consumer alone (bench section 8): record's ring-buffer callback
 * (rec_on_event: checks, argv redaction) and the trace writer (packing,
 * deflate, its background thread), fed in-process with the kernel records
 * of a trace, no kernel, no BPF.
 *
 *   replay TRACE OUT [-n EVENTS] [-r REPS]
 *
 * The kernel records of TRACE (kinds 1-6, as the kernel sent them: the
 * file keeps them byte for byte) are laid out in memory the way the BPF
 * ring buffer holds them (8-byte header, 8-aligned), repeated until there
 * are EVENTS (default: all of TRACE once), then REPS times (default 1)
 * walked and handed to rec_on_event, into a fresh OUT each time. Prints
 * one line per rep:
 *   events cpu_s consumer_cpu_s wall_s
 * cpu_s is the process's user + system time (the writer's thread
 * included): events / cpu_s is what one core doing all of it takes.
 * consumer_cpu_s is the calling thread's alone (rec_on_event and the
 * hand-over of full blocks); the rest is the writer thread's (packing,
 * deflate, write), which runs on another core when there is one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "layerprof/abi.h"
#include "record_int.h"
#include "trace.h"
#include "util.h"

static double cpu_s(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#define RB_HDR 8 /* the BPF ring buffer's per-record header */

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: replay TRACE OUT [-n EVENTS] [-r REPS]\n");
		return 2;
	}
	const char *in = argv[1], *out = argv[2];
	unsigned long long want = 0;
	int reps = 1;
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-n"))
			want = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "-r"))
			reps = atoi(argv[i + 1]);
	}
	char err[512];
	struct lp_reader *rd = lp_reader_open(in, err, sizeof(err));
	if (!rd) {
		fprintf(stderr, "replay: %s\n", err);
		return 1;
	}
	/* one copy of TRACE's kernel records, ring-buffer style */
	size_t cap = 1 << 20, len = 0, nrec = 0;
	uint8_t *one = lp_xmalloc(cap);
	const struct lp_hdr *h;
	while ((!want || nrec < want) && lp_reader_next(rd, &h) == 1) {
		if (h->kind < LP_EV_SYSCALL || h->kind > LP_EV_FD_IO)
			continue;
		size_t need = RB_HDR + ((h->size + 7u) & ~7u);
		while (len + need > cap)
			one = lp_xrealloc(one, cap *= 2);
		memcpy(one + len, &(uint32_t){ h->size }, 4);
		memset(one + len + 4, 0, 4);
		memcpy(one + len + RB_HDR, h, h->size);
		len += need;
		nrec++;
	}
	lp_reader_close(rd);
	if (!nrec) {
		fprintf(stderr, "replay: %s has no kernel records\n", in);
		return 1;
	}
	if (!want)
		want = nrec;
	/* what the ring would hold: enough copies for `want` records */
	size_t copies = (size_t)((want + nrec - 1) / nrec);
	uint8_t *ring = lp_xmalloc(len * copies);
	for (size_t c = 0; c < copies; c++)
		memcpy(ring + c * len, one, len);
	free(one);

	struct rec *r = lp_xcalloc(1, sizeof(*r));
	for (int rep = 0; rep < reps; rep++) {
		r->w = lp_writer_open(out, "{\"replay\":true}", err, sizeof(err));
		if (!r->w) {
			fprintf(stderr, "replay: %s\n", err);
			return 1;
		}
		r->redact = true;
		r->events = 0;
		r->write_failed = false;
		double c0 = cpu_s(RUSAGE_SELF), t0 = cpu_s(RUSAGE_THREAD), w0 = wall_s();
		unsigned long long n = 0;
		for (size_t off = 0; off < len * copies && n < want; n++) {
			uint32_t sz;
			memcpy(&sz, ring + off, 4);
			if (rec_on_event(r, ring + off + RB_HDR, sz))
				break;
			off += RB_HDR + ((sz + 7u) & ~7u);
		}
		double t1 = cpu_s(RUSAGE_THREAD); /* the consumer's own, before the close waits */
		int rc = lp_writer_close(r->w, "{}", err, sizeof(err));
		r->w = NULL;
		double c1 = cpu_s(RUSAGE_SELF), w1 = wall_s();
		if (rc < 0 || r->write_failed) {
			fprintf(stderr, "replay: writing %s failed: %s\n", out, err);
			return 1;
		}
		if (r->events != n) {
			fprintf(stderr, "replay: %llu records given, %llu taken\n", n,
				(unsigned long long)r->events);
			return 1;
		}
		printf("%llu %.4f %.4f %.4f\n", n, c1 - c0, t1 - t0, w1 - w0);
		fflush(stdout);
	}
	free(r);
	free(ring);
	return 0;
}
