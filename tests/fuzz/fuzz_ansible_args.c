// SPDX-License-Identifier: MIT
/* The lb_member module end to end on a fuzzed arguments file: loading,
 * argument_spec validation (argspec.c), no_log masking and the JSON it
 * prints. The core is linked with only the fake driver, so no target in the
 * arguments can reach a balancer; stdout goes to /dev/null. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>

#define main lb_member_main
#include "../../plugins/ansible/lb_member.c"
#undef main

#include "fuzz.h"

static char path[] = "/tmp/lbm-fuzz-args-XXXXXX";

static void remove_args(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = mkstemp(path), null = open("/dev/null", O_WRONLY);

	(void)argc;
	(void)argv;
	if (fd < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0)
		abort();
	close(fd);
	close(null);
	atexit(remove_args);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[] = { "lb_member", path, NULL };
	FILE *f = fopen(path, "wb");

	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	lb_member_main(2, argv);
	fflush(stdout);
	return 0;
}
