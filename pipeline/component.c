// SPDX-License-Identifier: Apache-2.0
/* struct pf_component: the framework's wrapper around an instance, its counters and its fan-out. */
#include "component_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch.h"
#include "service.h"

static const char *const kind_names[] = {
	[PF_RECEIVER] = "receiver",
	[PF_PROCESSOR] = "processor",
	[PF_EXPORTER] = "exporter",
	[PF_EXTENSION] = "extension",
};

struct pf_component *pf_component_new(struct pf_service *svc, const struct pf_component_def *def,
				      const char *id, const void *config, enum pf_log_level level)
{
	struct pf_component *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	size_t n = strlen(kind_names[def->kind]) + 1 + strlen(id) + 1;
	c->log_id = calloc(1, n);
	if (!c->log_id) {
		free(c);
		return NULL;
	}
	snprintf(c->log_id, n, "%s/%s", kind_names[def->kind], id);
	c->def = def;
	c->id = id;
	c->config = config;
	c->svc = svc;
	c->logger.id = c->log_id;
	c->logger.level = level;
	c->transport = "";
	c->state = PF_STATE_NEW;
	snprintf(c->drops[PF_DROP_REASONS].reason, PF_DROP_REASON_MAX, "other");
	return c;
}

void pf_component_free(struct pf_component *c)
{
	if (!c)
		return;
	free(c->next);
	free(c->log_id);
	free(c);
}

int pf_component_link(struct pf_component *c, struct pf_component *to)
{
	struct pf_component **next = calloc(c->n_next + 1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	if (c->n_next)
		memcpy(next, c->next, c->n_next * sizeof(*next));
	next[c->n_next] = to;
	free(c->next);
	c->next = next;
	c->n_next++;
	return 0;
}

int pf_component_create_instance(struct pf_component *c)
{
	assert(c->state == PF_STATE_NEW);
	c->inst = c->def->create ? c->def->create(c, c->config) : NULL;
	if (!c->inst) {
		c->state = PF_STATE_STOPPED;
		return -EINVAL;
	}
	c->state = PF_STATE_CREATED;
	return 0;
}

int pf_component_start_instance(struct pf_component *c)
{
	assert(c->state == PF_STATE_CREATED);
	int rc = c->def->start ? c->def->start(c->inst) : 0;
	if (rc == 0) {
		c->state = PF_STATE_STARTED;
		c->started = true;
	}
	return rc;
}

void pf_component_shutdown_instance(struct pf_component *c, pf_done_fn done)
{
	assert(c->state != PF_STATE_STOPPED && c->state != PF_STATE_STOPPING);
	if (c->state == PF_STATE_NEW || !c->def->shutdown) {
		done(c);
		return;
	}
	c->state = PF_STATE_STOPPING;
	c->def->shutdown(c->inst, done);
}

uint64_t pf_component_counter(const struct pf_component *c, enum pf_counter ctr)
{
	assert((unsigned)ctr < PF_CTR__COUNT);
	return c->counters[ctr];
}

/* ---- the contract in component.h ---- */

const char *pf_component_id(const struct pf_component *c)
{
	return c->id;
}

const struct pf_logger *pf_component_logger(const struct pf_component *c)
{
	return &c->logger;
}

uv_loop_t *pf_component_loop(const struct pf_component *c)
{
	return pf_service_loop(c->svc);
}

const char *pf_component_host_name(const struct pf_component *c)
{
	return pf_service_host_name(c->svc);
}

uint64_t pf_component_deadline(const struct pf_component *c)
{
	return pf_service_deadline(c->svc);
}

bool pf_component_pipelines_ready(const struct pf_component *c)
{
	return pf_service_ready(c->svc);
}

const struct pf_component_def *pf_component_extension_find(const struct pf_component *c,
							   const char *id, void **inst)
{
	const struct pf_component *x = pf_service_find(c->svc, PF_EXTENSION, id);

	*inst = x ? x->inst : NULL;
	return x ? x->def : NULL;
}

void pf_component_set_transport(struct pf_component *c, const char *transport)
{
	c->transport = transport ? transport : "";
}

_Static_assert(PF_CTR__COUNT <= 32, "counters_set holds a bit per counter");

void pf_component_count(struct pf_component *c, enum pf_counter ctr, uint64_t n)
{
	assert((unsigned)ctr < PF_CTR__COUNT);
	c->counters[ctr] += n;
	c->counters_set |= 1u << ctr;
}

void pf_component_gauge(struct pf_component *c, enum pf_gauge g, int64_t value)
{
	assert((unsigned)g < PF_GAUGE__COUNT);
	c->gauges[g] = value;
	c->gauges_set |= 1u << g;
}

void pf_component_drop(struct pf_component *c, const char *reason, uint64_t n)
{
	struct pf_drop_count *slot = &c->drops[PF_DROP_REASONS];

	for (size_t i = 0; i < PF_DROP_REASONS; i++) {
		struct pf_drop_count *d = &c->drops[i];
		if (d->reason[0] == '\0') {
			snprintf(d->reason, sizeof(d->reason), "%s", reason);
			slot = d;
			break;
		}
		if (strncmp(d->reason, reason, sizeof(d->reason) - 1) == 0) {
			slot = d;
			break;
		}
	}
	slot->n += n;
	c->counters[PF_CTR_DROPPED] += n;
}

/*
 * Hands b to one consumer. A mutating processor gets a private copy when
 * anyone else can see the batch: it is already shared, or it goes to more
 * than one consumer. A consumer whose instance is gone refuses with
 * -ESHUTDOWN.
 */
static int deliver(struct pf_component *to, struct pf_batch *b, bool fanout, uint64_t samples,
		   struct pf_ack *ack)
{
	struct pf_ack *outer = to->acking;
	struct pf_batch *own = NULL;
	int rc;

	if (to->state != PF_STATE_STARTED && to->state != PF_STATE_STOPPING)
		return -ESHUTDOWN;
	assert(to->def->consume);
	if (to->def->kind == PF_PROCESSOR && to->def->mutates &&
	    (fanout || pf_batch_is_shared(b))) {
		own = pf_batch_copy(b);
		if (!own)
			return -ENOMEM;
		b = own;
	}
	to->acking = ack;
	rc = to->def->consume(to->inst, b);
	to->acking = outer;
	pf_batch_unref(own);
	/* Busy means nothing was taken: the same batch will come again. */
	if (to->def->kind == PF_PROCESSOR && rc != PF_BUSY)
		to->counters[PF_CTR_PROCESSOR_INCOMING] += samples;
	return rc;
}

/* Worse of two results: an error, then PF_BUSY, then PF_OK. */
static int worse(int a, int b)
{
	if (a < 0)
		return a;
	if (b < 0)
		return b;
	return a == PF_BUSY || b == PF_BUSY ? PF_BUSY : PF_OK;
}

/*
 * Result: PF_OK when every consumer took the batch; PF_BUSY when any said
 * busy, even if others took it (those keep it, so a retry after PF_BUSY may
 * deliver the same samples to them again: at-least-once, as with the
 * Collector's fan-out); otherwise the first negative error. Consumers see
 * c's acknowledgement, if any.
 */
static int fan_out(struct pf_component *c, struct pf_batch *batch, uint64_t samples)
{
	int result = PF_OK;

	for (size_t i = 0; i < c->n_next; i++) {
		int rc = deliver(c->next[i], batch, c->n_next > 1, samples, c->acking);
		/* busy wins over an error: the client may retry */
		if (rc == PF_BUSY || (rc < 0 && result == PF_OK))
			result = rc;
	}
	return result;
}

static void count_received(struct pf_component *c, int result, uint64_t samples)
{
	enum pf_counter ctr = result == PF_OK	  ? PF_CTR_RECEIVER_ACCEPTED
			      : result == PF_BUSY ? PF_CTR_RECEIVER_REFUSED
						  : PF_CTR_RECEIVER_FAILED;
	c->counters[ctr] += samples;
}

int pf_component_emit(struct pf_component *c, struct pf_batch *batch)
{
	uint64_t samples = pf_batch_sample_count(batch);

	assert(c->def->kind == PF_RECEIVER || c->def->kind == PF_PROCESSOR);
	int result = fan_out(c, batch, samples);

	if (c->def->kind == PF_RECEIVER)
		count_received(c, result, samples);
	else if (result != PF_BUSY)
		c->counters[PF_CTR_PROCESSOR_OUTGOING] += samples;
	return result;
}

/* One request's acknowledgement: the receiver's own part (until its emit
 * returns) and one per consumer that holds the batch. */
struct pf_ack {
	struct pf_component *c;
	uint64_t samples;
	size_t pending;
	int result;
	pf_ack_fn fn; /* NULL while the emit runs: its caller gets the result */
	void *arg;
};

int pf_component_emit_acked(struct pf_component *c, struct pf_batch *batch, pf_ack_fn fn, void *arg)
{
	uint64_t samples = pf_batch_sample_count(batch);
	struct pf_ack *ack, *outer = c->acking;
	int rc;

	assert(c->def->kind == PF_RECEIVER && fn);
	ack = calloc(1, sizeof(*ack));
	if (!ack) {
		count_received(c, -ENOMEM, samples);
		return -ENOMEM;
	}
	ack->c = c;
	ack->samples = samples;
	ack->pending = 1;
	c->acking = ack;
	rc = fan_out(c, batch, samples);
	c->acking = outer;
	if (ack->pending == 1) {
		rc = worse(rc, ack->result);
		free(ack);
		count_received(c, rc, samples);
		return rc;
	}
	ack->fn = fn;
	ack->arg = arg;
	pf_ack_settle(ack, rc);
	return PF_PENDING;
}

struct pf_ack *pf_component_ack_hold(struct pf_component *c)
{
	struct pf_ack *ack = c->acking;

	if (ack)
		ack->pending++;
	return ack;
}

void pf_ack_settle(struct pf_ack *ack, int result)
{
	if (!ack)
		return;
	assert(ack->pending > 0);
	ack->result = worse(ack->result, result);
	if (--ack->pending > 0 || !ack->fn)
		return;
	count_received(ack->c, ack->result, ack->samples);
	ack->fn(ack->arg, ack->result);
	free(ack);
}
