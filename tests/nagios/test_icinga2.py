# SPDX-License-Identifier: MIT
"""The shipped Icinga 2 CheckCommand, checked by a real Icinga 2 (Debian's
icinga2 package): `icinga2 daemon -C` accepts it, and a daemon started here
(temp dir, API on loopback) runs check_lb_members against a real HAProxy and
the F5 emulator; state, output and perfdata are read back over the REST API."""
import base64
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

from plugin_output import PLUGIN, SRC, PluginTest, parse_perfdata, take_out
from haproxy_fixture import HAProxy, free_port
from f5_fixture import F5Emulator
from daemon import stop_session

ICINGA2 = shutil.which("icinga2") or "/usr/sbin/icinga2"
SHIPPED = os.path.join(SRC, "plugins", "nagios", "check_lb_members.icinga2.conf")
NODE = "lbm-test"


def icinga_str(s):
    return json.dumps(s)  # an Icinga 2 string literal: same escapes as JSON for these values


class Instance:
    """Icinga 2 paths, all under one temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lbm-icinga2-")
        for sub in ("data/certs", "log", "cache", "spool", "run"):
            os.makedirs(os.path.join(self.dir, sub))
        self.config = os.path.join(self.dir, "icinga2.conf")
        self.log = os.path.join(self.dir, "daemon.log")
        self.proc = None

    def args(self, *extra):
        d = self.dir
        return [ICINGA2, "daemon", "-c", self.config, *extra,
                "-DConfiguration.ConfigDir=" + d, "-DConfiguration.DataDir=%s/data" % d,
                "-DConfiguration.LogDir=%s/log" % d, "-DConfiguration.CacheDir=%s/cache" % d,
                "-DConfiguration.SpoolDir=%s/spool" % d, "-DConfiguration.InitRunDir=%s/run" % d,
                "-DConfiguration.RunAsUser=root", "-DConfiguration.RunAsGroup=root"]

    def write(self, text):
        with open(self.config, "w") as f:
            f.write("const PluginDir = %s\n" % icinga_str(os.path.dirname(PLUGIN)) + text)

    def validate(self):
        return subprocess.run(self.args("-C"), capture_output=True, text=True, timeout=60)

    def start(self):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(self):
        if self.proc:
            stop_session(self.proc, 15)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        with open(self.log) as f:
            return f.read()[-4000:]


class Validate(PluginTest):
    def setUp(self):
        self.assertTrue(os.access(ICINGA2, os.X_OK), "icinga2 is not installed (apt-get install icinga2)")
        self.inst = Instance()
        self.addCleanup(self.inst.stop)

    CONFIG = """
object CheckCommand "true" { command = [ "/bin/true" ] }
object Host "lb" { check_command = "true" }
object Service "all pools" {
  host_name = "lb"
  check_command = "lb_members"
  vars.lb_members_target = "haproxy:///run/haproxy/admin.sock"
  vars.lb_members_warning = "0"
  vars.lb_members_critical = "@2:"
  vars.lb_members_max_out_time = "12h"
}
object Service "f5" {
  host_name = "lb"
  check_command = "lb_members"
  vars.lb_members_target = "f5://bigip.example.net"
  vars.lb_members_pools = [ "/Common/web", "/Common/api" ]
  vars.lb_members_percent = true
  vars.lb_members_count = "disabled,draining,down"
  vars.lb_members_min_enabled = 2
  vars.lb_members_f5_user = "monitor"
  vars.lb_members_f5_password = "not-a-real-secret"
  vars.lb_members_insecure = false
  vars.lb_members_verbose = true
}
"""

    def test_shipped_check_command_is_accepted(self):
        self.inst.write('include %s\n' % icinga_str(SHIPPED) + self.CONFIG)
        res = self.inst.validate()
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("Instantiated 2 CheckCommands", res.stdout)  # "true" and lb_members
        self.assertIn("Instantiated 2 Services", res.stdout)

    def test_without_it_the_same_config_is_refused(self):
        # The control: icinga2 -C does check what the services refer to.
        self.inst.write(self.CONFIG)
        res = self.inst.validate()
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("Object 'lb_members' of type 'CheckCommand' does not exist", res.stdout)


class Daemon(PluginTest):
    """An Icinga 2 daemon (API on loopback) and a real HAProxy; a test names
    its services, and Icinga 2 runs the plugin once per service, forced
    through the API. INCLUDE is how the configuration gets lb_members."""
    INCLUDE = "include %s" % icinga_str(SHIPPED)

    def setUp(self):
        self.assertTrue(os.access(ICINGA2, os.X_OK), "icinga2 is not installed (apt-get install icinga2)")
        self.h = HAProxy({"web": [("s1", "127.0.0.2", 9), ("s2", "127.0.0.3", 9), ("s3", "127.0.0.4", 9)],
                          "api": [("a1", "127.0.0.5", 9), ("a2", "127.0.0.6", 9)],
                          "app": [("p1", "127.0.0.7", 9), ("p2", "127.0.0.8", 9)]}).start()
        self.addCleanup(self.h.stop)
        self.inst = Instance()
        self.addCleanup(self.inst.stop)
        self.port = free_port()
        self.api_password = base64.b64encode(os.urandom(12)).decode()
        certs = os.path.join(self.inst.dir, "data", "certs")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=" + NODE, "-keyout", os.path.join(certs, NODE + ".key"),
                        "-out", os.path.join(certs, NODE + ".crt")], check=True, capture_output=True)
        shutil.copy(os.path.join(certs, NODE + ".crt"), os.path.join(certs, "ca.crt"))
        self.ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
        self.ctx.check_hostname = False  # the certificate is for NODE, reached as 127.0.0.1

    def config(self, services):
        text = """
const NodeName = %(node)s
const ZoneName = %(node)s
include <itl>
%(include)s
object Endpoint NodeName {}
object Zone ZoneName { endpoints = [ NodeName ] }
object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = %(port)d }
object ApiUser "test" { password = %(pw)s; permissions = [ "*" ] }
object CheckerComponent "checker" {}
object Host "lb" { check_command = "dummy"; enable_active_checks = false }
""" % {"node": icinga_str(NODE), "include": self.INCLUDE, "port": self.port, "pw": icinga_str(self.api_password)}
        for name, attrs in services.items():
            text += "object Service %s {\n  host_name = \"lb\"\n  check_command = \"lb_members\"\n" % icinga_str(name)
            text += "  check_interval = 1h\n  max_check_attempts = 1\n"
            for k, v in attrs.items():
                text += "  vars.lb_members_%s = %s\n" % (k, json.dumps(v))
            text += "}\n"
        self.inst.write(text)

    def api(self, method, path, body=None):
        req = urllib.request.Request("https://127.0.0.1:%d%s" % (self.port, path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Accept", "application/json")
        req.add_header("Authorization", "Basic " + base64.b64encode(
            ("test:" + self.api_password).encode()).decode())
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
            return json.load(r)

    def wait_api(self, timeout=40):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.assertIsNone(self.inst.proc.poll(), "icinga2 exited:\n" + self.inst.log_text())
            try:
                return self.api("GET", "/v1/status/IcingaApplication")
            except OSError:
                time.sleep(0.2)
        self.fail("the Icinga 2 API did not answer:\n" + self.inst.log_text())

    def results(self, names, timeout=40):
        end = time.monotonic() + timeout
        while True:
            got = {r["attrs"]["name"]: r["attrs"] for r in self.api(
                "GET", "/v1/objects/services?attrs=name&attrs=state&attrs=last_check_result")["results"]}
            if all(got.get(n, {}).get("last_check_result") for n in names):
                return got
            if time.monotonic() > end:
                self.fail("no check result from Icinga 2: %r\n%s" % (got, self.inst.log_text()))
            time.sleep(0.2)

    def run_services(self, services):
        """Starts Icinga 2 with SERVICES, has each checked once, and returns
        name: attributes (state, last_check_result)."""
        self.config(services)
        self.inst.start()
        self.wait_api()
        self.api("POST", "/v1/actions/reschedule-check",
                 {"type": "Service", "filter": "host.name == \"lb\"", "force": True})
        return self.results(services)


class Engine(Daemon):
    """The shipped CheckCommand, every variable, against HAProxy and F5."""

    def setUp(self):
        super().setUp()
        self.f5 = F5Emulator()
        self.addCleanup(self.f5.stop)

    def test_icinga2_runs_the_plugin(self):
        self.h.command("set server web/s2 state drain")
        for s in ("a1", "a2"):
            self.h.command("set server api/%s state maint" % s)
        self.f5.set_member("/Common/web", "/Common/192.0.2.11:80", admin="forced_offline")
        # Drained through lbmember 2h13m ago (the record's "since" moved back: see take_out).
        state = os.path.join(self.inst.dir, "lbm-state")
        take_out(self.h.target_unix, "drain", "app", "p1", state, reason="kernel update",
                 age=2 * 3600 + 13 * 60 + 5)
        services = {
            "web": {"target": self.h.target_unix, "pools": ["web"], "warning": "0", "critical": "2"},
            "api": {"target": self.h.target_tcp, "pools": "api"},
            "web percent": {"target": self.h.target_unix, "pools": ["web"], "percent": True, "warning": "50"},
            # An array of targets: --target repeated (an HA pair; here one HAProxy seen twice).
            "web pair": {"target": [self.h.target_unix, self.h.target_tcp], "pools": ["web"], "warning": "2"},
            "f5 web": {"target": self.f5.target, "pools": ["/Common/web", "/Common/api"], "f5_user": self.f5.user,
                       "f5_password": self.f5.password, "ca_file": self.f5.ca_file, "warning": "0",
                       "verbose": True},
            "app max out": {"target": self.h.target_unix, "pools": ["app"], "warning": "1",
                            "max_out_time": "2h", "state_dir": state},
        }
        got = self.run_services(services)

        def result(name, state, first_line, perf):
            cr = got[name]["last_check_result"]
            self.assertEqual((cr["exit_status"], cr["state"], got[name]["state"]), (state, state, state), cr)
            self.assertEqual(cr["output"].split("\n")[0], first_line, cr)
            self.assertEqual(parse_perfdata(" ".join(cr["performance_data"])), parse_perfdata(perf), cr)
            self.assertEqual(cr["command"][0], PLUGIN)
            return cr

        cr = result("web", 1, "LB_MEMBERS WARNING - 1 of 3 members out of rotation: web s2 draining",
                    "'web enabled'=2;;1:;0;3 'web out'=1;0;2;0;3")
        self.assertIn("web WARNING: 2 of 3 enabled, 1 out: s2 draining", cr["output"])
        self.assertEqual(cr["command"][cr["command"].index("--pool") + 1], "web")
        result("api", 2, "LB_MEMBERS CRITICAL - api: 0 of 2 members enabled (min 1). 2 of 2 members out of "
               "rotation: api a1 disabled, api a2 disabled", "'api enabled'=0;;1:;0;2 'api out'=2;0;;0;2")
        result("web percent", 0, "LB_MEMBERS OK - 1 of 3 members out of rotation: web s2 draining",
               "'web enabled'=2;;1:;0;3 'web out'=1;;;0;3 'web out_pct'=33.33%;50;;0;100")
        cr = result("web pair", 0, "LB_MEMBERS OK - 2 of 6 members out of rotation: %s web s2 draining, "
                    "%s web s2 draining" % (self.h.target_unix, self.h.target_tcp),
                    "'%s web enabled'=2;;1:;0;3 '%s web out'=1;2;;0;3 '%s web enabled'=2;;1:;0;3 '%s web out'=1;2;;0;3"
                    % ((self.h.target_unix,) * 2 + (self.h.target_tcp,) * 2))
        self.assertEqual(cr["command"].count("--target"), 2, cr["command"])
        cr = result("f5 web", 1, "LB_MEMBERS WARNING - 1 of 5 members out of rotation: "
                    "/Common/web /Common/192.0.2.11:80 disabled",
                    "'/Common/web enabled'=2;;1:;0;3 '/Common/web out'=1;0;;0;3 "
                    "'/Common/api enabled'=2;;1:;0;2 '/Common/api out'=0;0;;0;2")
        self.assertIn('status "user-disabled/user-down"', cr["output"])  # --verbose reached the plugin
        cr = result("app max out", 1, "LB_MEMBERS WARNING - 1 member out of rotation longer than 2h: app p1 for 2h13m "
                    "by alice: kernel update. 1 of 2 members out of rotation: app p1 draining",
                    "'app enabled'=1;;1:;0;2 'app out'=1;1;;0;2")
        self.assertEqual(cr["command"][cr["command"].index("--max-out-time") + 1], "2h")
        self.assertEqual(cr["command"][cr["command"].index("--state-dir") + 1], state)
        # The password went through the environment, never the command line.
        self.assertNotIn(self.f5.password, json.dumps(got))


if __name__ == "__main__":
    unittest.main(verbosity=2)
