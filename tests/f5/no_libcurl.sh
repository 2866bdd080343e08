#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# libcurl is opened for f5:// targets only: on a host without it, an F5
# target fails with a message naming the package, and the other drivers,
# which never need it, still start. The library is hidden by bind-mounting
# /dev/null over it in a private mount namespace (unprivileged, via a user
# namespace). Usage: no_libcurl.sh LBMEMBER_CLI [RUN]: RUN runs the CLI
# (in an LBM_VALGRIND build, its valgrind wrapper); LBMEMBER_CLI by default.
set -euo pipefail
cli=$1 run=${2:-$1}
lib=$(readlink -f "$("$(command -v ldconfig || echo /sbin/ldconfig)" -p | awk '$1 == "libcurl.so.4" && /x86-64/ {print $NF; exit}')")
[ -f "$lib" ] || { echo "FAIL: libcurl.so.4 not found on this host"; exit 1; }
if readelf -d "$cli" | grep -q 'NEEDED.*libcurl'; then echo "FAIL: $cli links libcurl"; exit 1; fi
out=$(LBM_F5_USER=admin LBM_F5_PASSWORD=not-used unshare --user --map-root-user --mount sh -c '
	mount --bind /dev/null "$1" || exit 3
	"$2" f5://127.0.0.1:9 list 2>&1; echo "f5 exit $?"
	"$2" haproxy:///nonexistent.sock list 2>&1; echo "haproxy exit $?"' sh "$lib" "$run")
echo "$out"
grep -qx "lbmember: F5: cannot load libcurl (.*): install the package libcurl4" <<<"$out"
grep -qx "f5 exit 1" <<<"$out"
grep -q "^lbmember: HAProxy: no socket at /nonexistent.sock" <<<"$out"
grep -qx "haproxy exit 1" <<<"$out"
echo "1 passed, 0 failed"
