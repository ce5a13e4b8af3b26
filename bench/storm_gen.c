/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Event storm generator for bench/run.sh (throughput and loss of `record`).
 *
 *   storm_gen [-t THREADS] [-r RATE] [-d SECONDS] [-f PATH] [-m pair|enoent] [-o FILE]
 *
 * THREADS threads (default 1) each open(PATH, O_RDONLY) + close() as fast as
 * they can, or paced so that all threads together do RATE open+close pairs
 * per second (0: unpaced). With -m enoent each operation is one open() of a
 * name that does not exist (PATH + "-missing"): one traced event per syscall,
 * the cheapest event source, to find the recorder's own limit. Pacing: every 1 ms tick a thread does its share
 * of the tick's pairs, then sleeps to the next tick (absolute deadline, so
 * a late tick is caught up at once, never more than 100 ms worth).
 * Each pair is one traced event for layerprof (an openat LP_EV_SYSCALL; a
 * close of an fd with no read/write sends nothing).
 * Prints (to FILE or stdout): "ops elapsed_s achieved_ops_per_s cpu_s" (cpu_s:
 * its own user+sys CPU time).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *path = "/dev/null";
static char missing[4096];
static int enoent;
static double rate_per_thread;
static uint64_t end_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg)
{
	uint64_t *count = arg, n = 0;
	const uint64_t tick = 1000000; /* 1 ms */
	uint64_t start = now_ns(), next = start;
	double owed = 0;
	for (;;) {
		uint64_t t = now_ns();
		if (t >= end_ns)
			break;
		uint64_t batch;
		if (rate_per_thread > 0) {
			if (t < next) {
				struct timespec ts = { (time_t)(next / 1000000000ull),
						       (long)(next % 1000000000ull) };
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			}
			next += tick;
			/* never more than 100 ms of backlog */
			if (now_ns() > next + 100 * tick)
				next = now_ns();
			owed += rate_per_thread * (double)tick / 1e9;
			batch = (uint64_t)owed;
			owed -= (double)batch;
		} else {
			batch = 256;
		}
		if (enoent) {
			for (uint64_t i = 0; i < batch; i++)
				if (open(missing, O_RDONLY | O_CLOEXEC) >= 0) {
					fprintf(stderr, "storm_gen: %s exists\n", missing);
					exit(1);
				}
			n += batch;
			continue;
		}
		for (uint64_t i = 0; i < batch; i++) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				perror("storm_gen: open");
				exit(1);
			}
			close(fd);
		}
		n += batch;
	}
	*count = n;
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = 1;
	double rate = 0, secs = 2;
	const char *out = NULL;
	int c;
	while ((c = getopt(argc, argv, "t:r:d:f:m:o:")) != -1) {
		switch (c) {
		case 't': threads = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'd': secs = atof(optarg); break;
		case 'f': path = optarg; break;
		case 'o': out = optarg; break;
		case 'm': enoent = !strcmp(optarg, "enoent"); break;
		default:
			fprintf(stderr, "usage: storm_gen [-t THREADS] [-r RATE] [-d SECONDS] [-f PATH] [-m pair|enoent] [-o FILE]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > 64)
		threads = 1;
	rate_per_thread = rate / threads;
	snprintf(missing, sizeof(missing), "%s-missing", path);
	pthread_t th[64];
	uint64_t counts[64] = { 0 };
	uint64_t t0 = now_ns();
	end_ns = t0 + (uint64_t)(secs * 1e9);
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, &counts[i]);
	uint64_t total = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += counts[i];
	}
	double el = (double)(now_ns() - t0) / 1e9;
	FILE *o = out ? fopen(out, "w") : stdout;
	if (!o) {
		perror("storm_gen: output");
		return 1;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	fprintf(o, "%llu %.6f %.0f %.3f\n", (unsigned long long)total, el, (double)total / el, cpu);
	if (out)
		fclose(o);
	return 0;
}
