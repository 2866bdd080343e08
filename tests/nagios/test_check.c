// SPDX-License-Identifier: MIT
/* check_lb_members' judging and printing, on pools built in memory: the
 * whole output compared byte for byte. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/check.h"
#include "check.h" /* the plugin's logic */

/* A pool from "name" and member specs "NAME=STATE[/down]", STATE one of
 * e (enabled), r (draining), d (disabled). */
static struct lbm_pool make_pool(const char *name, const char *const *specs)
{
	struct lbm_pool p = { .name = strdup(name), .detail = "" };

	while (specs[p.n_members])
		p.n_members++;
	p.members = calloc(p.n_members, sizeof(*p.members));
	for (size_t i = 0; i < p.n_members; i++) {
		struct lbm_member *m = &p.members[i];
		const char *eq = strchr(specs[i], '=');

		m->name = strndup(specs[i], (size_t)(eq - specs[i]));
		m->state = eq[1] == 'e' ? LBM_STATE_ENABLED : eq[1] == 'r' ? LBM_STATE_DRAINING : LBM_STATE_DISABLED;
		m->health = strstr(eq, "/down") ? LBM_HEALTH_DOWN : LBM_HEALTH_UP;
		m->weight = 1;
		m->restore_weight = -1;
		m->active = 0;
		m->inactive = -1;
		m->status = strdup(eq + 1);
	}
	return p;
}

static struct check_config config(const char *warn, const char *crit)
{
	struct check_config cfg = { .count = COUNT_DISABLED | COUNT_DRAINING, .min_enabled = 1 };
	char why[256];

	if (warn)
		cfg.has_warn = !nagios_range_parse(warn, &cfg.warn, why, sizeof(why));
	if (crit)
		cfg.has_crit = !nagios_range_parse(crit, &cfg.crit, why, sizeof(why));
	return cfg;
}

static void expect(const struct check_config *cfg, struct lbm_pool *pools, size_t n, enum check_status want_status,
		   const char *want)
{
	struct check_pool res[8];
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	enum check_status status = check_evaluate(cfg, pools, n, res);

	check_report(f, cfg, res, n, status);
	fclose(f);
	if (status != want_status || strcmp(out, want)) {
		fprintf(stderr, "status %d (want %d), output:\n%s--- want:\n%s---\n", status, want_status, out, want);
		check_failed++;
	}
	free(out);
}

static void free_pools(struct lbm_pool *pools, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < pools[i].n_members; k++) {
			free((char *)pools[i].members[k].name);
			free((char *)pools[i].members[k].status);
		}
		free((char *)pools[i].name);
		free(pools[i].members);
	}
}

static void test_all_enabled(void)
{
	struct lbm_pool p[] = {
		make_pool("web", (const char *[]){ "s1=e", "s2=e", "s3=e", NULL }),
		make_pool("api", (const char *[]){ "a1=e", "a2=e", NULL }),
	};
	struct check_config cfg = config("0", NULL);

	expect(&cfg, p, 2, CHECK_OK,
	       "LB_MEMBERS OK - all 5 members of 2 pools in rotation|'web enabled'=3;;1:;0;3 'web out'=0;0;;0;3 "
	       "'api enabled'=2;;1:;0;2 'api out'=0;0;;0;2\n"
	       "web OK: 3 of 3 enabled, 0 out\n"
	       "api OK: 2 of 2 enabled, 0 out\n");
	free_pools(p, 2);
}

/* The issue's example line. */
static void test_one_draining(void)
{
	struct lbm_pool p[] = {
		make_pool("tcp:198.51.100.10:80", (const char *[]){ "198.51.100.77:80=e", "198.51.100.79:80=e", NULL }),
		make_pool("tcp:198.51.100.11:80",
			  (const char *[]){ "198.51.100.76:80=e", "198.51.100.78:80=r", "198.51.100.80:80=e", NULL }),
	};
	struct check_config cfg = config("0", "2");

	expect(&cfg, p, 2, CHECK_WARNING,
	       "LB_MEMBERS WARNING - 1 of 5 members out of rotation: tcp:198.51.100.11:80 198.51.100.78:80 draining"
	       "|'tcp:198.51.100.11:80 enabled'=2;;1:;0;3 'tcp:198.51.100.11:80 out'=1;0;2;0;3 "
	       "'tcp:198.51.100.10:80 enabled'=2;;1:;0;2 'tcp:198.51.100.10:80 out'=0;0;2;0;2\n"
	       "tcp:198.51.100.11:80 WARNING: 2 of 3 enabled, 1 out: 198.51.100.78:80 draining\n"
	       "tcp:198.51.100.10:80 OK: 2 of 2 enabled, 0 out\n");
	free_pools(p, 2);
}

/* A pool with nothing left is CRITICAL whatever the ranges, and comes first. */
static void test_empty_pool_first(void)
{
	struct lbm_pool p[] = {
		make_pool("api", (const char *[]){ "a1=r", "a2=e", NULL }),
		make_pool("web", (const char *[]){ "s1=d", "s2=r", NULL }),
	};
	struct check_config cfg = config("5", NULL);

	expect(&cfg, p, 2, CHECK_CRITICAL,
	       "LB_MEMBERS CRITICAL - web: 0 of 2 members enabled (min 1). 3 of 4 members out of rotation: "
	       "web s1 disabled, web s2 draining, api a1 draining"
	       "|'web enabled'=0;;1:;0;2 'web out'=2;5;;0;2 'api enabled'=1;;1:;0;2 'api out'=1;5;;0;2\n"
	       "web CRITICAL: 0 of 2 enabled (min 1), 2 out: s1 disabled, s2 draining\n"
	       "api OK: 1 of 2 enabled, 1 out: a1 draining\n");
	cfg.min_enabled = 0;
	expect(&cfg, p, 2, CHECK_OK,
	       "LB_MEMBERS OK - 3 of 4 members out of rotation: web s1 disabled, web s2 draining, api a1 draining"
	       "|'web enabled'=0;;;0;2 'web out'=2;5;;0;2 'api enabled'=1;;;0;2 'api out'=1;5;;0;2\n"
	       "web OK: 0 of 2 enabled, 2 out: s1 disabled, s2 draining\n"
	       "api OK: 1 of 2 enabled, 1 out: a1 draining\n");
	free_pools(p, 2);
}

/* Down members are not enabled for --min-enabled, and count only when asked. */
static void test_down(void)
{
	struct lbm_pool p[] = { make_pool("web", (const char *[]){ "s1=e/down", "s2=e", "s3=d/down", NULL }) };
	struct check_config cfg = config("0", "1");

	expect(&cfg, p, 1, CHECK_WARNING,
	       "LB_MEMBERS WARNING - 1 of 3 members out of rotation: web s3 disabled"
	       "|'web enabled'=1;;1:;0;3 'web out'=1;0;1;0;3\n"
	       "web WARNING: 1 of 3 enabled, 1 out: s3 disabled\n");
	CHECK(!check_count_parse("disabled,draining,down", &cfg.count));
	expect(&cfg, p, 1, CHECK_CRITICAL,
	       "LB_MEMBERS CRITICAL - 2 of 3 members out of rotation: web s1 down, web s3 disabled"
	       "|'web enabled'=1;;1:;0;3 'web out'=2;0;1;0;3\n"
	       "web CRITICAL: 1 of 3 enabled, 2 out: s1 down, s3 disabled\n");
	/* Only down: a disabled member counts when it is down too. */
	CHECK(!check_count_parse("down", &cfg.count));
	expect(&cfg, p, 1, CHECK_CRITICAL,
	       "LB_MEMBERS CRITICAL - 2 of 3 members out of rotation: web s1 down, web s3 down"
	       "|'web enabled'=1;;1:;0;3 'web out'=2;0;1;0;3\n"
	       "web CRITICAL: 1 of 3 enabled, 2 out: s1 down, s3 down\n");
	p[0].members[2].health = LBM_HEALTH_UP;
	expect(&cfg, p, 1, CHECK_WARNING,
	       "LB_MEMBERS WARNING - 1 of 3 members out of rotation: web s1 down"
	       "|'web enabled'=1;;1:;0;3 'web out'=1;0;1;0;3\n"
	       "web WARNING: 1 of 3 enabled, 1 out: s1 down\n");
	free_pools(p, 1);
}

static void test_percent(void)
{
	struct lbm_pool p[] = { make_pool("web", (const char *[]){ "s1=r", "s2=e", "s3=e", NULL }) };
	struct check_config cfg = config("30", "50");

	cfg.percent = true;
	expect(&cfg, p, 1, CHECK_WARNING,
	       "LB_MEMBERS WARNING - 1 of 3 members out of rotation: web s1 draining"
	       "|'web enabled'=2;;1:;0;3 'web out'=1;;;0;3 'web out_pct'=33.33%;30;50;0;100\n"
	       "web WARNING: 2 of 3 enabled, 1 out (33.33%): s1 draining\n");
	/* With a trailing '%' the same, and perfdata without it: its warn and
	 * crit grammar has none. */
	cfg = config("30%", "50%");
	cfg.percent = true;
	expect(&cfg, p, 1, CHECK_WARNING,
	       "LB_MEMBERS WARNING - 1 of 3 members out of rotation: web s1 draining"
	       "|'web enabled'=2;;1:;0;3 'web out'=1;;;0;3 'web out_pct'=33.33%;30;50;0;100\n"
	       "web WARNING: 2 of 3 enabled, 1 out (33.33%): s1 draining\n");
	cfg = config("40", "@30:35%");
	cfg.percent = true;
	expect(&cfg, p, 1, CHECK_CRITICAL,
	       "LB_MEMBERS CRITICAL - 1 of 3 members out of rotation: web s1 draining"
	       "|'web enabled'=2;;1:;0;3 'web out'=1;;;0;3 'web out_pct'=33.33%;40;@30:35;0;100\n"
	       "web CRITICAL: 2 of 3 enabled, 1 out (33.33%): s1 draining\n");
	cfg = config("40", "@30:35");
	cfg.percent = true;
	expect(&cfg, p, 1, CHECK_CRITICAL,
	       "LB_MEMBERS CRITICAL - 1 of 3 members out of rotation: web s1 draining"
	       "|'web enabled'=2;;1:;0;3 'web out'=1;;;0;3 'web out_pct'=33.33%;40;@30:35;0;100\n"
	       "web CRITICAL: 2 of 3 enabled, 1 out (33.33%): s1 draining\n");
	p[0].members[1].state = LBM_STATE_DRAINING;
	expect(&cfg, p, 1, CHECK_WARNING,
	       "LB_MEMBERS WARNING - 2 of 3 members out of rotation: web s1 draining, web s2 draining"
	       "|'web enabled'=1;;1:;0;3 'web out'=2;;;0;3 'web out_pct'=66.67%;40;@30:35;0;100\n"
	       "web WARNING: 1 of 3 enabled, 2 out (66.67%): s1 draining, s2 draining\n");
	free_pools(p, 1);
}

/* Inclusive endpoints and "@" ranges on counts. */
static void test_ranges_on_counts(void)
{
	struct lbm_pool p[] = { make_pool("web", (const char *[]){ "s1=r", "s2=d", "s3=e", "s4=e", NULL }) };
	struct check_config cfg = config("2", "3");
	struct check_pool res[1];

	CHECK(check_evaluate(&cfg, p, 1, res) == CHECK_OK); /* 2 is inside 0..2 */
	cfg = config("1", "3");
	CHECK(check_evaluate(&cfg, p, 1, res) == CHECK_WARNING);
	cfg = config(NULL, "@2:3");
	CHECK(check_evaluate(&cfg, p, 1, res) == CHECK_CRITICAL);
	cfg = config(NULL, "@3:4");
	CHECK(check_evaluate(&cfg, p, 1, res) == CHECK_OK);
	cfg = config("~:1", "@2");
	CHECK(check_evaluate(&cfg, p, 1, res) == CHECK_CRITICAL);
	cfg = config("3:", NULL); /* fewer than 3 out: an odd wish, but the guidelines' semantics */
	CHECK(check_evaluate(&cfg, p, 1, res) == CHECK_WARNING);
	free_pools(p, 1);
}

/* Quotes doubled, '|' and newlines kept out of the output; long lists cut. */
static void test_names_and_long_lists(void)
{
	struct lbm_pool p[] = {
		make_pool("it's=a|pool", (const char *[]){ "m|1=d", "m\n2=e", NULL }),
		make_pool("big", (const char *[]){ "b1=r", "b2=r", "b3=r", "b4=r", "b5=r", "b6=e", NULL }),
	};
	struct check_config cfg = config(NULL, "10");

	expect(&cfg, p, 2, CHECK_OK,
	       "LB_MEMBERS OK - 6 of 8 members out of rotation: big b1 draining, big b2 draining, big b3 draining, "
	       "big b4 draining, big b5 draining and 1 more"
	       "|'big enabled'=1;;1:;0;6 'big out'=5;;10;0;6 'it''s=a_pool enabled'=1;;1:;0;2 "
	       "'it''s=a_pool out'=1;;10;0;2\n"
	       "big OK: 1 of 6 enabled, 5 out: b1 draining, b2 draining, b3 draining, b4 draining, b5 draining\n"
	       "it's=a_pool OK: 1 of 2 enabled, 1 out: m_1 disabled\n");
	cfg.verbose = 1;
	expect(&cfg, p, 1, CHECK_OK,
	       "LB_MEMBERS OK - 1 of 2 members out of rotation: it's=a_pool m_1 disabled"
	       "|'it''s=a_pool enabled'=1;;1:;0;2 'it''s=a_pool out'=1;;10;0;2\n"
	       "it's=a_pool OK: 1 of 2 enabled, 1 out: m_1 disabled\n"
	       "    m_1 disabled, health up, weight 1, 0 active, status \"d\", out for an unknown time (no lbmember "
	       "record)\n"
	       "    m_2 enabled, health up, weight 1, 0 active, status \"e\"\n");
	free_pools(p, 2);
}

/* A fixed clock for ages: 2026-12-01T16:00:00Z. */
#define NOW 1796140800LL

/* What lbmember records when it takes a member out (by, since, reason). */
static void record(struct lbm_member *m, const char *by, long long age, const char *reason)
{
	m->by = by;
	m->since = NOW - age;
	m->reason = reason;
}

static struct check_config max_out(const char *warn, const char *crit, const char *text, double seconds)
{
	struct check_config cfg = config(warn, crit);

	cfg.has_max_out = true;
	cfg.max_out_text = text;
	cfg.max_out_s = seconds;
	cfg.now = NOW;
	return cfg;
}

/* --max-out-time: over the limit is WARNING, naming who and why; a member
 * without a record has an unknown age and is never over. */
static void test_max_out_time(void)
{
	struct lbm_pool p[] = {
		make_pool("web", (const char *[]){ "s1=r", "s2=r", "s3=e", NULL }),
		make_pool("api", (const char *[]){ "a1=d", "a2=e/down", "a3=e", NULL }),
	};
	struct check_config cfg = max_out("2", NULL, "2h", 7200);

	record(&p[0].members[0], "alice", 2 * 3600 + 13 * 60 + 5, "kernel update");
	record(&p[1].members[0], "bob", 60, "");
	expect(&cfg, p, 2, CHECK_WARNING,
	       "LB_MEMBERS WARNING - 1 member out of rotation longer than 2h: web s1 for 2h13m by alice: kernel "
	       "update. "
	       "3 of 6 members out of rotation: web s1 draining, web s2 draining, api a1 disabled"
	       "|'web enabled'=1;;1:;0;3 'web out'=2;2;;0;3 'api enabled'=1;;1:;0;3 'api out'=1;2;;0;3\n"
	       "web WARNING: 1 of 3 enabled, 2 out, 1 longer than 2h: s1 draining, s2 draining\n"
	       "    s1 draining, health up, weight 1, 0 active, status \"r\", out for 2h13m since 2026-12-01T13:46:55Z "
	       "by alice: kernel update\n"
	       "    s2 draining, health up, weight 1, 0 active, status \"r\", out for an unknown time (no lbmember "
	       "record)\n"
	       "api OK: 1 of 3 enabled, 1 out: a1 disabled\n"
	       "    a1 disabled, health up, weight 1, 0 active, status \"d\", out for 1m since 2026-12-01T15:59:00Z by "
	       "bob\n");
	/* Under the limit: the verdict of the ranges alone. */
	cfg = max_out("2", NULL, "3h", 3 * 3600);
	expect(&cfg, p, 2, CHECK_OK,
	       "LB_MEMBERS OK - 3 of 6 members out of rotation: web s1 draining, web s2 draining, api a1 disabled"
	       "|'web enabled'=1;;1:;0;3 'web out'=2;2;;0;3 'api enabled'=1;;1:;0;3 'api out'=1;2;;0;3\n"
	       "web OK: 1 of 3 enabled, 2 out: s1 draining, s2 draining\n"
	       "    s1 draining, health up, weight 1, 0 active, status \"r\", out for 2h13m since 2026-12-01T13:46:55Z "
	       "by alice: kernel update\n"
	       "    s2 draining, health up, weight 1, 0 active, status \"r\", out for an unknown time (no lbmember "
	       "record)\n"
	       "api OK: 1 of 3 enabled, 1 out: a1 disabled\n"
	       "    a1 disabled, health up, weight 1, 0 active, status \"d\", out for 1m since 2026-12-01T15:59:00Z by "
	       "bob\n");
	/* CRITICAL stays CRITICAL; a bare number is seconds, and exactly the
	 * limit is not longer than it. */
	cfg = max_out("2", "0", "60", 60);
	expect(&cfg, p, 2, CHECK_CRITICAL,
	       "LB_MEMBERS CRITICAL - 1 member out of rotation longer than 60s: web s1 for 2h13m by alice: kernel "
	       "update. 3 of 6 members out of rotation: web s1 draining, web s2 draining, api a1 disabled"
	       "|'web enabled'=1;;1:;0;3 'web out'=2;2;0;0;3 'api enabled'=1;;1:;0;3 'api out'=1;2;0;0;3\n"
	       "web CRITICAL: 1 of 3 enabled, 2 out, 1 longer than 60s: s1 draining, s2 draining\n"
	       "    s1 draining, health up, weight 1, 0 active, status \"r\", out for 2h13m since 2026-12-01T13:46:55Z "
	       "by alice: kernel update\n"
	       "    s2 draining, health up, weight 1, 0 active, status \"r\", out for an unknown time (no lbmember "
	       "record)\n"
	       "api CRITICAL: 1 of 3 enabled, 1 out: a1 disabled\n"
	       "    a1 disabled, health up, weight 1, 0 active, status \"d\", out for 1m since 2026-12-01T15:59:00Z by "
	       "bob\n");
	/* Without the option: today's output, records or not. */
	cfg = config("2", NULL);
	cfg.now = NOW;
	expect(&cfg, p, 2, CHECK_OK,
	       "LB_MEMBERS OK - 3 of 6 members out of rotation: web s1 draining, web s2 draining, api a1 disabled"
	       "|'web enabled'=1;;1:;0;3 'web out'=2;2;;0;3 'api enabled'=1;;1:;0;3 'api out'=1;2;;0;3\n"
	       "web OK: 1 of 3 enabled, 2 out: s1 draining, s2 draining\n"
	       "api OK: 1 of 3 enabled, 1 out: a1 disabled\n");
	free_pools(p, 2);
}

/* Only members counted out are judged by age; a clock set back is no age. */
static void test_max_out_time_what_counts(void)
{
	struct lbm_pool p[] = { make_pool("web", (const char *[]){ "s1=r", "s2=d", "s3=e", "s4=e", NULL }) };
	struct check_config cfg = max_out("2", NULL, "1d", 86400);
	struct check_pool res[1];

	record(&p[0].members[0], "alice", 3 * 86400 + 4 * 3600, "old");
	record(&p[0].members[1], "bob", -600, "from the future");
	CHECK(check_count_parse("disabled", &cfg.count) == 0);
	CHECK(check_evaluate(&cfg, p, 1, res) == CHECK_OK && res[0].overdue == 0); /* s1 draining: not counted */
	CHECK(check_count_parse("disabled,draining", &cfg.count) == 0);
	expect(&cfg, p, 1, CHECK_WARNING,
	       "LB_MEMBERS WARNING - 1 member out of rotation longer than 1d: web s1 for 3d4h by alice: old. "
	       "2 of 4 members out of rotation: web s1 draining, web s2 disabled"
	       "|'web enabled'=2;;1:;0;4 'web out'=2;2;;0;4\n"
	       "web WARNING: 2 of 4 enabled, 2 out, 1 longer than 1d: s1 draining, s2 disabled\n"
	       "    s1 draining, health up, weight 1, 0 active, status \"r\", out for 3d4h since 2026-11-28T12:00:00Z "
	       "by alice: old\n"
	       "    s2 disabled, health up, weight 1, 0 active, status \"d\", out for 0s since 2026-12-01T16:10:00Z by "
	       "bob: from the future\n");
	free_pools(p, 1);
}

static void test_count_parse(void)
{
	unsigned c;

	CHECK(!check_count_parse("disabled", &c) && c == COUNT_DISABLED);
	CHECK(!check_count_parse("draining,down", &c) && c == (COUNT_DRAINING | COUNT_DOWN));
	CHECK(!check_count_parse("down,down", &c) && c == COUNT_DOWN);
	CHECK(check_count_parse("", &c) < 0);
	CHECK(check_count_parse(",", &c) < 0);
	CHECK(check_count_parse("disabled,", &c) == 0); /* a trailing comma is harmless */
	CHECK(check_count_parse("drain", &c) < 0);
	CHECK(check_count_parse("disabled,maint", &c) < 0);
	CHECK(check_count_parse("Disabled", &c) < 0);
}

int main(void)
{
	test_all_enabled();
	test_one_draining();
	test_empty_pool_first();
	test_down();
	test_percent();
	test_ranges_on_counts();
	test_names_and_long_lists();
	test_count_parse();
	test_max_out_time();
	test_max_out_time_what_counts();
	return check_done();
}
