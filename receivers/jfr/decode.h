/* SPDX-License-Identifier: Apache-2.0 */
/* Contract of the JFR decoder: JDK Flight Recorder chunks in a buffer to profiles in a batch. */
#ifndef PF_JFR_DECODE_H
#define PF_JFR_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct pf_batch;

/*
 * A JFR file is a sequence of chunks. Each chunk is self-contained: a header,
 * events, constant pools (checkpoint events) and the metadata event that
 * describes every type. The decoder is pure: it reads buffers, fills a batch
 * and a struct pf_error, and never prints or touches files.
 *
 * Profiles produced (one resource, two profiles per kind that occurs):
 *   cpu    jdk.ExecutionSample          samples/count, cpu/nanoseconds (count x period:
 *                                       the JDK's "period" setting, or async-profiler's
 *                                       "interval" when its event is cpu, itimer or ctimer)
 *   wall   jdk.NativeMethodSample       samples/count, wall/nanoseconds (count x period)
 *          profiler.WallClockSample     (async-profiler: one event stands for `samples`
 *                                       samples; the period is its wall interval)
 *   alloc  jdk.ObjectAllocationSample (weight), jdk.ObjectAllocationInNewTLAB and
 *          jdk.ObjectAllocationOutsideTLAB (allocationSize)
 *                                       alloc_objects/count, alloc_space/bytes
 *   lock   jdk.JavaMonitorEnter, jdk.ThreadPark
 *                                       contentions/count, lock/nanoseconds
 *   gc     jdk.GarbageCollection        gc/count, gc_pause/nanoseconds (sumOfPauses);
 *                                       the stack is one frame named for the collector
 *   malloc profiler.Malloc              malloc_objects/count, malloc_bytes/bytes (size):
 *                                       async-profiler's nativemem; profiler.Free is skipped
 *   live   profiler.LiveObject          inuse_objects/count, inuse_space/bytes
 *                                       (allocationSize): async-profiler's live objects,
 *                                       with the class frame and attribute of allocations
 * Frames are "package.Class.method" with the JFR line number; every location has
 * profile.frame.type = jvm and jvm.frame.type = interpreted, jit, inlined or native.
 * Allocation and lock stacks get a leaf frame named for the allocated or
 * locked class (jvm.frame.type = allocation or lock), and the class also as
 * the sample attribute jvm.alloc.class or jvm.lock.class; an event without a
 * stack gets the single frame "[unknown stack]" (pprof tools drop samples
 * without frames). Samples carry thread.name and thread.id; GC samples
 * jvm.gc.name. Samples with equal stack and attributes are summed (no
 * timestamps). Other event types are skipped. When a recording has both
 * jdk.ObjectAllocationSample and the TLAB events enabled, both are counted.
 */

enum pf_jfr_kind {
	PF_JFR_CPU,
	PF_JFR_WALL,
	PF_JFR_ALLOC,
	PF_JFR_LOCK,
	PF_JFR_GC,
	PF_JFR_MALLOC,
	PF_JFR_LIVE,
	PF_JFR_N_KINDS,
};

struct pf_jfr_header {
	uint16_t major, minor;
	uint64_t size;	       /* bytes of the chunk, header included; 0 while being written */
	uint64_t cpool_offset; /* last checkpoint event, from the chunk's start */
	uint64_t meta_offset;  /* metadata event, from the chunk's start; 0 while being written */
	uint64_t start_nanos;  /* wall clock, ns since the epoch */
	uint64_t duration_nanos;
	uint64_t start_ticks;
	uint64_t ticks_per_second;
	uint8_t file_state; /* nonzero while the JVM writes the chunk */
	uint8_t flags;
};

#define PF_JFR_HEADER_SIZE 68

struct pf_jfr_stats {
	uint64_t chunks;
	uint64_t events;		   /* every event read, metadata and checkpoints excepted */
	uint64_t skipped;		   /* events of types not mapped */
	uint64_t by_kind[PF_JFR_N_KINDS];  /* events mapped per kind */
	int64_t totals[PF_JFR_N_KINDS][2]; /* the two values' sums per kind */
};

struct pf_jfr_decoder;

/* Reads a chunk header at data. Returns 0, -EAGAIN when the JVM is still
 * writing the chunk (size or metadata not yet set), or -EINVAL with err set
 * ("offset N: why"; N counts from base_offset). */
int pf_jfr_read_header(const uint8_t *data, size_t size, uint64_t base_offset,
		       struct pf_jfr_header *h, struct pf_error *err);

/* A decoder adding to b (which must stay alive and unshared until
 * pf_jfr_decoder_finish). NULL when out of memory. */
struct pf_jfr_decoder *pf_jfr_decoder_new(struct pf_batch *b);

/* Decodes the chunk at the start of data[0..size); sets *used to its size.
 * base_offset is the position of data in its file, for messages. Returns 0,
 * -EAGAIN for a chunk still being written (nothing decoded), -EINVAL with err
 * set for a truncated or corrupt chunk, or -ENOMEM. A failed chunk may have
 * added entries to the batch's dictionary but no samples. */
int pf_jfr_decoder_chunk(struct pf_jfr_decoder *d, const uint8_t *data, size_t size,
			 uint64_t base_offset, size_t *used, struct pf_error *err);

/* Adds the resource, the scope's profiles and their samples to the batch.
 * The resource gets the attribute indices attrs[0..n) and, unless those set
 * them, process.pid, process.runtime.name, process.runtime.version,
 * process.runtime.description and service.name = service_name when not NULL,
 * else the main class or jar of jdk.JVMInformation, else "unknown_service:java".
 * Returns the number of profiles added or a negative errno. */
int pf_jfr_decoder_finish(struct pf_jfr_decoder *d, const uint32_t *attrs, size_t n_attrs,
			  const char *service_name, uint32_t scope);

/* What was decoded so far. */
const struct pf_jfr_stats *pf_jfr_decoder_stats(const struct pf_jfr_decoder *d);

/* Takes NULL. */
void pf_jfr_decoder_free(struct pf_jfr_decoder *d);

/* Decodes every chunk of the file at path, reading one chunk at a time
 * (pread, never mmap: a file cut meanwhile is an error, not SIGBUS) so
 * memory stays near the largest chunk's size (JDK chunks are ~12 MiB by
 * default). Files over max_size bytes (0: no limit) are -EFBIG. Returns 0,
 * -EAGAIN when a chunk is still being written (the chunks before it were
 * decoded), -EINVAL with err set, or another negative errno. Blocking. */
int pf_jfr_decode_file(struct pf_jfr_decoder *d, const char *path, uint64_t max_size,
		       struct pf_error *err);

/* Decodes every chunk of a whole recording in data and finishes, with the
 * defaults above. Returns the number of profiles or a negative errno (err
 * set for -EINVAL; a chunk still being written is -EINVAL here). */
int pf_jfr_decode(struct pf_batch *b, const uint8_t *data, size_t size, const char *service_name,
		  uint32_t scope, struct pf_jfr_stats *stats, struct pf_error *err);

#endif
