/* SPDX-License-Identifier: MIT */
/* Shared by the core's own files (lbmember.c, registry.c, strings.c), not by
 * drivers or faces. */
#ifndef LBM_CORE_H
#define LBM_CORE_H

#include "driver.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- registry.c: the drivers compiled in, and every option ---- */

/* The driver for a scheme of len bytes, or NULL. */
const struct lbm_driver *lbm_driver_for(const char *scheme, size_t len);
/* "lvs://, haproxy://, f5://", for messages. */
const char *lbm_known_schemes(void);

/* ---- strings.c: strings in chunks that never move, freed at once ---- */

/* A copy of text (len bytes) in *s, which is made on first use; NULL when
 * memory ran out, which *s then remembers. */
const char *lbm_strings_add(struct lbm_strings **s, const char *text, size_t len);
/* Whether memory ran out in s (or for s itself). */
bool lbm_strings_failed(const struct lbm_strings *s);
void lbm_strings_free(struct lbm_strings *s);

/* ---- lbmember.c: a change in steps, as a group takes it on each balancer ---- */

struct change;

/* Check, list and plan (the guard applied): nothing touched; *out holds the
 * outcomes a dry run reports, also on failure. */
int lbm_change_plan(struct lbm *lb, const struct lbm_ref *refs, size_t n, const struct lbm_change *how,
		    struct change **out);
/* Apply the plan, read it back. */
int lbm_change_apply(struct lbm *lb, struct change *c);
/* Wait up to wait_s for the members to settle (0: tell the progress
 * function once), cutting what is left after force_after_s (0: never). */
int lbm_change_wait(struct lbm *lb, struct change *c, double wait_s, double force_after_s);
/* Put back as `before` what the applied change changed (state, and the
 * weight it moved): each such outcome becomes LBM_OUTCOME_UNDONE, or
 * LBM_OUTCOME_NOT_UNDONE. How many were undone, or the first failure. */
int lbm_change_undo(struct lbm *lb, struct change *c);
/* The change's result (the handle's warnings in it); frees the rest. */
void lbm_change_finish(struct lbm *lb, struct change *c, struct lbm_result *res);
/* Append src's outcomes and warnings to dst, strings copied; warnings get
 * prefix first. 0 or LBM_ENOMEM. */
int lbm_result_append(struct lbm_result *dst, const struct lbm_result *src, const char *prefix);
/* Append src's pools to dst, strings copied. 0 or LBM_ENOMEM. */
int lbm_listing_append(struct lbm_listing *dst, const struct lbm_listing *src);

/* ---- records.c: who took members out, when and why (lbm_member.reason) ---- */

/* Fill in the records of l's members that are still as recorded. Never
 * fails: l->records_error says why there are none when they cannot be read. */
void lbm_records_attach(struct lbm *lb, struct lbm_listing *l);
/* Whether a record can be written: 0, or an error saying nothing was changed. */
int lbm_records_check(struct lbm *lb);
/* After a change: record the members taken out (their `after` shows it),
 * clear those enabled. A failure is a warning: the change is made. */
void lbm_records_update(struct lbm *lb, const struct lbm_change *how, struct lbm_result *res);

/* ---- group.c: a handle over several balancers (targets with commas) ---- */

/* Whether targets lists several: a comma before another "SCHEME://". */
bool lbm_group_targets(const char *targets);
int lbm_group_open(struct lbm *lb, const char *targets, const struct lbm_options *opt);
int lbm_group_pools(struct lbm *lb, const char *const *names, size_t n, struct lbm_listing *out);
int lbm_group_member_get(struct lbm *lb, const char *pool, const char *member, struct lbm_listing *out);
int lbm_group_set_state(struct lbm *lb, const struct lbm_ref *refs, size_t n, const struct lbm_change *how,
			struct lbm_result *res);
int lbm_group_save_state(struct lbm *lb, const char *path);

#endif
