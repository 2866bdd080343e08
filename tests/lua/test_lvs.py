# SPDX-License-Identifier: MIT
"""test_lvs.lua in the IPVS VM (tests/lib/ipvs_vm.py): Debian's stock kernel
under QEMU with real IPVS, lua5.4 and lbmember.so with their libraries, and
ipvsadm as the witness.

Environment as for run.py, plus LBM_VM_CACHE (the kernel cache directory)."""

import os
import subprocess
import sys

from run import HERE, SRC  # noqa: F401  (puts tests/lib on sys.path)
import ipvs_vm

SETUP = """
ipvsadm -A -t 198.51.100.11:80 -s wlc
ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.21:80 -m -w 3
ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.22:80 -m -w 2
ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.23:80 -g -w 1
"""


def asan_runtime(module):
    """The ASan runtime the module was linked with, as the VM will hold it."""
    out = subprocess.run(["ldd", module], stdout=subprocess.PIPE, text=True, check=True).stdout
    for line in out.splitlines():
        if "libasan" in line and "=>" in line:
            return line.split("=>")[1].split()[0]
    raise SystemExit("test_lvs.py: LBM_LUA_PRELOAD is set but %s does not use libasan" % module)


def main():
    lua = os.environ.get("LBM_LUA", "/usr/bin/lua5.4")
    cpath = os.environ["LBM_LUA_CPATH"]
    module = cpath.replace("?", "lbmember")
    preload = "LD_PRELOAD=%s " % asan_runtime(module) if os.environ.get("LBM_LUA_PRELOAD") else ""
    script = "set -e\n%s\nLUA_CPATH='%s' LUA_PATH=/work/?.lua %s%s /work/test_lvs.lua\n" % (
        SETUP, cpath, preload, lua)
    res = ipvs_vm.run_vm(script, binaries=[lua, module],
                         files={os.path.join(HERE, "test_lvs.lua"): "/work/test_lvs.lua",
                                os.path.join(HERE, "check.lua"): "/work/check.lua"},
                         cache_dir=os.environ["LBM_VM_CACHE"], timeout=270)
    print(res.output)
    print("VM: ok=%s rc=%s boot %.1f s, total %.1f s %s" % (res.ok, res.rc, res.boot_s or 0, res.total_s,
                                                          res.error or ""))
    return 0 if res.ok and "tests passed" in res.output else 1


if __name__ == "__main__":
    sys.exit(main())
