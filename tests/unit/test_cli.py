# SPDX-License-Identifier: MIT
"""The CLI's conventions (usage, exit codes, JSON shape, human output) against
the fake driver: fake://POOL:MEMBER@ADDR:PORT,...;POOL2:..."""
import json
import os
import subprocess
import sys
import unittest

CLI = os.environ["LBM_CLI"]
TARGET = "fake://web:a@192.0.2.1:80,b@192.0.2.2:80;api:a@192.0.2.1:80,d@192.0.2.4:8080"
MEMBER_KEYS = {"name", "address", "port", "state", "health", "weight", "restore_weight", "active", "inactive",
               "status", "held", "follows", "template", "ephemeral", "agent", "reason", "by", "since"}


def run(*args):
    p = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


class Usage(unittest.TestCase):
    def test_help_and_version(self):
        rc, out, _ = run("--help")
        self.assertEqual(rc, 0)
        for word in ("list", "status", "enable", "drain", "disable", "--wait", "--min-enabled", "--dry-run",
                     "--json", "Exit status"):
            self.assertIn(word, out)
        rc, out, _ = run("-V")
        self.assertEqual((rc, out.split()[0]), (0, "lbmember"))

    def test_usage_errors_exit_2_with_one_clear_line(self):
        cases = [
            ((), "no target given"),
            ((TARGET,), "no command given after the target"),
            ((TARGET, "frob"), "unknown command 'frob'"),
            ((TARGET, "drain", "web"), "drain takes POOL MEMBER"),
            ((TARGET, "status", "web"), "status takes POOL MEMBER"),
            ((TARGET, "list", "--wait", "3"), "go with enable, drain or disable"),
            ((TARGET, "drain", "web", "a", "--weight", "3"), "--weight goes with enable only"),
            ((TARGET, "enable", "web", "a", "--weight", "-1"), "--weight expects a whole number"),
            ((TARGET, "enable", "web", "a", "--weight", "70000"), "from 0 to 65535, got '70000'"),
            ((TARGET, "drain", "web", "a", "--wait", "soon"), "--wait expects a number of seconds, got 'soon'"),
            (("--timeout", "0", TARGET, "list"), "above 0"),
            (("--timeout",), "option '--timeout' needs a value"),
            (("--frobnicate", TARGET, "list"), "unknown option '--frobnicate'"),
            (("--password", "hunter2", TARGET, "list"), "there is no --password"),
            (("--password=hunter2", TARGET, "list"), "use --password-file FILE or $LBM_F5_PASSWORD"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                rc, out, err = run(*args)
                self.assertEqual(rc, 2)
                self.assertEqual(out, "")
                self.assertTrue(err.startswith("lbmember: "), err)
                self.assertIn(message, err.splitlines()[0])
                self.assertNotIn("hunter2", err)


class Json(unittest.TestCase):
    def test_list_shape(self):
        rc, out, _ = run("--json", TARGET, "list")
        self.assertEqual(rc, 0)
        pools = json.loads(out)["pools"]
        self.assertEqual([p["name"] for p in pools], ["web", "api"])
        member = pools[0]["members"][0]
        self.assertEqual(set(member), MEMBER_KEYS)
        self.assertEqual((member["name"], member["address"], member["port"], member["state"], member["weight"],
                          member["held"]), ("a", "192.0.2.1", 80, "enabled", 1, None))

    def test_list_several_pools(self):
        rc, out, _ = run("--json", TARGET, "list", "api", "web", "api")
        self.assertEqual(rc, 0)
        self.assertEqual([p["name"] for p in json.loads(out)["pools"]], ["api", "web"])
        rc, out, _ = run("--json", TARGET, "list", "web", "nope")
        self.assertEqual((rc, json.loads(out)["error"]["code"]), (1, "ENOTFOUND"))

    def test_status_and_not_found(self):
        rc, out, _ = run("--json", TARGET, "status", "api", "192.0.2.4")
        self.assertEqual(rc, 0)
        self.assertEqual(json.loads(out)["member"]["name"], "d")
        rc, out, err = run("--json", TARGET, "status", "api", "zz")
        self.assertEqual((rc, err), (1, ""))
        self.assertEqual(json.loads(out)["error"], {"code": "ENOTFOUND", "message": "pool 'api' has no member 'zz'"})

    def test_set_dry_run_and_guard(self):
        rc, out, _ = run("--json", TARGET, "drain", "-", "192.0.2.1", "--dry-run")
        self.assertEqual(rc, 0)
        res = json.loads(out)
        # 0.2: "warnings" is a list (it was "warning", one string or null).
        self.assertEqual((res["changed"], res["dry_run"], res["warnings"]), (True, True, []))
        self.assertEqual([(o["pool"], o["before"]["state"], o["after"]["state"]) for o in res["outcomes"]],
                         [("web", "enabled", "draining"), ("api", "enabled", "draining")])
        rc, out, _ = run("--json", TARGET, "disable", "web", "a", "b")
        self.assertEqual(rc, 1)
        res = json.loads(out)
        self.assertEqual(res["error"]["code"], "EGUARD")
        self.assertIn("min_enabled 1", res["error"]["message"])
        self.assertEqual(res["outcomes"], [])
        rc, out, _ = run("--json", TARGET, "disable", "web", "a", "b", "--min-enabled", "0")
        self.assertEqual(rc, 0)
        self.assertEqual([o["changed"] for o in json.loads(out)["outcomes"]], [True, True])


class Human(unittest.TestCase):
    def test_table_and_messages(self):
        rc, out, _ = run(TARGET, "list", "api")
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["POOL", "MEMBER", "ADDRESS", "STATE", "HEALTH", "WEIGHT", "ACTIVE",
                                            "INACTIVE", "OUT", "BY", "STATUS", "REASON"])
        self.assertEqual(lines[2].split()[:6], ["api", "d", "192.0.2.4:8080", "enabled", "unknown", "1"])
        rc, out, _ = run(TARGET, "drain", "web", "b", "--dry-run")
        self.assertEqual((rc, out), (0, "web/b: would change enabled -> draining\n"))
        rc, out, _ = run(TARGET, "enable", "web", "b")
        self.assertEqual((rc, out), (0, "web/b: already enabled\n"))
        rc, out, _ = run(TARGET, "enable", "web", "b", "--weight", "5", "--dry-run")
        self.assertEqual((rc, out), (0, "web/b: would change enabled weight 1 -> enabled weight 5\n"))
        rc, out, err = run(TARGET, "drain", "nope", "b")
        self.assertEqual((rc, out, err), (1, "", "lbmember: Fake: no pool 'nope'\n"))

    def test_usage_of_new_options(self):
        """Issue 18: each option says what it goes with; nothing is opened."""
        cases = [
            (["list", "--reason", "x"], "--reason and --force-after go with enable, drain or disable"),
            (["drain", "web", "a", "--interval", "1"], "--interval and --count go with watch"),
            (["drain", "web", "a", "--force-after", "5", "--wait", "5"], "and --wait longer than it"),
            (["enable", "web", "a", "--force-after", "1", "--wait", "5"], "--force-after goes with drain or disable"),
            (["watch", "--interval", "0.01"], "--interval expects at least 0.1 seconds, got '0.01'"),
            (["watch", "--count", "x"], "--count expects a whole number"),
        ]
        for args, msg in cases:
            rc, out, err = run(TARGET, *args)
            self.assertEqual((rc, out), (2, ""), args)
            self.assertIn(msg, err.splitlines()[0], args)

    def test_watch_on_a_pipe(self):
        """Issue 18.5: one table per view, --count views, exit 0."""
        rc, out, _ = run(TARGET, "watch", "api", "--count", "2", "--interval", "0.1")
        self.assertEqual(rc, 0)
        views = out.split("\n\n")
        self.assertEqual(len(views), 2)
        for view in views:
            lines = view.strip().splitlines()
            self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  fake://\S+  every 0.1 s$")
            self.assertEqual(lines[1].split()[:2], ["POOL", "MEMBER"])
            self.assertEqual(len(lines), 4)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=1).result
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    sys.exit(1 if failed or not result.testsRun else 0)
