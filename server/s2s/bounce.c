/* bounce: the error a sender gets for a stanza s2s cannot deliver
 * (lib/bounce.h), sent back through the router. */
#include "../../lib/bounce.h"

#include "../../lib/log.h"
#include "s2s.h"

void s2s_bounce(struct s2s *s2s, const char *xml, size_t len,
		const char *condition)
{
	struct jid sender;
	struct buf b = BUF_INIT;
	int rc = bounce_stanza(&s2s->arena, xml, len, condition, NULL, &sender,
			       &b);
	if (rc < 0)
		log_warn("s2s: out of memory bouncing a stanza");
	else if (rc > 0)
		s2s_to_router(s2s, sender.domain, b.data, b.len);
	buf_free(&b);
	/* Bounces come in bursts (a whole queue) between router frames. */
	arena_reset(&s2s->arena);
}
