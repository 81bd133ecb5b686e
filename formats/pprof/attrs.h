/* SPDX-License-Identifier: Apache-2.0 */
/* The attribute names under which pprof fields without an OTLP home are kept. */
#ifndef PF_PPROF_ATTRS_H
#define PF_PPROF_ATTRS_H

#include <stdint.h>

#include "model/batch.h"

#define PF_PPROF_BUILD_ID	     "process.executable.build_id.gnu"
#define PF_PPROF_BUILD_ID_GO	     "process.executable.build_id.go"
#define PF_PPROF_HAS_FUNCTIONS	     "pprof.mapping.has_functions"
#define PF_PPROF_HAS_FILENAMES	     "pprof.mapping.has_filenames"
#define PF_PPROF_HAS_LINE_NUMBERS    "pprof.mapping.has_line_numbers"
#define PF_PPROF_HAS_INLINE_FRAMES   "pprof.mapping.has_inline_frames"
#define PF_PPROF_IS_FOLDED	     "pprof.location.is_folded"
#define PF_PPROF_COMMENT	     "pprof.profile.comment"
#define PF_PPROF_DROP_FRAMES	     "pprof.profile.drop_frames"
#define PF_PPROF_KEEP_FRAMES	     "pprof.profile.keep_frames"
#define PF_PPROF_DOC_URL	     "pprof.profile.doc_url"
#define PF_PPROF_DEFAULT_SAMPLE_TYPE "pprof.profile.default_sample_type"

/* Key string indices, and the interned "flag = true" attributes, of one batch. */
struct pf_pprof_keys {
	uint32_t build_id;
	uint32_t comment;
	uint32_t drop_frames;
	uint32_t keep_frames;
	uint32_t doc_url;
	uint32_t default_sample_type;
	uint32_t has_functions_true;
	uint32_t has_filenames_true;
	uint32_t has_line_numbers_true;
	uint32_t has_inline_frames_true;
	uint32_t is_folded_set; /* attribute set {is_folded = true} */
};

/* Interns the keys and flag attributes into b. Returns 0 or -ENOMEM. */
int pf_pprof_keys_intern(struct pf_batch *b, struct pf_pprof_keys *k);

#endif
