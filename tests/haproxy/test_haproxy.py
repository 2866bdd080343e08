# SPDX-License-Identifier: MIT
"""lbmember against a real HAProxy, driven through the CLI as users run it.

Usage: test_haproxy.py GROUP TRANSPORT   (TRANSPORT: unix or tcp)
Needs $LBM_CLI. Each test starts its own haproxy on loopback (free ports, its
own temp dir) and checks the result with the fixture's independent witness:
raw runtime API replies read over a plain Python socket.
"""

import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from haproxy_fixture import HAProxy, BackendServer, free_port  # noqa: E402
from listing import member  # noqa: E402
from slowdown import SLOW  # noqa: E402

CLI = os.environ["LBM_CLI"]
SEED = "test.tianya.cn"
# Server NAMES are documentation addresses (data only); real addresses are loopback.
S78, S79, S80 = "198.51.100.78", "198.51.100.79", "198.51.100.80"
TESTS = {}


@functools.lru_cache(maxsize=None)
def haproxy_version():
    """(major, minor) of $LBM_HAPROXY, for the cases a version cannot run."""
    out = subprocess.run([os.environ.get("LBM_HAPROXY", "/usr/sbin/haproxy"), "-v"], capture_output=True,
                         text=True).stdout
    m = re.search(r"version (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def test(group):
    def register(fn):
        TESTS.setdefault(group, []).append(fn)
        return fn
    return register


def lbm(*args, timeout=60):
    """Run the CLI with --json; return (exit code, parsed stdout or None, stderr)."""
    p = subprocess.run([CLI, "--json"] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout)
    for bad in ("Sanitizer", "runtime error:"):
        check(bad not in p.stderr, "sanitizer report: %s" % p.stderr)
    try:
        out = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        raise AssertionError("stdout is not JSON: %r (stderr %r)" % (p.stdout, p.stderr))
    return p.returncode, out, p.stderr


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def ok(args, rc, out, err):
    check(rc == 0, "lbmember %s: exit %d, %s %s" % (" ".join(map(str, args)), rc, out, err))
    return out


def run_ok(*args):
    rc, out, err = lbm(*args)
    return ok(args, rc, out, err)


def run_fail(code, msg_part, *args, timeout=60):
    rc, out, err = lbm(*args, timeout=timeout)
    check(rc == 1, "lbmember %s: expected exit 1, got %d: %s %s" % (" ".join(map(str, args)), rc, out, err))
    e = out["error"]
    check(e["code"] == code, "expected %s, got %s: %s" % (code, e["code"], e["message"]))
    check(msg_part in e["message"], "message %r lacks %r" % (e["message"], msg_part))
    check("\n" not in e["message"], "message is not one line: %r" % e["message"])
    return out


class Env:
    """Backend servers and an HAProxy in front of them, for one test."""

    def __init__(self, transport, backends, check=False, servers=(), **haproxy_options):
        self.transport = transport
        self.servers = {name: BackendServer(host, name=name) for name, host in servers}
        for s in self.servers.values():
            s.start()
        be = {}
        for b, members in backends.items():
            be[b] = [(m[0], self.servers[m[1]].host, self.servers[m[1]].port) + tuple(m[2:])
                     if m[1] in self.servers else m for m in members]
        self.h = HAProxy(be, check=check, **haproxy_options).start()

    @property
    def target(self):
        return self.h.target_unix if self.transport == "unix" else self.h.target_tcp

    def level_target(self, level):
        return self.h.target_unix_level(level) if self.transport == "unix" else self.h.target_tcp_level(level)

    def admin(self, backend, server):
        return int(self.h.server_state(backend, server)["srv_admin_state"])

    def snapshot(self):
        """What lbmember may change: admin state and weight of every server."""
        return [(r["be_name"], r["srv_name"], r["srv_admin_state"], r["srv_uweight"])
                for r in self.h.servers_state()]

    def wait_status(self, backend, server, want, timeout=5):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.h.status(backend, server) == want:
                return True
            time.sleep(0.05)
        return self.h.status(backend, server) == want

    def close(self):
        self.h.stop()
        for s in self.servers.values():
            s.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def seed_env(transport, check=True):
    return Env(transport, {SEED: [(S78, "a"), (S79, "b"), (S80, "c")]}, check=check,
               servers=[("a", "127.0.0.2"), ("b", "127.0.0.3"), ("c", "127.0.0.4")])


# --- the seed scenario ------------------------------------------------------

@test("seed")
def seed_disable_enable(t):
    with seed_env(t) as e:
        # All three: 3.3+ reports a server "UP 0/1" until its first check.
        for s in (S78, S79, S80):
            check(e.wait_status(SEED, s, "UP"), "%s not UP at start: %s" % (s, e.h.status(SEED, s)))
        out = run_ok(e.target, "list", SEED)
        m = member(out, SEED, S78)
        check(m["address"] == "127.0.0.2" and m["port"] == e.servers["a"].port, "address %r" % m)
        check(m["state"] == "enabled" and m["health"] == "up" and m["weight"] == 1 and m["active"] == 0, m)
        check(m["status"] == "UP" and m["held"] is None, m)

        out = run_ok(e.target, "disable", SEED, S78)
        check(out["changed"] is True and out["dry_run"] is False, out)
        o = out["outcomes"][0]
        check(o["pool"] == SEED and o["before"]["state"] == "enabled" and o["after"]["state"] == "disabled", o)
        check(e.h.status(SEED, S78) == "MAINT", "witness: %s" % e.h.status(SEED, S78))
        check(e.admin(SEED, S78) == 1, "admin state %d" % e.admin(SEED, S78))
        for other in (S79, S80):
            check(e.h.status(SEED, other) == "UP" and e.admin(SEED, other) == 0, "%s touched" % other)

        out = run_ok(e.target, "enable", SEED, S78)
        check(out["changed"] is True and out["outcomes"][0]["after"]["state"] == "enabled", out)
        check(e.wait_status(SEED, S78, "UP"), "witness after enable: %s" % e.h.status(SEED, S78))
        check(e.admin(SEED, S78) == 0, "admin state %d" % e.admin(SEED, S78))


@test("seed")
def seed_by_address(t):
    """A member named by its real ADDR:PORT, as the seed article does with IPs."""
    with seed_env(t, check=False) as e:
        addr = "127.0.0.3:%d" % e.servers["b"].port
        out = run_ok(e.target, "drain", SEED, addr)
        check(out["outcomes"][0]["before"]["name"] == S79, out)
        check(e.h.status(SEED, S79) == "DRAIN", "witness: %s" % e.h.status(SEED, S79))
        check(e.h.status(SEED, S78) == "no check" and e.h.status(SEED, S80) == "no check", "others touched")
        out = run_ok(e.target, "status", SEED, "127.0.0.3")
        check(out["pool"] == SEED and out["member"]["name"] == S79 and out["member"]["state"] == "draining", out)
        check(out["member"]["status"] == "DRAIN [FDRAIN]", out)


@test("seed")
def empty_backend(t):
    with Env(t, {"empty": [], "full": [("s", "127.0.0.2", 1)]}) as e:
        out = run_ok(e.target, "list")
        check([p["name"] for p in out["pools"]] == ["full"], "pools %s" % out)
        out = run_ok(e.target, "list", "empty")
        # Since issue 17 a pool names its balancer too.
        check(out["pools"] == [{"balancer": e.target, "name": "empty", "detail": "", "members": []}], out)


# --- every transition, twice --------------------------------------------------

WITNESS = {"enabled": ("UP", 0), "draining": ("DRAIN", 8), "disabled": ("MAINT", 1)}
VERB = {"enabled": "enable", "draining": "drain", "disabled": "disable"}


@test("transitions")
def all_transitions(t):
    with seed_env(t) as e:
        check(e.wait_status(SEED, S78, "UP"), "not UP at start")
        for frm in WITNESS:
            for to in WITNESS:
                if frm == to:
                    continue
                run_ok(e.target, VERB[frm], SEED, S78)
                check(e.wait_status(SEED, S78, WITNESS[frm][0]), "setup %s" % frm)
                before = e.snapshot()
                for attempt in (1, 2):
                    out = run_ok(e.target, VERB[to], SEED, S78)
                    o = out["outcomes"][0]
                    check(out["changed"] is (attempt == 1), "%s->%s attempt %d: changed %s" %
                          (frm, to, attempt, out["changed"]))
                    check(o["after"]["state"] == to, "%s->%s: after %s" % (frm, to, o["after"]["state"]))
                    check(o["before"]["state"] == (frm if attempt == 1 else to), o)
                    check(e.wait_status(SEED, S78, WITNESS[to][0]),
                          "%s->%s witness %s" % (frm, to, e.h.status(SEED, S78)))
                    check(e.admin(SEED, S78) == WITNESS[to][1], "%s->%s admin %d" % (frm, to, e.admin(SEED, S78)))
                # Nothing else moved.
                after = e.snapshot()
                check([r for r in after if r[1] != S78] == [r for r in before if r[1] != S78], "others touched")


@test("transitions")
def weight(t):
    with seed_env(t, check=False) as e:
        for attempt in (1, 2):
            out = run_ok(e.target, "enable", SEED, S79, "--weight", 7)
            check(out["changed"] is (attempt == 1), "attempt %d changed %s" % (attempt, out["changed"]))
            check(out["outcomes"][0]["after"]["weight"] == 7, out)
            check(e.h.server_state(SEED, S79)["srv_uweight"] == "7", "witness weight")
            check(e.h.server_stat(SEED, S79)["weight"] == "7", "witness stat weight")
        # Draining keeps the weight, and enabling brings it back unchanged.
        run_ok(e.target, "drain", SEED, S79)
        out = run_ok(e.target, "enable", SEED, S79)
        check(out["outcomes"][0]["after"]["weight"] == 7 and e.h.server_state(SEED, S79)["srv_uweight"] == "7",
              "weight lost across drain: %s" % out)
        run_fail("EINVAL", "HAProxy accepts 0 to 256", e.target, "enable", SEED, S79, "--weight", 300)
        check(e.h.server_state(SEED, S79)["srv_uweight"] == "7", "weight touched by a refused change")


# --- drain and wait against a real long-lived connection ----------------------

@test("wait")
def drain_wait(t):
    with seed_env(t) as e:
        a = e.servers["a"]
        client = e.h.hold(SEED, S78)
        check(a.wait_held(1), "connection not held on the backend server")
        check(e.h.server_stat(SEED, S78)["scur"] == "1", "scur not 1")
        threading.Timer(1.5, a.release).start()
        t0 = time.monotonic()
        out = run_ok(e.target, "drain", SEED, S78, "--wait", 20)
        took = time.monotonic() - t0
        check(took >= 1.4, "returned after %.2f s, before the connection closed" % took)
        check(took < 10 * SLOW, "returned only after %.2f s" % took)
        check(out["outcomes"][0]["after"]["active"] == 0, out)
        check(e.h.server_stat(SEED, S78)["scur"] == "0" and e.h.status(SEED, S78) == "DRAIN", "witness")
        reply = client.recv(4096)
        client.close()
        check(reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"\na\n"),
              "the held client was cut: %r" % reply)


@test("wait")
def drain_wait_timeout(t):
    with seed_env(t) as e:
        a = e.servers["a"]
        client = e.h.hold(SEED, S78)
        check(a.wait_held(1), "connection not held")
        t0 = time.monotonic()
        out = run_fail("ETIMEDOUT", "1 active connection left", e.target, "drain", SEED, S78, "--wait", 0.5)
        took = time.monotonic() - t0
        check(0.4 < took < 5 * SLOW, "took %.2f s" % took)
        check(out["outcomes"][0]["after"]["state"] == "draining", "outcome not reported: %s" % out)
        check(e.h.status(SEED, S78) == "DRAIN", "member not left draining: %s" % e.h.status(SEED, S78))
        check(a.held == 1 and e.h.server_stat(SEED, S78)["scur"] == "1", "the connection was cut")
        # disable too waits for it, and times out the same way
        run_fail("ETIMEDOUT", "active connection", e.target, "disable", SEED, S78, "--wait", 0.3)
        check(e.h.status(SEED, S78) == "MAINT", "not left in MAINT")
        a.release()
        client.close()


@test("wait")
def enable_wait_until_up(t):
    with seed_env(t) as e:
        check(e.wait_status(SEED, S80, "UP"), "not UP at start")
        run_ok(e.target, "disable", SEED, S80)
        out = run_ok(e.target, "enable", SEED, S80, "--wait", 10)
        check(out["outcomes"][0]["after"]["health"] == "up", out)
        check(e.h.status(SEED, S80) == "UP", "witness %s" % e.h.status(SEED, S80))


# --- min_enabled ----------------------------------------------------------------

@test("guard")
def min_enabled(t):
    with Env(t, {"pair": [("one", "127.0.0.2", 1), ("two", "127.0.0.3", 1)]}) as e:
        run_ok(e.target, "disable", "pair", "one")
        before = e.snapshot()
        run_fail("EGUARD", "min_enabled", e.target, "disable", "pair", "two")
        run_fail("EGUARD", "pool 'pair' would keep 0 enabled members", e.target, "drain", "pair", "two")
        check(e.snapshot() == before, "a refused change touched HAProxy")
        run_ok(e.target, "enable", "pair", "one")
        before = e.snapshot()
        run_fail("EGUARD", "fewer than min_enabled 2", e.target, "drain", "pair", "two", "--min-enabled", 2)
        # Several members at once: checked before anything is sent.
        run_fail("EGUARD", "min_enabled", e.target, "disable", "pair", "one", "two")
        check(e.snapshot() == before, "a refused change touched HAProxy")
        check(e.h.status("pair", "one") == "no check" and e.h.status("pair", "two") == "no check", "witness")
        run_ok(e.target, "disable", "pair", "one", "two", "--min-enabled", 0)
        check(e.h.status("pair", "one") == "MAINT" and e.h.status("pair", "two") == "MAINT", "witness")


@test("guard")
def enable_during_outage(t):
    """Issue 13.1: every server down by its checks (nothing listens on their
    ports), all drained with --min-enabled 0: enabling one must be allowed,
    without --min-enabled, since it takes nothing out of rotation."""
    chk = "check inter 200ms fall 1 rise 1"
    with Env(t, {"app": [("a", "127.0.0.9", free_port("127.0.0.9"), chk),
                         ("b", "127.0.0.9", free_port("127.0.0.9"), chk)]}) as e:
        check(e.wait_status("app", "a", "DOWN") and e.wait_status("app", "b", "DOWN"), "checks not DOWN")
        run_ok(e.target, "drain", "app", "a", "b", "--min-enabled", 0)
        out = run_ok(e.target, "enable", "app", "a")
        check(out["outcomes"][0]["after"]["state"] == "enabled" and out["outcomes"][0]["result"] == "applied", out)
        check(e.admin("app", "a") == 0, "witness: admin %d" % e.admin("app", "a"))
        out = run_ok(e.target, "enable", "app", "a", "b")
        check(e.admin("app", "b") == 0, "witness: admin %d" % e.admin("app", "b"))
        # A server that is down is not in rotation: taking it out lowers nothing.
        run_ok(e.target, "disable", "app", "a")
        check(e.h.status("app", "a") == "MAINT", "witness %s" % e.h.status("app", "a"))


@test("guard")
def followers_count(t):
    """Issue 13.2: a server with `track B/S` leaves rotation with the server
    it tracks; the guard counts it, in its own backend and in others."""
    with Env(t, {"trk": [("up", "a"), ("up2", "b"), ("follower", "c", "track trk/up")]}, check=True,
             servers=[("a", "127.0.0.2"), ("b", "127.0.0.3"), ("c", "127.0.0.4")]) as e:
        for s in ("up", "up2", "follower"):
            check(e.wait_status("trk", s, "UP"), "%s not UP" % s)
        before = e.snapshot()
        run_fail("EGUARD", "refusing to make 'up' disabled: pool 'trk' would keep 0 enabled members", e.target,
                 "disable", "trk", "up", "up2")
        check(e.snapshot() == before, "a refused change touched HAProxy")
        out = run_ok(e.target, "status", "trk", "follower")
        check(out["member"]["follows"] == "trk/up", out)
        out = run_ok(e.target, "disable", "trk", "up")
        check(e.h.status("trk", "follower") == "MAINT (via trk/up)", "witness %s" % e.h.status("trk", "follower"))
        check(e.h.status("trk", "up2") == "UP", "up2 touched")
    with Env(t, {"trk": [("up", "a"), ("up2", "b"), ("up3", "c")],
                 "other": [("f", "a", "track trk/up"), ("g", "b", "track trk/up2")]}, check=True,
             servers=[("a", "127.0.0.2"), ("b", "127.0.0.3"), ("c", "127.0.0.4")]) as e:
        for b, s in (("trk", "up"), ("trk", "up2"), ("other", "f"), ("other", "g")):
            check(e.wait_status(b, s, "UP"), "%s/%s not UP" % (b, s))
        before = e.snapshot()
        run_fail("EGUARD", "refusing to make 'up' draining: pool 'other' would keep 0 enabled members, fewer than "
                 "min_enabled 1 ('f' follows trk/up)", e.target, "drain", "trk", "up", "up2")
        check(e.snapshot() == before, "a refused change touched HAProxy")
        run_ok(e.target, "drain", "trk", "up")
        check(e.h.status("other", "f") == "DRAIN", "witness %s" % e.h.status("other", "f"))
        run_ok(e.target, "drain", "trk", "up2", "--min-enabled", 0)
        check(e.h.status("other", "g") == "DRAIN", "witness %s" % e.h.status("other", "g"))
        run_fail("ENOTFOUND", "HAProxy: no backend 'nope'", e.target, "drain", "nope", "up")


# --- dry run ----------------------------------------------------------------------

@test("dryrun")
def dry_run(t):
    with seed_env(t, check=False) as e:
        before = e.snapshot()
        out = run_ok(e.target, "disable", SEED, S78, "--dry-run")
        check(out["dry_run"] is True and out["changed"] is True, out)
        check(out["outcomes"][0]["after"]["state"] == "disabled", out)
        out = run_ok(e.target, "enable", SEED, S79, "--weight", 9, "--dry-run")
        check(out["changed"] is True and out["outcomes"][0]["after"]["weight"] == 9, out)
        out = run_ok(e.target, "enable", SEED, S80, "--dry-run")
        check(out["changed"] is False, "a no-op dry run says changed: %s" % out)
        # What HAProxy cannot do is refused by a dry run too, not promised.
        run_fail("EINVAL", "HAProxy: weight 300 is out of range: HAProxy accepts 0 to 256", e.target, "enable", SEED,
                 S79, "--weight", 300, "--dry-run")
        check(e.snapshot() == before, "a dry run touched HAProxy")
        check(e.h.status(SEED, S78) == "no check", "witness %s" % e.h.status(SEED, S78))


# --- member without a pool: every backend holding it ------------------------------

@test("allpools")
def all_pools(t):
    with Env(t, {"www": [(S78, "a"), ("other", "b")], "api": [(S78, "a"), ("other", "b")],
                 "static": [("other", "b")]}, servers=[("a", "127.0.0.2"), ("b", "127.0.0.3")]) as e:
        out = run_ok(e.target, "disable", "-", S78)
        check(sorted(o["pool"] for o in out["outcomes"]) == ["api", "www"], out)
        for b in ("www", "api"):
            check(e.h.status(b, S78) == "MAINT", "%s/%s witness %s" % (b, S78, e.h.status(b, S78)))
            check(e.h.status(b, "other") == "no check", "%s/other touched" % b)
        check(e.h.status("static", "other") == "no check", "static touched")
        # By address: the port is the backend server's, shared by both backends.
        addr = "127.0.0.2:%d" % e.servers["a"].port
        out = run_ok(e.target, "drain", "-", addr)
        check(len(out["outcomes"]) == 2 and out["changed"] is True, out)
        for b in ("www", "api"):
            check(e.h.status(b, S78) == "DRAIN", "%s witness %s" % (b, e.h.status(b, S78)))
        out = run_ok(e.target, "enable", "-", S78)
        check(all(e.h.status(b, S78) == "no check" for b in ("www", "api")), "not enabled everywhere")
        run_fail("ENOTFOUND", "no pool has a member 'nobody'", e.target, "enable", "-", "nobody")
        # status needs one pool: a member in two is ambiguous (0.2: EAMBIGUOUS, it was EINVAL)
        run_fail("EAMBIGUOUS", "name the pool", e.target, "status", "-", S78)


# --- held: out for a reason an operator's "enable" does not clear -----------------

@test("held")
def held_by_tracked_server(t):
    with Env(t, {"b": [("a", "a", "check inter 200ms fall 1 rise 1"), ("t", "b", "track b/a"),
                       ("x", "c")]},
             servers=[("a", "127.0.0.2"), ("b", "127.0.0.3"), ("c", "127.0.0.4")]) as e:
        check(e.wait_status("b", "a", "UP"), "a not UP")
        run_ok(e.target, "disable", "b", "a")
        check(e.h.status("b", "t") == "MAINT (via b/a)", "witness %s" % e.h.status("b", "t"))
        out = run_ok(e.target, "status", "b", "t")
        m = out["member"]
        check(m["state"] == "disabled" and m["held"] == "maintenance inherited from tracked server b/a", m)
        check(m["status"] == "MAINT (via b/a) [IMAINT]", m)
        out = run_fail("EHELD", "b/t: asked for enabled, but it stays disabled: maintenance inherited from "
                       "tracked server b/a", e.target, "enable", "b", "t")
        check(out["outcomes"][0]["after"]["state"] == "disabled", out)
        check(e.h.status("b", "t") == "MAINT (via b/a)", "witness %s" % e.h.status("b", "t"))
        # Forced and inherited at once: enable clears the forced part only, and says so.
        run_ok(e.target, "enable", "b", "a")
        check(e.wait_status("b", "t", "UP"), "t did not follow a")
        run_ok(e.target, "disable", "b", "t")
        run_ok(e.target, "disable", "b", "a")
        check(e.admin("b", "t") == 3, "admin %d" % e.admin("b", "t"))
        run_fail("EHELD", "maintenance inherited", e.target, "enable", "b", "t")
        check(e.admin("b", "t") == 2, "forced maintenance not cleared: admin %d" % e.admin("b", "t"))
        run_ok(e.target, "enable", "b", "a")
        check(e.wait_status("b", "t", "UP"), "t not back with a")
        # Inherited drain.
        run_ok(e.target, "drain", "b", "a")
        check(e.admin("b", "t") == 16, "admin %d" % e.admin("b", "t"))
        run_fail("EHELD", "drain inherited from tracked server b/a", e.target, "enable", "b", "t")
        check(e.h.status("b", "t") == "DRAIN", "witness %s" % e.h.status("b", "t"))


@test("held")
def config_states(t):
    with Env(t, {"c": [("off", "a", "disabled"), ("w0", "a", "weight 0"), ("on", "a")]},
             servers=[("a", "127.0.0.2")]) as e:
        out = run_ok(e.target, "list", "c")
        off, w0 = member(out, "c", "off"), member(out, "c", "w0")
        check(off["state"] == "disabled" and off["status"] == "MAINT [FMAINT,CMAINT]" and off["held"] is None, off)
        check(w0["state"] == "draining" and w0["weight"] == 0 and "weight 0 in the configuration" in w0["held"], w0)
        # "disabled" in the configuration is forced maintenance: HAProxy 2.6 lets "ready" clear it.
        run_ok(e.target, "enable", "c", "off")
        check(e.h.status("c", "off") == "no check", "witness %s" % e.h.status("c", "off"))
        run_fail("EHELD", "weight 0 in the configuration: enable it with a weight", e.target, "enable", "c", "w0")
        check(e.h.server_state("c", "w0")["srv_uweight"] == "0", "weight touched")
        out = run_ok(e.target, "enable", "c", "w0", "--weight", 5)
        check(out["outcomes"][0]["after"]["state"] == "enabled", out)
        check(e.h.server_state("c", "w0")["srv_uweight"] == "5", "witness weight")


@test("held")
def read_back_between_its_two_commands(t):
    """Another client drains the server between the two commands of the
    read-back (`show servers state` answered, `show stat` not yet: they go
    side by side on two connections): the state is the first command's, not
    a drain "held by its checks" made up of both."""
    with seed_env(t, check=False) as e:
        e.h.command("set server %s/%s state maint" % (SEED, S78))
        state_read = threading.Event()

        def drain_between(line):
            if line.startswith("set server"):
                changed.append(line)
            elif line.startswith("show stat") and changed and not drained:
                state_read.wait(5)
                drained.append(line)
                e.h.command("set server %s/%s state drain" % (SEED, S78))

        def answered(line):
            if line.startswith("show servers state") and changed:
                state_read.set()

        changed, drained = [], []
        proxy = MeddlingProxy(e.h, drain_between, answered)
        try:
            out = run_ok(proxy.target, "enable", SEED, S78)
        finally:
            proxy.close()
        check(drained, "the proxy never came between the two commands of a read-back")
        check(out["outcomes"][0]["after"]["state"] == "enabled", out)
        check(e.admin(SEED, S78) == 8, "the other client's drain was lost: admin %d" % e.admin(SEED, S78))


# --- health, NOLB, IPv6 ----------------------------------------------------------

@test("health")
def health_and_nolb(t):
    chk = "check inter 200ms fall 1 rise 1"
    with Env(t, {"h": [("up", "a", chk), ("dead", "127.0.0.9", 1, chk), ("nolb", "b", chk)]},
             servers=[("a", "127.0.0.2"), ("b", "127.0.0.3")],
             backend_extra={"h": "option httpchk GET /health\n    http-check disable-on-404"}) as e:
        e.servers["b"].status = 404
        check(e.wait_status("h", "dead", "DOWN") and e.wait_status("h", "nolb", "NOLB"), "checks not settled")
        out = run_ok(e.target, "list", "h")
        dead, nolb, up = member(out, "h", "dead"), member(out, "h", "nolb"), member(out, "h", "up")
        check(up["health"] == "up" and up["state"] == "enabled", up)
        check(dead["health"] == "down" and dead["state"] == "enabled" and dead["status"] == "DOWN", dead)
        check(nolb["state"] == "draining" and nolb["health"] == "up" and nolb["status"] == "NOLB", nolb)
        check(nolb["held"] == "its checks report NOLB", nolb)
        run_fail("EHELD", "h/nolb: asked for enabled, but it stays draining: its checks report NOLB",
                 e.target, "enable", "h", "nolb")
        # A down member does not count as staying: the last healthy one is guarded.
        before = e.snapshot()
        run_fail("EGUARD", "pool 'h' would keep 0 enabled members", e.target, "disable", "h", "up")
        check(e.snapshot() == before, "a refused change touched HAProxy")
        e.servers["b"].status = 200
        check(e.wait_status("h", "nolb", "UP"), "nolb not back UP")
        out = run_ok(e.target, "status", "h", "nolb")
        check(out["member"]["state"] == "enabled" and out["member"]["held"] is None, out)


@test("health")
def ipv6(t):
    with Env(t, {"v6": [("six", "a"), ("four", "b")]}, servers=[("a", "::1"), ("b", "127.0.0.2")],
             ipv6=True) as e:
        target = e.h.target_tcp6 if t == "tcp" else e.target
        out = run_ok(target, "list")
        six = member(out, "v6", "six")
        check(six["address"] == "::1" and six["port"] == e.servers["a"].port, six)
        run_ok(target, "drain", "v6", "[::1]:%d" % e.servers["a"].port)
        check(e.h.status("v6", "six") == "DRAIN" and e.h.status("v6", "four") == "no check", "witness")
        run_ok(target, "enable", "v6", "0:0::1")
        check(e.h.status("v6", "six") == "no check", "witness %s" % e.h.status("v6", "six"))


@test("held")
def dns_resolution(t):
    """A server by name whose resolver (a silent loopback port) never answers."""
    resolvers = ("\nresolvers quiet\n    nameserver ns 127.0.0.1:%d\n    hold nx 1s\n"
                 "    resolve_retries 1\n    timeout resolve 1s\n    timeout retry 1s\n" % free_port())
    with Env(t, {"d": [("byname", "app.example.invalid", 80, "resolvers quiet init-addr none"),
                       ("ok", "127.0.0.2", 80)]}, global_extra=resolvers) as e:
        check(e.h.status("d", "byname") == "MAINT (resolution)", "witness %s" % e.h.status("d", "byname"))
        out = run_ok(e.target, "status", "d", "byname")
        m = out["member"]
        check(m["state"] == "disabled" and m["status"] == "MAINT (resolution) [RMAINT]", m)
        check(m["held"] == "maintenance while its name does not resolve (DNS)", m)
        run_fail("EHELD", "d/byname: asked for enabled, but it stays disabled: maintenance while its name "
                 "does not resolve (DNS)", e.target, "enable", "d", "byname")
        check(e.admin("d", "byname") == 32, "admin %d" % e.admin("d", "byname"))


class Agent:
    """An HAProxy agent-check server on loopback: answers each check with `word`."""

    def __init__(self, word):
        self.word = word
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.5", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
                c.sendall(self.word.encode() + b"\n")
                c.close()
            except OSError:
                return

    def close(self):
        self.sock.close()


@test("held")
def agent_check(t):
    """An agent forces drain with the same flag an operator would: enabling
    works, and says the agent can undo it."""
    agent = Agent("drain")
    try:
        opts = "check inter 200ms agent-check agent-addr 127.0.0.5 agent-port %d agent-inter 1500ms" % agent.port
        with Env(t, {"g": [("ag", "a", opts), ("plain", "a")]}, servers=[("a", "127.0.0.2")]) as e:
            check(e.wait_status("g", "ag", "DRAIN (agent)"), "agent did not drain: %s" % e.h.status("g", "ag"))
            out = run_ok(e.target, "status", "g", "ag")
            check(out["member"]["state"] == "draining", out)
            check(out["member"]["status"] == "DRAIN (agent) [FDRAIN] agent-check", out)
            out = run_ok(e.target, "enable", "g", "ag")
            # 0.2: "warnings", a list (it was "warning", one string)
            check(out["warnings"] == ["g/ag has an agent check: its agent can drain or disable it again"], out)
            check(e.wait_status("g", "ag", "DRAIN (agent)"), "the agent did not drain it again")
            out = run_ok(e.target, "enable", "g", "plain")
            check(out["warnings"] == [], "warning without an agent: %s" % out)
            agent.word = "ready"
            check(e.wait_status("g", "ag", "UP"), "agent 'ready' not seen")
    finally:
        agent.close()


# --- bulk: a few connections for thousands of servers ---------------------------

@test("bulk")
def bulk_few_connections(t):
    """1,000 and 10,000 servers on every version: the changes go in batches
    of under 8 KB, so that no connection carries the 16 KB after which
    HAProxy 3.2.0 stops answering (fixed in 3.3)."""
    for n in (1000, 10000):
        bulk_of(t, n)


def bulk_of(t, n):
    be = {"bulk": [("s%d" % i, "127.0.%d.%d" % (1 + i // 250 % 250, i % 250 + 1), 1000 + i % 60000)
                   for i in range(n)]}
    names = ["s%d" % i for i in range(n)]
    with Env(t, be) as e:
        for verb, want in (("drain", "DRAIN"), ("disable", "MAINT"), ("enable", "no check")):
            c0 = e.h.cum_conns()
            t0 = time.monotonic()
            out = run_ok(e.target, verb, "bulk", *names, "--min-enabled", 0)
            took = time.monotonic() - t0
            # CumConns counts every accepted connection, our own "show info" included.
            conns = e.h.cum_conns() - c0 - 1
            print("  %s of %d servers: %d connections, %.3f s" % (verb, n, conns, took))
            # Adapted (issues 15, 16): a listing's two commands go side by side on two
            # connections, and the changes in batches of under 8 KB (some 240 servers) each.
            batches = -(-len("".join("set server bulk/%s state %s\n" % (s, "drain") for s in names)) // 8192)
            check(conns <= 4 + batches + 1, "%s used %d connections (expected 2 to list, about %d to apply, "
                  "2 to read back)" % (verb, conns, batches))
            check(len(out["outcomes"]) == n and all(o["changed"] for o in out["outcomes"]), "outcomes")
            stat = [r for r in e.h.show_stat() if r["pxname"] == "bulk" and r["svname"] != "BACKEND"]
            bad = [r["svname"] for r in stat if r["status"] != want]
            check(len(stat) == n and not bad, "%s: %d servers not %s: %s" % (verb, len(bad), want, bad[:5]))


# --- errors, each with its message ------------------------------------------------

class FakePeer:
    """A socket that is not an HAProxy runtime API: it hangs, drips, or answers garbage."""

    def __init__(self, transport, mode):
        self.mode = mode
        self.dir = tempfile.mkdtemp(prefix="lbm-peer-")
        if transport == "unix":
            self.path = os.path.join(self.dir, "peer.sock")
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(self.path)
            self.target = "haproxy://" + self.path
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.target = "haproxy://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.sock.listen(8)
        self.stop = threading.Event()
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.talk, args=(c,), daemon=True).start()

    def talk(self, c):
        try:
            if self.mode == "garbage":
                c.recv(4096)
                c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
                c.close()
            elif self.mode == "prompt":  # prompts like HAProxy, answers nonsense to each command
                answers = {b"show servers state": b"2\n# something else\n\n> ",
                           b"show stat": b"# pxname,svname,scur,status,tracked\n\n> "}
                reply = b"\n> "
                for line in c.recv(4096).split(b"\n"):
                    reply += next((a for k, a in answers.items() if line.startswith(k)), b"")
                c.sendall(reply)
                c.close()
            elif self.mode == "drip":  # never silent for long, never done
                while not self.stop.is_set():
                    c.sendall(b"x")
                    time.sleep(0.2)
            elif self.mode == "flood":
                chunk = b"y" * 65536
                while not self.stop.is_set():
                    c.sendall(chunk)
            else:  # hang: accept, read, say nothing
                self.stop.wait()
        except OSError:
            pass

    def close(self):
        self.stop.set()
        self.sock.close()
        for c in self.conns:
            c.close()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


@test("errors")
def errors_socket(t):
    if t == "unix":
        d = tempfile.mkdtemp(prefix="lbm-err-")
        missing = os.path.join(d, "missing.sock")
        run_fail("EIO", "HAProxy: no socket at %s" % missing, "haproxy://" + missing, "list")
        plain = os.path.join(d, "plain")
        open(plain, "w").close()
        run_fail("EINVAL", "HAProxy: %s is not a socket" % plain, "haproxy://" + plain, "list")
        stale = os.path.join(d, "stale.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(stale)
        s.close()  # the file stays; nothing listens: HAProxy stopped without cleaning up
        run_fail("EIO", "HAProxy: connection refused on %s" % stale, "haproxy://" + stale, "list")
        # The plain message format on stderr, for humans.
        p = subprocess.run([CLI, "haproxy://" + missing, "list"], capture_output=True, text=True)
        check(p.returncode == 1 and p.stderr.startswith("lbmember: HAProxy: no socket at ")
              and p.stderr.count("\n") == 1, "stderr %r" % p.stderr)
        import shutil
        shutil.rmtree(d)
    else:
        port = free_port()
        run_fail("EIO", "HAProxy: connection refused by 127.0.0.1:%d" % port, "haproxy://127.0.0.1:%d" % port,
                 "list")
        run_fail("EINVAL", "HAProxy: '127.0.0.1' is not a runtime API address", "haproxy://127.0.0.1", "list")
        run_fail("EINVAL", "is not an IP address", "haproxy://localhost:9999", "list")
    run_fail("EINVAL", "HAProxy: no runtime API socket given", "haproxy://", "list")


@test("errors")
def errors_socket_access(t):
    """A unix socket this user may not open: the file system says no, not HAProxy."""
    if t != "unix":
        return
    with Env(t, {"b": [("a", "127.0.0.2", 1)]}) as e:
        if os.geteuid() == 0:  # root passes any mode: drop to nobody, the temp dir is 0700
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CLI]
        else:
            os.chmod(e.h.workdir, 0)
            cmd = [CLI]
        try:
            p = subprocess.run(cmd + ["--json", e.target, "list"], capture_output=True, text=True, timeout=30)
        finally:
            os.chmod(e.h.workdir, 0o700)
        check(p.returncode == 1, "exit %d: %s %s" % (p.returncode, p.stdout, p.stderr))
        err = json.loads(p.stdout)["error"]
        check(err["code"] == "EPERM" and "HAProxy: permission denied on %s" % e.h.unix_socket in err["message"],
              err)


@test("errors")
def errors_permission(t):
    with seed_env(t, check=False) as e:
        before = e.snapshot()
        for level in ("user", "operator"):
            target = e.level_target(level)
            out = run_ok(target, "list", SEED)  # reading is allowed at these levels
            check(member(out, SEED, S78)["state"] == "enabled", out)
            run_fail("EPERM", "HAProxy: %s/%s: Permission denied: the socket" % (SEED, S78), target,
                     "disable", SEED, S78)
            run_fail("EPERM", "must be a 'stats socket ... level admin'", target, "drain", SEED, S78, S79)
        check(e.snapshot() == before, "a refused change touched HAProxy")


@test("errors")
def errors_unknown(t):
    with seed_env(t, check=False) as e:
        before = e.snapshot()
        run_fail("ENOTFOUND", "HAProxy: no backend 'nope'", e.target, "list", "nope")
        run_fail("ENOTFOUND", "HAProxy: no backend 'nope'", e.target, "disable", "nope", S78)
        run_fail("ENOTFOUND", "pool '%s' has no member 'nobody'" % SEED, e.target, "disable", SEED, "nobody")
        run_fail("ENOTFOUND", "has no member", e.target, "status", SEED, "nobody")
        # A name that would smuggle a second command is refused, not sent.
        run_fail("EINVAL", "is not a backend name", e.target, "list", "x;shutdown sessions server %s/%s" % (SEED, S78))
        run_fail("EINVAL", "is not a backend name", e.target, "disable", "x y", S78)
        check(e.snapshot() == before, "touched")


class MeddlingProxy:
    """Forwards runtime API connections to a real HAProxy one command line at
    a time, and calls meddle(line) just before it forwards each line: there a
    test changes HAProxy for real, as another operator's client could;
    answered(line), when given, after HAProxy's answer to it is relayed."""

    def __init__(self, h, meddle, answered=None):
        self.h, self.meddle, self.answered = h, meddle, answered
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.target = "haproxy://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.relay, args=(c,), daemon=True).start()

    def relay(self, c):
        up = socket.socket(socket.AF_UNIX)
        up.connect(self.h.unix_socket)
        for s in (c, up):
            s.settimeout(5)
        pending = b""
        try:
            while True:
                while b"\n" not in pending:
                    chunk = c.recv(65536)
                    if not chunk:
                        return
                    pending += chunk
                line, pending = pending.split(b"\n", 1)
                self.meddle(line.decode())
                up.sendall(line + b"\n")
                reply = b""
                # In prompt mode each command's output ends with "\n> "; after quit, HAProxy closes.
                while line == b"quit" or not reply.endswith(b"\n> "):
                    chunk = up.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
                c.sendall(reply)
                if self.answered:
                    self.answered(line.decode())
                if line == b"quit":
                    return
        finally:
            up.close()
            c.close()

    def close(self):
        self.sock.close()


@test("errors")
def errors_server_vanished(t):
    """HAProxy's own "No such server." reply to a change, with the name in the message."""
    if haproxy_version() < (2, 4):
        print("  errors_server_vanished: HAProxy %d.%d has no 'add server' (2.4+) to make a server that can "
              "vanish at run time" % haproxy_version())
        return
    # 2.4 and 2.5 have it as an experimental command.
    experimental = "experimental-mode on; " if haproxy_version() < (2, 6) else ""
    with seed_env(t, check=False) as e:
        e.h.command("%sadd server %s/dyn 127.0.0.5:81" % (experimental, SEED))
        check("dyn" in [r["srv_name"] for r in e.h.servers_state()], "dynamic server not added")

        def vanish(line):
            if line.startswith("set server") and not vanished:
                vanished.append(line)
                e.h.command("set server %s/dyn state maint" % SEED)
                e.h.command("%sdel server %s/dyn" % (experimental, SEED))

        vanished = []
        proxy = MeddlingProxy(e.h, vanish)
        try:
            out = run_fail("ENOTFOUND", "HAProxy: %s/dyn: No such server." % SEED, proxy.target, "drain", SEED,
                           "dyn", S78)
            check(e.h.status(SEED, S78) == "DRAIN", "the other change of the batch was lost")
            o = {x["before"]["name"]: x for x in out["outcomes"]}
            check(o[S78]["after"]["state"] == "draining", "outcome of the applied change: %s" % out)
        finally:
            proxy.close()


@test("impostors")
def errors_not_haproxy(t):
    peer = FakePeer(t, "garbage")
    try:
        run_fail("EPROTO", "does not answer like an HAProxy runtime API (got 'SSH-2.0-OpenSSH_9.2p1 Debian-2')",
                 peer.target, "list")
    finally:
        peer.close()
    peer = FakePeer(t, "prompt")
    try:
        run_fail("EPROTO", "unexpected reply to 'show servers state' from ", peer.target, "list")
        run_fail("EPROTO", "'2' (expected format 1)", peer.target, "list")
    finally:
        peer.close()
    peer = FakePeer(t, "flood")
    try:
        run_fail("EPROTO", "answered more than 64 MiB", "--timeout", 60, peer.target, "list", timeout=90)
    finally:
        peer.close()


@test("impostors")
def master_cli(t):
    """HAProxy's own MASTER proxy (2.0 to 2.4, in `show servers state` only)
    is no pool (issue 15.1)."""
    with Env(t, {"b": [("s", "127.0.0.2", 1)]}, master=True) as e:
        out = run_ok(e.target, "list")
        check([p["name"] for p in out["pools"]] == ["b"], "pools %s" % out)
        out = run_ok(e.target, "drain", "-", "s", "--min-enabled", 0)
        check([o["pool"] for o in out["outcomes"]] == ["b"], out)


# --- deployed: master-worker as systemd starts it, reloads, old workers, agents ---

STATE_CONFIG = dict(global_extra="    server-state-file %s",
                    defaults_extra="    load-server-state-from-file global")


def reload_env(t, backends, servers=(), check=False):
    """Master-worker HAProxy (-Ws -S) whose configuration reloads its server
    state from <workdir>/server-state, as this project's docs advise."""
    workdir = tempfile.mkdtemp(prefix="lbm-haproxy-")
    state = os.path.join(workdir, "server-state")
    env = Env(t, backends, servers=servers, check=check, master=True, workdir=workdir,
              global_extra=STATE_CONFIG["global_extra"] % state, defaults_extra=STATE_CONFIG["defaults_extra"])
    return env, state


@test("deployed")
def master_cli_target(t):
    """The master CLI is a target: commands go to the current worker."""
    if t != "unix":
        print("  master_cli_target: the master CLI is a unix socket here (-S PATH); nothing to test over TCP")
        return
    with Env(t, {"b": [("s1", "127.0.0.2", 1), ("s2", "127.0.0.2", 2)]}, master=True) as e:
        master = "haproxy://" + e.h.master_socket
        # Each pool names the balancer it was listed from (issue 17), so compare all but that.
        def pools(target):
            return [dict(p, balancer=None) for p in run_ok(target, "list")["pools"]]
        check(pools(master) == pools(e.target), "master and worker disagree")
        out = run_ok(master, "drain", "b", "s1")
        check(out["outcomes"][0]["after"]["state"] == "draining" and e.h.status("b", "s1") == "DRAIN", out)
        run_ok(master, "enable", "b", "s1")
        check(e.h.status("b", "s1") != "DRAIN", "enable through the master CLI")


@test("deployed")
def reload_keeps_drain(t):
    """?state-file=PATH: a drain survives `kill -USR2` of the master; without
    it, the result says a reload forgets it, and the reload does."""
    env, state = reload_env(t, {"b": [("s1", "127.0.0.2", 1), ("s2", "127.0.0.2", 2)]})
    with env as e:
        out = run_ok(e.target, "drain", "b", "s1")
        check(any("forgets this at its next reload" in w and "?state-file=PATH" in w
                  and "load-server-state-from-file" in w for w in out["warnings"]), "no warning: %s" % out)
        e.h.reload()
        check(e.h.status("b", "s1") != "DRAIN", "the warning was wrong: the drain survived a reload")
        target = e.target + "?state-file=" + state
        out = run_ok(target, "drain", "b", "s1")
        check(not any("reload" in w for w in out["warnings"]), "warned with a state file: %s" % out)
        check(open(state).read().startswith("1\n# be_id"), "state file")
        check(oct(os.stat(state).st_mode & 0o777) == "0o644", "state file mode")
        check(not [f for f in os.listdir(os.path.dirname(state)) if f.startswith("server-state.")], "temp file left")
        e.h.reload()
        check(e.h.status("b", "s1") == "DRAIN", "the new worker forgot the drain: %s" % e.h.status("b", "s1"))
        # Given as the state_file option, and disabled this time.
        out = run_ok("--state-file", state, e.target, "disable", "b", "s2", "--min-enabled", 0)
        e.h.reload()
        check(e.h.status("b", "s2") == "MAINT", "the new worker forgot the disable")
        run_ok("--state-file", state, e.target, "enable", "b", "s1", "s2")
        e.h.reload()
        check(e.h.status("b", "s1") not in ("DRAIN", "MAINT") and e.h.status("b", "s2") != "MAINT", "enable kept")
        run_fail("EINVAL", "state file given twice", "--state-file", state + "2", target, "list")
        run_fail("EINVAL", "is not an absolute path", e.target + "?state-file=relative", "list")
        run_fail("EINVAL", "target option 'nope=1' is not known", e.target + "?nope=1", "list")


@test("deployed")
def save_state_command(t):
    """`save-state PATH` for ExecReload hooks: what HAProxy reads back."""
    env, state = reload_env(t, {"b": [("s1", "127.0.0.2", 1), ("s2", "127.0.0.2", 2)]})
    with env as e:
        e.h.command("set server b/s1 state drain")
        rc, out, err = lbm(e.target, "save-state", state)
        check(rc == 0 and out == {"saved": state}, "save-state: %s %s %s" % (rc, out, err))
        e.h.reload()
        check(e.h.status("b", "s1") == "DRAIN", "the saved state was not reloaded")
        run_fail("EINVAL", "is not an absolute path", e.target, "save-state", "relative/file")
        run_fail("EIO", "cannot create", e.target, "save-state", "/nonexistent-dir/state")
        rc, out, err = lbm(e.target, "save-state")
        check(rc == 2, "save-state without a file: %s %s" % (rc, err))


@test("deployed")
def old_workers_hold_connections(t):
    """After a reload, a connection left on the old worker: the worker socket
    cannot see it, the master CLI counts it, and --wait waits for it."""
    if t != "unix":
        print("  old_workers_hold_connections: the master CLI is a unix socket here; nothing to test over TCP")
        return
    env, _ = reload_env(t, {"b": [("s1", "a"), ("s2", "a")]}, servers=[("a", "127.0.0.2")])
    with env as e:
        master = "haproxy://" + e.h.master_socket
        held = e.h.hold("b", "s1")
        check(e.servers["a"].wait_held(1), "connection not held")
        e.h.reload()
        check(e.h.workers()[1], "no old worker after the reload")
        worker_view = member(run_ok(e.target, "list"), "b", "s1")
        check(worker_view["active"] == 0, "the new worker sees %s" % worker_view)
        master_view = member(run_ok(master, "list"), "b", "s1")
        if haproxy_version() < (2, 5):
            # 2.2 (and up to 2.4) hides the proxies of a stopping worker from
            # its `show stat`: its connections cannot be told per server.
            print("  old_workers_hold_connections: HAProxy %d.%d lists no backend of an old worker: its "
                  "connections are counted as unknown" % haproxy_version())
            check(master_view["active"] is None, "master CLI: %s" % master_view)
            run_fail("ENOTSUP", "", master, "drain", "b", "s1", "--wait", 2)
        else:
            check(master_view["active"] == 1, "master CLI: %s" % master_view)
            run_fail("ETIMEDOUT", "", master, "drain", "b", "s1", "--wait", 1)
        e.servers["a"].release()
        held.close()
        end = time.monotonic() + 10 * SLOW
        while e.h.workers()[1] and time.monotonic() < end:
            time.sleep(0.1)
        out = run_ok(master, "drain", "b", "s1", "--wait", 5)
        check(out["outcomes"][0]["after"]["active"] == 0, "settled: %s" % out)


@test("deployed")
def agent_cannot_undo_drain(t):
    """An agent answering "ready" does not put a drained server back: its
    agent check is paused while lbmember holds it out, and resumed on enable."""
    agent = Agent("ready")
    try:
        opts = "check inter 200ms agent-check agent-addr 127.0.0.5 agent-port %d agent-inter 300ms" % agent.port
        with Env(t, {"g": [("ag", "a", opts), ("plain", "a")]}, servers=[("a", "127.0.0.2")]) as e:
            check(e.wait_status("g", "ag", "UP"), "not up: %s" % e.h.status("g", "ag"))
            for verb, want in (("drain", "DRAIN"), ("disable", "MAINT")):
                out = run_ok(e.target, verb, "g", "ag")
                check(any("g/ag has an agent check: paused while it is out of rotation" in w
                          for w in out["warnings"]), "said nothing of the agent: %s" % out)
                time.sleep(1.5 * SLOW)  # five agent-inter
                check(e.h.status("g", "ag").startswith(want), "the agent undid the %s: %s" % (verb, e.h.status("g", "ag")))
                check(run_ok(e.target, "status", "g", "ag")["member"]["status"].endswith("agent-check (paused)"),
                      "status does not say the agent is paused")
            out = run_ok(e.target, "enable", "g", "ag")
            check(out["warnings"] == ["g/ag has an agent check: its agent can drain or disable it again"], out)
            check(e.wait_status("g", "ag", "UP"), "not back up")
            check(run_ok(e.target, "status", "g", "ag")["member"]["status"].endswith(" agent-check"), "agent not resumed")
            agent.word = "drain"
            check(e.wait_status("g", "ag", "DRAIN (agent)"), "the resumed agent is not heard")
            out = run_ok(e.target, "drain", "g", "plain", "--min-enabled", 0)
            check(not any("agent" in w for w in out["warnings"]), "agent warning without an agent: %s" % out)
    finally:
        agent.close()


@test("impostors")
def errors_hang(t):
    for mode in ("hang", "drip"):
        peer = FakePeer(t, mode)
        try:
            t0 = time.monotonic()
            run_fail("ETIMEDOUT", "did not answer within 1 s", "--timeout", 1, peer.target, "list")
            took = time.monotonic() - t0
            # One deadline for the whole exchange: a peer that drips a byte
            # now and then cannot stretch it.
            check(0.9 < took < 1 + 2 * SLOW, "%s: took %.2f s with --timeout 1" % (mode, took))
        finally:
            peer.close()
    # The default timeout is 5 s.
    peer = FakePeer(t, "hang")
    try:
        t0 = time.monotonic()
        run_fail("ETIMEDOUT", "did not answer within 5 s", peer.target, "list")
        check(4.5 < time.monotonic() - t0 < 5 + 3 * SLOW, "default timeout")
    finally:
        peer.close()


# --- pair: two HAProxy of an HA pair as one target (issue 17) ----------------------

def pair_env(t, servers=(), check=False):
    """Two HAProxy processes with the same backend app (s1, s2), as the two
    balancers behind VRRP: each keeps its own runtime state."""
    if servers:
        return (Env(t, {"app": [("s1", "a"), ("s2", "a")]}, servers=servers, check=check),
                Env(t, {"app": [("s1", "a"), ("s2", "a")]}, servers=servers, check=check))
    return (Env(t, {"app": [("s1", "127.0.0.2", 1), ("s2", "127.0.0.2", 2)]}, check=check),
            Env(t, {"app": [("s1", "127.0.0.3", 1), ("s2", "127.0.0.3", 2)]}, check=check))


@test("pair")
def pair_planned_and_changed_together(t):
    a, b = pair_env(t)
    with a, b:
        pair = a.target + "," + b.target
        out = run_ok(pair, "list")
        check([p["balancer"] for p in out["pools"]] == [a.target, b.target], "pools name their balancer: %s" % out)
        out = run_ok(pair, "drain", "app", "s1")
        got = [(o["balancer"], o["result"], o["after"]["state"]) for o in out["outcomes"]]
        check(got == [(a.target, "applied", "draining"), (b.target, "applied", "draining")], got)
        check(a.h.status("app", "s1") == "DRAIN" and b.h.status("app", "s1") == "DRAIN", "witness")
        # Text: every line names its balancer.
        p = subprocess.run([CLI, pair, "enable", "app", "s1"], capture_output=True, text=True, timeout=60)
        lines = p.stdout.splitlines()
        check(p.returncode == 0 and lines == ["%s: app/s1: draining -> enabled" % a.target,
                                              "%s: app/s1: draining -> enabled" % b.target], p.stdout + p.stderr)
        p = subprocess.run([CLI, pair, "list"], capture_output=True, text=True, timeout=60)
        check(p.stdout.startswith("BALANCER ") and p.stdout.count(a.target) == 2, p.stdout)
        out = run_ok(pair, "status", "app", "s2")
        check([(m["balancer"], m["member"]["state"]) for m in out["members"]]
              == [(a.target, "enabled"), (b.target, "enabled")], out)
        # A dry run plans on both, changes nothing.
        out = run_ok(pair, "disable", "app", "s2", "--dry-run")
        check([o["result"] for o in out["outcomes"]] == ["would_apply", "would_apply"], out)
        check(a.h.status("app", "s2") != "MAINT" and b.h.status("app", "s2") != "MAINT", "dry run changed")


@test("pair")
def pair_refused_before_anything_is_touched(t):
    """The guard, the names: judged on each balancer before either is touched."""
    a, b = pair_env(t)
    with a, b:
        pair = a.target + "," + b.target
        b.h.command("set server app/s2 state maint")
        before = (a.snapshot(), b.snapshot())
        run_fail("EGUARD", "%s: refusing to make 's1' disabled: pool 'app' would keep 0 enabled members"
                 % b.target, pair, "disable", "app", "s1")
        run_fail("ENOTFOUND", "%s: " % a.target, pair, "drain", "nope", "s1")
        check((a.snapshot(), b.snapshot()) == before, "a refused change touched a balancer")
        run_fail("EINVAL", "state_file with several targets", "--state-file", "/tmp/x", pair, "list")
        run_fail("EINVAL", "save-state takes one balancer", pair, "save-state", "/tmp/x")


@test("pair")
def pair_undone_when_one_fails(t):
    """The second balancer refuses (a socket at level operator): what the
    first changed is put back as it was, state and weight, and said."""
    a, b = pair_env(t)
    with a, b:
        pair = a.target + "," + b.level_target("operator")
        before = (a.snapshot(), b.snapshot())
        out = run_fail("EPERM", "Permission denied", pair, "drain", "app", "s1")
        check(out["error"]["message"].startswith(b.level_target("operator") + ": "), out["error"])
        check("put back as it was on %s" % a.target in out["error"]["message"], out["error"])
        got = [(o["balancer"], o["result"], o["after"]["state"]) for o in out["outcomes"]]
        check(got == [(a.target, "undone", "enabled"), (b.level_target("operator"), "not_applied", "enabled")], got)
        check((a.snapshot(), b.snapshot()) == before, "not put back: %s" % ((a.snapshot(), b.snapshot()),))
        # A weight is put back too.
        out = run_fail("EPERM", "Permission denied", pair, "enable", "app", "s2", "--weight", 7)
        check(out["outcomes"][0]["result"] == "undone" and out["outcomes"][0]["after"]["weight"] == 1, out)
        check(a.h.server_state("app", "s2")["srv_uweight"] == "1", "weight not put back")
        p = subprocess.run([CLI, pair, "disable", "app", "s2", "--min-enabled", "0"], capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 1 and p.stdout.splitlines() == [
            "%s: app/s2: put back as it was, enabled, because the change failed" % a.target,
            "%s: app/s2: not changed, still enabled: the call failed before this change" % b.level_target("operator")],
            p.stdout)


@test("pair")
def pair_wait_on_both(t):
    """--wait waits on every balancer: a connection held on the second one
    keeps the drain from settling, and the timeout names that balancer."""
    a, b = pair_env(t, servers=[("a", "127.0.0.2")])
    with a, b:
        pair = a.target + "," + b.target
        held = b.h.hold("app", "s1")
        try:
            check(b.servers["a"].wait_held(1), "connection not held")
            run_fail("ETIMEDOUT", "%s: app/s1: still not settled" % b.target, pair, "drain", "app", "s1",
                     "--wait", 1)
        finally:
            b.servers["a"].release()
            held.close()
        out = run_ok(pair, "drain", "app", "s1", "--wait", 10)
        check([o["after"]["active"] for o in out["outcomes"]] == [0, 0], out)
        run_ok(pair, "enable", "app", "s1")


# ---- issue 18: who, why and since when; progress; force-after; watch ----

def op_env(t):
    return Env(t, {"www": [("web1", "a"), ("web2", "b")]}, servers=[("a", "127.0.0.2"), ("b", "127.0.0.3")])


def in_pty(*args, timeout=60):
    """The CLI on a terminal (util-linux script): its output as the terminal got it."""
    cmd = " ".join("'%s'" % str(a).replace("'", "'\\''") for a in [CLI] + list(args))
    p = subprocess.run(["script", "-qefc", cmd, "/dev/null"], capture_output=True, timeout=timeout,
                       env=dict(os.environ, TERM="xterm"))
    return p.returncode, p.stdout.decode(errors="replace")


def cut(sock, timeout=5):
    """Whether the request held on sock ended within timeout: HAProxy answers
    a cut request 502 and keeps the client's connection, or closes it."""
    sock.settimeout(timeout)
    try:
        got = sock.recv(4096)
        return got == b"" or got.startswith(b"HTTP/1.1 502")
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def plain(*args, timeout=60):
    p = subprocess.run([CLI] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


@test("operator")
def reason_recorded_and_cleared(t):
    """--reason is kept with who and when, shown by list and status, gone
    after enable; a member taken out by other means says unknown."""
    with op_env(t) as e:
        before = time.time()
        out = run_ok(e.target, "drain", "www", "web1", "--reason", "kernel update CHG-42")
        after = out["outcomes"][0]["after"]
        check(after["reason"] == "kernel update CHG-42" and after["by"], after)
        listed = member(run_ok(e.target, "list"), "www", "web1")
        check((listed["reason"], listed["by"]) == ("kernel update CHG-42", after["by"]), listed)
        since = time.mktime(time.strptime(listed["since"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        check(before - 2 <= since <= time.time() + 2, listed["since"])
        rc, text, _ = plain(e.target, "status", "www", "web1")
        lines = dict(line.split(None, 1) for line in text.splitlines())
        check(rc == 0 and lines["REASON"] == "kernel update CHG-42" and lines["BY"] == after["by"], text)
        check(re.fullmatch(r"\d+s", lines["OUT"]) and lines["SINCE"] == listed["since"], text)
        # Taken out by other means: no record, and the table says so.
        e.h.command("set server www/web2 state drain")
        rc, text, _ = plain(e.target, "list")
        row = [line.split() for line in text.splitlines() if line.split()[1:2] == ["web2"]][0]
        check(row[8:10] == ["unknown", "-"] and row[-1] == "-", text)
        # Enabled: the record is gone.
        run_ok(e.target, "enable", "www", "web1")
        listed = member(run_ok(e.target, "list"), "www", "web1")
        check((listed["reason"], listed["by"], listed["since"]) == (None, None, None), listed)
        # Enabled and drained again by other means: not the old record.
        e.h.command("set server www/web2 state ready")
        run_ok(e.target, "drain", "www", "web1", "--reason", "first")
        e.h.command("set server www/web1 state ready")
        run_ok(e.target, "list")
        e.h.command("set server www/web1 state drain")
        listed = member(run_ok(e.target, "list"), "www", "web1")
        check(listed["state"] == "draining" and listed["reason"] is None, listed)
        run_fail("EINVAL", "one line", e.target, "drain", "www", "web2", "--reason", "two\nlines")


@test("operator")
def force_after_cuts(t):
    """--force-after cuts what the drain still waits for, says how many,
    then settles; the held clients see their connections closed."""
    with op_env(t) as e:
        held = [e.h.hold("www", "web1") for _ in range(2)]
        try:
            check(e.servers["a"].wait_held(2), "connections not held")
            start = time.monotonic()
            out = run_ok(e.target, "drain", "www", "web1", "--wait", 20, "--force-after", 1)
            took = time.monotonic() - start
            o = out["outcomes"][0]
            check(o["cut"] == 2 and o["after"]["active"] == 0, o)
            check(took < 15, "settled only after %.1f s" % took)
            check(int(e.h.server_stat("www", "web1")["scur"]) == 0, e.h.server_stat("www", "web1"))
            for s in held:
                check(cut(s), "a cut request is still held")
            # Said on the terminal too.
            e.h.command("set server www/web1 state ready")
            held.append(e.h.hold("www", "web1"))
            check(e.servers["a"].wait_held(3), "connection not held")
            rc, text = in_pty(e.target, "drain", "www", "web1", "--wait", 20, "--force-after", 1)
            check(rc == 0 and "www/web1: cut 1 connection still open after 1 s" in text, text)
        finally:
            e.servers["a"].release()
            for s in held:
                s.close()
        before = e.snapshot()
        run_fail("EINVAL", "the reason is 300 bytes long: expected at most 255", e.target, "drain", "www", "web2",
                 "--wait", 1, "--force-after", 0.5, "--reason", "x" * 300)
        check(e.snapshot() == before, "a refused change touched HAProxy")


@test("operator")
def progress_on_a_terminal(t):
    """On a terminal one line per member is redrawn in place, at least once
    a second: connections open, waited, left; on a pipe nothing extra."""
    with op_env(t) as e:
        held = e.h.hold("www", "web1")
        try:
            check(e.servers["a"].wait_held(1), "connection not held")
            threading.Timer(3.5, e.servers["a"].release).start()
            rc, text = in_pty(e.target, "drain", "www", "web1", "--wait", 20)
        finally:
            e.servers["a"].release()
            held.close()
        check(rc == 0, text)
        lines = re.findall(r"\x1b\[K  www/web1: 1 connection open, waited (\d+) s, (\d+) s left", text)
        waited = sorted({int(w) for w, _ in lines})
        check(len(waited) >= 3 and waited[0] == 0 and waited[-1] >= 3, text)
        check(all(int(w) + int(left) in (19, 20, 21) for w, left in lines), lines)
        check("\x1b[1A" in text and re.search(r"www/web1: settled, waited \d+ s", text), text)
        check(text.index("waiting up to 20 s") < text.index("1 connection open"), text)
        # A pipe gets the lines it always had, and no escape.
        e.h.command("set server www/web1 state ready")
        held = e.h.hold("www", "web1")
        check(e.servers["a"].wait_held(1), "connection not held")
        threading.Timer(1.5, e.servers["a"].release).start()
        rc, out, err = plain(e.target, "drain", "www", "web1", "--wait", 20)
        held.close()
        check(rc == 0 and "\x1b" not in out, out)
        check(re.fullmatch(r"www/web1: enabled -> draining\nwaiting up to 20 s for active connections to finish\n"
                           r"settled after \d+\.\d s\n", out), out)


@test("operator")
def watch_views(t):
    """watch: redrawn in place on a terminal, a table per view on a pipe,
    one list per view, Ctrl-C exits 0."""
    with op_env(t) as e:
        run_ok(e.target, "drain", "www", "web1", "--reason", "disk swap")
        rc, text = in_pty(e.target, "watch", "www", "--count", 3, "--interval", 0.3)
        check(rc == 0 and text.count("\x1b[H\x1b[J") == 3 and "(Ctrl-C to quit)" in text, text)
        check(re.search(r"web1 .* draining .* \d+s +\S+ .* disk swap", text), text)
        # One list per view: as many connections to HAProxy as `list` makes, times the views.
        base = e.h.cum_conns()
        check(plain(e.target, "list", "www")[0] == 0, "list failed")
        per_list = e.h.cum_conns() - base - 1  # the witness's own show info
        base = e.h.cum_conns()
        rc, out, _ = plain(e.target, "watch", "www", "--count", 4, "--interval", 0.2)
        check(rc == 0 and out.count("POOL  MEMBER") == 4 and out.count("\n\n") == 3, out)
        check(e.h.cum_conns() - base - 1 == 4 * per_list, (per_list, e.h.cum_conns() - base - 1))
        # Ctrl-C: exit 0.
        p = subprocess.Popen([CLI, e.target, "watch", "--interval", "0.2"], stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=10)
        check(p.returncode == 0 and out.count("POOL  MEMBER") >= 2, (p.returncode, out))


def main():
    group, transport = sys.argv[1], sys.argv[2]
    passed = failed = 0
    for fn in TESTS[group]:
        try:
            fn(transport)
            passed += 1
            print("PASS %s.%s.%s" % (group, fn.__name__, transport))
        except Exception:
            failed += 1
            print("FAIL %s.%s.%s" % (group, fn.__name__, transport))
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
