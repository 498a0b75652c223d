#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void unit_write_file(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}
