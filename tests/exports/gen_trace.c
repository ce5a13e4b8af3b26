/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Writes the synthetic recording of tests/exports/synth.h:
 *   gen_trace OUT.lprof [A|B] [--tiny N] [--bulk N] [--overlap]
 * Used by tests/exports/run.sh when no real trace is available.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

int main(int argc, char **argv)
{
	struct synth_opts o = { .variant = 'B', .tiny_lookups = 40 };
	const char *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--tiny") && i + 1 < argc)
			o.tiny_lookups = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--bulk") && i + 1 < argc)
			o.bulk_files = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--overlap"))
			o.overlap = 1;
		else if (!strcmp(argv[i], "A") || !strcmp(argv[i], "B"))
			o.variant = argv[i][0];
		else if (!out)
			out = argv[i];
		else {
			fprintf(stderr, "usage: gen_trace OUT.lprof [A|B] [--tiny N] [--bulk N] [--overlap]\n");
			return 2;
		}
	}
	if (!out) {
		fprintf(stderr, "usage: gen_trace OUT.lprof [A|B] [--tiny N] [--bulk N] [--overlap]\n");
		return 2;
	}
	if (synth_write(out, &o) < 0) {
		fprintf(stderr, "gen_trace: cannot write %s\n", out);
		return 1;
	}
	return 0;
}
