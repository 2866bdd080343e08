# SPDX-License-Identifier: MIT
# lvs://?netns=NAME: the IPVS table of a named network namespace (as
# "ip netns add" makes them), with records of its own.
. /work/lib.sh
touch /run/netns/blue
unshare --net=/run/netns/blue true
B="nsenter --net=/run/netns/blue"
$B ip link set lo up
$B ip addr add 198.51.100.1/24 dev lo
$B ipvsadm -A -t 198.51.100.11:80 -s wrr
$B ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.31 -g -w 7
$B ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.32 -m -w 7
$B ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.34 -g -w 1
# The same service name in the initial namespace, with other members.
ipvsadm -A -t 198.51.100.11:80 -s rr
ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.31 -g -w 2
ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.33 -g -w 2

run 0 $L "lvs://?netns=blue" disable tcp:198.51.100.11:80 198.51.100.32
has 'enabled'
[ "$($B ipvsadm -Ln | grep -c 198.51.100.32)" = 0 ] && ok "removed in blue" || fail "still in blue"
run 0 $L "lvs://?netns=blue" drain tcp:198.51.100.11:80 198.51.100.31
[ "$($B ipvsadm -Ln | awk '$2 == "198.51.100.31:80" { print $3, $4 }')" = "Route 0" ] && ok "drained in blue" ||
	fail "not drained in blue"
expect_dest "-t 198.51.100.11:80" 198.51.100.31:80 "Route 2"
# The initial namespace does not see blue's records.
run 0 $L lvs:// list tcp:198.51.100.11:80
lacks '198.51.100.32'
expect_records /var/lib/lbmember/netns/blue 2
expect_records /var/lib/lbmember 0
run 0 $L "lvs://?netns=blue" enable tcp:198.51.100.11:80 198.51.100.31 198.51.100.32
[ "$($B ipvsadm -Ln | awk '$2 ~ /^198.51.100.3[12]:80$/ { print $3, $4 }' | tr '\n' ' ')" = "Route 7 Masq 7 " ] &&
	ok "restored in blue" || fail "blue: $($B ipvsadm -Ln)"

run 1 $L "lvs://?netns=nope" list
has 'cannot open network namespace /run/netns/nope'
run 1 $L "lvs://?netns=../x" list
has 'not a namespace name'
run 1 $L "lvs://somehost" list
has 'expected lvs:// or lvs://\?netns=NAME'
finish
