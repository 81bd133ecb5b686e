/* SPDX-License-Identifier: Apache-2.0 */
/* The list of every component type proflow is built with. */
#ifndef PF_REGISTRY_H
#define PF_REGISTRY_H

#include "core/component.h"

/* NULL-terminated; ordered by kind, then type. */
extern const struct pf_component_def *const pf_registry[];

#endif
