/* SPDX-License-Identifier: MIT */
/* Help texts of the command-line faces (lbmember, check_lb_members), built
 * from the core's tables of drivers and options. */
#ifndef LBM_HELP_H
#define LBM_HELP_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lbmember.h"

/* Print text from column at, folding it before column 80 to column indent. */
void lbm_help_wrap(FILE *f, const char *text, int indent, int at);
/* An option's name as a command line spells it: "password_file" -> "password-file". */
void lbm_help_dashed(char *out, size_t outsz, const char *name);
/* "(f5) User to log in as. Default: $LBM_F5_USER." */
void lbm_help_option(char *out, size_t outsz, const struct lbm_option_info *o);
/* getopt_long()'s table: the face's own options (own, n_own), then every
 * option of lbm_option_info() that offered() keeps (NULL: all), dashed, its
 * val base + its index there; with alias_base, each alias too, its val
 * alias_base + the index. A secret is in it, taking an optional argument,
 * for the face to refuse by name: getopt_long() would otherwise take it for
 * the abbreviation of another (--password for --password-file). One block
 * (names included) to free(), or NULL. */
struct option *lbm_help_getopt(const struct option *own, size_t n_own, bool (*offered)(const struct lbm_option_info *o),
			       int base, int alias_base);

#endif
