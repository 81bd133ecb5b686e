// SPDX-License-Identifier: Apache-2.0
/* The registry: the one place besides its own file that names a component type. */
#include "registry.h"

/* One line per component type. */

const struct pf_component_def *const pf_registry[] = {
	NULL,
};
