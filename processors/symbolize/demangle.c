// SPDX-License-Identifier: Apache-2.0
/* Demangles with libiberty's cplus_demangle: auto style tries Rust, then the C++ ABI. */
#include <stddef.h>
#include <libiberty/demangle.h>

#include "demangle.h"

char *pf_demangle(const char *name)
{
	/* Only mangled names: "_Z..." (C++, Rust legacy) and "_R..." (Rust v0). */
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
