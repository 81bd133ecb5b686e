// SPDX-License-Identifier: Apache-2.0
/* pf_config_load: read, merge, override, expand, then build components from the tree. */
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/read_file.h"

static const char *const kind_names[PF_KIND_COUNT] = {
	[PF_RECEIVER] = "receiver",
	[PF_PROCESSOR] = "processor",
	[PF_EXPORTER] = "exporter",
	[PF_EXTENSION] = "extension",
};

static const char *const section_names[PF_KIND_COUNT] = {
	[PF_RECEIVER] = "receivers",
	[PF_PROCESSOR] = "processors",
	[PF_EXPORTER] = "exporters",
	[PF_EXTENSION] = "extensions",
};

static const char *const top_keys[] = {"receivers",  "processors", "exporters", "extensions",
				       "connectors", "service",	   NULL};

const char *pf_cloader_kind_name(enum pf_kind kind)
{
	return (unsigned)kind < PF_KIND_COUNT ? kind_names[kind] : "component";
}

int pf_cloader_warn(struct pf_cloader *l, const char *where, const char *fmt, ...)
{
	struct pf_config *cfg = l->cfg;
	char msg[PF_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = strlen(where) + strlen(msg) + 3;
	char *line = malloc(len);
	if (!line)
		return -ENOMEM;
	snprintf(line, len, "%s: %s", where, msg);
	if (cfg->n_warnings == l->cap_warnings) {
		size_t cap = l->cap_warnings ? l->cap_warnings * 2 : 4;
		char **w = calloc(cap, sizeof(*w));
		if (!w) {
			free(line);
			return -ENOMEM;
		}
		if (cfg->n_warnings)
			memcpy(w, cfg->warnings, cfg->n_warnings * sizeof(*w));
		free(cfg->warnings);
		cfg->warnings = w;
		l->cap_warnings = cap;
	}
	cfg->warnings[cfg->n_warnings++] = line;
	return 0;
}

void pf_config_free(struct pf_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_components; i++) {
		struct pf_config_component *c = &cfg->components[i];
		if (c->config)
			pf_coptions_free(c->def->options, c->config);
		free(c->config);
		free(c->id);
		free(c->name);
	}
	free(cfg->components);
	for (size_t i = 0; i < cfg->n_pipelines; i++) {
		struct pf_config_pipeline *p = &cfg->pipelines[i];
		free(p->id);
		free(p->receivers);
		free(p->processors);
		free(p->exporters);
	}
	free(cfg->pipelines);
	free(cfg->extensions);
	free(cfg->metrics_address);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	free(cfg);
}

static const struct pf_component_def *find_def(const struct pf_cloader *l, enum pf_kind kind,
					       const char *type, size_t len)
{
	for (size_t i = 0; l->registry && l->registry[i]; i++) {
		const struct pf_component_def *d = l->registry[i];
		if (d->kind != kind)
			continue;
		if (strlen(d->type) == len && memcmp(d->type, type, len) == 0)
			return d;
		for (size_t a = 0; d->aliases && d->aliases[a]; a++)
			if (strlen(d->aliases[a]) == len && memcmp(d->aliases[a], type, len) == 0)
				return d;
	}
	return NULL;
}

static int unknown_type(const struct pf_cloader *l, enum pf_kind kind, const struct pf_cnode *key,
			size_t type_len)
{
	char known[512];
	int n = 0;
	known[0] = '\0';
	for (size_t i = 0; l->registry && l->registry[i] && (size_t)n < sizeof(known); i++)
		if (l->registry[i]->kind == kind)
			n += snprintf(known + n, sizeof(known) - (size_t)n, "%s%s", n ? ", " : "",
				      l->registry[i]->type);
	return pf_cnode_error(l->err, key, "unknown %s type \"%.*s\"; known: %s", kind_names[kind],
			      (int)(type_len < 64 ? type_len : 64), key->text,
			      n ? known : "(none)");
}

/* Reserves one more slot in cfg->components. */
static struct pf_config_component *new_component(struct pf_cloader *l)
{
	struct pf_config *cfg = l->cfg;
	if (cfg->n_components == l->cap_components) {
		size_t cap = l->cap_components ? l->cap_components * 2 : 8;
		struct pf_config_component *c = calloc(cap, sizeof(*c));
		if (!c)
			return NULL;
		if (cfg->n_components)
			memcpy(c, cfg->components, cfg->n_components * sizeof(*c));
		free(cfg->components);
		cfg->components = c;
		l->cap_components = cap;
	}
	return &cfg->components[cfg->n_components++];
}

static int load_component(struct pf_cloader *l, enum pf_kind kind, const struct pf_cnode *key,
			  const struct pf_cnode *value)
{
	char msg[256], what[128];
	size_t type_len;
	if (pf_cloader_check_id(key->text, &type_len, msg, sizeof(msg)) < 0)
		return pf_cnode_error(l->err, key, "invalid %s id \"%.64s\": %s", kind_names[kind],
				      key->text, msg);
	const struct pf_component_def *def = find_def(l, kind, key->text, type_len);
	if (!def)
		return unknown_type(l, kind, key, type_len);
	struct pf_config_component *c = new_component(l);
	if (!c)
		return -ENOMEM;
	c->def = def;
	c->id = strdup(key->text);
	c->name = strdup(key->text[type_len] ? key->text + type_len + 1 : "");
	c->config = calloc(1, def->config_size ? def->config_size : 1);
	if (!c->id || !c->name || !c->config)
		return -ENOMEM;
	pf_cnode_where(key, c->where, sizeof(c->where));
	snprintf(what, sizeof(what), "%s \"%.64s\"", kind_names[kind], c->id);
	int rc = pf_coptions_defaults(def->options, c->config, l->err);
	if (rc == 0)
		rc = pf_coptions_apply(def->options, value, key, what, c->config, l->err);
	if (rc < 0)
		return rc;
	if (def->validate) {
		struct pf_error verr;
		pf_error_clear(&verr);
		if (def->validate(c->config, &verr) < 0 || pf_error_isset(&verr))
			return pf_cnode_error(
				l->err, value && value->kind == PF_CNODE_MAP ? value : key,
				"%s: %s", what, verr.msg[0] ? verr.msg : "invalid settings");
	}
	rc = pf_strindex_put(&l->ids[kind], c->id, l->cfg->n_components - 1, NULL);
	return rc < 0 ? rc : 0;
}

static int load_section(struct pf_cloader *l, enum pf_kind kind, const struct pf_cnode *section)
{
	if (pf_cnode_is_null(section))
		return 0;
	if (section->kind != PF_CNODE_MAP)
		return pf_cnode_error(
			l->err, section, "%s: expected a mapping of %s ids to settings, got %s",
			section_names[kind], kind_names[kind], pf_cnode_kind_name(section));
	for (size_t i = 0; i < section->n; i++) {
		int rc = load_component(l, kind, section->keys[i], section->items[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_top_keys(struct pf_cloader *l, const struct pf_cnode *root)
{
	for (size_t i = 0; i < root->n; i++) {
		const struct pf_cnode *k = root->keys[i];
		bool ok = false;
		for (size_t t = 0; top_keys[t]; t++)
			ok = ok || strcmp(k->text, top_keys[t]) == 0;
		if (!ok)
			return pf_cnode_error(
				l->err, k,
				"unknown top-level key \"%.64s\"; valid keys: receivers, "
				"processors, exporters, extensions, connectors, service",
				k->text);
	}
	const struct pf_cnode *conn = pf_cnode_map_get(root, "connectors");
	if (!pf_cnode_is_null(conn) && (conn->kind != PF_CNODE_MAP || conn->n > 0))
		return pf_cnode_error(l->err, conn->kind == PF_CNODE_MAP ? conn->keys[0] : conn,
				      "connectors are not supported yet");
	return 0;
}

static int warn_unused(struct pf_cloader *l)
{
	for (size_t i = 0; i < l->cfg->n_components; i++) {
		const struct pf_config_component *c = &l->cfg->components[i];
		if (c->used)
			continue;
		int rc = pf_cloader_warn(l, c->where, "%s \"%s\" is defined but not used%s",
					 kind_names[c->def->kind], c->id,
					 c->def->kind == PF_EXTENSION ? " in service.extensions"
								      : " in any pipeline");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Builds the config from a merged, expanded tree. */
static struct pf_config *build(const struct pf_cnode *root,
			       const struct pf_component_def *const *registry, struct pf_error *err)
{
	struct pf_cloader l = {.registry = registry, .err = err};
	int rc = -ENOMEM;
	for (int k = 0; k < PF_KIND_COUNT; k++)
		pf_strindex_init(&l.ids[k]);
	l.cfg = calloc(1, sizeof(*l.cfg));
	if (!l.cfg)
		goto out_fini;
	if (!pf_cnode_is_null(root) && root->kind != PF_CNODE_MAP) {
		rc = pf_cnode_error(err, root, "the config must be a mapping, got %s",
				    pf_cnode_kind_name(root));
		goto out_free_cfg;
	}
	const struct pf_cnode *map = pf_cnode_is_null(root) ? NULL : root;
	if (map && (rc = check_top_keys(&l, map)) < 0)
		goto out_free_cfg;
	for (int k = 0; k < PF_KIND_COUNT; k++) {
		rc = load_section(&l, (enum pf_kind)k, pf_cnode_map_get(map, section_names[k]));
		if (rc < 0)
			goto out_free_cfg;
	}
	rc = pf_cloader_service(&l, pf_cnode_map_get(map, "service"), root);
	if (rc == 0)
		rc = warn_unused(&l);
	if (rc < 0)
		goto out_free_cfg;
	for (int k = 0; k < PF_KIND_COUNT; k++)
		pf_strindex_fini(&l.ids[k]);
	return l.cfg;

out_free_cfg:
	pf_config_free(l.cfg);
out_fini:
	for (int k = 0; k < PF_KIND_COUNT; k++)
		pf_strindex_fini(&l.ids[k]);
	if (rc == -ENOMEM)
		pf_error_set(err, NULL, "out of memory while loading the config");
	return NULL;
}

static const char *default_getenv(const char *name, void *arg)
{
	return getenv(name);
}

static struct pf_config *expand_and_build(struct pf_cnode *root, pf_getenv_fn get, void *arg,
					  const struct pf_component_def *const *registry,
					  struct pf_error *err)
{
	struct pf_config *cfg = NULL;
	int rc = pf_cnode_expand_env(root, get ? get : default_getenv, arg, err);
	if (rc == 0)
		cfg = build(root, registry, err);
	else if (rc == -ENOMEM)
		pf_error_set(err, NULL, "out of memory while loading the config");
	return cfg;
}

struct pf_config *pf_config_load_string(const char *name, const char *yaml, size_t len,
					const struct pf_component_def *const *registry,
					struct pf_error *err)
{
	struct pf_cnode *root = NULL;
	if (pf_cnode_parse(name, yaml, len, 0, 0, &root, err) < 0) {
		pf_error_set(err, NULL, "out of memory while loading the config");
		return NULL;
	}
	struct pf_config *cfg = expand_and_build(root, NULL, NULL, registry, err);
	pf_cnode_free(root);
	return cfg;
}

/* 0 when the user who runs proflow could read the file open at fd
 * without proflow's capabilities, else -errno. With CAP_DAC_READ_SEARCH (a
 * setcap'd binary, ambient capabilities) proflow opens any file, and its
 * errors quote the text they are about: `validate --config /etc/shadow`
 * printed a line of it. faccessat() without AT_EACCESS checks as the real
 * user and ignores a non-root user's capabilities. */
static int real_user_can_read(int fd, const char *path)
{
	if (faccessat(fd, "", R_OK, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* Before Linux 5.8 (no faccessat2): by path, racing with renames. */
	return access(path, R_OK) == 0 ? 0 : -errno;
}

/* Reads a whole file of at most PF_CONFIG_MAX_FILE bytes (pipes too). */
static int read_file(const char *path, char **out, size_t *len, struct pf_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return pf_error_set(err, path, "cannot open the config file: %s", strerror(errno));
	rc = real_user_can_read(fd, path);
	if (rc < 0)
		rc = pf_error_set(err, path,
				  "cannot open the config file: %s for user %u, who runs proflow "
				  "(proflow's capabilities are not used to read its config)",
				  strerror(-rc), (unsigned)getuid());
	else
		rc = pf_host_read_fd(fd, PF_CONFIG_MAX_FILE, 0, out, len);
	close(fd);
	if (rc == -EFBIG)
		return pf_error_set(err, path, "the config file is larger than %u bytes",
				    PF_CONFIG_MAX_FILE);
	if (rc < 0 && !pf_error_isset(err))
		return pf_error_set(err, path, "cannot read the config file: %s", strerror(-rc));
	return rc;
}

struct pf_config *pf_config_load(const struct pf_config_sources *src,
				 const struct pf_component_def *const *registry,
				 struct pf_error *err)
{
	struct pf_cnode *root = NULL;
	struct pf_config *cfg = NULL;
	int rc = 0;
	if (src->n_files == 0 && src->n_sets == 0) {
		pf_error_set(err, NULL, "no config given: use --config FILE (or --set)");
		return NULL;
	}
	for (size_t i = 0; i < src->n_files && rc == 0; i++) {
		char *text = NULL;
		size_t len = 0;
		struct pf_cnode *tree = NULL;
		rc = read_file(src->files[i], &text, &len, err);
		if (rc == 0)
			rc = pf_cnode_parse(src->files[i], text, len, 0, 0, &tree, err);
		free(text);
		if (rc == 0 && pf_cnode_is_null(tree)) {
			pf_cnode_free(tree); /* an empty file adds nothing */
			continue;
		}
		if (rc == 0)
			rc = pf_cnode_merge(&root, tree, err);
	}
	for (size_t i = 0; i < src->n_sets && rc == 0; i++)
		rc = pf_cnode_set(&root, src->sets[i], err);
	if (rc == 0 && !root) {
		root = pf_cnode_new(PF_CNODE_SCALAR, src->n_files ? src->files[0] : "--set", 1, 1,
				    "", 0);
		if (root)
			root->plain = true;
		else
			rc = -ENOMEM;
	}
	if (rc == 0)
		cfg = expand_and_build(root, src->getenv, src->getenv_arg, registry, err);
	else if (rc == -ENOMEM)
		pf_error_set(err, NULL, "out of memory while loading the config");
	pf_cnode_free(root);
	return cfg;
}
