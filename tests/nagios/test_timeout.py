# SPDX-License-Identifier: MIT
"""-t bounds the whole run: a HAProxy socket that accepts and never answers,
or answers one byte at a time forever, ends in UNKNOWN within -t seconds,
naming the stage that timed out. -t SECONDS:STATE makes that, and a balancer
that cannot be reached at all (no socket, connection refused), STATE."""
import os
import socket
import tempfile
import threading
import time
import unittest

from plugin_output import STATUS, PluginTest, run
from slowdown import SLOW


class Listener:
    """Accepts connections on a unix socket or 127.0.0.1; then says nothing
    (trickle=None) or sends a byte every `trickle` seconds until closed."""

    def __init__(self, path=None, trickle=None):
        self.trickle = trickle
        self.conns = []
        self.first_accept = None  # time.monotonic() of the first connection
        self.stopping = threading.Event()
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(path)
            self.target = "haproxy://" + path
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind(("127.0.0.1", 0))
            self.target = "haproxy://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            if self.first_accept is None:
                self.first_accept = time.monotonic()
            self.conns.append(conn)
            if self.trickle:
                threading.Thread(target=self.drip, args=(conn,), daemon=True).start()

    def drip(self, conn):
        try:
            while not self.stopping.wait(self.trickle):
                conn.sendall(b"#")
        except OSError:
            pass

    def close(self):
        self.stopping.set()
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


class Timeout(PluginTest):
    def expect_timeout(self, listener, seconds, state="", rc=3):
        try:
            res = run(["-T", listener.target, "-t", str(seconds) + state], timeout=seconds + 30)
        finally:
            listener.close()
        self.assertStatus(res, rc)
        self.assertIn("listing pools of %s" % listener.target, res.text)
        self.assertIn("timed out", res.text)
        self.assertIsNotNone(listener.first_accept, "the plugin never connected")
        # The bound starts before the connection: from there to the exit it
        # is less than -t (plus scheduling slack), whatever the program's
        # start-up cost (a sanitizer build on a loaded machine).
        self.assertLess(res.end - listener.first_accept, seconds + 0.5 * SLOW, res)
        self.assertGreater(res.seconds, seconds - 0.5, res)
        return res

    def test_silent_unix_socket(self):
        with tempfile.TemporaryDirectory() as d:
            self.expect_timeout(Listener(path=os.path.join(d, "admin.sock")), 2)

    def test_silent_tcp_socket(self):
        self.expect_timeout(Listener(), 2)

    def test_trickling_socket_is_bounded_as_a_whole(self):
        # Each byte comes well within the timeout: only a bound on the whole
        # run ends this one.
        res = self.expect_timeout(Listener(trickle=0.3), 3)
        self.assertEqual(res.stdout.count("\n"), 1, res)

    def test_timeout_takes_the_state_of_t(self):
        for state, rc in ((":CRITICAL", 2), (":ok", 0), (":1", 1), (":UNKNOWN", 3)):
            with self.subTest(state=state):
                res = self.expect_timeout(Listener(), 2, state, rc)
                self.assertTrue(res.first.startswith("LB_MEMBERS %s - timed out after 2 s listing pools of "
                                                     % STATUS[rc]), res)

    def test_silent_unix_socket_critical(self):
        with tempfile.TemporaryDirectory() as d:
            self.expect_timeout(Listener(path=os.path.join(d, "admin.sock")), 2, ":critical", 2)


class Unreachable(PluginTest):
    """Nothing answers at all: UNKNOWN by default, -t's STATE when given;
    the status line says what happened either way."""

    def expect(self, target, stage, why):
        for state, rc in (("", 3), (":CRITICAL", 2), (":critical", 2), (":2", 2), (":OK", 0), (":0", 0),
                          (":WARNING", 1), (":UNKNOWN", 3)):
            with self.subTest(target=target, state=state):
                res = run(["-T", target, "-t", "5" + state])
                self.assertStatus(res, rc)
                self.assertEqual(res.stdout.count("\n"), 1, res)
                self.assertTrue(res.first.startswith("LB_MEMBERS %s - %s %s: " % (STATUS[rc], stage, target)), res)
                self.assertIn(why, res.first)
                self.assertLess(res.seconds, 5, res)
        # :STATE alone keeps the default seconds.
        self.assertStatus(run(["-T", target, "-t", ":CRITICAL"]), 2)

    def test_no_socket_at_the_path(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "admin.sock")
            # Found missing on opening; the others when HAProxy is first asked.
            self.expect("haproxy://" + path, "opening", "no socket at " + path)

    def test_stale_unix_socket(self):
        # Bound but not listening: what a stopped HAProxy leaves behind.
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "admin.sock")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(path)
            try:
                self.expect("haproxy://" + path, "listing pools of", "connection refused on " + path)
            finally:
                sock.close()

    def test_closed_loopback_port(self):
        # Bound and never listening: the port stays ours, and refuses.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        where = "127.0.0.1:%d" % sock.getsockname()[1]
        try:
            self.expect("haproxy://" + where, "listing pools of", "connection refused by " + where)
        finally:
            sock.close()

    @unittest.skipIf(os.geteuid() == 0, "root connects whatever the socket's mode")
    def test_permission_refused_stays_unknown(self):
        # Reached, and refused: not what -t's STATE is for.
        with tempfile.TemporaryDirectory() as d:
            listener = Listener(path=os.path.join(d, "admin.sock"))
            os.chmod(os.path.join(d, "admin.sock"), 0)
            try:
                res = run(["-T", listener.target, "-t", "5:CRITICAL"])
            finally:
                listener.close()
            self.assertStatus(res, 3)
            self.assertIn("permission denied", res.first)


if __name__ == "__main__":
    unittest.main(verbosity=2)
