/* archive_write: the storage's cost of archiving, through storage.h as
 * the sm's mam uses it: rows (two per message, the sender's and the
 * recipient's copies) of users chatting in pairs, in batches, a few
 * batches in flight so that the storage thread groups them (group
 * commit). Prints the CPU of the process (the loop and the storage
 * thread) per row; docs/performance.md's archive section.
 *
 *     build/archive_write [ROWS [USERS [BATCH]]]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../../storage/storage.h"

#define IN_FLIGHT 4

struct run {
	uv_loop_t loop;
	struct storage *s;
	long rows, users, batch, done, sent;
	int in_flight;
};

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Row n: message n / 2 from user k to its pair, in k's archive (even)
 * or the pair's (odd). */
static int archive_row(struct run *r, struct storage_batch *b, long n)
{
	char owner[64], with[64], id[STORAGE_ARCHIVE_ID_SIZE], body[256];
	long k = (n / 2) % r->users, pair = k ^ 1;
	snprintf(owner, sizeof owner, "user%ld@example.org", n % 2 ? pair : k);
	snprintf(with, sizeof with, "user%ld@example.org", n % 2 ? k : pair);
	int len = snprintf(body, sizeof body,
			   "<message xmlns='jabber:client' type='chat' "
			   "to='%s/phone' id='m%ld'><body>message %ld, some "
			   "eighty bytes of text as people write them in a "
			   "chat</body></message>",
			   with, n / 2, n / 2);
	if (storage_archive_reserve(r->s, id) < 0)
		return -1;
	return storage_batch_archive(b, owner, with, "phone",
				     (int64_t)time(NULL) * 1000000 + n, id,
				     body, (size_t)len);
}

static void submit(struct run *r);

static void on_committed(void *ctx, enum storage_status status)
{
	struct run *r = ctx;
	if (status != STORAGE_OK) {
		fprintf(stderr, "archive_write: a batch failed\n");
		exit(1);
	}
	r->in_flight--;
	r->done += r->batch;
	submit(r);
}

static void submit(struct run *r)
{
	while (r->in_flight < IN_FLIGHT && r->sent < r->rows) {
		struct storage_batch *b = storage_batch_new(r->s);
		for (long i = 0; i < r->batch; i++)
			if (archive_row(r, b, r->sent + i) < 0) {
				fprintf(stderr,
					"archive_write: out of memory\n");
				exit(1);
			}
		r->sent += r->batch;
		r->in_flight++;
		if (storage_batch_commit(b, on_committed, r) < 0) {
			fprintf(stderr, "archive_write: refused\n");
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	struct run r = {
		.rows = argc > 1 ? atol(argv[1]) : 200000,
		.users = argc > 2 ? atol(argv[2]) : 1000,
		.batch = argc > 3 ? atol(argv[3]) : 200,
	};
	char dir[] = "/tmp/archive-write-XXXXXX", path[64], err[256];
	if (!mkdtemp(dir) || r.rows < 1 || r.users < 2 || r.batch < 1)
		return 2;
	snprintf(path, sizeof path, "%s/sm.sqlite", dir);
	uv_loop_init(&r.loop);
	if (!(r.s = storage_open(&r.loop, path, err, sizeof err))) {
		fprintf(stderr, "archive_write: %s\n", err);
		return 1;
	}
	double cpu = cpu_seconds(), wall = wall_seconds();
	submit(&r);
	while (r.done < r.sent)
		uv_run(&r.loop, UV_RUN_ONCE);
	cpu = cpu_seconds() - cpu;
	wall = wall_seconds() - wall;
	storage_close(r.s);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	uv_loop_close(&r.loop);
	printf("%ld rows, %ld users, batches of %ld: %.1f µs CPU per row, "
	       "%.0f rows/s\n",
	       r.done, r.users, r.batch, cpu * 1e6 / (double)r.done,
	       (double)r.done / wall);
	const char *const files[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		snprintf(path, sizeof path, "%s/sm.sqlite%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}
