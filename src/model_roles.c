/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Process roles (model.h, enum lp_role): what a process's comm, exe and argv
 * say it is (daemon, runc...), cached per process for the passes; and which
 * of the traced daemons serves the build.
 */
#include "model_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum lp_role lp_role_of_proc(const struct lp_proc *p)
{
	const char *comm = p->comm, *exe = p->exe;
	const char *b = exe ? lp_base_name(exe) : NULL;
	const char *a0 = p->argc > 0 ? lp_base_name(p->argv[0]) : "";
	/* dockerd re-exec'd (/proc/<dockerd pid>/exe: libnetwork-setkey hook,
	 * set-ipv6, docker-mountfrom...) */
	if (exe && lp_starts_with(exe, "/proc/") && isdigit((unsigned char)exe[6]))
		return LP_ROLE_DAEMON;
	if (!strcmp(a0, "libnetwork-setkey") || !strcmp(a0, "docker-mountfrom") ||
	    !strcmp(a0, "docker-untar") || !strcmp(a0, "docker-applyLayer"))
		return LP_ROLE_DAEMON;
	/* runc, and its re-exec "/proc/self/exe init" (comm "exe"); busybox
	 * applets are also /proc/self/exe, but with their own argv */
	if (lp_starts_with(comm, "runc") || !strcmp(comm, "buildkit-runc") || !strcmp(comm, "crun") ||
	    (b && (!strcmp(b, "runc") || !strcmp(b, "buildkit-runc") || !strcmp(b, "crun"))) ||
	    !strcmp(a0, "runc") || !strcmp(a0, "buildkit-runc") || !strcmp(a0, "crun") ||
	    (exe && !strcmp(exe, "/proc/self/exe") && p->argc >= 2 && !strcmp(p->argv[1], "init")))
		return LP_ROLE_RUNC;
	static const char *daemons[] = { "dockerd", "containerd", "buildkitd", "docker-proxy",
					 "containerd-shim" };
	for (size_t i = 0; i < LP_ARRAY_SIZE(daemons); i++)
		if (lp_starts_with(comm, daemons[i]) || (b && lp_starts_with(b, daemons[i])))
			return LP_ROLE_DAEMON;
	return LP_ROLE_OTHER;
}

bool lp_proc_is_build_client(const struct lp_proc *p)
{
	static const char *clients[] = { "docker", "docker-buildx", "buildx", "buildctl" };
	const char *b = p->exe ? lp_base_name(p->exe) : NULL;
	for (size_t i = 0; i < LP_ARRAY_SIZE(clients); i++)
		if (!strcmp(p->comm, clients[i]) || (b && !strcmp(b, clients[i])))
			return true;
	return false;
}

/* pcache bits (per proc); PC_DAEMONISH and PC_INBUILD: model_int.h */
#define PC_ROLE_OK   0x80u  /* bits 0-2 hold lp_role_of_proc() */
#define PC_ROLE_MASK 0x07u
#define PC_P2        0x08u  /* pass 2: PC_DAEMONISH and PC_INBUILD are set */

enum lp_role lp_model_role_cached(const struct lp_model *m, const struct lp_proc *p)
{
	uint8_t *c = &lp_priv(m)->pcache[p->index];
	if (!(*c & PC_ROLE_OK))
		*c = (uint8_t)((*c & ~(PC_ROLE_OK | PC_ROLE_MASK)) | PC_ROLE_OK | (unsigned)lp_role_of_proc(p));
	return (enum lp_role)(*c & PC_ROLE_MASK);
}

void lp_model_role_changed(struct lp_model *m, const struct lp_proc *p)
{
	lp_priv(m)->pcache[p->index] &= (uint8_t)~PC_ROLE_OK;
}

bool lp_model_is_daemonish(const struct lp_model *m, const struct lp_proc *p)
{
	return p->role == LP_ROLE_DAEMON || lp_model_role_cached(m, p) == LP_ROLE_DAEMON;
}

uint32_t lp_model_daemon_root(const struct lp_model *m, const struct lp_proc *p)
{
	uint32_t root = 0;
	for (int depth = 0; p && depth < 64; depth++) {
		if (lp_model_is_daemonish(m, p))
			root = p->pid;
		p = p->parent >= 0 && p->parent != p->index ? &m->procs[p->parent] : NULL;
	}
	return root;
}

bool lp_model_in_build_daemon(const struct lp_model *m, const struct lp_proc *p)
{
	struct lp_priv *pv = lp_priv(m);
	if (!pv->daemon_known)
		return true;
	for (int depth = 0; p && depth < 64; depth++) {
		if (p->pid == pv->daemon_pid || (pv->store_pid && p->pid == pv->store_pid))
			return true;
		p = p->parent >= 0 && p->parent != p->index ? &m->procs[p->parent] : NULL;
	}
	return false;
}

/* The value of -H/--host in argv (split on spaces when argc is 1). */
static const char *host_arg(char **argv, int argc, char *buf, size_t len)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if ((!strcmp(a, "-H") || !strcmp(a, "--host")) && i + 1 < argc)
			a = argv[i + 1];
		else if (!strncmp(a, "--host=", 7))
			a += 7;
		else if (!strncmp(a, "-H=", 3))
			a += 3;
		else
			continue;
		if (!strncmp(a, "unix://", 7))
			a += 7;
		snprintf(buf, len, "%s", a);
		return buf;
	}
	return NULL;
}

/* The one listening where the CLI's -H points (default socket when neither
 * says). */
void lp_model_identify_daemon(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	if (pv->daemon_tried)
		return;
	pv->daemon_tried = true;
	if (!m->build.command)
		return;
	char *cmd = lp_xstrdup(m->build.command), *save = NULL;
	char *v[256];
	int n = 0;
	for (char *t = strtok_r(cmd, " ", &save); t && n < 256; t = strtok_r(NULL, " ", &save))
		v[n++] = t;
	char cb[1024], db[1024];
	const char *want = host_arg(v, n, cb, sizeof(cb));
	/* no -H: the DOCKER_HOST record saw (a CLI >= 23 hands the build to
	 * the buildx plugin, which reads it), else the default socket */
	if (!want && m->build.docker_host && !strncmp(m->build.docker_host, "unix://", 7))
		want = m->build.docker_host + 7;
	else if (!want && m->build.docker_host)
		want = m->build.docker_host;
	if (!want)
		want = "/var/run/docker.sock";
	int found = 0;
	uint32_t pid = 0;
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		if (strncmp(p->comm, "dockerd", 7) || !p->argc || !p->seeded)
			continue;
		const char *have = host_arg(p->argv, p->argc, db, sizeof(db));
		if (!have || !strncmp(have, "fd://", 5))
			have = "/var/run/docker.sock";
		if (!strcmp(have, want) || (!strcmp(want, "/var/run/docker.sock") && !strcmp(have, "/run/docker.sock"))) {
			found++;
			pid = p->pid;
		}
	}
	if (found == 1) {
		pv->daemon_pid = pid;
		pv->daemon_known = true;
	}
	free(cmd);
}

uint8_t lp_model_pass2_flags(const struct lp_model *m, const struct lp_proc *p)
{
	uint8_t *c = &lp_priv(m)->pcache[p->index];
	if (!(*c & PC_P2)) {
		bool d = lp_model_is_daemonish(m, p), b = lp_model_in_build_daemon(m, p);
		*c = (uint8_t)(*c | PC_P2 | (d ? PC_DAEMONISH : 0) | (b ? PC_INBUILD : 0));
	}
	return *c;
}

bool lp_model_is_build_daemon(const struct lp_model *m, const struct lp_proc *p)
{
	uint8_t f = lp_model_pass2_flags(m, p);
	return (f & PC_DAEMONISH) && (f & PC_INBUILD);
}


const char *lp_proc_runc_bundle(const struct lp_proc *p, bool *is_run)
{
	*is_run = false;
	const char *bundle = NULL;
	for (int i = 0; i < p->argc; i++) {
		if (!strcmp(p->argv[i], "run"))
			*is_run = true;
		if ((!strcmp(p->argv[i], "--bundle") || !strcmp(p->argv[i], "-b")) && i + 1 < p->argc)
			bundle = p->argv[i + 1];
		else if (lp_starts_with(p->argv[i], "--bundle="))
			bundle = p->argv[i] + 9;
	}
	return bundle;
}

/* The containerd of a containerd-store build: the build's layers are
 * containerd snapshots (<root>/io.containerd.snapshotter.v1.<name>/...),
 * and the containerd holding that root (its --root or --config names a
 * directory above it; else the only containerd traced that is no other
 * dockerd's child) does the unpacking and the export. */
void lp_model_find_store_partner(struct lp_model *m)
{
	struct lp_priv *pv = lp_priv(m);
	const char *snap = m->context.snapshot_dir;
	const char *cut = snap ? strstr(snap, "/io.containerd.snapshotter.v1.") : NULL;
	if (!pv->daemon_known || !cut)
		return;
	size_t rootlen = (size_t)(cut - snap); /* containerd's root */
	uint32_t only = 0, best = 0;
	size_t nonly = 0, best_len = 0;
	for (size_t i = 0; i < m->nprocs; i++) {
		const struct lp_proc *p = &m->procs[i];
		if (strcmp(p->comm, "containerd") || p->pid == pv->daemon_pid)
			continue;
		const struct lp_proc *par = p->parent >= 0 ? &m->procs[p->parent] : NULL;
		if (par && !strncmp(par->comm, "dockerd", 7) && par->pid != pv->daemon_pid)
			continue; /* another dockerd's own containerd */
		only = p->pid;
		nonly++;
		for (int a = 1; a < p->argc; a++) {
			const char *v = p->argv[a];
			const char *sl = strrchr(v, '/');
			size_t dl = sl ? (size_t)(sl - v) : 0;
			/* --root R, or --config R/../config.toml */
			if (dl && dl <= rootlen && !strncmp(snap, v, dl) && (snap[dl] == '/') && dl > best_len) {
				best = p->pid;
				best_len = dl;
			}
		}
	}
	pv->store_pid = best ? best : nonly == 1 ? only : 0;
}
