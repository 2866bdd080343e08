# SPDX-License-Identifier: MIT
# Runs inside the IPVS VM (busybox sh, root): builds services with ipvsadm,
# runs check_lb_members in each situation and prints each result between
# markers for test_lvs.py to judge.
P="$CHECK_LB_MEMBERS"
case_() {
	name=$1
	shift
	echo "@@begin $name"
	"$@"
	echo "@@end $name rc=$?"
}
set -e
ipvsadm -A -t 198.51.100.10:80 -s wrr
for r in 11 12 13; do ipvsadm -a -t 198.51.100.10:80 -r 198.51.100.$r:80 -m -w 2; done
ipvsadm -A -u 198.51.100.10:53 -s rr
ipvsadm -a -u 198.51.100.10:53 -r 198.51.100.21:53 -m -w 1
ipvsadm -A -t [2001:db8::10]:443 -s rr
ipvsadm -a -t [2001:db8::10]:443 -r [2001:db8::11]:443 -m -w 1
set +e
case_ all_enabled "$P" -T lvs://
# A monitoring user: without privileges, then with a file capability on a
# copy of the binary (tmpfs keeps security xattrs).
mkdir -p /etc /caps
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
echo 'nogroup:x:65534:' >>/etc/group
mount -t tmpfs -o mode=755 tmpfs /caps
cp "$P" /caps/check_lb_members
setcap cap_net_admin+ep /caps/check_lb_members
case_ nobody su -s /bin/sh nobody -c "$P -T lvs://"
case_ nobody_with_cap su -s /bin/sh nobody -c "/caps/check_lb_members -T lvs://"
ipvsadm -e -t 198.51.100.10:80 -r 198.51.100.12:80 -m -w 0
case_ one_weight_zero "$P" -T lvs:// -w 0 -c 2
case_ percent "$P" -T lvs:// -P tcp:198.51.100.10:80 --percent -w 30 -c 50 -v
ipvsadm -e -u 198.51.100.10:53 -r 198.51.100.21:53 -m -w 0
case_ udp_empty "$P" -T lvs:// -P udp:198.51.100.10:53
case_ missing "$P" -T lvs:// -P tcp:198.51.100.99:80
# No CAP_NET_ADMIN: the same binary in a new user namespace, which has no
# capability over the initial network namespace where IPVS lives.
case_ no_cap unshare -U "$P" -T lvs://
ipvsadm -Ln
