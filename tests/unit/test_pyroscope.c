// SPDX-License-Identifier: Apache-2.0
/* unit.pyroscope: the exporter against a local HTTP server that checks and decodes each request, both APIs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "exporters/pyroscope/pyroscope.h"
#include "formats/gzip.h"
#include "formats/pprof/pprof.h"
#include "proto/pyroscope/push.pb-c.h"
#include "http_fake.h"
#include "sinks_harness.h"

#define T0_NS	 (1795760100ULL * 1000000000ULL) /* 2026-11-27T06:15:00Z */
#define MAX_REQS 8

extern const struct pf_component_def pf_exporter_pyroscope;

/* ---- the fake Pyroscope ---- */

struct req {
	char path[128];
	char query_name[512], from[32], until[32], format[32], spy[32], rate[32];
	char ctype[256], connect[16], auth[256], tenant[64], custom[64];
	uint8_t *body;
	size_t body_size;
	uint64_t at_ms; /* CLOCK_MONOTONIC */
};

struct server {
	struct hf_peer peer;
	unsigned port;
	struct req reqs[MAX_REQS];
	size_t n_reqs;
	/* What to answer, in order; 200 once they run out. */
	int statuses[MAX_REQS];
	const char *bodies[MAX_REQS];
	const char *types[MAX_REQS];
	const char *retry_after[MAX_REQS];
	size_t n_statuses;
};

/* On the peer's thread, under its lock. */
static void on_request(void *arg, const struct hf_request *hr, struct hf_answer *ans)
{
	struct server *s = arg;
	const char *body = "{}";
	struct req *r;

	ans->content_type = "application/proto";
	if (s->n_reqs < MAX_REQS) {
		r = &s->reqs[s->n_reqs];
		snprintf(r->path, sizeof(r->path), "%s %s", hr->method, hr->url);
		hf_value(hr, MHD_GET_ARGUMENT_KIND, "name", r->query_name, sizeof(r->query_name));
		hf_value(hr, MHD_GET_ARGUMENT_KIND, "from", r->from, sizeof(r->from));
		hf_value(hr, MHD_GET_ARGUMENT_KIND, "until", r->until, sizeof(r->until));
		hf_value(hr, MHD_GET_ARGUMENT_KIND, "format", r->format, sizeof(r->format));
		hf_value(hr, MHD_GET_ARGUMENT_KIND, "spyName", r->spy, sizeof(r->spy));
		hf_value(hr, MHD_GET_ARGUMENT_KIND, "sampleRate", r->rate, sizeof(r->rate));
		hf_value(hr, MHD_HEADER_KIND, "Content-Type", r->ctype, sizeof(r->ctype));
		hf_value(hr, MHD_HEADER_KIND, "Connect-Protocol-Version", r->connect,
			 sizeof(r->connect));
		hf_value(hr, MHD_HEADER_KIND, "Authorization", r->auth, sizeof(r->auth));
		hf_value(hr, MHD_HEADER_KIND, "X-Scope-OrgID", r->tenant, sizeof(r->tenant));
		hf_value(hr, MHD_HEADER_KIND, "X-Custom", r->custom, sizeof(r->custom));
		r->at_ms = hf_now_ms();
		r->body = malloc(hr->body_size + 1);
		hf_check(r->body != NULL, "malloc");
		if (hr->body_size)
			memcpy(r->body, hr->body, hr->body_size);
		r->body_size = hr->body_size;
		if (s->n_reqs < s->n_statuses) {
			ans->status = (unsigned)s->statuses[s->n_reqs];
			body = s->bodies[s->n_reqs];
			ans->content_type = s->types[s->n_reqs];
			ans->retry_after = s->retry_after[s->n_reqs];
		}
		s->n_reqs++;
	}
	hf_text(ans, body);
}

static void server_start(struct server *s)
{
	s->peer = (struct hf_peer){.handler = on_request, .arg = s};
	hf_start(&s->peer, 0);
	s->port = (unsigned)s->peer.port;
}

static void server_stop(struct server *s)
{
	hf_stop(&s->peer);
	for (size_t i = 0; i < s->n_reqs; i++)
		free(s->reqs[i].body);
}

static void answer(struct server *s, int status, const char *type, const char *body,
		   const char *retry_after)
{
	s->retry_after[s->n_statuses] = retry_after;
	s->statuses[s->n_statuses] = status;
	s->types[s->n_statuses] = type;
	s->bodies[s->n_statuses] = body;
	s->n_statuses++;
}

/* ---- the pipeline ---- */

static const struct pf_component_def *const registry[] = {&sh_feeder_def, &pf_exporter_pyroscope,
							  NULL};

static void env_start(struct sh_env *env, const struct server *s, const char *extra)
{
	char yaml[2048];

	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  feeder:\n"
		 "exporters:\n  pyroscope:\n    endpoint: http://127.0.0.1:%u/\n"
		 "    retry_on_failure:\n      initial_interval: 20ms\n"
		 "%s"
		 "service:\n  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [pyroscope]\n",
		 s->port, extra);
	sh_env_start_with(env, yaml, registry);
}

/* A cpu batch (samples/count + cpu/nanoseconds) of `service` with 3 samples. */
static struct pf_batch *cpu_batch(const char *service, const char *exe)
{
	static const char *const hot[] = {"main.hot", "main.main", NULL};
	static const char *const cold[] = {"main.cold", "main.main", NULL};
	struct pf_batch *b = pf_batch_new();
	uint32_t p0, p1;

	assert_non_null(b);
	p0 = sh_profile(b, service, 4242, "samples", "count", T0_NS);
	p1 = sh_profile(b, service, 4242, "cpu", "nanoseconds", T0_NS);
	if (exe) {
		/* Rebuild both profiles' resource with process.executable.name. */
		uint32_t a[2] = {pf_batch_attr_str(b, "process.executable.name", exe),
				 pf_batch_attr_int(b, "process.pid", 4242)};
		struct pf_resource r = {.attrs = pf_batch_attr_set(b, a, 2)};
		struct pf_profile_desc d = *pf_batch_profile_get(b, p0);
		struct pf_batch *nb = pf_batch_new();

		pf_batch_unref(b);
		b = nb;
		d.resource = 0;
		d.sample_type.type = pf_batch_cstring(b, "samples");
		d.sample_type.unit = pf_batch_cstring(b, "count");
		d.period_type.type = pf_batch_cstring(b, "cpu");
		d.period_type.unit = pf_batch_cstring(b, "nanoseconds");
		a[0] = pf_batch_attr_str(b, "process.executable.name", exe);
		a[1] = pf_batch_attr_int(b, "process.pid", 4242);
		r.attrs = pf_batch_attr_set(b, a, 2);
		d.resource = pf_batch_resource(b, &r);
		p0 = pf_batch_add_profile(b, &d);
		d.sample_type.type = pf_batch_cstring(b, "cpu");
		d.sample_type.unit = pf_batch_cstring(b, "nanoseconds");
		p1 = pf_batch_add_profile(b, &d);
	}
	sh_sample(b, p0, hot, 7);
	sh_sample(b, p1, hot, 70000000);
	sh_sample(b, p0, cold, 2);
	sh_sample(b, p1, cold, 20000000);
	sh_sample(b, p0, hot, 1);
	sh_sample(b, p1, hot, 10000000);
	return b;
}

/* Decodes a gzipped pprof and checks it holds the cpu batch's totals. */
static void check_profile(const uint8_t *data, size_t size)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_pprof_origin origin = {0};
	struct pf_error err = {0};

	assert_true(pf_gzip_detect(data, size));
	assert_int_equal(pf_pprof_decode(b, &origin, data, size, 0, &err), 2);
	assert_int_equal(sh_sum(b, "samples", "main.hot"), 8);
	assert_int_equal(sh_sum(b, "samples", "main.cold"), 2);
	assert_int_equal(sh_sum(b, "cpu", NULL), 100000000);
	pf_batch_unref(b);
}

static const char *label(const Push__V1__RawProfileSeries *s, const char *name)
{
	for (size_t i = 0; i < s->n_labels; i++)
		if (strcmp(s->labels[i]->name, name) == 0)
			return s->labels[i]->value;
	return NULL;
}

static bool is_uuid4(const char *s)
{
	if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return false;
	return s[14] == '4' && strchr("89ab", s[19]);
}

/* Runs one batch through an exporter configured with `extra` and waits
 * until `want` samples are sent or dropped. */
static void run_batch(struct server *s, const char *extra, struct pf_batch *b, uint64_t want,
		      struct sh_env *env)
{
	env_start(env, s, extra);
	assert_int_equal(pf_component_emit(sh_find(env, PF_RECEIVER, "feeder"), b), PF_OK);
	assert_true(sh_wait_settled(env, "pyroscope", want, 10000));
	sh_env_shutdown(env);
}

static void test_push(void **state)
{
	struct server s = {0};
	struct sh_env env;
	struct pf_batch *b = cpu_batch("checkout", NULL);
	Push__V1__PushRequest *req;
	const Push__V1__RawProfileSeries *series;

	server_start(&s);
	run_batch(&s,
		  "    basic_auth: {username: alice, password: s3cret}\n"
		  "    tenant_id: team-a\n"
		  "    headers: {X-Custom: yes}\n"
		  "    labels: {env: prod, 9bad-name: x}\n"
		  "    resource_labels: [process.pid]\n",
		  b, 6, &env);
	assert_int_equal(
		pf_component_counter(sh_find(&env, PF_EXPORTER, "pyroscope"), PF_CTR_EXPORTER_SENT),
		6);
	sh_env_free(&env);
	assert_int_equal(s.n_reqs, 1);
	assert_string_equal(s.reqs[0].path, "POST /push.v1.PusherService/Push");
	assert_string_equal(s.reqs[0].ctype, "application/proto");
	assert_string_equal(s.reqs[0].connect, "1");
	assert_string_equal(s.reqs[0].auth, "Basic YWxpY2U6czNjcmV0"); /* alice:s3cret */
	assert_string_equal(s.reqs[0].tenant, "team-a");
	assert_string_equal(s.reqs[0].custom, "yes");
	req = push__v1__push_request__unpack(NULL, s.reqs[0].body_size, s.reqs[0].body);
	assert_non_null(req);
	assert_int_equal(req->n_series, 1);
	series = req->series[0];
	assert_string_equal(label(series, "__name__"), "process_cpu");
	assert_string_equal(label(series, "service_name"), "checkout");
	assert_string_equal(label(series, "__delta__"), "false");
	assert_string_equal(label(series, "env"), "prod");
	assert_string_equal(label(series, "process_pid"), "4242");
	assert_string_equal(label(series, "_9bad_name"), "x");
	for (size_t i = 1; i < series->n_labels; i++)
		assert_true(strcmp(series->labels[i - 1]->name, series->labels[i]->name) < 0);
	assert_int_equal(series->n_samples, 1);
	assert_true(is_uuid4(series->samples[0]->id));
	check_profile(series->samples[0]->raw_profile.data, series->samples[0]->raw_profile.len);
	push__v1__push_request__free_unpacked(req, NULL);
	pf_batch_unref(b);
	server_stop(&s);
}

/* The bytes of multipart part `name`, or NULL. */
static const uint8_t *mp_part(const struct req *r, const char *name, size_t *len)
{
	const char *bnd = strstr(r->ctype, "boundary=");
	char delim[128], disp[128];
	const uint8_t *p, *end = r->body + r->body_size;

	assert_non_null(bnd);
	snprintf(delim, sizeof(delim), "\r\n--%s", bnd + 9);
	snprintf(disp, sizeof(disp), "name=\"%s\"", name);
	p = memmem(r->body, r->body_size, disp, strlen(disp));
	if (!p)
		return NULL;
	p = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
	assert_non_null(p);
	p += 4;
	*len = (size_t)((const uint8_t *)memmem(p, (size_t)(end - p), delim, strlen(delim)) - p);
	return p;
}

static void test_ingest(void **state)
{
	struct server s = {0};
	struct sh_env env;
	struct pf_batch *b = cpu_batch(NULL, "java");
	const uint8_t *part;
	char json[512];
	size_t len = 0;

	server_start(&s);
	run_batch(&s,
		  "    api: ingest\n    bearer_token: tok\n"
		  "    labels: {region: eu-1, bad=key: v}\n",
		  b, 6, &env);
	sh_env_free(&env);
	assert_int_equal(s.n_reqs, 1);
	assert_string_equal(s.reqs[0].path, "POST /ingest");
	assert_string_equal(s.reqs[0].auth, "Bearer tok");
	assert_string_equal(s.reqs[0].tenant, "");
	assert_string_equal(s.reqs[0].connect, "");
	assert_string_equal(s.reqs[0].query_name, "unknown_service_java{bad_key=v,region=eu-1,"
						  "service_name=unknown_service:java}");
	assert_string_equal(s.reqs[0].from, "1795760100");
	assert_string_equal(s.reqs[0].until, "1795760101");
	assert_string_equal(s.reqs[0].format, "pprof");
	assert_string_equal(s.reqs[0].spy, "proflow");
	assert_string_equal(s.reqs[0].rate, "100");
	assert_true(strncmp(s.reqs[0].ctype, "multipart/form-data; boundary=", 30) == 0);
	part = mp_part(&s.reqs[0], "profile", &len);
	assert_non_null(part);
	check_profile(part, len);
	part = mp_part(&s.reqs[0], "sample_type_config", &len);
	assert_non_null(part);
	assert_true(len < sizeof(json));
	memcpy(json, part, len);
	json[len] = '\0';
	assert_string_equal(json, "{\"samples\":{\"units\":\"samples\",\"aggregation\":\"sum\"},"
				  "\"cpu\":{\"units\":\"samples\",\"aggregation\":\"sum\"}}");
	pf_batch_unref(b);
	server_stop(&s);
}

/* A 503 is retried (Retry-After: 0) and the retry delivers. */
static void test_503_retried(void **state)
{
	struct server s = {0};
	struct sh_env env;
	struct pf_batch *b = cpu_batch("checkout", NULL);
	struct pf_component *c;

	server_start(&s);
	answer(&s, 503, "text/plain", "overloaded", "0");
	answer(&s, 503, "application/json", "{\"code\":\"unavailable\",\"message\":\"try later\"}",
	       NULL);
	run_batch(&s, "", b, 6, &env);
	c = sh_find(&env, PF_EXPORTER, "pyroscope");
	assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_SENT), 6);
	assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_SEND_FAILED), 0);
	sh_env_free(&env);
	assert_int_equal(s.n_reqs, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(s.reqs[i].path, "POST /push.v1.PusherService/Push");
		assert_int_equal(s.reqs[i].body_size, s.reqs[0].body_size);
		assert_memory_equal(s.reqs[i].body, s.reqs[0].body, s.reqs[0].body_size);
	}
	pf_batch_unref(b);
	server_stop(&s);
}

/* An allocation profile of `service` (period type space/bytes, so its own
 * pprof group), of sample type type/unit. */
static uint32_t alloc_profile(struct pf_batch *b, const char *service, const char *type,
			      const char *unit)
{
	uint32_t a[2] = {pf_batch_attr_str(b, "service.name", service),
			 pf_batch_attr_int(b, "process.pid", 4242)};
	struct pf_resource r = {.attrs = pf_batch_attr_set(b, a, 2)};
	struct pf_profile_desc d = {
		.resource = pf_batch_resource(b, &r),
		.sample_type = {pf_batch_cstring(b, type), pf_batch_cstring(b, unit)},
		.period_type = {pf_batch_cstring(b, "space"), pf_batch_cstring(b, "bytes")},
		.period = 524288,
		.time_unix_nano = T0_NS,
		.duration_nano = 1000000000,
	};

	return pf_batch_add_profile(b, &d);
}

/* One series per resource and profile type, each with its own service_name. */
static void test_push_series(void **state)
{
	static const char *const alloc[] = {"main.alloc", "main.main", NULL};
	struct server s = {0};
	struct sh_env env;
	struct pf_batch *b = cpu_batch("checkout", NULL), *cart = cpu_batch("cart", NULL);
	Push__V1__PushRequest *req;
	uint32_t p0, p1;
	int seen = 0;

	assert_int_equal(pf_batch_merge(b, cart), 0);
	p0 = alloc_profile(b, "cart", "alloc_objects", "count");
	p1 = alloc_profile(b, "cart", "alloc_space", "bytes");
	sh_sample(b, p0, alloc, 3);
	sh_sample(b, p1, alloc, 4096);
	server_start(&s);
	run_batch(&s, "", b, 14, &env);
	sh_env_free(&env);
	assert_int_equal(s.n_reqs, 1);
	req = push__v1__push_request__unpack(NULL, s.reqs[0].body_size, s.reqs[0].body);
	assert_non_null(req);
	assert_int_equal(req->n_series, 3);
	for (size_t i = 0; i < req->n_series; i++) {
		const Push__V1__RawProfileSeries *ser = req->series[i];
		const char *svc = label(ser, "service_name"), *name = label(ser, "__name__");

		if (strcmp(name, "memory") == 0) {
			assert_string_equal(svc, "cart");
			seen |= 4;
			continue;
		}
		assert_string_equal(name, "process_cpu");
		check_profile(ser->samples[0]->raw_profile.data, ser->samples[0]->raw_profile.len);
		seen |= strcmp(svc, "cart") == 0 ? 2 : strcmp(svc, "checkout") == 0 ? 1 : 8;
	}
	assert_int_equal(seen, 7);
	push__v1__push_request__free_unpacked(req, NULL);
	pf_batch_unref(cart);
	pf_batch_unref(b);
	server_stop(&s);
}

/* With room for one request, the second of a batch's /ingest requests is
 * dropped and counted, not refused: refusing would resend the first. */
/* A batch whose /ingest requests do not all fit is refused whole (PF_BUSY,
 * the client retries), never half-queued with the rest dropped after the
 * client was answered OK. */
static void test_ingest_queue_full_refuses_whole_batch(void **state)
{
	static const char *const alloc[] = {"main.alloc", "main.main", NULL};
	struct server s = {0};
	struct sh_env env;
	struct pf_batch *b = cpu_batch("checkout", NULL);
	struct pf_component *c, *rx;
	uint32_t p;

	p = alloc_profile(b, "checkout", "alloc_space", "bytes");
	sh_sample(b, p, alloc, 4096);
	sh_sample(b, p, alloc + 1, 512);
	server_start(&s);
	env_start(&env, &s, "    api: ingest\n    sending_queue: {queue_size: 1}\n");
	c = sh_find(&env, PF_EXPORTER, "pyroscope");
	rx = sh_find(&env, PF_RECEIVER, "feeder");
	assert_int_equal(pf_component_emit(rx, b), PF_BUSY);
	sh_run_for(&env, 200);
	assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_SENT), 0);
	assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_ENQUEUE_FAILED), 8);
	assert_int_equal(pf_component_counter(rx, PF_CTR_RECEIVER_REFUSED), 8);
	assert_int_equal(pf_component_counter(rx, PF_CTR_RECEIVER_ACCEPTED), 0);
	sh_env_shutdown(&env);
	sh_env_free(&env);
	assert_int_equal(s.n_reqs, 0);
	pf_batch_unref(b);
	server_stop(&s);
}

/* A 429 is retried no sooner than its Retry-After says (1 s here, while the
 * backoff alone would retry after about 20 ms), on the ingest API too. */
static void test_429_retry_after(void **state)
{
	struct server s = {0};
	struct sh_env env;
	struct pf_batch *b = cpu_batch("checkout", NULL);
	struct pf_component *c;

	server_start(&s);
	answer(&s, 429, "text/plain", "ingestion rate limit exceeded", "1");
	run_batch(&s, "    api: ingest\n", b, 6, &env);
	c = sh_find(&env, PF_EXPORTER, "pyroscope");
	assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_SENT), 6);
	sh_env_free(&env);
	assert_int_equal(s.n_reqs, 2);
	assert_true(s.reqs[1].at_ms - s.reqs[0].at_ms >= 950);
	assert_string_equal(s.reqs[1].path, "POST /ingest");
	assert_string_equal(s.reqs[1].query_name, s.reqs[0].query_name);
	pf_batch_unref(b);
	server_stop(&s);
}

/* Runs a batch into a `status` answer with stderr captured; returns the log. */
static char *run_rejected(struct server *s, int status, const char *type, const char *body,
			  const char *extra, struct sh_env *env, struct pf_batch *b)
{
	char path[] = "/tmp/pf_pyroscope_log.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *log = calloc(1, 65536);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0 && log);
	unlink(path);
	answer(s, status, type, body, NULL);
	fflush(stderr);
	dup2(fd, 2);
	run_batch(s, extra, b, 6, env);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, log, 65535, 0);
	assert_true(n > 0);
	close(fd);
	return log;
}

/* A 400 or 501 is not retried: dropped, counted, and the server's message
 * logged whether it comes as Connect JSON or as plain text. */
static void test_400_dropped(void **state)
{
	static const struct {
		int status;
		const char *type, *body, *extra, *want;
	} cases[] = {
		{400, "application/json",
		 "{\"code\":\"invalid_argument\",\"message\":\"invalid labels: service_name\"}", "",
		 "HTTP 400: invalid labels: service_name"},
		{400, "text/plain; charset=utf-8", "bad metadata\n", "    api: ingest\n",
		 "HTTP 400: bad metadata"},
		/* no retry cures a 501: it was retried until max_elapsed_time */
		{501, "text/plain", "not implemented", "", "HTTP 501: not implemented"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct server s = {0};
		struct sh_env env;
		struct pf_batch *b = cpu_batch("checkout", NULL);
		struct pf_component *c;
		char *log;

		server_start(&s);
		log = run_rejected(&s, cases[i].status, cases[i].type, cases[i].body,
				   cases[i].extra, &env, b);
		c = sh_find(&env, PF_EXPORTER, "pyroscope");
		assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_SENT), 0);
		assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_SEND_FAILED), 6);
		sh_env_free(&env);
		assert_int_equal(s.n_reqs, 1);
		if (!strstr(log, cases[i].want))
			fail_msg("log lacks \"%s\":\n%s", cases[i].want, log);
		free(log);
		pf_batch_unref(b);
		server_stop(&s);
	}
}

static void test_profile_names(void **state)
{
	static const struct {
		const char *t0, *t1, *want;
	} cases[] = {
		{"samples", "cpu", "process_cpu"},	    {"samples", "wall", "wall"},
		{"alloc_objects", "alloc_space", "memory"}, {"contentions", "lock", "mutex"},
		{"contentions", "delay", "mutex"},	    {"goroutine", NULL, "goroutines"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_batch *b = pf_batch_new();
		uint32_t sel[2];
		size_t n = 0;

		sel[n++] = sh_profile(b, "x", -1, cases[i].t0, "count", T0_NS);
		if (cases[i].t1)
			sel[n++] = sh_profile(b, "x", -1, cases[i].t1, "nanoseconds", T0_NS);
		assert_string_equal(pf_pyroscope_profile_name(b, sel, n), cases[i].want);
		pf_batch_unref(b);
	}
}

static void test_config_errors(void **state)
{
	static const char *const bad[] = {
		"    endpoint: localhost:4040\n",
		"    basic_auth: {username: a}\n",
		"    basic_auth: {username: a, password: b}\n    bearer_token: t\n",
		"    api: otlp\n",
		"    headers: {\"Bad Name\": x}\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pf_error err = {0};
		char yaml[1024];
		struct pf_config *cfg;

		snprintf(yaml, sizeof(yaml),
			 "receivers:\n  feeder:\nexporters:\n  pyroscope:\n%s"
			 "service:\n  pipelines:\n    profiles:\n"
			 "      receivers: [feeder]\n      exporters: [pyroscope]\n",
			 bad[i]);
		cfg = pf_config_load_string("t.yaml", yaml, strlen(yaml), registry, &err);
		if (cfg)
			fail_msg("accepted: %s", bad[i]);
		assert_true(pf_error_isset(&err));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_ingest),
		cmocka_unit_test(test_503_retried),
		cmocka_unit_test(test_429_retry_after),
		cmocka_unit_test(test_400_dropped),
		cmocka_unit_test(test_profile_names),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_push_series),
		cmocka_unit_test(test_ingest_queue_full_refuses_whole_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
