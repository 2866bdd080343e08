# SPDX-License-Identifier: MIT
# The seed scenario: a persistent rr service with five Route real servers of
# weight 3. disable/enable/drain/enable must restore Route and weight 3, not
# the defaults a bare "ipvsadm -a" gives; Masq and Tunnel keep their method.
. /work/lib.sh
S=198.51.100.11:80
P=tcp:$S
ipvsadm -A -t $S -s rr -p 60
for i in 21 22 23 24 25; do ipvsadm -a -t $S -r 198.51.100.$i:80 -g -w 3; done

run 0 $L lvs:// disable $P 198.51.100.23:80
expect_dest "-t $S" 198.51.100.23:80 absent
run 0 $L --json lvs:// status $P 198.51.100.23
has '"state": "disabled"'
has '"status": "removed; recorded Route weight 3"'
expect_records /var/lib/lbmember 1
run 0 $L lvs:// enable $P 198.51.100.23:80
expect_dest "-t $S" 198.51.100.23:80 "Route 3"
expect_records /var/lib/lbmember 0

run 0 $L lvs:// drain $P 198.51.100.23:80
expect_dest "-t $S" 198.51.100.23:80 "Route 0"
run 0 $L --json lvs:// status $P 198.51.100.23:80
has '"state": "draining"'
has '"weight": 0'
run 0 $L lvs:// enable $P 198.51.100.23:80
expect_dest "-t $S" 198.51.100.23:80 "Route 3"

# Draining, then disabling, then enabling: still the original weight.
run 0 $L lvs:// drain $P 198.51.100.24
run 0 $L lvs:// disable $P 198.51.100.24
expect_dest "-t $S" 198.51.100.24:80 absent
run 0 $L lvs:// enable $P 198.51.100.24
expect_dest "-t $S" 198.51.100.24:80 "Route 3"

# What the seed article's bare "ipvsadm -a" does, for contrast: the defaults.
ipvsadm -a -t $S -r 198.51.100.29:80
expect_dest "-t $S" 198.51.100.29:80 "Route 1"

# Masq (with thresholds) and Tunnel keep their method, weight and thresholds.
ipvsadm -a -t $S -r 198.51.100.26:8080 -m -w 2 -x 100 -y 10
ipvsadm -a -t $S -r 198.51.100.27:80 -i -w 4
for m in 198.51.100.26:8080 198.51.100.27:80; do
	before=$(witness "-t $S" $m)
	limits=$(thresholds "-t $S" $m)
	run 0 $L lvs:// disable $P $m
	expect_dest "-t $S" $m absent
	run 0 $L lvs:// enable $P $m
	expect_dest "-t $S" $m "$before"
	run 0 $L lvs:// drain $P $m
	expect_dest "-t $S" $m "${before% *} 0"
	run 0 $L lvs:// enable $P $m
	expect_dest "-t $S" $m "$before"
	[ "$(thresholds "-t $S" $m)" = "$limits" ] && ok "$m thresholds kept ($limits)" ||
		fail "$m thresholds $(thresholds "-t $S" $m), expected $limits"
done
[ "$(thresholds "-t $S" 198.51.100.26:8080)" = "100 10" ] && ok "Masq thresholds 100 10" ||
	fail "Masq thresholds are $(thresholds "-t $S" 198.51.100.26:8080)"

# An explicit weight overrides the recorded one; the record is dropped.
run 0 $L lvs:// drain $P 198.51.100.25
run 0 $L lvs:// enable --weight 7 $P 198.51.100.25
expect_dest "-t $S" 198.51.100.25:80 "Route 7"
expect_records /var/lib/lbmember 0

# The listing shows what ipvsadm -Ln shows about the service.
run 0 $L --json lvs:// list $P
has '"detail": "rr persistent 60"'
has '"status": "Masq; thresholds lower 10 upper 100"'
has '"status": "Tunnel"'
finish
