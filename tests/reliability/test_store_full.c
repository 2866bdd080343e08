// SPDX-License-Identifier: MIT
/* The LVS state store on a full disk: DIR is a small tmpfs of its own
 * (test_store_full.sh mounts it in a private mount namespace). A record is
 * written, the file system is filled, then rewriting that record and
 * writing a new one must fail with LBM_EIO and a message naming the file
 * and ENOSPC, while the old record stays intact and no temporary file is
 * left; once space is freed, writes work again. */
#define _GNU_SOURCE
#include "../lib/check.h"
#include "driver.h"
#include "statestore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct lbm_driver test_driver = { .info = { .scheme = "lvs", .name = "LVS" } };
static struct lbm lb = { .driver = &test_driver, .timeout_s = 2 };

static const char *message(void)
{
	return lb.errmsg;
}

static const char *const KEY = "tcp:198.51.100.1:80/198.51.100.2:80";

static json_t *record(int weight)
{
	/* Padding makes the record larger than what a full disk still holds. */
	static char pad[8192];

	memset(pad, 'x', sizeof(pad) - 1);
	return json_pack("{s:s, s:i, s:s, s:i, s:i, s:i, s:s}", "address", "198.51.100.2", "port", 80, "forward",
			 "Route", "weight", weight, "upper_threshold", 0, "lower_threshold", 0, "pad", pad);
}

static int put(const struct lbm_store *st, const char *key, int weight)
{
	json_t *rec = record(weight);
	int ret = lbm_store_put(&lb, st, key, rec);

	json_decref(rec);
	return ret;
}

static int weight_of(const struct lbm_store *st, const char *key)
{
	json_t *rec = NULL;
	int w = -1;

	if (lbm_store_get(&lb, st, key, &rec) == 0 && rec)
		w = (int)json_integer_value(json_object_get(rec, "weight"));
	json_decref(rec);
	return w;
}

/* Fill the file system: returns the filler's path. */
static void fill(const char *dir, char *filler, size_t sz)
{
	char block[4096] = { 0 };
	int fd;

	snprintf(filler, sz, "%s/filler", dir);
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	while (write(fd, block, sizeof(block)) > 0)
		;
	/* Every last byte: small writes until even those fail. */
	while (write(fd, block, 1) > 0)
		;
	CHECK_SAID(errno == ENOSPC, "filling %s ended with %s, not ENOSPC", dir, strerror(errno));
	close(fd);
}

static int temp_files(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".tmp") != NULL;
	if (d)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	struct lbm_store st;
	char filler[4200];
	int ret;

	check_context = message;
	if (argc != 2) {
		fprintf(stderr, "usage: test_store_full DIR (a small file system of its own)\n");
		return 2;
	}
	CHECK_SAID(lbm_store_init(&lb, &st, argv[1]) == 0, "init");
	CHECK_SAID(lbm_store_lock(&lb, &st) == 0, "lock");
	CHECK_SAID(put(&st, KEY, 7) == 0, "first write");
	CHECK_SAID(weight_of(&st, KEY) == 7, "first record reads back");

	fill(argv[1], filler, sizeof(filler));
	ret = put(&st, KEY, 9);
	CHECK_SAID(ret == LBM_EIO, "rewrite on a full disk returned %d, expected LBM_EIO", ret);
	CHECK_SAID(strstr(lb.errmsg, "No space left on device") && !strchr(lb.errmsg, '\n'),
		   "the message does not say ENOSPC on one line");
	printf("full disk, rewrite: %s\n", lb.errmsg);
	CHECK_SAID(weight_of(&st, KEY) == 7, "the old record is no longer intact");
	ret = put(&st, "tcp:198.51.100.1:80/198.51.100.3:80", 5);
	CHECK_SAID(ret == LBM_EIO, "new record on a full disk returned %d, expected LBM_EIO", ret);
	printf("full disk, new record: %s\n", lb.errmsg);
	CHECK_SAID(weight_of(&st, "tcp:198.51.100.1:80/198.51.100.3:80") == -1, "a partial new record is visible");
	CHECK_SAID(temp_files(argv[1]) == 0, "a temporary file was left on the full disk");

	unlink(filler);
	CHECK_SAID(put(&st, KEY, 9) == 0, "rewrite once space is back");
	CHECK_SAID(weight_of(&st, KEY) == 9, "the rewrite reads back");
	lbm_store_unlock(&st);
	return check_done();
}
