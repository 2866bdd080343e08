/* SPDX-License-Identifier: MIT */
/* JSON shapes shared by the faces that speak JSON (CLI --json, Ansible), so
 * that a member looks the same wherever an operator reads it. */
#ifndef LBM_JSON_H
#define LBM_JSON_H

#include <jansson.h>

#include "lbmember.h"

/* A JSON string of s; bytes that are not UTF-8 become '?'. */
json_t *lbm_json_text(const char *s);
/* {"name","address","port","state","health","weight","restore_weight","active","inactive","status",
 *  "held","follows","template","ephemeral","agent","reason","by","since"};
 * numbers a balancer does not report, and an absent held or follows, are
 * null; template, ephemeral and agent are booleans (enum lbm_member_flags);
 * reason, by and since (ISO 8601, UTC) are null without a record. */
json_t *lbm_json_member(const struct lbm_member *m);
/* {"balancer","pool","changed","result","before":member,"after":member,"cut"};
 * result is "unchanged", "applied", "not_applied", "would_apply", "undone"
 * or "not_undone" (lbmember.h); cut is the connections force_after cut. */
json_t *lbm_json_outcome(const struct lbm_outcome *o);
/* [outcome, ...] */
json_t *lbm_json_outcomes(const struct lbm_result *res);
/* [warning, ...] */
json_t *lbm_json_warnings(const struct lbm_result *res);
/* [{"balancer","name","detail","members":[member, ...]}, ...] */
json_t *lbm_json_pools(const struct lbm_listing *l);
/* {"code":"ENOTFOUND","message":...} */
json_t *lbm_json_error(int code, const char *message);

#endif
