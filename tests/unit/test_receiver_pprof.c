// SPDX-License-Identifier: Apache-2.0
/* unit.receiver_pprof: the pprof receiver in a real service: files, watching, scrapes, shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "formats/pprof/pprof.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/component_internal.h"
#include "pipeline/service.h"

extern const struct pf_component_def pf_receiver_pprof;

/* ---- a capturing exporter; its instance outlives shutdown so the test can look ---- */

static const struct pf_option no_options[] = {PF_OPTION_END};

struct capture {
	struct pf_batch *got[64];
	size_t n_got;
	bool busy; /* refuse everything */
};

static void *capture_create(struct pf_component *c, const void *config)
{
	return calloc(1, sizeof(struct capture));
}

static int capture_consume(void *inst, struct pf_batch *batch)
{
	struct capture *cap = inst;

	if (cap->busy)
		return PF_BUSY;
	assert_true(cap->n_got < 64);
	cap->got[cap->n_got++] = pf_batch_ref(batch);
	return PF_OK;
}

static void capture_free(struct capture *cap)
{
	for (size_t i = 0; i < cap->n_got; i++)
		pf_batch_unref(cap->got[i]);
	free(cap);
}

static const struct pf_component_def capture_def = {
	.kind = PF_EXPORTER,
	.type = "capture",
	.doc = "Test exporter keeping what it gets.",
	.options = no_options,
	.config_size = 1,
	.create = capture_create,
	.consume = capture_consume,
	.shutdown = NULL, /* the instance outlives shutdown: the test frees it */
};

static const struct pf_component_def *const registry[] = {&pf_receiver_pprof, &capture_def, NULL};

/* ---- service environment ---- */

struct env {
	uv_loop_t loop;
	struct pf_config *cfg;
	struct pf_service *svc;
	struct capture *cap;
	struct pf_component *recv;
	bool stopped, timed_out;
	char dir[64];
};

static struct pf_config *load(const char *yaml, struct pf_error *err)
{
	return pf_config_load_string("test.yaml", yaml, strlen(yaml), registry, err);
}

static void env_start(struct env *env, const char *yaml)
{
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];

	assert_int_equal(uv_loop_init(&env->loop), 0);
	env->cfg = load(yaml, &err);
	if (!env->cfg)
		fail_msg("config: %s", pf_error_str(&err, buf, sizeof(buf)));
	free(env->cfg->metrics_address);
	env->cfg->metrics_address = strdup("");
	assert_non_null(env->cfg->metrics_address);
	env->svc = pf_service_create(&env->loop, env->cfg, "testhost");
	assert_non_null(env->svc);
	assert_int_equal(pf_service_start(env->svc), 0);
	env->cap = pf_service_find(env->svc, PF_EXPORTER, "capture")->inst;
	env->recv = pf_service_find(env->svc, PF_RECEIVER, "pprof");
	assert_non_null(env->cap);
	assert_non_null(env->recv);
}

static void on_timer(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

static void on_timer_closed(uv_handle_t *h)
{
}

/* Runs the loop until cond(env) holds or timeout_ms passed; returns cond. */
static bool run_until(struct env *env, bool (*cond)(struct env *), uint64_t timeout_ms)
{
	uv_timer_t timer;
	bool expired = false;

	uv_timer_init(&env->loop, &timer);
	timer.data = &expired;
	uv_timer_start(&timer, on_timer, timeout_ms, 0);
	while (!(cond && cond(env)) && !expired)
		uv_run(&env->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&timer, on_timer_closed);
	uv_run(&env->loop, UV_RUN_NOWAIT);
	return cond ? cond(env) : true;
}

static void on_stopped(struct pf_service *s, bool timed_out, void *arg)
{
	struct env *env = arg;

	env->stopped = true;
	env->timed_out = timed_out;
}

static bool is_stopped(struct env *env)
{
	return env->stopped;
}

/* Shuts the service down; returns how long it took in ms. */
static uint64_t env_shutdown(struct env *env)
{
	uint64_t t0 = uv_now(&env->loop);

	pf_service_shutdown(env->svc, on_stopped, env);
	assert_true(run_until(env, is_stopped, 20000));
	assert_false(env->timed_out);
	uv_update_time(&env->loop);
	return uv_now(&env->loop) - t0;
}

static void env_free(struct env *env)
{
	pf_service_destroy(env->svc);
	pf_config_free(env->cfg);
	capture_free(env->cap);
	uv_run(&env->loop, UV_RUN_DEFAULT);
	/* EBUSY here means a handle was left open. */
	assert_int_equal(uv_loop_close(&env->loop), 0);
}

static uint64_t input_errors(struct env *env)
{
	return pf_component_counter(env->recv, PF_CTR_INPUT_ERRORS);
}

/* ---- profiles ---- */

/* A pprof profile of sample type samples/count with two samples worth a and b. */
static void make_profile(bool gzip, int64_t a, int64_t b_val, uint8_t **out, size_t *size)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_profile_desc d = {0};
	uint32_t locs[2];
	uint32_t p;

	assert_non_null(b);
	d.sample_type.type = pf_batch_cstring(b, "samples");
	d.sample_type.unit = pf_batch_cstring(b, "count");
	d.period_type = d.sample_type;
	d.period = 1;
	d.time_unix_nano = 1795760100ULL * 1000000000ULL;
	p = pf_batch_add_profile(b, &d);
	for (int i = 0; i < 2; i++) {
		struct pf_function fn = {.name = pf_batch_cstring(b, i ? "main.cold" : "main.hot")};
		struct pf_line line = {.function = pf_batch_function(b, &fn), .line = 10 + i};
		struct pf_location loc = {.address = 0x1000u + (unsigned)i};
		locs[i] = pf_batch_location(b, &loc, &line, 1);
	}
	int64_t va = a, vb = b_val;
	assert_int_equal(
		pf_batch_add_sample(b, p, pf_batch_stack(b, &locs[0], 1), 0, 0, &va, 1, NULL, 0),
		0);
	assert_int_equal(
		pf_batch_add_sample(b, p, pf_batch_stack(b, &locs[1], 1), 0, 0, &vb, 1, NULL, 0),
		0);
	assert_int_equal(pf_pprof_encode(b, &p, 1, gzip, out, size), 0);
	pf_batch_unref(b);
}

static void write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, size, f), size);
	assert_int_equal(fclose(f), 0);
}

static void write_profile(const char *path, bool gzip, int64_t a, int64_t b)
{
	uint8_t *buf;
	size_t size;

	make_profile(gzip, a, b, &buf, &size);
	write_file(path, buf, size);
	free(buf);
}

/* The sum of every value in every captured batch. */
static int64_t captured_sum(const struct env *env)
{
	int64_t sum = 0;

	for (size_t i = 0; i < env->cap->n_got; i++) {
		const struct pf_batch *b = env->cap->got[i];
		for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
			size_t n;
			const struct pf_sample *s = pf_batch_samples(b, p, &n);
			for (size_t k = 0; k < n; k++)
				sum += pf_batch_sample_values(b, &s[k])[0];
		}
	}
	return sum;
}

/* The int value of resource attribute `key` of batch i's first profile (-1 when absent). */
static int64_t res_int(const struct env *env, size_t i, const char *key)
{
	const struct pf_batch *b = env->cap->got[i];
	const struct pf_profile_desc *d = pf_batch_profile_get(b, 0);
	const struct pf_resource *r = pf_batch_resource_get(b, d->resource);
	const struct pf_value *v = pf_batch_attr_lookup(b, r->attrs, key);

	if (!v)
		return -1;
	assert_int_equal(v->kind, PF_VALUE_INT);
	return v->u.i;
}

/* The string value of resource attribute `key` of batch i's first profile, or NULL. */
static const char *res_str(const struct env *env, size_t i, const char *key)
{
	const struct pf_batch *b = env->cap->got[i];
	const struct pf_profile_desc *d = pf_batch_profile_get(b, 0);
	const struct pf_resource *r = pf_batch_resource_get(b, d->resource);
	const struct pf_value *v = pf_batch_attr_lookup(b, r->attrs, key);

	if (!v)
		return NULL;
	assert_int_equal(v->kind, PF_VALUE_STRING);
	return pf_batch_str(b, v->u.str);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup_dir(void **state)
{
	struct env *env = calloc(1, sizeof(*env));

	assert_non_null(env);
	snprintf(env->dir, sizeof(env->dir), "/tmp/pf_recv_pprof.XXXXXX");
	assert_non_null(mkdtemp(env->dir));
	*state = env;
	return 0;
}

static int teardown_dir(void **state)
{
	struct env *env = *state;

	nftw(env->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(env);
	return 0;
}

/* ---- files ---- */

static bool two_batches_one_error(struct env *env)
{
	return env->cap->n_got == 2 && input_errors(env) == 1;
}

static void test_files_read_once(void **state)
{
	struct env *env = *state;
	char path[128], yaml[1024];

	snprintf(path, sizeof(path), "%s/a.pb.gz", env->dir);
	write_profile(path, true, 3, 4);
	snprintf(path, sizeof(path), "%s/b.pb", env->dir);
	write_profile(path, false, 10, 20);
	snprintf(path, sizeof(path), "%s/c.pb.gz", env->dir);
	write_file(path, "garbage!", 8);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n"
		 "  pprof:\n"
		 "    paths: ['%s/*.pb.gz', '%s/*.pb', '%s/a*']\n"
		 "    poll_interval: 50ms\n"
		 "    job: files-job\n"
		 "    resource: {deployment.environment.name: test}\n"
		 "exporters:\n"
		 "  capture:\n"
		 "service:\n"
		 "  pipelines:\n"
		 "    profiles: {receivers: [pprof], exporters: [capture]}\n",
		 env->dir, env->dir, env->dir);
	env_start(env, yaml);
	assert_true(run_until(env, two_batches_one_error, 5000));
	assert_int_equal(captured_sum(env), 37);
	for (size_t i = 0; i < 2; i++) {
		const char *fp = res_str(env, i, "file.path");
		assert_non_null(fp);
		assert_true(strstr(fp, "/a.pb.gz") || strstr(fp, "/b.pb"));
		assert_string_equal(res_str(env, i, "service.name"), "files-job");
		assert_string_equal(res_str(env, i, "deployment.environment.name"), "test");
	}
	assert_int_equal(pf_component_counter(env->recv, PF_CTR_RECEIVER_ACCEPTED), 4);

	/* Without watch, a new file is not picked up; nothing is read twice (a.pb.gz
	 * matches two patterns). */
	snprintf(path, sizeof(path), "%s/d.pb.gz", env->dir);
	write_profile(path, true, 100, 100);
	run_until(env, NULL, 300);
	assert_int_equal(env->cap->n_got, 2);
	assert_int_equal(input_errors(env), 1);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/a.pb.gz", env->dir);
	assert_int_equal(access(path, F_OK), 0); /* not deleted */
	env_shutdown(env);
	env_free(env);
}

static bool n_batches_2(struct env *env)
{
	return env->cap->n_got >= 2;
}

static bool n_batches_3(struct env *env)
{
	return env->cap->n_got >= 3;
}

static void test_files_watch_and_delete(void **state)
{
	struct env *env = *state;
	char path[128], bad[128], yaml[1024];

	snprintf(yaml, sizeof(yaml),
		 "receivers:\n"
		 "  pprof:\n"
		 "    paths: ['%s/*.pprof']\n"
		 "    poll_interval: 30ms\n"
		 "    watch: true\n"
		 "    delete_after_read: true\n"
		 "exporters:\n"
		 "  capture:\n"
		 "service:\n"
		 "  pipelines:\n"
		 "    profiles: {receivers: [pprof], exporters: [capture]}\n",
		 env->dir);
	env_start(env, yaml);
	run_until(env, NULL, 100);
	assert_int_equal(env->cap->n_got, 0);

	snprintf(path, sizeof(path), "%s/one.pprof", env->dir);
	write_profile(path, true, 1, 2);
	snprintf(bad, sizeof(bad), "%s/bad.pprof", env->dir);
	write_file(bad, "\x1f\x8b broken gzip", 14);
	snprintf(path, sizeof(path), "%s/two.pprof", env->dir);
	write_profile(path, false, 5, 5);
	assert_true(run_until(env, n_batches_2, 5000));
	run_until(env, NULL, 300); /* ten more polls: nothing read twice */
	assert_int_equal(env->cap->n_got, 2);
	assert_int_equal(captured_sum(env), 13);
	assert_int_equal(input_errors(env), 1);
	assert_int_equal(access(path, F_OK), -1);		       /* read and deleted */
	assert_int_equal(access(bad, F_OK), 0);			       /* invalid: kept */
	assert_string_equal(res_str(env, 0, "service.name"), "pprof"); /* the component id */

	/* The same name again is a new file. */
	write_profile(path, true, 7, 0);
	assert_true(run_until(env, n_batches_3, 5000));
	assert_int_equal(captured_sum(env), 20);
	env_shutdown(env);
	env_free(env);
}

static bool two_dropped(struct env *env)
{
	return pf_component_counter(env->recv, PF_CTR_DROPPED) == 2;
}

/* A pull receiver cannot push back: what downstream refuses is dropped and counted. */
static void test_busy_downstream_drops(void **state)
{
	struct env *env = *state;
	char path[128], yaml[1024];

	snprintf(path, sizeof(path), "%s/a.pb.gz", env->dir);
	write_profile(path, true, 3, 4);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n"
		 "  pprof:\n"
		 "    paths: ['%s/*']\n"
		 "exporters:\n"
		 "  capture:\n"
		 "service:\n"
		 "  pipelines:\n"
		 "    profiles: {receivers: [pprof], exporters: [capture]}\n",
		 env->dir);
	env_start(env, yaml);
	env->cap->busy = true;
	assert_true(run_until(env, two_dropped, 5000));
	assert_int_equal(env->cap->n_got, 0);
	assert_int_equal(pf_component_counter(env->recv, PF_CTR_RECEIVER_REFUSED), 2);
	assert_int_equal(input_errors(env), 0);
	env_shutdown(env);
	env_free(env);
}

/* ---- scrapes ---- */

struct server {
	struct MHD_Daemon *mhd;
	unsigned port;
	uint8_t *profile;
	size_t profile_size;
	unsigned slow_ms;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const void *body,
			     size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);

	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **st)
{
	struct server *srv = cls;
	const char *tenant = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Scope-OrgID");

	if (!tenant || strcmp(tenant, "t1") != 0)
		return reply(conn, 403, "no tenant", 9);
	if (strcmp(url, "/profile") == 0)
		return reply(conn, 200, srv->profile, srv->profile_size);
	if (strcmp(url, "/slow") == 0) {
		usleep(srv->slow_ms * 1000);
		return reply(conn, 200, srv->profile, srv->profile_size);
	}
	if (strcmp(url, "/garbage") == 0)
		return reply(conn, 200, "garbage", 7);
	return reply(conn, 404, "not found", 9);
}

static void server_start(struct server *srv, unsigned slow_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv->slow_ms = slow_ms;
	make_profile(true, 30, 70, &srv->profile, &srv->profile_size);
	srv->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				    0, NULL, NULL, handler, srv, MHD_OPTION_SOCK_ADDR, &sa,
				    MHD_OPTION_END);
	assert_non_null(srv->mhd);
	srv->port = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void server_stop(struct server *srv)
{
	MHD_stop_daemon(srv->mhd);
	free(srv->profile);
}

static bool scraped_enough(struct env *env)
{
	/* Two good scrapes; /missing, /garbage and the header-less target failed twice each. */
	return env->cap->n_got >= 2 && input_errors(env) >= 6;
}

static void test_scrape(void **state)
{
	struct env *env = *state;
	struct server srv = {0};
	char yaml[2048];

	server_start(&srv, 0);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n"
		 "  pprof:\n"
		 "    targets: ['http://127.0.0.1:%u/profile', 'http://127.0.0.1:%u/missing',\n"
		 "              'http://127.0.0.1:%u/garbage']\n"
		 "    interval: 200ms\n"
		 "    timeout: 150ms\n"
		 "    headers: {X-Scope-OrgID: t1}\n"
		 "  pprof/noheader:\n"
		 "    targets: ['http://127.0.0.1:%u/profile']\n"
		 "    interval: 200ms\n"
		 "    timeout: 150ms\n"
		 "exporters:\n"
		 "  capture:\n"
		 "service:\n"
		 "  pipelines:\n"
		 "    profiles: {receivers: [pprof], exporters: [capture]}\n"
		 "    profiles/2: {receivers: [pprof/noheader], exporters: [capture]}\n",
		 srv.port, srv.port, srv.port, srv.port);
	env_start(env, yaml);
	struct pf_component *noheader = pf_service_find(env->svc, PF_RECEIVER, "pprof/noheader");
	assert_non_null(noheader);
	assert_true(run_until(env, scraped_enough, 5000));
	/* input_errors() reads "pprof" only: count the other one separately. */
	assert_true(pf_component_counter(noheader, PF_CTR_INPUT_ERRORS) >= 2);
	assert_true(input_errors(env) >= 4);

	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/profile", srv.port);
	assert_string_equal(res_str(env, 0, "url.full"), url);
	assert_string_equal(res_str(env, 0, "server.address"), "127.0.0.1");
	assert_int_equal(res_int(env, 0, "server.port"), srv.port);
	assert_string_equal(res_str(env, 0, "service.name"), "pprof");
	assert_null(res_str(env, 0, "file.path"));
	assert_int_equal(captured_sum(env) % 100, 0);
	env_shutdown(env);
	env_free(env);
	server_stop(&srv);
}

static bool scrape_in_flight(struct env *env)
{
	return false;
}

static void test_shutdown_waits_for_scrape(void **state)
{
	struct env *env = *state;
	struct server srv = {0};
	char yaml[1024];

	server_start(&srv, 400);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n"
		 "  pprof:\n"
		 "    targets: ['http://127.0.0.1:%u/slow']\n"
		 "    interval: 2s\n"
		 "    timeout: 1500ms\n"
		 "    headers: {X-Scope-OrgID: t1}\n"
		 "exporters:\n"
		 "  capture:\n"
		 "service:\n"
		 "  shutdown_timeout: 5s\n"
		 "  pipelines:\n"
		 "    profiles: {receivers: [pprof], exporters: [capture]}\n",
		 srv.port);
	env_start(env, yaml);
	run_until(env, scrape_in_flight, 100);
	assert_int_equal(env->cap->n_got, 0);
	uint64_t took = env_shutdown(env);
	/* The scrape in flight finished and was passed on before the receiver stopped. */
	assert_int_equal(env->cap->n_got, 1);
	assert_int_equal(captured_sum(env), 100);
	assert_true(took >= 200 && took < 3000);
	env_free(env);
	server_stop(&srv);
}

static void test_shutdown_deadline_cancels_scrape(void **state)
{
	struct env *env = *state;
	struct server srv = {0};
	char yaml[1024];

	server_start(&srv, 1500);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n"
		 "  pprof:\n"
		 "    targets: ['http://127.0.0.1:%u/slow']\n"
		 "    interval: 3s\n"
		 "    timeout: 2500ms\n"
		 "    headers: {X-Scope-OrgID: t1}\n"
		 "exporters:\n"
		 "  capture:\n"
		 "service:\n"
		 "  shutdown_timeout: 300ms\n"
		 "  pipelines:\n"
		 "    profiles: {receivers: [pprof], exporters: [capture]}\n",
		 srv.port);
	env_start(env, yaml);
	run_until(env, scrape_in_flight, 100);
	uint64_t took = env_shutdown(env);
	assert_true(took < 1200);
	assert_int_equal(env->cap->n_got, 0);
	assert_int_equal(input_errors(env), 0); /* cancelled at shutdown is no bad input */
	env_free(env);
	server_stop(&srv);
}

/* ---- config ---- */

static void expect_invalid(const char *yaml, const char *needle)
{
	struct pf_error err = {0};
	struct pf_config *cfg = load(yaml, &err);

	if (cfg)
		pf_config_free(cfg);
	assert_null(cfg);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

static void test_config_validation(void **state)
{
	const char *tail = "exporters:\n  capture:\nservice:\n  pipelines:\n"
			   "    profiles: {receivers: [pprof], exporters: [capture]}\n";
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), "receivers:\n  pprof:\n    watch: true\n%s", tail);
	expect_invalid(yaml, "set paths");
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  pprof:\n    targets: ['http://x/']\n    interval: 5s\n"
		 "    timeout: 5s\n%s",
		 tail);
	expect_invalid(yaml, "timeout must be below interval");
	snprintf(yaml, sizeof(yaml), "receivers:\n  pprof:\n    targets: ['ftp://x/']\n%s", tail);
	expect_invalid(yaml, "not an http");
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  pprof:\n    targets: ['http://x/']\n    headers: {'a b': c}\n%s",
		 tail);
	expect_invalid(yaml, "not a valid header");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_files_read_once, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_files_watch_and_delete, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_busy_downstream_drops, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_scrape, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_shutdown_waits_for_scrape, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_shutdown_deadline_cancels_scrape, setup_dir,
						teardown_dir),
		cmocka_unit_test(test_config_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
