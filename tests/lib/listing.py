# SPDX-License-Identifier: MIT
"""Reading the CLI's `--json list` output in tests."""


def member(out, pool, name):
    """The member called name in the pool called pool of a listing."""
    for p in out["pools"]:
        if p["name"] == pool:
            for m in p["members"]:
                if m["name"] == name:
                    return m
    raise AssertionError("%s/%s not listed" % (pool, name))
