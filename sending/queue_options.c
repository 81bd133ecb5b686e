// SPDX-License-Identifier: Apache-2.0
/* The `sending_queue` option table exporters embed, and its cross-field checks. */
#include "queue.h"

#include <stddef.h>

static const char *const sizer_names[] = {"requests", "items", "bytes", NULL};
static const char *const storage_names[] = {"none", "file", NULL};

const struct pf_option pf_queue_options[] = {
	{.name = "enabled",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct pf_queue_config, enabled),
	 .doc = "Queue requests and send them from num_consumers consumers"},
	{.name = "queue_size",
	 .type = PF_OPT_INT,
	 .def = "1000",
	 .min = 1,
	 .max = 1e15,
	 .offset = offsetof(struct pf_queue_config, queue_size),
	 .doc = "Capacity of the queue, in units of `sizer`"},
	{.name = "num_consumers",
	 .type = PF_OPT_INT,
	 .def = "10",
	 .min = 1,
	 .max = 1000,
	 .offset = offsetof(struct pf_queue_config, num_consumers),
	 .doc = "Requests sent (or waiting to be retried) at once"},
	{.name = "sizer",
	 .type = PF_OPT_ENUM,
	 .def = "requests",
	 .choices = sizer_names,
	 .offset = offsetof(struct pf_queue_config, sizer),
	 .doc = "What queue_size counts: requests, items (profile samples) or bytes"},
	{.name = "block_on_overflow",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct pf_queue_config, block_on_overflow),
	 .doc = "When full, push back upstream without counting the data as enqueue_failed"},
	{.name = "storage",
	 .type = PF_OPT_ENUM,
	 .def = "none",
	 .choices = storage_names,
	 .offset = offsetof(struct pf_queue_config, storage),
	 .doc = "none: memory only; file: keep queued and in-flight requests in `directory`"},
	{.name = "directory",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_queue_config, directory),
	 .doc = "storage file: directory of the queue (a subdirectory per exporter is made)"},
	{.name = "max_size",
	 .type = PF_OPT_SIZE,
	 .def = "1GiB",
	 .min = 0,
	 .max = 1e15,
	 .offset = offsetof(struct pf_queue_config, max_size),
	 .doc = "storage file: payload bytes kept on disk, beyond which requests are refused (0 = "
		"no limit)"},
	PF_OPTION_END,
};

int pf_queue_validate(const struct pf_queue_config *cfg, struct pf_error *err)
{
	if (cfg->storage == PF_QUEUE_STORAGE_FILE && (!cfg->directory || !cfg->directory[0]))
		return pf_error_set(err, "", "sending_queue: storage file needs a directory");
	return 0;
}
