# SPDX-License-Identifier: MIT
"""lbmember against the recorded-shape fixtures themselves (tests/f5/replay.py
serves them: tests/f5/README.md lists each with its public source), one
BIG-IP version at a time: list, status, drain and enable of one member and
of three at once (a transaction), and --wait. The replay's own record of
each member is the witness.

Usage: test_replay.py VERSION...   (fixture directories: v11.6 v12.1 ...)
Needs $LBM_CLI."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from f5_fixture import F5Replay  # noqa: E402
from listing import member  # noqa: E402

CLI = os.environ["LBM_CLI"]
APP = "/Tenant/app"
APP_MEMBERS = ["/Tenant/198.51.100.31%2:443", "/Tenant/2001:db8::1.80", "/Common/app6:80"]
FQDN = "/Common/fqdn-web"
TEMPLATE = "/Common/web-fqdn:80"


def check(cond, what, *context):
    if not cond:
        raise AssertionError(what + "".join("\n  %s" % (c,) for c in context))


def cli(f5, *args, expect=0):
    p = subprocess.run([CLI, "--json", "--ca-file", f5.ca_file, f5.target] + list(args), capture_output=True,
                       text=True, timeout=60, env=f5.env())
    check(p.returncode == expect, "lbmember %s: exit %d, expected %d" % (" ".join(args), p.returncode, expect),
          p.stdout, p.stderr)
    check(f5.password not in p.stdout + p.stderr, "the password was shown")
    return json.loads(p.stdout)


def session_state(f5, pool, name):
    m = f5.member(pool, name)
    return m["session"], m["state"]


def replay(version):
    with F5Replay(version=version) as f5:
        out = cli(f5, "list")
        # Members named after their node, the address apart; found by either.
        a = member(out, "/Common/web", "/Common/web-a:80")
        check(a["address"] == "198.51.100.81" and a["port"] == 80 and a["active"] is not None, "node-named member", a)
        six = member(out, APP, "/Tenant/2001:db8::1.80")
        check(six["address"] == "2001:db8::1" and six["port"] == 80, "IPv6 member", six)
        rd = member(out, APP, "/Tenant/198.51.100.31%2:443")
        check(rd["address"] == "198.51.100.31%2" and rd["port"] == 443, "route domain member", rd)
        # The FQDN member and the members BIG-IP made from it, as such.
        t = member(out, FQDN, TEMPLATE)
        check(t["template"] is True and t["ephemeral"] is False and t["address"] == "", "FQDN template", t)
        e = member(out, FQDN, "/Common/_auto_198.51.100.91:80")
        check(e["ephemeral"] is True and e["follows"] == FQDN + "/" + TEMPLATE and e["address"] == "198.51.100.91",
              "ephemeral member", e)
        out = cli(f5, "status", "web", "198.51.100.81:80")
        check(out["member"]["name"] == "/Common/web-a:80", "found by address", out)
        out = cli(f5, "status", "web", "web-a:80")
        check(out["member"]["address"] == "198.51.100.81", "found by name without partition", out)
        out = cli(f5, "drain", FQDN, "198.51.100.91:80", "--min-enabled", "0", expect=1)
        check(out["error"]["code"] == "EINVAL" and "ephemeral member" in out["error"]["message"], "ephemeral", out)

        # One member, then three in one transaction, each confirmed by the replay.
        f5.reset_requests()
        out = cli(f5, "drain", APP, "198.51.100.31%2:443", "--min-enabled", "0")
        check(out["outcomes"][0]["result"] == "applied", "drain one", out)
        check(session_state(f5, APP, APP_MEMBERS[0])[0] == "user-disabled", "witness: not drained",
              f5.member(APP, APP_MEMBERS[0]))
        cli(f5, "enable", APP, APP_MEMBERS[0])
        check(session_state(f5, APP, APP_MEMBERS[0])[0] == "user-enabled", "witness: not enabled")
        out = cli(f5, "disable", APP, *APP_MEMBERS, "--min-enabled", "0")
        check([o["result"] for o in out["outcomes"]] == ["applied"] * 3, "disable three", out)
        check(all(session_state(f5, APP, m) == ("user-disabled", "user-down") for m in APP_MEMBERS), "witness",
              f5.members()[APP])
        out = cli(f5, "enable", APP, *APP_MEMBERS)
        check(all(o["after"]["state"] == "enabled" for o in out["outcomes"]), "enable three", out)
        check(all(session_state(f5, APP, m)[0] == "user-enabled" for m in APP_MEMBERS), "witness", f5.members()[APP])
        paths = [p for _, p in f5.requests()]
        check(any(p.startswith("/mgmt/tm/transaction") for p in paths), "three members without a transaction",
              paths)
        check(not any("%3A" in p or "%3a" in p for p in paths), "a request path escapes ':'", paths)

        # --wait: the replay's count falls to 0 a few reads after the drain.
        out = cli(f5, "drain", APP, APP_MEMBERS[2], "--min-enabled", "0", "--wait", "30")
        check(out["outcomes"][0]["after"]["active"] == 0, "waited for connections", out)
        cli(f5, "enable", APP, APP_MEMBERS[2])
        print("ok   %s (%s): list, status, drain and enable of one and three members, --wait" % (version, f5.version),
              flush=True)


def main():
    failed = 0
    for version in sys.argv[1:]:
        try:
            replay(version)
        except Exception as e:  # report each version, then fail
            failed += 1
            print("FAIL %s: %s: %s" % (version, type(e).__name__, e), flush=True)
    sys.exit(1 if failed or len(sys.argv) < 2 else 0)


if __name__ == "__main__":
    main()
