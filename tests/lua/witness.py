# SPDX-License-Identifier: MIT
"""The independent witness for the Lua tests: asks the balancer directly
(plain sockets or HTTPS, never lbmember) and prints key=value lines.

    witness.py haproxy WORKDIR BACKEND SERVER
        `show stat` status, weight, scur and `show servers state` admin
        state, addr, port, from the HAProxy whose socket is WORKDIR/admin.sock
    witness.py f5 URL CA_FILE POOL FULL_PATH [FIELD=VALUE...]
        the F5 emulator's own record of the member (session, state, ratio,
        conns...), after setting FIELD=VALUE through its knobs when given
    witness.py f5 URL CA_FILE --fault JSON
        make the emulator fail the next matching requests (its fault knob)
    witness.py f5 URL CA_FILE --config JSON
        set the emulator's configuration knobs (e.g. {"conn_counts": false})
    witness.py records STATE_DIR POOL MEMBER
        lbmember's record of who took the member out, when and why, read
        from its target's file in STATE_DIR/out (target, state, by, since,
        reason; the first target that has one), or none=1
"""

import json
import os
import ssl
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

from haproxy_fixture import HAProxy  # noqa: E402


def haproxy(workdir, backend, server):
    ha = HAProxy({}, workdir=workdir)  # not started: only its witness methods
    row = ha.server_stat(backend, server)
    state = ha.server_state(backend, server)
    return {"status": row["status"], "weight": row["weight"], "scur": row["scur"],
            "admin": state["srv_admin_state"], "addr": state["srv_addr"], "port": state["srv_port"]}


def f5(url, ca_file, pool, member, *sets):
    ctx = ssl.create_default_context(cafile=ca_file)

    def control(method, path, body=None):
        req = urllib.request.Request(url + "/__emulator__/" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    if pool == "--fault":
        control("POST", "faults", json.loads(member))
        return {"fault": "added"}
    if pool == "--config":
        control("POST", "config", json.loads(member))
        return {"config": "set"}
    if sets:
        fields = {k: json.loads(v) for k, v in (s.split("=", 1) for s in sets)}
        control("POST", "member", dict(fields, pool=pool, member=member))
    for m in control("GET", "pools").get(pool, []):
        if m["fullPath"] == member:
            return m
    raise SystemExit("witness.py: no member %s in %s" % (member, pool))


def records(state_dir, pool, member):
    """One file per target: {"target", "members": {"POOL\nMEMBER": {...}}}."""
    out = os.path.join(state_dir, "out")
    for name in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        if name.endswith(".json"):
            with open(os.path.join(out, name)) as f:
                rec = json.load(f)
            entry = rec["members"].get(pool + "\n" + member)
            if entry:
                return dict(entry, target=rec["target"])
    return {"none": 1}


def main():
    kind, args = sys.argv[1], sys.argv[2:]
    out = {"haproxy": haproxy, "f5": f5, "records": records}[kind](*args)
    for k, v in out.items():
        print("%s=%s" % (k, v))


if __name__ == "__main__":
    main()
