// SPDX-License-Identifier: Apache-2.0
/* Process events from the BPF ring buffer, read under uv_poll: exec captures a process, exit retires it. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>

#include "bpf/profile.skel.h"
#include "ebpf.h"

static const struct pf_logger *lg(const struct ebpf_recv *r)
{
	return pf_component_logger(r->c);
}

/* Its maps read with the libraries: the BPF program takes its user stacks
 * as plain addresses again. */
static void on_settled(void *arg, uint32_t pid)
{
	struct ebpf_recv *r = arg;

	if (r->cfg.build_id_stacks)
		bpf_map_delete_elem(bpf_map__fd(r->skel->maps.unread), &pid);
}

static void on_read_due(uv_timer_t *t)
{
	struct ebpf_recv *r = t->data;
	uint64_t now = uv_now(r->loop);
	uint64_t next =
		pf_ebpf_proctab_read_due(r->procs, now, &r->stats.procs_gone, on_settled, r);

	if (next && !r->stopping)
		uv_timer_start(&r->rescan, on_read_due, next > now ? next - now : 0, 0);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct ebpf_recv *r = ctx;
	struct pf_bpf_event ev;
	struct pf_ebpf_proc *p;
	uint64_t now;

	if (pf_ebpf_event_decode(data, size, &ev) < 0)
		return 0;
	if (ev.type == PF_BPF_EV_EXIT) {
		pf_ebpf_proctab_exit(r->procs, ev.pid, r->gen);
		return 0;
	}
	if (ev.type == PF_BPF_EV_MAPS_STALE) {
		/* Code mapped since the last read: the rescan gives the
		 * unwinder the new mappings (the listener loads them). */
		p = pf_ebpf_proctab_get(r->procs, ev.pid);
		if (p && p->read_ok && !p->exited)
			pf_ebpf_proctab_rescan(r->procs, p);
		return 0;
	}
	if (r->n_comm_re && !ebpf_comm_matches(r, ev.comm, NULL)) {
		on_settled(r, ev.pid); /* filtered out: not worth reading, nor a costly stack */
		return 0;
	}
	/* Read now, while the process most likely lives (compilers and shells
	 * are often gone within 30 ms), and its maps again a few ms later,
	 * once ld.so has mapped the libraries. Samples taken until then carry
	 * build-ID stacks (the BPF program's `unread` map), so a process gone
	 * before the reads is named all the same. */
	now = uv_now(r->loop);
	p = pf_ebpf_proctab_exec(r->procs, ev.pid, ev.exec_id, ev.comm, ev.filename, now,
				 &r->stats.procs_gone);
	if (p && p->settled)
		on_settled(r, ev.pid);
	if (p && p->read_ms && r->rescan_open && !r->stopping &&
	    (!uv_is_active((uv_handle_t *)&r->rescan) ||
	     uv_timer_get_due_in(&r->rescan) > p->read_ms - now))
		uv_timer_start(&r->rescan, on_read_due, p->read_ms - now, 0);
	return 0;
}

void ebpf_events_consume(struct ebpf_recv *r)
{
	int n;

	if (!r->rb)
		return;
	n = ring_buffer__consume(r->rb);
	if (n < 0)
		pf_log(lg(r), PF_LOG_DEBUG, "ring buffer: %s", strerror(-n));
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct ebpf_recv *r = h->data;

	if (status < 0) {
		pf_log(lg(r), PF_LOG_WARN, "polling the ring buffer: %s", uv_strerror(status));
		return;
	}
	ebpf_events_consume(r);
}

int ebpf_events_start(struct ebpf_recv *r)
{
	int err;

	r->rb = ring_buffer__new(bpf_map__fd(r->skel->maps.events), on_event, r, NULL);
	if (!r->rb) {
		err = -errno;
		pf_log(lg(r), PF_LOG_ERROR, "cannot open the BPF ring buffer: %s", strerror(-err));
		return err;
	}
	err = uv_timer_init(r->loop, &r->rescan);
	if (err < 0)
		return err;
	r->rescan.data = r;
	r->rescan_open = true;
	r->open_handles++;
	err = uv_poll_init(r->loop, &r->poll, ring_buffer__epoll_fd(r->rb));
	if (err < 0) {
		pf_log(lg(r), PF_LOG_ERROR, "cannot poll the BPF ring buffer: %s",
		       uv_strerror(err));
		return err;
	}
	r->poll.data = r;
	r->poll_open = true;
	r->open_handles++;
	return uv_poll_start(&r->poll, UV_READABLE, on_readable);
}
