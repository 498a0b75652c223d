/* What every unit test's main ends with. */
#ifndef PALABRE_TESTS_UNIT_H
#define PALABRE_TESTS_UNIT_H

#include <check.h>

/* Runs every test of s (CK_NORMAL output) and frees it; returns the
 * exit status: EXIT_SUCCESS if none failed, else EXIT_FAILURE. */
int unit_run(Suite *s);

#endif
