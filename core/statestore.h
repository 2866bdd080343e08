/* SPDX-License-Identifier: MIT */
/* Crash-safe records of what a driver must restore later (LVS: original
 * weights and removed destinations). One JSON file per key in one directory;
 * writes go to a temporary file, are fsynced and renamed over the record, and
 * the directory is fsynced. Readers need no lock; writers hold lbm_store_lock()
 * so that concurrent processes lose nothing. */
#ifndef LBM_STATESTORE_H
#define LBM_STATESTORE_H

#include "driver.h"

#include <jansson.h>
#include <limits.h>
#include <sys/types.h>

struct lbm_store {
	char dir[PATH_MAX];
	int lock_fd;
	mode_t mode; /* of the records written; lbm_store_init(): 0600 */
};

/* dir NULL: $LBM_STATE_DIR, then /var/lib/lbmember. Touches no file. */
int lbm_store_init(struct lbm *lb, struct lbm_store *st, const char *dir);
/* Create the directory if needed and lock it, waiting at most lb->timeout_s. */
int lbm_store_lock(struct lbm *lb, struct lbm_store *st);
void lbm_store_unlock(struct lbm_store *st);

/* *rec is a new reference, or NULL when there is no record for key. */
int lbm_store_get(struct lbm *lb, const struct lbm_store *st, const char *key, json_t **rec);
/* Only with the lock held. Stores "key" in the record too. */
int lbm_store_put(struct lbm *lb, const struct lbm_store *st, const char *key, json_t *rec);
int lbm_store_del(struct lbm *lb, const struct lbm_store *st, const char *key);
/* Call fn for every record whose key starts with prefix; a non-zero return
 * from fn stops the scan and is returned. */
int lbm_store_scan(struct lbm *lb, const struct lbm_store *st, const char *prefix,
		   int (*fn)(struct lbm *lb, const char *key, json_t *rec, void *arg), void *arg);
/* Replace path with data, crash-safely: write tmp (beside path, on the same
 * file system) and fsync it, rename it over path, fsync the directory. A tmp
 * ending in "XXXXXX" is made unique first (mkstemp()), for writers that hold
 * no lock. */
int lbm_file_replace(struct lbm *lb, const char *path, char *tmp, const char *data, size_t len, mode_t mode);
/* The file that holds key's record; false when it does not fit in out. */
bool lbm_store_path(const struct lbm_store *st, const char *key, char *out, size_t outsz);

#endif
