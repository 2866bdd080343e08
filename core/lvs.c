// SPDX-License-Identifier: MIT
/* Placeholder until the LVS driver lands. */
#include "driver.h"

static int lvs_open(struct lbm *lb, const char *location, const struct lbm_options *opt)
{
	(void)location;
	(void)opt;
	return lbm_driver_fail(lb, LBM_ENOTSUP, "not implemented yet");
}

const struct lbm_driver lbm_driver_lvs = {
	.scheme = "lvs",
	.name = "LVS",
	.open = lvs_open,
};
