# SPDX-License-Identifier: MIT
"""Run a Lua test script under the real lua5.4, against the fake driver or a
real HAProxy started here.

    run.py fake SCRIPT
    run.py haproxy SCRIPT

Environment (set by CTest): LBM_SRC, LBM_LUA (the interpreter), LBM_LUA_CPATH
(where lbmember.so is), LBM_LUA_PRELOAD (the ASan runtime, sanitizer builds).

In haproxy mode the script sees LBM_TARGET (unix socket), LBM_TARGET_TCP,
LBM_TARGET_USER (a socket at level "user"), LBM_WITNESS (a shell command
prefix: `$LBM_WITNESS BACKEND SERVER` prints that server's `show stat`
status, weight and scur as key=value lines, read with plain sockets, not
lbmember) and LBM_CTL, a directory: creating LBM_CTL/release makes the
connection held on web/s3 since the start finish.
"""

import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("LBM_SRC", os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))

from haproxy_fixture import HAProxy, BackendServer  # noqa: E402

# Children of the interpreter (io.popen, os.execute) must not inherit the
# ASan runtime: this prefix drops it (dash execs the last command of sh -c).
UNPRELOAD = "env -u LD_PRELOAD "


def lua_env(extra=None):
    """The environment for the lua5.4 child."""
    env = dict(os.environ)
    env["LUA_CPATH"] = os.environ["LBM_LUA_CPATH"]
    env["LUA_PATH"] = ";".join([os.path.join(HERE, "?.lua"), os.path.join(SRC, "examples", "?.lua")])
    if os.environ.get("LBM_LUA_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["LBM_LUA_PRELOAD"]
        # Leaks must fail the test; nothing else in the interpreter leaks.
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=23"
    env.update(extra or {})
    return env


def run_lua(args, extra_env=None, timeout=240):
    """Run lua5.4 with args; return its exit code, output passed through."""
    cmd = [os.environ.get("LBM_LUA", "lua5.4")] + list(args)
    proc = subprocess.run(cmd, env=lua_env(extra_env), timeout=timeout)
    return proc.returncode


def backends(n=3, hosts=("127.0.0.2", "127.0.0.3", "127.0.0.4")):
    return [BackendServer(host=hosts[i % len(hosts)], name="s%d" % (i + 1)).start() for i in range(n)]


def haproxy_mode(script):
    servers = backends()
    other = BackendServer(host="127.0.0.5", name="a2").start()
    web = [("s%d" % (i + 1), b.host, b.port) for i, b in enumerate(servers)]
    api = [("s1", servers[0].host, servers[0].port), ("a2", other.host, other.port)]
    ha = HAProxy({"web": web, "api": api}, check=True).start()
    ctl = os.path.join(ha.workdir, "ctl")
    os.mkdir(ctl)
    held = ha.hold("web", "s3")
    stop = threading.Event()

    def release_when_asked():
        while not stop.is_set():
            if os.path.exists(os.path.join(ctl, "release")):
                servers[2].release()
                held.close()
                return
            time.sleep(0.05)

    try:
        if not servers[2].wait_held(1):
            print("run.py: the connection to hold on web/s3 did not arrive", file=sys.stderr)
            return 1
        threading.Thread(target=release_when_asked, daemon=True).start()
        witness = "%s%s %s %s" % (UNPRELOAD, sys.executable, os.path.join(HERE, "witness.py"), ha.workdir)
        return run_lua([script], {
            "LBM_TARGET": ha.target_unix,
            "LBM_TARGET_TCP": ha.target_tcp,
            "LBM_TARGET_USER": ha.target_unix_level("user"),
            "LBM_WITNESS": witness,
            "LBM_CTL": ctl,
        })
    finally:
        stop.set()
        held.close()
        ha.stop()
        for s in servers + [other]:
            s.stop()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("fake", "haproxy"):
        print("usage: run.py fake|haproxy SCRIPT", file=sys.stderr)
        return 2
    if sys.argv[1] == "fake":
        return run_lua([sys.argv[2]])
    return haproxy_mode(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
