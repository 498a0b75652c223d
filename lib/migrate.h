/* migrate: versioned schemas of palabre's SQLite files, the one engine
 * behind the storage database (storage/schema.c) and the accounts
 * database (auth/local.c).
 *
 * PRAGMA user_version is the number of steps a database has had;
 * steps[i] brings version i to i + 1. A change of schema is a new step
 * at the end of a list, never an edit of an old one. */
#ifndef PALABRE_MIGRATE_H
#define PALABRE_MIGRATE_H

#include <stddef.h>

#include <sqlite3.h>

/* Brings the database of path (open as sql) to version nsteps, in one
 * transaction taken before the version is read (BEGIN IMMEDIATE: two
 * processes opening a new file at once do not both create its tables).
 * A database of a version above nsteps was made by a newer palabre: it
 * is refused and left as it is. So is every database whose upgrade
 * fails: nothing of a failed upgrade stays. 0, or -1 with a message
 * naming path in err. */
int migrate_schema(sqlite3 *sql, const char *path, const char *const *steps,
		   int nsteps, char *err, size_t errlen);

#endif
