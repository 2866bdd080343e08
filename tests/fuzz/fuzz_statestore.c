// SPDX-License-Identifier: MIT
/* The LVS state store's files, as lbm_store_scan()/lbm_store_get() load
 * them and core/lvs.c turns them into what it would restore: the first
 * segment of the input (fuzz.h) is a file name in the store directory, the
 * second its content. */
#define _GNU_SOURCE
#include "../../core/lvs.c"
#include "fuzz.h"

static char dir[] = "/tmp/lbm-fuzz-store-XXXXXX";

static void remove_dir(void)
{
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	return 0;
}

static bool plain_name(const char *name)
{
	return *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") && strlen(name) < 200;
}

static void load(struct lbm *lb, struct lvs *lvs)
{
	static const struct svc s = { .af = AF_INET,
				      .protocol = IPPROTO_TCP,
				      .port = 80,
				      .addr = { 198, 51, 100, 1 },
				      .name = "tcp:198.51.100.1:80" };
	struct dests recs = { 0 };
	struct dest d;
	bool found;

	lbm_store_scan(lb, &lvs->store, "", add_record, &recs);
	free(recs.v);
	get_record(lb, &s, "198.51.100.2:80", &d, &found);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lvs lvs = { .quiescent_fd = -1, .store.lock_fd = -1 };
	struct lbm lb = { .driver = &lbm_driver_lvs, .priv = &lvs, .timeout_s = 1 };
	struct fuzz_in in = { .p = data, .n = size };
	const uint8_t *seg;
	size_t len;
	char *name = NULL, path[sizeof(dir) + 256];
	FILE *f;

	if (lbm_store_init(&lb, &lvs.store, dir) < 0 || !fuzz_next(&in, &seg, &len) || !(name = fuzz_str(seg, len)))
		return 0;
	if (!plain_name(name) || !fuzz_next(&in, &seg, &len)) {
		free(name);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f) {
		fwrite(seg, 1, len, f);
		fclose(f);
		load(&lb, &lvs);
		unlink(path);
	}
	free(name);
	return 0;
}
