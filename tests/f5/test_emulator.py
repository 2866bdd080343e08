#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fidelity of the emulator to the recorded shapes, fixture by fixture.

    test_emulator.py [VERSION]      VERSION: 11.6, v16.1, 16.1.4, common;
                                    knobs, replay: only those checks;
                                    none: every directory under fixtures/,
                                    the knobs, then replay.py per version

For each fixture file, the emulator is started at that fixture's version (its
?ver=), put in the situation the fixture shows, asked the same request, and
its answer compared with the fixture: same kind, same keys (less documented
optional ones), same nesting, same value types, and the same values where the
situation fixes them (names, states, texts, ?ver=, a 16-digit transId...).
Counters, generations, ids and timestamps are compared by type and format
only. One line per fixture: ok, FAIL (with what differed) or n/a (with why
the emulator cannot answer it). Then the knobs' own behaviour, which no single
fixture shows (transactions, commit_async, nodes, fqdn_propagate both ways,
versions). Exit 1 on any FAIL.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from f5_fixture import F5Emulator, F5Replay  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures")
COMMON_VERSION = "15.1.10"

# Integers whose value the situation fixes; every other one is compared by type.
EXACT_INTS = {"code", "apiError", "timeoutSeconds", "executionTimeout", "executionTime", "evalOrder", "commandId",
              "port", "ratio", "connectionLimit", "dynamicRatio", "priorityGroup", "downInterval", "minActiveMembers",
              "memberCnt", "activeMemberCnt", "availableMemberCnt", "timeout", "slowRampTime", "queueDepthLimit",
              "queueTimeLimit", "reselectTries", "minUpMembers", "serverside.curConns"}
NORMALIZE = [(re.compile(r"@\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\."), "@<TIME>."),  # monitor failure time
             (re.compile(r"/transaction/\d{16}(?=[/?]|$)"), "/transaction/<TID>"),  # a 16-digit transId
             (re.compile(r"\b[A-Z2-7]{26}\b"), "<TOKEN>")]
PLACEHOLDER = "UNVERIFIED placeholder"


def web(*members, monitor="/Common/http", path="/Common/web", **extra):
    return {path: dict({"members": list(members), "monitor": monitor}, **extra)}


WEB_A = {"name": "web-a:80", "address": "198.51.100.81"}
WEB_B = {"name": "web-b:80", "address": "198.51.100.82"}
WEB10 = {"name": "192.0.2.10:80"}
FQDN = {"name": "web-fqdn:80", "fqdn": "web.example.com", "addresses": ["198.51.100.91", "198.51.100.92"]}


class Case:
    """How to make the emulator answer what one fixture records."""

    def __init__(self, request, pools=None, setup=None, optional=(), loose=(), patterns=None, na=None, known=None):
        self.request = request      # fn(f5, token) -> (status, body)
        self.pools = pools
        self.setup = setup          # fn(f5) before the request
        self.optional = set(optional)  # keys either side may lack
        self.loose = set(loose)     # keys compared by type only
        self.patterns = patterns or {}  # key -> regex both values must match
        self.na = na                # why the emulator cannot answer it
        self.known = known          # a documented difference, printed with ok


def get(path):
    return lambda f5, tok: f5.rest("GET", path, token=tok)


def transaction(f5, tok, *patches):
    status, t = f5.rest("POST", "/mgmt/tm/transaction", {}, token=tok)
    tid = str(t["transId"])
    out = None
    for member, body in patches:
        out = f5.rest("PATCH", "/mgmt/tm/ltm/pool/~Common~web/members/~Common~%s" % member, body, token=tok,
                      headers={"X-F5-REST-Coordination-Id": tid})
    return tid, out


def queued_command(f5, tok):
    return transaction(f5, tok, ("web-a:80", {"session": "user-disabled", "state": "user-up"}))[1]


def command_list(f5, tok):
    tid, _ = transaction(f5, tok, ("web-a:80", {"session": "user-disabled", "state": "user-up"}),
                         ("web-b:80", {"session": "user-enabled", "state": "user-up"}))
    return f5.rest("GET", "/mgmt/tm/transaction/%s/commands" % tid, token=tok)


def commit(f5, tok):
    tid, _ = transaction(f5, tok, ("web-a:80", {"session": "user-disabled", "state": "user-up"}))
    return f5.rest("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"}, token=tok)


def failed_commit(f5, tok):
    tid, _ = transaction(f5, tok, ("web-z:80", {"session": "user-disabled", "state": "user-up"}))
    return f5.rest("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"}, token=tok)


def invalid_command_id(f5, tok):
    tid, _ = transaction(f5, tok, ("web-a:80", {"session": "user-disabled"}))
    return f5.rest("GET", "/mgmt/tm/transaction/%s/commands/3/members/" % tid, token=tok)


def expired_password(f5, tok):
    f5.configure(password_expired=True)
    try:
        return f5.rest("POST", "/mgmt/shared/authn/login", {"username": f5.user, "password": f5.password,
                                                           "loginProviderName": "tmos"})
    finally:
        f5.configure(password_expired=False)


def login(f5, tok):
    return f5.rest("POST", "/mgmt/shared/authn/login", {"username": f5.user, "password": f5.password,
                                                       "loginProviderName": "tmos"})


def bash(f5, tok):
    return f5.rest("POST", "/mgmt/tm/util/bash", {"command": "run", "utilCmdArgs": "-c \"tmsh delete sys connection "
                                                  "ss-server-addr 198.51.100.81 ss-server-port 80\""}, token=tok)


def knob(**knobs):
    return lambda f5: f5.configure(**knobs)


def steps(*fns):
    def run(f5):
        for fn in fns:
            fn(f5)
    return run


def node(path, **fields):
    return lambda f5: f5.set_node(path, **fields)


def member(pool, path, **fields):
    return lambda f5: f5.set_member(pool, path, **fields)


MEMBERS = "/mgmt/tm/ltm/pool/~Common~web/members"
TOKEN_KEYS = ("startTime", "address", "lastUpdateMicros", "expirationMicros")
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$"
PEER_401 = (r"^Authorization failed: no user authentication header or token detected\. "
            r"Uri:http://localhost:8100/mgmt/tm/ltm/pool Referrer:\S+ Sender:\S+$")

CASES = {
    "common/error_400_access_denied.json": Case(
        None, na="the emulator has no user roles, so an Operator's 01070822:3 refusal cannot be provoked "
                 "(tests inject it with add_fault)"),
    "common/error_400_invalid_command_id.json": Case(invalid_command_id, web(WEB_A)),
    "common/error_400_transaction_failed.json": Case(
        failed_commit, web(WEB_A), patterns={"message": r"^transaction failed:[0-9a-f]{8}:\d: \S"},
        known="the emulator cannot delete nodes: its failing commit is a missing member (01020036), the "
              "fixture's a referenced node (01070110); only the message's form is compared"),
    "common/error_401_no_auth.json": Case(lambda f5, tok: f5.rest("GET", "/mgmt/tm/ltm/pool"),
                                          loose={"referer", "restOperationId"}, patterns={"message": PEER_401}),
    "common/error_401_password_expired.json": Case(expired_password, loose={"restOperationId"}),
    "common/error_404_member_not_found.json": Case(get(MEMBERS + "/~Common~web-z:80"), web(WEB_A)),
    "common/login.json": Case(login, loose=set(TOKEN_KEYS), patterns={"startTime": ISO}),
    "v11.6/error_404_no_apierror.json": Case(get("/mgmt/tm/ltm/node/~Common~web-z"), web(WEB_A)),
    "v11.6/member_stats_single.json": Case(get(MEMBERS + "/~Common~web-a:80/stats"),
                                           web(dict(WEB_A, admin="disabled", monitor="down", conns=3))),
    "v11.6/pool_members.json": Case(get(MEMBERS), web(WEB10, dict(WEB_A, admin="disabled", monitor="down"),
                                                      dict(WEB_B, admin="forced_offline"))),
    "v11.6/pool_members_stats.json": Case(get(MEMBERS + "/stats"),
                                          web(dict(WEB10, conns=12), dict(WEB_A, admin="disabled", monitor="down",
                                                                          conns=3))),
    "v11.6/sync_status_standalone.json": Case(get("/mgmt/tm/cm/sync-status")),
    "v12.1/member_stats_single.json": Case(get(MEMBERS + "/~Common~web-a:80/stats"), web(dict(WEB_A, conns=7))),
    "v12.1/node_fqdn_no_addr.json": Case(get("/mgmt/tm/ltm/node/~Common~web-fqdn"),
                                         web(dict(FQDN, addresses=[]), path="/Common/fqdn-web")),
    "v12.1/pool_members_stats.json": Case(
        get("/mgmt/tm/ltm/pool/~Tenant~app/members/stats"),
        web({"name": "198.51.100.31%2:443", "conns": 19}, {"name": "2001:db8::1.80", "monitor": None},
            path="/Tenant/app", monitor="/Common/https")),
    "v12.1/transaction_command.json": Case(queued_command, web(WEB_A, WEB_B)),
    "v12.1/transaction_commands.json": Case(command_list, web(WEB_A, WEB_B)),
    "v12.1/transaction_commit_completed.json": Case(commit, web(WEB_A, WEB_B)),
    "v12.1/transaction_start.json": Case(lambda f5, tok: f5.rest("POST", "/mgmt/tm/transaction", {}, token=tok)),
    "v13.1/member_stats_returns_pool.json": Case(
        get("/mgmt/tm/ltm/pool/web/members/stats"), web(dict(WEB_A, monitor="down"), dict(WEB_B, monitor="down"))),
    "v13.1/node_fqdn_up.json": Case(get("/mgmt/tm/ltm/node/~Common~web-fqdn"), web(FQDN, path="/Common/fqdn-web"),
                                    setup=node("/Common/web-fqdn", monitor="up")),
    "v13.1/node_monitor_down.json": Case(get("/mgmt/tm/ltm/node/~Common~web-b"), web(WEB_B),
                                         setup=node("/Common/web-b", monitor="down")),
    "v13.1/sys_version.json": Case(get("/mgmt/tm/sys/version"), loose={"Build", "Date"}),
    "v15.1/pool_list_empty.json": Case(get("/mgmt/tm/ltm/pool?expandSubcollections=true"), {}),
    "v15.1/pool_list_expanded.json": Case(
        get("/mgmt/tm/ltm/pool?expandSubcollections=true"),
        dict(web(WEB_A, dict(WEB_B, admin="disabled"), dict(WEB10, admin="forced_offline")),
             **web({"name": "198.51.100.31%2:443", "monitor": None}, {"name": "2001:db8::1.80", "monitor": None},
                   {"name": "/Common/app6:80", "address": "2001:db8::6", "monitor": None}, path="/Tenant/app",
                   monitor=None, loadBalancingMode="least-connections-member"),
             **web(path="/Common/empty"))),
    "v15.1/transaction_command.json": Case(queued_command, web(WEB_A, WEB_B)),
    "v16.1/failover_status_active.json": Case(get("/mgmt/tm/cm/failover-status")),
    "v16.1/failover_status_standby.json": Case(get("/mgmt/tm/cm/failover-status"),
                                               setup=knob(failover_status="STANDBY")),
    "v16.1/fqdn_pool_members.json": Case(get("/mgmt/tm/ltm/pool/~Common~fqdn-web/members"),
                                         web(FQDN, path="/Common/fqdn-web")),
    "v16.1/fqdn_pool_members_stats.json": Case(
        get("/mgmt/tm/ltm/pool/~Common~fqdn-web/members/stats"), web(FQDN, path="/Common/fqdn-web"),
        setup=steps(member("/Common/fqdn-web", "/Common/_auto_198.51.100.91:80", conns=6),
                    member("/Common/fqdn-web", "/Common/_auto_198.51.100.92:80", conns=5))),
    "v16.1/pool_members.json": Case(get(MEMBERS), web(dict(WEB_A, admin="disabled"), dict(WEB_B, monitor="down"),
                                                      dict(WEB10, ratio=5))),
    "v16.1/pool_members_stats.json": Case(get(MEMBERS + "/stats"),
                                          web(dict(WEB_A, admin="disabled", conns=4), dict(WEB_B, monitor="down"),
                                              dict(WEB10, conns=25))),
    "v16.1/sync_status_changes_pending.json": Case(get("/mgmt/tm/cm/sync-status"),
                                                   setup=knob(sync_status="Changes Pending")),
    "v16.1/sync_status_in_sync.json": Case(get("/mgmt/tm/cm/sync-status"), setup=knob(sync_status="In Sync")),
    "v17.1/member_forced_offline.json": Case(get(MEMBERS + "/~Common~web-a:80"),
                                             web(dict(WEB_A, admin="forced_offline"))),
    "v17.1/member_of_disabled_node_stats.json": Case(get(MEMBERS + "/stats"), web(dict(WEB_A, conns=2)),
                                                     setup=node("/Common/web-a", admin="disabled")),
    "v17.1/node_disabled.json": Case(get("/mgmt/tm/ltm/node/~Common~web-a"), web(WEB_A),
                                     setup=node("/Common/web-a", admin="disabled", monitor="up")),
    "v17.1/node_forced_offline.json": Case(get("/mgmt/tm/ltm/node/~Common~web-a"), web(WEB_A),
                                           setup=node("/Common/web-a", admin="forced_offline", monitor="up")),
    "v17.1/nodes.json": Case(get("/mgmt/tm/ltm/node"), web(WEB_A, WEB_B, WEB10),
                             setup=steps(node("/Common/web-a", admin="forced_offline", monitor="up"),
                                         node("/Common/web-b", monitor="up"))),
    "v17.1/util_bash_delete_connection.json": Case(bash, web(dict(WEB_A, conns=4))),
}


def jtype(v):
    if isinstance(v, bool):
        return "bool"
    return {dict: "object", list: "array", str: "string", int: "integer", float: "number",
            type(None): "null"}[type(v)]


def norm(s):
    for rx, repl in NORMALIZE:
        s = rx.sub(repl, s)
    return s


def short(key):
    return "[%s]" % re.sub(r"^https://localhost/mgmt/tm/", "", key) if key.startswith("https://") else "." + key


def nested(entries):
    return bool(entries) and all(k.startswith("https://") and "nestedStats" in v for k, v in entries.items())


def nesting(entries):
    return "nested entries (URL -> nestedStats)" if nested(entries) else "flat entries"


def compare(fx, em, case, path="", name=""):
    """The differences between a fixture's value and the emulator's."""
    diffs = []
    tf, te = jtype(fx), jtype(em)
    if tf != te:
        return ["%s: %s in the fixture, %s from the emulator" % (path or "body", tf, te)]
    if name in case.loose:
        pass
    elif name == "entries" and tf == "object" and nested(fx) != nested(em):
        diffs.append("%s: %s in the fixture, %s from the emulator" % (path, nesting(fx), nesting(em)))
    elif tf == "object":
        for k in sorted(set(fx) - set(em)):
            if k not in case.optional:
                diffs.append("%s: the emulator lacks %r" % (path or "body", k))
        for k in sorted(set(em) - set(fx)):
            if k not in case.optional:
                diffs.append("%s: the emulator adds %r" % (path or "body", k))
        for k in fx:
            if k in em:
                # A stat's {"value": n} is judged by the stat's own name.
                diffs += compare(fx[k], em[k], case, path + short(k), name if k in ("value", "description") else k)
    elif tf == "array":
        if len(fx) != len(em):
            diffs.append("%s: %d items in the fixture, %d from the emulator" % (path, len(fx), len(em)))
        for i, (a, b) in enumerate(zip(fx, em)):
            diffs += compare(a, b, case, "%s[%d]" % (path, i), name)
    elif name in case.patterns:
        for who, v in (("fixture", fx), ("emulator", em)):
            if not re.search(case.patterns[name], v):
                diffs.append("%s: the %s's %r does not match %s" % (path, who, v, case.patterns[name]))
    elif tf == "string":
        if PLACEHOLDER not in fx and norm(fx) != norm(em):
            diffs.append("%s: %r in the fixture, %r from the emulator" % (path, fx, em))
    elif tf == "integer":
        if name == "transId":
            for who, v in (("fixture", fx), ("emulator", em)):
                if len(str(v)) != 16:
                    diffs.append("%s: the %s's transId %d is not 16 digits" % (path, who, v))
        elif name in EXACT_INTS and fx != em:
            diffs.append("%s: %d in the fixture, %d from the emulator" % (path, fx, em))
    elif fx != em:
        diffs.append("%s: %r in the fixture, %r from the emulator" % (path, fx, em))
    return diffs


def fixture_version(body):
    m = re.search(r"[?&]ver=(\d+(?:\.\d+){1,3})", json.dumps(body))
    return m.group(1) if m else None


def run_dir(d):
    files = sorted(f for f in os.listdir(os.path.join(FIXTURES, d)) if f.endswith(".json"))
    bodies = {f: json.load(open(os.path.join(FIXTURES, d, f))) for f in files}
    versions = {f: (COMMON_VERSION if d == "common" else fixture_version(b)) for f, b in bodies.items()}
    start = max(sorted(set(versions.values()) - {None}), key=list(versions.values()).count)
    print("== %s (emulator at %s unless said)" % (d, start))
    failed = 0
    with F5Emulator(version=start) as f5:
        tok = f5.login()
        for f in files:
            rel = "%s/%s" % (d, f)
            case = CASES.get(rel)
            if case is None:
                print("FAIL  %s: no case in test_emulator.py for this fixture" % rel)
                failed += 1
                continue
            if case.na:
                print("n/a   %s: %s" % (rel, case.na))
                continue
            version = versions[f] or start
            f5.configure(version=version, commit_async=False, fqdn_propagate=True, member_stats_pool_level=None,
                         sync_status="Standalone", failover_status="ACTIVE", conn_counts=True)
            f5.set_pools(case.pools if case.pools is not None else web(WEB_A))
            for n in f5.nodes():
                f5.set_node(n, admin="enabled", monitor=None)
            if case.setup:
                case.setup(f5)
            status, body = case.request(f5, tok)
            fx_status = bodies[f].get("code", 200) if isinstance(bodies[f].get("code"), int) else 200
            diffs = [] if status == fx_status else ["HTTP %d from the emulator, the fixture is a %d" % (status,
                                                                                                      fx_status)]
            diffs += compare(bodies[f], body, case)
            at = "" if version == start else " (at %s)" % version
            if diffs:
                failed += 1
                print("FAIL  %s%s:\n      %s" % (rel, at, "\n      ".join(diffs)))
            else:
                print("ok    %s%s%s" % (rel, at, "; known difference: " + case.known if case.known else ""))
    return failed


# ---- the knobs' own behaviour: what no single fixture shows ------------------------


def expect(cond, what, *context):
    return [] if cond else [what + "".join(" | %s" % json.dumps(c)[:300] for c in context)]


def k_transactions(f5, tok):
    out = []
    f5.set_pools(web(WEB_A, WEB_B))
    tid, (st, cmd) = transaction(f5, tok, ("web-a:80", {"session": "user-disabled", "state": "user-up"}))
    coord = {"X-F5-REST-Coordination-Id": tid}
    st, body = f5.rest("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"}, token=tok, headers=coord)
    out += expect(st == 400 and "is not allowed to be added to transaction" in body["message"],
                  "a commit carrying the coordination header was not refused", body)
    st, body = f5.rest("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"}, token=tok)
    out += expect(st == 200 and body["state"] == "COMPLETED", "commit", body)
    out += expect(f5.member("/Common/web", "/Common/web-a:80")["session"] == "user-disabled", "commit did not apply")
    tid, _ = transaction(f5, tok, ("web-b:80", {"session": "user-disabled"}),
                         ("web-z:80", {"session": "user-disabled"}))
    st, body = f5.rest("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"}, token=tok)
    out += expect(st == 400 and body["apiError"] == 2 and body["message"].startswith("transaction failed:01020036:3"),
                  "failed commit", body)
    st, t = f5.rest("GET", "/mgmt/tm/transaction/" + tid, token=tok)
    out += expect(t["state"] == "FAILED" and t["failureReason"] == body["message"][len("transaction failed:"):],
                  "a failed transaction shows FAILED and its failureReason", t)
    out += expect(f5.member("/Common/web", "/Common/web-b:80")["session"] == "monitor-enabled", "half a failed commit")
    st, body = f5.rest("PATCH", MEMBERS + "/~Common~web-b:80", {"session": "user-disabled"}, token=tok,
                       headers={"X-F5-REST-Coordination-Id": "1718010000000000"})
    out += expect(st == 404 and body["message"] == "Missing transaction ID for this call.", "unknown transaction", body)
    return out


def k_commit_async(f5, tok):
    out = []
    f5.set_pools(web(WEB_A, WEB_B))
    f5.configure(commit_async=True)
    tid, _ = transaction(f5, tok, ("web-a:80", {"session": "user-disabled", "state": "user-up"}))
    st, body = f5.rest("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"}, token=tok)
    out += expect(st == 200 and body["state"] == "VALIDATING", "async commit answers VALIDATING", body)
    states = [f5.rest("GET", "/mgmt/tm/transaction/" + tid, token=tok)[1]["state"] for _ in range(3)]
    out += expect(states == ["VALIDATING", "COMPLETED", "COMPLETED"], "polls", states)
    tid, _ = transaction(f5, tok, ("web-z:80", {"session": "user-disabled"}))
    st, body = f5.rest("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"}, token=tok)
    out += expect(st == 200 and body["state"] == "VALIDATING", "failing async commit answers VALIDATING", body)
    t = [f5.rest("GET", "/mgmt/tm/transaction/" + tid, token=tok)[1] for _ in range(2)][-1]
    out += expect(t["state"] == "FAILED" and t["failureReason"].startswith("01020036:3"), "async failure", t)
    f5.configure(commit_async=False)
    return out


def k_nodes(f5, tok):
    out = []
    f5.set_pools(dict(web(WEB_A, WEB10), **web(dict(WEB_A, name="web-a:8080"), path="/Common/api")))
    f5.set_node("/Common/web-a", admin="disabled")
    w = f5.member("/Common/web", "/Common/web-a:80")
    out += expect(w["node"] == "/Common/web-a" and w["node_admin"] == "disabled" and w["session"] == "monitor-enabled",
                  "witness of a held member", w)
    st, body = f5.rest("GET", MEMBERS + "/~Common~web-a:80/stats", token=tok)
    e = next(iter(body["entries"].values()))["nestedStats"]["entries"]
    out += expect(e["status.enabledState"]["description"] == "disabled-by-parent" and
                  e["status.availabilityState"]["description"] == "available" and
                  e["nodeName"]["description"] == "/Common/web-a" and e["addr"]["description"] == "198.51.100.81",
                  "stats of a member of a disabled node", e)
    st, body = f5.rest("GET", "/mgmt/tm/ltm/pool/~Common~api/members/stats", token=tok)
    e = next(iter(body["entries"].values()))["nestedStats"]["entries"]
    out += expect(e["status.enabledState"]["description"] == "disabled-by-parent", "the node holds every pool", e)
    f5.set_node("/Common/web-a", admin="forced_offline")
    st, body = f5.rest("GET", MEMBERS + "/~Common~web-a:80/stats", token=tok)
    e = next(iter(body["entries"].values()))["nestedStats"]["entries"]
    out += expect(e["status.availabilityState"]["description"] == "offline", "forced-offline node", e)
    st, n = f5.rest("GET", "/mgmt/tm/ltm/node/~Common~web-a", token=tok)
    out += expect((n["session"], n["state"]) == ("user-disabled", "user-down"), "node JSON", n)
    st, n = f5.rest("PATCH", "/mgmt/tm/ltm/node/~Common~web-a", {"session": "user-enabled", "state": "user-up"},
                    token=tok)
    out += expect(st == 200 and (n["session"], n["state"]) == ("user-enabled", "unchecked") and
                  f5.node("/Common/web-a")["admin"] == "enabled", "node PATCH", n)
    st, n = f5.rest("PATCH", "/mgmt/tm/ltm/node/~Common~web-a", {"state": "up"}, token=tok)
    out += expect(st == 400, "a node PATCH with a read-only state was accepted", n)
    st, n = f5.rest("GET", "/mgmt/tm/ltm/node/~Common~192.0.2.10", token=tok)
    out += expect(st == 200 and n["address"] == "192.0.2.10", "a node named by its address", n)
    return out


def k_fqdn(f5, tok):
    out = []
    for propagate in (True, False):
        f5.set_pools(web(FQDN, path="/Common/fqdn-web"))
        f5.configure(fqdn_propagate=propagate)
        st, body = f5.rest("PATCH", "/mgmt/tm/ltm/pool/~Common~fqdn-web/members/~Common~web-fqdn:80",
                           {"session": "user-disabled", "state": "user-up"}, token=tok)
        ws = f5.pools()["/Common/fqdn-web"]
        eph = [w["session"] for w in ws if w.get("ephemeral")]
        out += expect(st == 200 and ws[0]["session"] == "user-disabled" and ws[0]["template"] is None,
                      "template PATCH", body)
        out += expect(eph == (["user-disabled"] * 2 if propagate else ["monitor-enabled"] * 2),
                      "fqdn_propagate=%s: ephemerals are %s" % (propagate, eph), ws)
        out += expect(all(w["template"] == "/Common/web-fqdn:80" for w in ws[1:]), "template in the witness", ws)
    f5.configure(fqdn_propagate=True)
    f5.set_member("/Common/fqdn-web", "/Common/web-fqdn:80", addresses=["198.51.100.92", "198.51.100.93"])
    names = [w["name"] for w in f5.pools()["/Common/fqdn-web"]]
    out += expect(names == ["web-fqdn:80", "_auto_198.51.100.92:80", "_auto_198.51.100.93:80"], "DNS change", names)
    return out


def k_versions(f5, tok):
    out = []
    f5.set_pools(web(dict(WEB_A, conns=3), dict(WEB_B, conns=2)))
    f5.configure(version="11.6.5", conn_counts=False)
    st, body = f5.rest("GET", MEMBERS + "/~Common~web-a:80/stats", token=tok)
    out += expect("addr" in body["entries"] and "serverside.curConns" not in body["entries"],
                  "11.x flat single stats without curConns", body)
    st, body = f5.rest("GET", "/mgmt/tm/ltm/pool/~Common~nope", token=tok)
    out += expect(st == 404 and "apiError" not in body and body["errorStack"] == [], "11.6 error", body)
    st, body = f5.rest("GET", "/mgmt/tm/ltm/pool/members/stats", token=tok)
    out += expect(body.get("kind") == "tm:ltm:pool:poolstats" and "entries" not in body, "11.6 all-pool stats", body)
    f5.configure(version="15.1.10", member_stats_pool_level=True)
    st, body = f5.rest("GET", MEMBERS + "/stats", token=tok)
    e = next(iter(body["entries"].values()))["nestedStats"]["entries"]
    out += expect("memberCnt" in e and "serverside.curConns" not in e, "pool-level knob with conn_counts off", e)
    st, body = f5.rest("GET", MEMBERS + "/~Common~web-a:80/stats", token=tok)
    e = next(iter(body["entries"].values()))["nestedStats"]["entries"]
    out += expect(e["addr"]["description"] == "198.51.100.81", "single-member stats under the quirk", e)
    f5.configure(conn_counts=True, member_stats_pool_level=None)
    for v, mr in (("16.1.2", True), ("15.1.10", False)):
        f5.configure(version=v)
        st, body = f5.rest("GET", MEMBERS + "/stats", token=tok)
        e = next(iter(body["entries"].values()))["nestedStats"]["entries"]
        out += expect(("mr.msgIn" in e) == mr and body["selfLink"].endswith("?ver=" + v), "mr.* at %s" % v, body)
        st, body = f5.rest("GET", "/mgmt/tm/sys/version", token=tok)
        e = next(iter(body["entries"].values()))["nestedStats"]["entries"]
        out += expect(e["Version"]["description"] == v, "sys/version at %s" % v, body)
    for bad in ("15", "15.1.x", "1.2.3.4.5"):
        try:
            f5.configure(version=bad)
            out.append("version %r accepted" % bad)
        except Exception:  # urllib's HTTPError: the knob said 400
            pass
    return out


def k_connections(f5, tok):
    out = []
    f5.set_pools(dict(web(dict(WEB_A, conns=4), dict(WEB10, conns=3)),
                      **web(dict(WEB_A, name="web-a:8080", conns=2), {"name": "198.51.100.31%2:443", "conns": 5},
                            {"name": "2001:db8::1.80", "conns": 1}, path="/Common/api")))

    def conns():
        return {m["fullPath"]: m["conns"] for p in f5.pools().values() for m in p}

    def delete(options):
        return f5.rest("DELETE", "/mgmt/tm/sys/connection?options=" + options, token=tok)

    st, body = delete("ss-server-addr+198.51.100.81+ss-server-port+80")
    out += expect(st == 200 and body == b"", "DELETE answers 200, no body", st, str(body))
    c = conns()
    out += expect(c["/Common/web-a:80"] == 0 and c["/Common/web-a:8080"] == 2 and c["/Common/192.0.2.10:80"] == 3,
                  "only that address and port lose their connections", c)
    st, _ = delete("ss-server-addr+198.51.100.81")
    out += expect(st == 200 and conns()["/Common/web-a:8080"] == 0, "every port of an address", conns())
    st, body = delete("ss-server-addr+198.51.100.31%2+ss-server-port+443")
    out += expect(st == 400 and conns()["/Common/198.51.100.31%2:443"] == 5, "a bare '%' in the query", body)
    st, _ = delete("ss-server-addr+198.51.100.31+ss-server-port+443")
    out += expect(st == 200 and conns()["/Common/198.51.100.31%2:443"] == 5, "route domain 0 is another one", conns())
    st, _ = delete("ss-server-addr+198.51.100.31%252+ss-server-port+443")
    out += expect(st == 200 and conns()["/Common/198.51.100.31%2:443"] == 0, "route domain as %25", conns())
    st, _ = delete("ss-server-addr+2001:db8:0::1+ss-server-port+80")
    out += expect(st == 200 and conns()["/Common/2001:db8::1.80"] == 0, "IPv6, spelt otherwise", conns())
    for bad in ("ss-server-addr+nope", "ss-server-addr", "ss-server-addr+192.0.2.10+ss-server-port+http",
                "cs-client-addr+192.0.2.99"):
        st, body = delete(bad)
        out += expect(st == 400 and body.get("apiError") == 26214401 and body["errorStack"] == [] and
                      body["message"].startswith(PLACEHOLDER) and conns()["/Common/192.0.2.10:80"] == 3,
                      "bad options %r" % bad, body)
    st, body = f5.rest("POST", "/mgmt/tm/util/bash", {"command": "run", "utilCmdArgs": "-c \"tmsh delete sys "
                                                      "connection cs-client-addr 192.0.2.99\""}, token=tok)
    out += expect(st == 200 and body["commandResult"].startswith(PLACEHOLDER), "bad options through bash", body)
    st, body = f5.rest("GET", "/mgmt/tm/sys/connection", token=tok)
    out += expect(st == 405, "GET sys/connection is not emulated", body)
    st, _ = f5.rest("DELETE", "/mgmt/tm/sys/connection", token=tok)
    out += expect(st == 200 and not any(conns().values()), "no options: every connection", conns())
    return out


KNOB_CHECKS = [("transactions (commit without the header, FAILED, unknown id)", k_transactions),
               ("commit_async", k_commit_async), ("nodes (knob, holds, PATCH)", k_nodes),
               ("fqdn_propagate true and false, DNS changes", k_fqdn),
               ("version, conn_counts, member_stats_pool_level", k_versions),
               ("sys/connection DELETE (address, port, route domain, IPv6, bad options)", k_connections)]


def run_knobs():
    print("== knobs (emulator at %s)" % COMMON_VERSION)
    failed = 0
    with F5Emulator(version=COMMON_VERSION) as f5:
        tok = f5.login()
        for what, fn in KNOB_CHECKS:
            diffs = fn(f5, tok)
            f5.configure(version=COMMON_VERSION)
            failed += bool(diffs)
            print("%s  %s%s" % ("FAIL" if diffs else "ok  ", what, "".join("\n      " + d for d in diffs)))
    return failed


# ---- the replay server: fixture bodies served, and kept in step ---------------------


def vt(version):
    return tuple(int(x) for x in version.split("."))


def replay_checks(rp, d):
    out = []
    tok = rp.login()
    src = rp.sources()
    label = src["members of /Common/web"]
    st, body = rp.rest("GET", MEMBERS, token=tok)
    raw = json.load(open(os.path.join(FIXTURES, label.split(" ")[0])))
    if " (membersReference of " in label:
        raw = next(i for i in raw["items"] if i["fullPath"] == "/Common/web")["membersReference"]
    want = json.loads(re.sub(r"([?&]ver=)[\d.]+", r"\g<1>" + rp.version, json.dumps(raw["items"])))
    out += expect(st == 200 and body["items"] == want, "members are not %s's own JSON" % label, body)
    members = [m["fullPath"] for m in body["items"]]
    st, pools = rp.rest("GET", "/mgmt/tm/ltm/pool?expandSubcollections=true", token=tok)
    listed = next(p for p in pools["items"] if p["fullPath"] == "/Common/web")["membersReference"].get("items")
    out += expect(st == 200 and listed == want, "the pool list does not expand to the same members", listed)

    def stats(m):
        st, b = rp.rest("GET", MEMBERS + "/%s/stats" % m.replace("/", "~"), token=tok)
        e = b["entries"]
        return e if "addr" in e else next(iter(e.values()))["nestedStats"]["entries"]

    out += expect(("addr" in rp.rest("GET", MEMBERS + "/~Common~web-a:80/stats", token=tok)[1]["entries"]) ==
                  (vt(rp.version) < (12, 0)), "single-member stats nesting at %s" % rp.version)

    def patch(m, session, state, trans=None):
        return rp.rest("PATCH", MEMBERS + "/" + m.replace("/", "~"), {"session": session, "state": state}, token=tok,
                       headers={"X-F5-REST-Coordination-Id": trans} if trans else None)

    for session, state, want_ss, want_es in (("user-disabled", "user-up", "user-disabled", "disabled"),
                                             ("user-enabled", "user-up", "enabled", "enabled")):
        st, m = patch("/Common/web-a:80", session, state)
        e = stats("/Common/web-a:80")
        out += expect(st == 200 and m["session"] == ("user-disabled" if session == "user-disabled" else
                                                     "monitor-enabled") and m["state"] != "user-up" and
                      e["sessionStatus"]["description"] == want_ss and
                      e["status.enabledState"]["description"] == want_es, "one member %s/%s" % (session, state),
                      m, e.get("sessionStatus"))
    for session, state in (("user-disabled", "user-down"), ("user-enabled", "user-up")):
        st, t = rp.rest("POST", "/mgmt/tm/transaction", {}, token=tok)
        tid = str(t["transId"])
        answers = [patch(m, session, state, tid)[1] for m in members]
        out += expect(len(tid) == 16 and all(a.get("kind") == "tm:transaction:commandsstate" for a in answers),
                      "queued commands", answers)
        st, c = rp.rest("PATCH", "/mgmt/tm/transaction/" + tid, {"state": "VALIDATING"}, token=tok)
        got = [(w["session"], w["state"]) for w in rp.members()["/Common/web"]]
        out += expect(st == 200 and c["state"] == "COMPLETED" and
                      all((s_ == "user-disabled") == (session == "user-disabled") and (st_ == "user-down") ==
                          (state == "user-down") for s_, st_ in got), "three members %s/%s" % (session, state), c, got)
    busy = max(members, key=lambda m: stats(m)["serverside.curConns"]["value"])
    patch(busy, "user-disabled", "user-up")
    seen = [stats(busy)["serverside.curConns"]["value"] for _ in range(4)]
    out += expect(seen[-1] == 0 and seen[0] > 0, "curConns of %s after a drain: %s" % (busy, seen))
    patch(busy, "user-enabled", "user-up")
    st, b = rp.rest("GET", MEMBERS + "/~Common~web-z:80", token=tok)
    out += expect(st == 404 and b["code"] == 404 and (("apiError" in b) == (vt(rp.version) >= (12, 1))), "404", b)
    return out


def run_replay(dirs):
    print("== replay.py")
    failed = 0
    for d in dirs:
        if d == "common":
            continue
        with F5Replay(version=d) as rp:
            diffs = replay_checks(rp, d)
            failed += bool(diffs)
            print("%s  replay %s (%s): fixture bodies served; list, status, drain and enable one and three "
                  "members; a drain's connections reach 0%s" % ("FAIL" if diffs else "ok  ", d, rp.version,
                                                                 "".join("\n      " + x for x in diffs)))
    return failed


def main():
    dirs = sorted(d for d in os.listdir(FIXTURES) if os.path.isdir(os.path.join(FIXTURES, d)))
    if len(sys.argv) > 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    knobs = replay = len(sys.argv) == 1
    if sys.argv[1:] == ["knobs"]:
        dirs, knobs = [], True
    elif sys.argv[1:] == ["replay"]:
        dirs, replay = [d for d in dirs if d != "common"], True
    elif len(sys.argv) == 2:
        m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+){0,2}", sys.argv[1])
        want = "common" if sys.argv[1] == "common" else "v%s.%s" % m.groups() if m else None
        if want not in dirs:
            print("test_emulator.py: no fixture directory for %r (have %s)" % (sys.argv[1], ", ".join(dirs)),
                  file=sys.stderr)
            return 2
        dirs = [want]
    if replay:
        failed = run_replay(dirs)
    else:
        failed = sum(run_dir(d) for d in dirs) + (run_knobs() if knobs else 0) + \
            (run_replay(dirs) if len(sys.argv) == 1 else 0)
    print("%s: %d check(s) failed" % ("FAIL" if failed else "ok", failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
