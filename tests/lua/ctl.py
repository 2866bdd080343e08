# SPDX-License-Identifier: MIT
"""ctl.py DIR MEMBER: the restart command given to rolling_restart.lua in
test_rolling.py. Asks the test to restart MEMBER's backend server (creates
DIR/restart-MEMBER), waits until it says done (DIR/restarted-MEMBER), exits 0,
or 1 when the test wrote DIR/fail-MEMBER instead."""

import os
import sys
import time


def main():
    ctl, member = sys.argv[1:3]
    open(os.path.join(ctl, "restart-" + member), "w").close()
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if os.path.exists(os.path.join(ctl, "restarted-" + member)):
            return 0
        if os.path.exists(os.path.join(ctl, "fail-" + member)):
            print("ctl.py: %s did not come back" % member, file=sys.stderr)
            return 1
        time.sleep(0.02)
    return 1


if __name__ == "__main__":
    sys.exit(main())
