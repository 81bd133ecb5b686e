// SPDX-License-Identifier: Apache-2.0
/* The decoders' memory meter: its limit from the request limit, the input's charge, refusals as errors. */
#include <errno.h>
#include <stdint.h>

#include "formats/otlp/internal.h"
#include "formats/otlp/otlp.h"

void pf_otlp_meter_init(struct pf_budget_meter *m, struct pf_budget *budget, size_t max_size)
{
	size_t limit = max_size <= SIZE_MAX / PF_OTLP_DECODE_FACTOR
			       ? max_size * PF_OTLP_DECODE_FACTOR
			       : SIZE_MAX;

	pf_budget_meter_init(m, budget, limit);
}

int pf_otlp_meter_input(struct pf_budget_meter *m, size_t size, struct pf_error *err)
{
	int rc = pf_budget_charge(m, size) < 0 ? pf_otlp_meter_error(m, -ENOMEM, err) : 0;

	if (rc < 0)
		pf_budget_meter_release(m);
	return rc;
}

int pf_otlp_meter_error(const struct pf_budget_meter *m, int rc, struct pf_error *err)
{
	if (rc != -ENOMEM || !m->refused)
		return rc;
	pf_error_clear(err);
	if (m->refused == -EFBIG)
		pf_error_set(err, "",
			     "decoding the request needs more than %zu bytes of memory (%d times "
			     "the request size limit, or the receiver's whole decoding budget)",
			     m->limit, PF_OTLP_DECODE_FACTOR);
	else
		pf_error_set(err, "",
			     "the receiver's decoding memory is in use by other requests; retry "
			     "later");
	return m->refused;
}
