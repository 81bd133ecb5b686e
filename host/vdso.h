/* SPDX-License-Identifier: Apache-2.0 */
/* The vDSO the kernel maps into every process, as an ELF image: its CFI and symbols are every process's. */
#ifndef PF_HOST_VDSO_H
#define PF_HOST_VDSO_H

#include <stddef.h>

/* The name /proc/PID/maps gives the vDSO's mapping. */
#define PF_HOST_VDSO_MAPPING "[vdso]"

/* The vDSO mapped into this process (the same image as in every other
 * 64-bit process of this kernel): its address and the size of its mapping
 * as /proc/self/maps gives it. Returns 0, or -ENOENT when there is none. */
int pf_host_vdso(const void **image, size_t *size);

/* The vDSO's GNU build ID as lowercase hex in out (at least
 * PF_HOST_BUILD_ID_HEX bytes). Returns 0, or -ENOENT when there is no vDSO
 * or it has no build ID. */
int pf_host_vdso_build_id(char *out, size_t size);

/* A read-only file holding a copy of the vDSO image (a sealed memfd), for
 * readers of ELF files. Returns the fd (the caller closes it) or a
 * negative errno. */
int pf_host_vdso_fd(void);

#endif
