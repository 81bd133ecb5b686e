/* SPDX-License-Identifier: Apache-2.0 */
/* Option tables: the one description of a component's settings. */
#ifndef PF_OPTION_H
#define PF_OPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Each component declares its settings as a table of struct pf_option rows.
 * config/ uses the table alone to parse YAML into the component's config
 * struct, to apply defaults (written as text and parsed like user input), to
 * check types and bounds, to list valid keys in errors, and to print
 * `proflow components`. Components never see YAML.
 *
 * Storage of each type at `offset` in the config struct:
 *   PF_OPT_BOOL      bool
 *   PF_OPT_INT       int64_t        bounds: min, max
 *   PF_OPT_DOUBLE    double         bounds: min, max
 *   PF_OPT_STRING    char *         (NULL when unset and no default)
 *   PF_OPT_DURATION  int64_t ns     "10s", "200ms", "1m30s", "1h"; bare number = seconds
 *   PF_OPT_SIZE      int64_t bytes  "64MiB", "512KiB", "1GB", bare number = bytes
 *   PF_OPT_ENUM      int            index into `choices`
 *   PF_OPT_STRINGS   struct pf_strings   a YAML sequence of scalars
 *   PF_OPT_MAP       struct pf_string_map  a YAML mapping of scalar to scalar
 *   PF_OPT_SECTION   a nested struct described by `section`
 *   PF_OPT_LIST      struct pf_list   a YAML sequence of mappings, each parsed
 *                    by `section` (defaults applied) into an element of
 *                    `elem_size` bytes
 * The memory behind strings, lists and maps belongs to config/.
 */

enum pf_option_type {
	PF_OPT_BOOL,
	PF_OPT_INT,
	PF_OPT_DOUBLE,
	PF_OPT_STRING,
	PF_OPT_DURATION,
	PF_OPT_SIZE,
	PF_OPT_ENUM,
	PF_OPT_STRINGS,
	PF_OPT_MAP,
	PF_OPT_SECTION,
	PF_OPT_LIST,
};

/* Row flags. */
#define PF_OPT_REQUIRED 0x1u /* must be given; `def` is ignored */
/* PF_OPT_SECTION: the section's struct begins with a `bool` that is set
 * when the key is given at all (also as null or {}), so a component can
 * tell an omitted section from one left at its defaults. */
#define PF_OPT_PRESENCE 0x2u
/* PF_OPT_STRING: a listen endpoint, "host:port", "[ipv6]:port" or ":port",
 * checked when the config is loaded (pf_config_check_endpoint), so a bad one
 * fails validation at its file:line:col instead of failing the run. */
#define PF_OPT_ENDPOINT 0x4u
/* With PF_OPT_ENDPOINT: "" is accepted and means "off". */
#define PF_OPT_EMPTY_OFF 0x8u

struct pf_strings {
	char **items;
	size_t n;
};

struct pf_string_map {
	char **keys;
	char **values;
	size_t n;
};

/* PF_OPT_LIST: n elements of the row's elem_size bytes each. */
struct pf_list {
	void *items;
	size_t n;
};

struct pf_option {
	const char *name;
	enum pf_option_type type;
	const char *def; /* default as YAML text, or NULL */
	double min, max; /* bounds for INT, DOUBLE, DURATION (ns), SIZE; min == max means none */
	const char *const *choices;	 /* PF_OPT_ENUM: NULL-terminated */
	const struct pf_option *section; /* PF_OPT_SECTION/LIST: nested table, NULL name ends */
	unsigned flags;
	size_t offset;	  /* offsetof(config struct, field) */
	const char *doc;  /* one line */
	size_t elem_size; /* PF_OPT_LIST: bytes of one element's struct */
};

/* A table ends with a row whose name is NULL. */
#define PF_OPTION_END                                                                              \
	{                                                                                          \
		.name = NULL                                                                       \
	}

/* The type's name as shown to users ("duration"). */
const char *pf_option_type_name(enum pf_option_type type);

/* Looks up a value in a string map; NULL when absent. */
const char *pf_string_map_get(const struct pf_string_map *m, const char *key);

#endif
