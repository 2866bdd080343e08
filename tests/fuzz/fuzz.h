/* SPDX-License-Identifier: MIT */
/* Shared by the harnesses: an input is a sequence of segments separated by
 * FUZZ_SEP (one balancer answer each), so that one input can drive a whole
 * exchange (read, change, read back). Harnesses include this after the
 * driver they test, whose feature macros come first. */
#ifndef LBM_FUZZ_H
#define LBM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lbmember.h"

#define FUZZ_SEP "\n%%\n"

struct fuzz_in {
	const uint8_t *p;
	size_t n;
	bool done;
};

/* The next segment, or false once the input is used up. */
static inline bool fuzz_next(struct fuzz_in *in, const uint8_t **seg, size_t *len)
{
	size_t seplen = strlen(FUZZ_SEP);

	if (in->done)
		return false;
	*seg = in->p;
	for (size_t i = 0; i + seplen <= in->n; i++) {
		if (!memcmp(in->p + i, FUZZ_SEP, seplen)) {
			*len = i;
			in->p += i + seplen;
			in->n -= i + seplen;
			return true;
		}
	}
	*len = in->n;
	in->done = true;
	return true;
}

/* A NUL-terminated copy (the caller frees it). */
static inline char *fuzz_str(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s) {
		memcpy(s, data, len);
		s[len] = '\0';
	}
	return s;
}

/* Whether the input holds s (a secret the balancer may quote back, which
 * then proves nothing about lbmember). */
static inline bool fuzz_has(const uint8_t *data, size_t size, const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i + len <= size; i++)
		if (!memcmp(data + i, s, len))
			return true;
	return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One of the core's calls, chosen by op, on a handle whose balancer answers
 * from the input: both listings, a lookup, a change of two named members and
 * one of a member in every pool; guard off and a weight by op's high bits.
 * two names members of the pool "web"; member is one of them. */
static inline void fuzz_exercise(struct lbm *lb, uint8_t op, const struct lbm_ref two[2], const char *member)
{
	static const char *const web[] = { "web" };
	const struct lbm_ref any[] = { { NULL, member } };
	struct lbm_change how = LBM_CHANGE_INIT;
	struct lbm_result res = { 0 };
	struct lbm_listing l = { 0 };

	how.state = (enum lbm_state)(op % 3 + 1);
	if (op & 0x40) {
		how.flags |= LBM_CHANGE_HAS_MIN_ENABLED;
		how.min_enabled = 0;
	}
	if ((op & 0x80) && how.state == LBM_STATE_ENABLED) {
		how.flags |= LBM_CHANGE_HAS_WEIGHT;
		how.weight = op & 0x3f;
	}
	switch ((op >> 2) % 5) {
	case 0: lbm_pools(lb, NULL, 0, &l); break;
	case 1: lbm_pools(lb, web, 1, &l); break;
	case 2: lbm_member_get(lb, "web", member, &l); break;
	case 3: lbm_set_state(lb, two, 2, &how, &res); break;
	default: lbm_set_state(lb, any, 1, &how, &res); break;
	}
	lbm_listing_free(&l);
	lbm_result_free(&res);
}

#endif
