# SPDX-License-Identifier: MIT
"""check_lb_members against the F5 iControl REST emulator: F5 user-disabled
is draining, user-down (forced offline) is disabled, a failing monitor is
down; credentials from the environment or a file, never from argv; -t while
logging in."""
import os
import unittest

from plugin_output import PluginTest, run, startup_seconds
from slowdown import SLOW
from f5_fixture import F5Emulator

POOLS = {
    "/Common/web": {"members": [{"name": "192.0.2.10:80"}, {"name": "192.0.2.11:80"}, {"name": "192.0.2.12:80"}]},
    "/Tenant/app": {"members": [{"name": "198.51.100.30:443"}, {"name": "2001:db8::1.80"}]},
}


class F5Checks(PluginTest):
    @classmethod
    def setUpClass(cls):
        cls.f5 = F5Emulator(pools=POOLS)

    @classmethod
    def tearDownClass(cls):
        cls.f5.stop()

    def setUp(self):
        self.f5.set_pools(POOLS)

    def check(self, *args, rc, env=None):
        res = run(["-T", self.f5.target, "--ca-file", self.f5.ca_file] + list(args),
                  env=env if env is not None else self.f5.env())
        self.assertStatus(res, rc)
        self.assertNotIn(self.f5.password, res.stdout)
        return res

    def test_all_enabled_ok(self):
        res = self.check(rc=0)
        self.assertEqual(res.text, "LB_MEMBERS OK - all 5 members of 2 pools in rotation")
        self.assertEqual(res.perfdata["/Tenant/app enabled"]["value"], "2")

    def test_user_disabled_is_draining_forced_offline_is_disabled(self):
        self.f5.set_member("/Common/web", "/Common/192.0.2.10:80", admin="disabled")
        self.f5.set_member("/Common/web", "/Common/192.0.2.11:80", admin="forced_offline")
        res = self.check("-w", "0", "-c", "2", "-v", rc=1)
        self.assertEqual(res.text, "LB_MEMBERS WARNING - 2 of 5 members out of rotation: "
                         "/Common/web /Common/192.0.2.10:80 draining, /Common/web /Common/192.0.2.11:80 disabled")
        self.assertEqual(res.perfdata["/Common/web out"], {"value": "2", "uom": "", "warn": "0", "crit": "2",
                                                           "min": "0", "max": "3"})
        self.assertTrue(any("user-disabled" in l for l in res.long), res)
        self.f5.set_member("/Common/web", "/Common/192.0.2.12:80", admin="forced_offline")
        res = self.check("-P", "/Common/web", rc=2)
        self.assertIn("/Common/web: 0 of 3 members enabled (min 1)", res.text)

    def test_monitor_down_counts_when_asked(self):
        self.f5.set_member("/Tenant/app", "/Tenant/2001:db8::1.80", monitor="down")
        res = self.check("-P", "/Tenant/app", rc=0)
        self.assertEqual(res.perfdata["/Tenant/app enabled"]["value"], "1")
        res = self.check("-P", "/Tenant/app", "--count", "disabled,draining,down", "--percent", "-w", "40", rc=1)
        self.assertIn("/Tenant/app /Tenant/2001:db8::1.80 down", res.text)
        self.assertEqual(res.perfdata["/Tenant/app out_pct"]["value"], "50")

    def test_credentials_from_a_file(self):
        env = {k: v for k, v in self.f5.env().items() if k != "LBM_F5_PASSWORD"}
        res = self.check("--password-file", self.f5.password_file, rc=0, env=env)
        self.assertEqual(res.text, "LB_MEMBERS OK - all 5 members of 2 pools in rotation")
        res = self.check(rc=3, env=env)
        self.assertIn("password", res.text)
        env["LBM_F5_PASSWORD"] = "wrong-" + self.f5.password
        res = self.check(rc=3, env=env)
        self.assertNotIn("wrong-", res.stdout)

    def test_missing_pool_is_critical(self):
        res = self.check("-P", "/Common/nosuch", rc=2)
        self.assertIn("listing pool '/Common/nosuch' on %s" % self.f5.target, res.text)

    def test_timeout_while_logging_in(self):
        startup = startup_seconds()
        self.f5.configure(latency=5)
        try:
            res = self.check("-t", "2", rc=3)
        finally:
            self.f5.configure(latency=0)
        self.assertIn("opening %s" % self.f5.target, res.text)
        self.assertIn("timed out", res.text)
        self.assertLess(res.seconds, 2 + startup + 2.5 * SLOW, (res, startup))


if __name__ == "__main__":
    unittest.main(verbosity=2)
