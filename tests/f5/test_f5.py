#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbmember's F5 driver against the iControl REST emulator.

    test_f5.py GROUP      (LBM_CLI: the lbmember binary; F5_SHELL: f5_shell)

Each group starts its own emulator on a free loopback port. The emulator's
own record of the members (f5.pools()) is the witness; every output of every
tool is checked for the password.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from f5_fixture import F5Emulator, F5Pair  # noqa: E402
from slowdown import SLOW  # noqa: E402

CLI = os.environ.get("LBM_CLI")
SHELL = os.environ.get("F5_SHELL")
WEB10 = ("/Common/web", "/Common/192.0.2.10:80")


class Failed(Exception):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failed(what + "".join("\n  " + str(c) for c in context))


def no_secret(f5, *texts):
    for t in texts:
        check(f5.password not in (t or ""), "the password appears in an output", t)


def cli(f5, *args, env=None, ca=True, expect=0, json_out=True):
    """Run lbmember; return (exit code, parsed JSON or text, stderr)."""
    cmd = [CLI] + (["--json"] if json_out else []) + (["--ca-file", f5.ca_file] if ca else [])
    cmd += [a for a in args]
    p = subprocess.run(cmd, env=env or f5.env(), capture_output=True, text=True, timeout=60)
    no_secret(f5, p.stdout, p.stderr)
    out = p.stdout
    if json_out and out.strip():
        try:
            out = json.loads(out)
        except ValueError:
            raise Failed("not JSON: %r" % p.stdout)
    if expect is not None:
        check(p.returncode == expect, "lbmember %s: exit %d, expected %d" % (" ".join(args), p.returncode, expect),
              p.stdout, p.stderr)
    return p.returncode, out, p.stderr


def witness(f5, pool, member):
    m = f5.member(pool, member)
    check(m is not None, "no member %s in %s" % (member, pool))
    return m["session"], m["state"]


def writes(f5):
    return [r for r in f5.requests() if r[0] in ("PATCH", "PUT", "POST", "DELETE")
            and "/authn/login" not in r[1] and "/authz/tokens/" not in r[1]]


def error_code(out):
    return out.get("error", {}).get("code") if isinstance(out, dict) else None


# ---- groups --------------------------------------------------------------------


def test_transitions():
    expect = {"drain": ("user-disabled", "up", "draining"), "disable": ("user-disabled", "user-down", "disabled"),
              "enable": ("monitor-enabled", "up", "enabled")}
    with F5Emulator() as f5:
        for verb in ["drain", "disable", "enable", "disable", "drain", "enable"]:
            _, out, _ = cli(f5, f5.target, verb, "web", "192.0.2.10:80")
            session, state, name = expect[verb]
            check(witness(f5, *WEB10) == (session, state), "%s: F5 holds %s" % (verb, witness(f5, *WEB10)))
            after = out["outcomes"][0]["after"]
            check(after["state"] == name and out["changed"], "%s: lbmember says" % verb, out)
            check(after["name"] == "/Common/192.0.2.10:80" and after["port"] == 80, "name/port", after)
        # Forced Offline set behind lbmember's back reads as disabled; enable clears it.
        f5.set_member(*WEB10, admin="forced_offline")
        _, out, _ = cli(f5, f5.target, "status", "/Common/web", "/Common/192.0.2.10:80")
        check(out["member"]["state"] == "disabled" and out["member"]["status"] == "user-disabled/user-down",
              "forced offline", out)
        cli(f5, f5.target, "enable", "web", "192.0.2.10")
        check(witness(f5, *WEB10) == ("monitor-enabled", "up"), "enable after forced offline", f5.pools())
        # An unmonitored member: user-enabled/unchecked, health unknown.
        f5.set_member(*WEB10, monitor=None)
        _, out, _ = cli(f5, f5.target, "status", "web", "192.0.2.10:80")
        check(out["member"]["health"] == "unknown" and out["member"]["status"] == "user-enabled/unchecked",
              "unchecked", out)
        # Weight is F5's ratio; 0 has no F5 meaning.
        cli(f5, f5.target, "enable", "web", "192.0.2.11:80", "--weight", "7")
        check(f5.member("/Common/web", "/Common/192.0.2.11:80")["ratio"] == 7, "ratio", f5.pools())
        _, out, _ = cli(f5, f5.target, "enable", "web", "192.0.2.11:80", "--weight", "0", expect=1)
        check(error_code(out) == "EINVAL" and "ratio" in out["error"]["message"], "weight 0", out)
        check(f5.tokens()["live"] == 0, "tokens left behind", f5.tokens())


def test_idempotent():
    with F5Emulator() as f5:
        cli(f5, f5.target, "drain", "web", "192.0.2.10:80")
        f5.reset_requests()
        _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.10:80")
        check(out["changed"] is False and out["outcomes"][0]["changed"] is False, "second drain changed", out)
        check(writes(f5) == [], "second drain wrote", f5.requests())
        check(witness(f5, *WEB10) == ("user-disabled", "up"), "state", f5.pools())


def test_dryrun():
    with F5Emulator() as f5:
        before = f5.pools()
        f5.reset_requests()
        _, out, _ = cli(f5, f5.target, "disable", "web", "192.0.2.10:80", "--dry-run")
        check(out["dry_run"] is True and out["changed"] is True, "dry run result", out)
        check(out["outcomes"][0]["after"]["state"] == "disabled", "predicted", out)
        check(writes(f5) == [] and f5.pools() == before, "dry run wrote", f5.requests())


def test_guard():
    with F5Emulator() as f5:
        cli(f5, f5.target, "disable", "api", "192.0.2.10:8080")
        f5.reset_requests()
        before = f5.pools()
        _, out, _ = cli(f5, f5.target, "drain", "api", "198.51.100.20:8080", expect=1)
        check(error_code(out) == "EGUARD", "guard", out)
        _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.11:80", "--min-enabled", "3", expect=1)
        check(error_code(out) == "EGUARD", "min-enabled 3", out)
        check(writes(f5) == [] and f5.pools() == before, "guard wrote", f5.requests())
        cli(f5, f5.target, "drain", "api", "198.51.100.20:8080", "--min-enabled", "0")
        check(witness(f5, "/Common/api", "/Common/198.51.100.20:8080")[0] == "user-disabled", "min 0", f5.pools())


def test_allpools():
    with F5Emulator() as f5:
        f5.reset_requests()
        _, out, _ = cli(f5, f5.target, "disable", "-", "192.0.2.10")
        check(sorted(o["pool"] for o in out["outcomes"]) == ["/Common/api", "/Common/web"], "pools", out)
        check(witness(f5, *WEB10) == ("user-disabled", "user-down"), "web", f5.pools())
        check(witness(f5, "/Common/api", "/Common/192.0.2.10:8080") == ("user-disabled", "user-down"), "api")
        w = writes(f5)
        check([r[0] for r in w].count("POST") == 1 and w[0][1] == "/mgmt/tm/transaction", "one transaction", w)
        check(w[-1] == ["PATCH", w[-1][1]] and w[-1][1].startswith("/mgmt/tm/transaction/"), "commit last", w)


def test_partitions():
    with F5Emulator() as f5:
        app = "/Tenant/app"
        _, out, _ = cli(f5, f5.target, "list", "Tenant/app")
        names = [m["name"] for m in out["pools"][0]["members"]]
        check(names == ["/Tenant/198.51.100.30:443", "/Tenant/198.51.100.31%2:443", "/Tenant/2001:db8::1.80",
                        "/Common/2001:db8::2.80"], "names", names)
        rd = out["pools"][0]["members"][1]
        check(rd["address"] == "198.51.100.31%2" and rd["port"] == 443, "route domain member", rd)
        v6 = out["pools"][0]["members"][2]
        check(v6["address"] == "2001:db8::1" and v6["port"] == 80, "IPv6 member", v6)
        # Route domain by ADDR%RD:PORT, IPv6 by [ADDR]:PORT and by F5's name.
        cli(f5, f5.target, "drain", app, "198.51.100.31%2:443")
        check(witness(f5, app, "/Tenant/198.51.100.31%2:443")[0] == "user-disabled", "route domain", f5.pools())
        cli(f5, f5.target, "disable", app, "[2001:db8::1]:80")
        check(witness(f5, app, "/Tenant/2001:db8::1.80") == ("user-disabled", "user-down"), "v6", f5.pools())
        _, out, _ = cli(f5, f5.target, "status", app, "2001:db8::1.80")
        check(out["member"]["name"] == "/Tenant/2001:db8::1.80", "F5's IPv6 name without partition", out)
        cli(f5, f5.target, "enable", app, "/Tenant/2001:db8::1.80")
        check(witness(f5, app, "/Tenant/2001:db8::1.80")[0] == "monitor-enabled", "v6 name", f5.pools())
        cli(f5, f5.target, "drain", app, "/Common/2001:db8::2.80")
        check(witness(f5, app, "/Common/2001:db8::2.80")[0] == "user-disabled", "other partition", f5.pools())
        _, out, _ = cli(f5, f5.target, "list", "/Nope/app", expect=1)
        check(error_code(out) == "ENOTFOUND" and "01020036:3" in out["error"]["message"], "404 kept", out)
        _, out, _ = cli(f5, f5.target, "list", "bad~name", expect=1)
        check(error_code(out) == "EINVAL", "bad pool name", out)


def test_wait():
    with F5Emulator() as f5:
        f5.set_member(*WEB10, conns=6, drain_rate=4)
        t0 = time.monotonic()
        _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.10:80", "--wait", "15")
        check(out["outcomes"][0]["after"]["active"] == 0, "drained", out)
        check(f5.member(*WEB10)["conns"] == 0, "emulator still has connections", f5.pools())
        check(time.monotonic() - t0 >= 1.0, "returned before the connections were gone")
        f5.set_member("/Common/web", "/Common/192.0.2.11:80", conns=50, drain_rate=0)
        _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.11:80", "--wait", "1.5", expect=1)
        check(error_code(out) == "ETIMEDOUT" and "50 active" in out["error"]["message"], "wait timeout", out)
        check(witness(f5, "/Common/web", "/Common/192.0.2.11:80")[0] == "user-disabled", "left draining")
        # Issue 13.3: statistics without serverside.curConns: the drain is
        # made and reported, the wait refused at once, never taken for 0.
        f5.configure(conn_counts=False)
        f5.set_member("/Common/web", "/Common/192.0.2.12:80", conns=9, drain_rate=0)
        t0 = time.monotonic()
        _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.12:80", "--wait", "300", "--min-enabled", "0",
                        expect=1)
        check(time.monotonic() - t0 < 10, "the wait was not refused at once")
        check(error_code(out) == "ENOTSUP" and out["error"]["message"] ==
              "F5: /Common/web//Common/192.0.2.12:80 reports no connection count: cannot wait for its "
              "connections to finish", "no count", out)
        o = out["outcomes"][0]
        check(o["result"] == "applied" and o["after"]["state"] == "draining" and o["after"]["active"] is None, o)
        check(witness(f5, "/Common/web", "/Common/192.0.2.12:80")[0] == "user-disabled", "not drained")
        # Enabling waits for health, which the statistics still give.
        cli(f5, f5.target, "enable", "web", "192.0.2.12:80", "--wait", "5")


NODED = {
    "/Common/web": {"members": [{"name": "web-a:80", "address": "198.51.100.81"},
                                {"name": "web-b:80", "address": "198.51.100.82"},
                                {"name": "192.0.2.10:80"}]},
    "/Common/api": {"members": [{"name": "web-a:8080", "address": "198.51.100.81"},
                                {"name": "web-c:8080", "address": "198.51.100.83"}]},
}


def test_nodes():
    """Members named after their node, found by name and by address; a node
    disabled or forced offline holds its members out, says so, and counts
    for the guard (issue 14.2, 14.5)."""
    with F5Emulator(pools=NODED) as f5:
        _, out, _ = cli(f5, f5.target, "status", "web", "198.51.100.81:80")
        check(out["member"]["name"] == "/Common/web-a:80" and out["member"]["held"] is None, "by address", out)
        _, out, _ = cli(f5, f5.target, "drain", "web", "web-a:80")
        check(witness(f5, "/Common/web", "/Common/web-a:80")[0] == "user-disabled", "drained by name")
        cli(f5, f5.target, "enable", "web", "/Common/web-a:80")

        f5.set_node("/Common/web-a", admin="disabled")
        _, out, _ = cli(f5, f5.target, "list")
        held = [m for p in out["pools"] for m in p["members"] if m["held"]]
        check([(m["name"], m["state"], m["held"]) for m in held] ==
              [("/Common/web-a:80", "draining", "its node /Common/web-a is disabled"),
               ("/Common/web-a:8080", "draining", "its node /Common/web-a is disabled")], "node hold", held)
        # api keeps web-c only: draining it would leave nothing in rotation.
        _, out, _ = cli(f5, f5.target, "drain", "api", "web-c:8080", expect=1)
        check(error_code(out) == "EGUARD" and "pool '/Common/api' would keep 0" in out["error"]["message"],
              "the guard counts the node's hold", out)
        _, out, _ = cli(f5, f5.target, "enable", "api", "web-a:8080", expect=1)
        check(error_code(out) == "EHELD" and out["error"]["message"].endswith(
            "asked for enabled, but it stays draining: its node /Common/web-a is disabled"), "held", out)
        f5.set_node("/Common/web-a", admin="forced_offline")
        _, out, _ = cli(f5, f5.target, "status", "api", "web-a:8080")
        check(out["member"]["state"] == "disabled" and
              out["member"]["held"] == "its node /Common/web-a is forced offline", "forced offline node", out)
        f5.set_node("/Common/web-a", admin="enabled")
        _, out, _ = cli(f5, f5.target, "status", "api", "web-a:8080")
        check(out["member"]["state"] == "enabled" and out["member"]["held"] is None, "node enabled again", out)
        paths = [p for _, p in f5.requests()]
        check(not any("%3A" in p or "%3a" in p for p in paths), "a request path escapes ':'", paths)


FQDN_POOLS = {
    "/Common/fqdn-web": {"members": [{"name": "web-fqdn:80", "fqdn": "web.example.com",
                                      "addresses": ["198.51.100.91", "198.51.100.92"]}]},
}


def test_fqdn():
    """An FQDN pool: the FQDN member (a template, no address of its own) and
    the ephemeral members BIG-IP makes from it. Only the FQDN member is
    changed, as F5's own tools do; whether its ephemeral members follow is
    checked, not assumed (issue 14.6)."""
    pool, template = "/Common/fqdn-web", "/Common/web-fqdn:80"
    with F5Emulator(pools=FQDN_POOLS) as f5:
        _, out, _ = cli(f5, f5.target, "list", "fqdn-web")
        members = {m["name"]: m for m in out["pools"][0]["members"]}
        t, e = members[template], members["/Common/_auto_198.51.100.91:80"]
        check(t["template"] and not t["ephemeral"] and t["address"] == "" and t["health"] == "unknown" and
              "FQDN web.example.com" in t["status"], "template", t)
        check(e["ephemeral"] and e["follows"] == pool + "/" + template and e["address"] == "198.51.100.91" and
              e["health"] == "up", "ephemeral", e)
        _, out, _ = cli(f5, f5.target, "drain", "fqdn-web", "198.51.100.91:80", "--dry-run", expect=1)
        check(error_code(out) == "EINVAL" and out["error"]["message"] ==
              "refusing to change '/Common/_auto_198.51.100.91:80' in pool '/Common/fqdn-web': the balancer makes "
              "and replaces it from /Common/fqdn-web//Common/web-fqdn:80 (an ephemeral member): change that one "
              "instead", "ephemeral refused", out)
        # The guard counts the ephemeral members, which leave with their template.
        _, out, _ = cli(f5, f5.target, "drain", "fqdn-web", "web-fqdn:80", expect=1)
        check(error_code(out) == "EGUARD", "template drain guarded", out)
        f5.configure(fqdn_propagate=True)
        _, out, _ = cli(f5, f5.target, "drain", "fqdn-web", "web-fqdn:80", "--min-enabled", "0")
        check(witness(f5, pool, "/Common/_auto_198.51.100.92:80")[0] == "user-disabled", "did not propagate")
        cli(f5, f5.target, "enable", "fqdn-web", "web-fqdn:80")
        # A BIG-IP that would not pass the drain on: said, exit 1, never success.
        f5.configure(fqdn_propagate=False)
        _, out, _ = cli(f5, f5.target, "drain", "fqdn-web", "web-fqdn:80", "--min-enabled", "0", expect=1)
        check(error_code(out) == "EPROTO" and out["error"]["message"] ==
              "/Common/fqdn-web//Common/web-fqdn:80 is draining, but '/Common/_auto_198.51.100.91:80', which follows "
              "it, still takes new connections", "ephemeral members left behind", out)
        check(out["outcomes"][0]["result"] == "applied", "the template was drained", out)


def test_shapes():
    """What devices do beyond the happy path: a 13.1.0.6 pool-level answer to
    members/stats, a commit still VALIDATING, a commit that fails with its
    reason, and monitor values mapped as tests/f5/README.md documents."""
    with F5Emulator() as f5:
        f5.set_member(*WEB10, conns=5, drain_rate=0)
        f5.configure(member_stats_pool_level=True)
        f5.reset_requests()
        _, out, _ = cli(f5, f5.target, "status", "web", "192.0.2.10:80")
        check(out["member"]["active"] == 5, "counts through one-by-one statistics", out)
        check(any(p.endswith("/members/~Common~192.0.2.10:80/stats") for _, p in f5.requests()),
              "no per-member statistics request", f5.requests())
        f5.configure(member_stats_pool_level=False, commit_async=True)
        both = ["192.0.2.10:80", "192.0.2.11:80"]
        _, out, _ = cli(f5, f5.target, "drain", "web", *both)
        check([o["result"] for o in out["outcomes"]] == ["applied", "applied"], "async commit", out)
        check(any(m == "GET" and "/mgmt/tm/transaction/" in p for m, p in f5.requests()), "commit never polled",
              f5.requests())
        f5.configure(commit_async=False)
        cli(f5, f5.target, "enable", "web", *both)
        # A commit that fails says F5's reason, and changes nothing; without a
        # reason, no dangling ": ".
        commit = r"^/mgmt/tm/transaction/\d+$"
        f5.add_fault(path=commit, method="PATCH", status=400, body={
            "code": 400, "message": "transaction failed:01070734:3: Configuration error: injected", "errorStack": [],
            "apiError": 2})
        _, out, _ = cli(f5, f5.target, "drain", "web", *both, expect=1)
        check(out["error"]["message"] == "F5: committing the transaction: transaction failed:01070734:3: "
              "Configuration error: injected (HTTP 400)", "400 commit", out)
        check([o["result"] for o in out["outcomes"]] == ["not_applied", "not_applied"], "not applied", out)
        check(witness(f5, *WEB10)[0] == "monitor-enabled", "a failed transaction changed something")
        for why, said in (("01020036:3: The requested Pool Member was not found.",
                           ": 01020036:3: The requested Pool Member was not found."), ("", "")):
            f5.add_fault(path=commit, method="PATCH", status=200, body={
                "kind": "tm:transactionstate", "transId": 1526674837169915, "state": "FAILED", "failureReason": why})
            _, out, _ = cli(f5, f5.target, "drain", "web", *both, expect=1)
            check(out["error"]["message"] == "F5: committing the transaction: it ended FAILED" + said, "FAILED", out)
        for word, health in (("fqdn-up-no-addr", "down"), ("address-down", "down"), ("checking", "unknown"),
                             ("unchecked", "unknown"), ("up", "up")):
            f5.set_member(*WEB10, monitor=word)
            _, out, _ = cli(f5, f5.target, "status", "web", "192.0.2.10:80")
            check(out["member"]["health"] == health, "monitor %s: health %s" % (word, out["member"]["health"]), out)


def shell(f5, script, env=None):
    p = subprocess.run([SHELL], input="\n".join(script) + "\n", env=env or f5.env(), capture_output=True,
                       text=True, timeout=60)
    no_secret(f5, p.stdout, p.stderr)
    return p.stdout.splitlines()


class Shell:
    """f5_shell kept open, so that one handle lives across knob turns."""

    def __init__(self, f5, env=None):
        self.f5 = f5
        self.p = subprocess.Popen([SHELL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env or f5.env(),
                                  text=True)

    def __call__(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline().strip()
        no_secret(self.f5, out)
        return out

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def test_token():
    with F5Emulator() as f5:
        sh = Shell(f5)
        check(sh("open %s ca=%s" % (f5.target, f5.ca_file)) == "ok", "open")
        for _ in range(3):
            check(sh("list").startswith("ok 3 "), "list")
        check(sh("set drain web 192.0.2.10:80") == "ok 1", "set")
        check(sh("get web 192.0.2.10:80").startswith("ok draining"), "get")
        t = f5.tokens()
        check(t["issued"] == 1 and t["live"] == 1, "one token for the handle's life", t)
        logins = [r for r in f5.requests() if r[1] == "/mgmt/shared/authn/login"]
        check(len(logins) == 1, "logged in more than once", logins)
        f5.expire_tokens()
        check(sh("list").startswith("ok 3 "), "list after expiry")
        check(sh("set enable web 192.0.2.10:80") == "ok 1", "set after expiry")
        t = f5.tokens()
        check(t["issued"] == 2 and t["live"] == 1, "exactly one new login after expiry", t)
        check(sh("close") == "ok", "close")
        sh.close()
        t = f5.tokens()
        check(t["live"] == 0 and t["deleted"] == 1, "token not deleted at close", t)
        # Every CLI run leaves no token behind, 120 runs would hit F5's 100.
        f5.configure(max_tokens=3)
        for _ in range(5):
            cli(f5, f5.target, "list")
        check(f5.tokens()["live"] == 0, "CLI left tokens", f5.tokens())


def test_credentials():
    with F5Emulator() as f5:
        bad = f5.env(LBM_F5_PASSWORD="not-" + f5.password[4:])
        for args in ([], ["--basic-auth"]):
            _, out, _ = cli(f5, *args, f5.target, "list", env=bad, expect=1)
            check(error_code(out) == "EPERM", "bad password %s" % args, out)
            _, _, err = cli(f5, *args, f5.target, "list", env=bad, expect=1, json_out=False)
            check(err.startswith("lbmember: F5: ") and err.count("\n") == 1, "one-line error", err)
            no_secret(f5, err, json.dumps(out))
            check("not-" + f5.password[4:] not in err + json.dumps(out), "wrong password echoed", err)
        _, out, _ = cli(f5, f5.target, "list", env=bad, expect=1)
        check("refused" in out["error"]["message"] and "Authentication failed" in out["error"]["message"],
              "login message keeps F5's words", out)
        # Basic auth: no token, no login.
        f5.reset_requests()
        cli(f5, "--basic-auth", f5.target, "list")
        check(all("/authn/login" not in r[1] for r in f5.requests()), "basic auth logged in", f5.requests())
        # A password file instead of the environment; no password at all.
        env = f5.env()
        del env["LBM_F5_PASSWORD"]
        cli(f5, "--password-file", f5.password_file, f5.target, "list", env=env)
        _, out, _ = cli(f5, f5.target, "list", env=env, expect=None)
        check(error_code(out) == "EINVAL" and "LBM_F5_PASSWORD" in out["error"]["message"], "no password", out)
        env = f5.env()
        del env["LBM_F5_USER"]
        _, out, _ = cli(f5, f5.target, "list", env=env, expect=None)
        check(error_code(out) == "EINVAL" and "LBM_F5_USER" in out["error"]["message"], "no user", out)
        cli(f5, "--user", f5.user, f5.target, "list", env=env)
        cli(f5, "--login-provider", "local", f5.target, "list")
        check(f5.tokens()["last_provider"] == "local", "login provider", f5.tokens())
        # Credentials in the URI are refused and never echoed.
        target = "f5://admin:%s@127.0.0.1:%d" % (f5.password, f5.port)
        code, out, err = cli(f5, target, "list", expect=None)
        check(code != 0 and error_code(out) == "EINVAL", "credentials in URI", out)
        code, out, err = cli(f5, target, "list", expect=None, json_out=False)
        check(code != 0 and "credentials" in err, "URI message", err)


def test_tls():
    with F5Emulator() as f5:
        before = f5.pools()
        _, out, _ = cli(f5, "--ca-file", f5.other_ca_file, f5.target, "list", ca=False, expect=1)
        check(error_code(out) == "EIO" and "TLS" in out["error"]["message"], "other CA accepted", out)
        _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.10:80", ca=False, expect=1)
        check("TLS" in out["error"]["message"], "system CAs accepted a self-signed CA", out)
        check(f5.pools() == before, "changed over an unverified connection")
        cli(f5, "--insecure", f5.target, "list", ca=False)
        cli(f5, "--insecure", "--ca-file", f5.other_ca_file, f5.target, "list", ca=False)


def faulty(f5, fault, verb="drain", member="192.0.2.10:80", code=None, words=(), timeout=None):
    """Inject one fault, run lbmember, check the error and that nothing changed."""
    f5.clear_faults()
    before = f5.pools()
    f5.add_fault(**fault)
    args = (["--timeout", str(timeout)] if timeout else []) + [f5.target, verb, "web", member]
    status, out, _ = cli(f5, *args, expect=None)
    check(status == 1, "fault %s: exit %d" % (fault, status), out)
    err = out.get("error", {})
    check(err.get("code") == code, "fault %s: code" % fault, out)
    for w in words:
        check(w in err.get("message", ""), "fault %s: %r not in message" % (fault, w), out)
    check(f5.pools() == before, "fault %s changed the emulator" % fault, before, f5.pools())
    f5.clear_faults()
    return err["message"]


def test_faults():
    with F5Emulator() as f5:
        pools = r"^/mgmt/tm/ltm/pool/~Common~web\?"  # a change lists only its pool
        faulty(f5, dict(path=pools, status=404), code="ENOTFOUND", words=["01020036:3"])
        faulty(f5, dict(path=pools, status=500, times=2), code="EIO", words=["mcpd", "after one retry", "500"])
        faulty(f5, dict(path=pools, status=503, times=2), code="EIO", words=["503"])
        faulty(f5, dict(path=pools, status=401, times=5), code="EPERM", words=["401"])
        faulty(f5, dict(path=pools, truncate="body"), code="EPROTO", words=["not a JSON object"])
        faulty(f5, dict(path=pools, truncate="connection"), code="EIO")
        faulty(f5, dict(path=pools, kind="tm:ltm:virtual:virtualcollectionstate"), code="EPROTO",
               words=["tm:ltm:virtual:virtualcollectionstate"])
        faulty(f5, dict(path=pools, strip=["address"]), code="EPROTO", words=["not a pool member"])
        faulty(f5, dict(path=pools, strip=["kind"]), code="EPROTO")
        faulty(f5, dict(path=r"/members/stats", kind="tm:ltm:pool:poolstate"), code="EPROTO")
        # Under valgrind a 1 s budget may not even cover the logout at close:
        # the timeout and the emulator's delay scale alike.
        faulty(f5, dict(path=pools, delay=3 * SLOW), code="ETIMEDOUT", words=["within %g s" % SLOW],
               timeout="%g" % SLOW)
        faulty(f5, dict(path=pools, drop=True, times=3), code="EIO")  # curl itself retries a reused connection once
        # The write itself fails: F5's message kept, nothing changed.
        member = r"/members/~Common~192\.0\.2\.10"
        faulty(f5, dict(path=member, method="PATCH", status=500, times=2), code="EIO", words=["mcpd"])
        faulty(f5, dict(path=member, method="PATCH", status=400,
                        body={"code": 400, "message": "01070734:3: Configuration error: injected", "errorStack": [],
                              "apiError": 3}), code="EPROTO", words=["01070734:3"])
        faulty(f5, dict(path=member, method="PATCH", delay=3 * SLOW), code="ETIMEDOUT", timeout="%g" % SLOW)
        # A transient failure once is retried, and the change goes through.
        for status in (500, 503):
            f5.reset_requests()
            f5.add_fault(path=member, method="PATCH", status=status)
            cli(f5, f5.target, "drain", "web", "192.0.2.10:80")
            check(witness(f5, *WEB10)[0] == "user-disabled", "retry after %d" % status, f5.pools())
            check([r[0] for r in f5.requests()].count("PATCH") == 2, "one retry", f5.requests())
            cli(f5, f5.target, "enable", "web", "192.0.2.10:80")
        # A transaction that fails to commit changes nothing at all.
        f5.add_fault(path=r"^/mgmt/tm/transaction/\d+$", method="PATCH", status=400,
                     body={"code": 400, "message": "transaction failed:01020036:3: The requested Pool Member "
                           "(/Common/web /Common/192.0.2.10 80) was not found.", "errorStack": [], "apiError": 2})
        before = f5.pools()
        _, out, _ = cli(f5, f5.target, "disable", "-", "192.0.2.10", expect=1)
        check("transaction failed:01020036:3" in out["error"]["message"], "commit message", out)
        check(f5.pools() == before, "failed commit changed things")
        # A 401 from an expired token mid-way is recovered by one new login.
        f5.clear_faults()
        f5.add_fault(path=pools, status=401)
        cli(f5, f5.target, "list")
        check(f5.tokens()["live"] == 0, "tokens left", f5.tokens())


def test_batch():
    members = [{"name": "192.0.2.%d:80" % (100 + i)} for i in range(50)]
    with F5Emulator(pools={"/Common/big": {"members": members}}, latency=0.05) as f5:
        f5.reset_requests()
        names = [m["name"] for m in members]
        _, out, _ = cli(f5, "--timeout", "20", f5.target, "drain", "big", *names, "--min-enabled", "0")
        check(len(out["outcomes"]) == 50 and all(o["changed"] for o in out["outcomes"]), "50 changed", out)
        check(all(m["session"] == "user-disabled" for m in f5.pools()["/Common/big"]), "witness", f5.pools())
        log = f5.requests()
        n = len(log)
        patches = [r for r in log if r[0] == "PATCH"]
        # One command per member queued in one transaction plus its commit,
        # two reads before and two after, login and logout.
        check(len(patches) == 51 and n <= 60, "%d requests for 50 members" % n, log)
        check([r[1] for r in log].count("/mgmt/tm/transaction") == 1, "one transaction", log)
        # Side by side, not 50 serial round trips.
        check(f5.max_inflight() >= 4, "requests were serial (max in flight %d)" % f5.max_inflight())
        print("batch of 50: %d requests, max %d in flight" % (n, f5.max_inflight()))


def test_expansion():
    with F5Emulator() as f5:
        f5.configure(expand=False)
        f5.reset_requests()
        _, out, _ = cli(f5, f5.target, "list")
        check(sum(len(p["members"]) for p in out["pools"]) == 9, "members without expansion", out)
        paths = [r[1] for r in f5.requests()]
        check(paths.count("/mgmt/tm/ltm/pool/~Common~web/members") == 1, "fallback GET", paths)
        cli(f5, f5.target, "drain", "web", "192.0.2.10:80")
        check(witness(f5, *WEB10)[0] == "user-disabled", "drain without expansion")


def ansible_play(f5, tmp):
    """One playbook: F5's module and lbmember take turns on one member."""
    lbm = "%s --json --ca-file %s %s" % (CLI, f5.ca_file, f5.target)
    module = {"pool": "web", "partition": "Common", "address": "192.0.2.10", "port": 80,
              "provider": {"server": "127.0.0.1", "server_port": f5.port, "user": f5.user,
                           "validate_certs": True, "no_f5_teem": True}}
    tasks = []
    for want in ("forced_offline", "disabled", "enabled"):  # the module writes, lbmember reads
        tasks.append({"f5networks.f5_modules.bigip_pool_member": dict(module, state=want),
                      "register": "write_" + want})
        tasks.append({"command": lbm + " status web 192.0.2.10:80", "register": "read_" + want})
    for want, verb in (("forced_offline", "disable"), ("disabled", "drain"), ("enabled", "enable")):
        tasks.append({"command": "%s %s web 192.0.2.10:80" % (lbm, verb), "register": "set_" + want})
        tasks.append({"f5networks.f5_modules.bigip_pool_member": dict(module, state=want),
                      "check_mode": True, "register": "check_" + want})
    tasks.append({"f5networks.f5_modules.bigip_pool_member": dict(module, state="enabled"),
                  "register": "rewrite_enabled"})
    names = [t["register"] for t in tasks]
    tasks.append({"copy": {"content": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (n, n) for n in names),
                           "dest": os.path.join(tmp, "result.json")}})
    play = os.path.join(tmp, "play.yml")
    with open(play, "w") as f:
        json.dump([{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}], f)
    # The module's provider password comes from F5_PASSWORD: never argv.
    env = f5.env(F5_PASSWORD=f5.password, SSL_CERT_FILE=f5.ca_file, ANSIBLE_LOCALHOST_WARNING="False",
                 ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "tmp"),
                 ANSIBLE_REMOTE_TEMP=os.path.join(tmp, "tmp"), HOME=tmp)
    p = subprocess.run(["ansible-playbook", "-i", "localhost,", play], env=env, capture_output=True, text=True,
                       timeout=250, cwd=tmp)
    no_secret(f5, p.stdout, p.stderr)
    check(p.returncode == 0, "ansible-playbook failed", p.stdout[-3000:], p.stderr[-3000:])
    with open(os.path.join(tmp, "result.json")) as f:
        return json.load(f)


def test_ansible():
    """The real f5networks.f5_modules.bigip_pool_member against the emulator,
    and lbmember reading back what it wrote, and the other way round."""
    ours = {"forced_offline": "disabled", "disabled": "draining", "enabled": "enabled"}
    with F5Emulator() as f5, tempfile.TemporaryDirectory(prefix="lbm-f5-ansible-") as tmp:
        r = ansible_play(f5, tmp)
        for want in ("forced_offline", "disabled", "enabled"):
            check(r["write_" + want]["changed"], "module did not change the member to %s" % want, r)
            status = json.loads(r["read_" + want]["stdout"])["member"]
            no_secret(f5, r["read_" + want]["stdout"], r["read_" + want]["stderr"])
            check(status["state"] == ours[want], "lbmember reads %s after the module's %s" % (status["state"], want),
                  status)
            check(json.loads(r["set_" + want]["stdout"])["changed"], "lbmember set nothing for %s" % want, r)
            check(r["check_" + want]["changed"] is False,
                  "the module would change what lbmember set to %s" % ours[want], r["check_" + want])
        check(r["rewrite_enabled"]["changed"] is False, "the module changed an enabled member", r)
        check(f5.member(*WEB10)["session"] == "monitor-enabled", "final state", f5.pools())
        check(f5.tokens()["live"] == 0, "tokens left behind", f5.tokens())


CUT = "/mgmt/tm/sys/connection?options="
API10 = ("/Common/api", "/Common/192.0.2.10:8080")


def cuts(f5):
    """The connection deletions the emulator was asked for, in order."""
    return [p[len(CUT):] for m, p in f5.requests() if m == "DELETE" and p.startswith(CUT)]


def test_force():
    """force_after: once it has passed and connections remain, BIG-IP is
    asked to delete the member's server-side connections, as tmsh's "delete
    sys connection ss-server-addr A ss-server-port P" does (tests/f5/README.md
    §8); the wait then goes on until the member has settled."""
    with F5Emulator() as f5:
        # Three connections that never close by themselves; the same address
        # on another port (another pool) keeps its own.
        f5.set_member(*WEB10, conns=3, drain_rate=0)
        f5.set_member(*API10, conns=2, drain_rate=0)
        sh = Shell(f5)
        check(sh("open %s ca=%s" % (f5.target, f5.ca_file)) == "ok", "open")
        f5.reset_requests()
        t0 = time.monotonic()
        out = sh("set drain web 192.0.2.10:80 wait=10 force=1")
        took = time.monotonic() - t0
        check(out == "ok 1 cut=/Common/web//Common/192.0.2.10:80:3", "cut through the library", out)
        check(1.0 <= took < 10, "cut after %.1f s, force_after 1 s" % took)
        check(cuts(f5) == ["ss-server-addr+192.0.2.10+ss-server-port+80"], "the DELETE sent", f5.requests())
        check(f5.member(*WEB10)["conns"] == 0 and f5.member(*API10)["conns"] == 2, "what was cut", f5.pools())
        out = sh("get web 192.0.2.10:80")
        check(out.split()[:5] == ["ok", "draining", "up", "1", "0"], "settled", out, f5.pools())
        # Connections that end by themselves before force_after: nothing is cut.
        f5.set_member("/Common/web", "/Common/192.0.2.11:80", conns=2, drain_rate=10)
        f5.reset_requests()
        check(sh("set drain web 192.0.2.11:80 wait=10 force=3") == "ok 1", "drained on its own")
        check(cuts(f5) == [], "cut although the connections had ended", f5.requests())
        # A route domain's '%' travels as %25; an IPv6 address as it is.
        f5.set_member("/Tenant/app", "/Tenant/198.51.100.31%2:443", conns=4, drain_rate=0)
        f5.set_member("/Tenant/app", "/Tenant/2001:db8::1.80", conns=1, drain_rate=0)
        f5.reset_requests()
        out = sh("set drain Tenant/app 198.51.100.31%2:443 [2001:db8::1]:80 wait=10 force=0.5")
        check(out == "ok 1 cut=/Tenant/app//Tenant/198.51.100.31%2:443:4 cut=/Tenant/app//Tenant/2001:db8::1.80:1",
              "route domain and IPv6 cut", out)
        check(sorted(cuts(f5)) == ["ss-server-addr+198.51.100.31%252+ss-server-port+443",
                                   "ss-server-addr+2001:db8::1+ss-server-port+80"], "their DELETEs", f5.requests())
        check(sh("close") == "ok", "close")
        sh.close()
        check(f5.tokens()["live"] == 0, "tokens left behind", f5.tokens())

        # The CLI: --force-after, the count in the result, exit 0 once settled.
        f5.set_member("/Common/web", "/Common/192.0.2.12:80", conns=3, drain_rate=0)
        f5.reset_requests()
        _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.12:80", "--wait", "10", "--force-after", "1",
                        "--min-enabled", "0")
        o = out["outcomes"][0]
        check(o["cut"] == 3 and o["after"]["active"] == 0 and o["after"]["state"] == "draining" and
              o["result"] == "applied" and "error" not in out, "CLI force", out)
        check(cuts(f5) == ["ss-server-addr+192.0.2.12+ss-server-port+80"], "CLI DELETE", f5.requests())
        cli(f5, f5.target, "enable", "web", "192.0.2.10:80", "192.0.2.11:80", "192.0.2.12:80")

        # BIG-IP refuses the deletion: its words, the drain made and said so.
        denied = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "common",
                              "error_400_access_denied.json")
        with open(denied) as f:
            body = json.load(f)
        for status, fault, code, words in ((400, body, "EPROTO", body["message"] + " (HTTP 400)"),
                                           (404, None, "ENOTFOUND", "(HTTP 404)")):
            f5.set_member(*WEB10, conns=3, drain_rate=0)
            f5.add_fault(path=r"^/mgmt/tm/sys/connection\?", method="DELETE", status=status, body=fault, times=1)
            _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.10:80", "--wait", "10", "--force-after", "0.5",
                            expect=1)
            msg = out["error"]["message"]
            check(error_code(out) == code and msg.startswith(
                "F5: cutting the connections of /Common/192.0.2.10:80 in /Common/web: ") and msg.endswith(words),
                "refused cut (%d)" % status, out)
            check(out["outcomes"][0]["result"] == "applied" and witness(f5, *WEB10)[0] == "user-disabled" and
                  f5.member(*WEB10)["conns"] == 3, "refused cut: the drain stays, the connections too", out)
            cli(f5, f5.target, "enable", "web", "192.0.2.10:80")
        check(f5.tokens()["live"] == 0, "tokens left behind", f5.tokens())


def test_records():
    """Who took a member out, when and why, kept in the state directory's
    out/ for an F5 target too: a reason given with the drain is listed back
    with who and since when; disabling keeps both; enabling removes it."""
    with F5Emulator() as f5, tempfile.TemporaryDirectory() as sd:
        env = f5.env(LBM_STATE_DIR=sd, SUDO_USER="alice")
        sh = Shell(f5, env=env)
        check(sh("open %s ca=%s" % (f5.target, f5.ca_file)) == "ok", "open")
        check(sh("get web 192.0.2.10:80") == "ok enabled up 1 0", "no record at first")
        t0 = int(time.time())
        check(sh("set drain web 192.0.2.10:80 reason=kernel update, ticket 42") == "ok 1", "drain with a reason")
        out = sh("get web 192.0.2.10:80")
        head, _, since = out.partition(" by=alice since=")
        since, _, reason = since.partition(" reason=")
        check(head == "ok draining up 1 0" and reason == "kernel update, ticket 42" and
              t0 <= int(since) <= time.time(), "the record through the library", out)
        # Disabling it now keeps when it went out and why.
        check(sh("set disable web 192.0.2.10:80") == "ok 1", "disable")
        check(sh("get web 192.0.2.10:80") == "ok disabled up 1 0 by=alice since=%s reason=kernel update, ticket 42"
              % since, "disabling keeps the record", sh("get web 192.0.2.10:80"))
        # Where it is kept (its format is the core's): in the state
        # directory's out/, readable by a monitoring user, no secret in it.
        def recorded():
            out = {}
            for name in os.listdir(os.path.join(sd, "out")):
                if name.endswith(".json"):
                    path = os.path.join(sd, "out", name)
                    with open(path) as f:
                        out[path] = f.read()
            return out

        files = recorded()
        text = "".join(files.values())
        check(len(files) == 1 and all(os.stat(p).st_mode & 0o777 == 0o644 for p in files) and
              all(w in text for w in (f5.target, "/Common/web", "/Common/192.0.2.10:80", "kernel update, ticket 42",
                                      "alice")), "the record file", files)
        no_secret(f5, text)
        check(sh("set enable web 192.0.2.10:80") == "ok 1", "enable")
        check(sh("get web 192.0.2.10:80") == "ok enabled up 1 0", "enable left the record")
        check("192.0.2.10:80" not in "".join(recorded().values()), "the entry outlived the enable", recorded())
        # A member taken out behind lbmember's back has no record.
        f5.set_member("/Common/web", "/Common/192.0.2.11:80", admin="disabled")
        check(sh("get web 192.0.2.11:80") == "ok draining up 1 0", "a record for another's drain")
        f5.set_member("/Common/web", "/Common/192.0.2.11:80", admin="enabled")
        check(sh("close") == "ok", "close")
        sh.close()

        # The CLI: --reason, then list and status show it; enable clears it.
        _, out, _ = cli(f5, f5.target, "drain", "Tenant/app", "198.51.100.31%2:443", "--reason", "disk swap",
                        env=env)
        after = out["outcomes"][0]["after"]
        check((after["reason"], after["by"]) == ("disk swap", "alice") and after["since"], "CLI drain result", out)
        _, out, _ = cli(f5, f5.target, "status", "Tenant/app", "198.51.100.31%2:443", env=env)
        check((out["member"]["reason"], out["member"]["by"], out["member"]["since"]) ==
              ("disk swap", "alice", after["since"]), "CLI status", out)
        _, out, _ = cli(f5, f5.target, "list", "Tenant/app", env=env)
        listed = {m["name"]: m["reason"] for m in out["pools"][0]["members"]}
        check(listed["/Tenant/198.51.100.31%2:443"] == "disk swap" and listed["/Tenant/198.51.100.30:443"] is None,
              "CLI list", out)
        _, out, _ = cli(f5, f5.target, "enable", "Tenant/app", "198.51.100.31%2:443", env=env)
        check(out["outcomes"][0]["after"]["reason"] is None, "CLI enable", out)
        _, out, _ = cli(f5, f5.target, "status", "Tenant/app", "198.51.100.31%2:443", env=env)
        check(out["member"]["reason"] is None and out["member"]["by"] is None and out["member"]["since"] is None,
              "CLI status after enable", out)


def test_emulator():
    """The emulator itself is as strict as a BIG-IP: otherwise the other
    groups prove little."""
    with F5Emulator() as f5:
        status, body = f5.rest("POST", "/mgmt/shared/authn/login", {"username": f5.user, "password": "wrong"})
        check(status == 401 and body["code"] == 401 and body["message"] == "Authentication failed.", "bad login",
              body)
        check("wrong" not in json.dumps(body), "login error echoes the password", body)
        status, body = f5.rest("GET", "/mgmt/tm/ltm/pool")
        check(status == 401 and "no user authentication header" in body["message"], "no credentials", body)
        tok = f5.login()
        path = "/mgmt/tm/ltm/pool/~Common~web/members/~Common~192.0.2.10:80"
        status, m = f5.rest("GET", path, token=tok)
        check(status == 200 and m["kind"] == "tm:ltm:pool:members:membersstate" and
              m["fullPath"] == "/Common/192.0.2.10:80" and m["selfLink"].startswith("https://localhost" + path) and
              m["session"] == "monitor-enabled" and m["state"] == "up", "member shape", m)
        before = f5.pools()
        for bad in ({"session": "monitor-enabled"}, {"state": "up"}, {"state": "unchecked"},
                    {"session": "disabled"}, {"ratio": 0}, {"weight": 3}):
            status, body = f5.rest("PATCH", path, bad, token=tok)
            check(status == 400 and body["code"] == 400 and body["errorStack"] == [], "accepted %s" % bad, body)
        check(f5.pools() == before, "a refused PATCH changed the member")
        status, body = f5.rest("GET", "/mgmt/tm/ltm/pool/~Tenant~app/members/~Tenant~198.51.100.31%2:443", token=tok)
        check(status == 400, "a route domain's bare '%' accepted", body)
        status, body = f5.rest("GET", "/mgmt/tm/ltm/pool/~Tenant~app/members/~Tenant~198.51.100.31%252:443",
                               token=tok)
        check(status == 200 and body["address"] == "198.51.100.31%2", "route domain as %25", body)
        status, body = f5.rest("GET", "/mgmt/tm/ltm/pool/~Common~nope", token=tok)
        want = {"code": 404, "message": "01020036:3: The requested Pool (/Common/nope) was not found.",
                "errorStack": []}
        if tuple(int(x) for x in f5.version.split(".")[:2]) >= (12, 1):  # 11.6/12.0 leave apiError out
            want["apiError"] = 3
        check(status == 404 and body == want, "404 body", body)
        status, body = f5.rest("GET", "/mgmt/tm/ltm/pool/~Common~web/members/stats", token=tok)
        key = "https://localhost/mgmt/tm/ltm/pool/~Common~web/members/~Common~192.0.2.10:80/stats"
        check(status == 200 and body["kind"] == "tm:ltm:pool:members:memberscollectionstats" and
              body["entries"][key]["nestedStats"]["kind"] == "tm:ltm:pool:members:membersstats" and
              body["entries"][key]["nestedStats"]["entries"]["serverside.curConns"] == {"value": 0}, "stats", body)
        # Transactions: all or nothing.
        status, t = f5.rest("POST", "/mgmt/tm/transaction", {}, token=tok)
        tid = str(t["transId"])
        check(t["kind"] == "tm:transactionstate" and t["state"] == "STARTED", "transaction", t)
        coord = {"X-F5-REST-Coordination-Id": tid}
        f5.rest("PATCH", path, {"session": "user-disabled"}, token=tok, headers=coord)
        f5.rest("PATCH", path.replace("192.0.2.10", "192.0.2.99"), {"session": "user-disabled"}, token=tok,
                headers=coord)
        check(f5.pools() == before, "queued commands ran before the commit")
        status, body = f5.rest("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"}, token=tok)
        check(status == 400 and body["message"].startswith("transaction failed:01020036:3"), "commit", body)
        check(f5.pools() == before, "a failed transaction changed something")
        status, t = f5.rest("POST", "/mgmt/tm/transaction", {}, token=tok)
        status, body = f5.rest("PATCH", "/mgmt/tm/transaction/%d" % t["transId"], {"state": "VALIDATING"},
                               token=tok)
        check(status == 400 and "no command" in body["message"], "empty transaction", body)
        status, _ = f5.rest("DELETE", "/mgmt/shared/authz/tokens/" + tok, token=tok)
        check(status == 200 and f5.tokens()["live"] == 0, "logout")
        status, body = f5.rest("GET", path, token=tok)
        check(status == 401, "a deleted token still works", body)


def sync_words(out):
    """The warnings of a result that speak of failover or sync."""
    return [w for w in out.get("warnings", []) if any(k in w for k in ("sync", "standby", "failover"))]


def test_pair():
    """A device group of two units (tests/f5/README.md, "A pair"): a change
    goes to the active unit only, before anything is touched; then the
    group is out of sync until config-sync, which --sync-group runs."""
    with F5Pair() as pair:
        active, standby = pair.active, pair.standby
        both = active.pools()
        check(standby.pools() == both, "the units start alike", both, standby.pools())

        # Both units in one call: refused on the standby's word, nothing touched on either.
        active.reset_requests()
        standby.reset_requests()
        _, out, _ = cli(active, "%s,%s" % (active.target, standby.target), "drain", "web", "192.0.2.10:80",
                        expect=1)
        msg = out["error"]["message"]
        check(error_code(out) == "ESTANDBY", "pair drain: not ESTANDBY", out)
        check("%s is the standby unit of its device group (failover-status STANDBY)" % standby.target[5:] in msg
              and "change the active unit" in msg, "pair drain: message", msg)
        check(active.pools() == both and standby.pools() == both, "pair drain touched a unit", active.pools(),
              standby.pools())
        check(writes(active) == [] and writes(standby) == [], "pair drain wrote", active.requests(),
              standby.requests())
        check(active.group()["pending"] == [], "pair drain left changes pending", active.group())

        # The standby alone: refused, a dry run too, asked once for three members; listing it is fine.
        standby.reset_requests()
        _, out, _ = cli(standby, standby.target, "drain", "web", "192.0.2.10:80", expect=1)
        check(error_code(out) == "ESTANDBY" and "failover-status STANDBY" in out["error"]["message"],
              "standby drain", out)
        _, out, _ = cli(standby, standby.target, "drain", "web", "192.0.2.10:80", "192.0.2.11:80", "--dry-run",
                        expect=1)
        check(error_code(out) == "ESTANDBY", "standby dry run not refused", out)
        asked = [p for _, p in standby.requests() if p.startswith("/mgmt/tm/cm/failover-status")]
        check(len(asked) == 2, "failover status read %d times for two calls" % len(asked), standby.requests())
        check(writes(standby) == [] and standby.pools() == both, "standby touched", standby.requests())
        _, out, _ = cli(standby, standby.target, "list", "web")
        check(len(out["pools"][0]["members"]) == 3 and sync_words(out) == [], "standby list", out)

        # Another word than ACTIVE refuses too, with that word.
        standby.configure(failover_status="FORCED OFFLINE")
        _, out, _ = cli(standby, standby.target, "drain", "web", "192.0.2.10:80", expect=1)
        check(error_code(out) == "ESTANDBY" and "not the active unit" in out["error"]["message"]
              and "FORCED OFFLINE" in out["error"]["message"], "forced offline unit", out)
        standby.configure(failover_status="STANDBY")

        # The active alone: applied; the standby keeps the old state, and the result says so.
        _, out, _ = cli(active, active.target, "drain", "web", "192.0.2.10:80")
        check(witness(active, *WEB10) == ("user-disabled", "up"), "active not drained", active.pools())
        check(witness(standby, *WEB10) == ("monitor-enabled", "up"), "standby changed without a sync",
              standby.pools())
        warned = sync_words(out)
        check(len(warned) == 1 and "device group failover-group" in warned[0] and "not in sync" in warned[0]
              and "Changes Pending" in warned[0] and "--sync-group failover-group" in warned[0]
              and "sync_group" in warned[0] and " is in sync" not in warned[0], "out-of-sync warning", out)
        check(not any(p == "/mgmt/tm/cm" for _, p in active.requests()), "config-sync without --sync-group",
              active.requests())

        # --sync-group: config-sync runs, the standby has the member draining, nothing to warn about.
        _, out, _ = cli(active, active.target, "drain", "web", "192.0.2.11:80", "--sync-group", "failover-group")
        check(witness(standby, "/Common/web", "/Common/192.0.2.11:80") == ("user-disabled", "up")
              and witness(standby, *WEB10) == ("user-disabled", "up"), "standby not synced", standby.pools())
        check(active.group()["pending"] == [] and active.group()["syncs"] == 1, "group", active.group())
        check(sync_words(out) == [], "warned after a good sync", out)
        syncs = [r for r in active.requests() if r == ["POST", "/mgmt/tm/cm"]]
        check(len(syncs) == 1, "config-sync requests", active.requests())

        # A sync that takes a few reads is waited for.
        active.configure_group(sync_reads=3)
        _, out, _ = cli(active, active.target, "enable", "web", "192.0.2.11:80", "--sync-group", "failover-group")
        check(witness(standby, "/Common/web", "/Common/192.0.2.11:80") == ("monitor-enabled", "up")
              and sync_words(out) == [], "slow sync", out, standby.pools())
        active.configure_group(sync_reads=0)

        # A sync that never completes: applied, and the result says the group is still out of sync.
        active.configure_group(stuck=True)
        _, out, _ = cli(active, "--timeout", "2", active.target, "enable", "web", "192.0.2.10:80",
                        "--sync-group", "failover-group")
        warned = sync_words(out)
        check(witness(active, *WEB10) == ("monitor-enabled", "up"), "stuck sync: not applied", active.pools())
        check(len(warned) == 1 and "still not in sync" in warned[0] and "Changes Pending" in warned[0],
              "stuck sync warning", out)
        active.configure_group(stuck=False)

        # A bad group: the change stays applied, the device's refusal is in the result.
        _, out, _ = cli(active, active.target, "disable", "web", "192.0.2.12:80", "--sync-group", "nope")
        w12 = witness(active, "/Common/web", "/Common/192.0.2.12:80")
        check(w12 == ("user-disabled", "user-down") and out["changed"], "bad group: not applied", out)
        warned = sync_words(out)
        check(len(warned) == 1 and "config-sync to group 'nope' failed" in warned[0]
              and "no device group nope" in warned[0] and "HTTP 400" in warned[0], "bad group warning", out)
        check(witness(standby, "/Common/web", "/Common/192.0.2.12:80") == ("monitor-enabled", "up"),
              "bad group synced", standby.pools())
        # Run again: already disabled here, but the group is still out of sync, and says so...
        _, out, _ = cli(active, active.target, "disable", "web", "192.0.2.12:80")
        warned = sync_words(out)
        check(out["outcomes"][0]["result"] == "unchanged" and len(warned) == 1 and "not in sync" in warned[0],
              "run again: out of sync not said", out)
        # ...and with the right group, the sync the first run could not make is made.
        _, out, _ = cli(active, active.target, "disable", "web", "192.0.2.12:80", "--sync-group", "failover-group")
        check(out["outcomes"][0]["result"] == "unchanged" and sync_words(out) == [], "run again with the group", out)
        check(witness(standby, "/Common/web", "/Common/192.0.2.12:80") == ("user-disabled", "user-down")
              and active.group()["pending"] == [], "run again: standby not synced", standby.pools(), active.group())
        # Not a device group name at all: refused before anything is sent.
        _, out, _ = cli(active, active.target, "drain", "web", "192.0.2.12:80", "--sync-group", "a b", expect=1)
        check(error_code(out) == "EINVAL" and "sync_group" in out["error"]["message"], "bad group name", out)

    # Standalone (every other group's emulator): nothing said, and a sync group is the device's to refuse.
    with F5Emulator() as f5:
        f5.reset_requests()
        _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.10:80")
        check(sync_words(out) == [] and witness(f5, *WEB10) == ("user-disabled", "up"), "standalone", out)
        check([p for _, p in f5.requests() if "/mgmt/tm/cm/" in p] ==
              ["/mgmt/tm/cm/failover-status", "/mgmt/tm/cm/sync-status"], "standalone reads", f5.requests())
        _, out, _ = cli(f5, f5.target, "drain", "web", "192.0.2.11:80", "--sync-group", "failover-group")
        warned = sync_words(out)
        check(witness(f5, "/Common/web", "/Common/192.0.2.11:80") == ("user-disabled", "up") and len(warned) == 1
              and "config-sync to group 'failover-group' failed" in warned[0], "standalone sync group", out)
        # A device without failover-status: the change goes on, with a warning.
        f5.add_fault(path="/mgmt/tm/cm/failover-status", status=404, times=1)
        _, out, _ = cli(f5, f5.target, "drain", "api", "192.0.2.10:8080")
        warned = sync_words(out)
        check(len(warned) == 1 and "cannot tell whether it is the standby" in warned[0], "404 failover", out)
        api10 = ("/Common/api", "/Common/192.0.2.10:8080")
        # An unreadable answer: refused, nothing touched.
        f5.add_fault(path="/mgmt/tm/cm/failover-status", status=200, body="{}", times=1)
        _, out, _ = cli(f5, f5.target, "enable", "api", "192.0.2.10:8080", expect=1)
        check(error_code(out) == "EPROTO" and "failover status" in out["error"]["message"]
              and witness(f5, *api10) == ("user-disabled", "up"), "bad answer", out)


def main():
    groups = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}
    if len(sys.argv) != 2 or sys.argv[1] not in groups:
        print("usage: test_f5.py %s" % "|".join(sorted(groups)), file=sys.stderr)
        return 2
    if not CLI or not os.access(CLI, os.X_OK):
        print("LBM_CLI must name the lbmember binary", file=sys.stderr)
        return 2
    try:
        groups[sys.argv[1]]()
    except Failed as e:
        print("FAIL f5.%s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    print("ok f5.%s" % sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
