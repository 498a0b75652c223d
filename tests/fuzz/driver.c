/* driver: a main for a harness built without libFuzzer (make check).
 * Runs LLVMFuzzerTestOneInput once on every file named, and on every
 * file of every directory named (its corpus): the inputs that found bugs
 * stay regression tests, also under ASan/UBSan, with any compiler. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	struct stat st;
	uint8_t *data = NULL;
	size_t n = 0;
	if (fstat(fileno(f), &st) == 0 &&
	    (data = malloc((size_t)st.st_size + 1)))
		n = fread(data, 1, (size_t)st.st_size, f);
	int bad = !data || ferror(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(data);
		return -1;
	}
	/* An exact-size copy, so that ASan sees any read past the end. */
	uint8_t *input = malloc(n ? n : 1);
	memcpy(input, data, n);
	free(data);
	LLVMFuzzerTestOneInput(input, n);
	free(input);
	return 0;
}

/* Every regular file of dir, in name order (the same on every run). */
static int run_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		perror(dir);
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) < 0)
				rc = -1;
			(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			rc |= run_dir(argv[i], &count);
		else if (run_file(argv[i]) < 0)
			rc = -1;
		else
			count++;
	}
	printf("%s: %zu inputs%s\n", argv[0], count,
	       rc ? ", some unreadable" : "");
	return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}
