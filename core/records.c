// SPDX-License-Identifier: MIT
/* Who took a member out of rotation through lbmember, when and why: one
 * record per target, pool and member in the state store's "out"
 * directory, apart from what a driver records there itself (LVS), so that
 * neither lock waits for the other.
 *
 * A record is shown only while the member is still in the state it
 * recorded: a member enabled, or taken out again, by other means has none,
 * rather than a stale one. Keys are hashes (a target, a pool and a member
 * may be longer than a file name together); the record holds the names. */
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

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL; /* a separator, so that "ab"+"c" is not "a"+"bc" */
}

#define FNV_BASIS 0xcbf29ce484222325ULL

/* "out-TARGETHASH-": the prefix of every record of lb's balancer. */
static void target_prefix(const struct lbm *lb, char out[40])
{
	snprintf(out, 40, "out-%016" PRIx64 "-", fnv1a(FNV_BASIS, lb->name));
}

static void record_key(const struct lbm *lb, const char *pool, const char *member, char out[64])
{
	char prefix[40];

	target_prefix(lb, prefix);
	snprintf(out, 64, "%s%016" PRIx64, prefix, fnv1a(fnv1a(FNV_BASIS, pool), member));
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

struct attach {
	struct lbm_listing *l;
	const char *target;
	const struct lbm_store *st;
};

static struct lbm_member *listed(struct lbm_listing *l, const char *pool, const char *member)
{
	for (size_t p = 0; p < l->n; p++) {
		if (strcmp(l->pools[p].name, pool))
			continue;
		for (size_t i = 0; i < l->pools[p].n_members; i++)
			if (!strcmp(l->pools[p].members[i].name, member))
				return &l->pools[p].members[i];
	}
	return NULL;
}

static int attach_one(struct lbm *lb, const char *key, json_t *rec, void *arg)
{
	struct attach *a = arg;
	const char *target = NULL, *pool = NULL, *member = NULL, *state = NULL, *by = NULL, *reason = NULL;
	json_int_t since = 0;
	enum lbm_state recorded;
	struct lbm_member *m;

	(void)lb;
	if (json_unpack(rec, "{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "target", &target, "pool", &pool, "member", &member,
			"state", &state, "by", &by, "since", &since, "reason", &reason) < 0)
		return 0; /* not ours to judge: shown as no record */
	if (strcmp(target, a->target) || lbm_state_parse(state, &recorded) < 0)
		return 0;
	m = listed(a->l, pool, member);
	if (m && m->state != recorded) {
		/* Changed by other means since: were it taken out the same way
		 * again, the record would name the wrong person and reason. Not
		 * under the lock: a record written between this listing and the
		 * scan is lost at worst, shown as none, which is never false. */
		char path[PATH_MAX + 64];

		if (lbm_store_path(a->st, key, path, sizeof(path)))
			unlink(path);
		return 0;
	}
	if (!m)
		return 0;
	m->reason = lbm_str(a->l, reason);
	m->by = lbm_str(a->l, by);
	m->since = (long long)since;
	return 0;
}

void lbm_records_attach(struct lbm *lb, struct lbm_listing *l)
{
	char errmsg[LBM_ERRMSG_MAX], prefix[40];
	struct lbm_store st;
	struct attach a = { .l = l, .target = lb->name, .st = &st };

	/* A listing never fails for want of its records: the members then
	 * have none, which is what a reader can know. */
	memcpy(errmsg, lb->errmsg, sizeof(errmsg));
	target_prefix(lb, prefix);
	if (open_store(lb, &st) == 0)
		lbm_store_scan(lb, &st, prefix, attach_one, &a);
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

/* The record, also into o->after: the result shows what a listing will. */
static int put(struct lbm *lb, const struct lbm_store *st, const struct lbm_change *how, struct lbm_result *res,
	       struct lbm_outcome *o, const char *key)
{
	char by[LBM_NAME_MAX];
	json_t *rec;
	json_int_t since = (json_int_t)time(NULL);
	const char *reason = how->reason ? how->reason : "";
	int ret;

	who(by, sizeof(by));
	/* Out of rotation since it first went out: draining, then disabling,
	 * keeps its age, and its reason unless a new one is given. */
	if (o->before.state != LBM_STATE_ENABLED && o->before.since) {
		since = (json_int_t)o->before.since;
		if (!how->reason && o->before.reason)
			reason = o->before.reason;
	}
	rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "target", lb->name, "pool", o->pool, "member",
			o->after.name, "state", lbm_state_name(o->after.state), "by", by, "since", since, "reason",
			reason);
	if (!rec)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	ret = lbm_store_put(lb, st, key, rec);
	json_decref(rec);
	if (ret == 0) {
		o->after.reason = lbm_strings_add(&res->strings, reason, strlen(reason));
		o->after.by = lbm_strings_add(&res->strings, by, strlen(by));
		o->after.since = (long long)since;
	}
	return ret;
}

/* What the outcome asks of its record: 1 write, -1 remove, 0 nothing. */
static int action(const struct lbm_store *st, const struct lbm_change *how, const struct lbm_outcome *o,
		  const char *key)
{
	char path[PATH_MAX + 64];

	if (how->state == LBM_STATE_ENABLED) {
		/* Also a record no longer shown (the member was enabled by other
		 * means): it must not come back if it is taken out again. */
		if (o->result != LBM_OUTCOME_APPLIED && o->result != LBM_OUTCOME_UNCHANGED)
			return 0;
		return lbm_store_path(st, key, path, sizeof(path)) && access(path, F_OK) == 0 ? -1 : 0;
	}
	return o->result == LBM_OUTCOME_APPLIED && o->after.state == how->state;
}

void lbm_records_update(struct lbm *lb, const struct lbm_change *how, struct lbm_result *res)
{
	char errmsg[LBM_ERRMSG_MAX], key[64];
	struct lbm_store st;
	bool locked = false;
	int ret;

	memcpy(errmsg, lb->errmsg, sizeof(errmsg));
	ret = open_store(lb, &st);
	for (size_t i = 0; ret == 0 && i < res->n; i++) {
		struct lbm_outcome *o = &res->outcomes[i];
		int todo;

		record_key(lb, o->pool, o->before.name, key);
		todo = action(&st, how, o, key);
		if (!todo && o->result == LBM_OUTCOME_UNCHANGED && how->reason && !o->before.since &&
		    how->state != LBM_STATE_ENABLED)
			lbm_warn(lb, "%s/%s was already %s, taken out by other means: the reason is not recorded",
				 o->pool, o->before.name, lbm_state_name(o->before.state));
		if (!todo || (!locked && (ret = lbm_store_lock(lb, &st)) < 0))
			continue;
		locked = true;
		ret = todo > 0 ? put(lb, &st, how, res, o, key) : lbm_store_del(lb, &st, key);
	}
	if (locked)
		lbm_store_unlock(&st);
	if (ret < 0) {
		char why[LBM_ERRMSG_MAX];

		memcpy(why, lb->errmsg, sizeof(why));
		lbm_warn(lb, "who changed the members, when and why is not recorded: %s", why);
	}
	memcpy(lb->errmsg, errmsg, sizeof(errmsg));
}
