/* SPDX-License-Identifier: Apache-2.0 */
/* A bump arena usable as protobuf-c's allocator: many small allocations, one free. */
#ifndef PF_PB_ARENA_H
#define PF_PB_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

struct pf_budget_meter;

/*
 * protobuf-c allocates every message, array and string of an unpacked
 * message separately; with this arena as its ProtobufCAllocator that is a
 * pointer bump, and freeing is one call (or a reset that keeps the memory
 * for the next message). protobuf-c's own free calls become no-ops.
 *
 * Ownership: the arena owns every block it hands out; they die with
 * pf_pb_arena_reset() or pf_pb_arena_fini(). Not thread-safe.
 */

struct pf_pb_arena_chunk;

struct pf_pb_arena {
	ProtobufCAllocator allocator;	/* pass &arena->allocator to protobuf-c */
	struct pf_pb_arena_chunk *head; /* first chunk; kept across resets */
	struct pf_pb_arena_chunk *cur;	/* chunk being filled */
	size_t chunk_size;
	size_t allocated; /* bytes of chunks held */
	/* Charged for each chunk when set (NULL after init); a refused
	 * charge is an allocation failure. */
	struct pf_budget_meter *meter;
};

/* Sets up an empty arena whose chunks are at least `chunk_size` bytes
 * (0 = 64 KiB). Allocates nothing yet. */
void pf_pb_arena_init(struct pf_pb_arena *a, size_t chunk_size);

/* `size` bytes aligned to 16 (not zeroed, like malloc's), or NULL on ENOMEM. */
void *pf_pb_arena_alloc(struct pf_pb_arena *a, size_t size);

/* Forgets every allocation but keeps the chunks for reuse. */
void pf_pb_arena_reset(struct pf_pb_arena *a);

/* Frees all chunks; the arena may be initialised again. */
void pf_pb_arena_fini(struct pf_pb_arena *a);

#endif
