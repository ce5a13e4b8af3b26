// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness: argv redaction (redact.h). `record` redacts the
 * command line of every process a build starts before it is written, and
 * those command lines are the build's, anyone's: no argv may crash it, and
 * no secret it promises to hide may reach the trace.
 *
 * The input is NUL-separated arguments; its first byte chooses a secret
 * form and where to plant it. The secret is 20 letters and digits made
 * from a hash of the input, so it occurs nowhere else in the argv (checked:
 * else the input only tests for crashes). The forms are the ones redact.h
 * hides whatever stands around them, each a single argument:
 *   NPM_TOKEN=S, --password=S, https://user:S@host/x, ghp_<36 of S>, and
 *   --build-arg=API_KEY=S.
 * Checks: no redacted argument contains S; lp_redact_argv returns argc
 * strings; the record form (lp_redact_exec_argv), given the same argv in an
 * LP_EV_EXEC_ARGV, writes the same strings as lp_redact_argv or nothing;
 * and given the raw input as a record, returns 0, SIZE_MAX or a size within
 * its buffer, describing a well-formed record.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerprof/abi.h"
#include "redact.h"

#include "fuzz_require.h"

#define MAX_ARGS 24

static uint64_t hash(const uint8_t *d, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 1099511628211ull;
	return h;
}

/* An LP_EV_EXEC_ARGV of filename and argv in buf (room bytes); its size. */
static size_t make_record(uint8_t *buf, size_t room, int argc, char **argv)
{
	struct lp_ev_exec_argv *ev = (void *)buf;
	memset(buf, 0, room);
	char *p = (char *)(ev + 1), *end = (char *)buf + room;
	const char *fn = "/bin/prog";
	memcpy(p, fn, strlen(fn) + 1);
	p += strlen(fn) + 1;
	int kept = 0;
	for (int i = 0; i < argc && i < LP_ARGV_MAX_ARGS; i++) {
		size_t l = strlen(argv[i]) + 1;
		if (p + l > end)
			break;
		memcpy(p, argv[i], l);
		p += l;
		kept++;
	}
	size_t need = (size_t)(p - (char *)buf), padded = (need + 7) & ~(size_t)7;
	ev->h.kind = LP_EV_EXEC_ARGV;
	ev->h.size = (uint16_t)padded;
	ev->argc = (uint16_t)kept;
	ev->data_len = (uint16_t)(need - sizeof(*ev));
	return padded;
}

static void check_record_form(int argc, char **argv, char **red)
{
	static uint8_t rec[8192], out[8192 + 4096];
	int n = argc < LP_ARGV_MAX_ARGS ? argc : LP_ARGV_MAX_ARGS;
	size_t total = sizeof(struct lp_ev_exec_argv) + 16;
	for (int i = 0; i < n; i++)
		total += strlen(argv[i]) + 1;
	if (total > 4096)
		return; /* the kernel side keeps LP_ARGV_MAX_BYTES: keep to what fits whole */
	size_t len = make_record(rec, sizeof(rec), n, argv);
	size_t r = lp_redact_exec_argv((const void *)rec, len, out, sizeof(out));
	if (r == 0 || r == SIZE_MAX)
		return;
	REQUIRE(r <= sizeof(out), "the rewritten record fits the buffer it was given");
	const struct lp_ev_exec_argv *o = (const void *)out;
	const char *p = (const char *)(o + 1);
	p += strlen(p) + 1; /* the filename */
	for (int i = 0; i < o->argc; i++) {
		REQUIRE(!strcmp(p, red[i]), "the record form redacts as lp_redact_argv does");
		p += strlen(p) + 1;
	}
}

static void check_raw_record(const uint8_t *data, size_t size)
{
	static uint8_t rec[65536 + 8], out[65536 + 8];
	if (size < sizeof(struct lp_ev_exec_argv) || size > 65536)
		return;
	memcpy(rec, data, size);
	const struct lp_ev_exec_argv *ev = (const void *)rec;
	size_t room = size + LP_REDACT_GROWTH(ev->argc);
	if (room > sizeof(out))
		room = sizeof(out);
	size_t r = lp_redact_exec_argv(ev, size, out, room);
	if (r == 0 || r == SIZE_MAX)
		return;
	const struct lp_ev_exec_argv *o = (const void *)out;
	REQUIRE(r <= room, "a rewritten record within its buffer");
	REQUIRE(o->h.size == r && r >= sizeof(*o), "its size is what was returned");
	REQUIRE(o->data_len <= r - sizeof(*o), "its data inside it");
	REQUIRE(o->argc <= ev->argc, "no more arguments than it had");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_raw_record(data, size);
	if (!size)
		return 0;
	uint8_t how = data[0];
	/* the arguments */
	char *copy = malloc(size);
	REQUIRE(copy, "malloc");
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = 0;
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	for (char *p = copy; p < copy + size - 1 && argc < MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	if (!argc)
		argv[argc++] = copy;

	/* the secret, and one form of it planted */
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	char secret[21];
	uint64_t h = hash(data, size);
	for (int i = 0; i < 20; i++, h = h * 6364136223846793005ull + 1442695040888963407ull)
		secret[i] = al[(h >> 33) % 62];
	secret[20] = 0;
	char planted[160];
	switch (how % 5) {
	case 0: snprintf(planted, sizeof(planted), "NPM_TOKEN=%s", secret); break;
	case 1: snprintf(planted, sizeof(planted), "--password=%s", secret); break;
	case 2: snprintf(planted, sizeof(planted), "https://user:%s@host/x", secret); break;
	case 3: snprintf(planted, sizeof(planted), "ghp_%s%s", secret, "0123456789abcdef"); break;
	default: snprintf(planted, sizeof(planted), "--build-arg=API_KEY=%s", secret); break;
	}
	bool unique = true;
	for (int i = 0; i < argc; i++)
		if (strstr(argv[i], secret))
			unique = false;
	int at = (int)((how / 5) % (unsigned)(argc + 1));
	memmove(&argv[at + 1], &argv[at], (size_t)(argc - at) * sizeof(argv[0]));
	argv[at] = planted;
	argc++;
	argv[argc] = NULL;

	int changed = -1;
	char **red = lp_redact_argv(argc, (const char *const *)argv, &changed);
	REQUIRE(red, "lp_redact_argv");
	REQUIRE(changed >= 1 && changed <= argc, "the planted secret changed at least its argument");
	for (int i = 0; i < argc; i++) {
		REQUIRE(red[i], "argc strings");
		if (unique && strstr(red[i], secret)) {
			fprintf(stderr, "planted \"%s\" at %d of %d; redacted argument %d: \"%s\"\n", planted, at, argc,
				i, red[i]);
			REQUIRE(0, "a planted secret reached the redacted argv");
		}
	}
	check_record_form(argc, argv, red);
	lp_redact_free(red, argc);
	free(copy);
	return 0;
}
