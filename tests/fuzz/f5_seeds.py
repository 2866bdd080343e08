#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write seeds for fuzz_f5 in the JSON shapes of each BIG-IP version the
emulator models: the emulator, started at that version, answers the
requests the driver makes for two of fuzz_f5's operations (list every pool;
drain the two members of web in one transaction), and each answer becomes
one segment of the seed (fuzz.h: segments split by FUZZ_SEP, each a status
byte, 0 for 200, then the body).

    f5_seeds.py OUT_DIR        (then: git add OUT_DIR/shape-*)
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from f5_fixture import F5Emulator  # noqa: E402

SEP = b"\n%%\n"
VERSIONS = ["11.6.5", "12.1.6", "13.1.0.6", "15.1.10", "16.1.4", "17.1.1"]
POOLS = {
    "/Common/web": {"members": [{"name": "192.0.2.1:80"}, {"name": "192.0.2.2:80"}]},
    "/Common/api": {"members": [{"name": "web-a:8080", "address": "198.51.100.81"}]},
    "/Common/fqdn-web": {"members": [{"name": "web-fqdn:80", "fqdn": "web.example.com",
                                      "addresses": ["198.51.100.91"]}]},
}
# fuzz_f5's first byte: (op >> 2) % 5 picks the call, op % 3 + 1 the state,
# 0x40 turns the guard off. Its second byte: 1 is basic auth (no login).
LIST_ALL = bytes([0x00, 0x01])
DRAIN_TWO = bytes([0x49, 0x01])  # (0x49 >> 2) % 5 == 3: the two of web; 0x49 % 3 + 1: draining


def segment(status, body):
    return bytes([0 if status == 200 else 8]) + json.dumps(body, separators=(",", ":")).encode()


def stats_of(f5, tok, pools):
    """Each pool's members/stats, then each member's own where its pool's
    answer left it out (the 13.1.0.6 quirk), in the driver's order."""
    first, then = [], []
    for pool in pools:
        tm = pool.replace("/", "~")
        status, stats = f5.rest("GET", "/mgmt/tm/ltm/pool/%s/members/stats" % tm, token=tok)
        first.append(segment(status, stats))
        keys = " ".join(stats.get("entries", {}))
        for m in f5.pools()[pool]:
            one = "/mgmt/tm/ltm/pool/%s/members/%s/stats" % (tm, m["fullPath"].replace("/", "~"))
            if one[len("/mgmt/tm/ltm/pool/") + len(tm):] not in keys:
                status, body = f5.rest("GET", one, token=tok)
                then.append(segment(status, body))
    return first + then


def list_all(f5, tok):
    status, pools = f5.rest("GET", "/mgmt/tm/ltm/pool?expandSubcollections=true", token=tok)
    return [segment(status, pools)] + stats_of(f5, tok, [p["fullPath"] for p in pools.get("items", [])])


def drain_two(f5, tok):
    # fuzz_f5 names the pool "web" and "/Common/web": the plan lists every
    # pool, the read-back only the one they turn out to be in.
    web = "/mgmt/tm/ltm/pool/~Common~web"
    segs = list_all(f5, tok)
    status, trans = f5.rest("POST", "/mgmt/tm/transaction", {}, token=tok)
    segs.append(segment(status, trans))
    coord = {"X-F5-REST-Coordination-Id": str(trans["transId"])}
    for m in ("~Common~192.0.2.1:80", "~Common~192.0.2.2:80"):
        status, cmd = f5.rest("PATCH", "%s/members/%s" % (web, m), {"session": "user-disabled", "state": "user-up"},
                              token=tok, headers=coord)
        segs.append(segment(status, cmd))
    status, done = f5.rest("PATCH", "/mgmt/tm/transaction/%d" % trans["transId"], {"state": "VALIDATING"}, token=tok)
    segs.append(segment(status, done))
    status, pool = f5.rest("GET", web + "?expandSubcollections=true", token=tok)
    return segs + [segment(status, pool)] + stats_of(f5, tok, ["/Common/web"])


def main():
    out = sys.argv[1]
    for version in VERSIONS:
        for name, head, walk in (("list", LIST_ALL, list_all), ("drain2", DRAIN_TWO, drain_two)):
            with F5Emulator(pools=POOLS, version=version) as f5:
                tok = f5.login()
                path = os.path.join(out, "shape-%s-%s" % (version, name))
                with open(path, "wb") as f:
                    f.write(head + SEP.join(walk(f5, tok)))
                print(path)


if __name__ == "__main__":
    main()
