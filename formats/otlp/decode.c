// SPDX-License-Identifier: Apache-2.0
/* OTLP profiles protobuf decoding: bounds, schema walk, hand-read hot parts, protobuf-c for the rest, validation. */
#include <errno.h>
#include <stdlib.h>

#include "formats/otlp/internal.h"
#include "formats/otlp/otlp.h"

/* Names the problem of a request the walk over its copy refused, or whose
 * structure the strip pass found malformed: the schema walk over the input
 * itself gives the message with offsets into what the sender sent. */
static int name_problem(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size,
			struct pf_error *err)
{
	pf_error_clear(err);
	if (pf_otlp_wire_check(desc, data, size, err) < 0)
		return -EINVAL;
	return pf_error_set(err, "", "malformed ExportProfilesServiceRequest");
}

int pf_otlp_decode(struct pf_batch *b, const void *data, size_t size, size_t max_size,
		   struct pf_budget *budget, struct pf_error *err)
{
	const ProtobufCMessageDescriptor *desc =
		&opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor;
	struct pf_budget_meter meter;
	struct pf_pb_arena arena;
	struct pf_otlp_samples smp = {.meter = &meter};
	struct pf_otlp_dict hot = {.meter = &meter};
	uint8_t *stripped = NULL;
	size_t stripped_size = 0;
	PF_OTLP_REQ *req;
	int rc;

	if (!max_size)
		max_size = PF_OTLP_MAX_SIZE_DEFAULT;
	if (size > max_size || size > UINT32_MAX) {
		pf_error_set(err, "", "request of %zu bytes exceeds the limit of %zu bytes", size,
			     max_size < UINT32_MAX ? max_size : (size_t)UINT32_MAX);
		return -EFBIG;
	}
	if (size == 0)
		return 0;
	pf_otlp_meter_init(&meter, budget, max_size);
	rc = pf_otlp_meter_input(&meter, size, err);
	if (rc < 0)
		return rc;
	/* Samples and the hot dictionary tables are read in this pass and stay
	 * out of protobuf-c (strip.c); the schema walk then checks the rest. */
	rc = pf_otlp_strip(data, size, &stripped, &stripped_size, &hot, &smp, err);
	if (rc == 0)
		rc = pf_otlp_wire_check(desc, stripped, stripped_size, err);
	else if (rc == -EINVAL && !pf_error_isset(err))
		rc = name_problem(desc, data, size, err);
	if (rc == -EINVAL && stripped)
		rc = name_problem(desc, data, size, err);
	if (rc < 0)
		goto out_free;
	pf_pb_arena_init(&arena, 0);
	arena.meter = &meter;
	req = (PF_OTLP_REQ *)protobuf_c_message_unpack(desc, &arena.allocator, stripped_size,
						       stripped);
	if (!req) {
		/* The walk accepted the structure, so this is memory. */
		rc = meter.refused ? -ENOMEM
				   : pf_error_set(err, "",
						  "cannot unpack the ExportProfilesServiceRequest");
		goto out_free_arena;
	}
	rc = pf_otlp_check_strings(&req->base, err);
	if (rc == 0)
		rc = pf_otlp_validate(req, &hot, &smp, err);
	if (rc == 0)
		rc = pf_otlp_to_batch(b, req, &hot, &smp, &meter);
out_free_arena:
	pf_pb_arena_fini(&arena);
out_free:
	free(stripped);
	pf_otlp_dict_fini(&hot);
	pf_otlp_samples_fini(&smp);
	rc = pf_otlp_meter_error(&meter, rc, err);
	pf_budget_meter_release(&meter);
	return rc;
}
