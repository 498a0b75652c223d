/* fuzz_jid: JIDs (lib/jid.c). A JID that parses and is prepared must
 * format into a string that parses again into the same JID and formats
 * the same (preparation is idempotent, RFC 7622 §3); each part, prepared
 * alone, must stay as it is; the bare form must be the JID without its
 * resource. */
#include <string.h>

#include "../../lib/jid.h"
#include "fuzz.h"

static void check_parts(const struct jid *j)
{
	char part[JID_PART_MAX + 1];
	FUZZ_CHECK(j->domain[0], "an empty domain");
	FUZZ_CHECK(jid_prep_domain(part, j->domain) == 0 &&
			   strcmp(part, j->domain) == 0,
		   "domain '%s' prepared again: '%s'", j->domain, part);
	if (j->local[0])
		FUZZ_CHECK(jid_prep_local(part, j->local) == 0 &&
				   strcmp(part, j->local) == 0,
			   "local '%s' prepared again: '%s'", j->local, part);
	if (j->resource[0])
		FUZZ_CHECK(jid_prep_resource(part, j->resource) == 0 &&
				   strcmp(part, j->resource) == 0,
			   "resource '%s' prepared again: '%s'", j->resource,
			   part);
}

static void check_bare(const struct jid *j, const char *full, size_t len)
{
	char bare[JID_MAX + 1];
	size_t n = jid_format_bare(j, bare);
	FUZZ_CHECK(n == strlen(bare) && n <= len && memcmp(bare, full, n) == 0,
		   "bare '%s' of '%s'", bare, full);
	struct jid b;
	FUZZ_CHECK(jid_parse(&b, bare, n) == 0 && jid_is_bare(&b) &&
			   jid_equal_bare(&b, j),
		   "bare '%s' does not parse to the bare JID", bare);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jid j, again;
	char text[JID_MAX + 1], text_again[JID_MAX + 1];
	if (jid_parse(&j, (const char *)data, size) < 0)
		return 0;
	check_parts(&j);
	size_t len = jid_format(&j, text);
	FUZZ_CHECK(len == strlen(text), "formatted length %zu of '%s'", len,
		   text);
	FUZZ_CHECK(jid_parse(&again, text, len) == 0,
		   "'%s' does not parse again", text);
	FUZZ_CHECK(jid_equal(&j, &again), "'%s' parses to another JID", text);
	jid_format(&again, text_again);
	FUZZ_CHECK(strcmp(text, text_again) == 0, "'%s' formats as '%s'", text,
		   text_again);
	check_bare(&j, text, len);
	return 0;
}
