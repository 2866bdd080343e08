// SPDX-License-Identifier: MIT
/* The smallest program on liblbmember: list a balancer's members.
 *   cc list_members.c $(pkg-config --cflags --libs lbmember) -o list_members
 *   ./list_members haproxy:///run/haproxy/admin.sock */
#include <lbmember.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	struct lbm_listing l = { 0 };
	struct lbm *lb;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s TARGET\n", argv[0]);
		return 2;
	}
	ret = lbm_open(&lb, argv[1], NULL);
	if (ret == 0)
		ret = lbm_pools(lb, NULL, 0, &l);
	if (ret < 0)
		fprintf(stderr, "%s: %s (%s)\n", argv[0], lbm_errmsg(lb), lbm_strerror(ret));
	for (size_t p = 0; p < l.n; p++)
		for (size_t i = 0; i < l.pools[p].n_members; i++)
			printf("%s %s %s\n", l.pools[p].name, l.pools[p].members[i].name,
			       lbm_state_name(l.pools[p].members[i].state));
	lbm_listing_free(&l);
	lbm_close(lb);
	return ret < 0;
}
