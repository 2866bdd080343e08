// SPDX-License-Identifier: MIT
/* The lb_member module end to end on a fuzzed arguments file: loading,
 * argument_spec validation (argspec.c), no_log masking and the JSON it
 * prints. The core is linked with only the fake driver, so no target in the
 * arguments can reach a balancer; stdout goes to /dev/null. That core's
 * table has no F5 option, so no secret: the same input is also validated
 * against a spec that has one, with an alias, and masked. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>

#define main lb_member_main
#include "../../plugins/ansible/lb_member.c"
#undef main
#include "../../plugins/ansible/spec.c"

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

static const struct as_option secret_spec[] = {
	{ .name = "password", .type = AS_STR, .no_log = true },
	{ .name = "ca_file", .alias = "ca_path", .type = AS_PATH },
	{ .name = "timeout", .type = AS_FLOAT, .default_json = "5" },
};

static void secrets(const uint8_t *data, size_t size)
{
	json_t *params = json_loadb((const char *)data, size, 0, NULL), *no_log = json_array(),
	       *warnings = json_array(), *valid = NULL, *masked = NULL;
	char *msg = NULL;

	if (json_is_object(params) && no_log && warnings)
		valid = as_validate(secret_spec, sizeof(secret_spec) / sizeof(secret_spec[0]), "lb_member", params,
				    no_log, warnings, &msg);
	if (valid)
		masked = as_remove_values(valid, no_log);
	free(msg);
	json_decref(masked);
	json_decref(valid);
	json_decref(warnings);
	json_decref(no_log);
	json_decref(params);
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
	secrets(data, size);
	return 0;
}
