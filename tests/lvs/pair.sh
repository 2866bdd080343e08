# SPDX-License-Identifier: MIT
# Two directors of an HA pair, as two network namespaces: the comma form
# changes both tables (the IPVS sync daemon syncs connections, not weights),
# plans on both before touching either, and puts each back as it was.
. /work/lib.sh
for ns in a b; do
	touch /run/netns/$ns
	unshare --net=/run/netns/$ns true
	nsenter --net=/run/netns/$ns ip link set lo up
done
A="nsenter --net=/run/netns/a"
B="nsenter --net=/run/netns/b"
S=198.51.100.11:80
P=tcp:$S
PAIR="lvs://?netns=a,lvs://?netns=b"
# The same service on each director; b weighs its real servers differently.
for i in 21 22 23; do
	[ $i = 21 ] && { $A ipvsadm -A -t $S -s wrr; $B ipvsadm -A -t $S -s wrr; }
	$A ipvsadm -a -t $S -r 198.51.100.$i:80 -g -w 3
	$B ipvsadm -a -t $S -r 198.51.100.$i:80 -g -w 5
done
# in NS DEST: "Forward Weight" of DEST in that namespace.
in_ns() { nsenter --net=/run/netns/$1 ipvsadm -Ln -t $S | awk -v d="$2" '$2 == d { print $3, $4 }'; }
expect_ns() {
	got=$(in_ns "$1" "$2")
	[ "$got" = "$3" ] && ok "$1: $2 is '$3'" || fail "$1: $2 is '$got', expected '$3'"
}

run 0 $L "$PAIR" list $P
has '^BALANCER '
has "^lvs://\?netns=a +$P"
has "^lvs://\?netns=b +$P"

run 0 $L "$PAIR" drain $P 198.51.100.21
has "^lvs://\?netns=a: $P/198.51.100.21:80: enabled weight 3 -> draining weight 0$"
has "^lvs://\?netns=b: $P/198.51.100.21:80: enabled weight 5 -> draining weight 0$"
expect_ns a 198.51.100.21:80 "Route 0"
expect_ns b 198.51.100.21:80 "Route 0"
expect_records /var/lib/lbmember/netns/a 1
expect_records /var/lib/lbmember/netns/b 1

# Each director gets back its own weight.
run 0 $L "$PAIR" enable $P 198.51.100.21
expect_ns a 198.51.100.21:80 "Route 3"
expect_ns b 198.51.100.21:80 "Route 5"
expect_records /var/lib/lbmember/netns/a 0
expect_records /var/lib/lbmember/netns/b 0

# --wait waits on both: a client of director b holds a connection to
# 198.51.100.22 (a local real server of b's, as in wait.sh); a has none.
# While it connects, b's other real servers weigh 0, so IPVS picks 22.
$B ip addr add 198.51.100.11/32 dev lo
$B ip addr add 198.51.100.22/32 dev lo
$B nc -ll -p 80 -e /bin/cat &
SERVER=$!
for i in 21 23; do $B ipvsadm -e -t $S -r 198.51.100.$i:80 -g -w 0; done
mkfifo /tmp/hold
$B nc 198.51.100.11 80 </tmp/hold >/dev/null &
CLIENT=$!
exec 3>/tmp/hold
b_active() { $B ipvsadm -Ln -t $S | awk '$2 == "198.51.100.22:80" { print $5 }'; }
for i in $(seq 50); do [ "$(b_active)" = 1 ] && break; sleep 0.1; done
[ "$(b_active)" = 1 ] && ok "b: a client connected to 198.51.100.22" || fail "b: no connection: $($B ipvsadm -Lnc)"
for i in 21 23; do $B ipvsadm -e -t $S -r 198.51.100.$i:80 -g -w 5; done
run 1 $L --json "$PAIR" drain $P 198.51.100.22 --wait 1
has '"code": "ETIMEDOUT"'
has '1 active connection left'
expect_ns a 198.51.100.22:80 "Route 0"
expect_ns b 198.51.100.22:80 "Route 0"
# Once b's connection closes, the wait on both returns. Closed 2 s from
# now, so that the wait has begun (an ASan build starts slowly under TCG)
# and still has at least a second to wait.
(sleep 2; kill $CLIENT) &
run 0 $L "$PAIR" drain $P 198.51.100.22 --wait 20
has "settled after [1-9]"
exec 3>&-
kill $SERVER 2>/dev/null
run 0 $L "$PAIR" enable $P 198.51.100.22
expect_ns a 198.51.100.22:80 "Route 3"
expect_ns b 198.51.100.22:80 "Route 5"

# The guard judges each director: b has 22 drained already, so draining 23
# through the pair would leave b with 21 alone... and with 21 drained too,
# none. Refused before a is touched.
run 0 $L "lvs://?netns=b" drain $P 198.51.100.22
run 0 $L "lvs://?netns=b" drain $P 198.51.100.21
run 1 $L "$PAIR" drain $P 198.51.100.23
has "lvs://\?netns=b.*min_enabled 1"
expect_ns a 198.51.100.23:80 "Route 3"
expect_ns b 198.51.100.23:80 "Route 5"
run 0 $L "lvs://?netns=b" enable $P 198.51.100.21 198.51.100.22

# A real server on a alone: not found on b, refused before a is touched.
$A ipvsadm -a -t $S -r 198.51.100.24:80 -g -w 3
run 1 $L "$PAIR" disable $P 198.51.100.24
has "lvs://\?netns=b"
expect_ns a 198.51.100.24:80 "Route 3"
expect_records /var/lib/lbmember/netns/a 0
# b's state directory is read only: b can be planned (its records read) but
# cannot record the weight to restore, so the drain fails on b after a was
# drained, and a is put back as it was, weight 3.
D=/var/lib/lbmember/netns/b
mkdir -p $D
mount --bind $D $D
mount -o remount,ro,bind $D
run 1 $L "$PAIR" drain $P 198.51.100.23
has "^lvs://\?netns=a: $P/198.51.100.23:80: put back as it was"
has "lvs://\?netns=b.*$D"
expect_ns a 198.51.100.23:80 "Route 3"
expect_ns b 198.51.100.23:80 "Route 5"
expect_records /var/lib/lbmember/netns/a 0
umount $D
# Its state directory a file: b cannot even be read, so nothing is touched.
rm -rf $D
touch $D
run 1 $L "$PAIR" drain $P 198.51.100.23
has "lvs://\?netns=b: LVS: cannot read state directory $D: Not a directory"
lacks "put back"
expect_ns a 198.51.100.23:80 "Route 3"
finish
