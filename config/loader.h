/* SPDX-License-Identifier: Apache-2.0 */
/* State shared by the loader's files while one config is built (private to config/). */
#ifndef PF_CONFIG_LOADER_H
#define PF_CONFIG_LOADER_H

#include "config.h"
#include "node.h"
#include "strindex.h"

#define PF_KIND_COUNT 4

struct pf_cloader {
	const struct pf_component_def *const *registry;
	struct pf_config *cfg;
	size_t cap_components;
	size_t cap_warnings;
	struct pf_strindex ids[PF_KIND_COUNT]; /* id -> index in cfg->components, per kind */
	struct pf_error *err;
};

/* "receiver", "processor", "exporter", "extension". */
const char *pf_cloader_kind_name(enum pf_kind kind);

/* Checks "type[/name]" against the Collector's rules. Returns 0 and the
 * length of the type part, or -EINVAL with a reason in msg. */
int pf_cloader_check_id(const char *id, size_t *type_len, char *msg, size_t size);

/* Loads `service` (a mapping, or NULL when absent; `root` positions errors
 * then): telemetry, shutdown_timeout, extensions and pipelines. */
int pf_cloader_service(struct pf_cloader *l, const struct pf_cnode *service,
		       const struct pf_cnode *root);

/* Adds "where: message" to cfg->warnings. Returns 0 or -ENOMEM. */
int pf_cloader_warn(struct pf_cloader *l, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
