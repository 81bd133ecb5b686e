// SPDX-License-Identifier: Apache-2.0
/* Interns the pprof attribute keys and flag attributes once per decoded profile. */
#include "formats/pprof/attrs.h"

#include <errno.h>

static uint32_t flag_true(struct pf_batch *b, const char *key)
{
	struct pf_attribute a = {.value = {.kind = PF_VALUE_BOOL, .u.b = true}};
	a.key = pf_batch_cstring(b, key);
	if (a.key == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_attribute(b, &a);
}

int pf_pprof_keys_intern(struct pf_batch *b, struct pf_pprof_keys *k)
{
	k->build_id = pf_batch_cstring(b, PF_PPROF_BUILD_ID);
	k->comment = pf_batch_cstring(b, PF_PPROF_COMMENT);
	k->drop_frames = pf_batch_cstring(b, PF_PPROF_DROP_FRAMES);
	k->keep_frames = pf_batch_cstring(b, PF_PPROF_KEEP_FRAMES);
	k->doc_url = pf_batch_cstring(b, PF_PPROF_DOC_URL);
	k->default_sample_type = pf_batch_cstring(b, PF_PPROF_DEFAULT_SAMPLE_TYPE);
	k->has_functions_true = flag_true(b, PF_PPROF_HAS_FUNCTIONS);
	k->has_filenames_true = flag_true(b, PF_PPROF_HAS_FILENAMES);
	k->has_line_numbers_true = flag_true(b, PF_PPROF_HAS_LINE_NUMBERS);
	k->has_inline_frames_true = flag_true(b, PF_PPROF_HAS_INLINE_FRAMES);
	uint32_t folded = flag_true(b, PF_PPROF_IS_FOLDED);
	k->is_folded_set =
		folded == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_attr_set(b, &folded, 1);
	const uint32_t *all = &k->build_id;
	for (size_t i = 0; i < sizeof(*k) / sizeof(uint32_t); i++)
		if (all[i] == PF_INDEX_ERROR)
			return -ENOMEM;
	return 0;
}
