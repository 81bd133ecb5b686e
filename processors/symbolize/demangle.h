/* SPDX-License-Identifier: Apache-2.0 */
/* C++ and Rust symbol demangling through libiberty. */
#ifndef PF_DEMANGLE_H
#define PF_DEMANGLE_H

/* The demangled form of a C++ (Itanium ABI) or Rust (legacy or v0) name,
 * with parameters, as a malloc'ed string the caller frees; NULL when name
 * is not mangled (or on ENOMEM). */
char *pf_demangle(const char *name);

#endif
