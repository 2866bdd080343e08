// SPDX-License-Identifier: MIT
#include "range.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Numbers are [+-]digits[.digits]: the guidelines' class [-0-9.], so no
 * exponents, hex, "inf" or "nan" that strtod() would also take. */
static int parse_number(const char *s, size_t len, double *out)
{
	char buf[64];
	size_t i = 0, digits = 0, dots = 0;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	if (s[0] == '+' || s[0] == '-')
		i++;
	for (; i < len; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		else if (s[i] == '.' && !dots)
			dots++;
		else
			return -1;
	}
	if (!digits)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, NULL);
	return 0;
}

static int fail(char *why, size_t why_len, const char *text, const char *reason)
{
	snprintf(why, why_len,
		 "invalid range '%s': %s (expected [@]start:end, e.g. 10, 10:, ~:10, 10:20, @10:20; a trailing %% "
		 "with --percent)",
		 text, reason);
	return -1;
}

/* s..stop holds no '@' nor the trailing '%': [start:]end. */
static int parse_bounds(const char *text, const char *s, const char *stop, struct nagios_range *r, char *why,
			size_t why_len)
{
	const char *colon = memchr(s, ':', (size_t)(stop - s));

	if (s == stop)
		return fail(why, why_len, text, "it is empty");
	if (colon && memchr(colon + 1, ':', (size_t)(stop - colon - 1)))
		return fail(why, why_len, text, "more than one ':'");
	if (colon) {
		if (colon - s == 1 && s[0] == '~')
			r->start = -INFINITY;
		else if (colon != s && parse_number(s, (size_t)(colon - s), &r->start) < 0)
			return fail(why, why_len, text, "start is not a number or '~'");
		s = colon + 1;
		if (s == stop)
			return colon == text + r->inside ? fail(why, why_len, text, "neither start nor end is given")
							 : 0;
	}
	if (parse_number(s, (size_t)(stop - s), &r->end) < 0)
		return fail(why, why_len, text, colon ? "end is not a number" : "not a number");
	if (r->start > r->end)
		return fail(why, why_len, text,
			    colon ? "start is greater than end" : "start (0 when omitted) is greater than end");
	return 0;
}

int nagios_range_parse(const char *text, struct nagios_range *r, char *why, size_t why_len)
{
	const char *s = text, *stop = text + strlen(text);

	*r = (struct nagios_range){ .start = 0, .end = INFINITY, .text = text };
	if (*s == '@') {
		r->inside = true;
		s++;
	}
	if (stop > s && stop[-1] == '%') {
		r->percent = true;
		stop--;
	}
	return parse_bounds(text, s, stop, r, why, why_len);
}

bool nagios_range_alert(const struct nagios_range *r, double value)
{
	bool in = value >= r->start && value <= r->end;

	return r->inside ? in : !in;
}

int nagios_range_perf_len(const struct nagios_range *r)
{
	return (int)strlen(r->text) - r->percent;
}
