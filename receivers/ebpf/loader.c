// SPDX-License-Identifier: Apache-2.0
/* Loads the profile BPF program, opens one cpu-clock perf event per CPU and attaches; says what is missing when it cannot. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpf/profile.skel.h"
#include "ebpf.h"
#include "host/unwind_row.h"

#define BTF_PATH "/sys/kernel/btf/vmlinux"
/* Build-ID stacks (costly) for a thread's first 100 ms of CPU at most,
 * should user space lag behind its reads after exec. */
#define FRESH_NS (100 * 1000000ull)
/* Build-ID stacks are 2 KiB and only young processes take them. */
#define BSTACKS_PER_STACK 8
#define BSTACKS_MIN	  256
/* Processes the unwinder knows at once. */
#define UNWIND_PROCS	  16384
#define CAP_PERFMON_BIT	  38
#define CAP_BPF_BIT	  39
#define CAP_SYS_ADMIN_BIT 21
/* The four are enough (README, deploy/systemd/proflow.service): the exec
 * and exit programs are raw tracepoints, which need no tracefs. */
#define GRANT_HINT                                                                                 \
	"run as root or grant exactly these with `setcap "                                         \
	"cap_bpf,cap_perfmon,cap_sys_ptrace,cap_syslog+ep proflow`"

static const struct pf_logger *lg(const struct ebpf_recv *r)
{
	return pf_component_logger(r->c);
}

/* libbpf prints its own diagnostics to stderr; the receiver says what is
 * wrong in one line instead. */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* With `debug: true`: libbpf's warnings, e.g. the verifier's log. */
static int libbpf_stderr(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

static bool has_cap(const struct __user_cap_data_struct caps[2], int bit)
{
	return caps[bit / 32].effective & (1u << (bit % 32));
}

/* Checks what can be checked before trying: privileges and BTF. */
static int preflight(struct ebpf_recv *r)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[2] = {0};

	if (syscall(SYS_capget, &hdr, caps) == 0 && !has_cap(caps, CAP_SYS_ADMIN_BIT) &&
	    !(has_cap(caps, CAP_BPF_BIT) && has_cap(caps, CAP_PERFMON_BIT))) {
		pf_log(lg(r), PF_LOG_ERROR, "cannot profile: needs CAP_BPF and CAP_PERFMON (%s)",
		       GRANT_HINT);
		return -EPERM;
	}
	if (access(BTF_PATH, R_OK) != 0) {
		pf_log(lg(r), PF_LOG_ERROR,
		       "cannot profile: the kernel has no BTF (" BTF_PATH
		       " is missing); use a kernel built with CONFIG_DEBUG_INFO_BTF=y");
		return -ENOTSUP;
	}
	return 0;
}

static int fill_filter(struct ebpf_recv *r, const struct pf_strings *pids, __u32 value)
{
	int fd = bpf_map__fd(r->skel->maps.pid_filter);

	for (size_t i = 0; i < pids->n; i++) {
		__u32 pid = (__u32)strtoul(pids->items[i], NULL, 10);
		if (bpf_map_update_elem(fd, &pid, &value, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

int ebpf_load(struct ebpf_recv *r)
{
	const struct ebpf_config *cfg = &r->cfg;
	size_t n_filter = cfg->pids.n + cfg->exclude_pids.n;
	__u32 n_bstacks = (__u32)cfg->stack_map_size / BSTACKS_PER_STACK;
	int err;

	err = preflight(r);
	if (err < 0)
		return err;
	libbpf_set_print(cfg->debug ? libbpf_stderr : libbpf_quiet);
	r->skel = profile__open();
	if (!r->skel) {
		err = -errno;
		pf_log(lg(r), PF_LOG_ERROR, "cannot open the BPF program: %s", strerror(-err));
		return err;
	}
	r->skel->rodata->include_kernel = cfg->include_kernel;
	r->skel->rodata->include_idle = cfg->include_idle;
	r->skel->rodata->filter_pids = cfg->pids.n > 0;
	r->skel->rodata->debug = cfg->debug;
	r->skel->rodata->use_pid_filter = cfg->pids.n + cfg->exclude_pids.n > 0;
	r->skel->rodata->self_pid = cfg->exclude_self ? (__u32)getpid() : 0;
	r->skel->rodata->fresh_ns = cfg->build_id_stacks ? FRESH_NS : 0;
	if (n_bstacks < BSTACKS_MIN)
		n_bstacks = BSTACKS_MIN;
	bpf_map__set_max_entries(r->skel->maps.bstacks0, n_bstacks);
	bpf_map__set_max_entries(r->skel->maps.bstacks1, n_bstacks);
	bpf_map__set_max_entries(r->skel->maps.counts0, (__u32)cfg->map_size);
	bpf_map__set_max_entries(r->skel->maps.counts1, (__u32)cfg->map_size);
	bpf_map__set_max_entries(r->skel->maps.stacks0, (__u32)cfg->stack_map_size);
	bpf_map__set_max_entries(r->skel->maps.stacks1, (__u32)cfg->stack_map_size);
	bpf_map__set_max_entries(r->skel->maps.pid_filter, (__u32)(n_filter < 16 ? 16 : n_filter));
	/* The budget holds the rows and, an eighth of it, the mappings. */
	bpf_map__set_max_entries(
		r->skel->maps.unwind_mappings,
		(__u32)(cfg->unwind_tables / 8 / sizeof(struct pf_bpf_unwind_mapping)));
	bpf_map__set_max_entries(r->skel->maps.unwind_rows, (__u32)(cfg->unwind_tables / 8 * 7 /
								    sizeof(struct pf_unwind_row)));
	bpf_map__set_max_entries(r->skel->maps.unwind_procs, UNWIND_PROCS);
	err = profile__load(r->skel);
	if (err) {
		err = err < 0 ? err : -errno;
		if (err == -EPERM)
			pf_log(lg(r), PF_LOG_ERROR,
			       "cannot load the BPF program: permission denied; needs CAP_BPF and "
			       "CAP_PERFMON (%s)",
			       GRANT_HINT);
		else if (err == -EACCES)
			pf_log(lg(r), PF_LOG_ERROR,
			       "cannot load the BPF program: the kernel's verifier rejected it "
			       "(set debug: true to see its log)");
		else
			pf_log(lg(r), PF_LOG_ERROR,
			       "cannot load the BPF program: %s (needs Linux >= 5.8 with BTF, BPF "
			       "ring buffers and stack maps)",
			       strerror(-err));
		return err;
	}
	r->unwind = pf_ebpf_unwind_new(
		&(struct pf_ebpf_unwind_maps){
			.procs_fd = bpf_map__fd(r->skel->maps.unwind_procs),
			.mappings_fd = bpf_map__fd(r->skel->maps.unwind_mappings),
			.rows_fd = bpf_map__fd(r->skel->maps.unwind_rows),
			.procs_cap = UNWIND_PROCS,
			.mappings_cap = bpf_map__max_entries(r->skel->maps.unwind_mappings),
			.rows_cap = bpf_map__max_entries(r->skel->maps.unwind_rows),
		},
		lg(r));
	if (!r->unwind) {
		pf_log(lg(r), PF_LOG_ERROR, "out of memory");
		return -ENOMEM;
	}
	err = fill_filter(r, &cfg->pids, PF_BPF_PID_KEEP);
	if (!err)
		err = fill_filter(r, &cfg->exclude_pids, PF_BPF_PID_SKIP);
	if (err < 0) {
		pf_log(lg(r), PF_LOG_ERROR, "cannot fill the pid filter: %s", strerror(-err));
		return err;
	}
	return 0;
}

static int perf_open(int cpu, int64_t freq)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = (__u64)freq,
		.freq = 1,
	};
	long fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : (int)fd;
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = 0;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void perf_failed(struct ebpf_recv *r, int cpu, int err)
{
	if (err == -EACCES || err == -EPERM)
		pf_log(lg(r), PF_LOG_ERROR,
		       "cannot open perf events: %s (kernel.perf_event_paranoid = %d); needs "
		       "CAP_PERFMON (%s) or, for a test, sysctl kernel.perf_event_paranoid=-1",
		       strerror(-err), read_int_file("/proc/sys/kernel/perf_event_paranoid"),
		       GRANT_HINT);
	else
		pf_log(lg(r), PF_LOG_ERROR,
		       "cannot open the cpu-clock perf event on CPU %d: %s (perf events "
		       "unavailable: a kernel with CONFIG_PERF_EVENTS is needed)",
		       cpu, strerror(-err));
}

int ebpf_attach_events(struct ebpf_recv *r)
{
	int err;

	r->skel->links.pf_exec = bpf_program__attach(r->skel->progs.pf_exec);
	r->skel->links.pf_exit = bpf_program__attach(r->skel->progs.pf_exit);
	if (!r->skel->links.pf_exec || !r->skel->links.pf_exit) {
		err = -errno;
		pf_log(lg(r), PF_LOG_ERROR,
		       "cannot attach to the sched_process_exec/exit raw tracepoints: %s",
		       strerror(-err));
		return err;
	}
	return 0;
}

int ebpf_attach(struct ebpf_recv *r)
{
	int n = libbpf_num_possible_cpus(), opened = 0, err;

	if (n <= 0) {
		pf_log(lg(r), PF_LOG_ERROR, "cannot count CPUs: %s", strerror(n ? -n : EINVAL));
		return n ? n : -EINVAL;
	}
	r->perf_fds = calloc((size_t)n, sizeof(*r->perf_fds));
	r->links = calloc((size_t)n, sizeof(*r->links));
	if (!r->perf_fds || !r->links) {
		pf_log(lg(r), PF_LOG_ERROR, "out of memory");
		return -ENOMEM;
	}
	r->n_cpus = n;
	for (int cpu = 0; cpu < n; cpu++)
		r->perf_fds[cpu] = -1;
	for (int cpu = 0; cpu < n; cpu++) {
		int fd = perf_open(cpu, r->cfg.frequency);
		if (fd == -ENODEV)
			continue; /* offline CPU */
		if (fd < 0) {
			perf_failed(r, cpu, fd);
			return fd;
		}
		r->perf_fds[cpu] = fd;
		r->links[cpu] = bpf_program__attach_perf_event(r->skel->progs.pf_sample, fd);
		if (!r->links[cpu]) {
			err = -errno;
			pf_log(lg(r), PF_LOG_ERROR, "cannot attach to the perf event of CPU %d: %s",
			       cpu, strerror(-err));
			return err;
		}
		/* The link owns the fd now: bpf_link__destroy() closes it. Closing it
		 * again would close whatever file another thread opened under that
		 * number meanwhile (a pprof exporter's write failed with EBADF). */
		r->perf_fds[cpu] = -1;
		opened++;
	}
	if (!opened) {
		pf_log(lg(r), PF_LOG_ERROR, "no online CPU to profile");
		return -ENODEV;
	}
	return 0;
}

void ebpf_unload(struct ebpf_recv *r)
{
	for (int cpu = 0; cpu < r->n_cpus; cpu++) {
		bpf_link__destroy(r->links[cpu]);
		if (r->perf_fds[cpu] >= 0)
			close(r->perf_fds[cpu]);
	}
	free(r->links);
	free(r->perf_fds);
	r->links = NULL;
	r->perf_fds = NULL;
	r->n_cpus = 0;
	ring_buffer__free(r->rb);
	r->rb = NULL;
	profile__destroy(r->skel); /* also destroys the tracepoint links */
	r->skel = NULL;
}
