/* SPDX-License-Identifier: MIT */
/* Nagios threshold ranges, as the Monitoring Plugins Development Guidelines
 * define them: [@]start:end, "~" for negative infinity, start and ":"
 * omitted when start is 0, end omitted for infinity. */
#ifndef CHECK_LB_RANGE_H
#define CHECK_LB_RANGE_H

#include <stdbool.h>
#include <stddef.h>

struct nagios_range {
	double start;	  /* -INFINITY for "~" */
	double end;	  /* INFINITY when omitted */
	bool inside;	  /* "@": alert inside the range instead of outside */
	const char *text; /* as given, echoed in perfdata */
};

/* 0, or -1 with a one-line reason in why. */
int nagios_range_parse(const char *text, struct nagios_range *r, char *why, size_t why_len);

/* Whether value raises an alert for this range (endpoints are inclusive). */
bool nagios_range_alert(const struct nagios_range *r, double value);

#endif
