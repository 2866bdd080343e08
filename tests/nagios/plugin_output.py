# SPDX-License-Identifier: MIT
"""Run check_lb_members and read its output back by the Monitoring Plugins
Development Guidelines' grammar (shared by the tests/nagios suites).

    STATUS LINE|perfdata
    long output lines...

perfdata: space separated 'label'=value[UOM];[warn];[crit];[min];[max], the
label in single quotes when it holds spaces, '=' or a quote (doubled),
trailing empty fields droppable, warn/crit in the range format.
"""
import os
import re
import subprocess
import sys
import time
import unittest

SRC = os.environ.get("LBM_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))

PLUGIN = os.environ.get("CHECK_LB_MEMBERS", "")
PLUGIN_FAKE = os.environ.get("CHECK_LB_MEMBERS_FAKE", "")

STATUS = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}

_LABEL = r"(?:'(?:[^']|'')+'|[^ '=]+)"
_NUM = r"-?[0-9.]+"
_RANGE = r"@?(?:(?:~|[-+]?[0-9.]+)?:)?(?:[-+]?[0-9.]+)?"
_UOM = r"(?:s|us|ms|%|B|KB|MB|TB|c)?"
_ITEM = (r"(?P<label>%s)=(?P<value>%s|U)(?P<uom>%s)"
         r"(?:;(?P<warn>%s)(?:;(?P<crit>%s)(?:;(?P<min>%s)?(?:;(?P<max>%s)?)?)?)?)?"
         % (_LABEL, _NUM, _UOM, _RANGE, _RANGE, _NUM, _NUM))
PERFDATA_ITEM = re.compile(_ITEM)
_PLAIN = re.sub(r"\(\?P<\w+>", "(?:", _ITEM)
PERFDATA = re.compile(r"%s(?: %s)*" % (_PLAIN, _PLAIN))


def parse_perfdata(text):
    """{label: {"value","uom","warn","crit","min","max"}}; AssertionError if
    text does not follow the grammar."""
    if not PERFDATA.fullmatch(text):
        raise AssertionError("perfdata does not follow the guidelines' grammar: %r" % text)
    out = {}
    for m in PERFDATA_ITEM.finditer(text):
        label = m.group("label")
        if label.startswith("'"):
            label = label[1:-1].replace("''", "'")
        out[label] = {k: m.group(k) or "" for k in ("value", "uom", "warn", "crit", "min", "max")}
    return out


class Result:
    def __init__(self, proc, seconds, end=None):
        self.end = end  # time.monotonic() when the plugin had exited
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.seconds = seconds
        lines = self.stdout.split("\n")
        self.first = lines[0]
        self.long = [l for l in lines[1:] if l]
        self.text, sep, perf = self.first.partition("|")
        self.perfdata = parse_perfdata(perf) if sep else {}

    def __repr__(self):
        return "rc=%s stdout=%r stderr=%r" % (self.rc, self.stdout, self.stderr)


def run(args, plugin=None, env=None, timeout=60):
    t0 = time.monotonic()
    proc = subprocess.run([plugin or PLUGIN] + list(args), capture_output=True, text=True, env=env,
                          timeout=timeout)
    end = time.monotonic()
    return Result(proc, end - t0, end)


def startup_seconds(plugin=None):
    """What starting the plugin costs here and now (a sanitizer build on a
    loaded machine takes a while): the part of a run -t cannot bound."""
    return run(["-V"], plugin=plugin).seconds


class PluginTest(unittest.TestCase):
    def assertStatus(self, res, rc):
        """Exit code, status word and output format agree, as the guidelines ask."""
        self.assertEqual(res.rc, rc, res)
        self.assertTrue(res.first.startswith("LB_MEMBERS %s - " % STATUS[rc]), res)
        self.assertEqual(res.stderr, "", res)
