#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lbmember side by side with the tools operators use today (issue 8).

Run through bench/run.sh, which installs the peers, builds lbmember in
Release mode and the two helpers (floor, measure), then calls

    python3 bench/bench.py --build BUILD_DIR --helpers DIR [--out DIR] [options]

Every comparison runs in this one process, on this machine, against the same
balancer for both sides: a real HAProxy on 127.0.0.1 (tests/lib/haproxy_fixture.py),
the F5 emulator (tests/lib/f5_fixture.py) and real IPVS in a QEMU VM without
a network card (tests/lib/ipvs_vm.py). Each process is timed from fork to
wait4(), which also gives its peak RSS (for a shell loop: the largest of its
processes). Figures are medians of --runs runs; every run is checked by a
witness (HAProxy's `show stat`, the emulator's own state, ipvsadm) so that a
tool that did nothing cannot look fast. The peers that take minutes for a bulk
change are run on a sample and extrapolated, which the tables say.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))

from f5_fixture import F5Emulator  # noqa: E402
from haproxy_fixture import HAProxy  # noqa: E402
import ipvs_vm  # noqa: E402
from payloads import Payloads  # noqa: E402

PYTHON = "/usr/bin/python3"
SOCAT = shutil.which("socat") or "/usr/bin/socat"
CHECK_HAPROXY_STATS = "/usr/lib/nagios/plugins/check_haproxy_stats"
CG_HAPROXY = "community.general.haproxy"
F5_MEMBER = "f5networks.f5_modules.bigip_pool_member"


# ---- measuring ---------------------------------------------------------------

class Run:
    def __init__(self, wall, rss, rc, out, err):
        self.wall, self.rss, self.rc, self.out, self.err = wall, rss, rc, out, err


MEASURE = None  # bench/measure, set from --helpers


def measure(argv, env=None, stdin=None):
    """Run argv once under bench/measure: wall seconds from fork() to wait4(),
    peak RSS in KiB (from a small C parent: see measure.c for why)."""
    with tempfile.NamedTemporaryFile() as out, tempfile.NamedTemporaryFile() as err:
        proc = subprocess.run([MEASURE, "-i", stdin or "/dev/null", "-o", out.name, "-e", err.name, "run"] + argv,
                              env=env, capture_output=True, text=True)
        line = [l for l in proc.stderr.splitlines() if l.startswith("MEASURE run ")]
        if proc.returncode != 0 or not line:
            raise BenchError("measure failed on %s: %s" % (argv[0], proc.stderr.strip()[-300:]))
        _, _, wall, rss, rc = line[-1].split()
        return Run(float(wall), int(rss), int(rc), out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"))


class BenchError(Exception):
    pass


def need(cond, what, run=None):
    if not cond:
        if run is not None:
            what += " (exit %s)\nstdout: %s\nstderr: %s" % (run.rc, run.out[-1500:], run.err[-1500:])
        raise BenchError(what)


def median(values):
    return statistics.median(values) if values else float("nan")


def module_result(run, what):
    """The JSON an Ansible module printed; it must not have failed."""
    try:
        res = json.loads(run.out[run.out.index("{"):])
    except ValueError:
        need(False, "%s printed no JSON" % what, run)
    need(not res.get("failed"), "%s failed: %s" % (what, res.get("msg")), run)
    return res


# ---- tables ------------------------------------------------------------------

def fmt_s(s):
    if s != s:
        return "n/a"
    if s < 1:
        return "%.1f ms" % (s * 1000) if s < 0.1 else "%.0f ms" % (s * 1000)
    return "%.2f s" % s


def fmt_kib(k):
    return "n/a" if k != k else "%.1f MiB" % (k / 1024.0)


def fmt_ratio(r):
    if r != r:
        return "n/a"
    return "%.0f×" % r if r >= 100 else "%.1f×" % r if r >= 10 else "%.2f×" % r


class Table:
    """Rows of: what, ours, theirs, ratio, goal, met (yes/no/—)."""

    def __init__(self, key, title, ours="lbmember", theirs="peer", notes=()):
        self.key, self.title, self.ours, self.theirs = key, title, ours, theirs
        self.rows = []
        self.notes = list(notes)
        self.error = None

    def add(self, what, ours, theirs, ratio, goal="—", met=None):
        self.rows.append({"what": what, "ours": ours, "theirs": theirs, "ratio": ratio, "goal": goal,
                          "met": "—" if met is None else ("yes" if met else "NO")})

    def faster(self, what, ours_s, theirs_s, goal=None):
        """theirs / ours for times; goal: the least ratio asked for."""
        r = theirs_s / ours_s if ours_s else float("nan")
        self.add(what, fmt_s(ours_s), fmt_s(theirs_s), fmt_ratio(r),
                 "≥ %g×" % goal if goal else "—", (r >= goal) if goal else None)
        return r

    def smaller(self, what, ours_k, theirs_k, goal=None):
        r = theirs_k / ours_k if ours_k else float("nan")
        self.add(what, fmt_kib(ours_k), fmt_kib(theirs_k), fmt_ratio(r),
                 "≥ %g×" % goal if goal else "—", (r >= goal) if goal else None)
        return r

    def header(self):
        return ["", self.ours, self.theirs, "ratio", "goal", "met"]

    def cells(self):
        return [[r["what"], r["ours"], r["theirs"], r["ratio"], r["goal"], r["met"]] for r in self.rows]

    def text(self):
        out = ["", "== %s ==" % self.title]
        if self.error:
            out.append("NOT MEASURED: %s" % self.error)
        rows = [self.header()] + self.cells()
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        for i, r in enumerate(rows):
            out.append("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        out += ["  * " + n for n in self.notes]
        return "\n".join(out)

    def markdown(self):
        out = ["### %s" % self.title, ""]
        if self.error:
            out += ["**Not measured:** %s" % self.error, ""]
        out.append("| " + " | ".join(self.header()) + " |")
        out.append("|---|---:|---:|---:|---:|:---:|")
        for r in self.cells():
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
        out.append("")
        out += ["- " + n for n in self.notes]
        return "\n".join(out) + "\n"


# ---- context -----------------------------------------------------------------

class Ctx:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.cli = os.path.join(self.build, "plugins", "cli", "lbmember")
        self.module = os.path.join(self.build, "plugins", "ansible", "lb_member")
        self.check = os.path.join(self.build, "plugins", "nagios", "check_lb_members")
        self.floor = os.path.join(args.helpers, "floor")
        self.measure = os.path.join(args.helpers, "measure")
        global MEASURE
        MEASURE = self.measure
        for p in (self.cli, self.module, self.check, self.floor, self.measure):
            need(os.access(p, os.X_OK), "missing program %s (run bench/run.sh)" % p)
        self.tmp = tempfile.mkdtemp(prefix="lbm-bench-")
        self._templates = None
        self.raw = {}  # every sample, for results.json

    def templates(self):
        if self._templates is None:
            self._templates = Payloads(os.path.join(self.tmp, "ansible")).build([CG_HAPROXY, F5_MEMBER])
        return self._templates

    def payload(self, module, name, args):
        d = os.path.join(self.tmp, "payloads")
        os.makedirs(d, exist_ok=True)
        return self.templates()[module].write(os.path.join(d, name + ".py"), args, os.path.join(self.tmp, "mtmp"))

    def args_file(self, name, args):
        """lb_member's arguments file, with the same _ansible_* keys the controller sends."""
        tpl = self.templates()[CG_HAPROXY]
        params = tpl.params(args, os.path.join(self.tmp, "mtmp"))["ANSIBLE_MODULE_ARGS"]
        params["_ansible_module_name"] = "lbmember.lb.lb_member"
        path = os.path.join(self.tmp, "payloads", name + ".json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(params, f)
        return path

    def keep(self, key, **samples):
        self.raw.setdefault(key, {}).update(samples)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LBM_", "F5_", "ANSIBLE_"))}
    env.update(extra)
    return env


# ---- 1. Ansible module on the target -------------------------------------------

def cmp_ansible_haproxy(ctx):
    t = Table("ansible-haproxy", "1a. Ansible module run on the target, HAProxy: lb_member vs community.general.haproxy",
              "lb_member", "community.general.haproxy")
    h = HAProxy({"app": [("s%d" % i, "127.0.0.2", 20000 + i) for i in range(1, 4)]}, mode="tcp").start()
    try:
        sock = h.unix_socket
        ours = {s: ctx.args_file("lb-" + s, {"target": "haproxy://" + sock, "pool": "app", "member": "s1",
                                             "state": s}) for s in ("disabled", "enabled")}
        theirs = {s: ctx.payload(CG_HAPROXY, "cg-" + s, {"socket": sock, "backend": "app", "host": "s1",
                                                         "state": s}) for s in ("disabled", "enabled")}
        want = {"disabled": "MAINT", "enabled": "no check"}
        tools = ("ours", "theirs")
        samples = {(tool, s): [] for tool in tools for s in want}
        env = clean_env()
        for i in range(ctx.args.runs):
            for tool in tools[i % len(tools):] + tools[:i % len(tools)]:
                for s in ("disabled", "enabled"):
                    argv = {"ours": [ctx.module, ours[s]], "theirs": [PYTHON, theirs[s]]}[tool]
                    r = measure(argv, env=env)
                    res = module_result(r, "%s %s" % (tool, s))
                    need(res.get("changed") is True, "%s %s: changed is not true" % (tool, s), r)
                    need(h.status("app", "s1") == want[s], "%s %s left s1 %s" % (tool, s, h.status("app", "s1")))
                    samples[(tool, s)].append(r)
        for s, verb in (("disabled", "disable"), ("enabled", "enable")):
            o, th = samples[("ours", s)], samples[("theirs", s)]
            t.faster("%s: wall time per call" % verb, median([r.wall for r in o]), median([r.wall for r in th]), 50)
            t.smaller("%s: peak RSS" % verb, median([r.rss for r in o]), median([r.rss for r in th]), 8)
            ctx.keep("ansible-haproxy", **{"%s_%s_wall" % (tool, s): [r.wall for r in samples[(tool, s)]]
                                           for tool in tools})
            ctx.keep("ansible-haproxy", **{"%s_%s_rss" % (tool, s): [r.rss for r in samples[(tool, s)]]
                                           for tool in tools})
        t.notes.append("lb_member: the binary module with its JSON arguments file (what Ansible runs on the target); "
                       "community.general.haproxy: its AnsiballZ payload from ansible-playbook, run as `python3 "
                       "AnsiballZ_haproxy.py`. Backend of 3 servers, unix socket; %d runs, median." % ctx.args.runs)
    finally:
        h.stop()
    return t


def cmp_ansible_f5(ctx):
    t = Table("ansible-f5", "1b. Ansible module run on the target, F5 emulator: lb_member vs bigip_pool_member",
              "lb_member", "bigip_pool_member")
    with F5Emulator() as f5:
        env = clean_env(LBM_F5_USER=f5.user, LBM_F5_PASSWORD=f5.password, F5_USER=f5.user,
                        F5_PASSWORD=f5.password, SSL_CERT_FILE=f5.ca_file)
        member = ("/Common/web", "/Common/192.0.2.10:80")
        # F5's "disabled" is lbmember's "draining": session user-disabled.
        pairs = (("draining", "disabled", ("user-disabled",)),
                 ("enabled", "enabled", ("user-enabled", "monitor-enabled")))
        ours, theirs = {}, {}
        for o, th, _ in pairs:
            ours[o] = ctx.args_file("lb-f5-" + o, {"target": f5.target, "pool": "/Common/web",
                                                   "member": "192.0.2.10:80", "state": o, "ca_path": f5.ca_file})
            theirs[th] = ctx.payload(F5_MEMBER, "f5-" + th, {
                "pool": "web", "partition": "Common", "address": "192.0.2.10", "port": 80, "state": th,
                "provider": {"server": "127.0.0.1", "server_port": f5.port, "validate_certs": True,
                             "no_f5_teem": True}})
        samples = {}
        for i in range(ctx.args.runs):
            order = ("ours", "theirs") if i % 2 == 0 else ("theirs", "ours")
            for tool in order:
                for o, th, session in pairs:
                    argv = [ctx.module, ours[o]] if tool == "ours" else [PYTHON, theirs[th]]
                    f5.reset_requests()
                    r = measure(argv, env=env)
                    r.requests = f5.request_count()
                    res = module_result(r, "%s %s" % (tool, o))
                    need(res.get("changed") is True, "%s %s: changed is not true" % (tool, o), r)
                    got = f5.member(*member)["session"]
                    need(got in session, "%s %s left the member %s" % (tool, o, got))
                    samples.setdefault((tool, o), []).append(r)
        for o, verb in (("draining", "disable (F5 'disabled' = drain)"), ("enabled", "enable")):
            so, st = samples[("ours", o)], samples[("theirs", o)]
            t.faster("%s: wall time per call" % verb, median([r.wall for r in so]), median([r.wall for r in st]))
            t.smaller("%s: peak RSS" % verb, median([r.rss for r in so]), median([r.rss for r in st]))
            t.add("%s: REST requests per call" % verb, "%d" % median([r.requests for r in so]),
                  "%d" % median([r.requests for r in st]),
                  fmt_ratio(median([r.requests for r in st]) / median([r.requests for r in so])))
            ctx.keep("ansible-f5", **{"%s_%s_%s" % (tool, o, k): [getattr(r, k) for r in samples[(tool, o)]]
                                      for tool in ("ours", "theirs") for k in ("wall", "rss", "requests")})
        t.notes.append("Emulator without added latency; both verify its certificate; bigip_pool_member with "
                       "no_f5_teem: true (no phone-home). The issue sets no numeric goal here.")
    return t


# ---- 2. Bulk change on HAProxy -------------------------------------------------

def bulk_haproxy(n):
    return HAProxy({"bulk": [("s%04d" % i, "127.0.0.2", 20000 + i) for i in range(1, n + 1)]}, mode="tcp")


def count_status(h, backend, status):
    return sum(1 for r in h.show_stat() if r["pxname"] == backend and r["svname"] not in ("FRONTEND", "BACKEND")
               and r["status"] == status)


def cmp_bulk(ctx, h, names):
    n = len(names)
    t = Table("bulk-haproxy", "2. Bulk change on HAProxy: disable then enable %d servers of one backend" % n,
              "lbmember", "peer")
    sock, target = h.unix_socket, h.target_unix
    d = os.path.join(ctx.tmp, "bulk")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "names"), "w") as f:
        f.write("\n".join(names) + "\n")
    floor_in, loop = {}, {}
    for verb, word, seed in (("disable", "maint", "disable server"), ("enable", "ready", "enable server")):
        floor_in[verb] = os.path.join(d, "floor-%s.txt" % verb)
        with open(floor_in[verb], "w") as f:
            f.write("prompt\n" + "".join("set server bulk/%s state %s\n" % (s, word) for s in names) + "quit\n")
        # The seed article's method: one socat per server.
        loop[verb] = os.path.join(d, "socat-%s.sh" % verb)
        with open(loop[verb], "w") as f:
            f.write('for s in $(cat "%s"); do\n\techo "%s bulk/$s" | %s stdio %s\ndone\n'
                    % (os.path.join(d, "names"), seed, SOCAT, sock))
    env = clean_env()
    want = {"disable": lambda: count_status(h, "bulk", "MAINT") == n,
            "enable": lambda: count_status(h, "bulk", "MAINT") == 0}

    def one(tool, verb):
        if tool == "lbmember":
            r = measure([ctx.cli, target, verb, "bulk"] + names + ["--min-enabled", "0"], env=env)
        elif tool == "floor":
            r = measure([ctx.floor, sock], env=env, stdin=floor_in[verb])
        else:
            r = measure(["/bin/bash", loop[verb]], env=env)
        need(r.rc == 0, "%s %s failed" % (tool, verb), r)
        need(want[verb](), "%s %s: HAProxy does not show all %d servers %sd" % (tool, verb, n, verb), r)
        return r

    s = {}
    tools = ("lbmember", "floor")
    for i in range(ctx.args.runs):
        for tool in tools:
            for verb in ("disable", "enable"):
                s.setdefault((tool, verb), []).append(one(tool, verb))
        r = measure([ctx.cli, target, "list", "bulk"], env=env)
        need(r.rc == 0 and r.out.count("\n") > n, "lbmember list bulk failed", r)
        s.setdefault(("lbmember", "list"), []).append(r)
    for i in range(ctx.args.bulk_runs):
        for verb in ("disable", "enable"):
            s.setdefault(("socat", verb), []).append(one("socat", verb))
    # community.general.haproxy: one module run per server, on a sample.
    k = max(1, min(ctx.args.cg_sample, n))
    sample = names[:: max(1, n // k)][:k]
    for verb, state in (("disable", "disabled"), ("enable", "enabled")):
        for name in sample:
            p = ctx.payload(CG_HAPROXY, "cg-bulk-%s-%s" % (name, verb),
                            {"socket": sock, "backend": "bulk", "host": name, "state": state})
            r = measure([PYTHON, p], env=env)
            need(module_result(r, "community.general.haproxy %s %s" % (verb, name)).get("changed") is True,
                 "community.general.haproxy %s %s changed nothing" % (verb, name), r)
            s.setdefault(("cg", verb), []).append(r)
    need(count_status(h, "bulk", "MAINT") == 0, "servers left in MAINT after the bulk comparison")

    med = {key: median([r.wall for r in v]) for key, v in s.items()}
    for verb in ("disable", "enable"):
        t.faster("%s %d: vs socat loop (seed article)" % (verb, n), med[("lbmember", verb)], med[("socat", verb)], 50)
        r = med[("lbmember", verb)] / med[("floor", verb)]
        t.add("%s %d: vs floor (one raw connection)" % (verb, n), fmt_s(med[("lbmember", verb)]),
              fmt_s(med[("floor", verb)]), "%.2f× the floor" % r, "≤ 1.5× the floor", r <= 1.5)
        t.faster("%s %d: vs community.general.haproxy loop (extrapolated)" % (verb, n), med[("lbmember", verb)],
                 med[("cg", verb)] * n)
    t.smaller("peak RSS (largest process)", median([r.rss for r in s[("lbmember", "disable")]]),
              median([r.rss for r in s[("socat", "disable")]]))
    t.add("reference: `lbmember list bulk` (one listing exchange)", fmt_s(med[("lbmember", "list")]), "—", "—")
    t.notes += [
        "lbmember: `lbmember haproxy://SOCK disable bulk s0001 … s%04d --min-enabled 0` — one process: a "
        "listing (two connections side by side), the changes pipelined in batches of under 8 KB (two "
        "connections at a time), the read-back listing. Median of %d runs." % (n, ctx.args.runs),
        "socat loop: `for s in …; do echo \"disable server bulk/$s\" | socat stdio SOCK; done` in bash; "
        "median of %d runs." % ctx.args.bulk_runs,
        "floor: bench/floor.c writes `prompt`, the same %d `set server … state` lines lbmember sends, `quit` "
        "over one connection and reads the reply: no listing, no read-back." % n,
        "community.general.haproxy: its AnsiballZ payload run once per server on %d servers spread over the "
        "backend, median per server × %d (each run sends `show stat` of the whole backend 3 times)." % (k, n),
    ]
    ctx.keep("bulk-haproxy", **{"%s_%s_wall" % key: [r.wall for r in v] for key, v in s.items()})
    ctx.keep("bulk-haproxy", **{"%s_%s_rss" % key: [r.rss for r in v] for key, v in s.items()})
    return t


# ---- 4. F5 bulk change -----------------------------------------------------------

def cmp_f5_bulk(ctx):
    n = ctx.args.f5_members
    lat = ctx.args.f5_latency
    t = Table("bulk-f5", "4. F5 bulk change: drain %d members of one pool, %g ms added latency per request"
              % (n, lat * 1000), "lbmember", "bigip_pool_member")
    members = ["192.0.2.%d:80" % i for i in range(1, n + 1)] if n <= 254 else \
        ["192.0.2.%d:%d" % (i % 254 + 1, 1000 + i) for i in range(n)]
    pools = {"/Common/bulk": {"members": [{"name": m} for m in members]}}
    with F5Emulator(pools=pools, latency=lat) as f5:
        env = clean_env(LBM_F5_USER=f5.user, LBM_F5_PASSWORD=f5.password, F5_USER=f5.user,
                        F5_PASSWORD=f5.password, SSL_CERT_FILE=f5.ca_file)

        def sessions():
            return [m["session"] for m in f5.pools()["/Common/bulk"]]

        s = {}
        for i in range(ctx.args.runs):
            for verb, session in (("drain", ("user-disabled",)), ("enable", ("user-enabled", "monitor-enabled"))):
                f5.reset_requests()
                r = measure([ctx.cli, "--ca-file", f5.ca_file, f5.target, verb, "/Common/bulk"] + members
                            + ["--min-enabled", "0"], env=env)
                r.requests = f5.request_count()
                r.inflight = f5.max_inflight()
                need(r.rc == 0, "lbmember %s of %d F5 members failed" % (verb, n), r)
                need(all(x in session for x in sessions()), "lbmember %s: not every member is %s" % (verb, session[0]))
                s.setdefault(verb, []).append(r)
        k = max(1, min(ctx.args.f5_sample, n))
        theirs = []
        for m in members[:: max(1, n // k)][:k]:
            addr, port = m.rsplit(":", 1)
            p = ctx.payload(F5_MEMBER, "f5-bulk-" + m.replace(":", "_"), {
                "pool": "bulk", "partition": "Common", "address": addr, "port": int(port), "state": "disabled",
                "provider": {"server": "127.0.0.1", "server_port": f5.port, "validate_certs": True,
                             "no_f5_teem": True}})
            f5.reset_requests()
            r = measure([PYTHON, p], env=env)
            r.requests = f5.request_count()
            need(module_result(r, "bigip_pool_member %s" % m).get("changed") is True,
                 "bigip_pool_member changed nothing on %s" % m, r)
            theirs.append(r)
        # Put the sample back, outside any timing.
        r = measure([ctx.cli, "--ca-file", f5.ca_file, f5.target, "enable", "/Common/bulk"] + members, env=env)
        need(r.rc == 0, "re-enabling the F5 sample failed", r)

    ours = median([r.wall for r in s["drain"]])
    per = median([r.wall for r in theirs])
    t.faster("drain %d: wall time" % n, ours, per * n, 10)
    t.add("drain %d: REST requests" % n, "%d" % median([r.requests for r in s["drain"]]),
          "%d" % (median([r.requests for r in theirs]) * n),
          fmt_ratio(median([r.requests for r in theirs]) * n / median([r.requests for r in s["drain"]])))
    t.smaller("peak RSS (one process)", median([r.rss for r in s["drain"]]), median([r.rss for r in theirs]))
    t.add("enable %d: wall time (lbmember only)" % n, fmt_s(median([r.wall for r in s["enable"]])), "—", "—")
    t.notes += [
        "lbmember: one `lbmember f5://… drain /Common/bulk M1 … M%d --min-enabled 0`; most requests the "
        "emulator answered at once: %d. Median of %d runs." % (n, max(r.inflight for r in s["drain"]),
                                                             ctx.args.runs),
        "bigip_pool_member: its AnsiballZ payload once per member (state: disabled), run on %d members, median "
        "per member × %d; per member it made %d requests (median)." % (k, n, median([r.requests for r in theirs])),
    ]
    ctx.keep("bulk-f5", ours_drain_wall=[r.wall for r in s["drain"]], ours_drain_requests=[r.requests for r in s["drain"]],
             ours_enable_wall=[r.wall for r in s["enable"]], theirs_per_member_wall=[r.wall for r in theirs],
             theirs_per_member_requests=[r.requests for r in theirs], ours_rss=[r.rss for r in s["drain"]],
             theirs_rss=[r.rss for r in theirs])
    return t


# ---- 6. HA pair ------------------------------------------------------------------------

def cmp_pair(ctx, h, names):
    """The same change on one HAProxy and through a pair of two (issue 17)."""
    n = len(names)
    t = Table("pair-haproxy", "6. HA pair: the same change on one HAProxy and on two as one target",
              "pair (A,B)", "one (A)")
    small = ["a%02d" % i for i in range(1, 11)]
    started = []
    try:
        h2 = bulk_haproxy(n).start()
        started.append(h2)
        s1, s2 = (HAProxy({"app": [(m, "127.0.0.2", 21000 + i) for i, m in enumerate(small)]}, mode="tcp").start()
                  for _ in range(2))
        started += [s1, s2]
        env = clean_env()
        want = {"disable": "MAINT", "drain": "DRAIN"}
        # (label, A, B, backend, members, verb out, verb back)
        cases = (("10-server backend", s1, s2, "app", small[:1], "drain", "enable"),
                 ("%d-server backend" % n, h, h2, "bulk", names[:1], "drain", "enable"),
                 ("%d-server backend" % n, h, h2, "bulk", names, "disable", "enable"))
        s = {}

        def one(x, backend, verb, members):
            r = measure([ctx.cli, x if isinstance(x, str) else x.target_unix, verb, backend] + members
                        + ["--min-enabled", "0"], env=env)
            need(r.rc == 0, "%s %d members of %s failed" % (verb, len(members), backend), r)
            return r

        def witness(xs, backend, verb, members):
            for x in xs:
                got = count_status(x, backend, want.get(verb, "MAINT"))
                need(got == (len(members) if verb in want else 0),
                     "HAProxy shows %d servers of %s %s after %s" % (got, backend, want.get(verb, "MAINT"), verb))

        def at_once(a, b, backend, verb, members):
            got = [None, None]
            threads = [threading.Thread(target=lambda i, x: got.__setitem__(i, one(x, backend, verb, members)),
                                        args=(i, x)) for i, x in enumerate((a, b))]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            need(all(got), "one of two runs at once failed")
            return Run(max(r.wall for r in got), max(r.rss for r in got), 0, "", "")

        # Interleaved run by run, so that every side sees the same machine.
        for i in range(ctx.args.runs):
            for c, (label, a, b, backend, members, out, back) in enumerate(cases):
                for tool in ("one", "pair", "at once", "one after the other"):
                    for verb in (out, back):
                        if tool == "one":
                            r = one(a, backend, verb, members)
                            witness((a,), backend, verb, members)
                        elif tool == "pair":
                            r = one(a.target_unix + "," + b.target_unix, backend, verb, members)
                            witness((a, b), backend, verb, members)
                        elif tool == "at once":
                            r = at_once(a, b, backend, verb, members)
                            witness((a, b), backend, verb, members)
                        else:
                            r1, r2 = one(a, backend, verb, members), one(b, backend, verb, members)
                            r = Run(r1.wall + r2.wall, max(r1.rss, r2.rss), 0, "", "")
                            witness((a, b), backend, verb, members)
                        s.setdefault((c, tool, verb), []).append(r)
    finally:
        for x in started:
            x.stop()
    med = {key: median([r.wall for r in v]) for key, v in s.items()}
    for c, (label, a, b, backend, members, out, back) in enumerate(cases):
        for verb in (out, back):
            what = "%s %d, %s" % (verb, len(members), label)
            r = med[(c, "pair", verb)] / med[(c, "one", verb)]
            t.add(what + ": pair vs one", fmt_s(med[(c, "pair", verb)]), fmt_s(med[(c, "one", verb)]),
                  "%.2f× one" % r, "≤ 1.3× one", r <= 1.3)
            f = med[(c, "pair", verb)] / med[(c, "at once", verb)]
            t.add(what + ": pair vs two runs at once (this machine's floor)", fmt_s(med[(c, "pair", verb)]),
                  fmt_s(med[(c, "at once", verb)]), "%.2f× the floor" % f)
            t.faster(what + ": pair vs one run per balancer (a playbook loop)", med[(c, "pair", verb)],
                     med[(c, "one after the other", verb)])
    t.smaller("peak RSS, disable %d: pair vs one" % n, median([r.rss for r in s[(2, "pair", "disable")]]),
              median([r.rss for r in s[(2, "one", "disable")]]))
    t.notes += [
        "Two real HAProxy per size, each with the same backend, on unix sockets, on this machine's 2 cores "
        "with the client. pair: `lbmember haproxy://A,haproxy://B VERB BACKEND …`, planned on both before "
        "either is touched, applied to both at once (C11 threads), read back on both. one: the same command "
        "on A alone. two runs at once: the one-balancer command on A and on B started together (the longer "
        "of the two): what two balancers cost here when nothing is shared. one run per balancer: A, then B, "
        "as a playbook loop does (no guard across the pair, no undo). Median of %d runs, interleaved."
        % ctx.args.runs,
    ]
    ctx.keep("pair-haproxy", **{"%d_%s_%s_wall" % key: [r.wall for r in v] for key, v in s.items()})
    return t


# ---- 5a. Nagios on HAProxy ----------------------------------------------------------

def cmp_nagios_haproxy(ctx, h, n):
    t = Table("nagios-haproxy", "5a. Nagios check of %d HAProxy servers: check_lb_members vs check_haproxy_stats" % n,
              "check_lb_members", "check_haproxy_stats")
    if not os.access(CHECK_HAPROXY_STATS, os.X_OK):
        t.error = "%s is not installed (Debian package monitoring-plugins-contrib)" % CHECK_HAPROXY_STATS
        return t
    env = clean_env()
    s = {"ours": [], "theirs": []}
    for i in range(ctx.args.runs):
        r = measure([ctx.check, "-T", h.target_unix], env=env)
        need(r.rc == 0, "check_lb_members did not say OK", r)
        s["ours"].append(r)
        r = measure([CHECK_HAPROXY_STATS, "-s", h.unix_socket], env=env)
        need(r.rc == 0, "check_haproxy_stats did not say OK", r)
        s["theirs"].append(r)
    t.faster("wall time", median([r.wall for r in s["ours"]]), median([r.wall for r in s["theirs"]]), 5)
    t.smaller("peak RSS", median([r.rss for r in s["ours"]]), median([r.rss for r in s["theirs"]]))
    t.notes += ["check_haproxy_stats %s (Perl, `show stat` over the unix socket) from Debian's "
                "monitoring-plugins-contrib, the packaged HAProxy check that can run here; both exit OK. "
                "Goal (issue 16): at least 5× faster." % deb_version("monitoring-plugins-contrib"),
                "ours: `check_lb_members -T haproxy://SOCK`: %s" % s["ours"][0].out.strip()[:150]]
    ctx.keep("nagios-haproxy", ours_wall=[r.wall for r in s["ours"]], theirs_wall=[r.wall for r in s["theirs"]],
             ours_rss=[r.rss for r in s["ours"]], theirs_rss=[r.rss for r in s["theirs"]])
    return t


# ---- 3 and 5b. IPVS in the VM ----------------------------------------------------------

VIP = "198.51.100.1"
BASE_PORT = 10000


def ipvs_table(path, total, first=10, per=100):
    """`ipvsadm -R` input: service BASE_PORT with `first` real servers, then
    services of `per` until there are `total` real servers in all."""
    lines, left, port = [], total, BASE_PORT
    size = min(first, total)
    while left > 0:
        lines.append("-A -t %s:%d -s wrr" % (VIP, port))
        lines += ["-a -t %s:%d -r 192.0.2.%d:80 -m -w 1" % (VIP, port, i) for i in range(1, size + 1)]
        left -= size
        port += 1
        size = min(per, left)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return port - BASE_PORT


VM_SCRIPT = r"""
export LBM_STATE_DIR=/work/state
mkdir -p $LBM_STATE_DIR
R={runs}
for n in {sizes}; do
	ipvsadm -C
	ipvsadm -R < /work/table-$n.txt || echo "BENCH-ERROR restore $n"
	echo "BENCH-COUNT $n $(ipvsadm -Ln | grep -c '^  -> [0-9]')"
	# Once unmeasured: it must work, and the programs are paged in.
	$LBM_CLI lvs:// drain tcp:{vip}:{port} 192.0.2.1:80 >/dev/null || echo "BENCH-ERROR drain at $n"
	$LBM_CLI lvs:// enable tcp:{vip}:{port} 192.0.2.1:80 >/dev/null || echo "BENCH-ERROR enable at $n"
	i=0
	while [ $i -lt $R ]; do
		measure change-$n-drain $LBM_CLI lvs:// drain tcp:{vip}:{port} 192.0.2.1:80
		measure change-$n-enable $LBM_CLI lvs:// enable tcp:{vip}:{port} 192.0.2.1:80
		measure ipvsadm-$n-w0 ipvsadm -e -t {vip}:{port} -r 192.0.2.1:80 -m -w 0
		measure ipvsadm-$n-w1 ipvsadm -e -t {vip}:{port} -r 192.0.2.1:80 -m -w 1
		i=$((i+1))
	done
	echo "BENCH-WEIGHT $n $(ipvsadm -Ln -t {vip}:{port} | grep -c ' 192.0.2.1:80 *Masq *1 ')"
done
ipvsadm -C
ipvsadm -R < /work/table-list.txt || echo "BENCH-ERROR restore list"
echo "BENCH-COUNT list $(ipvsadm -Ln | grep -c '^  -> [0-9]')"
echo "BENCH-LINES lbmember $($LBM_CLI lvs:// list | wc -l) ipvsadm $(ipvsadm -Ln | wc -l)"
$LBM_CHECK -T lvs:// >/dev/null
i=0
while [ $i -lt $R ]; do
	measure list-lbmember $LBM_CLI lvs:// list
	measure list-ipvsadm ipvsadm -Ln
	measure nagios-lbmember $LBM_CHECK -T lvs://
	i=$((i+1))
done
echo "BENCH-NAGIOS $($LBM_CHECK -T lvs:// | head -c 200)"
"""


def run_vm(ctx):
    a = ctx.args
    d = os.path.join(ctx.tmp, "vm")
    os.makedirs(d, exist_ok=True)
    files = {}
    for n in a.ipvs_sizes:
        files[os.path.join(d, "table-%d.txt" % n)] = "/work/table-%d.txt" % n
        ipvs_table(os.path.join(d, "table-%d.txt" % n), n)
    total = a.ipvs_services * a.ipvs_per_service
    ipvs_table(os.path.join(d, "table-list.txt"), total, a.ipvs_per_service, a.ipvs_per_service)
    files[os.path.join(d, "table-list.txt")] = "/work/table-list.txt"
    script = VM_SCRIPT.format(runs=a.runs, sizes=" ".join(str(n) for n in a.ipvs_sizes), vip=VIP, port=BASE_PORT)
    binaries = [ctx.cli, ctx.check, ctx.measure]
    res = ipvs_vm.run_vm(script, binaries=binaries, files=files,
                         env={"LBM_CLI": ctx.cli, "LBM_CHECK": ctx.check},
                         cache_dir=a.vm_cache, timeout=a.vm_timeout, memory=1024,
                         log=os.path.join(ctx.args.out, "vm-console.log"))
    samples = {}
    info = []
    for line in res.output.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == "MEASURE":
            samples.setdefault(f[1], []).append((float(f[2]), int(f[3]), int(f[4])))
        elif line.startswith("BENCH-"):
            info.append(line.strip())
    return res, samples, info, total


def cmp_ipvs(ctx):
    a = ctx.args
    t3a = Table("ipvs-list", "3a. IPVS listing of %d destinations over %d services, in the VM: lbmember vs ipvsadm -Ln"
                % (a.ipvs_services * a.ipvs_per_service, a.ipvs_services), "lbmember list", "ipvsadm -Ln")
    t3b = Table("ipvs-change", "3b. IPVS: cost of changing one member as the table grows, in the VM",
                "lbmember drain+enable", "ipvsadm -e (w 0, w 1)")
    t5b = Table("nagios-ipvs", "5b. Nagios check of the %d-destination IPVS table, in the VM"
                % (a.ipvs_services * a.ipvs_per_service), "check_lb_members", "ipvsadm -Ln (no packaged check)")
    res, samples, info, total = run_vm(ctx)
    ctx.keep("ipvs", samples={k: v for k, v in samples.items()}, info=info, boot_s=res.boot_s, total_s=res.total_s)
    if not res.ok or "BENCH-ERROR" in " ".join(info):
        for t in (t3a, t3b, t5b):
            t.error = "the VM run failed: %s %s (console in %s/vm-console.log)" % (
                res.error, [i for i in info if "ERROR" in i], ctx.args.out)
        return [t3a, t3b, t5b]
    for line in info:
        f = line.split()
        if f[0] == "BENCH-COUNT":
            want = total if f[1] == "list" else int(f[1])
            need(int(f[2]) == want, "the VM holds %s destinations, not %d" % (f[2], want))
        if f[0] == "BENCH-WEIGHT":
            need(f[2] == "1", "192.0.2.1:80 did not end with weight 1 at size %s" % f[1])

    def col(tag, i=0):
        v = samples.get(tag, [])
        bad = [x for x in v if x[2] != 0]
        need(v, "%s: not measured" % tag)
        need(not bad, "%s: exit status %d" % (tag, bad[0][2] if bad else 0))
        return median([x[i] for x in v])

    t3a.faster("wall time", col("list-lbmember"), col("list-ipvsadm"), 1.2)
    rss = col("list-lbmember", 1) / col("list-ipvsadm", 1)
    t3a.add("peak RSS", fmt_kib(col("list-lbmember", 1)), fmt_kib(col("list-ipvsadm", 1)),
            "%.2f× ipvsadm's" % rss, "≤ 2× ipvsadm's", rss <= 2)
    lines = [i for i in info if i.startswith("BENCH-LINES")]
    t3a.notes.append("Goals (issue 16): at least 1.2× faster than ipvsadm, peak RSS at most 2× its. Output lines: %s. VM: QEMU TCG (no KVM), 1 vCPU, "
                     "so absolute times are several times those of real hardware; the ratio is what counts."
                     % (lines[0][12:] if lines else "?"))
    base = a.ipvs_sizes[0]
    for n in a.ipvs_sizes:
        ours = col("change-%d-drain" % n) + col("change-%d-enable" % n)
        theirs = col("ipvsadm-%d-w0" % n) + col("ipvsadm-%d-w1" % n)
        t3b.add("%d destinations" % n, fmt_s(ours), fmt_s(theirs), "%.2f× ipvsadm" % (ours / theirs))
    grow = (col("change-%d-drain" % a.ipvs_sizes[-1]) + col("change-%d-enable" % a.ipvs_sizes[-1])) / \
        (col("change-%d-drain" % base) + col("change-%d-enable" % base))
    t3b.add("lbmember %d vs %d destinations" % (a.ipvs_sizes[-1], base), "%.2f×" % grow, "", "%.2f×" % grow,
            "< 1.5×", grow < 1.5)
    t3b.notes.append("The member changed (192.0.2.1:80 in tcp:%s:%d) always sits in a service of 10 real servers; "
                     "the rest of the table is services of 100. Per size: one drain + one enable (lbmember, with "
                     "its state store) and one `ipvsadm -e … -w 0` + `-w 1`, median of %d each." % (VIP, BASE_PORT,
                                                                                                 a.runs))
    t5b.add("wall time", fmt_s(col("nagios-lbmember")), fmt_s(col("list-ipvsadm")),
            fmt_ratio(col("list-ipvsadm") / col("nagios-lbmember")))
    t5b.add("peak RSS", fmt_kib(col("nagios-lbmember", 1)), fmt_kib(col("list-ipvsadm", 1)),
            fmt_ratio(col("list-ipvsadm", 1) / col("nagios-lbmember", 1)))
    nag = [i for i in info if i.startswith("BENCH-NAGIOS")]
    t5b.notes += ["Debian 12 packages no Nagios/Icinga check for LVS/IPVS (none in monitoring-plugins-basic, "
                  "-standard or -contrib), so the comparison is with `ipvsadm -Ln`, the listing any such "
                  "script would wrap.",
                  "Output: %s" % (nag[0][13:] if nag else "?")]
    return [t3a, t3b, t5b]


# ---- machine ------------------------------------------------------------------------

def deb_version(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else "not installed"


def machine(ctx):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    git = subprocess.run(["git", "-C", SRC, "describe", "--always", "--dirty"], capture_output=True, text=True)
    kernel_deb = ""
    ready = os.path.join(ctx.args.vm_cache, "kernel.ready")
    if os.path.exists(ready):
        with open(ready) as f:
            kernel_deb = f.read().strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "load_start": load,
        "lbmember": git.stdout.strip() or "?",
        "peers": {p: deb_version(p) for p in ("haproxy", "socat", "ansible", "ansible-core", "python3",
                                              "monitoring-plugins-contrib", "ipvsadm", "qemu-system-x86")},
        "vm_kernel": kernel_deb,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="lbmember build directory (Release)")
    ap.add_argument("--helpers", required=True, help="directory holding the built floor and measure")
    ap.add_argument("--out", default=".", help="where results.txt, results.md and results.json go")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("LBM_BENCH_RUNS", 5)),
                    help="runs per measurement, median reported (5)")
    ap.add_argument("--bulk-runs", type=int, default=int(os.environ.get("LBM_BENCH_BULK_RUNS", 3)),
                    help="runs of the socat loop (3)")
    ap.add_argument("--servers", type=int, default=int(os.environ.get("LBM_BENCH_SERVERS", 1000)),
                    help="HAProxy servers in the bulk backend (1000)")
    ap.add_argument("--cg-sample", type=int, default=int(os.environ.get("LBM_BENCH_CG_SAMPLE", 10)),
                    help="servers community.general.haproxy is run on in the bulk comparison (10)")
    ap.add_argument("--f5-members", type=int, default=int(os.environ.get("LBM_BENCH_F5_MEMBERS", 100)))
    ap.add_argument("--f5-sample", type=int, default=int(os.environ.get("LBM_BENCH_F5_SAMPLE", 10)),
                    help="members bigip_pool_member is run on (10)")
    ap.add_argument("--f5-latency", type=float, default=0.020, help="seconds added per emulator request (0.020)")
    ap.add_argument("--ipvs-sizes", default=os.environ.get("LBM_BENCH_IPVS_SIZES", "10,100,1000,10000"),
                    help="table sizes for the one-change cost (10,100,1000,10000)")
    ap.add_argument("--ipvs-services", type=int, default=100)
    ap.add_argument("--ipvs-per-service", type=int, default=100)
    ap.add_argument("--vm-cache", default=os.environ.get("LBM_VM_CACHE", "/tmp/lbmember-bench-vm-cache"))
    ap.add_argument("--vm-timeout", type=float, default=900)
    ap.add_argument("--only", default="", help="comma list among ansible,bulk,f5,nagios,ipvs,pair (default: all)")
    a = ap.parse_args()
    a.ipvs_sizes = [int(x) for x in a.ipvs_sizes.split(",")]
    a.out = os.path.abspath(a.out)
    a.vm_cache = os.path.abspath(a.vm_cache)
    os.makedirs(a.out, exist_ok=True)
    only = set(a.only.split(",")) if a.only else {"ansible", "bulk", "f5", "nagios", "ipvs", "pair"}
    ctx = Ctx(a)
    info = machine(ctx)
    tables = []
    started = time.monotonic()

    def attempt(key, title, fn, *args):
        first = len(tables)
        try:
            got = fn(*args)
            tables.extend(got if isinstance(got, list) else [got])
        except (BenchError, RuntimeError, OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
            t = Table(key, title)
            t.error = str(e).splitlines()[0][:300] + (" …" if "\n" in str(e) else "")
            print("bench: %s: %s" % (key, e), file=sys.stderr)
            tables.append(t)
        for t in tables[first:]:
            print(t.text(), flush=True)

    try:
        if "ansible" in only:
            attempt("ansible-haproxy", "1a. Ansible module, HAProxy", cmp_ansible_haproxy, ctx)
            attempt("ansible-f5", "1b. Ansible module, F5", cmp_ansible_f5, ctx)
        if only & {"bulk", "nagios", "pair"}:
            h = bulk_haproxy(a.servers).start()
            try:
                names = ["s%04d" % i for i in range(1, a.servers + 1)]
                if "bulk" in only:
                    attempt("bulk-haproxy", "2. Bulk change on HAProxy", cmp_bulk, ctx, h, names)
                if "nagios" in only:
                    attempt("nagios-haproxy", "5a. Nagios, HAProxy", cmp_nagios_haproxy, ctx, h, a.servers)
                if "pair" in only:
                    attempt("pair-haproxy", "6. HA pair", cmp_pair, ctx, h, names)
            finally:
                h.stop()
        if "f5" in only:
            attempt("bulk-f5", "4. F5 bulk change", cmp_f5_bulk, ctx)
        if "ipvs" in only:
            attempt("ipvs", "3/5b. IPVS in the VM", cmp_ipvs, ctx)
    finally:
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    with open("/proc/loadavg") as f:
        info["load_end"] = " ".join(f.read().split()[:3])
    info["seconds"] = round(time.monotonic() - started)
    head = ("lbmember benchmarks, %(date)s; lbmember %(lbmember)s; %(nproc)s CPUs (%(cpu)s); kernel %(kernel)s; "
            "load average %(load_start)s at start, %(load_end)s at end; %(seconds)s s" % info)
    peers = ", ".join("%s %s" % kv for kv in info["peers"].items())
    print("\n" + head + "\nDebian packages: " + peers + ("\nVM kernel: " + info["vm_kernel"] if info["vm_kernel"] else ""))
    with open(os.path.join(a.out, "results.txt"), "w") as f:
        f.write(head + "\nDebian packages: " + peers + "\n" + "\n".join(t.text() for t in tables) + "\n")
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("_%s._\n\nDebian packages: %s.%s\n\n" % (head, peers, " VM kernel: Debian linux-image %s." %
                                                           info["vm_kernel"] if info["vm_kernel"] else ""))
        f.write("\n".join(t.markdown() for t in tables))
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"machine": info, "tables": [{"key": t.key, "title": t.title, "error": t.error, "rows": t.rows,
                                                "notes": t.notes} for t in tables], "samples": ctx.raw}, f, indent=1)
    missed = [(t.title, r["what"]) for t in tables for r in t.rows if r["met"] == "NO"]
    failed = [t.title for t in tables if t.error]
    print("\nresults in %s/results.{txt,md,json}; goals missed: %d; comparisons not measured: %d"
          % (a.out, len(missed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
