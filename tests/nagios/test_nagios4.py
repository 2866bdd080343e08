# SPDX-License-Identifier: MIT
"""The shipped Nagios command definitions, checked by a real Nagios 4
(Debian's nagios4-core): `nagios4 -v` accepts them, and a Nagios started here
(temp dir) runs check_lb_members against a real HAProxy and the F5 emulator
when the checks are forced through its command file; state, output and
perfdata are read back from its status.dat."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from plugin_output import PLUGIN, SRC, PluginTest, parse_perfdata
from haproxy_fixture import HAProxy
from f5_fixture import F5Emulator
from daemon import stop_session

NAGIOS = shutil.which("nagios4") or "/usr/sbin/nagios4"
SHIPPED = os.path.join(SRC, "plugins", "nagios", "check_lb_members.nagios.cfg")

OBJECTS = """
define timeperiod {
	timeperiod_name	24x7
	alias	always
	sunday	00:00-24:00
	monday	00:00-24:00
	tuesday	00:00-24:00
	wednesday	00:00-24:00
	thursday	00:00-24:00
	friday	00:00-24:00
	saturday	00:00-24:00
}
define command {
	command_name	true
	command_line	/bin/true
}
define contact {
	contact_name	nobody
	host_notifications_enabled	0
	service_notifications_enabled	0
	host_notification_period	24x7
	service_notification_period	24x7
	host_notification_options	n
	service_notification_options	n
	host_notification_commands	true
	service_notification_commands	true
}
define host {
	host_name	lb
	address	127.0.0.1
	check_command	true
	max_check_attempts	1
	check_period	24x7
	active_checks_enabled	0
	contacts	nobody
	notification_period	24x7
}
"""

SERVICE = """
define service {
	host_name	lb
	service_description	%s
	check_command	%s
	max_check_attempts	1
	check_interval	60
	retry_interval	1
	notification_interval	0
	check_period	24x7
	notification_period	24x7
	contacts	nobody
}
"""


class Instance:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="lbm-nagios4-")
        for sub in ("spool", "tmp"):
            os.makedirs(os.path.join(self.dir, sub))
        self.main = os.path.join(self.dir, "nagios.cfg")
        self.status = os.path.join(self.dir, "status.dat")
        self.command_file = os.path.join(self.dir, "nagios.cmd")
        self.proc = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, services, resources, shipped=True):
        with open(self.path("resource.cfg"), "w") as f:
            f.write("$USER1$=%s\n" % os.path.dirname(PLUGIN))
            for k, v in resources.items():
                f.write("$%s$=%s\n" % (k, v))
        with open(self.path("objects.cfg"), "w") as f:
            f.write(OBJECTS + "".join(SERVICE % kv for kv in services.items()))
        d = self.dir
        lines = ["log_file=%s/nagios.log" % d, "cfg_file=%s/objects.cfg" % d,
                 "resource_file=%s/resource.cfg" % d, "object_cache_file=%s/objects.cache" % d,
                 "precached_object_file=%s/objects.precache" % d, "status_file=" + self.status,
                 "status_update_interval=1", "nagios_user=root", "nagios_group=root",
                 "check_external_commands=1", "command_file=" + self.command_file,
                 "query_socket=%s/nagios.qh" % d, "lock_file=%s/nagios.lock" % d,
                 "temp_file=%s/nagios.tmp" % d, "temp_path=%s/tmp" % d, "check_result_path=%s/spool" % d,
                 "retain_state_information=0", "state_retention_file=%s/retention.dat" % d,
                 "enable_notifications=0", "illegal_macro_output_chars=`~$&|'\"<>"]
        if shipped:
            lines.append("cfg_file=" + SHIPPED)
        with open(self.main, "w") as f:
            f.write("\n".join(lines) + "\n")

    def verify(self):
        return subprocess.run([NAGIOS, "-v", self.main], capture_output=True, text=True, timeout=60)

    def start(self):
        self.log = open(self.path("daemon.log"), "w")
        self.proc = subprocess.Popen([NAGIOS, self.main], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(self):
        if self.proc:
            stop_session(self.proc, 10)
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def services(self):
        """servicestatus blocks of status.dat, by service description."""
        out = {}
        try:
            with open(self.status) as f:
                text = f.read()
        except FileNotFoundError:
            return out
        for block in text.split("servicestatus {")[1:]:
            attrs = {}
            for line in block.split("\n}")[0].splitlines():
                k, sep, v = line.strip().partition("=")
                if sep:
                    attrs[k] = v
            out[attrs.get("service_description")] = attrs
        return out


class Nagios4(PluginTest):
    def setUp(self):
        self.assertTrue(os.access(NAGIOS, os.X_OK), "nagios4 is not installed (apt-get install nagios4-core)")
        self.inst = Instance()
        self.addCleanup(self.inst.stop)

    def test_shipped_commands_verify(self):
        services = {"haproxy": "check_lb_members!haproxy:///run/haproxy/admin.sock!-w 0 -c 2",
                    "f5": "check_lb_members_f5!f5://bigip.example.net!-P /Common/web -w 0",
                    "max out": "check_lb_members_max_out!haproxy:///run/haproxy/admin.sock!12h!-w 2"}
        self.inst.write(services, {"USER2": "monitor", "USER3": "/etc/nagios4/f5.pass"})
        res = self.inst.verify()
        self.assertEqual(res.returncode, 0, res.stdout)
        self.assertIn("Total Warnings: 0", res.stdout)
        self.assertIn("Total Errors:   0", res.stdout)
        # The control: without the shipped file the same services are refused.
        self.inst.write(services, {}, shipped=False)
        res = self.inst.verify()
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("check_lb_members", res.stdout)
        self.assertIn("not defined anywhere", res.stdout)

    def test_nagios_runs_the_plugin(self):
        h = HAProxy({"web": [("s1", "127.0.0.2", 9), ("s2", "127.0.0.3", 9)],
                     "api": [("a1", "127.0.0.5", 9)]}).start()
        self.addCleanup(h.stop)
        f5 = F5Emulator()
        self.addCleanup(f5.stop)
        h.command("set server web/s2 state drain")
        h.command("set server api/a1 state maint")
        f5.set_member("/Common/web", "/Common/192.0.2.10:80", admin="disabled")
        services = {
            "web": "check_lb_members!%s!-P web -w 0 -c 2" % h.target_unix,
            "api": "check_lb_members!%s!-P api" % h.target_tcp,
            "f5": "check_lb_members_f5!%s!--ca-file %s -P /Common/web -w 0" % (f5.target, f5.ca_file),
            # s2 was drained through HAProxy's socket: no record, so no age.
            "web max out": "check_lb_members_max_out!%s!1s!-P web -w 1 --state-dir %s" % (h.target_unix,
                                                                                       self.inst.path("state")),
        }
        self.inst.write(services, {"USER2": f5.user, "USER3": f5.password_file})
        self.inst.start()
        end = time.monotonic() + 30
        while not os.path.exists(self.inst.command_file):
            self.assertIsNone(self.inst.proc.poll(), "nagios4 exited")
            self.assertLess(time.monotonic(), end, "nagios4 made no command file")
            time.sleep(0.1)
        now = int(time.time())
        with open(self.inst.command_file, "w") as f:
            for name in services:
                f.write("[%d] SCHEDULE_FORCED_SVC_CHECK;lb;%s;%d\n" % (now, name, now))
        while True:
            got = self.inst.services()
            if all(got.get(n, {}).get("has_been_checked") == "1" for n in services):
                break
            self.assertLess(time.monotonic(), end, "no check result in status.dat: %r" % got)
            time.sleep(0.2)

        def result(name, state, output, perf, long_output):
            s = got[name]
            self.assertEqual(s["current_state"], str(state), s)
            self.assertEqual(s["plugin_output"], output, s)
            self.assertEqual(parse_perfdata(s["performance_data"]), parse_perfdata(perf), s)
            self.assertEqual(s["long_plugin_output"], long_output, s)

        result("web", 1, "LB_MEMBERS WARNING - 1 of 2 members out of rotation: web s2 draining",
               "'web enabled'=1;;1:;0;2 'web out'=1;0;2;0;2", "web WARNING: 1 of 2 enabled, 1 out: s2 draining")
        result("api", 2, "LB_MEMBERS CRITICAL - api: 0 of 1 members enabled (min 1). 1 of 1 members out of "
               "rotation: api a1 disabled", "'api enabled'=0;;1:;0;1 'api out'=1;0;;0;1",
               "api CRITICAL: 0 of 1 enabled (min 1), 1 out: a1 disabled")
        result("f5", 1, "LB_MEMBERS WARNING - 1 of 3 members out of rotation: /Common/web /Common/192.0.2.10:80 "
               "draining", "'/Common/web enabled'=2;;1:;0;3 '/Common/web out'=1;0;;0;3",
               "/Common/web WARNING: 2 of 3 enabled, 1 out: /Common/192.0.2.10:80 draining")
        self.assertEqual(got["web max out"]["current_state"], "0", got["web max out"])
        self.assertEqual(got["web max out"]["plugin_output"],
                         "LB_MEMBERS OK - 1 of 2 members out of rotation: web s2 draining")
        self.assertIn("out for an unknown time (no lbmember record)", got["web max out"]["long_plugin_output"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
