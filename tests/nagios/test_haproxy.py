# SPDX-License-Identifier: MIT
"""check_lb_members against a real HAProxy on loopback: classification,
thresholds as counts and percentages, perfdata read back by the guidelines'
grammar, --max-out-time on the records the real lbmember CLI writes, and an
unreachable balancer."""
import os
import re
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
import unittest

from plugin_output import PLUGIN, PluginTest, run, take_out
from slowdown import SLOW
from haproxy_fixture import BackendServer, HAProxy, free_port


def wait_for(pred, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


# Three web servers, two api servers, no health checks.
WEB_AND_API = {
    "web": [("s1", "127.0.0.2", 9), ("s2", "127.0.0.3", 9), ("s3", "127.0.0.4", 9)],
    "api": [("a1", "127.0.0.5", 9), ("a2", "127.0.0.6", 9)],
}


class HAProxyChecks(PluginTest):
    """Three web servers, two api servers, no health checks."""

    @classmethod
    def setUpClass(cls):
        cls.h = HAProxy(WEB_AND_API).start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()

    def setUp(self):
        for b, servers in self.h.backends.items():
            for s in servers:
                self.h.command("set server %s/%s state ready" % (b, s[0]))

    def check(self, *args, rc=None):
        res = run(["-T", self.h.target_unix] + list(args))
        if rc is not None:
            self.assertStatus(res, rc)
        return res

    def test_all_enabled_ok(self):
        for target in (self.h.target_unix, self.h.target_tcp):
            res = run(["-T", target])
            self.assertStatus(res, 0)
            self.assertEqual(res.text, "LB_MEMBERS OK - all 5 members of 2 pools in rotation")
            self.assertEqual(res.perfdata["web enabled"]["value"], "3")
            self.assertEqual(res.perfdata["web out"], {"value": "0", "uom": "", "warn": "0", "crit": "",
                                                       "min": "0", "max": "3"})
            self.assertEqual(res.perfdata["api enabled"], {"value": "2", "uom": "", "warn": "", "crit": "1:",
                                                           "min": "0", "max": "2"})

    def test_one_draining_is_warning(self):
        self.h.command("set server web/s2 state drain")
        self.assertEqual(self.h.status("web", "s2"), "DRAIN")
        res = self.check("-w", "0", rc=1)
        self.assertEqual(res.text, "LB_MEMBERS WARNING - 1 of 5 members out of rotation: web s2 draining")
        self.assertEqual(res.long[0], "web WARNING: 2 of 3 enabled, 1 out: s2 draining")
        self.assertEqual(res.perfdata["web out"]["value"], "1")
        self.assertEqual(res.perfdata["web enabled"]["value"], "2")
        # Without -w or -c, the default is -w 0.
        self.assertEqual(self.check(rc=1).text, res.text)

    def test_all_disabled_is_critical(self):
        for s in ("a1", "a2"):
            self.h.command("set server api/%s state maint" % s)
        res = self.check("-w", "5", "-c", "5", rc=2)
        self.assertTrue(res.text.startswith("LB_MEMBERS CRITICAL - api: 0 of 2 members enabled (min 1). "
                                            "2 of 5 members out of rotation: api a1 disabled, api a2 disabled"),
                        res)
        self.assertEqual(res.long[0], "api CRITICAL: 0 of 2 enabled (min 1), 2 out: a1 disabled, a2 disabled")
        self.assertEqual(res.perfdata["api enabled"]["value"], "0")
        # --min-enabled 0 leaves it to the ranges.
        self.check("-w", "5", "-c", "5", "--min-enabled", "0", rc=0)
        self.check("-c", "1:", "--min-enabled", "0", "-P", "web", rc=2)  # web: 0 out, below 1:

    def test_thresholds_on_counts(self):
        self.h.command("set server web/s1 state drain")
        self.h.command("set server web/s2 state maint")
        cases = [  # web has 2 out of 3, api 0 of 2
            (["-w", "2"], 0),          # 2 is inside 0..2: endpoints inclusive
            (["-w", "1"], 1),
            (["-w", "1", "-c", "2"], 1),
            (["-w", "1", "-c", "1"], 2),
            (["-c", "@2:3"], 2),       # inside 2..3
            (["-c", "@3:5"], 0),
            (["-w", "~:1"], 1),
            (["-w", "@0", "-P", "api"], 1),  # api: 0 out, inside @0
            (["-w", "@0", "-P", "web"], 0),
            (["-w", "1:", "-P", "api"], 1),  # fewer than 1 out: legal, if odd
        ]
        for args, rc in cases:
            with self.subTest(args=args):
                res = self.check(*args, rc=rc)
                web = res.perfdata.get("web out")
                if web:
                    self.assertEqual(web["value"], "2")
                    self.assertEqual(web["warn"], args[args.index("-w") + 1] if "-w" in args else "")
                    self.assertEqual(web["crit"], args[args.index("-c") + 1] if "-c" in args else "")

    def test_thresholds_on_percentages(self):
        self.h.command("set server web/s3 state drain")  # web: 1 of 3 out = 33.33%
        cases = [
            (["-w", "30"], 1),
            (["-w", "34"], 0),
            (["-w", "33.33"], 0),   # inclusive, and the value judged is the one printed
            (["-w", "33.3", "-c", "50"], 1),
            (["-c", "@33:34"], 2),
            (["-c", "@0:33"], 0),
            (["-w", "10", "-c", "20"], 2),
        ]
        for args, rc in cases:
            with self.subTest(args=args):
                res = self.check("--percent", "-P", "web", *args, rc=rc)
                pct = res.perfdata["web out_pct"]
                self.assertEqual((pct["value"], pct["uom"], pct["min"], pct["max"]), ("33.33", "%", "0", "100"))
                self.assertEqual(pct["warn"], args[args.index("-w") + 1] if "-w" in args else "")
                self.assertEqual(res.perfdata["web out"], {"value": "1", "uom": "", "warn": "", "crit": "",
                                                           "min": "0", "max": "3"})
                self.assertIn("1 out (33.33%): s3 draining", res.long[0])

    def test_weight_zero_counts_as_draining(self):
        self.h.command("set server api/a2 weight 0")
        try:
            res = self.check("-P", "api", "-v", rc=1)
            self.assertIn("api a2 draining", res.text)
            self.assertTrue(any(l.startswith("    a2 ") and "weight 0" in l for l in res.long), res)
        finally:
            self.h.command("set server api/a2 weight 1")

    def test_pools_named_and_missing(self):
        self.h.command("set server web/s1 state maint")
        res = self.check("-P", "api", rc=0)
        self.assertEqual(set(res.perfdata), {"api enabled", "api out"})
        res = self.check("-P", "api", "-P", "web", rc=1)
        self.assertEqual(list(res.perfdata)[0], "web enabled")  # worst pool first
        res = self.check("-P", "web", "-P", "nosuch", rc=2)
        self.assertIn("listing pool 'nosuch' on %s" % self.h.target_unix, res.text)

    def test_counting_only_disabled(self):
        self.h.command("set server web/s1 state drain")
        self.check("--count", "disabled", rc=0)
        self.h.command("set server web/s2 state maint")
        res = self.check("--count", "disabled", rc=1)
        self.assertIn("1 of 5 members out of rotation: web s2 disabled", res.text)


class AgentDrain(socketserver.ThreadingTCPServer):
    """An HAProxy agent that answers every check with a word (e.g. "drain")."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, word):
        self.word = word

        class Handler(socketserver.BaseRequestHandler):
            def handle(h):
                h.request.sendall((self.word + "\n").encode())

        super().__init__(("127.0.0.7", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class HTTP404(socketserver.ThreadingTCPServer):
    """Answers every request with 404: with disable-on-404, HAProxy says NOLB."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        class Handler(socketserver.StreamRequestHandler):
            def handle(h):
                h.rfile.readline()
                h.wfile.write(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")

        super().__init__(("127.0.0.8", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class HAProxyMasterCLI(PluginTest):
    """The master CLI of master-worker mode (-Ws -S, as Debian's unit runs
    HAProxy) as the target: the same verdict as the worker's socket."""

    def test_master_cli_target(self):
        h = HAProxy({"web": [("s1", "127.0.0.2", 9), ("s2", "127.0.0.3", 9)]}, master=True).start()
        try:
            h.command("set server web/s2 state drain")
            worker = run(["-T", h.target_unix, "-w", "0"])
            master = run(["-T", "haproxy://" + h.master_socket, "-w", "0"])
            self.assertStatus(master, 1)
            self.assertEqual(master.text, worker.text)
            self.assertEqual(master.perfdata, worker.perfdata)
        finally:
            h.stop()


class HAProxyStatusPrefixes(PluginTest):
    """Statuses HAProxy decorates: MAINT (via b/s), DRAIN (agent), NOLB, DOWN."""

    def test_classification_by_prefix(self):
        servers = [BackendServer("127.0.0.2").start() for _ in range(3)]
        agent = AgentDrain("drain")
        nolb = HTTP404()
        try:
            h = HAProxy({
                "web": [("s1", servers[0].host, servers[0].port),
                        ("s2", servers[1].host, servers[1].port, "track web/s1"),
                        ("s3", servers[2].host, servers[2].port)],
                "api": [("a1", servers[2].host, servers[2].port,
                         "agent-check agent-addr 127.0.0.7 agent-port %d agent-inter 300ms" % agent.server_address[1]),
                        ("a2", "127.0.0.8", nolb.server_address[1]),
                        ("a3", "127.0.0.9", free_port("127.0.0.9")),  # nobody listens: DOWN
                        ("a4", servers[0].host, servers[0].port)],
            # A slow check on a loaded machine would make a2 DOWN, and a 404
            # keeps a DOWN server DOWN: give checks time.
            }, check=True, defaults_extra="    option httpchk GET /\n    http-check disable-on-404\n"
                                          "    timeout check 5s").start()
        except BaseException:
            for s in servers:
                s.stop()
            raise
        try:
            self.assertTrue(wait_for(lambda: h.status("api", "a1").startswith("DRAIN")
                                     and h.status("api", "a2").startswith("NOLB")
                                     and h.status("api", "a3").startswith("DOWN")
                                     and h.status("web", "s1") == "UP"),
                            [(r["svname"], r["status"]) for r in h.show_stat()])
            h.command("set server web/s1 state maint")
            self.assertEqual(h.status("web", "s2"), "MAINT (via web/s1)")
            statuses = {(r["pxname"], r["svname"]): r["status"] for r in h.show_stat()}

            res = run(["-T", h.target_tcp, "-w", "0", "-v"])
            self.assertStatus(res, 1)
            self.assertEqual(res.text, "LB_MEMBERS WARNING - 4 of 7 members out of rotation: "
                             "web s1 disabled, web s2 disabled, api a1 draining, api a2 draining", statuses)
            self.assertEqual(res.perfdata["api enabled"]["value"], "1")  # a3 is down, a4 is the one
            self.assertEqual(res.perfdata["web enabled"]["value"], "1")
            res = run(["-T", h.target_tcp, "-w", "0", "--count", "disabled,draining,down"])
            self.assertStatus(res, 1)
            self.assertIn("api a3 down", res.text)
            self.assertEqual(res.perfdata["api out"]["value"], "3")
            res = run(["-T", h.target_tcp, "-P", "api", "--min-enabled", "2"])
            self.assertStatus(res, 2)
            self.assertIn("api: 1 of 4 members enabled (min 2)", res.text)
            self.assertEqual(res.perfdata["api enabled"]["crit"], "2:")
        finally:
            h.stop()
            for srv in (agent, nolb):
                srv.shutdown()
                srv.server_close()
            for s in servers:
                s.stop()


class Pair(PluginTest):
    """-T twice: two real HAProxy of an HA pair, judged together (issue 17)."""

    @classmethod
    def setUpClass(cls):
        backends = {"app": [("s1", "127.0.0.2", 9), ("s2", "127.0.0.3", 9)]}
        cls.a, cls.b = HAProxy(backends).start(), HAProxy(backends).start()

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()

    def setUp(self):
        for h in (self.a, self.b):
            for s in ("s1", "s2"):
                h.command("set server app/%s state ready" % s)

    def check(self, *args, rc):
        res = run(["-T", self.a.target_unix, "-T", self.b.target_tcp] + list(args))
        self.assertStatus(res, rc)
        return res

    def test_same_on_both_is_ok(self):
        res = self.check(rc=0)
        self.assertEqual(res.text, "LB_MEMBERS OK - all 4 members of 2 pools in rotation")
        for target in (self.a.target_unix, self.b.target_tcp):
            self.assertEqual(res.perfdata["%s app enabled" % target]["value"], "2")
        # Drained on both, as lbmember does through the pair: out, not different.
        for h in (self.a, self.b):
            h.command("set server app/s1 state drain")
        res = self.check("-w", "2", rc=0)
        self.assertNotIn("not the same", res.text)
        self.assertEqual(res.perfdata["%s app out" % self.b.target_tcp]["value"], "1")

    def test_different_on_each_is_warning(self):
        self.a.command("set server app/s2 state drain")
        # -w 2 lets one out; the difference between the balancers is WARNING still.
        res = self.check("-w", "2", rc=1)
        self.assertEqual(res.text, "LB_MEMBERS WARNING - 1 member not the same on every balancer: app s2 draining on %s, "
                         "in rotation on %s. 1 of 4 members out of rotation: %s app s2 draining"
                         % (self.a.target_unix, self.b.target_tcp, self.a.target_unix), res)
        self.assertEqual(res.perfdata["%s app out" % self.a.target_unix]["value"], "1")
        self.assertEqual(res.perfdata["%s app out" % self.b.target_tcp]["value"], "0")
        # The targets joined with a comma, as the man page allows: the same check.
        joined = run(["-T", self.a.target_unix + "," + self.b.target_tcp, "-w", "2"])
        self.assertStatus(joined, 1)
        self.assertEqual((joined.text, joined.perfdata), (res.text, res.perfdata))
        # A critical pool stays critical: the difference only raises OK.
        for s in ("s1", "s2"):
            self.b.command("set server app/%s state maint" % s)
        self.assertIn("not the same on every balancer", self.check("-w", "4", rc=2).text)

# 2h13m and 5 seconds: "2h13m" for a good minute, whatever the machine's pace.
AGE = 2 * 3600 + 13 * 60 + 5
UNKNOWN_AGE = "out for an unknown time (no lbmember record)"


class MaxOutTime(PluginTest):
    """--max-out-time (issue 18): how long members have been out, from the
    records the real lbmember CLI writes when it drains or disables."""

    @classmethod
    def setUpClass(cls):
        cls.h = HAProxy(WEB_AND_API).start()
        # Searchable by all, as /var/lib is: lbmember makes what it creates
        # under it readable by a monitoring user.
        cls.base = tempfile.mkdtemp(prefix="lbm-nagios-state-")
        os.chmod(cls.base, 0o755)
        cls.state = os.path.join(cls.base, "state")

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        shutil.rmtree(cls.base)

    def setUp(self):
        for b, servers in self.h.backends.items():
            for s in servers:
                self.h.command("set server %s/%s state ready" % (b, s[0]))
        shutil.rmtree(self.state, ignore_errors=True)

    def check(self, *args, rc, target=None):
        res = run(["-T", target or self.h.target_unix, "--state-dir", self.state] + list(args))
        self.assertStatus(res, rc)
        return res

    def take_out(self, pool, member, age, reason="kernel update", verb="drain", target=None):
        return take_out(target or self.h.target_unix, verb, pool, member, self.state, reason=reason, age=age)

    def assertRecordLine(self, line, member, rec, age, reason="kernel update"):
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rec["since"]))
        self.assertTrue(line.startswith("    %s " % member), line)
        self.assertTrue(line.endswith(", out for %s since %s by alice%s" % (age, since, reason and ": " + reason)),
                        line)

    def test_over_the_limit_is_warning(self):
        rec = self.take_out("web", "s1", AGE)
        # -w 2 lets one member out: the age alone makes it WARNING.
        res = self.check("-w", "2", "--max-out-time", "2h", rc=1)
        self.assertEqual(res.text, "LB_MEMBERS WARNING - 1 member out of rotation longer than 2h: web s1 for 2h13m "
                         "by alice: kernel update. 1 of 5 members out of rotation: web s1 draining")
        self.assertEqual(res.long[0], "web WARNING: 2 of 3 enabled, 1 out, 1 longer than 2h: s1 draining")
        self.assertRecordLine(res.long[1], "s1", rec, "2h13m")
        self.assertEqual(res.long[2], "api OK: 2 of 2 enabled, 0 out")
        self.assertEqual(res.perfdata["web out"]["value"], "1")
        # The unit counts: 2h13m5s is longer than 133m, not than 134m.
        self.check("-w", "2", "--max-out-time", "133m", rc=1)
        self.check("-w", "2", "--max-out-time", "134m", rc=0)
        # The worse verdict wins: CRITICAL stays CRITICAL, and still says who.
        res = self.check("-c", "0", "--max-out-time", "2h", rc=2)
        self.assertIn("1 member out of rotation longer than 2h: web s1 for 2h13m by alice: kernel update. ", res.text)

    def test_disabled_and_from_the_environment(self):
        rec = self.take_out("api", "a1", 3 * 86400 + 4 * 3600 + 60, reason="disk swap", verb="disable")
        res = run(["-T", self.h.target_unix, "-w", "2", "--max-out-time", "2d"],
                  env=dict(os.environ, LBM_STATE_DIR=self.state))
        self.assertStatus(res, 1)
        self.assertEqual(res.text, "LB_MEMBERS WARNING - 1 member out of rotation longer than 2d: api a1 for 3d4h "
                         "by alice: disk swap. 1 of 5 members out of rotation: api a1 disabled")
        self.assertRecordLine(res.long[1], "a1", rec, "3d4h", reason="disk swap")

    def test_under_the_limit_is_ok(self):
        rec = self.take_out("web", "s1", AGE)
        res = self.check("-w", "2", "--max-out-time", "3h", rc=0)
        self.assertEqual(res.text, "LB_MEMBERS OK - 1 of 5 members out of rotation: web s1 draining")
        self.assertEqual(res.long[0], "web OK: 2 of 3 enabled, 1 out: s1 draining")
        self.assertRecordLine(res.long[1], "s1", rec, "2h13m")
        # Just taken out, without a reason: who and when are recorded all the same.
        rec = self.take_out("api", "a1", 0, reason=None)
        res = self.check("-P", "api", "--max-out-time", "90s", rc=1)  # -w 0: out is WARNING, not late
        self.assertEqual(res.text, "LB_MEMBERS WARNING - 1 of 2 members out of rotation: api a1 draining")
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rec["since"]))
        self.assertRegex(res.long[1], r"^    a1 .*, out for [0-9]+s since %s by alice$" % since)

    def test_no_record_is_never_over(self):
        # Drained through HAProxy's own socket: lbmember has no record, so no age.
        self.h.command("set server web/s2 state drain")
        res = self.check("-w", "2", "--max-out-time", "1s", rc=0)
        self.assertEqual(res.text, "LB_MEMBERS OK - 1 of 5 members out of rotation: web s2 draining")
        self.assertEqual(res.long[0], "web OK: 2 of 3 enabled, 1 out: s2 draining")
        self.assertTrue(res.long[1].startswith("    s2 127.0.0.3:9 draining, ") and
                        res.long[1].endswith(", " + UNKNOWN_AGE), res)
        # Beside one with a record: only that one is over.
        self.take_out("web", "s1", AGE)
        res = self.check("-w", "2", "--max-out-time", "1s", rc=1)
        self.assertTrue(res.text.startswith("LB_MEMBERS WARNING - 1 member out of rotation longer than 1s: web s1 "
                                            "for 2h13m by alice: kernel update. 2 of 5 members"), res)
        self.assertEqual(res.long[0], "web WARNING: 1 of 3 enabled, 2 out, 1 longer than 1s: s1 draining, "
                         "s2 draining")
        self.assertTrue(res.long[2].startswith("    s2 ") and res.long[2].endswith(UNKNOWN_AGE), res)
        # Put back and taken out again through the socket: the old record is
        # not this drain's, and names nobody.
        self.h.command("set server web/s1 state ready")
        self.check("-w", "2", "--max-out-time", "1s", rc=0)
        self.h.command("set server web/s1 state drain")
        res = self.check("-w", "2", "--max-out-time", "1s", rc=0)
        self.assertTrue(res.long[1].startswith("    s1 ") and res.long[1].endswith(UNKNOWN_AGE), res)

    def test_without_the_option_output_is_unchanged(self):
        self.take_out("web", "s1", AGE)
        self.h.command("set server web/s2 state drain")
        empty = os.path.join(self.base, "empty")
        for args, rc in ((["-w", "2"], 0), (["-w", "0", "-c", "1"], 2), ([], 1)):
            with self.subTest(args=args):
                with_records = self.check(*args, rc=rc)
                without = run(["-T", self.h.target_unix, "--state-dir", empty] + args)
                self.assertEqual((with_records.rc, with_records.stdout), (without.rc, without.stdout))
        # -v lists every member: those out say how long, whether or not a limit is set.
        res = self.check("-vv", rc=1)
        self.assertIn(", out for 2h13m since ", res.long[1])
        self.assertTrue(res.long[2].endswith(UNKNOWN_AGE), res)
        self.assertNotIn("max out time", res.stdout)
        self.assertIn(", max out time 2h", self.check("-vv", "--max-out-time", "2h", rc=1).stdout)

    def test_bad_duration_is_unknown(self):
        for bad in ("abc", "0", "0s", "-5m", "2w", "5 m", "1h30m", "12h ", ""):
            with self.subTest(value=bad):
                res = self.check("--max-out-time", bad, rc=3)
                self.assertEqual(res.first, "LB_MEMBERS UNKNOWN - --max-out-time '%s': expected a duration above 0: "
                                 "seconds, or a number and one of the units s, m, h, d (90s, 30m, 12h, 2d)" % bad)

    def test_records_must_be_readable_by_the_monitoring_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run the plugin as another user")
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        if subprocess.run(nobody + [PLUGIN, "-V"], capture_output=True).returncode != 3:
            self.skipTest("nobody cannot run %s here" % PLUGIN)
        # HAProxy's temp dir is 0700: the TCP socket, and records of that target.
        self.take_out("web", "s1", AGE, target=self.h.target_tcp)
        out = os.path.join(self.state, "out")
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o755)
        for name in os.listdir(out):
            if name.endswith(".json"):
                self.assertEqual(os.stat(os.path.join(out, name)).st_mode & 0o777, 0o644, name)
        args = nobody + [PLUGIN, "-T", self.h.target_tcp, "--state-dir", self.state, "-w", "2"]
        res = run(args[1:] + ["--max-out-time", "2h"], plugin=args[0])
        self.assertStatus(res, 1)
        self.assertIn("web s1 for 2h13m by alice: kernel update", res.text)
        # Records it may not read: UNKNOWN, not an OK that could never warn.
        os.chmod(out, 0o700)
        try:
            res = run(args[1:] + ["--max-out-time", "2h"], plugin=args[0])
            self.assertStatus(res, 3)
            self.assertRegex(res.first, r"^LB_MEMBERS UNKNOWN - --max-out-time: cannot read lbmember's records: "
                             r"HAProxy: cannot read state file %s/out-[0-9a-f]{16}\.json: Permission denied \(the "
                             r"monitoring user must be able to read the state directory, --state-dir\)$"
                             % re.escape(out))
            self.assertStatus(run(args[1:], plugin=args[0]), 0)  # without the option, no need to read them
        finally:
            os.chmod(out, 0o755)


class Unreachable(PluginTest):
    def test_no_socket_and_closed_port_are_unknown(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "none.sock")
            for target in ("haproxy://" + path, "haproxy://127.0.0.1:%d" % free_port()):
                with self.subTest(target=target):
                    res = run(["-T", target, "-t", "5"])
                    self.assertStatus(res, 3)
                    self.assertRegex(res.text, r"^LB_MEMBERS UNKNOWN - (opening|listing pools of) %s: HAProxy: "
                                     % target.replace(".", r"\."))
                    self.assertLess(res.seconds, 5 * SLOW)


if __name__ == "__main__":
    unittest.main(verbosity=2)
