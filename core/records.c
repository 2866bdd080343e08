// SPDX-License-Identifier: MIT
/* Who took a member out of rotation through lbmember, when and why: one
 * record per target in the state store's "out" directory, apart from what
 * a driver records there itself (LVS), so that neither lock waits for the
 * other. One file per target keeps a change of 10,000 members one write,
 * and a listing one read:
 *
 *   {"key": ..., "target": T, "members": {"POOL\nMEMBER": {"state", "by", "since", "reason"}}}
 *
 * A member's entry is shown only while the member is still in the state it
 * recorded. One changed by other means loses its entry at the next
 * listing: were it taken out the same way again, the entry would name the
 * wrong person and reason. Keys are hashes of the target (a target may be
 * longer than a file name); the record holds the target itself. */
#define _GNU_SOURCE

#include "core.h"
#include "statestore.h"

#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "out-HASH": the key of lb's record. */
static void record_key(const struct lbm *lb, char out[32])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (const char *s = lb->name; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	snprintf(out, 32, "out-%016" PRIx64, h);
}

/* "POOL\nMEMBER": no balancer allows a newline in a name. */
static const char *entry_key(char *buf, size_t bufsz, const char *pool, const char *member)
{
	return (size_t)snprintf(buf, bufsz, "%s\n%s", pool, member) < bufsz ? buf : NULL;
}

static int open_store(struct lbm *lb, struct lbm_store *st)
{
	char dir[PATH_MAX];
	struct lbm_store base;
	int ret = lbm_store_init(lb, &base, lb->state_dir);

	if (ret < 0)
		return ret;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/out", base.dir) >= sizeof(dir))
		return lbm_fail(lb, LBM_EINVAL, "state directory name is too long: %.64s...", base.dir);
	ret = lbm_store_init(lb, st, dir);
	st->mode = 0644; /* a monitoring user reads who and why (check_lb_members --max-out-time) */
	return ret;
}

/* lb's entries: a new reference to the record's "members" object (empty
 * without a record), or NULL with an error. */
static json_t *load(struct lbm *lb, const struct lbm_store *st, const char *key)
{
	json_t *rec, *members;
	const char *target;

	if (lbm_store_get(lb, st, key, &rec) < 0)
		return NULL;
	if (!rec)
		return json_object();
	target = json_string_value(json_object_get(rec, "target"));
	members = json_object_get(rec, "members");
	if (!target || strcmp(target, lb->name) || !json_is_object(members)) {
		json_decref(rec);
		lbm_fail(lb, LBM_EIO, "state file of '%s' holds another target's records, or none", key);
		return NULL;
	}
	json_incref(members);
	json_decref(rec);
	return members;
}

static int save(struct lbm *lb, const struct lbm_store *st, const char *key, json_t *members)
{
	json_t *rec;
	int ret;

	if (!json_object_size(members))
		return lbm_store_del(lb, st, key);
	rec = json_pack("{s:s, s:O}", "target", lb->name, "members", members);
	if (!rec)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	ret = lbm_store_put(lb, st, key, rec);
	json_decref(rec);
	return ret;
}

/* The login of whoever asked: through sudo, the one who typed it. */
static void who(char *out, size_t outsz)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd *pw;

	if (sudo && *sudo && lbm_copy(out, outsz, sudo))
		return;
	if (getlogin_r(out, outsz) == 0 && *out)
		return;
	pw = getpwuid(geteuid());
	if (pw && lbm_copy(out, outsz, pw->pw_name))
		return;
	snprintf(out, outsz, "uid %u", (unsigned)geteuid());
}

static bool entry_state(json_t *entry, enum lbm_state *state)
{
	const char *name = json_string_value(json_object_get(entry, "state"));

	return name && lbm_state_parse(name, state) == 0;
}

/* Under the lock: drop the entries found stale, unless rewritten since. */
static void drop_stale(struct lbm *lb, const struct lbm_store *st, const char *key, json_t *stale)
{
	const char *k;
	json_t *seen, *members = load(lb, st, key);

	if (!members)
		return;
	json_object_foreach(stale, k, seen)
		if (json_equal(json_object_get(members, k), seen))
			json_object_del(members, k);
	save(lb, st, key, members);
	json_decref(members);
}

void lbm_records_attach(struct lbm *lb, struct lbm_listing *l)
{
	char errmsg[LBM_ERRMSG_MAX], key[32], name[2 * LBM_NAME_MAX];
	struct lbm_store st;
	json_t *members, *stale;

	/* A listing never fails for want of its records: the members then
	 * have none, and the listing says why, for a reader who must know
	 * (check_lb_members --max-out-time). */
	memcpy(errmsg, lb->errmsg, sizeof(errmsg));
	record_key(lb, key);
	if (open_store(lb, &st) < 0 || !(members = load(lb, &st, key))) {
		l->records_error = lbm_str(l, lb->errmsg);
		memcpy(lb->errmsg, errmsg, sizeof(errmsg));
		return;
	}
	stale = json_object();
	for (size_t p = 0; json_object_size(members) && p < l->n; p++) {
		for (size_t i = 0; i < l->pools[p].n_members; i++) {
			struct lbm_member *m = &l->pools[p].members[i];
			const char *k = entry_key(name, sizeof(name), l->pools[p].name, m->name);
			json_t *entry = k ? json_object_get(members, k) : NULL;
			enum lbm_state recorded;
			const char *reason, *by;
			json_int_t since;

			if (!entry)
				continue;
			if (!entry_state(entry, &recorded) || recorded != m->state) {
				json_object_set(stale, k, entry);
				continue;
			}
			if (json_unpack(entry, "{s:s, s:I, s:s}", "by", &by, "since", &since, "reason", &reason) < 0)
				continue;
			m->reason = lbm_str(l, reason);
			m->by = lbm_str(l, by);
			m->since = (long long)since;
		}
	}
	/* Not for a reader that may not write (a monitoring user): the next
	 * listing by one that may drops them. */
	if (json_object_size(stale) && access(st.dir, W_OK) == 0 && lbm_store_lock(lb, &st) == 0) {
		drop_stale(lb, &st, key, stale);
		lbm_store_unlock(&st);
	}
	json_decref(stale);
	json_decref(members);
	memcpy(lb->errmsg, errmsg, sizeof(errmsg));
}

int lbm_records_check(struct lbm *lb)
{
	char why[LBM_ERRMSG_MAX];
	struct lbm_store st;
	int ret = open_store(lb, &st);

	if (ret == 0)
		ret = lbm_store_lock(lb, &st);
	lbm_store_unlock(&st);
	if (ret == 0)
		return 0;
	memcpy(why, lb->errmsg, sizeof(why));
	return lbm_fail(lb, ret, "cannot record the reason, so nothing was changed: %s", why);
}

/* o's entry, also into o->after: the result shows what a listing will. */
static int put(struct lbm *lb, const struct lbm_change *how, struct lbm_result *res, struct lbm_outcome *o,
	       json_t *members, const char *k, const char *by, json_int_t now)
{
	const char *reason = how->reason ? how->reason : "";
	json_int_t since = now;

	/* Out of rotation since it first went out: draining, then disabling,
	 * keeps its age, and its reason unless a new one is given. */
	if (o->before.state != LBM_STATE_ENABLED && o->before.since) {
		since = (json_int_t)o->before.since;
		if (!how->reason && o->before.reason)
			reason = o->before.reason;
	}
	if (json_object_set_new(members, k,
				json_pack("{s:s, s:s, s:I, s:s}", "state", lbm_state_name(o->after.state), "by", by,
					  "since", since, "reason", reason)) < 0)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	o->after.reason = lbm_strings_add(&res->strings, reason, strlen(reason));
	o->after.by = lbm_strings_add(&res->strings, by, strlen(by));
	o->after.since = (long long)since;
	return 0;
}

/* What the outcome asks of its entry: 1 write, -1 remove, 0 nothing. */
static int action(const struct lbm_change *how, const struct lbm_outcome *o, json_t *members, const char *k)
{
	if (how->state == LBM_STATE_ENABLED)
		/* Also an entry no longer shown (the member was enabled by other
		 * means): it must not come back if it is taken out again. */
		return (o->result == LBM_OUTCOME_APPLIED || o->result == LBM_OUTCOME_UNCHANGED) &&
				       json_object_get(members, k)
			       ? -1
			       : 0;
	return o->result == LBM_OUTCOME_APPLIED && o->after.state == how->state;
}

/* Whether res changes members (first: only look, and warn), or an error. */
static int update(struct lbm *lb, const struct lbm_change *how, struct lbm_result *res, json_t *members, bool first)
{
	char name[2 * LBM_NAME_MAX], by[LBM_NAME_MAX];
	json_int_t now = (json_int_t)time(NULL);
	int changed = 0;

	if (!first)
		who(by, sizeof(by));
	for (size_t i = 0; i < res->n; i++) {
		struct lbm_outcome *o = &res->outcomes[i];
		const char *k = entry_key(name, sizeof(name), o->pool, o->before.name);
		int todo = k ? action(how, o, members, k) : 0;
		int ret = 0;

		if (first && !todo && o->result == LBM_OUTCOME_UNCHANGED && how->reason && !o->before.since &&
		    how->state != LBM_STATE_ENABLED)
			lbm_warn(lb, "%s/%s was already %s, taken out by other means: the reason is not recorded",
				 o->pool, o->before.name, lbm_state_name(o->before.state));
		if (first)
			;
		else if (todo > 0)
			ret = put(lb, how, res, o, members, k, by, now);
		else if (todo < 0)
			json_object_del(members, k);
		if (ret < 0)
			return ret;
		changed |= todo != 0;
	}
	return changed;
}

void lbm_records_update(struct lbm *lb, const struct lbm_change *how, struct lbm_result *res)
{
	char errmsg[LBM_ERRMSG_MAX], key[32];
	struct lbm_store st;
	json_t *members = NULL;
	int ret;

	memcpy(errmsg, lb->errmsg, sizeof(errmsg));
	record_key(lb, key);
	ret = open_store(lb, &st);
	/* First without the lock, to take it only when there is something to write. */
	if (ret == 0)
		ret = (members = load(lb, &st, key)) ? update(lb, how, res, members, true) : LBM_EIO;
	json_decref(members);
	members = NULL;
	if (ret > 0 && (ret = lbm_store_lock(lb, &st)) == 0) {
		ret = (members = load(lb, &st, key)) ? update(lb, how, res, members, false) : LBM_EIO;
		if (ret >= 0)
			ret = save(lb, &st, key, members);
		lbm_store_unlock(&st);
	}
	json_decref(members);
	if (ret < 0) {
		char why[LBM_ERRMSG_MAX];

		memcpy(why, lb->errmsg, sizeof(why));
		lbm_warn(lb, "who changed the members, when and why is not recorded: %s", why);
	}
	memcpy(lb->errmsg, errmsg, sizeof(errmsg));
}
