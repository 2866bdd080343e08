# SPDX-License-Identifier: MIT
"""SLOW: by how much our programs run slower than as built for users.
LBM_VALGRIND builds set LBM_TEST_SLOWDOWN (cmake/valgrind.cmake), where start,
TLS and exit cost far more; it is 1 in every other build. Tests scale by it
the slack of their upper time bounds and the budgets they give a timeout."""
import os

SLOW = float(os.environ.get("LBM_TEST_SLOWDOWN", "1"))
