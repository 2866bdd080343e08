# SPDX-License-Identifier: MIT
"""valgrind memcheck: no invalid access and no definite leak in the unit
tests, in every fuzz harness replaying its corpus (every parser, every past
finding), and in every face against real balancers:

- the CLI against a real HAProxy (unix and TCP sockets: list, status, bulk
  changes, dry run, errors) and against the F5 iControl REST emulator over
  TLS (list, status, drain, enable, dry run, unknown member, bad password);
- the Ansible module lb_member (a JSON args file in argv[1] with the
  controller's _ansible_* keys) against HAProxy and F5: a change with diff,
  the idempotent second run, check mode, an unknown member, bad arguments,
  a wrong F5 password, an args file that is not JSON;
- the Nagios plugin check_lb_members against HAProxy and F5: OK, WARNING
  and CRITICAL with a member out of rotation, CRITICAL for a missing pool,
  UNKNOWN for bad input and for a wrong F5 password;
- the Lua module under lua5.4 (one script, tests/reliability/valgrind.lua):
  HAProxy and F5 handles that list, read, drain, enable, fail (nil, err,
  code), raise on misuse, and are closed explicitly, by <close> and by the
  collector when the state closes.

Every run must also exit with the code it should, the Ansible module report
the `changed` it should, and most expected failures name their cause, or the
test fails. No valgrind suppression is needed: Debian's lua5.4, libcurl and
OpenSSL report no definite leak. About 80 s on 2 cores (CTest allows 900).

Needs $LBM_CLI, $LBM_HAPROXY, $LBM_TEST_CORE, $LBM_FUZZ_BIN (the build's
tests/fuzz) and $LBM_FUZZ_CORPUS; $LBM_WITH_F5=1 (F5 driver built),
$LBM_ANSIBLE_MODULE, $LBM_CHECK, $LBM_LUA and $LBM_LUA_CPATH for the other
faces: a face whose variable is missing is reported as SKIP.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from haproxy_fixture import HAProxy  # noqa: E402
from f5_fixture import F5Emulator  # noqa: E402

VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"
# --keep-debuginfo: a leak in lbmember.so (dlclosed when lua5.4 ends) or in a
# dlopened library keeps the names in its stack.
MEMCHECK = [VALGRIND, "--quiet", "--error-exitcode=99", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", "--track-origins=no", "--keep-debuginfo=yes"]
CLI = os.environ["LBM_CLI"]
ANSIBLE = os.environ.get("LBM_ANSIBLE_MODULE")
CHECK = os.environ.get("LBM_CHECK")
LUA = os.environ.get("LBM_LUA")
LUA_CPATH = os.environ.get("LBM_LUA_CPATH")
WITH_F5 = os.environ.get("LBM_WITH_F5") == "1"
FUZZERS = ["target", "haproxy", "f5", "ipvs", "statestore", "nagios_range", "ansible_args"]
# Generous: everything is 20-50 times slower under memcheck, on a shared machine.
TIMEOUT = "30"
NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN = 0, 1, 2, 3
failures = []
skipped = []


def memcheck(name, cmd, ok_codes=(0,), env=None, changed=None, says=None):
    """cmd under memcheck: it must exit with one of ok_codes and report no
    error; changed (True/False): the Ansible module's JSON must say so;
    says: its stdout or stderr must hold this text (a failure for the
    intended reason)."""
    p = subprocess.run(MEMCHECK + cmd, capture_output=True, text=True, timeout=600, env=env,
                       stdin=subprocess.DEVNULL)
    why = None
    if p.returncode == 99 or p.returncode not in ok_codes:
        why = "exit %d, expected %s" % (p.returncode, "/".join(map(str, ok_codes)))
    elif changed is not None:
        try:
            out = json.loads(p.stdout)
        except ValueError:
            out = None
        if not isinstance(out, dict) or out.get("changed") is not changed:
            why = "changed is not %s" % changed
    if not why and says and says not in p.stdout + p.stderr:
        why = "the output does not say %r" % says
    if why:
        failures.append(name)
        print("FAIL %s: %s\n%s\n%s" % (name, why, p.stdout[-2000:], p.stderr[-4000:]), flush=True)
    else:
        print("ok   %s (exit %d)" % (name, p.returncode), flush=True)
    return p


def skip(what, why):
    skipped.append(what)
    print("SKIP %s: %s" % (what, why), flush=True)


def write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def cli_haproxy(h):
    for target in (h.target_unix, h.target_tcp):
        runs = [
            ("list", ["list"], (0,)),
            ("list --json", ["--json", "list"], (0,)),
            ("status", ["status", "web", "s1"], (0,)),
            ("bulk drain", ["--json", "drain", "web", "s1", "s2", "s3"], (0,)),
            ("enable with weight", ["enable", "web", "s1", "s2", "s3", "--weight", "7"], (0,)),
            ("dry run", ["--json", "disable", "-", "s4", "--dry-run"], (0,)),
            ("guard refuses", ["--json", "disable", "web", "s1", "s2", "s3", "s4"], (1,)),
            ("unknown member", ["drain", "web", "nope"], (1,)),
            ("unknown pool", ["list", "nope"], (1,)),
        ]
        for name, args, codes in runs:
            memcheck("cli %s (haproxy %s)" % (name, "tcp" if target == h.target_tcp else "unix"),
                     [CLI, "--timeout", "10", target] + args, codes)
    memcheck("cli nothing listening", [CLI, "--timeout", "2", "haproxy://127.0.0.1:1", "list"], (1,))


def cli_f5(f5, env, tmp):
    """The password reaches the CLI through the environment or a 0600 file."""
    base = [CLI, "--timeout", TIMEOUT, "--ca-file", f5.ca_file]
    pwfile = write(os.path.join(tmp, "f5-pw"), f5.password + "\n")
    wrong = write(os.path.join(tmp, "f5-wrong"), "not-" + f5.password + "\n")
    runs = [
        ("list --json", ["--json", f5.target, "list"], (0,), env),
        ("status", [f5.target, "status", "/Common/web", "192.0.2.10:80"], (0,), env),
        ("drain (password file)", ["--password-file", pwfile, f5.target, "drain", "web", "192.0.2.10:80"], (0,),
         dict(env, LBM_F5_PASSWORD="")),
        ("enable --json", ["--json", f5.target, "enable", "web", "192.0.2.10:80"], (0,), env),
        ("dry run", [f5.target, "disable", "-", "192.0.2.10:8080", "--dry-run"], (0,), env),
        ("unknown member", ["--json", f5.target, "drain", "web", "192.0.2.99:80"], (1,), env, "no member"),
        ("bad password", ["--password-file", wrong, f5.target, "list"], (1,), dict(env, LBM_F5_PASSWORD=""),
         "refused"),
    ]
    for name, args, codes, run_env, *says in runs:
        memcheck("cli %s (f5)" % name, base + args, codes, env=run_env, says=says[0] if says else None)


ANSIBLE_KEYS = {"_ansible_module_name": "lb_member", "_ansible_check_mode": False, "_ansible_diff": False,
                "_ansible_no_log": False, "_ansible_verbosity": 0, "_ansible_version": "2.14.18",
                "_ansible_debug": False, "_ansible_keep_remote_files": False}


def ansible(label, base, member, tmp, env=None, more=()):
    """The module as Ansible runs it: the path of a JSON args file in argv[1]
    (0600: for F5 it holds the password, as the controller's file does)."""
    runs = list(more) + [
        ("drain, diff", dict(state="draining", _ansible_diff=True), (0,), True, "before_header"),
        ("drain again (idempotent)", dict(state="draining"), (0,), False, "already draining"),
        ("check mode disable, diff", dict(state="disabled", _ansible_check_mode=True, _ansible_diff=True), (0,),
         True, "check mode, nothing changed"),
        ("enable", dict(state="enabled", weight=3), (0,), True, None),
        ("unknown member", dict(state="draining", member="nope-member"), (1,), False, "no member"),
        ("bad argument", dict(state="sideways"), (1,), False, "sideways"),
        # The sign alone was once left unterminated for strtod() (found by memcheck).
        ("timeout -inf", dict(state="draining", timeout="-inf"), (1,), False, "not a finite number"),
    ]
    for i, (name, extra, codes, changed, says) in enumerate(runs):
        args = dict(ANSIBLE_KEYS, **base)
        args.update(member=member)
        args.update(extra)
        path = write(os.path.join(tmp, "args-%s-%d.json" % (label, i)), json.dumps(args))
        memcheck("ansible %s (%s)" % (name, label), [ANSIBLE, path], codes, env=env, changed=changed, says=says)


def nagios(label, target, extra, out_of_rotation, restore, env=None):
    """OK with every member in, WARNING and CRITICAL with one taken out,
    UNKNOWN for bad input and CRITICAL for a missing pool."""
    base = [CHECK, "-T", target, "-t", "60"] + extra
    memcheck("nagios OK (%s)" % label, base + ["-v", "-v", "-v"], (NAGIOS_OK,), env=env, says="LB_MEMBERS OK")
    out_of_rotation()
    try:
        memcheck("nagios WARNING (%s)" % label, base + ["-P", "web", "-v"], (NAGIOS_WARNING,), env=env,
                 says="1 of")
        memcheck("nagios CRITICAL (%s)" % label, base + ["-w", "0", "-c", "0", "--count", "disabled,draining,down"],
                 (NAGIOS_CRITICAL,), env=env, says="LB_MEMBERS CRITICAL")
    finally:
        restore()
    memcheck("nagios missing pool (%s)" % label, base + ["-P", "nope"], (NAGIOS_CRITICAL,), env=env, says="nope")
    memcheck("nagios bad range (%s)" % label, base + ["-w", "10:2"], (NAGIOS_UNKNOWN,), env=env,
             says="LB_MEMBERS UNKNOWN")


def main():
    if not os.access(VALGRIND, os.X_OK):
        print("FAIL: valgrind is not installed (apt-get install valgrind)")
        sys.exit(1)
    memcheck("unit test_core", [os.environ["LBM_TEST_CORE"]])
    for name in FUZZERS:
        memcheck("fuzz corpus %s" % name, [os.path.join(os.environ["LBM_FUZZ_BIN"], "fuzz_replay_" + name),
                                           os.path.join(os.environ["LBM_FUZZ_CORPUS"], name)])
    backends = {"web": [("s%d" % i, "127.0.0.%d" % (i + 1), 8080) for i in range(1, 5)],
                "api": [("a1", "127.0.0.9", 9000)]}
    tmp = tempfile.mkdtemp(prefix="lbm-vg-")
    try:
        with HAProxy(backends) as h:
            cli_haproxy(h)
            if ANSIBLE:
                ansible("haproxy", dict(target=h.target_unix, pool="web", timeout=float(TIMEOUT)), "s2", tmp)
                broken = write(os.path.join(tmp, "broken.json"), '{"target": ')
                memcheck("ansible args file not JSON", [ANSIBLE, broken], (1,), changed=False, says="not valid JSON")
            else:
                skip("ansible (haproxy)", "no $LBM_ANSIBLE_MODULE")
            if CHECK:
                nagios("haproxy", h.target_tcp, [],
                       lambda: h.command("set server web/s3 state drain"),
                       lambda: h.command("set server web/s3 state ready"))
            else:
                skip("nagios (haproxy)", "no $LBM_CHECK")
            if not WITH_F5:
                skip("every face against F5", "the F5 driver is not built ($LBM_WITH_F5)")
                f5_faces(h, None, tmp)
            else:
                with F5Emulator() as f5:
                    f5_faces(h, f5, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failures%s" % (len(failures), ", skipped: " + "; ".join(skipped) if skipped else ""))
    sys.exit(1 if failures else 0)


def f5_faces(h, f5, tmp):
    """Everything that needs F5 (or, for Lua, can do without it)."""
    env = None
    if f5:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LBM_F5_")}
        env.update(LBM_F5_USER=f5.user, LBM_F5_PASSWORD=f5.password)
        cli_f5(f5, env, tmp)
        if ANSIBLE:
            ansible("f5", dict(target=f5.target, pool="/Common/web", user=f5.user, password=f5.password,
                               ca_path=f5.ca_file, timeout=float(TIMEOUT)), "192.0.2.11:80", tmp,
                    env={k: v for k, v in env.items() if not k.startswith("LBM_F5_")},
                    more=[("bad password", dict(state="draining", password="not-" + f5.password), (1,), False,
                           "refused")])
        else:
            skip("ansible (f5)", "no $LBM_ANSIBLE_MODULE")
        if CHECK:
            nagios("f5", f5.target, ["-u", f5.user, "--ca-file", f5.ca_file],
                   lambda: f5.set_member("/Common/web", "/Common/192.0.2.12:80", admin="forced_offline"),
                   lambda: f5.set_member("/Common/web", "/Common/192.0.2.12:80", admin="enabled"), env=env)
            memcheck("nagios bad password (f5)",
                     [CHECK, "-T", f5.target, "-t", "60", "-u", f5.user, "--ca-file", f5.ca_file],
                     (NAGIOS_UNKNOWN,), env=dict(env, LBM_F5_PASSWORD="not-" + f5.password), says="refused")
        else:
            skip("nagios (f5)", "no $LBM_CHECK")
    if not (LUA and LUA_CPATH):
        skip("lua", "no $LBM_LUA / $LBM_LUA_CPATH")
        return
    lua_env = {k: v for k, v in os.environ.items() if not k.startswith("LBM_F5_")}
    lua_env.update(LUA_CPATH=LUA_CPATH, T_HAPROXY=h.target_unix, T_TIMEOUT=TIMEOUT)
    if f5:
        lua_env.update(T_F5=f5.target, T_F5_USER=f5.user, T_F5_PASSWORD=f5.password, T_F5_CA=f5.ca_file)
    memcheck("lua valgrind.lua (haproxy%s)" % (", f5" if f5 else ""),
             [LUA, os.path.join(HERE, "valgrind.lua")], (0,), env=lua_env)


if __name__ == "__main__":
    main()
