// SPDX-License-Identifier: Apache-2.0
/* Fuzzes a sending-queue record read back from disk: the file's checks, then what the exporters read of its payload. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "sending/otlp_export.h"
#include "exporters/pyroscope/pyroscope.h"
#include "pipeline/auth.h"
#include "sending/queue_file.h"

#define HEADER_SIZE 32 /* queue_file.c's record header */

static const char *const lines[] = {"Content-Type: application/x-protobuf",
				    "Authorization: Bearer token"};

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s\n", what);
		abort();
	}
}

static int inside(const void *p, size_t n, const uint8_t *base, size_t size)
{
	const uint8_t *q = p;

	return q >= base && q <= base + size && n <= (size_t)(base + size - q);
}

/* What an exporter's send reads in front of its wire bytes: the header
 * edits (otlp, otlphttp, pyroscope), then a pyroscope /ingest payload. */
static void read_sendable(const uint8_t *data, size_t size)
{
	const struct pf_auth_client no_auth = {0}; /* a send without an authenticator */
	struct pf_pyroscope_ingest v;
	char **out = NULL;
	size_t n_out = 0, skip = 0;

	if (pf_auth_client_headers(&no_auth, data, size, lines, 2, &out, &n_out, &skip) < 0)
		return;
	check(skip <= size, "header edits longer than the payload");
	check(n_out <= 2 + PF_HEADER_MAX_EDITS, "more header lines than edits allow");
	for (size_t i = 0; out && i < n_out; i++)
		check(strchr(out[i], ':') && !strpbrk(out[i], "\r\n"),
		      "a header line is malformed");
	pf_header_lines_free(out, n_out);
	if (pf_pyroscope_ingest_parse(data + skip, size - skip, &v) == 0) {
		check(inside(v.query, v.query_len, data, size), "ingest query out of the payload");
		check(inside(v.config, v.config_len, data, size),
		      "ingest config out of the payload");
		check(inside(v.profile, v.profile_len, data, size),
		      "ingest profile out of the payload");
	}
}

/* A payload the queue hands back: OTLP exporters split off their header. */
static void read_payload(const uint8_t *p, size_t len)
{
	struct pf_otlpexp_payload hdr;
	const uint8_t *wire;
	size_t wire_size;

	pf_otlpexp_payload(p, len, &hdr, &wire, &wire_size);
	check(inside(wire, wire_size, p, len) && wire + wire_size == p + len,
	      "OTLP payload split out of bounds");
	read_sendable(wire, wire_size);
	read_sendable(p, len);
}

/* The same bytes as a file in a queue directory: the reader must agree. */
static void read_as_file(const uint8_t *data, size_t size, uint64_t items, int parsed)
{
	char dir[] = "/tmp/pf-fuzz-queue.XXXXXX", path[128];
	void *got = NULL;
	size_t got_size = 0;
	FILE *f;
	int rc;

	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/q-%016x-%llu.req", dir, 1u, (unsigned long long)items);
	f = fopen(path, "wb");
	if (f && fwrite(data, 1, size, f) == size && fclose(f) == 0) {
		f = NULL;
		rc = pf_queue_file_read(dir, 1, items, &got, &got_size);
		check((rc == 0) == (parsed == 0), "file reader and parser disagree");
		check(rc != 0 || (got_size + HEADER_SIZE == size &&
				  memcmp(got, data + HEADER_SIZE, got_size) == 0),
		      "file reader returned other bytes");
		free(got);
	}
	if (f)
		fclose(f);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const void *payload;
	uint8_t *fixed;
	uint64_t items = 0;
	size_t len;
	int rc;

	/* the name's sample count, as the queue lists it: the header's own */
	for (int i = 0; size >= 16 && i < 8; i++)
		items |= (uint64_t)data[8 + i] << (8 * i);
	rc = pf_queue_file_parse(data, size, items, &payload, &len);
	if (rc == 0) {
		check(inside(payload, len, data, size), "payload out of the file");
		read_payload(payload, len);
	}
	check(pf_queue_file_parse(data, size, items + 1, &payload, &len) != 0,
	      "a record whose name tells another sample count was taken");
	read_as_file(data, size, items, rc);
	/* the same record with a right checksum, to get past it */
	if (size < HEADER_SIZE)
		return 0;
	fixed = malloc(size);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	uint64_t h = XXH64(fixed + HEADER_SIZE, size - HEADER_SIZE, 0);
	for (int i = 0; i < 8; i++)
		fixed[24 + i] = (uint8_t)(h >> (8 * i));
	if (pf_queue_file_parse(fixed, size, items, &payload, &len) == 0) {
		check(len == size - HEADER_SIZE, "payload length is not the file's");
		read_payload(payload, len);
	}
	free(fixed);
	return 0;
}
