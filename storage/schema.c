/* schema: versioned migrations of the storage database, applied at
 * storage_open. PRAGMA user_version is the version a database is at;
 * migrations[i] brings version i to i + 1. A change of schema is a new
 * entry at the end, never an edit of an old one. */
#include "schema.h"

#include <stdio.h>

static const char *const migrations[] = {
	/* 0 → 1: items of every store, and the counter of list keys. A
	 * list item's key is the counter's next value, written as 20
	 * digits so that keys sort (as text) in arrival order. */
	"CREATE TABLE items ("
	" user TEXT NOT NULL,"
	" store TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" value BLOB NOT NULL,"
	" PRIMARY KEY (user, store, key)"
	") WITHOUT ROWID;"
	"CREATE TABLE sequence ("
	" name TEXT PRIMARY KEY,"
	" value INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO sequence (name, value) VALUES ('append', 0);",
};

int storage_schema_version(void)
{
	return (int)(sizeof migrations / sizeof migrations[0]);
}

static void schema_error(sqlite3 *sql, const char *path, const char *what,
			 char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", path, what, sqlite3_errmsg(sql));
}

static int schema_read_version(sqlite3 *sql, int *version)
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

static int schema_apply(sqlite3 *sql, int version, const char *path,
			char *err, size_t errlen)
{
	char pragma[64];
	snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d",
		 version + 1);
	if (sqlite3_exec(sql, migrations[version], NULL, NULL, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(sql, pragma, NULL, NULL, NULL) != SQLITE_OK) {
		char what[64];
		snprintf(what, sizeof what,
			 "cannot upgrade the schema from version %d", version);
		schema_error(sql, path, what, err, errlen);
		return -1;
	}
	return 0;
}

int storage_schema_migrate(sqlite3 *sql, const char *path, char *err,
			   size_t errlen)
{
	int version, latest = storage_schema_version();
	/* IMMEDIATE: two processes opening a new file at once must not
	 * both create the tables. */
	if (sqlite3_exec(sql, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		schema_error(sql, path, "cannot lock the database", err,
			     errlen);
		return -1;
	}
	if (schema_read_version(sql, &version) < 0) {
		schema_error(sql, path, "cannot read the schema version", err,
			     errlen);
		goto fail;
	}
	if (version > latest) {
		snprintf(err, errlen,
			 "%s: the database has schema version %d, newer than "
			 "the version %d this palabre knows: run a newer "
			 "palabre or restore an older copy",
			 path, version, latest);
		goto fail;
	}
	for (; version < latest; version++)
		if (schema_apply(sql, version, path, err, errlen) < 0)
			goto fail;
	if (sqlite3_exec(sql, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		schema_error(sql, path, "cannot commit the schema", err,
			     errlen);
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(sql, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
