# SPDX-License-Identifier: MIT
"""The bash completion of lbmember (plugins/cli/lbmember.bash-completion).

Usage: test_completion.py complete   against real HAProxies on loopback
       test_completion.py install BUILD_DIR   cmake --install puts it where
                                              bash-completion looks for it
Needs $LBM_CLI (the lbmember binary) and $LBM_COMPLETION (the script).

"complete" calls _lbmember in `bash --norc` with COMP_LINE, COMP_POINT,
COMP_WORDS and COMP_CWORD set as bash sets them (under set -u, without the
bash-completion package) and compares COMPREPLY with the exact list
expected; then types a few lines with TAB into an interactive bash on a pty,
where readline itself inserts the candidates (what ':' in targets does to
them is readline's business, not COMP_WORDS').
"""

import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from haproxy_fixture import HAProxy  # noqa: E402
from slowdown import SLOW  # noqa: E402

CLI = os.environ["LBM_CLI"]
SCRIPT = os.environ["LBM_COMPLETION"]
COMMANDS = ["list", "watch", "status", "enable", "drain", "disable", "save-state"]
WORDBREAKS = " \t\n\"'><=;|&(:"  # bash's default COMP_WORDBREAKS

# One completion, as bash calls it: COMPREPLY NUL-separated on stdout.
DRIVER = r"""
set -u
source "$LBM_COMPLETION"
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
COMP_LINE=$1 COMP_POINT=$2 COMP_CWORD=$3
shift 3
COMP_WORDS=("$@")
_lbmember "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]-}" "${COMP_WORDS[COMP_CWORD-1]-}"
rc=$?
((${#COMPREPLY[@]} == 0)) || printf '%s\0' "${COMPREPLY[@]}"
exit $rc
"""


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def comp_words(line):
    """COMP_WORDS and COMP_CWORD as bash makes them of a line completed at
    its end: split at blanks, and at COMP_WORDBREAKS characters, a run of
    which is a word of its own."""
    out = []
    for w in line.split():
        out += re.findall(r"[^%s]+|[%s]+" % (re.escape(WORDBREAKS), re.escape(WORDBREAKS)), w)
    if not line or line[-1].isspace():
        out.append("")
    return out, len(out) - 1


class Shell:
    """Runs the completion in a fresh `bash --norc` for each line."""

    def __init__(self, bindir, home):
        self.env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
                        HOME=home, LBM_COMPLETION=SCRIPT)
        self.env.pop("BASH_ENV", None)

    def complete(self, line, cwd=None):
        words, cword = comp_words(line)
        start = time.monotonic()
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", DRIVER, "bash", line, str(len(line)),
                            str(cword)] + words, capture_output=True, env=self.env, cwd=cwd, timeout=30)
        elapsed = time.monotonic() - start
        check(p.returncode == 0, "%r: _lbmember exit %d, stderr %r" % (line, p.returncode, p.stderr))
        check(p.stderr == b"", "%r: stderr %r" % (line, p.stderr))
        reply = p.stdout.decode().split("\0")[:-1]
        return reply, elapsed

    def expect(self, line, expected, sort=False, cwd=None):
        reply, _ = self.complete(line, cwd)
        if sort:
            reply = sorted(reply)
        check(reply == expected, "%r: COMPREPLY %r, expected %r" % (line, reply, expected))


def fake_program(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)


def test_complete():
    tmp = tempfile.mkdtemp(prefix="lbm-completion-")
    try:
        bindir = os.path.join(tmp, "bin")
        home = os.path.join(tmp, "home")
        os.makedirs(bindir)
        os.makedirs(os.path.join(home, "sub"))
        os.symlink(CLI, os.path.join(bindir, "lbmember"))
        sh = Shell(bindir, home)
        a = HAProxy({"www": [("w1", "127.0.0.2", 1), ("w2", "127.0.0.3", 1)], "api": [("a1", "127.0.0.4", 1)]})
        b = HAProxy({"www": [("w1", "127.0.0.2", 1), ("w3", "127.0.0.5", 1)], "other": [("o1", "127.0.0.6", 1)]})
        with a, b:
            run_cases(sh, a, b, tmp, home)
            run_unreachable(sh, tmp)
            run_passed_options(tmp, a, home)
            run_readline(bindir, home, a)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_cases(sh, a, b, tmp, home):
    A, B = a.target_unix, b.target_unix
    # Targets: the schemes of --help's "Targets:".
    sh.expect("lbmember ", ["lvs://", "haproxy://", "f5://"])
    sh.expect("lbmember h", ["haproxy://"])
    sh.expect("lbmember --json ", ["lvs://", "haproxy://", "f5://"])
    # The value of an option is not the target.
    sh.expect("lbmember --timeout 3 ", ["lvs://", "haproxy://", "f5://"])
    sh.expect("lbmember --timeout ", [])
    # Commands.
    sh.expect("lbmember %s " % A, COMMANDS)
    sh.expect("lbmember %s dr" % A, ["drain"])
    sh.expect("lbmember %s d" % A, ["drain", "disable"])
    sh.expect("lbmember --json %s s" % A, ["status", "save-state"])
    # Pools and members, read from the target.
    sh.expect("lbmember %s drain " % A, ["-", "www", "api"])
    sh.expect("lbmember %s drain a" % A, ["api"])
    sh.expect("lbmember %s drain www " % A, ["w1", "w2"])
    sh.expect("lbmember %s drain www w1 " % A, ["w2"])
    sh.expect("lbmember %s drain www w1 w2 " % A, [])
    sh.expect("lbmember %s drain - " % A, ["w1", "w2", "a1"])
    sh.expect("lbmember %s drain nosuchpool " % A, [])
    sh.expect("lbmember %s enable api " % A, ["a1"])
    sh.expect("lbmember %s disable www w" % A, ["w1", "w2"])
    sh.expect("lbmember --json %s status www w" % A, ["w1", "w2"])
    sh.expect("lbmember %s status " % A, ["-", "www", "api"])
    sh.expect("lbmember %s status www w1 " % A, [])
    # Options anywhere, their values skipped.
    sh.expect("lbmember %s drain www --wait 5 w" % A, ["w1", "w2"])
    sh.expect("lbmember %s --dry-run drain --min-enabled 0 www --json w" % A, ["w1", "w2"])
    sh.expect("lbmember --timeout 3 %s list " % A, ["www", "api"])
    sh.expect("lbmember %s list www " % A, ["api"])
    # Over TCP: the ':' of the target is a COMP_WORDBREAKS word of its own.
    sh.expect("lbmember %s drain www " % a.target_tcp, ["w1", "w2"])
    sh.expect("lbmember %s st" % a.target_tcp, ["status"])
    # An HA pair: the names of both.
    sh.expect("lbmember %s,%s drain " % (A, B), ["-", "www", "api", "other"])
    sh.expect("lbmember %s,%s drain www " % (A, B), ["w1", "w2", "w3"])
    sh.expect("lbmember %s,%s drain - " % (A, B), ["w1", "w2", "a1", "w3", "o1"])
    sh.expect("lbmember %s,%s list o" % (A, B), ["other"])
    # Options, from --help.
    sh.expect("lbmember --wa", ["--wait"])
    sh.expect("lbmember --state-", ["--state-dir", "--state-file"])
    sh.expect("lbmember %s drain www --dry" % A, ["--dry-run"])
    sh.expect("lbmember -V", ["-V"])
    sh.expect("lbmember --nosuch", [])
    # Socket paths after haproxy:///, sockets and directories only. Readline
    # replaces only what follows the last ':', so that is what COMPREPLY holds.
    d = a.workdir
    os.mkdir(os.path.join(d, "sub"))
    sh.expect("lbmember haproxy://%s/" % d, ["//%s/%s" % (d, n) for n in
                                             ("admin.sock", "operator.sock", "sub", "user.sock")], sort=True)
    sh.expect("lbmember haproxy://%s/ad" % d, ["//%s/admin.sock" % d])
    sh.expect("lbmember --json haproxy://%s/haproxy" % d, [])
    sh.expect("lbmember %s,haproxy://%s/ad" % (B, d), ["//%s/admin.sock" % d])
    sh.expect("lbmember %s,h" % B, ["%s,haproxy://" % B[len("haproxy:"):]])
    # File and directory values.
    sh.expect("lbmember --password-file %s/haproxy." % d, ["%s/haproxy.cfg" % d, "%s/haproxy.log" % d], sort=True)
    sh.expect("lbmember --ca-file=%s/haproxy.c" % d, ["%s/haproxy.cfg" % d])
    sh.expect("lbmember --state-dir %s/" % d, ["%s/sub" % d])
    sh.expect("lbmember --state-dir=%s/s" % d, ["%s/sub" % d])
    sh.expect("lbmember --state-file ha", ["haproxy.cfg", "haproxy.log"], sort=True, cwd=d)
    sh.expect("lbmember %s save-state %s/haproxy.c" % (A, d), ["%s/haproxy.cfg" % d])
    sh.expect("lbmember %s save-state %s/haproxy.cfg " % (A, d), [])
    sh.expect("lbmember --user ", [])
    # What the CLI has gained since (watch, --reason...), once it has.
    help_text = subprocess.run([CLI, "--help"], capture_output=True, text=True).stdout
    if "TARGET watch" in help_text:
        sh.expect("lbmember %s watch " % A, ["www", "api"])
        sh.expect("lbmember %s watch --interval 1 --count 2 a" % A, ["api"])
        sh.expect("lbmember --int", ["--interval"])
    if "--reason TEXT" in help_text:
        sh.expect("lbmember --reason maintenance %s drain www " % A, ["w1", "w2"])
        sh.expect("lbmember %s disable --force-after 3 --wait 9 www w" % A, ["w1", "w2"])


def run_unreachable(sh, tmp):
    """No candidates, nothing printed, and soon."""
    # A TCP port that takes the connection and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        target = "haproxy://127.0.0.1:%d" % silent.getsockname()[1]
        for line in ("lbmember %s drain " % target, "lbmember %s drain www " % target,
                     "lbmember %s,haproxy://%s/none.sock list " % (target, tmp)):
            reply, elapsed = sh.complete(line)
            check(reply == [], "%r: COMPREPLY %r" % (line, reply))
            check(elapsed < 3 * SLOW, "%r: %.1f s" % (line, elapsed))
    for line in ("lbmember haproxy://%s/none.sock drain " % tmp, "lbmember lvs://?netns=nosuch drain ",
                 "lbmember nosuch:// drain "):
        reply, elapsed = sh.complete(line)
        check(reply == [], "%r: COMPREPLY %r" % (line, reply))
        check(elapsed < 3 * SLOW, "%r: %.1f s" % (line, elapsed))
    # A program that hangs is cut off by the completion's own bound.
    hang = os.path.join(tmp, "hang")
    os.makedirs(hang)
    fake_program(os.path.join(hang, "lbmember"),
                 'case "$*" in *--help*) exec "%s" --help;; esac\nexec sleep 30\n' % CLI)
    reply, elapsed = Shell(hang, tmp).complete("lbmember haproxy:///x.sock drain ")
    check(reply == [], "hanging lbmember: COMPREPLY %r" % reply)
    check(elapsed < 3.5, "hanging lbmember: %.1f s" % elapsed)


def run_passed_options(tmp, a, home):
    """The options that say how to reach the target go on to the listing;
    --json, --timeout and the options of a change do not."""
    rec = os.path.join(tmp, "rec")
    os.makedirs(rec)
    log = os.path.join(tmp, "argv.log")
    fake_program(os.path.join(rec, "lbmember"),
                 'case "$*" in *--help*) ;; *) printf "%%s\\n" "$@" > "%s";; esac\nexec "%s" "$@"\n' % (log, CLI))
    sh = Shell(rec, home)
    sh.expect("lbmember --json --state-dir /sd --insecure --user bob --ca-file=/ca.pem --password-file ~/pw "
              "--wait 5 --timeout 3 --dry-run --min-enabled 0 %s drain www " % a.target_unix, ["w1", "w2"])
    with open(log) as f:
        argv = f.read().splitlines()
    expected = ["--timeout", "1", "--state-dir", "/sd", "--insecure", "--user", "bob", "--ca-file=/ca.pem",
                "--password-file", home + "/pw", a.target_unix, "list"]
    check(argv == expected, "listing run as %r, expected %r" % (argv, expected))
    help_text = subprocess.run([CLI, "--help"], capture_output=True, text=True).stdout
    for line, needs in (("lbmember --reason why --force-after 3 --wait 9 --state-dir /sd %s drain www ", "--reason"),
                        ("lbmember --interval 1 --count 2 --state-dir /sd %s watch ", "TARGET watch")):
        if needs not in help_text:
            continue
        os.unlink(log)
        sh.complete(line % a.target_unix)
        with open(log) as f:
            argv = f.read().splitlines()
        expected = ["--timeout", "1", "--state-dir", "/sd", a.target_unix, "list"]
        check(argv == expected, "%r: listing run as %r, expected %r" % (line, argv, expected))


def run_readline(bindir, home, a):
    """Lines typed with TAB into an interactive bash: what readline makes of
    COMPREPLY. Each line is ended with X and run as arguments of `show`,
    which prints them, so a space added after a word shows."""
    d = a.workdir
    cases = [
        ("lbmember hap\t", ["lbmember", "haproxy://X"]),
        ("lbmember haproxy://%s/ad\t" % d, ["lbmember", "haproxy://%s/admin.sock" % d, "X"]),
        ("lbmember haproxy://%s/su\t" % d, ["lbmember", "haproxy://%s/sub/X" % d]),
        ("lbmember %s dr\t" % a.target_unix, ["lbmember", a.target_unix, "drain", "X"]),
        ("lbmember %s drain a\t" % a.target_unix, ["lbmember", a.target_unix, "drain", "api", "X"]),
        ("lbmember %s drain api \t" % a.target_tcp, ["lbmember", a.target_tcp, "drain", "api", "a1", "X"]),
        ("lbmember %s drain www w\t2\t" % a.target_unix, ["lbmember", a.target_unix, "drain", "www", "w2", "X"]),
        ("lbmember --state-dir=%s/su\t" % d, ["lbmember", "--state-dir=%s/sub/X" % d]),
        ("lbmember --ti\t3 %s li\t" % a.target_tcp, ["lbmember", "--timeout", "3", a.target_tcp, "list", "X"]),
    ]
    env = {"PATH": bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "TERM": "dumb",
           "INPUTRC": "/dev/null", "PS1": "$ ", "LANG": "C"}
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(home)
        os.execve(shutil.which("bash"), ["bash", "--norc", "--noprofile", "-i"], env)
    buf = b""

    def read_until(pattern, timeout=20 * SLOW):
        nonlocal buf
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(pattern, buf)
            if m:
                buf = buf[m.end():]
                return m
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    buf += os.read(fd, 65536)
                except OSError:
                    break
        raise AssertionError("bash on the pty: no %r in %r" % (pattern, buf[-2000:]))

    try:
        # The marker is split in the typed text so that only the output has it.
        os.write(fd, b"set -u; source '%s'; show() { printf 'AR''GS'; printf '[%%s]' \"$@\"; printf '\\n'; }\r"
                 % SCRIPT.encode())
        for typed, expected in cases:
            # ^E: to the end, X; ^A: to the start, "show ".
            os.write(fd, typed.encode() + b"\x05X\x01show \r")
            got = re.findall(r"\[([^]]*)\]", read_until(rb"ARGS(.*?)\r?\n").group(1).decode())
            check(got == expected, "typed %r: the line became %r, expected %r" % (typed, got, expected))
        os.write(fd, b"exit\r")
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)


def test_install(build):
    prefix = tempfile.mkdtemp(prefix="lbm-install-")
    try:
        p = subprocess.run(["cmake", "--install", build, "--prefix", prefix], capture_output=True, text=True,
                           timeout=300)
        check(p.returncode == 0, "cmake --install: %s %s" % (p.stdout, p.stderr))
        installed = os.path.join(prefix, "share", "bash-completion", "completions", "lbmember")
        check(os.path.isfile(installed), "%s not installed" % installed)
        with open(installed, "rb") as f, open(SCRIPT, "rb") as g:
            check(f.read() == g.read(), "the installed completion differs from %s" % SCRIPT)
        # What bash-completion does on the first TAB after "lbmember": source
        # the file named after the command, which must register itself; then
        # it completes with the installed program.
        libdirs = sorted({os.path.dirname(os.path.join(r, n)) for r, _, ns in os.walk(prefix) for n in ns
                          if n.startswith("liblbmember.so")})
        env = dict(os.environ, PATH=os.path.join(prefix, "bin") + os.pathsep + os.environ.get("PATH", ""),
                   LD_LIBRARY_PATH=os.pathsep.join(libdirs), F=installed)
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                            'set -u; source "$F"; complete -p lbmember; COMP_LINE="lbmember --js" COMP_POINT=13; '
                            '_lbmember lbmember --js lbmember; printf "%s\\n" "${COMPREPLY[@]}"'],
                           capture_output=True, text=True, env=env, timeout=30)
        check(p.returncode == 0 and p.stderr == "", "installed completion: exit %d, %r" % (p.returncode, p.stderr))
        check(p.stdout == "complete -F _lbmember lbmember\n--json\n", "installed completion: %r" % p.stdout)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        if mode == "complete":
            test_complete()
        elif mode == "install" and len(sys.argv) == 3:
            test_install(sys.argv[2])
        else:
            sys.exit(__doc__)
    except Exception:
        traceback.print_exc()
        print("0 passed, 1 failed")
        sys.exit(1)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
