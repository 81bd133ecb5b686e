// SPDX-License-Identifier: Apache-2.0
/* headers_setter: request headers for exporters from fixed values or the batch's client metadata, like contrib's. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/auth.h"
#include "model/batch.h"
#include "core/component.h"
#include "model/metadata.h"

struct header_config {
	char *key;
	char *value;
	char *from_context;
	char *default_value;
	int action; /* enum pf_header_action */
};

struct hs_config {
	struct pf_list headers; /* struct header_config */
};

struct headers_setter {
	struct pf_component *c;
	const struct hs_config *cfg;
};

static const char *const actions[] = {"insert", "update", "upsert", "delete", NULL};

static const struct pf_option header_options[] = {
	{.name = "key",
	 .type = PF_OPT_STRING,
	 .flags = PF_OPT_REQUIRED,
	 .offset = offsetof(struct header_config, key),
	 .doc = "The header name"},
	{.name = "value",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct header_config, value),
	 .doc = "A fixed value (or from_context)"},
	{.name = "from_context",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct header_config, from_context),
	 .doc = "Client metadata key whose first value is the value (receiver include_metadata)"},
	{.name = "default_value",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct header_config, default_value),
	 .doc = "Value when from_context finds none (else the header is left alone)"},
	{.name = "action",
	 .type = PF_OPT_ENUM,
	 .def = "upsert",
	 .choices = actions,
	 .offset = offsetof(struct header_config, action),
	 .doc = "insert (if absent), update (if present), upsert or delete"},
	PF_OPTION_END,
};

static const struct pf_option hs_options[] = {
	{.name = "headers",
	 .type = PF_OPT_LIST,
	 .section = header_options,
	 .elem_size = sizeof(struct header_config),
	 .flags = PF_OPT_REQUIRED,
	 .offset = offsetof(struct hs_config, headers),
	 .doc = "The headers to set: [{key, value | from_context, default_value, action}]"},
	PF_OPTION_END,
};

static const struct header_config *header_at(const struct hs_config *cfg, size_t i)
{
	return &((const struct header_config *)cfg->headers.items)[i];
}

static bool bad_text(const char *s)
{
	return s && strpbrk(s, "\r\n");
}

static int hs_validate(const void *config, struct pf_error *err)
{
	const struct hs_config *cfg = config;

	if (cfg->headers.n == 0)
		return pf_error_set(err, "", "headers must list at least one header");
	if (cfg->headers.n > PF_HEADER_MAX_EDITS)
		return pf_error_set(err, "", "headers: at most %d", PF_HEADER_MAX_EDITS);
	for (size_t i = 0; i < cfg->headers.n; i++) {
		const struct header_config *h = header_at(cfg, i);

		if (!h->key[0] || strlen(h->key) > PF_HEADER_MAX_NAME ||
		    strpbrk(h->key, ": \t\r\n"))
			return pf_error_set(err, "",
					    "headers[%zu].key: \"%s\" is not a header name", i,
					    h->key);
		if (h->action != PF_HEADER_DELETE && !h->value == !h->from_context)
			return pf_error_set(err, "",
					    "headers[%zu] (%s): exactly one of value and "
					    "from_context is required",
					    i, h->key);
		if (bad_text(h->value) || bad_text(h->default_value) ||
		    (h->value && strlen(h->value) > PF_HEADER_MAX_VALUE) ||
		    (h->default_value && strlen(h->default_value) > PF_HEADER_MAX_VALUE))
			return pf_error_set(err, "",
					    "headers[%zu] (%s): value is not a header value", i,
					    h->key);
	}
	return 0;
}

static void *hs_create(struct pf_component *c, const void *config)
{
	struct headers_setter *hs = calloc(1, sizeof(*hs));

	if (!hs) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		return NULL;
	}
	hs->c = c;
	hs->cfg = config;
	return hs;
}

static void hs_shutdown(void *inst, pf_done_fn done)
{
	struct headers_setter *hs = inst;
	struct pf_component *c = hs->c;

	free(hs);
	done(c);
}

/* The value header h gets for batch b; NULL: leave the header alone. */
static const char *value_for(const struct header_config *h, const struct pf_batch *b)
{
	const char *const *v;
	size_t n;

	if (h->action == PF_HEADER_DELETE)
		return "";
	if (h->value)
		return h->value;
	v = pf_metadata_get(b ? pf_batch_metadata(b) : NULL, h->from_context, &n);
	if (n > 0 && v[0][0] && !bad_text(v[0]) && strlen(v[0]) <= PF_HEADER_MAX_VALUE)
		return v[0];
	return h->default_value;
}

static int hs_edits(const void *inst, const struct pf_batch *b, struct pf_header_edit *out,
		    size_t max)
{
	const struct hs_config *cfg = ((const struct headers_setter *)inst)->cfg;
	size_t n = 0;

	for (size_t i = 0; i < cfg->headers.n && n < max; i++) {
		const struct header_config *h = header_at(cfg, i);
		const char *value = value_for(h, b);

		if (value)
			out[n++] = (struct pf_header_edit){h->action, h->key, value};
	}
	return (int)n;
}

static const struct pf_auth_client_ops hs_auth = {.edits = hs_edits};

const struct pf_component_def pf_extension_headers_setter = {
	.kind = PF_EXTENSION,
	.type = "headers_setter",
	.doc = "Set exporters' request headers from fixed values or client metadata "
	       "(auth.authenticator), e.g. X-Scope-OrgID per tenant.",
	.stability = "alpha",
	.options = hs_options,
	.config_size = sizeof(struct hs_config),
	.auth_client = &hs_auth,
	.validate = hs_validate,
	.create = hs_create,
	.shutdown = hs_shutdown,
};
