/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * layerprof: an eBPF-assisted profiler of container image builds.
 * This file only dispatches to the subcommands (one file each).
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "exitcode.h"
#include "model.h"
#include "shim.h"
#include "version.h"
#include "layerprof/abi.h"

static const struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	bool loads_model;          /* reads a whole trace into a model (model.h) */
} subcommands[] = {
	{ "record", cmd_record, "trace a build (or the running daemons) into a trace file", false },
	{ "report", cmd_report, "explain what was slow and why the cache missed", true },
	{ "export", cmd_export, "Perfetto/Chrome JSON, flame graphs, metrics; OTLP traces to a collector", true },
	{ "diff",   cmd_diff,   "compare two recordings: what changed, why it missed", true },
	{ "dump",   cmd_dump,   "print every recorded event (text or NDJSON)", false },
	{ "check",  cmd_check,  "can this host run layerprof? what is missing?", false },
};

/*
 * glibc serves an allocation of 128 KiB or more with its own mmap, but
 * raises that threshold to the size of each such block freed (up to
 * 32 MiB). Loading a model frees many multi-MiB blocks (the tape's 4 MiB
 * chunks as pass 2 reads them, arrays outgrown): the threshold climbs and
 * the later big arrays and chunks come from the heap instead, where what
 * is freed stays in the process. A 10M-event trace then peaked at
 * ~490 MiB RSS for ~385 MiB of live heap (heaptrack). A fixed 1 MiB
 * threshold gives every big block back when freed: ~360 MiB, as fast.
 */
static void tune_malloc_for_model(void)
{
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: layerprof [--version] [--help] <command> [<args>]\n"
		"\n"
		"Profile container image builds with eBPF: why a docker build is slow,\n"
		"why its cache misses.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out,
		"\n"
		"Typical use:\n"
		"  sudo layerprof record -o build.lprof -- docker build -t app .\n"
		"  layerprof report build.lprof\n"
		"\n"
		"Run 'layerprof <command> --help' for a command's options; see layerprof(1).\n");
}

/* Exit 7 when what was printed could not be written (a full disk, a
 * closed pipe), as every command does. */
static int stdout_ok(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "layerprof: cannot write the output\n");
		return LP_EXIT_IO;
	}
	return LP_EXIT_OK;
}

int main(int argc, char **argv)
{
	/* run as `docker` by a recorded build script: record's shim (shim.h) */
	if (lp_shim_wanted(argv[0]))
		return lp_shim_main(argc, argv);
	if (argc < 2) {
		fprintf(stderr, "layerprof: no command given; see 'layerprof --help'\n");
		return LP_EXIT_USAGE;
	}
	const char *name = argv[1];
	/* "layerprof help report" is "layerprof report --help" */
	if (!strcmp(name, "help") && argc > 2) {
		for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
			if (!strcmp(argv[2], subcommands[i].name)) {
				char *help_argv[] = { argv[2], (char *)"--help", NULL };
				subcommands[i].run(2, help_argv);
				return stdout_ok();
			}
		}
		fprintf(stderr, "layerprof: '%s' is not a layerprof command; see 'layerprof --help'\n",
			argv[2]);
		return LP_EXIT_USAGE;
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return stdout_ok();
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V") || !strcmp(name, "version")) {
		printf("layerprof %s (event ABI %d)\n", LAYERPROF_VERSION, LP_ABI_VERSION);
		return stdout_ok();
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(name, subcommands[i].name) != 0)
			continue;
		if (subcommands[i].loads_model)
			tune_malloc_for_model();
		lp_model_process_ends = true;
		int rc = subcommands[i].run(argc - 1, argv + 1);
		/* whatever a command printed (its --help too) must have reached
		 * stdout: exit 7 otherwise, once said */
		if (rc != LP_EXIT_IO && (fflush(stdout) != 0 || ferror(stdout))) {
			fprintf(stderr, "layerprof: %s: cannot write the output\n", name);
			rc = LP_EXIT_IO;
		}
		return rc;
	}
	fprintf(stderr, "layerprof: '%s' is not a layerprof command; see 'layerprof --help'\n", name);
	return LP_EXIT_USAGE;
}
