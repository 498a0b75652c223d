/* What every unit test's main ends with, and the files tests write. */
#ifndef PALABRE_TESTS_UNIT_H
#define PALABRE_TESTS_UNIT_H

#include <check.h>

/* Runs every test of s (CK_NORMAL output) and frees it; returns the
 * exit status: EXIT_SUCCESS if none failed, else EXIT_FAILURE. */
int unit_run(Suite *s);
/* Writes text into file (created or emptied); aborts on failure. */
void unit_write_file(const char *file, const char *text);

#endif
