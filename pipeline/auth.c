// SPDX-License-Identifier: Apache-2.0
/* Finds a component's authenticator extension; turns its edits into the stored block and a send's header lines, or checks a request. */
#include "auth.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/component.h"

const struct pf_option pf_auth_options[] = {
	{.name = "authenticator",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_auth_config, authenticator),
	 .doc = "An authenticator extension listed in service.extensions: bearertokenauth "
		"(receivers and exporters), headers_setter (exporters)"},
	PF_OPTION_END,
};

/* The extension cfg names for c, when it authenticates the side asked for
 * (server: requests a receiver takes; else requests an exporter sends):
 * 0 with *def (NULL when cfg names none) and *inst, or -ENOENT after
 * logging why. */
static int find(struct pf_component *c, const struct pf_auth_config *cfg, bool server,
		const struct pf_component_def **def, void **inst)
{
	*def = NULL;
	*inst = NULL;
	if (!cfg->authenticator)
		return 0;
	*def = pf_component_extension_find(c, cfg->authenticator, inst);
	if (*def && *inst && (server ? (*def)->auth_server != NULL : (*def)->auth_client != NULL))
		return 0;
	pf_log(pf_component_logger(c), PF_LOG_ERROR,
	       "auth.authenticator \"%s\" is no extension listed in service.extensions that "
	       "authenticates %s",
	       cfg->authenticator,
	       server ? "requests a receiver takes" : "requests an exporter sends");
	*def = NULL;
	*inst = NULL;
	return -ENOENT;
}

int pf_auth_client_find(struct pf_component *c, const struct pf_auth_config *cfg,
			struct pf_auth_client *out)
{
	const struct pf_component_def *def;
	void *inst;
	int rc = find(c, cfg, false, &def, &inst);

	out->ops = def ? def->auth_client : NULL;
	out->inst = inst;
	return rc;
}

int pf_auth_server_find(struct pf_component *c, const struct pf_auth_config *cfg,
			struct pf_auth_server *out)
{
	const struct pf_component_def *def;
	void *inst;
	int rc = find(c, cfg, true, &def, &inst);

	out->ops = def ? def->auth_server : NULL;
	out->inst = inst;
	return rc;
}

int pf_auth_server_check(const struct pf_auth_server *a, pf_auth_header_fn header, void *req,
			 char *reason, size_t size)
{
	if (!a->ops)
		return 0;
	return a->ops->authenticate(a->inst, header, req, reason, size);
}

int pf_auth_client_wrap(const struct pf_auth_client *a, const struct pf_batch *b,
			const void *payload, size_t size, uint8_t **out, size_t *out_size)
{
	struct pf_header_edit edits[PF_HEADER_MAX_EDITS];
	int n = a->ops->edits(a->inst, b, edits, PF_HEADER_MAX_EDITS);

	if (n < 0)
		return n;
	return pf_header_edits_wrap(edits, (size_t)n, payload, size, out, out_size);
}

int pf_auth_client_prefix(void *arg, const struct pf_batch *b, uint8_t **bytes, size_t *size)
{
	const struct pf_auth_client *a = arg;

	*bytes = NULL;
	*size = 0;
	return a->ops ? pf_auth_client_wrap(a, b, NULL, 0, bytes, size) : 0;
}

int pf_auth_client_headers(const struct pf_auth_client *a, const void *data, size_t size,
			   const char *const *lines, size_t n, char ***out, size_t *n_out,
			   size_t *skip)
{
	ssize_t block = pf_header_edits_len(data, size);
	uint8_t *fixed;
	size_t fixed_size;
	int rc;

	*out = NULL;
	*n_out = 0;
	*skip = block > 0 ? (size_t)block : 0;
	if (block < 0)
		return -EINVAL;
	if (block > 0)
		return pf_header_edits_apply(data, (size_t)block, lines, n, out, n_out);
	if (!a->ops)
		return 0;
	rc = pf_auth_client_wrap(a, NULL, NULL, 0, &fixed, &fixed_size);
	if (rc < 0)
		return rc;
	rc = pf_header_edits_apply(fixed, fixed_size, lines, n, out, n_out);
	free(fixed);
	return rc;
}
