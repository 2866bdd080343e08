#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An F5 BIG-IP iControl REST emulator for tests (Python standard library only).

It answers with the shapes that public recordings of BIG-IP 11.x to 17.x show
(tests/f5/README.md lists each shape and its source), per version:

  POST   /mgmt/shared/authn/login          token login ({"token":{"token":...}})
  PATCH  /mgmt/shared/authz/tokens/<t>     token timeout
  DELETE /mgmt/shared/authz/tokens/<t>     logout
  GET    /mgmt/tm/sys/, /mgmt/tm/sys/version
  GET    /mgmt/tm/ltm/pool[?expandSubcollections=true]
  GET    /mgmt/tm/ltm/pool/~P~NAME[/members[/~P~MEMBER]]
  PATCH  /mgmt/tm/ltm/pool/~P~NAME/members/~P~MEMBER
  GET    /mgmt/tm/ltm/pool/~P~NAME/members[/~P~MEMBER]/stats,
         /mgmt/tm/ltm/pool/members/stats (every pool; 11.x: empty)
  GET    /mgmt/tm/ltm/node[/~P~NAME], PATCH /mgmt/tm/ltm/node/~P~NAME
  GET    /mgmt/tm/cm/sync-status, /mgmt/tm/cm/failover-status
  POST   /mgmt/tm/cm {"command":"run","utilCmdArgs":"config-sync to-group G"}
         (a pair only: a standalone device, or another group, answers 400)
  POST   /mgmt/tm/util/bash (only "tmsh delete sys connection ...")
  DELETE /mgmt/tm/sys/connection?options=ss-server-addr+A[+ss-server-port+P]
         (tmsh's "delete sys connection" with its arguments in options)
  GET    /mgmt/tm/net/tunnels/{gre,ipip}
  POST   /mgmt/tm/transaction, PATCH .../<id> {"state":"VALIDATING"},
         GET .../<id>[/commands[/<n>]], PATCH .../<id>/commands/<n>
         {"evalOrder":k}, DELETE .../<id>; writes carrying
         X-F5-REST-Coordination-Id are queued (the answer is the queued
         command) and run atomically at commit.

Basic auth is accepted on every /mgmt call, as on BIG-IP. Members report
`session` monitor-enabled/user-enabled/user-disabled and `state`
up/down/checking/unchecked/user-down (fqdn-up for an FQDN template), and
accept in a PATCH only what a BIG-IP accepts (session user-enabled/
user-disabled, state user-up/user-down). A member is named after its node
("web-a:80", address apart, or "192.0.2.10:80" for a node named by its
address); a node disabled or forced offline holds its members
(status.enabledState disabled-by-parent).

Versions (--version, config "version", default $LBM_F5_VERSION or 15.1.10):
any N.N[.N[.N]]; selfLinks carry it as ?ver=. Below 12.0 a single object's
/stats is flat; below 12.1 errors have no "apiError"; member statistics carry
mr.* counters from 16.1; below 11.6 members have no ephemeral/fqdn keys;
exactly 13.1.0.6 answers members/stats with the pool's own statistics.

Knobs, outside /mgmt, under /__emulator__/ (no authentication; loopback only):
  GET  /__emulator__/pools            the members as the emulator holds them
  PUT  /__emulator__/pools            replace every pool (same spec as --pools)
  POST /__emulator__/member           {"pool","member", fields...}: set state
                                      directly (session, state, admin, monitor,
                                      ratio, conns, drain_rate; addresses for
                                      an FQDN template)
  GET  /__emulator__/nodes            the nodes as the emulator holds them
  POST /__emulator__/node             {"node":"/P/N","admin":"enabled"|
                                      "disabled"|"forced_offline",
                                      "monitor":"up"|"down"|null}
  GET  /__emulator__/requests         {"count":N,"log":[[METHOD,PATH],...],
                                      "max_inflight":N}
  POST /__emulator__/requests/reset
  GET  /__emulator__/config           every knob below, and "shape"
  POST /__emulator__/config           {"latency":s,"token_lifetime":s,
                                      "max_tokens":n,"expand":bool,
                                      "conn_counts":bool,"version":"N.N.N",
                                      "commit_async":bool|n,
                                      "fqdn_propagate":bool,
                                      "member_stats_pool_level":bool|null,
                                      "transaction_timeout":s,
                                      "password_expired":bool,
                                      "sync_status":S,"failover_status":S}
                                      conn_counts false serves statistics
                                      without serverside.curConns, as some
                                      devices do
  POST /__emulator__/faults           {"path":regex,"method":M,"status":503,
                                      "body":...,"times":1,"skip":0,"delay":s,
                                      "truncate":"body"|"connection","kind":K,
                                      "strip":[keys],"drop":true}: the next
                                      matching /mgmt requests fail that way
  POST /__emulator__/faults/clear
  GET  /__emulator__/group            a pair: {"name","units":[hostname...],
                                      "pending":[hostname...],"sync_reads":n,
                                      "stuck":bool,"syncs":n}; standalone: 404
  POST /__emulator__/group            {"sync_reads":n,"stuck":bool}: the next
                                      config-sync completes after n sync-status
                                      reads ("Not All Devices Synced" until
                                      then), or never (stuck)
  GET  /__emulator__/tokens           {"live":n,"issued":n,"deleted":n,
                                      "last_provider":loginProviderName}
  POST /__emulator__/tokens/expire    every live token expires now

--pair: two units of one sync-failover device group "failover-group" in one
process, each on its own port ("LISTENING PORT_A PORT_B"): bigip-a.example.com
ACTIVE, bigip-b.example.com STANDBY. They share nothing but what config-sync
copies: a change of member or node configuration through /mgmt on either
unit makes the group "Changes Pending" on both (naming the unit to sync
from); config-sync to-group on a unit copies its member and node
configuration (session, state, ratio...; not monitors or connections) to the
other and makes both "In Sync". A standby accepts changes, as a real one
does. The knobs (/__emulator__/member...) change one unit behind the group's
back, pending nothing. The failover_status knob is per unit (a failover).

Credentials the emulator accepts: --user, and the password from
--password-file (never on the command line).
"""
import argparse
import base64
import copy
import ipaddress
import json
import os
import re
import secrets
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

VERSION = os.environ.get("LBM_F5_VERSION", "15.1.10")
SHAPES = ("11.6", "12.1", "13.1", "15.1", "16.1", "17.1")
LOCAL = "https://localhost"

# Error texts are BIG-IP's own where public tools and captures show them (404
# "01020036:3", 401 login and token messages, mcpd lost, "transaction
# failed:", "one or more properties must be specified", "address may not be
# specified", "Found invalid command id", "Missing transaction ID for this
# call."). The 400s for a bad session/state/ratio value, an unknown property
# and the token limit have the right status and shape, but their wording was
# not found in a capture: tests must not match on it.
MCPD_LOST = "The connection to mcpd has been lost, try again."
# Where no public recording shows BIG-IP's text, the emulator says so rather
# than invent one (the fixtures carry the same words).
PLACEHOLDER = "UNVERIFIED placeholder: text not found in a public recording"
PARENT_REASON = "UNVERIFIED placeholder: the real statusReason text was not found in any public recording"


def parse_version(text):
    """'15.1.10' -> (15, 1, 10); anything but N.N[.N[.N]] is refused."""
    if not isinstance(text, str) or not re.fullmatch(r"\d+\.\d+(\.\d+){0,2}", text):
        raise ValueError("version %r is not N.N[.N[.N]]" % (text,))
    return tuple(int(x) for x in text.split("."))


def shape_of(version):
    """The documented shape (major.minor) a version answers with: the highest
    one not above it, or the lowest."""
    v = parse_version(version)[:2]
    below = [s for s in SHAPES if tuple(map(int, s.split("."))) <= v]
    return below[-1] if below else SHAPES[0]


class F5Error(Exception):
    def __init__(self, code, message, api_error=3, extra=None, rest=False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.api_error = api_error
        self.extra = extra or {}
        self.rest = rest

    def body(self, api_error=True):
        if self.rest:
            # restjavad's own errors: no errorStack, no apiError.
            body = {"code": self.code, "message": self.message}
        else:
            body = {"code": self.code, "message": self.message, "errorStack": []}
            if api_error:
                body["apiError"] = self.api_error
        body.update(self.extra)
        return body


def rest_error(code, message, peer):
    """The shape of errors from the REST framework itself (auth, routing)."""
    extra = {"referer": peer} if peer else {}
    extra.update({"restOperationId": secrets.randbelow(10**7), "kind": ":resterrorresponse"})
    return F5Error(code, message, extra=extra, rest=True)


def tilde(path):
    """/Common/web -> ~Common~web (and % -> %25, as F5's tools send it)."""
    return path.replace("/", "~").replace("%", "%25")


def split_member_name(name):
    """'192.0.2.1:80' / '2001:db8::1.80' / '192.0.2.1%2:80' / 'web-a:80'
    -> (node name or address, port)."""
    if name.count(":") > 1:
        addr, _, port = name.rpartition(".")
    else:
        addr, _, port = name.rpartition(":")
    if not addr or not port.isdigit():
        raise ValueError("member name %r is not NODE:PORT" % name)
    return addr, int(port)


def route_domain_address(text):
    """'198.51.100.31%2' -> (ip_address, 2); an address without a route
    domain is in route domain 0. None when it is not an address."""
    addr, _, rd = text.partition("%")
    try:
        return ipaddress.ip_address(addr), int(rd or 0)
    except ValueError:
        return None


def split_path(full, default_partition="Common"):
    """'/Tenant/web' -> ('Tenant', 'web'); 'web' -> (default, 'web')."""
    if full.startswith("/"):
        part, _, name = full[1:].partition("/")
        return part, name
    return default_partition, full


def stat(value):
    return {"value": value} if isinstance(value, int) else {"description": value}


def validate_admin_patch(body, what, fields, ignored):
    """Raise the 400 a BIG-IP gives for a member or node PATCH."""
    if not isinstance(body, dict):
        raise F5Error(400, "Expected a JSON object in the request body.", api_error=26214401)
    if not body:
        raise F5Error(400, "one or more properties must be specified", api_error=26214401)
    allowed = {"session": ("user-enabled", "user-disabled"), "state": ("user-up", "user-down")}
    for key, value in body.items():
        if key in allowed:
            if value not in allowed[key]:
                # BIG-IP rejects the read-only values (monitor-enabled, up,
                # unchecked...) that a GET shows, as go-bigip#126 reports.
                raise F5Error(400, "invalid property value \"%s\":\"%s\"" % (key, value), api_error=26214401)
        elif key not in fields and key not in ignored:
            raise F5Error(400, "Found unexpected json pair at configuration item %s. The json pair \"%s\":%s is not"
                          " allowed." % (what, key, json.dumps(value)), api_error=26214401)


def apply_admin(obj, body):
    """session and state of a PATCH, on a node or a member: user-down (Forced
    Offline) implies user-disabled, as BIG-IP shows it."""
    if "session" in body:
        obj.user_disabled = body["session"] == "user-disabled"
    if "state" in body:
        obj.user_down = body["state"] == "user-down"
        if obj.user_down:
            obj.user_disabled = True


class Node:
    """An LTM node: named by host ("web-a") or by address ("192.0.2.10")."""

    def __init__(self, emu, full_path, address, fqdn=None, ephemeral=False):
        self.emu = emu
        self.partition, self.name = split_path(full_path)
        self.address = address
        self.fqdn = fqdn
        self.resolved = True  # an FQDN node: DNS gave addresses
        self.ephemeral = ephemeral
        self.user_disabled = False
        self.user_down = False
        self.monitor_status = None  # None: no monitor of its own
        self.generation = 1

    @property
    def full_path(self):
        return "/%s/%s" % (self.partition, self.name)

    def admin(self):
        return "forced_offline" if self.user_down else "disabled" if self.user_disabled else "enabled"

    def session(self):
        if self.user_disabled:
            return "user-disabled"
        return "monitor-enabled" if self.monitor_status and not self.fqdn else "user-enabled"

    def state(self):
        if self.user_down:
            return "user-down"
        if self.fqdn and not self.ephemeral:
            return "fqdn-up" if self.resolved else "fqdn-up-no-addr"
        return self.monitor_status or "unchecked"

    def set_direct(self, spec):
        admin = spec.get("admin")
        if admin is not None:
            if admin not in ("enabled", "disabled", "forced_offline"):
                raise ValueError("admin must be enabled, disabled or forced_offline")
            self.user_disabled = admin in ("disabled", "forced_offline")
            self.user_down = admin == "forced_offline"
        if "monitor" in spec:
            self.monitor_status = spec["monitor"]
        self.generation += 1

    def to_json(self):
        fqdn = {"addressFamily": "ipv4", "autopopulate": "enabled" if self.fqdn else "disabled",
                "downInterval": 5, "interval": "3600"}
        if self.fqdn:
            fqdn["tmName"] = self.fqdn
        return {"kind": "tm:ltm:node:nodestate", "name": self.name, "partition": self.partition,
                "fullPath": self.full_path, "generation": self.generation,
                "selfLink": "%s/mgmt/tm/ltm/node/%s?ver=%s" % (LOCAL, tilde(self.full_path), self.emu.version),
                "address": self.address, "connectionLimit": 0, "dynamicRatio": 1,
                "ephemeral": "true" if self.ephemeral else "false", "fqdn": fqdn, "logging": "disabled",
                # A monitor name ends with a space, as recorded.
                "monitor": "/Common/icmp " if self.monitor_status else "default", "rateLimit": "disabled",
                "ratio": 1, "session": self.session(), "state": self.state()}

    def witness(self):
        return {"fullPath": self.full_path, "address": self.address, "session": self.session(),
                "state": self.state(), "admin": self.admin(), "monitor": self.monitor_status,
                "ephemeral": self.ephemeral, "fqdn": self.fqdn}

    def patch(self, body):
        validate_admin_patch(body, "/ltm/node/" + tilde(self.full_path),
                             ("description", "connectionLimit", "rateLimit", "ratio", "logging", "monitor"),
                             {"name", "partition", "fullPath", "kind", "selfLink", "generation", "address",
                              "ephemeral", "fqdn"})
        apply_admin(self, body)
        self.generation += 1


class Member:
    FIELDS = ("ratio", "description", "connectionLimit", "priorityGroup", "rateLimit", "monitor", "logging",
              "dynamicRatio", "inheritProfile", "profiles")

    def __init__(self, pool, spec, template=None, address=None):
        self.pool = pool
        self.template = template  # an ephemeral's FQDN template member
        if template is not None:
            self.partition = template.partition
            self.port = template.port
            self.fqdn = template.fqdn
            self.address = address
            self.name = "_auto_%s%s%d" % (address, "." if ":" in address else ":", self.port)
            node = "_auto_" + address
        else:
            self.partition, self.name = split_path(spec["name"], pool.partition)
            node, self.port = split_member_name(self.name)
            self.fqdn = spec.get("fqdn")
            self.address = "any6" if self.fqdn else spec.get("address", node)
        self.node_path = "/%s/%s" % (self.partition, node)
        self.user_disabled = False
        self.user_down = False
        # None: no monitor (state "unchecked"); else up/down/checking; an
        # FQDN template reports its DNS state.
        self.monitor_status = "fqdn-up" if self.is_template else spec.get("monitor", "up")
        self.monitor_since = time.time()
        self.generation = 1
        self.props = {"ratio": 1, "description": None, "connectionLimit": 0, "priorityGroup": 0,
                      "rateLimit": "disabled", "monitor": "default", "logging": "disabled",
                      "dynamicRatio": 1, "inheritProfile": "enabled"}
        self.conns0 = 0
        self.conns_t0 = time.monotonic()
        self.drain_rate = 0.0
        if template is None:
            self.set_direct({k: v for k, v in spec.items() if not (self.is_template and k == "monitor")})

    @property
    def is_template(self):
        return bool(self.fqdn) and self.template is None

    @property
    def emu(self):
        return self.pool.emu

    @property
    def node(self):
        return self.emu.nodes.get(self.node_path)

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
            if spec["monitor"] != self.monitor_status:
                self.monitor_since = time.time()
            self.monitor_status = spec["monitor"]
        if "ratio" in spec:
            self.props["ratio"] = spec["ratio"]
        if "conns" in spec or "drain_rate" in spec:
            self.conns0 = spec.get("conns", self.conns())
            self.conns_t0 = time.monotonic()
            self.drain_rate = float(spec.get("drain_rate", self.drain_rate))

    def self_link(self):
        return "%s/mgmt/tm/ltm/pool/%s/members/%s?ver=%s" % (LOCAL, tilde(self.pool.full_path),
                                                            tilde(self.full_path), self.emu.version)

    def to_json(self):
        body = {
            "kind": "tm:ltm:pool:members:membersstate",
            "name": self.name,
            "partition": self.partition,
            "fullPath": self.full_path,
            "generation": self.generation,
            "selfLink": self.self_link(),
            "address": self.address,
        }
        rest = {"session": self.session(), "state": self.state()}
        if self.emu.at_least(11, 6):  # 11.5.4 had neither
            rest["ephemeral"] = "true" if self.template is not None else "false"
            rest["fqdn"] = {"autopopulate": "enabled", "tmName": self.fqdn} if self.fqdn else \
                {"autopopulate": "disabled"}
        rest.update((k, v) for k, v in self.props.items() if v is not None)
        body.update((k, rest[k]) for k in sorted(rest))
        return body

    def witness(self):
        node = self.node
        w = {"name": self.name, "fullPath": self.full_path, "address": self.address, "port": self.port,
             "session": self.session(), "state": self.state(), "monitor": self.monitor_status,
             "ratio": self.props["ratio"], "conns": self.conns(), "drain_rate": self.drain_rate,
             "generation": self.generation, "node": self.node_path, "node_admin": node.admin() if node else None}
        if self.fqdn:
            w.update({"fqdn": self.fqdn, "ephemeral": self.template is not None,
                      "template": self.template.full_path if self.template is not None else None})
        return w

    def stats_key(self):
        return "%s/mgmt/tm/ltm/pool/%s/members/%s/stats" % (LOCAL, tilde(self.pool.full_path), tilde(self.full_path))

    def monitor_rule(self):
        return "%s (pool monitor)" % (self.pool.monitor or "/Common/http") if self.monitor_status else "none"

    def status(self):
        """(monitorStatus, availabilityState, enabledState, statusReason)."""
        node = self.node
        held = node is not None and node.user_disabled
        monitor = self.monitor_status or "unchecked"
        if node is not None and node.monitor_status == "down" and not self.is_template:
            monitor = "address-down"  # the node's own monitor failed
        if self.user_down or (held and node.user_down):
            availability = "offline"
        else:
            availability = {"up": "available", "fqdn-up": "available", "down": "offline", "fqdn-down": "offline",
                            "fqdn-up-no-addr": "offline", "address-down": "offline"}.get(monitor, "unknown")
        enabled = "disabled" if self.user_disabled else "disabled-by-parent" if held else "enabled"
        if held and not self.user_disabled:
            reason = PARENT_REASON
        elif self.is_template:
            reason = "The DNS server(s) are available" if monitor == "fqdn-up" else " "
        elif self.user_down:
            reason = " "  # not recorded
        elif monitor == "down":
            reason = "%s: No successful responses received before deadline. @%s. " % (
                self.pool.monitor or "/Common/http", time.strftime("%Y/%m/%d %H:%M:%S",
                                                                   time.localtime(self.monitor_since)))
        elif monitor == "unchecked":
            reason = "Pool member does not have service checking enabled"
        elif monitor == "up":
            reason = "Pool member is available, user disabled" if self.user_disabled else "Pool member is available"
        else:
            reason = " "  # checking, address-down...: not recorded
        return monitor, availability, enabled, reason

    def stats_entries(self):
        monitor, availability, enabled, reason = self.status()
        e = {
            "addr": "::" if self.is_template else self.address,
            "curSessions": 0,
            "monitorRule": self.monitor_rule(),
            "monitorStatus": monitor,
            "nodeName": self.node_path,
            "poolName": self.pool.full_path,
            "port": self.port,
            "serverside.bitsIn": 0,
            "serverside.bitsOut": 0,
            "serverside.curConns": 0 if self.is_template else self.conns(),
            "serverside.maxConns": 0,
            "serverside.pktsIn": 0,
            "serverside.pktsOut": 0,
            "serverside.totConns": 0,
            "sessionStatus": "user-disabled" if self.user_disabled else "enabled",
            "status.availabilityState": availability,
            "status.enabledState": enabled,
            "status.statusReason": reason,
            "totRequests": 0,
        }
        for q in ("ageEdm", "ageEma", "ageHead", "ageMax", "depth", "serviced"):
            e["connq." + q] = 0
        if self.emu.at_least(16, 1):  # absent in the 12.1.1 and 14.1.0 recordings
            for q in ("msgIn", "msgOut", "reqIn", "reqOut", "respIn", "respOut"):
                e["mr." + q] = 0
        return {k: stat(e[k]) for k in sorted(e)}

    def stats_json(self):
        return {"kind": "tm:ltm:pool:members:membersstats", "selfLink": self.stats_key() + "?ver=" + self.emu.version,
                "entries": self.stats_entries()}

    def single_stats_json(self):
        body = {"kind": "tm:ltm:pool:members:membersstats", "generation": self.generation,
                "selfLink": self.stats_key() + "?ver=" + self.emu.version}
        if self.emu.at_least(12, 0):
            body["entries"] = {self.stats_key(): {"nestedStats": self.stats_json()}}
        else:  # 11.x: a single object's entries are flat
            body["entries"] = self.stats_entries()
        return body

    def not_found_message(self):
        return member_not_found(self.pool.full_path, self.full_path)

    def validate_patch(self, body):
        """Raise the 400 a BIG-IP gives, or return the changes to make."""
        validate_admin_patch(body, "/ltm/pool/members/" + tilde(self.full_path), self.FIELDS,
                             {"name", "partition", "fullPath", "kind", "selfLink", "generation", "address",
                              "ephemeral", "fqdn"})
        if "ratio" in body:
            value = body["ratio"]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
                raise F5Error(400, "01070372:3: Invalid ratio value (%s) for pool member (%s)"
                              % (value, self.full_path), api_error=3)
        if "address" in body and body["address"] != self.address:
            raise F5Error(400, "01070734:3: Configuration error: address may not be specified"
                          " when modifying a pool member", api_error=3)
        return body

    def apply_patch(self, body):
        apply_admin(self, body)
        for key in self.FIELDS:
            if key in body:
                self.props[key] = body[key]
        self.generation += 1
        if self.is_template and self.emu.fqdn_propagate:
            admin = {k: body[k] for k in ("session", "state") if k in body}
            for eph in self.pool.ephemerals_of(self):
                if admin:
                    eph.apply_patch(admin)


def member_not_found(pool_path, member_path):
    mpart, mname = split_path(member_path)
    try:
        addr, port = split_member_name(mname)
    except ValueError:
        addr, port = mname, 0
    return "01020036:3: The requested Pool Member (%s /%s/%s %d) was not found." % (pool_path, mpart, addr, port)


class Pool:
    def __init__(self, emu, full_path, spec):
        self.emu = emu
        self.partition, self.name = split_path(full_path)
        self.generation = 1
        self.monitor = spec.get("monitor", "/Common/http")
        self.mode = spec.get("loadBalancingMode", "round-robin")
        self.members = []
        for m in spec.get("members", []):
            member = Member(self, m)
            self.members.append(member)
            if member.is_template:
                self.members += [Member(self, {}, template=member, address=a) for a in m.get("addresses", [])]
                for eph in self.ephemerals_of(member):
                    eph.set_direct({"monitor": m.get("monitor", "up")})

    @property
    def full_path(self):
        return "/%s/%s" % (self.partition, self.name)

    def find(self, member_path):
        for m in self.members:
            if m.full_path == member_path:
                return m
        return None

    def ephemerals_of(self, template):
        return [m for m in self.members if m.template is template]

    def set_addresses(self, template, addresses):
        """DNS now answers these: ephemerals come and go, as on BIG-IP."""
        keep = {m.address: m for m in self.ephemerals_of(template) if m.address in addresses}
        others = [m for m in self.members if m.template is not template]
        at = others.index(template) + 1
        monitor = next(iter(keep.values())).monitor_status if keep else "up"
        new = []
        for a in addresses:
            eph = keep.get(a) or Member(self, {}, template=template, address=a)
            if a not in keep:
                eph.set_direct({"monitor": monitor})
                eph.user_disabled, eph.user_down = template.user_disabled, template.user_down
            new.append(eph)
        self.members = others[:at] + new + others[at:]

    def members_link(self):
        return "%s/mgmt/tm/ltm/pool/%s/members?ver=%s" % (LOCAL, tilde(self.full_path), self.emu.version)

    def to_json(self, expand):
        ref = {"link": self.members_link(), "isSubcollection": True}
        if expand and self.members:
            ref["items"] = [m.to_json() for m in self.members]
        body = {
            "kind": "tm:ltm:pool:poolstate",
            "name": self.name,
            "partition": self.partition,
            "fullPath": self.full_path,
            "generation": self.generation,
            "selfLink": "%s/mgmt/tm/ltm/pool/%s?ver=%s" % (LOCAL, tilde(self.full_path), self.emu.version),
            "allowNat": "yes",
            "allowSnat": "yes",
            "ignorePersistedWeight": "disabled",
            "ipTosToClient": "pass-through",
            "ipTosToServer": "pass-through",
            "linkQosToClient": "pass-through",
            "linkQosToServer": "pass-through",
            "loadBalancingMode": self.mode,
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
        if self.monitor is None:
            del body["monitor"]  # a pool without a monitor has no such key
        return body

    def members_json(self):
        body = {"kind": "tm:ltm:pool:members:memberscollectionstate", "selfLink": self.members_link()}
        if self.members:
            body["items"] = [m.to_json() for m in self.members]
        return body

    def stats_json(self):
        body = {"kind": "tm:ltm:pool:members:memberscollectionstats",
                "selfLink": "%s/mgmt/tm/ltm/pool/%s/members/stats?ver=%s" % (LOCAL, tilde(self.full_path),
                                                                            self.emu.version)}
        if self.members:
            body["entries"] = {m.stats_key(): {"nestedStats": m.stats_json()} for m in self.members}
        return body

    def pool_level_stats_json(self, asked):
        """13.1.0.6 answering members/stats with the pool's own statistics
        (e-XpertSolutions/f5-rest-client#22), keyed under the path as asked."""
        base = "%s/mgmt/tm/ltm/pool/%s/members" % (LOCAL, asked.replace("%", "%25"))
        key = "%s/%s/stats" % (base, tilde(self.full_path))
        states = [m.status()[1:3] for m in self.members if not m.is_template]
        available = sum(1 for a, _ in states if a == "available")
        active = sum(1 for a, e in states if a == "available" and e == "enabled")
        if available:
            availability, reason = "available", "The pool is available"
        elif states and all(a == "offline" for a, _ in states):
            availability, reason = "offline", "The children pool member(s) are down"
        else:
            availability, reason = "unknown", ("The children pool member(s) either don't have service checking "
                                               "enabled, or service check results are not available yet")
        e = {"activeMemberCnt": active, "availableMemberCnt": available, "curSessions": 0,
             "memberCnt": len(states), "minActiveMembers": 0, "monitorRule": self.monitor or "none",
             "tmName": self.full_path, "serverside.bitsIn": 0, "serverside.bitsOut": 0,
             "serverside.curConns": sum(m.conns() for m in self.members if not m.is_template),
             "serverside.maxConns": 0, "serverside.pktsIn": 0, "serverside.pktsOut": 0, "serverside.totConns": 0,
             "status.availabilityState": availability, "status.enabledState": "enabled",
             "status.statusReason": reason, "totRequests": 0}
        for q in ("ageEdm", "ageEma", "ageHead", "ageMax", "depth", "serviced"):
            e["connq." + q] = 0
            e["connqAll." + q] = 0
        v = self.emu.version
        return {"kind": "tm:ltm:pool:members:memberscollectionstats", "selfLink": "%s/stats?ver=%s" % (base, v),
                "entries": {key: {"nestedStats": {"kind": "tm:ltm:pool:members:membersstats",
                                                  "selfLink": key + "?ver=" + v,
                                                  "entries": {k: stat(e[k]) for k in sorted(e)}}}}}


DEFAULT_POOLS = {
    "/Common/web": {"members": [{"name": "192.0.2.10:80"}, {"name": "192.0.2.11:80"},
                                {"name": "192.0.2.12:80"}]},
    "/Common/api": {"members": [{"name": "192.0.2.10:8080"}, {"name": "198.51.100.20:8080"}]},
    "/Tenant/app": {"members": [{"name": "198.51.100.30:443"}, {"name": "198.51.100.31%2:443"},
                                {"name": "2001:db8::1.80"}, {"name": "/Common/2001:db8::2.80"}]},
}

SYNC = {  # status -> (color, mode, summary, details); placeholders where nothing was recorded
    "Standalone": ("green", "standalone", " ", ["Optional action: Add a device to the trust domain"]),
    "In Sync": ("green", "high-availability", PLACEHOLDER, [PLACEHOLDER, PLACEHOLDER]),
    "Changes Pending": ("yellow", "high-availability", PLACEHOLDER,
                        [PLACEHOLDER, "Recommended action: Synchronize bigip-a.example.com to group failover-group"]),
}
FAILOVER = {"ACTIVE": ("green", "1/1 active", ["active for /Common/traffic-group-1"])}

KNOBS = ("latency", "token_lifetime", "max_tokens", "expand", "conn_counts", "version", "commit_async",
         "fqdn_propagate", "member_stats_pool_level", "transaction_timeout", "password_expired", "sync_status",
         "failover_status")


class Emulator:
    """All the state, behind one lock: the HTTP threads only call handle()."""

    def __init__(self, user, password, pools, version=None):
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
        self.version = version or VERSION
        self.vtuple = parse_version(self.version)
        self.commit_async = False
        self.fqdn_propagate = True
        self.pool_level = None  # None: only on 13.1.0.6
        self.transaction_timeout = 120
        self.password_expired = False
        self.sync_status = "Standalone"
        self.failover_status = "ACTIVE"
        self.faults = []
        self.log = []
        self.inflight = 0
        self.max_inflight = 0
        self.transactions = {}
        self.last_trans = 0
        self.peer = None
        self.nodes = {}
        self.group = None  # a DeviceGroup when this is a unit of a pair
        self.hostname = "bigip-a.example.com"
        self.set_pools(pools)

    def at_least(self, *v):
        return self.vtuple >= v

    @property
    def member_stats_pool_level(self):
        return self.version == "13.1.0.6" if self.pool_level is None else self.pool_level

    def error_body(self, err):
        return err.body(api_error=self.at_least(12, 1))  # 11.6/12.0 left apiError out

    def set_pools(self, spec):
        with self.lock:
            self.pools = [Pool(self, path, p) for path, p in spec.items()]
            self.sync_nodes()

    def sync_nodes(self):
        """Every member's node exists, holds kept for nodes that stay."""
        old, self.nodes = self.nodes, {}
        for p in self.pools:
            for m in p.members:
                if m.node_path in self.nodes:
                    continue
                node = old.get(m.node_path)
                if node is None:
                    node = Node(self, m.node_path, m.address, m.fqdn, ephemeral=m.template is not None)
                if m.is_template:
                    node.resolved = bool(p.ephemerals_of(m))
                self.nodes[m.node_path] = node

    def find_pool(self, path):
        for p in self.pools:
            if p.full_path == path:
                return p
        return None

    def config(self):
        out = {k: getattr(self, k) for k in KNOBS}
        out["shape"] = shape_of(self.version)
        return out

    def configure(self, body):
        if not isinstance(body, dict):
            raise ValueError("config takes a JSON object")
        unknown = sorted(set(body) - set(KNOBS))
        if unknown:
            raise ValueError("unknown config knob(s): %s" % ", ".join(unknown))
        vtuple = parse_version(body["version"]) if "version" in body else self.vtuple
        if "sync_status" in body and body["sync_status"] not in ("Standalone", "In Sync", "Changes Pending",
                                                                 "Awaiting Initial Sync", "Not All Devices Synced",
                                                                 "Disconnected"):
            raise ValueError("unknown sync_status %r" % body["sync_status"])
        if "version" in body:
            self.vtuple, self.version = vtuple, body["version"]
        for key in KNOBS:
            if key in body and key != "version":
                setattr(self, "pool_level" if key == "member_stats_pool_level" else key, body[key])

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
                if "addresses" in body:
                    if not member.is_template:
                        return 400, {"error": "addresses: only an FQDN template member has them"}
                    pool.set_addresses(member, list(body["addresses"]))
                    self.sync_nodes()
                member.set_direct(body)
                member.generation += 1
                return 200, member.witness()
            if path == "/__emulator__/nodes" and method == "GET":
                return 200, {n: node.witness() for n, node in self.nodes.items()}
            if path == "/__emulator__/node" and method == "POST":
                node = self.nodes.get(body.get("node"))
                if node is None:
                    return 404, {"error": "no such node"}
                try:
                    node.set_direct(body)
                except ValueError as err:
                    return 400, {"error": str(err)}
                return 200, node.witness()
            if path == "/__emulator__/requests" and method == "GET":
                return 200, {"count": len(self.log), "log": self.log, "max_inflight": self.max_inflight}
            if path == "/__emulator__/requests/reset" and method == "POST":
                self.log = []
                self.max_inflight = 0
                return 200, {}
            if path == "/__emulator__/config" and method == "GET":
                return 200, self.config()
            if path == "/__emulator__/config" and method == "POST":
                try:
                    self.configure(body)
                except ValueError as err:
                    return 400, {"error": str(err)}
                return 200, self.config()
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
            if path == "/__emulator__/group" and self.group is not None:
                if method == "POST":
                    unknown = sorted(set(body) - {"sync_reads", "stuck"})
                    if unknown:
                        return 400, {"error": "unknown group knob(s): %s" % ", ".join(unknown)}
                    self.group.sync_reads = int(body.get("sync_reads", self.group.sync_reads))
                    self.group.stuck = bool(body.get("stuck", self.group.stuck))
                return 200, self.group.witness()
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
            user, password = basic_credentials(auth)
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
            err.extra = dict(originalRequestBody=json.dumps(echoed), **err.extra)
            raise err
        if self.password_expired:
            err = rest_error(401, "Authentication failed: Password expired. Update password via "
                             "/mgmt/shared/authz/users.", None)
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
                "user": {"link": "%s/mgmt/shared/authz/users/%s" % (LOCAL, self.user)}, "groupReferences": [],
                "timeout": entry["timeout"], "startTime": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()),
                "address": "127.0.0.1", "partition": "[All]", "generation": 1, "lastUpdateMicros": now_us,
                "expirationMicros": now_us + int(entry["timeout"] * 1e6),
                "kind": "shared:authz:tokens:authtokenitemstate",
                "selfLink": "%s/mgmt/shared/authz/tokens/%s" % (LOCAL, token)}

    # ---- dispatch ------------------------------------------------------------
    def handle(self, method, raw_path, headers, body, peer):
        """Return (status, json body) for one /mgmt request. In a pair, a
        request that changed this unit's configuration leaves the group
        with changes pending."""
        with self.lock:
            before = self.group and self.configuration()
            out = self.handle_one(method, raw_path, headers, body, peer)
            if self.group and self.configuration() != before:
                self.group.pending.add(self.hostname)
            return out

    def configuration(self):
        """What config-sync copies: member and node configuration."""
        members = {(p.full_path, m.full_path): (m.user_disabled, m.user_down, json.dumps(m.props, sort_keys=True))
                   for p in self.pools for m in p.members}
        nodes = {n: (node.user_disabled, node.user_down) for n, node in self.nodes.items()}
        return members, nodes

    def take_configuration(self, other):
        """config-sync from other: its configuration, this unit's runtime."""
        for p in self.pools:
            src = other.find_pool(p.full_path)
            for m in p.members:
                o = src.find(m.full_path) if src else None
                if o is not None:
                    m.user_disabled, m.user_down, m.props = o.user_disabled, o.user_down, copy.deepcopy(o.props)
                    m.generation += 1
        for n, node in self.nodes.items():
            o = other.nodes.get(n)
            if o is not None:
                node.user_disabled, node.user_down = o.user_disabled, o.user_down

    def handle_one(self, method, raw_path, headers, body, peer):
        split = urlsplit(raw_path)
        for part in (split.path, split.query):
            if re.search(r"%(?![0-9A-Fa-f]{2})", part):
                # A route domain's '%' must travel as %25; a bare one is not a URL.
                raise F5Error(400, "Bad Request: invalid percent-encoding in %s" % part, api_error=1)
        query = parse_qs(split.query)
        path = unquote(split.path).rstrip("/") or "/"
        with self.lock:
            self.peer = peer
            if path == "/mgmt/shared/authn/login" and method == "POST":
                return 200, self.login(body, peer)
            self.authenticate(headers, peer, split.path)
            m = re.fullmatch(r"/mgmt/shared/authz/tokens/([^/]+)", path)
            if m:
                return self.token_op(method, m.group(1), body)
            trans = headers.get("X-F5-REST-Coordination-Id")
            if path.startswith("/mgmt/tm/transaction"):
                if trans is not None and method != "GET":
                    # The commit itself must come without the header (LABS lab6.rst).
                    raise F5Error(400, "Transaction %s operation %s %s%s is not allowed to be added to transaction."
                                  % (trans, method, LOCAL, split.path), api_error=1)
                return self.transaction_op(method, path, unquote(split.path), body)
            if trans is not None and method in ("POST", "PATCH", "PUT", "DELETE"):
                return self.queue(trans, method, raw_path, body)
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

    def link(self, path, query=None):
        q = (urlencode(query, doseq=True) + "&") if query else ""
        return "%s%s?%sver=%s" % (LOCAL, path, q, self.version)

    def not_registered(self, path):
        return rest_error(404, "Public URI path not registered: %s" % path[len("/mgmt"):], self.peer)

    def tm(self, method, path, query, body):
        if path == "/mgmt/tm/sys" and method == "GET":
            return 200, {"kind": "tm:sys:syscollectionstate", "selfLink": self.link("/mgmt/tm/sys"),
                         "items": [{"reference": {"link": self.link("/mgmt/tm/sys/version")}}]}
        if path == "/mgmt/tm/sys/version" and method == "GET":
            return 200, self.version_json()
        if path in ("/mgmt/tm/cm/sync-status", "/mgmt/tm/cm/syncStatus") and method == "GET":
            return 200, self.sync_json(path)
        if path in ("/mgmt/tm/cm/failover-status", "/mgmt/tm/cm/failoverStatus") and method == "GET":
            return 200, self.failover_json(path)
        if path == "/mgmt/tm/cm" and method == "POST":
            return self.cm_run(body)
        if path == "/mgmt/tm/util/bash":
            return self.bash(method, body)
        if path == "/mgmt/tm/sys/connection":
            return self.sys_connection(method, query)
        m = re.fullmatch(r"/mgmt/tm/net/tunnels/(gre|ipip)", path)
        if m and method == "GET":
            kind = m.group(1)
            return 200, {"kind": "tm:net:tunnels:%s:%scollectionstate" % (kind, kind),
                         "selfLink": self.link("/mgmt/tm/net/tunnels/" + kind),
                         "items": [{"kind": "tm:net:tunnels:%s:%sstate" % (kind, kind), "name": kind,
                                    "partition": "Common", "fullPath": "/Common/" + kind}]}
        if path == "/mgmt/tm/ltm/node" or path.startswith("/mgmt/tm/ltm/node/"):
            return self.node(method, path, body)
        if path == "/mgmt/tm/ltm/pool" and method == "GET":
            expand = self.expand and query.get("expandSubcollections", ["false"])[0] == "true"
            body = {"kind": "tm:ltm:pool:poolcollectionstate", "selfLink": self.link("/mgmt/tm/ltm/pool", query)}
            if self.pools:  # BIG-IP leaves "items" out when there is nothing
                body["items"] = [p.to_json(expand) for p in self.pools]
            return 200, body
        if path == "/mgmt/tm/ltm/pool/members/stats" and method == "GET":
            return 200, self.all_member_stats()
        m = re.fullmatch(r"/mgmt/tm/ltm/pool/([^/]+)(/members(?:/(?!stats$)([^/]+))?)?(/stats)?", path)
        if not m:
            raise self.not_registered(path)
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
            if not m.group(4):
                return 200, pool.members_json()
            if self.member_stats_pool_level:
                return 200, self.counted(pool.pool_level_stats_json(m.group(1)))
            return 200, self.counted(pool.stats_json())
        member_path = m.group(3).replace("~", "/")
        if not member_path.startswith("/"):
            member_path = "/Common/" + member_path
        member = pool.find(member_path)
        if member is None:
            raise F5Error(404, member_not_found(pool.full_path, member_path))
        if m.group(4):
            if method != "GET":
                raise F5Error(405, "Method not allowed in this emulator: %s %s" % (method, path), api_error=1)
            return 200, self.counted(member.single_stats_json())
        if method == "GET":
            return 200, member.to_json()
        if method in ("PATCH", "PUT"):
            member.apply_patch(member.validate_patch(body))
            return 200, member.to_json()
        raise F5Error(405, "Method not allowed in this emulator: %s %s" % (method, path), api_error=1)

    def counted(self, stats):
        return stats if self.conn_counts else strip_keys(stats, {"serverside.curConns"})

    def all_member_stats(self):
        """/mgmt/tm/ltm/pool/members/stats: from 12.0 every pool's members
        (BIGIPREPORT "Need 12+"); 11.6.0 answers an empty object (f5er#16)."""
        if not self.at_least(12, 0):
            return {"kind": "tm:ltm:pool:poolstats", "generation": 0,
                    "selfLink": self.link("/mgmt/tm/ltm/pool/members/stats")}
        body = {"kind": "tm:ltm:pool:members:memberscollectionstats",
                "selfLink": self.link("/mgmt/tm/ltm/pool/members/stats")}
        entries = {m.stats_key(): {"nestedStats": m.stats_json()} for p in self.pools for m in p.members}
        if entries:
            body["entries"] = entries
        return self.counted(body)

    def version_json(self):
        parts = self.version.split(".")
        entries = {"Build": "0.0.0", "Date": PLACEHOLDER,
                   "Edition": "Point Release %s" % parts[3] if len(parts) == 4 else "Final",
                   "Product": "BIG-IP", "Title": "Main Package", "Version": self.version}
        return {"kind": "tm:sys:version:versionstats", "selfLink": self.link("/mgmt/tm/sys/version"),
                "entries": {LOCAL + "/mgmt/tm/sys/version/0": {"nestedStats": {
                    "entries": {k: stat(v) for k, v in entries.items()}}}}}

    def details(self, base, texts):
        return {base: {"nestedStats": {"entries": {"%s/%d" % (base, i): {"nestedStats": {"entries": {
            "details": stat(t)}}} for i, t in enumerate(texts)}}}}

    def sync_json(self, path):
        status = self.sync_status
        color, mode, summary, details = SYNC.get(status, (PLACEHOLDER, "high-availability", PLACEHOLDER,
                                                          [PLACEHOLDER]))
        if self.group:
            status, details = self.group.status()
            color, mode, summary, _ = SYNC.get(status, (PLACEHOLDER, "high-availability", PLACEHOLDER, None))
        entries = {"color": stat(color), "mode": stat(mode), "status": stat(status), "summary": stat(summary)}
        entries.update(self.details(LOCAL + "/mgmt/tm/cm/syncStatus/0/details", details))
        return {"kind": "tm:cm:sync-status:sync-statusstats", "selfLink": self.link(path),
                "entries": {LOCAL + path + "/0": {"nestedStats": {"entries": dict(sorted(entries.items()))}}}}

    def failover_json(self, path):
        status = self.failover_status
        color, summary, details = FAILOVER.get(status, (PLACEHOLDER, PLACEHOLDER, [PLACEHOLDER]))
        entries = {"color": stat(color), "status": stat(status), "summary": stat(summary)}
        entries.update(self.details(LOCAL + "/mgmt/tm/cm/failoverStatus/0/details", details))
        return {"kind": "tm:cm:failover-status:failover-statusstats", "selfLink": self.link(path),
                "entries": {LOCAL + path + "/0": {"nestedStats": {"entries": dict(sorted(entries.items()))}}}}

    def cm_run(self, body):
        """config-sync to-group, the one /mgmt/tm/cm command emulated."""
        if not isinstance(body, dict) or body.get("command") != "run" or \
                not isinstance(body.get("utilCmdArgs"), str):
            raise F5Error(400, "cm: \"command\":\"run\" and \"utilCmdArgs\" are required", api_error=1)
        m = re.fullmatch(r"\s*config-sync\s+to-group\s+(\S+)(\s+force-full-load-push)?\s*", body["utilCmdArgs"])
        if not m:
            raise F5Error(400, "emulator: only \"config-sync to-group GROUP\" is emulated in /mgmt/tm/cm",
                          api_error=1)
        name = m.group(1)[len("/Common/"):] if m.group(1).startswith("/Common/") else m.group(1)
        if self.group is None or name != self.group.name:
            # BIG-IP's own words for this were not found in a recording.
            raise F5Error(400, "%s: no device group %s that %s is in" % (PLACEHOLDER, m.group(1), self.hostname),
                          api_error=3)
        self.group.config_sync(self)
        return 200, {"kind": "tm:cm:runstate", "command": "run", "utilCmdArgs": body["utilCmdArgs"]}

    def bash(self, method, body):
        """util/bash, only to delete a member's connections with tmsh; what
        else BIG-IP would run is not emulated."""
        if method != "POST":
            raise F5Error(405, "Method not allowed in this emulator: %s /mgmt/tm/util/bash" % method, api_error=1)
        if not isinstance(body, dict) or body.get("command") != "run" or \
                not str(body.get("utilCmdArgs", "")).startswith("-c"):
            raise F5Error(400, "util bash: \"command\":\"run\" and \"utilCmdArgs\":\"-c ...\" are required",
                          api_error=1)
        m = re.fullmatch(r"-c\s+[\"']?\s*tmsh delete sys connection((?:\s+[a-z-]+\s+\S+?)*)\s*[\"']?",
                         body["utilCmdArgs"])
        if not m:
            raise F5Error(400, "emulator: only \"tmsh delete sys connection ...\" is emulated in util/bash",
                          api_error=1)
        out = {"kind": "tm:util:bash:runstate", "command": "run", "utilCmdArgs": body["utilCmdArgs"]}
        try:
            self.delete_connections(m.group(1))
        except F5Error as err:
            # bash ran: tmsh's complaint is its output, not the REST status.
            out["commandResult"] = err.message + "\n"
        return 200, out

    def sys_connection(self, method, query):
        """DELETE with tmsh's arguments in options: what "tmsh delete sys
        connection ..." deletes. Listing the table (GET) is not emulated."""
        if method != "DELETE":
            raise F5Error(405, "Method not allowed in this emulator: %s /mgmt/tm/sys/connection" % method,
                          api_error=1)
        self.delete_connections(" ".join(query.get("options", [])))
        # Whether a device answers with a body was not recorded: none here.
        return 200, b""

    def delete_connections(self, args):
        """tmsh "delete sys connection ARGS": the server-side connections of
        the members at ss-server-addr (and ss-server-port) drop to 0, in
        every pool; no argument at all deletes every connection, as tmsh
        does. The connection table has no pool: members sharing an address
        and port lose theirs together. Other filters are not emulated."""
        words = args.split()
        if len(words) % 2:
            raise F5Error(400, "%s: delete sys connection: option '%s' has no value" % (PLACEHOLDER, words[-1]),
                          api_error=26214401)
        opts = dict(zip(words[::2], words[1::2]))
        unknown = sorted(set(opts) - {"ss-server-addr", "ss-server-port"})
        if unknown:
            raise F5Error(400, "%s: delete sys connection: '%s' is not emulated" % (PLACEHOLDER, unknown[0]),
                          api_error=26214401)
        addr, port = opts.get("ss-server-addr"), opts.get("ss-server-port")
        want = route_domain_address(addr) if addr is not None else None
        if addr is not None and want is None:
            raise F5Error(400, "%s: delete sys connection: '%s' is not an IP address" % (PLACEHOLDER, addr),
                          api_error=26214401)
        if port is not None and not (port.isdigit() and int(port) <= 65535):
            raise F5Error(400, "%s: delete sys connection: '%s' is not a port" % (PLACEHOLDER, port),
                          api_error=26214401)
        for p in self.pools:
            for mem in p.members:
                if mem.is_template:
                    continue
                if (want is None or route_domain_address(mem.address) == want) and \
                        (port is None or mem.port == int(port)):
                    mem.set_direct({"conns": 0})

    def node(self, method, path, body):
        if path == "/mgmt/tm/ltm/node":
            if method != "GET":
                raise F5Error(405, "Method not allowed in this emulator: %s %s" % (method, path), api_error=1)
            out = {"kind": "tm:ltm:node:nodecollectionstate", "selfLink": self.link(path)}
            if self.nodes:
                out["items"] = [n.to_json() for n in self.nodes.values()]
            return 200, out
        full = path[len("/mgmt/tm/ltm/node/"):].replace("~", "/")
        if not full.startswith("/"):
            full = "/Common/" + full
        node = self.nodes.get(full)
        if node is None:
            # As f5-common-python#419 quotes it, with a lower-case "node".
            raise F5Error(404, "01020036:3: The requested node (%s) was not found." % full)
        if method == "GET":
            return 200, node.to_json()
        if method in ("PATCH", "PUT"):
            node.patch(body)
            return 200, node.to_json()
        raise F5Error(405, "Method not allowed in this emulator: %s %s" % (method, path), api_error=1)

    # ---- transactions ----------------------------------------------------------
    def trans_json(self, tid):
        t = self.transactions[tid]
        return {"transId": tid, "state": t["state"], "timeoutSeconds": int(self.transaction_timeout),
                "asyncExecution": False, "validateOnly": t["validate_only"], "executionTimeout": 300,
                "executionTime": 0, "failureReason": t["failure"], "kind": "tm:transactionstate",
                "selfLink": self.link("/mgmt/tm/transaction/%d" % tid)}

    def command_json(self, tid, cmd):
        out = {"method": cmd["method"], "uri": cmd["uri"]}
        if cmd["body"] is not None:
            out["body"] = cmd["body"]
        out.update({"evalOrder": cmd["evalOrder"], "commandId": cmd["commandId"],
                    "kind": "tm:transaction:commandsstate",
                    "selfLink": self.link("/mgmt/tm/transaction/%d/commands/%d" % (tid, cmd["commandId"]))})
        return out

    def expire_transactions(self):
        """A transaction not committed within timeoutSeconds is silently
        removed (LABS lab6.rst)."""
        now = time.monotonic()
        for tid in [t for t, v in self.transactions.items()
                    if v["state"] == "STARTED" and now - v["created"] > self.transaction_timeout]:
            del self.transactions[tid]

    def queue(self, trans, method, raw_path, body):
        self.expire_transactions()
        try:
            tid = int(trans)
        except ValueError:
            tid = -1
        t = self.transactions.get(tid)
        if t is None:
            # Reported by a user (e-XpertSolutions/f5-rest-client#36), not confirmed.
            raise F5Error(404, "Missing transaction ID for this call.", api_error=1)
        if t["state"] != "STARTED":
            raise F5Error(400, "Transaction %s is not in STARTED state." % trans, api_error=1)
        n = max([c["commandId"] for c in t["commands"]], default=0) + 1
        cmd = {"method": method, "uri": LOCAL + raw_path, "body": body, "commandId": n,
               "evalOrder": len(t["commands"]) + 1}
        t["commands"].append(cmd)
        return 200, self.command_json(tid, cmd)

    def transaction_op(self, method, path, raw, body):
        self.expire_transactions()
        if path == "/mgmt/tm/transaction":
            if method == "POST":
                tid = max(int(time.time() * 1e6), self.last_trans + 1)  # a microsecond clock: 16 digits
                self.last_trans = tid
                self.transactions[tid] = {"state": "STARTED", "commands": [], "created": time.monotonic(),
                                          "failure": "", "validate_only": False, "polls": 0}
                return 200, self.trans_json(tid)
            if method == "GET":
                out = {"kind": "tm:transactioncollectionstate", "selfLink": self.link("/mgmt/tm/transaction")}
                if self.transactions:
                    out["items"] = [self.trans_json(t) for t in self.transactions]
                return 200, out
        m = re.fullmatch(r"/mgmt/tm/transaction/(\d+)(/commands(?:/(.+))?)?", path)
        tid = int(m.group(1)) if m else -1
        if tid not in self.transactions:
            raise F5Error(404, "Transaction %s not found." % (m.group(1) if m else path), api_error=1)
        t = self.transactions[tid]
        if m.group(3) is not None:
            return self.command_op(method, tid, t, raw.split("/commands/", 1)[1], body)
        if m.group(2):
            if method != "GET":
                raise F5Error(405, "Method not allowed in this emulator: %s %s" % (method, path), api_error=1)
            out = {"kind": "tm:transaction:commandscollectionstate",
                   "selfLink": self.link("/mgmt/tm/transaction/%d/commands" % tid)}
            if t["commands"]:
                out["items"] = [self.command_json(tid, c) for c in sorted(t["commands"], key=lambda c: c["evalOrder"])]
            return 200, out
        if method == "GET":
            if t["state"] == "VALIDATING":
                if t["polls"] > 0:
                    t["polls"] -= 1
                else:
                    self.finish(t)
            return 200, self.trans_json(tid)
        if method == "DELETE":
            del self.transactions[tid]
            return 200, {}
        if method == "PATCH" and isinstance(body, dict) and body.get("state") == "VALIDATING":
            return self.commit(tid, t, body.get("validateOnly", False))
        raise F5Error(400, "invalid transaction operation", api_error=1)

    def command_op(self, method, tid, t, which, body):
        if not which.isdigit():
            raise F5Error(400, "Found invalid command id %s" % which, api_error=1)
        cmd = next((c for c in t["commands"] if c["commandId"] == int(which)), None)
        if cmd is None:
            raise F5Error(404, "Found invalid command id %s" % which, api_error=1)
        if method == "GET":
            return 200, self.command_json(tid, cmd)
        if method == "PATCH" and isinstance(body, dict) and isinstance(body.get("evalOrder"), int):
            order = sorted((c for c in t["commands"] if c is not cmd), key=lambda c: c["evalOrder"])
            order.insert(max(0, min(len(order), body["evalOrder"] - 1)), cmd)
            for i, c in enumerate(order):
                c["evalOrder"] = i + 1
            return 200, self.command_json(tid, cmd)
        if method == "DELETE" and t["state"] == "STARTED":
            t["commands"].remove(cmd)
            for i, c in enumerate(sorted(t["commands"], key=lambda c: c["evalOrder"])):
                c["evalOrder"] = i + 1
            return 200, {}
        raise F5Error(400, "invalid transaction command operation", api_error=1)

    def commit(self, tid, t, validate_only):
        if t["state"] != "STARTED":
            raise F5Error(400, "Transaction %d is already %s." % (tid, t["state"]), api_error=1)
        if not t["commands"]:
            raise F5Error(400, "there is no command to commit in the transaction", api_error=1)
        t["validate_only"] = bool(validate_only)
        if self.commit_async:
            # Answered before it ran: the client polls until COMPLETED/FAILED.
            t["state"] = "VALIDATING"
            t["polls"] = 1 if self.commit_async is True else max(0, int(self.commit_async))
            return 200, self.trans_json(tid)
        self.finish(t)
        if t["state"] == "FAILED":
            # As BIG-IP answers a failed commit: 400, apiError 2, the cause after "transaction failed:".
            raise F5Error(400, "transaction failed:" + t["failure"], api_error=2)
        return 200, self.trans_json(tid)

    def finish(self, t):
        """Run every command against a copy, keep it only if all of them
        succeed, as BIG-IP's single mcpd transaction does."""
        saved = (self.pools, self.nodes)
        self.pools, self.nodes = copy.deepcopy(saved, {id(self): self})
        try:
            for cmd in sorted(t["commands"], key=lambda c: c["evalOrder"]):
                split = urlsplit(cmd["uri"])
                self.tm(cmd["method"], unquote(split.path).rstrip("/"), parse_qs(split.query), cmd["body"])
        except F5Error as err:
            self.pools, self.nodes = saved
            t["state"] = "FAILED"
            t["failure"] = err.message
            return
        if t["validate_only"]:
            self.pools, self.nodes = saved
        t["state"] = "COMPLETED"


class DeviceGroup:
    """The units of one sync-failover device group: each an Emulator of its
    own, one lock for all, and the group's sync status."""

    def __init__(self, name, units):
        self.name = name
        self.units = units
        self.pending = set()  # hostnames of the units changed since the last sync
        self.sync_reads = 0  # knob: sync-status reads before a config-sync completes
        self.stuck = False  # knob: a config-sync is accepted and never completes
        self.syncing = None  # [source unit, reads left] while one is under way
        self.syncs = 0
        for u in units:
            u.group = self
            u.lock = units[0].lock

    def config_sync(self, source):
        self.syncs += 1
        if self.stuck:
            return
        self.syncing = [source, self.sync_reads]
        self.advance()

    def advance(self):
        if self.syncing and self.syncing[1] <= 0:
            source = self.syncing[0]
            for u in self.units:
                if u is not source:
                    u.take_configuration(source)
            self.pending.clear()
            self.syncing = None

    def status(self):
        """(status, details) for a sync-status read."""
        if self.syncing:
            self.syncing[1] -= 1
            self.advance()
        if self.syncing:
            return "Not All Devices Synced", [PLACEHOLDER]
        if self.pending:
            first = next(u.hostname for u in self.units if u.hostname in self.pending)
            return "Changes Pending", [PLACEHOLDER, "Recommended action: Synchronize %s to group %s"
                                       % (first, self.name)]
        return "In Sync", SYNC["In Sync"][3]

    def witness(self):
        return {"name": self.name, "units": [u.hostname for u in self.units], "pending": sorted(self.pending),
                "sync_reads": self.sync_reads, "stuck": self.stuck, "syncs": self.syncs}


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client refusing our certificate is a test, not a crash


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # http.server writes the status line, each header and the body apart:
    # with Nagle's algorithm each answer then waits for the client's delayed
    # ACK (40 ms), which no BIG-IP does.
    disable_nagle_algorithm = True
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
                out = default_fault_body(status, peer, emu)
            elif isinstance(out, str):
                out = out.encode()
            return self.send_json(status, out, truncate=fault.get("truncate"))
        if body is ValueError:
            return self.send_json(400, emu.error_body(F5Error(400, "Unexpected character in JSON body", api_error=1)))
        try:
            status, out = emu.handle(self.command, self.path, self.headers, body, peer)
        except F5Error as err:
            status, out = err.code, emu.error_body(err)
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


def default_fault_body(status, peer, emu):
    if status == 500:
        return emu.error_body(F5Error(500, MCPD_LOST, api_error=32768001))
    if status == 503:
        # While restjavad restarts, BIG-IP answers with an HTML page.
        return b"<html><body>Configuration Utility restarting...</body></html>"
    if status == 401:
        return rest_error(401, "X-F5-Auth-Token has expired.", peer).body()
    if status == 404:
        return emu.error_body(F5Error(404, "01020036:3: The requested Pool (/Common/injected) was not found."))
    return emu.error_body(F5Error(status, "injected fault %d" % status, api_error=1))


def basic_credentials(auth):
    """(user, password) of an "Authorization: Basic ..." value; ("", None) if unreadable."""
    try:
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        return user, password
    except ValueError:
        return "", None


def server_arguments(description):
    """The arguments both servers take (this one and replay.py)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--cert", required=True, help="server certificate (PEM)")
    ap.add_argument("--key", required=True, help="server private key (PEM)")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password-file", required=True, help="file holding the accepted password")
    return ap


def read_password(path):
    with open(path) as f:
        return f.readline().rstrip("\n")


def tls_server(args, port, handler, **attributes):
    """An HTTPS server on 127.0.0.1:port. attributes are set on the server,
    for handler."""
    server = Server(("127.0.0.1", port), handler)
    for name, value in attributes.items():
        setattr(server, name, value)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    # The handshake happens in each request's thread, so a stalled or refused
    # handshake never blocks the accept loop.
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def serve_tls(args, handler, **attributes):
    """HTTPS on 127.0.0.1:args.port until interrupted; "LISTENING PORT" on
    stdout once it accepts."""
    return serve_all([tls_server(args, args.port, handler, **attributes)])


def serve_all(servers):
    """Serve each until interrupted; "LISTENING PORT..." once all accept."""
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("LISTENING %s" % " ".join(str(s.server_address[1]) for s in servers), flush=True)
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def main():
    ap = server_arguments(__doc__.splitlines()[0])
    ap.add_argument("--pools", help="JSON file: {\"/Part/pool\": {\"members\": [{\"name\": \"NODE:PORT\"...}]}}")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every /mgmt request")
    ap.add_argument("--token-lifetime", type=float, default=1200.0, help="token timeout in seconds")
    ap.add_argument("--version", default=VERSION, help="BIG-IP version to answer as, N.N[.N[.N]] "
                    "(default $LBM_F5_VERSION or 15.1.10)")
    ap.add_argument("--pair", action="store_true", help="two units of one device group (active, standby), "
                    "each on its own port")
    args = ap.parse_args()
    try:
        parse_version(args.version)
    except ValueError as err:
        ap.error(str(err))

    password = read_password(args.password_file)
    pools = DEFAULT_POOLS
    if args.pools:
        with open(args.pools) as f:
            pools = json.load(f)
    units = [Emulator(args.user, password, copy.deepcopy(pools), version=args.version)
             for _ in range(2 if args.pair else 1)]
    for u in units:
        u.latency = args.latency
        u.token_lifetime = args.token_lifetime
    if args.pair:
        DeviceGroup("failover-group", units)
        units[1].hostname = "bigip-b.example.com"
        units[1].failover_status = "STANDBY"
    return serve_all([tls_server(args, args.port if i == 0 else 0, Handler, emulator=u)
                      for i, u in enumerate(units)])


if __name__ == "__main__":
    sys.exit(main())
