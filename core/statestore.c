// SPDX-License-Identifier: MIT
/* The state store: see statestore.h.
 *
 * Test hook: when LBM_STATE_TEST_PAUSE_S is set, lbm_file_replace() sleeps
 * that many seconds after writing half of the temporary file, so that a test
 * can kill the process with SIGKILL in the middle of a write. Nothing else
 * reads that variable. */
#define _GNU_SOURCE

#include "statestore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECORD_MAX (1 << 20)
#define SUFFIX ".json"
#define TMP_SUFFIX ".json.tmp"

int lbm_store_init(struct lbm *lb, struct lbm_store *st, const char *dir)
{
	st->lock_fd = -1;
	st->mode = 0600;
	if (!dir || !*dir)
		dir = getenv("LBM_STATE_DIR");
	if (!dir || !*dir)
		dir = "/var/lib/lbmember";
	if (!lbm_copy(st->dir, sizeof(st->dir), dir))
		return lbm_driver_fail(lb, LBM_EINVAL, "state directory name is too long: %.64s...", dir);
	return 0;
}

/* Keys become file names: keep what is harmless, %XX the rest (':' '/' '[' ...). */
static void encode(const char *key, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *key && o + 4 < outsz; key++) {
		unsigned char c = (unsigned char)*key;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '-') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static bool decode(const char *name, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned c;

		if (o + 1 >= outsz)
			return false;
		if (name[i] != '%') {
			out[o++] = name[i];
			continue;
		}
		if (i + 2 >= len || sscanf(name + i + 1, "%2x", &c) != 1)
			return false;
		out[o++] = (char)c;
		i += 2;
	}
	out[o] = '\0';
	return true;
}

bool lbm_store_path(const struct lbm_store *st, const char *key, char *out, size_t outsz)
{
	char enc[NAME_MAX + 1];

	encode(key, enc, sizeof(enc) - strlen(TMP_SUFFIX));
	return (size_t)snprintf(out, outsz, "%s/%s%s", st->dir, enc, SUFFIX) < outsz;
}

/* A record's path, or a refusal: a truncated path would name another file. */
static int record_path(struct lbm *lb, const struct lbm_store *st, const char *key, char *out, size_t outsz)
{
	if (!lbm_store_path(st, key, out, outsz))
		return lbm_driver_fail(lb, LBM_EINVAL, "state file path under %.64s... is too long", st->dir);
	return 0;
}

static int mkdirs(struct lbm *lb, const char *dir)
{
	char path[PATH_MAX];

	lbm_copy(path, sizeof(path), dir);
	for (char *p = path + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char saved = *p;

		*p = '\0';
		/* Searchable: records.c's records are for a monitoring user too;
		 * each file's mode says who reads it. */
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return lbm_driver_fail(lb, LBM_EIO,
					       "cannot create state directory %s: %s (choose another with "
					       "LBM_STATE_DIR or the state_dir option)",
					       path, strerror(errno));
		if (!saved)
			return 0;
		*p = saved;
	}
}

/* Under the lock no writer is half way, so any temporary file is what a
 * killed writer left behind. */
static void remove_stale_temps(const struct lbm_store *st)
{
	DIR *d = opendir(st->dir);
	struct dirent *e;
	size_t len;

	if (!d)
		return;
	while ((e = readdir(d))) {
		len = strlen(e->d_name);
		if (len > strlen(TMP_SUFFIX) && !strcmp(e->d_name + len - strlen(TMP_SUFFIX), TMP_SUFFIX))
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

int lbm_store_lock(struct lbm *lb, struct lbm_store *st)
{
	char path[PATH_MAX + 8];
	double deadline = lbm_now() + lb->timeout_s, nap = 0.001;
	int ret;

	snprintf(path, sizeof(path), "%s/.lock", st->dir);
	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		ret = mkdirs(lb, st->dir);
		if (ret < 0)
			return ret;
		st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	}
	if (st->lock_fd < 0)
		return lbm_driver_fail(lb, LBM_EIO, "cannot open lock file %s: %s", path, strerror(errno));
	/* A holder keeps it for a write and two fsyncs (often the other
	 * balancer of a pair, in another thread): a wait of milliseconds. */
	while (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || lbm_now() > deadline) {
			int err = errno;

			lbm_store_unlock(st);
			if (err == EWOULDBLOCK)
				return lbm_driver_fail(lb, LBM_ETIMEDOUT,
						       "state store %s stayed locked by another process for %g s",
						       st->dir, lb->timeout_s);
			return lbm_driver_fail(lb, LBM_EIO, "cannot lock %s: %s", path, strerror(err));
		}
		lbm_backoff(&nap, 0.01);
	}
	remove_stale_temps(st);
	return 0;
}

void lbm_store_unlock(struct lbm_store *st)
{
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
}

static int read_record(struct lbm *lb, int dir_fd, const char *name, const char *path, const char *key, json_t **rec)
{
	json_error_t jerr;
	struct stat sb;
	const char *stored;
	char *buf = NULL;
	ssize_t got = 0;
	int fd, ret;

	*rec = NULL;
	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return lbm_driver_fail(lb, LBM_EIO, "cannot read state file %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &sb) < 0) {
		ret = lbm_driver_fail(lb, LBM_EIO, "cannot read state file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > RECORD_MAX) {
		ret = lbm_driver_fail(lb, LBM_EIO, "state file %s is not a record (%s)", path,
				      S_ISREG(sb.st_mode) ? "larger than 1 MiB" : "not a regular file");
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		ret = lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
		goto out;
	}
	while (got < sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)(sb.st_size - got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	if (got == 0) {
		ret = lbm_driver_fail(lb, LBM_EIO,
				      "state file %s is empty: lbmember will not guess what to restore; "
				      "check the balancer, then remove the file",
				      path);
		goto out;
	}
	*rec = json_loadb(buf, (size_t)got, JSON_REJECT_DUPLICATES, &jerr);
	if (!*rec || !json_is_object(*rec)) {
		ret = lbm_driver_fail(lb, LBM_EIO,
				      "state file %s is corrupt (%s): lbmember will not guess what to restore; "
				      "check the balancer, then fix or remove the file",
				      path, *rec ? "not a JSON object" : jerr.text);
		goto out;
	}
	stored = json_string_value(json_object_get(*rec, "key"));
	if (!stored || strcmp(stored, key)) {
		ret = lbm_driver_fail(lb, LBM_EIO, "state file %s is corrupt: it should hold the record of '%s'", path,
				      key);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		json_decref(*rec);
		*rec = NULL;
	}
	free(buf);
	close(fd);
	return ret;
}

int lbm_store_get(struct lbm *lb, const struct lbm_store *st, const char *key, json_t **rec)
{
	char path[PATH_MAX + NAME_MAX];
	int ret = record_path(lb, st, key, path, sizeof(path));

	return ret < 0 ? ret : read_record(lb, AT_FDCWD, path, path, key, rec);
}

static int fsync_dir(struct lbm *lb, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0 || fsync(fd) < 0)
		ret = lbm_driver_fail(lb, LBM_EIO, "cannot sync directory %s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		len -= (size_t)w;
	}
	return true;
}

static bool write_halves(int fd, const char *data, size_t len)
{
	const char *pause = getenv("LBM_STATE_TEST_PAUSE_S");
	size_t half = len / 2;

	if (!write_all(fd, data, half))
		return false;
	if (pause)
		lbm_sleep(atof(pause));
	return write_all(fd, data + half, len - half) && fsync(fd) == 0;
}

int lbm_file_replace(struct lbm *lb, const char *path, char *tmp, const char *data, size_t len, mode_t mode)
{
	size_t tlen = strlen(tmp);
	char dir[PATH_MAX + NAME_MAX];
	const char *slash = strrchr(path, '/');
	int fd, ret = 0;

	if (tlen >= 6 && !strcmp(tmp + tlen - 6, "XXXXXX"))
		fd = mkstemp(tmp);
	else
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return lbm_driver_fail(lb, LBM_EIO, "cannot create %s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) < 0 || !write_halves(fd, data, len)) {
		ret = lbm_driver_fail(lb, LBM_EIO, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		ret = lbm_driver_fail(lb, LBM_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (!slash)
		lbm_copy(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	ret = fsync_dir(lb, dir);
out:
	close(fd);
	return ret;
}

int lbm_store_put(struct lbm *lb, const struct lbm_store *st, const char *key, json_t *rec)
{
	char path[PATH_MAX + NAME_MAX], tmp[PATH_MAX + NAME_MAX + 8];
	char *text = NULL;
	int ret;

	if ((ret = record_path(lb, st, key, path, sizeof(path))) < 0)
		return ret;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_object_set_new(rec, "key", json_string(key)) < 0 ||
	    !(text = json_dumps(rec, JSON_INDENT(1) | JSON_SORT_KEYS)))
		ret = lbm_driver_fail(lb, LBM_ENOMEM, "out of memory");
	else
		ret = lbm_file_replace(lb, path, tmp, text, strlen(text), st->mode);
	free(text);
	return ret;
}

int lbm_store_del(struct lbm *lb, const struct lbm_store *st, const char *key)
{
	char path[PATH_MAX + NAME_MAX];
	int ret = record_path(lb, st, key, path, sizeof(path));

	if (ret < 0)
		return ret;
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return lbm_driver_fail(lb, LBM_EIO, "cannot remove state file %s: %s", path, strerror(errno));
	}
	return fsync_dir(lb, st->dir);
}

int lbm_store_scan(struct lbm *lb, const struct lbm_store *st, const char *prefix,
		   int (*fn)(struct lbm *lb, const char *key, json_t *rec, void *arg), void *arg)
{
	char enc[NAME_MAX + 1], key[NAME_MAX + 1], path[PATH_MAX + 1 + NAME_MAX];
	struct dirent *e;
	json_t *rec;
	size_t len;
	DIR *d;
	int ret = 0;

	d = opendir(st->dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return lbm_driver_fail(lb, LBM_EIO,
				       "cannot read state directory %s: %s (choose another with LBM_STATE_DIR "
				       "or the state_dir option)",
				       st->dir, strerror(errno));
	}
	encode(prefix, enc, sizeof(enc));
	while (!ret && (e = readdir(d))) {
		len = strlen(e->d_name);
		if (strncmp(e->d_name, enc, strlen(enc)) || len <= strlen(SUFFIX) ||
		    strcmp(e->d_name + len - strlen(SUFFIX), SUFFIX))
			continue;
		snprintf(path, sizeof(path), "%s/%s", st->dir, e->d_name);
		if (!decode(e->d_name, len - strlen(SUFFIX), key, sizeof(key))) {
			ret = lbm_driver_fail(lb, LBM_EIO, "state file %s has a name lbmember did not write", path);
			break;
		}
		ret = read_record(lb, dirfd(d), e->d_name, path, key, &rec);
		if (ret < 0 || !rec)
			continue;
		ret = fn(lb, key, rec, arg);
		json_decref(rec);
	}
	closedir(d);
	return ret;
}
