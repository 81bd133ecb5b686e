// SPDX-License-Identifier: Apache-2.0
/* Bump allocation in chunk lists, exposed as a protobuf-c allocator. */
#include "formats/pb_arena.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/budget.h"
#include <stdlib.h>

#define ARENA_ALIGN	    16
#define ARENA_DEFAULT_CHUNK ((size_t)64 << 10)

struct pf_pb_arena_chunk {
	struct pf_pb_arena_chunk *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

static void *arena_pb_alloc(void *data, size_t size)
{
	return pf_pb_arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *ptr)
{
	/* Freed with the arena. */
}

void pf_pb_arena_init(struct pf_pb_arena *a, size_t chunk_size)
{
	a->allocator.alloc = arena_pb_alloc;
	a->allocator.free = arena_pb_free;
	a->allocator.allocator_data = a;
	a->head = NULL;
	a->cur = NULL;
	a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
	a->allocated = 0;
	a->meter = NULL;
}

static struct pf_pb_arena_chunk *chunk_new(size_t size)
{
	if (size > SIZE_MAX - sizeof(struct pf_pb_arena_chunk))
		return NULL;
	/* Not zeroed: protobuf-c initialises what it allocates, like malloc's
	 * memory, and zeroing megabytes per request was a tenth of decoding. */
	struct pf_pb_arena_chunk *c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

void *pf_pb_arena_alloc(struct pf_pb_arena *a, size_t size)
{
	if (size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	struct pf_pb_arena_chunk *c = a->cur;
	while (c && c->size - c->used < size) {
		/* Chunks kept from before a reset are reused in order. */
		c = c->next;
		if (c)
			c->used = 0;
	}
	if (!c) {
		size_t want = size > a->chunk_size ? size : a->chunk_size;
		if (pf_budget_charge(a->meter, want) < 0)
			return NULL;
		c = chunk_new(want);
		if (!c)
			return NULL;
		a->allocated += want;
		if (a->cur) {
			c->next = a->cur->next;
			a->cur->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
		/* Grow later chunks so a large message needs few of them. */
		if (a->chunk_size < ((size_t)16 << 20))
			a->chunk_size *= 2;
	}
	a->cur = c;
	void *p = c->data + c->used;
	c->used += size;
	return p;
}

void pf_pb_arena_reset(struct pf_pb_arena *a)
{
	a->cur = a->head;
	if (a->head)
		a->head->used = 0;
}

void pf_pb_arena_fini(struct pf_pb_arena *a)
{
	struct pf_pb_arena_chunk *c = a->head;
	while (c) {
		struct pf_pb_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->cur = NULL;
	a->allocated = 0;
}
