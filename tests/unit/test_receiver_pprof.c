// SPDX-License-Identifier: Apache-2.0
/* unit.receiver_pprof: the pprof receiver in a real service: files, watching, scrapes, shutdown. */
#include <errno.h>
#include <ftw.h>
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
#include "model/batch.h"
#include "core/component.h"
#include "pipeline/component_internal.h"
#include "pipeline/service.h"
#include "receiver_harness.h"
#include "receivers/pprof/receiver.h"
#include "http_fake.h"

extern const struct pf_component_def pf_receiver_pprof;

static const struct pf_component_def *const registry[] = {&pf_receiver_pprof, &rh_capture_def,
							  NULL};

/* The service and the directory the test writes profiles to. */
struct env {
	struct rh_env rh;
	char dir[64];
};

static void env_start(struct env *env, const char *yaml)
{
	rh_env_start(&env->rh, registry, yaml, "pprof");
}

static bool run_until(struct env *env, bool (*cond)(struct rh_env *), uint64_t timeout_ms)
{
	return rh_run_until(&env->rh, cond, timeout_ms);
}

static struct pf_config *load(const char *yaml, struct pf_error *err)
{
	return pf_config_load_string("test.yaml", yaml, strlen(yaml), registry, err);
}

static uint64_t input_errors(struct rh_env *env)
{
	return pf_component_counter(env->recv, PF_CTR_INPUT_ERRORS);
}

/* ---- profiles ---- */

/* A pprof profile of sample type samples/count with two samples worth a and b. */
static void make_profile(bool gzip, int64_t a, int64_t b_val, uint8_t **out, size_t *size)
{
	const int64_t values[2] = {a, b_val};
	struct pf_batch *b = rh_batch(values, 2);
	uint32_t p = 0;

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

/* The int value of resource attribute `key` of batch i's first profile (-1 when absent). */
static int64_t res_int(const struct env *env, size_t i, const char *key)
{
	const struct pf_batch *b = env->rh.cap->got[i];
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
	const struct pf_batch *b = env->rh.cap->got[i];
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

static bool two_batches_one_error(struct rh_env *env)
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
	assert_int_equal(rh_sum(&env->rh), 37);
	for (size_t i = 0; i < 2; i++) {
		const char *fp = res_str(env, i, "file.path");
		assert_non_null(fp);
		assert_true(strstr(fp, "/a.pb.gz") || strstr(fp, "/b.pb"));
		assert_string_equal(res_str(env, i, "service.name"), "files-job");
		assert_string_equal(res_str(env, i, "deployment.environment.name"), "test");
	}
	assert_int_equal(pf_component_counter(env->rh.recv, PF_CTR_RECEIVER_ACCEPTED), 4);

	/* Without watch, a new file is not picked up; nothing is read twice (a.pb.gz
	 * matches two patterns). */
	snprintf(path, sizeof(path), "%s/d.pb.gz", env->dir);
	write_profile(path, true, 100, 100);
	run_until(env, NULL, 300);
	assert_int_equal(env->rh.cap->n_got, 2);
	assert_int_equal(input_errors(&env->rh), 1);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/a.pb.gz", env->dir);
	assert_int_equal(access(path, F_OK), 0); /* not deleted */
	rh_env_shutdown(&env->rh);
	rh_env_free(&env->rh);
}

static bool n_batches_2(struct rh_env *env)
{
	return env->cap->n_got >= 2;
}

static bool n_batches_3(struct rh_env *env)
{
	return env->cap->n_got >= 3;
}

/* The receiver watching *.pprof in the test's directory, deleting what
 * it read. */
static void start_watch_and_delete(struct env *env)
{
	char yaml[1024];

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
}

static void test_files_watch_and_delete(void **state)
{
	struct env *env = *state;
	char path[128], bad[128];

	start_watch_and_delete(env);
	run_until(env, NULL, 100);
	assert_int_equal(env->rh.cap->n_got, 0);

	snprintf(path, sizeof(path), "%s/one.pprof", env->dir);
	write_profile(path, true, 1, 2);
	snprintf(bad, sizeof(bad), "%s/bad.pprof", env->dir);
	write_file(bad, "\x1f\x8b broken gzip", 14);
	snprintf(path, sizeof(path), "%s/two.pprof", env->dir);
	write_profile(path, false, 5, 5);
	assert_true(run_until(env, n_batches_2, 5000));
	run_until(env, NULL, 300); /* ten more polls: nothing read twice */
	assert_int_equal(env->rh.cap->n_got, 2);
	assert_int_equal(rh_sum(&env->rh), 13);
	assert_int_equal(input_errors(&env->rh), 1);
	assert_int_equal(access(path, F_OK), -1);		       /* read and deleted */
	assert_int_equal(access(bad, F_OK), 0);			       /* invalid: kept */
	assert_string_equal(res_str(env, 0, "service.name"), "pprof"); /* the component id */

	/* The same name again is a new file. */
	write_profile(path, true, 7, 0);
	assert_true(run_until(env, n_batches_3, 5000));
	assert_int_equal(rh_sum(&env->rh), 20);
	rh_env_shutdown(&env->rh);
	rh_env_free(&env->rh);
}

static bool two_dropped(struct rh_env *env)
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
	env->rh.cap->busy = true;
	assert_true(run_until(env, two_dropped, 5000));
	assert_int_equal(env->rh.cap->n_got, 0);
	assert_int_equal(pf_component_counter(env->rh.recv, PF_CTR_RECEIVER_REFUSED), 2);
	assert_int_equal(input_errors(&env->rh), 0);
	rh_env_shutdown(&env->rh);
	rh_env_free(&env->rh);
}

static bool one_held(struct rh_env *env)
{
	return env->cap->n_held >= 1;
}

/* A file read with delete_after_read is deleted only once the exporter
 * holds its batch, and kept when the exporter refuses it; it used to be
 * deleted on the thread pool before its batch was even passed on. */
static void test_delete_after_acknowledged(void **state)
{
	struct env *env = *state;
	char path[128];
	const int results[] = {PF_BUSY, PF_OK};

	start_watch_and_delete(env);
	env->rh.cap->hold = true;
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/f%zu.pprof", env->dir, i);
		write_profile(path, true, 1, 2);
		assert_true(run_until(env, one_held, 5000));
		run_until(env, NULL, 100);
		assert_int_equal(access(path, F_OK), 0); /* not before the exporter has it */
		rh_settle(env->rh.cap, results[i]);
		run_until(env, NULL, 100);
		assert_int_equal(access(path, F_OK), results[i] == PF_OK ? -1 : 0);
	}
	assert_int_equal(pf_component_counter(env->rh.recv, PF_CTR_RECEIVER_REFUSED), 2);
	assert_int_equal(pf_component_counter(env->rh.recv, PF_CTR_RECEIVER_ACCEPTED), 2);
	rh_env_shutdown(&env->rh);
	rh_env_free(&env->rh);
}

/* ---- scrapes ---- */

/* The scrape target: a pprof profile for tenant t1. */
struct server {
	struct hf_peer http;
	unsigned port;
	uint8_t *profile;
	size_t profile_size;
	unsigned slow_ms;
};

static void answer(struct hf_answer *ans, unsigned status, const void *body, size_t len)
{
	ans->status = status;
	ans->body = malloc(len);
	hf_check(ans->body != NULL, "malloc");
	memcpy(ans->body, body, len);
	ans->body_size = len;
}

static void handler(void *arg, const struct hf_request *req, struct hf_answer *ans)
{
	struct server *srv = arg;
	char tenant[16];

	hf_value(req, MHD_HEADER_KIND, "X-Scope-OrgID", tenant, sizeof(tenant));
	if (strcmp(tenant, "t1") != 0)
		answer(ans, 403, "no tenant", 9);
	else if (strcmp(req->url, "/profile") == 0)
		answer(ans, 200, srv->profile, srv->profile_size);
	else if (strcmp(req->url, "/slow") == 0) {
		answer(ans, 200, srv->profile, srv->profile_size);
		ans->delay_ms = srv->slow_ms;
	} else if (strcmp(req->url, "/garbage") == 0)
		answer(ans, 200, "garbage", 7);
	else
		answer(ans, 404, "not found", 9);
}

static void server_start(struct server *srv, unsigned slow_ms)
{
	srv->slow_ms = slow_ms;
	make_profile(true, 30, 70, &srv->profile, &srv->profile_size);
	srv->http.handler = handler;
	srv->http.arg = srv;
	hf_start(&srv->http, 0);
	srv->port = (unsigned)srv->http.port;
}

static void server_stop(struct server *srv)
{
	hf_stop(&srv->http);
	free(srv->profile);
}

static bool scraped_enough(struct rh_env *env)
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
	struct pf_component *noheader =
		pf_service_find(env->rh.sh.svc, PF_RECEIVER, "pprof/noheader");
	assert_non_null(noheader);
	assert_true(run_until(env, scraped_enough, 5000));
	/* input_errors() reads "pprof" only: count the other one separately. */
	assert_true(pf_component_counter(noheader, PF_CTR_INPUT_ERRORS) >= 2);
	assert_true(input_errors(&env->rh) >= 4);

	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/profile", srv.port);
	assert_string_equal(res_str(env, 0, "url.full"), url);
	assert_string_equal(res_str(env, 0, "server.address"), "127.0.0.1");
	assert_int_equal(res_int(env, 0, "server.port"), srv.port);
	assert_string_equal(res_str(env, 0, "service.name"), "pprof");
	assert_null(res_str(env, 0, "file.path"));
	assert_int_equal(rh_sum(&env->rh) % 100, 0);
	rh_env_shutdown(&env->rh);
	rh_env_free(&env->rh);
	server_stop(&srv);
}

static bool scrape_in_flight(struct rh_env *env)
{
	return false;
}

/* A config scraping the server's /slow target with the given interval
 * (and timeout) lines and shutdown timeout. */
static void slow_target_yaml(char *yaml, size_t size, unsigned port, const char *timing,
			     const char *shutdown_timeout)
{
	snprintf(yaml, size,
		 "receivers:\n"
		 "  pprof:\n"
		 "    targets: ['http://127.0.0.1:%u/slow']\n"
		 "%s"
		 "    headers: {X-Scope-OrgID: t1}\n"
		 "exporters:\n"
		 "  capture:\n"
		 "service:\n"
		 "  shutdown_timeout: %s\n"
		 "  pipelines:\n"
		 "    profiles: {receivers: [pprof], exporters: [capture]}\n",
		 port, timing, shutdown_timeout);
}

static void test_shutdown_waits_for_scrape(void **state)
{
	struct env *env = *state;
	struct server srv = {0};
	char yaml[1024];

	server_start(&srv, 400);
	slow_target_yaml(yaml, sizeof(yaml), srv.port, "    interval: 2s\n    timeout: 1500ms\n",
			 "5s");
	env_start(env, yaml);
	run_until(env, scrape_in_flight, 100);
	assert_int_equal(env->rh.cap->n_got, 0);
	uint64_t took = rh_env_shutdown(&env->rh);
	/* The scrape in flight finished and was passed on before the receiver stopped. */
	assert_int_equal(env->rh.cap->n_got, 1);
	assert_int_equal(rh_sum(&env->rh), 100);
	assert_true(took >= 200 && took < 3000);
	rh_env_free(&env->rh);
	server_stop(&srv);
}

static void test_shutdown_deadline_cancels_scrape(void **state)
{
	struct env *env = *state;
	struct server srv = {0};
	char yaml[1024];

	server_start(&srv, 1500);
	slow_target_yaml(yaml, sizeof(yaml), srv.port, "    interval: 3s\n    timeout: 2500ms\n",
			 "300ms");
	env_start(env, yaml);
	run_until(env, scrape_in_flight, 100);
	uint64_t took = rh_env_shutdown(&env->rh);
	assert_true(took < 1200);
	assert_int_equal(env->rh.cap->n_got, 0);
	assert_int_equal(input_errors(&env->rh), 0); /* cancelled at shutdown is no bad input */
	rh_env_free(&env->rh);
	server_stop(&srv);
}

static bool one_error(struct rh_env *env)
{
	return input_errors(env) >= 1;
}

/* Issue 10 #14: `interval: 3s` alone was refused ("timeout must be below
 * interval", the timeout defaulting to 10s). Unset, the timeout is now the
 * smaller of 10s and interval, as Prometheus: a target slower than the
 * interval fails after one interval, not after 10s. */
static void test_timeout_unset_follows_interval(void **state)
{
	struct env *env = *state;
	struct server srv = {0};
	struct pf_pprof_rx_config cfg = {.interval = 3000 * 1000000LL};
	char yaml[1024];

	assert_int_equal(pf_pprof_rx_timeout(&cfg), 3000 * 1000000LL);
	cfg.interval = 60000 * 1000000LL;
	assert_int_equal(pf_pprof_rx_timeout(&cfg), 10000 * 1000000LL);
	cfg.timeout = 20000 * 1000000LL;
	assert_int_equal(pf_pprof_rx_timeout(&cfg), 20000 * 1000000LL);

	server_start(&srv, 3000);
	slow_target_yaml(yaml, sizeof(yaml), srv.port, "    interval: 300ms\n", "300ms");
	env_start(env, yaml);
	/* The first scrape starts at once and times out at 300ms. */
	assert_true(run_until(env, one_error, 2000));
	assert_int_equal(env->rh.cap->n_got, 0);
	rh_env_shutdown(&env->rh);
	rh_env_free(&env->rh);
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
		cmocka_unit_test_setup_teardown(test_delete_after_acknowledged, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_busy_downstream_drops, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_scrape, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_shutdown_waits_for_scrape, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_shutdown_deadline_cancels_scrape, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_timeout_unset_follows_interval, setup_dir,
						teardown_dir),
		cmocka_unit_test(test_config_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
