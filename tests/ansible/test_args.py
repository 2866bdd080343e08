# SPDX-License-Identifier: MIT
"""lb_member's arguments: the bad-args table, each case run as Ansible runs a
binary module (argv[1] = a JSON args file) and compared with what
AnsibleModule itself says for the same arguments (reference_module.py); then
the same mistakes through a real ansible-playbook and ad-hoc `ansible -a`.

Groups: table, files, beyond, playbook, adhoc
"""
import json
import os
import subprocess

from harness import MODULE, MODULE_FAKE, PYTHON, Ansible, check, main, task

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "reference_module.py")
FAKE = "fake://app:s1@127.0.0.2:80,s2@127.0.0.3:80;api:s1@127.0.0.2:80,s3;5:s1,s2"
BASE = {"target": FAKE, "pool": "app", "member": "s1", "state": "enabled"}
BOOL_LIST = "Valid booleans include:"

# (case, arguments): every one goes through AnsibleModule and through the binary.
TABLE = [
    ("nothing", {}),
    ("missing state", {"target": FAKE, "member": "s1"}),
    ("missing and unknown", {"member": "s1", "foo": 1, "bar": 2}),
    ("unknown option", dict(BASE, foo=1)),
    ("two unknown options", dict(BASE, zeta=1, alpha="x")),
    ("bad choice", dict(BASE, state="up")),
    ("choice of another type", dict(BASE, state=5)),
    ("null choice", dict(BASE, state=None)),
    ("int from a bad string", dict(BASE, weight="abc")),
    ("int from a float", dict(BASE, weight=1.5)),
    ("int from a list", dict(BASE, min_enabled=[1])),
    ("bool from a bad string", dict(BASE, wait="maybe")),
    ("bool from 2", dict(BASE, wait=2)),
    ("bool from a dict", dict(BASE, validate_certs={"a": 1})),
    ("float from a bad string", dict(BASE, timeout="soon")),
    ("float from a list", dict(BASE, wait_timeout=[1])),
    ("first of several type errors", dict(BASE, weight="x", wait="x", timeout="x")),
    ("int from '10'", dict(BASE, weight="10")),
    ("int from ' +1_0 '", dict(BASE, weight=" +1_0 ")),
    ("int from true", dict(BASE, weight=True)),
    ("bool from 'yes'", dict(BASE, state="draining", wait="yes", wait_timeout=1)),
    ("bool from 'OFF'", dict(BASE, validate_certs="OFF")),
    ("bool from 1", dict(BASE, validate_certs=1)),
    ("float from '1e1'", dict(BASE, timeout="1e1")),
    ("float from an int", dict(BASE, timeout=3)),
    ("float from '2_5.5'", dict(BASE, timeout="2_5.5")),
    ("str from an int", dict(BASE, pool=5)),
    ("str from a list", dict(BASE, user=[1, "a", {"k": None, "q": "it's"}, 1e16, 1e15, 0.0001, 1.5e-5, True])),
    ("path with ~ and $HOME", dict(BASE, state_dir="~/x/$HOME/${LBM_NO_SUCH_VAR}$")),
    ("path with odd $", dict(BASE, state_dir="a$HOME_$HOME/${HOME}b$$x${}${HOME", ca_path="~root/x")),
    ("path of no user", dict(BASE, state_dir="~lbm-no-such-user/x", ca_path="~")),
    ("no_log password", dict(BASE, password="hunter2", user="xhunter2x", weight="x")),
    ("no_log number", dict(BASE, password=1234, min_enabled=12345, weight="x")),
    ("null optional", dict(BASE, weight=None, pool=None)),
    # The options from the core's table that the module once lacked, and an alias.
    ("table options", dict(BASE, basic_auth="yes", password_file="~/pw", login_provider=5)),
    ("bool from a bad string, table option", dict(BASE, basic_auth="sometimes")),
    ("alias alone", dict(BASE, ca_path="~/ca.pem")),
    ("option and its alias", dict(BASE, ca_file="/etc/a.pem", ca_path="~/b.pem")),
    ("alias of a bad type", dict(BASE, ca_path=[1], foo=1)),
    # Issue 18: why, and when to cut what a drain waits for.
    ("str from an int, reason", dict(BASE, state="draining", reason=5)),
    ("float from a bad string, force_after", dict(BASE, state="draining", wait=True, force_after="soon")),
    ("float from a string, force_after", dict(BASE, state="draining", wait=True, wait_timeout="3", force_after="1.5")),
]


def run_module(binary, args_path):
    tmp = os.path.dirname(args_path)
    proc = subprocess.run([binary, args_path], capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, HOME=tmp, LBM_STATE_DIR=os.path.join(tmp, "state")))
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    check(len(lines) == 1, "expected exactly one line of JSON on stdout", proc.stdout, proc.stderr)
    out = json.loads(lines[0])
    check(isinstance(out, dict), "stdout is not a JSON object", proc.stdout)
    check(proc.returncode == (1 if out.get("failed") else 0), "exit code %d with failed=%s"
          % (proc.returncode, out.get("failed")))
    check(proc.stderr == "", "stderr is not empty", proc.stderr)
    return out


def run_reference(args_paths):
    """AnsibleModule's answers, one per args file, from one Python process."""
    proc = subprocess.run([PYTHON, REFERENCE] + args_paths, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, HOME=os.path.dirname(args_paths[0])))
    lines = proc.stdout.strip().splitlines()
    check(len(lines) == len(args_paths), "reference_module.py answered %d of %d" % (len(lines), len(args_paths)),
          proc.stderr)
    return [json.loads(l) for l in lines]


def same_message(ours, theirs):
    """Python lists the valid booleans from a set, in an order that changes
    from run to run: compare up to that list."""
    if BOOL_LIST in theirs:
        return ours.split(BOOL_LIST)[0] == theirs.split(BOOL_LIST)[0] and BOOL_LIST in ours
    return ours == theirs


def group_table():
    with Ansible() as a:
        refs = [a.write("ref%d.json" % i, {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_module_name="lb_member")})
                for i, (_, args) in enumerate(TABLE)]
        for (name, args), theirs in zip(TABLE, run_reference(refs)):
            ours = run_module(MODULE_FAKE, a.write("args.json", args))
            ctx = (name, "ours:   " + json.dumps(ours), "theirs: " + json.dumps(theirs))
            if theirs.get("failed"):
                check(ours["failed"] is True, "%s: AnsibleModule fails, lb_member does not" % name, *ctx)
                check(same_message(ours["msg"], theirs["msg"]), "%s: different msg" % name, *ctx)
                check("\n" not in ours["msg"], "%s: msg is not one line" % name, *ctx)
            else:
                check(ours["failed"] is False, "%s: AnsibleModule accepts it, lb_member fails" % name, *ctx)
            check(ours["invocation"] == theirs["invocation"], "%s: different invocation" % name, *ctx)
            check(ours.get("warnings") == theirs.get("warnings"), "%s: different warnings" % name, *ctx)
            check("hunter2" not in json.dumps(ours) and "1234" not in json.dumps(ours),
                  "%s: a no_log value leaked" % name, *ctx)


def group_files():
    with Ansible() as a:
        missing = a.path("no-such-args")
        out = run_module(MODULE, missing)
        check(out == {"failed": True, "changed": False,
                      "msg": "cannot read the arguments file %s: No such file or directory" % missing}, "missing", out)

        bad = a.write("bad.json", '{"target": "lvs://", "member": ')
        out = run_module(MODULE, bad)
        check(out["failed"] is True and out["msg"].startswith("the arguments file %s is not valid JSON: " % bad)
              and out["msg"].endswith("at line 1, column 31"), "non-JSON", out)

        arr = a.write("array.json", [1, 2])
        out = run_module(MODULE, arr)
        check(out["msg"] == "the arguments file %s must hold a JSON object of options, not an array" % arr, "array", out)

        proc = subprocess.run([MODULE], capture_output=True, text=True, timeout=30)
        out = json.loads(proc.stdout)
        check(proc.returncode == 1 and out["failed"] and "ARGS_FILE" in out["msg"], "no argument", proc.stdout)

        # As Ansible writes it (no wrapper), with controller keys old and new.
        args = dict(BASE, _ansible_check_mode=False, _ansible_module_name="lbmember.lb.lb_member",
                    _ansible_some_future_key={"x": 1}, _ansible_verbosity=3)
        out = run_module(MODULE_FAKE, a.write("ansible.json", args))
        check(out["failed"] is False and out["changed"] is False, "_ansible_* keys are ignored", out)
        check(not any(k.startswith("_ansible") for k in out["invocation"]["module_args"]), "internal keys shown", out)

        out = run_module(MODULE_FAKE, a.write("unknown.json", dict(args, colour="red")))
        check(out["msg"].startswith("Unsupported parameters for (lbmember.lb.lb_member) module: colour. "),
              "module name from _ansible_module_name", out)

        out = run_module(MODULE_FAKE, a.write("cm.json", dict(BASE, _ansible_check_mode="perhaps")))
        check(out["failed"] and out["msg"] == "_ansible_check_mode must be a boolean", "bad check mode flag", out)


def group_beyond():
    """What a Python module would check in its own code, after argument_spec."""
    cases = [
        (dict(BASE, weight=-1), "weight must be 0 or more, got: -1"),
        (dict(BASE, min_enabled="-2"), "min_enabled must be 0 or more, got: -2"),
        (dict(BASE, state="draining", wait=True, wait_timeout=0), "wait_timeout must be more than 0 seconds when wait is true, got: 0"),
        (dict(BASE, member=None), "member must name a member, got: None"),
        (dict(BASE, timeout="inf"), "argument 'timeout' is of type <class 'str'> and we were unable to convert to float: 'inf' is not a finite number"),
        (dict(BASE, state="draining", weight=5), "a weight goes only with enabled: a draining member takes no new connections"),
        (dict(BASE, target="ftp://x"), "unknown balancer type 'ftp': expected "),
        (dict(BASE, weight=65536), "weight must be 65535 or less, got: 65536"),
        (dict(BASE, weight=2 ** 32 + 5), "weight must be 65535 or less, got: 4294967301"),
        # The core's table parses the options it describes (lbm_option_parse()).
        (dict(BASE, timeout=0), "timeout expects a number of seconds above 0, got '0'"),
        # Issue 18: reason and force_after, in the module's words where they
        # depend on its options, else in the core's.
        (dict(BASE, state="draining", reason="a\tb"),
         "the reason must be one line of text: it holds a control character"),
        (dict(BASE, state="draining", reason="é" * 128), "the reason is 256 bytes long: expected at most 255"),
        (dict(BASE, state="draining", force_after=1), "force_after goes with wait: true: it cuts the connections"),
        (dict(BASE, state="draining", wait=True, wait_timeout=5, force_after=5),
         "force_after must be less than wait_timeout (5 s), got: 5"),
        (dict(BASE, state="draining", wait=True, force_after=-1), "force_after must be more than 0 seconds, got: -1"),
        (dict(BASE, wait=True, force_after=1), "force_after goes with draining or disabling: it cuts connections"),
        # Checked in check mode too: it would fail for real.
        (dict(BASE, state="disabled", force_after=1, _ansible_check_mode=True), "force_after goes with wait: true"),
    ]
    with Ansible() as a:
        for args, msg in cases:
            out = run_module(MODULE_FAKE, a.write("args.json", args))
            check(out["failed"] is True and out["msg"].startswith(msg), "expected %r" % msg, out)
        # An empty string is how a template says "not given" (`{{ x | default('') }}`).
        out = run_module(MODULE_FAKE, a.write("args.json", dict(BASE, user="", password_file="")))
        check(out.get("failed") is not True, "an empty user is taken as not given", out)
        # So is an empty reason, with enabled too (a role's one variable for both).
        out = run_module(MODULE_FAKE, a.write("args.json", dict(BASE, reason="")))
        check(out.get("failed") is not True, "an empty reason is taken as not given", out)
        # A reason with enabled is done, and the core's warning says it is not kept.
        out = run_module(MODULE_FAKE, a.write("args.json", dict(BASE, reason="back")))
        check(out.get("failed") is not True and any("enabling clears the record" in w for w in out.get("warnings", [])),
              "a reason with enabled warns", out)
        # 255 bytes is the most a reason holds; the fake settles at once, so
        # force_after has nothing to cut.
        out = run_module(MODULE_FAKE, a.write("args.json", dict(BASE, state="draining", reason="x" * 255, wait=True,
                                                              wait_timeout=2, force_after=1)))
        m = out["members"][0] if out.get("members") else {}
        check(out.get("failed") is False and m["after"]["reason"] == "x" * 255 and m["cut"] == 0,
              "a reason of 255 bytes, force_after", out)


def group_playbook():
    """The table's kinds of mistakes, as a user makes them in a playbook."""
    base = dict(target=FAKE, pool="app", member="s1")
    tasks = [
        task("missing", ignore_errors=True, **base),
        task("wrong type", ignore_errors=True, state="enabled", weight="heavy", **base),
        task("bad choice", ignore_errors=True, state="off", **base),
        task("unknown option", ignore_errors=True, state="enabled", backend="app", **base),
        task("string numbers", state="enabled", weight="7", min_enabled="1", wait="no", **base),
    ]
    # "unknown option" lists every option: adapted for issue 16, where the
    # module took its open options from the core's table (basic_auth,
    # login_provider and password_file added; ca_path became the alias of
    # ca_file, and AnsibleModule lists aliases apart, in parentheses); issue
    # 17 added sync_group, issue 18 force_after and reason.
    expected = {
        "missing": "missing required arguments: state",
        "wrong type": "argument 'weight' is of type <class 'str'> and we were unable to convert to int: "
                      "<class 'str'> cannot be converted to an int",
        "bad choice": "value of state must be one of: enabled, draining, disabled, got: off",
        "unknown option": "Unsupported parameters for (lb_member) module: backend. Supported parameters include: "
                          "basic_auth, ca_file, force_after, ignore_owner, login_provider, member, min_enabled, password, "
                          "password_file, pool, reason, state, state_dir, state_file, sync_group, target, timeout, "
                          "user, validate_certs, wait, "
                          "wait_timeout, weight "
                          "(ca_path).",
    }
    with Ansible(module=MODULE_FAKE) as a:
        run = a.playbook(tasks)
        check(run.rc == 0, "ignore_errors play failed", run)
        for name, msg in expected.items():
            r = run.result(name)
            check(r.get("failed") is True and r["msg"] == msg, "task %r" % name, json.dumps(r))
        r = run.result("string numbers")
        check(not r.get("failed") and r["changed"] is True, "'7' as weight", json.dumps(r))
        check(r["invocation"]["module_args"]["weight"] == 7 and r["invocation"]["module_args"]["wait"] is False,
              "converted values", json.dumps(r))
        check(r["members"][0]["after"]["weight"] == 7, "weight set", json.dumps(r))
        check(run.stats.get("ignored") == 4, "4 ignored failures", run.stats)


def group_adhoc():
    """`ansible -m lb_member -a 'k=v ...'`: every value arrives as a string."""
    with Ansible(module=MODULE_FAKE) as a:
        proc = a.tool("ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "lb_member", "-a",
                      "target=%s pool=app member=s1 state=enabled weight=10 wait=yes wait_timeout=2" % FAKE,
                      env=a.env(callback="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1"))
        check(proc.returncode == 0, "ad-hoc run failed", proc.stdout, proc.stderr)
        res = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        args = res["invocation"]["module_args"]
        check(args["weight"] == 10 and args["wait"] is True and args["wait_timeout"] == 2.0, "converted", args)
        check(res["changed"] is True and res["msg"] == "app/s1: enabled (weight 1) -> enabled (weight 10)",
              "weight 10 from '10'", json.dumps(res))


if __name__ == "__main__":
    main({"table": group_table, "files": group_files, "beyond": group_beyond,
          "playbook": group_playbook, "adhoc": group_adhoc})
