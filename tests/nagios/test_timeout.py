# SPDX-License-Identifier: MIT
"""-t bounds the whole run: a HAProxy socket that accepts and never answers,
or answers one byte at a time forever, ends in UNKNOWN within -t seconds,
naming the stage that timed out."""
import os
import socket
import tempfile
import threading
import time
import unittest

from plugin_output import PluginTest, run
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
    def expect_timeout(self, listener, seconds):
        try:
            res = run(["-T", listener.target, "-t", str(seconds)], timeout=seconds + 30)
        finally:
            listener.close()
        self.assertStatus(res, 3)
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
