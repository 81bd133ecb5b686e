/* SPDX-License-Identifier: Apache-2.0 */
/* `proflow components`: the registry's option tables printed as YAML. */
#ifndef PF_COMPONENTS_H
#define PF_COMPONENTS_H

#include <stdio.h>

#include "core/component.h"

/* Writes every component type of the NULL-terminated registry as YAML:
 * buildinfo, then receivers, processors, exporters and extensions, each type
 * with doc, stability, aliases and every option (sections nested). Returns 0
 * or -EIO when writing failed. */
int pf_components_print(FILE *f, const struct pf_component_def *const *registry);

#endif
