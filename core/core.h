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

#endif
