/* heap_trim: gives a process's freed heap back to the system after a
 * burst. glibc raises its mmap threshold each time a big block is
 * freed, so the link queues and buffers a burst grows (a thousand joins
 * to a room, a presence flood: megabytes) end up in the heap, and stay
 * resident once freed. A fixed threshold would give them back at once,
 * but costs every busy process a mapping per big buffer (measured: 7%
 * of chat throughput); instead, once a burst is over (at least
 * HEAP_TRIM_BURST bytes through the process's links since the last
 * trim, and less than HEAP_TRIM_QUIET in the last period),
 * malloc_trim(0) returns the free pages, as c2s does after a burst of
 * logins. */
#ifndef PALABRE_HEAP_TRIM_H
#define PALABRE_HEAP_TRIM_H

#include <stdint.h>
#include <uv.h>

#define HEAP_TRIM_PERIOD_MS 5000
#define HEAP_TRIM_BURST (32u << 20)
#define HEAP_TRIM_QUIET (1u << 20)

struct heap_trim {
	uv_timer_t timer;
	/* Bytes the process moved so far (its links' in and out). */
	uint64_t (*traffic)(void *ctx);
	void *ctx;
	uint64_t last;       /* traffic at the last check */
	uint64_t since_trim; /* bytes moved since the last trim */
};

/* Checks every HEAP_TRIM_PERIOD_MS; the timer does not keep the loop
 * alive. */
void heap_trim_start(struct heap_trim *t, uv_loop_t *loop,
		     uint64_t (*traffic)(void *ctx), void *ctx);

#endif
