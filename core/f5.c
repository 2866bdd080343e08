// SPDX-License-Identifier: MIT
/* Placeholder until the F5 driver lands. */
#include "driver.h"

static int f5_open(struct lbm *lb, const char *location, const struct lbm_options *opt)
{
	(void)location;
	(void)opt;
	return lbm_driver_fail(lb, LBM_ENOTSUP, "not implemented yet");
}

const struct lbm_driver lbm_driver_f5 = {
	.scheme = "f5",
	.name = "F5",
	.open = f5_open,
};
