# SPDX-License-Identifier: MIT
"""An independent witness for playbooks: asks HAProxy's runtime API directly.

    haproxy_witness.py SOCKET out BACKEND          servers of BACKEND out of rotation (JSON list)
    haproxy_witness.py SOCKET server BACKEND NAME  {"status","admin","weight"} of one server (JSON)
    haproxy_witness.py SOCKET send COMMAND         send one runtime API command, print the reply
"""
import json
import socket
import sys


def send(path, command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(command.encode() + b"\n")
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return reply.decode()
            reply += chunk


def table(text, header_line):
    lines = [l for l in text.splitlines() if l.strip()]
    head = lines[header_line].lstrip("# ").replace(",", " ").split()
    sep = "," if "," in lines[-1] else None
    return [dict(zip(head, l.split(sep))) for l in lines[header_line + 1:]]


def main(path, what, *args):
    if what == "send":
        print(send(path, " ".join(args)).strip())
    elif what == "out":
        rows = table(send(path, "show servers state " + args[0]), 1)
        print(json.dumps(sorted(r["srv_name"] for r in rows if r["srv_admin_state"] != "0")))
    elif what == "server":
        state = [r for r in table(send(path, "show servers state " + args[0]), 1) if r["srv_name"] == args[1]][0]
        stat = [r for r in table(send(path, "show stat"), 0) if r["pxname"] == args[0] and r["svname"] == args[1]][0]
        print(json.dumps({"status": stat["status"], "admin": state["srv_admin_state"], "weight": stat["weight"]},
                         sort_keys=True))


if __name__ == "__main__":
    main(*sys.argv[1:])
