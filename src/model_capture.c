/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Capture (model_pass.h): while pass 1 reads a record, what pass 2 will
 * need of it -- its paths, resolved by pass 1's resolver in trace order and
 * interned -- is taken into an lp_p2rec.
 */
#include "model_pass.h"

#include <string.h>

#include "event.h"
#include "resolve.h"
#include "syscalls.h"

/* The id of the path open on fd, interned once per open (kept with the
 * resolver's path), 0 when unknown. */
static uint32_t fd_path_id(struct lp_model *m, struct lp_resolver *res, uint32_t tgid, int fd)
{
	uint32_t *tag;
	const char *s = lp_resolver_fd_tag(res, tgid, fd, &tag);
	if (!s)
		return 0;
	if (!*tag)
		*tag = lp_model_intern(m, s);
	return *tag;
}

bool lp_p2_capture(struct lp_model *m, struct lp_resolver *res, const struct lp_hdr *h, struct lp_p2rec *q,
		       char *fbuf, size_t flen, const char **first, bool *have_first, const uint32_t *first_hash)
{
	q->path = q->str0 = q->str1 = q->in = q->out = q->shown = 0;
	q->raw0 = false;
	*have_first = false;
	char buf[4096];
	switch (h->kind) {
	case LP_EV_SYSCALL: {
		const struct lp_ev_syscall *ev = (const void *)h;
		unsigned sc = h->aux;
		int i0;
		size_t raw_len;
		*first = lp_resolver_first_path_raw(res, ev, &i0, fbuf, flen, &raw_len);
		*have_first = true;
		if (raw_len) {
			/* the record's own string, normal as it is: its length is
			 * known, and its hash when it was worked out ahead (of string
			 * 0, all of its bytes) */
			struct lp_strtab *paths = &lp_priv(m)->paths;
			bool ahead = first_hash && i0 == 0 && raw_len + 1 == ev->str_len[0];
			q->path = lp_strtab_intern_hashed(paths, *first, raw_len,
							  ahead ? *first_hash : lp_strtab_hash(*first, raw_len));
		} else {
			q->path = lp_model_intern(m, *first);
		}
		/* pass 2 takes the first path argument that resolves */
		for (unsigned i = (unsigned)i0 + 1; i0 >= 0 && !*first && !q->path && i < ev->nstr &&
		     i < LP_SYSCALL_MAX_STRS; i++)
			if (lp_sc_arg_is_path(sc, (unsigned)ev->str_arg[i], ev->args))
				q->path = lp_model_intern(m, lp_resolve_path(res, ev, (int)i, buf, sizeof(buf)));
		if (ev->ret >= 0 && ev->nstr >= 2 && lp_sc_wants_str1(sc))
			q->str1 = lp_model_intern(m, lp_resolve_path(res, ev, 1, buf, sizeof(buf)));
		if (ev->ret >= 0 && ev->nstr >= 2 && sc == LP_SC_MOUNT) {
			const char *up = lp_mount_upperdir(ev, buf, sizeof(buf));
			if (up) {
				/* an overlay: what its target shows is written to upperdir */
				q->raw0 = LP_P2_OVERLAY;
				q->str0 = lp_model_intern(m, up);
			} else {
				const char *raw = lp_ev_syscall_str(ev, 0, NULL);
				q->raw0 = raw && *raw;
				q->str0 = lp_model_intern(m, lp_resolve_path(res, ev, 0, buf, sizeof(buf)));
			}
		}
		if (lp_sc_is_copy(sc)) {
			int in_fd = (int)ev->args[0], out_fd = (int)ev->args[2];
			if (sc == LP_SC_SENDFILE) {
				out_fd = (int)ev->args[0];
				in_fd = (int)ev->args[1];
			}
			q->in = fd_path_id(m, res, h->tgid, in_fd);
			q->out = fd_path_id(m, res, h->tgid, out_fd);
		}
		/* what the views name the call by (lp_model_replay): a copy's
		 * destination, else most often the path pass 2 takes, found
		 * without resolving anything again */
		if (lp_sc_is_copy(sc)) {
			q->shown = q->out;
		} else if (*first && ev->str_arg[i0] < 6) {
			q->shown = q->path; /* lp_resolver_event_path() takes it too */
		} else if (i0 < 0) {
			int fa = lp_resolver_event_fd_arg(ev);
			q->shown = fa >= 0 ? fd_path_id(m, res, h->tgid, (int)(int32_t)ev->args[fa]) : 0;
		} else {
			q->shown = lp_model_intern(m, lp_resolver_event_path(res, ev, buf, sizeof(buf)));
		}
		return true;
	}
	case LP_EV_FD_IO: {
		const struct lp_ev_fd_io *e = (const void *)h;
		/* a socket or pipe on a number a file had: no path */
		q->path = lp_fdio_is_path_io(e) ? fd_path_id(m, res, h->tgid, (int)h->aux) : 0;
		q->shown = lp_resolver_fdio_took_over(res, e) ? lp_model_intern(m, lp_resolver_fdio_path(res, e)) : q->path;
		return true;
	}
	case LP_EV_EXIT:
	case LP_EV_EXEC:
	case LP_EV_FORK:
		return true;
	default:
		return false;
	}
}

void lp_p2_fill(struct lp_p2rec *q, const struct lp_hdr *h)
{
	size_t n = h->kind == LP_EV_SYSCALL ? sizeof(q->r.sc) : h->kind == LP_EV_FD_IO ? sizeof(q->r.io)
		   : h->kind == LP_EV_EXIT ? sizeof(q->r.ex) : sizeof(q->r.h);
	memset(&q->r, 0, sizeof(q->r));
	memcpy(&q->r, h, n);
}

/* An open's new fd gets the id of its path as the resolver's tag: its
 * fd_io records need not intern the same string again. */
void lp_p2_feed(struct lp_resolver *res, const struct lp_hdr *h, const struct lp_p2rec *q, bool have_first,
			  const char *first)
{
	if (!have_first) {
		lp_resolver_feed(res, h);
		return;
	}
	lp_resolver_feed_first(res, h, first);
	const struct lp_ev_syscall *ev = (const void *)h;
	if (first && q->path && ev->ret >= 0 && lp_sc_opens_path(h->aux)) {
		uint32_t *tag;
		if (lp_resolver_fd_tag(res, h->tgid, (int)ev->ret, &tag) && tag && !*tag)
			*tag = q->path;
	}
}

