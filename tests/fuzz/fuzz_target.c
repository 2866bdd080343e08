// SPDX-License-Identifier: MIT
/* Target URIs: lbm_open() on every scheme with a fuzzed location, and
 * lbm_split_hostport(). Nothing here reaches the network: lbm_open() only
 * parses (F5 with basic auth does not log in; HAProxy connects later). */
#define _POSIX_C_SOURCE 200809L
#include "lbmember.h"
#include "driver.h"
#include "fuzz.h"

#include <stdio.h>

static const char *const schemes[] = { "haproxy://", "f5://", "lvs://", "" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void split(const char *s)
{
	char small[8], big[LBM_NAME_MAX];
	unsigned port;

	if (lbm_split_hostport(s, big, sizeof(big), &port) && strlen(big) >= sizeof(big))
		abort();
	if (lbm_split_hostport(s, small, sizeof(small), &port) && strlen(small) >= sizeof(small))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct lbm_options opt = { .version = LBM_OPTIONS_VERSION,
					 .timeout_s = 0.5,
					 .user = "fuzz",
					 .password = "fuzz-secret",
					 .basic_auth = 1,
					 .state_dir = "/nonexistent/lbmember-fuzz" };
	char target[2 * LBM_NAME_MAX];
	enum lbm_state state;
	struct lbm *lb = NULL;
	char *rest;

	if (!size)
		return 0;
	rest = fuzz_str(data + 1, size - 1);
	if (!rest)
		return 0;
	split(rest);
	lbm_state_parse(rest, &state);
	snprintf(target, sizeof(target), "%s%s", schemes[data[0] % 4], rest);
	lbm_open(&lb, target, &opt);
	/* A password never appears in a message (unless the target holds it). */
	if (lb && strstr(lbm_errmsg(lb), "fuzz-secret") && !strstr(target, "fuzz-secret"))
		abort();
	lbm_close(lb);
	free(rest);
	return 0;
}
