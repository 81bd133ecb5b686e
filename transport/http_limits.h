/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP server's limits against slow and greedy clients, and their option rows (apart, so that configs embed them without the server's API). */
#ifndef PF_HTTP_LIMITS_H
#define PF_HTTP_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "core/option.h"

/*
 * Limits against slow and greedy clients. The server accepts connections
 * itself: past max_connections, or past max_connections_per_client from one
 * client address, a new connection is answered 503 with Retry-After and
 * closed (HTTPS: closed). Deadlines are absolute, not reset by each byte: a
 * request's headers must be complete read_header_timeout after the
 * connection was accepted, its body read_timeout after; on a kept-alive
 * connection both run from the end of the previous request plus
 * idle_timeout. idle_timeout also bounds silence in any phase. Past a
 * deadline the connection is closed. Durations in ns (PF_OPT_DURATION).
 */
struct pf_http_server_limits {
	int64_t read_header_timeout;
	int64_t read_timeout;
	int64_t idle_timeout;
	int64_t max_connections;
	int64_t max_connections_per_client; /* 0: no limit */
};

#define PF_HTTP_READ_HEADER_TIMEOUT_S 10
#define PF_HTTP_READ_TIMEOUT_S	      60
#define PF_HTTP_IDLE_TIMEOUT_S	      60
#define PF_HTTP_MAX_CONNECTIONS	      1024
#define PF_HTTP_MAX_PER_CLIENT	      128

#define PF_HTTP_STR_(x) #x
#define PF_HTTP_STR(x)	PF_HTTP_STR_(x)

/* The option rows of pf_http_server_limits for a component whose config
 * struct `cfg_type` holds one at `cfg_member` (the keys sit beside the others, as in
 * the Collector's confighttp). Defaults are the PF_HTTP_* values above. */
/* clang-format off */
#define PF_HTTP_LIMIT_ROW(cfg_type, cfg_member, key, otype, def_, lo, hi, field, text)                    \
	{.name = key, .type = otype, .def = def_, .min = lo, .max = hi,                           \
	 .offset = offsetof(cfg_type, cfg_member) + offsetof(struct pf_http_server_limits, field),        \
	 .doc = text}
#define PF_HTTP_SERVER_LIMIT_ROWS(cfg_type, cfg_member)                                                    \
	PF_HTTP_LIMIT_ROW(cfg_type, cfg_member, "read_header_timeout", PF_OPT_DURATION,                   \
		PF_HTTP_STR(PF_HTTP_READ_HEADER_TIMEOUT_S) "s", 1e6, 3600e9, read_header_timeout, \
		"A request's headers must be complete this long after the connection opened "     \
		"(absolute, not reset by each byte; else the connection is closed)"),              \
	PF_HTTP_LIMIT_ROW(cfg_type, cfg_member, "read_timeout", PF_OPT_DURATION,                          \
		PF_HTTP_STR(PF_HTTP_READ_TIMEOUT_S) "s", 1e6, 3600e9, read_timeout,               \
		"A request's body must be complete this long after the connection opened "        \
		"(absolute)"),                                                                     \
	PF_HTTP_LIMIT_ROW(cfg_type, cfg_member, "idle_timeout", PF_OPT_DURATION,                          \
		PF_HTTP_STR(PF_HTTP_IDLE_TIMEOUT_S) "s", 1e9, 3600e9, idle_timeout,               \
		"A kept-alive connection waits this long for its next request; also the longest " \
		"silence in any phase"),                                                           \
	PF_HTTP_LIMIT_ROW(cfg_type, cfg_member, "max_connections", PF_OPT_INT,                            \
		PF_HTTP_STR(PF_HTTP_MAX_CONNECTIONS), 1, 65536, max_connections,                  \
		"Connections open at once; beyond, new ones get 503 with Retry-After"),           \
	PF_HTTP_LIMIT_ROW(cfg_type, cfg_member, "max_connections_per_client", PF_OPT_INT,                 \
		PF_HTTP_STR(PF_HTTP_MAX_PER_CLIENT), 0, 65536, max_connections_per_client,        \
		"Connections open at once from one client address (0: no limit); beyond, new "   \
		"ones get 503 with Retry-After")
/* clang-format on */

#endif
