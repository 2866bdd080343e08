# SPDX-License-Identifier: MIT
# LVS under keepalived (Debian's package, in the VM): keepalived owns the
# table and re-asserts its configuration, so lbmember must never fight it
# silently.
# Part 1, keepalived alone (ipvsadm the only tool): what lbmember relies on.
# A weight changed or a real server removed behind keepalived's back is put
# back when its check fails and recovers and at a restart; a real server
# drained through its track_file (FILE_CHECK, weight -65535) stays drained
# through a failed and recovered check, a reload (HUP) and a restart, and
# is put back by writing 0.
# Part 2, lbmember against it: drains and enables through the track file,
# refuses (EOWNER) what keepalived would undo unless --ignore-owner, never
# re-adds what keepalived removed (EHELD), and leaves a service keepalived
# does not manage as it always did.
# ipvs_vm: keepalived
# ipvs_vm: file tests/lvs/keepalived:/work/keepalived
. /work/lib.sh
VIP=198.51.100.11
V="-t $VIP:80"
P=tcp:$VIP:80
KLOG=/tmp/keepalived.log
CONF=/etc/keepalived/keepalived.conf
cp /work/keepalived/keepalived.conf $CONF
mkdir -p /etc/keepalived/drain /tmp/www
echo ok >/tmp/www/index.html

# The real servers: a busybox httpd on each address, checked by keepalived.
srv() {
	httpd -f -p 198.51.100.$1:80 -h /tmp/www &
	eval "HTTPD_$1=$!"
}
stop_srv() {
	eval "kill \$HTTPD_$1"
	eval "wait \$HTTPD_$1"
}
for i in 81 82 83 84 85 86 87 88; do
	ip addr add 198.51.100.$i/32 dev lo
	srv $i
done

# ka_start [ARGS]: keepalived as Debian's unit runs it (in the foreground),
# logging to $KLOG; returns once its table is in IPVS.
ka_start() {
	t=$(now)
	keepalived --dont-fork --log-console --no-syslog "$@" >>$KLOG 2>&1 &
	KA=$!
	n=0
	until [ -s /run/checkers.pid ] && [ "$(ipvsadm -Ln $V 2>/dev/null | grep -c '^  ->')" -ge 7 ]; do
		n=$((n + 1))
		if [ $n -gt 150 ]; then
			fail "keepalived${1:+ $*} did not set up its table in 15 s"
			tail -30 $KLOG
			return 1
		fi
		sleep 0.1
	done
	ok "keepalived${1:+ $*} started (pid $KA) and set up $VIP:80 in $(tenths_since $t) tenths of a second"
}
# ka_stop: SIGTERM, as systemd stops it; keepalived removes its table.
ka_stop() {
	kill $KA
	wait $KA
	ipvsadm -Ln $V >/dev/null 2>&1 && fail "keepalived stopped but left $VIP:80" ||
		ok "keepalived stopped and removed $VIP:80"
}
# ka_reload: SIGHUP, as systemctl reload does; returns once it is reloaded.
ka_reload() {
	before=$(grep -c 'Reload complete' $KLOG)
	kill -HUP $KA
	until_log 'Reload complete' "$before"
}
# until_log PATTERN N: wait up to 10 s for the log to hold more than N
# lines matching PATTERN.
until_log() {
	t=$(now)
	while [ "$(grep -c -- "$1" $KLOG)" -le "$2" ] && [ "$(tenths_since $t)" -lt 100 ]; do sleep 0.1; done
	if [ "$(grep -c -- "$1" $KLOG)" -gt "$2" ]; then
		ok "keepalived logged '$1' after $(tenths_since $t) tenths of a second"
	else
		fail "keepalived did not log '$1' in 10 s"
		tail -20 $KLOG
	fi
}
# until_dest N WANT [S]: wait up to S s (10) for ipvsadm to show
# 198.51.100.N:80 as WANT ("Route 5", "absent", or "present": not absent).
until_dest() {
	t=$(now)
	while :; do
		got=$(witness "$V" 198.51.100.$1:80)
		case $2 in
		present) [ "$got" != absent ] && break ;;
		*) [ "$got" = "$2" ] && break ;;
		esac
		[ "$(tenths_since $t)" -ge $((${3:-10} * 10)) ] && break
		sleep 0.1
	done
	if [ "$2" = present ] && [ "$got" != absent ] || [ "$got" = "$2" ]; then
		ok "ipvsadm: .$1 is '$got' after $(tenths_since $t) tenths of a second"
	else
		fail "ipvsadm: .$1 is '$got', expected '$2' within ${3:-10} s"
		ipvsadm -Ln
		tail -20 $KLOG
	fi
}
# check_fails N: stop .N's httpd and wait for keepalived's check to fail.
check_fails() {
	before=$(grep -c "TCP_CHECK on service \[198.51.100.$1\]:tcp:80 failed" $KLOG)
	stop_srv $1
	until_log "TCP_CHECK on service \[198.51.100.$1\]:tcp:80 failed" "$before"
}
# check_recovers N: start .N's httpd again and wait for the check to succeed.
check_recovers() {
	before=$(grep -c "TCP connection to \[198.51.100.$1\]:tcp:80 success" $KLOG)
	srv $1
	until_log "TCP connection to \[198.51.100.$1\]:tcp:80 success" "$before"
}
track() {
	got=$(cat /etc/keepalived/drain/$1 2>&1)
	[ "$got" = "$2" ] && ok "track file drain/$1 holds $2" || fail "track file drain/$1 holds '$got', expected $2"
}

T0=$(now)
echo "# part 1: keepalived alone"
ka_start
for p in /run/keepalived.pid /run/checkers.pid; do
	pid=$(cat $p)
	[ "$(cat /proc/$pid/comm)" = keepalived ] && ok "$p: $pid is keepalived" || fail "$p: $pid is '$(cat /proc/$pid/comm)'"
done
[ "$(cat /run/keepalived.pid)" = "$KA" ] && ok "/run/keepalived.pid is the parent" || fail "/run/keepalived.pid is not $KA"
track 81 0
for i in 81 82 83; do until_dest $i "Route 5"; done
# Behind keepalived's back: .82's weight set to 0, .83 removed; .81 drained
# through its track file.
ipvsadm -e $V -r 198.51.100.82:80 -g -w 0
ipvsadm -d $V -r 198.51.100.83:80
echo 1 >/etc/keepalived/drain/81
until_dest 81 "Route 0" 5

echo "# a check fails and recovers"
for i in 81 82 83; do check_fails $i; done
until_dest 81 absent
until_dest 82 absent
for i in 81 82 83; do check_recovers $i; done
until_dest 82 "Route 5"
until_dest 83 "Route 5"
until_dest 81 present
expect_dest "$V" 198.51.100.81:80 "Route 0"

echo "# a reload (HUP)"
ipvsadm -e $V -r 198.51.100.82:80 -g -w 0
ipvsadm -d $V -r 198.51.100.83:80
ka_reload
sleep 1
expect_dest "$V" 198.51.100.81:80 "Route 0"
# Not relied on: keepalived 2.2.7 leaves a real server whose configuration
# did not change as IPVS has it (.82 weight 0, .83 absent) at a reload.
echo "note: after the reload .82 is '$(witness "$V" 198.51.100.82:80)', .83 '$(witness "$V" 198.51.100.83:80)'"

echo "# a restart"
ka_stop
for p in /run/keepalived.pid /run/checkers.pid; do
	[ -e $p ] && fail "$p left after keepalived stopped" || ok "$p removed at the stop"
done
ka_start
expect_dest "$V" 198.51.100.81:80 "Route 0"
expect_dest "$V" 198.51.100.82:80 "Route 5"
expect_dest "$V" 198.51.100.83:80 "Route 5"
track 81 1

echo "# the track file back to 0"
echo 0 >/etc/keepalived/drain/81
until_dest 81 "Route 5" 5
ka_reload
sleep 1
expect_dest "$V" 198.51.100.81:80 "Route 5"
echo "part 1 took $(tenths_since $T0) tenths of a second"

echo "# part 2: lbmember"
T1=$(now)
ST=/var/lib/lbmember
ERR=/tmp/lbm-err
# run2 STATUS CMD...: as run, with stdout in $OUT and stderr in $ERR apart.
run2() {
	want=$1
	shift
	"$@" >"$OUT" 2>"$ERR"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "exit $rc, expected $want: $*"
		sed 's/^/    1| /' "$OUT"
		sed 's/^/    2| /' "$ERR"
		return 1
	fi
	ok "exit $rc: $*"
}
err_has() {
	if grep -Eq -- "$1" "$ERR"; then
		ok "stderr has '$1'"
	else
		fail "stderr lacks '$1'"
		sed 's/^/    2| /' "$ERR"
	fi
}
err_lacks() {
	if grep -Eq -- "$1" "$ERR"; then
		fail "stderr has '$1'"
		sed 's/^/    2| /' "$ERR"
	else
		ok "stderr lacks '$1'"
	fi
}
# no_record N: nothing in the state directory (records or out/) names .N.
no_record() {
	got=$(grep -rl "198\.51\.100\.$1:" $ST 2>/dev/null)
	[ -z "$got" ] && ok "no record of .$1" || fail "records of .$1 left: $got"
}
for i in 84 85 86 87; do until_dest $i "Route 5"; done

echo "## drain through the track file (.84)"
run2 0 $L lvs:// drain $P 198.51.100.84
err_lacks warning
track 84 1
# lbmember returns once keepalived applied it.
expect_dest "$V" 198.51.100.84:80 "Route 0"
run 0 $L --json lvs:// status $P 198.51.100.84
has '"state": "draining"'
echo "## ...and keepalived keeps it drained: a check fails and recovers, a reload, a restart"
check_fails 84
until_dest 84 absent
check_recovers 84
until_dest 84 present
expect_dest "$V" 198.51.100.84:80 "Route 0"
ka_reload
sleep 1
expect_dest "$V" 198.51.100.84:80 "Route 0"
ka_stop
ka_start
expect_dest "$V" 198.51.100.84:80 "Route 0"
run 0 $L lvs:// drain $P 198.51.100.84
has 'already draining'
echo "## disable refused, track file or not"
run 1 $L --json lvs:// disable $P 198.51.100.84
has '"code": "EOWNER"'
has keepalived
expect_dest "$V" 198.51.100.84:80 "Route 0"
track 84 1
echo "## enable through the track file"
run2 0 $L lvs:// enable $P 198.51.100.84
err_lacks warning
track 84 0
expect_dest "$V" 198.51.100.84:80 "Route 5"
ka_reload
sleep 1
expect_dest "$V" 198.51.100.84:80 "Route 5"
no_record 84

echo "## drain without a track file (.85): refused, touching nothing"
run 1 $L --json lvs:// drain $P 198.51.100.85
has '"code": "EOWNER"'
has keepalived
has 'track_file'
has 'FILE_CHECK'
has 'weight -65535'
has "$CONF"
expect_dest "$V" 198.51.100.85:80 "Route 5"
no_record 85
run2 1 $L lvs:// drain $P 198.51.100.85
err_has 'keepalived'
err_has 'track_file'
expect_dest "$V" 198.51.100.85:80 "Route 5"
echo "## ...done with --ignore-owner, and said"
run2 0 $L --ignore-owner lvs:// drain $P 198.51.100.85
err_has '^lbmember: warning: .*keepalived'
expect_dest "$V" 198.51.100.85:80 "Route 0"
echo "## disable without a track file (.86): refused, then --ignore-owner"
run 1 $L --json lvs:// disable $P 198.51.100.86
has '"code": "EOWNER"'
has keepalived
expect_dest "$V" 198.51.100.86:80 "Route 5"
no_record 86
run2 0 $L --ignore-owner lvs:// disable $P 198.51.100.86
err_has '^lbmember: warning: .*keepalived'
expect_dest "$V" 198.51.100.86:80 absent
echo "## the warnings were true: a restart puts both back"
ka_stop
ka_start
expect_dest "$V" 198.51.100.85:80 "Route 5"
expect_dest "$V" 198.51.100.86:80 "Route 5"
echo "## stale records: enable says keepalived put them back, and drops them"
# One command: any command that reads the service drops every stale record
# of it (and says so), not only those of the members it names.
run2 0 $L lvs:// enable $P 198.51.100.85 198.51.100.86
has '198\.51\.100\.85:80: already enabled'
has '198\.51\.100\.86:80: already enabled'
err_has '^lbmember: warning: .*198\.51\.100\.85:80.*keepalived'
err_has '^lbmember: warning: .*198\.51\.100\.86:80.*keepalived'
expect_dest "$V" 198.51.100.85:80 "Route 5"
expect_dest "$V" 198.51.100.86:80 "Route 5"
no_record 85
no_record 86

echo "## enable never re-adds what keepalived removed (.87)"
run 0 $L --json --ignore-owner lvs:// drain $P 198.51.100.87
has '"changed": true'
has '"warnings": \[$'
has '^    ".*keepalived'
expect_dest "$V" 198.51.100.87:80 "Route 0"
check_fails 87
until_dest 87 absent
run 1 $L --json lvs:// enable $P 198.51.100.87
has '"code": "EHELD"'
has keepalived
expect_dest "$V" 198.51.100.87:80 absent
no_record 87
run 0 $L lvs:// list $P
lacks '198\.51\.100\.87'
check_recovers 87
until_dest 87 "Route 5"

echo "## a service keepalived does not manage: as without keepalived"
U="-t 198.51.100.12:80"
Q=tcp:198.51.100.12:80
ipvsadm -A $U -s wrr
for i in 91 92 93; do ipvsadm -a $U -r 198.51.100.$i:80 -g -w 3; done
run2 0 $L lvs:// drain $Q 198.51.100.91
err_lacks 'warning|keepalived'
expect_dest "$U" 198.51.100.91:80 "Route 0"
run2 0 $L lvs:// disable $Q 198.51.100.92
err_lacks keepalived
expect_dest "$U" 198.51.100.92:80 absent
run2 0 $L lvs:// enable $Q 198.51.100.91 198.51.100.92
err_lacks 'warning|keepalived'
expect_dest "$U" 198.51.100.91:80 "Route 3"
expect_dest "$U" 198.51.100.92:80 "Route 3"

echo "## ldirectord: found the same way, and only warned about"
# A process called ldirectord (a script of that name: ldirectord is one)
# and its pid file, as ldirectord writes /run/ldirectord.CONFIG.pid.
printf '#!/bin/sh\nsleep 600\n' >/tmp/ldirectord
chmod +x /tmp/ldirectord
/tmp/ldirectord &
LD=$!
echo $LD >/run/ldirectord.ldirectord.cf.pid
run2 0 $L lvs:// drain $Q 198.51.100.91
err_has "^lbmember: warning: ldirectord \\(pid $LD\\) manages IPVS here"
expect_dest "$U" 198.51.100.91:80 "Route 0"
run2 0 $L lvs:// enable $Q 198.51.100.91
expect_dest "$U" 198.51.100.91:80 "Route 3"
kill $LD
rm /run/ldirectord.ldirectord.cf.pid
run2 0 $L lvs:// drain $Q 198.51.100.91
err_lacks ldirectord
run2 0 $L lvs:// enable $Q 198.51.100.91

echo "## inhibit_on_failure: a failed check's weight 0 is down, not draining (.88)"
V13="-t 198.51.100.13:80"
stop_srv 88
t=$(now)
until [ "$(witness "$V13" 198.51.100.88:80)" = "Route 0" ] || [ "$(tenths_since $t)" -ge 100 ]; do sleep 0.1; done
[ "$(witness "$V13" 198.51.100.88:80)" = "Route 0" ] && ok "keepalived inhibited .88" || fail "not inhibited: $(ipvsadm -Ln)"
run 0 $L --json lvs:// status tcp:198.51.100.13:80 198.51.100.88
has '"state": "enabled"'
has '"health": "down"'
has 'its check failed \(inhibit_on_failure\)'
srv 88
t=$(now)
until [ "$(witness "$V13" 198.51.100.88:80)" = "Route 5" ] || [ "$(tenths_since $t)" -ge 100 ]; do sleep 0.1; done
run 0 $L --json lvs:// status tcp:198.51.100.13:80 198.51.100.88
has '"health": "unknown"'
lacks 'inhibit_on_failure'

echo "## the configuration named by keepalived's -f (the default one gone)"
ka_stop
mv $CONF /etc/keepalived/elsewhere.conf
ka_start -f /etc/keepalived/elsewhere.conf
run2 0 $L lvs:// drain $P 198.51.100.84
track 84 1
expect_dest "$V" 198.51.100.84:80 "Route 0"
run2 0 $L lvs:// enable $P 198.51.100.84
track 84 0
expect_dest "$V" 198.51.100.84:80 "Route 5"
run 1 $L --json lvs:// drain $P 198.51.100.85
has '"code": "EOWNER"'

echo "## pid files left by a killed keepalived: nobody owns the table"
KC=$(cat /run/checkers.pid)
kill -STOP $KA # or it would start a new checker process
kill -9 $KC
kill -9 $KA
wait $KA
[ -s /run/keepalived.pid ] && [ -s /run/checkers.pid ] && ok "both pid files left" || fail "pid files: $(ls /run)"
expect_dest "$V" 198.51.100.85:80 "Route 5"
run2 0 $L lvs:// drain $P 198.51.100.85
err_lacks 'warning|keepalived'
expect_dest "$V" 198.51.100.85:80 "Route 0"
echo "## ...or naming a process that is not keepalived"
sleep 600 &
SLEEPER=$!
echo $SLEEPER >/run/keepalived.pid
echo $SLEEPER >/run/checkers.pid
run2 0 $L lvs:// enable $P 198.51.100.85
err_lacks 'warning|keepalived'
expect_dest "$V" 198.51.100.85:80 "Route 5"
kill $SLEEPER
rm -f /run/keepalived.pid /run/checkers.pid

echo "## a keepalived in another network namespace owns that one's table only"
# keepalived -s a: /run/keepalived/a/keepalived.pid, /run/keepalived/a/checkers.pid
touch /run/netns/a
unshare --net=/run/netns/a true
A="nsenter --net=/run/netns/a"
$A ip link set lo up
$A ip addr add 198.51.100.85/32 dev lo
$A httpd -f -p 198.51.100.85:80 -h /tmp/www &
HTTPD_A=$!
keepalived --dont-fork --log-console --no-syslog -s a -f /etc/keepalived/elsewhere.conf >>$KLOG 2>&1 &
KA=$!
n=0
until [ -s /run/keepalived/a/checkers.pid ] && $A ipvsadm -Ln $V 2>/dev/null | grep -q 198.51.100.85:80; do
	n=$((n + 1))
	[ $n -gt 150 ] && break
	sleep 0.1
done
[ $n -le 150 ] && ok "keepalived -s a set up $VIP:80 in namespace a" || fail "keepalived -s a: $(ls -R /run/keepalived)"
# The root namespace's table (left by the killed keepalived): not its.
run2 0 $L lvs:// drain $P 198.51.100.85
err_lacks 'warning|keepalived'
expect_dest "$V" 198.51.100.85:80 "Route 0"
run2 0 $L lvs:// enable $P 198.51.100.85
expect_dest "$V" 198.51.100.85:80 "Route 5"
# Namespace a's: its.
run 1 $L --json "lvs://?netns=a" drain $P 198.51.100.85
has '"code": "EOWNER"'
has keepalived
[ "$($A ipvsadm -Ln $V | awk '$2 == "198.51.100.85:80" { print $3, $4 }')" = "Route 5" ] &&
	ok "a: .85 is 'Route 5'" || fail "a: .85 changed: $($A ipvsadm -Ln $V)"
kill $KA
wait $KA
kill $HTTPD_A
echo "part 2 took $(tenths_since $T1) tenths of a second"
[ "$FAILS" -ne 0 ] && tail -60 $KLOG
finish
