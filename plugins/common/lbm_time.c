// SPDX-License-Identifier: MIT
#define _POSIX_C_SOURCE 200809L
#include "lbm_time.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void lbm_time_iso8601(long long t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outsz, "%lld", t);
}

void lbm_time_age(long long s, char *out, size_t outsz)
{
	if (s < 0)
		s = 0; /* a clock set back: not a negative age */
	if (s < 60)
		snprintf(out, outsz, "%llds", s);
	else if (s < 3600)
		snprintf(out, outsz, "%lldm", s / 60);
	else if (s < 86400)
		snprintf(out, outsz, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, outsz, "%lldd%lldh", s / 86400, s % 86400 / 3600);
}

int lbm_time_duration(const char *text, double *seconds)
{
	static const struct {
		char unit;
		double scale;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	double value, scale = 1;
	char *end;

	errno = 0;
	if (!*text || *text == '-' || *text == '+' || *text == ' ')
		return -1;
	value = strtod(text, &end);
	if (errno || end == text)
		return -1;
	if (*end) {
		size_t i;

		for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != *end; i++)
			;
		if (i == sizeof(units) / sizeof(units[0]) || end[1])
			return -1;
		scale = units[i].scale;
	}
	*seconds = value * scale;
	return *seconds > 0 && !isinf(*seconds) ? 0 : -1;
}
