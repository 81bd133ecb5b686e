/* SPDX-License-Identifier: Apache-2.0 */
/* Internal contract of the ebpf receiver: its config, process table, BPF loader, drain and decode. */
#ifndef PF_EBPF_H
#define PF_EBPF_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "bpf/profile.h"
#include "core/component.h"
#include "proc.h"
#include "unwind.h"

struct pf_batch;

_Static_assert(sizeof(struct pf_bpf_key) == 48, "pf_bpf_key layout is shared with BPF");
_Static_assert(sizeof(struct pf_bpf_stack) == 8 * PF_BPF_MAX_FRAMES, "pf_bpf_stack layout");
_Static_assert(sizeof(struct pf_bpf_bframe) == sizeof(struct bpf_stack_build_id) &&
		       offsetof(struct pf_bpf_bframe, offset) ==
			       offsetof(struct bpf_stack_build_id, offset),
	       "pf_bpf_bframe is the kernel's struct bpf_stack_build_id");
_Static_assert(sizeof(struct pf_bpf_event) == 40 + PF_BPF_PATH_LEN,
	       "pf_bpf_event layout is shared with BPF");

/* Options (owned by config/). */
struct ebpf_config {
	int64_t frequency;	 /* Hz */
	int64_t report_interval; /* ns */
	bool include_kernel;
	bool include_idle;
	struct pf_strings pids;
	struct pf_strings exclude_pids;
	struct pf_strings comm;
	bool exclude_self;
	int64_t map_size;	/* entries of each counts map */
	int64_t stack_map_size; /* entries of each stack map */
	bool build_id_stacks;	/* build-ID stacks for processes not read yet */
	int64_t unwind_tables;	/* bytes of unwind rows in the BPF map */
	bool debug;		/* bpf_printk from the BPF program */
};

/* ---- process table (proctab.c) ---- */

/* What is known of one process. Owned by the table. */
struct pf_ebpf_proc {
	uint32_t pid;
	char comm[PF_BPF_COMM_LEN + 1];
	char *exe;     /* /proc/PID/exe as the process sees it, or NULL */
	char *cmdline; /* arguments joined by spaces, or NULL */
	char container_id[PF_EBPF_CONTAINER_MAX];
	struct pf_procmaps maps;
	/* tracking */
	bool read_ok;	       /* /proc was read at least once */
	bool exited;	       /* exit seen: dropped after the next drain */
	uint64_t exit_gen;     /* the drain generation when it exited */
	uint64_t read_ms;      /* uv_now() when a read after exec is due, 0: none */
	int read_stage;	       /* reads after exec done so far */
	bool settled;	       /* exec'd and read with its libraries (or gone) */
	uint64_t rescan_at_ms; /* uv_now() of the last re-read for frames in no mapping */
	uint32_t exec_id;      /* the image described (pf_bpf_key.exec_id), if exec_known */
	bool exec_known;       /* its exec was seen: samples of other images are not its */
	struct pf_ebpf_proc *next;
};

struct pf_ebpf_proctab;

/* Told when a process's maps were read (at first sight, after exec, on a
 * rescan) and when they are gone (the process dropped, or gone before its
 * maps after exec could be read). */
struct pf_ebpf_maps_listener {
	void (*read)(void *arg, const struct pf_ebpf_proc *p);
	void (*gone)(void *arg, uint32_t pid);
	void *arg;
};

/* A table of processes keyed by pid; `listener` may be NULL. NULL on ENOMEM. */
struct pf_ebpf_proctab *pf_ebpf_proctab_new(const struct pf_ebpf_maps_listener *listener);
void pf_ebpf_proctab_free(struct pf_ebpf_proctab *t);

/* The entry of pid, or NULL. */
struct pf_ebpf_proc *pf_ebpf_proctab_get(struct pf_ebpf_proctab *t, uint32_t pid);

/* Reads (or re-reads after exec) pid's comm, exe, cmdline, cgroup, maps and
 * build ids from /proc. Returns the entry, or NULL when the process is gone
 * or memory ran out (*gone tells which). A process found gone leaves an
 * exited stub (read_ok false) until the next sweep, so that get() finds it
 * and it is not looked for again. */
struct pf_ebpf_proc *pf_ebpf_proctab_read(struct pf_ebpf_proctab *t, uint32_t pid, bool *gone);

/* Reads every process running now except `self` (0: none), as at its
 * first sight, so that one which exits before the first drain is named all
 * the same (processes started later are read at their exec event).
 * Returns how many were read. */
size_t pf_ebpf_proctab_read_running(struct pf_ebpf_proctab *t, uint32_t self);

/* Re-reads only the maps of p (libraries loaded after exec). */
void pf_ebpf_proctab_rescan(struct pf_ebpf_proctab *t, struct pf_ebpf_proc *p);

/* Marks pid as exited in drain generation gen. */
void pf_ebpf_proctab_exit(struct pf_ebpf_proctab *t, uint32_t pid, uint64_t gen);

/* Drops processes that exited before drain generation gen began. Returns
 * how many were dropped. */
size_t pf_ebpf_proctab_sweep(struct pf_ebpf_proctab *t, uint64_t gen);

/* An exec of pid (named comm) of the file `filename` (as execve(2) named
 * it) at now_ms, starting image exec_id (pf_bpf_key.exec_id): its entry
 * (made if new) describes that image from now on. It is read from /proc
 * now, while the process most likely lives, and its maps again a few ms
 * later until they hold the libraries ld.so maps
 * (pf_ebpf_proctab_read_due). When the process is already gone (counted in
 * *gone), an absolute filename stands for its executable and its build ID
 * is learnt from it. The entry is `settled` when no read is pending.
 * Returns it or NULL on ENOMEM. */
struct pf_ebpf_proc *pf_ebpf_proctab_exec(struct pf_ebpf_proctab *t, uint32_t pid, uint32_t exec_id,
					  const char *comm, const char *filename, uint64_t now_ms,
					  uint64_t *gone);

/* The path (in its process's mount namespace) of a file with build ID
 * `build_id` (hex) seen in any process read so far, or NULL. The string
 * lives until the next read. */
const char *pf_ebpf_proctab_build_id_path(const struct pf_ebpf_proctab *t, const char *build_id);

/* Called for a process whose reads after exec are over. */
typedef void (*pf_ebpf_settled_fn)(void *arg, uint32_t pid);

/* Reads every process whose read is due at now (its maps only when it was
 * read before); adds those found gone to *gone; calls settled (if not NULL)
 * for those whose reads are over. Returns the earliest read still pending
 * (0 when none). */
uint64_t pf_ebpf_proctab_read_due(struct pf_ebpf_proctab *t, uint64_t now, uint64_t *gone,
				  pf_ebpf_settled_fn settled, void *arg);

size_t pf_ebpf_proctab_size(const struct pf_ebpf_proctab *t);

/* ---- build ids (buildid.c) ---- */

/* The GNU build id of the ELF file open at fd, as hex in out. Returns 1
 * when found, 0 when the file has none, or a negative errno. */
int pf_buildid_read_fd(int fd, char out[PF_EBPF_BUILD_ID_HEX]);

/* The same for the regular file at path. */
int pf_buildid_read_path(const char *path, char out[PF_EBPF_BUILD_ID_HEX]);

/* The same for mapping m of process pid, opened by pf_host_open_mapped()
 * (map_files, else the process's root). */
int pf_buildid_read(uint32_t pid, const struct pf_ebpf_mapping *m, char out[PF_EBPF_BUILD_ID_HEX]);

/* ---- decode (decode.c): drained counts to a batch, no kernel involved ---- */

/* One drained (process, thread, stacks) count with its stacks resolved. */
struct pf_ebpf_record {
	uint32_t pid, tid;
	char comm[PF_BPF_COMM_LEN];
	uint64_t count;
	const uint64_t *kips; /* kernel frames, leaf first */
	uint32_t n_kips;
	const uint64_t *uips; /* user frames, leaf first */
	uint32_t n_uips;
	/* The user stack stopped short of its outermost frame: why (enum
	 * pf_bpf_truncation), 0 when it is complete. */
	uint32_t truncated;
	/* Or the user frames as build ID + file offset (a young process). */
	const struct pf_bpf_bframe *ubf;
	uint32_t n_ubf;
	/* Taken while pid ran another program than the one lookup() tells of
	 * (before its exec): a process of its own, named by comm, whose
	 * frames are in none of the known mappings. */
	bool other_image;
};

struct pf_ebpf_decode_in {
	const char *host_name;
	int64_t frequency; /* Hz: period = 1e9 / frequency */
	uint64_t time_unix_nano;
	uint64_t duration_nano;
	const struct pf_ebpf_record *records;
	size_t n_records;
	/* What is known of a pid (NULL: nothing but the records' comm). */
	const struct pf_ebpf_proc *(*lookup)(void *arg, uint32_t pid);
	/* The path of a file by its build ID in hex (NULL: not known). */
	const char *(*build_id_path)(void *arg, const char *build_id);
	void *arg;
	/* Where samples whose build-ID stack was cut at a frame that is no
	 * code are counted (NULL: not counted). */
	uint64_t *not_code;
};

/* Appends one resource per process and its two CPU profiles (samples/count,
 * cpu/nanoseconds) to b, laid out as model/semconv.h describes; a pid's
 * records of another image are one more process. Records with a zero count
 * are skipped. A build-ID frame lands in the process's mapping of that
 * file when its maps were read, else in a mapping of the file alone
 * (memory_start 0, address = file offset) named by build_id_path, or by
 * the build ID when no path is known. A build-ID frame in its file's data
 * (the file is mapped executable in the process, not at that offset) or at
 * a wrapped offset is no frame: the stack ends before it. Returns the
 * number of samples added or -ENOMEM. */
int pf_ebpf_decode(struct pf_batch *b, const struct pf_ebpf_decode_in *in);

/* The function name of the marker frame of a stack cut short for reason
 * `why` (enum pf_bpf_truncation). */
const char *pf_ebpf_truncation_name(uint32_t why);

/* Checks and copies one ring buffer record. Returns 0 or -EINVAL. */
int pf_ebpf_event_decode(const void *data, size_t size, struct pf_bpf_event *out);

/* ---- the receiver instance (ebpf.c, loader.c, drain.c, events.c) ---- */

struct profile; /* the bpftool skeleton */

struct ebpf_stats {
	uint64_t bpf_errors[PF_BPF_ERR__COUNT]; /* totals read from the errors map */
	uint64_t stack_gone;			/* samples whose stack id was gone */
	uint64_t procs_gone;			/* processes gone before they were read */
	uint64_t samples;			/* samples emitted */
	uint64_t bstack_not_code;		/* samples whose build-ID stack was cut */
	uint64_t drains;
	uint64_t reported; /* gone + truncated already counted as input errors */
	/* What self-telemetry was told of so far. */
	uint64_t told_complete, told_truncated, told_evicted;
};

struct ebpf_recv {
	struct pf_component *c;
	struct ebpf_config cfg;
	uv_loop_t *loop;
	struct profile *skel;
	int *perf_fds; /* one per possible CPU, -1 when offline */
	struct bpf_link **links;
	int n_cpus;
	struct ring_buffer *rb;
	uv_poll_t poll;
	uv_timer_t timer;  /* flips and drains */
	uv_timer_t rescan; /* reads processes shortly after their exec */
	unsigned open_handles;
	bool poll_open, timer_open, rescan_open;
	bool flipped; /* the timer flipped the buffers and drains next */
	bool started, stopping, finished;
	pf_done_fn done;
	regex_t *comm_re;
	size_t n_comm_re;
	struct pf_ebpf_proctab *procs;
	struct pf_ebpf_unwind *unwind; /* NULL until loaded */
	uint64_t gen;		       /* drain generation */
	uint64_t interval_start_ns;
	struct ebpf_stats stats;
};

/* Opens, configures and loads the BPF program and fills its maps. On
 * failure logs ONE error naming what is missing and returns a negative
 * errno. */
int ebpf_load(struct ebpf_recv *r);

/* Attaches the exec and exit tracepoints. Logs and returns a negative
 * errno on failure. */
int ebpf_attach_events(struct ebpf_recv *r);

/* Opens one cpu-clock perf event per CPU and attaches the sampling
 * program. Logs and returns a negative errno on failure. */
int ebpf_attach(struct ebpf_recv *r);

/* Detaches, closes perf events and destroys the skeleton; safe on partial
 * state and twice. */
void ebpf_unload(struct ebpf_recv *r);

/* Flips the active buffer (sampling continues into the other one). */
void ebpf_flip(struct ebpf_recv *r);

/* Reads and clears the inactive buffer, builds a batch and emits it. */
void ebpf_drain(struct ebpf_recv *r);

/* Ring buffer of process events under uv_poll. */
int ebpf_events_start(struct ebpf_recv *r);
/* Consumes what is pending in the ring buffer (also called before drains). */
void ebpf_events_consume(struct ebpf_recv *r);

/* True when the thread or process name matches one of the comm options. */
bool ebpf_comm_matches(const struct ebpf_recv *r, const char *thread, const char *proc);

#endif
