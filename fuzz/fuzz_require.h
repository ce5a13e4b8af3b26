// SPDX-License-Identifier: BSD-2-Clause
/* What the fuzz harnesses share: an invariant check that says which one
 * failed, then aborts (a crash, for libFuzzer, with the input saved). */
#ifndef LAYERPROF_FUZZ_REQUIRE_H
#define LAYERPROF_FUZZ_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(cond, what)                                                                  \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "INVARIANT FAILED: %s (%s:%d)\n", what, __FILE__, __LINE__); \
			abort();                                                             \
		}                                                                            \
	} while (0)

#endif
