# SPDX-License-Identifier: MIT
# A process killed with SIGKILL in the middle of a state-store write leaves
# the store readable and every original weight recoverable.
# LBM_STATE_TEST_PAUSE_S (test hook, see core/statestore.c) makes the write
# pause after half of the temporary file is written.
. /work/lib.sh
S=198.51.100.11:80
P=tcp:$S
ST=/var/lib/lbmember
ipvsadm -A -t $S -s rr
ipvsadm -a -t $S -r 198.51.100.21:80 -g -w 3
ipvsadm -a -t $S -r 198.51.100.22:80 -m -w 5 -x 50 -y 5
ipvsadm -a -t $S -r 198.51.100.23:80 -i -w 4

# crash_during VERB MEMBER: start VERB with the pause, kill -9 it mid-write.
crash_during() {
	LBM_STATE_TEST_PAUSE_S=60 $L lvs:// $1 $P $2 >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 100); do ls $ST/*.tmp >/dev/null 2>&1 && break; sleep 0.1; done
	if ls $ST/*.tmp >/dev/null 2>&1; then
		ok "caught $1 $2 in the middle of its write"
	else
		fail "no temporary file appeared"
	fi
	kill -9 $pid
	wait $pid
	[ $? = 137 ] && ok "killed with SIGKILL" || fail "not killed by SIGKILL"
}

# 1. A record of another member exists; a second write is killed half way.
run 0 $L lvs:// drain $P 198.51.100.22
crash_during drain 198.51.100.21
[ -s "$(ls $ST/*.tmp)" ] && ok "a half-written temporary file is left" || fail "no partial file"
run 0 $L --json lvs:// list $P
has '"status": "Masq; thresholds lower 5 upper 50; recorded weight 5"'
expect_dest "-t $S" 198.51.100.21:80 "Route 3"
expect_records $ST 1
run 0 $L lvs:// enable $P 198.51.100.22
expect_dest "-t $S" 198.51.100.22:80 "Masq 5"
[ "$(thresholds "-t $S" 198.51.100.22:80)" = "50 5" ] && ok "thresholds restored" || fail "thresholds lost"

# 2. The next writer clears the leftover and works normally.
run 0 $L lvs:// drain $P 198.51.100.21
[ -z "$(ls $ST/*.tmp 2>/dev/null)" ] && ok "leftover temporary file removed" || fail "leftover stays"
run 0 $L lvs:// disable $P 198.51.100.21
run 0 $L lvs:// enable $P 198.51.100.21
expect_dest "-t $S" 198.51.100.21:80 "Route 3"

# 3. Killed while recording a member about to be removed: it stays in place,
#    and disabling it again records it and removes it, enabling restores it.
crash_during disable 198.51.100.23
expect_dest "-t $S" 198.51.100.23:80 "Tunnel 4"
run 0 $L lvs:// disable $P 198.51.100.23
expect_dest "-t $S" 198.51.100.23:80 absent
run 0 $L lvs:// enable $P 198.51.100.23
expect_dest "-t $S" 198.51.100.23:80 "Tunnel 4"
expect_records $ST 0
finish
