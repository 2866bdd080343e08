# SPDX-License-Identifier: MIT
"""lb_member in real ansible-playbook runs against a real HAProxy started here
on loopback; HAProxy's own runtime API (show stat / show servers state, read
by the fixture with plain sockets) is the witness.

Groups: cycle, wait, check, diff, failures, allpools, rolling, pair, reason, force, wait_record
"""
import calendar
import json
import os
import time

from harness import HERE, PYTHON, Ansible, check, main, task
from haproxy_fixture import BackendServer, HAProxy

# What HAProxy shows for each state of a server without health checks:
# show stat "status", show servers state "srv_admin_state".
WITNESS = {"enabled": ("no check", "0"), "draining": ("DRAIN", "8"), "disabled": ("MAINT", "1")}


class Env:
    """HAProxy with backends app (s1 s2 s3), api (s1 s4) and solo (only),
    each server a running BackendServer on its own loopback address."""

    def __enter__(self):
        self.servers = {n: BackendServer(host="127.0.0.%d" % i, name=n).start()
                        for i, n in enumerate(["s1", "s2", "s3", "s4", "only"], start=2)}
        srv = lambda n: (n, self.servers[n].host, self.servers[n].port)
        self.h = HAProxy({"app": [srv("s1"), srv("s2"), srv("s3")],
                          "api": [srv("s1"), srv("s4")],
                          "solo": [srv("only")]}).start()
        self.a = Ansible()
        self.target = self.h.target_unix
        return self

    def __exit__(self, *exc):
        self.a.__exit__()
        self.h.stop()
        for s in self.servers.values():
            s.release()
            s.stop()

    def witness(self, backend, server):
        return self.h.status(backend, server), self.h.server_state(backend, server)["srv_admin_state"]

    def expect(self, backend, server, state):
        got = self.witness(backend, server)
        check(got == WITNESS[state], "%s/%s: HAProxy shows %s, expected %s (%s)"
              % (backend, server, got, WITNESS[state], state))

    def lb(self, name, **args):
        args.setdefault("target", self.target)
        return task(name, **args)


def only_result(run):
    check(len(run.results) == 1, "expected one task result", run)
    return run.results[0]


# Who the records name: the module takes $SUDO_USER first.
OPERATOR = {"SUDO_USER": "lbm-operator"}
REASON = "kernel update, CHG-1234"


def epoch(iso):
    """ISO 8601 UTC ("2026-12-01T14:34:42Z") as seconds since the epoch."""
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def check_record(member, reason, since_range, what, by=OPERATOR["SUDO_USER"]):
    """member (a result's before or after) holds the record: reason, by, and
    since within since_range (epoch seconds, inclusive)."""
    check(member["reason"] == reason and member["by"] == by, what + ": reason and by", member)
    check(since_range[0] <= epoch(member["since"]) <= since_range[1], what + ": since", member, since_range)


def check_no_record(member, what):
    check(member["reason"] is None and member["by"] is None and member["since"] is None, what + ": no record", member)


def group_cycle():
    with Env() as e:
        run = e.a.playbook([e.lb("drain", pool="app", member="s1", state="draining", wait=True, wait_timeout=10)])
        r = only_result(run)
        check(run.rc == 0 and r["changed"] is True and r["msg"] == "app/s1: enabled -> draining", "drain", run)
        m = r["members"][0]
        check(m["pool"] == "app" and m["before"]["state"] == "enabled" and m["after"]["state"] == "draining"
              and m["after"]["name"] == "s1" and m["after"]["weight"] == 1 and m["after"]["active"] == 0, "members", r)
        e.expect("app", "s1", "draining")

        r = only_result(e.a.playbook([e.lb("disable", pool="app", member="s1", state="disabled")]))
        check(r["changed"] is True and r["msg"] == "app/s1: draining -> disabled", "disable", r)
        e.expect("app", "s1", "disabled")

        r = only_result(e.a.playbook([e.lb("enable", pool="app", member="s1", state="enabled")]))
        check(r["changed"] is True and r["msg"] == "app/s1: disabled -> enabled", "enable", r)
        e.expect("app", "s1", "enabled")

        # The same playbook twice: the second run changes nothing.
        converge = [e.lb("drain s2", pool="app", member="s2", state="draining"),
                    e.lb("weight s3", pool="app", member="s3", state="enabled", weight=5)]
        first = e.a.playbook(converge)
        check(first.rc == 0 and first.stats["changed"] == 2, "first run: changed=2", first.stats)
        check(first.result("weight s3")["msg"] == "app/s3: enabled (weight 1) -> enabled (weight 5)", "weight msg",
              first.result("weight s3"))
        second = e.a.playbook(converge)
        check(second.rc == 0 and second.stats["changed"] == 0 and second.stats["ok"] == 2, "second run: changed=0",
              second.stats)
        check(second.result("drain s2")["msg"] == "app/s2: already draining", "msg", second.result("drain s2"))
        e.expect("app", "s2", "draining")
        check(e.h.server_stat("app", "s3")["weight"] == "5", "witness weight 5")
        e.expect("app", "s1", "enabled")

        # A reload forgets a drain unless the server state is saved (issue 15.2).
        r = only_result(e.a.playbook([e.lb("drain s3", pool="app", member="s3", state="draining")]))
        check(any("forgets this at its next reload" in w for w in r.get("warnings", [])), "reload warning", r)
        state = os.path.join(e.a.tmp, "server-state")
        r = only_result(e.a.playbook([e.lb("enable s3", pool="app", member="s3", state="enabled", weight=1,
                                           state_file=state)]))
        check(r["changed"] is True and not r.get("warnings"), "enable with a state file", r)
        with open(state) as f:
            check(f.read().startswith("1\n# be_id "), "state file written", state)


def group_wait():
    with Env() as e:
        # Drain with a user still connected: the task waits for them.
        conn = e.h.hold("app", "s1")
        check(e.servers["s1"].wait_held(1), "connection not held on s1")
        p = e.a.playbook([e.lb("drain", pool="app", member="s1", state="draining", wait=True, wait_timeout=60)],
                         popen=True)
        end = time.monotonic() + 30
        while e.witness("app", "s1")[0] != "DRAIN" and time.monotonic() < end:
            time.sleep(0.1)
        e.expect("app", "s1", "draining")
        time.sleep(1.5)
        check(p.poll() is None, "the task did not wait for the connection to end")
        released = time.monotonic()
        e.servers["s1"].release()
        conn.close()
        run = e.a.finish(p)
        waited = time.monotonic() - released
        r = only_result(run)
        check(run.rc == 0 and r["changed"] is True and r["members"][0]["after"]["active"] == 0,
              "drain with wait", run)
        check(waited < 20, "task ended %.1f s after the connection closed" % waited)

        # A connection that outlives wait_timeout: failed, the member left draining.
        conn = e.h.hold("app", "s2")
        check(e.servers["s2"].wait_held(1), "connection not held on s2")
        run = e.a.playbook([e.lb("drain", pool="app", member="s2", state="draining", wait=True, wait_timeout=1)])
        r = only_result(run)
        check(run.rc == 2 and r["failed"] is True and r["changed"] is True, "timeout must fail, changed", run)
        check(r["msg"] == "app/s2: still not settled after waiting 1 s: 1 active connection left", "timeout msg", r)
        check(r["members"][0]["after"]["state"] == "draining", "members on failure", r)
        e.expect("app", "s2", "draining")

        # changed follows the admin state only, never connection counts.
        conn3 = e.h.hold("app", "s3")
        check(e.servers["s3"].wait_held(1), "connection not held on s3")
        r = only_result(e.a.playbook([e.lb("enable", pool="app", member="s3", state="enabled")]))
        check(r["changed"] is False and r["members"][0]["after"]["active"] == 1, "busy member unchanged", r)
        e.servers["s3"].release()
        conn3.close()
        e.servers["s2"].release()
        conn.close()
        r = only_result(e.a.playbook([e.lb("enable", pool="app", member="s3", state="enabled")]))
        check(r["changed"] is False, "idle member unchanged", r)


def group_check():
    with Env() as e:
        run = e.a.playbook([e.lb("disable", pool="app", member="s1", state="disabled", wait=True, wait_timeout=30)],
                           check=True)
        r = only_result(run)
        check(run.rc == 0 and r["changed"] is True and run.stats["changed"] == 1, "check mode reports the change", run)
        check(r["msg"] == "check mode, nothing changed: would set app/s1: enabled -> disabled", "msg", r)
        check(r["members"][0]["after"]["state"] == "disabled", "predicted after", r)
        e.expect("app", "s1", "enabled")
        for b, s in (("app", "s2"), ("app", "s3"), ("api", "s1")):
            e.expect(b, s, "enabled")

        # A check run against a member already as asked: nothing to report.
        r = only_result(e.a.playbook([e.lb("enable", pool="app", member="s1", state="enabled")], check=True))
        check(r["changed"] is False and r["msg"] == "app/s1: already enabled", "check, no change", r)


def group_diff():
    with Env() as e:
        r = only_result(e.a.playbook([e.lb("drain", pool="app", member="s2", state="draining")], diff=True,
                                     env=OPERATOR))
        # Taken out of rotation: who, when and why (none given) show too.
        record = 'reason: ""\nby: lbm-operator\nsince: %s\n' % r["members"][0]["after"]["since"]
        want = [{"before_header": "app/s2", "after_header": "app/s2",
                 "before": "state: enabled\nweight: 1\n", "after": "state: draining\nweight: 1\n" + record}]
        check(r.get("diff") == want, "diff", r)
        e.expect("app", "s2", "draining")

        # What a person reads: the default callback's rendering of --check --diff.
        run = e.a.playbook([e.lb("disable", pool="app", member="s2", state="disabled")], diff=True, check=True,
                           callback="default")
        check(run.rc == 0, "default callback run", run)
        for line in ("--- before: app/s2", "+++ after: app/s2", "-state: draining", "+state: disabled", "changed: [localhost]"):
            check(line in run.stdout, "missing %r in the diff output" % line, run.stdout)
        e.expect("app", "s2", "draining")

        r = only_result(e.a.playbook([e.lb("drain", pool="app", member="s3", state="draining")]))
        check("diff" not in r, "diff without --diff", r)


def group_failures():
    with Env() as e:
        cases = [
            ("unknown member", dict(pool="app", member="nosuch", state="draining"), "pool 'app' has no member 'nosuch'"),
            ("unknown pool", dict(pool="nopool", member="s1", state="draining"), "HAProxy: no backend 'nopool'"),
            ("guard", dict(pool="solo", member="only", state="draining"), "min_enabled"),
            ("weight with draining", dict(pool="app", member="s1", state="draining", weight=3), "a weight goes only with enabled"),
        ]
        run = e.a.playbook([e.lb(n, ignore_errors=True, **args) for n, args, _ in cases]
                           + [task("unreachable", ignore_errors=True, target="haproxy://" + e.a.path("none.sock"),
                                   pool="app", member="s1", state="draining")])
        check(run.rc == 0 and run.stats["ignored"] == 5, "5 failures, all ignored", run.stats)
        for name, _, msg in cases + [("unreachable", None, e.a.path("none.sock"))]:
            r = run.result(name)
            check(r.get("failed") is True and msg in r["msg"] and "\n" not in r["msg"], "task %r" % name, r)
        for b, s in (("app", "s1"), ("solo", "only")):
            e.expect(b, s, "enabled")

        # Without ignore_errors the play stops at the failure, as for any module.
        run = e.a.playbook([e.lb("guard", pool="solo", member="only", state="disabled"),
                            e.lb("never", pool="app", member="s1", state="disabled")])
        check(run.rc == 2 and run.stats["failures"] == 1 and len(run.results) == 1, "play stops", run)
        check("min_enabled" in run.result("guard")["msg"], "guard msg", run.result("guard"))
        e.expect("app", "s1", "enabled")
        e.expect("solo", "only", "enabled")

        # min_enabled 0 lifts the guard, on purpose.
        r = only_result(e.a.playbook([e.lb("empty", pool="solo", member="only", state="disabled", min_enabled=0)]))
        check(r["changed"] is True, "min_enabled 0", r)
        e.expect("solo", "only", "disabled")


def group_allpools():
    with Env() as e:
        r = only_result(e.a.playbook([e.lb("drain everywhere", member="s1", state="draining")]))
        pools = sorted(m["pool"] for m in r["members"])
        check(r["changed"] is True and pools == ["api", "app"], "both pools", r)
        check(r["msg"] == "app/s1: enabled -> draining; api/s1: enabled -> draining"
              or r["msg"] == "api/s1: enabled -> draining; app/s1: enabled -> draining", "msg", r)
        e.expect("app", "s1", "draining")
        e.expect("api", "s1", "draining")
        e.expect("app", "s2", "enabled")
        e.expect("api", "s4", "enabled")


def group_rolling():
    """tests/ansible/rolling.yml: serial 1, drain, check that only this
    server is out, enable; as in the module's EXAMPLES."""
    with Env() as e:
        inv = e.a.write("inventory", "[web]\ns1\ns2\ns3\n\n[web:vars]\nansible_connection=local\n")
        run = e.a.playbook(os.path.join(HERE, "rolling.yml"), inventory=inv, args=[
            "-e", json.dumps({"lb_target": e.target, "witness_python": PYTHON,
                              "witness": os.path.join(HERE, "haproxy_witness.py"), "admin_socket": e.h.unix_socket})])
        check(run.rc == 0, "rolling playbook failed", run)
        batches = [sorted(t["hosts"]) for play in run.data["plays"] for t in play["tasks"][:1]]
        check(batches == [["s1"], ["s2"], ["s3"]], "one server per batch", batches)
        for host in ("s1", "s2", "s3"):
            st = run.data["stats"][host]
            check(st["changed"] == 2 and st["failures"] == 0, "%s: drain and enable changed" % host, st)
            e.expect("app", host, "enabled")


def group_pair():
    """target as a list (an HA pair of HAProxy): planned on both, changed on
    both, checked and diffed per balancer, put back on both when one fails."""
    with Env() as a, Env() as b:
        pair = [a.target, b.target]
        run = a.a.playbook([a.lb("drain", target=pair, pool="app", member="s1", state="draining")], diff=True)
        r = only_result(run)
        check(run.rc == 0 and r["changed"] is True and [m["balancer"] for m in r["members"]] == pair, "pair", r)
        check(r["msg"] == "%s: app/s1: enabled -> draining; %s: app/s1: enabled -> draining" % tuple(pair), "msg", r)
        check([d["before_header"] for d in r["diff"]] == ["%s: app/s1" % t for t in pair], "diff per balancer", r)
        a.expect("app", "s1", "draining")
        b.expect("app", "s1", "draining")

        r = only_result(a.a.playbook([a.lb("disable", target=pair, pool="app", member="s2", state="disabled")],
                                     check=True))
        check(r["changed"] is True and [m["result"] for m in r["members"]] == ["would_apply", "would_apply"], "check", r)
        a.expect("app", "s2", "enabled")
        b.expect("app", "s2", "enabled")

        refused = [a.target, b.h.target_unix_level("operator")]
        run = a.a.playbook([a.lb("enable", target=refused, pool="app", member="s1", state="enabled",
                                 ignore_errors=True)])
        r = only_result(run)
        check(r["failed"] is True and r["msg"].startswith(refused[1] + ": ") and "put back as it was on" in r["msg"],
              "failure names its balancer and the undo", r)
        check([m["result"] for m in r["members"]] == ["undone", "not_applied"], "outcomes", r)
        a.expect("app", "s1", "draining")

        r = only_result(a.a.playbook([a.lb("bad", target=[a.target, 5], pool="app", member="s1", state="enabled",
                                           ignore_errors=True)]))
        check(r["failed"] is True and r["msg"] == "target entry 2 must be a balancer URI, got: a number", "bad entry", r)


def group_reason():
    """reason, by and since: recorded by a drain, read back by the runs that
    follow (whatever they change), kept by a disable, cleared by enable; the
    state directory's files are the witness."""
    with Env() as e:
        t0 = int(time.time())
        r = only_result(e.a.playbook([e.lb("drain", pool="app", member="s1", state="draining", reason=REASON)],
                                     env=OPERATOR))
        t1 = int(time.time())
        m = r["members"][0]
        check(r["changed"] is True and r["msg"] == "app/s1: enabled -> draining" and m["cut"] == 0, "drain", r)
        check_no_record(m["before"], "before the drain")
        check_record(m["after"], REASON, (t0, t1), "after the drain")
        e.expect("app", "s1", "draining")
        recs = e.a.records()
        check(len(recs) == 1 and recs[0]["pool"] == "app" and recs[0]["member"] == "s1"
              and recs[0]["reason"] == REASON and recs[0]["by"] == "lbm-operator" and recs[0]["state"] == "draining"
              and recs[0]["target"] == e.target, "the record on disk", recs)
        since = m["after"]["since"]

        # The same task again, without a reason, as a status run: nothing
        # changes, and the record shows in before and after, and in the diff.
        r = only_result(e.a.playbook([e.lb("again", pool="app", member="s1", state="draining")], diff=True))
        m = r["members"][0]
        check(r["changed"] is False and r["msg"] == "app/s1: already draining", "second run", r)
        for side in ("before", "after"):
            check_record(m[side], REASON, (t0, t1), "second run, " + side)
            check(m[side]["since"] == since, "second run: since kept", m)
        text = "state: draining\nweight: 1\nreason: %s\nby: lbm-operator\nsince: %s\n" % (json.dumps(REASON), since)
        check(r["diff"] == [{"before_header": "app/s1", "after_header": "app/s1", "before": text, "after": text}],
              "diff of an unchanged member", r)

        # Disabling it without a new reason keeps the first one and its time;
        # by names who made this change.
        r = only_result(e.a.playbook([e.lb("disable", pool="app", member="s1", state="disabled")], diff=True,
                                     env={"SUDO_USER": "lbm-second"}))
        m = r["members"][0]
        check(r["changed"] is True and m["after"]["state"] == "disabled", "disable", r)
        check_record(m["after"], REASON, (t0, t1), "after the disable", by="lbm-second")
        check(m["after"]["since"] == since, "the disable keeps since", m)
        check(r["diff"][0]["before"] == text
              and r["diff"][0]["after"] == text.replace("draining", "disabled").replace("lbm-operator", "lbm-second"),
              "diff of the disable", r)
        e.expect("app", "s1", "disabled")

        # Other members have none; an empty reason is none (how a template says it).
        r = only_result(e.a.playbook([e.lb("drain s2", pool="app", member="s2", state="draining", reason="")],
                                     env=OPERATOR))
        check_record(r["members"][0]["after"], "", (t0, int(time.time())), "a drain with an empty reason")
        check(len(e.a.records()) == 2, "two records", e.a.records())

        # enable clears it, in the result and on disk.
        r = only_result(e.a.playbook([e.lb("enable", pool="app", member="s1", state="enabled")], diff=True))
        m = r["members"][0]
        check(r["changed"] is True, "enable", r)
        check_record(m["before"], REASON, (t0, t1), "before the enable", by="lbm-second")
        check_no_record(m["after"], "after the enable")
        check(r["diff"][0]["after"] == "state: enabled\nweight: 1\n", "diff of the enable", r)
        e.expect("app", "s1", "enabled")
        check([(x["member"], x["state"]) for x in e.a.records()] == [("s2", "draining")], "s1's record gone",
              e.a.records())
        check_no_record(only_result(e.a.playbook([e.lb("status", pool="app", member="s1", state="enabled")]))
                        ["members"][0]["after"], "enabled, read back")

        # Check mode predicts the change and records nothing.
        r = only_result(e.a.playbook([e.lb("check", pool="app", member="s3", state="disabled", reason=REASON)],
                                     check=True))
        check(r["changed"] is True and r["members"][0]["result"] == "would_apply", "check mode", r)
        check(len(e.a.records()) == 1, "check mode wrote a record", e.a.records())
        e.expect("app", "s3", "enabled")

        # Refused before anything is touched: a reason of two lines, one too
        # long, a record that cannot be written.
        blocker = e.a.write("not-a-dir", "")
        cases = [
            ("two lines", dict(state="draining", reason="one\ntwo"),
             "the reason must be one line of text: it holds a control character"),
            ("too long", dict(state="draining", reason="x" * 256),
             "the reason is 256 bytes long: expected at most 255"),
            ("no state dir", dict(state="draining", reason=REASON, state_dir=os.path.join(blocker, "state")),
             "cannot record the reason, so nothing was changed: "),
        ]
        run = e.a.playbook([e.lb(n, ignore_errors=True, pool="app", member="s3", **args) for n, args, _ in cases])
        check(run.stats["ignored"] == len(cases), "every case fails", run)
        for name, _, msg in cases:
            r = run.result(name)
            check(r["failed"] is True and r["changed"] is False and r["msg"].startswith(msg), name, r)
        e.expect("app", "s3", "enabled")
        check(len(e.a.records()) == 1, "no record written", e.a.records())


def group_force():
    """force_after: a user who outstays it is cut, and the drain settles
    long before wait_timeout; check mode cuts nothing."""
    with Env() as e:
        server = e.servers["s1"]
        conn = e.h.hold("app", "s1")
        try:
            check(server.wait_held(1), "connection not held on s1")
            drain = dict(pool="app", member="s1", state="draining", wait=True, wait_timeout=10, force_after=1)
            r = only_result(e.a.playbook([e.lb("check", **drain)], check=True))
            check(r["changed"] is True and r["members"][0]["cut"] == 0, "check mode", r)
            e.expect("app", "s1", "enabled")
            check(e.h.server_stat("app", "s1")["scur"] == "1", "check mode cut the connection")

            start = time.monotonic()
            run = e.a.playbook([e.lb("drain", reason="stuck client", **drain)])
            took = time.monotonic() - start
            r = only_result(run)
            m = r["members"][0]
            check(run.rc == 0 and r["changed"] is True and m["cut"] == 1 and m["after"]["active"] == 0,
                  "drain with force_after", run)
            check(r["msg"] == "app/s1: enabled -> draining (1 connection cut)", "msg", r)
            check(took < 8, "the task took %.1f s: it did not cut at force_after" % took)
            e.expect("app", "s1", "draining")
            check(e.h.server_stat("app", "s1")["scur"] == "0", "HAProxy still counts the connection")
            # The user's connection was ended by HAProxy, not answered by the server.
            conn.settimeout(5)
            try:
                reply = conn.recv(65536)
            except OSError:
                reply = b""
            check(b"200 OK" not in reply and server.served == 0, "the held request was answered", reply)
            r = only_result(e.a.playbook([e.lb("status", pool="app", member="s1", state="draining")]))
            check(r["changed"] is False and r["members"][0]["before"]["reason"] == "stuck client",
                  "the reason of a drain that cut", r)

            # Refused where the task cannot mean it.
            cases = [
                ("without wait", dict(drain, wait=False), "force_after goes with wait: true"),
                ("not below wait_timeout", dict(drain, force_after=10),
                 "force_after must be less than wait_timeout (10 s), got: 10"),
                ("zero", dict(drain, force_after=0), "force_after must be more than 0 seconds, got: 0"),
                ("with enabled", dict(drain, state="enabled"),
                 "force_after goes with draining or disabling: it cuts connections"),
            ]
            run = e.a.playbook([e.lb(n, ignore_errors=True, **args) for n, args, _ in cases])
            for name, _, msg in cases:
                r = run.result(name)
                check(r["failed"] is True and r["changed"] is False and r["msg"].startswith(msg), name, r)
            e.expect("app", "s1", "draining")
        finally:
            server.release()
            conn.close()


def group_wait_record():
    """A drain whose wait polls the balancer (a user still connected) keeps
    its record in the result: the after that the wait reads back."""
    with Env() as e:
        server = e.servers["s2"]
        conn = e.h.hold("app", "s2")
        try:
            check(server.wait_held(1), "connection not held on s2")
            p = e.a.playbook([e.lb("drain", pool="app", member="s2", state="draining", reason=REASON, wait=True,
                                   wait_timeout=30)], env=OPERATOR, popen=True)
            end = time.monotonic() + 30
            while e.witness("app", "s2")[0] != "DRAIN" and time.monotonic() < end:
                time.sleep(0.1)
            time.sleep(1.5)  # the wait has looked at the balancer again by now
            server.release()
            conn.close()
            run = e.a.finish(p)
        finally:
            server.release()
            conn.close()
        r = only_result(run)
        m = r["members"][0]
        check(run.rc == 0 and m["after"]["active"] == 0, "drain with wait", run)
        check_record(m["after"], REASON, (int(time.time()) - 60, int(time.time())), "after a wait")


if __name__ == "__main__":
    main({"cycle": group_cycle, "wait": group_wait, "check": group_check, "diff": group_diff,
          "failures": group_failures, "allpools": group_allpools, "rolling": group_rolling, "pair": group_pair,
          "reason": group_reason, "force": group_force, "wait_record": group_wait_record})
