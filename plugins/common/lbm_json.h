/* SPDX-License-Identifier: MIT */
/* JSON shapes shared by the faces that speak JSON (CLI --json, Ansible), so
 * that a member looks the same wherever an operator reads it. */
#ifndef LBM_JSON_H
#define LBM_JSON_H

#include <jansson.h>

#include "lbmember.h"

/* {"name","address","port","state","health","weight","active","inactive","status","held","follows",
 *  "template","ephemeral"}; numbers a balancer does not report, and an empty
 * held or follows, are null; template and ephemeral are booleans. */
json_t *lbm_json_member(const struct lbm_member *m);
/* {"pool","changed","result","before":member,"after":member}; result is
 * "unchanged", "applied", "not_applied" or "would_apply" (lbmember.h). */
json_t *lbm_json_outcome(const struct lbm_outcome *o);
/* [outcome, ...] */
json_t *lbm_json_outcomes(const struct lbm_result *res);
/* [{"name","detail","members":[member, ...]}, ...] */
json_t *lbm_json_pools(const struct lbm_pool *pools, size_t n);
/* {"code":"ENOTFOUND","message":...} */
json_t *lbm_json_error(int code, const char *message);

#endif
