/* bookmarks_apply: a write of XEP-0048's forms (a whole list) turned
 * into the changes of XEP-0402's node, one item per room
 * (bookmarks.h). */
#include <stdlib.h>
#include <string.h>

#include "bookmarks.h"
#include "sm.h"

static const struct pep_error bookmarks_apply_internal = {
	"internal-server-error", NULL, NULL};

/* XEP-0402 §3.3 (Example 5): the publish-options of a bookmark. An
 * existing node must be the user's alone (XEP-0411 §5) and persist its
 * items; the rest only configures a node made now. */
static struct pep_options bookmarks_apply_options(const struct bookmarks *bm)
{
	struct pep_options o = {
		.fields = PEP_FIELD_ACCESS | PEP_FIELD_PERSIST |
			  PEP_FIELD_MAX_ITEMS | PEP_FIELD_SEND_LAST,
		.create_only = PEP_FIELD_MAX_ITEMS | PEP_FIELD_SEND_LAST,
	};
	o.config.access = PEP_ACCESS_WHITELIST;
	o.config.persist_items = true;
	o.config.max_items = (unsigned)bm->pep_max_items; /* 'max' */
	o.config.send_last = PEP_SEND_LAST_NEVER;
	return o;
}

/* d as it must be published: the id of the item of its room, and the
 * <extensions/> of that item when d has none (a XEP-0048 client that
 * does not keep them cannot remove them). Returns whether d changes
 * the node, or -1 (memory). */
static int bookmarks_apply_merge(struct bookmark *d, const struct bookmark *e)
{
	if (!e)
		return 1;
	if (!d->extensions && e->extensions &&
	    !(d->extensions = strdup(e->extensions)))
		return -1;
	if (bookmark_equal(d, e))
		return 0;
	char *id = strdup(e->id);
	if (!id)
		return -1;
	free(d->id);
	d->id = id;
	return 1;
}

static size_t bookmarks_apply_retracts(struct bookmarks *bm, const char *user,
				       const struct bookmark_list *current,
				       const struct bookmark_list *desired,
				       pep_done_fn done, void *ctx,
				       size_t *pending)
{
	size_t n = 0;
	for (size_t i = 0; i < current->n; i++) {
		const struct bookmark *c = &current->v[i];
		if (bookmark_list_find(desired, c->key))
			continue;
		(*pending)++;
		n++;
		/* XEP-0402 §3.5: notify='true', so that the user's other
		 * clients hear of it. */
		if (pep_retract(bm->sm, user, NS_BOOKMARKS, c->id, true, done,
				ctx) < 0)
			done(bm->sm, ctx, &bookmarks_apply_internal);
	}
	return n;
}

size_t bookmarks_apply(struct bookmarks *bm, const char *user,
		       const struct bookmark_list *current,
		       struct bookmark_list *desired, pep_done_fn done,
		       void *ctx, size_t *pending)
{
	struct pep_options o = bookmarks_apply_options(bm);
	size_t n = bookmarks_apply_retracts(bm, user, current, desired, done,
					    ctx, pending);
	for (size_t i = 0; i < desired->n; i++) {
		struct bookmark *d = &desired->v[i];
		int change = bookmarks_apply_merge(
			d, bookmark_list_find(current, d->key));
		struct xml_node *item =
			change > 0 ? bookmark_item_new(&bm->sm->arena, d)
				   : NULL;
		if (change == 0)
			continue;
		(*pending)++;
		n++;
		if (!item || pep_publish(bm->sm, user, NS_BOOKMARKS, item, &o,
					 done, ctx) < 0)
			done(bm->sm, ctx, &bookmarks_apply_internal);
	}
	return n;
}
