/* archive_expiry: an archive's retention period (XEP-0313 leaves it to
 * the server): every minute, the messages older than it are deleted,
 * in chunks of one transaction each so that no write waits long behind
 * them, for the sm's archive (<sm><mam-retention-days>) and the rooms'
 * (<muc><archive-retention-days>) alike. */
#include <stddef.h>
#include <time.h>

#include "../../lib/log.h"
#include "archive_query.h"

#define ARCHIVE_EXPIRE_CHUNK 1000
#define ARCHIVE_EXPIRE_PERIOD_MS (60 * 1000)

int64_t archive_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void expire_next(struct archive_expiry *e);

static void expired(void *ctx, enum storage_status status,
		    const struct storage_items *result)
{
	struct archive_expiry *e = ctx;
	e->expiring = false;
	if (status != STORAGE_OK)
		return;
	if (result->count)
		log_info("%s: %zu archived messages expired", e->who,
			 result->count);
	/* A full chunk: more are due; the next chunk waits behind what
	 * was submitted meanwhile. */
	if (result->count == ARCHIVE_EXPIRE_CHUNK)
		expire_next(e);
}

static void expire_next(struct archive_expiry *e)
{
	if (e->expiring || !e->storage || !e->retention_us)
		return;
	if (storage_archive_expire(e->storage,
				   archive_now_us() - e->retention_us,
				   ARCHIVE_EXPIRE_CHUNK, expired, e) == 0)
		e->expiring = true;
}

static void on_expiry(uv_timer_t *t)
{
	/* The timer's data is its owner's. */
	expire_next((struct archive_expiry *)((char *)t -
					      offsetof(struct archive_expiry,
						       timer)));
}

void archive_expiry_start(struct archive_expiry *e, uv_loop_t *loop,
			  struct storage *s, int64_t retention_us,
			  const char *who)
{
	uv_timer_init(loop, &e->timer);
	e->storage = s;
	e->retention_us = retention_us;
	e->expiring = false;
	e->who = who;
	if (!retention_us)
		return;
	uv_timer_start(&e->timer, on_expiry, 0, ARCHIVE_EXPIRE_PERIOD_MS);
	uv_unref((uv_handle_t *)&e->timer);
}
