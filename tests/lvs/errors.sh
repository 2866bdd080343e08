# SPDX-License-Identifier: MIT
# The errors: unknown service or member, a corrupt or empty state file,
# weight 0 with nothing recorded, no CAP_NET_ADMIN; and the state directory
# overrides (--state-dir, LBM_STATE_DIR, the default).
. /work/lib.sh
persistent_service

# Unknown service, unknown member, a pool that is not a service.
run 1 $L lvs:// list tcp:198.51.100.99:80
has 'no virtual service tcp:198.51.100.99:80'
run 1 $L lvs:// drain tcp:198.51.100.99:80 198.51.100.21
has "tcp:198.51.100.99:80"
run 1 $L lvs:// drain $P 198.51.100.99
has "has no member '198.51.100.99'"
run 1 $L lvs:// list web-backend
has 'expected tcp:VIP:PORT'
run 1 $L --json lvs:// list tcp:198.51.100.99:80
has '"code": "ENOTFOUND"'

# A corrupt record: a clear error naming the file, and nothing guessed.
run 0 $L lvs:// drain $P 198.51.100.22
F=$(ls $ST/*.json)
echo '{"weight": 3, "address": ' >"$F"
run 1 $L lvs:// list $P
has "state file $F is corrupt"
run 1 $L lvs:// enable $P 198.51.100.22
has 'is corrupt'
expect_dest "-t $S" 198.51.100.22:80 "Route 0"
: >"$F"
run 1 $L lvs:// enable $P 198.51.100.22
has "state file $F is empty"
echo '{"key": "tcp:198.51.100.11:80/198.51.100.22:80", "weight": "three"}' >"$F"
run 1 $L lvs:// enable $P 198.51.100.22
has 'a field is missing or out of range'
# Once removed, enabling needs the weight: lbmember does not invent one.
rm "$F"
run 1 $L lvs:// enable $P 198.51.100.22
has 'no weight recorded'
run 0 $L lvs:// enable --weight 3 $P 198.51.100.22
expect_dest "-t $S" 198.51.100.22:80 "Route 3"

# The same for a weight 0 set by another tool.
ipvsadm -e -t $S -r 198.51.100.23:80 -g -w 0
run 1 $L lvs:// enable $P 198.51.100.23
has 'give the weight to restore'
run 0 $L lvs:// enable --weight 3 $P 198.51.100.23

# --state-dir, then LBM_STATE_DIR, then the default.
run 0 $L --state-dir /tmp/sd-opt lvs:// drain $P 198.51.100.21
expect_records /tmp/sd-opt 1
expect_records $ST 0
run 0 $L --state-dir /tmp/sd-opt lvs:// enable $P 198.51.100.21
expect_records /tmp/sd-opt 0
run 0 env LBM_STATE_DIR=/tmp/sd-env $L lvs:// drain $P 198.51.100.21
expect_records /tmp/sd-env 1
run 0 env LBM_STATE_DIR=/tmp/sd-env $L lvs:// enable $P 198.51.100.21
expect_dest "-t $S" 198.51.100.21:80 "Route 3"
# A state directory that does not exist yet is not an error for reading.
run 0 env LBM_STATE_DIR=/tmp/nowhere/at/all $L lvs:// list $P
# One that cannot be created is, when something must be recorded.
: >/tmp/afile
run 1 env LBM_STATE_DIR=/tmp/afile/sub $L lvs:// drain $P 198.51.100.21
has 'state directory /tmp/afile/sub: Not a directory'
expect_dest "-t $S" 198.51.100.21:80 "Route 3"

# Without CAP_NET_ADMIN (a user namespace has none over this network namespace).
run 1 unshare -U $L lvs:// list
has 'CAP_NET_ADMIN'
run 1 unshare -U $L --json lvs:// drain $P 198.51.100.21
has '"code": "EPERM"'
finish
