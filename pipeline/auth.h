/* SPDX-License-Identifier: Apache-2.0 */
/* Authenticators: extensions that check the requests receivers take and set the headers of those exporters send (the Collector's extensionauth). */
#ifndef PF_AUTH_H
#define PF_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/option.h"
#include "sending/header_edits.h"

struct pf_batch;
struct pf_component;

/*
 * What an extension provides to be an exporter's authenticator (its
 * definition's `auth_client`). The edits are taken once per batch, when
 * the exporter encodes it, and stored with each request of the batch
 * (sending/header_edits.h), so every retry and a request read back from a
 * file-backed queue after a restart carry the same headers.
 *
 * edits: fills at most `max` edits for batch b (NULL: a request without a
 * batch, e.g. one queued by an older proflow; fixed values only) and
 * returns their number, or a negative error. It runs where the batch is
 * encoded (the thread pool), so it may only read `inst` and b; the strings
 * must stay valid while both live.
 */
struct pf_auth_client_ops {
	int (*edits)(const void *inst, const struct pf_batch *b, struct pf_header_edit *out,
		     size_t max);
};

/* A request as a server received it: the value of header (HTTP) or
 * metadata key (gRPC) `name`, compared without case; NULL when absent. The
 * string stays valid until the check returns. */
typedef const char *(*pf_auth_header_fn)(void *req, const char *name);

/*
 * What an extension provides to be a receiver's authenticator (its
 * definition's `auth_server`). authenticate: 0 when the request may go on,
 * -EACCES when it may not (with a short reason for the client, naming no
 * secret), or -ENOMEM. Called on the loop with the request's headers, before
 * any of its body is read or counted, so a client without credentials holds
 * none of a receiver's limits.
 */
struct pf_auth_server_ops {
	int (*authenticate)(const void *inst, pf_auth_header_fn header, void *req, char *reason,
			    size_t size);
};

/* A component's `auth` section, spelt as the Collector's HTTP and gRPC
 * client and server settings: `auth: {authenticator: type[/name]}`. The
 * component embeds pf_auth_options as a PF_OPT_SECTION at the offset of a
 * struct pf_auth_config field. */
struct pf_auth_config {
	char *authenticator;
};

extern const struct pf_option pf_auth_options[];

/* An exporter's authenticator once found: plain data, `ops` NULL when none
 * is configured. */
struct pf_auth_client {
	const struct pf_auth_client_ops *ops;
	const void *inst;
};

/*
 * Finds the extension cfg->authenticator names for exporter c (in start:
 * extensions start first). Returns 0 with *out set (out->ops NULL when cfg
 * names none), or -ENOENT after logging why (not listed in
 * service.extensions, or not an authenticator).
 */
int pf_auth_client_find(struct pf_component *c, const struct pf_auth_config *cfg,
			struct pf_auth_client *out);

/* A new buffer holding a's edits block for batch b followed by the `size`
 * bytes of `payload` (which stay the caller's). `a` must have an
 * authenticator (a->ops). Returns 0 with *out malloc'd, or a negative
 * error. */
int pf_auth_client_wrap(const struct pf_auth_client *a, const struct pf_batch *b,
			const void *payload, size_t size, uint8_t **out, size_t *out_size);

/* The edits block for batch b, for an encoder that puts it in front of
 * each payload it makes: `arg` is a `const struct pf_auth_client *`. With no
 * authenticator: 0 with *bytes NULL and *size 0. Returns 0 or a negative
 * error. */
int pf_auth_client_prefix(void *arg, const struct pf_batch *b, uint8_t **bytes, size_t *size);

/*
 * What a send does with a queued payload `data`: the request's header
 * lines are `lines` with the stored block's edits applied when data has
 * one, else with a's edits for no batch when a has an authenticator, else
 * `lines` as they are. Returns 0 with *out (NULL when lines stay as they
 * are; else free with pf_header_lines_free) and *skip, the bytes of data
 * before the payload proper; -EINVAL for a corrupt block (a permanent
 * failure) or -ENOMEM.
 */
int pf_auth_client_headers(const struct pf_auth_client *a, const void *data, size_t size,
			   const char *const *lines, size_t n, char ***out, size_t *n_out,
			   size_t *skip);

/* A receiver's authenticator once found: plain data, `ops` NULL when none is
 * configured. */
struct pf_auth_server {
	const struct pf_auth_server_ops *ops;
	const void *inst;
};

/* Finds the extension cfg->authenticator names for receiver c (in start).
 * Returns 0 with *out set (out->ops NULL when cfg names none), or -ENOENT
 * after logging why. */
int pf_auth_server_find(struct pf_component *c, const struct pf_auth_config *cfg,
			struct pf_auth_server *out);

/* Checks a request with a's authenticator: 0 (also when there is none),
 * -EACCES with `reason` filled, or -ENOMEM. */
int pf_auth_server_check(const struct pf_auth_server *a, pf_auth_header_fn header, void *req,
			 char *reason, size_t size);

#endif
