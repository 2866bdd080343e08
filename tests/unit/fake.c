// SPDX-License-Identifier: MIT
#define _POSIX_C_SOURCE 200809L

#include "fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_model *fake_model(struct lbm *lb)
{
	return lb->priv;
}

struct lbm_member *fake_member(struct lbm *lb, const char *pool, const char *name)
{
	struct fake_model *fm = lb->priv;

	for (size_t p = 0; p < fm->balancer.n; p++)
		for (size_t i = 0; i < fm->balancer.pools[p].n_members; i++)
			if (!strcmp(fm->balancer.pools[p].name, pool) &&
			    !strcmp(fm->balancer.pools[p].members[i].name, name))
				return &fm->balancer.pools[p].members[i];
	return NULL;
}

static int add_member(struct lbm *lb, struct fake_model *fm, struct lbm_pool *pool, char *spec)
{
	char *leader = strchr(spec, '>'), *at;
	struct lbm_member *m;

	if (leader)
		*leader++ = '\0';
	at = strchr(spec, '@');
	if (at)
		*at++ = '\0';
	m = lbm_pool_add_member(&fm->balancer, pool, spec);
	if (!m)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	m->state = LBM_STATE_ENABLED;
	m->weight = 1;
	m->active = 0;
	m->status = "fake";
	if (leader) {
		m->follows = lbm_str(&fm->balancer, leader);
		lb->follows_across_pools = true;
	}
	if (at && !lbm_split_hostport(at, m->address, sizeof(m->address), &m->port))
		return lbm_driver_fail(lb, LBM_EINVAL, "bad address '%s'", at);
	return 0;
}

static void fake_close(struct lbm *lb)
{
	struct fake_model *fm = lb->priv;

	if (fm)
		lbm_listing_free(&fm->balancer);
	free(fm);
}

static int fake_open(struct lbm *lb, const char *location, const struct lbm_options *opt)
{
	struct fake_model *fm;
	char *spec, *pool_spec, *save_pool = NULL, *save_member = NULL;
	int ret = 0;

	(void)opt;
	lb->priv = fm = calloc(1, sizeof(*fm));
	spec = strdup(location);
	if (!fm || !spec) {
		free(spec);
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	}
	for (pool_spec = strtok_r(spec, ";", &save_pool); pool_spec && !ret;
	     pool_spec = strtok_r(NULL, ";", &save_pool)) {
		char *colon = strchr(pool_spec, ':'), *member;
		size_t p;

		if (!colon) {
			ret = lbm_driver_fail(lb, LBM_EINVAL, "pool spec '%s' has no ':'", pool_spec);
			break;
		}
		*colon = '\0';
		if (!lbm_pool_add(&fm->balancer, pool_spec)) {
			ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
			break;
		}
		p = fm->balancer.n - 1;
		for (member = strtok_r(colon + 1, ",", &save_member); member && !ret;
		     member = strtok_r(NULL, ",", &save_member))
			ret = add_member(lb, fm, &fm->balancer.pools[p], member);
	}
	free(spec);
	return ret;
}

/* What the test set in the model, as a listing owns it. */
static void copy_member(struct lbm_listing *out, struct lbm_member *dst, const struct lbm_member *src)
{
	*dst = *src;
	dst->name = lbm_str(out, src->name);
	dst->status = lbm_str(out, src->status);
	dst->held = src->held ? lbm_str(out, src->held) : NULL;
	dst->follows = src->follows ? lbm_str(out, src->follows) : NULL;
}

static int fake_list(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out)
{
	struct fake_model *fm = lb->priv;

	fm->list_calls++;
	fm->whole_lists += !names;
	for (size_t p = 0; p < fm->balancer.n; p++) {
		for (size_t i = 0; i < fm->balancer.pools[p].n_members; i++) {
			long *active = &fm->balancer.pools[p].members[i].active;

			if (*active >= 0) /* -1 is "not reported", and stays so */
				*active = *active > fm->drain_per_list ? *active - fm->drain_per_list : 0;
		}
	}
	for (size_t k = 0; k < (names ? n : fm->balancer.n); k++) {
		const struct lbm_pool *src = names ? NULL : &fm->balancer.pools[k];
		struct lbm_pool *dst;

		for (size_t p = 0; names && p < fm->balancer.n && !src; p++)
			if (!strcmp(names[k], fm->balancer.pools[p].name))
				src = &fm->balancer.pools[p];
		if (!src)
			return lbm_driver_fail(lb, LBM_ENOTFOUND, "no pool '%s'", names[k]);
		dst = lbm_pool_add(out, src->name);
		if (!dst)
			return lbm_fail(lb, LBM_ENOMEM, "out of memory");
		for (size_t i = 0; i < src->n_members; i++) {
			struct lbm_member *m = lbm_pool_add_member(out, dst, src->members[i].name);

			if (!m)
				return lbm_fail(lb, LBM_ENOMEM, "out of memory");
			copy_member(out, m, &src->members[i]);
		}
	}
	return 0;
}

/* Followers of leader (one level) take its state. */
static void pass_on(struct fake_model *fm, const char *pool, const struct lbm_member *leader)
{
	char name[2 * LBM_NAME_MAX];

	snprintf(name, sizeof(name), "%s/%s", pool, leader->name);
	for (size_t p = 0; p < fm->balancer.n; p++)
		for (size_t i = 0; i < fm->balancer.pools[p].n_members; i++) {
			struct lbm_member *m = &fm->balancer.pools[p].members[i];

			if (m->follows && !strcmp(m->follows, name))
				m->state = leader->state;
		}
}

static int fake_apply(struct lbm *lb, struct lbm_item *items, size_t n)
{
	struct fake_model *fm = lb->priv;

	fm->apply_calls++;
	for (size_t i = 0; i < n; i++) {
		struct lbm_member *m = fake_member(lb, items[i].pool, items[i].member->name);

		if (fm->fail_apply_after && fm->items_applied >= (unsigned)fm->fail_apply_after)
			return lbm_driver_fail(lb, LBM_EIO, "connection lost after %u changes", fm->items_applied);
		if (fm->hold && !strcmp(fm->hold, m->name)) {
			m->held = "held by the test";
		} else {
			m->state = items[i].state;
			if (items[i].weight >= 0)
				m->weight = items[i].weight;
			if (fm->propagate)
				pass_on(fm, items[i].pool, m);
		}
		items[i].done = true;
		fm->items_applied++;
	}
	return 0;
}

static int fake_cut(struct lbm *lb, const char *pool, const struct lbm_member *m)
{
	struct lbm_member *model = fake_member(lb, pool, m->name);

	fake_model(lb)->cut_calls++;
	if (model)
		model->active = 0;
	return 0;
}

const struct lbm_driver lbm_driver_fake = {
	.info = {
		.scheme = "fake",
		.name = "Fake",
		.usage = "fake://POOL:MEMBER[@ADDR:PORT][>POOL/LEADER],...;POOL2:...",
		.summary = "a balancer in memory, for tests",
		.naming = "pool and member: the names in the target",
	},
	.open = fake_open,
	.close = fake_close,
	.list = fake_list,
	.apply = fake_apply,
	.cut = fake_cut,
};
