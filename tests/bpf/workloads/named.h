/* SPDX-License-Identifier: Apache-2.0 */
/* PF_NAMED: a workload function that keeps its own name and frame in the stacks the tests compare. */
#ifndef PF_BPF_NAMED_H
#define PF_BPF_NAMED_H

/* Neither inlined nor cloned: GCC's noipa. clang, which compiles these for
 * the fuzz build only (where they are not run), has noinline. */
#ifdef __clang__
#define PF_NAMED __attribute__((noinline))
#else
#define PF_NAMED __attribute__((noipa))
#endif

#endif
