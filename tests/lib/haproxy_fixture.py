# SPDX-License-Identifier: MIT
"""A real HAProxy on loopback, for tests (Python standard library only).

Suites import it after adding tests/lib to sys.path::

    sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
    from haproxy_fixture import HAProxy, BackendServer, free_port

free_port(host="127.0.0.1") -> int
    A TCP port that was free on host a moment ago.

BackendServer(host="127.0.0.2", port=None, name=None)
    A threaded TCP server (host may be "::1") that answers every HTTP
    request with "<status> OK" (status: attribute, 200 unless changed, e.g.
    404 for a health check with "http-check disable-on-404") and a body
    "<name>\\n" (name defaults to "host:port"), then closes. A request whose path starts with /hold (or any request while
    hold_all is True) is held open without an answer until release().
    Methods: start(), stop(), release() (answers and closes every held
    connection), wait_held(n, timeout=5) -> bool (at least n held now),
    wait_open(n, timeout=5) -> bool (at most n connections open now).
    Attributes: host, port, name, hold_all, held (number held now),
    open (connections open now), served (requests answered so far).
    Context manager: start on enter, stop on exit.

HAProxy(backends, check=False, workdir=None, mode="http",
        levels=("operator", "user"), haproxy=$LBM_HAPROXY or "/usr/sbin/haproxy",
        global_extra="", defaults_extra="", backend_extra=None, ipv6=False, master=False)
    backends maps a backend name to a list of servers
    ("server name", "127.0.0.x", port[, "extra server keywords"]), e.g.
    {"test.tianya.cn": [("198.51.100.78", "127.0.0.2", 8080),
                        ("198.51.100.79", "127.0.0.3", 8080, "track test.tianya.cn/198.51.100.78")]}.
    An IPv6 address ("::1") is written in brackets. backend_extra maps a
    backend name to extra config lines for it (e.g. "option httpchk GET /").
    "check" is added to every server (but those that track another) only
    when check=True. One frontend per
    backend listens on 127.0.0.1:<free port>; in http mode a request with
    header "X-LBM-Server: <server name>" is sent to that server
    (use-server), so a test can hold a connection on a chosen server.
    The runtime API listens on <workdir>/admin.sock and on
    ipv4@127.0.0.1:<free port>, both at level admin, plus one unix socket
    and one TCP port per extra level in `levels` (for permission tests);
    with ipv6=True also on ipv6@[::1]:<free port> at level admin. With
    master=True haproxy runs in master-worker mode (-Ws) and its master CLI
    listens on <workdir>/master.sock (attribute master_socket).
    workdir defaults to a fresh temporary directory removed by stop().
    start() runs the real haproxy in the foreground (-db) as a child and
    waits until its admin socket answers; stop() kills it. Context manager.

    Attributes: workdir, config (path), unix_socket, tcp_port,
    target_unix ("haproxy://" + unix_socket, i.e. "haproxy:///tmp/.../admin.sock"),
    target_tcp ("haproxy://127.0.0.1:PORT"), tcp6_port and target_tcp6
    ("haproxy://[::1]:PORT", with ipv6=True),
    level_socket[level] / level_port[level] and target_unix_level(level) /
    target_tcp_level(level) for the extra levels.
    Methods (the independent witness: plain Python sockets, not lbmember):
      frontend_port(backend) -> int
      command(cmd, tcp=False) -> str      raw runtime API reply
      show_stat() -> [dict]              `show stat` CSV rows (servers, frontends, backends)
      server_stat(backend, server) -> dict   one server's `show stat` row
      status(backend, server) -> str     its "status" column, e.g. "UP", "MAINT", "DRAIN"
      servers_state() -> [dict]          `show servers state` rows, keys from its header
      server_state(backend, server) -> dict
      info() -> dict                     `show info` as name -> value
      cum_conns() -> int                 `show info` CumConns (every accepted connection)
      hold(backend, server, timeout=5) -> socket
          open a client connection through HAProxy held on that server (its
          BackendServer must be running); close the socket to end it.
    With master=True (started with -Ws, as Debian's systemd unit does):
      master_command(cmd) -> str         one master CLI command's output
      workers() -> ([pid], [pid])        current and old workers (show proc)
      worker_pid() -> int                the admin socket's worker (show info)
      reload() -> int                    SIGUSR2 to the master, as systemctl
                                         reload does; the new worker's PID
"""

import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time

HAPROXY = os.environ.get("LBM_HAPROXY", "/usr/sbin/haproxy")


def free_port(host="127.0.0.1"):
    """A TCP port that was free on host a moment ago."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server.owner
        sock = self.request
        sock.settimeout(60)
        with srv._lock:
            srv.open += 1
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return  # a health check's bare connect, or a client gone
                head += chunk
            line = head.split(b"\r\n", 1)[0].split()
            path = line[1].decode("latin-1") if len(line) > 1 else "/"
            if srv.hold_all or path.startswith("/hold"):
                with srv._lock:
                    srv.held += 1
                    gen = srv._generation
                try:
                    with srv._cond:
                        srv._cond.wait_for(lambda: srv._generation != gen or srv._stopping)
                finally:
                    with srv._lock:
                        srv.held -= 1
            body = (srv.name + "\n").encode()
            sock.sendall(b"HTTP/1.1 %d OK\r\nContent-Type: text/plain\r\n" % srv.status +
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            with srv._lock:
                srv.served += 1
        except OSError:
            pass
        finally:
            with srv._lock:
                srv.open -= 1


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class BackendServer:
    """A small HTTP server on a loopback address that can hold connections."""

    def __init__(self, host="127.0.0.2", port=None, name=None):
        self.host = host
        self.port = port or free_port(host)
        self.name = name or "%s:%d" % (host, self.port)
        self.hold_all = False
        self.status = 200
        self.held = 0
        self.open = 0
        self.served = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._generation = 0
        self._stopping = False
        self._srv = None
        self._thread = None

    def start(self):
        self._srv = (_Server6 if ":" in self.host else _Server)((self.host, self.port), _Handler)
        self._srv.owner = self
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)
        self._thread.start()
        return self

    def release(self):
        """Answer and close every connection held now."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def stop(self):
        if not self._srv:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._srv.shutdown()
        self._srv.server_close()
        self._srv = None

    def _wait(self, pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if pred():
                    return True
            time.sleep(0.02)
        with self._lock:
            return pred()

    def wait_held(self, n, timeout=5):
        return self._wait(lambda: self.held >= n, timeout)

    def wait_open(self, n, timeout=5):
        return self._wait(lambda: self.open <= n, timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _recv_all(sock):
    out = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(out).decode("utf-8", "replace")
        out.append(chunk)


class HAProxy:
    """A real haproxy process with a generated config, on loopback."""

    def __init__(self, backends, check=False, workdir=None, mode="http",
                 levels=("operator", "user"), haproxy=HAPROXY,
                 global_extra="", defaults_extra="", backend_extra=None, ipv6=False, master=False):
        self.backends = backends
        self.check = check
        self.mode = mode
        self.levels = tuple(levels)
        self.haproxy = haproxy
        self.global_extra = global_extra
        self.defaults_extra = defaults_extra
        self.backend_extra = backend_extra or {}
        self.ipv6 = ipv6
        self.tcp6_port = 0
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="lbm-haproxy-")
        self.config = os.path.join(self.workdir, "haproxy.cfg")
        self.master_socket = os.path.join(self.workdir, "master.sock") if master else None
        self.unix_socket = os.path.join(self.workdir, "admin.sock")
        self.level_socket = {lv: os.path.join(self.workdir, lv + ".sock") for lv in self.levels}
        self.tcp_port = 0
        self.level_port = {}
        self._frontends = {}
        self.proc = None
        self.log = os.path.join(self.workdir, "haproxy.log")

    # -- targets ------------------------------------------------------
    @property
    def target_unix(self):
        return "haproxy://" + self.unix_socket

    @property
    def target_tcp(self):
        return "haproxy://127.0.0.1:%d" % self.tcp_port

    @property
    def target_tcp6(self):
        return "haproxy://[::1]:%d" % self.tcp6_port

    def target_unix_level(self, level):
        return "haproxy://" + self.level_socket[level]

    def target_tcp_level(self, level):
        return "haproxy://127.0.0.1:%d" % self.level_port[level]

    def frontend_port(self, backend):
        return self._frontends[backend]

    # -- config and process -------------------------------------------
    def _write_config(self):
        self.tcp_port = free_port()
        self.level_port = {lv: free_port() for lv in self.levels}
        self._frontends = {b: free_port() for b in self.backends}
        g = ["global",
             "    stats socket %s level admin" % self.unix_socket,
             "    stats socket ipv4@127.0.0.1:%d level admin" % self.tcp_port]
        if self.ipv6:
            self.tcp6_port = free_port("::1")
            g.append("    stats socket ipv6@[::1]:%d level admin" % self.tcp6_port)
        for lv in self.levels:
            g.append("    stats socket %s level %s" % (self.level_socket[lv], lv))
            g.append("    stats socket ipv4@127.0.0.1:%d level %s" % (self.level_port[lv], lv))
        g += ["    stats timeout 60s", "    maxconn 4096", self.global_extra, "",
              "defaults",
              "    mode %s" % self.mode,
              "    timeout connect 2s",
              "    timeout client 120s",
              "    timeout server 120s",
              "    timeout check 1s",
              self.defaults_extra, ""]
        for i, (name, servers) in enumerate(self.backends.items()):
            g += ["frontend fe%d" % i,
                  "    bind 127.0.0.1:%d" % self._frontends[name],
                  "    default_backend %s" % name, "",
                  "backend %s" % name]
            if name in self.backend_extra:
                g.append("    " + self.backend_extra[name])
            if self.mode == "http":
                for s in servers:
                    g.append("    use-server %s if { req.hdr(x-lbm-server) -m str %s }" % (s[0], s[0]))
            for s in servers:
                extra = s[3] if len(s) > 3 else ""
                # haproxy refuses "check" together with "track"
                chk = " check inter 500ms fall 1 rise 1" if self.check and "track" not in extra else ""
                host = "[%s]" % s[1] if ":" in s[1] else s[1]
                g.append("    server %s %s:%d%s %s" % (s[0], host, s[2], chk, extra))
            g.append("")
        with open(self.config, "w") as f:
            f.write("\n".join(g) + "\n")

    def start(self, timeout=15):
        for attempt in range(3):  # a free port can be taken between choice and bind
            self._write_config()
            for p in [self.unix_socket, self.master_socket or ""] + list(self.level_socket.values()):
                if os.path.exists(p):
                    os.unlink(p)
            logf = open(self.log, "w")
            # As Debian's and Ubuntu's unit starts it: -Ws (master-worker,
            # systemd notify; without $NOTIFY_SOCKET the same as -W).
            master = ["-Ws", "-S", self.master_socket] if self.master_socket else []
            self.proc = subprocess.Popen([self.haproxy, "-db"] + master + ["-f", self.config],
                                         stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT)
            logf.close()
            end = time.monotonic() + timeout
            while time.monotonic() < end and self.proc.poll() is None:
                try:
                    if "Name: HAProxy" in self.command("show info") and self._master_ready():
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            self._kill()
            with open(self.log) as f:
                text = f.read()
            if "cannot bind" not in text and "Address already in use" not in text:
                break
        raise RuntimeError("haproxy did not start:\n" + text)

    def _master_ready(self):
        """The master CLI listens only once the master has re-executed itself,
        which may be after the worker already answers; then its `show proc`
        lists a current worker (3.1+ dropped the "# programs" line)."""
        if not self.master_socket:
            return True
        return bool(self.workers()[0])

    def master_command(self, cmd, timeout=10):
        """One command on the master CLI (in interactive mode, which ends the
        reply with a prompt and lets "quit" close the connection); the
        command's output, without the prompts."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.master_socket)
            s.sendall(b"prompt\n" + cmd.encode() + b"\nquit\n")
            reply = _recv_all(s)
        return re.sub(r"^master[^\n]*?> ", "", re.sub(r"\nmaster[^\n]*?> ", "\n", reply))

    def workers(self):
        """([current worker PIDs], [old worker PIDs]) from the master CLI."""
        cur, old, section = [], [], None
        for line in self.master_command("show proc").splitlines():
            if line.startswith("#"):
                section = line
            elif line.split() and line.split()[0].isdigit() and section in ("# workers", "# old workers"):
                (cur if section == "# workers" else old).append(int(line.split()[0]))
        return cur, old

    def worker_pid(self):
        """The PID the admin socket's worker reports."""
        m = re.search(r"^Pid: (\d+)", self.command("show info"), re.M)
        return int(m.group(1)) if m else None

    def reload(self, timeout=15):
        """Reload as systemctl reload does (SIGUSR2 to the master); return
        once a new worker answers on the admin socket. Its PID."""
        before = self.worker_pid()
        os.kill(self.proc.pid, signal.SIGUSR2)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                pid = self.worker_pid()
                if pid and pid != before and pid in self.workers()[0]:
                    return pid
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("haproxy did not reload within %s s" % timeout)

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()

    def stop(self):
        self._kill()
        self.proc = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- the independent witness ---------------------------------------
    def command(self, cmd, tcp=False, timeout=10):
        """Send one runtime API command line; return HAProxy's whole reply."""
        if tcp:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            addr = ("127.0.0.1", self.tcp_port)
        else:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            addr = self.unix_socket
        with s:
            s.settimeout(timeout)
            s.connect(addr)
            s.sendall(cmd.encode() + b"\n")
            return _recv_all(s)

    def show_stat(self):
        lines = [l for l in self.command("show stat").splitlines() if l.strip()]
        head = lines[0].lstrip("# ").split(",")
        return [dict(zip(head, l.split(","))) for l in lines[1:]]

    def server_stat(self, backend, server):
        for r in self.show_stat():
            if r["pxname"] == backend and r["svname"] == server:
                return r
        raise KeyError("%s/%s not in show stat" % (backend, server))

    def status(self, backend, server):
        return self.server_stat(backend, server)["status"]

    def servers_state(self):
        lines = [l for l in self.command("show servers state").splitlines() if l.strip()]
        head = lines[1].lstrip("# ").split()
        return [dict(zip(head, l.split())) for l in lines[2:]]

    def server_state(self, backend, server):
        for r in self.servers_state():
            if r["be_name"] == backend and r["srv_name"] == server:
                return r
        raise KeyError("%s/%s not in show servers state" % (backend, server))

    def info(self):
        out = {}
        for l in self.command("show info").splitlines():
            k, sep, v = l.partition(":")
            if sep:
                out[k.strip()] = v.strip()
        return out

    def cum_conns(self):
        return int(self.info()["CumConns"])

    def hold(self, backend, server, timeout=5):
        """A client connection through HAProxy, held open on that server."""
        s = socket.create_connection(("127.0.0.1", self.frontend_port(backend)), timeout=timeout)
        s.sendall(("GET /hold HTTP/1.1\r\nHost: test\r\nX-LBM-Server: %s\r\n\r\n" % server).encode())
        return s
