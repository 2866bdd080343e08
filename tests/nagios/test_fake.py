# SPDX-License-Identifier: MIT
"""check_lb_members built with the fake driver: arguments, exit codes and the
output's grammar, without a balancer."""
import os
import re
import subprocess
import tempfile
import unittest

from plugin_output import PLUGIN_FAKE, SRC, PluginTest, run

TARGET = "fake://web:s1,s2,s3;api:a1,a2"


def fake(*args, env=None):
    return run(args, plugin=PLUGIN_FAKE, env=env)


class Arguments(PluginTest):
    def test_help_and_version_exit_unknown(self):
        res = fake("-h")
        self.assertEqual(res.rc, 3)
        for word in ("--target", "--pool", "--warning", "--critical", "--percent", "--count", "--min-enabled",
                     "--max-out-time", "--timeout", "--password-file", "LBM_F5_PASSWORD", "CAP_NET_ADMIN", "@10:20"):
            self.assertIn(word, res.stdout)
        self.assertTrue(all(len(l) <= 80 for l in res.stdout.splitlines()), "help wider than 80 columns")
        res = fake("--version")
        self.assertEqual(res.rc, 3)
        self.assertRegex(res.stdout, r"^check_lb_members \d+\.\d+\.\d+")

    def test_bad_arguments_are_unknown_with_a_reason(self):
        cases = [
            ([], "no target"),
            (["-T", TARGET, "-w", "10:5"], "invalid range '10:5'"),
            (["-T", TARGET, "-c", "abc"], "invalid range 'abc'"),
            (["-T", TARGET, "--count", "drain"], "--count 'drain'"),
            (["-T", TARGET, "--min-enabled", "-1"], "--min-enabled '-1'"),
            (["-T", TARGET, "-t", "0"], "--timeout '0'"),
            (["-T", TARGET, "--max-out-time", "2w"], "--max-out-time '2w': expected a duration above 0"),
            (["-T", TARGET, "--max-out-time", "1|2"], "--max-out-time '1_2'"),
            (["-T", TARGET, "-t", "2.5"], "--timeout '2.5'"),
            # -t SECONDS[:STATE]: a bad state is a bad argument, UNKNOWN whatever it asks for.
            (["-T", TARGET, "-t", "10:BOGUS"], "-t/--timeout '10:BOGUS': expected SECONDS[:STATE], STATE one of "
             "OK, WARNING, CRITICAL, UNKNOWN (any case) or 0 to 3"),
            (["-T", TARGET, "-t", "10:"], "-t/--timeout '10:': expected SECONDS[:STATE]"),
            (["-T", TARGET, "-t", ":"], "-t/--timeout ':': expected SECONDS[:STATE]"),
            (["-T", TARGET, "-t", "10:4"], "-t/--timeout '10:4': expected SECONDS[:STATE]"),
            (["-T", TARGET, "-t", "10:02"], "-t/--timeout '10:02': expected SECONDS[:STATE]"),
            (["-T", TARGET, "-t", "10:CRITICAL:OK"], "-t/--timeout '10:CRITICAL:OK': expected SECONDS[:STATE]"),
            (["-T", TARGET, "-t", "10:CRIT"], "-t/--timeout '10:CRIT': expected SECONDS[:STATE]"),
            (["-T", TARGET, "-t", "0:CRITICAL"], "-t/--timeout '0:CRITICAL': expected whole seconds"),
            (["-T", TARGET, "-t", "x:CRITICAL"], "-t/--timeout 'x:CRITICAL': expected whole seconds"),
            (["-T", TARGET, "-t", "00000000000000010:OK"], "-t/--timeout '00000000000000010:OK'"),
            # A '%' range is a percentage: refused on counts, whichever of -w and -c has it.
            (["-T", TARGET, "-w", "1:12%"], "-w '1:12%': a range ending in '%' needs --percent (without it, -w "
             "and -c apply to the count of members out of rotation)"),
            (["-T", TARGET, "-w", "1", "-c", "@10%"], "-c '@10%': a range ending in '%' needs --percent"),
            (["-T", TARGET, "--percent", "-w", "1:12%%"], "invalid range '1:12%%'"),
            (["-T", TARGET, "--bogus"], "unknown or ambiguous option '--bogus'"),
            (["-T", TARGET, "-w"], "needs a value"),
            (["-T", TARGET, "extra"], "unexpected argument 'extra'"),
            (["-T", TARGET, "--password", "s3cr3t"], "no password option"),
            (["-T", TARGET, "--password=s3cr3t"], "no password option"),
            (["-T", TARGET, "--passw", "s3cr3t"], "ambiguous option '--passw'"),
            (["-T", TARGET, "-w", "1|2"], "invalid range '1_2'"),  # no '|' before the perfdata
        ]
        for args, why in cases:
            with self.subTest(args=args):
                res = fake(*args)
                self.assertStatus(res, 3)
                self.assertIn(why, res.first)
                self.assertIn("Usage:", res.stdout)
                self.assertNotIn("s3cr3t", res.stdout)

    def test_bad_arguments_stay_unknown_whatever_the_timeout_state(self):
        for args in (["-w", "10:5"], ["-w", "1%"], ["--bogus"]):
            for state in ("OK", "CRITICAL"):
                with self.subTest(args=args, state=state):
                    self.assertStatus(fake("-T", TARGET, "-t", "5:" + state, *args), 3)
        # A pool that is not there is CRITICAL, not the timeout state.
        self.assertStatus(fake("-T", TARGET, "-P", "nosuch", "-t", "5:OK"), 2)
        self.assertStatus(fake("-T", "nosuch://x", "-t", "5:CRITICAL"), 3)

    def test_timeout_state_spellings(self):
        # As monitoring-plugins' mp_translate_state(): names in any case, or 0-3.
        for spelled, name in (("OK", "OK"), ("ok", "OK"), ("0", "OK"), ("Warning", "WARNING"), ("1", "WARNING"),
                              ("critical", "CRITICAL"), ("CRITICAL", "CRITICAL"), ("2", "CRITICAL"),
                              ("unknown", "UNKNOWN"), ("3", "UNKNOWN")):
            with self.subTest(state=spelled):
                res = fake("-T", TARGET, "-t", "7:" + spelled, "-vv")
                self.assertStatus(res, 0)
                self.assertIn("timeout 7 s (then %s)" % name, res.stdout)
        res = fake("-T", TARGET, "-t", ":critical", "-vv")  # the seconds stay the default
        self.assertIn("timeout 10 s (then CRITICAL)", res.stdout)
        res = fake("-T", TARGET, "-t", "5:critical", "-t", "8", "-vv")  # a later -t SECONDS keeps the state
        self.assertIn("timeout 8 s (then CRITICAL)", res.stdout)
        self.assertIn("timeout 10 s (then UNKNOWN)", fake("-T", TARGET, "-vv").stdout)

    def test_percent_ranges_with_percent(self):
        # 1:12% means 1:12 with --percent, before or after it; perfdata (read
        # back by the guidelines' grammar in run()) carries no '%' in warn/crit.
        plain = fake("-T", TARGET, "--percent", "-w", "1:12", "-c", "@0:5")
        self.assertStatus(plain, 2)
        for args in (["--percent", "-w", "1:12%", "-c", "@0:5%"], ["-w", "1:12%", "-c", "@0:5", "--percent"]):
            with self.subTest(args=args):
                res = fake("-T", TARGET, *args)
                self.assertEqual(res.stdout, plain.stdout)
                self.assertEqual(res.perfdata["web out_pct"]["warn"], "1:12")
                self.assertEqual(res.perfdata["web out_pct"]["crit"], "@0:5")
                self.assertEqual(res.perfdata["web out_pct"]["uom"], "%")
        self.assertIn("warning 1:12%, critical @0:5% (percent)",
                      fake("-T", TARGET, "--percent", "-w", "1:12%", "-c", "@0:5%", "-vv").stdout)

    def test_records_that_cannot_be_read_are_unknown(self):
        with tempfile.TemporaryDirectory() as d:
            # None yet (nobody took a member out through lbmember): no record, no error.
            missing = os.path.join(d, "none")
            self.assertStatus(fake("-T", TARGET, "--max-out-time", "1h", "--state-dir", missing), 0)
            with open(os.path.join(d, "out"), "w"):
                pass
            res = fake("-T", TARGET, "--max-out-time", "1h", "--state-dir", d)
            self.assertStatus(res, 3)
            self.assertRegex(res.first, r"^LB_MEMBERS UNKNOWN - --max-out-time: cannot read lbmember's records: "
                             r"Fake: cannot read state file %s/out/out-[0-9a-f]{16}\.json: Not a directory \(the "
                             r"monitoring user must be able to read the state directory, --state-dir\)$" % re.escape(d))
            res = fake("-T", TARGET, "--max-out-time", "1h", env=dict(os.environ, LBM_STATE_DIR=d))
            self.assertStatus(res, 3)
            self.assertIn("cannot read state file %s/out/" % d, res.first)

    def test_bad_target_is_unknown(self):
        res = fake("-T", "nosuch://x")
        self.assertStatus(res, 3)
        self.assertIn("opening nosuch://x: ", res.first)


class Documentation(PluginTest):
    """--help, the man page and the Icinga 2 CheckCommand name the same options."""

    def test_every_option_is_documented_everywhere(self):
        here = os.path.join(SRC, "plugins", "nagios")
        helptext = fake("-h").stdout
        options = set(re.findall(r"^ (?:-\w, )?(--[a-z-]+)", helptext, re.M))
        self.assertGreaterEqual(len(options), 14, helptext)
        man = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(here, "check_lb_members.1")],
                             capture_output=True, text=True)
        self.assertEqual((man.returncode, man.stderr), (0, ""), "the man page does not render cleanly")
        with open(os.path.join(here, "check_lb_members.1")) as f:
            mantext = f.read().replace("\\-", "-")
        with open(os.path.join(here, "check_lb_members.icinga2.conf")) as f:
            icinga = f.read()
        for opt in sorted(options):
            self.assertIn(opt, mantext, "man page lacks " + opt)
            if opt not in ("--help", "--version"):
                self.assertIn('"%s" = {' % opt, icinga, "Icinga 2 CheckCommand lacks " + opt)


class Checks(PluginTest):
    def test_all_enabled_ok_with_perfdata(self):
        res = fake("-T", TARGET)
        self.assertStatus(res, 0)
        self.assertEqual(res.text, "LB_MEMBERS OK - all 5 members of 2 pools in rotation")
        self.assertEqual(res.perfdata["web enabled"], {"value": "3", "uom": "", "warn": "", "crit": "1:",
                                                       "min": "0", "max": "3"})
        self.assertEqual(res.perfdata["api out"]["warn"], "0")
        self.assertEqual(res.long, ["web OK: 3 of 3 enabled, 0 out", "api OK: 2 of 2 enabled, 0 out"])

    def test_pool_selection_and_missing_pool(self):
        res = fake("-T", TARGET, "-P", "api")
        self.assertStatus(res, 0)
        self.assertEqual(set(res.perfdata), {"api enabled", "api out"})
        res = fake("-T", TARGET, "-P", "api", "-P", "nosuch")
        self.assertStatus(res, 2)
        self.assertIn("listing pool 'nosuch' on %s: " % TARGET, res.first)
        res = fake("-T", TARGET, "-P", "no|such")
        self.assertStatus(res, 2)
        self.assertNotIn("|", res.stdout)
        res = fake("-T", TARGET, "-P", "web", "-P", "web")
        self.assertStatus(res, 0)
        self.assertEqual(len(res.long), 1, res)  # named twice, checked once

    def test_verbosity(self):
        one = fake("-T", TARGET, "-v")
        self.assertIn("    s1 enabled, health unknown, weight 1, 0 active", one.stdout)
        two = fake("-T", TARGET, "-vv")
        self.assertIn("target %s, pools all, counting disabled draining, warning 0, critical none, "
                      "min enabled 1, timeout 10 s" % TARGET, two.stdout)
        three = fake("-T", TARGET, "-vvvv")
        self.assertRegex(three.stdout, r"opened in \d+\.\d{3} s, listed in \d+\.\d{3} s")
        for res in (one, two, three):
            self.assertStatus(res, 0)

    def test_perfdata_grammar_rejects_what_it_should(self):
        from plugin_output import parse_perfdata
        self.assertEqual(parse_perfdata("'a b'=1;2;3;0;5 c=4%;;;0")["a b"]["max"], "5")
        self.assertEqual(parse_perfdata("'it''s'=1")["it's"]["value"], "1")
        for bad in ("a b=1", "'a'=x", "a=1;;;;;", "'a=1", "a=1 ", "a=1e3"):
            with self.assertRaises(AssertionError, msg=bad):
                parse_perfdata(bad)


if __name__ == "__main__":
    unittest.main(verbosity=2)
