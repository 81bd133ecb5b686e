// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the header edits block an authenticator stores in front of a queued payload, as an exporter applies it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "pipeline/auth.h"

static const char *const lines[] = {"Content-Type: application/x-protobuf",
				    "Authorization: Bearer token", "X-Scope-OrgID: tenant-a",
				    "x-scope-orgid: tenant-b"};
#define N_LINES (sizeof(lines) / sizeof(lines[0]))

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s\n", what);
		abort();
	}
}

static void check_lines(char **out, size_t n)
{
	check(n <= N_LINES + PF_HEADER_MAX_EDITS, "more lines than edits allow");
	for (size_t i = 0; out && i < n; i++)
		check(out[i] && strchr(out[i], ':') && !strpbrk(out[i], "\r\n"),
		      "a header line is malformed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct pf_auth_client no_auth = {0}; /* a send without an authenticator */
	ssize_t block = pf_header_edits_len(data, size);
	char **out = NULL;
	size_t n_out = 0, skip = 0;
	int rc;

	check(block <= (ssize_t)size, "block longer than its input");
	if (block > 0) {
		rc = pf_header_edits_apply(data, (size_t)block, lines, N_LINES, &out, &n_out);
		if (rc == 0) {
			check_lines(out, n_out);
			pf_header_lines_free(out, n_out);
		}
	}
	/* the whole input as a block, whatever its length field says */
	if (pf_header_edits_apply(data, size, lines, N_LINES, &out, &n_out) == 0) {
		check_lines(out, n_out);
		pf_header_lines_free(out, n_out);
	}
	rc = pf_auth_client_headers(&no_auth, data, size, lines, N_LINES, &out, &n_out, &skip);
	check(block >= 0 || rc == -EINVAL, "a corrupt block was applied");
	check(rc != -EINVAL || block != 0, "a payload without a block was called corrupt");
	if (rc == 0) {
		check(skip == (block > 0 ? (size_t)block : 0), "payload starts elsewhere");
		check_lines(out, n_out);
		pf_header_lines_free(out, n_out);
	}
	return 0;
}
