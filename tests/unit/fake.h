/* SPDX-License-Identifier: MIT */
/* A balancer in memory, for testing the core and the faces without one. */
#ifndef LBM_FAKE_H
#define LBM_FAKE_H

#include "driver.h"

struct fake_model {
	struct lbm_listing balancer; /* what the balancer holds */
	unsigned list_calls, apply_calls, items_applied, cut_calls;
	unsigned whole_lists; /* list calls that asked for every pool */
	int fail_apply_after; /* > 0: apply fails with LBM_EIO after that many items */
	long drain_per_list;  /* active connections that close between two listings */
	const char *hold;     /* member name that stays disabled whatever is asked */
	bool propagate;	      /* followers take their leader's new state, as HAProxy's do */
};

/* The model behind a handle opened on "fake://POOL:M1,M2;POOL2:M3", where a
 * member is NAME or NAME@ADDR:PORT, then optionally >POOL/LEADER: it follows
 * that member (lbm_member.follows; states pass on only with propagate).
 * Members start enabled, weight 1, 0 active connections. */
struct fake_model *fake_model(struct lbm *lb);
struct lbm_member *fake_member(struct lbm *lb, const char *pool, const char *name);

#endif
