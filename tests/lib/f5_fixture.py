# SPDX-License-Identifier: MIT
"""Start the iControl REST emulator (tests/f5/emulator.py) or the fixture
replay server (tests/f5/replay.py) for a test.

    from f5_fixture import F5Emulator, F5Replay

    with F5Emulator() as f5:                  # or F5Emulator(pools={...}, latency=0.1, version="11.6.5")
        env = f5.env()                        # os.environ + LBM_F5_USER / LBM_F5_PASSWORD
        subprocess.run([cli, "--ca-file", f5.ca_file, f5.target, "list"], env=env)
        f5.member("/Common/web", "/Common/192.0.2.10:80")["session"]   # the witness

    with F5Replay(version="16.1") as f5:      # the fixture JSON of v16.1/ itself
        subprocess.run([cli, "--ca-file", f5.ca_file, f5.target, "list"], env=f5.env())
        f5.member("/Common/web", "/Common/web-a:80")["sessionStatus"]

Everything lives in a private temporary directory (certificate, key, CA,
password file); the server listens on a free port of 127.0.0.1. The password
is random, reaches the server through a 0600 file and the tools under test
through the environment or password_file: never through a command line.
tests/f5/README.md describes both servers, every knob and every shape.

Attributes (both classes)
    target          "f5://127.0.0.1:PORT"
    host, port      127.0.0.1 and the port
    url             "https://127.0.0.1:PORT"
    ca_file         CA that signed the server's certificate (verifies it)
    other_ca_file   a CA that did NOT sign it (for "refused unless insecure")
    user, password  the credentials the server accepts
    password_file   a 0600 file whose first line is the password
    version         the BIG-IP version answered as (F5Replay: the fixture
                    directory's, e.g. "16.1.4")
    tmpdir          the private temporary directory

F5Emulator(pools=None, user="admin", password=None, latency=0.0,
           token_lifetime=1200.0, version=None)
    version: any "N.N[.N[.N]]"; default $LBM_F5_VERSION, else "15.1.10".
    Pools are given as {"/Part/pool": {"members": [{"name": "NODE:PORT", ...}],
    "monitor": "/Common/http" (None: the pool has no monitor),
    "loadBalancingMode": "round-robin"}} with, per member, optional "address"
    (when the node has a name: {"name": "web-a:80", "address":
    "198.51.100.81"} is node /Common/web-a), "admin" (enabled|disabled|
    forced_offline), "monitor" (up|down|checking|None for no monitor),
    "ratio", "conns", "drain_rate" (connections closed per second); an FQDN
    template is {"name": "web-fqdn:80", "fqdn": "web.example.com",
    "addresses": [...]} and brings one ephemeral "_auto_ADDR:PORT" member per
    address. Member names are F5's: "192.0.2.10:80", "198.51.100.31%2:443",
    "2001:db8::1.80", "web-a:80", and may carry a partition
    ("/Common/2001:db8::2.80"); otherwise the pool's partition. Without pools=
    the emulator's DEFAULT_POOLS are used (/Common/web, /Common/api,
    /Tenant/app).

    Witness and knobs (all talk to /__emulator__/, outside the REST API)
    pools()                         {pool: [member witness...]}; a witness is
                                    {"name","fullPath","address","port",
                                    "session","state","monitor","ratio",
                                    "conns","drain_rate","generation","node",
                                    "node_admin"} (+ "fqdn","ephemeral",
                                    "template" for FQDN members)
    member(pool, full_path)         one witness; None if absent
    set_member(pool, full_path, **fields)   admin=, session=, state=,
                                    monitor=, ratio=, conns=, drain_rate=,
                                    addresses=[...] (FQDN template: DNS now
                                    answers these)
    nodes()                         {"/P/N": {"fullPath","address","session",
                                    "state","admin","monitor","ephemeral",
                                    "fqdn"}}
    node(full_path)                 one node witness; None if absent
    set_node(full_path, admin=, monitor=)   admin enabled|disabled|
                                    forced_offline; monitor up|down|None
    set_pools(spec)                 replace every pool
    requests()                      [[METHOD, PATH], ...] since the last reset
    request_count()                 len(requests())
    max_inflight()                  most /mgmt requests the emulator was
                                    answering at once since the last reset
    reset_requests()
    configure(latency=, token_lifetime=, max_tokens=, expand=, conn_counts=,
              version=, commit_async=, fqdn_propagate=,
              member_stats_pool_level=, transaction_timeout=,
              password_expired=, sync_status=, failover_status=)
                                    conn_counts=False: statistics without
                                    serverside.curConns; an unknown knob
                                    raises
    config()                        every knob's value, and "shape"
    add_fault(path=regex, method=, status=, body=, times=1, skip=0,
              delay=, truncate="body"|"connection", kind=, strip=[keys],
              drop=True)
    clear_faults()
    tokens()                        {"live","issued","deleted","last_provider"}
    expire_tokens()                 every live token expires now
    group(), configure_group(sync_reads=, stuck=)
                                    a pair's device group (F5Pair only):
                                    {"name","units","pending","sync_reads",
                                    "stuck","syncs"}

F5Pair(pools=None, user="admin", password=None, version=None)
    Two units of device group "failover-group" (tests/f5/README.md, "A
    pair"): the object itself is the ACTIVE unit, .standby the STANDBY one;
    both have every F5Emulator method, each for its own unit (its members,
    requests, knobs). .active is the object itself.

F5Replay(version="16.1", user="admin", password=None, drain_reads=3,
         fixtures=None)
    version: a fixture directory ("v16.1", "16.1" or "16.1.4").
    members()                       {pool: [{"fullPath","session","state",
                                    "sessionStatus","enabledState",
                                    "curConns"}]}
    member(pool, full_path)         one of them; None if absent
    sources()                       which fixture file each answer is from
    requests(), request_count(), reset_requests()

Both
    rest(method, path, body=None, token=None, headers=None)
                                    one raw iControl REST call: (status, JSON)
    login()                         a token of the test's own
    env(**extra)                    os.environ + LBM_F5_USER/LBM_F5_PASSWORD
    stop()                          also called by __exit__
"""
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "..", "f5", "emulator.py")
REPLAY = os.path.join(HERE, "..", "f5", "replay.py")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _make_ca(d, name):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=%s" % name,
             "-keyout", name + ".key", "-out", name + ".pem", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _make_certs(d):
    """A throwaway CA, a server certificate for 127.0.0.1 it signs, and a
    second CA that signs nothing we serve."""
    _make_ca(d, "ca")
    _make_ca(d, "other-ca")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
             "-out", "server.csr", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "server.ext", "-out", "server.pem", cwd=d)


class _Server:
    """A test's own HTTPS server on 127.0.0.1, started as a subprocess that
    prints "LISTENING PORT"."""

    script = None
    control_prefix = None

    def __init__(self, user, password, args):
        self.user = user
        self.password = password or "pw-" + secrets.token_urlsafe(18)
        self.tmpdir = tempfile.mkdtemp(prefix="lbm-f5-")
        self.proc = None
        try:
            self._start(args)
        except BaseException:
            self.stop()
            raise

    def _start(self, args):
        d = self.tmpdir
        _make_certs(d)
        self.ca_file = os.path.join(d, "ca.pem")
        self.other_ca_file = os.path.join(d, "other-ca.pem")
        self.password_file = os.path.join(d, "password")
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password + "\n")
        cmd = [sys.executable, self.script, "--cert", os.path.join(d, "server.pem"),
               "--key", os.path.join(d, "server.key"), "--user", self.user,
               "--password-file", self.password_file] + args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("LISTENING "):
            raise RuntimeError("%s did not start: %r" % (os.path.basename(self.script), line))
        self.host = "127.0.0.1"
        self.ports = [int(p) for p in line.split()[1:]]
        self.port = self.ports[0]
        self.url = "https://%s:%d" % (self.host, self.port)
        self.target = "f5://%s:%d" % (self.host, self.port)
        self._ctx = ssl.create_default_context(cafile=self.ca_file)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def env(self, **extra):
        env = dict(os.environ)
        env["LBM_F5_USER"] = self.user
        env["LBM_F5_PASSWORD"] = self.password
        env.update(extra)
        return env

    def _control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + self.control_prefix + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self._ctx, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def requests(self):
        return self._control("GET", "requests")["log"]

    def request_count(self):
        return self._control("GET", "requests")["count"]

    def reset_requests(self):
        self._control("POST", "requests/reset", {})

    def rest(self, method, path, body=None, token=None, headers=None):
        """One raw iControl REST call: (HTTP status, parsed JSON or raw bytes)."""
        hdrs = {"Content-Type": "application/json"}
        if token:
            hdrs["X-F5-Auth-Token"] = token
        hdrs.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=10) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def login(self):
        """A token of our own, as F5's tools get one."""
        status, body = self.rest("POST", "/mgmt/shared/authn/login",
                                 {"username": self.user, "password": self.password, "loginProviderName": "tmos"})
        if status != 200:
            raise RuntimeError("login failed: %s" % status)
        return body["token"]["token"]


class F5Emulator(_Server):
    script = EMULATOR
    control_prefix = "/__emulator__/"

    def __init__(self, pools=None, user="admin", password=None, latency=0.0, token_lifetime=1200.0, version=None,
                 _pair=False):
        self.version = version or os.environ.get("LBM_F5_VERSION", "15.1.10")
        args = ["--latency", str(latency), "--token-lifetime", str(token_lifetime), "--version", self.version]
        args += ["--pair"] if _pair else []
        self._pools = pools
        super().__init__(user, password, args)

    def _start(self, args):
        if self._pools is not None:
            path = os.path.join(self.tmpdir, "pools.json")
            with open(path, "w") as f:
                json.dump(self._pools, f)
            args = args + ["--pools", path]
        super()._start(args)

    def pools(self):
        return self._control("GET", "pools")

    def member(self, pool, full_path):
        for m in self.pools().get(pool, []):
            if m["fullPath"] == full_path:
                return m
        return None

    def set_member(self, pool, full_path, **fields):
        return self._control("POST", "member", dict(fields, pool=pool, member=full_path))

    def nodes(self):
        return self._control("GET", "nodes")

    def node(self, full_path):
        return self.nodes().get(full_path)

    def set_node(self, full_path, **fields):
        return self._control("POST", "node", dict(fields, node=full_path))

    def set_pools(self, spec):
        self._control("PUT", "pools", spec)

    def max_inflight(self):
        return self._control("GET", "requests")["max_inflight"]

    def configure(self, **knobs):
        out = self._control("POST", "config", knobs)
        self.version = out["version"]
        return out

    def config(self):
        return self._control("GET", "config")

    def add_fault(self, **rule):
        self._control("POST", "faults", rule)

    def clear_faults(self):
        self._control("POST", "faults/clear", {})

    def tokens(self):
        return self._control("GET", "tokens")

    def expire_tokens(self):
        self._control("POST", "tokens/expire", {})

    def group(self):
        return self._control("GET", "group")

    def configure_group(self, **knobs):
        return self._control("POST", "group", knobs)


class F5Pair(F5Emulator):
    """Two units of one device group in one emulator process: this object is
    the active unit (bigip-a.example.com), .standby the standby one
    (bigip-b.example.com), each with its own port, target and knobs."""

    def __init__(self, pools=None, user="admin", password=None, version=None):
        super().__init__(pools=pools, user=user, password=password, version=version, _pair=True)
        self.active = self
        self.standby = _Unit(self, self.ports[1])


class _Unit(F5Emulator):
    """Another unit of a pair's process: its own address, the pair's
    certificate and credentials; stopped with the pair."""

    def __init__(self, pair, port):  # pylint: disable=super-init-not-called
        self.__dict__.update({k: v for k, v in pair.__dict__.items() if k not in ("active", "standby")})
        self.proc = None
        self.port = port
        self.url = "https://%s:%d" % (self.host, port)
        self.target = "f5://%s:%d" % (self.host, port)

    def stop(self):
        pass


class F5Replay(_Server):
    script = REPLAY
    control_prefix = "/__replay__/"

    def __init__(self, version="16.1", user="admin", password=None, drain_reads=3, fixtures=None):
        args = ["--version", version, "--drain-reads", str(drain_reads)]
        if fixtures:
            args += ["--fixtures", fixtures]
        super().__init__(user, password, args)
        try:
            self.version = self.sources()["version"]
        except BaseException:
            self.stop()
            raise

    def members(self):
        return self._control("GET", "members")

    def member(self, pool, full_path):
        for m in self.members().get(pool, []):
            if m["fullPath"] == full_path:
                return m
        return None

    def sources(self):
        return self._control("GET", "sources")
