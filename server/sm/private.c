/* private: XEP-0049 Private XML Storage, the protocol. A client keeps
 * XML of its own namespaces on the server: an iq set to its own account
 * stores one namespace's elements, a get gives them back; the items are
 * read and written by private_store.c (private.h), and a set is
 * answered once its write is durable. */
#include "private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "sm.h"
#include "stanza.h"

/* A namespace is a storage key: no real one is this long. */
#define PRIVATE_NS_MAX 1024

extern const struct sm_module sm_module_private;

/* ------------------------------------------------------------ answers */

/* The iq, serialized, kept until its item is read or written. */
struct private_iq {
	size_t len;
	char bytes[];
};

static struct private_iq *private_iq_keep(const struct stanza *st)
{
	struct buf b = BUF_INIT;
	struct private_iq *r = NULL;
	if (xml_serialize(st->xml, XML_NS_CLIENT, &b) == 0 &&
	    (r = malloc(sizeof *r + b.len))) {
		r->len = b.len;
		memcpy(r->bytes, b.data, b.len);
	}
	buf_free(&b);
	return r;
}

/* r, parsed again into sm->arena to answer it; then freed. */
static int private_iq_restore(struct sm *sm, struct private_iq *r,
			      struct stanza *st)
{
	struct xml_node *xml =
		xml_parse(&sm->arena, r->bytes, r->len, XML_NS_CLIENT);
	free(r);
	return xml ? sm_stanza_init(st, &sm->arena, xml) : -1;
}

/* XEP-0049 §2.3: the result holds the namespace's elements; with none
 * stored, the empty element asked for, as servers answer. */
static void private_answer_get(struct sm *sm, void *ctx,
			       enum sm_private_status status, const char *value,
			       size_t len)
{
	struct stanza st;
	if (private_iq_restore(sm, ctx, &st) < 0)
		return;
	struct xml_node *q =
		value ? xml_parse(&sm->arena, value, len, NS_PRIVATE) : NULL;
	if (!value) {
		q = st.payload;
		xml_remove_child(st.xml, q);
	}
	struct xml_node *res = sm_stanza_result_new(&st);
	if (status != SM_PRIVATE_OK || !q || !res) {
		sm_deliver_error(sm, &st, "internal-server-error");
	} else {
		xml_append_child(res, q);
		sm_deliver_xml(sm, res);
	}
	arena_reset(&sm->arena);
}

static void private_answer_put(struct sm *sm, void *ctx,
			       enum sm_private_status status)
{
	struct stanza st;
	if (private_iq_restore(sm, ctx, &st) < 0)
		return;
	char text[160];
	struct xml_node *res;
	switch (status) {
	case SM_PRIVATE_OK:
		if ((res = sm_stanza_result_new(&st)))
			sm_deliver_xml(sm, res);
		break;
	case SM_PRIVATE_TOO_MANY:
		/* RFC 6120 §8.3.3.12: a local service policy, said in the
		 * <text/>. */
		snprintf(text, sizeof text,
			 "private storage holds at most %zu namespaces per "
			 "user; this would be one more",
			 sm_private_namespaces_max(sm));
		sm_deliver_error_text(sm, &st, "policy-violation", text);
		break;
	case SM_PRIVATE_ERROR:
		sm_deliver_error(sm, &st, "internal-server-error");
		break;
	}
	arena_reset(&sm->arena);
}

/* ------------------------------------------------------------ requests */

/* XEP-0049 §2.3: "Certain namespaces are reserved in Jabber
 * (namespaces beginning with 'jabber:' or 'http://jabber.org/', as well
 * as 'vcard-temp')", refused (§3: Not Acceptable); an element without a
 * namespace of its own is refused alike ("as long as the root element
 * of that fragment is scoped by its own namespace", §2.1). */
static bool private_reserved(const char *ns)
{
	return !ns[0] || strncmp(ns, "jabber:", 7) == 0 ||
	       strncmp(ns, "http://jabber.org/", 18) == 0 ||
	       strcmp(ns, "vcard-temp") == 0;
}

/* The namespace of the query's elements, or NULL after answering st
 * with the error: "At least one child element with a proper namespace
 * MUST be included; otherwise the server MUST respond with a "Not
 * Acceptable" error" (§2.3), save the get without one (§3: "Bad
 * Format"); a get names one namespace ("A client MUST NOT query for
 * more than namespace in a single IQ get"), and a set stores one ("an
 * IQ set or result MAY contain multiple elements qualified by the same
 * namespace"). */
static const char *private_namespace(struct sm *sm, struct stanza *st, bool get)
{
	struct xml_node *c = xml_child(st->payload, NULL, NULL);
	if (!c) {
		sm_deliver_error_text(sm, st,
				      get ? "bad-request" : "not-acceptable",
				      "the query names no namespace: it needs "
				      "an element of one");
		return NULL;
	}
	const char *ns = c->ns;
	for (c = xml_next(c, NULL, NULL); c; c = xml_next(c, NULL, NULL))
		if (get || strcmp(c->ns, ns) != 0) {
			sm_deliver_error_text(sm, st, "bad-request",
					      "one namespace per request");
			return NULL;
		}
	if (private_reserved(ns)) {
		sm_deliver_error_text(sm, st, "not-acceptable",
				      "this namespace is reserved (XEP-0049)");
		return NULL;
	}
	if (strlen(ns) > PRIVATE_NS_MAX) {
		sm_deliver_error_text(sm, st, "not-acceptable",
				      "namespace too long");
		return NULL;
	}
	return ns;
}

/* A limit passed gets policy-violation (RFC 6120 §8.3.3.12), saying
 * it. */
int sm_private_item(struct sm *sm, const struct stanza *st, struct buf *out)
{
	size_t max = sm_private_item_max(sm);
	char text[160];
	if (xml_serialize(st->payload, XML_NS_CLIENT, out) < 0) {
		sm_deliver_error(sm, st, "internal-server-error");
		return -1;
	}
	if (out->len > max) {
		snprintf(text, sizeof text,
			 "private storage takes at most %zu bytes per "
			 "namespace; this is %zu",
			 max, out->len);
		sm_deliver_error_text(sm, st, "policy-violation", text);
		return -1;
	}
	return 0;
}

static void private_request(struct sm *sm, struct stanza *st, const char *user)
{
	bool get = sm_stanza_is_type(st, "get");
	const char *ns = private_namespace(sm, st, get);
	struct buf item = BUF_INIT;
	if (!ns || (!get && sm_private_item(sm, st, &item) < 0)) {
		buf_free(&item);
		return;
	}
	struct private_iq *r = private_iq_keep(st);
	int rc = !r    ? -1
		 : get ? sm_private_get(sm, user, ns, private_answer_get, r)
		       : sm_private_put(sm, user, ns, item.data, item.len,
					private_answer_put, r);
	buf_free(&item);
	if (rc < 0) {
		free(r);
		/* RFC 6120 §8.3.3.18: busy (many requests of this user
		 * wait) or short of memory; the client may retry. */
		sm_deliver_error(sm, st, "resource-constraint");
	}
}

/* XEP-0049 §2.3: "If a user attempts to get or set jabber:iq:private
 * data that belongs to another user, the server MUST return a
 * "Forbidden" or "Service Unavailable" error to the sender (... the
 * former is preferable)"; §4: "A server MUST NOT allow any entity other
 * than an authorized resource of the user to create, update, or delete
 * private XML stored on behalf of that user". */
static enum sm_verdict private_iq(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	if (!sm_stanza_is_type(st, "get") && !sm_stanza_is_type(st, "set"))
		return SM_NEXT;
	if (!ev->session || (st->to && !jid_equal_bare(st->to, st->from))) {
		sm_deliver_error(ev->sm, st, "forbidden");
		return SM_DONE;
	}
	if (!xml_is(st->payload, NS_PRIVATE, "query")) {
		sm_deliver_error(ev->sm, st, "bad-request");
		return SM_DONE;
	}
	private_request(ev->sm, st, ev->session->user->jid);
	return SM_DONE;
}

/* ------------------------------------------------------------ module */

static int private_init(struct sm *sm)
{
	const struct config *cfg = sm->cfg;
	struct private_store *store = private_store_new(
		sm,
		(size_t)sm_module_option_integer(cfg, &sm_module_private,
						 "private-item-bytes"),
		(size_t)sm_module_option_integer(cfg, &sm_module_private,
						 "private-namespaces"));
	if (!store)
		return -1;
	sm_module_set_data(sm, &sm_module_private, store);
	return sm_module_hook(sm, SM_EV_IQ_BARE, NS_PRIVATE, 0, private_iq,
			      NULL);
}

static void private_free(struct sm *sm)
{
	struct private_store *store = sm_module_data(sm, &sm_module_private);
	if (store)
		private_store_free(store);
	sm_module_set_data(sm, &sm_module_private, NULL);
}

/* <sm><private-item-bytes>: one namespace's elements, as stored;
 * <sm><private-namespaces>: namespaces per user (docs/configuration.md). */
static const struct sm_option private_options[] = {
	{.name = "private-item-bytes",
	 .type = SM_OPTION_INTEGER,
	 .min = 1024,
	 .max = 1L << 24,
	 .def = 64L << 10},
	{.name = "private-namespaces",
	 .type = SM_OPTION_INTEGER,
	 .min = 1,
	 .max = 10000,
	 .def = 100},
	{0}};

const struct sm_module sm_module_private = {
	.name = "private",
	.on_by_default = true,
	.features = (const char *const[]){NS_PRIVATE, NULL},
	.options = private_options,
	.init = private_init,
	.free = private_free,
};
