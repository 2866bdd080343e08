/* SPDX-License-Identifier: MIT */
/* lb_member's argument_spec: its own options, then those of lbm_open(),
 * taken from the core's table (lbm_option_info()), so that the module takes
 * every option a balancer has, under the table's names, with no list here
 * to keep in step. lb_member.c validates with it; lb_member_doc.c writes
 * the documentation of the table's options from it. */
#ifndef LBM_ANSIBLE_SPEC_H
#define LBM_ANSIBLE_SPEC_H

#include <jansson.h>
#include <stdbool.h>

#include "argspec.h"
#include "lbmember.h"

#define SPEC_MAX 64

/* One of lbm_open()'s options as the module offers it. */
struct open_option {
	const struct lbm_option_info *info;
	const struct as_option *spec; /* its entry in struct spec's opts */
	bool inverted;		      /* true in the module is false in the table */
	/* The module's own words, for an option it renames; NULL: the table's help. */
	const char *description;
};

struct spec {
	struct as_option opts[SPEC_MAX]; /* for as_validate() */
	size_t n;
	struct open_option open[SPEC_MAX];
	size_t n_open;
};

/* Fill s. Returns 0, or -1 with *why when the table does not fit or one of
 * its names is also one of the module's own. */
int spec_build(struct spec *s, const char **why);

/*
 * Set opt from the validated params, through lbm_option_parse(): an option
 * null is left out, a number or a boolean is handed over as text. Strings
 * point into params, which must outlive lbm_open(). Returns 0, or
 * LBM_EINVAL with the table's message in err.
 */
int spec_open_options(const struct spec *s, const json_t *params, struct lbm_options *opt, char *err, size_t errsz);

#endif
