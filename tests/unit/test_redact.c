/* SPDX-License-Identifier: BSD-2-Clause */
/* Redaction of secrets in recorded command lines (src/redact.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "redact.h"

/* Redact a NULL-terminated argv and compare with the expected one. */
static void expect(const char *const *in, const char *const *want, int want_changed)
{
	int n = 0;
	while (in[n])
		n++;
	int changed = -1;
	char **out = lp_redact_argv(n, in, &changed);
	for (int i = 0; i < n; i++)
		cr_expect_str_eq(out[i], want[i], "arg %d of '%s...': got '%s', want '%s'", i, in[0],
				 out[i], want[i]);
	cr_expect_eq(changed, want_changed, "changed %d, want %d", changed, want_changed);
	lp_redact_free(out, n);
}

#define V(...) ((const char *const[]){ __VA_ARGS__, NULL })

Test(redact, build_arg_secret_names)
{
	expect(V("docker", "build", "--build-arg", "NPM_TOKEN=abc123", "--build-arg", "VERSION=1.2",
		 "."),
	       V("docker", "build", "--build-arg", "NPM_TOKEN=***", "--build-arg", "VERSION=1.2", "."),
	       1);
	expect(V("docker", "build", "--build-arg=DB_PASSWORD=hunter2", "."),
	       V("docker", "build", "--build-arg=DB_PASSWORD=***", "."), 1);
	expect(V("docker", "build", "--build-arg", "aws_secret_access_key=x", "--build-arg",
		 "GITHUB_AUTH=y", "--build-arg", "API_KEY=z", "."),
	       V("docker", "build", "--build-arg", "aws_secret_access_key=***", "--build-arg",
		 "GITHUB_AUTH=***", "--build-arg", "API_KEY=***", "."),
	       3);
}

Test(redact, plain_name_value)
{
	expect(V("env", "MY_CREDENTIALS=s3cr3t", "PATH=/bin", "make"),
	       V("env", "MY_CREDENTIALS=***", "PATH=/bin", "make"), 1);
	/* PWD is not a password */
	expect(V("env", "PWD=/home/x", "OLDPWD=/", "make"), V("env", "PWD=/home/x", "OLDPWD=/", "make"),
	       0);
}

Test(redact, secret_keeps_id)
{
	expect(V("docker", "buildx", "build", "--secret", "id=npmrc,src=/root/.npmrc", "."),
	       V("docker", "buildx", "build", "--secret", "id=npmrc,***", "."), 1);
	expect(V("docker", "build", "--secret=src=/x,id=aws", "."),
	       V("docker", "build", "--secret=id=aws,***", "."), 1);
	expect(V("docker", "build", "--secret", "src=/x", "."),
	       V("docker", "build", "--secret", "***", "."), 1);
}

Test(redact, password_options)
{
	expect(V("docker", "login", "-u", "me", "-p", "pw", "registry"),
	       V("docker", "login", "-u", "me", "-p", "***", "registry"), 1);
	expect(V("docker", "login", "--password", "pw"), V("docker", "login", "--password", "***"), 1);
	expect(V("docker", "login", "--password=pw"), V("docker", "login", "--password=***"), 1);
	expect(V("tool", "--api-token", "t0k", "--token=abc"),
	       V("tool", "--api-token", "***", "--token=***"), 2);
	/* --password-stdin takes no value */
	expect(V("docker", "login", "--password-stdin", "registry"),
	       V("docker", "login", "--password-stdin", "registry"), 0);
	expect(V("mysql", "-psecret", "db"), V("mysql", "-p***", "db"), 1);
	expect(V("mysql", "-p", "db"), V("mysql", "-p", "db"), 0);
}

Test(redact, p_is_not_always_a_password)
{
	expect(V("mkdir", "-p", "/app/src"), V("mkdir", "-p", "/app/src"), 0);
	expect(V("docker", "run", "-p", "8080:80", "img"), V("docker", "run", "-p", "8080:80", "img"),
	       0);
}

Test(redact, urls)
{
	expect(V("git", "clone", "https://user:ghp_xyz@github.com/o/r.git"),
	       V("git", "clone", "https://user:***@github.com/o/r.git"), 1);
	expect(V("git", "clone", "https://github.com/o/r.git"),
	       V("git", "clone", "https://github.com/o/r.git"), 0);
}

Test(redact, exec_argv_record)
{
	/* filename, then argv */
	const char data[] = "/usr/bin/docker\0docker\0build\0--build-arg\0TOKEN=abc\0.";
	size_t dlen = sizeof(data); /* includes the final NUL */
	uint8_t in[256] __attribute__((aligned(8))) = { 0 };
	struct lp_ev_exec_argv *ev = (struct lp_ev_exec_argv *)in;
	ev->h.kind = LP_EV_EXEC_ARGV;
	ev->h.tgid = 42;
	ev->h.flags = LP_F_ARGV_TRUNC;
	ev->argc = 5;
	ev->data_len = (uint16_t)dlen;
	ev->h.size = (uint16_t)((sizeof(*ev) + dlen + 7) & ~7u);
	memcpy(in + sizeof(*ev), data, dlen);

	uint8_t out[512] __attribute__((aligned(8)));
	size_t n = lp_redact_exec_argv(ev, ev->h.size, out, sizeof(out));
	cr_assert(n > 0 && n != SIZE_MAX);
	const struct lp_ev_exec_argv *o = (const struct lp_ev_exec_argv *)out;
	cr_expect_eq(o->h.size, n);
	cr_expect_eq(n % 8, 0);
	cr_expect_eq(o->h.tgid, 42);
	cr_expect_eq(o->h.flags, LP_F_ARGV_TRUNC);
	cr_expect_eq(o->argc, 5);
	const char want[] = "/usr/bin/docker\0docker\0build\0--build-arg\0TOKEN=***\0.";
	cr_expect_eq(o->data_len, sizeof(want));
	cr_expect(memcmp(out + sizeof(*o), want, sizeof(want)) == 0);

	/* nothing secret: untouched */
	const char plain[] = "/bin/true\0true\0a";
	memset(in, 0, sizeof(in));
	ev->h.kind = LP_EV_EXEC_ARGV;
	ev->argc = 2;
	ev->data_len = sizeof(plain);
	ev->h.size = (uint16_t)((sizeof(*ev) + sizeof(plain) + 7) & ~7u);
	memcpy(in + sizeof(*ev), plain, sizeof(plain));
	cr_expect_eq(lp_redact_exec_argv(ev, ev->h.size, out, sizeof(out)), 0);

	/* hostile: data_len beyond the record, no NUL at the end */
	memset(in, 'A', sizeof(in));
	memset(in, 0, sizeof(*ev));
	ev->h.kind = LP_EV_EXEC_ARGV;
	ev->argc = 60000;
	ev->data_len = 60000;
	ev->h.size = 64;
	memcpy(in + sizeof(*ev), "x\0PASSWORD=1", 12);
	n = lp_redact_exec_argv(ev, 64, out, sizeof(out));
	cr_expect(n == 0 || n == SIZE_MAX || n <= sizeof(out));
	/* too small an output buffer: drop, never pass the secret through */
	memset(in, 0, sizeof(in));
	ev->h.kind = LP_EV_EXEC_ARGV;
	ev->argc = 5;
	ev->data_len = (uint16_t)dlen;
	ev->h.size = (uint16_t)((sizeof(*ev) + dlen + 7) & ~7u);
	memcpy(in + sizeof(*ev), data, dlen);
	cr_expect_eq(lp_redact_exec_argv(ev, ev->h.size, out, 40), SIZE_MAX);
}

Test(redact, token_shapes_anywhere)
{
	expect(V("git", "clone", "https://x-access-token:ghp_0123456789abcdefghijABCDEFGHIJ@github.com/o/r"),
	       V("git", "clone", "https://x-access-token:***@github.com/o/r"), 1);
	expect(V("sh", "-c", "echo //registry.example.test/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789 > .npmrc"),
	       V("sh", "-c", "echo //registry.example.test/:_authToken=npm_*** > .npmrc"), 1);
	expect(V("curl", "-H", "Authorization: Bearer abcdef0123456789", "https://api"),
	       V("curl", "-H", "Authorization: Bearer ***", "https://api"), 1);
	expect(V("aws", "configure", "set", "aws_access_key_id", "AKIAIOSFODNN7EXAMPLE"),
	       V("aws", "configure", "set", "aws_access_key_id", "AKIA***"), 1);
	expect(V("app", "--jwt-file", "x", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
	       V("app", "--jwt-file", "x", "eyJ***"), 1);
	expect(V("glab", "auth", "glpat-abcdefghij0123456789", "xoxb-1234-5678-abcdef"),
	       V("glab", "auth", "glpat-***", "xoxb-***"), 2);
	expect(V("gh", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop"), V("gh", "github_pat_***"), 1);
}

/* Every shape, each after a character that can start no other one: the
 * scan compares prefixes only where a shape can start (a table of their
 * first bytes), so a shape missing from it would go through. */
Test(redact, every_token_shape_is_found)
{
	expect(V("x", "ghp_0123456789abcdefghij", "gho_0123456789abcdefghij", "ghu_0123456789abcdefghij",
		 "ghs_0123456789abcdefghij", "ghr_0123456789abcdefghij"),
	       V("x", "ghp_***", "gho_***", "ghu_***", "ghs_***", "ghr_***"), 5);
	expect(V("x", "github_pat_0123456789abcdefghij", "glpat-0123456789abcdef", "xoxb-0123456789",
		 "xoxp-0123456789", "xoxa-0123456789", "xoxs-0123456789"),
	       V("x", "github_pat_***", "glpat-***", "xoxb-***", "xoxp-***", "xoxa-***", "xoxs-***"), 6);
	expect(V("x", "npm_0123456789abcdefghijklmnopqrstuv", "AKIA0123456789ABCDEF", "ASIA0123456789ABCDEF",
		 "eyJ0123456789abcdefghij", "h: Bearer 0123456789", "h: Basic 0123456789=="),
	       V("x", "npm_***", "AKIA***", "ASIA***", "eyJ***", "h: Bearer ***", "h: Basic ***"), 6);
	/* after other characters of an argument, at a word start */
	expect(V("x", "a=1;ghp_0123456789abcdefghij,(xoxs-0123456789)"),
	       V("x", "a=1;ghp_***,(xoxs-***)"), 1);
}

Test(redact, token_shapes_need_length_and_a_word_start)
{
	/* short or embedded look-alikes are words, not tokens */
	expect(V("echo", "ghp_short", "npm_install", "xAKIAIOSFODNN7EXAMPLE", "AKIAlowercase0000000000"),
	       V("echo", "ghp_short", "npm_install", "xAKIAIOSFODNN7EXAMPLE", "AKIAlowercase0000000000"),
	       0);
}

Test(redact, curl_user_password)
{
	expect(V("curl", "-u", "alice:hunter2", "https://x"), V("curl", "-u", "alice:***", "https://x"),
	       1);
	expect(V("curl", "--user=alice:hunter2", "-ualice:pw", "https://x"),
	       V("curl", "--user=alice:***", "-ualice:***", "https://x"), 2);
	/* a user with no password is kept; -u means something else for docker */
	expect(V("curl", "-u", "alice", "https://x"), V("curl", "-u", "alice", "https://x"), 0);
	expect(V("docker", "run", "-u", "1000:1000", "img"), V("docker", "run", "-u", "1000:1000", "img"),
	       0);
}

Test(redact, assignments_inside_shell_strings)
{
	expect(V("/bin/sh", "-c", "NPM_TOKEN=abc123 npm ci && echo done"),
	       V("/bin/sh", "-c", "NPM_TOKEN=*** npm ci && echo done"), 1);
	expect(V("sh", "-c", "echo \"DB_PASSWORD=hunter2\" > .env;API_KEY='k1' run"),
	       V("sh", "-c", "echo \"DB_PASSWORD=***\" > .env;API_KEY='***' run"), 1);
	/* already redacted whole-argument values are not counted twice */
	expect(V("env", "MY_SECRET=x", "make"), V("env", "MY_SECRET=***", "make"), 1);
	/* not at a word start, or not a secret name: kept */
	expect(V("sh", "-c", "cp /srv/KEY=1 . && PATH=/bin make"),
	       V("sh", "-c", "cp /srv/KEY=1 . && PATH=/bin make"), 0);
}
