// SPDX-License-Identifier: MIT
/* IPVS generic netlink messages, as core/lvs.c parses them: each segment of
 * the input (fuzz.h) is the attribute payload of one message from the
 * kernel, handed to the driver's own on_valid() callback with the parser
 * of a service dump, a destination dump or a single service, then named
 * and described as `list` does. */
#define _GNU_SOURCE
#include "../../core/lvs.c"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static bool deliver(struct lbm *lb, const uint8_t *seg, size_t len,
		    int (*parse)(struct lbm *, struct nlattr **, void *), void *arg)
{
	struct exchange x = { .parse = parse, .lb = lb, .arg = arg };
	struct nl_msg *msg = nlmsg_alloc_size(NLMSG_HDRLEN + GENL_HDRLEN + len + NLMSG_ALIGNTO);
	bool ok;

	if (!msg)
		return false;
	if (!nlmsg_put(msg, 0, 0, 0x20, GENL_HDRLEN, 0) || nlmsg_append(msg, (void *)seg, len, NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return false;
	}
	on_valid(msg, &x);
	ok = x.parse_ret == 0;
	nlmsg_free(msg);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lvs lvs = { .quiescent_fd = -1, .store.lock_fd = -1 };
	struct lbm lb = { .driver = &lbm_driver_lvs, .priv = &lvs, .timeout_s = 1 };
	struct fuzz_in in;
	struct svcs svcs = { 0 };
	struct dests dests = { 0 }, recs = { 0 };
	struct svc one = { 0 };
	struct lbm_listing l = { 0 };
	struct lbm_pool *pool;
	const uint8_t *seg;
	size_t len;
	char text[LBM_NAME_MAX];
	bool ok = true;

	if (!size)
		return 0;
	in = (struct fuzz_in){ .p = data + 1, .n = size - 1 };
	/* As exchange() does, the first message that fails to parse ends the
	 * dump, and the driver then uses nothing from it. */
	while (ok && fuzz_next(&in, &seg, &len)) {
		switch (data[0] % 3) {
		case 0: ok = deliver(&lb, seg, len, add_svc, &svcs); break;
		case 1: ok = deliver(&lb, seg, len, add_dest, &dests); break;
		default:
			ok = deliver(&lb, seg, len, parse_svc_attrs, &one);
			if (ok)
				describe_svc(&one, text, sizeof(text));
		}
	}
	if (!ok)
		svcs.n = dests.n = 0;
	for (size_t i = 0; i < svcs.n; i++)
		describe_svc(&svcs.v[i], text, sizeof(text));
	for (size_t i = 0; i < dests.n; i++) {
		if (!dests.v[i].af)
			dests.v[i].af = AF_INET;
		dest_name(&dests.v[i]);
	}
	if (dests.n)
		qsort(dests.v, dests.n, sizeof(*dests.v), dest_cmp);
	if ((pool = lbm_pool_add(&l, "tcp:198.51.100.1:80")))
		add_members(&lb, &l, pool, svcs.n ? &svcs.v[0] : &one, &dests, &recs);
	lbm_listing_free(&l);
	free(svcs.v);
	free(dests.v);
	return 0;
}
