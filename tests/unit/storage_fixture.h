/* storage_fixture: a storage database in a temporary directory and a
 * loop to run its completions, for the unit tests of storage/. */
#ifndef PALABRE_TESTS_STORAGE_FIXTURE_H
#define PALABRE_TESTS_STORAGE_FIXTURE_H

#include <uv.h>

struct storage;

extern uv_loop_t storage_loop;
/* The database: <dir, a new temporary directory>/sm.sqlite. */
extern char dir[64], path[128];

/* Check fixtures: a new directory and loop; the files removed and the
 * loop closed (with no handle left behind). */
void storage_fixture_setup(void);
void storage_fixture_teardown(void);

/* storage_open of path, asserted. */
struct storage *open_storage(void);
/* storage_close, then the loop turn that frees it. */
void close_storage(struct storage *s);

#endif
