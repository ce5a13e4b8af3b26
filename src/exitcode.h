/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Exit statuses, one per kind of failure, so scripts can tell them apart.
 * `record -- CMD` exits with CMD's own status when recording itself worked.
 * Keep in step with the EXIT STATUS section of man/layerprof.1.
 */
#ifndef LAYERPROF_EXITCODE_H
#define LAYERPROF_EXITCODE_H

enum lp_exit {
	LP_EXIT_OK = 0,
	LP_EXIT_FAILURE = 1,    /* anything not listed below */
	LP_EXIT_USAGE = 2,      /* bad command line */
	LP_EXIT_TARGET = 3,     /* report --target: a target was missed */
	LP_EXIT_PRIVILEGE = 4,  /* not root / missing CAP_BPF, CAP_PERFMON... */
	LP_EXIT_KERNEL = 5,     /* kernel lacks BTF, BPF, ring buffer, tracefs... */
	LP_EXIT_BADTRACE = 6,   /* trace file missing, not ours, corrupt, newer */
	LP_EXIT_IO = 7,         /* cannot write the output (disk full...) */
};

#endif
