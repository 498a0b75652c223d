/* schema: the SQLite schema of storage and its migrations. Private to
 * storage/. */
#ifndef PALABRE_STORAGE_SCHEMA_H
#define PALABRE_STORAGE_SCHEMA_H

#include <stddef.h>

#include <sqlite3.h>

/* The PRAGMA user_version this code reads and writes. */
int storage_schema_version(void);

/* Brings the database to storage_schema_version() in one transaction.
 * Refuses a database made by a newer palabre. 0, or -1 with a message
 * naming path in err. */
int storage_schema_migrate(sqlite3 *sql, const char *path, char *err,
			   size_t errlen);

#endif
