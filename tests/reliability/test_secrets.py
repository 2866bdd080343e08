# SPDX-License-Identifier: MIT
"""The F5 password never shows: every face (CLI, Ansible module under
ansible-playbook -vvv, Nagios plugin -vvv, Lua) runs against the F5 emulator
with a recognisable password, successfully and failing (wrong password,
unreachable balancer, certificate not trusted). All their stdout and stderr,
and the command line (/proc/PID/cmdline) of every process on the machine
while they run, are searched for the password: it is never found. TLS
verification is on by default: without a CA, each face refuses the
emulator's self-signed certificate.

Needs $LBM_CLI, $LBM_CHECK, $LBM_ANSIBLE_MODULE, $LBM_LUA, $LBM_LUA_CPATH
(and $LBM_LUA_PRELOAD under the sanitizers).
"""
import os
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ansible"))
from harness import Ansible, task  # noqa: E402  (puts tests/lib on sys.path)
from f5_fixture import F5Emulator  # noqa: E402
from slowdown import SLOW  # noqa: E402

CLI = os.environ["LBM_CLI"]
CHECK = os.environ["LBM_CHECK"]
LUA = os.environ["LBM_LUA"]
LUA_CPATH = os.environ["LBM_LUA_CPATH"]
TIMEOUT = 5 * SLOW  # each face's own timeout
WRONG = "Wrong-Pa55word-7d41c9"
MEMBER = "192.0.2.10:80"
failures = []


def fail(what, *context):
    failures.append(what)
    print("FAIL: " + what, *[str(c)[-2000:] for c in context], sep="\n", flush=True)


class CmdlineWatch(threading.Thread):
    """Every process's command line, read every few milliseconds, searched
    for the secrets."""

    def __init__(self, secrets):
        super().__init__(daemon=True)
        self.secrets = [s.encode() for s in secrets]
        self.found = []
        self.scans = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        cmd = f.read()
                except OSError:
                    continue
                if any(s in cmd for s in self.secrets):
                    self.found.append((pid, cmd.replace(b"\0", b" ")[:300]))
            self.scans += 1
            self.stop.wait(0.005)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(name, cmd, env, expect_ok, secrets, must_say=None):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    out = p.stdout + p.stderr
    for s in secrets:
        if s in out:
            fail("%s: the password appears in the output" % name, out)
    if expect_ok and p.returncode != 0:
        fail("%s: expected success, exit %d" % (name, p.returncode), out)
    if not expect_ok and p.returncode == 0:
        fail("%s: expected a failure, exit 0" % name, out)
    if must_say and not any(w in out.lower() for w in must_say):
        fail("%s: the output does not say %s" % (name, " or ".join(must_say)), out)
    print("ok   %s (exit %d)" % (name, p.returncode), flush=True)
    return p


def write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path


LUA_SCRIPT = """
local lbm = require "lbmember"
local opts = { user = os.getenv("T_USER"), password = os.getenv("T_PW"),
  timeout = tonumber(os.getenv("T_TIMEOUT")) }
if os.getenv("T_CA") ~= "" then opts.ca_file = os.getenv("T_CA") end
local lb, err, code = lbm.open(os.getenv("T_TARGET"), opts)
if lb then
  local res
  res, err, code = lb:drain("web", os.getenv("T_MEMBER"), { min_enabled = 0 })
  if res then res, err, code = lb:enable("web", os.getenv("T_MEMBER")) end
  if res then print("ok") os.exit(0) end
end
io.stderr:write("lua: ", tostring(err), " (", tostring(code), ")\\n")
os.exit(1)
"""


def faces(f5, tmp, a, target, password, ca, label, expect_ok, must_say=None):
    """Each face once against target with password and CA ca (None: the
    system's CAs, which do not trust the emulator)."""
    secrets = [f5.password, WRONG]
    pwfile = write(os.path.join(tmp, "pw-" + label), password)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LBM_F5_")}
    ca_args = ["--ca-file", ca] if ca else []

    env = dict(base_env, LBM_F5_USER=f5.user)
    run("cli %s (password file)" % label,
        [CLI, "--timeout", "%g" % TIMEOUT] + ca_args + ["--password-file", pwfile, target, "drain", "web", MEMBER,
                                           "--min-enabled", "0"], env, expect_ok, secrets, must_say)
    run("cli %s (environment, --json)" % label,
        [CLI, "--json", "--timeout", "%g" % TIMEOUT] + ca_args + [target, "enable", "web", MEMBER],
        dict(env, LBM_F5_PASSWORD=password), expect_ok, secrets, must_say)
    run("nagios %s (-vvv)" % label,
        [CHECK, "-T", target, "-P", "web", "-t", "%d" % TIMEOUT, "-u", f5.user, "--password-file", pwfile, "-v", "-v", "-v"]
        + ca_args, base_env, expect_ok, secrets, must_say)

    lua_env = dict(base_env, LUA_CPATH=LUA_CPATH, T_USER=f5.user, T_PW=password, T_CA=ca or "",
                   T_TARGET=target, T_MEMBER=MEMBER, T_TIMEOUT="%g" % TIMEOUT)
    if os.environ.get("LBM_LUA_PRELOAD"):
        lua_env.update(LD_PRELOAD=os.environ["LBM_LUA_PRELOAD"], ASAN_OPTIONS="detect_leaks=0")
    script = write(os.path.join(tmp, "secrets.lua"), LUA_SCRIPT)
    run("lua %s" % label, [LUA, script], lua_env, expect_ok, secrets, must_say)

    vars_file = a.write("secrets-%s.json" % label, {"f5_password": password})
    args = dict(target=target, user=f5.user, password="{{ f5_password }}", pool="web", member=MEMBER,
                state="draining", min_enabled=0, timeout=TIMEOUT)
    if ca:
        args["ca_path"] = ca
    for callback in ("default", "json"):
        # -vvv output is not one JSON document: read it raw.
        pb = a.playbook([task("drain", ignore_errors=True, **args)], callback=callback,
                        args=["-vvv", "-e", "@" + vars_file], popen=True)
        stdout, stderr = pb.communicate(timeout=300)
        out = stdout + stderr
        name = "ansible-playbook -vvv %s (%s callback)" % (label, callback)
        for s in secrets:
            if s in out:
                fail("%s: the password appears in the output" % name, out)
        failed = '"failed": true' in out or "FAILED!" in out or "fatal:" in out
        if expect_ok == failed:
            fail("%s: expected %s" % (name, "success" if expect_ok else "a failure"), out)
        if must_say and not any(w in out.lower() for w in must_say):
            fail("%s: the output does not say %s" % (name, " or ".join(must_say)), out)
        print("ok   %s" % name, flush=True)


def main():
    with F5Emulator() as f5, Ansible() as a:
        tmp = a.tmp
        watch = CmdlineWatch([f5.password, WRONG])
        watch.start()
        try:
            faces(f5, tmp, a, f5.target, f5.password, f5.ca_file, "success", True)
            faces(f5, tmp, a, f5.target, WRONG, f5.ca_file, "wrong-password", False, ["refused", "401", "auth"])
            faces(f5, tmp, a, "f5://127.0.0.1:%d" % closed_port(), f5.password, f5.ca_file, "unreachable", False,
                  ["cannot reach", "connect", "refused"])
            # TLS verification is on by default: no CA given, the system's do not trust the emulator.
            faces(f5, tmp, a, f5.target, f5.password, None, "untrusted-certificate", False,
                  ["certificate", "tls", "ssl"])
            faces(f5, tmp, a, f5.target, f5.password, f5.other_ca_file, "wrong-ca", False,
                  ["certificate", "tls", "ssl"])
        finally:
            watch.stop.set()
            watch.join()
        if watch.found:
            fail("the password was on a command line", *watch.found)
        if watch.scans < 10:
            fail("the command-line watch scanned only %d times" % watch.scans)
        print("command lines scanned %d times" % watch.scans)
    print("%d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
