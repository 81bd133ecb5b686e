/* SPDX-License-Identifier: Apache-2.0 */
/* Dropping the capabilities the started pipelines no longer need. */
#ifndef PF_PRIVILEGES_H
#define PF_PRIVILEGES_H

#include "config/config.h"
#include "core/log.h"

/* Call once every component has started (the ebpf receiver has loaded and
 * attached its programs, servers listen). Keeps, of the capabilities the
 * process holds, only those the components in use need from now on: an
 * ebpf receiver or symbolize processor keeps CAP_SYS_PTRACE (other users'
 * /proc/PID/maps, exe and root) and CAP_SYSLOG (kernel addresses in
 * /proc/kallsyms), plus CAP_BPF for an ebpf receiver on kernels whose
 * bpf(2) map operations need it; everything else goes from the effective,
 * permitted, inheritable and ambient sets of every thread, and from the
 * bounding set when CAP_SETPCAP allows; no_new_privs is set. The user ids
 * do not change (root stays uid 0). Logs one line saying what was kept.
 * Returns 0, or a negative errno after logging why (a thread kept
 * capabilities it should not have). */
int pf_privileges_drop(const struct pf_config *cfg, const struct pf_logger *lg);

#endif
