#!/bin/sh
# SPDX-License-Identifier: MIT
# On a host whose kernel has no IPVS (this development machine, most CI
# runners), "lbmember lvs:// list" must exit 1 with a message that says so.
# A host that does have IPVS must instead list it (or, without root, say
# that CAP_NET_ADMIN is needed): the test fails on anything else.
out=$("$LBM_CLI" lvs:// list 2>&1)
rc=$?
json=$("$LBM_CLI" --json lvs:// list 2>/dev/null)
if [ -e /proc/net/ip_vs ]; then
	echo "this host's kernel has IPVS: checking that it is listed instead"
	[ $rc = 0 ] && exit 0
	[ $rc = 1 ] && echo "$out" | grep -q 'CAP_NET_ADMIN' && exit 0
	echo "unexpected: exit $rc: $out"
	exit 1
fi
echo "exit $rc: $out"
echo "$json"
[ $rc = 1 ] || { echo "FAIL: expected exit 1"; exit 1; }
[ "$out" = "lbmember: LVS: IPVS is not available in this kernel (module ip_vs not loaded? try 'modprobe ip_vs' as root)" ] ||
	{ echo "FAIL: not the expected message"; exit 1; }
echo "$json" | grep -q '"code": "ENOTSUP"' || { echo "FAIL: --json lacks ENOTSUP"; exit 1; }
echo "ok"
