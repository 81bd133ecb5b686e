// SPDX-License-Identifier: Apache-2.0
/* unit.grpc_server: starting and closing the gRPC server, also when a step of its start fails. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <uv.h>

#include <cmocka.h>

#include "transport/grpc_server.h"

/* uv_thread_create fails while this is set (the test links with
 * -Wl,--wrap=uv_thread_create): a process out of threads, on demand. */
static bool thread_create_fails;

int __real_uv_thread_create(uv_thread_t *tid, uv_thread_cb entry, void *arg);

int __wrap_uv_thread_create(uv_thread_t *tid, uv_thread_cb entry, void *arg)
{
	if (thread_create_fails)
		return UV_EAGAIN;
	return __real_uv_thread_create(tid, entry, arg);
}

static void on_call(void *arg, const struct pf_grpc_request *req, struct pf_grpc_response *resp)
{
	resp->code = PF_GRPC_UNIMPLEMENTED;
}

static void on_closed(void *arg)
{
	(*(int *)arg)++;
}

static struct pf_grpc_server *server(uv_loop_t *loop)
{
	struct pf_error err = {0};
	struct pf_grpc_server *s = pf_grpc_server_create(loop, "127.0.0.1:0", NULL, 1024, 2, &err);

	assert_non_null(s);
	assert_int_equal(pf_grpc_server_method(s, "/t.S/M", on_call, NULL), 0);
	return s;
}

static void test_start_and_close(void **state)
{
	uv_loop_t loop;
	struct pf_error err = {0};
	int closed = 0;

	assert_int_equal(uv_loop_init(&loop), 0);
	struct pf_grpc_server *s = server(&loop);
	assert_int_equal(pf_grpc_server_start(s, &err), 0);
	assert_int_not_equal(pf_grpc_server_port(s), 0);
	pf_grpc_server_close(s, on_closed, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(closed, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* The async handle was registered with libuv when the thread could not be
 * made: the server must outlive its close callback (it used to be freed at
 * once, and libuv then read the freed handle). */
static void test_thread_create_failure_frees_after_the_handle_closed(void **state)
{
	uv_loop_t loop;
	struct pf_error err = {0};
	int closed = 0;

	assert_int_equal(uv_loop_init(&loop), 0);
	struct pf_grpc_server *s = server(&loop);
	thread_create_fails = true;
	assert_int_equal(pf_grpc_server_start(s, &err), UV_EAGAIN);
	thread_create_fails = false;
	assert_non_null(strstr(err.msg, "uv_thread_create"));
	assert_int_equal(pf_grpc_server_port(s), 0);
	pf_grpc_server_close(s, on_closed, &closed);
	assert_int_equal(closed, 0); /* the handle is still libuv's */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(closed, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* A failed start with nothing registered yet frees at once; a second
 * server then starts on the same loop as if nothing happened. */
static void test_bad_address_then_a_good_start(void **state)
{
	uv_loop_t loop;
	struct pf_error err = {0};
	int closed = 0;

	assert_int_equal(uv_loop_init(&loop), 0);
	struct pf_grpc_server *bad =
		pf_grpc_server_create(&loop, "256.0.0.1:1", NULL, 1024, 2, &err);
	assert_non_null(bad);
	assert_true(pf_grpc_server_start(bad, &err) < 0);
	pf_grpc_server_close(bad, on_closed, &closed);
	assert_int_equal(closed, 1);
	struct pf_grpc_server *s = server(&loop);
	assert_int_equal(pf_grpc_server_start(s, &err), 0);
	pf_grpc_server_close(s, on_closed, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(closed, 2);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_and_close),
		cmocka_unit_test(test_thread_create_failure_frees_after_the_handle_closed),
		cmocka_unit_test(test_bad_address_then_a_good_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
