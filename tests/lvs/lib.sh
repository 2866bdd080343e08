# SPDX-License-Identifier: MIT
# Helpers for the LVS cases, sourced inside the VM (busybox sh, root, real
# IPVS). The lbmember CLI is $LBM_CLI; ipvsadm is the independent witness.
L="$LBM_CLI"
FAILS=0
OUT=/tmp/lbm-last

# persistent_service: the service semantics.sh and errors.sh start from,
# persistent, with three direct-routing real servers of weight 3. Sets S (as
# ipvsadm names it), P (as lbmember does) and ST (the default state directory).
persistent_service() {
	S=198.51.100.11:80
	P=tcp:$S
	ST=/var/lib/lbmember
	ipvsadm -A -t $S -s wrr -p 30
	for i in 21 22 23; do ipvsadm -a -t $S -r 198.51.100.$i:80 -g -w 3; done
}

ok() { echo "ok - $*"; }
fail() {
	echo "FAIL - $*"
	FAILS=$((FAILS + 1))
}

# run STATUS CMD...: run CMD, keep its stdout+stderr in $OUT, check its exit status.
run() {
	want=$1
	shift
	"$@" >"$OUT" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "exit $rc, expected $want: $*"
		sed 's/^/    | /' "$OUT"
		return 1
	fi
	ok "exit $rc: $*"
}

# has PATTERN: the last run's output matches the extended regexp.
has() {
	if grep -Eq -- "$1" "$OUT"; then
		ok "output has '$1'"
	else
		fail "output lacks '$1'"
		sed 's/^/    | /' "$OUT"
	fi
}

lacks() {
	if grep -Eq -- "$1" "$OUT"; then
		fail "output has '$1'"
		sed 's/^/    | /' "$OUT"
	else
		ok "output lacks '$1'"
	fi
}

# witness SERVICE DEST: "Forward Weight" of DEST as ipvsadm -Ln lists it, or
# "absent". SERVICE as ipvsadm takes it: "-t 198.51.100.11:80", "-f 7".
witness() {
	ipvsadm -Ln $1 | awk -v d="$2" '$1 == "->" && $2 == d { print $3, $4; f = 1 } END { if (!f) print "absent" }'
}

# thresholds SERVICE DEST: "Upper Lower" as ipvsadm -Ln --thresholds lists them.
thresholds() {
	ipvsadm -Ln --thresholds $1 | awk -v d="$2" '$1 == "->" && $2 == d { print $3, $4 }'
}

# active SERVICE DEST: ActiveConn of DEST.
active() {
	ipvsadm -Ln $1 | awk -v d="$2" '$1 == "->" && $2 == d { print $5 }'
}

expect_dest() {
	got=$(witness "$1" "$2")
	if [ "$got" = "$3" ]; then
		ok "ipvsadm: $2 in '$1' is '$3'"
	else
		fail "ipvsadm: $2 in '$1' is '$got', expected '$3'"
		ipvsadm -Ln
	fi
}

# records: how many state records the store at $1 holds.
records() {
	ls "$1" 2>/dev/null | grep -c '\.json$'
}

expect_records() {
	got=$(records "$1")
	if [ "$got" = "$2" ]; then
		ok "state store $1 holds $2 record(s)"
	else
		fail "state store $1 holds $got record(s), expected $2"
		ls -la "$1"
	fi
}

# now: seconds since boot, with hundredths.
now() { cut -d' ' -f1 /proc/uptime; }

# elapsed START: seconds since START (from now), as an integer of tenths.
tenths_since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%d", (e - s) * 10 }'; }

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed"
		ipvsadm -Ln
		exit 1
	fi
	echo "all checks passed"
}
