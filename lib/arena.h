/* arena: allocations freed together, for per-stanza data. */
#ifndef PALABRE_ARENA_H
#define PALABRE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *chunks;
	size_t used; /* total bytes handed out, for limits */
};

#define ARENA_INIT                                                             \
	{                                                                      \
		NULL, 0                                                        \
	}

/* Returns zeroed memory aligned for any type, or NULL. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
/* Frees everything allocated from a; a is ready for reuse. */
void arena_reset(struct arena *a);

#endif
