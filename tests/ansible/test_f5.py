# SPDX-License-Identifier: MIT
"""lb_member in real ansible-playbook runs against the F5 iControl REST
emulator (tests/f5/emulator.py through tests/lib/f5_fixture.py); the
emulator's own view of each member (/__emulator__/) is the witness.

The password reaches ansible-playbook through a vars file (-e @file), never
argv, and the tests check it appears in no output, -vvv included.

Groups: cycle, wait, check_diff, failures, nolog, tls
"""
import json

from harness import Ansible, check, main, task  # first: puts tests/lib on sys.path
from f5_fixture import F5Emulator

WEB = "/Common/web"
WITNESS = {"enabled": ("monitor-enabled", "up"), "draining": ("user-disabled", "up"),
           "disabled": ("user-disabled", "user-down")}
POOLS = {
    WEB: {"members": [{"name": "192.0.2.10:80", "monitor": "up"}, {"name": "192.0.2.11:80", "monitor": "up"},
                      {"name": "192.0.2.12:80", "monitor": "up"}]},
    "/Common/solo": {"members": [{"name": "198.51.100.5:443", "monitor": "up"}]},
}


class Env:
    def __init__(self, pools=POOLS):
        self.pools = pools

    def __enter__(self):
        self.f5 = F5Emulator(pools=self.pools).__enter__()
        self.a = Ansible()
        self.secrets = self.a.write("secrets.json", {"f5_password": self.f5.password})
        return self

    def __exit__(self, *exc):
        self.a.__exit__()
        self.f5.__exit__(*exc)

    def lb(self, name, pool=WEB, **args):
        base = dict(target=self.f5.target, user=self.f5.user, password="{{ f5_password }}",
                    ca_path=self.f5.ca_file, pool=pool)
        base.update(args)
        return task(name, **base)

    def play(self, tasks, args=(), **kw):
        run = self.a.playbook(tasks, args=["-e", "@" + self.secrets] + list(args), **kw)
        self.no_secret(run.stdout, run.stderr)
        return run

    def no_secret(self, *texts):
        for t in texts:
            check(self.f5.password not in (t or ""), "the password appears in an output", t)

    def expect(self, member, state, pool=WEB):
        w = self.f5.member(pool, "/Common/" + member)
        got = (w["session"], w["state"])
        check(got == WITNESS[state], "%s: the emulator shows %s, expected %s (%s)" % (member, got, WITNESS[state],
                                                                                      state))


def only(run):
    check(len(run.results) == 1, "expected one task result", run)
    return run.results[0]


def group_cycle():
    with Env() as e:
        r = only(e.play([e.lb("drain", member="192.0.2.10:80", state="draining")]))
        check(r["changed"] is True and r["msg"] == "/Common/web//Common/192.0.2.10:80: enabled -> draining", "drain", r)
        m = r["members"][0]
        check(m["before"]["state"] == "enabled" and m["after"]["state"] == "draining"
              and m["after"]["address"] == "192.0.2.10" and m["after"]["port"] == 80, "members", r)
        e.expect("192.0.2.10:80", "draining")

        r = only(e.play([e.lb("disable", member="192.0.2.10:80", state="disabled")]))
        check(r["changed"] is True, "disable", r)
        e.expect("192.0.2.10:80", "disabled")

        r = only(e.play([e.lb("enable", member="/Common/192.0.2.10:80", state="enabled")]))
        check(r["changed"] is True, "enable", r)
        e.expect("192.0.2.10:80", "enabled")

        converge = [e.lb("drain 11", member="192.0.2.11:80", state="draining"),
                    e.lb("disable 12", member="192.0.2.12:80", state="disabled", min_enabled=0)]
        first = e.play(converge)
        check(first.rc == 0 and first.stats["changed"] == 2, "first run", first.stats)
        second = e.play(converge)
        check(second.rc == 0 and second.stats["changed"] == 0 and second.stats["ok"] == 2, "second run changed=0",
              second.stats)
        e.expect("192.0.2.11:80", "draining")
        e.expect("192.0.2.12:80", "disabled")
        e.expect("192.0.2.10:80", "enabled")
        check(e.f5.tokens()["live"] == 0, "tokens left behind", e.f5.tokens())


def group_wait():
    with Env() as e:
        e.f5.set_member(WEB, "/Common/192.0.2.10:80", conns=3, drain_rate=1.5)
        r = only(e.play([e.lb("drain", member="192.0.2.10:80", state="draining", wait=True, wait_timeout=30)]))
        check(r["changed"] is True and r["members"][0]["after"]["active"] == 0, "drain with wait", r)
        check(e.f5.member(WEB, "/Common/192.0.2.10:80")["conns"] == 0, "witness: connections left")
        e.expect("192.0.2.10:80", "draining")

        e.f5.set_member(WEB, "/Common/192.0.2.11:80", conns=5, drain_rate=0)
        run = e.play([e.lb("drain", member="192.0.2.11:80", state="draining", wait=True, wait_timeout=1)])
        r = only(run)
        check(run.rc == 2 and r["failed"] is True and r["changed"] is True, "wait timeout fails", r)
        check(r["msg"] == "/Common/web//Common/192.0.2.11:80: still not settled after waiting 1 s: "
              "5 active connections left", "timeout msg", r)
        e.expect("192.0.2.11:80", "draining")

        # Issue 13.3: no connection count in the statistics: failed, at once, but changed.
        e.f5.configure(conn_counts=False)
        e.f5.set_member(WEB, "/Common/192.0.2.12:80", conns=4, drain_rate=0)
        run = e.play([e.lb("drain", member="192.0.2.12:80", state="draining", wait=True, wait_timeout=300,
                           min_enabled=0)])
        r = only(run)
        check(run.rc == 2 and r["failed"] is True and r["changed"] is True, "wait without counts fails", r)
        check(r["msg"] == "F5: /Common/web//Common/192.0.2.12:80 reports no connection count: cannot wait for its "
              "connections to finish", "no-count msg", r)
        check(r["members"][0]["result"] == "applied", "result", r)
        e.expect("192.0.2.12:80", "draining")
        e.f5.configure(conn_counts=True)
        only(e.play([e.lb("enable", member="192.0.2.12:80", state="enabled")]))

        # changed follows the admin state only: connections come and go.
        e.f5.set_member(WEB, "/Common/192.0.2.12:80", conns=7, drain_rate=0.5)
        r = only(e.play([e.lb("enable", member="192.0.2.12:80", state="enabled")]))
        check(r["changed"] is False and r["members"][0]["before"]["active"] > 0, "busy member unchanged", r)


def group_check_diff():
    with Env() as e:
        run = e.play([e.lb("disable", member="192.0.2.10:80", state="disabled")], check=True, diff=True)
        r = only(run)
        check(r["changed"] is True and r["msg"].startswith("check mode, nothing changed: would set "), "check", r)
        check(r["members"][0]["after"]["state"] == "disabled", "predicted", r)
        want = [{"before_header": "/Common/web//Common/192.0.2.10:80", "after_header": "/Common/web//Common/192.0.2.10:80",
                 "before": "state: enabled\nweight: 1\n", "after": "state: disabled\nweight: 1\n"}]
        check(r["diff"] == want, "diff", r)
        e.expect("192.0.2.10:80", "enabled")
        writes = [r for r in e.f5.requests() if r[0] in ("PATCH", "PUT")
                  or (r[0] == "POST" and "/authn/login" not in r[1])]
        check(e.f5.requests() and not writes, "check mode wrote to the F5", e.f5.requests())

        run = e.play([e.lb("drain", member="192.0.2.10:80", state="draining")], diff=True, callback="default")
        for line in ("-state: enabled", "+state: draining", "changed: [localhost]"):
            check(line in run.stdout, "missing %r" % line, run.stdout)
        e.expect("192.0.2.10:80", "draining")


def group_failures():
    with Env() as e:
        cases = [
            ("unknown member", dict(member="192.0.2.99:80", state="draining"), "192.0.2.99:80"),
            ("unknown pool", dict(pool="/Common/nopool", member="192.0.2.10:80", state="draining"), "nopool"),
            ("guard", dict(pool="/Common/solo", member="198.51.100.5:443", state="disabled"), "min_enabled"),
            ("bad password", dict(member="192.0.2.10:80", state="draining", password="wrong-password"), "F5"),
            ("no such host", dict(member="192.0.2.10:80", state="draining", target="f5://127.0.0.1:1"), "F5"),
        ]
        run = e.play([e.lb(n, ignore_errors=True, **a) for n, a, _ in cases])
        check(run.rc == 0 and run.stats["ignored"] == len(cases), "all failed, all ignored", run.stats)
        for name, _, word in cases:
            r = run.result(name)
            check(r.get("failed") is True and word in r["msg"] and "\n" not in r["msg"], "task %r" % name, r)
        check("wrong-password" not in run.stdout, "the wrong password is shown", run.stdout)
        e.expect("192.0.2.10:80", "enabled")
        e.expect("198.51.100.5:443", "enabled", pool="/Common/solo")


def group_nolog():
    """The password, given as an option (no_log) or in the environment of
    ansible-playbook, appears nowhere in -vvv output or the result."""
    with Env() as e:
        drain = e.lb("drain", member="192.0.2.10:80", state="draining")
        drain["register"] = "out"
        run = e.play([drain, {"name": "show", "ansible.builtin.debug": {"var": "out"}}],
                     args=["-vvv"], callback="default")
        check(run.rc == 0 and "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.stdout, "-vvv run", run)
        e.expect("192.0.2.10:80", "draining")

        run = e.play([e.lb("drain", member="192.0.2.11:80", state="draining", password=None)], args=["-vvv"],
                     env={"LBM_F5_PASSWORD": e.f5.password}, callback="default")
        check(run.rc == 0 and "changed: [localhost]" in run.stdout, "password from the environment", run)
        e.expect("192.0.2.11:80", "draining")

        run = e.play([e.lb("no password", member="192.0.2.12:80", state="draining", password=None,
                           ignore_errors=True)])
        r = only(run)
        check(r["failed"] is True and "\n" not in r["msg"], "no password at all", r)
        e.expect("192.0.2.12:80", "enabled")


def group_tls():
    with Env() as e:
        base = dict(member="192.0.2.10:80", state="draining", ignore_errors=True)
        run = e.play([e.lb("system CAs", ca_path=None, **base),
                      e.lb("wrong CA", ca_path=e.f5.other_ca_file, **base)])
        for name in ("system CAs", "wrong CA"):
            r = run.result(name)
            check(r.get("failed") is True and "certificate" in r["msg"].lower(), "%s must fail on TLS" % name, r)
        e.expect("192.0.2.10:80", "enabled")

        r = only(e.play([e.lb("insecure", ca_path=None, validate_certs=False, member="192.0.2.10:80",
                             state="draining")]))
        check(r["changed"] is True, "validate_certs false", r)
        r = only(e.play([e.lb("verified", member="192.0.2.11:80", state="draining", validate_certs="yes")]))
        check(r["changed"] is True, "ca_path", r)
        e.expect("192.0.2.10:80", "draining")
        e.expect("192.0.2.11:80", "draining")


if __name__ == "__main__":
    main({"cycle": group_cycle, "wait": group_wait, "check_diff": group_check_diff, "failures": group_failures,
          "nolog": group_nolog, "tls": group_tls})
