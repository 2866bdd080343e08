# SPDX-License-Identifier: MIT
"""The installed Debian packages, used the way a user uses them, with nothing
from the build tree: run by test_package.sh inside a private mount namespace
where the packages' files, installed by dpkg into a throwaway root, are laid
over /usr and /etc/nagios-plugins. Each face is found by the lookup its
program does by default (PATH, lua5.4's package.cpath, ansible's collections
path, Icinga 2's <plugins-contrib>, Nagios' cfg_dir, pkg-config) and checked
to be the packaged file, then run against a real HAProxy on loopback.

    test_installed.py ROOT   ROOT: where dpkg installed the packages
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = sys.argv.pop(1)
MULTIARCH = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True, text=True,
                           check=True).stdout.strip()
PLUGIN = "/usr/lib/nagios/plugins/check_lb_members"
os.environ["CHECK_LB_MEMBERS"] = PLUGIN  # test_icinga2's PluginDir
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "nagios"))

from test_icinga2 import Daemon  # noqa: E402 (after CHECK_LB_MEMBERS is set)
from haproxy_fixture import HAProxy  # noqa: E402 (tests/lib, on the path test_icinga2 sets)

# Nothing may point a program at the build tree or elsewhere.
for var in ("LD_LIBRARY_PATH", "LUA_CPATH", "LUA_CPATH_5_4", "LUA_PATH", "LUA_PATH_5_4", "PKG_CONFIG_PATH",
            "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_CONFIG", "ANSIBLE_LIBRARY"):
    os.environ.pop(var, None)
os.environ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run(*args, input=None, timeout=120):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)


class Packaged:
    def assertPackaged(self, path):
        """PATH is in the mount namespace the file dpkg installed."""
        self.assertTrue(os.path.exists(path), path)
        with open(path, "rb") as got, open(ROOT + path, "rb") as packaged:
            self.assertEqual(got.read(), packaged.read(), path)


class InstalledIcinga(Packaged, Daemon):
    """Icinga 2 takes lb_members from <plugins-contrib>, as Debian's default
    icinga2.conf includes it (with the constants of Debian's constants.conf)."""
    INCLUDE = ("const PluginContribDir = PluginDir\nconst ManubulonPluginDir = PluginDir\n"
               "include <plugins>\ninclude <plugins-contrib>")

    def test_plugin_through_icinga2_include(self):
        self.assertPackaged("/usr/share/icinga2/include/plugins-contrib.d/lbmember.conf")
        self.assertPackaged(PLUGIN)
        self.h.command("set server web/s2 state drain")
        got = self.run_services({"web": {"target": self.h.target_unix, "pools": ["web"], "warning": "0"}})
        cr = got["web"]["last_check_result"]
        self.assertEqual(cr["command"][0], PLUGIN, cr)
        self.assertEqual((cr["exit_status"], cr["output"].split("\n")[0]),
                         (1, "LB_MEMBERS WARNING - 1 of 3 members out of rotation: web s2 draining"), cr)


class Installed(Packaged, unittest.TestCase):
    """The other faces, against one HAProxy (no Icinga 2 to set up)."""

    def setUp(self):
        self.h = HAProxy({"web": [("s1", "127.0.0.2", 9), ("s2", "127.0.0.3", 9), ("s3", "127.0.0.4", 9)]}).start()
        self.addCleanup(self.h.stop)
        self.home = tempfile.mkdtemp(prefix="lbm-installed-")
        self.addCleanup(shutil.rmtree, self.home, ignore_errors=True)
        os.environ["HOME"] = self.home  # no ~/.ansible/collections of anyone's

    def test_cli(self):
        self.assertEqual(shutil.which("lbmember"), "/usr/bin/lbmember")
        self.assertPackaged("/usr/bin/lbmember")
        lib = "/usr/lib/%s/liblbmember.so.0" % MULTIARCH
        self.assertPackaged(lib)
        ldd = re.search(r"liblbmember\.so\.0 => (\S+)", run("ldd", "/usr/bin/lbmember").stdout)
        self.assertEqual(os.path.realpath(ldd.group(1)), os.path.realpath(lib))  # /lib is /usr/lib
        res = run("lbmember", "--version")
        self.assertEqual((res.returncode, res.stdout.split()[:1]), (0, ["lbmember"]), res)
        res = run("lbmember", self.h.target_unix, "drain", "web", "s2", "--reason", "installed package test")
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(self.h.status("web", "s2"), "DRAIN")
        res = run("lbmember", "--json", self.h.target_unix, "list", "web")
        self.assertEqual(res.returncode, 0, res)
        pools = {p["name"]: p["members"] for p in json.loads(res.stdout)["pools"]}
        states = {m["name"]: m["state"] for m in pools["web"]}
        self.assertEqual(states, {"s1": "enabled", "s2": "draining", "s3": "enabled"})
        res = run("lbmember", self.h.target_unix, "enable", "web", "s2")
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(self.h.status("web", "s2"), "no check")  # as it was (no health check here)
        for page in ("lbmember", "check_lb_members"):
            path = "/usr/share/man/man1/%s.1.gz" % page
            self.assertPackaged(path)
            res = subprocess.run("zcat %s | groff -man -Tutf8 -ww -z" % path, shell=True, capture_output=True,
                                 text=True, timeout=30)
            self.assertEqual((res.returncode, res.stderr), (0, ""), path)
        res = run("bash", "-c", ". /usr/share/bash-completion/completions/lbmember && complete -p lbmember")
        self.assertEqual(res.returncode, 0, res)
        self.assertIn("lbmember", res.stdout)

    def test_nagios_reads_the_command_definitions(self):
        cfg = "/etc/nagios-plugins/config/lbmember.cfg"
        self.assertPackaged(cfg)
        with open(cfg) as f:
            ours = f.read().count("define command")
        self.assertEqual(ours, 3)
        # Debian's nagios.cfg has cfg_dir=/etc/nagios-plugins/config: ours are read with no setting,
        # three commands more than test_package.sh counted outside the namespace.
        self.assertEqual(nagios_commands(), int(os.environ["LBM_NAGIOS_COMMANDS_WITHOUT"]) + ours)

    def test_ansible(self):
        coll = "/usr/share/ansible/collections/ansible_collections/lbmember/lb"
        self.assertPackaged(coll + "/plugins/modules/lb_member")  # through bin/ to /usr/libexec
        res = run("ansible-doc", "lbmember.lb.lb_member")
        self.assertEqual(res.returncode, 0, res)
        self.assertIn("(%s/plugins/modules/lb_member.py)" % coll, res.stdout)
        self.assertIn("draining", res.stdout)
        res = run("ansible", "localhost", "-i", "localhost,", "-c", "local", "-e",
                  "ansible_python_interpreter=/usr/bin/python3", "-m", "lbmember.lb.lb_member", "-a",
                  "target=%s pool=web member=s3 state=draining" % self.h.target_unix)
        self.assertEqual(res.returncode, 0, res)
        self.assertIn("CHANGED", res.stdout)
        self.assertEqual(self.h.status("web", "s3"), "DRAIN")

    def test_lua(self):
        cmod = "/usr/lib/%s/lua/5.4/lbmember.so" % MULTIARCH
        self.assertPackaged(cmod)
        script = """
local found = package.searchpath("lbmember", package.cpath)
local lbm = require "lbmember"
local lb = assert(lbm.open(arg[1]))
assert(lb:drain("web", "s1"))
local m = assert(lb:member("web", "s1"))
print(found, m.state)
"""
        res = run("lua5.4", "-", self.h.target_unix, input=script)
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(res.stdout.split(), [cmod, "draining"])
        self.assertEqual(self.h.status("web", "s1"), "DRAIN")

    def test_dev(self):
        libdir = "/usr/lib/" + MULTIARCH
        for path in ("/usr/include/lbmember.h", libdir + "/pkgconfig/lbmember.pc", libdir + "/liblbmember.a"):
            self.assertPackaged(path)
        src = os.path.join(HERE, "..", "..", "examples", "list_members.c")
        cflags = run("pkg-config", "--cflags", "lbmember").stdout.split()
        shared = run("pkg-config", "--libs", "lbmember").stdout.split()
        static_libs = run("pkg-config", "--static", "--libs", "lbmember").stdout.split()
        static = [libdir + "/liblbmember.a"] + [f for f in static_libs if f != "-llbmember"]
        for name, libs in (("shared", shared), ("static", static)):
            exe = os.path.join(self.home, name)
            res = run("cc", "-std=c11", "-Wall", "-Wextra", "-Werror", *cflags, src, *libs, "-o", exe)
            self.assertEqual(res.returncode, 0, res)
            self.assertEqual("liblbmember.so" in run("ldd", exe).stdout, name == "shared")
            res = run(exe, "haproxy://%s/no.sock" % self.home)
            self.assertNotEqual(res.returncode, 0, res)
            self.assertIn("HAProxy: no socket at %s/no.sock" % self.home, res.stdout + res.stderr)


def nagios_commands():
    """How many commands Nagios 4 reads from Debian's nagios.cfg."""
    res = run(shutil.which("nagios4") or "/usr/sbin/nagios4", "-v", "/etc/nagios4/nagios.cfg")
    if res.returncode != 0:
        raise AssertionError("nagios4 -v /etc/nagios4/nagios.cfg failed:\n" + res.stdout)
    return int(re.search(r"Checked (\d+) commands\.", res.stdout).group(1))


if __name__ == "__main__":
    unittest.main(verbosity=2)
