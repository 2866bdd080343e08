// SPDX-License-Identifier: MIT
/* Every range form of the Monitoring Plugins Development Guidelines, the
 * guidelines' example table checked value by value, the trailing '%' the
 * Monitoring Plugins also take, and invalid ranges. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../lib/check.h"
#include "range.h"

static struct nagios_range parse_ok(const char *text)
{
	struct nagios_range r;
	char why[256] = "";

	if (nagios_range_parse(text, &r, why, sizeof(why)) < 0) {
		fprintf(stderr, "'%s' rejected: %s\n", text, why);
		check_failed++;
	}
	return r;
}

/* Alerts expected for the values -2..22 ('A' alert, '.' not), checked against
 * the guidelines' table: "Generate an alert if x...". */
static void expect_alerts(const char *text, double lo, double hi, int inside)
{
	struct nagios_range r = parse_ok(text);

	CHECK(r.inside == inside);
	for (int v = -2; v <= 22; v++) {
		int in = v >= lo && v <= hi;

		if (nagios_range_alert(&r, v) != (inside ? in : !in)) {
			fprintf(stderr, "'%s': value %d alert %d\n", text, v, nagios_range_alert(&r, v));
			check_failed++;
		}
	}
}

static void expect_invalid(const char *text, const char *reason)
{
	struct nagios_range r;
	char why[256] = "";

	if (nagios_range_parse(text, &r, why, sizeof(why)) == 0) {
		fprintf(stderr, "'%s' accepted\n", text);
		check_failed++;
		return;
	}
	if (!strstr(why, reason) || !strstr(why, text)) {
		fprintf(stderr, "'%s': message '%s' lacks '%s'\n", text, why, reason);
		check_failed++;
	}
}

int main(void)
{
	struct nagios_range r;

	/* The guidelines' table. */
	expect_alerts("10", 0, 10, 0);		 /* < 0 or > 10 */
	expect_alerts("10:", 10, INFINITY, 0);	 /* < 10 */
	expect_alerts("~:10", -INFINITY, 10, 0); /* > 10 */
	expect_alerts("10:20", 10, 20, 0);	 /* < 10 or > 20 */
	expect_alerts("@10:20", 10, 20, 1);	 /* >= 10 and <= 20 */
	/* The command-line examples: -c1:, -w~:0, -c5:6, -c@10:20. */
	expect_alerts("1:", 1, INFINITY, 0);
	expect_alerts("~:0", -INFINITY, 0, 0);
	expect_alerts("5:6", 5, 6, 0);
	/* Other legal spellings. */
	expect_alerts("0", 0, 0, 0);
	expect_alerts("@0", 0, 0, 1);
	expect_alerts("@~:10", -INFINITY, 10, 1);
	expect_alerts("@10:", 10, INFINITY, 1);
	expect_alerts("~:", -INFINITY, INFINITY, 0);
	expect_alerts(":10", 0, 10, 0); /* empty start is 0, as monitoring-plugins' C library reads it */
	expect_alerts("-5:-1", -5, -1, 0);
	expect_alerts("+3", 0, 3, 0);
	expect_alerts("10:10", 10, 10, 0);

	r = parse_ok("2.5:7.5");
	CHECK(r.start == 2.5 && r.end == 7.5 && !nagios_range_alert(&r, 2.5) && nagios_range_alert(&r, 7.51));
	r = parse_ok(".5");
	CHECK(r.start == 0 && r.end == 0.5);
	r = parse_ok("33.3");
	CHECK(!strcmp(r.text, "33.3"));

	/* A trailing '%', as monitoring-plugins' tests/test_utils.c takes 1:12%:
	 * the same range, flagged for the caller (--percent), echoed less the
	 * '%' in perfdata. */
	expect_alerts("1:12%", 1, 12, 0);
	expect_alerts("10%", 0, 10, 0);
	expect_alerts("@10:20%", 10, 20, 1);
	expect_alerts("~:10%", -INFINITY, 10, 0);
	expect_alerts("10:%", 10, INFINITY, 0);
	expect_alerts("33.5%", 0, 33.5, 0);
	r = parse_ok("1:12%");
	CHECK(r.percent && !r.inside && nagios_range_perf_len(&r) == 4 && !strcmp(r.text, "1:12%"));
	r = parse_ok("@0%");
	CHECK(r.percent && r.inside && r.end == 0 && nagios_range_perf_len(&r) == 2);
	r = parse_ok("1:12");
	CHECK(!r.percent && nagios_range_perf_len(&r) == 4);

	expect_invalid("%", "empty");
	expect_invalid("@%", "empty");
	expect_invalid(":%", "neither start nor end");
	expect_invalid("1:12%%", "end is not a number");
	expect_invalid("10%:20", "start is not a number");
	expect_invalid("10%:20%", "start is not a number");
	expect_invalid("%10", "not a number");
	expect_invalid("20:10%", "greater than end");
	expect_invalid("10% ", "not a number");
	expect_invalid("1:12%x", "end is not a number");

	expect_invalid("", "empty");
	expect_invalid("@", "empty");
	expect_invalid(":", "neither start nor end");
	expect_invalid("@:", "neither start nor end");
	expect_invalid("20:10", "greater than end");
	expect_invalid("@20:10", "greater than end");
	expect_invalid("-5", "greater than end"); /* 0:-5 */
	expect_invalid("1:2:3", "more than one ':'");
	expect_invalid("abc", "not a number");
	expect_invalid("10x", "not a number");
	expect_invalid("x:10", "start is not a number");
	expect_invalid("10:x", "end is not a number");
	expect_invalid("~", "not a number");
	expect_invalid("~~:1", "start is not a number");
	expect_invalid("10:~", "end is not a number");
	expect_invalid("1e3", "not a number");
	expect_invalid("0x10", "not a number");
	expect_invalid("inf", "not a number");
	expect_invalid("nan", "not a number");
	expect_invalid("1.2.3", "not a number");
	expect_invalid(".", "not a number");
	expect_invalid("-", "not a number");
	expect_invalid("@@10", "not a number");
	expect_invalid(" 10", "not a number");
	expect_invalid("10 ", "not a number");
	expect_invalid("10;20", "not a number");

	return check_done();
}
