# SPDX-License-Identifier: MIT
"""Many lbmember processes change members of the same HAProxy backend at
once (WRITERS writers x ROUNDS calls each, random members, random states).
Every call must succeed, or fail only because its read-back saw another
writer's overlapping change to one of its members (lbmember then says so:
"asked for X, but the balancer now reports Y", Y asked by an overlapping
call). At the end HAProxy (its own `show servers
state`, the witness) must show for each member the state asked by one of
its last writers: a call on that member that ended after every other call
on it had started (calls that overlap at the end may finish in either
order; anything else is a lost or stray write).

Usage: test_concurrency.py [WRITERS ROUNDS]   Needs $LBM_CLI and $LBM_HAPROXY.
"""
import json
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from haproxy_fixture import HAProxy  # noqa: E402

CLI = os.environ["LBM_CLI"]
SERVERS = ["s%d" % i for i in range(1, 7)]
VERBS = {"enabled": "enable", "draining": "drain", "disabled": "disable"}


def witness(h):
    out = {}
    for line in h.command("show servers state web").splitlines()[2:]:
        f = line.split()
        if len(f) < 7:
            continue
        admin = int(f[6])
        out[f[3]] = "disabled" if admin & 0x01 else "draining" if admin & 0x08 else "enabled"
    return out


RACE = re.compile(r"web/(\S+): asked for (\w+), but the balancer now reports (\w+)")


def writer(target, seed, rounds, calls, errors, races):
    rnd = random.Random(seed)
    for _ in range(rounds):
        members = rnd.sample(SERVERS, rnd.choice((1, 1, 2)))
        state = rnd.choice(list(VERBS))
        start = time.monotonic()
        p = subprocess.run([CLI, "--json", "--timeout", "10", target, VERBS[state], "web"] + members
                           + ["--min-enabled", "0"], capture_output=True, text=True, timeout=60)
        end = time.monotonic()
        race = RACE.search(p.stdout) if p.returncode == 1 else None
        if race:
            races.append((race.group(1), race.group(3), start, end))
        elif p.returncode != 0:
            errors.append("%s %s: exit %d: %s %s" % (VERBS[state], members, p.returncode, p.stdout, p.stderr))
        else:
            for o in json.loads(p.stdout)["outcomes"]:
                if o["after"]["state"] != state:
                    errors.append("%s %s: read back %s" % (VERBS[state], o["before"]["name"], o["after"]))
        for m in members:
            calls.append((m, state, start, end))


def main():
    writers = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    backends = {"web": [(s, "127.0.0.%d" % (i + 2), 8080) for i, s in enumerate(SERVERS)]}
    calls, errors, races = [], [], []
    with HAProxy(backends) as h:
        t0 = time.monotonic()
        threads = [threading.Thread(target=writer, args=(h.target_unix, seed, rounds, calls, errors, races))
                   for seed in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - t0
        final = witness(h)
    bad = list(errors)
    for m, seen, start, end in races:
        if not any(c[0] == m and c[1] == seen and c[2] <= end and c[3] >= start for c in calls):
            bad.append("%s read back %s, which no overlapping call asked for" % (m, seen))
    for m in SERVERS:
        mine = [c for c in calls if c[0] == m]
        if not mine:
            continue
        last_start = max(c[2] for c in mine)
        allowed = {c[1] for c in mine if c[3] >= last_start}
        if final[m] not in allowed:
            bad.append("%s ends %s; its last writers asked %s" % (m, final[m], sorted(allowed)))
    print("%d writers x %d calls = %d processes in %.1f s (%d member writes, %d read-backs overtaken by "
          "another writer); end state %s" % (writers, rounds, writers * rounds, took, len(calls), len(races), final))
    for b in bad:
        print("FAIL " + b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
