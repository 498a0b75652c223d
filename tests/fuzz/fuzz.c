#include "fuzz.h"

#include "../../lib/log.h"

void fuzz_quiet(void)
{
	/* One level above the highest: nothing is written. */
	log_init("fuzz", (enum log_level)(LOG_ERROR + 1));
}

/* For the harnesses that need nothing else; the others define their own
 * (which call fuzz_quiet). */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}
