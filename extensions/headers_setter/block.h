/* SPDX-License-Identifier: Apache-2.0 */
/* The layout of the header edits block that headers_setter puts in front of a queued payload. */
#ifndef PF_EXTENSIONS_HEADERS_SETTER_BLOCK_H
#define PF_EXTENSIONS_HEADERS_SETTER_BLOCK_H

#include "headers_setter.h"

/*
 * magic (4) | total length u32 LE | count u16 LE | count edits:
 *   action u8 | name length u16 LE | name | value length u32 LE | value
 * The magic's first byte, 0xff, starts neither a protobuf message (field
 * 31, wire type 7 does not exist), a gzip stream nor a pyroscope payload,
 * so a payload queued without an authenticator is told apart.
 */
#define PF_HS_MAGIC	"\xffPFH"
#define PF_HS_MAGIC_LEN 4
#define PF_HS_FIXED_LEN 10 /* magic, length, count */
#define PF_HS_MAX_EDITS PF_HEADERS_MAX_EDITS
#define PF_HS_MAX_NAME	256
#define PF_HS_MAX_VALUE 8192

enum pf_hs_action {
	PF_HS_INSERT,
	PF_HS_UPDATE,
	PF_HS_UPSERT,
	PF_HS_DELETE,
};

#endif
