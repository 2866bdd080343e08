/* SPDX-License-Identifier: MIT */
/* Help texts of the command-line faces (lbmember, check_lb_members), built
 * from the core's tables of drivers and options. */
#ifndef LBM_HELP_H
#define LBM_HELP_H

#include <stddef.h>
#include <stdio.h>

#include "lbmember.h"

/* Print text from column at, folding it before column 80 to column indent. */
void lbm_help_wrap(FILE *f, const char *text, int indent, int at);
/* An option's name as a command line spells it: "password_file" -> "password-file". */
void lbm_help_dashed(char *out, size_t outsz, const char *name);
/* "(f5) User to log in as. Default: $LBM_F5_USER." */
void lbm_help_option(char *out, size_t outsz, const struct lbm_option_info *o);

#endif
