// SPDX-License-Identifier: MIT
/* The state store on the host, without IPVS: round trip, key escaping,
 * scan by prefix, missing/empty/corrupt/foreign files, leftovers of a killed
 * writer, the lock timeout, and the directory overrides. */
#define _GNU_SOURCE

#include "../lib/check.h"
#include "statestore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct lbm_driver test_driver = { .info = { .scheme = "lvs", .name = "LVS" } };
static struct lbm lb = { .driver = &test_driver, .timeout_s = 0.3 };

static const char *message(void)
{
	return lb.errmsg;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static int count(struct lbm *l, const char *key, json_t *rec, void *arg)
{
	(void)l;
	(void)rec;
	(void)key;
	++*(int *)arg;
	return 0;
}

static void test_round_trip(const char *dir)
{
	struct lbm_store st;
	const char *key = "tcp:[2001:db8::11]:443/[2001:db8::22]:8443";
	json_t *rec, *got = NULL;
	char path[PATH_MAX + NAME_MAX];
	int n = 0;

	CHECK(lbm_store_init(&lb, &st, dir) == 0);
	CHECK(lbm_store_get(&lb, &st, key, &got) == 0 && got == NULL); /* no directory yet */
	CHECK(lbm_store_scan(&lb, &st, "tcp:", count, &n) == 0 && n == 0);
	CHECK(lbm_store_lock(&lb, &st) == 0);
	rec = json_pack("{s:i, s:s}", "weight", 3, "forward", "Masq");
	CHECK(lbm_store_put(&lb, &st, key, rec) == 0);
	json_decref(rec);
	lbm_store_path(&st, key, path, sizeof(path));
	CHECK(strstr(path, "tcp%3A%5B2001%3Adb8%3A%3A11%5D%3A443%2F") != NULL);
	CHECK(access(path, R_OK) == 0);
	CHECK(lbm_store_get(&lb, &st, key, &got) == 0 && got);
	CHECK(json_integer_value(json_object_get(got, "weight")) == 3);
	CHECK(!strcmp(json_string_value(json_object_get(got, "key")), key));
	json_decref(got);
	/* The prefix of another service with a longer port must not match. */
	rec = json_pack("{s:i}", "weight", 1);
	CHECK(lbm_store_put(&lb, &st, "tcp:[2001:db8::11]:4430/[2001:db8::22]:8443", rec) == 0);
	json_decref(rec);
	CHECK(lbm_store_scan(&lb, &st, "tcp:[2001:db8::11]:443/", count, &n) == 0 && n == 1);
	CHECK(lbm_store_del(&lb, &st, key) == 0);
	CHECK(lbm_store_del(&lb, &st, key) == 0); /* already gone: fine */
	CHECK(lbm_store_get(&lb, &st, key, &got) == 0 && got == NULL);
	lbm_store_unlock(&st);
}

static void test_bad_files(const char *dir)
{
	struct lbm_store st;
	const char *key = "tcp:198.51.100.11:80/198.51.100.21:80";
	char path[PATH_MAX + NAME_MAX], tmp[PATH_MAX + NAME_MAX + 8];
	json_t *got = NULL;
	int n = 0;

	CHECK(lbm_store_init(&lb, &st, dir) == 0);
	lbm_store_path(&st, key, path, sizeof(path));
	mkdir(dir, 0700);

	write_file(path, "");
	CHECK(lbm_store_get(&lb, &st, key, &got) == LBM_EIO && !got);
	CHECK(strstr(lb.errmsg, "is empty") && strstr(lb.errmsg, path) && !strncmp(lb.errmsg, "LVS: ", 5));
	write_file(path, "{\"weight\": 3,");
	CHECK(lbm_store_get(&lb, &st, key, &got) == LBM_EIO && !got);
	CHECK(strstr(lb.errmsg, "is corrupt"));
	CHECK(lbm_store_scan(&lb, &st, "tcp:198.51.100.11:80/", count, &n) == LBM_EIO && n == 0);
	write_file(path, "[3]");
	CHECK(lbm_store_get(&lb, &st, key, &got) == LBM_EIO && strstr(lb.errmsg, "not a JSON object"));
	/* A record copied over another member's file is not trusted. */
	write_file(path, "{\"key\": \"tcp:198.51.100.11:80/198.51.100.22:80\", \"weight\": 3}");
	CHECK(lbm_store_get(&lb, &st, key, &got) == LBM_EIO && strstr(lb.errmsg, "should hold the record"));
	unlink(path);

	/* A killed writer's half-written temporary file: ignored by readers,
	 * removed by the next writer. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	write_file(tmp, "{\"weig");
	n = 0;
	CHECK(lbm_store_scan(&lb, &st, "tcp:", count, &n) == 0 && n == 0);
	CHECK(lbm_store_get(&lb, &st, key, &got) == 0 && !got);
	CHECK(lbm_store_lock(&lb, &st) == 0);
	CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
	lbm_store_unlock(&st);
}

static void test_lock_timeout(const char *dir)
{
	struct lbm_store a, b;
	double start;

	CHECK(lbm_store_init(&lb, &a, dir) == 0);
	CHECK(lbm_store_init(&lb, &b, dir) == 0);
	CHECK(lbm_store_lock(&lb, &a) == 0);
	start = lbm_now();
	CHECK(lbm_store_lock(&lb, &b) == LBM_ETIMEDOUT);
	CHECK(lbm_now() - start >= 0.25 && lbm_now() - start < 3);
	CHECK(strstr(lb.errmsg, "stayed locked by another process"));
	lbm_store_unlock(&a);
	CHECK(lbm_store_lock(&lb, &b) == 0);
	lbm_store_unlock(&b);
}

static void test_dirs(const char *dir)
{
	struct lbm_store st;
	char file[PATH_MAX], sub[PATH_MAX + 8];

	unsetenv("LBM_STATE_DIR");
	CHECK(lbm_store_init(&lb, &st, NULL) == 0 && !strcmp(st.dir, "/var/lib/lbmember"));
	setenv("LBM_STATE_DIR", "/tmp/from-env", 1);
	CHECK(lbm_store_init(&lb, &st, NULL) == 0 && !strcmp(st.dir, "/tmp/from-env"));
	CHECK(lbm_store_init(&lb, &st, "/tmp/from-option") == 0 && !strcmp(st.dir, "/tmp/from-option"));
	unsetenv("LBM_STATE_DIR");

	/* A directory that cannot be created: a clear error, no crash. */
	snprintf(file, sizeof(file), "%s/plain-file", dir);
	write_file(file, "x");
	snprintf(sub, sizeof(sub), "%s/sub", file);
	CHECK(lbm_store_init(&lb, &st, sub) == 0);
	CHECK(lbm_store_lock(&lb, &st) == LBM_EIO && strstr(lb.errmsg, "cannot create state directory"));
	CHECK(strstr(lb.errmsg, "LBM_STATE_DIR"));
}

int main(void)
{
	char tmpl[] = "/tmp/lbm-statestore-XXXXXX", dir[PATH_MAX], cmd[PATH_MAX + 16];

	check_context = message;
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/state/a", tmpl);
	test_round_trip(dir);
	snprintf(dir, sizeof(dir), "%s/bad", tmpl);
	test_bad_files(dir);
	test_lock_timeout(dir);
	test_dirs(tmpl);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpl);
	return check_done();
}
