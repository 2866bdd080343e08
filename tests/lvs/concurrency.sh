# SPDX-License-Identifier: MIT
# Eight processes drain, disable and enable eight different members of one
# service at once, repeatedly. Afterwards every member has its original
# method and weight and the state store holds nothing and no leftovers.
. /work/lib.sh
S=198.51.100.11:80
P=tcp:$S
ROUNDS=2
ipvsadm -A -t $S -s wrr -p 60
ipvsadm -a -t $S -r 198.51.100.20:80 -g -w 1
for i in 1 2 3 4 5 6 7 8; do
	case $i in
	1 | 4 | 7) ipvsadm -a -t $S -r 198.51.100.2$i:80 -m -w $((i * 10)) -x $((i * 100)) -y $i ;;
	2 | 5 | 8) ipvsadm -a -t $S -r 198.51.100.2$i:80 -i -w $((i * 10)) ;;
	*) ipvsadm -a -t $S -r 198.51.100.2$i:80 -g -w $((i * 10)) ;;
	esac
done
ipvsadm -Ln >/tmp/before
ipvsadm -Ln --thresholds >>/tmp/before

worker() {
	m=198.51.100.2$1
	for r in $(seq $ROUNDS); do
		for verb in drain disable enable; do
			$L lvs:// $verb $P $m >/tmp/w$1.out 2>&1 || { echo "worker $1 round $r $verb failed:"; cat /tmp/w$1.out; return 1; }
		done
	done
}
pids=""
for i in 1 2 3 4 5 6 7 8; do
	worker $i &
	pids="$pids $!"
done
n=0
for p in $pids; do wait $p || n=$((n + 1)); done
[ $n = 0 ] && ok "8 workers x $ROUNDS rounds x 3 changes succeeded" || fail "$n worker(s) failed"

ipvsadm -Ln >/tmp/after
ipvsadm -Ln --thresholds >>/tmp/after
if cmp -s /tmp/before /tmp/after; then
	ok "every member has its original method, weight and thresholds"
else
	fail "the table changed:"
	diff /tmp/before /tmp/after
fi
# LVS's own records beside the core's who-and-why records in out/: both
# empty again, each with its lock file only.
for d in /var/lib/lbmember /var/lib/lbmember/out; do
	expect_records $d 0
	[ "$(ls -A $d | grep -v -e '^\.lock$' -e '^out$' | wc -l)" = 0 ] && ok "no temporary files left in $d" ||
		fail "left over in $d: $(ls -A $d)"
done
run 0 $L lvs:// list $P
finish
