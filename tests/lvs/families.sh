# SPDX-License-Identifier: MIT
# UDP, SCTP, fwmark (IPv4 and IPv6) and IPv6 services; members given without
# their port; pool names typed the way people type them.
. /work/lib.sh

cycle() { # cycle POOL MEMBER SERVICE DEST EXPECTED
	run 0 $L lvs:// drain "$1" "$2"
	expect_dest "$3" "$4" "${5% *} 0"
	run 0 $L lvs:// disable "$1" "$2"
	expect_dest "$3" "$4" absent
	run 0 $L lvs:// enable "$1" "$2"
	expect_dest "$3" "$4" "$5"
}

ipvsadm -A -u 198.51.100.12:53 -s wrr
ipvsadm -a -u 198.51.100.12:53 -r 198.51.100.21 -g -w 2
ipvsadm -a -u 198.51.100.12:53 -r 198.51.100.22 -m -w 5
cycle udp:198.51.100.12:53 198.51.100.22 "-u 198.51.100.12:53" 198.51.100.22:53 "Masq 5"

ipvsadm -A --sctp-service 198.51.100.13:5060 -s rr
ipvsadm -a --sctp-service 198.51.100.13:5060 -r 198.51.100.21 -g -w 2
ipvsadm -a --sctp-service 198.51.100.13:5060 -r 198.51.100.22 -g -w 3
cycle sctp:198.51.100.13:5060 198.51.100.22 "--sctp-service 198.51.100.13:5060" 198.51.100.22:5060 "Route 3"

ipvsadm -A -f 7 -s sh -b sh-port
ipvsadm -a -f 7 -r 198.51.100.21 -g -w 1
ipvsadm -a -f 7 -r 198.51.100.22 -i -w 6
cycle fwm:7 198.51.100.22 "-f 7" 198.51.100.22:0 "Tunnel 6"
run 0 $L --json lvs:// list fwm:7
has '"detail": "sh sh-port"'

ipvsadm -A -f 8 -6 -s rr
ipvsadm -a -f 8 -6 -r 2001:db8::21 -g -w 2
ipvsadm -a -f 8 -6 -r 2001:db8::22 -g -w 4
cycle fwm6:8 2001:db8::22 "-f 8 -6" "[2001:db8::22]:0" "Route 4"

ipvsadm -A -t [2001:db8::11]:443 -s rr
ipvsadm -a -t [2001:db8::11]:443 -r [2001:db8::21]:443 -m -w 5
ipvsadm -a -t [2001:db8::11]:443 -r [2001:db8::22]:8443 -m -w 9
cycle "tcp:[2001:db8::11]:443" "[2001:db8::22]" "-t [2001:db8::11]:443" "[2001:db8::22]:8443" "Masq 9"
# Typed loosely: upper case, a non-canonical address, the member's full form.
run 0 $L lvs:// drain "TCP:[2001:DB8:0::11]:443" "[2001:0db8::22]:8443"
expect_dest "-t [2001:db8::11]:443" "[2001:db8::22]:8443" "Masq 0"
run 0 $L --json lvs:// list "TCP:[2001:DB8:0::11]:443"
has '"name": "tcp:\[2001:db8::11\]:443"'
run 0 $L lvs:// enable - "[2001:db8::22]:8443"
expect_dest "-t [2001:db8::11]:443" "[2001:db8::22]:8443" "Masq 9"

# A member without its port is found by its address (the only one with it).
ipvsadm -A -t 198.51.100.11:80 -s rr
ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.21:80 -g -w 3
ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.22:8080 -m -w 3
cycle tcp:198.51.100.11:80 198.51.100.22 "-t 198.51.100.11:80" 198.51.100.22:8080 "Masq 3"
# ... and "-" finds every service holding it (udp, sctp, fwm 7, tcp).
run 0 $L --json lvs:// drain - 198.51.100.21
has '"pool": "udp:198.51.100.12:53"'
has '"pool": "sctp:198.51.100.13:5060"'
has '"pool": "fwm:7"'
has '"pool": "tcp:198.51.100.11:80"'
expect_dest "-u 198.51.100.12:53" 198.51.100.21:53 "Route 0"
expect_dest "-f 7" 198.51.100.21:0 "Route 0"
run 0 $L lvs:// enable - 198.51.100.21
expect_dest "-u 198.51.100.12:53" 198.51.100.21:53 "Route 2"
expect_dest "-t 198.51.100.11:80" 198.51.100.21:80 "Route 3"
expect_records /var/lib/lbmember 0
finish
