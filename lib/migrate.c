/* migrate: versioned SQLite schemas (see migrate.h). */
#include "migrate.h"

#include <stdio.h>

static void migrate_error(sqlite3 *sql, const char *path, const char *what,
			  char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", path, what, sqlite3_errmsg(sql));
}

static int migrate_read_version(sqlite3 *sql, int *version)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(sql, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int migrate_step(sqlite3 *sql, const char *path, const char *step,
			int version, char *err, size_t errlen)
{
	char pragma[64];
	snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d",
		 version + 1);
	if (sqlite3_exec(sql, step, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(sql, pragma, NULL, NULL, NULL) != SQLITE_OK) {
		char what[64];
		snprintf(what, sizeof what,
			 "cannot upgrade the schema from version %d", version);
		migrate_error(sql, path, what, err, errlen);
		return -1;
	}
	return 0;
}

int migrate_schema(sqlite3 *sql, const char *path, const char *const *steps,
		   int nsteps, char *err, size_t errlen)
{
	int version;
	if (sqlite3_exec(sql, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		migrate_error(sql, path, "cannot lock the database", err,
			      errlen);
		return -1;
	}
	if (migrate_read_version(sql, &version) < 0) {
		migrate_error(sql, path, "cannot read the schema version", err,
			      errlen);
		goto fail;
	}
	if (version < 0) { /* set by hand: no step of ours makes it */
		snprintf(err, errlen,
			 "%s: the database has schema version %d, which no "
			 "palabre writes: restore a copy",
			 path, version);
		goto fail;
	}
	if (version > nsteps) {
		snprintf(err, errlen,
			 "%s: the database has schema version %d, newer than "
			 "the version %d this palabre knows: run a newer "
			 "palabre or restore an older copy",
			 path, version, nsteps);
		goto fail;
	}
	for (; version < nsteps; version++)
		if (migrate_step(sql, path, steps[version], version, err,
				 errlen) < 0)
			goto fail;
	if (sqlite3_exec(sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		migrate_error(sql, path, "cannot commit the schema", err,
			      errlen);
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(sql, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
