/* storage_fixture: see storage_fixture.h. */
#include "storage_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../storage/storage.h"

uv_loop_t storage_loop;
char dir[64], path[128];

void storage_fixture_setup(void)
{
	strcpy(dir, "/tmp/palabre-storage-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sm.sqlite", dir);
	ck_assert_int_eq(uv_loop_init(&storage_loop), 0);
}

void storage_fixture_teardown(void)
{
	char p[160];
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
		unlink(p);
	}
	rmdir(dir);
	/* storage_close and a loop run leave no handle behind */
	ck_assert_int_eq(uv_loop_close(&storage_loop), 0);
}

struct storage *open_storage(void)
{
	char err[512];
	struct storage *s = storage_open(&storage_loop, path, err, sizeof err);
	ck_assert_msg(s != NULL, "storage_open: %s", err);
	return s;
}

void close_storage(struct storage *s)
{
	storage_close(s);
	ck_assert_int_eq(uv_run(&storage_loop, UV_RUN_DEFAULT), 0);
}
