# SPDX-License-Identifier: MIT
"""witness.py WORKDIR BACKEND SERVER: print the server's `show stat` status,
weight and scur, and `show servers state` admin state, as key=value lines,
asking the HAProxy whose admin socket is WORKDIR/admin.sock directly (plain
sockets, not lbmember)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

from haproxy_fixture import HAProxy  # noqa: E402


def main():
    workdir, backend, server = sys.argv[1:4]
    ha = HAProxy({}, workdir=workdir)  # not started: only its witness methods
    row = ha.server_stat(backend, server)
    state = ha.server_state(backend, server)
    print("status=%s" % row["status"])
    print("weight=%s" % row["weight"])
    print("scur=%s" % row["scur"])
    print("admin=%s" % state["srv_admin_state"])
    print("addr=%s" % state["srv_addr"])
    print("port=%s" % state["srv_port"])


if __name__ == "__main__":
    main()
