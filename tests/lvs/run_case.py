# SPDX-License-Identifier: MIT
"""Run one LVS case script in the IPVS VM with the lbmember CLI ($LBM_CLI).

usage: run_case.py CACHE_DIR CASE.sh [--cpus N] [--timeout S]
Exit 0 when the VM booted and every check in the case passed.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import ipvs_vm  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cache")
    ap.add_argument("case")
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=100)
    args = ap.parse_args()
    cli = os.environ.get("LBM_CLI")
    if not cli or not os.access(cli, os.X_OK):
        print("run_case: LBM_CLI must name the built lbmember program", file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    with open(args.case) as f:
        script = f.read()
    res = ipvs_vm.run_vm(script, binaries=[cli], files={os.path.join(here, "lib.sh"): "/work/lib.sh"},
                         env={"LBM_CLI": os.path.abspath(cli)}, cache_dir=args.cache,
                         timeout=args.timeout, cpus=args.cpus)
    sys.stdout.write(res.output)
    print("%s: %s (VM boot %.1f s, total %.1f s)" % (
        os.path.basename(args.case), "passed" if res.ok else "FAILED: " + (res.error or "?"),
        res.boot_s or 0, res.total_s or 0))
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
