/* version: XEP-0092 Software Version of the server itself: its name,
 * its version (the Makefile's VERSION) and its operating system, unless
 * <sm><version-hidden> keeps the last two to itself. */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "delivery.h"
#include "module.h"
#include "sm.h"
#include "stanza.h"

#define NS_VERSION "jabber:iq:version"

extern const struct sm_module sm_module_version;

struct version {
	bool hidden;
	char os[sizeof((struct utsname *)0)->sysname];
};

/* XEP-0092 §2: name and version; the operating system is optional, and
 * §3 (security) asks that an administrator can keep it to itself: the
 * same setting hides the version, which tells an attacker as much. */
static int version_add(struct arena *a, struct xml_node *q,
		       const struct version *v)
{
	if (!xml_add_text_child(a, q, NS_VERSION, "name", "palabre"))
		return -1;
	if (v->hidden)
		return 0;
	if (!xml_add_text_child(a, q, NS_VERSION, "version", PALABRE_VERSION))
		return -1;
	return v->os[0] && !xml_add_text_child(a, q, NS_VERSION, "os", v->os)
		       ? -1
		       : 0;
}

/* XEP-0092 §2: a get to the server's domain; a set means nothing. */
static enum sm_verdict version_host(struct sm_event *ev, void *data)
{
	if (!sm_stanza_is_type(ev->st, "get")) {
		sm_deliver_error(ev->sm, ev->st, "bad-request");
		return SM_DONE;
	}
	struct arena *a = ev->st->arena;
	struct xml_node *r = sm_stanza_result_new(ev->st);
	struct xml_node *q =
		r ? xml_add_child(a, r, NS_VERSION, "query") : NULL;
	if (q && version_add(a, q, data) == 0)
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

static int version_init(struct sm *sm)
{
	struct version *v = calloc(1, sizeof *v);
	struct utsname u;
	if (!v)
		return -1;
	sm_module_set_data(sm, &sm_module_version, v);
	v->hidden = sm_module_option_boolean(sm->cfg, &sm_module_version,
					     "version-hidden");
	if (uname(&u) == 0)
		memcpy(v->os, u.sysname, sizeof v->os);
	return sm_module_hook(sm, SM_EV_IQ_HOST, NS_VERSION, 0, version_host,
			      v);
}

static void version_free(struct sm *sm)
{
	free(sm_module_data(sm, &sm_module_version));
	sm_module_set_data(sm, &sm_module_version, NULL);
}

static const struct sm_option version_options[] = {
	{.name = "version-hidden", .type = SM_OPTION_BOOLEAN, .def = 0}, {0}};

const struct sm_module sm_module_version = {
	.name = "version",
	.on_by_default = true,
	.features = (const char *const[]){NS_VERSION, NULL},
	.options = version_options,
	.init = version_init,
	.free = version_free,
};
