// SPDX-License-Identifier: Apache-2.0
/* Drops, in every thread, the capabilities the started pipelines no longer need. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "privileges.h"

#define CAP_BIT(c) (1ull << (c))
/* All threads must have dropped by then, or start-up fails. */
#define DEADLINE_MS 2000
/* A pass waits this long for the threads it signalled, then looks again. */
#define PASS_MS 100

/* What a started component of this type still does with privileges. */
struct need {
	enum pf_kind kind;
	const char *type;
	uint64_t caps;
	bool bpf_maps; /* reads BPF maps: CAP_BPF too when bpf(2) wants it */
};

/* The ebpf receiver, and symbolize on its profiles, read /proc/PID/maps,
 * exe and root of other users' processes (CAP_SYS_PTRACE) and the kernel's
 * addresses in /proc/kallsyms (CAP_SYSLOG when kernel.kptr_restrict is 1 or
 * perf_event_paranoid above 1) while running. Profiles from elsewhere
 * need no privilege to be named. */
static const struct need needs[] = {
	{PF_RECEIVER, "ebpf", CAP_BIT(CAP_SYS_PTRACE) | CAP_BIT(CAP_SYSLOG), true},
};

/* What every thread applies to itself, reached by the other threads
 * through the signal's value. */
struct drop {
	uint64_t keep;
	int last_cap;
	bool bounding;	   /* CAP_SETPCAP held: the bounding set can shrink */
	unsigned sent;	   /* signals queued */
	atomic_uint acked; /* signals handled: a handler's last access */
	atomic_int error;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The calling thread keeps d->keep only. System calls only: it runs in a
 * signal handler. The bounding set goes first, while CAP_SETPCAP is held;
 * capset() then clears the ambient set as the inheritable set empties. */
static int apply(const struct drop *d)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {
		{.effective = (uint32_t)d->keep, .permitted = (uint32_t)d->keep},
		{.effective = (uint32_t)(d->keep >> 32), .permitted = (uint32_t)(d->keep >> 32)},
	};

	for (int cap = 0; d->bounding && cap <= d->last_cap; cap++)
		if (!(d->keep & CAP_BIT(cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* Capabilities are per thread: each other thread drops its own when
 * pf_privileges_drop queues it this signal carrying the struct drop. */
static void on_drop_signal(int sig, siginfo_t *si, void *uctx)
{
	int saved = errno;
	struct drop *d = si->si_value.sival_ptr;
	int err;

	if (si->si_code == SI_QUEUE && si->si_pid == getpid() && d) {
		err = apply(d);
		if (err < 0)
			atomic_store(&d->error, err);
		atomic_fetch_add(&d->acked, 1);
	}
	errno = saved;
}

static int drop_signal(void)
{
	return SIGRTMIN + 3;
}

/* The capabilities (bits) a thread holds in its effective or permitted
 * set, or -errno (-ESRCH: it has exited). */
static int64_t thread_caps(pid_t tid, int last_cap)
{
	cap_t c = cap_get_pid(tid);
	cap_flag_value_t eff, prm;
	int64_t held = 0;

	if (!c)
		return -errno;
	for (int cap = 0; cap <= last_cap; cap++) {
		if (cap_get_flag(c, cap, CAP_EFFECTIVE, &eff) < 0 ||
		    cap_get_flag(c, cap, CAP_PERMITTED, &prm) < 0) {
			held = -EINVAL;
			break;
		}
		if (eff == CAP_SET || prm == CAP_SET)
			held |= (int64_t)CAP_BIT(cap);
	}
	cap_free(c);
	return held;
}

static int send_drop(struct drop *d, pid_t tid)
{
	siginfo_t si = {.si_signo = drop_signal(), .si_code = SI_QUEUE};

	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_ptr = d;
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, drop_signal(), &si) < 0)
		return -errno;
	return 0;
}

/* One look at every thread: signals those holding more than d->keep.
 * Returns how many were signalled (0: all done), or -errno. *n_threads
 * counts the threads seen, *stuck names one still holding more. */
static int signal_pass(struct drop *d, unsigned *n_threads, pid_t *stuck)
{
	pid_t self = (pid_t)syscall(SYS_gettid);
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	int sent = 0, err = 0;

	if (!dir)
		return -errno;
	*n_threads = 0;
	while ((e = readdir(dir)) != NULL) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
		if (tid <= 0)
			continue;
		(*n_threads)++;
		if (tid == self)
			continue;
		int64_t held = thread_caps(tid, d->last_cap);
		if (held == -ESRCH)
			continue;
		if (held < 0) {
			err = (int)held;
			break;
		}
		if (!((uint64_t)held & ~d->keep))
			continue;
		*stuck = tid;
		err = send_drop(d, tid);
		if (err == -ESRCH) {
			err = 0;
			continue;
		}
		if (err < 0)
			break;
		sent++;
		d->sent++;
	}
	closedir(dir);
	return err < 0 ? err : sent;
}

/* Applies d to this thread, then to every other one until none holds
 * more (threads may start meanwhile, from threads not yet done). */
static int drop_all_threads(struct drop *d, const struct pf_logger *lg, unsigned *n_threads)
{
	struct sigaction sa = {.sa_sigaction = on_drop_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct sigaction ign = {.sa_handler = SIG_IGN};
	uint64_t deadline = now_ms() + DEADLINE_MS;
	pid_t stuck = 0;
	int err;

	sigemptyset(&sa.sa_mask);
	if (sigaction(drop_signal(), &sa, NULL) < 0)
		return -errno;
	err = apply(d);
	while (err == 0) {
		unsigned acked = atomic_load(&d->acked);
		int sent = signal_pass(d, n_threads, &stuck);
		if (sent <= 0) {
			err = sent;
			break;
		}
		for (uint64_t until = now_ms() + PASS_MS;
		     atomic_load(&d->acked) - acked < (unsigned)sent && now_ms() < until;)
			nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
		err = atomic_load(&d->error);
		if (err == 0 && now_ms() > deadline) {
			pf_log(lg, PF_LOG_ERROR,
			       "cannot drop capabilities: thread %d still holds them after %d ms "
			       "(it blocks signal %d?)",
			       (int)stuck, DEADLINE_MS, drop_signal());
			err = -ETIMEDOUT;
		}
	}
	/* A late signal is discarded, not fatal. */
	sigemptyset(&ign.sa_mask);
	sigaction(drop_signal(), &ign, NULL);
	return err;
}

struct probe {
	int fd;
	int err;
};

static void *probe_thread(void *arg)
{
	struct probe *p = arg;
	cap_value_t bpf[] = {CAP_BPF, CAP_SYS_ADMIN};
	uint32_t key = 0;
	uint64_t value;
	cap_t c = cap_get_proc();

	/* Without libpsx, cap_set_proc() changes this thread alone. */
	if (!c || cap_set_flag(c, CAP_EFFECTIVE, 2, bpf, CAP_CLEAR) < 0 || cap_set_proc(c) < 0)
		p->err = -errno;
	else if (bpf_map_lookup_elem(p->fd, &key, &value) < 0)
		p->err = -errno;
	cap_free(c);
	return NULL;
}

/* True when bpf(2) refuses map operations on an open map to a thread
 * without CAP_BPF (Linux before 6.5 with kernel.unprivileged_bpf_disabled
 * set): the ebpf receiver drains its maps with them. Probed on a map of
 * its own in a thread of its own; when it cannot tell, true. */
static bool map_ops_need_cap_bpf(void)
{
	struct probe p = {.err = 0};
	pthread_t t;

	p.fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "pf_caps_probe", sizeof(uint32_t),
			      sizeof(uint64_t), 1, NULL);
	if (p.fd < 0)
		return true;
	if (pthread_create(&t, NULL, probe_thread, &p) != 0) {
		close(p.fd);
		return true;
	}
	pthread_join(t, NULL);
	close(p.fd);
	return p.err != 0;
}

/* What the components in use need after start, and who needs it. */
static uint64_t needed(const struct pf_config *cfg, const char **who)
{
	uint64_t caps = 0;

	for (size_t i = 0; i < cfg->n_components; i++) {
		const struct pf_config_component *c = &cfg->components[i];
		if (!c->used)
			continue;
		for (size_t k = 0; k < sizeof(needs) / sizeof(needs[0]); k++) {
			if (c->def->kind != needs[k].kind || strcmp(c->def->type, needs[k].type))
				continue;
			if (!(caps & needs[k].caps))
				*who = c->id;
			caps |= needs[k].caps;
			if (needs[k].bpf_maps && !(caps & CAP_BIT(CAP_BPF)) &&
			    map_ops_need_cap_bpf())
				caps |= CAP_BIT(CAP_BPF);
		}
	}
	return caps;
}

/* "cap_a,cap_b" for the bits of caps, or "none". */
static void cap_names(uint64_t caps, int last_cap, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int cap = 0; cap <= last_cap && n < size; cap++) {
		if (!(caps & CAP_BIT(cap)))
			continue;
		char *name = cap_to_name(cap);
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", name ? name : "?");
		cap_free(name);
	}
	if (!buf[0])
		snprintf(buf, size, "none");
}

int pf_privileges_drop(const struct pf_config *cfg, const struct pf_logger *lg)
{
	int last_cap = (int)cap_max_bits() - 1;
	struct drop *d;
	const char *who = NULL;
	unsigned n_threads = 0;
	char kept[256];
	int64_t held;
	int err;

	if (last_cap >= 64)
		last_cap = 63;
	held = thread_caps(0, last_cap);
	if (held < 0) {
		pf_log(lg, PF_LOG_ERROR, "cannot read this process's capabilities: %s",
		       strerror((int)-held));
		return (int)held;
	}
	if (held == 0) {
		pf_log(lg, PF_LOG_DEBUG, "no capabilities held, none to drop");
		return 0;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		pf_log(lg, PF_LOG_ERROR, "cannot drop capabilities: out of memory");
		return -ENOMEM;
	}
	d->last_cap = last_cap;
	d->bounding = (uint64_t)held & CAP_BIT(CAP_SETPCAP);
	d->keep = needed(cfg, &who) & (uint64_t)held;
	err = drop_all_threads(d, lg, &n_threads);
	if (err < 0 && err != -ETIMEDOUT)
		pf_log(lg, PF_LOG_ERROR, "cannot drop capabilities: %s", strerror(-err));
	if (err == 0) {
		cap_names(d->keep, d->last_cap, kept, sizeof(kept));
		pf_log(lg, PF_LOG_INFO,
		       "capabilities kept: %s%s%s; %s dropped in %u threads (effective, permitted, "
		       "inheritable, ambient%s), no_new_privs set",
		       kept, who ? " for " : " (no component needs one once started)",
		       who ? who : "", d->keep ? "every other one" : "all", n_threads,
		       d->bounding ? ", bounding" : "; bounding set left: no CAP_SETPCAP");
	}
	/* A signal still unhandled (its thread exited, or it was queued twice
	 * and one remains) is discarded now that the action is SIG_IGN, but a
	 * handler may have begun before: then d stays allocated (a few bytes,
	 * once) rather than be freed under it. */
	if (atomic_load(&d->acked) == d->sent)
		free(d);
	return err;
}
