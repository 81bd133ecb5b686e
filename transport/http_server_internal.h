/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP server's private layout, shared by its request side (http_server.c) and its connection side (http_conns.c). */
#ifndef PF_HTTP_SERVER_INTERNAL_H
#define PF_HTTP_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "transport/http_server.h"

#define PF_HTTP_MAX_ROUTES     16
#define PF_HTTP_CLIENT_BUCKETS 256

struct pf_http_route {
	char *method; /* NULL: any */
	char *path;
	pf_http_handler_fn handler;
	pf_http_check_fn check; /* NULL: none */
	void *arg;
};

/* Where a connection is in its current request; each phase has its deadline. */
enum pf_http_phase {
	PF_HTTP_HEADERS, /* reading the request line and headers */
	PF_HTTP_BODY,	 /* headers complete, reading the body */
	PF_HTTP_HANDLED, /* request complete: handled, deferred or answering */
};

/* Connections open from one client address. */
struct pf_http_client {
	struct pf_http_client *next; /* in its bucket */
	uint8_t addr[16];	     /* IPv4 addresses as v4-mapped IPv6 */
	size_t n;
};

/* The watch on a connection whose request line is not complete yet: it is
 * not MHD's until the line checks out. Freed in its close callback. */
struct pf_http_gate {
	uv_poll_t poll; /* first: the close callback frees the gate; data: the gate */
	struct pf_http_server *s;
	struct pf_http_conn *conn;
	bool waiting; /* a partial line: re-checked by the tick, not the poll */
};

/* One accepted connection, from accept until MHD reports it closed. */
struct pf_http_conn {
	struct pf_http_conn *prev, *next; /* in the server's list */
	struct pf_http_client *client;
	struct pf_http_gate *gate; /* before MHD has it (plain HTTP only) */
	int fd;
	bool attached; /* MHD reported it started: *socket_context points here */
	bool cut;      /* shut down past a deadline */
	enum pf_http_phase phase;
	uint64_t since_ms; /* uv_now when its current request could start */
	uint64_t grace_ms; /* added to both deadlines: idle wait of a kept-alive one */
};

struct pf_http_server {
	uv_loop_t *loop;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	size_t max_body;
	struct pf_http_route routes[PF_HTTP_MAX_ROUTES];
	size_t n_routes;
	struct pf_http_server_limits limits;

	struct MHD_Daemon *daemon;
	uv_poll_t poll; /* MHD's epoll fd */
	uv_timer_t timer;
	uv_timer_t flush; /* closing: the last deferred replies get this long */
	unsigned port;
	int open_handles;
	bool closing;
	pf_http_closed_fn done;
	void *done_arg;
	char *tls_cert, *tls_key, *tls_ca; /* PEM; HTTPS when tls_cert is set */
	size_t budget;			   /* bytes of bodies held at once; 0: no limit */
	size_t held;
	size_t n_suspended; /* deferred requests not answered yet */
	size_t n_pending;   /* deferred requests not completed yet */
	bool in_run;	    /* inside MHD_run(): handlers may be running */

	/* The connection side (http_conns.c). */
	int listen_fd; /* -1 once closed */
	uv_poll_t listen_poll;
	uv_timer_t tick;    /* deadlines; re-arms accepting after EMFILE */
	bool accept_paused; /* out of file descriptors: polling stopped */
	struct pf_http_conn *conns, *conns_tail;
	struct pf_http_conn *adding; /* inside MHD_add_connection() */
	struct pf_http_client *clients[PF_HTTP_CLIENT_BUCKETS];
	struct pf_http_server_stats stats;
};

/* Runs MHD until it has nothing ready and re-arms its timer (http_server.c). */
void pf_http_server_pump(struct pf_http_server *s);

/* A handle of s closed: the last one of a closing server frees it.
 * pf_http_server_handle_closed is the close callback of handles whose data
 * is the server. */
void pf_http_server_unref(struct pf_http_server *s);
void pf_http_server_handle_closed(uv_handle_t *h);

/* Binds and listens on s->addr (s->listen_fd, s->port). Returns 0 or a
 * negative errno with `err` saying why. */
int pf_http_conns_listen(struct pf_http_server *s, struct pf_error *err);

/* Starts accepting on the loop. Returns 0, with two handles open (the
 * listening poll and the deadline timer, closed by pf_http_conns_close()),
 * or a libuv error with none. The daemon must run. */
int pf_http_conns_start(struct pf_http_server *s);

/* Stops accepting: closes the listening socket and the connections MHD
 * does not have yet. Those MHD has go on. */
void pf_http_conns_stop_accepting(struct pf_http_server *s);

/* Stops accepting and closes the handles of this side. Connections MHD has
 * are MHD's to close (MHD_stop_daemon reports each to pf_http_conns_notify). */
void pf_http_conns_close(struct pf_http_server *s);

/* MHD_OPTION_NOTIFY_CONNECTION: ties MHD's connection to its record and
 * frees the record when MHD closed it. */
void pf_http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code);

/* Moves the connection's request to `phase` (PF_HTTP_HEADERS: the request
 * ended and the connection stays open for the next one). */
void pf_http_conns_phase(struct pf_http_server *s, struct MHD_Connection *conn,
			 enum pf_http_phase phase);

#endif
