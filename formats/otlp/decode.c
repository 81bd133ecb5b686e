// SPDX-License-Identifier: Apache-2.0
/* OTLP profiles protobuf decoding: bounds, schema walk, hand-read hot parts, protobuf-c for the rest, validation. */
#include <errno.h>
#include <stdlib.h>

#include "formats/otlp/internal.h"
#include "formats/otlp/otlp.h"

int pf_otlp_decode(struct pf_batch *b, const void *data, size_t size, size_t max_size,
		   struct pf_error *err)
{
	const ProtobufCMessageDescriptor *desc =
		&opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor;
	struct pf_pb_arena arena;
	struct pf_otlp_spans spans = {0};
	struct pf_otlp_dict hot = {0};
	uint8_t *stripped = NULL;
	size_t stripped_size = 0;
	PF_OTLP_REQ *req;
	int rc;

	if (!max_size)
		max_size = PF_OTLP_MAX_SIZE_DEFAULT;
	if (size > max_size) {
		pf_error_set(err, "", "request of %zu bytes exceeds the limit of %zu bytes", size,
			     max_size);
		return -EFBIG;
	}
	if (size == 0)
		return 0;
	rc = pf_otlp_wire_check(desc, data, size, err);
	if (rc < 0)
		return rc;
	/* Samples and the hot dictionary tables stay out of protobuf-c: see
	 * samples.c and dict.c. */
	rc = pf_otlp_strip_samples(data, size, &stripped, &stripped_size, &spans);
	if (rc < 0) {
		if (rc == -EINVAL)
			pf_error_set(err, "", "malformed ExportProfilesServiceRequest");
		goto out_free_spans;
	}
	rc = pf_otlp_dict_read(&hot, &spans, data, err);
	if (rc < 0)
		goto out_free_stripped;
	pf_pb_arena_init(&arena, 0);
	req = (PF_OTLP_REQ *)protobuf_c_message_unpack(desc, &arena.allocator, stripped_size,
						       stripped);
	if (!req) {
		/* The walk accepted the structure, so this is memory or a bad string. */
		rc = pf_error_set(err, "", "cannot unpack the ExportProfilesServiceRequest");
		goto out_free_arena;
	}
	rc = pf_otlp_validate(req, &hot, &spans, err);
	if (rc == 0)
		rc = pf_otlp_to_batch(b, req, &hot, &spans);
out_free_arena:
	pf_pb_arena_fini(&arena);
out_free_stripped:
	free(stripped);
	pf_otlp_dict_fini(&hot);
out_free_spans:
	pf_otlp_spans_fini(&spans);
	return rc;
}
