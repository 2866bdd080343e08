#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Replay the recorded-shape fixtures of one BIG-IP version over HTTPS.

    replay.py --cert PEM --key PEM --password-file FILE --version v16.1
              [--user admin] [--port 0] [--drain-reads 3] [--fixtures DIR]

Where emulator.py builds every answer itself, this server answers with the
JSON files under tests/f5/fixtures/ (tests/f5/README.md lists them and their
sources): loaded from disk, then kept up to date as a client changes members.
What the version's directory lacks comes from common/, then from the nearest
other version (its ?ver= rewritten, mr.* counters added or removed, a single
object's /stats flat below 12.0, no apiError below 12.1).

Served (everything else: 404):
  POST   /mgmt/shared/authn/login, GET/PATCH/DELETE /mgmt/shared/authz/tokens/T
  GET    /mgmt/tm/sys/version, /mgmt/tm/cm/sync-status, /mgmt/tm/cm/failover-status
  GET    /mgmt/tm/ltm/pool[?expandSubcollections=true], /mgmt/tm/ltm/pool/~P~N
  GET    /mgmt/tm/ltm/pool/~P~N/members, .../members/stats,
         .../members/~P~M, .../members/~P~M/stats
  PATCH  .../members/~P~M  {"session","state","ratio",...}
  POST   /mgmt/tm/transaction; writes with X-F5-REST-Coordination-Id queued;
         PATCH /mgmt/tm/transaction/ID {"state":"VALIDATING"} (without that
         header) runs them all or none; GET .../ID[/commands]; DELETE .../ID

A PATCH changes the stored member JSON (session, state, generation) and its
statistics (sessionStatus, status.enabledState, availabilityState,
statusReason). After a drain or a disable, the member's serverside.curConns
falls to 0 over --drain-reads reads of its statistics.

Outside /mgmt, for tests (no authentication):
  GET  /__replay__/members      {pool: [{"fullPath","session","state",
                                "sessionStatus","enabledState","curConns"}]}
  GET  /__replay__/sources      which fixture file each kind of answer is from
  GET  /__replay__/requests     {"count":N,"log":[[METHOD,PATH],...]}
  POST /__replay__/requests/reset
"""
import copy
import json
import os
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import emulator  # noqa: E402  (shared helpers only: names, validation, TLS server)
from emulator import LOCAL, F5Error, member_not_found, split_member_name, split_path, tilde  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures")
MR = ("mr.msgIn", "mr.msgOut", "mr.reqIn", "mr.reqOut", "mr.respIn", "mr.respOut")
VER = re.compile(r"([?&]ver=)\d+(?:\.\d+){1,3}")


def vnum(dirname):
    m = re.fullmatch(r"v(\d+)\.(\d+)", dirname)
    return int(m.group(1)) * 10 + int(m.group(2)) if m else None


def walk_strings(value, fn):
    if isinstance(value, dict):
        return {fn(k): walk_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [walk_strings(v, fn) for v in value]
    return fn(value) if isinstance(value, str) else value


def pool_of(body):
    m = re.search(r"/mgmt/tm/ltm/pool/([^/?]+)/members", body.get("selfLink", ""))
    return unquote(m.group(1)).replace("~", "/") if m else None


class Fixtures:
    """Every fixture file, and the nearest one for a version."""

    def __init__(self, root, vdir):
        self.root = root
        self.vdir = vdir
        self.files = {}
        for d in sorted(os.listdir(root)):
            if not os.path.isdir(os.path.join(root, d)):
                continue
            for f in sorted(os.listdir(os.path.join(root, d))):
                if f.endswith(".json"):
                    with open(os.path.join(root, d, f)) as fh:
                        self.files[(d, f)] = json.load(fh)
        if vdir not in {d for d, _ in self.files}:
            raise SystemExit("replay.py: no fixture directory %s under %s" % (vdir, root))
        vers = {}
        for (d, _), body in self.files.items():
            if d == vdir:
                for v in set(re.findall(r"[?&]ver=(\d+(?:\.\d+){1,3})", json.dumps(body))):
                    vers[v] = vers.get(v, 0) + 1
        if not vers:
            raise SystemExit("replay.py: no ?ver= in %s: cannot tell the version" % vdir)
        self.version = max(sorted(vers), key=lambda v: vers[v])  # the one most files carry

    def distance(self, d):
        if d == self.vdir:
            return 0
        if d == "common":
            return 0.5
        return abs(vnum(d) - vnum(self.vdir)) + 1

    def nearest(self, names, pool=None, also=()):
        """(label, body) of the nearest file named one of names (for that
        pool), or of the extra candidates also=[(dir, label, body)]."""
        cands = [(self.distance(d), -vnum(d) if vnum(d) else 0, "%s/%s" % (d, f), body)
                 for (d, f), body in self.files.items()
                 if f in names and (pool is None or pool_of(body) == pool)]
        cands += [(self.distance(d), -(vnum(d) or 0), label, body) for d, label, body in also]
        if not cands:
            return None, None
        cands.sort(key=lambda c: c[:2])
        return cands[0][2], self.adapt(cands[0][3])

    def adapt(self, body):
        """A copy with the served version in every ?ver=."""
        return walk_strings(copy.deepcopy(body), lambda s: VER.sub(r"\g<1>" + self.version, s))


class Replay:
    def __init__(self, fixtures, user, password, drain_reads):
        self.fx = fixtures
        self.version = fixtures.version
        self.vtuple = emulator.parse_version(self.version)
        self.user = user
        self.password = password
        self.drain_reads = max(1, drain_reads)
        self.lock = threading.RLock()
        self.sources = {}
        self.tokens = {}
        self.transactions = {}
        self.last_trans = 0
        self.log = []
        self.build()

    # ---- loading -------------------------------------------------------------
    def take(self, what, names, pool=None, also=(), required=True):
        label, body = self.fx.nearest(names, pool, also)
        if body is None and required:
            raise SystemExit("replay.py: no fixture for %s" % what)
        if body is not None:
            self.sources[what] = label
        return body

    def build(self):
        fx = self.fx
        self.pool_list = self.take("pool list", ["pool_list_expanded.json"])
        self.pools = {}  # full path -> {"item", "members": [dicts], "stats": {member path: nestedStats}}
        listed = {}
        for (d, f), body in fx.files.items():
            if f == "pool_list_expanded.json":
                for item in body.get("items", []):
                    items = item.get("membersReference", {}).get("items")
                    if items is not None:
                        listed.setdefault(item["fullPath"], []).append(
                            (d, "%s/%s (membersReference of %s)" % (d, f, item["fullPath"]),
                             {"kind": "tm:ltm:pool:members:memberscollectionstate", "items": items}))
        pool_paths = [i["fullPath"] for i in self.pool_list.get("items", [])]
        for (d, f), body in fx.files.items():
            if f in ("pool_members.json", "fqdn_pool_members.json") and pool_of(body) not in pool_paths:
                pool_paths.append(pool_of(body))
        template_item = self.pool_list["items"][0]
        for path in pool_paths:
            item = next((i for i in self.pool_list["items"] if i["fullPath"] == path), None)
            if item is None:  # a pool only a members fixture knows: shaped like the listed ones
                item = copy.deepcopy(template_item)
                part, name = split_path(path)
                old = tilde(item["fullPath"])
                item.update(name=name, partition=part, fullPath=path)
                item = walk_strings(item, lambda s: s.replace("/pool/%s" % old, "/pool/%s" % tilde(path)))
                item["membersReference"].pop("items", None)
                self.pool_list["items"].append(item)
                self.sources["pool %s in the list" % path] = self.sources["pool list"] + " (item of %s)" % \
                    template_item["fullPath"]
            members = self.take("members of %s" % path, ["pool_members.json", "fqdn_pool_members.json"], path,
                                also=listed.get(path, []), required=False)
            self.pools[path] = {"item": item, "members": members.get("items", []) if members else [],
                                "stats": {}}
        self.members_env = self.take("members collection", ["pool_members.json"])
        self.stats_env = self.take("members statistics", ["pool_members_stats.json"])
        for path, pool in self.pools.items():
            stats = self.take("statistics of %s" % path, ["pool_members_stats.json",
                                                          "fqdn_pool_members_stats.json"], path, required=False)
            entries = (stats or {}).get("entries", {})
            for m in pool["members"]:
                key = self.stats_key(path, m["fullPath"])
                nested = entries.get(key, {}).get("nestedStats")
                if nested is None:
                    nested = self.clone_entry(entries, path, m)
                self.adapt_stats(nested["entries"])
                pool["stats"][m["fullPath"]] = nested
                self.normalize(m, nested["entries"])
                conns = nested["entries"].get("serverside.curConns", {}).get("value")
                if m["session"] == "user-disabled" and conns:
                    m["__drain"] = [self.drain_reads, conns]  # recorded while draining: it goes on
        self.single_env = self.take("single member statistics", ["member_stats_single.json"])
        self.trans_start = self.take("transaction", ["transaction_start.json"])
        self.trans_command = self.take("queued command", ["transaction_command.json"])
        self.trans_commands = self.take("command list", ["transaction_commands.json"])
        self.trans_commit = self.take("commit", ["transaction_commit_completed.json"])
        self.trans_failed = self.take("failed commit", ["error_400_transaction_failed.json"])
        self.error_env = self.take("errors", ["error_404_member_not_found.json", "error_404_no_apierror.json"])
        self.auth_env = self.take("401", ["error_401_no_auth.json"])
        self.login_env = self.take("login", ["login.json"])
        self.version_env = self.take("sys version", ["sys_version.json"])
        self.sync_env = self.take("sync status", ["sync_status_standalone.json", "sync_status_in_sync.json"])
        self.failover_env = self.take("failover status", ["failover_status_active.json"])
        self.version_env = self.fix_version(self.version_env)
        # The expanded list holds the very member objects the other answers serve.
        for item in self.pool_list["items"]:
            members = self.pools[item["fullPath"]]["members"]
            item["membersReference"].pop("items", None)
            if members:
                item["membersReference"]["items"] = members

    def fix_version(self, body):
        e = next(iter(body["entries"].values()))["nestedStats"]["entries"]
        parts = self.version.split(".")
        e["Version"]["description"] = self.version
        e["Edition"]["description"] = "Point Release %s" % parts[3] if len(parts) == 4 else "Final"
        return body

    def stats_key(self, pool, member):
        return "%s/mgmt/tm/ltm/pool/%s/members/%s/stats" % (LOCAL, tilde(pool), tilde(member))

    def clone_entry(self, entries, pool, m):
        """Statistics for a member its pool's fixture lacks: a sibling's (or
        another fixture's) entry with the member's own name and address."""
        src = next(iter(entries.values()), None)
        if src is None:
            _, other = self.fx.nearest(["pool_members_stats.json"])
            src = next(iter(other["entries"].values()))
        nested = copy.deepcopy(src["nestedStats"])
        key = self.stats_key(pool, m["fullPath"])
        nested["selfLink"] = key + "?ver=" + self.version
        node, port = split_member_name(m["name"])
        e = nested["entries"]
        e["addr"] = {"description": "::" if m["address"] == "any6" else m["address"]}
        e["nodeName"] = {"description": "/%s/%s" % (m["partition"], node)}
        e["poolName"] = {"description": pool}
        e["port"] = {"value": port}
        self.sources.setdefault("cloned statistics", []).append(m["fullPath"])
        return nested

    def adapt_stats(self, e):
        if self.vtuple >= (16, 1):
            for k in MR:
                e.setdefault(k, {"value": 0})
        else:
            for k in MR:
                e.pop(k, None)
        for k in sorted(e):  # keep the recorded alphabetical order
            e[k] = e.pop(k)

    def normalize(self, m, e):
        """Make a member's statistics say what its configuration says."""
        disabled = m["session"] == "user-disabled"
        down = m["state"] == "user-down"
        if not down and m["state"] in ("up", "down", "unchecked", "checking", "fqdn-up", "fqdn-down"):
            e["monitorStatus"]["description"] = m["state"]
        monitor = e["monitorStatus"]["description"]
        e["sessionStatus"]["description"] = "user-disabled" if disabled else "enabled"
        e["status.enabledState"]["description"] = "disabled" if disabled else "enabled"
        e["status.availabilityState"]["description"] = "offline" if down else {
            "up": "available", "fqdn-up": "available", "down": "offline", "fqdn-down": "offline"}.get(monitor,
                                                                                                     "unknown")
        old = e["status.statusReason"]["description"]
        if down:
            return
        if monitor == "fqdn-up":
            reason = "The DNS server(s) are available"
        elif monitor == "up":
            reason = "Pool member is available, user disabled" if disabled else "Pool member is available"
        elif monitor == "unchecked":
            reason = "Pool member does not have service checking enabled"
        elif monitor == "down" and "No successful responses" not in old:
            reason = "/Common/http: No successful responses received before deadline. @%s. " % \
                time.strftime("%Y/%m/%d %H:%M:%S")
        else:
            reason = old
        e["status.statusReason"]["description"] = reason

    # ---- answers -------------------------------------------------------------
    def error(self, code, message, api_error=3):
        body = copy.deepcopy(self.error_env)
        body["code"] = code
        body["message"] = message
        if self.vtuple >= (12, 1):
            body["apiError"] = api_error
        else:
            body.pop("apiError", None)  # 11.6/12.0
        return F5Error(code, message, api_error, extra={"__body": body})

    def rest_401(self, message, peer, uri):
        body = copy.deepcopy(self.auth_env)
        body["message"] = message.replace("URI", uri).replace("PEER", peer)
        if "referer" in body:
            body["referer"] = peer
        body["restOperationId"] = secrets.randbelow(10**7)
        return F5Error(401, body["message"], extra={"__body": body})

    def authenticate(self, headers, peer, uri):
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, password = emulator.basic_credentials(auth)
            if user == self.user and password == self.password:
                return
            raise self.rest_401("Authorization failed: user=%s resource=URI verb=GET uri:http://localhost:8100URI"
                                " referrer:PEER sender:PEER" % user, peer, uri)
        token = headers.get("X-F5-Auth-Token")
        if token is None:
            raise self.rest_401("Authorization failed: no user authentication header or token detected. "
                                "Uri:http://localhost:8100URI Referrer:PEER Sender:PEER", peer, uri)
        if token not in self.tokens:
            raise self.rest_401("X-F5-Auth-Token does not exist.", peer, uri)

    def token_json(self, token):
        t = copy.deepcopy(self.login_env["token"])
        now = int(time.time() * 1e6)
        t.update(token=token, name=token, userName=self.user, timeout=self.tokens[token],
                 selfLink="%s/mgmt/shared/authz/tokens/%s" % (LOCAL, token))
        if "lastUpdateMicros" in t:
            t["lastUpdateMicros"] = now
        if "expirationMicros" in t:
            t["expirationMicros"] = now + self.tokens[token] * 1000000
        if "startTime" in t:
            t["startTime"] = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        return t

    def login(self, body, peer):
        if not isinstance(body, dict) or body.get("username") != self.user or body.get("password") != self.password:
            raise self.rest_401("Authentication failed.", peer, "/mgmt/shared/authn/login")
        token = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(26))
        self.tokens[token] = self.login_env["token"].get("timeout", 1200)
        out = copy.deepcopy(self.login_env)
        provider = body.get("loginProviderName", out.get("loginProviderName", "tmos"))
        out.update(username=self.user, loginProviderName=provider, token=self.token_json(token))
        if "loginReference" in out:
            out["loginReference"]["link"] = re.sub(r"/providers/[^/]+/", "/providers/%s/" % provider,
                                                   out["loginReference"]["link"])
        return out

    def handle(self, method, raw_path, headers, body, peer):
        split = urlsplit(raw_path)
        query = parse_qs(split.query)
        path = unquote(split.path).rstrip("/") or "/"
        with self.lock:
            if path == "/mgmt/shared/authn/login" and method == "POST":
                return 200, self.login(body, peer)
            self.authenticate(headers, peer, split.path)
            m = re.fullmatch(r"/mgmt/shared/authz/tokens/([^/]+)", path)
            if m and m.group(1) not in self.tokens:
                raise self.error(404, "Token not found.", 1)
            if m:
                out = self.token_json(m.group(1))
                if method == "DELETE":
                    del self.tokens[m.group(1)]
                elif method == "PATCH" and isinstance(body, dict) and str(body.get("timeout", "")).isdigit():
                    self.tokens[m.group(1)] = int(body["timeout"])
                    out = self.token_json(m.group(1))
                return 200, out
            trans = headers.get("X-F5-REST-Coordination-Id")
            if path.startswith("/mgmt/tm/transaction"):
                if trans is not None and method != "GET":
                    raise self.error(400, "Transaction %s operation %s %s%s is not allowed to be added to "
                                     "transaction." % (trans, method, LOCAL, split.path), 1)
                return self.transaction(method, path, body)
            if trans is not None and method in ("POST", "PATCH", "PUT", "DELETE"):
                return self.queue(trans, method, raw_path, body)
            return self.tm(method, path, query, body)

    def tm(self, method, path, query, body, apply=True):
        if method == "GET" and path == "/mgmt/tm/sys/version":
            return 200, self.version_env
        if method == "GET" and path in ("/mgmt/tm/cm/sync-status", "/mgmt/tm/cm/syncStatus"):
            return 200, self.sync_env
        if method == "GET" and path in ("/mgmt/tm/cm/failover-status", "/mgmt/tm/cm/failoverStatus"):
            return 200, self.failover_env
        expand = query.get("expandSubcollections", ["false"])[0] == "true"
        if method == "GET" and path == "/mgmt/tm/ltm/pool":
            out = copy.deepcopy(self.pool_list)
            out["selfLink"] = "%s/mgmt/tm/ltm/pool?%sver=%s" % (LOCAL, "expandSubcollections=true&" if expand
                                                                else "", self.version)
            if not expand:
                for item in out.get("items", []):
                    item["membersReference"].pop("items", None)
            return 200, out
        m = re.fullmatch(r"/mgmt/tm/ltm/pool/([^/]+)(/members(?:/(?!stats$)([^/]+))?)?(/stats)?", path)
        if not m:
            raise self.error(404, "replay.py serves no fixture for %s %s" % (method, path), 1)
        pool_path = m.group(1).replace("~", "/")
        pool_path = pool_path if pool_path.startswith("/") else "/Common/" + pool_path
        pool = self.pools.get(pool_path)
        if pool is None:
            raise self.error(404, "01020036:3: The requested Pool (%s) was not found." % pool_path)
        if method != "GET" and not (m.group(3) and not m.group(4) and method in ("PATCH", "PUT")):
            raise self.error(405, "replay.py does not replay %s %s" % (method, path), 1)
        if not m.group(2):
            out = copy.deepcopy(pool["item"])
            if not expand:
                out["membersReference"].pop("items", None)
            return 200, out
        if m.group(3) is None and not m.group(4):
            out = {k: v for k, v in self.members_env.items() if k != "items"}
            out["selfLink"] = "%s/mgmt/tm/ltm/pool/%s/members?ver=%s" % (LOCAL, tilde(pool_path), self.version)
            if pool["members"]:
                out["items"] = pool["members"]
            return 200, out
        if m.group(3) is None:
            out = {k: v for k, v in self.stats_env.items() if k != "entries"}
            out["selfLink"] = "%s/mgmt/tm/ltm/pool/%s/members/stats?ver=%s" % (LOCAL, tilde(pool_path), self.version)
            if pool["members"]:
                out["entries"] = {self.stats_key(pool_path, mem["fullPath"]): {"nestedStats": self.read_stats(
                    pool, mem)} for mem in pool["members"]}
            return 200, out
        member_path = m.group(3).replace("~", "/")
        member_path = member_path if member_path.startswith("/") else "/Common/" + member_path
        member = next((x for x in pool["members"] if x["fullPath"] == member_path), None)
        if member is None:
            raise self.error(404, member_not_found(pool_path, member_path))
        if m.group(4):
            return 200, self.single_stats(pool_path, pool, member)
        if method == "GET":
            return 200, member
        self.validate(member, body)
        if apply:
            self.apply(pool, member, body)
        return 200, member

    def read_stats(self, pool, member):
        """A member's statistics, one read further into a drain."""
        nested = pool["stats"][member["fullPath"]]
        e = nested["entries"]
        left = member.get("__drain")
        if left and "serverside.curConns" in e:
            left[0] -= 1
            e["serverside.curConns"]["value"] = int(round(left[1] * max(0, left[0]) / self.drain_reads))
            if left[0] <= 0:
                del member["__drain"]
        return nested

    def single_stats(self, pool_path, pool, member):
        nested = self.read_stats(pool, member)
        out = {k: v for k, v in self.single_env.items() if k != "entries"}
        key = self.stats_key(pool_path, member["fullPath"])
        out["selfLink"] = key + "?ver=" + self.version
        if "generation" in out:
            out["generation"] = member["generation"]
        if self.vtuple >= (12, 0):
            out["entries"] = {key: {"nestedStats": nested}}
        else:
            out["entries"] = nested["entries"]  # 11.x: flat
        return out

    def validate(self, member, body):
        try:
            emulator.validate_admin_patch(body, "/ltm/pool/members/" + tilde(member["fullPath"]),
                                          emulator.Member.FIELDS,
                                          {"name", "partition", "fullPath", "kind", "selfLink", "generation",
                                           "address", "ephemeral", "fqdn"})
            if "ratio" in body and (not isinstance(body["ratio"], int) or isinstance(body["ratio"], bool) or
                                    not 1 <= body["ratio"] <= 65535):
                raise F5Error(400, "01070372:3: Invalid ratio value (%s) for pool member (%s)"
                              % (body["ratio"], member["fullPath"]))
        except F5Error as err:
            raise self.error(err.code, err.message, err.api_error)

    def apply(self, pool, member, body):
        """Change the stored member JSON as BIG-IP would, and its statistics."""
        e = pool["stats"][member["fullPath"]]["entries"]
        monitor = e["monitorStatus"]["description"]
        was_enabled = member["session"] != "user-disabled" and member["state"] != "user-down"
        if body.get("session") == "user-disabled":
            member["session"] = "user-disabled"
        elif body.get("session") == "user-enabled":
            member["session"] = "monitor-enabled" if monitor != "unchecked" else "user-enabled"
        if body.get("state") == "user-down":
            member["state"] = "user-down"
            member["session"] = "user-disabled"
        elif body.get("state") == "user-up" or (body.get("session") and member["state"] != "user-down"):
            member["state"] = monitor if monitor in ("up", "down", "unchecked", "checking", "fqdn-up") else "up"
        for k in emulator.Member.FIELDS:
            if k in body:
                member[k] = body[k]
        member["generation"] = member.get("generation", 0) + 1
        self.normalize(member, e)
        if member["session"] != "user-disabled":
            member.pop("__drain", None)  # enabled again: its connections stay
        if was_enabled and member["session"] == "user-disabled" and "serverside.curConns" in e:
            member["__drain"] = [self.drain_reads, e["serverside.curConns"]["value"]]

    # ---- transactions --------------------------------------------------------
    def new_id(self):
        tid = max(int(time.time() * 1e6), self.last_trans + 1)
        self.last_trans = tid
        return tid

    def with_id(self, body, tid):
        old = str(body.get("transId", "")) or re.search(r"/transaction/(\d+)", json.dumps(body)).group(1)
        out = walk_strings(copy.deepcopy(body), lambda s: s.replace("/transaction/" + old, "/transaction/%d" % tid))
        if "transId" in out:
            out["transId"] = tid
        return out

    def trans_json(self, tid, env=None):
        t = self.transactions[tid]
        out = self.with_id(env or self.trans_start, tid)
        out["state"] = t["state"]
        if "failureReason" in out:
            out["failureReason"] = t["failure"]
        return out

    def command_json(self, tid, c):
        out = self.with_id(self.trans_command, tid)
        out.update(method=c["method"], uri=c["uri"], body=c["body"], evalOrder=c["n"], commandId=c["n"])
        out["selfLink"] = re.sub(r"/commands/\d+", "/commands/%d" % c["n"], out["selfLink"])
        return out

    def queue(self, trans, method, raw_path, body):
        t = self.transactions.get(int(trans) if trans.isdigit() else -1)
        if t is None:
            raise self.error(404, "Missing transaction ID for this call.", 1)
        if t["state"] != "STARTED":
            raise self.error(400, "Transaction %s is not in STARTED state." % trans, 1)
        c = {"method": method, "uri": LOCAL + raw_path, "body": body, "n": len(t["commands"]) + 1}
        t["commands"].append(c)
        return 200, self.command_json(int(trans), c)

    def transaction(self, method, path, body):
        if path == "/mgmt/tm/transaction" and method == "POST":
            tid = self.new_id()
            self.transactions[tid] = {"state": "STARTED", "commands": [], "failure": ""}
            return 200, self.trans_json(tid)
        m = re.fullmatch(r"/mgmt/tm/transaction/(\d+)(/commands)?", path)
        tid = int(m.group(1)) if m else -1
        if tid not in self.transactions:
            raise self.error(404, "Transaction %s not found." % (m.group(1) if m else path), 1)
        t = self.transactions[tid]
        if m.group(2) and method == "GET":
            out = self.with_id({k: v for k, v in self.trans_commands.items() if k != "items"}, tid)
            if t["commands"]:
                out["items"] = [self.command_json(tid, c) for c in t["commands"]]
            return 200, out
        if method == "GET":
            return 200, self.trans_json(tid)
        if method == "DELETE":
            del self.transactions[tid]
            return 200, {}
        if method == "PATCH" and isinstance(body, dict) and body.get("state") == "VALIDATING" and not m.group(2):
            return self.commit(tid, t)
        raise self.error(400, "replay.py: invalid transaction operation", 1)

    def commit(self, tid, t):
        if t["state"] != "STARTED":
            raise self.error(400, "Transaction %d is already %s." % (tid, t["state"]), 1)
        if not t["commands"]:
            raise self.error(400, "there is no command to commit in the transaction", 1)
        targets = []
        try:  # all or nothing: every command is checked before any runs
            for c in t["commands"]:
                split = urlsplit(c["uri"])
                p = unquote(split.path).rstrip("/")
                self.tm(c["method"], p, parse_qs(split.query), c["body"], apply=False)
                targets.append((p, c))
        except F5Error as err:
            t["state"] = "FAILED"
            t["failure"] = err.message
            body = copy.deepcopy(self.trans_failed)
            body["message"] = "transaction failed:" + err.message
            if self.vtuple < (12, 1):
                body.pop("apiError", None)
            raise F5Error(400, body["message"], extra={"__body": body})
        for p, c in targets:
            self.tm(c["method"], p, {}, c["body"])
        t["state"] = "COMPLETED"
        return 200, self.trans_json(tid, self.trans_commit)

    # ---- witness -------------------------------------------------------------
    def control(self, method, path):
        with self.lock:
            if path == "/__replay__/members" and method == "GET":
                out = {}
                for p, pool in self.pools.items():
                    out[p] = []
                    for mem in pool["members"]:
                        e = pool["stats"][mem["fullPath"]]["entries"]
                        out[p].append({"fullPath": mem["fullPath"], "session": mem["session"], "state": mem["state"],
                                       "sessionStatus": e["sessionStatus"]["description"],
                                       "enabledState": e["status.enabledState"]["description"],
                                       "curConns": e.get("serverside.curConns", {}).get("value")})
                return 200, out
            if path == "/__replay__/sources" and method == "GET":
                return 200, dict(self.sources, version=self.version)
            if path == "/__replay__/requests" and method == "GET":
                return 200, {"count": len(self.log), "log": self.log}
            if path == "/__replay__/requests/reset" and method == "POST":
                self.log = []
                return 200, {}
        return 404, {"error": "unknown control endpoint"}


def public(value):
    """Our bookkeeping keys (__drain) never leave the server."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [public(v) for v in value]
    return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # http.server writes the status line, each header and the body apart:
    # with Nagle's algorithm each answer then waits for the client's delayed
    # ACK (40 ms), which no BIG-IP does.
    disable_nagle_algorithm = True
    server_version = "Apache"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, body):
        data = json.dumps(public(body), separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def dispatch(self):
        rp = self.server.replay
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if path.startswith("/__replay__/"):
            return self.send_json(*rp.control(self.command, path))
        with rp.lock:
            rp.log.append([self.command, re.sub(r"(/authz/tokens/)[^/?]+", r"\1<token>", self.path)])
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self.send_json(400, rp.error(400, "Unexpected character in JSON body", 1).extra["__body"])
        try:
            status, out = rp.handle(self.command, self.path, self.headers, body, self.client_address[0])
        except F5Error as err:
            status, out = err.code, err.extra.get("__body") or rp.error(err.code, err.message).extra["__body"]
        self.send_json(status, out)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = dispatch


def main():
    ap = emulator.server_arguments(__doc__.splitlines()[0])
    ap.add_argument("--version", required=True, help="fixture directory to replay: v16.1 (or 16.1, 16.1.4)")
    ap.add_argument("--fixtures", default=FIXTURES, help="fixture root (default tests/f5/fixtures)")
    ap.add_argument("--drain-reads", type=int, default=3,
                    help="reads of a drained member's statistics until its connections reach 0")
    args = ap.parse_args()
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+){0,2}", args.version)
    if not m:
        ap.error("--version takes a fixture directory such as v16.1")
    password = emulator.read_password(args.password_file)
    replay = Replay(Fixtures(args.fixtures, "v%s.%s" % m.groups()), args.user, password, args.drain_reads)

    return emulator.serve_tls(args, Handler, replay=replay)


if __name__ == "__main__":
    sys.exit(main())
