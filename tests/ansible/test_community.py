# SPDX-License-Identifier: MIT
"""Side by side with community.general.haproxy (Debian's ansible package) on
the same HAProxy and the same server: from each starting state (ready, drain,
maint) each module is asked for each state, and HAProxy's own `show stat`
and `show servers state` must agree afterwards, as must `changed`, so that
users can switch from one module to the other without surprises.

Groups: states
"""
import json
import os

from harness import HERE, PYTHON, Ansible, check, main, task
from haproxy_fixture import BackendServer, HAProxy

WITNESS = os.path.join(HERE, "haproxy_witness.py")
START = ["ready", "drain", "maint"]
# lb_member's state -> community.general.haproxy's
ASK = {"enabled": "enabled", "draining": "drain", "disabled": "disabled"}


def group_states():
    servers = [BackendServer(host="127.0.0.%d" % i).start() for i in (2, 3, 4)]
    h = HAProxy({"app": [("s%d" % i, s.host, s.port) for i, s in enumerate(servers, 1)]}).start()
    try:
        with Ansible() as a:
            sock = h.unix_socket
            cmd = lambda name, *args: {"name": name, "ansible.builtin.command": {
                "argv": [PYTHON, WITNESS, sock] + list(args)}, "changed_when": False}
            tasks = []
            for start in START:
                for ours, theirs in ASK.items():
                    key = "%s->%s" % (start, ours)
                    tasks += [cmd("reset cg " + key, "send", "set server app/s1 state " + start),
                              {"name": "cg " + key, "community.general.haproxy": {
                                  "socket": sock, "backend": "app", "host": "s1", "state": theirs}},
                              cmd("witness cg " + key, "server", "app", "s1"),
                              cmd("reset lb " + key, "send", "set server app/s1 state " + start),
                              task("lb " + key, target="haproxy://" + sock, pool="app", member="s1", state=ours),
                              cmd("witness lb " + key, "server", "app", "s1")]
            run = a.playbook(tasks)
            check(run.rc == 0, "side-by-side playbook failed", run)
            for start in START:
                for ours in ASK:
                    key = "%s->%s" % (start, ours)
                    cg = json.loads(run.result("witness cg " + key)["stdout"])
                    lb = json.loads(run.result("witness lb " + key)["stdout"])
                    check(cg == lb, "%s: community.general.haproxy leaves %s, lb_member %s" % (key, cg, lb))
                    check(run.result("cg " + key)["changed"] == run.result("lb " + key)["changed"],
                          "%s: changed differs" % key, run.result("cg " + key), run.result("lb " + key))
                    want = {"enabled": "no check", "draining": "DRAIN", "disabled": "MAINT"}[ours]
                    check(lb["status"] == want, "%s: show stat says %s" % (key, lb["status"]))
            # Never touched: the other servers.
            for s in ("s2", "s3"):
                check(h.status("app", s) == "no check", "app/%s touched" % s)
    finally:
        h.stop()
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main({"states": group_states})
