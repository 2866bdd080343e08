# SPDX-License-Identifier: MIT
# Who took a real server out, when and why (issue 18): the core's records
# in STATE_DIR/out, beside LVS's own (the weights to restore) in STATE_DIR;
# both follow LBM_STATE_DIR. And force_after, which LVS cannot do: refused
# before anything is touched.
. /work/lib.sh
persistent_service
OUTS=$ST/out

# A reason given with the drain: in the result, then in status and list.
run 0 env SUDO_USER=ops $L --json lvs:// drain --reason 'kernel update, ticket 42' $P 198.51.100.21
has '"reason": "kernel update, ticket 42"'
has '"by": "ops"'
run 0 $L --json lvs:// status $P 198.51.100.21
has '"state": "draining"'
has '"reason": "kernel update, ticket 42"'
has '"by": "ops"'
has '"since": '
lacks '"since": null'
run 0 $L lvs:// list $P
has '198\.51\.100\.21:80 .*kernel update, ticket 42$'
expect_records $ST 1
expect_records $OUTS 1
# Another real server, in rotation: no record.
run 0 $L --json lvs:// status $P 198.51.100.22
has '"reason": null'
has '"by": null'

# Disabling it now keeps why and since when it has been out.
run 0 $L --json lvs:// status $P 198.51.100.21
since=$(grep -o '"since": [^,]*' "$OUT")
run 0 $L lvs:// disable $P 198.51.100.21
run 0 $L --json lvs:// status $P 198.51.100.21
has '"state": "disabled"'
has '"reason": "kernel update, ticket 42"'
has "$since"
expect_dest "-t $S" 198.51.100.21:80 "absent"

# Enabling clears the record, and LVS's own.
run 0 $L lvs:// enable $P 198.51.100.21
expect_dest "-t $S" 198.51.100.21:80 "Route 3"
run 0 $L --json lvs:// status $P 198.51.100.21
has '"reason": null'
has '"since": null'
expect_records $ST 0
expect_records $OUTS 0

# Without a reason, who and when are still recorded.
run 0 $L lvs:// drain $P 198.51.100.22
run 0 $L --json lvs:// status $P 198.51.100.22
has '"reason": ""'
has '"by": "[^"]'
lacks '"since": null'
run 0 $L lvs:// enable $P 198.51.100.22
expect_records $OUTS 0

# LBM_STATE_DIR moves both stores; the default directory then knows nothing.
run 0 env LBM_STATE_DIR=/tmp/sd-rec $L lvs:// drain --reason 'disk swap' $P 198.51.100.23
expect_records /tmp/sd-rec 1
expect_records /tmp/sd-rec/out 1
expect_records $OUTS 0
run 0 env LBM_STATE_DIR=/tmp/sd-rec $L --json lvs:// status $P 198.51.100.23
has '"reason": "disk swap"'
run 0 $L --json lvs:// status $P 198.51.100.23
has '"reason": null'
run 0 env LBM_STATE_DIR=/tmp/sd-rec $L lvs:// enable $P 198.51.100.23
expect_records /tmp/sd-rec 0
expect_records /tmp/sd-rec/out 0
expect_dest "-t $S" 198.51.100.23:80 "Route 3"

# force_after: LVS cannot cut a drained real server's connections, so it is
# refused before anything is touched, a dry run too; nothing recorded.
for extra in "" --dry-run; do
	run 1 $L --json lvs:// drain --wait 5 --force-after 1 $extra --reason 'not me' $P 198.51.100.22
	has '"code": "ENOTSUP"'
	has 'LVS: cannot force: a drained real server.s connections cannot be cut: disable drops them \(the destination is removed\)'
	expect_dest "-t $S" 198.51.100.22:80 "Route 3"
done
run 1 $L lvs:// disable --wait 5 --force-after 1 $P 198.51.100.22
has 'cannot force'
expect_dest "-t $S" 198.51.100.22:80 "Route 3"
expect_records $ST 0
expect_records $OUTS 0
run 0 $L --json lvs:// status $P 198.51.100.22
has '"state": "enabled"'
has '"reason": null'
finish
