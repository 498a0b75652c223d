/* affiliation_write: what one change of a room's affiliation list
 * costs the muc's storage (room_store.c's store "muc_affiliations", an
 * item per bare JID) in a room of N entities: the whole list written
 * again (the first version of room_store.c), or the one item changed
 * (what it does now). Prints the mean time from commit to completion
 * (the storage thread's work and its fsync) and the bytes each change
 * holds in the storage's queue (STORAGE_QUEUE_MAX_BYTES);
 * docs/architecture.md's "Rooms".
 *
 *     build/affiliation_write [N [DB]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../storage/storage.h"

#define ROOM "big@conference.localhost"
#define STORE "muc_affiliations"
#define ROUNDS 10

static uv_loop_t loop;
static struct storage *storage;
static bool written;
static size_t queued_max;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void done(void *ctx, enum storage_status status)
{
	if (status != STORAGE_OK) {
		fprintf(stderr, "affiliation_write: a write failed\n");
		exit(1);
	}
	written = true;
}

/* Commits b and waits for it; the seconds since start. */
static double commit(struct storage_batch *b, double start)
{
	struct storage_stats stats;
	written = false;
	if (storage_batch_commit(b, done, NULL) < 0) {
		fprintf(stderr, "affiliation_write: a batch was refused\n");
		exit(1);
	}
	storage_get_stats(storage, &stats);
	if (stats.queued_bytes > queued_max)
		queued_max = stats.queued_bytes;
	while (!written)
		uv_run(&loop, UV_RUN_ONCE);
	return now() - start;
}

static void put_member(struct storage_batch *b, long i, bool admin)
{
	char jid[64];
	const char *aff = admin ? "admin" : "member";
	snprintf(jid, sizeof jid, "member%06ld@example.org", i);
	storage_batch_put(b, ROOM, STORE, jid, aff, strlen(aff));
}

/* The list of n written again, with member `changed` an admin. */
static double write_list(long n, long changed)
{
	double start = now();
	struct storage_batch *b = storage_batch_new(storage);
	storage_batch_delete(b, ROOM, STORE, NULL);
	for (long i = 0; i < n; i++)
		put_member(b, i, i == changed);
	return commit(b, start);
}

static double write_item(long changed)
{
	double start = now();
	struct storage_batch *b = storage_batch_new(storage);
	put_member(b, changed, true);
	return commit(b, start);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	char path[] = "/tmp/affiliation-write-XXXXXX", err[256];
	int fd = argc > 2 ? -1 : mkstemp(path);
	const char *db = argc > 2 ? argv[2] : path;
	if (fd >= 0)
		close(fd);
	if (n < 1 || uv_loop_init(&loop) < 0 ||
	    !(storage = storage_open(&loop, db, err, sizeof err))) {
		fprintf(stderr, "affiliation_write: %s\n", n < 1 ? "N?" : err);
		return 1;
	}
	write_list(n, -1);
	double list = 0, item = 0;
	size_t list_bytes;
	for (long i = 0; i < ROUNDS; i++)
		list += write_list(n, i);
	list_bytes = queued_max;
	queued_max = 0;
	for (long i = 0; i < ROUNDS; i++)
		item += write_item(i);
	printf("%ld entities: the list %.2f ms and %zu bytes queued per "
	       "change; one item %.2f ms and %zu bytes\n",
	       n, list * 1000 / ROUNDS, list_bytes, item * 1000 / ROUNDS,
	       queued_max);
	storage_close(storage);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	for (int i = 0; fd >= 0 && i < 3; i++) {
		static const char *const suffixes[] = {"", "-wal", "-shm"};
		char p[64];
		snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
		unlink(p);
	}
	return 0;
}
