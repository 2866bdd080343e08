# SPDX-License-Identifier: MIT
"""`luarocks make` with plugins/lua/lbmember-0.2.0-1.rockspec, in a copy of
the source tree (luarocks builds in place), into a private rock tree; then
the installed lbmember.so must load in lua5.4 and answer.

Environment: LBM_SRC, LBM_LUA, LBM_LUAROCKS."""

import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ["LBM_SRC"]
ROCKSPEC = "plugins/lua/lbmember-0.2.0-1.rockspec"
CHECK = r'''
local lbm = require "lbmember"
-- 0.2: LBM_VERSION, and the rockspec renamed with it.
assert(lbm.version == "0.2.0", lbm.version)
assert(lbm.options[1].name == "timeout", "lbm.options")
-- A socket path that does not exist fails at open, as io.open does.
local v, msg, code = lbm.open("haproxy:///nonexistent/admin.sock")
assert(v == nil and code == "EIO", tostring(msg))
print("installed module ok: " .. msg)
'''


def main():
    with tempfile.TemporaryDirectory(prefix="lbm-rock-") as tmp:
        src = os.path.join(tmp, "src")
        shutil.copytree(SRC, src, ignore=shutil.ignore_patterns(".git", "build*", "__pycache__"))
        tree = os.path.join(tmp, "tree")
        proc = subprocess.run([os.environ["LBM_LUAROCKS"], "--lua-version", "5.4", "make", "--tree", tree, ROCKSPEC],
                              cwd=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(proc.stdout[-3000:])
        if proc.returncode != 0:
            print("luarocks make failed with exit %d" % proc.returncode)
            return 1
        env = dict(os.environ, LUA_CPATH=os.path.join(tree, "lib", "lua", "5.4", "?.so"))
        env.pop("LD_PRELOAD", None)
        return subprocess.run([os.environ.get("LBM_LUA", "lua5.4"), "-e", CHECK], env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
