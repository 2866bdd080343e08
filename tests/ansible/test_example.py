# SPDX-License-Identifier: MIT
"""examples/rolling_restart_pair.yml: a rolling restart through an HA pair of
HAProxy balancers, serial 1.

Groups:
  lint  ansible-lint (Debian's 6.13, production profile, offline) passes on the
        example as it is in the tree, and fails on copies broken on purpose
        (so this test can fail): a short module name, a command without
        changed_when, a misspelt module (lbmember.lb.lb_member is resolved
        through the collection the build assembles, not by luck).
  run   the example for real with ansible-playbook against two real HAProxy on
        loopback, two web servers (local connection), the restart replaced by
        a command that asks both HAProxy who is out of rotation: each server
        is drained on both balancers in turn, alone, with the reason, and all
        are back in rotation at the end.
  stop  the restart fails on the first server: the roll stops there with the
        rescue's message, that server is left drained on both balancers with
        its record, and the next one is never touched.
"""
import json
import os
import shutil
import subprocess

from harness import COLLECTION, HERE, PYTHON, SRC, Ansible, check, main
from haproxy_fixture import BackendServer, HAProxy

EXAMPLE_REL = os.path.join("examples", "rolling_restart_pair.yml")
EXAMPLE = os.path.join(SRC, EXAMPLE_REL)
# BUILD/ansible_collections (COLLECTION is BUILD/ansible_collections/lbmember/lb).
# ansible-lint's collection finder (ansible-compat 3.0.1, Debian 12) takes the
# dirname of $ANSIBLE_COLLECTIONS_PATH, so it is given the ansible_collections
# directory itself, which ansible-playbook --syntax-check accepts as well.
COLLECTIONS_DIR = os.path.dirname(os.path.dirname(COLLECTION))
ANSIBLE_LINT = shutil.which("ansible-lint") or "/usr/bin/ansible-lint"
REASON = "rolling restart of myapp"
WEB = ["web1", "web2"]


def lint(a, path, cwd):
    check(os.access(ANSIBLE_LINT, os.X_OK), "ansible-lint is not installed (scripts/setup.sh installs it)")
    env = a.env(callback="default", ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR)
    env.pop("ANSIBLE_LIBRARY")  # the module comes from the collection only
    env.pop("ANSIBLE_CONFIG")
    # --offline: no ansible-galaxy install, no version check on the network.
    proc = subprocess.run([ANSIBLE_LINT, "--offline", "--nocolor", "--profile", "production", path],
                          env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    # Files outside the project directory are skipped silently: make sure it linted one.
    check("on 1 files" in out, "ansible-lint linted no file", out)
    return proc.returncode, out


def group_lint():
    with Ansible() as a:
        rc, out = lint(a, EXAMPLE_REL, SRC)
        check(rc == 0 and "Passed with production profile: 0 failure(s), 0 warning(s)" in out,
              "ansible-lint on the example", out)
        check("WARNING" not in out, "ansible-lint warned", out)

        # The copies are linted in a project of their own (the temp dir).
        with open(EXAMPLE) as f:
            text = f.read()
        os.makedirs(a.path("examples"))

        def broken(name, old, new, rule):
            check(old in text, "the example no longer has %r" % old)
            p = os.path.join("examples", name)
            a.write(p, text.replace(old, new, 1))
            rc, out = lint(a, p, a.tmp)
            check(rc != 0 and rule in out, "ansible-lint passed a copy with %s" % rule, out)

        a.write(os.path.join("examples", "same.yml"), text)
        rc, out = lint(a, os.path.join("examples", "same.yml"), a.tmp)
        check(rc == 0, "ansible-lint on an unchanged copy", out)
        broken("short.yml", "ansible.builtin.command:", "command:", "fqcn[action-core]")
        broken("changed.yml", "          changed_when: true\n", "", "no-changed-when")
        broken("typo.yml", "lbmember.lb.lb_member:", "lbmember.lb.lb_membr:", "syntax-check")


class Pair:
    """Two HAProxy (the HA pair), each with backend app = web1, web2, health
    checked; the web servers are BackendServers on 127.0.0.2 and .3."""

    def __enter__(self):
        self.web = {n: BackendServer(host="127.0.0.%d" % i, name=n).start() for i, n in enumerate(WEB, start=2)}
        servers = [(n, s.host, s.port) for n, s in self.web.items()]
        self.lbs = [HAProxy({"app": servers}, check=True).start(), HAProxy({"app": servers}, check=True).start()]
        self.a = Ansible()
        inv = ["[webservers]"] + ["%s ansible_host=%s app_port=%d" % (n, s.host, s.port) for n, s in self.web.items()]
        self.inventory = self.a.write("inventory", "\n".join(inv + ["", "[webservers:vars]", "ansible_connection=local", ""]))
        # The restart: writes who each HAProxy has out of rotation, as it sees it.
        self.log = self.a.path("restarts.log")
        witness = os.path.join(HERE, "haproxy_witness.py")
        self.recorder = self.a.write("restart.sh", "#!/bin/sh\nset -e\n" + "".join(
            'out%d=$(%s %s %s out app)\n' % (i, PYTHON, witness, h.unix_socket) for i, h in enumerate(self.lbs)) +
            'echo "$1 $out0 $out1" >> %s\n' % self.log)
        return self

    def __exit__(self, *exc):
        self.a.__exit__()
        for h in self.lbs:
            h.stop()
        for s in self.web.values():
            s.stop()

    def out(self):
        """Who each HAProxy has out of rotation (admin state not ready)."""
        return [sorted(r["srv_name"] for r in h.servers_state() if r["be_name"] == "app" and r["srv_admin_state"] != "0")
                for h in self.lbs]

    def play(self, restart_command):
        extra = {"lb_targets": [h.target_unix for h in self.lbs], "restart_command": restart_command,
                 "restart_become": False, "lb_drain_timeout": 30}
        env = {"ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_DIR, "ANSIBLE_LIBRARY": self.a.path("none")}
        return self.a.playbook(EXAMPLE, inventory=self.inventory, args=["-e", json.dumps(extra)], env=env)

    def restarts(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return f.read().splitlines()


def tasks_of(run, host):
    return [t["task"]["name"] for play in run.data["plays"] for t in play["tasks"] if host in t["hosts"]]


def group_run():
    with Pair() as p:
        check(p.out() == [[], []], "all in rotation before", p.out())
        run = p.play("/bin/sh %s {{ inventory_hostname }}" % p.recorder)
        check(run.rc == 0, "the example failed", run)
        # Each server alone out of rotation, on both balancers, while it restarted.
        check(p.restarts() == ['%s ["%s"] ["%s"]' % (n, n, n) for n in WEB], "drained on both in turn", p.restarts())
        check(p.out() == [[], []], "all back in rotation at the end", p.out())
        batches = [sorted(t["hosts"]) for play in run.data["plays"] for t in play["tasks"][:1]]
        check(batches == [[n] for n in WEB], "one server per batch (serial: 1)", batches)
        targets = [h.target_unix for h in p.lbs]
        for n in WEB:
            st = run.data["stats"][n]
            check(st["changed"] == 3 and st["failures"] == 0 and st.get("rescued", 0) == 0,
                  "%s: drain, restart, enable changed" % n, st)
            drain = [r for r in run.results if r["_host"] == n and r["_task"].startswith("Drain")]
            check(len(drain) == 1, "%s drained once" % n, run)
            ms = drain[0]["members"]
            check([m["balancer"] for m in ms] == targets and all(m["after"]["state"] == "draining" for m in ms)
                  and all(m["after"]["reason"] == REASON for m in ms), "%s: drained on both with the reason" % n, ms)
            enable = [r for r in run.results if r["_host"] == n and r["_task"].startswith("Put")]
            check(len(enable) == 1 and [m["after"]["state"] for m in enable[0]["members"]] == ["enabled"] * 2,
                  "%s: enabled on both" % n, enable)
        check(p.a.records() == [], "no record left once enabled", p.a.records())


def group_stop():
    with Pair() as p:
        run = p.play("/bin/false")
        check(run.rc != 0, "the example did not fail", run)
        check(p.out() == [["web1"], ["web1"]], "web1 left drained on both, web2 untouched", p.out())
        check(tasks_of(run, "web2") == [], "web2 was touched", tasks_of(run, "web2"))
        st = run.data["stats"]["web1"]
        check(st["failures"] == 1 and st["rescued"] == 1, "web1: failed in the rescue", st)
        stop = [r for r in run.results if r["_host"] == "web1" and r["_task"].startswith("Stop the roll")]
        check(len(stop) == 1 and stop[0].get("failed") is True, "the rescue ran and failed the host", run)
        msg = stop[0]["msg"]
        check(msg.startswith('Rolling restart stopped at web1: "Restart the application" failed: ') and
              "drained on %s and %s" % tuple(h.target_unix for h in p.lbs) in msg, "the message", msg)
        recs = p.a.records()
        check([(r["target"], r["member"], r["reason"]) for r in recs] ==
              sorted((h.target_unix, "web1", REASON) for h in p.lbs), "web1's records", recs)


if __name__ == "__main__":
    main({"lint": group_lint, "run": group_run, "stop": group_stop})
