/* schema: the steps of the storage database's schema, applied at
 * storage_open by lib/migrate.h: migrations[i] brings version i to
 * i + 1. A change of schema is a new entry at the end, never an edit of
 * an old one. */
#include "schema.h"

#include "../lib/migrate.h"

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
	/* 1 → 2: the message archive (XEP-0313), a table of its own: the
	 * key/value items cannot answer "with X, from t1 to t2, after id
	 * Y" by an index range. seq (the rowid, given by the storage,
	 * storage_archive_reserve) is the arrival order, the tie-break of
	 * equal stamps (µs) and the order retention deletes in. Each query
	 * is a range of one index: (user, stamp) with no 'with', (user,
	 * with_bare, stamp) with one (a full JID's resource is a residual
	 * test inside its bare JID's range). user and with_bare are ids of
	 * jids (short keys: an index entry is a few bytes, not two JIDs);
	 * a jids row never changes nor goes, so that a cache of it never
	 * goes stale. A XEP-0359 id is seq and tag encrypted with the key
	 * of archive_key (storage/archive_id.h): no index of ids. */
	"CREATE TABLE jids ("
	" id INTEGER PRIMARY KEY,"
	" jid TEXT NOT NULL UNIQUE"
	");"
	"CREATE TABLE archive ("
	" seq INTEGER PRIMARY KEY,"
	" user INTEGER NOT NULL,"
	" with_bare INTEGER NOT NULL,"
	" with_resource TEXT NOT NULL,"
	" stamp INTEGER NOT NULL,"
	" tag INTEGER NOT NULL,"
	" message BLOB NOT NULL"
	");"
	"CREATE INDEX archive_time ON archive (user, stamp);"
	"CREATE INDEX archive_with ON archive (user, with_bare, stamp);"
	"CREATE TABLE archive_key ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" key BLOB NOT NULL"
	");",
};

int storage_schema_version(void)
{
	return (int)(sizeof migrations / sizeof migrations[0]);
}

int storage_schema_migrate(sqlite3 *sql, const char *path, char *err,
			   size_t errlen)
{
	return migrate_schema(sql, path, migrations, storage_schema_version(),
			      err, errlen);
}
