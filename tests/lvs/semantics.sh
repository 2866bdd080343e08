# SPDX-License-Identifier: MIT
# Idempotency, the persistence warning, dry run and min_enabled.
. /work/lib.sh
persistent_service

# Idempotency: the second time changes nothing and says so.
for verb in drain disable enable; do
	run 0 $L --json lvs:// $verb $P 198.51.100.21
	has '^  "changed": true'
	run 0 $L --json lvs:// $verb $P 198.51.100.21
	has '^  "changed": false'
done
expect_dest "-t $S" 198.51.100.21:80 "Route 3"

# Persistence: warned about, the sysctl left alone; no warning once it is 1.
run 0 $L lvs:// drain $P 198.51.100.21
has 'expire_quiescent_template is 0'
[ "$(cat /proc/sys/net/ipv4/vs/expire_quiescent_template)" = 0 ] && ok "sysctl untouched" || fail "sysctl changed"
run 0 $L lvs:// enable $P 198.51.100.21
echo 1 >/proc/sys/net/ipv4/vs/expire_quiescent_template
run 0 $L lvs:// drain $P 198.51.100.21
lacks 'expire_quiescent'
run 0 $L lvs:// enable $P 198.51.100.21
echo 0 >/proc/sys/net/ipv4/vs/expire_quiescent_template

# Dry run: the predicted result, nothing written (not even a record).
run 0 $L --json lvs:// drain --dry-run $P 198.51.100.22
has '"dry_run": true'
has '^  "changed": true'
has '"state": "draining"'
expect_dest "-t $S" 198.51.100.22:80 "Route 3"
expect_records $ST 0
run 0 $L lvs:// drain $P 198.51.100.22
run 0 $L --json lvs:// enable --dry-run $P 198.51.100.22
has '"weight": 3'
expect_dest "-t $S" 198.51.100.22:80 "Route 0"
run 0 $L lvs:// enable $P 198.51.100.22

# min_enabled: refused before anything is touched.
run 0 $L lvs:// drain $P 198.51.100.21 198.51.100.22
run 1 $L lvs:// disable $P 198.51.100.23
has 'min_enabled'
expect_dest "-t $S" 198.51.100.23:80 "Route 3"
run 1 $L lvs:// drain --min-enabled 3 $P 198.51.100.23
run 0 $L lvs:// drain --min-enabled 0 $P 198.51.100.23
expect_dest "-t $S" 198.51.100.23:80 "Route 0"
run 0 $L lvs:// enable $P 198.51.100.21 198.51.100.22 198.51.100.23
for i in 21 22 23; do expect_dest "-t $S" 198.51.100.$i:80 "Route 3"; done

finish
