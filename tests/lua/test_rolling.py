# SPDX-License-Identifier: MIT
"""examples/rolling_restart.lua end to end against a real HAProxy with three
backend servers, health checks on, and a real client keeping load on the
frontend the whole time.

The restart command really stops each backend server and starts a new one on
the same address. An independent witness samples `show stat` every 20 ms:
at every sample at least two servers must be UP, and no client request may
fail. A connection held on s2 must end before s2 is restarted (the script
waits for connections). A second roll whose command fails on s2 must stop
there: s1 restarted and back, s2 left out, s3 never touched.

Environment as for run.py.
"""

import http.client
import os
import sys
import threading
import time

from run import HERE, SRC, UNPRELOAD, run_lua
from haproxy_fixture import HAProxy, BackendServer


class Client:
    """Threads sending GET / through the frontend, one connection each."""

    def __init__(self, port, threads=2):
        self.port = port
        self.ok = 0
        self.failures = []
        self.by_server = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def _one(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            body = resp.read().decode()
            if resp.status != 200:
                raise RuntimeError("HTTP %d %s" % (resp.status, body.strip()[:80]))
            return body.strip()
        finally:
            conn.close()

    def _loop(self):
        while not self._stop.is_set():
            try:
                name = self._one()
                with self._lock:
                    self.ok += 1
                    self.by_server[name] = self.by_server.get(name, 0) + 1
            except Exception as e:  # every failure counts, whatever it is
                with self._lock:
                    self.failures.append("%.3f %s" % (time.monotonic(), e))
            time.sleep(0.005)

    def start(self):
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join()


class Witness:
    """Samples the servers' `show stat` status every 20 ms."""

    def __init__(self, ha, backend):
        self.ha = ha
        self.backend = backend
        self.samples = 0
        self.min_up = None
        self.seen_out = set()
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            try:
                rows = [r for r in self.ha.show_stat()
                        if r["pxname"] == self.backend and r["svname"] not in ("FRONTEND", "BACKEND")]
                up = [r["svname"] for r in rows if r["status"].startswith("UP")]
                self.seen_out.update(r["svname"] for r in rows if not r["status"].startswith("UP"))
                self.samples += 1
                self.min_up = len(up) if self.min_up is None else min(self.min_up, len(up))
            except Exception as e:
                self.errors.append(str(e))
            time.sleep(0.02)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()


class Restarter:
    """Serves ctl.py: stops a member's backend server and starts a new one."""

    def __init__(self, ctl, servers, fail=()):
        self.ctl = ctl
        self.servers = servers
        self.fail = set(fail)
        self.order = []
        self.times = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _restart(self, name):
        self.order.append(name)
        self.times[name] = time.monotonic()
        if name in self.fail:
            open(os.path.join(self.ctl, "fail-" + name), "w").close()
            return
        old = self.servers[name]
        old.stop()
        time.sleep(0.7)  # down long enough for the health check to notice
        self.servers[name] = BackendServer(host=old.host, port=old.port, name=old.name).start()
        open(os.path.join(self.ctl, "restarted-" + name), "w").close()

    def _loop(self):
        while not self._stop.is_set():
            for name in sorted(self.servers):
                if name not in self.order and os.path.exists(os.path.join(self.ctl, "restart-" + name)):
                    self._restart(name)
            time.sleep(0.02)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()


def roll(fail=(), hold_s2=False, pair=False):
    """One rolling restart; returns a list of problems (empty: passed).
    pair: through two HAProxy in front of the same servers (an HA pair),
    each with its own load and witness."""
    problems = []
    hosts = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
    servers = {"s%d" % (i + 1): BackendServer(host=h, name="s%d" % (i + 1)).start() for i, h in enumerate(hosts)}
    backends = {"app": [(n, s.host, s.port) for n, s in sorted(servers.items())]}
    has = [HAProxy(backends, check=True).start() for _ in range(2 if pair else 1)]
    ha = has[0]
    ctl = os.path.join(ha.workdir, "ctl")
    os.mkdir(ctl)
    clients = [Client(h.frontend_port("app")) for h in has]
    witnesses = [Witness(h, "app") for h in has]
    client, witness = clients[0], witnesses[0]
    restarter = Restarter(ctl, servers, fail)
    held, released = None, {}
    try:
        for c in clients:
            c.start()
        for w in witnesses:
            w.start()
        restarter.start()
        if hold_s2:
            held = ha.hold("app", "s2")
            if not servers["s2"].wait_held(1):
                return ["the connection to hold on s2 did not arrive"]

            def release_after_drain():
                while ha.status("app", "s2") != "DRAIN":
                    time.sleep(0.02)
                time.sleep(1.5)
                released["at"] = time.monotonic()
                servers["s2"].release()
                released["reply"] = held.recv(4096)

            threading.Thread(target=release_after_drain, daemon=True).start()
        time.sleep(1)  # load before the roll
        rc = run_lua([os.path.join(SRC, "examples", "rolling_restart.lua"), ",".join(h.target_unix for h in has), "app",
                      "--max-out", "1", "--wait", "20", "--",
                      *UNPRELOAD.split(), sys.executable, os.path.join(HERE, "ctl.py"), ctl, "%m"])
        time.sleep(1)  # load after the roll
    finally:
        restarter.stop()
        for w in witnesses:
            w.stop()
        for c in clients:
            c.stop()
        finals = [{n: h.status("app", n) for n in sorted(servers)} if h.proc else {} for h in has]
        final = finals[0]
        if held:
            held.close()
        for h in has:
            h.stop()
        for s in servers.values():
            s.stop()

    want_rc, want_order = (1, ["s1", "s2"]) if fail else (0, ["s1", "s2", "s3"])
    print("roll: exit %d, restarted %s, %d requests ok, %d failed, %d samples, min UP %s, by server %s, final %s"
          % (rc, restarter.order, client.ok, len(client.failures), witness.samples, witness.min_up,
             client.by_server, final))
    if rc != want_rc:
        problems.append("rolling_restart.lua exited %d, expected %d" % (rc, want_rc))
    if restarter.order != want_order:
        problems.append("restarted %s, expected %s" % (restarter.order, want_order))
    touched = set(want_order)
    want_final = {"s1": "UP", "s2": "DRAIN", "s3": "UP"} if fail else {"s1": "UP", "s2": "UP", "s3": "UP"}
    for k, (client, witness, final) in enumerate(zip(clients, witnesses, finals)):
        which = "balancer %d: " % (k + 1) if pair else ""
        if client.failures:
            problems.append("%s%d client requests failed: %s" % (which, len(client.failures), client.failures[:5]))
        if client.ok < 100:
            problems.append("%sonly %d client requests: no real load" % (which, client.ok))
        if witness.errors or witness.samples < 50:
            problems.append("%switness: %d samples, errors %s" % (which, witness.samples, witness.errors[:3]))
        if witness.min_up is None or witness.min_up < 2:
            problems.append("%sat some moment only %s servers were UP" % (which, witness.min_up))
        if witness.seen_out != touched:
            problems.append("%sservers seen out of rotation: %s, expected %s"
                            % (which, sorted(witness.seen_out), sorted(touched)))
        if final != want_final:
            problems.append("%sfinal status %s, expected %s" % (which, final, want_final))
    for name in want_order:
        if name not in fail and servers[name].served == 0:
            problems.append("%s took no request after its restart" % name)
    if hold_s2:
        if "at" not in released or not released.get("reply", b"").startswith(b"HTTP/1.1 200"):
            problems.append("the held request on s2 did not complete: %r" % released.get("reply"))
        elif restarter.times.get("s2", 0) < released["at"]:
            problems.append("s2 was restarted before its held connection finished")
    return problems


def main():
    problems = []
    for name, kwargs in (("full roll", {"hold_s2": True}), ("failure on s2", {"fail": ("s2",)}),
                         ("through an HA pair", {"pair": True})):
        print("== %s" % name, flush=True)
        found = roll(**kwargs)
        problems += ["%s: %s" % (name, p) for p in found]
        print("\n".join("FAIL " + p for p in found) or "ok %s" % name, flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
