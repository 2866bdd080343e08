# SPDX-License-Identifier: MIT
"""The last test of an LBM_VALGRIND build: every valgrind memcheck log that
the suite's runs wrote (BUILD/valgrind/logs, one per run of one of our
programs) is read, and the test fails, printing the log, on any error or
definite leak, including in runs whose exit code a test did not look at.

A run that ended normally has an ERROR SUMMARY, which must say 0 errors (a
definite leak counts as an error: --errors-for-leak-kinds=definite). A run
that was killed (a test killing the CLI on purpose, or on timeout) has none:
it is counted as cut short, and fails only if its log reports an error
before the kill. Fails also if there is no log at all, or no complete one:
the check never passes on nothing.

Usage: valgrind_logs.py LOG_DIR
"""
import os
import re
import sys

SUMMARY = re.compile(r"^==\d+== ERROR SUMMARY: (\d+) errors? from (\d+) contexts?", re.M)
# What memcheck writes when it reports an error or a leak (the kinds it can
# report before the summary), for the logs of killed runs.
ERROR = re.compile(r"^==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param"
                   r"|Mismatched free|Source and destination overlap|Argument '.*' of function"
                   r"|.*definitely lost in|Process terminating with default action of signal (4|6|7|8|11) )",
                   re.M)


def main():
    logdir = sys.argv[1]
    names = sorted(n for n in os.listdir(logdir) if n.endswith(".log")) if os.path.isdir(logdir) else []
    complete = cut_short = 0
    bad = []
    programs = {}
    for name in names:
        with open(os.path.join(logdir, name), errors="replace") as f:
            text = f.read()
        prog = name.split(".", 1)[0]
        programs[prog] = programs.get(prog, 0) + 1
        m = SUMMARY.search(text)
        if m:
            complete += 1
            if int(m.group(1)) != 0:
                bad.append((name, text))
        else:
            cut_short += 1
            if ERROR.search(text):
                bad.append((name, text))
    for name, text in bad:
        print("==== %s\n%s" % (name, text[-20000:]))
    print("%d valgrind logs: %d complete, %d cut short (killed), %d with an error or a definite leak" %
          (len(names), complete, cut_short, len(bad)))
    print("runs per program: " + ", ".join("%s %d" % kv for kv in sorted(programs.items())))
    if not complete:
        print("FAIL: no complete valgrind log in %s: nothing ran under valgrind" % logdir)
        sys.exit(1)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
