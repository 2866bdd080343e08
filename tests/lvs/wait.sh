# SPDX-License-Identifier: MIT
# drain --wait against a real connection: a client holds a TCP connection to
# the VIP that IPVS scheduled to a local real server (direct routing to an
# address of this host). The wait times out while it stays open, and returns
# once it closes.
. /work/lib.sh
S=198.51.100.11:80
P=tcp:$S
ip addr add 198.51.100.11/32 dev lo
ip addr add 198.51.100.21/32 dev lo
ip addr add 198.51.100.22/32 dev lo
nc -ll -p 80 -e /bin/cat &
SERVER=$!
ipvsadm -A -t $S -s rr
ipvsadm -a -t $S -r 198.51.100.21:80 -g -w 3

# The client: its stdin is a fifo held open by this shell, so it stays
# connected until it is killed.
mkfifo /tmp/hold
nc 198.51.100.11 80 </tmp/hold >/dev/null &
CLIENT=$!
exec 3>/tmp/hold
for i in $(seq 50); do [ "$(active "-t $S" 198.51.100.21:80)" = 1 ] && break; sleep 0.1; done
[ "$(active "-t $S" 198.51.100.21:80)" = 1 ] && ok "client connected through IPVS to 198.51.100.21" ||
	fail "no active connection: $(ipvsadm -Lnc)"
ipvsadm -a -t $S -r 198.51.100.22:80 -g -w 3

# Times out while the connection stays open; the member is drained anyway.
t=$(now)
run 1 $L --json lvs:// drain --wait 2 $P 198.51.100.21
has '"code": "ETIMEDOUT"'
has '1 active connection left'
has '"state": "draining"'
[ "$(tenths_since $t)" -ge 20 ] && ok "waited 2 s" || fail "returned after $(tenths_since $t) tenths of a second"
expect_dest "-t $S" 198.51.100.21:80 "Route 0"
[ "$(active "-t $S" 198.51.100.21:80)" = 1 ] && ok "the connection survived the drain" || fail "connection lost"

# New connections go to the other member.
echo hi | nc -w 2 198.51.100.11 80 >/dev/null
[ "$(ipvsadm -Lnc | grep -c '198.51.100.22:80')" -ge 1 ] && ok "new connection went to 198.51.100.22" ||
	fail "new connection: $(ipvsadm -Lnc)"

# Returns once the client closes (2 s from now), well before the 30 s limit.
(sleep 2; kill $CLIENT) &
t=$(now)
run 0 $L lvs:// drain --wait 30 $P 198.51.100.21
took=$(tenths_since $t)
[ "$took" -ge 15 ] && [ "$took" -le 150 ] && ok "wait returned after the close ($took tenths)" ||
	fail "wait returned after $took tenths of a second"
[ "$(active "-t $S" 198.51.100.21:80)" = 0 ] && ok "no active connection left" || fail "still active"
exec 3>&-
run 0 $L lvs:// enable $P 198.51.100.21
expect_dest "-t $S" 198.51.100.21:80 "Route 3"

# A removed real server's connections are no longer counted by IPVS: the
# disable is made and reported, the wait refused at once (issue 13.3).
t=$(now)
run 1 $L --json lvs:// disable --wait 30 $P 198.51.100.21
has '"code": "ENOTSUP"'
has 'LVS: tcp:198.51.100.11:80/198.51.100.21:80 reports no connection count: cannot wait'
has '"result": "applied"'
[ "$(tenths_since $t)" -le 100 ] && ok "refused at once" || fail "waited $(tenths_since $t) tenths of a second"
expect_dest "-t $S" 198.51.100.21:80 "absent"
run 0 $L lvs:// enable $P 198.51.100.21
expect_dest "-t $S" 198.51.100.21:80 "Route 3"
kill $SERVER
finish
