/* link_client: the component side of a link to the router.
 *
 *   router                     component
 *   HELLO (nonce)        ->
 *                        <-    AUTH (from = name, HMAC(secret, nonce||name))
 *   AUTH_OK              ->
 *                        <-    BIND name   (for each name)
 *   BIND_OK / BIND_FAIL  ->
 *                              on_ready
 *
 * TODO: between hosts the link must run over TLS (ARCHITECTURE §2);
 * "host:port" is plain TCP for now, fit only for a trusted network. */
#include "link_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum link_client_state {
	LINK_CLIENT_WAIT_HELLO,
	LINK_CLIENT_WAIT_AUTH_OK,
	LINK_CLIENT_WAIT_BINDS,
};

struct link_client {
	uv_loop_t *loop;
	char *address;
	char *name;
	char *secret;
	char **binds;
	size_t nbinds;
	size_t nbound;
	enum link_client_state state;
	struct link_client_callbacks cb;
	void *data;
	uv_connect_t connect;
	uv_getaddrinfo_t resolve;
	uv_stream_t *stream;
};

void link_auth_digest(const char *secret, const unsigned char *nonce,
		      const char *name, size_t name_len, unsigned char out[32])
{
	unsigned char msg[FRAME_NONCE_SIZE + FRAME_NAME_MAX];
	unsigned int out_len = 32;
	if (name_len > FRAME_NAME_MAX)
		name_len = FRAME_NAME_MAX;
	memcpy(msg, nonce, FRAME_NONCE_SIZE);
	memcpy(msg + FRAME_NONCE_SIZE, name, name_len);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), msg,
	     FRAME_NONCE_SIZE + name_len, out, &out_len);
}

static void link_client_free(struct link_client *lc)
{
	if (!lc)
		return;
	if (lc->secret) {
		OPENSSL_cleanse(lc->secret, strlen(lc->secret));
		free(lc->secret);
	}
	for (size_t i = 0; i < lc->nbinds; i++)
		free(lc->binds[i]);
	free(lc->binds);
	free(lc->address);
	free(lc->name);
	free(lc);
}

/* ---- the handshake ---- */

static int link_client_send(struct link *l, enum frame_type type,
			    const char *to, const char *from,
			    const void *payload, size_t payload_len)
{
	struct frame f = {.type = type};
	frame_set_to(&f, to);
	frame_set_from(&f, from);
	f.payload = payload;
	f.payload_len = payload_len;
	return link_send_control(l, &f);
}

static void link_client_fail(struct link *l, const char *why)
{
	struct link_client *lc = link_private(l);
	log_warn("link to %s as %s: %s", lc->address, lc->name, why);
	link_close(l);
}

static void link_client_ready(struct link *l)
{
	struct link_client *lc = link_private(l);
	struct link_callbacks cb = {
		.on_frame = lc->cb.on_frame,
		.on_close = lc->cb.on_close,
		.on_drain = lc->cb.on_drain,
	};
	void (*on_ready)(struct link *) = lc->cb.on_ready;
	link_set_callbacks(l, &cb);
	link_set_private(l, NULL);
	log_info("link to %s: ready as %s", lc->address, lc->name);
	link_client_free(lc);
	if (on_ready)
		on_ready(l);
}

static void link_client_on_hello(struct link *l, const struct frame *f)
{
	struct link_client *lc = link_private(l);
	if (f->payload_len != FRAME_NONCE_SIZE) {
		link_client_fail(l, "the router's HELLO has no nonce");
		return;
	}
	unsigned char digest[32];
	link_auth_digest(lc->secret, (const unsigned char *)f->payload,
			 lc->name, strlen(lc->name), digest);
	link_client_send(l, FRAME_AUTH, "", lc->name, digest, sizeof digest);
	lc->state = LINK_CLIENT_WAIT_AUTH_OK;
}

static void link_client_on_auth_ok(struct link *l)
{
	struct link_client *lc = link_private(l);
	if (lc->nbinds == 0) {
		link_client_ready(l);
		return;
	}
	for (size_t i = 0; i < lc->nbinds; i++)
		link_client_send(l, FRAME_BIND, lc->binds[i], lc->name, NULL,
				 0);
	lc->state = LINK_CLIENT_WAIT_BINDS;
}

static void link_client_on_frame(struct link *l, const struct frame *f)
{
	struct link_client *lc = link_private(l);
	switch (lc->state) {
	case LINK_CLIENT_WAIT_HELLO:
		if (f->type != FRAME_HELLO)
			link_client_fail(l, "expected HELLO from the router");
		else
			link_client_on_hello(l, f);
		return;
	case LINK_CLIENT_WAIT_AUTH_OK:
		if (f->type != FRAME_AUTH_OK)
			link_client_fail(l, "expected AUTH_OK from the router");
		else
			link_client_on_auth_ok(l);
		return;
	case LINK_CLIENT_WAIT_BINDS:
		break;
	}
	if (f->type == FRAME_BIND_FAIL) {
		log_warn("link to %s as %s: the router refused to bind %.*s "
			 "(served by another component)",
			 lc->address, lc->name, (int)f->to_len, f->to);
		link_close(l);
	} else if (f->type == FRAME_BIND_OK) {
		if (++lc->nbound == lc->nbinds)
			link_client_ready(l);
	} else if (lc->cb.on_frame) {
		/* Authenticated already: frames for our component name or
		 * UNBOUND notices may come before the last BIND_OK. */
		lc->cb.on_frame(l, f);
	}
}

static void link_client_on_close(struct link *l)
{
	struct link_client *lc = link_private(l);
	void (*on_close)(struct link *) = lc->cb.on_close;
	link_set_private(l, NULL);
	link_client_free(lc);
	if (on_close)
		on_close(l);
}

static void link_client_on_drain(struct link *l)
{
	struct link_client *lc = link_private(l);
	if (lc->cb.on_drain)
		lc->cb.on_drain(l);
}

static const struct link_callbacks link_client_handshake = {
	.on_frame = link_client_on_frame,
	.on_close = link_client_on_close,
	.on_drain = link_client_on_drain,
};

/* ---- connecting ---- */

static void link_client_free_handle(uv_handle_t *h)
{
	free(h);
}

/* From here on every outcome goes through the link: on_close on failure. */
static void link_client_attach(struct link_client *lc, int status)
{
	struct link *l =
		link_alloc(lc->stream, &link_client_handshake, lc->data);
	if (!l) {
		log_error("link to %s: out of memory", lc->address);
		uv_close((uv_handle_t *)lc->stream, link_client_free_handle);
		link_client_free(lc);
		return;
	}
	link_set_private(l, lc);
	if (status < 0) {
		log_warn("link to %s as %s: cannot connect: %s", lc->address,
			 lc->name, uv_strerror(status));
		link_close(l);
	} else if (link_start(l) < 0) {
		link_client_fail(l, "cannot read from the socket");
	}
}

static void link_client_on_connect(uv_connect_t *req, int status)
{
	link_client_attach(req->data, status);
}

static void link_client_on_resolved(uv_getaddrinfo_t *req, int status,
				    struct addrinfo *res)
{
	struct link_client *lc = req->data;
	if (status == 0) {
		lc->connect.data = lc;
		status = uv_tcp_connect(&lc->connect, (uv_tcp_t *)lc->stream,
					res->ai_addr, link_client_on_connect);
	}
	uv_freeaddrinfo(res);
	if (status < 0)
		link_client_attach(lc, status);
}

/* "host:port" or "[v6]:port" into host and port. */
static int link_client_split(const char *address, char *host, size_t hostlen,
			     const char **port)
{
	const char *colon = strrchr(address, ':');
	if (!colon || colon == address || colon[1] == '\0')
		return -1;
	const char *start = address, *end = colon;
	if (*start == '[') {
		if (end[-1] != ']')
			return -1;
		start++;
		end--;
	}
	size_t n = (size_t)(end - start);
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, start, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
}

static int link_client_start(struct link_client *lc)
{
	lc->connect.data = lc;
	if (strchr(lc->address, '/')) {
		uv_pipe_t *pipe = malloc(sizeof *pipe);
		if (!pipe)
			return -1;
		uv_pipe_init(lc->loop, pipe, 0);
		lc->stream = (uv_stream_t *)pipe;
		uv_pipe_connect(&lc->connect, pipe, lc->address,
				link_client_on_connect);
		return 0;
	}
	char host[256];
	const char *port;
	if (link_client_split(lc->address, host, sizeof host, &port) < 0) {
		log_error("link: '%s' is neither a socket path nor host:port",
			  lc->address);
		return -1;
	}
	uv_tcp_t *tcp = malloc(sizeof *tcp);
	if (!tcp)
		return -1;
	uv_tcp_init(lc->loop, tcp);
	uv_tcp_nodelay(tcp, 1);
	lc->stream = (uv_stream_t *)tcp;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	lc->resolve.data = lc;
	int err = uv_getaddrinfo(lc->loop, &lc->resolve,
				 link_client_on_resolved, host, port, &hints);
	if (err < 0) {
		log_error("link: cannot resolve %s: %s", lc->address,
			  uv_strerror(err));
		uv_close((uv_handle_t *)tcp, link_client_free_handle);
		return -1;
	}
	return 0;
}

int link_client_connect(uv_loop_t *loop, const char *address, const char *name,
			const char *secret, const char *const *binds,
			const struct link_client_callbacks *cb, void *data)
{
	size_t name_len = strlen(name);
	if (name_len == 0 || name_len > FRAME_NAME_MAX)
		return -1;
	struct link_client *lc = calloc(1, sizeof *lc);
	if (!lc)
		return -1;
	lc->loop = loop;
	lc->cb = *cb;
	lc->data = data;
	lc->address = strdup(address);
	lc->name = strdup(name);
	lc->secret = strdup(secret);
	size_t n = 0;
	while (binds && binds[n])
		n++;
	lc->binds = calloc(n + 1, sizeof *lc->binds);
	bool ok = lc->address && lc->name && lc->secret && lc->binds;
	for (size_t i = 0; ok && i < n; i++) {
		if (strlen(binds[i]) == 0 || strlen(binds[i]) > FRAME_NAME_MAX)
			ok = false;
		else if (!(lc->binds[lc->nbinds++] = strdup(binds[i])))
			ok = false;
	}
	if (!ok || link_client_start(lc) < 0) {
		link_client_free(lc);
		return -1;
	}
	return 0;
}
