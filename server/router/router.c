/* router: the switch between components (ARCHITECTURE §2). Listens on
 * a Unix socket, challenges each component (HELLO nonce, AUTH HMAC),
 * then hands its frames to router_forward.c. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/heap_trim.h"
#include "../../lib/log.h"
#include "../palabred.h"
#include "router_internal.h"

#define ROUTER_BACKLOG 128
/* A component that has not authenticated after this long is closed. */
#define ROUTER_AUTH_TIMEOUT_MS 10000

static uint64_t router_traffic(void *ctx);

static void router_maybe_free(struct router *r)
{
	if (r->open > 0)
		return;
	router_table_free(&r->names);
	router_table_free(&r->binds);
	OPENSSL_cleanse(r->secret, strlen(r->secret));
	free(r->secret);
	free(r->path);
	free(r);
}

/* ---- one component's link ---- */

static void component_free(uv_handle_t *timer)
{
	struct component *c = timer->data;
	struct router *r = c->router;
	free(c);
	r->open--;
	router_maybe_free(r);
}

static void component_on_close(struct link *l)
{
	struct component *c = link_data(l);
	struct router *r = c->router;
	router_unregister(c);
	if (!c->authenticated)
		log_debug("router: a component left before authenticating");
	if (c->prev)
		c->prev->next = c->next;
	else
		r->components = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *)&c->auth_timer, component_free);
}

/* Unregisters at once, so that no frame is routed to c while its link
 * flushes and closes. */
static void component_close(struct component *c)
{
	router_unregister(c);
	link_close(c->link);
}

static void component_authenticate(struct component *c, const struct frame *f)
{
	struct router *r = c->router;
	unsigned char expected[32];
	if (f->from_len == 0 || f->payload_len != sizeof expected) {
		log_warn("router: malformed AUTH (%zu-byte name, %zu-byte "
			 "digest); closing",
			 f->from_len, f->payload_len);
		component_close(c);
		return;
	}
	link_auth_digest(r->secret, c->nonce, f->from, f->from_len, expected);
	if (CRYPTO_memcmp(expected, f->payload, sizeof expected) != 0) {
		log_warn("router: component '%.*s' failed authentication "
			 "(wrong secret); closing",
			 (int)f->from_len, f->from);
		component_close(c);
		return;
	}
	struct component *bound =
		router_table_get(&r->binds, f->from, f->from_len);
	if (router_table_get(&r->names, f->from, f->from_len) || bound ||
	    frame_name_equals(f->from, f->from_len, "*")) {
		log_warn("router: a component named '%.*s' is already "
			 "connected (or the name is bound); refusing the "
			 "new one",
			 (int)f->from_len, f->from);
		component_close(c);
		return;
	}
	memcpy(c->name, f->from, f->from_len);
	c->name[f->from_len] = '\0';
	c->name_len = f->from_len;
	if (router_table_put(&r->names, c->name, c->name_len, c) < 0) {
		log_error("router: out of memory registering %s", c->name);
		component_close(c);
		return;
	}
	c->authenticated = true;
	uv_timer_stop(&c->auth_timer);
	log_info("router: component %s authenticated", c->name);
	struct frame ok = {.type = FRAME_AUTH_OK};
	frame_set_to(&ok, c->name);
	link_send_control(c->link, &ok);
}

static void component_on_frame(struct link *l, const struct frame *f)
{
	struct component *c = link_data(l);
	if (c->authenticated) {
		if (f->type == FRAME_AUTH) {
			log_warn("router: %s authenticated twice; closing",
				 c->name);
			component_close(c);
			return;
		}
		router_handle_frame(c, f);
	} else if (f->type == FRAME_AUTH) {
		component_authenticate(c, f);
	} else {
		log_warn("router: a %s frame before authentication; closing",
			 frame_type_name(f->type));
		component_close(c);
	}
}

static void component_on_drain(struct link *l)
{
	router_handle_drain(link_data(l));
}

static const struct link_callbacks component_callbacks = {
	.on_frame = component_on_frame,
	.on_close = component_on_close,
	.on_drain = component_on_drain,
};

static void component_on_auth_timeout(uv_timer_t *t)
{
	log_warn("router: a component did not authenticate within %d s; "
		 "closing",
		 ROUTER_AUTH_TIMEOUT_MS / 1000);
	component_close(t->data);
}

/* ---- accepting ---- */

static void router_free_handle(uv_handle_t *h)
{
	free(h);
}

static void router_on_connection(uv_stream_t *server, int status)
{
	struct router *r = server->data;
	if (status < 0) {
		log_warn("router: accept on %s failed: %s", r->path,
			 uv_strerror(status));
		return;
	}
	uv_pipe_t *pipe = malloc(sizeof *pipe);
	struct component *c = calloc(1, sizeof *c);
	if (!pipe || !c) {
		free(pipe);
		free(c);
		log_error("router: out of memory accepting a component");
		return;
	}
	uv_pipe_init(r->loop, pipe, 0);
	if (uv_accept(server, (uv_stream_t *)pipe) < 0 ||
	    RAND_bytes(c->nonce, sizeof c->nonce) != 1) {
		log_warn("router: cannot accept a component");
		uv_close((uv_handle_t *)pipe, router_free_handle);
		free(c);
		return;
	}
	c->router = r;
	c->link = link_new((uv_stream_t *)pipe, &component_callbacks, c);
	if (!c->link) {
		free(c);
		return;
	}
	c->next = r->components;
	if (c->next)
		c->next->prev = c;
	r->components = c;
	r->open++;
	uv_timer_init(r->loop, &c->auth_timer);
	c->auth_timer.data = c;
	uv_timer_start(&c->auth_timer, component_on_auth_timeout,
		       ROUTER_AUTH_TIMEOUT_MS, 0);
	log_debug("router: a component connected");
	struct frame hello = {.type = FRAME_HELLO};
	hello.payload = (const char *)c->nonce;
	hello.payload_len = sizeof c->nonce;
	link_send_control(c->link, &hello);
}

/* Removes a socket left by a previous run; never another kind of file. */
static int router_unlink_stale(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("router: %s exists and is not a socket", path);
		return -1;
	}
	return unlink(path);
}

static int router_listen(struct router *r)
{
	if (router_unlink_stale(r->path) < 0)
		return -1;
	uv_pipe_init(r->loop, &r->listener, 0);
	r->listener.data = r;
	r->open++;
	/* Only our user may connect: no moment where the socket is open to
	 * others between bind and chmod. */
	mode_t old = umask(0177);
	int err = uv_pipe_bind(&r->listener, r->path);
	umask(old);
	if (err == 0 && chmod(r->path, 0600) < 0)
		err = uv_translate_sys_error(errno);
	if (err == 0)
		err = uv_listen((uv_stream_t *)&r->listener, ROUTER_BACKLOG,
				router_on_connection);
	if (err < 0) {
		log_error("router: cannot listen on %s: %s", r->path,
			  uv_strerror(err));
		return -1;
	}
	log_info("router: listening on %s", r->path);
	return 0;
}

/* ---- start and stop ---- */

/* The trim's timer, as the listener: its close lets the router go. */
static void router_on_trim_closed(uv_handle_t *h)
{
	struct heap_trim *t = h->data;
	struct router *r = t->ctx;
	r->open--;
	router_maybe_free(r);
}

static void router_on_listener_closed(uv_handle_t *h)
{
	struct router *r = h->data;
	r->open--;
	router_maybe_free(r);
}

struct router *router_start(uv_loop_t *loop, const struct config *cfg,
			    const char *secret)
{
	if (!cfg->router_socket || !secret || !*secret) {
		log_error("router: no socket path or no secret");
		return NULL;
	}
	struct router *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->loop = loop;
	r->path = strdup(cfg->router_socket);
	r->secret = strdup(secret);
	router_table_init(&r->names);
	router_table_init(&r->binds);
	if (!r->path || !r->secret) {
		free(r->path);
		free(r->secret);
		free(r);
		return NULL;
	}
	heap_trim_start(&r->trim, loop, router_traffic, r);
	r->open++; /* the trim's timer */
	if (router_listen(r) < 0) {
		r->stopping = true;
		if (r->open > 1)
			uv_close((uv_handle_t *)&r->listener,
				 router_on_listener_closed);
		uv_close((uv_handle_t *)&r->trim.timer, router_on_trim_closed);
		return NULL;
	}
	return r;
}

void router_stop(struct router *r)
{
	if (!r || r->stopping)
		return;
	r->stopping = true;
	log_info("router: stopping");
	uv_close((uv_handle_t *)&r->trim.timer, router_on_trim_closed);
	uv_close((uv_handle_t *)&r->listener, router_on_listener_closed);
	unlink(r->path);
	for (struct component *c = r->components; c; c = c->next)
		component_close(c);
}

bool router_has_route(const struct router *r, const char *name)
{
	return router_table_get(&r->binds, name, strlen(name)) != NULL;
}

static uint64_t router_traffic(void *ctx)
{
	const struct router *r = ctx;
	uint64_t bytes = 0;
	for (const struct component *c = r->components; c; c = c->next) {
		struct link_stats st;
		link_get_stats(c->link, &st);
		bytes += st.bytes_in + st.bytes_out;
	}
	return bytes;
}
