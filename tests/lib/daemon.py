# SPDX-License-Identifier: MIT
"""Stopping a daemon a test started in a session of its own
(subprocess.Popen(..., start_new_session=True)), with its children."""
import os
import signal
import subprocess


def stop_session(proc, term_wait):
    """SIGTERM the daemon's process group, SIGKILL it if the daemon is not gone
    within term_wait seconds, then SIGKILL what is left of the group: workers
    and check children still exiting."""
    for sig, wait in ((signal.SIGTERM, term_wait), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
