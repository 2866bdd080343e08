#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job, shown against a real HAProxy on loopback: list, drain with a
# wait while a user's request is still running, disable, enable, and the
# min_enabled guard; after each step HAProxy's own `show stat` shows the effect.
set -euo pipefail
. "$(dirname "$0")/setup.sh"

lbm_install
echo "== build"
lbm_build "$LBM_ROOT/build"
LBM="$LBM_ROOT/build/plugins/cli/lbmember"

work=$(mktemp -d /tmp/lbmember-demo.XXXXXX)
pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# Three web servers on 127.0.0.1; GET /slow takes 4 seconds, like a user's download.
cat > "$work/server.py" <<'PY'
import http.server, socketserver, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(4)
        body = f"served by {sys.argv[2]}\n".encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
front=$(free_port)
servers=""
for name in 198.51.100.76 198.51.100.77 198.51.100.78; do
	port=$(free_port)
	python3 "$work/server.py" "$port" "$name" & pids+=($!)
	servers+="    server $name 127.0.0.1:$port"$'\n'
done

# The backend is named and its servers are named as in the article operators
# follow; `balance first` sends the first request to 198.51.100.76.
cat > "$work/haproxy.cfg" <<CFG
global
    stats socket $work/admin.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend www
    bind 127.0.0.1:$front
    default_backend test.tianya.cn
backend test.tianya.cn
    balance first
$servers
CFG
haproxy -db -f "$work/haproxy.cfg" 2>"$work/haproxy.log" & pids+=($!)
for _ in $(seq 50); do [ -S "$work/admin.sock" ] && break; sleep 0.1; done
sleep 0.5
T="haproxy://$work/admin.sock"

show_stat() {
	echo "   HAProxy's own view (show stat):"
	python3 - "$work/admin.sock" <<'PY'
import csv, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while chunk := s.recv(65536): data += chunk
rows = csv.DictReader(data.decode().lstrip("# ").splitlines())
for r in rows:
    if r["svname"] not in ("FRONTEND", "BACKEND"):
        print(f"     {r['pxname']}/{r['svname']:<14} status={r['status']:<8} weight={r['weight']:<3} scur={r['scur']}")
PY
}
step() {
	echo
	echo "\$ lbmember ${*//$T/\$T}"
	"$LBM" "$@" || echo "   (exit status $?)"
}

echo
echo "== lbmember against a real HAProxy ($(haproxy -v | head -1 | cut -d' ' -f1-3)); T=$T"
step "$T" list
show_stat

echo
echo "-- a user starts a 4-second request; it lands on 198.51.100.76"
python3 -c "import urllib.request; print('   user got:', urllib.request.urlopen('http://127.0.0.1:$front/slow').read().decode().strip())" &
client=$!
for _ in $(seq 50); do
	"$LBM" --json "$T" status test.tianya.cn 198.51.100.76 | grep -q '"active": 1' && break
	sleep 0.1
done
step "$T" list test.tianya.cn
echo "   (198.51.100.76 has 1 active connection: drain lets it finish, --wait waits for it)"
step "$T" drain test.tianya.cn 198.51.100.76 --wait 30
wait $client
show_stat
step "$T" drain test.tianya.cn 198.51.100.76
step "$T" disable test.tianya.cn 198.51.100.76
show_stat
step "$T" disable test.tianya.cn 198.51.100.77 198.51.100.78
echo "   (refused, nothing touched: the backend would have no server left)"
step "$T" enable test.tianya.cn 198.51.100.76
show_stat
step --json "$T" status test.tianya.cn 198.51.100.76

# The same list, drain and enable on LVS: the real kernel IPVS, in a VM with
# no network device (this machine's kernel has none), ipvsadm as the witness.
echo
echo "== the same on LVS: the real Linux IPVS in a QEMU VM (no network device); ipvsadm -Ln is the witness"
cat > "$work/lvs.sh" <<'SH'
set -e
ipvsadm -A -t 198.51.100.11:80 -s wrr
for i in 76 77 78; do ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.$i:80 -g -w 5; done
step() { echo; echo "\$ lbmember $*"; lbmember "$@" || echo "   (exit status $?)"; }
witness() { echo "   the kernel's own view (ipvsadm -Ln):"; ipvsadm -Ln | sed 's/^/     /'; }
step lvs:// list
step lvs:// drain tcp:198.51.100.11:80 198.51.100.76 --reason 'kernel update'
witness
step lvs:// list
step lvs:// enable tcp:198.51.100.11:80 198.51.100.76
witness
SH
python3 "$LBM_ROOT/tests/lib/ipvs_vm.py" --cache "$LBM_ROOT/build/ipvs-vm-cache" --bin "$LBM" --timeout 120 \
	"$work/lvs.sh" | sed -n '/^\$ lbmember\|^   \|^     \|^POOL\|^tcp\|^lbmember/p'

# And on F5 BIG-IP: no device runs here, so the iControl REST emulator the
# tests use (tests/f5/README.md: F5's documented endpoints and recorded JSON).
echo
echo "== the same on F5 BIG-IP LTM: the iControl REST emulator of the tests (HTTPS on 127.0.0.1, token login)"
python3 - "$LBM_ROOT" "$LBM" <<'PY'
import os, subprocess, sys
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "lib"))
from f5_fixture import F5Emulator

pools = {"/Common/web": {"members": [{"name": "198.51.100.%d:80" % i} for i in (76, 77, 78)]}}
with F5Emulator(pools=pools) as f5:
    for args in (["list"], ["drain", "/Common/web", "198.51.100.76:80", "--reason", "kernel update"],
                 ["enable", "/Common/web", "198.51.100.76:80"]):
        print("\n$ lbmember --ca-file CA --password-file FILE f5://127.0.0.1:PORT " + " ".join(args), flush=True)
        subprocess.run([sys.argv[2], "--ca-file", f5.ca_file, "--password-file", f5.password_file, f5.target] + args,
                       env=dict(os.environ, LBM_F5_USER=f5.user))
        m = f5.member("/Common/web", "/Common/198.51.100.76:80")
        print("   the emulated BIG-IP's own view: 198.51.100.76:80 session=%s state=%s" % (m["session"], m["state"]))
PY
echo
echo "== demo done"
