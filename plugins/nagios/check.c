// SPDX-License-Identifier: MIT
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lbm_time.h"

/* The status line names at most this many members: it must fit a pager. */
#define SUMMARY_MEMBERS 5

static const char *const status_names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

const char *check_status_name(enum check_status status)
{
	return status_names[status];
}

int check_count_parse(const char *list, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} words[] = { { "disabled", COUNT_DISABLED }, { "draining", COUNT_DRAINING }, { "down", COUNT_DOWN } };
	const char *s = list;

	*out = 0;
	while (*s) {
		size_t len = strcspn(s, ","), i;

		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].name) == len && !strncmp(words[i].name, s, len))
				break;
		if (i == sizeof(words) / sizeof(words[0]))
			return -1;
		*out |= words[i].bit;
		s += len + (s[len] == ',');
	}
	return *out ? 0 : -1;
}

const char *check_member_out(const struct check_config *cfg, const struct lbm_member *m)
{
	if (m->state == LBM_STATE_DISABLED && (cfg->count & COUNT_DISABLED))
		return "disabled";
	if (m->state == LBM_STATE_DRAINING && (cfg->count & COUNT_DRAINING))
		return "draining";
	if (m->health == LBM_HEALTH_DOWN && (cfg->count & COUNT_DOWN))
		return "down";
	return NULL;
}

/* Counted out and draining or disabled: what lbmember may hold a record of
 * (a member enabled but down has none). */
static bool taken_out(const struct check_config *cfg, const struct lbm_member *m)
{
	return check_member_out(cfg, m) && (m->state == LBM_STATE_DRAINING || m->state == LBM_STATE_DISABLED);
}

/* Only a record tells how long: a member without one is never over, its
 * age is not known. */
static bool overdue(const struct check_config *cfg, const struct lbm_member *m)
{
	return cfg->has_max_out && taken_out(cfg, m) && m->by && (double)(cfg->now - m->since) > cfg->max_out_s;
}

static void judge(const struct check_config *cfg, const struct lbm_pool *pool, struct check_pool *res)
{
	double metric;

	res->pool = pool;
	for (size_t i = 0; i < pool->n_members; i++) {
		const struct lbm_member *m = &pool->members[i];

		if (lbm_member_in_rotation(m))
			res->enabled++;
		if (check_member_out(cfg, m))
			res->out++;
		if (overdue(cfg, m))
			res->overdue++;
	}
	/* Judged as printed, to two decimals: the perfdata then replays the same verdict. */
	res->pct = pool->n_members ? round(10000.0 * res->out / pool->n_members) / 100 : 0;
	res->thin = res->enabled < cfg->min_enabled;
	metric = cfg->percent ? res->pct : res->out;
	if (res->thin || (cfg->has_crit && nagios_range_alert(&cfg->crit, metric)))
		res->status = CHECK_CRITICAL;
	else if (res->overdue || (cfg->has_warn && nagios_range_alert(&cfg->warn, metric)))
		res->status = CHECK_WARNING;
	else
		res->status = CHECK_OK;
}

static int worst_first(const void *a, const void *b)
{
	const struct check_pool *x = a, *y = b;

	if (x->status != y->status)
		return (int)y->status - (int)x->status;
	if (x->thin != y->thin)
		return (int)y->thin - (int)x->thin;
	if (x->out != y->out)
		return x->out < y->out ? 1 : -1;
	return x->order < y->order ? -1 : x->order > y->order;
}

enum check_status check_evaluate(const struct check_config *cfg, const struct lbm_pool *pools, size_t n,
				 struct check_pool *res)
{
	enum check_status worst = CHECK_OK;

	for (size_t i = 0; i < n; i++) {
		res[i] = (struct check_pool){ .order = i };
		judge(cfg, &pools[i], &res[i]);
		if (res[i].status > worst)
			worst = res[i].status;
	}
	qsort(res, n, sizeof(*res), worst_first);
	if (cfg->multi && worst < CHECK_WARNING && check_disagreements(res, n, NULL))
		worst = CHECK_WARNING;
	return worst;
}

static const struct lbm_member *member_in(const struct lbm_pool *pool, const char *name)
{
	for (size_t i = 0; i < pool->n_members; i++)
		if (!strcmp(pool->members[i].name, name))
			return &pool->members[i];
	return NULL;
}

static const char *rotation_word(const struct lbm_member *m)
{
	if (lbm_member_in_rotation(m))
		return "in rotation";
	return m->health == LBM_HEALTH_DOWN && m->state == LBM_STATE_ENABLED ? "down" : lbm_state_name(m->state);
}

/* The member called name in other, when other is the same pool as pool
 * (on another balancer). */
static const struct lbm_member *counterpart(const struct lbm_pool *other, const struct lbm_pool *pool, const char *name)
{
	return strcmp(other->name, pool->name) ? NULL : member_in(other, name);
}

/* Each member once: where its pool is first met. */
size_t check_disagreements(const struct check_pool *res, size_t n, FILE *f)
{
	size_t found = 0;

	for (size_t p = 0; p < n; p++) {
		const struct lbm_pool *pool = res[p].pool;

		for (size_t i = 0; i < pool->n_members; i++) {
			const struct lbm_member *m = &pool->members[i], *other;
			bool seen = false, differs = false;

			for (size_t q = 0; q < p && !seen; q++)
				seen = counterpart(res[q].pool, pool, m->name) != NULL;
			for (size_t q = p + 1; q < n && !seen; q++) {
				other = counterpart(res[q].pool, pool, m->name);
				differs |= other && lbm_member_in_rotation(other) != lbm_member_in_rotation(m);
			}
			if (seen || !differs)
				continue;
			if (f && found < SUMMARY_MEMBERS) {
				fputs(found ? ", " : "", f);
				check_put_text(f, pool->name);
				fputc(' ', f);
				check_put_text(f, m->name);
				for (size_t q = p, k = 0; q < n; q++) {
					if (!(other = counterpart(res[q].pool, pool, m->name)))
						continue;
					fprintf(f, "%s%s on ", k++ ? ", " : " ", rotation_word(other));
					check_put_text(f, res[q].pool->balancer);
				}
			}
			found++;
		}
	}
	if (f && found > SUMMARY_MEMBERS)
		fprintf(f, " and %zu more", found - SUMMARY_MEMBERS);
	return found;
}

void check_put_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '|' || (unsigned char)*s < 0x20 ? '_' : *s, f);
}

static void put_quoted(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s == '|' || (unsigned char)*s < 0x20 ? '_' : *s, f);
	}
}

/* A perfdata label in single quotes, a quote in it doubled; with several
 * balancers, the balancer's first. */
static void put_label(FILE *f, const struct check_config *cfg, const struct lbm_pool *pool, const char *what)
{
	fputc('\'', f);
	if (cfg->multi) {
		put_quoted(f, pool->balancer);
		fputc(' ', f);
	}
	put_quoted(f, pool->name);
	fprintf(f, " %s'", what);
}

/* A pool as the output names it: with several balancers, whose it is. */
static void put_pool_name(FILE *f, const struct check_config *cfg, const struct lbm_pool *pool)
{
	if (cfg->multi) {
		check_put_text(f, pool->balancer);
		fputc(' ', f);
	}
	check_put_text(f, pool->name);
}

/* Percentages with at most two decimals and no trailing zeros: the
 * guidelines' value class [-0-9.] has no exponent. */
static void put_pct(FILE *f, double pct)
{
	char buf[32];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "%.2f", pct);

	while (buf[len - 1] == '0')
		buf[--len] = '\0';
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
	fputs(buf, f);
}

/* The limit as given; a bare number is seconds, which the output says. */
static void put_limit(FILE *f, const struct check_config *cfg)
{
	const char *t = cfg->max_out_text;

	check_put_text(f, t);
	if (*t && strchr("0123456789.", t[strlen(t) - 1]))
		fputc('s', f);
}

/* "for 2h13m [since 2026-12-01T12:21:00Z] by alice: kernel update", from
 * the member's record. */
static void put_record(FILE *f, const struct check_config *cfg, const struct lbm_member *m, bool since)
{
	char text[32];

	lbm_time_age(cfg->now - m->since, text, sizeof(text));
	fprintf(f, "for %s", text);
	if (since) {
		lbm_time_iso8601(m->since, text, sizeof(text));
		fprintf(f, " since %s", text);
	}
	fputs(" by ", f);
	check_put_text(f, m->by);
	if (m->reason && *m->reason) {
		fputs(": ", f);
		check_put_text(f, m->reason);
	}
}

static bool counted_out(const struct check_config *cfg, const struct lbm_member *m)
{
	return check_member_out(cfg, m) != NULL;
}

static void put_why_out(FILE *f, const struct check_config *cfg, const struct lbm_member *m)
{
	fputs(check_member_out(cfg, m), f);
}

static void put_overdue(FILE *f, const struct check_config *cfg, const struct lbm_member *m)
{
	put_record(f, cfg, m, false);
}

/* "web s1 draining, web s2 disabled and 3 more": the members pick() keeps,
 * each said by put(). */
static void put_members(FILE *f, const struct check_config *cfg, const struct check_pool *res, size_t n,
			bool (*pick)(const struct check_config *, const struct lbm_member *),
			void (*put)(FILE *, const struct check_config *, const struct lbm_member *))
{
	size_t shown = 0, total = 0;

	for (size_t p = 0; p < n; p++) {
		const struct lbm_pool *pool = res[p].pool;

		for (size_t i = 0; i < pool->n_members; i++) {
			if (!pick(cfg, &pool->members[i]))
				continue;
			if (shown++ < SUMMARY_MEMBERS) {
				fputs(shown > 1 ? ", " : "", f);
				put_pool_name(f, cfg, pool);
				fputc(' ', f);
				check_put_text(f, pool->members[i].name);
				fputc(' ', f);
				put(f, cfg, &pool->members[i]);
			}
			total++;
		}
	}
	if (total > SUMMARY_MEMBERS)
		fprintf(f, " and %zu more", total - SUMMARY_MEMBERS);
}

/* Each part after the first starts with ". " (not "; ": Nagios turns ';'
 * into ':' in plugin output). */
static void put_summary(FILE *f, const struct check_config *cfg, const struct check_pool *res, size_t n)
{
	size_t members = 0, out = 0, thin = 0, disagree = 0, late = 0;
	const char *sep = "";

	for (size_t p = 0; p < n; p++) {
		members += res[p].pool->n_members;
		out += res[p].out;
		late += res[p].overdue;
		if (!res[p].thin)
			continue;
		fputs(thin++ ? ", " : "", f);
		put_pool_name(f, cfg, res[p].pool);
		fprintf(f, ": %zu of %zu members enabled (min %u)", res[p].enabled, res[p].pool->n_members,
			cfg->min_enabled);
		sep = ". ";
	}
	if (cfg->multi && (disagree = check_disagreements(res, n, NULL))) {
		fprintf(f, "%s%zu member%s not the same on every balancer: ", sep, disagree, disagree == 1 ? "" : "s");
		check_disagreements(res, n, f);
		sep = ". ";
	}
	if (late) {
		fprintf(f, "%s%zu member%s out of rotation longer than ", sep, late, late == 1 ? "" : "s");
		put_limit(f, cfg);
		fputs(": ", f);
		put_members(f, cfg, res, n, overdue, put_overdue);
		sep = ". ";
	}
	if (out) {
		fprintf(f, "%s%zu of %zu members out of rotation: ", sep, out, members);
		put_members(f, cfg, res, n, counted_out, put_why_out);
	} else if (!*sep) {
		fprintf(f, "all %zu members of %zu pool%s in rotation", members, n, n == 1 ? "" : "s");
	}
}

/* "WARN;CRIT", each as given less a trailing '%'. */
static void put_thresholds(FILE *f, const struct check_config *cfg)
{
	if (cfg->has_warn)
		fprintf(f, "%.*s", nagios_range_perf_len(&cfg->warn), cfg->warn.text);
	fputc(';', f);
	if (cfg->has_crit)
		fprintf(f, "%.*s", nagios_range_perf_len(&cfg->crit), cfg->crit.text);
}

static void put_perfdata(FILE *f, const struct check_config *cfg, const struct check_pool *res)
{
	size_t total = res->pool->n_members;

	put_label(f, cfg, res->pool, "enabled");
	fprintf(f, "=%zu;;", res->enabled);
	if (cfg->min_enabled)
		fprintf(f, "%u:", cfg->min_enabled);
	fprintf(f, ";0;%zu ", total);
	put_label(f, cfg, res->pool, "out");
	if (!cfg->percent) {
		fprintf(f, "=%zu;", res->out);
		put_thresholds(f, cfg);
		fprintf(f, ";0;%zu", total);
		return;
	}
	fprintf(f, "=%zu;;;0;%zu ", res->out, total);
	put_label(f, cfg, res->pool, "out_pct");
	fputc('=', f);
	put_pct(f, res->pct);
	fputs("%;", f);
	put_thresholds(f, cfg);
	fputs(";0;100", f);
}

static void put_member_detail(FILE *f, const struct check_config *cfg, const struct lbm_member *m)
{
	char where[LBM_ADDRESS_MAX + 16];

	/* LVS names members by their address: say it once. */
	snprintf(where, sizeof(where), strchr(m->address, ':') ? "[%s]:%u" : "%s:%u", m->address, m->port);
	fputs("    ", f);
	check_put_text(f, m->name);
	if (m->address[0] && strcmp(where, m->name)) {
		fputc(' ', f);
		check_put_text(f, where);
	}
	fprintf(f, " %s, health %s", lbm_state_name(m->state), lbm_health_name(m->health));
	if (m->weight >= 0)
		fprintf(f, ", weight %d", m->weight);
	if (m->active >= 0)
		fprintf(f, ", %ld active", m->active);
	if (m->inactive >= 0)
		fprintf(f, ", %ld inactive", m->inactive);
	fputs(", status \"", f);
	check_put_text(f, m->status);
	fputc('"', f);
	if (m->held) {
		fputs(", held: ", f);
		check_put_text(f, m->held);
	}
	if (taken_out(cfg, m)) {
		fputs(", out ", f);
		if (m->by)
			put_record(f, cfg, m, true);
		else
			fputs("for an unknown time (no lbmember record)", f);
	}
	fputc('\n', f);
}

static void put_pool_line(FILE *f, const struct check_config *cfg, const struct check_pool *res)
{
	const struct lbm_pool *pool = res->pool;
	const char *sep = ": ";

	put_pool_name(f, cfg, pool);
	fprintf(f, " %s: %zu of %zu enabled", check_status_name(res->status), res->enabled, pool->n_members);
	if (res->thin)
		fprintf(f, " (min %u)", cfg->min_enabled);
	fprintf(f, ", %zu out", res->out);
	if (cfg->percent) {
		fputs(" (", f);
		put_pct(f, res->pct);
		fputs("%)", f);
	}
	if (res->overdue) {
		fprintf(f, ", %zu longer than ", res->overdue);
		put_limit(f, cfg);
	}
	for (size_t i = 0; i < pool->n_members; i++) {
		const char *why = check_member_out(cfg, &pool->members[i]);

		if (!why)
			continue;
		fputs(sep, f);
		check_put_text(f, pool->members[i].name);
		fprintf(f, " %s", why);
		sep = ", ";
	}
	fputc('\n', f);
	/* With --max-out-time, each member out says how long, or that it
	 * cannot be known; -v says it of every member. */
	for (size_t i = 0; i < pool->n_members; i++)
		if (cfg->verbose > 0 || (cfg->has_max_out && taken_out(cfg, &pool->members[i])))
			put_member_detail(f, cfg, &pool->members[i]);
}

void check_report(FILE *f, const struct check_config *cfg, const struct check_pool *res, size_t n,
		  enum check_status status)
{
	fprintf(f, "LB_MEMBERS %s - ", check_status_name(status));
	put_summary(f, cfg, res, n);
	fputc('|', f);
	for (size_t p = 0; p < n; p++) {
		fputs(p ? " " : "", f);
		put_perfdata(f, cfg, &res[p]);
	}
	fputc('\n', f);
	for (size_t p = 0; p < n; p++)
		put_pool_line(f, cfg, &res[p]);
}
