// SPDX-License-Identifier: Apache-2.0
/* The ebpf receiver: samples every CPU with a BPF program and emits one CPU profile per process each interval. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpf/profile.skel.h"
#include "ebpf.h"
#include "host/unwind_row.h"

#define NS_PER_MS 1000000LL
/* Between the flip and the drain: lets BPF programs that read the old
 * buffer index just before the flip finish their update. */
#define SETTLE_MS 5

static const struct pf_option ebpf_options[] = {
	{.name = "frequency",
	 .type = PF_OPT_INT,
	 .def = "19",
	 .min = 1,
	 .max = 1000,
	 .offset = offsetof(struct ebpf_config, frequency),
	 .doc = "Samples per second on each CPU (a cpu-clock perf event per CPU)"},
	{.name = "report_interval",
	 .type = PF_OPT_DURATION,
	 .def = "10s",
	 .min = 200.0 * NS_PER_MS,
	 .max = 3600.0 * 1000 * NS_PER_MS,
	 .offset = offsetof(struct ebpf_config, report_interval),
	 .doc = "How often the kernel maps are drained into one batch"},
	{.name = "include_kernel",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct ebpf_config, include_kernel),
	 .doc = "Record kernel stacks beneath the user stacks"},
	{.name = "include_idle",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct ebpf_config, include_idle),
	 .doc = "Record samples of the idle task (pid 0)"},
	{.name = "pids",
	 .type = PF_OPT_STRINGS,
	 .offset = offsetof(struct ebpf_config, pids),
	 .doc = "Profile only these process ids (default: every process)"},
	{.name = "exclude_pids",
	 .type = PF_OPT_STRINGS,
	 .offset = offsetof(struct ebpf_config, exclude_pids),
	 .doc = "Never profile these process ids"},
	{.name = "comm",
	 .type = PF_OPT_STRINGS,
	 .offset = offsetof(struct ebpf_config, comm),
	 .doc = "Keep only processes or threads whose name matches one of these POSIX "
		"extended regular expressions"},
	{.name = "exclude_self",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct ebpf_config, exclude_self),
	 .doc = "Leave proflow's own process out"},
	{.name = "map_size",
	 .type = PF_OPT_INT,
	 .def = "10240",
	 .min = 256,
	 .max = 1048576,
	 .offset = offsetof(struct ebpf_config, map_size),
	 .doc = "Distinct (process, thread, stacks) counts held per interval; beyond it "
		"samples are dropped and counted (map_full)"},
	{.name = "stack_map_size",
	 .type = PF_OPT_INT,
	 .def = "16384",
	 .min = 256,
	 .max = 1048576,
	 .offset = offsetof(struct ebpf_config, stack_map_size),
	 .doc = "Distinct stacks held per interval (kernel and user stacks share it); beyond "
		"it samples are dropped and counted (stack_map_full)"},
	{.name = "build_id_stacks",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct ebpf_config, build_id_stacks),
	 .doc = "Until /proc of a just-exec'd process is read, take its user stacks as build ID "
		"+ file offset, so that processes gone within milliseconds are named (such "
		"samples cost the BPF program about 3 times more)"},
	{.name = "unwind_tables",
	 .type = PF_OPT_SIZE,
	 .def = "32MiB",
	 .min = 64 << 10,
	 .max = 4.0 * (1 << 30),
	 .offset = offsetof(struct ebpf_config, unwind_tables),
	 .doc = "Kernel memory for the unwind tables compiled from the call frame information "
		"(.eh_frame) of every executable file the processes map (7/8 of it, 8 bytes a "
		"row) and for the processes' mappings (1/8, 32 bytes each); when full, the "
		"tables no running process maps are evicted, least recently used first, and "
		"code whose table finds no room is unwound by frame pointers, its stacks "
		"marked"},
	{.name = "debug",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct ebpf_config, debug),
	 .doc = "Let the BPF program write to the trace pipe (for development)"},
	PF_OPTION_END,
};

static const struct pf_logger *lg(const struct ebpf_recv *r)
{
	return pf_component_logger(r->c);
}

static bool valid_pid(const char *s)
{
	char *end;
	unsigned long v;

	if (!s[0] || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && v > 0 && v <= 4194304;
}

static int ebpf_validate(const void *config, struct pf_error *err)
{
	const struct ebpf_config *cfg = config;
	char msg[256];
	regex_t re;
	int rc;

	for (size_t i = 0; i < cfg->pids.n; i++)
		if (!valid_pid(cfg->pids.items[i]))
			return pf_error_set(err, "", "pids: '%s' is not a process id",
					    cfg->pids.items[i]);
	for (size_t i = 0; i < cfg->exclude_pids.n; i++)
		if (!valid_pid(cfg->exclude_pids.items[i]))
			return pf_error_set(err, "", "exclude_pids: '%s' is not a process id",
					    cfg->exclude_pids.items[i]);
	for (size_t i = 0; i < cfg->comm.n; i++) {
		rc = regcomp(&re, cfg->comm.items[i], REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &re, msg, sizeof(msg));
			return pf_error_set(err, "", "comm: '%s' is not a regular expression: %s",
					    cfg->comm.items[i], msg);
		}
		regfree(&re);
	}
	return 0;
}

static void recv_free(struct ebpf_recv *r)
{
	ebpf_unload(r);
	for (size_t i = 0; i < r->n_comm_re; i++)
		regfree(&r->comm_re[i]);
	free(r->comm_re);
	pf_ebpf_proctab_free(r->procs);
	pf_ebpf_unwind_free(r->unwind);
	free(r);
}

/* The BPF program unwinds a process by the tables of the files it maps. */
static void on_maps_read(void *arg, const struct pf_ebpf_proc *p)
{
	struct ebpf_recv *r = arg;

	if (r->unwind)
		pf_ebpf_unwind_load(r->unwind, p->pid, p->exec_known ? (int64_t)p->exec_id : -1,
				    &p->maps);
}

static void on_maps_gone(void *arg, uint32_t pid)
{
	struct ebpf_recv *r = arg;

	if (r->unwind)
		pf_ebpf_unwind_forget(r->unwind, pid);
}

static void *ebpf_create(struct pf_component *c, const void *config)
{
	struct ebpf_recv *r = calloc(1, sizeof(*r));

	if (!r)
		goto out_oom;
	r->c = c;
	memcpy(&r->cfg, config, sizeof(r->cfg));
	r->loop = pf_component_loop(c);
	r->procs = pf_ebpf_proctab_new(&(struct pf_ebpf_maps_listener){
		.read = on_maps_read,
		.gone = on_maps_gone,
		.arg = r,
	});
	if (!r->procs)
		goto out_free;
	if (r->cfg.comm.n) {
		r->comm_re = calloc(r->cfg.comm.n, sizeof(*r->comm_re));
		if (!r->comm_re)
			goto out_free;
		for (; r->n_comm_re < r->cfg.comm.n; r->n_comm_re++)
			if (regcomp(&r->comm_re[r->n_comm_re], r->cfg.comm.items[r->n_comm_re],
				    REG_EXTENDED | REG_NOSUB) != 0)
				goto out_free; /* validate compiled it: only ENOMEM */
	}
	if (ebpf_load(r) < 0) {
		recv_free(r);
		return NULL; /* ebpf_load said why */
	}
	pf_component_set_transport(c, "bpf");
	return r;

out_free:
	recv_free(r);
out_oom:
	pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
	return NULL;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t interval_ms(const struct ebpf_recv *r)
{
	return (uint64_t)(r->cfg.report_interval / NS_PER_MS);
}

static void on_tick(uv_timer_t *t)
{
	struct ebpf_recv *r = t->data;

	if (!r->flipped) {
		/* Exit events before the flip belong to the buffer drained next. */
		ebpf_events_consume(r);
		ebpf_flip(r);
		r->flipped = true;
		uv_timer_start(&r->timer, on_tick, SETTLE_MS, 0);
		return;
	}
	r->flipped = false;
	ebpf_drain(r);
	uv_timer_start(&r->timer, on_tick, interval_ms(r) - SETTLE_MS, 0);
}

static int ebpf_start(void *inst)
{
	struct ebpf_recv *r = inst;
	size_t running;
	int err;

	r->started = true;
	err = uv_timer_init(r->loop, &r->timer);
	if (err < 0)
		return err;
	r->timer.data = r;
	r->timer_open = true;
	r->open_handles++;
	err = ebpf_events_start(r);
	if (err < 0)
		return err;
	err = ebpf_attach_events(r);
	if (err < 0)
		return err;
	/* A process exec'd from now on comes as an event; those running are
	 * read (and their unwind tables loaded) before the first sample. */
	running = pf_ebpf_proctab_read_running(r->procs,
					       r->cfg.exclude_self ? (uint32_t)getpid() : 0);
	pf_log(lg(r), PF_LOG_DEBUG, "read %zu running processes", running);
	err = ebpf_attach(r);
	if (err < 0)
		return err;
	r->interval_start_ns = wall_ns();
	pf_log(lg(r), PF_LOG_INFO, "profiling %d CPUs at %lld Hz, reporting every %llu ms",
	       r->n_cpus, (long long)r->cfg.frequency, (unsigned long long)interval_ms(r));
	return uv_timer_start(&r->timer, on_tick, interval_ms(r), 0);
}

/* How the user stacks were unwound, and what the tables hold. */
static void log_unwind_summary(struct ebpf_recv *r)
{
	const uint64_t *e = r->stats.bpf_errors;
	struct pf_ebpf_unwind_stats u = {0};
	char why[512];
	size_t len = 0;
	uint64_t cut = 0;

	why[0] = '\0';
	for (uint32_t t = 1; t < PF_BPF_TRUNC__COUNT; t++) {
		uint64_t n = e[PF_BPF_ERR_TRUNC_BASE + t];
		int w;

		cut += n;
		if (!n || len >= sizeof(why))
			continue;
		w = snprintf(why + len, sizeof(why) - len, "%s%s %llu", len ? ", " : "",
			     pf_ebpf_truncation_name(t), (unsigned long long)n);
		len += w > 0 ? (size_t)w : 0;
	}
	if (r->unwind)
		pf_ebpf_unwind_stats(r->unwind, &u);
	pf_log(lg(r), PF_LOG_INFO,
	       "user stacks: %llu complete, %llu cut short (%s), %llu walked by frame pointer "
	       "before their tables were loaded; frames found by CFI %llu, by frame pointer "
	       "%llu; unwind tables: %llu files, %llu rows (%llu KiB of %llu KiB of BPF maps), "
	       "%llu KiB in user space, %llu compiled in %llu ms, %llu failed, %llu evicted, "
	       "%llu without room; %llu processes",
	       (unsigned long long)e[PF_BPF_ERR_USTACK_COMPLETE], (unsigned long long)cut,
	       cut ? why : "none", (unsigned long long)e[PF_BPF_ERR_USTACK_NO_TABLES],
	       (unsigned long long)e[PF_BPF_ERR_USTACK_CFI_FRAMES],
	       (unsigned long long)e[PF_BPF_ERR_USTACK_FP_FRAMES], (unsigned long long)u.tables,
	       (unsigned long long)u.rows,
	       (unsigned long long)(u.rows * sizeof(struct pf_unwind_row) / 1024),
	       (unsigned long long)(u.map_bytes / 1024), (unsigned long long)(u.user_bytes / 1024),
	       (unsigned long long)u.compiled, (unsigned long long)(u.compile_ns / 1000000),
	       (unsigned long long)u.failed, (unsigned long long)u.evicted,
	       (unsigned long long)u.over_budget, (unsigned long long)u.procs);
}

static void log_summary(struct ebpf_recv *r)
{
	const uint64_t *e = r->stats.bpf_errors;

	pf_log(lg(r), PF_LOG_INFO,
	       "%llu samples in %llu drains; lost: counts map full %llu, stack map full %llu, "
	       "stacks gone %llu; truncated stacks %llu; processes gone before read %llu; "
	       "process events lost %llu; build-ID stacks taken as addresses (map full) %llu; user "
	       "stacks ended at a return address that is no code %llu",
	       (unsigned long long)r->stats.samples, (unsigned long long)r->stats.drains,
	       (unsigned long long)e[PF_BPF_ERR_COUNTS_FULL],
	       (unsigned long long)(e[PF_BPF_ERR_KSTACK_FULL] + e[PF_BPF_ERR_USTACK_FULL]),
	       (unsigned long long)r->stats.stack_gone,
	       (unsigned long long)(e[PF_BPF_ERR_KSTACK_TRUNCATED] +
				    e[PF_BPF_ERR_USTACK_TRUNCATED]),
	       (unsigned long long)r->stats.procs_gone,
	       (unsigned long long)e[PF_BPF_ERR_EVENTS_FULL],
	       (unsigned long long)e[PF_BPF_ERR_BSTACK_FULL],
	       (unsigned long long)(e[PF_BPF_ERR_USTACK_NOT_CODE] + r->stats.bstack_not_code));
	log_unwind_summary(r);
}

static void check_done(struct ebpf_recv *r)
{
	if (!r->stopping || r->finished || r->open_handles > 0)
		return;
	r->finished = true;
	struct pf_component *c = r->c;
	pf_done_fn done = r->done;
	recv_free(r);
	done(c);
}

static void handle_closed(uv_handle_t *h)
{
	struct ebpf_recv *r = h->data;

	r->open_handles--;
	check_done(r);
}

static void ebpf_shutdown(void *inst, pf_done_fn done)
{
	struct ebpf_recv *r = inst;

	if (r->stopping)
		return;
	r->stopping = true;
	r->done = done;
	if (r->started && r->skel && r->links) {
		/* Stop sampling, then pass on what the active buffer holds. */
		for (int cpu = 0; cpu < r->n_cpus; cpu++) {
			bpf_link__destroy(r->links[cpu]);
			r->links[cpu] = NULL;
		}
		ebpf_events_consume(r);
		if (!r->flipped)
			ebpf_flip(r);
		ebpf_drain(r);
		log_summary(r);
	}
	if (r->timer_open) {
		r->timer_open = false;
		uv_close((uv_handle_t *)&r->timer, handle_closed);
	}
	if (r->rescan_open) {
		r->rescan_open = false;
		uv_close((uv_handle_t *)&r->rescan, handle_closed);
	}
	if (r->poll_open) {
		r->poll_open = false;
		uv_close((uv_handle_t *)&r->poll, handle_closed);
	}
	check_done(r);
}

const struct pf_component_def pf_receiver_ebpf = {
	.kind = PF_RECEIVER,
	.type = "ebpf",
	.doc = "Sample the CPU stacks of every process on the host with eBPF (user stacks "
	       "unwound by the call frame information of each mapped file) and emit one CPU "
	       "profile per process each interval.",
	.stability = "development",
	.options = ebpf_options,
	.config_size = sizeof(struct ebpf_config),
	.validate = ebpf_validate,
	.create = ebpf_create,
	.start = ebpf_start,
	.shutdown = ebpf_shutdown,
};
