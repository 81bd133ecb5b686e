// SPDX-License-Identifier: Apache-2.0
/* The sending queue: bounded FIFO of encoded requests, num_consumers sends on the loop, retries, disk storage. */
#include "queue.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/component.h"
#include "core/log.h"
#include "queue_file.h"

#define NS_PER_MS    ((int64_t)1000000)
#define LOG_EVERY_MS 1000

enum item_state {
	ST_READY,    /* in the ready list */
	ST_LOADING,  /* taken by a consumer, being read from disk */
	ST_SENDING,  /* taken by a consumer, the exporter has it */
	ST_WAITING,  /* taken by a consumer, in the retry list */
	ST_REMOVING, /* finished, its file is being removed */
};

enum work_kind {
	WORK_READ,
	WORK_REMOVE,
};

struct pf_queue_item {
	struct pf_queue *q;
	struct pf_queue_item *prev, *next;
	enum item_state state;
	uint64_t seq;
	uint64_t items;
	size_t size;
	void *data; /* the payload when in memory, else NULL */
	bool on_disk;
	uint64_t first_ms; /* first send attempt */
	uint64_t due_ms;   /* ST_WAITING: when to retry */
	struct pf_backoff backoff;
	uv_work_t work;
	enum work_kind work_kind;
	int work_rc;
	void *read_data;
	size_t read_size;
	pf_queue_call_cancel_fn cancel; /* ST_SENDING: aborts `call`, or NULL */
	void *call;
};

struct item_list {
	struct pf_queue_item *head, *tail;
	size_t n;
};

struct pf_queue {
	struct pf_component *c;
	struct pf_queue_config cfg;
	struct pf_retry_config retry;
	struct pf_queue_ops ops;
	char *dir;   /* storage file: the exporter's own subdirectory */
	int dir_fd;  /* storage file: dir itself, or -1 */
	int lock_fd; /* storage file: flock'd <dir>/.lock, or -1 */
	uv_loop_t *loop;
	uv_timer_t timer;
	bool started, stopping, expired, closing;
	uint64_t deadline_ms;
	pf_queue_closed_fn closed;
	void *closed_arg;

	struct item_list ready;	  /* FIFO of ST_READY */
	struct item_list waiting; /* ST_WAITING, by due_ms */
	struct item_list sending; /* ST_SENDING: taken by a consumer, in the exporter's hands */
	uint64_t used;		  /* sizer units of ST_READY */
	uint64_t reserved;	  /* sizer units held by reservations */
	uint64_t disk_reserved;	  /* payload bytes held by reservations (storage file) */
	size_t rooms;		  /* reservations held */
	size_t busy;		  /* items taken by consumers */
	size_t works;		  /* thread-pool jobs not completed */

	/* Requests written but not yet flushed: they wait in `unsynced`
	 * while one job flushes `syncing` (the two arrays swap). */
	struct pf_queue_file_entry *unsynced, *syncing;
	size_t n_unsynced, cap_unsynced, n_syncing, cap_syncing;
	uv_work_t sync_work;
	int sync_rc;
	uint64_t last_store_log_ms;
	uint64_t store_log_suppressed;

	uint64_t disk_bytes;
	uint64_t next_seq;
	uint64_t rng;

	uint64_t last_log_ms;
	uint64_t log_suppressed;
};

static void arm(struct pf_queue *q);
static void item_finish(struct pf_queue_item *it);

/* ---- small helpers ---- */

static void list_push_tail(struct item_list *l, struct pf_queue_item *it)
{
	it->next = NULL;
	it->prev = l->tail;
	if (l->tail)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	l->n++;
}

static void list_insert_before(struct item_list *l, struct pf_queue_item *pos,
			       struct pf_queue_item *it)
{
	if (!pos) {
		list_push_tail(l, it);
		return;
	}
	it->next = pos;
	it->prev = pos->prev;
	if (pos->prev)
		pos->prev->next = it;
	else
		l->head = it;
	pos->prev = it;
	l->n++;
}

static void list_remove(struct item_list *l, struct pf_queue_item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		l->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		l->tail = it->prev;
	it->prev = it->next = NULL;
	l->n--;
}

static uint64_t cost(const struct pf_queue *q, size_t size, uint64_t items)
{
	switch (q->cfg.sizer) {
	case PF_QUEUE_SIZER_ITEMS: return items;
	case PF_QUEUE_SIZER_BYTES: return size;
	default: return 1;
	}
}

static uint64_t capacity(const struct pf_queue *q)
{
	return q->cfg.enabled ? (uint64_t)q->cfg.queue_size : UINT64_MAX;
}

static size_t consumers(const struct pf_queue *q)
{
	return q->cfg.enabled ? (size_t)q->cfg.num_consumers : 1;
}

static bool file_storage(const struct pf_queue *q)
{
	return q->dir != NULL;
}

/* A uniform number in [0, 1) (xorshift64*). */
static double next_random(struct pf_queue *q)
{
	uint64_t x = q->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	q->rng = x;
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

static uint64_t now_ms(const struct pf_queue *q)
{
	return q->loop ? uv_now(q->loop) : 0;
}

static void update_gauges(struct pf_queue *q)
{
	pf_component_gauge(q->c, PF_GAUGE_QUEUE_SIZE, (int64_t)q->used);
	pf_component_gauge(q->c, PF_GAUGE_QUEUE_CAPACITY,
			   q->cfg.enabled ? (int64_t)q->cfg.queue_size : 0);
}

/* Counts a dropped request and logs why, at most once a second. */
static void drop(struct pf_queue *q, struct pf_queue_item *it, const char *reason,
		 const char *detail, bool send_failed)
{
	if (send_failed)
		pf_component_count(q->c, PF_CTR_EXPORTER_SEND_FAILED, it->items);
	pf_component_drop(q->c, reason, it->items);
	uint64_t now = now_ms(q);
	if (q->last_log_ms && now - q->last_log_ms < LOG_EVERY_MS) {
		q->log_suppressed++;
		return;
	}
	if (q->log_suppressed)
		pf_log(pf_component_logger(q->c), PF_LOG_WARN,
		       "dropped a request of %" PRIu64 " samples (%s)%s%s (and %" PRIu64
		       " more since the last message)",
		       it->items, reason, detail ? ": " : "", detail ? detail : "",
		       q->log_suppressed);
	else
		pf_log(pf_component_logger(q->c), PF_LOG_WARN,
		       "dropped a request of %" PRIu64 " samples (%s)%s%s", it->items, reason,
		       detail ? ": " : "", detail ? detail : "");
	q->last_log_ms = now ? now : 1;
	q->log_suppressed = 0;
}

static struct pf_queue_item *item_new(struct pf_queue *q, uint64_t seq, uint64_t items, size_t size)
{
	struct pf_queue_item *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->q = q;
	it->seq = seq;
	it->items = items;
	it->size = size;
	it->work.data = it;
	return it;
}

static void item_free(struct pf_queue_item *it)
{
	free(it->data);
	free(it);
}

/* ---- thread-pool jobs ---- */

static void work_run(uv_work_t *w)
{
	struct pf_queue_item *it = w->data;
	const char *dir = it->q->dir;

	switch (it->work_kind) {
	case WORK_READ:
		it->work_rc =
			pf_queue_file_read(dir, it->seq, it->items, &it->read_data, &it->read_size);
		break;
	case WORK_REMOVE:
		it->work_rc = pf_queue_file_remove(dir, it->seq, it->items);
		if (it->work_rc == -ENOENT)
			it->work_rc = 0;
		break;
	}
}

static void work_done(uv_work_t *w, int status);

static void start_work(struct pf_queue_item *it, enum work_kind kind)
{
	struct pf_queue *q = it->q;

	it->work_kind = kind;
	it->work_rc = 0;
	q->works++;
	int rc = uv_queue_work(q->loop, &it->work, work_run, work_done);
	if (rc < 0) {
		/* only fails on misuse; run it here rather than lose it */
		work_run(&it->work);
		work_done(&it->work, 0);
	}
}

/* Forgets an item whose request stays on disk (shutdown), or counts it
 * dropped when it lives only in memory. */
static void item_release(struct pf_queue_item *it)
{
	struct pf_queue *q = it->q;

	if (!it->on_disk)
		drop(q, it, "shutdown", NULL, true);
	item_free(it);
}

/* The request is done with: remove its file (if any), then free it. */
static void item_finish(struct pf_queue_item *it)
{
	struct pf_queue *q = it->q;

	if (it->on_disk) {
		q->disk_bytes -= it->size;
		it->state = ST_REMOVING;
		free(it->data);
		it->data = NULL;
		start_work(it, WORK_REMOVE);
		return;
	}
	item_free(it);
}

/* Gives a consumer slot back. */
static void consumer_free(struct pf_queue *q)
{
	assert(q->busy > 0);
	q->busy--;
	arm(q);
}

static void send_item(struct pf_queue_item *it)
{
	struct pf_queue *q = it->q;

	it->state = ST_SENDING;
	list_push_tail(&q->sending, it);
	if (!it->first_ms) {
		it->first_ms = now_ms(q) ? now_ms(q) : 1;
		pf_retry_reset(&it->backoff, &q->retry);
	}
	q->ops.send(q->ops.arg, it, it->data, it->size);
}

static void work_done(uv_work_t *w, int status)
{
	struct pf_queue_item *it = w->data;
	struct pf_queue *q = it->q;
	int rc = status < 0 ? status : it->work_rc;

	q->works--;
	switch (it->work_kind) {
	case WORK_READ:
		if (rc < 0) {
			pf_log(pf_component_logger(q->c), PF_LOG_WARN,
			       "could not read stored request %" PRIu64 ": %s", it->seq,
			       rc == -EBADMSG ? "corrupt file" : strerror(-rc));
			pf_component_count(q->c, PF_CTR_INPUT_ERRORS, 1);
			drop(q, it, "corrupt", NULL, true);
			item_finish(it);
			consumer_free(q);
			break;
		}
		it->data = it->read_data;
		it->read_data = NULL;
		if (it->read_size != it->size) {
			q->disk_bytes = q->disk_bytes - it->size + it->read_size;
			it->size = it->read_size;
		}
		if (q->expired) {
			item_release(it);
			consumer_free(q);
			break;
		}
		send_item(it);
		break;
	case WORK_REMOVE:
		if (rc < 0)
			pf_log(pf_component_logger(q->c), PF_LOG_WARN,
			       "could not remove stored request %" PRIu64 ": %s", it->seq,
			       strerror(-rc));
		item_free(it);
		break;
	}
	update_gauges(q);
	arm(q);
}

/* ---- dispatching ---- */

static void dispatch(struct pf_queue *q)
{
	while (!q->expired && q->ready.head && q->busy < consumers(q)) {
		struct pf_queue_item *it = q->ready.head;

		list_remove(&q->ready, it);
		q->used -= cost(q, it->size, it->items);
		q->busy++;
		if (!it->data && it->on_disk) {
			it->state = ST_LOADING;
			start_work(it, WORK_READ);
			continue;
		}
		send_item(it);
	}
	update_gauges(q);
}

/* Aborts every send in flight that told how. A cancel may end its send (and
 * others) at once, so the list is looked at afresh after each. */
static void cancel_sends(struct pf_queue *q)
{
	for (;;) {
		struct pf_queue_item *it = q->sending.head;
		pf_queue_call_cancel_fn cancel;

		while (it && !it->cancel)
			it = it->next;
		if (!it)
			return;
		cancel = it->cancel;
		it->cancel = NULL;
		cancel(it->call);
	}
}

/* Everything ready after the deadline: forget (disk) or drop (memory). */
static void expire(struct pf_queue *q)
{
	q->expired = true;
	while (q->ready.head) {
		struct pf_queue_item *it = q->ready.head;
		list_remove(&q->ready, it);
		q->used -= cost(q, it->size, it->items);
		item_release(it);
	}
	while (q->waiting.head) {
		struct pf_queue_item *it = q->waiting.head;
		list_remove(&q->waiting, it);
		q->busy--;
		item_release(it);
	}
	update_gauges(q);
	cancel_sends(q);
}

static void on_closed(uv_handle_t *h)
{
	struct pf_queue *q = h->data;
	q->closing = false;
	q->started = false;
	if (q->closed)
		q->closed(q->closed_arg);
}

static bool drained(const struct pf_queue *q)
{
	/* written requests are flushed even after the deadline */
	if (q->busy || q->works || q->n_unsynced)
		return false;
	return q->expired || !q->ready.head;
}

static void on_timer(uv_timer_t *t)
{
	struct pf_queue *q = t->data;
	uint64_t now = uv_now(q->loop);

	if (q->stopping && !q->expired && now >= q->deadline_ms)
		expire(q);
	if (!q->expired) {
		/* take the due ones first: a send may finish and re-queue at once */
		struct item_list due = {0};
		while (q->waiting.head && q->waiting.head->due_ms <= now) {
			struct pf_queue_item *it = q->waiting.head;
			list_remove(&q->waiting, it);
			list_push_tail(&due, it);
		}
		while (due.head) {
			struct pf_queue_item *it = due.head;
			list_remove(&due, it);
			send_item(it);
		}
		dispatch(q);
	}
	arm(q);
}

/* Schedules the next wake-up, or closes the timer once a shutdown is
 * drained. Never sends itself, so it is safe from anywhere. */
static void arm(struct pf_queue *q)
{
	if (!q->started || q->closing)
		return;
	if (q->stopping && drained(q)) {
		q->closing = true;
		uv_timer_stop(&q->timer);
		uv_close((uv_handle_t *)&q->timer, on_closed);
		return;
	}
	uint64_t now = uv_now(q->loop), when = UINT64_MAX;
	if (!q->expired && q->ready.head && q->busy < consumers(q))
		when = now;
	if (!q->expired && q->waiting.head && q->waiting.head->due_ms < when)
		when = q->waiting.head->due_ms;
	if (q->stopping && !q->expired && q->deadline_ms < when)
		when = q->deadline_ms;
	if (when == UINT64_MAX) {
		uv_timer_stop(&q->timer);
		return;
	}
	uv_timer_start(&q->timer, on_timer, when > now ? when - now : 0, 0);
}

/* ---- the contract ---- */

void pf_queue_item_cancel_with(struct pf_queue_item *it, pf_queue_call_cancel_fn cancel, void *call)
{
	assert(it->state == ST_SENDING);
	it->cancel = cancel;
	it->call = call;
}

void pf_queue_done(struct pf_queue_item *it, const struct pf_send_result *res)
{
	struct pf_queue *q = it->q;
	const char *reason = res->reason;

	assert(it->state == ST_SENDING);
	list_remove(&q->sending, it);
	it->cancel = NULL;
	it->call = NULL;
	switch (res->status) {
	case PF_SEND_OK: {
		uint64_t rejected = res->rejected < it->items ? res->rejected : it->items;
		pf_component_count(q->c, PF_CTR_EXPORTER_SENT, it->items - rejected);
		if (rejected) {
			pf_component_count(q->c, PF_CTR_EXPORTER_SEND_FAILED, rejected);
			pf_component_drop(q->c, "rejected", rejected);
		}
		item_finish(it);
		consumer_free(q);
		return;
	}
	case PF_SEND_PERMANENT:
		drop(q, it, "permanent", reason, true);
		item_finish(it);
		consumer_free(q);
		return;
	case PF_SEND_RETRY: break;
	}

	if (q->expired) {
		item_release(it);
		consumer_free(q);
		return;
	}
	uint64_t now = uv_now(q->loop);
	int64_t elapsed = (int64_t)(now - it->first_ms) * NS_PER_MS;
	int64_t delay = pf_retry_next(&it->backoff, &q->retry, elapsed, res->retry_after_ns,
				      next_random(q));
	if (delay < 0) {
		drop(q, it, q->retry.enabled ? "retries_exhausted" : "send_failed", reason, true);
		item_finish(it);
		consumer_free(q);
		return;
	}
	pf_log(pf_component_logger(q->c), PF_LOG_DEBUG,
	       "retrying a request of %" PRIu64 " samples in %" PRId64 " ms%s%s", it->items,
	       delay / NS_PER_MS, reason ? ": " : "", reason ? reason : "");
	it->state = ST_WAITING;
	it->due_ms = now + (uint64_t)((delay + NS_PER_MS - 1) / NS_PER_MS);
	struct pf_queue_item *pos = q->waiting.head;
	while (pos && pos->due_ms <= it->due_ms)
		pos = pos->next;
	list_insert_before(&q->waiting, pos, it);
	arm(q);
}

/* ---- writing to disk before PF_OK, flushing on the thread pool ---- */

static void sync_run(uv_work_t *w)
{
	struct pf_queue *q = w->data;

	q->sync_rc = pf_queue_file_sync(q->dir_fd, q->syncing, q->n_syncing);
}

static void sync_done(uv_work_t *w, int status);

/* Flushes what was written since the last flush began, unless one runs. */
static void sync_start(struct pf_queue *q)
{
	if (!q->loop || q->n_syncing || !q->n_unsynced)
		return;
	struct pf_queue_file_entry *e = q->syncing;
	size_t cap = q->cap_syncing;

	q->syncing = q->unsynced;
	q->cap_syncing = q->cap_unsynced;
	q->n_syncing = q->n_unsynced;
	q->unsynced = e;
	q->cap_unsynced = cap;
	q->n_unsynced = 0;
	q->sync_rc = 0;
	q->sync_work.data = q;
	q->works++;
	if (uv_queue_work(q->loop, &q->sync_work, sync_run, sync_done) < 0) {
		/* only fails on misuse; run it here rather than not at all */
		sync_run(&q->sync_work);
		sync_done(&q->sync_work, 0);
	}
}

/* Logs a storage failure, at most once a second. */
static void store_warn(struct pf_queue *q, const char *what, int rc)
{
	uint64_t now = now_ms(q);

	if (q->last_store_log_ms && now - q->last_store_log_ms < LOG_EVERY_MS) {
		q->store_log_suppressed++;
		return;
	}
	if (q->store_log_suppressed)
		pf_log(pf_component_logger(q->c), PF_LOG_WARN,
		       "%s in %s: %s (and %" PRIu64 " more since the last message)", what, q->dir,
		       strerror(-rc), q->store_log_suppressed);
	else
		pf_log(pf_component_logger(q->c), PF_LOG_WARN, "%s in %s: %s", what, q->dir,
		       strerror(-rc));
	q->last_store_log_ms = now ? now : 1;
	q->store_log_suppressed = 0;
}

static void sync_done(uv_work_t *w, int status)
{
	struct pf_queue *q = w->data;
	int rc = status < 0 ? status : q->sync_rc;

	q->works--;
	/* the files stay: they still survive a restart of the process */
	if (rc < 0)
		store_warn(q, "could not flush stored requests", rc);
	q->n_syncing = 0;
	sync_start(q);
	arm(q);
}

/* True when `need` more payload bytes fit under max_size beside what is on
 * disk and reserved. Nothing is evicted to make room: every stored request
 * was acknowledged to someone. */
static bool disk_fits(const struct pf_queue *q, uint64_t need)
{
	uint64_t limit = (uint64_t)q->cfg.max_size;

	if (!file_storage(q) || q->cfg.max_size <= 0)
		return true;
	return need <= limit && q->disk_bytes + q->disk_reserved <= limit - need;
}

bool pf_queue_has_room(const struct pf_queue *q, size_t size, uint64_t items)
{
	if (q->stopping)
		return false;
	if (!q->cfg.enabled)
		return !q->ready.head && q->busy == 0 && q->rooms == 0;
	uint64_t c = cost(q, size, items), held = q->used + q->reserved;
	return c <= capacity(q) && held <= capacity(q) - c && disk_fits(q, size);
}

/* Counts samples a request could not be queued with. */
static void refuse(struct pf_queue *q, int rc, uint64_t items)
{
	if (rc == -ESHUTDOWN || (rc == PF_BUSY && q->cfg.block_on_overflow))
		return;
	pf_component_count(q->c, PF_CTR_EXPORTER_ENQUEUE_FAILED, items);
}

/* Checks requests about to be queued without a reservation: each alone
 * fits the limits, and all of them fit now. */
static int admit(struct pf_queue *q, const struct pf_queue_request *reqs, size_t n)
{
	uint64_t units = 0, bytes = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t c = cost(q, reqs[i].size, reqs[i].items);
		if (c > capacity(q) || (file_storage(q) && q->cfg.max_size > 0 &&
					reqs[i].size > (uint64_t)q->cfg.max_size))
			return -EMSGSIZE;
		units += c;
		bytes += reqs[i].size;
	}
	if (q->stopping)
		return -ESHUTDOWN;
	if (!q->cfg.enabled) /* one batch at a time, whatever its parts */
		return pf_queue_has_room(q, bytes, 0) ? 0 : PF_BUSY;
	if (units > capacity(q) || q->used + q->reserved > capacity(q) - units ||
	    !disk_fits(q, bytes))
		return PF_BUSY;
	return 0;
}

/* Removes the files of the first n items, written by store_all() (their
 * requests are refused as a whole). */
static void unstore(struct pf_queue *q, struct pf_queue_item **items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = pf_queue_file_remove(q->dir, items[i]->seq, items[i]->items);
		if (rc < 0 && rc != -ENOENT)
			store_warn(q, "could not remove a refused request", rc);
	}
}

/* Writes every new request's file on the loop, before PF_OK, so that a
 * request the caller was told is queued survives kill -9; the fsync that
 * makes it survive a power loss follows on the thread pool. When one
 * cannot be written (disk full) the ones written are removed and the
 * error returned: a request is on disk or refused, never kept in memory
 * only while acknowledged. */
static int store_all(struct pf_queue *q, struct pf_queue_item **items,
		     const struct pf_queue_request *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = pf_queue_file_put(q->dir_fd, items[i]->seq, items[i]->items, reqs[i].data,
					   reqs[i].size);
		if (rc < 0) {
			store_warn(q, "could not store a request (refused)", rc);
			unstore(q, items, i);
			return rc;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct pf_queue_item *it = items[i];
		it->on_disk = true;
		q->disk_bytes += it->size;
		q->unsynced[q->n_unsynced++] = (struct pf_queue_file_entry){
			.seq = it->seq, .items = it->items, .size = it->size};
	}
	sync_start(q);
	return 0;
}

/* Makes room to note n more written requests, so that a request is never
 * on disk without being flushed later. */
static int reserve_unsynced(struct pf_queue *q, size_t n)
{
	if (q->cap_unsynced - q->n_unsynced >= n)
		return 0;
	size_t cap = q->cap_unsynced ? 2 * q->cap_unsynced : 16;
	while (cap - q->n_unsynced < n)
		cap *= 2;
	struct pf_queue_file_entry *grown = calloc(cap, sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	if (q->n_unsynced)
		memcpy(grown, q->unsynced, q->n_unsynced * sizeof(*grown));
	free(q->unsynced);
	q->unsynced = grown;
	q->cap_unsynced = cap;
	return 0;
}

int pf_queue_reserve(struct pf_queue *q, size_t size, uint64_t items, struct pf_queue_room *room)
{
	struct pf_queue_request probe = {.size = size, .items = items};
	int rc;

	*room = (struct pf_queue_room){0};
	rc = admit(q, &probe, 1);
	if (rc != 0) {
		refuse(q, rc, items);
		update_gauges(q);
		return rc;
	}
	room->held = true;
	room->units = cost(q, size, items);
	room->bytes = file_storage(q) ? size : 0;
	q->reserved += room->units;
	q->disk_reserved += room->bytes;
	q->rooms++;
	update_gauges(q);
	return PF_OK;
}

void pf_queue_release(struct pf_queue *q, struct pf_queue_room *room)
{
	if (!room->held)
		return;
	assert(q->rooms > 0 && q->reserved >= room->units && q->disk_reserved >= room->bytes);
	q->reserved -= room->units;
	q->disk_reserved -= room->bytes;
	q->rooms--;
	*room = (struct pf_queue_room){0};
	update_gauges(q);
	arm(q);
}

int pf_queue_enqueue_all(struct pf_queue *q, const struct pf_queue_request *reqs, size_t n,
			 struct pf_queue_room *room)
{
	struct pf_queue_item **items = NULL;
	uint64_t total = 0;
	size_t made = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		total += reqs[i].items;
	if (room && room->held) {
		pf_queue_release(q, room);
		rc = q->stopping ? -ESHUTDOWN : 0;
	} else {
		rc = admit(q, reqs, n);
	}
	if (rc != 0)
		goto out_refuse;
	if (n == 0)
		return PF_OK;
	rc = -ENOMEM;
	if (file_storage(q) && reserve_unsynced(q, n) < 0)
		goto out_refuse;
	items = calloc(n, sizeof(*items));
	if (!items)
		goto out_refuse;
	for (made = 0; made < n; made++) {
		items[made] = item_new(q, q->next_seq + made, reqs[made].items, reqs[made].size);
		if (!items[made])
			goto out_free_items;
	}
	if (file_storage(q) && (rc = store_all(q, items, reqs, n)) < 0)
		goto out_free_items;
	q->next_seq += n;
	for (size_t i = 0; i < n; i++) {
		struct pf_queue_item *it = items[i];
		it->data = reqs[i].data;
		it->state = ST_READY;
		q->used += cost(q, it->size, it->items);
		list_push_tail(&q->ready, it);
	}
	free(items);
	update_gauges(q);
	arm(q);
	return PF_OK;

out_free_items:
	for (size_t i = 0; i < made; i++)
		item_free(items[i]);
	free(items);
out_refuse:
	refuse(q, rc, total);
	update_gauges(q);
	return rc;
}

int pf_queue_enqueue(struct pf_queue *q, void *data, size_t size, uint64_t items)
{
	struct pf_queue_request req = {.data = data, .size = size, .items = items};

	return pf_queue_enqueue_all(q, &req, 1, NULL);
}

/* Lists the stored requests into the ready list, oldest first. */
static int load_stored(struct pf_queue *q)
{
	struct pf_queue_file_entry *e = NULL;
	size_t n = 0;
	int rc = pf_queue_file_list(q->dir, &e, &n);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct pf_queue_item *it = item_new(q, e[i].seq, e[i].items, e[i].size);
		if (!it) {
			rc = -ENOMEM;
			goto out_free_entries;
		}
		it->on_disk = true;
		it->state = ST_READY;
		list_push_tail(&q->ready, it);
		q->used += cost(q, it->size, it->items);
		q->disk_bytes += it->size;
		if (e[i].seq >= q->next_seq)
			q->next_seq = e[i].seq + 1;
	}
	if (n)
		pf_log(pf_component_logger(q->c), PF_LOG_INFO,
		       "%zu stored requests in %s will be sent again", n, q->dir);
	if (q->cfg.max_size > 0 && q->disk_bytes > (uint64_t)q->cfg.max_size)
		pf_log(pf_component_logger(q->c), PF_LOG_WARN,
		       "%" PRIu64 " stored bytes exceed max_size: new requests are refused until "
		       "they are sent",
		       q->disk_bytes);

out_free_entries:
	free(e);
	return rc;
}

struct pf_queue *pf_queue_create(struct pf_component *c, const struct pf_queue_config *cfg,
				 const struct pf_retry_config *retry,
				 const struct pf_queue_ops *ops)
{
	const struct pf_logger *lg = pf_component_logger(c);
	struct pf_queue *q = calloc(1, sizeof(*q));
	int rc;

	if (!q)
		return NULL;
	q->c = c;
	q->cfg = *cfg;
	q->retry = *retry;
	q->ops = *ops;
	q->next_seq = 1;
	q->dir_fd = -1;
	q->lock_fd = -1;
	q->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)q) | 1;
	if (cfg->storage == PF_QUEUE_STORAGE_FILE) {
		if (!cfg->directory) {
			pf_log(lg, PF_LOG_ERROR, "sending_queue: storage file needs a directory");
			goto out_destroy;
		}
		rc = pf_queue_file_open(cfg->directory, pf_component_id(c), &q->dir, &q->lock_fd);
		if (rc < 0) {
			pf_log(lg, PF_LOG_ERROR, "sending_queue: cannot use %s: %s",
			       q->dir ? q->dir : cfg->directory,
			       rc == -EBUSY ? "another process uses this queue" : strerror(-rc));
			goto out_destroy;
		}
		q->dir_fd = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (q->dir_fd < 0) {
			pf_log(lg, PF_LOG_ERROR, "sending_queue: cannot open %s: %s", q->dir,
			       strerror(errno));
			goto out_destroy;
		}
		rc = load_stored(q);
		if (rc < 0) {
			pf_log(lg, PF_LOG_ERROR, "sending_queue: cannot read %s: %s", q->dir,
			       strerror(-rc));
			goto out_destroy;
		}
	}
	return q;

out_destroy:
	pf_queue_destroy(q);
	return NULL;
}

int pf_queue_start(struct pf_queue *q, uv_loop_t *loop)
{
	assert(!q->started && !q->loop);
	int rc = uv_timer_init(loop, &q->timer);
	if (rc < 0)
		return rc;
	q->loop = loop;
	q->timer.data = q;
	q->started = true;
	update_gauges(q);
	sync_start(q); /* requests enqueued before start */
	arm(q);
	return 0;
}

#define CANCEL_MARGIN_MS 100

uint64_t pf_queue_shutdown_deadline(struct pf_component *c)
{
	uint64_t deadline = pf_component_deadline(c), now = uv_now(pf_component_loop(c));
	uint64_t left = deadline > now ? deadline - now : 0;

	return deadline - (left > 2 * CANCEL_MARGIN_MS ? CANCEL_MARGIN_MS : left / 2);
}

void pf_queue_shutdown(struct pf_queue *q, uint64_t deadline_ms, pf_queue_closed_fn closed,
		       void *arg)
{
	assert(!q->stopping);
	q->stopping = true;
	q->deadline_ms = deadline_ms;
	q->closed = closed;
	q->closed_arg = arg;
	if (!q->started) {
		if (closed)
			closed(arg);
		return;
	}
	if (uv_now(q->loop) >= deadline_ms)
		expire(q);
	arm(q);
}

void pf_queue_destroy(struct pf_queue *q)
{
	if (!q)
		return;
	assert(!q->closing && q->works == 0 && q->busy == 0 && q->rooms == 0);
	while (q->ready.head) {
		struct pf_queue_item *it = q->ready.head;
		list_remove(&q->ready, it);
		if (!it->on_disk)
			pf_component_drop(q->c, "shutdown", it->items);
		item_free(it);
	}
	if (q->dir_fd >= 0)
		close(q->dir_fd);
	if (q->lock_fd >= 0)
		close(q->lock_fd);
	free(q->unsynced);
	free(q->syncing);
	free(q->dir);
	free(q);
}

void pf_queue_stats(const struct pf_queue *q, struct pf_queue_stats *st)
{
	st->queued = q->ready.n;
	st->in_flight = q->busy;
	st->writing = q->n_unsynced + q->n_syncing;
	st->disk_bytes = q->disk_bytes;
	st->reserved = q->reserved;
}
