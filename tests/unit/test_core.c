// SPDX-License-Identifier: MIT
/* The core's logic against the fake driver: guards, dry run, all pools,
 * the wait loop and the error paths. */
#include "fake.h"

#include <stdio.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (cond) {                                                                \
			passed++;                                                          \
		} else {                                                                   \
			failed++;                                                          \
			fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__, __LINE__, __func__, #cond); \
		}                                                                          \
	} while (0)

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
	struct lbm_change how = { .state = state };

	return lbm_member_set_state(lb, pool, member, &how, res);
}

static void test_open_errors(void)
{
	struct lbm *lb;
	struct lbm_options bad = { .timeout_s = -1 };

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
	CHECK(lbm_split_hostport("192.0.2.1:80", addr, sizeof(addr), &port) && !strcmp(addr, "192.0.2.1") && port == 80);
	CHECK(lbm_split_hostport("192.0.2.1", addr, sizeof(addr), &port) && port == 0);
	CHECK(lbm_split_hostport("[2001:db8::1]:443", addr, sizeof(addr), &port) && !strcmp(addr, "2001:db8::1") &&
	      port == 443);
	CHECK(lbm_split_hostport("2001:db8::1", addr, sizeof(addr), &port) && port == 0);
	CHECK(!lbm_split_hostport("192.0.2.1:0", addr, sizeof(addr), &port));
	CHECK(!lbm_split_hostport("192.0.2.1:99999", addr, sizeof(addr), &port));
	CHECK(!lbm_split_hostport("[2001:db8::1", addr, sizeof(addr), &port));
	CHECK(!lbm_split_hostport(":80", addr, sizeof(addr), &port));
}

static void test_list_and_get(void)
{
	struct lbm *lb = open_fake();
	struct lbm_pool *pools;
	struct lbm_member m;
	size_t n;

	CHECK(lbm_pools(lb, NULL, &pools, &n) == 0 && n == 2 && pools[0].n_members == 3);
	lbm_pools_free(pools, n);
	CHECK(lbm_pools(lb, "api", &pools, &n) == 0 && n == 1 && pools[0].n_members == 2);
	lbm_pools_free(pools, n);
	CHECK(lbm_pools(lb, "nope", &pools, &n) == LBM_ENOTFOUND && pools == NULL && n == 0);
	CHECK(lbm_member_get(lb, "web", "b", &m) == 0 && !strcmp(m.name, "b"));
	CHECK(lbm_member_get(lb, "web", "192.0.2.3", &m) == 0 && !strcmp(m.name, "c"));
	CHECK(lbm_member_get(lb, "api", "192.0.2.4:8080", &m) == 0 && !strcmp(m.name, "d"));
	CHECK(lbm_member_get(lb, "api", "192.0.2.4:80", &m) == LBM_ENOTFOUND);
	CHECK(lbm_member_get(lb, NULL, "d", &m) == 0 && m.port == 8080);
	CHECK(lbm_member_get(lb, NULL, "a", &m) == LBM_EINVAL);
	CHECK(strstr(lbm_errmsg(lb), "several pools") != NULL);
	CHECK(lbm_member_get(lb, NULL, "zz", &m) == LBM_ENOTFOUND);
	CHECK(strstr(lbm_errmsg(lb), "no pool has a member 'zz'") != NULL);
	CHECK(lbm_member_get(lb, "web", "zz", &m) == LBM_ENOTFOUND);
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
	struct lbm_change how = { .state = LBM_STATE_ENABLED, .flags = LBM_CHANGE_DRY_RUN | LBM_CHANGE_HAS_WEIGHT,
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
	struct lbm_change how = { .state = LBM_STATE_DRAINING, .flags = LBM_CHANGE_HAS_MIN_ENABLED, .min_enabled = 3 };
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
	CHECK(res.n == 2 && res.changed && !strcmp(res.outcomes[0].pool, "web") && !strcmp(res.outcomes[1].pool, "api"));
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
	const struct lbm_ref two[] = { { "web", "a" }, { "api", "d" } }, missing[] = { { "web", "a" }, { "nope", "a" } };
	struct lbm_change how = { .state = LBM_STATE_DRAINING };
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
	struct lbm_change how = { .state = LBM_STATE_DRAINING };
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
	struct lbm_change how = { .state = LBM_STATE_DRAINING, .flags = LBM_CHANGE_HAS_WEIGHT, .weight = 3 };
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
	struct lbm_change how = { .state = LBM_STATE_DRAINING, .wait_s = 5 };
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
	struct lbm_change drain = { .state = LBM_STATE_DRAINING, .flags = LBM_CHANGE_HAS_MIN_ENABLED };
	struct lbm_change enable = { .state = LBM_STATE_ENABLED };
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
	struct lbm_change disable = { .state = LBM_STATE_DISABLED };
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
	struct lbm_change how = { .state = LBM_STATE_DRAINING, .wait_s = 30 };
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
	struct lbm_change how = { .state = LBM_STATE_DRAINING, .flags = LBM_CHANGE_HAS_MIN_ENABLED };
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
	struct lbm_change drain = { .state = LBM_STATE_DRAINING };
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

static void test_handles_independent(void)
{
	struct lbm *one = open_fake(), *two = open_fake();
	struct lbm_member m;
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
	test_handles_independent();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
