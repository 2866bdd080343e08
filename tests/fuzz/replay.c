// SPDX-License-Identifier: MIT
/* Replays inputs through a harness without libFuzzer (gcc builds, valgrind):
 * every file given, and every file in every directory given. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long size;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	/* A copy of exactly size bytes, so that ASan sees any read past it. */
	data = malloc(size ? (size_t)size : 1);
	if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

static int replay(const char *path, size_t *count)
{
	struct dirent **names;
	struct stat sb;
	char sub[4096];
	int n, ret = 0;

	if (stat(path, &sb) < 0) {
		fprintf(stderr, "replay: no such file or directory: %s\n", path);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		++*count;
		return replay_file(path);
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: cannot list %s\n", path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && ret == 0) {
			snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
			ret = replay(sub, count);
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	size_t count = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &count) < 0)
			return 1;
	if (!count) {
		fprintf(stderr, "replay: no input replayed\n");
		return 1;
	}
	fprintf(stderr, "replay: %zu inputs replayed, no crash\n", count);
	return 0;
}
