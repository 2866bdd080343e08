# SPDX-License-Identifier: MIT
"""The rockspec, built by Debian's own luarocks exactly as plugins/lua/README.md
says, in a copy of the source tree (luarocks builds in place), into a private
rock tree (never the system's):

    luarocks --lua-version 5.4 --tree TREE make plugins/lua/lbmember-0.2.0-1.rockspec

then the installed lbmember.so must load in lua5.4 from that tree and answer.
And the README's warning is checked too: Debian's luarocks runs under Lua 5.1
by default, where the same command without --lua-version 5.4 fails with "Rock
lua 5.1-1 is already provided by VM".

Offline: the one dependency, lua 5.4, is the interpreter itself ("provided by
VM"), so luarocks downloads nothing; a proxy that refuses every connection
makes sure of it, and HOME is private, so no user's luarocks config or cache
is read or written.

Environment: LBM_SRC, LBM_LUA, LBM_LUAROCKS."""

import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ["LBM_SRC"]
LUAROCKS = os.environ["LBM_LUAROCKS"]
ROCKSPEC = "plugins/lua/lbmember-0.2.0-1.rockspec"
NOT_54 = "Rock lua 5.1-1 is already provided by VM"
CHECK = r'''
local tree = assert(os.getenv("LBM_ROCK_TREE"))
-- Loaded from the rock tree, not from a build or system directory.
local found = assert(package.searchpath("lbmember", package.cpath))
assert(found == tree .. "/lib/lua/5.4/lbmember.so", found)
local lbm = require "lbmember"
-- 0.2: LBM_VERSION, and the rockspec renamed with it.
assert(lbm.version == "0.2.0", lbm.version)
assert(lbm.options[1].name == "timeout", "lbm.options")
-- A socket path that does not exist fails at open, as io.open does.
local v, msg, code = lbm.open("haproxy:///nonexistent/admin.sock")
assert(v == nil and type(msg) == "string" and code == "EIO", tostring(msg))
print("installed module ok (" .. found .. "): " .. msg)
'''


def luarocks(args, cwd, env):
    print("$ luarocks " + " ".join(args))
    proc = subprocess.run([LUAROCKS] + args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=840)
    print(proc.stdout[-3000:])
    return proc


def main():
    with tempfile.TemporaryDirectory(prefix="lbm-rock-") as tmp:
        src = os.path.join(tmp, "src")
        shutil.copytree(SRC, src, ignore=shutil.ignore_patterns(".git", "build*", "__pycache__"))
        home = os.path.join(tmp, "home")
        os.mkdir(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LUA_", "LUAROCKS_", "LD_PRELOAD"))}
        dead = "http://127.0.0.1:9"  # discard port: nothing listens, any download fails at once
        env.update(HOME=home, http_proxy=dead, https_proxy=dead, HTTP_PROXY=dead, HTTPS_PROXY=dead)
        env.pop("no_proxy", None)
        env.pop("NO_PROXY", None)

        # Without --lua-version: Debian's default Lua 5.1 cannot satisfy "lua >= 5.4".
        default = luarocks(["config", "lua_version"], src, env).stdout.strip()
        if default == "5.1":
            proc = luarocks(["--tree", os.path.join(tmp, "tree-5.1"), "make", ROCKSPEC], src, env)
            if proc.returncode == 0 or NOT_54 not in proc.stdout:
                print("FAIL: without --lua-version 5.4, luarocks (Lua 5.1) should fail with %r" % NOT_54)
                return 1
            print("ok: without --lua-version 5.4 luarocks fails as plugins/lua/README.md says")
        else:
            print("note: this luarocks defaults to Lua %r, not 5.1: the failure without "
                  "--lua-version 5.4 is not checked" % default)

        # As documented, into a private tree.
        tree = os.path.join(tmp, "tree")
        proc = luarocks(["--lua-version", "5.4", "--tree", tree, "make", ROCKSPEC], src, env)
        if proc.returncode != 0:
            print("FAIL: luarocks make exited %d" % proc.returncode)
            return 1
        listed = luarocks(["--lua-version", "5.4", "--tree", tree, "list", "--porcelain"], src, env).stdout
        if not any(line.split("\t")[:3] == ["lbmember", "0.2.0-1", "installed"] for line in listed.splitlines()):
            print("FAIL: lbmember 0.2.0-1 not listed as installed in the tree")
            return 1

        lua_env = dict(env, LUA_CPATH_5_4=os.path.join(tree, "lib", "lua", "5.4", "?.so"), LBM_ROCK_TREE=tree)
        return subprocess.run([os.environ.get("LBM_LUA", "lua5.4"), "-e", CHECK], env=lua_env).returncode


if __name__ == "__main__":
    sys.exit(main())
