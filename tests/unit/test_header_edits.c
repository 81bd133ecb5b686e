// SPDX-License-Identifier: Apache-2.0
/* unit.header_edits: the stored block round-trips, the writer keeps to the bounds the reader checks, hostile blocks are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sending/header_edits.h"

static void test_round_trip(void **state)
{
	static const struct pf_header_edit edits[] = {
		{PF_HEADER_UPSERT, "X-Scope-OrgID", "tenant-a"},
		{PF_HEADER_DELETE, "x-gone", ""},
		{PF_HEADER_INSERT, "Authorization", "Bearer t"},
	};
	static const char *const in[] = {"Content-Type: a", "X-Gone: 1", "authorization: keep"};
	uint8_t *buf;
	size_t size, n;
	ssize_t block;
	char **lines;

	(void)state;
	assert_int_equal(pf_header_edits_wrap(edits, 3, "BODY", 4, &buf, &size), 0);
	block = pf_header_edits_len(buf, size);
	assert_true(block > 0);
	assert_int_equal(size - (size_t)block, 4);
	assert_memory_equal(buf + block, "BODY", 4);
	assert_int_equal(pf_header_edits_apply(buf, (size_t)block, in, 3, &lines, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(lines[0], "Content-Type: a");
	assert_string_equal(lines[1], "authorization: keep"); /* insert leaves it */
	assert_string_equal(lines[2], "X-Scope-OrgID: tenant-a");
	pf_header_lines_free(lines, n);
	free(buf);
	/* no edits: a block all the same, the payload after it */
	assert_int_equal(pf_header_edits_wrap(NULL, 0, "P", 1, &buf, &size), 0);
	assert_int_equal(pf_header_edits_len(buf, size), (ssize_t)size - 1);
	free(buf);
}

/* What the reader would refuse, the writer never writes. */
static void test_writer_bounds(void **state)
{
	char long_name[PF_HEADER_MAX_NAME + 2];
	struct pf_header_edit bad[] = {
		{PF_HEADER_UPSERT, "", "v"},	    {PF_HEADER_UPSERT, "X-A", "v\r\nX-Injected: 1"},
		{PF_HEADER_UPSERT, "X:A", "v"},	    {PF_HEADER_DELETE + 1, "X-A", "v"},
		{PF_HEADER_UPSERT, long_name, "v"},
	};
	struct pf_header_edit many[PF_HEADER_MAX_EDITS + 1];
	uint8_t *buf = NULL;
	size_t size;

	(void)state;
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pf_header_edits_wrap(&bad[i], 1, NULL, 0, &buf, &size) != -EINVAL)
			fail_msg("edit %zu written", i);
	for (size_t i = 0; i < PF_HEADER_MAX_EDITS + 1; i++)
		many[i] = (struct pf_header_edit){PF_HEADER_UPSERT, "X-A", "v"};
	assert_int_equal(pf_header_edits_wrap(many, PF_HEADER_MAX_EDITS + 1, NULL, 0, &buf, &size),
			 -EINVAL);
	assert_int_equal(pf_header_edits_wrap(many, PF_HEADER_MAX_EDITS, NULL, 0, &buf, &size), 0);
	free(buf);
}

static void test_hostile_blocks(void **state)
{
	static const char *const in[] = {"A: b"};
	uint8_t block[64];
	char **lines;
	size_t n;

	(void)state;
	assert_int_equal(pf_header_edits_len("\x0a\x02hi", 4), 0); /* a plain payload */
	assert_int_equal(pf_header_edits_len("\xffPF", 3), 0);
	assert_int_equal(pf_header_edits_len("\xffPFH\x40\0\0\0", 8), -EINVAL);
	memcpy(block, "\xffPFH", 4);
	/* length 64 > size 20 */
	memcpy(block + 4, "\x40\0\0\0\x01\0", 6);
	assert_int_equal(pf_header_edits_len(block, 20), -EINVAL);
	/* one edit whose name runs past the end */
	memcpy(block + 4, "\x10\0\0\0\x01\0", 6);
	memcpy(block + 10, "\x02\x30\0AB", 5);
	assert_int_equal(pf_header_edits_len(block, 16), 16);
	assert_int_equal(pf_header_edits_apply(block, 16, in, 1, &lines, &n), -EINVAL);
	/* a header injected with CR LF in the value */
	memcpy(block + 4, "\x14\0\0\0\x01\0", 6);
	memcpy(block + 10, "\x02\x01\0X\x02\0\0\0\r\n", 10);
	assert_int_equal(pf_header_edits_apply(block, 20, in, 1, &lines, &n), -EINVAL);
	/* an unknown action */
	memcpy(block + 10, "\x09\x01\0X\x02\0\0\0ok", 10);
	assert_int_equal(pf_header_edits_apply(block, 20, in, 1, &lines, &n), -EINVAL);
	/* too many edits */
	memcpy(block + 4, "\x0a\0\0\0\xff\xff", 6);
	assert_int_equal(pf_header_edits_apply(block, 10, in, 1, &lines, &n), -EINVAL);
}

/* A stored edit whose name or value holds a NUL is corrupt: the line it
 * makes would stop at the NUL, so an upsert of "A\0" added a second "A"
 * header instead of replacing it. */
static void test_stored_edit_with_nul_refused(void **state)
{
	static const char *const in[] = {"A: b"};
	uint8_t block[32];
	char **lines;
	size_t n;

	(void)state;
	memcpy(block, "\xffPFH\x14\0\0\0\x01\0", 10);
	memcpy(block + 10, "\x02\x02\0A\0\x01\0\0\0v", 10);
	assert_int_equal(pf_header_edits_apply(block, 20, in, 1, &lines, &n), -EINVAL);
	memcpy(block + 10, "\x02\x01\0A\x02\0\0\0v\0", 10);
	assert_int_equal(pf_header_edits_apply(block, 20, in, 1, &lines, &n), -EINVAL);
	/* the same edit without the NUL replaces the header */
	memcpy(block + 10, "\x02\x01\0A\x02\0\0\0vw", 10);
	assert_int_equal(pf_header_edits_apply(block, 20, in, 1, &lines, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(lines[0], "A: vw");
	pf_header_lines_free(lines, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_writer_bounds),
		cmocka_unit_test(test_hostile_blocks),
		cmocka_unit_test(test_stored_edit_with_nul_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
