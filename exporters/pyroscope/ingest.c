// SPDX-License-Identifier: Apache-2.0
/* /ingest requests: the query (name=app{k=v}, from, until), sample_type_config JSON and the multipart body. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pprof/pprof.h"
#include "pyroscope.h"

/* What a stored ingest payload starts with; the layout is
 * magic, u32 query length, query, u32 config length, config, profile. */
#define MAGIC	  "PFI1"
#define MAGIC_LEN 4
#define NS	  ((uint64_t)1000000000)

/* A growing text or byte buffer. */
struct buf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->n + n + 1)
			cap *= 2;
		p = calloc(cap, 1);
		if (!p) {
			b->oom = true;
			return;
		}
		if (b->n)
			memcpy(p, b->p, b->n);
		free(b->p);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_u32(struct buf *b, uint32_t v)
{
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	buf_add(b, le, sizeof(le));
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static void buf_urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			buf_add(b, s, 1);
		} else {
			char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};

			buf_add(b, esc, 3);
		}
	}
}

/* Appends s with the characters Pyroscope's name syntax reserves replaced:
 * for the app name everything outside [A-Za-z0-9_.-/], for label values
 * the separators {},= and control characters. */
static void buf_name_part(struct buf *b, const char *s, bool app)
{
	for (; *s; s++) {
		char ch = *s;
		bool ok = app ? (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
					  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
					  ch == '-' || ch == '/'
			      : !strchr("{},=", ch) && (unsigned char)ch >= 0x20;

		buf_add(b, ok ? &ch : "_", 1);
	}
}

static void buf_json_str(struct buf *b, const char *s)
{
	buf_str(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[8];

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			buf_add(b, esc, 2);
		} else if (ch < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			buf_str(b, esc);
		} else {
			buf_add(b, s, 1);
		}
	}
	buf_str(b, "\"");
}

/* Pyroscope's `units` for one sample type of a group named `name`. */
static const char *units_of(const char *name, const char *type, const char *unit)
{
	if (strcmp(unit, "bytes") == 0)
		return "bytes";
	if (strstr(type, "goroutine"))
		return "goroutines";
	if (strcmp(name, "mutex") == 0 || strcmp(name, "block") == 0)
		return strcmp(unit, "nanoseconds") == 0 ? "lock_nanoseconds" : "lock_samples";
	if (strstr(type, "objects"))
		return "objects";
	return "samples";
}

static void sample_type_config(struct buf *j, const struct pf_batch *b, const uint32_t *sel,
			       size_t n)
{
	const char *name = pf_pyroscope_profile_name(b, sel, n);

	buf_str(j, "{");
	for (size_t i = 0; i < n; i++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, sel[i]);
		const char *type = pf_batch_str(b, d->sample_type.type);
		const char *unit = pf_batch_str(b, d->sample_type.unit);

		if (i)
			buf_str(j, ",");
		buf_json_str(j, type);
		buf_str(j, ":{\"units\":");
		buf_json_str(j, units_of(name ? name : "", type, unit));
		buf_str(j, ",\"aggregation\":\"sum\"}");
	}
	buf_str(j, "}");
}

/* The query string of one group. */
static int ingest_query(struct buf *q, const struct pf_batch *b, const uint32_t *sel, size_t n,
			const struct pf_pyroscope_config *cfg, uint64_t now_ns)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(b, sel[0]);
	struct pf_pyroscope_labels labels;
	struct buf name = {0};
	uint64_t from = d->time_unix_nano ? d->time_unix_nano : now_ns;
	uint64_t until = from + d->duration_nano;
	uint64_t rate = 100;
	char num[160];
	bool first = true;
	int err;

	err = pf_pyroscope_series_labels(b, sel, n, cfg, true, &labels);
	if (err)
		return err;
	buf_name_part(&name, pf_pyroscope_label_get(&labels, "service_name"), true);
	buf_str(&name, "{");
	for (size_t i = 0; i < labels.n; i++) {
		if (strcmp(labels.v[i].name, "__name__") == 0)
			continue; /* pprof's sample types name the profile */
		if (!first)
			buf_str(&name, ",");
		first = false;
		buf_name_part(&name, labels.v[i].name, false);
		buf_str(&name, "=");
		buf_name_part(&name, labels.v[i].value, false);
	}
	buf_str(&name, "}");
	if (strcmp(pf_batch_str(b, d->period_type.unit), "nanoseconds") == 0 && d->period > 0 &&
	    d->period <= (int64_t)NS)
		rate = (NS + (uint64_t)d->period / 2) / (uint64_t)d->period;
	buf_str(q, "name=");
	if (!name.oom)
		buf_urlenc(q, name.p);
	snprintf(num, sizeof(num),
		 "&from=%" PRIu64 "&until=%" PRIu64
		 "&format=pprof&spyName=proflow&sampleRate=%" PRIu64,
		 from / NS, (until + NS - 1) / NS, rate);
	buf_str(q, num);
	err = name.oom || q->oom ? -ENOMEM : 0;
	free(name.p);
	pf_pyroscope_labels_clear(&labels);
	return err;
}

static int ingest_group(const struct pf_batch *b, const uint32_t *sel, size_t n,
			const struct pf_pyroscope_config *cfg, uint64_t now_ns,
			pf_pyroscope_ingest_fn emit, void *arg, uint64_t samples)
{
	struct buf q = {0}, j = {0}, out = {0};
	uint8_t *pprof = NULL;
	size_t pprof_size = 0;
	int err;

	err = ingest_query(&q, b, sel, n, cfg, now_ns);
	if (err)
		goto out_free;
	sample_type_config(&j, b, sel, n);
	err = pf_pprof_encode(b, sel, n, true, &pprof, &pprof_size);
	if (err)
		goto out_free;
	buf_add(&out, MAGIC, MAGIC_LEN);
	buf_u32(&out, (uint32_t)q.n);
	buf_add(&out, q.p, q.n);
	buf_u32(&out, (uint32_t)j.n);
	buf_add(&out, j.p, j.n);
	buf_add(&out, pprof, pprof_size);
	if (j.oom || out.oom) {
		err = -ENOMEM;
		goto out_free;
	}
	err = emit(arg, (uint8_t *)out.p, out.n, samples);
	if (err == 0)
		out.p = NULL; /* emit owns it */
	else if (err > 0)
		err = 0; /* refused: freed here, and on with the next group */

out_free:
	free(out.p);
	free(pprof);
	free(j.p);
	free(q.p);
	return err;
}

/* One batch's /ingest encoding, group by group. */
struct ingest_walk {
	const struct pf_batch *b;
	const struct pf_pyroscope_config *cfg;
	uint64_t now_ns;
	pf_pyroscope_ingest_fn emit;
	void *arg;
};

/* pf_pprof_group_fn: one /ingest request per group with samples. */
static int ingest_next_group(void *arg, const uint32_t *sel, size_t n)
{
	struct ingest_walk *x = arg;
	uint64_t samples = pf_batch_sample_count_of(x->b, sel, n);

	return samples ? ingest_group(x->b, sel, n, x->cfg, x->now_ns, x->emit, x->arg, samples)
		       : 0;
}

int pf_pyroscope_encode_ingest(const struct pf_batch *b, const struct pf_pyroscope_config *cfg,
			       uint64_t now_ns, pf_pyroscope_ingest_fn emit, void *arg)
{
	struct ingest_walk x = {b, cfg, now_ns, emit, arg};

	return pf_pprof_each_group(b, ingest_next_group, &x);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int pf_pyroscope_ingest_parse(const uint8_t *data, size_t size, struct pf_pyroscope_ingest *v)
{
	size_t off = MAGIC_LEN + 4;

	if (size < off || memcmp(data, MAGIC, MAGIC_LEN) != 0)
		return -EINVAL;
	v->query_len = get_u32(data + MAGIC_LEN);
	if (v->query_len > size - off || memchr(data + off, '\0', v->query_len))
		return -EINVAL;
	v->query = (const char *)data + off;
	off += v->query_len;
	if (size - off < 4)
		return -EINVAL;
	v->config_len = get_u32(data + off);
	off += 4;
	if (v->config_len > size - off)
		return -EINVAL;
	v->config = data + off;
	off += v->config_len;
	v->profile = data + off;
	v->profile_len = size - off;
	return 0;
}

static void part(struct buf *m, const char *boundary, const char *name, const void *data,
		 size_t size)
{
	buf_str(m, "--");
	buf_str(m, boundary);
	buf_str(m, "\r\nContent-Disposition: form-data; name=\"");
	buf_str(m, name);
	buf_str(m, "\"; filename=\"");
	buf_str(m, name);
	buf_str(m, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
	buf_add(m, data, size);
	buf_str(m, "\r\n");
}

int pf_pyroscope_multipart(const struct pf_pyroscope_ingest *v, const char *boundary, uint8_t **out,
			   size_t *out_size)
{
	struct buf m = {0};

	part(&m, boundary, "profile", v->profile, v->profile_len);
	if (v->config_len)
		part(&m, boundary, "sample_type_config", v->config, v->config_len);
	buf_str(&m, "--");
	buf_str(&m, boundary);
	buf_str(&m, "--\r\n");
	if (m.oom) {
		free(m.p);
		return -ENOMEM;
	}
	*out = (uint8_t *)m.p;
	*out_size = m.n;
	return 0;
}
