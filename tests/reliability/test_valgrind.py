# SPDX-License-Identifier: MIT
"""valgrind memcheck: no invalid access and no definite leak in the unit
tests, in every fuzz harness replaying its corpus (every parser, every past
finding), and in CLI runs against a real HAProxy (list, status, bulk
changes, dry run, errors).

Needs $LBM_CLI, $LBM_HAPROXY, $LBM_TEST_CORE, $LBM_FUZZ_BIN (the build's
tests/fuzz) and $LBM_FUZZ_CORPUS.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from haproxy_fixture import HAProxy  # noqa: E402

VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"
MEMCHECK = [VALGRIND, "--quiet", "--error-exitcode=99", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", "--track-origins=no"]
CLI = os.environ["LBM_CLI"]
FUZZERS = ["target", "haproxy", "f5", "ipvs", "statestore", "nagios_range", "ansible_args"]
failures = []


def memcheck(name, cmd, ok_codes=(0,)):
    p = subprocess.run(MEMCHECK + cmd, capture_output=True, text=True, timeout=600)
    if p.returncode == 99 or p.returncode not in ok_codes:
        failures.append(name)
        print("FAIL %s: exit %d\n%s" % (name, p.returncode, p.stderr[-4000:]), flush=True)
    else:
        print("ok   %s (exit %d)" % (name, p.returncode), flush=True)


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
    with HAProxy(backends) as h:
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
                memcheck("cli %s (%s)" % (name, target.split(":")[0] + (" tcp" if target == h.target_tcp else
                                                                         " unix")),
                         [CLI, "--timeout", "10", target] + args, codes)
    memcheck("cli nothing listening", [CLI, "--timeout", "2", "haproxy://127.0.0.1:1", "list"], (1,))
    print("%d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
