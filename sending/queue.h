/* SPDX-License-Identifier: Apache-2.0 */
/* The sending queue every network exporter embeds: bounded, concurrent sends, retries, optional disk storage. */
#ifndef PF_QUEUE_H
#define PF_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/error.h"
#include "core/option.h"
#include "retry.h"

struct pf_component;

/*
 * What the queue holds: opaque payload bytes, encoded once by the exporter
 * (OTLP request bytes for otlp/otlphttp, pprof for pyroscope), possibly
 * already compressed. The same bytes are sent on every retry and are what
 * `storage: file` writes to disk, so a batch is encoded exactly once whatever
 * happens to it, and the queue needs no codec. `items` is the number of
 * profile samples in the payload (for counters and the items sizer).
 *
 * Semantics follow the Collector's exporterhelper: a request leaves the
 * queue when one of num_consumers consumers takes it, and holds that consumer
 * through its retries until it is sent, dropped or given up, so a backend
 * outage fills the queue and the queue reports PF_BUSY upstream.
 */

enum pf_queue_sizer {
	PF_QUEUE_SIZER_REQUESTS,
	PF_QUEUE_SIZER_ITEMS,
	PF_QUEUE_SIZER_BYTES,
};

enum pf_queue_storage {
	PF_QUEUE_STORAGE_NONE,
	PF_QUEUE_STORAGE_FILE,
};

/*
 * The `sending_queue` settings, with the Collector's defaults: enabled,
 * queue_size 1000, num_consumers 10, sizer requests, block_on_overflow
 * false; storage none; directory (required with storage file); max_size
 * 1GiB of payload on disk (0 = no limit), beyond which new requests are
 * refused.
 * With enabled false the queue still runs, with one consumer and no room to
 * wait: each request is sent (and retried) alone, and PF_BUSY is returned
 * while one is in flight.
 */
struct pf_queue_config {
	bool enabled;
	int64_t queue_size;
	int64_t num_consumers;
	int sizer;		/* enum pf_queue_sizer */
	bool block_on_overflow; /* full: PF_BUSY without counting enqueue_failed */
	int storage;		/* enum pf_queue_storage */
	char *directory;
	int64_t max_size;
};

/* The option rows of `sending_queue`, offsets into struct pf_queue_config.
 * An exporter embeds them as a PF_OPT_SECTION row whose offset is that of
 * its struct pf_queue_config field. */
extern const struct pf_option pf_queue_options[];

/* Cross-field checks for an exporter's validate: storage file needs a
 * directory. Returns 0 or -EINVAL with err filled. */
int pf_queue_validate(const struct pf_queue_config *cfg, struct pf_error *err);

/* How one send ended, as the exporter reports it. */
enum pf_send_status {
	PF_SEND_OK,	   /* acknowledged (maybe partially: see `rejected`) */
	PF_SEND_RETRY,	   /* retryable: throttled, unavailable, connection lost, timeout */
	PF_SEND_PERMANENT, /* will never succeed: dropped and counted */
};

struct pf_send_result {
	enum pf_send_status status;
	int64_t retry_after_ns; /* PF_SEND_RETRY: the server's delay hint, 0 = none */
	uint64_t rejected;	/* PF_SEND_OK: samples the server refused (partial success) */
	const char *reason;	/* short text for the log (copied), or NULL */
};

/* One request handed to the exporter's send function. Opaque. */
struct pf_queue_item;

/*
 * Starts sending `size` bytes at `data` (valid until pf_queue_done). Called
 * on the loop thread, never from inside pf_queue_enqueue. The exporter must
 * call pf_queue_done(item, ...) exactly once, on the loop thread, possibly
 * from within send itself.
 */
typedef void (*pf_queue_send_fn)(void *arg, struct pf_queue_item *item, const void *data,
				 size_t size);

/* Called once when a shutdown has finished: nothing in flight, no handle
 * open. The queue may then be destroyed. */
typedef void (*pf_queue_closed_fn)(void *arg);

struct pf_queue_ops {
	pf_queue_send_fn send;
	void *arg;
};

struct pf_queue;

/*
 * Creates a queue for component `c` (its counters, gauges and logger; c
 * must outlive the queue). Touches no loop. With storage file it uses
 * <directory>/<sanitized component id>/ (so exporters can share a
 * directory): creates it, locks it (flock on .lock: one process per queue),
 * removes temp files left by a crash, lists the stored
 * requests without opening them (one directory fd, about 300 bytes of RAM
 * per request) and keeps them all, even beyond max_size; they are sent first,
 * oldest first, read from disk by the consumer that sends them. Returns NULL
 * (after logging why) on error. `cfg`, `retry` and `ops` are copied.
 */
struct pf_queue *pf_queue_create(struct pf_component *c, const struct pf_queue_config *cfg,
				 const struct pf_retry_config *retry,
				 const struct pf_queue_ops *ops);

/* Registers the queue's handles on `loop` and starts sending. Returns 0 or
 * a negative error. */
int pf_queue_start(struct pf_queue *q, uv_loop_t *loop);

/* One request to queue: `data` is malloc'd, `size` bytes, `items` samples. */
struct pf_queue_request {
	void *data;
	size_t size;
	uint64_t items;
};

/* Room taken ahead for a request not encoded yet (pf_queue_reserve()). */
struct pf_queue_room {
	bool held;
	uint64_t units; /* sizer units */
	uint64_t bytes; /* payload bytes on disk (storage file) */
};

/*
 * Queues the n requests as one: all of them, or none. Without `room`
 * (NULL, or not held) they must fit now; with a held room (from
 * pf_queue_reserve(), released here whatever the result) they are taken
 * even when their real size exceeds the estimate reserved, so a request
 * that was given room is never refused for room later (the queue may go
 * over its limits by the estimate's error).
 * Returns PF_OK: the queue owns every `data`. Otherwise every `data` stays
 * the caller's: PF_BUSY when there is no room (the room check and the
 * insertion are one step; counted as enqueue_failed unless
 * block_on_overflow); -EMSGSIZE when one request alone exceeds queue_size
 * or max_size; -ESHUTDOWN once shutdown began; -ENOMEM; or, with storage
 * file, the error of a file that could not be written (-ENOSPC on a full
 * disk): the files written for the others are removed again, so a request
 * is either on disk or refused, never kept in memory only. All but
 * -ESHUTDOWN and a blocking PF_BUSY are counted as enqueue_failed. Call it
 * after pf_queue_start.
 * With storage file each request's file is written (temp file, rename)
 * before PF_OK is returned, so a request the caller was told is queued
 * survives the process being killed (kill -9) from that moment; the fsync
 * that makes it survive a power loss follows on the thread pool, batched
 * (stats `writing` counts those not flushed yet). The write costs the loop
 * about 30 us for 30 KB and 140 us for 300 KB (page-cache copy). Nothing
 * stored is evicted: when max_size is reached (by queued or in-flight
 * requests) new requests are refused with PF_BUSY.
 */
int pf_queue_enqueue_all(struct pf_queue *q, const struct pf_queue_request *reqs, size_t n,
			 struct pf_queue_room *room);

/* pf_queue_enqueue_all() of one request without a reservation; on PF_OK
 * the queue owns `data`. */
int pf_queue_enqueue(struct pf_queue *q, void *data, size_t size, uint64_t items);

/* True when a request of `size` bytes and `items` samples would fit now,
 * beside what is reserved. Only a hint: use pf_queue_reserve() to keep it. */
bool pf_queue_has_room(const struct pf_queue *q, size_t size, uint64_t items);

/*
 * Takes room for a request of about `size` bytes and `items` samples that
 * will be encoded later: the check and the taking are one step, so two
 * callers never pass one check. Fills *room. Returns PF_OK (hand the room
 * to pf_queue_enqueue_all() or give it back with pf_queue_release()),
 * PF_BUSY, -EMSGSIZE or -ESHUTDOWN, counted as pf_queue_enqueue_all()
 * counts them.
 */
int pf_queue_reserve(struct pf_queue *q, size_t size, uint64_t items, struct pf_queue_room *room);

/* Gives back a room not used (does nothing when not held). */
void pf_queue_release(struct pf_queue *q, struct pf_queue_room *room);

/* Aborts a transport call: the HTTP or gRPC client's cancel for `call`. */
typedef void (*pf_queue_call_cancel_fn)(void *call);

/*
 * Tells the queue how to abort the send of `item`: once the call is under
 * way, the exporter's send hands over the transport's cancel and its call.
 * When the shutdown deadline passes with the item still in flight, the
 * queue calls cancel(call) once, on the loop; the send then ends with
 * pf_queue_done as any other (what is not acknowledged stays on disk with
 * storage file). pf_queue_done forgets it. An item that never gets one is
 * waited for.
 */
void pf_queue_item_cancel_with(struct pf_queue_item *item, pf_queue_call_cancel_fn cancel,
			       void *call);

/* Reports how a send ended. See pf_queue_send_fn. */
void pf_queue_done(struct pf_queue_item *item, const struct pf_send_result *res);

/* The deadline an exporter gives pf_queue_shutdown(): a little before its
 * component's (pf_component_deadline()), so that cancelled sends, which end
 * asynchronously, have ended and the handles are closed when the service
 * checks; otherwise every shutdown against an unresponsive peer overruns. */
uint64_t pf_queue_shutdown_deadline(struct pf_component *c);

/*
 * Stops accepting, keeps sending until everything is acknowledged or
 * `deadline_ms` (uv_now() time, e.g. pf_component_deadline(c)) passes; then
 * stops retrying, cancels what is in flight (ops->cancel), keeps on disk
 * whatever was not acknowledged (storage file) or counts it dropped
 * ("shutdown", memory), closes its handles and calls closed(arg). Safe
 * before start (closed is then called at once) and at most once.
 */
void pf_queue_shutdown(struct pf_queue *q, uint64_t deadline_ms, pf_queue_closed_fn closed,
		       void *arg);

/* Frees the queue: after `closed`, or when it was never started. Takes
 * NULL. Files on disk stay. */
void pf_queue_destroy(struct pf_queue *q);

/* Sizes now, for tests and telemetry: requests waiting to be sent, taken by
 * consumers (sending or between retries), payload bytes on disk (storage
 * file), written but not yet flushed, and room reserved. Every request enqueued with storage
 * file survives kill -9; it survives a power loss once it is flushed. */
struct pf_queue_stats {
	uint64_t queued;
	uint64_t in_flight;
	uint64_t disk_bytes;
	uint64_t writing;  /* requests written, fsync pending (survive kill -9, not power loss) */
	uint64_t reserved; /* sizer units held by reservations */
};
void pf_queue_stats(const struct pf_queue *q, struct pf_queue_stats *st);

#endif
