# SPDX-License-Identifier: MIT
"""Run a Lua test script under the real lua5.4, alone (the fake driver) or with a
real HAProxy or the F5 emulator started here.

    run.py plain SCRIPT     (no balancer: the fake driver, or none)
    run.py haproxy SCRIPT
    run.py f5 SCRIPT

Environment (set by CTest): LBM_SRC, LBM_LUA (the interpreter), LBM_LUA_CPATH
(where lbmember.so is), LBM_LUA_PRELOAD (the ASan runtime, sanitizer builds).

Every script gets a fresh LBM_STATE_DIR, removed afterwards, so that
lbmember's records (who took a member out, when and why) stay out of
/var/lib/lbmember and out of the next run; SUDO_USER is "lbm-operator", the
name they record; LBM_RECORDS is a shell command prefix:
`$LBM_RECORDS POOL MEMBER` prints the record's file as key=value lines
(target, state, by, since, reason), or none=1.

In haproxy mode (backends web: s1 s2 s3, api: s1 a2, trk: t1 and t2 which
tracks t1; health checks on) the script sees LBM_TARGET (unix socket), LBM_TARGET_TCP,
LBM_TARGET_USER (a socket at level "user"), LBM_PEER and LBM_PEER_OPERATOR (a
second HAProxy with the same web backend, as the other balancer of a pair, and
its socket at level "operator"), LBM_WITNESS (a shell command
prefix: `$LBM_WITNESS BACKEND SERVER` prints that server's `show stat`
status, weight and scur as key=value lines, read with plain sockets, not
lbmember) and LBM_CTL, a directory: creating LBM_CTL/release makes the
connection held on web/s3 since the start finish; creating LBM_CTL/hold-NAME
opens a connection held on web/NAME (until the end), and LBM_CTL/held-NAME
appears once its server holds it.

In f5 mode (the iControl REST emulator, tests/lib/f5_fixture.py): LBM_TARGET,
LBM_CA_FILE, LBM_OTHER_CA_FILE (a CA that did not sign the emulator's
certificate), LBM_PASSWORD_FILE, LBM_F5_USER and LBM_F5_PASSWORD, and
LBM_WITNESS (`$LBM_WITNESS POOL FULL_PATH [FIELD=JSON...]` prints the
emulator's record of the member, after setting the fields given).
"""

import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("LBM_SRC", os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))

from haproxy_fixture import HAProxy, BackendServer  # noqa: E402
from f5_fixture import F5Emulator  # noqa: E402

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
    with tempfile.TemporaryDirectory(prefix="lbm-lua-state-") as state:
        records = "%s%s %s records %s" % (UNPRELOAD, sys.executable, os.path.join(HERE, "witness.py"), state)
        env = dict({"LBM_STATE_DIR": state, "SUDO_USER": "lbm-operator", "LBM_RECORDS": records}, **(extra_env or {}))
        proc = subprocess.run(cmd, env=lua_env(env), timeout=timeout)
    return proc.returncode


def backends(n=3, hosts=("127.0.0.2", "127.0.0.3", "127.0.0.4")):
    return [BackendServer(host=hosts[i % len(hosts)], name="s%d" % (i + 1)).start() for i in range(n)]


def haproxy_mode(script):
    servers = backends()
    other = BackendServer(host="127.0.0.5", name="a2").start()
    web = [("s%d" % (i + 1), b.host, b.port) for i, b in enumerate(servers)]
    api = [("s1", servers[0].host, servers[0].port), ("a2", other.host, other.port)]
    trk = [("t1", other.host, other.port), ("t2", other.host, other.port, "track trk/t1")]
    ha = HAProxy({"web": web, "api": api, "trk": trk}, check=True).start()
    # The other balancer of an HA pair: the same web backend, its own state.
    ha2 = HAProxy({"web": web}, check=True).start()
    ctl = os.path.join(ha.workdir, "ctl")
    os.mkdir(ctl)
    held = ha.hold("web", "s3")
    asked = []  # connections held on demand: hold-NAME
    stop = threading.Event()

    def hold_when_asked():
        for s in servers:
            name = os.path.join(ctl, "hold-" + s.name)
            if os.path.exists(name):
                os.remove(name)
                before = s.held
                asked.append(ha.hold("web", s.name))
                if s.wait_held(before + 1):
                    open(os.path.join(ctl, "held-" + s.name), "w").close()

    def release_when_asked():
        released = False
        while not stop.is_set():
            if not released and os.path.exists(os.path.join(ctl, "release")):
                servers[2].release()
                held.close()
                released = True
            hold_when_asked()
            time.sleep(0.05)

    try:
        if not servers[2].wait_held(1):
            print("run.py: the connection to hold on web/s3 did not arrive", file=sys.stderr)
            return 1
        threading.Thread(target=release_when_asked, daemon=True).start()
        witness = "%s%s %s haproxy %s" % (UNPRELOAD, sys.executable, os.path.join(HERE, "witness.py"), ha.workdir)
        return run_lua([script], {
            "LBM_TARGET": ha.target_unix,
            "LBM_TARGET_TCP": ha.target_tcp,
            "LBM_TARGET_USER": ha.target_unix_level("user"),
            "LBM_PEER": ha2.target_unix,
            "LBM_PEER_OPERATOR": ha2.target_unix_level("operator"),
            "LBM_WITNESS": witness,
            "LBM_CTL": ctl,
        })
    finally:
        stop.set()
        held.close()
        for conn in asked:
            conn.close()
        ha.stop()
        ha2.stop()
        for s in servers + [other]:
            s.stop()


F5_POOLS = {
    "/Common/web": {"members": [{"name": "192.0.2.%d:80" % i, "monitor": "up"} for i in (10, 11, 12, 13)]},
    "/Tenant/app": {"members": [{"name": "198.51.100.30:443", "monitor": "up"},
                                {"name": "2001:db8::1.80", "monitor": "up"}]},
}


def f5_mode(script):
    with F5Emulator(pools=F5_POOLS) as f5:
        witness = "%s%s %s f5 %s %s" % (UNPRELOAD, sys.executable, os.path.join(HERE, "witness.py"),
                                        f5.url, f5.ca_file)
        env = f5.env(LBM_TARGET=f5.target, LBM_CA_FILE=f5.ca_file, LBM_OTHER_CA_FILE=f5.other_ca_file,
                     LBM_PASSWORD_FILE=f5.password_file, LBM_WITNESS=witness)
        return run_lua([script], {k: v for k, v in env.items() if k.startswith("LBM_")})


MODES = {"plain": lambda script: run_lua([script]), "haproxy": haproxy_mode, "f5": f5_mode}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in MODES:
        print("usage: run.py plain|haproxy|f5 SCRIPT", file=sys.stderr)
        return 2
    return MODES[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
