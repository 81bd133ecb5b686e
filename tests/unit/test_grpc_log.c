// SPDX-License-Identifier: Apache-2.0
/* grpc core's log lines come out in proflow's format, at the configured level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/support/log.h>

#include "transport/grpc_log.h"

/* Runs fn with stderr sent to a temporary file; returns what it wrote (malloc'd). */
static char *stderr_of(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *text = calloc(1, 4096);

	assert_non_null(tmp);
	assert_true(saved >= 0);
	assert_non_null(text);
	fflush(stderr);
	assert_int_equal(dup2(fileno(tmp), STDERR_FILENO), STDERR_FILENO);
	fn();
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	rewind(tmp);
	size_t n = fread(text, 1, 4095, tmp);
	text[n] = '\0';
	fclose(tmp);
	return text;
}

static void log_three(void)
{
	gpr_log(GPR_ERROR, "Handshake failed with fatal error %s", "SSL_ERROR_SSL");
	gpr_log(GPR_INFO, "an info line");
	gpr_log(GPR_DEBUG, "a debug line");
}

static void errors_become_warnings_at_info(void **state)
{
	(void)state;
	pf_grpc_log_route(PF_LOG_INFO);
	char *out = stderr_of(log_three);
	assert_non_null(
		strstr(out, " warn grpc: Handshake failed with fatal error SSL_ERROR_SSL ("));
	assert_null(strstr(out, "an info line"));
	assert_null(strstr(out, "a debug line"));
	assert_null(strstr(out, "E1")); /* not grpc's own "E1127 ..." format */
	free(out);
}

static void info_lines_at_debug(void **state)
{
	(void)state;
	pf_grpc_log_route(PF_LOG_DEBUG);
	char *out = stderr_of(log_three);
	assert_non_null(strstr(out, " warn grpc: Handshake failed"));
	assert_non_null(strstr(out, " debug grpc: an info line"));
	assert_null(strstr(out, "a debug line"));
	free(out);
}

static void nothing_at_error(void **state)
{
	(void)state;
	pf_grpc_log_route(PF_LOG_ERROR);
	char *out = stderr_of(log_three);
	assert_string_equal(out, "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(errors_become_warnings_at_info),
		cmocka_unit_test(info_lines_at_debug),
		cmocka_unit_test(nothing_at_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
