/* SPDX-License-Identifier: Apache-2.0 */
/* Internal contract of the JFR decoder's parts: its state, the caches, and the profile builder. */
#ifndef PF_JFR_DECODER_H
#define PF_JFR_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

#define MAX_FRAMES     4096
#define STR_MAX	       4096
#define NS_PER_MS      1000000LL
#define DEFAULT_PERIOD (20 * NS_PER_MS) /* JFR's default sampling period */
/* async-profiler's wall-clock interval when it records 0: 5 x its 10 ms
 * default interval (WallClock::start in its src/wallClock.cpp; the --wall
 * and -i options in its docs/ProfilerOptions.md). */
#define AP_DEFAULT_WALL_PERIOD (50 * NS_PER_MS)
/* Its cpu interval when it records 0 (DEFAULT_INTERVAL in its src/arguments.h). */
#define AP_DEFAULT_CPU_PERIOD (10 * NS_PER_MS)

/* ---- a u64 -> u32 memo (open addressing; values stored +1, 0 = empty) ---- */

struct jfr_memo {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

uint64_t jfr_mix(uint64_t k);
/* True and *val set when key is present. */
bool jfr_memo_get(const struct jfr_memo *m, uint64_t key, uint32_t *val);
/* Sets key to val. Returns 0 or -ENOMEM. */
int jfr_memo_put(struct jfr_memo *m, uint64_t key, uint32_t val);
void jfr_memo_free(struct jfr_memo *m);

/* ---- the decoder ---- */

struct jfr_agg {
	uint32_t kind, stack, attrs;
	int64_t v[2];
};

struct pf_jfr_decoder {
	struct pf_batch *b;
	struct pf_jfr_stats stats;
	struct jfr_agg *aggs; /* in order of first appearance */
	size_t n_aggs, cap_aggs;
	struct jfr_memo agg_index; /* hash of (kind, stack, attrs) -> aggs index */
	int64_t period[PF_JFR_N_KINDS];
	/* async-profiler's "wall" and "interval" settings, ns (-1: not seen),
	 * whether its "event" is a cpu timer (cpu, itimer, ctimer: "interval" is
	 * then the jdk.ExecutionSample period), and whether
	 * profiler.WallClockSample events were read. */
	int64_t ap_wall, ap_interval;
	bool ap_cpu_event, wall_clock_events;
	uint64_t t_start, t_end;
	int64_t pid;
	char jvm_name[256], jvm_version[256], main_class[256];
	uint32_t locs[MAX_FRAMES + 1];
	char str[STR_MAX], str2[STR_MAX];
};

#endif
