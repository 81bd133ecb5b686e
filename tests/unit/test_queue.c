/* SPDX-License-Identifier: Apache-2.0 */
/* The sending queue on a real uv loop: retries, drops, sizers, file storage across crashes and kill -9, shutdown. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/component.h"
#include "pipeline/component_internal.h"
#include "sending/queue.h"
#include "sending/queue_file.h"
#include "sending/retry.h"

#define MS	 ((int64_t)1000000)
#define MAX_IDS	 10001
#define MAX_HELD 64
#define N_SCRIPT 16
#define TEST_ID	 "otlp/test"
#define SUBDIR	 "otlp_test"

static const struct pf_component_def test_def = {.kind = PF_EXPORTER, .type = "otlp"};

/* The exporter side: records what is sent and answers from a script. */
struct fake {
	struct pf_queue *q;
	uv_loop_t *loop;
	bool hold; /* keep items in flight until the test answers */
	enum pf_send_status script[N_SCRIPT];
	int64_t after[N_SCRIPT];
	size_t n_script, pos;
	enum pf_send_status dflt;
	uint64_t rejected; /* PF_SEND_OK: partial success */
	size_t sends;
	uint64_t send_ms[MAX_HELD];
	struct pf_queue_item *held[MAX_HELD];
	size_t n_held;
	int *seen; /* per id: times delivered */
	int last_id;
	bool in_order;
	bool cancelled;
	bool closed;
};

/* "req-<id>", possibly followed by a NUL and padding (put_big). */
static int payload_id(const void *data, size_t size)
{
	char buf[32];
	if (size == 0)
		return 0; /* the empty request */
	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	int id;
	return sscanf(buf, "req-%d", &id) == 1 ? id : -1;
}

static void fake_answer(struct fake *f, struct pf_queue_item *it)
{
	struct pf_send_result r = {.status = f->dflt, .reason = "fake says so"};
	if (f->pos < f->n_script) {
		r.status = f->script[f->pos];
		r.retry_after_ns = f->after[f->pos];
		f->pos++;
	}
	if (r.status == PF_SEND_OK)
		r.rejected = f->rejected;
	pf_queue_done(it, &r);
}

static void fake_cancel(void *call);

static void fake_send(void *arg, struct pf_queue_item *it, const void *data, size_t size)
{
	struct fake *f = arg;
	if (f->sends < MAX_HELD)
		f->send_ms[f->sends] = uv_now(f->loop);
	f->sends++;
	int id = payload_id(data, size);
	assert_true(id >= 0 && id < MAX_IDS);
	if (f->seen) {
		f->seen[id]++;
		if (id < f->last_id)
			f->in_order = false;
		f->last_id = id;
	}
	if (f->hold) {
		assert_true(f->n_held < MAX_HELD);
		f->held[f->n_held++] = it;
		pf_queue_item_cancel_with(it, fake_cancel, f);
		return;
	}
	fake_answer(f, it);
}

/* Answers every held send with `st` (cancel, or the test). */
static void fake_release(struct fake *f, enum pf_send_status st)
{
	while (f->n_held) {
		struct pf_queue_item *it = f->held[--f->n_held];
		struct pf_send_result r = {.status = st, .reason = "cancelled"};
		pf_queue_done(it, &r);
	}
}

/* pf_queue_call_cancel_fn of a held send: the backend gives up on all. */
static void fake_cancel(void *call)
{
	struct fake *f = call;
	f->cancelled = true;
	fake_release(f, PF_SEND_RETRY);
}

static void fake_closed(void *arg)
{
	struct fake *f = arg;
	f->closed = true;
}

struct env {
	uv_loop_t loop;
	struct pf_component *c;
	struct fake f;
	struct pf_queue_config cfg;
	struct pf_retry_config retry;
	char dir[128];
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(uv_loop_init(&e->loop), 0);
	e->c = pf_component_new(NULL, &test_def, TEST_ID, NULL, PF_LOG_ERROR);
	assert_non_null(e->c);
	e->f.loop = &e->loop;
	e->f.dflt = PF_SEND_OK;
	e->f.in_order = true;
	e->cfg = (struct pf_queue_config){.enabled = true,
					  .queue_size = 1000,
					  .num_consumers = 10,
					  .sizer = PF_QUEUE_SIZER_REQUESTS,
					  .storage = PF_QUEUE_STORAGE_NONE,
					  .max_size = 0};
	e->retry = (struct pf_retry_config){.enabled = true,
					    .initial_interval = 5 * MS,
					    .max_interval = 30 * MS,
					    .max_elapsed_time = 3000 * MS,
					    .multiplier = 1.5,
					    .randomization_factor = 0.5};
}

static void env_use_dir(struct env *e, const char *base)
{
	snprintf(e->dir, sizeof(e->dir), "%s/pfq.XXXXXX", base);
	assert_non_null(mkdtemp(e->dir));
	e->cfg.storage = PF_QUEUE_STORAGE_FILE;
	e->cfg.directory = e->dir;
}

static struct pf_queue *env_queue(struct env *e)
{
	struct pf_queue_ops ops = {.send = fake_send, .arg = &e->f};
	struct pf_queue *q = pf_queue_create(e->c, &e->cfg, &e->retry, &ops);
	assert_non_null(q);
	assert_int_equal(pf_queue_start(q, &e->loop), 0);
	e->f.q = q;
	return q;
}

static bool idle_pred(struct pf_queue *q)
{
	struct pf_queue_stats st;
	pf_queue_stats(q, &st);
	return st.queued == 0 && st.in_flight == 0;
}

struct until {
	bool (*pred)(struct pf_queue *);
	struct pf_queue *q;
	bool expired;
};

/* Checked before the loop would block: stops it once the condition holds. */
static void on_prepare(uv_prepare_t *p)
{
	struct until *u = p->data;
	if (u->pred(u->q))
		uv_stop(p->loop);
}

static void on_guard(uv_timer_t *t)
{
	struct until *u = t->data;
	u->expired = true;
	uv_stop(t->loop);
}

/* Runs the loop until pred(q) holds or `ms` pass. Returns pred(q). */
static bool run_until(struct env *e, bool (*pred)(struct pf_queue *), struct pf_queue *q, int ms)
{
	struct until u = {.pred = pred, .q = q};
	uv_timer_t guard;
	uv_prepare_t prep;
	uv_timer_init(&e->loop, &guard);
	uv_prepare_init(&e->loop, &prep);
	guard.data = prep.data = &u;
	uv_timer_start(&guard, on_guard, (uint64_t)ms, 0);
	uv_prepare_start(&prep, on_prepare);
	while (!pred(q) && !u.expired)
		uv_run(&e->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_close((uv_handle_t *)&prep, NULL);
	uv_run(&e->loop, UV_RUN_NOWAIT);
	return pred(q);
}

/* Shuts the queue down with `deadline_ms` from now, runs until closed,
 * destroys it. */
static void env_stop_queue(struct env *e, struct pf_queue *q, uint64_t deadline_ms)
{
	e->f.closed = false;
	pf_queue_shutdown(q, uv_now(&e->loop) + deadline_ms, fake_closed, &e->f);
	for (int i = 0; i < 100000 && !e->f.closed; i++)
		uv_run(&e->loop, UV_RUN_ONCE);
	assert_true(e->f.closed);
	pf_queue_destroy(q);
	e->f.q = NULL;
}

static int rm_entry(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlink(path);
}

static size_t count_files(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void remove_tree(const char *dir)
{
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/%s", dir, SUBDIR);
	DIR *d = opendir(sub);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				rm_entry(sub, de->d_name);
		closedir(d);
		rmdir(sub);
	}
	rmdir(dir);
}

static void env_free(struct env *e)
{
	uv_run(&e->loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_loop_close(&e->loop), 0);
	pf_component_free(e->c);
	if (e->dir[0])
		remove_tree(e->dir);
	free(e->f.seen);
}

static uint64_t drops(const struct pf_component *c, const char *reason)
{
	for (size_t i = 0; i <= PF_DROP_REASONS; i++)
		if (strcmp(c->drops[i].reason, reason) == 0)
			return c->drops[i].n;
	return 0;
}

static int put(struct pf_queue *q, int id, uint64_t items)
{
	char *p = calloc(1, 32);
	assert_non_null(p);
	int n = snprintf(p, 32, "req-%d", id);
	int rc = pf_queue_enqueue(q, p, (size_t)n, items);
	if (rc != PF_OK)
		free(p);
	return rc;
}

/* A request of `size` bytes (a typical encoded batch is 30-300 KB). */
static int put_big(struct pf_queue *q, int id, size_t size)
{
	char *p = calloc(1, size);
	assert_non_null(p);
	snprintf(p, 32, "req-%d", id);
	for (size_t i = 32; i < size; i++)
		p[i] = (char)(i * 31 + (size_t)id);
	int rc = pf_queue_enqueue(q, p, size, 1);
	if (rc != PF_OK)
		free(p);
	return rc;
}

static void sub_dir(const struct env *e, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", e->dir, SUBDIR);
}

/* ---- the queue on a loop ---- */

static void test_retry_then_success(void **state)
{
	struct env e;
	env_init(&e);
	e.f.script[0] = PF_SEND_RETRY;
	e.f.script[1] = PF_SEND_RETRY;
	e.f.n_script = 2;
	struct pf_queue *q = env_queue(&e);

	assert_int_equal(put(q, 1, 7), PF_OK);
	assert_int_equal(e.f.sends, 0); /* never sent from inside enqueue */
	assert_true(run_until(&e, idle_pred, q, 2000));
	assert_int_equal(e.f.sends, 3);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), 7);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SEND_FAILED), 0);
	/* backoff between attempts: >= 2.5 ms, then >= 3.75 ms */
	assert_true(e.f.send_ms[1] - e.f.send_ms[0] >= 2);
	assert_true(e.f.send_ms[2] - e.f.send_ms[1] >= 3);
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

static void test_permanent_failure_counted(void **state)
{
	struct env e;
	env_init(&e);
	e.f.dflt = PF_SEND_PERMANENT;
	struct pf_queue *q = env_queue(&e);

	assert_int_equal(put(q, 1, 11), PF_OK);
	assert_int_equal(put(q, 2, 4), PF_OK);
	assert_true(run_until(&e, idle_pred, q, 2000));
	assert_int_equal(e.f.sends, 2); /* never retried */
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SEND_FAILED), 15);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), 0);
	assert_int_equal(drops(e.c, "permanent"), 15);

	/* partial success: sent minus rejected, never retried */
	e.f.dflt = PF_SEND_OK;
	e.f.rejected = 3;
	assert_int_equal(put(q, 3, 10), PF_OK);
	assert_true(run_until(&e, idle_pred, q, 2000));
	assert_int_equal(e.f.sends, 3);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), 7);
	assert_int_equal(drops(e.c, "rejected"), 3);
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

static void test_server_delay_honoured(void **state)
{
	struct env e;
	env_init(&e);
	e.retry.initial_interval = 1 * MS;
	e.f.script[0] = PF_SEND_RETRY;
	e.f.after[0] = 150 * MS;
	e.f.n_script = 1;
	struct pf_queue *q = env_queue(&e);

	assert_int_equal(put(q, 1, 1), PF_OK);
	assert_true(run_until(&e, idle_pred, q, 3000));
	assert_int_equal(e.f.sends, 2);
	assert_true(e.f.send_ms[1] - e.f.send_ms[0] >= 150);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), 1);
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

static void test_max_elapsed_gives_up(void **state)
{
	struct env e;
	env_init(&e);
	e.retry.initial_interval = 10 * MS;
	e.retry.multiplier = 1;
	e.retry.randomization_factor = 0;
	e.retry.max_elapsed_time = 55 * MS;
	e.f.dflt = PF_SEND_RETRY;
	struct pf_queue *q = env_queue(&e);

	assert_int_equal(put(q, 1, 5), PF_OK);
	assert_true(run_until(&e, idle_pred, q, 3000));
	/* tries at 0, 10, 20, 30, 40, 50 (fewer when timers run late); a
	 * retry at 60 would pass 55 ms */
	assert_true(e.f.sends >= 2 && e.f.sends <= 6);
	assert_int_equal(drops(e.c, "retries_exhausted"), 5);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SEND_FAILED), 5);

	/* retry disabled: one try */
	env_stop_queue(&e, q, 1000);
	e.retry.enabled = false;
	e.f.sends = 0;
	q = env_queue(&e);
	assert_int_equal(put(q, 2, 2), PF_OK);
	assert_true(run_until(&e, idle_pred, q, 3000));
	assert_int_equal(e.f.sends, 1);
	assert_int_equal(drops(e.c, "send_failed"), 2);
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

static bool one_in_flight(struct pf_queue *q)
{
	struct pf_queue_stats st;
	pf_queue_stats(q, &st);
	return st.in_flight == 1 && st.writing == 0;
}

static void test_full_queue_busy(void **state)
{
	struct env e;
	env_init(&e);
	e.cfg.queue_size = 2;
	e.cfg.num_consumers = 1;
	e.f.hold = true;
	struct pf_queue *q = env_queue(&e);

	assert_int_equal(put(q, 1, 3), PF_OK);
	assert_true(run_until(&e, one_in_flight, q, 1000));
	assert_int_equal(put(q, 2, 3), PF_OK);
	assert_int_equal(put(q, 3, 3), PF_OK);
	assert_false(pf_queue_has_room(q, 6, 3));
	assert_int_equal(put(q, 4, 5), PF_BUSY);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_ENQUEUE_FAILED), 5);
	assert_int_equal(e.c->gauges[PF_GAUGE_QUEUE_SIZE], 2);
	assert_int_equal(e.c->gauges[PF_GAUGE_QUEUE_CAPACITY], 2);
	/* a slot frees: room again, FIFO order */
	e.f.seen = calloc(MAX_IDS, sizeof(int));
	fake_release(&e.f, PF_SEND_OK);
	assert_true(run_until(&e, one_in_flight, q, 1000));
	assert_int_equal(e.f.seen[2], 1);
	assert_int_equal(put(q, 4, 5), PF_OK);
	e.f.hold = false;
	fake_release(&e.f, PF_SEND_OK);
	assert_true(run_until(&e, idle_pred, q, 1000));
	assert_true(e.f.in_order);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), 14);
	env_stop_queue(&e, q, 1000);

	/* block_on_overflow: busy without counting */
	e.cfg.block_on_overflow = true;
	e.f.hold = true;
	q = env_queue(&e);
	assert_int_equal(put(q, 5, 1), PF_OK);
	assert_true(run_until(&e, one_in_flight, q, 1000));
	assert_int_equal(put(q, 6, 1), PF_OK);
	assert_int_equal(put(q, 7, 1), PF_OK);
	assert_int_equal(put(q, 8, 1), PF_BUSY);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_ENQUEUE_FAILED), 5);
	e.f.hold = false;
	fake_release(&e.f, PF_SEND_OK);
	assert_true(run_until(&e, idle_pred, q, 1000));
	/* after shutdown: refused */
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

static void test_sizers(void **state)
{
	struct env e;
	env_init(&e);
	e.cfg.num_consumers = 1;
	e.cfg.sizer = PF_QUEUE_SIZER_ITEMS;
	e.cfg.queue_size = 100;
	e.f.hold = true;
	struct pf_queue *q = env_queue(&e);

	assert_int_equal(put(q, 1, 1), PF_OK);
	assert_true(run_until(&e, one_in_flight, q, 1000));
	assert_int_equal(put(q, 2, 60), PF_OK);
	assert_int_equal(put(q, 3, 41), PF_BUSY);
	assert_int_equal(put(q, 3, 40), PF_OK);
	assert_int_equal(e.c->gauges[PF_GAUGE_QUEUE_SIZE], 100);
	assert_int_equal(put(q, 4, 101), -EMSGSIZE); /* can never fit */
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_ENQUEUE_FAILED), 41 + 101);
	e.f.hold = false;
	fake_release(&e.f, PF_SEND_OK);
	assert_true(run_until(&e, idle_pred, q, 1000));
	env_stop_queue(&e, q, 1000);

	/* bytes: "req-N" is 5 bytes */
	e.cfg.sizer = PF_QUEUE_SIZER_BYTES;
	e.cfg.queue_size = 12;
	e.f.hold = true;
	q = env_queue(&e);
	assert_int_equal(put(q, 1, 1), PF_OK);
	assert_true(run_until(&e, one_in_flight, q, 1000));
	assert_int_equal(put(q, 2, 1000), PF_OK);
	assert_int_equal(put(q, 3, 1000), PF_OK);
	assert_int_equal(put(q, 4, 1), PF_BUSY);
	assert_int_equal(put(q, 123456789, 1), -EMSGSIZE);
	e.f.hold = false;
	fake_release(&e.f, PF_SEND_OK);
	assert_true(run_until(&e, idle_pred, q, 1000));
	env_stop_queue(&e, q, 1000);

	/* requests, and a disabled queue: one at a time */
	e.cfg.sizer = PF_QUEUE_SIZER_REQUESTS;
	e.cfg.enabled = false;
	e.f.hold = true;
	q = env_queue(&e);
	assert_int_equal(put(q, 1, 1), PF_OK);
	assert_int_equal(put(q, 2, 1), PF_BUSY);
	assert_true(run_until(&e, one_in_flight, q, 1000));
	assert_int_equal(put(q, 2, 1), PF_BUSY);
	e.f.hold = false;
	fake_release(&e.f, PF_SEND_OK);
	assert_int_equal(put(q, 2, 1), PF_OK);
	assert_true(run_until(&e, idle_pred, q, 1000));
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

static bool all_durable(struct pf_queue *q)
{
	struct pf_queue_stats st;
	pf_queue_stats(q, &st);
	return st.writing == 0;
}

static bool two_in_flight_durable(struct pf_queue *q)
{
	struct pf_queue_stats st;
	pf_queue_stats(q, &st);
	return st.in_flight == 2 && st.writing == 0;
}

/* Re-opens the queue in e->dir and checks ids [from, to) are all sent
 * again (at least once), then that no file is left. */
static void expect_redelivery(struct env *e, int from, int to, const int *skip)
{
	char sub[256];
	e->f.hold = false;
	e->f.dflt = PF_SEND_OK;
	e->f.seen = calloc(MAX_IDS, sizeof(int));
	struct pf_queue *q = env_queue(e);
	assert_true(run_until(e, idle_pred, q, 20000));
	for (int id = from; id < to; id++)
		if ((!skip || !skip[id]) && e->f.seen[id] < 1)
			fprintf(stderr, "missing %d (range %d..%d)\n", id, from, to);
	for (int id = from; id < to; id++)
		if (!skip || !skip[id])
			assert_true(e->f.seen[id] >= 1);
	env_stop_queue(e, q, 1000);
	sub_dir(e, sub, sizeof(sub));
	assert_int_equal(count_files(sub), 0);
	free(e->f.seen);
	e->f.seen = NULL;
}

static void test_file_storage_survives_crash(void **state)
{
	struct env e;
	env_init(&e);
	env_use_dir(&e, "/tmp");
	e.cfg.num_consumers = 2;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the "crashing" exporter: two in flight, three queued, one
		 * acknowledged; then gone without shutdown */
		e.f.hold = true;
		struct pf_queue *q = env_queue(&e);
		for (int id = 1; id <= 6; id++)
			if (put(q, id, (uint64_t)id) != PF_OK)
				_exit(2);
		if (!run_until(&e, two_in_flight_durable, q, 5000))
			_exit(3);
		struct pf_queue_item *first = e.f.held[0];
		e.f.held[0] = e.f.held[--e.f.n_held];
		pf_queue_done(first, &(struct pf_send_result){.status = PF_SEND_OK});
		if (!run_until(&e, two_in_flight_durable, q, 5000))
			_exit(4);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	char sub[256];
	sub_dir(&e, sub, sizeof(sub));
	assert_true(count_files(sub) >= 5);
	/* a temp file of a write cut short is cleaned up */
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s/.q-00000000000000aa-1.req.abcdef.tmp", sub);
	FILE *fp = fopen(tmp, "w");
	assert_non_null(fp);
	fclose(fp);
	struct timespec pause_ns = {0, 2000000};
	nanosleep(&pause_ns, NULL);
	expect_redelivery(&e, 2, 7, NULL);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_true(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT) >= 2 + 3 + 4 + 5 + 6);
	env_free(&e);
}

static void test_kill9_redelivers(void **state)
{
	struct env e;
	int fds[2];
	env_init(&e);
	env_use_dir(&e, "/tmp");
	e.cfg.num_consumers = 3;
	e.cfg.queue_size = 20000;
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* enqueue forever; report each id once it is durable ("d id")
		 * and each acknowledgement ("a id"); three stay in flight */
		close(fds[0]);
		e.f.hold = true;
		struct pf_queue *q = env_queue(&e);
		for (int id = 1; id < MAX_IDS; id++) {
			if (put(q, id, 1) != PF_OK)
				_exit(2);
			run_until(&e, all_durable, q, 5000);
			char line[32];
			int n = snprintf(line, sizeof(line), "d %d\n", id);
			if (write(fds[1], line, (size_t)n) != n)
				_exit(3);
			if (id % 4 == 0 && e.f.n_held == 3) {
				struct pf_queue_item *it = e.f.held[0];
				char buf[16];
				memmove(e.f.held, e.f.held + 1, 2 * sizeof(*e.f.held));
				e.f.n_held--;
				/* reported before it happens: a kill in between
				 * may or may not re-send it, both are right */
				n = snprintf(buf, sizeof(buf), "a\n");
				if (write(fds[1], buf, (size_t)n) != n)
					_exit(3);
				pf_queue_done(it, &(struct pf_send_result){.status = PF_SEND_OK});
			}
		}
		pause();
		_exit(0);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	assert_non_null(in);
	char line[64];
	int durable = 0, acked = 0;
	while (durable < 200 && fgets(line, sizeof(line), in)) {
		if (line[0] == 'd')
			durable = atoi(line + 2);
		else
			acked++;
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	while (fgets(line, sizeof(line), in)) {
		if (line[0] == 'd')
			durable = atoi(line + 2);
		else
			acked++;
	}
	fclose(in);
	assert_true(durable >= 200);
	/* the acknowledged ones were the oldest in flight: FIFO dispatch
	 * makes them ids 1..acked; everything after must come back */
	int *skip = calloc(MAX_IDS, sizeof(int));
	assert_non_null(skip);
	for (int id = 1; id <= acked; id++)
		skip[id] = 1;
	expect_redelivery(&e, 1, durable + 1, skip);
	free(skip);
	assert_true(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT) >= (uint64_t)(durable - acked));
	env_free(&e);
}

/* What broke: with storage file, PF_OK came before the request's file was
 * written (on the thread pool), so a kill -9 right after an OK (which a
 * gateway turns into a 200 to its agent) lost an acknowledged request. The
 * child reports each PF_OK at once and is killed as soon as the parent has
 * read enough of them: every request reported must come back. */
static void test_kill9_right_after_enqueue_ok(void **state)
{
	struct env e;
	int fds[2];
	const int want = 300;
	env_init(&e);
	env_use_dir(&e, "/tmp");
	e.cfg.num_consumers = 3;
	e.cfg.queue_size = 20000;
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the backend never answers: everything stays queued */
		close(fds[0]);
		e.f.hold = true;
		struct pf_queue *q = env_queue(&e);
		for (int id = 1; id < MAX_IDS; id++) {
			if (put_big(q, id, 32 * 1024) != PF_OK)
				_exit(2);
			char line[32];
			int n = snprintf(line, sizeof(line), "%d\n", id);
			if (write(fds[1], line, (size_t)n) != n)
				_exit(3);
			if (id % 16 == 0) /* let sends and flushes run now and then */
				uv_run(&e.loop, UV_RUN_NOWAIT);
		}
		pause();
		_exit(0);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	assert_non_null(in);
	char line[64];
	int acked = 0;
	while (acked < want && fgets(line, sizeof(line), in))
		acked = atoi(line);
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	while (fgets(line, sizeof(line), in))
		acked = atoi(line);
	fclose(in);
	assert_true(acked >= want);
	expect_redelivery(&e, 1, acked + 1, NULL);
	env_free(&e);
}

/* max_size reached: stored requests were acknowledged to someone, so a new
 * one is refused, and none is evicted (it used to evict the oldest). */
static void test_max_size_refuses_never_evicts(void **state)
{
	struct env e;
	env_init(&e);
	env_use_dir(&e, "/tmp");
	e.cfg.num_consumers = 1;
	e.cfg.max_size = 20; /* four "req-N" payloads */
	e.f.hold = true;
	struct pf_queue *q = env_queue(&e);
	struct pf_queue_stats st;

	assert_int_equal(put(q, 1, 10), PF_OK);
	assert_true(run_until(&e, one_in_flight, q, 2000));
	for (int id = 2; id <= 4; id++)
		assert_int_equal(put(q, id, (uint64_t)id * 10), PF_OK);
	/* the one in flight holds its space too */
	assert_int_equal(put(q, 5, 50), PF_BUSY);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_ENQUEUE_FAILED), 50);
	assert_true(run_until(&e, all_durable, q, 2000));
	pf_queue_stats(q, &st);
	assert_int_equal(st.disk_bytes, 20);
	assert_int_equal(drops(e.c, "evicted"), 0);
	e.f.seen = calloc(MAX_IDS, sizeof(int));
	e.f.hold = false;
	fake_release(&e.f, PF_SEND_OK);
	assert_true(run_until(&e, idle_pred, q, 2000));
	assert_int_equal(e.f.seen[2] + e.f.seen[3] + e.f.seen[4], 3);
	assert_int_equal(put(q, 5, 50), PF_OK); /* room again */
	assert_true(run_until(&e, idle_pred, q, 2000));
	assert_int_equal(e.f.seen[5], 1);
	env_stop_queue(&e, q, 1000);

	/* a request bigger than max_size alone */
	e.cfg.max_size = 4;
	q = env_queue(&e);
	assert_int_equal(put(q, 8, 1), -EMSGSIZE);
	/* one queue per directory: a second user is refused */
	struct pf_queue_ops ops = {.send = fake_send, .arg = &e.f};
	assert_null(pf_queue_create(e.c, &e.cfg, &e.retry, &ops));
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

/* Runs fn(q, arg) with writes limited to `limit` bytes per file (a full
 * disk, as the queue sees it: the write fails) and returns its result. */
static int with_file_limit(rlim_t limit, int (*fn)(struct pf_queue *, void *), struct pf_queue *q,
			   void *arg)
{
	struct rlimit old, small;
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	int rc = fn(q, arg);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	return rc;
}

static int put_4k(struct pf_queue *q, void *arg)
{
	return put_big(q, *(int *)arg, 4096);
}

/* A request that cannot be written to disk is refused. It used to be
 * queued in memory only while the caller was told it was stored: a kill -9
 * then lost it after its client had been answered OK. */
static void test_disk_full_refused_not_memory_only(void **state)
{
	struct env e;
	env_init(&e);
	env_use_dir(&e, "/tmp");
	struct pf_queue *q = env_queue(&e);
	struct pf_queue_stats st;
	char sub[256];
	int id = 1;

	sub_dir(&e, sub, sizeof(sub));
	int rc = with_file_limit(1024, put_4k, q, &id);
	assert_true(rc < 0);
	pf_queue_stats(q, &st);
	assert_int_equal(st.queued + st.in_flight, 0);
	assert_int_equal(st.disk_bytes, 0);
	assert_int_equal(count_files(sub), 0);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_ENQUEUE_FAILED), 1);
	/* once the disk has room, requests are stored again */
	assert_int_equal(put_big(q, 2, 4096), PF_OK);
	assert_true(run_until(&e, idle_pred, q, 2000));
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), 1);
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

static int put_pair(struct pf_queue *q, void *arg)
{
	struct pf_queue_request *reqs = arg;

	return pf_queue_enqueue_all(q, reqs, 2, NULL);
}

/* The requests of one batch are queued all or none: on a full disk the
 * first one's file is removed again, and without room none is taken. */
static void test_enqueue_all_is_all_or_nothing(void **state)
{
	struct env e;
	env_init(&e);
	env_use_dir(&e, "/tmp");
	e.cfg.queue_size = 2;
	struct pf_queue *q = env_queue(&e);
	struct pf_queue_stats st;
	struct pf_queue_request reqs[3];
	char sub[256];

	sub_dir(&e, sub, sizeof(sub));
	reqs[0] = (struct pf_queue_request){strdup("req-1"), 5, 1};
	reqs[1] = (struct pf_queue_request){calloc(1, 4096), 4096, 1};
	assert_non_null(reqs[0].data);
	assert_non_null(reqs[1].data);
	snprintf(reqs[1].data, 32, "req-2");
	assert_true(with_file_limit(1024, put_pair, q, reqs) < 0);
	assert_int_equal(count_files(sub), 0);
	pf_queue_stats(q, &st);
	assert_int_equal(st.queued + st.in_flight, 0);
	assert_int_equal(st.disk_bytes, 0);
	/* three requests where two fit: none */
	reqs[2] = (struct pf_queue_request){strdup("req-3"), 5, 1};
	assert_non_null(reqs[2].data);
	assert_int_equal(pf_queue_enqueue_all(q, reqs, 3, NULL), PF_BUSY);
	assert_int_equal(count_files(sub), 0);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_ENQUEUE_FAILED), 2 + 3);
	free(reqs[2].data);
	assert_int_equal(pf_queue_enqueue_all(q, reqs, 2, NULL), PF_OK);
	assert_int_equal(count_files(sub), 2);
	assert_true(run_until(&e, idle_pred, q, 2000));
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), 2);
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

/* With the queue disabled, one batch goes at a time, however many
 * requests it was split into. */
static void test_disabled_queue_takes_a_split_batch(void **state)
{
	struct env e;
	env_init(&e);
	e.cfg.enabled = false;
	e.f.hold = true;
	struct pf_queue *q = env_queue(&e);
	struct pf_queue_request reqs[2];

	reqs[0] = (struct pf_queue_request){strdup("req-1"), 5, 1};
	reqs[1] = (struct pf_queue_request){strdup("req-2"), 5, 1};
	assert_non_null(reqs[0].data);
	assert_non_null(reqs[1].data);
	assert_int_equal(pf_queue_enqueue_all(q, reqs, 2, NULL), PF_OK);
	assert_int_equal(put(q, 3, 1), PF_BUSY); /* the next batch waits */
	e.f.hold = false;
	fake_release(&e.f, PF_SEND_OK);
	assert_true(run_until(&e, idle_pred, q, 2000));
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), 2);
	assert_int_equal(put(q, 3, 1), PF_OK);
	assert_true(run_until(&e, idle_pred, q, 2000));
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

/* Room is checked and taken in one step: two requests being encoded never
 * pass one check (the second used to, and was dropped when its encoding
 * ended); a request given room is taken even beyond its estimate. */
static void test_reserve_checks_and_takes_in_one_step(void **state)
{
	struct env e;
	env_init(&e);
	e.cfg.queue_size = 1;
	e.f.hold = true;
	struct pf_queue *q = env_queue(&e);
	struct pf_queue_room a, b;
	struct pf_queue_request reqs[2];
	struct pf_queue_stats st;

	assert_int_equal(pf_queue_reserve(q, 100, 3, &a), PF_OK);
	assert_false(pf_queue_has_room(q, 100, 3));
	assert_int_equal(pf_queue_reserve(q, 100, 4, &b), PF_BUSY);
	assert_false(b.held);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_ENQUEUE_FAILED), 4);
	assert_int_equal(put(q, 9, 1), PF_BUSY); /* nor does an unreserved request */
	reqs[0] = (struct pf_queue_request){strdup("req-1"), 5, 2};
	reqs[1] = (struct pf_queue_request){strdup("req-2"), 5, 2};
	assert_non_null(reqs[0].data);
	assert_non_null(reqs[1].data);
	assert_int_equal(pf_queue_enqueue_all(q, reqs, 2, &a), PF_OK);
	assert_false(a.held);
	pf_queue_stats(q, &st);
	assert_int_equal(st.reserved, 0);
	assert_int_equal(st.queued + st.in_flight, 2);
	/* a room given back makes room again */
	e.f.hold = false;
	fake_release(&e.f, PF_SEND_OK);
	assert_true(run_until(&e, idle_pred, q, 2000));
	assert_int_equal(pf_queue_reserve(q, 100, 3, &a), PF_OK);
	pf_queue_release(q, &a);
	pf_queue_release(q, &a); /* twice: nothing */
	assert_true(pf_queue_has_room(q, 100, 3));
	env_stop_queue(&e, q, 1000);
	env_free(&e);
}

static void test_startup_scan_10000_low_nofile(void **state)
{
	struct env e;
	char sub[256];
	struct rlimit old, low;
	const int n = 10000;

	env_init(&e);
	env_use_dir(&e, "/dev/shm");
	e.cfg.num_consumers = 1; /* so the order is observable: oldest first */
	sub_dir(&e, sub, sizeof(sub));
	assert_int_equal(mkdir(sub, 0755), 0);
	for (int id = 1; id <= n; id++) {
		char p[32];
		int len = snprintf(p, sizeof(p), "req-%d", id);
		assert_int_equal(pf_queue_file_write(sub, (uint64_t)id, 1, p, (size_t)len), 0);
	}
	/* a corrupt one: counted, removed, the rest still sent */
	FILE *bad = NULL;
	char path[300];
	snprintf(path, sizeof(path), "%s/q-%016x-1.req", sub, (unsigned)n + 1);
	bad = fopen(path, "w");
	assert_non_null(bad);
	fputs("not a request", bad);
	fclose(bad);

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 40;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	e.f.seen = calloc(MAX_IDS, sizeof(int));
	struct pf_queue *q = env_queue(&e);
	struct pf_queue_stats st;
	pf_queue_stats(q, &st);
	assert_int_equal(st.queued, n + 1);
	assert_true(run_until(&e, idle_pred, q, 60000));
	env_stop_queue(&e, q, 1000);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (int id = 1; id <= n; id++)
		assert_int_equal(e.f.seen[id], 1);
	assert_true(e.f.in_order);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), n);
	assert_int_equal(drops(e.c, "corrupt"), 1);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_INPUT_ERRORS), 1);
	assert_int_equal(count_files(sub), 0);
	env_free(&e);
}

static void test_shutdown_drains_then_persists(void **state)
{
	struct env e;
	char sub[256];
	env_init(&e);
	env_use_dir(&e, "/tmp");
	sub_dir(&e, sub, sizeof(sub));

	/* drains: everything sent before closed */
	struct pf_queue *q = env_queue(&e);
	for (int id = 1; id <= 5; id++)
		assert_int_equal(put(q, id, 1), PF_OK);
	env_stop_queue(&e, q, 5000);
	assert_int_equal(pf_component_counter(e.c, PF_CTR_EXPORTER_SENT), 5);
	assert_int_equal(count_files(sub), 0);

	/* the backend hangs: at the deadline sends are cancelled, and all
	 * stays on disk */
	e.cfg.num_consumers = 2;
	e.f.hold = true;
	q = env_queue(&e);
	for (int id = 6; id <= 9; id++)
		assert_int_equal(put(q, id, 1), PF_OK);
	assert_int_equal(pf_queue_enqueue(q, NULL, 0, 0), PF_OK);
	assert_true(run_until(&e, two_in_flight_durable, q, 2000));
	e.f.cancelled = false;
	env_stop_queue(&e, q, 50);
	assert_true(e.f.cancelled);
	assert_int_equal(count_files(sub), 5);
	assert_int_equal(put(q = env_queue(&e), 100, 1), PF_OK);
	env_stop_queue(&e, q, 0); /* before the flush ends: kept too */
	assert_int_equal(count_files(sub), 6);
	/* ids 6..9 and 100 come back (and the empty request) */
	e.f.hold = false;
	e.f.seen = calloc(MAX_IDS, sizeof(int));
	e.f.in_order = true;
	q = env_queue(&e);
	assert_true(run_until(&e, idle_pred, q, 2000));
	for (int id = 6; id <= 9; id++)
		assert_int_equal(e.f.seen[id], 1);
	assert_int_equal(e.f.seen[100], 1);
	env_stop_queue(&e, q, 1000);
	assert_int_equal(count_files(sub), 0);

	/* memory: what is left at the deadline is counted dropped */
	e.cfg.storage = PF_QUEUE_STORAGE_NONE;
	e.f.hold = true;
	q = env_queue(&e);
	for (int id = 1; id <= 4; id++)
		assert_int_equal(put(q, id, 10), PF_OK);
	assert_true(run_until(&e, two_in_flight_durable, q, 2000));
	uint64_t before = drops(e.c, "shutdown");
	env_stop_queue(&e, q, 20);
	assert_int_equal(drops(e.c, "shutdown") - before, 40);
	e.f.hold = false;
	assert_int_equal(pf_queue_enqueue(q = env_queue(&e), NULL, 0, 0), PF_OK);
	pf_queue_shutdown(q, uv_now(&e.loop) + 1000, fake_closed, &e.f);
	assert_int_equal(put(q, 1, 1), -ESHUTDOWN);
	e.f.closed = false;
	while (!e.f.closed)
		uv_run(&e.loop, UV_RUN_ONCE);
	pf_queue_destroy(q);

	/* shutdown before start, and destroy of a never-started queue */
	struct pf_queue_ops ops = {.send = fake_send, .arg = &e.f};
	q = pf_queue_create(e.c, &e.cfg, &e.retry, &ops);
	assert_non_null(q);
	e.f.closed = false;
	pf_queue_shutdown(q, 0, fake_closed, &e.f);
	assert_true(e.f.closed);
	pf_queue_destroy(q);
	pf_queue_destroy(NULL);
	env_free(&e);
}

static void test_config_validate(void **state)
{
	struct pf_queue_config cfg = {.enabled = true, .storage = PF_QUEUE_STORAGE_FILE};
	struct pf_error err = {0};
	assert_int_equal(pf_queue_validate(&cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "directory"));
	cfg.directory = "/tmp";
	assert_int_equal(pf_queue_validate(&cfg, &err), 0);
	/* the option tables name what the Collector names */
	const char *qnames[] = {"enabled",	     "queue_size", "num_consumers", "sizer",
				"block_on_overflow", "storage",	   "directory",	    "max_size"};
	for (size_t i = 0; i < sizeof(qnames) / sizeof(*qnames); i++)
		assert_string_equal(pf_queue_options[i].name, qnames[i]);
	assert_string_equal(pf_queue_options[1].def, "1000");
	assert_string_equal(pf_queue_options[2].def, "10");
	assert_string_equal(pf_retry_options[1].def, "5s");
	assert_string_equal(pf_retry_options[2].def, "30s");
	assert_string_equal(pf_retry_options[3].def, "300s");
	assert_string_equal(pf_retry_options[4].def, "1.5");
	assert_string_equal(pf_retry_options[5].def, "0.5");
	assert_null(pf_retry_options[6].name);

	/* the defaults parse as config/ parses them, to the Collector's values */
	struct pf_queue_config qc = {0};
	struct pf_retry_config rc = {0};
	for (const struct pf_option *o = pf_queue_options; o->name; o++)
		if (o->def)
			assert_int_equal(pf_option_parse(o, o->def, &qc, &err), 0);
	for (const struct pf_option *o = pf_retry_options; o->name; o++)
		if (o->def)
			assert_int_equal(pf_option_parse(o, o->def, &rc, &err), 0);
	assert_true(qc.enabled);
	assert_int_equal(qc.queue_size, 1000);
	assert_int_equal(qc.num_consumers, 10);
	assert_int_equal(qc.sizer, PF_QUEUE_SIZER_REQUESTS);
	assert_false(qc.block_on_overflow);
	assert_int_equal(qc.storage, PF_QUEUE_STORAGE_NONE);
	assert_int_equal(qc.max_size, 1LL << 30);
	assert_true(rc.enabled);
	assert_int_equal(rc.initial_interval, 5000 * MS);
	assert_int_equal(rc.max_interval, 30000 * MS);
	assert_int_equal(rc.max_elapsed_time, 300000 * MS);
	assert_true(rc.multiplier == 1.5 && rc.randomization_factor == 0.5);
	assert_int_equal(pf_option_parse(&pf_queue_options[3], "bytes", &qc, &err), 0);
	assert_int_equal(qc.sizer, PF_QUEUE_SIZER_BYTES);
	assert_int_equal(pf_option_parse(&pf_queue_options[5], "file", &qc, &err), 0);
	assert_int_equal(qc.storage, PF_QUEUE_STORAGE_FILE);
	assert_int_equal(pf_option_parse(&pf_queue_options[3], "pages", &qc, &err), -EINVAL);
	assert_int_equal(pf_option_parse(&pf_retry_options[3], "0", &rc, &err), 0);
	assert_int_equal(rc.max_elapsed_time, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_then_success),
		cmocka_unit_test(test_permanent_failure_counted),
		cmocka_unit_test(test_server_delay_honoured),
		cmocka_unit_test(test_max_elapsed_gives_up),
		cmocka_unit_test(test_full_queue_busy),
		cmocka_unit_test(test_sizers),
		cmocka_unit_test(test_file_storage_survives_crash),
		cmocka_unit_test(test_kill9_redelivers),
		cmocka_unit_test(test_kill9_right_after_enqueue_ok),
		cmocka_unit_test(test_max_size_refuses_never_evicts),
		cmocka_unit_test(test_disk_full_refused_not_memory_only),
		cmocka_unit_test(test_enqueue_all_is_all_or_nothing),
		cmocka_unit_test(test_reserve_checks_and_takes_in_one_step),
		cmocka_unit_test(test_disabled_queue_takes_a_split_batch),
		cmocka_unit_test(test_startup_scan_10000_low_nofile),
		cmocka_unit_test(test_shutdown_drains_then_persists),
		cmocka_unit_test(test_config_validate),
	};
	if (getenv("PF_TEST_FILTER"))
		cmocka_set_test_filter(getenv("PF_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
