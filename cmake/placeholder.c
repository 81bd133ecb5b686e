/* SPDX-License-Identifier: Apache-2.0 */
/* Keeps a layer library non-empty while its first sources are written. */
int pf_placeholder_unused;
