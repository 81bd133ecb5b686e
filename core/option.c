// SPDX-License-Identifier: Apache-2.0
/* Small helpers over option values shared by config/ and components. */
#include "option.h"

#include <string.h>

const char *pf_option_type_name(enum pf_option_type type)
{
	switch (type) {
	case PF_OPT_BOOL: return "bool";
	case PF_OPT_INT: return "int";
	case PF_OPT_DOUBLE: return "float";
	case PF_OPT_STRING: return "string";
	case PF_OPT_DURATION: return "duration";
	case PF_OPT_SIZE: return "size";
	case PF_OPT_ENUM: return "enum";
	case PF_OPT_STRINGS: return "list";
	case PF_OPT_MAP: return "map";
	case PF_OPT_SECTION: return "section";
	case PF_OPT_LIST: return "list of sections";
	}
	return "?";
}

const char *pf_string_map_get(const struct pf_string_map *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0)
			return m->values[i];
	return NULL;
}
