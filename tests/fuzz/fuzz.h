/* What every harness shares: libFuzzer's two entry points (called by
 * libFuzzer under `make fuzz`, by driver.c in `make check`), quiet logs,
 * and FUZZ_CHECK, which turns a broken property into a crash that the
 * fuzzer reports with its input. */
#ifndef PALABRE_TESTS_FUZZ_H
#define PALABRE_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz.c has a weak LLVMFuzzerInitialize that calls fuzz_quiet. */

/* Silences palabre's log: millions of rejected inputs would flood it. */
void fuzz_quiet(void);

#define FUZZ_CHECK(cond, ...)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__,     \
				#cond);                                        \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
