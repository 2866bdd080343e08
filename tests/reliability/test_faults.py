# SPDX-License-Identifier: MIT
"""HAProxy lost between two commands of a bulk change, through the CLI.

A relay on a unix socket stands between lbmember and a real HAProxy. It
forwards every connection untouched, except the one carrying the bulk
change (the `set server` commands): there it forwards the first N commands,
passes their answers back, then either closes the connection (HAProxy still
running: "close") or SIGKILLs HAProxy ("kill"). lbmember must fail with a
one-line error naming the break, and its JSON result must report exactly
the first N members as changed, none of the others: nothing half-done
hidden, nothing claimed that was not done. With HAProxy still running, its
own `show servers state` is the witness.

Usage: test_faults.py close|kill      Needs $LBM_CLI and $LBM_HAPROXY.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from haproxy_fixture import HAProxy  # noqa: E402

CLI = os.environ["LBM_CLI"]
SERVERS = ["s%d" % i for i in range(1, 7)]
PROMPT = b"\n> "


class Relay(threading.Thread):
    """Unix socket relay to HAProxy's admin socket that breaks the first
    connection holding `set server` commands after `after` of them."""

    def __init__(self, path, upstream, after, mode, haproxy):
        super().__init__(daemon=True)
        self.path, self.upstream, self.after, self.mode, self.haproxy = path, upstream, after, mode, haproxy
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen(8)
        self.broken = False

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            self.forward(c)
        except OSError:  # HAProxy killed: the client sees the connection close
            c.close()

    def forward(self, c):
        req = b""
        while not req.endswith(b"quit\n"):
            d = c.recv(65536)
            if not d:
                break
            req += d
        lines = req.decode().splitlines(keepends=True)
        sets = [i for i, l in enumerate(lines) if l.startswith("set server")]
        if sets and not self.broken:
            self.broken = True
            lines = lines[:sets[0] + self.after]  # prompt + the first N commands, no quit
        up = socket.socket(socket.AF_UNIX)
        up.connect(self.upstream)
        up.sendall("".join(lines).encode())
        reply = b""
        want = len(lines)  # one prompt per line sent (prompt included)
        while reply.count(PROMPT) < want:
            d = up.recv(65536)
            if not d:
                break
            reply += d
        if self.broken and len(lines) == want and not lines[-1].startswith("quit"):
            c.sendall(reply)
            if self.mode == "kill":
                os.kill(self.haproxy.proc.pid, signal.SIGKILL)
            up.close()
            c.close()
            return
        c.sendall(reply)
        up.close()
        c.close()


def states(h):
    out = {}
    for line in h.command("show servers state web").splitlines()[2:]:
        f = line.split()
        if len(f) > 6:
            admin = int(f[6])
            out[f[3]] = "disabled" if admin & 0x01 else "draining" if admin & 0x08 else "enabled"
    return out


def check(cond, what, *context):
    if not cond:
        raise AssertionError(what + "\n" + "\n".join(str(c) for c in context))


def run_broken(mode, after, json_output):
    """One drain of 4 servers through a relay that breaks it after `after`."""
    tmp = tempfile.mkdtemp(prefix="lbm-faults-")
    backends = {"web": [(s, "127.0.0.%d" % (i + 2), 8080) for i, s in enumerate(SERVERS)]}
    with HAProxy(backends) as h:
        relay = Relay(os.path.join(tmp, "relay.sock"), h.unix_socket, after, mode, h)
        relay.start()
        p = subprocess.run([CLI] + (["--json"] if json_output else []) +
                           ["--timeout", "5", "haproxy://" + relay.path, "drain", "web"]
                           + SERVERS[:4] + ["--min-enabled", "0"], capture_output=True, text=True, timeout=60)
        check(p.returncode == 1, "%s after %d: expected exit 1" % (mode, after), p.stdout, p.stderr)
        got = states(h) if mode == "close" else None
        relay.sock.close()
        return p, got


def scenario(mode, after):
    p, got = run_broken(mode, after, True)
    out = json.loads(p.stdout)
    msg = out["error"]["message"]
    check("\n" not in msg and ("closed" in msg or "connect" in msg or "answer" in msg),
          "%s after %d: the error does not name the break: %s" % (mode, after, msg), p.stdout)
    changed = [o["before"]["name"] for o in out["outcomes"] if o["changed"]]
    check(changed == SERVERS[:after], "%s after %d: reported changed %s, done %s" % (mode, after, changed,
                                                                                     SERVERS[:after]), p.stdout)
    # Issue 13.4: applied, or not applied because the call broke: never "unchanged".
    results = [o["result"] for o in out["outcomes"]]
    check(results == ["applied"] * after + ["not_applied"] * (4 - after),
          "%s after %d: results %s" % (mode, after, results), p.stdout)
    if mode == "close":
        want = {s: "draining" if s in SERVERS[:after] else "enabled" for s in SERVERS}
        check(got == want, "close after %d: HAProxy shows %s, expected %s" % (after, got, want))
    # The same break, as a person reads it: no "already draining" for what was never drained.
    p, _ = run_broken(mode, after, False)
    lines = p.stdout.splitlines()
    want_lines = ["web/%s: enabled -> draining" % s for s in SERVERS[:after]] + \
        ["web/%s: not changed, still enabled: the call failed before this change" % s for s in SERVERS[after:4]]
    check(lines == want_lines, "%s after %d: the CLI printed %r" % (mode, after, lines), p.stderr)
    print("ok   %s after %d of 4: %s" % (mode, after, msg), flush=True)


def main():
    mode = sys.argv[1]
    failed = 0
    for after in (0, 1, 3):
        try:
            scenario(mode, after)
        except Exception as e:  # report each case, then fail
            failed += 1
            print("FAIL %s after %d: %s: %s" % (mode, after, type(e).__name__, e), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
