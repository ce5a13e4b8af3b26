/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Redaction of secrets in the command lines `record` writes (the META
 * command and every LP_EV_EXEC_ARGV record). Environments are never
 * recorded, so command lines are the only place a secret can leak.
 *
 * Rules (an approximation: it prefers hiding too much to too little):
 *  - NAME=VALUE (alone, or after --build-arg/--env/-e, or as
 *    --build-arg=NAME=VALUE) where NAME looks secret (contains TOKEN,
 *    SECRET, PASSWORD, PASSWD, PASSPHRASE, KEY, CREDENTIAL, AUTH, COOKIE,
 *    PRIVATE, SESSION, case-insensitive): VALUE becomes "***";
 *  - --secret VALUE / --secret=VALUE: only the id is kept
 *    ("id=npm,src=/root/.npmrc" -> "id=npm,***"; no id -> "***");
 *  - --password VALUE / --password=VALUE, and any long option whose name
 *    contains token, secret, password, passwd, apikey or api-key (but not
 *    the ...-stdin / ...-file / ...-env forms, which name no secret): VALUE;
 *  - -p VALUE / -pVALUE: only where -p means a password: after a "login"
 *    word (docker login -p), and for mysql, mysqladmin, mysqldump, sshpass
 *    (-p means "parents" for mkdir and "publish" for docker run, which are
 *    kept);
 *  - credentials in URLs: scheme://user:PASSWORD@host -> scheme://user:***@host;
 *  - curl/wget -u USER:PASSWORD, --user USER:PASSWORD: "USER:***";
 *  - well-known token shapes anywhere in an argument, prefix kept: GitHub
 *    (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_), GitLab (glpat-), Slack
 *    (xoxb-, xoxp-, xoxa-, xoxs-), npm (npm_), AWS key ids (AKIA, ASIA),
 *    JWTs (eyJ...), and "Bearer ..." / "Basic ..." header values.
 */
#ifndef LAYERPROF_REDACT_H
#define LAYERPROF_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "layerprof/abi.h"

#define LP_REDACTED "***"

/* Does NAME (of NAME=VALUE) look like it holds a secret? */
bool lp_redact_name_is_secret(const char *name, size_t len);

/*
 * Redact argv[0..argc). Returns a new array of argc new strings (free with
 * lp_redact_free), and in *changed (may be NULL) how many were changed.
 */
char **lp_redact_argv(int argc, const char *const *argv, int *changed);
void lp_redact_free(char **v, int argc);

/*
 * Redact an LP_EV_EXEC_ARGV record. When nothing needs hiding, returns 0
 * and leaves out untouched. Otherwise writes the rewritten record (its
 * header's size and data_len updated; the kernel's truncation flags kept)
 * into out (outlen bytes) and returns its size. Returns 0 as well when the
 * record is malformed (no argument could be found in it), and SIZE_MAX when
 * a secret was found but the rewritten record does not fit in out or in a
 * record (the caller must then drop the record, never write it as is).
 * The record is never trusted: lengths are checked against `len`.
 */
size_t lp_redact_exec_argv(const struct lp_ev_exec_argv *ev, size_t len, void *out,
			   size_t outlen);
/* Bytes enough for out: the record may grow by at most this. */
#define LP_REDACT_GROWTH(argc) ((size_t)((argc) + 1) * (sizeof(LP_REDACTED) + 8))

#endif
