# SPDX-License-Identifier: MIT
"""check_lb_members against real IPVS, in a QEMU VM with Debian's stock
kernel (tests/lib/ipvs_vm.py): weight 0 is draining, a virtual service with no
weight left is CRITICAL, IPv6 and UDP services, and UNKNOWN without
CAP_NET_ADMIN."""
import os
import re
import shutil
import unittest

from plugin_output import PLUGIN, PluginTest, Result, parse_perfdata
import ipvs_vm

HERE = os.path.dirname(os.path.abspath(__file__))
SETCAP = shutil.which("setcap", path="/usr/sbin:/sbin:/usr/bin:/bin") or "/usr/sbin/setcap"


class Ran:
    """One plugin run inside the VM, shaped like plugin_output.Result."""

    def __init__(self, rc, stdout):
        self.returncode = rc
        self.stdout = stdout
        self.stderr = ""


class LVS(PluginTest):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(HERE, "lvs_case.sh")) as f:
            script = f.read()
        cls.vm = ipvs_vm.run_vm(script, binaries=[PLUGIN, SETCAP], env={"CHECK_LB_MEMBERS": PLUGIN},
                                cache_dir=os.environ.get("LBM_VM_CACHE"), timeout=240)
        cls.cases = {}
        console = cls.vm.output.replace("\r\n", "\n")
        for m in re.finditer(r"^@@begin (\w+)\n(.*?)^@@end \1 rc=(\d+)$", console, re.M | re.S):
            cls.cases[m.group(1)] = Result(Ran(int(m.group(3)), m.group(2)), 0)

    def case(self, name, rc):
        self.assertTrue(self.vm.ok, "VM: %s\n%s" % (self.vm.error, self.vm.output[-3000:]))
        self.assertIn(name, self.cases, self.vm.output[-3000:])
        res = self.cases[name]
        self.assertStatus(res, rc)
        return res

    def test_all_enabled(self):
        res = self.case("all_enabled", 0)
        self.assertEqual(res.text, "LB_MEMBERS OK - all 5 members of 3 pools in rotation")
        self.assertEqual(res.perfdata["tcp:198.51.100.10:80 enabled"]["value"], "3")
        self.assertEqual(res.perfdata["tcp:[2001:db8::10]:443 out"]["value"], "0")
        self.assertEqual(res.perfdata["udp:198.51.100.10:53 enabled"]["max"], "1")

    def test_weight_zero_is_draining(self):
        res = self.case("one_weight_zero", 1)
        self.assertEqual(res.text, "LB_MEMBERS WARNING - 1 of 5 members out of rotation: "
                         "tcp:198.51.100.10:80 198.51.100.12:80 draining")
        self.assertEqual(res.perfdata["tcp:198.51.100.10:80 out"], {"value": "1", "uom": "", "warn": "0",
                                                                    "crit": "2", "min": "0", "max": "3"})

    def test_percent_and_verbose(self):
        res = self.case("percent", 1)
        self.assertEqual(res.perfdata["tcp:198.51.100.10:80 out_pct"]["value"], "33.33")
        self.assertTrue(any(l.startswith("    198.51.100.12:80 draining") and "weight 0" in l
                            for l in res.long), res)

    def test_service_with_no_weight_left_is_critical(self):
        res = self.case("udp_empty", 2)
        self.assertEqual(res.text, "LB_MEMBERS CRITICAL - udp:198.51.100.10:53: 0 of 1 members enabled (min 1). "
                         "1 of 1 members out of rotation: udp:198.51.100.10:53 198.51.100.21:53 draining")

    def test_missing_service_is_critical(self):
        res = self.case("missing", 2)
        self.assertIn("listing pool 'tcp:198.51.100.99:80' on lvs://", res.text)

    def test_without_cap_net_admin_unknown(self):
        for name in ("no_cap", "nobody"):
            res = self.case(name, 3)
            self.assertIn("listing pools of lvs://", res.text)
            self.assertIn("CAP_NET_ADMIN", res.text)

    def test_monitoring_user_with_a_file_capability(self):
        # What the man page tells operators: setcap cap_net_admin+ep on the binary.
        res = self.case("nobody_with_cap", 0)
        self.assertEqual(res.text, "LB_MEMBERS OK - all 5 members of 3 pools in rotation")


if __name__ == "__main__":
    unittest.main(verbosity=2)
