/* heap_trim: malloc_trim once a burst is over (heap_trim.h). */
#include "heap_trim.h"

#include <malloc.h>

#include "log.h"

static void heap_trim_check(uv_timer_t *timer)
{
	struct heap_trim *t = timer->data;
	uint64_t now = t->traffic(t->ctx);
	uint64_t moved = now >= t->last ? now - t->last : 0;
	t->last = now;
	t->since_trim += moved;
	if (t->since_trim < HEAP_TRIM_BURST || moved >= HEAP_TRIM_QUIET)
		return;
	t->since_trim = 0;
	malloc_trim(0);
	log_debug("heap trimmed after a burst");
}

void heap_trim_start(struct heap_trim *t, uv_loop_t *loop,
		     uint64_t (*traffic)(void *ctx), void *ctx)
{
	t->traffic = traffic;
	t->ctx = ctx;
	t->last = traffic(ctx);
	t->since_trim = 0;
	uv_timer_init(loop, &t->timer);
	t->timer.data = t;
	uv_timer_start(&t->timer, heap_trim_check, HEAP_TRIM_PERIOD_MS,
		       HEAP_TRIM_PERIOD_MS);
	uv_unref((uv_handle_t *)&t->timer);
}
