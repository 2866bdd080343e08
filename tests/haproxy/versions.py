# SPDX-License-Identifier: MIT
"""What each HAProxy of the test matrix does, in the points where versions
differ and lbmember depends on it: the table of docs/haproxy-versions.md.

Usage: versions.py OUT.md HAPROXY...
Probes each binary (each starts its own haproxy on loopback), writes the
table to OUT.md, and fails when docs/haproxy-versions.md lacks a row exactly
as probed, so the document says what the matrix found.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from haproxy_fixture import HAProxy, BackendServer  # noqa: E402

DOC = os.path.join(HERE, "..", "..", "docs", "haproxy-versions.md")
COLUMNS = ["version", "MASTER proxy in `show servers state`", "`# programs` in `show proc`",
           "old worker's `show stat` lists its backends", "`add server`", "reload keeps a drain (state file)",
           "`disable agent` holds a drain", "answers past 16 KB of commands on one connection"]


def version_of(binary):
    out = subprocess.run([binary, "-v"], capture_output=True, text=True).stdout
    return re.search(r"version (\S+)", out).group(1)


def yes(b):
    return "yes" if b else "no"


def probe(binary):
    row = [version_of(binary)]
    backend = BackendServer("127.0.0.2").start()
    workdir = tempfile.mkdtemp(prefix="lbm-haproxy-")
    state = os.path.join(workdir, "server-state")
    h = HAProxy({"b": [("s1", backend.host, backend.port), ("s2", backend.host, backend.port)]}, haproxy=binary,
                master=True,
                workdir=workdir, global_extra="    server-state-file %s" % state,
                defaults_extra="    load-server-state-from-file global")
    h.start()
    try:
        row.append(yes("MASTER" in h.command("show servers state")))
        row.append(yes("# programs" in h.master_command("show proc")))
        # A connection left on the old worker by a reload.
        held = h.hold("b", "s1")
        backend.wait_held(1)
        h.reload()
        old = h.workers()[1]
        listed = bool(old) and "b,s1," in h.master_command("@!%d show stat -1 4 -1" % old[0])
        row.append(yes(listed))
        backend.release()
        held.close()
        added = h.command("add server b/dyn 127.0.0.9:80")
        if "Unknown command" in added or "experimental" in added.lower():
            experimental = h.command("experimental-mode on; add server b/dyn 127.0.0.9:80")
            row.append("experimental" if experimental.strip() in ("", "New server registered.") else "no")
        else:
            row.append("yes")
        h.command("set server b/s2 state drain")
        with open(state, "w") as f:
            f.write(h.command("show servers state"))
        h.reload()
        row.append(yes(h.status("b", "s2") == "DRAIN"))
        row.append(yes(answers_past_16k(h)))
    finally:
        h.stop()
        backend.stop()
    row.insert(6, yes(agent_held(binary, backend)))
    return row


def agent_held(binary, backend):
    """An agent answering "ready" every 200 ms, its check disabled, a drain
    set: still draining a second later."""
    agent = socket.socket()
    agent.bind(("127.0.0.5", 0))
    agent.listen(16)
    agent.settimeout(0.1)
    port = agent.getsockname()[1]
    stop = []

    def serve():
        while not stop:
            try:
                c, _ = agent.accept()
                c.sendall(b"ready\n")
                c.close()
            except OSError:
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    backend.start()
    h = HAProxy({"g": [("ag", backend.host, backend.port,
                        "check inter 200ms agent-check agent-addr 127.0.0.5 agent-port %d agent-inter 200ms" % port)]},
                haproxy=binary, check=False)
    h.start()
    try:
        h.command("disable agent g/ag")
        h.command("set server g/ag state drain")
        time.sleep(1)
        return h.status("g", "ag") == "DRAIN"
    finally:
        stop.append(1)
        h.stop()
        backend.stop()
        agent.close()


def answers_past_16k(h):
    """1,000 commands (34 KB) on one connection, all answered in time."""
    lines = "".join("set server b/s1 weight 1\n" for _ in range(1000))
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(h.unix_socket)
        s.sendall(("prompt\n" + lines + "quit\n").encode())
        reply = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except socket.timeout:
            return False
    return reply.count(b"\n> ") >= 1000


def table(rows):
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def main():
    out, binaries = sys.argv[1], sys.argv[2:]
    rows = sorted((probe(b) for b in binaries), key=lambda r: [int(x) for x in re.findall(r"\d+", r[0])[:3]])
    lines = table(rows)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    doc = open(DOC).read().splitlines() if os.path.exists(DOC) else []
    missing = [line for line in lines[2:] if line not in doc]
    if missing:
        print("docs/haproxy-versions.md lacks these rows as probed (copy them from %s):" % out, file=sys.stderr)
        for line in missing:
            print("  " + line, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
