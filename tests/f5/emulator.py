#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An F5 BIG-IP iControl REST emulator for tests (Python standard library only).

It follows the JSON that BIG-IP documents and returns, as seen in F5's own
tools (f5-common-python, f5-ansible's bigip_pool_member and its fixtures) and
in captured responses:

  POST   /mgmt/shared/authn/login          token login ({"token":{"token":...}})
  PATCH  /mgmt/shared/authz/tokens/<t>     token timeout
  DELETE /mgmt/shared/authz/tokens/<t>     logout
  GET    /mgmt/tm/sys/                     version in selfLink (?ver=...)
  GET    /mgmt/tm/ltm/pool[?expandSubcollections=true]
  GET    /mgmt/tm/ltm/pool/~P~NAME[/members[/~P~ADDR:PORT]]
  PATCH  /mgmt/tm/ltm/pool/~P~NAME/members/~P~ADDR:PORT
  GET    /mgmt/tm/ltm/pool/~P~NAME/members[/~P~ADDR:PORT]/stats
  GET    /mgmt/tm/ltm/node[/~P~NAME], /mgmt/tm/net/tunnels/{gre,ipip}
  POST   /mgmt/tm/transaction, PATCH .../<id> {"state":"VALIDATING"},
         GET .../<id>[/commands], DELETE .../<id>; writes carrying
         X-F5-REST-Coordination-Id are queued and run atomically at commit.

Basic auth is accepted on every /mgmt call, as on BIG-IP. Members report
`session` monitor-enabled/user-enabled/user-disabled and `state`
up/down/checking/unchecked/user-down, and accept in a PATCH only what a
BIG-IP accepts (session user-enabled/user-disabled, state user-up/user-down).

Knobs, outside /mgmt, under /__emulator__/ (no authentication; loopback only):
  GET  /__emulator__/pools            the members as the emulator holds them
  PUT  /__emulator__/pools            replace every pool (same spec as --pools)
  POST /__emulator__/member           {"pool","member", fields...}: set state
                                      directly (session, state, admin, monitor,
                                      ratio, conns, drain_rate)
  GET  /__emulator__/requests         {"count":N,"log":[[METHOD,PATH],...],
                                      "max_inflight":N}
  POST /__emulator__/requests/reset
  POST /__emulator__/config           {"latency":s,"token_lifetime":s,
                                      "max_tokens":n,"expand":bool,
                                      "conn_counts":bool}: conn_counts
                                      false serves statistics without
                                      serverside.curConns, as some devices
                                      do
  POST /__emulator__/faults           {"path":regex,"method":M,"status":503,
                                      "body":...,"times":1,"skip":0,"delay":s,
                                      "truncate":"body"|"connection","kind":K,
                                      "strip":[keys],"drop":true}: the next
                                      matching /mgmt requests fail that way
  POST /__emulator__/faults/clear
  GET  /__emulator__/tokens           {"live":n,"issued":n,"deleted":n,
                                      "last_provider":loginProviderName}
  POST /__emulator__/tokens/expire    every live token expires now

Credentials the emulator accepts: --user, and the password from
--password-file (never on the command line).
"""
import argparse
import base64
import copy
import json
import re
import secrets
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

VERSION = "15.1.10"
LOCAL = "https://localhost"

# Error texts are BIG-IP's own where public tools and captures show them (404
# "01020036:3", 401 login and token messages, mcpd lost, "transaction
# failed:", "one or more properties must be specified", "address may not be
# specified"). The 400s for a bad session/state/ratio value, an unknown
# property and the token limit have the right status and shape, but their
# wording was not found in a capture: tests must not match on it.
MCPD_LOST = "The connection to mcpd has been lost, try again."


class F5Error(Exception):
    def __init__(self, code, message, api_error=3, extra=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.api_error = api_error
        self.extra = extra or {}

    def body(self):
        body = {"code": self.code, "message": self.message, "errorStack": [], "apiError": self.api_error}
        body.update(self.extra)
        return body


def rest_error(code, message, peer):
    """The shape of errors from the REST framework itself (auth, routing)."""
    return F5Error(code, message, extra={"referer": peer, "restOperationId": secrets.randbelow(10**7),
                                          "kind": ":resterrorresponse"})


def tilde(path):
    """/Common/web -> ~Common~web (and % -> %25, as F5's tools send it)."""
    return path.replace("/", "~").replace("%", "%25")


def split_member_name(name):
    """'192.0.2.1:80' / '2001:db8::1.80' / '192.0.2.1%2:80' -> (address, port)."""
    if name.count(":") > 1:
        addr, _, port = name.rpartition(".")
    else:
        addr, _, port = name.rpartition(":")
    if not addr or not port.isdigit():
        raise ValueError("member name %r is not ADDR:PORT" % name)
    return addr, int(port)


def split_path(full, default_partition="Common"):
    """'/Tenant/web' -> ('Tenant', 'web'); 'web' -> (default, 'web')."""
    if full.startswith("/"):
        part, _, name = full[1:].partition("/")
        return part, name
    return default_partition, full


class Member:
    FIELDS = ("ratio", "description", "connectionLimit", "priorityGroup", "rateLimit", "monitor", "logging",
              "dynamicRatio", "inheritProfile", "profiles")

    def __init__(self, pool, spec):
        self.pool = pool
        self.partition, self.name = split_path(spec["name"], pool.partition)
        addr, self.port = split_member_name(self.name)
        self.address = spec.get("address", addr)
        self.user_disabled = False
        self.user_down = False
        # None: no monitor (state "unchecked"); else up/down/checking.
        self.monitor_status = spec.get("monitor", "up")
        self.generation = 1
        self.props = {"ratio": 1, "description": None, "connectionLimit": 0, "priorityGroup": 0,
                      "rateLimit": "disabled", "monitor": "default", "logging": "disabled",
                      "dynamicRatio": 1, "inheritProfile": "enabled"}
        self.conns0 = 0
        self.conns_t0 = time.monotonic()
        self.drain_rate = 0.0
        self.set_direct(spec)

    @property
    def full_path(self):
        return "/%s/%s" % (self.partition, self.name)

    def conns(self):
        drained = self.drain_rate * (time.monotonic() - self.conns_t0)
        return max(0, int(round(self.conns0 - drained)))

    def session(self):
        if self.user_disabled:
            return "user-disabled"
        return "monitor-enabled" if self.monitor_status else "user-enabled"

    def state(self):
        if self.user_down:
            return "user-down"
        return self.monitor_status or "unchecked"

    def set_direct(self, spec):
        """The test's own hand on the member, bypassing the REST rules."""
        admin = spec.get("admin")
        if admin is not None:
            self.user_disabled = admin in ("disabled", "forced_offline")
            self.user_down = admin == "forced_offline"
        if "session" in spec:
            self.user_disabled = spec["session"] == "user-disabled"
        if "state" in spec:
            self.user_down = spec["state"] == "user-down"
        if "monitor" in spec:
            self.monitor_status = spec["monitor"]
        if "ratio" in spec:
            self.props["ratio"] = spec["ratio"]
        if "conns" in spec or "drain_rate" in spec:
            self.conns0 = spec.get("conns", self.conns())
            self.conns_t0 = time.monotonic()
            self.drain_rate = float(spec.get("drain_rate", self.drain_rate))

    def self_link(self):
        return "%s/mgmt/tm/ltm/pool/%s/members/%s?ver=%s" % (LOCAL, tilde(self.pool.full_path),
                                                            tilde(self.full_path), VERSION)

    def to_json(self):
        body = {
            "kind": "tm:ltm:pool:members:membersstate",
            "name": self.name,
            "partition": self.partition,
            "fullPath": self.full_path,
            "generation": self.generation,
            "selfLink": self.self_link(),
            "address": self.address,
            "ephemeral": "false",
            "fqdn": {"autopopulate": "disabled"},
            "session": self.session(),
            "state": self.state(),
        }
        for key, value in self.props.items():
            if value is not None:
                body[key] = value
        return body

    def witness(self):
        return {"name": self.name, "fullPath": self.full_path, "address": self.address, "port": self.port,
                "session": self.session(), "state": self.state(), "monitor": self.monitor_status,
                "ratio": self.props["ratio"], "conns": self.conns(), "drain_rate": self.drain_rate,
                "generation": self.generation}

    def stats_key(self):
        return "%s/mgmt/tm/ltm/pool/%s/members/%s/stats" % (LOCAL, tilde(self.pool.full_path), tilde(self.full_path))

    def stats_json(self):
        if self.user_down:
            availability = "offline"
        else:
            availability = {"up": "available", "down": "offline", None: "unknown"}.get(self.monitor_status,
                                                                                       "unknown")
        return {
            "kind": "tm:ltm:pool:members:membersstats",
            "selfLink": self.stats_key() + "?ver=" + VERSION,
            "entries": {
                "addr": {"description": self.address},
                "curSessions": {"value": 0},
                "monitorRule": {"description": "/Common/http (pool monitor)" if self.monitor_status else "none"},
                "monitorStatus": {"description": self.monitor_status or "unchecked"},
                "nodeName": {"description": "/%s/%s" % (self.partition, self.address)},
                "poolName": {"description": self.pool.full_path},
                "port": {"value": self.port},
                "serverside.bitsIn": {"value": 0},
                "serverside.bitsOut": {"value": 0},
                "serverside.curConns": {"value": self.conns()},
                "serverside.maxConns": {"value": 0},
                "serverside.pktsIn": {"value": 0},
                "serverside.pktsOut": {"value": 0},
                "serverside.totConns": {"value": 0},
                "sessionStatus": {"description": "user-disabled" if self.user_disabled else "enabled"},
                "status.availabilityState": {"description": availability},
                "status.enabledState": {"description": "disabled" if self.user_disabled else "enabled"},
                "status.statusReason": {"description": " "},
                "totRequests": {"value": 0},
            },
        }

    def not_found_message(self):
        return member_not_found(self.pool.full_path, self.full_path)

    def validate_patch(self, body):
        """Raise the 400 a BIG-IP gives, or return the changes to make."""
        if not isinstance(body, dict):
            raise F5Error(400, "Expected a JSON object in the request body.", api_error=26214401)
        if not body:
            raise F5Error(400, "one or more properties must be specified", api_error=26214401)
        allowed = {"session": ("user-enabled", "user-disabled"), "state": ("user-up", "user-down")}
        ignored = {"name", "partition", "fullPath", "kind", "selfLink", "generation", "address", "ephemeral",
                   "fqdn"}
        for key, value in body.items():
            if key in allowed:
                if value not in allowed[key]:
                    # BIG-IP rejects the read-only values (monitor-enabled, up,
                    # unchecked...) that a GET shows, as go-bigip#126 reports.
                    raise F5Error(400, "invalid property value \"%s\":\"%s\"" % (key, value),
                                  api_error=26214401)
            elif key == "ratio":
                if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
                    raise F5Error(400, "01070372:3: Invalid ratio value (%s) for pool member (%s)"
                                  % (value, self.full_path), api_error=3)
            elif key == "address" and value != self.address:
                raise F5Error(400, "01070734:3: Configuration error: address may not be specified"
                              " when modifying a pool member", api_error=3)
            elif key not in self.FIELDS and key not in ignored:
                raise F5Error(400, "Found unexpected json pair at configuration item /ltm/pool/members/%s."
                              " The json pair \"%s\":%s is not allowed." % (tilde(self.full_path), key,
                                                                            json.dumps(value)),
                              api_error=26214401)
        return body

    def apply_patch(self, body):
        if "session" in body:
            self.user_disabled = body["session"] == "user-disabled"
        if "state" in body:
            self.user_down = body["state"] == "user-down"
            if self.user_down:
                self.user_disabled = True
        for key in self.FIELDS:
            if key in body:
                self.props[key] = body[key]
        self.generation += 1


def member_not_found(pool_path, member_path):
    mpart, mname = split_path(member_path)
    try:
        addr, port = split_member_name(mname)
    except ValueError:
        addr, port = mname, 0
    return "01020036:3: The requested Pool Member (%s /%s/%s %d) was not found." % (pool_path, mpart, addr, port)


class Pool:
    def __init__(self, full_path, spec):
        self.partition, self.name = split_path(full_path)
        self.generation = 1
        self.monitor = spec.get("monitor", "/Common/http")
        self.members = [Member(self, m) for m in spec.get("members", [])]

    @property
    def full_path(self):
        return "/%s/%s" % (self.partition, self.name)

    def find(self, member_path):
        for m in self.members:
            if m.full_path == member_path:
                return m
        return None

    def members_link(self):
        return "%s/mgmt/tm/ltm/pool/%s/members?ver=%s" % (LOCAL, tilde(self.full_path), VERSION)

    def to_json(self, expand):
        ref = {"link": self.members_link(), "isSubcollection": True}
        if expand:
            ref["items"] = [m.to_json() for m in self.members]
        return {
            "kind": "tm:ltm:pool:poolstate",
            "name": self.name,
            "partition": self.partition,
            "fullPath": self.full_path,
            "generation": self.generation,
            "selfLink": "%s/mgmt/tm/ltm/pool/%s?ver=%s" % (LOCAL, tilde(self.full_path), VERSION),
            "allowNat": "yes",
            "allowSnat": "yes",
            "loadBalancingMode": "round-robin",
            "minActiveMembers": 0,
            "minUpMembers": 0,
            "minUpMembersAction": "failover",
            "minUpMembersChecking": "disabled",
            "monitor": self.monitor,
            "queueDepthLimit": 0,
            "queueOnConnectionLimit": "disabled",
            "queueTimeLimit": 0,
            "reselectTries": 0,
            "serviceDownAction": "none",
            "slowRampTime": 10,
            "membersReference": ref,
        }

    def members_json(self):
        return {"kind": "tm:ltm:pool:members:memberscollectionstate", "selfLink": self.members_link(),
                "items": [m.to_json() for m in self.members]}

    def stats_json(self):
        return {"kind": "tm:ltm:pool:members:memberscollectionstats",
                "selfLink": "%s/mgmt/tm/ltm/pool/%s/members/stats?ver=%s" % (LOCAL, tilde(self.full_path), VERSION),
                "entries": {m.stats_key(): {"nestedStats": m.stats_json()} for m in self.members}}


DEFAULT_POOLS = {
    "/Common/web": {"members": [{"name": "192.0.2.10:80"}, {"name": "192.0.2.11:80"},
                                {"name": "192.0.2.12:80"}]},
    "/Common/api": {"members": [{"name": "192.0.2.10:8080"}, {"name": "198.51.100.20:8080"}]},
    "/Tenant/app": {"members": [{"name": "198.51.100.30:443"}, {"name": "198.51.100.31%2:443"},
                                {"name": "2001:db8::1.80"}, {"name": "/Common/2001:db8::2.80"}]},
}


class Emulator:
    """All the state, behind one lock: the HTTP threads only call handle()."""

    def __init__(self, user, password, pools):
        self.lock = threading.RLock()
        self.user = user
        self.password = password
        self.tokens = {}  # token -> {"expires": monotonic, "timeout": s}
        self.issued = 0
        self.deleted = 0
        self.last_provider = None
        self.token_lifetime = 1200.0
        self.max_tokens = 100
        self.latency = 0.0
        self.expand = True
        self.conn_counts = True
        self.faults = []
        self.log = []
        self.inflight = 0
        self.max_inflight = 0
        self.transactions = {}
        self.next_trans = 1389812351
        self.set_pools(pools)

    def set_pools(self, spec):
        with self.lock:
            self.pools = [Pool(path, p) for path, p in spec.items()]

    def find_pool(self, path):
        for p in self.pools:
            if p.full_path == path:
                return p
        return None

    # ---- knobs -----------------------------------------------------------
    def control(self, method, path, body):
        with self.lock:
            if path == "/__emulator__/pools" and method == "GET":
                return 200, {p.full_path: [m.witness() for m in p.members] for p in self.pools}
            if path == "/__emulator__/pools" and method == "PUT":
                self.set_pools(body)
                return 200, {}
            if path == "/__emulator__/member" and method == "POST":
                pool = self.find_pool(body["pool"])
                member = pool.find(body["member"]) if pool else None
                if not member:
                    return 404, {"error": "no such member"}
                member.set_direct(body)
                member.generation += 1
                return 200, member.witness()
            if path == "/__emulator__/requests" and method == "GET":
                return 200, {"count": len(self.log), "log": self.log, "max_inflight": self.max_inflight}
            if path == "/__emulator__/requests/reset" and method == "POST":
                self.log = []
                self.max_inflight = 0
                return 200, {}
            if path == "/__emulator__/config" and method == "POST":
                for key in ("latency", "token_lifetime", "max_tokens", "expand", "conn_counts"):
                    if key in body:
                        setattr(self, key, body[key])
                return 200, {}
            if path == "/__emulator__/faults" and method == "POST":
                rule = dict(body)
                rule.setdefault("times", 1)
                rule.setdefault("skip", 0)
                rule["re"] = re.compile(rule.get("path", ".*"))
                self.faults.append(rule)
                return 200, {}
            if path == "/__emulator__/faults/clear" and method == "POST":
                self.faults = []
                return 200, {}
            if path == "/__emulator__/tokens" and method == "GET":
                now = time.monotonic()
                live = sum(1 for t in self.tokens.values() if t["expires"] > now)
                return 200, {"live": live, "issued": self.issued, "deleted": self.deleted,
                             "last_provider": self.last_provider}
            if path == "/__emulator__/tokens/expire" and method == "POST":
                for t in self.tokens.values():
                    t["expires"] = 0
                return 200, {}
        return 404, {"error": "unknown control endpoint"}

    def take_fault(self, method, path):
        with self.lock:
            for rule in self.faults:
                if rule.get("method") and rule["method"] != method:
                    continue
                if not rule["re"].search(path):
                    continue
                if rule["skip"] > 0:
                    rule["skip"] -= 1
                    continue
                if rule["times"] == 0:
                    continue
                if rule["times"] > 0:
                    rule["times"] -= 1
                return rule
        return None

    # ---- authentication ----------------------------------------------------
    def expire_tokens(self):
        now = time.monotonic()
        for tok in [t for t, v in self.tokens.items() if v["expires"] <= now - 60]:
            del self.tokens[tok]  # BIG-IP forgets expired tokens eventually

    def authenticate(self, headers, peer, uri):
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                user, password = "", None
            if user == self.user and password == self.password:
                return
            raise rest_error(401, "Authorization failed: user=%s resource=%s verb=GET uri:http://localhost:8100%s"
                             " referrer:%s sender:%s" % (user, uri, uri, peer, peer), peer)
        token = headers.get("X-F5-Auth-Token")
        if token is None:
            raise rest_error(401, "Authorization failed: no user authentication header or token detected. "
                             "Uri:http://localhost:8100%s Referrer:%s Sender:%s" % (uri, peer, peer), peer)
        entry = self.tokens.get(token)
        if entry is None:
            raise rest_error(401, "X-F5-Auth-Token does not exist.", peer)
        if entry["expires"] <= time.monotonic():
            raise rest_error(401, "X-F5-Auth-Token has expired.", peer)

    def login(self, body, peer):
        if not isinstance(body, dict) or body.get("username") != self.user or body.get("password") != self.password:
            # BIG-IP echoes the request without the password.
            echoed = {k: v for k, v in body.items() if k != "password"} if isinstance(body, dict) else {}
            echoed.update({"generation": 0, "lastUpdateMicros": 0})
            err = rest_error(401, "Authentication failed.", peer)
            err.extra["originalRequestBody"] = json.dumps(echoed)
            raise err
        self.expire_tokens()
        if len(self.tokens) >= self.max_tokens:
            raise rest_error(400, "maximum active login tokens", peer)
        token = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(26))
        now_us = int(time.time() * 1e6)
        self.tokens[token] = {"expires": time.monotonic() + self.token_lifetime, "timeout": int(self.token_lifetime)}
        self.issued += 1
        provider = body.get("loginProviderName", "tmos")
        self.last_provider = provider
        return {
            "username": self.user,
            "loginReference": {"link": "%s/mgmt/cm/system/authn/providers/%s/login" % (LOCAL, provider)},
            "loginProviderName": provider,
            "token": self.token_json(token, now_us),
            "generation": 0,
            "lastUpdateMicros": 0,
        }

    def token_json(self, token, now_us=None):
        now_us = now_us or int(time.time() * 1e6)
        entry = self.tokens[token]
        return {"token": token, "name": token, "userName": self.user, "authProviderName": "tmos",
                "user": {"link": "%s/mgmt/shared/authz/users/%s" % (LOCAL, self.user)},
                "timeout": entry["timeout"], "startTime": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()),
                "address": "127.0.0.1", "partition": "[All]", "generation": 1, "lastUpdateMicros": now_us,
                "expirationMicros": now_us + int(entry["timeout"] * 1e6),
                "kind": "shared:authz:tokens:authtokenitemstate",
                "selfLink": "%s/mgmt/shared/authz/tokens/%s" % (LOCAL, token)}

    # ---- dispatch ------------------------------------------------------------
    def handle(self, method, raw_path, headers, body, peer):
        """Return (status, json body) for one /mgmt request."""
        split = urlsplit(raw_path)
        if re.search(r"%(?![0-9A-Fa-f]{2})", split.path):
            # A route domain's '%' must travel as %25; a bare one is not a URL.
            raise F5Error(400, "Bad Request: invalid percent-encoding in %s" % split.path, api_error=1)
        query = parse_qs(split.query)
        path = unquote(split.path).rstrip("/") or "/"
        with self.lock:
            if path == "/mgmt/shared/authn/login" and method == "POST":
                return 200, self.login(body, peer)
            self.authenticate(headers, peer, split.path)
            m = re.fullmatch(r"/mgmt/shared/authz/tokens/([^/]+)", path)
            if m:
                return self.token_op(method, m.group(1), body)
            trans = headers.get("X-F5-REST-Coordination-Id")
            if trans is not None and method in ("POST", "PATCH", "PUT", "DELETE") and \
                    not path.startswith("/mgmt/tm/transaction"):
                return self.queue(trans, method, raw_path, body)
            if path.startswith("/mgmt/tm/transaction"):
                return self.transaction_op(method, path, body)
            return self.tm(method, path, query, body)

    def token_op(self, method, token, body):
        if token not in self.tokens:
            raise F5Error(404, "Token not found.", api_error=1)
        if method == "DELETE":
            gone = self.token_json(token)
            del self.tokens[token]
            self.deleted += 1
            return 200, gone
        if method == "PATCH" and isinstance(body, dict) and isinstance(body.get("timeout"), int):
            self.tokens[token]["timeout"] = body["timeout"]
            self.tokens[token]["expires"] = time.monotonic() + body["timeout"]
            return 200, self.token_json(token)
        if method == "GET":
            return 200, self.token_json(token)
        raise F5Error(400, "unsupported token operation", api_error=1)

    def tm(self, method, path, query, body):
        if path == "/mgmt/tm/sys" and method == "GET":
            return 200, {"kind": "tm:sys:syscollectionstate", "selfLink": "%s/mgmt/tm/sys?ver=%s" % (LOCAL, VERSION),
                         "items": [{"reference": {"link": "%s/mgmt/tm/sys/version?ver=%s" % (LOCAL, VERSION)}}]}
        m = re.fullmatch(r"/mgmt/tm/net/tunnels/(gre|ipip)", path)
        if m and method == "GET":
            kind = m.group(1)
            return 200, {"kind": "tm:net:tunnels:%s:%scollectionstate" % (kind, kind),
                         "selfLink": "%s/mgmt/tm/net/tunnels/%s?ver=%s" % (LOCAL, kind, VERSION),
                         "items": [{"kind": "tm:net:tunnels:%s:%sstate" % (kind, kind), "name": kind,
                                    "partition": "Common", "fullPath": "/Common/" + kind}]}
        if path.startswith("/mgmt/tm/ltm/node"):
            return self.node(method, path)
        if path == "/mgmt/tm/ltm/pool" and method == "GET":
            expand = self.expand and query.get("expandSubcollections", ["false"])[0] == "true"
            return 200, {"kind": "tm:ltm:pool:poolcollectionstate",
                         "selfLink": "%s/mgmt/tm/ltm/pool?ver=%s" % (LOCAL, VERSION),
                         "items": [p.to_json(expand) for p in self.pools]}
        m = re.fullmatch(r"/mgmt/tm/ltm/pool/([^/]+)(/members(?:/(?!stats$)([^/]+))?)?(/stats)?", path)
        if not m:
            raise F5Error(404, "Public URI path not registered: %s" % path, api_error=1)
        pool_path = m.group(1).replace("~", "/")
        pool = self.find_pool(pool_path if pool_path.startswith("/") else "/Common/" + pool_path)
        if pool is None:
            raise F5Error(404, "01020036:3: The requested Pool (%s) was not found." % pool_path)
        if not m.group(2):
            if method != "GET" or m.group(4):
                raise F5Error(405, "Method not allowed in this emulator: %s %s" % (method, path), api_error=1)
            return 200, pool.to_json(query.get("expandSubcollections", ["false"])[0] == "true" and self.expand)
        if m.group(3) is None:
            if method != "GET":
                raise F5Error(405, "Method not allowed in this emulator: %s %s" % (method, path), api_error=1)
            return 200, self.counted(pool.stats_json()) if m.group(4) else pool.members_json()
        member_path = m.group(3).replace("~", "/")
        if not member_path.startswith("/"):
            member_path = "/Common/" + member_path
        member = pool.find(member_path)
        if member is None:
            raise F5Error(404, member_not_found(pool.full_path, member_path))
        if m.group(4):
            return 200, self.counted({"kind": "tm:ltm:pool:members:membersstats", "generation": member.generation,
                                      "selfLink": member.stats_key() + "?ver=" + VERSION,
                                      "entries": {member.stats_key(): {"nestedStats": member.stats_json()}}})
        if method == "GET":
            return 200, member.to_json()
        if method in ("PATCH", "PUT"):
            member.apply_patch(member.validate_patch(body))
            return 200, member.to_json()
        raise F5Error(405, "Method not allowed in this emulator: %s %s" % (method, path), api_error=1)

    def counted(self, stats):
        return stats if self.conn_counts else strip_keys(stats, {"serverside.curConns"})

    def node(self, method, path):
        nodes = {}
        for p in self.pools:
            for mem in p.members:
                nodes.setdefault("/%s/%s" % (mem.partition, mem.address), mem)

        def node_json(full, mem):
            part, name = split_path(full)
            return {"kind": "tm:ltm:node:nodestate", "name": name, "partition": part, "fullPath": full,
                    "generation": 1, "selfLink": "%s/mgmt/tm/ltm/node/%s?ver=%s" % (LOCAL, tilde(full), VERSION),
                    "address": mem.address, "connectionLimit": 0, "dynamicRatio": 1, "ephemeral": "false",
                    "fqdn": {"addressFamily": "ipv4", "autopopulate": "disabled", "downInterval": 5,
                             "interval": "3600"},
                    "logging": "disabled", "monitor": "default", "rateLimit": "disabled", "ratio": 1,
                    "session": "user-enabled", "state": "unchecked"}

        if method != "GET":
            raise F5Error(405, "Method not allowed in this emulator: %s %s" % (method, path), api_error=1)
        if path == "/mgmt/tm/ltm/node":
            return 200, {"kind": "tm:ltm:node:nodecollectionstate",
                         "items": [node_json(f, m) for f, m in nodes.items()]}
        full = path[len("/mgmt/tm/ltm/node/"):].replace("~", "/")
        if full in nodes:
            return 200, node_json(full, nodes[full])
        raise F5Error(404, "01020036:3: The requested Node (%s) was not found." % full)

    # ---- transactions ----------------------------------------------------------
    def trans_json(self, tid):
        t = self.transactions[tid]
        return {"transId": tid, "state": t["state"], "timeoutSeconds": 30, "asyncExecution": False,
                "validateOnly": False, "executionTimeout": 300, "executionTime": 0, "failedCommandCount": 0,
                "kind": "tm:transactionstate", "selfLink": "%s/mgmt/tm/transaction/%d?ver=%s" % (LOCAL, tid, VERSION)}

    def queue(self, trans, method, raw_path, body):
        try:
            tid = int(trans)
        except ValueError:
            tid = -1
        t = self.transactions.get(tid)
        if t is None or t["state"] != "STARTED":
            raise F5Error(400, "Transaction %s is not in STARTED state." % trans, api_error=1)
        t["commands"].append({"method": method, "uri": LOCAL + raw_path, "body": body})
        return 200, self.trans_json(tid)

    def transaction_op(self, method, path, body):
        if path == "/mgmt/tm/transaction":
            if method == "POST":
                tid = self.next_trans
                self.next_trans += 1
                self.transactions[tid] = {"state": "STARTED", "commands": []}
                return 200, self.trans_json(tid)
            if method == "GET":
                return 200, {"kind": "tm:transactioncollectionstate",
                             "selfLink": "%s/mgmt/tm/transaction?ver=%s" % (LOCAL, VERSION),
                             "items": [self.trans_json(t) for t in self.transactions]}
        m = re.fullmatch(r"/mgmt/tm/transaction/(\d+)(/commands)?", path)
        tid = int(m.group(1)) if m else -1
        if tid not in self.transactions:
            raise F5Error(404, "Transaction %s not found." % (m.group(1) if m else path), api_error=1)
        t = self.transactions[tid]
        if m.group(2) and method == "GET":
            return 200, {"kind": "tm:transaction:commandscollectionstate",
                         "items": [dict(c, evalOrder=i + 1, commandId=i + 1, kind="tm:transaction:commandsstate")
                                   for i, c in enumerate(t["commands"])]}
        if method == "GET":
            return 200, self.trans_json(tid)
        if method == "DELETE":
            del self.transactions[tid]
            return 200, {}
        if method == "PATCH" and isinstance(body, dict) and body.get("state") == "VALIDATING":
            return self.commit(tid, t, body.get("validateOnly", False))
        raise F5Error(400, "invalid transaction operation", api_error=1)

    def commit(self, tid, t, validate_only):
        if t["state"] != "STARTED":
            raise F5Error(400, "Transaction %d is already %s." % (tid, t["state"]), api_error=1)
        if not t["commands"]:
            raise F5Error(400, "there is no command to commit in the transaction", api_error=1)
        # All or nothing: run every command against a copy, keep it only if
        # all of them succeed, as BIG-IP's single mcpd transaction does.
        saved = self.pools
        self.pools = copy.deepcopy(saved)
        try:
            for cmd in t["commands"]:
                split = urlsplit(cmd["uri"])
                self.tm(cmd["method"], unquote(split.path).rstrip("/"), parse_qs(split.query), cmd["body"])
        except F5Error as err:
            self.pools = saved
            t["state"] = "FAILED"
            # As BIG-IP answers a failed commit: 400, apiError 2, the cause after "transaction failed:".
            raise F5Error(400, "transaction failed:" + err.message, api_error=2)
        if validate_only:
            self.pools = saved
        t["state"] = "COMPLETED"
        return 200, self.trans_json(tid)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client refusing our certificate is a test, not a crash


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Apache"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: tests read the counter instead
        pass

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None, raw
        try:
            return json.loads(raw), raw
        except ValueError:
            return ValueError, raw

    def send_json(self, status, body, truncate=None, close=False):
        data = json.dumps(body, separators=(",", ":")).encode() if not isinstance(body, bytes) else body
        if truncate == "body":
            data = data[: len(data) // 2]
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8" if not isinstance(body, bytes)
                         else "text/html; charset=iso-8859-1")
        self.send_header("Content-Length", str(len(data)))
        if close or truncate == "connection":
            self.send_header("Connection", "close")
        self.end_headers()
        if truncate == "connection":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)
        if close:
            self.close_connection = True

    def dispatch(self):
        emu = self.server.emulator
        body, _ = self.read_body()
        path = urlsplit(self.path).path
        if path.startswith("/__emulator__/"):
            status, out = emu.control(self.command, path, body if body is not ValueError else None)
            return self.send_json(status, out)
        with emu.lock:
            # Tokens are secrets even here: the log shows where, not which.
            emu.log.append([self.command, re.sub(r"(/authz/tokens/)[^/?]+", r"\1<token>", self.path)])
            emu.inflight += 1
            emu.max_inflight = max(emu.max_inflight, emu.inflight)
        try:
            self.answer(emu, body)
        finally:
            with emu.lock:
                emu.inflight -= 1

    def answer(self, emu, body):
        peer = self.client_address[0]
        with emu.lock:
            latency = emu.latency
        fault = emu.take_fault(self.command, self.path)
        if latency:
            time.sleep(latency)
        if fault and fault.get("delay"):
            time.sleep(fault["delay"])
        if fault and fault.get("drop"):
            self.close_connection = True
            return
        if fault and fault.get("status"):
            status = fault["status"]
            out = fault.get("body")
            if out is None:
                out = default_fault_body(status, peer)
            elif isinstance(out, str):
                out = out.encode()
            return self.send_json(status, out, truncate=fault.get("truncate"))
        if body is ValueError:
            return self.send_json(400, F5Error(400, "Unexpected character in JSON body", api_error=1).body())
        try:
            status, out = emu.handle(self.command, self.path, self.headers, body, peer)
        except F5Error as err:
            status, out = err.code, err.body()
        if fault and fault.get("kind") and isinstance(out, dict):
            out = dict(out, kind=fault["kind"])
        if fault and fault.get("strip"):
            out = strip_keys(out, set(fault["strip"]))
        self.send_json(status, out, truncate=fault.get("truncate") if fault else None)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = dispatch


def strip_keys(value, keys):
    if isinstance(value, dict):
        return {k: strip_keys(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [strip_keys(v, keys) for v in value]
    return value


def default_fault_body(status, peer):
    if status == 500:
        return F5Error(500, MCPD_LOST, api_error=32768001).body()
    if status == 503:
        # While restjavad restarts, BIG-IP answers with an HTML page.
        return b"<html><body>Configuration Utility restarting...</body></html>"
    if status == 401:
        return rest_error(401, "X-F5-Auth-Token has expired.", peer).body()
    if status == 404:
        return F5Error(404, "01020036:3: The requested Pool (/Common/injected) was not found.").body()
    return F5Error(status, "injected fault %d" % status, api_error=1).body()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cert", required=True, help="server certificate (PEM)")
    ap.add_argument("--key", required=True, help="server private key (PEM)")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password-file", required=True, help="file holding the accepted password")
    ap.add_argument("--pools", help="JSON file: {\"/Part/pool\": {\"members\": [{\"name\": \"ADDR:PORT\"...}]}}")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every /mgmt request")
    ap.add_argument("--token-lifetime", type=float, default=1200.0, help="token timeout in seconds")
    args = ap.parse_args()

    with open(args.password_file) as f:
        password = f.readline().rstrip("\n")
    pools = DEFAULT_POOLS
    if args.pools:
        with open(args.pools) as f:
            pools = json.load(f)
    emu = Emulator(args.user, password, pools)
    emu.latency = args.latency
    emu.token_lifetime = args.token_lifetime

    server = Server(("127.0.0.1", args.port), Handler)
    server.emulator = emu
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    # The handshake happens in each request's thread, so a stalled or refused
    # handshake never blocks the accept loop.
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print("LISTENING %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
