# SPDX-License-Identifier: MIT
"""haproxy_out.py SOCKET BACKEND: print, as JSON, the servers of BACKEND that
HAProxy has out of rotation (admin state not ready), asking its runtime API
directly: the independent witness for the rolling playbook."""
import json
import socket
import sys

with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
    s.settimeout(10)
    s.connect(sys.argv[1])
    s.sendall(b"show servers state %s\n" % sys.argv[2].encode())
    reply = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
lines = [l for l in reply.decode().splitlines() if l.strip()]
head = lines[1].lstrip("# ").split()
rows = [dict(zip(head, l.split())) for l in lines[2:]]
print(json.dumps(sorted(r["srv_name"] for r in rows if r["srv_admin_state"] != "0")))
