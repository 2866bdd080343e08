// SPDX-License-Identifier: MIT
/* Placeholder until the HAProxy driver lands. */
#include "driver.h"

static int haproxy_open(struct lbm *lb, const char *location, const struct lbm_options *opt)
{
	(void)location;
	(void)opt;
	return lbm_driver_fail(lb, LBM_ENOTSUP, "not implemented yet");
}

const struct lbm_driver lbm_driver_haproxy = {
	.scheme = "haproxy",
	.name = "HAProxy",
	.open = haproxy_open,
};
