// SPDX-License-Identifier: Apache-2.0
/* A loopback HTTP client for tests of servers on the loop: libcurl on a thread while the test's loop serves (the server side: http_fake.h). */
#include "test_http_peer.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct hp_call *h = arg;
	uint8_t *grown = realloc(h->resp, h->resp_len + size * n + 1);

	assert_non_null(grown);
	h->resp = grown;
	memcpy(h->resp + h->resp_len, p, size * n);
	h->resp_len += size * n;
	h->resp[h->resp_len] = 0;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hp_call *h = arg;
	size_t len = size * n;
	char line[256];

	snprintf(line, sizeof(line), "%.*s", (int)len, p);
	line[strcspn(line, "\r\n")] = 0;
	if (strncasecmp(line, "Retry-After: ", 13) == 0)
		snprintf(h->retry_after, sizeof(h->retry_after), "%.31s", line + 13);
	if (strncasecmp(line, "Content-Type: ", 14) == 0)
		snprintf(h->ctype, sizeof(h->ctype), "%.127s", line + 14);
	return len;
}

/* Hands the body to libcurl, counting, and stalls at pause_at until released. */
static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct hp_call *h = arg;
	size_t sent = atomic_load(&h->sent);
	size_t want = size * n, left = h->body_len - sent;

	for (int i = 0; h->pause_at && sent == h->pause_at && i < 20000; i++) {
		if (atomic_load(&h->release))
			break;
		uv_sleep(1);
	}
	if (h->pause_at && sent < h->pause_at && sent + want > h->pause_at)
		want = h->pause_at - sent;
	if (want > left)
		want = left;
	memcpy(buf, (const char *)h->body + sent, want);
	atomic_store(&h->sent, sent + want);
	return want;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value)
{
	struct curl_slist *more;
	char *line;

	if (!value)
		return list;
	/* Any length: tokens of thousands of characters are tested. */
	if (asprintf(&line, "%s: %s", name, value) < 0)
		return list;
	more = curl_slist_append(list, line);
	free(line);
	return more ? more : list;
}

static void client_thread(void *arg)
{
	struct hp_call *h = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	bool get = h->method && strcmp(h->method, "GET") == 0;

	hdrs = add_header(hdrs, "Content-Type", h->content_type);
	hdrs = add_header(hdrs, "Content-Encoding", h->encoding);
	hdrs = add_header(hdrs, "Authorization", h->auth);
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, h->url);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (h->cert_file) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, h->method ? h->method : "POST");
	if (!get) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	h->done_ns = uv_hrtime();
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	atomic_store(&h->done, true);
}

void hp_call_start(struct hp_call *h)
{
	assert_int_equal(uv_thread_create(&h->thread, client_thread, h), 0);
}

void hp_call_wait(uv_loop_t *loop, struct hp_call *h)
{
	while (!atomic_load(&h->done))
		uv_run(loop, UV_RUN_NOWAIT), uv_sleep(1);
	uv_thread_join(&h->thread);
}

void hp_call(uv_loop_t *loop, struct hp_call *h)
{
	hp_call_start(h);
	hp_call_wait(loop, h);
}

void hp_call_free(struct hp_call *h)
{
	free(h->resp);
	h->resp = NULL;
	h->resp_len = 0;
}
