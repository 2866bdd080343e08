/* SPDX-License-Identifier: MIT */
/* What check_lb_members decides from a list of pools, and how it says it:
 * no I/O with the balancer here, so it is tested on pools built in memory. */
#ifndef CHECK_LB_CHECK_H
#define CHECK_LB_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "lbmember.h"
#include "range.h"

enum check_status {
	CHECK_OK = 0,
	CHECK_WARNING = 1,
	CHECK_CRITICAL = 2,
	CHECK_UNKNOWN = 3,
};

/* What counts as out of rotation (--count). */
enum check_count {
	COUNT_DISABLED = 1u << 0,
	COUNT_DRAINING = 1u << 1,
	COUNT_DOWN = 1u << 2,
};

struct check_config {
	unsigned count; /* enum check_count */
	bool percent;	/* thresholds apply to the percentage out */
	bool has_warn, has_crit;
	struct nagios_range warn, crit;
	unsigned min_enabled; /* CRITICAL below this many enabled and not down */
	int verbose;
	bool multi; /* several balancers (-T again, or TARGET,TARGET): names and labels say whose */
	/* --max-out-time: WARNING when a member taken out through lbmember has
	 * been out longer; text as given, for the output. */
	bool has_max_out;
	double max_out_s;
	const char *max_out_text;
	long long now; /* seconds since the epoch: what ages are counted to */
};

/* One pool, judged. */
struct check_pool {
	const struct lbm_pool *pool;
	size_t enabled; /* enabled and not down */
	size_t out;	/* counted as out of rotation */
	double pct;	/* out, as a percentage of the members */
	size_t overdue; /* out longer than --max-out-time, as recorded */
	bool thin;	/* fewer than min_enabled enabled */
	enum check_status status;
	size_t order; /* position on the balancer: ties keep it */
};

const char *check_status_name(enum check_status status);

/* Parse "disabled,draining,down" into enum check_count bits: 0, or -1. */
int check_count_parse(const char *list, unsigned *out);

/* Why a member counts as out of rotation ("disabled", "draining", "down"),
 * or NULL when it does not. */
const char *check_member_out(const struct check_config *cfg, const struct lbm_member *m);

/* Text from the balancer or the command line, where a '|' would start the
 * perfdata and a newline a new line of output: both become '_'. */
void check_put_text(FILE *f, const char *s);

/* Judge n pools into res[n], sorted worst first; returns the worst status.
 * With several balancers, a member that one holds out of rotation while
 * another keeps it in makes it WARNING at least. */
enum check_status check_evaluate(const struct check_config *cfg, const struct lbm_pool *pools, size_t n,
				 struct check_pool *res);

/* Members of the same pool whose rotation differs between balancers; when
 * f is given, the first few as "app s1 draining on A, in rotation on B". */
size_t check_disagreements(const struct check_pool *res, size_t n, FILE *f);

/* Print the status line with its perfdata, then one line per pool. */
void check_report(FILE *f, const struct check_config *cfg, const struct check_pool *res, size_t n,
		  enum check_status status);

#endif
