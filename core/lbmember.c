// SPDX-License-Identifier: MIT
/* The handle, name matching, the min_enabled guard, dry run and the wait
 * loop: everything that is the same on every balancer. */
#define _POSIX_C_SOURCE 200809L

#include "core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- messages ------------------------------------------------------------ */

static int vfail(struct lbm *lb, int code, const char *prefix, const char *fmt, va_list ap)
{
	int len = snprintf(lb->errmsg, sizeof(lb->errmsg), "%s", prefix);

	if (len < 0 || (size_t)len >= sizeof(lb->errmsg))
		len = 0;
	vsnprintf(lb->errmsg + len, sizeof(lb->errmsg) - (size_t)len, fmt, ap);
	return code;
}

int lbm_fail(struct lbm *lb, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(lb, code, "", fmt, ap);
	va_end(ap);
	return code;
}

int lbm_driver_fail(struct lbm *lb, int code, const char *fmt, ...)
{
	char prefix[64];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s: ", lb->driver->info.name);
	va_start(ap, fmt);
	vfail(lb, code, prefix, fmt, ap);
	va_end(ap);
	return code;
}

void lbm_warn(struct lbm *lb, const char *fmt, ...)
{
	char text[LBM_ERRMSG_MAX], **grown;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < lb->n_warnings; i++)
		if (!strcmp(lb->warnings[i], text))
			return;
	/* Advice lost to a lack of memory is not worth failing a change for. */
	grown = realloc(lb->warnings, (lb->n_warnings + 1) * sizeof(*grown));
	if (!grown)
		return;
	lb->warnings = grown;
	if ((lb->warnings[lb->n_warnings] = strdup(text)))
		lb->n_warnings++;
}

static void clear_warnings(struct lbm *lb)
{
	for (size_t i = 0; i < lb->n_warnings; i++)
		free(lb->warnings[i]);
	free(lb->warnings);
	lb->warnings = NULL;
	lb->n_warnings = 0;
}

/* ---- small tools ---------------------------------------------------------- */

bool lbm_copy(char *dst, size_t dstsz, const char *src)
{
	size_t len = strlen(src);

	if (len >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

double lbm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lbm_sleep(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void lbm_backoff(double *delay, double cap)
{
	lbm_sleep(*delay);
	*delay = *delay * 2 < cap ? *delay * 2 : cap;
}

/* Arrays grow by doubling whenever their length reaches a power of two, so
 * that listing 10,000 members does not reallocate 10,000 times. */
static void *grow(void *array, size_t n, size_t size)
{
	if (n && (n & (n - 1)))
		return array;
	return realloc(array, (n ? 2 * n : 1) * size);
}

struct lbm_pool *lbm_pool_add(struct lbm_listing *l, const char *name)
{
	struct lbm_pool *grown = grow(l->pools, l->n, sizeof(*l->pools));
	struct lbm_pool *pool;

	if (!grown)
		return NULL;
	l->pools = grown;
	pool = &grown[l->n++];
	*pool = (struct lbm_pool){ .name = lbm_str(l, name), .detail = "" };
	return pool;
}

struct lbm_member *lbm_pool_add_member(struct lbm_listing *l, struct lbm_pool *pool, const char *name)
{
	struct lbm_member *grown = grow(pool->members, pool->n_members, sizeof(*grown));
	struct lbm_member *m;

	if (!grown)
		return NULL;
	pool->members = grown;
	m = &grown[pool->n_members++];
	*m = (struct lbm_member){
		.name = lbm_str(l, name),
		.status = "",
		.weight = -1,
		.restore_weight = -1,
		.active = -1,
		.inactive = -1,
	};
	return m;
}

void lbm_listing_free(struct lbm_listing *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->pools[i].members);
	free(l->pools);
	lbm_strings_free(l->strings);
	*l = (struct lbm_listing){ 0 };
}

bool lbm_split_hostport(const char *s, char *addr, size_t addrsz, unsigned *port)
{
	const char *colon, *host_end, *port_str = NULL;
	char *end;
	unsigned long p;

	*port = 0;
	if (*s == '[') {
		host_end = strchr(s, ']');
		if (!host_end || (host_end[1] && host_end[1] != ':'))
			return false;
		if (host_end[1] == ':')
			port_str = host_end + 2;
		s++;
	} else {
		colon = strchr(s, ':');
		/* Two colons or more: a bare IPv6 address, which has no port. */
		if (colon && !strchr(colon + 1, ':')) {
			host_end = colon;
			port_str = colon + 1;
		} else {
			host_end = s + strlen(s);
		}
	}
	if (host_end == s || (size_t)(host_end - s) >= addrsz)
		return false;
	memcpy(addr, s, (size_t)(host_end - s));
	addr[host_end - s] = '\0';
	if (!port_str)
		return true;
	errno = 0;
	p = strtoul(port_str, &end, 10);
	if (errno || end == port_str || *end || p == 0 || p > 65535 || *port_str == '+' || *port_str == '-')
		return false;
	*port = (unsigned)p;
	return true;
}

/* ---- names of things -------------------------------------------------------- */

const char *lbm_strerror(int code)
{
	switch (code) {
	case LBM_OK: return "OK";
	case LBM_EINVAL: return "EINVAL";
	case LBM_ENOTFOUND: return "ENOTFOUND";
	case LBM_EPERM: return "EPERM";
	case LBM_ETIMEDOUT: return "ETIMEDOUT";
	case LBM_EGUARD: return "EGUARD";
	case LBM_EPROTO: return "EPROTO";
	case LBM_EIO: return "EIO";
	case LBM_ENOTSUP: return "ENOTSUP";
	case LBM_EHELD: return "EHELD";
	case LBM_ENOMEM: return "ENOMEM";
	case LBM_EAMBIGUOUS: return "EAMBIGUOUS";
	case LBM_ESTANDBY: return "ESTANDBY";
	case LBM_EOWNER: return "EOWNER";
	}
	return "EUNKNOWN";
}

static const char *const state_names[] = {
	[LBM_STATE_UNKNOWN] = "unknown",
	[LBM_STATE_ENABLED] = "enabled",
	[LBM_STATE_DRAINING] = "draining",
	[LBM_STATE_DISABLED] = "disabled",
};

const char *lbm_state_name(enum lbm_state state)
{
	if ((unsigned)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[state];
}

int lbm_state_parse(const char *name, enum lbm_state *out)
{
	static const struct {
		const char *name;
		enum lbm_state state;
	} words[] = {
		{ "enabled", LBM_STATE_ENABLED },   { "enable", LBM_STATE_ENABLED },
		{ "draining", LBM_STATE_DRAINING }, { "drain", LBM_STATE_DRAINING },
		{ "disabled", LBM_STATE_DISABLED }, { "disable", LBM_STATE_DISABLED },
	};

	for (size_t i = 0; name && i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcmp(name, words[i].name)) {
			*out = words[i].state;
			return 0;
		}
	}
	return LBM_EINVAL;
}

const char *lbm_health_name(enum lbm_health health)
{
	switch (health) {
	case LBM_HEALTH_UP: return "up";
	case LBM_HEALTH_DOWN: return "down";
	case LBM_HEALTH_UNKNOWN: break;
	}
	return "unknown";
}

const char *lbm_outcome_result_name(enum lbm_outcome_result result)
{
	switch (result) {
	case LBM_OUTCOME_UNCHANGED: return "unchanged";
	case LBM_OUTCOME_APPLIED: return "applied";
	case LBM_OUTCOME_NOT_APPLIED: return "not_applied";
	case LBM_OUTCOME_WOULD_APPLY: return "would_apply";
	case LBM_OUTCOME_UNDONE: return "undone";
	case LBM_OUTCOME_NOT_UNDONE: return "not_undone";
	}
	return "unknown";
}

const char *lbm_errmsg(const struct lbm *lb)
{
	return lb ? lb->errmsg : "out of memory";
}

/* ---- the handle ------------------------------------------------------------------ */

int lbm_open(struct lbm **out, const char *target, const struct lbm_options *opt)
{
	static const struct lbm_options defaults = LBM_OPTIONS_INIT;
	const char *sep;
	struct lbm *lb;

	*out = lb = calloc(1, sizeof(*lb));
	if (!lb)
		return LBM_ENOMEM;
	if (!opt)
		opt = &defaults;
	if (opt->version != LBM_OPTIONS_VERSION)
		return lbm_fail(lb, LBM_EINVAL, "options of version %u: expected %u (start from LBM_OPTIONS_INIT)",
				opt->version, LBM_OPTIONS_VERSION);
	if (!(opt->timeout_s >= 0) || isinf(opt->timeout_s))
		return lbm_fail(lb, LBM_EINVAL, "timeout must be a positive number of seconds");
	lb->timeout_s = opt->timeout_s > 0 ? opt->timeout_s : 5.0;
	if ((target && !(lb->name = strdup(target))) || (opt->state_dir && !(lb->state_dir = strdup(opt->state_dir))))
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	if (target && lbm_group_targets(target))
		return lbm_group_open(lb, target, opt);

	sep = target ? strstr(target, "://") : NULL;
	if (!sep)
		return lbm_fail(lb, LBM_EINVAL, "target %s%s%s is not a balancer URI: expected %s", target ? "'" : "",
				target ? target : "(none)", target ? "'" : "", lbm_known_schemes());
	lb->driver = lbm_driver_for(target, (size_t)(sep - target));
	if (lb->driver)
		return lb->driver->open(lb, sep + 3, opt);
	/* Only the scheme is echoed: the rest of a URI may hold credentials. */
	return lbm_fail(lb, LBM_EINVAL, "unknown balancer type '%.*s': expected %s",
			(int)(sep - target > 32 ? 32 : sep - target), target, lbm_known_schemes());
}

void lbm_close(struct lbm *lb)
{
	if (!lb)
		return;
	if (lb->driver && lb->driver->close)
		lb->driver->close(lb);
	for (size_t i = 0; i < lb->n_parts; i++)
		lbm_close(lb->parts[i]);
	free(lb->parts);
	clear_warnings(lb);
	free(lb->name);
	free(lb->state_dir);
	free(lb);
}

size_t lbm_balancers(const struct lbm *lb)
{
	return lb->n_parts ? lb->n_parts : 1;
}

const char *lbm_balancer(const struct lbm *lb, size_t i)
{
	if (lb->n_parts)
		return i < lb->n_parts ? lb->parts[i]->name : NULL;
	return i == 0 ? lb->name : NULL;
}

/* ---- listing ---------------------------------------------------------------------- */

static bool wildcard_pool(const char *pool)
{
	return !pool || !strcmp(pool, "-");
}

static int canonical_pool(struct lbm *lb, const char *typed, char *out, size_t outsz)
{
	if (!*typed)
		return lbm_fail(lb, LBM_EINVAL, "empty pool name");
	if (lb->driver->pool_name)
		return lb->driver->pool_name(lb, typed, out, outsz);
	if (!lbm_copy(out, outsz, typed))
		return lbm_fail(lb, LBM_EINVAL, "pool name is longer than %d bytes", LBM_NAME_MAX - 1);
	return 0;
}

/* The driver's listing of the pools typed (NULL: every pool), canonical and
 * each once; out is zeroed on failure. */
static int list(struct lbm *lb, const char *const *typed, size_t n, struct lbm_listing *out)
{
	char(*canon)[LBM_NAME_MAX] = NULL;
	const char **names = NULL;
	size_t k = 0;
	int ret = 0;

	*out = (struct lbm_listing){ 0 };
	if (typed) {
		canon = calloc(n + 1, sizeof(*canon));
		names = calloc(n + 1, sizeof(*names));
		if (!canon || !names) {
			ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n && ret == 0; i++) {
			size_t j;

			ret = canonical_pool(lb, typed[i], canon[k], sizeof(canon[k]));
			for (j = 0; ret == 0 && j < k && strcmp(canon[j], canon[k]); j++)
				;
			if (ret == 0 && j == k) {
				names[k] = canon[k];
				k++;
			}
		}
		if (ret < 0)
			goto out;
	}
	ret = lb->driver->list(lb, typed ? names : NULL, k, out);
	if (ret == 0 && out->n) {
		const char *balancer = lbm_str(out, lb->name);

		for (size_t i = 0; i < out->n; i++)
			out->pools[i].balancer = balancer;
		lbm_records_attach(lb, out);
	}
	if (ret == 0 && lbm_strings_failed(out->strings))
		ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
out:
	if (ret < 0)
		lbm_listing_free(out);
	free(canon);
	free(names);
	return ret;
}

int lbm_pools(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out)
{
	lb->errmsg[0] = '\0';
	if (lb->n_parts)
		return lbm_group_pools(lb, names, n, out);
	return list(lb, names, n, out);
}

static const struct lbm_pool *find_pool(const struct lbm_pool *pools, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(pools[i].name, name))
			return &pools[i];
	return NULL;
}

static bool same_address(const char *a, const char *b)
{
	unsigned char ba[16], bb[16];

	if (inet_pton(AF_INET6, a, ba) == 1 && inet_pton(AF_INET6, b, bb) == 1)
		return !memcmp(ba, bb, 16);
	return !strcmp(a, b);
}

/* Where the last name was found. Names given and listings mostly come in
 * the balancer's order, so the next one is usually just after: a bulk change
 * of n members then compares O(n) names, not O(n^2). */
struct cursor {
	const struct lbm_pool *pool;
	size_t next;
};

static const struct lbm_member *member_named(const struct lbm_pool *pool, const char *name, struct cursor *c)
{
	if (c->pool != pool) {
		c->pool = pool;
		c->next = 0;
	}
	for (size_t k = 0; k < pool->n_members; k++) {
		size_t i = (c->next + k) % pool->n_members;

		if (!strcmp(pool->members[i].name, name)) {
			c->next = i + 1;
			return &pool->members[i];
		}
	}
	return NULL;
}

/* A member is named by its name, by another spelling its driver knows (F5:
 * without the partition), or by "ADDR[:PORT]": the port may be left out
 * when only one member of the pool has that address. */
static int find_member(struct lbm *lb, const struct lbm_pool *pool, const char *typed, struct cursor *c,
		       const struct lbm_member **out)
{
	char addr[LBM_ADDRESS_MAX];
	unsigned port;
	size_t matches = 0;

	*out = member_named(pool, typed, c);
	if (*out)
		return 0;
	for (size_t i = 0; lb->driver->names_member && i < pool->n_members; i++) {
		if (lb->driver->names_member(&pool->members[i], typed)) {
			if (matches++)
				return lbm_fail(lb, LBM_EAMBIGUOUS,
						"member '%s' is ambiguous in pool '%s' (%s, %s): give the name", typed,
						pool->name, (*out)->name, pool->members[i].name);
			*out = &pool->members[i];
		}
	}
	if (matches)
		return 0;
	if (!lbm_split_hostport(typed, addr, sizeof(addr), &port))
		return LBM_ENOTFOUND;
	for (size_t i = 0; i < pool->n_members; i++) {
		const struct lbm_member *m = &pool->members[i];

		if (same_address(m->address, addr) && (!port || port == m->port)) {
			if (matches++)
				return lbm_fail(lb, LBM_EAMBIGUOUS,
						"member '%s' is ambiguous in pool '%s' (%s, %s): "
						"give the port or the name",
						typed, pool->name, (*out)->name, m->name);
			*out = m;
		}
	}
	return matches ? 0 : LBM_ENOTFOUND;
}

/* Copies of listed strings into a result's or another listing's own,
 * keeping the one already there when it reads the same: a wait that
 * re-reads a pool every second stores nothing new for what did not change. */
static const char *keep(struct lbm_strings **s, const char *old, const char *text)
{
	const char *copy;

	if (!text)
		return NULL;
	if (old && !strcmp(old, text))
		return old;
	copy = lbm_strings_add(s, text, strlen(text));
	return copy ? copy : "";
}

static void keep_member(struct lbm_strings **s, struct lbm_member *dst, const struct lbm_member *src)
{
	struct lbm_member old = *dst;

	*dst = *src;
	dst->name = keep(s, old.name, src->name);
	dst->status = keep(s, old.status, src->status);
	dst->held = keep(s, old.held, src->held);
	dst->follows = keep(s, old.follows, src->follows);
	dst->reason = keep(s, old.reason, src->reason);
	dst->by = keep(s, old.by, src->by);
}

/* Pool from (another listing's) into dst, with n of its members, strings
 * and all. LBM_ENOMEM when memory runs out. */
static int copy_pool(struct lbm_listing *dst, const struct lbm_pool *from, const struct lbm_member *members, size_t n)
{
	struct lbm_pool *to = lbm_pool_add(dst, from->name);

	if (!to || (n && !(to->members = calloc(n, sizeof(*to->members)))))
		return LBM_ENOMEM;
	to->balancer = lbm_str(dst, from->balancer);
	to->detail = lbm_str(dst, from->detail);
	for (size_t i = 0; i < n; i++)
		keep_member(&dst->strings, &to->members[i], &members[i]);
	to->n_members = n;
	return lbm_strings_failed(dst->strings) ? LBM_ENOMEM : 0;
}

int lbm_member_get(struct lbm *lb, const char *pool, const char *member, struct lbm_listing *out)
{
	struct lbm_listing all;
	const struct lbm_member *m, *found = NULL;
	const struct lbm_pool *found_pool = NULL;
	struct cursor c = { 0 };
	int ret;

	*out = (struct lbm_listing){ 0 };
	lb->errmsg[0] = '\0';
	if (!member || !*member)
		return lbm_fail(lb, LBM_EINVAL, "no member given");
	if (lb->n_parts)
		return lbm_group_member_get(lb, pool, member, out);
	ret = list(lb, wildcard_pool(pool) ? NULL : &pool, 1, &all);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < all.n; i++) {
		ret = find_member(lb, &all.pools[i], member, &c, &m);
		if (ret == LBM_ENOTFOUND)
			continue;
		if (ret < 0)
			goto out;
		if (found) {
			ret = lbm_fail(lb, LBM_EAMBIGUOUS, "member '%s' is in several pools (%s, %s): name the pool",
				       member, found_pool->name, all.pools[i].name);
			goto out;
		}
		found = m;
		found_pool = &all.pools[i];
	}
	if (!found) {
		ret = wildcard_pool(pool)
			      ? lbm_fail(lb, LBM_ENOTFOUND, "no pool has a member '%s'", member)
			      : lbm_fail(lb, LBM_ENOTFOUND, "pool '%s' has no member '%s'", all.pools[0].name, member);
		goto out;
	}
	if (all.records_error)
		out->records_error = lbm_str(out, all.records_error);
	ret = copy_pool(out, found_pool, found, 1) < 0 ? lbm_fail(lb, LBM_ENOMEM, "out of memory") : 0;
out:
	if (ret < 0)
		lbm_listing_free(out);
	lbm_listing_free(&all);
	return ret;
}

void lbm_result_free(struct lbm_result *res)
{
	if (!res)
		return;
	free(res->outcomes);
	free(res->warnings);
	lbm_strings_free(res->strings);
	*res = (struct lbm_result){ 0 };
}

int lbm_result_append(struct lbm_result *dst, const struct lbm_result *src, const char *prefix)
{
	struct lbm_outcome *outcomes = realloc(dst->outcomes, (dst->n + src->n + 1) * sizeof(*outcomes));
	const char **warnings =
		outcomes ? realloc(dst->warnings, (dst->n_warnings + src->n_warnings + 1) * sizeof(*warnings)) : NULL;

	if (outcomes)
		dst->outcomes = outcomes;
	if (!warnings)
		return LBM_ENOMEM;
	dst->warnings = warnings;
	for (size_t i = 0; i < src->n; i++) {
		struct lbm_outcome *o = &dst->outcomes[dst->n++];

		*o = (struct lbm_outcome){ .changed = src->outcomes[i].changed,
					   .result = src->outcomes[i].result,
					   .waiting = src->outcomes[i].waiting };
		o->balancer = keep(&dst->strings, NULL, src->outcomes[i].balancer);
		o->pool = keep(&dst->strings, NULL, src->outcomes[i].pool);
		keep_member(&dst->strings, &o->before, &src->outcomes[i].before);
		keep_member(&dst->strings, &o->after, &src->outcomes[i].after);
		dst->changed |= o->changed;
	}
	for (size_t i = 0; i < src->n_warnings; i++) {
		size_t len = strlen(prefix) + strlen(src->warnings[i]) + 1;
		char *text = malloc(len);
		const char *w;

		if (!text)
			return LBM_ENOMEM;
		snprintf(text, len, "%s%s", prefix, src->warnings[i]);
		w = lbm_strings_add(&dst->strings, text, strlen(text));
		free(text);
		if (w)
			dst->warnings[dst->n_warnings++] = w;
	}
	return lbm_strings_failed(dst->strings) ? LBM_ENOMEM : 0;
}

int lbm_listing_append(struct lbm_listing *dst, const struct lbm_listing *src)
{
	for (size_t p = 0; p < src->n; p++)
		if (copy_pool(dst, &src->pools[p], src->pools[p].members, src->pools[p].n_members) < 0)
			return LBM_ENOMEM;
	if (src->records_error && !dst->records_error)
		dst->records_error = lbm_str(dst, src->records_error);
	return lbm_strings_failed(dst->strings) ? LBM_ENOMEM : 0;
}

/* ---- the plan ------------------------------------------------------------------------ */

struct plan {
	struct lbm_item *items;
	size_t n;
	struct cursor cursor;
	const struct lbm_pool *pools; /* the listing it is made from */
	size_t npools;
	size_t **item_of; /* per pool, per member: 1 + the index of its item, or 0 */
};

static int plan_add(struct lbm *lb, struct plan *plan, const struct lbm_pool *pool, const struct lbm_member *m,
		    const struct lbm_change *how)
{
	size_t **item_of = &plan->item_of[pool - plan->pools];
	struct lbm_item *grown;

	if (!*item_of && !(*item_of = calloc(pool->n_members, sizeof(**item_of))))
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	if ((*item_of)[m - pool->members])
		return 0; /* named twice */
	grown = grow(plan->items, plan->n, sizeof(*grown));
	if (!grown)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	plan->items = grown;
	plan->items[plan->n++] = (struct lbm_item){
		.pool = pool->name,
		.member = m,
		.state = how->state,
		.weight = (how->flags & LBM_CHANGE_HAS_WEIGHT) ? (int)how->weight : -1,
	};
	(*item_of)[m - pool->members] = plan->n;
	return 0;
}

static int plan_ref(struct lbm *lb, struct plan *plan, const struct lbm_ref *ref, const struct lbm_change *how)
{
	const struct lbm_pool *pools = plan->pools;
	char canon[LBM_NAME_MAX];
	const struct lbm_member *m;
	const struct lbm_pool *pool;
	size_t found = 0;
	int ret;

	if (!ref->member || !*ref->member)
		return lbm_fail(lb, LBM_EINVAL, "no member given");
	if (wildcard_pool(ref->pool)) {
		for (size_t i = 0; i < plan->npools; i++) {
			ret = find_member(lb, &pools[i], ref->member, &plan->cursor, &m);
			if (ret == LBM_ENOTFOUND)
				continue;
			if (ret < 0 || (ret = plan_add(lb, plan, &pools[i], m, how)) < 0)
				return ret;
			found++;
		}
		if (!found)
			return lbm_fail(lb, LBM_ENOTFOUND, "no pool has a member '%s'", ref->member);
		return 0;
	}
	ret = canonical_pool(lb, ref->pool, canon, sizeof(canon));
	if (ret < 0)
		return ret;
	pool = find_pool(pools, plan->npools, canon);
	if (!pool)
		return lbm_fail(lb, LBM_ENOTFOUND, "no pool '%s'", canon);
	ret = find_member(lb, pool, ref->member, &plan->cursor, &m);
	if (ret == LBM_ENOTFOUND)
		return lbm_fail(lb, ret, "pool '%s' has no member '%s'", pool->name, ref->member);
	if (ret < 0)
		return ret;
	return plan_add(lb, plan, pool, m, how);
}

static bool needs_change(const struct lbm_item *item)
{
	return item->member->state != item->state || (item->weight >= 0 && item->weight != item->member->weight);
}

/* Takes new connections. */
static bool in_rotation(enum lbm_state state, int weight, enum lbm_health health)
{
	return state == LBM_STATE_ENABLED && weight != 0 && health != LBM_HEALTH_DOWN;
}

/* A template takes no connection itself: its ephemeral members do, and
 * they are counted. */
int lbm_member_in_rotation(const struct lbm_member *m)
{
	return !(m->flags & LBM_MEMBER_TEMPLATE) && in_rotation(m->state, m->weight, m->health);
}

static int planned_weight(const struct lbm_item *item)
{
	return item->weight >= 0 ? item->weight : item->member->weight;
}

/* The pool as the guard sees it after the plan, member by member. */
enum {
	JUDGE_OPEN,
	JUDGE_BUSY,
	JUDGE_IN,
	JUDGE_OUT
};

struct judge {
	const struct plan *plan;
	size_t *first;		/* per pool: where its members start in verdict[] */
	unsigned char *verdict; /* per member: JUDGE_* */
	struct cursor cursor;
};

static const struct lbm_item *item_for(const struct plan *plan, size_t p, size_t i)
{
	const size_t *item_of = plan->item_of[p];

	return item_of && item_of[i] ? &plan->items[item_of[i] - 1] : NULL;
}

/* Whether follows, "POOL/MEMBER", names pool/member. */
static bool names(const char *follows, const char *pool, const char *member)
{
	size_t len = strlen(pool);

	return !strncmp(follows, pool, len) && follows[len] == '/' && !strcmp(follows + len + 1, member);
}

/* The listed member whose state m inherits. */
static bool find_leader(struct judge *j, const struct lbm_member *m, size_t *p, size_t *i)
{
	for (size_t k = 0; k < j->plan->npools; k++) {
		const struct lbm_pool *pool = &j->plan->pools[k];
		size_t len = strlen(pool->name);
		const struct lbm_member *leader;

		if (strncmp(m->follows, pool->name, len) || m->follows[len] != '/')
			continue;
		leader = member_named(pool, m->follows + len + 1, &j->cursor);
		if (leader) {
			*p = k;
			*i = (size_t)(leader - pool->members);
			return true;
		}
	}
	return false;
}

/* Whether member i of pool p takes new connections once the plan is
 * applied: by its own planned (or present) state, then by its leader's. */
static bool stays_in(struct judge *j, size_t p, size_t i)
{
	const struct lbm_member *m = &j->plan->pools[p].members[i];
	const struct lbm_item *item = item_for(j->plan, p, i);
	unsigned char *verdict = &j->verdict[j->first[p] + i];
	size_t lp, li;
	bool in;

	if (*verdict == JUDGE_IN || *verdict == JUDGE_OUT)
		return *verdict == JUDGE_IN;
	if (*verdict == JUDGE_BUSY) /* a loop of followers, which HAProxy refuses: judge by itself */
		return lbm_member_in_rotation(m);
	*verdict = JUDGE_BUSY;
	if (item && needs_change(item))
		in = !(m->flags & LBM_MEMBER_TEMPLATE) && in_rotation(item->state, planned_weight(item), m->health);
	else
		in = lbm_member_in_rotation(m);
	if (in && m->follows && find_leader(j, m, &lp, &li))
		in = stays_in(j, lp, li);
	*verdict = in ? JUDGE_IN : JUDGE_OUT;
	return in;
}

/* The planned change that takes member i of pool p out: its own, or its
 * leader's. */
static const struct lbm_item *cause(struct judge *j, size_t p, size_t i, unsigned depth)
{
	const struct lbm_member *m = &j->plan->pools[p].members[i];
	const struct lbm_item *item = item_for(j->plan, p, i);
	size_t lp, li;

	if (item && needs_change(item) && !in_rotation(item->state, planned_weight(item), m->health))
		return item;
	if (depth < 64 && m->follows && find_leader(j, m, &lp, &li))
		return cause(j, lp, li, depth + 1);
	return NULL;
}

/* What no balancer would keep (a member it makes and replaces itself) and
 * what this one cannot do, refused before anything is touched. */
static int check_plan(struct lbm *lb, const struct plan *plan)
{
	bool any = false;

	for (size_t i = 0; i < plan->n; i++) {
		const struct lbm_item *item = &plan->items[i];
		int ret;

		if (!needs_change(item))
			continue;
		any = true;
		if (item->member->flags & LBM_MEMBER_EPHEMERAL)
			return lbm_fail(lb, LBM_EINVAL,
					"refusing to change '%s' in pool '%s': the balancer makes and "
					"replaces it from %s (an ephemeral member): change that one instead",
					item->member->name, item->pool,
					item->member->follows ? item->member->follows : "a template");
		if (item->weight > LBM_WEIGHT_MAX)
			return lbm_fail(lb, LBM_EINVAL, "weight %d is out of range: expected 0 to %d", item->weight,
					LBM_WEIGHT_MAX);
		if (lb->driver->check && (ret = lb->driver->check(lb, item)) < 0)
			return ret;
	}
	return any && lb->driver->before_change ? lb->driver->before_change(lb) : 0;
}

/* Refuse, before touching anything, a change that takes a member out of
 * rotation when its pool would keep fewer than min_enabled members in
 * rotation. Each pool is judged as it will be, followers of a changed
 * member included; a change that takes no member out (enabling) is never
 * refused, whatever the pool looks like during an outage. */
static int guard(struct lbm *lb, const struct plan *plan, unsigned min_enabled)
{
	struct judge j = { .plan = plan };
	size_t total = 0;
	int ret = 0;

	j.first = calloc(plan->npools + 1, sizeof(*j.first));
	for (size_t p = 0; j.first && p < plan->npools; p++) {
		j.first[p] = total;
		total += plan->pools[p].n_members;
	}
	j.verdict = calloc(total + 1, 1);
	if (!j.first || !j.verdict) {
		ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t p = 0; p < plan->npools && !ret; p++) {
		const struct lbm_pool *pool = &plan->pools[p];
		const struct lbm_member *out_m = NULL;
		size_t out_i = 0;
		long staying = 0;

		for (size_t i = 0; i < pool->n_members; i++) {
			bool in = stays_in(&j, p, i);

			staying += in;
			if (!in && lbm_member_in_rotation(&pool->members[i]) && !out_m) {
				out_m = &pool->members[i];
				out_i = i;
			}
		}
		if (out_m && staying < (long)min_enabled) {
			const struct lbm_item *why = cause(&j, p, out_i, 0);
			char follower[2 * LBM_NAME_MAX + 16] = "";

			if (why && why->member != out_m)
				snprintf(follower, sizeof(follower), " ('%s' follows %s)", out_m->name, out_m->follows);
			ret = lbm_fail(lb, LBM_EGUARD,
				       "refusing to make '%s' %s: pool '%s' would keep %ld enabled member%s, "
				       "fewer than min_enabled %u%s",
				       why ? why->member->name : out_m->name,
				       lbm_state_name(why ? why->state : out_m->state), pool->name, staying,
				       staying == 1 ? "" : "s", min_enabled, follower);
		}
	}
out:
	free(j.first);
	free(j.verdict);
	return ret;
}

/* ---- what happened -------------------------------------------------------------- */

static void predict(const struct lbm *lb, const struct lbm_item *item, struct lbm_member *after)
{
	*after = *item->member;
	if (!needs_change(item))
		return;
	after->state = item->state;
	if (item->weight >= 0)
		after->weight = item->weight;
	if (lb->driver->predict)
		lb->driver->predict(item, after);
}

/* What a dry run says of the record: enabling clears it; a reason given
 * replaces the one there (who and since are known only once it is made). */
static void predict_record(struct lbm_strings **s, const struct lbm_change *how, struct lbm_member *after)
{
	if (how->state == LBM_STATE_ENABLED) {
		after->reason = after->by = NULL;
		after->since = 0;
	} else if (how->reason && after->state != LBM_STATE_UNKNOWN) {
		after->reason = keep(s, after->reason, how->reason);
	}
}

static bool member_changed(const struct lbm_member *before, const struct lbm_member *after)
{
	return before->state != after->state || before->weight != after->weight;
}

/* A member that should have left rotation with the one it follows, but
 * still takes new connections. */
struct lag {
	const struct lbm_outcome *leader; /* NULL: none found */
	char follower[LBM_NAME_MAX];
};

static bool taken_out(const struct lbm_outcome *o)
{
	return o->before.state == LBM_STATE_ENABLED && o->after.state != LBM_STATE_ENABLED &&
	       o->after.state != LBM_STATE_UNKNOWN;
}

/* Followers in the listing that stayed in rotation although the member they
 * follow was taken out: on HAProxy never; on F5 it tells whether BIG-IP
 * passed a change of an FQDN member on to its ephemeral members, which F5
 * does not document. */
static void find_lag(const struct lbm_result *res, const struct lbm_listing *l, struct lag *lag)
{
	for (size_t p = 0; p < l->n && !lag->leader; p++) {
		for (size_t i = 0; i < l->pools[p].n_members && !lag->leader; i++) {
			const struct lbm_member *m = &l->pools[p].members[i];

			if (!m->follows || !lbm_member_in_rotation(m))
				continue;
			for (size_t k = 0; k < res->n; k++) {
				if (taken_out(&res->outcomes[k]) &&
				    names(m->follows, res->outcomes[k].pool, res->outcomes[k].before.name)) {
					lag->leader = &res->outcomes[k];
					lbm_copy(lag->follower, sizeof(lag->follower), m->name);
					break;
				}
			}
		}
	}
}

/* Refresh each outcome's "after" from a fresh listing of the balancer, or of
 * only the pool they all are in (canonical, or NULL for every pool); lag,
 * when given, says which follower stayed behind. */
static int read_back(struct lbm *lb, struct lbm_result *res, const char *pool_name, struct lag *lag)
{
	struct lbm_listing l = { 0 };
	const struct lbm_pool *pool;
	const struct lbm_member *m;
	struct cursor c = { 0 };
	int ret;

	ret = lb->driver->list(lb, pool_name ? &pool_name : NULL, pool_name ? 1 : 0, &l);
	if (ret == 0 && lbm_strings_failed(l.strings))
		ret = lbm_fail(lb, LBM_ENOMEM, "out of memory");
	if (ret < 0) {
		lbm_listing_free(&l);
		return ret;
	}
	res->changed = 0;
	for (size_t i = 0; i < res->n; i++) {
		struct lbm_outcome *o = &res->outcomes[i];

		pool = c.pool && !strcmp(c.pool->name, o->pool) ? c.pool : find_pool(l.pools, l.n, o->pool);
		m = pool ? member_named(pool, o->before.name, &c) : NULL;
		if (m) {
			struct lbm_member was = o->after;

			keep_member(&res->strings, &o->after, m);
			/* The driver's listing carries no records: the change's own
			 * stays while the state it records does. */
			if (!o->after.since && was.since && was.state == o->after.state) {
				o->after.reason = was.reason;
				o->after.by = was.by;
				o->after.since = was.since;
			}
		} else {
			o->after = o->before;
			o->after.state = LBM_STATE_UNKNOWN;
		}
		o->changed = member_changed(&o->before, &o->after);
		res->changed |= o->changed;
	}
	if (lag)
		find_lag(res, &l, lag);
	lbm_listing_free(&l);
	return lbm_strings_failed(res->strings) ? lbm_fail(lb, LBM_ENOMEM, "out of memory") : 0;
}

/* Each outcome's result, from what the driver saw done. An item not seen
 * done whose read-back shows it as asked was taken by the balancer, its
 * answer lost; without a read-back (read_ok false: the balancer went
 * away), only what the driver saw done is claimed, the rest stays as it
 * was. */
static void set_results(struct lbm_result *res, const struct plan *plan, const struct lbm_item *todo, bool read_ok)
{
	size_t t = 0;

	res->changed = 0;
	for (size_t i = 0; i < res->n; i++) {
		struct lbm_outcome *o = &res->outcomes[i];
		const struct lbm_item *item = &plan->items[i];
		bool reached = o->after.state == item->state && (item->weight < 0 || o->after.weight == item->weight);

		if (!needs_change(item)) {
			o->result = LBM_OUTCOME_UNCHANGED;
		} else if (todo[t++].done || (read_ok && reached && o->changed)) {
			o->result = LBM_OUTCOME_APPLIED;
		} else {
			o->result = LBM_OUTCOME_NOT_APPLIED;
			if (!read_ok) {
				o->after = o->before;
				o->changed = 0;
			}
		}
		res->changed |= o->changed;
	}
}

static int check_reached(struct lbm *lb, const struct lbm_result *res, const struct plan *plan)
{
	for (size_t i = 0; i < res->n; i++) {
		const struct lbm_member *after = &res->outcomes[i].after;
		const struct lbm_item *item = &plan->items[i];

		if (after->state == item->state)
			continue;
		if (after->held)
			return lbm_fail(lb, LBM_EHELD, "%s/%s: asked for %s, but it stays %s: %s", item->pool,
					after->name, lbm_state_name(item->state), lbm_state_name(after->state),
					after->held);
		return lbm_fail(lb, LBM_EPROTO, "%s/%s: asked for %s, but the balancer now reports %s (%s)", item->pool,
				after->name, lbm_state_name(item->state), lbm_state_name(after->state), after->status);
	}
	return 0;
}

/* 1 when o's member has settled, 0 when not yet (why says what is
 * awaited), or LBM_ENOTSUP when its connections cannot be counted:
 * "not reported" is never taken for 0. */
static int settled(struct lbm *lb, const struct lbm_outcome *o, char *why, size_t whysz)
{
	const struct lbm_member *m = &o->after;

	if (m->state == LBM_STATE_ENABLED) {
		snprintf(why, whysz, "health is still down");
		return m->health != LBM_HEALTH_DOWN;
	}
	if (m->active < 0)
		return lbm_driver_fail(lb, LBM_ENOTSUP,
				       "%s/%s reports no connection count: cannot wait for its connections to finish",
				       o->pool, m->name);
	snprintf(why, whysz, "%ld active connection%s left", m->active, m->active == 1 ? "" : "s");
	return m->active == 0;
}

/* Mark what is still awaited: the first outcome not settled (why says
 * what it waits for), or res->n, or a negative code. */
static long mark_waiting(struct lbm *lb, struct lbm_result *res, size_t *waiting, char *why, size_t whysz)
{
	long first = (long)res->n;

	*waiting = 0;
	for (size_t i = 0; i < res->n; i++) {
		char reason[64];
		int ret = settled(lb, &res->outcomes[i], reason, sizeof(reason));

		if (ret < 0)
			return ret;
		res->outcomes[i].waiting = !ret;
		if (ret)
			continue;
		if (!(*waiting)++) {
			first = (long)i;
			lbm_copy(why, whysz, reason);
		}
	}
	return first;
}

static void tell(const struct lbm_change *how, const struct lbm_result *res, size_t waiting, double waited, double left)
{
	const struct lbm_progress p = { .result = res, .waiting = waiting, .waited_s = waited, .left_s = left };

	if (how->progress)
		how->progress(&p, how->progress_arg);
}

/* force_after_s has come: cut what the members still waited for hold. */
static int cut_waiting(struct lbm *lb, struct lbm_result *res)
{
	for (size_t i = 0; i < res->n; i++) {
		struct lbm_outcome *o = &res->outcomes[i];
		int ret;

		if (!o->waiting || o->after.state == LBM_STATE_ENABLED || o->after.active <= 0)
			continue;
		ret = lb->driver->cut(lb, o->pool, &o->after);
		if (ret < 0)
			return ret;
		o->cut = o->after.active;
	}
	return 0;
}

/* Poll with backoff, at least once a second, until every member has settled
 * or the deadline passes, telling the progress callback each time; at
 * force_after_s, cut what is left once. */
static int wait_settled(struct lbm *lb, struct lbm_result *res, const char *pool_name, const struct lbm_change *how)
{
	double start = lbm_now(), deadline = start + how->wait_s, delay = 0.1, left, nap;
	double force_at = how->force_after_s > 0 ? start + how->force_after_s : INFINITY;
	size_t waiting;
	char why[64];
	long first;
	int ret;

	for (;;) {
		first = mark_waiting(lb, res, &waiting, why, sizeof(why));
		if (first < 0)
			return (int)first;
		if (waiting && lbm_now() >= force_at) {
			force_at = INFINITY;
			if ((ret = cut_waiting(lb, res)) < 0)
				return ret;
		}
		left = deadline - lbm_now();
		tell(how, res, waiting, lbm_now() - start, left > 0 ? left : 0);
		if (!waiting)
			return 0;
		if (left <= 0)
			return lbm_fail(lb, LBM_ETIMEDOUT, "%s/%s: still not settled after waiting %g s: %s",
					res->outcomes[first].pool, res->outcomes[first].after.name, how->wait_s, why);
		nap = delay < left ? delay : left;
		if (force_at - lbm_now() < nap)
			nap = force_at - lbm_now() > 0 ? force_at - lbm_now() : 0;
		lbm_sleep(nap);
		delay = delay * 2 < 1.0 ? delay * 2 : 1.0;
		ret = read_back(lb, res, pool_name, NULL);
		if (ret < 0)
			return ret;
	}
}

/* The pool every ref names, or NULL when one is "-" or they differ. Listing
 * only that pool keeps a change as cheap beside 10,000 pools or IPVS
 * destinations as beside 10, and spares a BIG-IP a statistics request per
 * pool it has. */
static const char *one_pool(const struct lbm_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (wildcard_pool(refs[i].pool) || strcmp(refs[i].pool, refs[0].pool))
			return NULL;
	return refs[0].pool;
}

/* The same, once planned: "-" may have found members in one pool only.
 * Items point into the listing: the same pool is the same name. */
static const char *planned_pool(const struct plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->items[i].pool != plan->items[0].pool)
			return NULL;
	return plan->n ? plan->items[0].pool : NULL;
}

/* Whether the change can take a member out of rotation. */
static bool takes_out(const struct lbm_change *how)
{
	return how->state != LBM_STATE_ENABLED || ((how->flags & LBM_CHANGE_HAS_WEIGHT) && !how->weight);
}

/* List what the plan needs: the one pool named, unless the guard must see
 * members of other pools that follow the ones taken out. Then a pool
 * missing from the listing of every pool gets the driver's own words. */
static int list_for_plan(struct lbm *lb, const struct lbm_ref *refs, size_t n, const struct lbm_change *how,
			 unsigned min_enabled, struct lbm_listing *out)
{
	const char *pool = one_pool(refs, n);
	char canon[LBM_NAME_MAX];
	struct lbm_listing named;
	int ret;

	if (!pool || !lb->follows_across_pools || !min_enabled || !takes_out(how))
		return list(lb, pool ? &pool : NULL, 1, out);
	ret = canonical_pool(lb, pool, canon, sizeof(canon));
	if (ret == 0)
		ret = list(lb, NULL, 0, out);
	if (ret == 0 && !find_pool(out->pools, out->n, canon)) {
		ret = list(lb, &pool, 1, &named);
		lbm_listing_free(&named);
		if (ret == 0)
			ret = lbm_fail(lb, LBM_ENOTFOUND, "no pool '%s'", canon);
		lbm_listing_free(out);
	}
	return ret;
}

static int check_change(struct lbm *lb, const struct lbm_change *how, size_t n)
{
	if (how->version != LBM_CHANGE_VERSION)
		return lbm_fail(lb, LBM_EINVAL, "change of version %u: expected %u (start from LBM_CHANGE_INIT)",
				how->version, LBM_CHANGE_VERSION);
	if (how->state != LBM_STATE_ENABLED && how->state != LBM_STATE_DRAINING && how->state != LBM_STATE_DISABLED)
		return lbm_fail(lb, LBM_EINVAL, "state must be enabled, draining or disabled");
	if ((how->flags & LBM_CHANGE_HAS_WEIGHT) && how->state != LBM_STATE_ENABLED)
		return lbm_fail(lb, LBM_EINVAL, "a weight goes only with enabled: a %s member takes no new connections",
				lbm_state_name(how->state));
	if ((how->flags & LBM_CHANGE_HAS_WEIGHT) && how->weight > LBM_WEIGHT_MAX)
		return lbm_fail(lb, LBM_EINVAL, "weight %u is out of range: expected 0 to %d", how->weight,
				LBM_WEIGHT_MAX);
	if (!(how->wait_s >= 0) || isinf(how->wait_s))
		return lbm_fail(lb, LBM_EINVAL, "wait must be a positive number of seconds");
	if (!(how->force_after_s >= 0) || isinf(how->force_after_s))
		return lbm_fail(lb, LBM_EINVAL, "force_after must be a positive number of seconds");
	if (how->force_after_s > 0 && how->state == LBM_STATE_ENABLED)
		return lbm_fail(lb, LBM_EINVAL, "force_after goes with draining or disabling: it cuts connections");
	if (how->force_after_s > 0 && !(how->force_after_s < how->wait_s))
		return lbm_fail(lb, LBM_EINVAL,
				"force_after %g s must be less than the wait (%g s): connections are cut during the "
				"wait",
				how->force_after_s, how->wait_s);
	if (how->reason && strlen(how->reason) >= LBM_REASON_MAX)
		return lbm_fail(lb, LBM_EINVAL, "the reason is %zu bytes long: expected at most %d",
				strlen(how->reason), LBM_REASON_MAX - 1);
	for (const char *r = how->reason; r && *r; r++)
		if ((unsigned char)*r < ' ' || *r == 0x7f)
			return lbm_fail(lb, LBM_EINVAL,
					"the reason must be one line of text: it holds a control character");
	if (!n)
		return lbm_fail(lb, LBM_EINVAL, "no member given");
	return 0;
}

/* The handle's warnings, into the result, which owns them. */
static void give_warnings(struct lbm *lb, struct lbm_result *res)
{
	if (!lb->n_warnings || !(res->warnings = calloc(lb->n_warnings, sizeof(*res->warnings))))
		return;
	for (size_t i = 0; i < lb->n_warnings; i++) {
		const char *w = lbm_strings_add(&res->strings, lb->warnings[i], strlen(lb->warnings[i]));

		if (w)
			res->warnings[res->n_warnings++] = w;
	}
}

/* A change on one handle, in the steps a group takes on each of its
 * balancers in turn: planned on all before any is touched. */
struct change {
	struct lbm_change how;
	struct plan plan;
	struct lag lag;
	struct lbm_listing listing;
	struct lbm_item *todo;
	size_t ntodo;
	const char *pool_name;
	struct lbm_result res;
};

int lbm_change_plan(struct lbm *lb, const struct lbm_ref *refs, size_t n, const struct lbm_change *how,
		    struct change **out)
{
	struct change *c = calloc(1, sizeof(*c));
	struct lbm_result *res;
	unsigned min_enabled;
	int ret;

	*out = c;
	lb->errmsg[0] = '\0';
	clear_warnings(lb);
	if (!c)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	c->how = *how;
	res = &c->res;
	ret = check_change(lb, how, n);
	if (ret == 0 && how->force_after_s > 0 && !lb->driver->cut)
		ret = lbm_driver_fail(lb, LBM_ENOTSUP, "cannot force: %s",
				      lb->driver->cannot_cut ? lb->driver->cannot_cut : "it cannot cut connections");
	if (ret == 0 && how->reason && how->state != LBM_STATE_ENABLED && !(how->flags & LBM_CHANGE_DRY_RUN))
		ret = lbm_records_check(lb);
	if (ret == 0 && how->reason && how->state == LBM_STATE_ENABLED)
		lbm_warn(lb, "a reason is kept only while a member is out of rotation: enabling clears the record");
	if (ret < 0)
		return ret;
	min_enabled = (how->flags & LBM_CHANGE_HAS_MIN_ENABLED) ? how->min_enabled : 1;
	ret = list_for_plan(lb, refs, n, how, min_enabled, &c->listing);
	if (ret < 0)
		return ret;
	c->plan.pools = c->listing.pools;
	c->plan.npools = c->listing.n;
	c->plan.item_of = calloc(c->listing.n + 1, sizeof(*c->plan.item_of)); /* + 1: no pool is no failure */
	if (!c->plan.item_of)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = plan_ref(lb, &c->plan, &refs[i], how);
	if (ret == 0)
		ret = check_plan(lb, &c->plan);
	if (ret == 0)
		ret = guard(lb, &c->plan, min_enabled);
	if (ret < 0)
		return ret;
	c->pool_name = planned_pool(&c->plan);

	res->outcomes = calloc(c->plan.n, sizeof(*res->outcomes));
	c->todo = calloc(c->plan.n, sizeof(*c->todo));
	if (!res->outcomes || !c->todo)
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	res->n = c->plan.n;
	for (size_t i = 0; i < c->plan.n; i++) {
		struct lbm_outcome *o = &res->outcomes[i];
		bool change = needs_change(&c->plan.items[i]);
		struct lbm_member predicted;

		o->balancer = keep(&res->strings, i ? res->outcomes[i - 1].balancer : NULL, lb->name);
		o->pool = keep(&res->strings, i ? res->outcomes[i - 1].pool : NULL, c->plan.items[i].pool);
		keep_member(&res->strings, &o->before, c->plan.items[i].member);
		predict(lb, &c->plan.items[i], &predicted);
		o->after = o->before;
		keep_member(&res->strings, &o->after, &predicted);
		if (change)
			predict_record(&res->strings, how, &o->after);
		o->changed = member_changed(&o->before, &o->after);
		o->result = change ? LBM_OUTCOME_WOULD_APPLY : LBM_OUTCOME_UNCHANGED;
		res->changed |= o->changed;
		if (change)
			c->todo[c->ntodo++] = c->plan.items[i];
	}
	return lbm_strings_failed(res->strings) ? lbm_fail(lb, LBM_ENOMEM, "out of memory") : 0;
}

int lbm_change_apply(struct lbm *lb, struct change *c)
{
	struct lbm_result *res = &c->res;
	int ret = 0;

	if (c->ntodo)
		ret = lb->driver->apply(lb, c->todo, c->ntodo);
	if (ret == 0 && lb->driver->after_change)
		lb->driver->after_change(lb);
	if (c->ntodo || c->how.wait_s > 0) {
		/* Read back even after a failed apply: the result must say what was done. */
		char errmsg[LBM_ERRMSG_MAX];
		int read_ret;

		memcpy(errmsg, lb->errmsg, sizeof(errmsg));
		read_ret = read_back(lb, res, c->pool_name, &c->lag);
		set_results(res, &c->plan, c->todo, read_ret == 0);
		if (ret < 0)
			memcpy(lb->errmsg, errmsg, sizeof(errmsg));
		else
			ret = read_ret;
	}
	/* Also after a failed apply: what was done is recorded. */
	lbm_records_update(lb, &c->how, res);
	if (ret == 0)
		ret = check_reached(lb, res, &c->plan);
	if (ret == 0 && c->lag.leader)
		ret = lbm_fail(lb, LBM_EPROTO, "%s/%s is %s, but '%s', which follows it, still takes new connections",
			       c->lag.leader->pool, c->lag.leader->after.name,
			       lbm_state_name(c->lag.leader->after.state), c->lag.follower);
	return ret;
}

int lbm_change_wait(struct lbm *lb, struct change *c, double wait_s, double force_after_s)
{
	c->how.wait_s = wait_s;
	c->how.force_after_s = force_after_s;
	if (wait_s > 0)
		return wait_settled(lb, &c->res, c->pool_name, &c->how);
	tell(&c->how, &c->res, 0, 0, 0);
	return 0;
}

/* How to put o back as it was: its state, and its weight when the change
 * moved it (LVS restores the recorded weight itself). */
static struct lbm_change undo_how(const struct lbm_outcome *o)
{
	struct lbm_change how = LBM_CHANGE_INIT;

	how.state = o->before.state;
	how.flags = LBM_CHANGE_HAS_MIN_ENABLED; /* putting back never empties a pool the change did not */
	if (o->before.state == LBM_STATE_ENABLED && o->before.weight >= 0 && o->before.weight != o->after.weight &&
	    o->after.state == LBM_STATE_ENABLED) {
		how.flags |= LBM_CHANGE_HAS_WEIGHT;
		how.weight = (unsigned)o->before.weight;
	}
	return how;
}

static bool needs_undo(const struct lbm_outcome *o)
{
	return o->result == LBM_OUTCOME_APPLIED && o->changed;
}

int lbm_change_undo(struct lbm *lb, struct change *c)
{
	struct lbm_result *res = &c->res;
	struct lbm_ref *refs = calloc(res->n + 1, sizeof(*refs));
	char errmsg[LBM_ERRMSG_MAX] = "";
	bool *done = calloc(res->n + 1, sizeof(*done));
	int ret = 0, undone = 0;

	/* The change's own warnings go to its result before the undo's own. */
	give_warnings(lb, res);
	clear_warnings(lb);
	if (!refs || !done) {
		free(refs);
		free(done);
		return lbm_fail(lb, LBM_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < res->n; i++) {
		struct lbm_change how;
		struct lbm_result back;
		size_t n = 0;
		int r;

		if (done[i] || !needs_undo(&res->outcomes[i]))
			continue;
		/* The others to put back the same way, in one call. */
		how = undo_how(&res->outcomes[i]);
		for (size_t j = i; j < res->n; j++) {
			struct lbm_change other = undo_how(&res->outcomes[j]);

			if (done[j] || !needs_undo(&res->outcomes[j]) || other.state != how.state ||
			    other.flags != how.flags || other.weight != how.weight)
				continue;
			done[j] = true;
			refs[n++] = (struct lbm_ref){ res->outcomes[j].pool, res->outcomes[j].before.name };
		}
		r = lbm_set_state(lb, refs, n, &how, &back);
		for (size_t j = i; j < res->n; j++) {
			struct lbm_outcome *o = &res->outcomes[j];

			if (!done[j] || o->result != LBM_OUTCOME_APPLIED)
				continue;
			for (size_t k = 0; k < back.n; k++)
				if (!strcmp(back.outcomes[k].pool, o->pool) &&
				    !strcmp(back.outcomes[k].before.name, o->before.name))
					keep_member(&res->strings, &o->after, &back.outcomes[k].after);
			o->changed = member_changed(&o->before, &o->after);
			o->result = r == 0 && !o->changed ? LBM_OUTCOME_UNDONE : LBM_OUTCOME_NOT_UNDONE;
			undone += o->result == LBM_OUTCOME_UNDONE;
		}
		lbm_result_free(&back);
		if (r < 0 && ret == 0) {
			ret = r;
			memcpy(errmsg, lb->errmsg, sizeof(errmsg));
		}
	}
	clear_warnings(lb);
	res->changed = 0;
	for (size_t i = 0; i < res->n; i++)
		res->changed |= res->outcomes[i].changed;
	free(refs);
	free(done);
	if (ret < 0)
		memcpy(lb->errmsg, errmsg, sizeof(errmsg));
	return ret < 0 ? ret : undone;
}

void lbm_change_finish(struct lbm *lb, struct change *c, struct lbm_result *res)
{
	*res = (struct lbm_result){ 0 };
	if (!c)
		return;
	*res = c->res;
	give_warnings(lb, res);
	if (!res->n && !res->n_warnings)
		lbm_result_free(res);
	free(c->todo);
	free(c->plan.items);
	for (size_t p = 0; c->plan.item_of && p < c->listing.n; p++)
		free(c->plan.item_of[p]);
	free(c->plan.item_of);
	lbm_listing_free(&c->listing);
	free(c);
}

int lbm_set_state(struct lbm *lb, const struct lbm_ref *refs, size_t n, const struct lbm_change *how,
		  struct lbm_result *res)
{
	struct change *c;
	int ret;

	if (lb->n_parts)
		return lbm_group_set_state(lb, refs, n, how, res);
	ret = lbm_change_plan(lb, refs, n, how, &c);
	if (ret == 0 && !(how->flags & LBM_CHANGE_DRY_RUN))
		ret = lbm_change_apply(lb, c);
	if (ret == 0 && !(how->flags & LBM_CHANGE_DRY_RUN))
		ret = lbm_change_wait(lb, c, how->wait_s, how->force_after_s);
	lbm_change_finish(lb, c, res);
	return ret;
}

int lbm_member_set_state(struct lbm *lb, const char *pool, const char *member, const struct lbm_change *how,
			 struct lbm_result *res)
{
	const struct lbm_ref ref = { .pool = pool, .member = member };

	return lbm_set_state(lb, &ref, 1, how, res);
}

int lbm_save_state(struct lbm *lb, const char *path)
{
	if (lb->n_parts)
		return lbm_group_save_state(lb, path);
	if (!lb->driver->save_state)
		return lbm_fail(lb, LBM_ENOTSUP, "%s keeps its state itself: nothing to save", lb->driver->info.name);
	return lb->driver->save_state(lb, path);
}
