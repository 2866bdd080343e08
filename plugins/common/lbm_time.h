/* SPDX-License-Identifier: MIT */
/* Times as the faces show and take them: when a member was taken out
 * (lbm_member.since), how long ago, and durations a user types. */
#ifndef LBM_TIME_H
#define LBM_TIME_H

#include <stddef.h>

/* "2026-12-01T14:34:42Z" (UTC); out holds at least 24 bytes. */
void lbm_time_iso8601(long long t, char *out, size_t outsz);
/* "45s", "12m", "2h13m", "3d4h": seconds as an operator reads an age. */
void lbm_time_age(long long seconds, char *out, size_t outsz);
/* "90", "90s", "30m", "12h", "2d" (a number, then one unit at most) into
 * seconds above 0: 0, or -1 when it is not one. */
int lbm_time_duration(const char *text, double *seconds);

#endif
