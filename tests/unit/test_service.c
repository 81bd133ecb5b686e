// SPDX-License-Identifier: Apache-2.0
/* The service graph: fan-out, copies for mutating processors, busy, order, deadline, telemetry, health. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/config.h"
#include "model/batch.h"
#include "core/component.h"
#include "pipeline/component_internal.h"
#include "transport/http_server.h"
#include "pipeline/service.h"
#include "pipeline/telemetry.h"

extern const struct pf_component_def pf_extension_health_check;

/* ---- what the test components record ---- */

#define MAX_EVENTS 64
#define MAX_KEPT   8

struct world {
	char events[MAX_EVENTS][48];
	size_t n_events;
	struct pf_service *svc;
	bool done;
	bool timed_out;
	int ticks_left; /* receivers on a timer shut the service down after these */
};

/* The config struct of every test component. */
struct tcfg {
	struct world *w;
	int answer;	      /* what consume returns (0, PF_BUSY, -EIO) */
	int start_result;     /* what start returns */
	int shutdown_ms;      /* delay before done */
	int interval_ms;      /* receivers: emit on a timer */
	int samples_per_emit; /* receivers on a timer */
};

struct tinst {
	struct pf_component *c;
	const struct tcfg *cfg;
	uv_timer_t timer;
	bool timer_open;
	bool stopping;
	pf_done_fn done;
	struct pf_batch *kept[MAX_KEPT];
	size_t n_kept;
	uint64_t samples;
};

static void record(struct world *w, const char *what, const struct pf_component *c)
{
	assert_true(w->n_events < MAX_EVENTS);
	snprintf(w->events[w->n_events++], sizeof(w->events[0]), "%s:%s", what, pf_component_id(c));
}

static struct pf_batch *make_batch(size_t samples)
{
	struct pf_batch *b = pf_batch_new();
	assert_non_null(b);
	struct pf_profile_desc d = {.period = 1};
	d.sample_type.type = pf_batch_cstring(b, "samples");
	d.sample_type.unit = pf_batch_cstring(b, "count");
	uint32_t p = pf_batch_add_profile(b, &d);
	assert_int_not_equal(p, PF_INDEX_ERROR);
	for (size_t i = 0; i < samples; i++) {
		struct pf_function f = {.name = pf_batch_cstring(b, "fn"),
					.start_line = (int64_t)i};
		struct pf_line line = {.function = pf_batch_function(b, &f)};
		struct pf_location loc = {0};
		uint32_t l = pf_batch_location(b, &loc, &line, 1);
		uint32_t st = pf_batch_stack(b, &l, 1);
		int64_t v = 1;
		assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, &v, 1, NULL, 0), 0);
	}
	return b;
}

static void *t_create(struct pf_component *c, const void *config)
{
	struct tinst *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->c = c;
	t->cfg = config;
	return t;
}

static void on_tick(uv_timer_t *timer)
{
	struct tinst *t = timer->data;
	struct world *w = t->cfg->w;
	struct pf_batch *b = make_batch((size_t)t->cfg->samples_per_emit);
	assert_int_equal(pf_component_emit(t->c, b), PF_OK);
	pf_batch_unref(b);
	if (--w->ticks_left == 0) {
		uv_timer_stop(timer);
		pf_service_shutdown(w->svc, NULL, NULL);
	}
}

static int t_start(void *inst)
{
	struct tinst *t = inst;
	record(t->cfg->w, "start", t->c);
	if (t->cfg->start_result)
		return t->cfg->start_result;
	uv_timer_init(pf_component_loop(t->c), &t->timer);
	t->timer.data = t;
	t->timer_open = true;
	if (t->cfg->interval_ms)
		uv_timer_start(&t->timer, on_tick, (uint64_t)t->cfg->interval_ms,
			       (uint64_t)t->cfg->interval_ms);
	return 0;
}

static void t_free(struct tinst *t)
{
	struct pf_component *c = t->c;
	pf_done_fn done = t->done;
	for (size_t i = 0; i < t->n_kept; i++)
		pf_batch_unref(t->kept[i]);
	free(t);
	done(c);
}

static void on_closed(uv_handle_t *h)
{
	t_free(h->data);
}

static void on_shutdown_delay(uv_timer_t *timer)
{
	uv_close((uv_handle_t *)timer, on_closed);
}

static void t_shutdown(void *inst, pf_done_fn done)
{
	struct tinst *t = inst;
	if (t->stopping)
		return;
	t->stopping = true;
	t->done = done;
	record(t->cfg->w, "shutdown", t->c);
	if (!t->timer_open) {
		t_free(t);
		return;
	}
	uv_timer_stop(&t->timer);
	if (t->cfg->shutdown_ms)
		uv_timer_start(&t->timer, on_shutdown_delay, (uint64_t)t->cfg->shutdown_ms, 0);
	else
		uv_close((uv_handle_t *)&t->timer, on_closed);
}

static int exp_consume(void *inst, struct pf_batch *b)
{
	struct tinst *t = inst;
	if (t->cfg->answer)
		return t->cfg->answer;
	assert_true(t->n_kept < MAX_KEPT);
	t->kept[t->n_kept++] = pf_batch_ref(b);
	t->samples += pf_batch_sample_count(b);
	pf_component_count(t->c, PF_CTR_EXPORTER_SENT, pf_batch_sample_count(b));
	return PF_OK;
}

/* Adds one sample to the batch it gets, then passes it on. */
static int mut_consume(void *inst, struct pf_batch *b)
{
	struct tinst *t = inst;
	int64_t v = 7;
	assert_false(pf_batch_is_shared(b));
	assert_int_equal(pf_batch_add_sample(b, 0, 0, 0, 0, &v, 1, NULL, 0), 0);
	assert_true(t->n_kept < MAX_KEPT);
	t->kept[t->n_kept++] = pf_batch_ref(b); /* to compare pointers */
	pf_component_drop(t->c, "test_reason", 2);
	return pf_component_emit(t->c, b);
}

static int pass_consume(void *inst, struct pf_batch *b)
{
	struct tinst *t = inst;
	return pf_component_emit(t->c, b);
}

static const struct pf_option no_options[] = {PF_OPTION_END};

#define TDEF(kind_, type_, consume_, mutates_)                                                     \
	{                                                                                          \
		.kind = kind_, .type = type_, .doc = "test", .stability = "development",           \
		.options = no_options, .config_size = sizeof(struct tcfg), .mutates = mutates_,    \
		.create = t_create, .start = t_start, .consume = consume_, .shutdown = t_shutdown, \
	}

static const struct pf_component_def trecv = TDEF(PF_RECEIVER, "trecv", NULL, false);
static const struct pf_component_def tmut = TDEF(PF_PROCESSOR, "tmut", mut_consume, true);
static const struct pf_component_def tpass = TDEF(PF_PROCESSOR, "tpass", pass_consume, false);
static const struct pf_component_def texp = TDEF(PF_EXPORTER, "texp", exp_consume, false);
static const struct pf_component_def text = TDEF(PF_EXTENSION, "text", NULL, false);

/* ---- a config built by hand ---- */

struct tb {
	struct pf_config cfg;
	struct pf_config_component comps[16];
	struct tcfg cfgs[16];
	struct pf_config_pipeline pipes[4];
	size_t lists[4][3][8];
	size_t ext[4];
	struct world w;
	uv_loop_t loop;
};

static void tb_init(struct tb *tb)
{
	memset(tb, 0, sizeof(*tb));
	tb->cfg.components = tb->comps;
	tb->cfg.pipelines = tb->pipes;
	tb->cfg.extensions = tb->ext;
	tb->cfg.log_level = PF_LOG_WARN;
	tb->cfg.metrics_address = (char *)"none";
	tb->cfg.shutdown_timeout_ns = 2000000000LL;
	assert_int_equal(uv_loop_init(&tb->loop), 0);
}

static size_t tb_comp(struct tb *tb, const struct pf_component_def *def, const char *id)
{
	size_t i = tb->cfg.n_components++;
	tb->comps[i].id = (char *)id;
	tb->comps[i].name = (char *)"";
	tb->comps[i].def = def;
	tb->cfgs[i].w = &tb->w;
	tb->comps[i].config = &tb->cfgs[i];
	if (def->kind == PF_EXTENSION)
		tb->ext[tb->cfg.n_extensions++] = i;
	return i;
}

/* Lists end with SIZE_MAX. */
static void tb_pipe(struct tb *tb, const char *id, const size_t *recv, const size_t *proc,
		    const size_t *exp)
{
	size_t p = tb->cfg.n_pipelines++;
	const size_t *in[3] = {recv, proc, exp};
	size_t n[3] = {0};
	for (int k = 0; k < 3; k++)
		for (const size_t *x = in[k]; x && *x != SIZE_MAX; x++)
			tb->lists[p][k][n[k]++] = *x;
	tb->pipes[p].id = (char *)id;
	tb->pipes[p].receivers = tb->lists[p][0];
	tb->pipes[p].n_receivers = n[0];
	tb->pipes[p].processors = tb->lists[p][1];
	tb->pipes[p].n_processors = n[1];
	tb->pipes[p].exporters = tb->lists[p][2];
	tb->pipes[p].n_exporters = n[2];
}

#define L(...) ((const size_t[]){__VA_ARGS__, SIZE_MAX})

static void on_service_done(struct pf_service *s, bool timed_out, void *arg)
{
	struct world *w = arg;
	w->done = true;
	w->timed_out = timed_out;
}

static struct pf_service *tb_start(struct tb *tb)
{
	struct pf_service *s = pf_service_create(&tb->loop, &tb->cfg, "testhost");
	assert_non_null(s);
	tb->w.svc = s;
	assert_int_equal(pf_service_start(s), 0);
	assert_true(pf_service_ready(s));
	return s;
}

/* Shuts down, runs the loop dry, and checks nothing is left open. */
static void tb_finish(struct tb *tb, struct pf_service *s)
{
	pf_service_shutdown(s, on_service_done, &tb->w);
	assert_false(pf_service_ready(s));
	uv_run(&tb->loop, UV_RUN_DEFAULT);
	assert_true(tb->w.done);
	pf_service_destroy(s);
	assert_int_equal(uv_loop_close(&tb->loop), 0);
}

static struct tinst *tinst(struct pf_service *s, enum pf_kind kind, const char *id)
{
	struct pf_component *c = pf_service_find(s, kind, id);
	assert_non_null(c);
	return c->inst;
}

static struct pf_component *comp(struct pf_service *s, enum pf_kind kind, const char *id)
{
	struct pf_component *c = pf_service_find(s, kind, id);
	assert_non_null(c);
	return c;
}

/* ---- tests ---- */

static void test_fanout_shares_one_batch(void **state)
{
	struct tb tb;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t e1 = tb_comp(&tb, &texp, "texp/a");
	size_t e2 = tb_comp(&tb, &texp, "texp/b");
	tb_pipe(&tb, "profiles/a", L(r), NULL, L(e1));
	tb_pipe(&tb, "profiles/b", L(r), NULL, L(e2));
	struct pf_service *s = tb_start(&tb);

	struct pf_batch *b = make_batch(3);
	assert_int_equal(pf_component_emit(comp(s, PF_RECEIVER, "trecv"), b), PF_OK);
	struct tinst *a = tinst(s, PF_EXPORTER, "texp/a"), *bb = tinst(s, PF_EXPORTER, "texp/b");
	assert_int_equal(a->n_kept, 1);
	assert_int_equal(bb->n_kept, 1);
	assert_ptr_equal(a->kept[0], b);
	assert_ptr_equal(bb->kept[0], b);
	assert_true(pf_batch_is_shared(b));
	pf_batch_unref(b);
	assert_int_equal(
		pf_component_counter(comp(s, PF_RECEIVER, "trecv"), PF_CTR_RECEIVER_ACCEPTED), 3);
	/* One instance per receiver/exporter id, however many pipelines. */
	assert_int_equal(pf_service_n_components(s), 3);
	tb_finish(&tb, s);
}

static void test_mutating_processor_gets_a_copy(void **state)
{
	struct tb tb;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t m = tb_comp(&tb, &tmut, "tmut");
	size_t e1 = tb_comp(&tb, &texp, "texp/a");
	size_t e2 = tb_comp(&tb, &texp, "texp/b");
	tb_pipe(&tb, "profiles/a", L(r), L(m), L(e1));
	tb_pipe(&tb, "profiles/b", L(r), NULL, L(e2));
	struct pf_service *s = tb_start(&tb);

	struct pf_batch *b = make_batch(4);
	assert_int_equal(pf_component_emit(comp(s, PF_RECEIVER, "trecv"), b), PF_OK);
	struct tinst *mi = tinst(s, PF_PROCESSOR, "tmut");
	struct tinst *a = tinst(s, PF_EXPORTER, "texp/a"), *bb = tinst(s, PF_EXPORTER, "texp/b");
	assert_ptr_not_equal(mi->kept[0], b);
	assert_ptr_equal(a->kept[0], mi->kept[0]);
	assert_ptr_equal(bb->kept[0], b);
	assert_int_equal(pf_batch_sample_count(b), 4);
	assert_int_equal(pf_batch_sample_count(a->kept[0]), 5);
	struct pf_component *mc = comp(s, PF_PROCESSOR, "tmut");
	assert_int_equal(pf_component_counter(mc, PF_CTR_PROCESSOR_INCOMING), 4);
	assert_int_equal(pf_component_counter(mc, PF_CTR_PROCESSOR_OUTGOING), 5);
	pf_batch_unref(b);
	tb_finish(&tb, s);
}

static void test_mutating_processor_alone_gets_the_original(void **state)
{
	struct tb tb;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t m = tb_comp(&tb, &tmut, "tmut");
	size_t e = tb_comp(&tb, &texp, "texp");
	tb_pipe(&tb, "profiles", L(r), L(m), L(e));
	struct pf_service *s = tb_start(&tb);

	struct pf_batch *b = make_batch(1);
	assert_int_equal(pf_component_emit(comp(s, PF_RECEIVER, "trecv"), b), PF_OK);
	assert_ptr_equal(tinst(s, PF_PROCESSOR, "tmut")->kept[0], b);
	pf_batch_unref(b);

	/* Once the caller shares it, the processor gets a copy instead. */
	b = make_batch(1);
	struct pf_batch *extra = pf_batch_ref(b);
	assert_int_equal(pf_component_emit(comp(s, PF_RECEIVER, "trecv"), b), PF_OK);
	assert_ptr_not_equal(tinst(s, PF_PROCESSOR, "tmut")->kept[1], b);
	assert_int_equal(pf_batch_sample_count(b), 1);
	pf_batch_unref(extra);
	pf_batch_unref(b);
	tb_finish(&tb, s);
}

static void test_busy_and_errors_propagate(void **state)
{
	struct tb tb;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t p = tb_comp(&tb, &tpass, "tpass");
	size_t ok = tb_comp(&tb, &texp, "texp/ok");
	size_t busy = tb_comp(&tb, &texp, "texp/busy");
	size_t r2 = tb_comp(&tb, &trecv, "trecv/2");
	size_t bad = tb_comp(&tb, &texp, "texp/bad");
	tb.cfgs[busy].answer = PF_BUSY;
	tb.cfgs[bad].answer = -EIO;
	tb_pipe(&tb, "profiles/a", L(r), L(p), L(ok, busy));
	tb_pipe(&tb, "profiles/b", L(r2), NULL, L(ok, bad));
	struct pf_service *s = tb_start(&tb);

	struct pf_batch *b = make_batch(2);
	struct pf_component *rc = comp(s, PF_RECEIVER, "trecv");
	assert_int_equal(pf_component_emit(rc, b), PF_BUSY);
	/* The consumer that took it keeps it. */
	assert_int_equal(tinst(s, PF_EXPORTER, "texp/ok")->n_kept, 1);
	assert_int_equal(pf_component_counter(rc, PF_CTR_RECEIVER_REFUSED), 2);
	assert_int_equal(pf_component_counter(rc, PF_CTR_RECEIVER_ACCEPTED), 0);
	struct pf_component *pc = comp(s, PF_PROCESSOR, "tpass");
	assert_int_equal(pf_component_counter(pc, PF_CTR_PROCESSOR_INCOMING), 0);
	assert_int_equal(pf_component_counter(pc, PF_CTR_PROCESSOR_OUTGOING), 0);

	struct pf_component *rc2 = comp(s, PF_RECEIVER, "trecv/2");
	assert_int_equal(pf_component_emit(rc2, b), -EIO);
	assert_int_equal(pf_component_counter(rc2, PF_CTR_RECEIVER_FAILED), 2);
	assert_int_equal(tinst(s, PF_EXPORTER, "texp/ok")->n_kept, 2);
	pf_batch_unref(b);
	tb_finish(&tb, s);
}

static const char *const expected_order[] = {
	"start:text",	    "start:texp/a",   "start:texp/b",	"start:tpass",
	"start:tpass",	    "start:trecv/1",  "start:trecv/2",	"shutdown:trecv/2",
	"shutdown:trecv/1", "shutdown:tpass", "shutdown:tpass", "shutdown:texp/b",
	"shutdown:texp/a",  "shutdown:text",
};

static void test_start_and_shutdown_order(void **state)
{
	struct tb tb;
	tb_init(&tb);
	/* Declared in an order unlike the start order. */
	size_t r1 = tb_comp(&tb, &trecv, "trecv/1");
	size_t p = tb_comp(&tb, &tpass, "tpass");
	size_t ea = tb_comp(&tb, &texp, "texp/a");
	size_t r2 = tb_comp(&tb, &trecv, "trecv/2");
	tb_comp(&tb, &text, "text");
	size_t eb = tb_comp(&tb, &texp, "texp/b");
	tb.cfgs[ea].shutdown_ms = 20; /* awaited before the extension stops */
	tb_pipe(&tb, "profiles/a", L(r1, r2), L(p), L(ea));
	tb_pipe(&tb, "profiles/b", L(r2), L(p), L(eb));
	struct pf_service *s = tb_start(&tb);
	tb_finish(&tb, s);

	assert_int_equal(tb.w.n_events, sizeof(expected_order) / sizeof(expected_order[0]));
	for (size_t i = 0; i < tb.w.n_events; i++)
		assert_string_equal(tb.w.events[i], expected_order[i]);
	assert_false(tb.w.timed_out);
}

/* A processor drains into the next one when it stops, so a pipeline's
 * processors stop first to last: they start last to first. */
static const char *const expected_chain_order[] = {
	"start:texp",	  "start:tpass/2",    "start:tpass/1",	  "start:trecv",
	"shutdown:trecv", "shutdown:tpass/1", "shutdown:tpass/2", "shutdown:texp",
};

static void test_processors_stop_upstream_first(void **state)
{
	struct tb tb;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t p1 = tb_comp(&tb, &tpass, "tpass/1");
	size_t p2 = tb_comp(&tb, &tpass, "tpass/2");
	size_t e = tb_comp(&tb, &texp, "texp");
	tb_pipe(&tb, "profiles", L(r), L(p1, p2), L(e));
	struct pf_service *s = tb_start(&tb);
	tb_finish(&tb, s);

	assert_int_equal(tb.w.n_events,
			 sizeof(expected_chain_order) / sizeof(expected_chain_order[0]));
	for (size_t i = 0; i < tb.w.n_events; i++)
		assert_string_equal(tb.w.events[i], expected_chain_order[i]);
}

static void test_failed_start_shuts_down_everything(void **state)
{
	struct tb tb;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t ea = tb_comp(&tb, &texp, "texp/a");
	size_t eb = tb_comp(&tb, &texp, "texp/b");
	tb.cfgs[eb].start_result = -EIO;
	tb_pipe(&tb, "profiles", L(r), NULL, L(ea, eb));
	struct pf_service *s = pf_service_create(&tb.loop, &tb.cfg, "h");
	assert_non_null(s);
	assert_int_equal(pf_service_start(s), -EIO);
	assert_false(pf_service_ready(s));
	tb_finish(&tb, s);
	/* texp/b failed to start; everything created is still shut down (and
	 * freed), including the receiver that never started. */
	const char *want[] = {"start:texp/a", "start:texp/b", "shutdown:trecv", "shutdown:texp/b",
			      "shutdown:texp/a"};
	assert_int_equal(tb.w.n_events, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(tb.w.events[i], want[i]);
}

static void test_shutdown_before_start_is_safe(void **state)
{
	struct tb tb;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t e = tb_comp(&tb, &texp, "texp");
	tb_pipe(&tb, "profiles", L(r), NULL, L(e));
	struct pf_service *s = pf_service_create(&tb.loop, &tb.cfg, "h");
	assert_non_null(s);
	tb_finish(&tb, s);
	assert_int_equal(tb.w.n_events, 0);

	/* Destroying one that never ran at all is fine too. */
	tb_init(&tb);
	r = tb_comp(&tb, &trecv, "trecv");
	e = tb_comp(&tb, &texp, "texp");
	tb_pipe(&tb, "profiles", L(r), NULL, L(e));
	pf_service_destroy(pf_service_create(&tb.loop, &tb.cfg, "h"));
	assert_int_equal(uv_loop_close(&tb.loop), 0);
}

static void on_late_done(struct pf_component *c)
{
	c->state = PF_STATE_STOPPED;
}

static void test_shutdown_deadline(void **state)
{
	struct tb tb;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t e = tb_comp(&tb, &texp, "texp");
	tb.cfgs[r].shutdown_ms = 400;
	tb.cfg.shutdown_timeout_ns = 50000000LL; /* 50 ms */
	tb_pipe(&tb, "profiles", L(r), NULL, L(e));
	struct pf_service *s = tb_start(&tb);
	uint64_t t0 = uv_now(&tb.loop);
	pf_service_shutdown(s, on_service_done, &tb.w);
	while (!tb.w.done)
		uv_run(&tb.loop, UV_RUN_ONCE);
	assert_true(tb.w.timed_out);
	assert_true(uv_now(&tb.loop) - t0 < 350);
	/* The late receiver still finishes and frees itself; the exporter was
	 * never asked to stop (its upstream had not), so the test stops it. */
	uv_run(&tb.loop, UV_RUN_DEFAULT);
	struct pf_component *ec = comp(s, PF_EXPORTER, "texp");
	assert_int_equal(ec->state, PF_STATE_STARTED);
	pf_component_shutdown_instance(ec, on_late_done);
	uv_run(&tb.loop, UV_RUN_DEFAULT);
	assert_int_equal(ec->state, PF_STATE_STOPPED);
	pf_service_destroy(s);
	assert_int_equal(uv_loop_close(&tb.loop), 0);
}

/* A receiver on a timer drives the whole loop: ticks, then asks for shutdown. */
static void test_timer_receiver_counts_and_telemetry(void **state)
{
	struct tb tb;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t m = tb_comp(&tb, &tmut, "tmut");
	size_t e = tb_comp(&tb, &texp, "texp");
	tb.cfgs[r].interval_ms = 1;
	tb.cfgs[r].samples_per_emit = 3;
	tb.w.ticks_left = 4;
	tb_pipe(&tb, "profiles", L(r), L(m), L(e));
	struct pf_service *s = tb_start(&tb);
	uv_run(&tb.loop, UV_RUN_DEFAULT);
	/* The receiver asked for shutdown; it ran to the end. */
	assert_int_equal(tb.w.n_events, 6);

	size_t len = 0;
	pf_component_count(comp(s, PF_EXPORTER, "texp"), PF_CTR_EXPORTER_SEND_FAILED, 1);
	pf_component_count(comp(s, PF_RECEIVER, "trecv"), PF_CTR_INPUT_ERRORS, 9);
	pf_component_gauge(comp(s, PF_EXPORTER, "texp"), PF_GAUGE_QUEUE_SIZE, 3);
	pf_component_gauge(comp(s, PF_EXPORTER, "texp"), PF_GAUGE_QUEUE_CAPACITY, 1000);
	static const char drop_line[] = "\nproflow_component_dropped_profile_samples{"
					"component=\"processor/tmut\",reason=\"test_reason\"} 8\n";
	char *text = pf_telemetry_render(s, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	const char *want[] = {
		"# TYPE otelcol_receiver_accepted_profile_samples counter\n",
		"\notelcol_receiver_accepted_profile_samples{receiver=\"trecv\",transport=\"\"} "
		"12\n",
		"\notelcol_receiver_refused_profile_samples{receiver=\"trecv\",transport=\"\"} 0\n",
		"\notelcol_receiver_failed_profile_samples{receiver=\"trecv\",transport=\"\"} 0\n",
		"\notelcol_processor_incoming_items{otel_signal=\"profiles\",processor=\"tmut\"} "
		"12\n",
		"\notelcol_processor_outgoing_items{otel_signal=\"profiles\",processor=\"tmut\"} "
		"16\n",
		"\notelcol_exporter_sent_profile_samples{exporter=\"texp\"} 16\n",
		"\notelcol_exporter_send_failed_profile_samples{exporter=\"texp\"} 1\n",
		"\notelcol_exporter_enqueue_failed_profile_samples{exporter=\"texp\"} 0\n",
		drop_line,
		"\nproflow_component_input_errors{component=\"receiver/trecv\"} 9\n",
		"\n# TYPE otelcol_exporter_queue_size gauge\n",
		"\notelcol_exporter_queue_size{exporter=\"texp\"} 3\n",
		"\notelcol_exporter_queue_capacity{exporter=\"texp\"} 1000\n",
		"\n# TYPE otelcol_process_uptime counter\n",
		"\notelcol_process_cpu_seconds ",
		"\n# TYPE otelcol_process_memory_rss gauge\notelcol_process_memory_rss ",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(text, want[i]))
			fail_msg("missing %s in:\n%s", want[i], text);
	}
	assert_null(strstr(text, "_total"));
	free(text);
	pf_service_destroy(s);
	assert_int_equal(uv_loop_close(&tb.loop), 0);
}

/* ---- over real HTTP: a blocking client on its own thread ---- */

struct client {
	unsigned port;
	const char *path;
	char reply[2][16384];
	uv_async_t async; /* tells the loop the first request is done */
	pthread_t thread;
	int second_delay_ms;
};

static void http_get(unsigned port, const char *path, char *out, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 5};
	char req[256];
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	out[0] = '\0';
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return;
	}
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return;
	}
	for (;;) {
		ssize_t r = read(fd, out + got, size - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out[got] = '\0';
	close(fd);
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	http_get(cl->port, cl->path, cl->reply[0], sizeof(cl->reply[0]));
	uv_async_send(&cl->async);
	if (cl->second_delay_ms) {
		usleep((useconds_t)cl->second_delay_ms * 1000);
		http_get(cl->port, cl->path, cl->reply[1], sizeof(cl->reply[1]));
	}
	return NULL;
}

static void on_async_closed(uv_handle_t *h)
{
}

static void on_first_reply(uv_async_t *a)
{
	struct tb *tb = a->data;
	uv_close((uv_handle_t *)a, on_async_closed);
	pf_service_shutdown(tb->w.svc, on_service_done, &tb->w);
}

static void run_client(struct tb *tb, struct client *cl)
{
	uv_async_init(&tb->loop, &cl->async, on_first_reply);
	cl->async.data = tb;
	assert_int_equal(pthread_create(&cl->thread, NULL, client_main, cl), 0);
	uv_run(&tb->loop, UV_RUN_DEFAULT);
	pthread_join(cl->thread, NULL);
	assert_true(tb->w.done);
	pf_service_destroy(tb->w.svc);
	assert_int_equal(uv_loop_close(&tb->loop), 0);
}

static void test_metrics_endpoint(void **state)
{
	struct tb tb;
	struct client cl;
	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t e = tb_comp(&tb, &texp, "texp");
	tb_pipe(&tb, "profiles", L(r), NULL, L(e));
	tb.cfg.metrics_address = (char *)"127.0.0.1:0";
	struct pf_service *s = tb_start(&tb);
	struct pf_batch *b = make_batch(5);
	assert_int_equal(pf_component_emit(comp(s, PF_RECEIVER, "trecv"), b), PF_OK);
	pf_batch_unref(b);

	memset(&cl, 0, sizeof(cl));
	cl.port = pf_service_metrics_port(s);
	assert_int_not_equal(cl.port, 0);
	cl.path = "/metrics";
	run_client(&tb, &cl);
	if (!strstr(cl.reply[0], "HTTP/1.0 200") && !strstr(cl.reply[0], "HTTP/1.1 200"))
		fail_msg("bad reply: %s", cl.reply[0]);
	assert_non_null(strstr(cl.reply[0], "text/plain; version=0.0.4"));
	assert_non_null(strstr(cl.reply[0], "otelcol_receiver_accepted_profile_samples{receiver="
					    "\"trecv\",transport=\"\"} 5\n"));
}

static void test_metrics_address_in_use_fails_start(void **state)
{
	struct tb tb;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char addr[64];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	getsockname(fd, (struct sockaddr *)&a, &alen);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(a.sin_port));

	tb_init(&tb);
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t e = tb_comp(&tb, &texp, "texp");
	tb_pipe(&tb, "profiles", L(r), NULL, L(e));
	tb.cfg.metrics_address = addr;
	struct pf_service *s = pf_service_create(&tb.loop, &tb.cfg, "h");
	assert_true(pf_service_start(s) < 0);
	tb_finish(&tb, s);
	assert_int_equal(tb.w.n_events, 0); /* nothing was started */
	close(fd);
}

static unsigned free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &alen);
	close(fd);
	return ntohs(a.sin_port);
}

/* Sets a string option of a real component through its option table. */
static void set_string(const struct pf_component_def *def, void *config, const char *name,
		       const char *value)
{
	for (const struct pf_option *o = def->options; o->name; o++) {
		if (strcmp(o->name, name) == 0) {
			assert_int_equal(o->type, PF_OPT_STRING);
			*(const char **)((char *)config + o->offset) = value;
			return;
		}
	}
	fail_msg("no option %s", name);
}

static void test_health_check(void **state)
{
	struct tb tb;
	struct client cl;
	char endpoint[64], health_cfg[256] = {0};
	assert_true(pf_extension_health_check.config_size <= sizeof(health_cfg));

	tb_init(&tb);
	size_t h = tb.cfg.n_components++;
	tb.comps[h].id = (char *)"health_check";
	tb.comps[h].def = &pf_extension_health_check;
	tb.comps[h].config = health_cfg;
	tb.ext[tb.cfg.n_extensions++] = h;
	size_t r = tb_comp(&tb, &trecv, "trecv");
	size_t e = tb_comp(&tb, &texp, "texp");
	tb.cfgs[r].shutdown_ms = 1000; /* long enough to ask while stopping */
	tb_pipe(&tb, "profiles", L(r), NULL, L(e));
	memset(&cl, 0, sizeof(cl));
	cl.port = free_port();
	snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%u", cl.port);
	set_string(&pf_extension_health_check, health_cfg, "endpoint", endpoint);
	set_string(&pf_extension_health_check, health_cfg, "path", "/health");
	struct pf_error err = {0};
	assert_int_equal(pf_extension_health_check.validate(health_cfg, &err), 0);

	struct pf_service *s = pf_service_create(&tb.loop, &tb.cfg, "h");
	tb.w.svc = s;
	assert_false(pf_service_ready(s));
	assert_int_equal(pf_service_start(s), 0);
	cl.path = "/health";
	cl.second_delay_ms = 100;
	run_client(&tb, &cl);
	if (!strstr(cl.reply[0], " 200 "))
		fail_msg("want 200 while running: %s", cl.reply[0]);
	assert_non_null(strstr(cl.reply[0], "\"status\":\"Server available\""));
	if (!strstr(cl.reply[1], " 503 "))
		fail_msg("want 503 while stopping: %s", cl.reply[1]);
	assert_non_null(strstr(cl.reply[1], "\"status\":\"Server not available\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout_shares_one_batch),
		cmocka_unit_test(test_mutating_processor_gets_a_copy),
		cmocka_unit_test(test_mutating_processor_alone_gets_the_original),
		cmocka_unit_test(test_busy_and_errors_propagate),
		cmocka_unit_test(test_start_and_shutdown_order),
		cmocka_unit_test(test_processors_stop_upstream_first),
		cmocka_unit_test(test_failed_start_shuts_down_everything),
		cmocka_unit_test(test_shutdown_before_start_is_safe),
		cmocka_unit_test(test_shutdown_deadline),
		cmocka_unit_test(test_timer_receiver_counts_and_telemetry),
		cmocka_unit_test(test_metrics_endpoint),
		cmocka_unit_test(test_metrics_address_in_use_fails_start),
		cmocka_unit_test(test_health_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
