/* SPDX-License-Identifier: MIT */
/* Nagios threshold ranges, as the Monitoring Plugins Development Guidelines
 * define them: [@]start:end, "~" for negative infinity, start and ":"
 * omitted when start is 0, end omitted for infinity; and, as the Monitoring
 * Plugins' own parser takes it, one trailing '%' (1:12%). */
#ifndef CHECK_LB_RANGE_H
#define CHECK_LB_RANGE_H

#include <stdbool.h>
#include <stddef.h>

struct nagios_range {
	double start;	  /* -INFINITY for "~" */
	double end;	  /* INFINITY when omitted */
	bool inside;	  /* "@": alert inside the range instead of outside */
	bool percent;	  /* given with a trailing '%': the caller decides whether it may */
	const char *text; /* as given */
};

/* 0, or -1 with a one-line reason in why. */
int nagios_range_parse(const char *text, struct nagios_range *r, char *why, size_t why_len);

/* Whether value raises an alert for this range (endpoints are inclusive). */
bool nagios_range_alert(const struct nagios_range *r, double value);

/* How much of text perfdata may echo: the grammar of its warn and crit
 * fields has no '%', which the value's UOM says instead. */
int nagios_range_perf_len(const struct nagios_range *r);

#endif
