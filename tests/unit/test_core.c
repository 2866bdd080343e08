// SPDX-License-Identifier: MIT
/* The core's logic against the fake driver: guards, dry run, all pools,
 * the wait loop and the error paths. */
#define _POSIX_C_SOURCE 200809L
#include "../lib/check.h"
#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SPEC "fake://web:a@192.0.2.1:80,b@192.0.2.2:80,c@192.0.2.3:80;api:a@192.0.2.1:80,d@192.0.2.4:8080"

static struct lbm *open_fake(void)
{
	struct lbm *lb;

	if (lbm_open(&lb, SPEC, NULL) < 0) {
		fprintf(stderr, "cannot open fake: %s\n", lbm_errmsg(lb));
		return NULL;
	}
	return lb;
}

static int set(struct lbm *lb, const char *pool, const char *member, enum lbm_state state, struct lbm_result *res)
{
	struct lbm_change how = { .version = LBM_CHANGE_VERSION, .state = state };

	return lbm_member_set_state(lb, pool, member, &how, res);
}

static void test_open_errors(void)
{
	struct lbm *lb;
	struct lbm_options bad = { .version = LBM_OPTIONS_VERSION, .timeout_s = -1 }, old = { .timeout_s = 3 };

	CHECK(lbm_open(&lb, "nope", NULL) == LBM_EINVAL);
	CHECK(strstr(lbm_errmsg(lb), "is not a balancer URI") != NULL);
	CHECK(strstr(lbm_errmsg(lb), "fake://") != NULL);
	lbm_close(lb);
	CHECK(lbm_open(&lb, "gopher://user:secret@host", NULL) == LBM_EINVAL);
	CHECK(strstr(lbm_errmsg(lb), "unknown balancer type 'gopher'") != NULL);
	CHECK(strstr(lbm_errmsg(lb), "secret") == NULL);
	lbm_close(lb);
	CHECK(lbm_open(&lb, NULL, NULL) == LBM_EINVAL);
	lbm_close(lb);
	CHECK(lbm_open(&lb, SPEC, &bad) == LBM_EINVAL);
	CHECK(strstr(lbm_errmsg(lb), "timeout") != NULL);
	lbm_close(lb);
	/* Options not started from LBM_OPTIONS_INIT: said, not guessed. */
	CHECK(lbm_open(&lb, SPEC, &old) == LBM_EINVAL);
	CHECK(strstr(lbm_errmsg(lb), "start from LBM_OPTIONS_INIT") != NULL);
	lbm_close(lb);
	lbm_close(NULL);
	CHECK(!strcmp(lbm_errmsg(NULL), "out of memory"));
}

static void test_names(void)
{
	enum lbm_state s;
	char addr[64];
	unsigned port;

	CHECK(lbm_state_parse("drain", &s) == 0 && s == LBM_STATE_DRAINING);
	CHECK(lbm_state_parse("disabled", &s) == 0 && s == LBM_STATE_DISABLED);
	CHECK(lbm_state_parse("off", &s) == LBM_EINVAL);
	CHECK(!strcmp(lbm_state_name(LBM_STATE_ENABLED), "enabled"));
	CHECK(!strcmp(lbm_state_name((enum lbm_state)42), "unknown"));
	CHECK(!strcmp(lbm_strerror(LBM_EGUARD), "EGUARD"));
	CHECK(!strcmp(lbm_health_name(LBM_HEALTH_DOWN), "down"));
	CHECK(lbm_split_hostport("192.0.2.1:80", addr, sizeof(addr), &port) && !strcmp(addr, "192.0.2.1") &&
	      port == 80);
	CHECK(lbm_split_hostport("192.0.2.1", addr, sizeof(addr), &port) && port == 0);
	CHECK(lbm_split_hostport("[2001:db8::1]:443", addr, sizeof(addr), &port) && !strcmp(addr, "2001:db8::1") &&
	      port == 443);
	CHECK(lbm_split_hostport("2001:db8::1", addr, sizeof(addr), &port) && port == 0);
	CHECK(!lbm_split_hostport("192.0.2.1:0", addr, sizeof(addr), &port));
	CHECK(!lbm_split_hostport("192.0.2.1:99999", addr, sizeof(addr), &port));
	CHECK(!lbm_split_hostport("[2001:db8::1", addr, sizeof(addr), &port));
	CHECK(!lbm_split_hostport(":80", addr, sizeof(addr), &port));
}

/* The one member of a listing made by lbm_member_get(). */
static const struct lbm_member *got(const struct lbm_listing *l)
{
	return l->n == 1 && l->pools[0].n_members == 1 ? &l->pools[0].members[0] : NULL;
}

static void test_list_and_get(void)
{
	static const char *const api[] = { "api" }, *const both[] = { "api", "web", "api" }, *const nope[] = { "nope" };
	struct lbm *lb = open_fake();
	struct lbm_listing l;

	CHECK(lbm_pools(lb, NULL, 0, &l) == 0 && l.n == 2 && l.pools[0].n_members == 3);
	lbm_listing_free(&l);
	CHECK(lbm_pools(lb, api, 1, &l) == 0 && l.n == 1 && l.pools[0].n_members == 2);
	lbm_listing_free(&l);
	/* Several pools in one call, each once, in the order named. */
	CHECK(lbm_pools(lb, both, 3, &l) == 0 && l.n == 2 && !strcmp(l.pools[0].name, "api") &&
	      !strcmp(l.pools[1].name, "web"));
	CHECK(fake_model(lb)->list_calls == 3);
	lbm_listing_free(&l);
	lbm_listing_free(&l); /* safe twice */
	CHECK(lbm_pools(lb, nope, 1, &l) == LBM_ENOTFOUND && l.pools == NULL && l.n == 0);
	CHECK(lbm_member_get(lb, "web", "b", &l) == 0 && !strcmp(got(&l)->name, "b") &&
	      !strcmp(l.pools[0].name, "web"));
	lbm_listing_free(&l);
	CHECK(lbm_member_get(lb, "web", "192.0.2.3", &l) == 0 && !strcmp(got(&l)->name, "c"));
	lbm_listing_free(&l);
	CHECK(lbm_member_get(lb, "api", "192.0.2.4:8080", &l) == 0 && !strcmp(got(&l)->name, "d"));
	lbm_listing_free(&l);
	CHECK(lbm_member_get(lb, "api", "192.0.2.4:80", &l) == LBM_ENOTFOUND);
	CHECK(lbm_member_get(lb, NULL, "d", &l) == 0 && got(&l)->port == 8080 && !strcmp(l.pools[0].name, "api"));
	lbm_listing_free(&l);
	/* 0.2: a name several pools hold is EAMBIGUOUS (it was EINVAL). */
	CHECK(lbm_member_get(lb, NULL, "a", &l) == LBM_EAMBIGUOUS);
	CHECK(strstr(lbm_errmsg(lb), "several pools") != NULL);
	CHECK(lbm_member_get(lb, NULL, "zz", &l) == LBM_ENOTFOUND);
	CHECK(strstr(lbm_errmsg(lb), "no pool has a member 'zz'") != NULL);
	CHECK(lbm_member_get(lb, "web", "zz", &l) == LBM_ENOTFOUND);
	CHECK(strstr(lbm_errmsg(lb), "pool 'web' has no member 'zz'") != NULL);
	lbm_close(lb);
}

static void test_transitions(void)
{
	static const enum lbm_state order[] = { LBM_STATE_DRAINING, LBM_STATE_DISABLED, LBM_STATE_ENABLED,
						LBM_STATE_DISABLED, LBM_STATE_DRAINING, LBM_STATE_ENABLED };
	struct lbm *lb = open_fake();
	struct lbm_result res;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum lbm_state was = fake_member(lb, "web", "b")->state;

		CHECK(set(lb, "web", "b", order[i], &res) == 0);
		CHECK(res.changed && res.n == 1 && res.outcomes[0].before.state == was &&
		      res.outcomes[0].after.state == order[i]);
		CHECK(fake_member(lb, "web", "b")->state == order[i]);
		lbm_result_free(&res);
		CHECK(set(lb, "web", "b", order[i], &res) == 0);
		CHECK(!res.changed && res.n == 1);
		lbm_result_free(&res);
	}
	CHECK(fake_model(lb)->apply_calls == 6);
	lbm_close(lb);
}

static void test_dry_run(void)
{
	struct lbm *lb = open_fake();
	struct lbm_change how = { .version = LBM_CHANGE_VERSION,
				  .state = LBM_STATE_ENABLED,
				  .flags = LBM_CHANGE_DRY_RUN | LBM_CHANGE_HAS_WEIGHT,
				  .weight = 7 };
	struct lbm_result res;

	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0);
	CHECK(res.changed && res.outcomes[0].after.weight == 7 && res.outcomes[0].before.weight == 1);
	CHECK(fake_member(lb, "web", "a")->weight == 1 && fake_model(lb)->apply_calls == 0);
	lbm_result_free(&res);
	how.state = LBM_STATE_DISABLED;
	how.flags = LBM_CHANGE_DRY_RUN;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0);
	CHECK(res.changed && res.outcomes[0].after.state == LBM_STATE_DISABLED);
	CHECK(fake_member(lb, "web", "a")->state == LBM_STATE_ENABLED && fake_model(lb)->apply_calls == 0);
	lbm_result_free(&res);
	lbm_close(lb);
}

static void test_guard(void)
{
	struct lbm *lb = open_fake();
	struct lbm_change how = { .version = LBM_CHANGE_VERSION,
				  .state = LBM_STATE_DRAINING,
				  .flags = LBM_CHANGE_HAS_MIN_ENABLED,
				  .min_enabled = 3 };
	struct lbm_result res;

	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == LBM_EGUARD);
	CHECK(strstr(lbm_errmsg(lb), "min_enabled 3") != NULL);
	CHECK(res.n == 0 && res.outcomes == NULL);
	CHECK(fake_model(lb)->apply_calls == 0);
	/* The default keeps one. */
	CHECK(set(lb, "api", "d", LBM_STATE_DISABLED, &res) == 0);
	lbm_result_free(&res);
	CHECK(set(lb, "api", "a", LBM_STATE_DRAINING, &res) == LBM_EGUARD);
	CHECK(fake_member(lb, "api", "a")->state == LBM_STATE_ENABLED);
	/* A down member does not count as staying. */
	CHECK(set(lb, "api", "d", LBM_STATE_ENABLED, &res) == 0);
	lbm_result_free(&res);
	fake_member(lb, "api", "d")->health = LBM_HEALTH_DOWN;
	CHECK(set(lb, "api", "a", LBM_STATE_DRAINING, &res) == LBM_EGUARD);
	/* All-pools: refused as a whole when one pool would empty, nothing touched. */
	how.state = LBM_STATE_DISABLED;
	how.flags = 0;
	CHECK(lbm_member_set_state(lb, NULL, "a", &how, &res) == LBM_EGUARD);
	CHECK(fake_member(lb, "web", "a")->state == LBM_STATE_ENABLED);
	/* min_enabled 0 lets an operator empty a pool on purpose; idempotent repeats pass the guard. */
	how.flags = LBM_CHANGE_HAS_MIN_ENABLED;
	how.min_enabled = 0;
	CHECK(lbm_member_set_state(lb, "api", "a", &how, &res) == 0 && res.changed);
	lbm_result_free(&res);
	how.flags = 0;
	CHECK(lbm_member_set_state(lb, "api", "a", &how, &res) == 0 && !res.changed);
	lbm_result_free(&res);
	lbm_close(lb);
}

static void test_all_pools(void)
{
	struct lbm *lb = open_fake();
	struct lbm_result res;

	CHECK(set(lb, "-", "192.0.2.1", LBM_STATE_DRAINING, &res) == 0);
	CHECK(res.n == 2 && res.changed && !strcmp(res.outcomes[0].pool, "web") &&
	      !strcmp(res.outcomes[1].pool, "api"));
	CHECK(fake_member(lb, "web", "a")->state == LBM_STATE_DRAINING &&
	      fake_member(lb, "api", "a")->state == LBM_STATE_DRAINING);
	CHECK(fake_model(lb)->apply_calls == 1);
	lbm_result_free(&res);
	CHECK(set(lb, NULL, "zz", LBM_STATE_DRAINING, &res) == LBM_ENOTFOUND);
	lbm_close(lb);
}

/* A change lists only the pool its members are in, so that its cost does not
 * grow with the rest of the balancer; an unknown pool is then the driver's
 * word, a second pool the core's. */
static void test_lists_only_named_pool(void)
{
	struct lbm *lb = open_fake();
	struct fake_model *fm = fake_model(lb);
	const struct lbm_ref two[] = { { "web", "a" }, { "api", "d" } },
			     missing[] = { { "web", "a" }, { "nope", "a" } };
	struct lbm_change how = { .version = LBM_CHANGE_VERSION, .state = LBM_STATE_DRAINING };
	struct lbm_result res;

	CHECK(set(lb, "web", "a", LBM_STATE_DRAINING, &res) == 0 && res.n == 1 && res.changed);
	CHECK(fm->list_calls == 2 && fm->whole_lists == 0);
	lbm_result_free(&res);
	CHECK(set(lb, "-", "192.0.2.2", LBM_STATE_DRAINING, &res) == 0 && res.n == 1);
	CHECK(fm->list_calls == 4 && fm->whole_lists == 1);
	lbm_result_free(&res);
	CHECK(lbm_set_state(lb, two, 2, &how, &res) == 0 && res.n == 2);
	CHECK(fm->list_calls == 6 && fm->whole_lists == 3);
	lbm_result_free(&res);
	CHECK(set(lb, "nope", "a", LBM_STATE_DISABLED, &res) == LBM_ENOTFOUND);
	CHECK(!strcmp(lbm_errmsg(lb), "Fake: no pool 'nope'"));
	CHECK(lbm_set_state(lb, missing, 2, &how, &res) == LBM_ENOTFOUND);
	CHECK(!strcmp(lbm_errmsg(lb), "no pool 'nope'"));
	CHECK(fm->apply_calls == 3);
	lbm_close(lb);
}

static void test_batch_and_partial_failure(void)
{
	struct lbm *lb = open_fake();
	const struct lbm_ref refs[] = { { "web", "a" }, { "web", "b" }, { "api", "d" }, { "web", "a" } };
	struct lbm_change how = { .version = LBM_CHANGE_VERSION, .state = LBM_STATE_DRAINING };
	struct lbm_result res;

	fake_model(lb)->fail_apply_after = 1;
	CHECK(lbm_set_state(lb, refs, 4, &how, &res) == LBM_EIO);
	CHECK(strstr(lbm_errmsg(lb), "Fake: connection lost after 1 changes") != NULL);
	CHECK(res.n == 3 && res.outcomes[0].changed && !res.outcomes[1].changed && !res.outcomes[2].changed);
	CHECK(res.changed);
	lbm_result_free(&res);
	lbm_close(lb);
}

static void test_held_and_bad_args(void)
{
	struct lbm *lb = open_fake();
	struct lbm_change how = {
		.version = LBM_CHANGE_VERSION, .state = LBM_STATE_DRAINING, .flags = LBM_CHANGE_HAS_WEIGHT, .weight = 3
	};
	struct lbm_result res;

	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == LBM_EINVAL);
	CHECK(strstr(lbm_errmsg(lb), "weight goes only with enabled") != NULL);
	how.state = LBM_STATE_ENABLED;
	how.weight = 70000;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == LBM_EINVAL);
	how.state = (enum lbm_state)9;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == LBM_EINVAL);
	CHECK(set(lb, "web", "", LBM_STATE_DISABLED, &res) == LBM_EINVAL);
	CHECK(set(lb, "nope", "a", LBM_STATE_DISABLED, &res) == LBM_ENOTFOUND);
	CHECK(strstr(lbm_errmsg(lb), "no pool 'nope'") != NULL);
	CHECK(set(lb, "web", "b", LBM_STATE_DISABLED, &res) == 0);
	lbm_result_free(&res);
	fake_model(lb)->hold = "b";
	CHECK(set(lb, "web", "b", LBM_STATE_ENABLED, &res) == LBM_EHELD);
	CHECK(strstr(lbm_errmsg(lb), "held by the test") != NULL);
	CHECK(res.n == 1 && res.outcomes[0].after.state == LBM_STATE_DISABLED && !res.changed);
	lbm_result_free(&res);
	lbm_close(lb);
}

static void test_wait(void)
{
	struct lbm *lb = open_fake();
	struct lbm_change how = { .version = LBM_CHANGE_VERSION, .state = LBM_STATE_DRAINING, .wait_s = 5 };
	struct lbm_result res;

	fake_member(lb, "web", "a")->active = 3;
	fake_model(lb)->drain_per_list = 1;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0);
	CHECK(res.outcomes[0].after.active == 0);
	lbm_result_free(&res);

	fake_member(lb, "web", "b")->active = 1000000;
	how.wait_s = 0.3;
	CHECK(lbm_member_set_state(lb, "web", "b", &how, &res) == LBM_ETIMEDOUT);
	CHECK(strstr(lbm_errmsg(lb), "web/b: still not settled after waiting 0.3 s") != NULL);
	CHECK(res.n == 1 && res.outcomes[0].after.state == LBM_STATE_DRAINING);
	CHECK(fake_member(lb, "web", "b")->state == LBM_STATE_DRAINING);
	lbm_result_free(&res);

	how.state = LBM_STATE_ENABLED;
	fake_member(lb, "web", "b")->health = LBM_HEALTH_DOWN;
	CHECK(lbm_member_set_state(lb, "web", "b", &how, &res) == LBM_ETIMEDOUT);
	CHECK(strstr(lbm_errmsg(lb), "health is still down") != NULL);
	lbm_result_free(&res);
	how.wait_s = -1;
	CHECK(lbm_member_set_state(lb, "web", "b", &how, &res) == LBM_EINVAL);
	lbm_close(lb);
}

/* Issue 13.1: during an outage every member is down; enabling one that
 * was drained never lowers what is in rotation, so the guard lets it be. */
static void test_guard_never_refuses_enable(void)
{
	struct lbm *lb = open_fake();
	struct lbm_change drain = { .version = LBM_CHANGE_VERSION,
				    .state = LBM_STATE_DRAINING,
				    .flags = LBM_CHANGE_HAS_MIN_ENABLED };
	struct lbm_change enable = { .version = LBM_CHANGE_VERSION, .state = LBM_STATE_ENABLED };
	const struct lbm_ref all[] = { { "web", "a" }, { "web", "b" }, { "web", "c" } };
	struct lbm_result res;

	CHECK(lbm_set_state(lb, all, 3, &drain, &res) == 0);
	lbm_result_free(&res);
	for (size_t i = 0; i < 3; i++)
		fake_member(lb, "web", all[i].member)->health = LBM_HEALTH_DOWN;
	CHECK(lbm_member_set_state(lb, "web", "a", &enable, &res) == 0);
	CHECK(res.n == 1 && res.outcomes[0].after.state == LBM_STATE_ENABLED);
	lbm_result_free(&res);
	CHECK(lbm_set_state(lb, all + 1, 2, &enable, &res) == 0 && res.changed);
	lbm_result_free(&res);
	/* Enabling with weight 0 takes a member out all the same: guarded. */
	for (size_t i = 0; i < 3; i++)
		fake_member(lb, "web", all[i].member)->health = LBM_HEALTH_UP;
	enable.flags = LBM_CHANGE_HAS_WEIGHT;
	enable.weight = 0;
	CHECK(lbm_set_state(lb, all, 3, &enable, &res) == LBM_EGUARD);
	lbm_close(lb);
}

/* Issue 13.2: a member that follows another (HAProxy track) leaves with it:
 * the guard counts it, in its own pool or in another. */
static void test_guard_counts_followers(void)
{
	struct lbm *lb;
	struct lbm_change disable = { .version = LBM_CHANGE_VERSION, .state = LBM_STATE_DISABLED };
	const struct lbm_ref both[] = { { "trk", "up" }, { "trk", "up2" } };
	struct lbm_result res;

	CHECK(lbm_open(&lb, "fake://trk:up,up2,follower>trk/up", NULL) == 0);
	CHECK(lbm_set_state(lb, both, 2, &disable, &res) == LBM_EGUARD);
	CHECK(strstr(lbm_errmsg(lb), "pool 'trk' would keep 0 enabled members") != NULL);
	CHECK(fake_model(lb)->apply_calls == 0);
	fake_model(lb)->propagate = true; /* as HAProxy's trackers do */
	CHECK(lbm_member_set_state(lb, "trk", "up", &disable, &res) == 0);
	lbm_result_free(&res);
	lbm_close(lb);

	/* In another pool: trk keeps up3, but other would keep nothing. */
	CHECK(lbm_open(&lb, "fake://trk:up,up2,up3;other:f>trk/up,g>trk/up2", NULL) == 0);
	CHECK(lbm_set_state(lb, both, 2, &disable, &res) == LBM_EGUARD);
	CHECK(strstr(lbm_errmsg(lb), "refusing to make 'up' disabled: pool 'other' would keep 0 enabled members, "
				     "fewer than min_enabled 1 ('f' follows trk/up)") != NULL);
	CHECK(fake_model(lb)->apply_calls == 0);
	/* Listing only trk would have hidden other: every pool was listed. */
	CHECK(fake_model(lb)->whole_lists == 1);
	/* A chain: h follows g, which follows up2. */
	lbm_close(lb);
	CHECK(lbm_open(&lb, "fake://trk:up,up2;a:g>trk/up2;b:h>a/g", NULL) == 0);
	CHECK(lbm_member_set_state(lb, "trk", "up2", &disable, &res) == LBM_EGUARD);
	CHECK(strstr(lbm_errmsg(lb), "pool 'a' would keep 0") != NULL);
	disable.flags = LBM_CHANGE_HAS_MIN_ENABLED;
	fake_model(lb)->propagate = true;
	CHECK(lbm_member_set_state(lb, "trk", "up2", &disable, &res) == 0);
	lbm_result_free(&res);
	lbm_close(lb);
}

/* Issue 13.3: a balancer that gives no connection count makes a wait fail
 * at once, after the change: "not reported" is not 0. */
static void test_wait_without_counts(void)
{
	struct lbm *lb = open_fake();
	struct lbm_change how = { .version = LBM_CHANGE_VERSION, .state = LBM_STATE_DRAINING, .wait_s = 30 };
	struct lbm_result res;
	double t0;

	fake_member(lb, "web", "a")->active = -1;
	t0 = lbm_now();
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == LBM_ENOTSUP);
	CHECK(lbm_now() - t0 < 5);
	CHECK(!strcmp(lbm_errmsg(lb),
		      "Fake: web/a reports no connection count: cannot wait for its connections to finish"));
	CHECK(res.n == 1 && res.changed && res.outcomes[0].result == LBM_OUTCOME_APPLIED);
	CHECK(fake_member(lb, "web", "a")->state == LBM_STATE_DRAINING);
	lbm_result_free(&res);
	lbm_close(lb);
}

/* Issue 13.4: a change broken half way tells the applied from the not
 * applied and from the unchanged. */
static void test_outcome_results(void)
{
	struct lbm *lb = open_fake();
	const struct lbm_ref refs[] = { { "web", "a" }, { "web", "b" }, { "web", "c" } };
	struct lbm_change how = { .version = LBM_CHANGE_VERSION,
				  .state = LBM_STATE_DRAINING,
				  .flags = LBM_CHANGE_HAS_MIN_ENABLED };
	struct lbm_result res;

	CHECK(set(lb, "web", "c", LBM_STATE_DRAINING, &res) == 0);
	CHECK(res.outcomes[0].result == LBM_OUTCOME_APPLIED);
	lbm_result_free(&res);
	fake_model(lb)->fail_apply_after = 2;
	CHECK(lbm_set_state(lb, refs, 3, &how, &res) == LBM_EIO);
	CHECK(res.n == 3);
	CHECK(res.outcomes[0].result == LBM_OUTCOME_APPLIED && res.outcomes[0].changed);
	CHECK(res.outcomes[1].result == LBM_OUTCOME_NOT_APPLIED && !res.outcomes[1].changed);
	CHECK(res.outcomes[2].result == LBM_OUTCOME_UNCHANGED && !res.outcomes[2].changed);
	lbm_result_free(&res);
	fake_model(lb)->fail_apply_after = 0;
	how.flags |= LBM_CHANGE_DRY_RUN;
	CHECK(lbm_set_state(lb, refs, 3, &how, &res) == 0);
	CHECK(res.outcomes[0].result == LBM_OUTCOME_UNCHANGED && res.outcomes[1].result == LBM_OUTCOME_WOULD_APPLY);
	lbm_result_free(&res);
	CHECK(!strcmp(lbm_outcome_result_name(LBM_OUTCOME_NOT_APPLIED), "not_applied"));
	CHECK(!strcmp(lbm_outcome_result_name(LBM_OUTCOME_WOULD_APPLY), "would_apply"));
	lbm_close(lb);
}

/* An FQDN-like template takes no connection itself; its ephemeral members
 * do, follow it, and are never changed by lbmember. */
static void test_templates_and_ephemerals(void)
{
	struct lbm *lb;
	struct lbm_change drain = { .version = LBM_CHANGE_VERSION, .state = LBM_STATE_DRAINING };
	struct lbm_result res;

	CHECK(lbm_open(&lb, "fake://fq:t,e1>fq/t,e2>fq/t;web:a", NULL) == 0);
	fake_member(lb, "fq", "t")->flags = LBM_MEMBER_TEMPLATE;
	fake_member(lb, "fq", "e1")->flags = LBM_MEMBER_EPHEMERAL;
	fake_member(lb, "fq", "e2")->flags = LBM_MEMBER_EPHEMERAL;
	/* The ephemerals leave with the template: nothing would stay. */
	CHECK(lbm_member_set_state(lb, "fq", "t", &drain, &res) == LBM_EGUARD);
	CHECK(strstr(lbm_errmsg(lb), "pool 'fq' would keep 0 enabled members") != NULL);
	drain.flags = LBM_CHANGE_DRY_RUN;
	CHECK(lbm_member_set_state(lb, "fq", "e1", &drain, &res) == LBM_EINVAL);
	CHECK(!strcmp(lbm_errmsg(lb), "refusing to change 'e1' in pool 'fq': the balancer makes and replaces it "
				      "from fq/t (an ephemeral member): change that one instead"));
	CHECK(fake_model(lb)->apply_calls == 0);
	/* The balancer did not pass the drain on: said, not hidden. */
	drain.flags = LBM_CHANGE_HAS_MIN_ENABLED;
	CHECK(lbm_member_set_state(lb, "fq", "t", &drain, &res) == LBM_EPROTO);
	CHECK(!strcmp(lbm_errmsg(lb), "fq/t is draining, but 'e1', which follows it, still takes new connections"));
	CHECK(res.n == 1 && res.outcomes[0].result == LBM_OUTCOME_APPLIED);
	lbm_result_free(&res);
	drain.state = LBM_STATE_ENABLED;
	CHECK(lbm_member_set_state(lb, "fq", "t", &drain, &res) == 0);
	lbm_result_free(&res);
	/* It did: done. */
	fake_model(lb)->propagate = true;
	drain.state = LBM_STATE_DRAINING;
	CHECK(lbm_member_set_state(lb, "fq", "t", &drain, &res) == 0);
	CHECK(fake_member(lb, "fq", "e2")->state == LBM_STATE_DRAINING);
	lbm_result_free(&res);
	lbm_close(lb);
}

/* The tables every face builds its options and help from. */
static void test_tables(void)
{
	struct lbm_options opt = LBM_OPTIONS_INIT;
	const struct lbm_option_info *o;
	const struct lbm_driver_info *d;
	char err[256];
	size_t n = 0;
	bool fake = false;

	for (; (d = lbm_driver_info(n)); n++)
		fake |= !strcmp(d->scheme, "fake") && d->usage && d->summary && d->naming;
	CHECK(fake && lbm_driver_info(n) == NULL);
	CHECK(!strcmp(lbm_option_info(0)->name, "timeout") && lbm_option_info(0)->schemes == NULL);
	for (n = 0; (o = lbm_option_info(n)); n++)
		CHECK(o->help && *o->help && (o->type == LBM_OPTION_FLAG) == !o->value);
	CHECK(n >= 9);
	o = lbm_option_find("ca_path"); /* by its alias */
	CHECK(o && !strcmp(o->name, "ca_file") && !strcmp(o->schemes, "f5"));
	CHECK(lbm_option_parse(&opt, o, "/etc/ca.pem", err, sizeof(err)) == 0 && !strcmp(opt.ca_file, "/etc/ca.pem"));
	o = lbm_option_find("timeout");
	CHECK(lbm_option_parse(&opt, o, "2.5", err, sizeof(err)) == 0 && opt.timeout_s == 2.5);
	CHECK(lbm_option_parse(&opt, o, "0", err, sizeof(err)) == LBM_EINVAL);
	CHECK(!strcmp(err, "timeout expects a number of seconds above 0, got '0'"));
	o = lbm_option_find("insecure");
	CHECK(lbm_option_parse(&opt, o, "yes", err, sizeof(err)) == 0 && opt.insecure == 1);
	CHECK(lbm_option_parse(&opt, o, "maybe", err, sizeof(err)) == LBM_EINVAL && strstr(err, "true or false"));
	CHECK(lbm_option_find("password")->type == LBM_OPTION_SECRET);
	CHECK(lbm_option_find("state_dir") && !lbm_option_find("state_dir")->schemes); /* records of every balancer */
	CHECK(lbm_option_find("nope") == NULL);
}

struct seen {
	int calls;
	size_t first_waiting, last_waiting;
};

static void count_progress(const struct lbm_progress *p, void *arg)
{
	struct seen *seen = arg;

	if (!seen->calls++)
		seen->first_waiting = p->waiting;
	seen->last_waiting = p->waiting;
	CHECK(p->result && p->result->n == 1 && p->result->outcomes[0].waiting == (p->waiting > 0));
}

/* One call that changes, then tells how the wait goes: what the CLI prints. */
static void test_progress(void)
{
	struct lbm *lb = open_fake();
	struct seen seen = { 0 };
	struct lbm_change how = LBM_CHANGE_INIT;
	struct lbm_result res;

	how.state = LBM_STATE_DRAINING;
	how.wait_s = 5;
	how.progress = count_progress;
	how.progress_arg = &seen;
	fake_member(lb, "web", "a")->active = 5; /* one closes at each listing */
	fake_model(lb)->drain_per_list = 1;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0);
	CHECK(seen.calls >= 2 && seen.first_waiting == 1 && seen.last_waiting == 0);
	lbm_result_free(&res);
	/* Without a wait: told once, that the change is made. */
	seen = (struct seen){ 0 };
	how.state = LBM_STATE_ENABLED;
	how.wait_s = 0;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0 && seen.calls == 1 && seen.last_waiting == 0);
	lbm_result_free(&res);
	/* A change version nobody knows is refused. */
	how.version = 0;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == LBM_EINVAL);
	CHECK(strstr(lbm_errmsg(lb), "LBM_CHANGE_INIT") != NULL);
	lbm_close(lb);
}

/* Issue 18.1: who, when and why, kept in the state directory while the
 * member stays as recorded. */
static void test_records(void)
{
	char dir[] = "/tmp/lbm-records-XXXXXX";
	struct lbm_options opt = LBM_OPTIONS_INIT;
	struct lbm_change how = LBM_CHANGE_INIT;
	struct lbm_listing l;
	struct lbm_result res;
	struct lbm *lb;
	long long now = (long long)time(NULL);

	CHECK(mkdtemp(dir) != NULL);
	opt.state_dir = dir;
	setenv("SUDO_USER", "alice", 1);
	CHECK(lbm_open(&lb, SPEC, &opt) == 0);
	how.state = LBM_STATE_DRAINING;
	how.reason = "kernel update, CHG-42";
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0 && res.n_warnings == 0);
	lbm_result_free(&res);
	CHECK(lbm_member_get(lb, "web", "a", &l) == 0);
	CHECK(l.pools[0].members[0].reason && !strcmp(l.pools[0].members[0].reason, "kernel update, CHG-42"));
	CHECK(l.pools[0].members[0].by && !strcmp(l.pools[0].members[0].by, "alice"));
	CHECK(l.pools[0].members[0].since >= now && l.pools[0].members[0].since <= now + 5);
	lbm_listing_free(&l);
	/* The same member name in another pool has no record. */
	CHECK(lbm_member_get(lb, "api", "a", &l) == 0 && !l.pools[0].members[0].reason);
	lbm_listing_free(&l);
	/* Disabling after draining keeps the age and the reason. */
	how.state = LBM_STATE_DISABLED;
	how.reason = NULL;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0);
	CHECK(res.outcomes[0].after.reason && !strcmp(res.outcomes[0].after.reason, "kernel update, CHG-42"));
	lbm_result_free(&res);
	/* Enabled by other means: the record is not shown, nor when it is
	 * taken out the same way again, by other means: it is gone. */
	fake_member(lb, "web", "a")->state = LBM_STATE_ENABLED;
	CHECK(lbm_member_get(lb, "web", "a", &l) == 0 && !l.pools[0].members[0].reason && !l.pools[0].members[0].by &&
	      !l.pools[0].members[0].since);
	lbm_listing_free(&l);
	fake_member(lb, "web", "a")->state = LBM_STATE_DISABLED;
	CHECK(lbm_member_get(lb, "web", "a", &l) == 0 && !l.pools[0].members[0].reason);
	lbm_listing_free(&l);
	/* Enabling clears a record whether or not it is shown. */
	how.state = LBM_STATE_DRAINING;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0 && res.outcomes[0].after.by);
	lbm_result_free(&res);
	fake_member(lb, "web", "a")->state = LBM_STATE_ENABLED;
	how.state = LBM_STATE_ENABLED;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0);
	lbm_result_free(&res);
	fake_member(lb, "web", "a")->state = LBM_STATE_DRAINING;
	CHECK(lbm_member_get(lb, "web", "a", &l) == 0 && !l.pools[0].members[0].reason);
	lbm_listing_free(&l);
	/* Already out by other means: said, not invented. */
	how.state = LBM_STATE_DRAINING;
	how.reason = "again";
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0 && res.n_warnings == 1);
	CHECK(strstr(res.warnings[0], "taken out by other means: the reason is not recorded") != NULL);
	lbm_result_free(&res);
	/* A reason must be one line. */
	how.reason = "two\nlines";
	CHECK(lbm_member_set_state(lb, "web", "b", &how, &res) == LBM_EINVAL);
	CHECK(strstr(lbm_errmsg(lb), "one line") != NULL && fake_member(lb, "web", "b")->state == LBM_STATE_ENABLED);
	lbm_close(lb);
	/* A reason that cannot be recorded refuses the change, touching nothing. */
	opt.state_dir = "/proc/lbm-no-such-dir";
	CHECK(lbm_open(&lb, SPEC, &opt) == 0);
	how.reason = "x";
	CHECK(lbm_member_set_state(lb, "web", "b", &how, &res) == LBM_EIO);
	CHECK(strstr(lbm_errmsg(lb), "cannot record the reason, so nothing was changed") != NULL);
	CHECK(fake_model(lb)->apply_calls == 0);
	/* Without a reason, the change is made and the record's loss said. */
	how.reason = NULL;
	CHECK(lbm_member_set_state(lb, "web", "b", &how, &res) == 0 && res.n_warnings == 1);
	CHECK(strstr(res.warnings[0], "is not recorded") != NULL);
	lbm_result_free(&res);
	lbm_close(lb);
	unsetenv("SUDO_USER");
}

/* Issue 18.4: cut what remains after force_after_s, counted, then settle. */
static void test_force_after(void)
{
	struct lbm *lb = open_fake();
	struct lbm_change how = LBM_CHANGE_INIT;
	struct lbm_result res;

	how.state = LBM_STATE_DRAINING;
	how.wait_s = 5;
	how.force_after_s = 0.3;
	fake_member(lb, "web", "a")->active = 7;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == 0);
	CHECK(res.outcomes[0].cut == 7 && res.outcomes[0].after.active == 0 && fake_model(lb)->cut_calls == 1);
	lbm_result_free(&res);
	/* Nothing left to cut: nothing cut. */
	how.state = LBM_STATE_DISABLED;
	CHECK(lbm_member_set_state(lb, "web", "b", &how, &res) == 0 && res.outcomes[0].cut == 0);
	CHECK(fake_model(lb)->cut_calls == 1);
	lbm_result_free(&res);
	how.force_after_s = 5;
	CHECK(lbm_member_set_state(lb, "web", "c", &how, &res) == LBM_EINVAL);
	CHECK(strstr(lbm_errmsg(lb), "must be less than the wait") != NULL);
	how.state = LBM_STATE_ENABLED;
	how.force_after_s = 1;
	CHECK(lbm_member_set_state(lb, "web", "a", &how, &res) == LBM_EINVAL);
	CHECK(fake_model(lb)->apply_calls == 2);
	lbm_close(lb);
}

static void test_handles_independent(void)
{
	struct lbm *one = open_fake(), *two = open_fake();
	struct lbm_listing m;
	struct lbm_result res;

	CHECK(lbm_member_get(one, "web", "zz", &m) == LBM_ENOTFOUND);
	CHECK(set(two, "web", "a", LBM_STATE_DISABLED, &res) == 0);
	lbm_result_free(&res);
	CHECK(strstr(lbm_errmsg(one), "zz") != NULL && lbm_errmsg(two)[0] == '\0');
	CHECK(fake_member(one, "web", "a")->state == LBM_STATE_ENABLED);
	lbm_close(one);
	lbm_close(two);
}

int main(void)
{
	test_open_errors();
	test_names();
	test_list_and_get();
	test_transitions();
	test_dry_run();
	test_guard();
	test_all_pools();
	test_lists_only_named_pool();
	test_batch_and_partial_failure();
	test_held_and_bad_args();
	test_wait();
	test_guard_never_refuses_enable();
	test_guard_counts_followers();
	test_wait_without_counts();
	test_outcome_results();
	test_templates_and_ephemerals();
	test_tables();
	test_progress();
	test_handles_independent();
	test_records();
	test_force_after();
	return check_done();
}
