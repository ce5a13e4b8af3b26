/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps, configuration and the small helpers every layerprof BPF program
 * shares: the traced-process filter, the per-thread in-flight syscall
 * slots, lost-event counters, ring buffer output with batched wake-ups,
 * per-fd I/O aggregation, per-process counts.
 *
 * Included once, by layerprof.bpf.c (one object, one skeleton).
 * Only 5.8 features: ring buffer, bounded loops, bpf_probe_read_{user,kernel},
 * mmapable global data (no bpf_loop, no task storage; the BTF-typed current
 * task only behind a CO-RE test of the running kernel, LP_HAVE_TASK_BTF; the
 * fd slots' compare-and-swap only where the loader found it, fd_slots_on).
 */
#ifndef LAYERPROF_LP_CORE_BPF_H
#define LAYERPROF_LP_CORE_BPF_H

#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "layerprof/abi.h"

/* The per-CPU scratch buffer variable-size events are built in. Twice the
 * largest event, so that "offset < LP_EVENT_MAX" plus "one string of at
 * most LP_STR_MAX" is always inside it: the verifier sees masks, not math. */
#define LP_SCRATCH (2 * LP_EVENT_MAX)

/* Make x opaque to the compiler, so that the mask or bound check written
 * after it is kept: clang drops masks it can prove redundant, the verifier
 * (5.8 in particular) cannot prove them and needs them to bound offsets and
 * to see identical ranges at loop heads (state pruning). */
#define lp_barrier_var(x) asm volatile("" : "+r"(x))

/* Default map sizes (user space may change them before load). */
#define LP_TRACED_MAX 16384
#define LP_INFLIGHT_SLOTS 65536 /* power of two: slot = tid & (slots - 1) */
#define LP_FDIO_MAX 65536
#define LP_COUNTS_MAX 16384
#define LP_RINGBUF_DEFAULT (16u << 20)

#define LP_AT_FDCWD (-100)

/* ---- configuration, set by user space before load (.rodata) ---- */
const volatile __u32 self_tgid = 0;     /* layerprof itself: never traced */
const volatile __u64 wakeup_bytes = 0;  /* wake the consumer past this much data */
/* x86-64 syscall number -> enum lp_sc (0: not traced), for the raw
 * sys_enter program. Filled by the loader, which knows the numbers (__NR_*);
 * the BPF object stays free of them. */
#define LP_NR_MAX 512
const volatile __u8 sc_of_nr[LP_NR_MAX] = {};

/* ---- maps ---- */

/* Processes (tgid) being traced. Seeded by user space, inherited on fork,
 * removed when the last thread exits. The value is unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LP_TRACED_MAX);
	__type(key, __u32);
	__type(value, __u8);
} traced SEC(".maps");

/*
 * The filter's cache in front of `traced`, read by every syscall of every
 * process on the host. A HASH lookup is a helper call, a jhash and a bucket
 * walk: the filter cost ~70 ns in sys_enter with it, ~20 ns with this cache
 * (bpf_stats, the pid helper included). Entry
 * traced_hint[tgid & (LP_HINTS - 1)] holds:
 *   0        no traced process has this entry: not traced (the common case)
 *   a tgid   that process is traced
 *   LP_ASK   ask `traced` (a process user space started tracing, one that
 *            has exited, two traced processes sharing the entry)
 * What keeps "0: no" and "tgid: yes" true:
 *   - an entry never goes back to 0, so a traced tgid's entry is never 0:
 *     adding to `traced` stores the tgid (BPF, when the entry is 0 or ASK)
 *     or LP_ASK (user space, always safe), after the map update;
 *   - a tgid is stored only while it is surely in `traced` and alive: at
 *     its fork, its exec (comm match) or one of its own syscalls; its exit
 *     turns it into LP_ASK after deleting it from `traced`.
 * Races between stores only ever leave some non-zero value: at worst a
 * traced process asks the map, never a wrong answer.
 */
#define LP_HINTS 65536  /* power of two; 256 KiB */
#define LP_ASK 0xffffffffu
__u32 traced_hint[LP_HINTS] = {};

/* comm names that start a trace when a process execs with them. */
struct lp_comm {
	char name[LP_COMM_LEN];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LP_MAX_COMMS);
	__type(key, __u32);
	__type(value, struct lp_comm);
} comms SEC(".maps");

/*
 * A syscall entered by a traced thread, waiting for its exit: one slot per
 * thread in an ARRAY indexed by tid & (slots - 1). A HASH keyed by tid costs
 * an update at entry and a lookup + delete at exit, each a helper call with
 * hashing and locking; a slot is a bounds check and a load, inlined by the
 * verifier. The slot holds its owner's tid: two threads whose tids share
 * the slot are told apart, and the one overwritten is counted lost
 * (LP_LOST_INFLIGHT).
 */
struct lp_inflight {
	__u64 ts;       /* entry time */
	__u64 args[6];
	__u32 tid;      /* owner; 0: free (tid 0 never makes syscalls) */
	__u32 sc;       /* enum lp_sc */
	__u32 flags;    /* LP_INFL_* */
	__u32 pad;
};
/* exec: the LP_EV_EXEC_ARGV sent at entry is complete (no unreadable
 * string), so sched_process_exec need not send one from the new mm. */
#define LP_INFL_ARGV_OK 1u
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LP_INFLIGHT_SLOTS);
	__type(key, __u32);
	__type(value, struct lp_inflight);
} inflight SEC(".maps");

/* Read/write totals per (tgid, fd). The value IS the LP_EV_FD_IO record:
 * its header is filled in when it is sent (close) or drained (user space).
 * An entry with no calls is empty: absent to every reader (LP_FDIO_KEEP). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LP_FDIO_MAX);
	__type(key, struct lp_fd_key);
	__type(value, struct lp_ev_fd_io);
} fdio SEC(".maps");

/* chown/chmod/utimens/successful-lookup counts per process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LP_COUNTS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, struct lp_counts);
} counts SEC(".maps");

/*
 * The counts' fast path, in front of `counts`: a process owns slot
 * count_slots[tgid & (LP_COUNT_SLOTS - 1)] when it is free, and counts
 * there; otherwise (another live process owns it, or another of its own
 * threads is claiming it) in `counts`. A HASH lookup costs ~95 ns here (a
 * successful stat, the storm's most frequent syscall, was 160 ns at exit,
 * 85 ns with an ARRAY; bpf_stats), the slot a load and a compare. Its exit
 * adds both. Without an atomic compare-and-swap (5.12), the claim is
 * decided by count_slot_owner: of concurrent BPF_NOEXIST updates of one
 * key, exactly one succeeds.
 */
#define LP_COUNT_SLOTS 16384 /* power of two */
struct lp_count_slot {
	__u32 tgid; /* owner; 0: free */
	__u32 pad;
	struct lp_counts c;
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LP_COUNT_SLOTS);
	__type(key, __u32);
	__type(value, struct lp_count_slot);
} count_slots SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LP_COUNT_SLOTS);
	__type(key, __u32);   /* slot */
	__type(value, __u32); /* tgid */
} count_slot_owner SEC(".maps");

/* Lost events, per CPU, by reason (enum lp_lost_reason). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LP_LOST_NR);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LP_RINGBUF_DEFAULT); /* set by user space */
} rb SEC(".maps");

struct lp_scratch {
	char b[LP_SCRATCH];
	__u64 spill;    /* see lp_widen() */
	/* a HASH aggregate being sent (fdio_flush): off the stack, which
	 * the per-syscall exit programs have little of left (512 bytes for
	 * a program and the global functions it calls) */
	struct lp_ev_fd_io fdio_out;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lp_scratch);
} scratch SEC(".maps");

/* ---- helpers ---- */

static __always_inline void lost_inc(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&lost, &reason);
	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Linux >= 5.11 has bpf_get_current_task_btf: the current task as a
 * BTF-typed pointer, its fields read with plain loads. A CO-RE constant:
 * an older kernel's verifier never visits the branch that calls the helper
 * it lacks. */
#define LP_HAVE_TASK_BTF bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)

static __always_inline __u32 *traced_hint_of(__u32 tgid)
{
	return &traced_hint[tgid & (LP_HINTS - 1)];
}

/* Is tgid traced? One load, the map only when the cache cannot tell (see
 * traced_hint); with `cache`, a free entry then takes tgid. */
static __always_inline bool lp_traced_check(__u32 tgid, const bool cache)
{
	if (tgid == self_tgid)
		return false;
	__u32 *h = traced_hint_of(tgid);
	__u32 v = *h;
	if (v == tgid)
		return true;
	if (v == 0)
		return false;
	if (!bpf_map_lookup_elem(&traced, &tgid))
		return false;
	if (cache && v == LP_ASK)
		*h = tgid; /* the next syscalls take the fast path */
	return true;
}

/* The filter every program runs first, for the current process (tgid): a
 * process that makes a syscall, forks or execs is alive, its tgid may go in
 * the cache. */
static __always_inline bool lp_traced(__u32 tgid)
{
	return lp_traced_check(tgid, true);
}

/* The same in sched_process_exit: two dying threads of a process may run
 * it at once, one deleting the tgid (traced_del) while the other would
 * store it back in the cache. So never store here. */
static __always_inline bool lp_traced_exiting(__u32 tgid)
{
	return lp_traced_check(tgid, false);
}

static __always_inline struct lp_inflight *inflight_slot(__u32 tid)
{
	__u32 k = tid & (LP_INFLIGHT_SLOTS - 1);
	return bpf_map_lookup_elem(&inflight, &k);
}

/* The slot of tid's syscall in flight, NULL when it has none. Only a
 * traced thread ever owns a slot, so this is also a filter. */
static __always_inline struct lp_inflight *inflight_get(__u32 tid)
{
	struct lp_inflight *in = inflight_slot(tid);
	if (!in || in->tid != tid)
		return NULL;
	return in;
}

/* Take tid's slot at syscall entry. Another thread owning it is in a
 * syscall too: its exit will not find its state, count that now. */
static __always_inline struct lp_inflight *inflight_claim(__u32 tid)
{
	struct lp_inflight *in = inflight_slot(tid);
	if (!in)
		return NULL;
	if (in->tid && in->tid != tid)
		lost_inc(LP_LOST_INFLIGHT);
	in->tid = tid;
	return in;
}

static __always_inline void inflight_release(struct lp_inflight *in)
{
	in->tid = 0;
}

/* Free tid's slot if it owns one (thread exit, exec by another thread). */
static __always_inline void inflight_drop(__u32 tid)
{
	struct lp_inflight *in = inflight_get(tid);
	if (in)
		inflight_release(in);
}

static __always_inline char *lp_scratch_buf(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

/*
 * Copy a record into the ring buffer. Wake-ups are batched: the consumer
 * is woken only once wakeup_bytes are waiting (it polls with a timeout, so
 * a quiet trickle is still read). Rare, important records force it.
 * With BPF_RB_NO_WAKEUP pending, the default "adaptive" mode would never
 * wake (the consumer is not caught up), hence FORCE past the threshold.
 */
static __always_inline bool lp_submit(void *data, __u64 size, bool force)
{
	__u64 flags = BPF_RB_FORCE_WAKEUP;
	if (!force && bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) + size < wakeup_bytes)
		flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&rb, data, size, flags)) {
		lost_inc(LP_LOST_RINGBUF);
		return false;
	}
	return true;
}

static __always_inline void lp_hdr_fill(struct lp_hdr *h, __u16 size, __u8 kind, __u8 flags,
					__u32 tgid, __u32 tid, __u32 aux, __u64 ts)
{
	h->size = size;
	h->kind = kind;
	h->flags = flags;
	h->tgid = tgid;
	h->tid = tid;
	h->aux = aux;
	h->ts = ts;
}

/*
 * Make the verifier forget a value (keep only what the caller's mask says):
 * store it in the scratch map and load it back, a map load being an unknown
 * scalar. Used at loop back-edges: otherwise paths that read strings of
 * exactly the maximum length carry distinct constant offsets, no two loop
 * states are equal, and verification time grows exponentially.
 */
static __always_inline __u64 lp_widen(char *buf, __u64 v)
{
	volatile __u64 *slot = (volatile __u64 *)(buf + LP_SCRATCH);
	*slot = v;
	return *slot;
}

/*
 * An aggregate of an fd below LP_FDIO_KEEP is not deleted when it is sent
 * but emptied in place (every field 0), and refilled by the next file given
 * that number: a HASH update (bucket lock, free-list pop, copy) and delete
 * (lock, free-list push) cost ~220 ns per file, and builds' processes open
 * their files on the same few low numbers (cp: 3 and 4, cat: 3; bench
 * section 9, bpf_stats). An empty entry is an absent one to every reader: a
 * live aggregate has counted at least one call. The process's exit deletes
 * its empty entries (lp_fdio_forget), so the map holds at most LP_FDIO_KEEP
 * of them per live process; higher fds are deleted as before.
 */
#define LP_FDIO_KEEP 16

static __always_inline bool fdio_empty(const struct lp_ev_fd_io *a)
{
	return !a->rcalls && !a->wcalls;
}

/* The live (tgid, fd) aggregate, NULL when there is none. */
static __always_inline struct lp_ev_fd_io *fdio_get(const struct lp_fd_key *k)
{
	struct lp_ev_fd_io *a = bpf_map_lookup_elem(&fdio, k);
	return a && !fdio_empty(a) ? a : NULL;
}

/*
 * Aggregates in slots of a global array (Linux >= 5.12): the `fdio` lookup
 * at every read, write, close and open of a traced process is a helper
 * call with a hash and a bucket walk (~90 ns here, bench section 9), a slot
 * is a load. (tgid, fd) lives in fd_slots[fd_slot_of(tgid, fd)] when that
 * slot was free at the fd's first read or write, else in `fdio` as before.
 * A slot is taken and given back with an atomic compare-and-swap of its
 * key, which BPF has from 5.12 on: older kernels (and LAYERPROF_FDIO=hash,
 * the tests of that path) use `fdio` only (fd_slots_on). What keeps it
 * exact:
 *  - a free slot (key 0) holds an empty aggregate: the flush empties it
 *    before giving the key back, so the taker only adds to it;
 *  - in_hash counts the `fdio` entries whose key maps to the slot: when it
 *    is 0, a key that does not own the slot has no aggregate anywhere, and
 *    a free slot may be taken without looking in `fdio`;
 *  - a flush takes the key from the fd to LP_FD_SLOT_BUSY before sending:
 *    of two threads flushing one aggregate (close(2) frees the number, and
 *    another thread's open takes it before the close returns), only the
 *    one whose swap succeeds sends it.
 */
#define LP_FD_SLOTS 16384 /* power of two; 1.75 MiB */
struct lp_fd_slot fd_slots[LP_FD_SLOTS] = {};
/* Set by the loader where a program with a compare-and-swap loads. A
 * constant to the verifier (frozen .rodata): elsewhere it never walks the
 * slot code, whose atomics the loader has turned into plain loads (older
 * kernels refuse them anywhere in a program). */
const volatile bool fd_slots_on = false;
#define LP_FD_SLOTS_ON fd_slots_on

static __always_inline __u64 fd_slot_key(__u32 tgid, __s32 fd)
{
	return (__u64)tgid << 32 | (__u32)fd; /* never 0: tgid 0 makes no syscalls */
}

static __always_inline struct lp_fd_slot *fd_slot_of(__u32 tgid, __s32 fd)
{
	/* a process's fds on neighbouring slots, processes spread apart */
	return &fd_slots[(tgid * 2654435761u + (__u32)fd) & (LP_FD_SLOTS - 1)];
}

/* An `fdio` entry mapping to the slot was created (+1) or deleted (-1). */
static __always_inline void fd_slot_hash_count(__u32 tgid, __s32 fd, const int d)
{
	if (LP_FD_SLOTS_ON)
		__sync_fetch_and_add(&fd_slot_of(tgid, fd)->in_hash, d);
}

/* Does (tgid, fd) have an aggregate (slot or `fdio`)? */
static __always_inline bool fdio_live(__u32 tgid, __s32 fd)
{
	if (LP_FD_SLOTS_ON) {
		struct lp_fd_slot *s = fd_slot_of(tgid, fd);
		if (s->key == fd_slot_key(tgid, fd))
			return true;
		if (!s->in_hash)
			return false;
	}
	struct lp_fd_key k = { .tgid = tgid, .fd = fd };
	return fdio_get(&k) != NULL;
}

/* fdio_flush's HASH half. Global, so verified once (see lp_fd_gone), not
 * at each of fdio_flush's call sites next to the slot code: with both
 * inline, the sys_exit program took ~17 ms more to verify (record's
 * start-up). The flushes that come here (kernels before 5.12, a slot held
 * by another fd) pay a BPF-to-BPF call. */
__noinline int lp_fdio_hash_flush(__u32 tgid, __u32 tid, int fd, __u64 now, __u32 io_flags)
{
	struct lp_fd_key k = { .tgid = tgid, .fd = fd };
	struct lp_ev_fd_io *a = fdio_get(&k);
	if (!a)
		return 0;
	if (!now)
		now = bpf_ktime_get_ns();
	if ((__u32)fd < LP_FDIO_KEEP) {
		lp_hdr_fill(&a->h, sizeof(*a), LP_EV_FD_IO, 0, tgid, tid, (__u32)fd, now);
		a->io_flags = io_flags;
		lp_submit(a, sizeof(*a), false);
		__builtin_memset(a, 0, sizeof(*a));
		return 0;
	}
	__u32 zero = 0;
	struct lp_scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	struct lp_ev_fd_io *rec = &sc->fdio_out;
	*rec = *a;
	if (bpf_map_delete_elem(&fdio, &k))
		return 0; /* another thread's flush took it */
	fd_slot_hash_count(tgid, fd, -1);
	lp_hdr_fill(&rec->h, sizeof(*rec), LP_EV_FD_IO, 0, tgid, tid, (__u32)fd, now);
	rec->io_flags = io_flags;
	lp_submit(rec, sizeof(*rec), false);
	return 0;
}

/* Send the (tgid, fd) aggregate, if there is one, and forget it. now: the
 * record's time stamp, 0 to read the clock only when there is one to send
 * (a close of an fd never read or written: no clock read).
 *
 * Two threads may flush the same aggregate at once: the kernel frees an fd
 * number inside close(2), so another thread's open can return it (and
 * flush it as LP_FDIO_REUSED) before the closer's exit flushes it too.
 * Both sent it (a real build's COPY: 441 bytes written twice, the second
 * charged to the file opened read-only on that number). A HASH entry is
 * claimed by deleting it: only the thread whose delete succeeds sends its
 * copy; a slot by the swap of its key (fd_slots). An emptied-in-place
 * entry (below LP_FDIO_KEEP, in the HASH) has no such claim; those low
 * numbers are a process's first files, rarely closed and reopened by two
 * threads at once. */
static __always_inline void fdio_flush(__u32 tgid, __u32 tid, __s32 fd, __u64 now, __u32 io_flags)
{
	if (LP_FD_SLOTS_ON) {
		struct lp_fd_slot *s = fd_slot_of(tgid, fd);
		__u64 key = fd_slot_key(tgid, fd);
		if (s->key == key && __sync_val_compare_and_swap(&s->key, key, LP_FD_SLOT_BUSY) == key) {
			/* ours alone until the key is given back: sent from
			 * the slot, then emptied (empty only when a flush came
			 * between another thread's take and its first count) */
			if (!fdio_empty(&s->a)) {
				if (!now)
					now = bpf_ktime_get_ns();
				lp_hdr_fill(&s->a.h, sizeof(s->a), LP_EV_FD_IO, 0, tgid, tid, (__u32)fd, now);
				s->a.io_flags = io_flags;
				lp_submit(&s->a, sizeof(s->a), false);
			}
			__builtin_memset(&s->a, 0, sizeof(s->a));
			asm volatile("" ::: "memory"); /* emptied before it is free */
			s->key = 0;
		}
		if (!s->in_hash)
			return;
	}
	lp_fdio_hash_flush(tgid, tid, fd, now, io_flags);
}

/* The open file behind fd in the current process, or NULL (no such fd, or
 * the fd table could not be read). A snapshot: the table is RCU-protected
 * and may change under us, which only makes the answer stale, never unsafe
 * (every load is a probe read). */
static __always_inline struct file *fd_file(__s32 fd)
{
	struct fdtable *fdt;
	struct file **slots;
	__u32 max_fds;
	if (fd < 0)
		return NULL;
	/* The BTF-typed current task's files and fd table read with plain
	 * loads (four probe reads fewer, ~70 ns of each new aggregate; a
	 * fault reads as 0). */
	if (LP_HAVE_TASK_BTF) {
		struct files_struct *files = bpf_get_current_task_btf()->files;
		if (!files)
			return NULL;
		fdt = files->fdt;
		if (!fdt)
			return NULL;
		max_fds = fdt->max_fds;
		slots = fdt->fd;
	} else {
		struct task_struct *task = (void *)bpf_get_current_task();
		fdt = BPF_CORE_READ(task, files, fdt);
		if (!fdt)
			return NULL;
		max_fds = BPF_CORE_READ(fdt, max_fds);
		slots = BPF_CORE_READ(fdt, fd);
	}
	if ((__u32)fd >= max_fds)
		return NULL;
	struct file *f = NULL;
	if (bpf_probe_read_kernel(&f, sizeof(f), &slots[fd]))
		return NULL;
	return f;
}

/* The file-type bits of i_mode (include/uapi/linux/stat.h). */
#define LP_S_IFMT  0170000
#define LP_S_IFDIR 0040000

/* lp_ev_fd_io.fd_mode of fd: LP_FDMODE_KNOWN | i_mode, 0 when unknown
 * (no file open on fd, or the fd table could not be read).
 * Global, so verified once per program (see lp_fd_gone), not at each site
 * and on each path that reaches one, and the only caller of fd_file: the
 * verifier looks up each plain load of a pointer from the BTF-typed task
 * (fd_file's ->files) by name in the kernel's BTF, up to four linear
 * searches of its ~126,000 types every time. At four sites inline, that
 * was a third of the sys_exit program's verification, ~10 ms of record's
 * start-up (bench section 7). */
__noinline __u32 lp_fd_mode(__s32 fd)
{
	struct file *f = fd_file(fd);
	if (!f)
		return 0;
	return LP_FDMODE_KNOWN | BPF_CORE_READ(f, f_inode, i_mode);
}

/* The fds of the current process were closed behind our back (exec closed
 * its O_CLOEXEC ones; close_range): send the aggregates of the fds in
 * [first, first + LP_FD_SCAN) that are no longer open, flagged
 * LP_FDIO_GONE, so that a later file, socket or pipe given the same number
 * by a call we do not trace never adds to them. An fd still open keeps its
 * aggregate. Bounded: fds past the window keep theirs until their close,
 * reuse or the process's exit (rare: builds' processes use few fds). */
#define LP_FD_SCAN 64
/* One fd of that scan. A global function: verified once per program, not
 * once per iteration (see lp_argv_arg in layerprof.bpf.c). */
__noinline int lp_fd_gone(__u32 tgid, __u32 tid, int fd, __u64 now)
{
	if (!fdio_live(tgid, fd))
		return 0;
	if (lp_fd_mode(fd))
		return 0; /* still open */
	fdio_flush(tgid, tid, fd, now, LP_FDIO_GONE);
	return 1;
}

/* The process tgid is gone: delete its emptied aggregates (LP_FDIO_KEEP).
 * A live one stays, as before, for user space's drain. Global: verified
 * once (see lp_fd_gone). */
__noinline int lp_fdio_forget(__u32 tgid)
{
	for (__s32 fd = 0; fd < LP_FDIO_KEEP; fd++) {
		struct lp_fd_key k = { .tgid = tgid, .fd = fd };
		struct lp_ev_fd_io *a = bpf_map_lookup_elem(&fdio, &k);
		if (a && fdio_empty(a) && !bpf_map_delete_elem(&fdio, &k))
			fd_slot_hash_count(tgid, fd, -1);
	}
	return 0;
}

static __always_inline void fdio_flush_closed(__u32 tgid, __u32 tid, __s32 first, __u64 now)
{
	for (__u32 i = 0; i < LP_FD_SCAN; i++)
		lp_fd_gone(tgid, tid, first + (__s32)i, now);
}

/* Count one read or write call in aggregate a. */
static __always_inline void fdio_count(struct lp_ev_fd_io *a, bool wr, __u64 bytes, __u64 lat,
				       __u64 ts, __u64 now)
{
	if (!a->first_ts)
		a->first_ts = ts;
	if (now > a->last_ts)
		a->last_ts = now;
	if (wr) {
		__sync_fetch_and_add(&a->wbytes, bytes);
		__sync_fetch_and_add(&a->wns, lat);
		__sync_fetch_and_add(&a->wcalls, 1);
	} else {
		__sync_fetch_and_add(&a->rbytes, bytes);
		__sync_fetch_and_add(&a->rns, lat);
		__sync_fetch_and_add(&a->rcalls, 1);
	}
}

/* fdio_add's HASH half (key: fd_slot_key(tgid, fd)); global for the same
 * reason as lp_fdio_hash_flush. */
__noinline int lp_fdio_hash_add(__u64 key, int wr, __u64 bytes, __u64 ts, __u64 now)
{
	__u32 tgid = key >> 32;
	__s32 fd = (__s32)key;
	__u64 lat = now - ts;
	struct lp_fd_key k = { .tgid = tgid, .fd = fd };
	struct lp_ev_fd_io *a = bpf_map_lookup_elem(&fdio, &k);
	if (a && fdio_empty(a)) {
		/* an emptied entry (LP_FDIO_KEEP): a new file on this fd. Two
		 * threads may both refill it: same mode, and the counts below
		 * are atomic. */
		a->fd_mode = lp_fd_mode(fd);
	} else if (!a) {
		struct lp_ev_fd_io init = {};
		/* What this fd is, once per aggregate: socket and pipe
		 * traffic must never be charged to a file's path. */
		init.fd_mode = lp_fd_mode(fd);
		init.first_ts = ts;
		init.last_ts = now;
		if (wr) {
			init.wbytes = bytes;
			init.wns = lat;
			init.wcalls = 1;
		} else {
			init.rbytes = bytes;
			init.rns = lat;
			init.rcalls = 1;
		}
		/* counted before it can be seen: a slot's taker must not
		 * miss it (see fd_slots) */
		fd_slot_hash_count(tgid, fd, 1);
		if (!bpf_map_update_elem(&fdio, &k, &init, BPF_NOEXIST))
			return 0;
		fd_slot_hash_count(tgid, fd, -1);
		/* full, or another thread created it meanwhile */
		a = bpf_map_lookup_elem(&fdio, &k);
		if (!a) {
			lost_inc(LP_LOST_FDIO);
			return 0;
		}
	}
	fdio_count(a, wr, bytes, lat, ts, now);
	return 0;
}

/* Add one read or write call to the (tgid, fd) aggregate. */
static __always_inline void fdio_add(__u32 tgid, __s32 fd, bool wr, long ret, __u64 ts, __u64 now)
{
	if (fd < 0)
		return;
	__u64 bytes = ret > 0 ? (__u64)ret : 0;
	__u64 key = fd_slot_key(tgid, fd);
	if (LP_FD_SLOTS_ON) {
		struct lp_fd_slot *s = fd_slot_of(tgid, fd);
		if (!s->key && !s->in_hash && !__sync_val_compare_and_swap(&s->key, 0, key)) {
			/* taken: a new file on this fd (why its mode: see
			 * lp_fdio_hash_add) */
			s->a.fd_mode = lp_fd_mode(fd);
		}
		if (s->key == key) {
			fdio_count(&s->a, wr, bytes, now - ts, ts, now);
			return;
		}
	}
	lp_fdio_hash_add(key, wr, bytes, ts, now);
}

enum lp_count_field { LP_CNT_CHOWN, LP_CNT_CHMOD, LP_CNT_UTIMENS, LP_CNT_STAT_OK };

/* tgid's count slot if it owns it (taking it when free), else NULL. */
static __always_inline struct lp_counts *count_slot_of(__u32 tgid)
{
	__u32 k = tgid & (LP_COUNT_SLOTS - 1);
	struct lp_count_slot *s = bpf_map_lookup_elem(&count_slots, &k);
	if (!s)
		return NULL;
	if (s->tgid == tgid)
		return &s->c;
	if (s->tgid)
		return NULL;
	if (bpf_map_update_elem(&count_slot_owner, &k, &tgid, BPF_NOEXIST))
		return NULL; /* taken meanwhile (or the arbiter is full) */
	s->tgid = tgid; /* its counts are 0: emptied before it was freed */
	return &s->c;
}

/* At the process's exit: add its slot's counts to *sum and free the slot
 * (counts emptied before the owner, the owner before the arbiter: a new
 * owner starts from 0). */
static __always_inline void count_slot_take(__u32 tgid, struct lp_counts *sum)
{
	__u32 k = tgid & (LP_COUNT_SLOTS - 1);
	struct lp_count_slot *s = bpf_map_lookup_elem(&count_slots, &k);
	if (!s || s->tgid != tgid)
		return;
	sum->chown += s->c.chown;
	sum->chmod += s->c.chmod;
	sum->utimens += s->c.utimens;
	sum->stat_ok += s->c.stat_ok;
	__builtin_memset(&s->c, 0, sizeof(s->c));
	s->tgid = 0;
	bpf_map_delete_elem(&count_slot_owner, &k);
}

static __always_inline void counts_inc(__u32 tgid, const int which)
{
	struct lp_counts *c = count_slot_of(tgid);
	if (!c)
		c = bpf_map_lookup_elem(&counts, &tgid);
	if (!c) {
		struct lp_counts z = {};
		if (which == LP_CNT_CHOWN)
			z.chown = 1;
		else if (which == LP_CNT_CHMOD)
			z.chmod = 1;
		else if (which == LP_CNT_UTIMENS)
			z.utimens = 1;
		else
			z.stat_ok = 1;
		if (!bpf_map_update_elem(&counts, &tgid, &z, BPF_NOEXIST))
			return;
		c = bpf_map_lookup_elem(&counts, &tgid);
		if (!c) {
			lost_inc(LP_LOST_COUNTS);
			return;
		}
	}
	if (which == LP_CNT_CHOWN)
		__sync_fetch_and_add(&c->chown, 1);
	else if (which == LP_CNT_CHMOD)
		__sync_fetch_and_add(&c->chmod, 1);
	else if (which == LP_CNT_UTIMENS)
		__sync_fetch_and_add(&c->utimens, 1);
	else
		__sync_fetch_and_add(&c->stat_ok, 1);
}

/* Start tracing a new process (fork child, comm match at exec). */
static __always_inline void traced_add(__u32 tgid)
{
	__u8 one = 1;
	if (bpf_map_update_elem(&traced, &tgid, &one, BPF_ANY)) {
		lost_inc(LP_LOST_TRACED);
		return;
	}
	__u32 *h = traced_hint_of(tgid);
	__u32 v = *h;
	if (v == 0 || v == LP_ASK)
		*h = tgid;
	/* else another traced process has the entry: tgid asks the map */
}

/* Stop tracing a process (its last thread exits). False when another
 * thread got there first: only one of them reports the exit. */
static __always_inline bool traced_del(__u32 tgid)
{
	if (bpf_map_delete_elem(&traced, &tgid))
		return false;
	__u32 *h = traced_hint_of(tgid);
	if (*h == tgid)
		*h = LP_ASK;
	return true;
}

#endif /* LAYERPROF_LP_CORE_BPF_H */
