# SPDX-License-Identifier: MIT
"""Run check_lb_members and read its output back by the Monitoring Plugins
Development Guidelines' grammar (shared by the tests/nagios suites).

    STATUS LINE|perfdata
    long output lines...

perfdata: space separated 'label'=value[UOM];[warn];[crit];[min];[max], the
label in single quotes when it holds spaces, '=' or a quote (doubled),
trailing empty fields droppable, warn/crit in the range format.
"""
import glob
import json
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
CLI = os.environ.get("LBMEMBER_CLI", "")

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


def take_out(target, verb, pool, member, state_dir, by="alice", reason=None, age=0):
    """verb ("drain", "disable") pool/member through the real lbmember CLI,
    as an operator does, so that lbmember records who ($SUDO_USER), when and
    why in state_dir; then, with age, make that entry age seconds old.
    Returns the entry ({"state", "by", "since", "reason"}) as the plugin
    will read it.

    A test cannot wait hours for a member to be out that long: it moves the
    entry's "since" back in the file lbmember wrote, state_dir/out/*.json,
    one per target: {"key", "target", "members": {"POOL\\nMEMBER": entry}}.
    That is the only edit; everything else is lbmember's own."""
    env = dict(os.environ, LBM_STATE_DIR=state_dir, SUDO_USER=by)
    args = [CLI] + (["--reason", reason] if reason is not None else []) + [target, verb, pool, member]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    if proc.returncode != 0:
        raise AssertionError("%s: %r" % (" ".join(args), proc))
    found = []
    for path in glob.glob(os.path.join(state_dir, "out", "*.json")):
        with open(path) as f:
            rec = json.load(f)
        entry = rec["members"].get(pool + "\n" + member) if rec.get("target") == target else None
        if entry:
            found.append((path, rec, entry))
    if len(found) != 1:
        raise AssertionError("%d records of %s %s/%s in %s" % (len(found), target, pool, member, state_dir))
    path, rec, entry = found[0]
    if age:
        entry["since"] -= age
        with open(path, "w") as f:  # in place: the file keeps the mode lbmember gave it
            json.dump(rec, f)
    return entry


class PluginTest(unittest.TestCase):
    def assertStatus(self, res, rc):
        """Exit code, status word and output format agree, as the guidelines ask."""
        self.assertEqual(res.rc, rc, res)
        self.assertTrue(res.first.startswith("LB_MEMBERS %s - " % STATUS[rc]), res)
        self.assertEqual(res.stderr, "", res)
