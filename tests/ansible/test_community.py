# SPDX-License-Identifier: MIT
"""Side by side with community.general.haproxy (Debian's ansible package) on
the same HAProxy and the same servers: server sN starts in each state (ready,
drain, maint) and is asked for each state, first by community.general.haproxy,
then, from the same start, by lb_member. HAProxy's own `show stat` and
`show servers state` must agree afterwards, and so must `changed`, so that
users can switch from one module to the other without surprises.

Groups: states
"""
from harness import Ansible, check, main, task
from haproxy_fixture import BackendServer, HAProxy

START = ["ready", "drain", "maint"]
# lb_member's state -> community.general.haproxy's
ASK = {"enabled": "enabled", "draining": "drain", "disabled": "disabled"}
CASES = [(start, ours) for start in START for ours in ASK]


def witness(h, server):
    return {"status": h.status("app", server), "admin": h.server_state("app", server)["srv_admin_state"],
            "weight": h.server_stat("app", server)["weight"]}


def set_start(h):
    for i, (start, _) in enumerate(CASES, 1):
        h.command("set server app/s%d state %s" % (i, start))


def group_states():
    servers = [BackendServer(host="127.0.0.%d" % (i + 2)).start() for i in range(len(CASES) + 1)]
    h = HAProxy({"app": [("s%d" % i, s.host, s.port) for i, s in enumerate(servers, 1)]}).start()
    try:
        with Ansible() as a:
            sock = h.unix_socket
            theirs = [{"name": "s%d" % i, "community.general.haproxy": {
                "socket": sock, "backend": "app", "host": "s%d" % i, "state": ASK[ours]}}
                for i, (_, ours) in enumerate(CASES, 1)]
            ours = [task("s%d" % i, target="haproxy://" + sock, pool="app", member="s%d" % i, state=want)
                    for i, (_, want) in enumerate(CASES, 1)]
            set_start(h)
            run_theirs = a.playbook(theirs)
            check(run_theirs.rc == 0, "community.general.haproxy playbook failed", run_theirs)
            after_theirs = {i: witness(h, "s%d" % i) for i in range(1, len(CASES) + 1)}
            set_start(h)
            run_ours = a.playbook(ours)
            check(run_ours.rc == 0, "lb_member playbook failed", run_ours)
            for i, (start, want) in enumerate(CASES, 1):
                key = "s%d %s->%s" % (i, start, want)
                lb = witness(h, "s%d" % i)
                check(after_theirs[i] == lb, "%s: community.general.haproxy leaves %s, lb_member %s"
                      % (key, after_theirs[i], lb))
                check(run_theirs.result("s%d" % i)["changed"] == run_ours.result("s%d" % i)["changed"],
                      "%s: changed differs" % key, run_theirs.result("s%d" % i), run_ours.result("s%d" % i))
                status = {"enabled": "no check", "draining": "DRAIN", "disabled": "MAINT"}[want]
                check(lb["status"] == status, "%s: show stat says %s" % (key, lb["status"]))
            check(h.status("app", "s%d" % (len(CASES) + 1)) == "no check", "the spare server was touched")
    finally:
        h.stop()
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main({"states": group_states})
