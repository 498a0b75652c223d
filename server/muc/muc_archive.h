/* muc_archive: the rooms' message archive (XEP-0313 on the room's
 * JID), the state muc_archive.c (what is archived, retention, the
 * history read back at start) and muc_mam.c (the queries) share. */
#ifndef PALABRE_MUC_ARCHIVE_H
#define PALABRE_MUC_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "../../lib/buf.h"
#include "../archive/archive_query.h"

struct muc_mam_query;

struct muc_archive {
	struct muc *muc;
	struct archive_expiry expiry; /* <muc><archive-retention-days> */
	struct buf out;               /* a message as archived, reused */
	/* muc_mam.c: the queries waiting for their pages. */
	struct muc_mam_query *queries;
	size_t nqueries;
};

#endif
