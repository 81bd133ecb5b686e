// SPDX-License-Identifier: Apache-2.0
/* bearertokenauth: "authorization: Bearer <token>" checked on receivers' requests and set on exporters', like the Collector's. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/component.h"
#include "pipeline/auth.h"

#define MAX_TOKEN 8192

struct bta_config {
	char *token;
	char *scheme;
};

struct bearertokenauth {
	struct pf_component *c;
	const struct bta_config *cfg;
	char *value; /* "<scheme> <token>" */
};

static const struct pf_option bta_options[] = {
	{.name = "token",
	 .type = PF_OPT_STRING,
	 .flags = PF_OPT_REQUIRED,
	 .offset = offsetof(struct bta_config, token),
	 .doc = "The token: receivers refuse requests without it (401 / UNAUTHENTICATED), "
		"exporters send it"},
	{.name = "scheme",
	 .type = PF_OPT_STRING,
	 .def = "Bearer",
	 .offset = offsetof(struct bta_config, scheme),
	 .doc = "The authorization scheme in front of the token"},
	PF_OPTION_END,
};

static int bta_validate(const void *config, struct pf_error *err)
{
	const struct bta_config *cfg = config;

	if (!cfg->token[0] || strlen(cfg->token) > MAX_TOKEN || strpbrk(cfg->token, " \t\r\n"))
		return pf_error_set(
			err, "", "token must be 1 to %d characters without spaces or line breaks",
			MAX_TOKEN);
	if (!cfg->scheme[0] || strpbrk(cfg->scheme, " \t\r\n:"))
		return pf_error_set(err, "", "scheme \"%s\" is not one word", cfg->scheme);
	return 0;
}

static void *bta_create(struct pf_component *c, const void *config)
{
	const struct bta_config *cfg = config;
	struct bearertokenauth *a = calloc(1, sizeof(*a));

	if (!a || asprintf(&a->value, "%s %s", cfg->scheme, cfg->token) < 0) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		free(a);
		return NULL;
	}
	a->c = c;
	a->cfg = cfg;
	return a;
}

static void bta_shutdown(void *inst, pf_done_fn done)
{
	struct bearertokenauth *a = inst;
	struct pf_component *c = a->c;

	free(a->value);
	free(a);
	done(c);
}

/* Equal without a timing difference that tells how much of the token was
 * right (the lengths may differ). */
static bool same_secret(const char *got, const char *want)
{
	size_t gl = strlen(got), wl = strlen(want);
	unsigned diff = gl != wl;

	for (size_t i = 0; i < wl; i++)
		diff |= (unsigned char)want[i] ^ (unsigned char)(i < gl ? got[i] : 0);
	return diff == 0;
}

static int bta_authenticate(const void *inst, pf_auth_header_fn header, void *req, char *reason,
			    size_t size)
{
	const struct bearertokenauth *a = inst;
	const char *got = header(req, "authorization");
	size_t sl = strlen(a->cfg->scheme);

	if (got && strncasecmp(got, a->cfg->scheme, sl) == 0 && got[sl] == ' ') {
		got += sl;
		while (*got == ' ')
			got++;
		if (same_secret(got, a->cfg->token))
			return 0;
	}
	snprintf(reason, size, "missing or wrong %s token", a->cfg->scheme);
	return -EACCES;
}

static int bta_edits(const void *inst, const struct pf_batch *b, struct pf_header_edit *out,
		     size_t max)
{
	const struct bearertokenauth *a = inst;

	if (max < 1)
		return -ENOSPC;
	out[0] = (struct pf_header_edit){PF_HEADER_UPSERT, "Authorization", a->value};
	return 1;
}

static const struct pf_auth_server_ops bta_server = {.authenticate = bta_authenticate};
static const struct pf_auth_client_ops bta_client = {.edits = bta_edits};

const struct pf_component_def pf_extension_bearertokenauth = {
	.kind = PF_EXTENSION,
	.type = "bearertokenauth",
	.doc = "A bearer token: receivers with auth.authenticator refuse requests without it, "
	       "exporters with auth.authenticator send it.",
	.stability = "alpha",
	.options = bta_options,
	.config_size = sizeof(struct bta_config),
	.auth_client = &bta_client,
	.auth_server = &bta_server,
	.validate = bta_validate,
	.create = bta_create,
	.shutdown = bta_shutdown,
};
