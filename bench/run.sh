#!/bin/bash
# SPDX-License-Identifier: MIT
# Run every benchmark comparison of bench/README.md in one go:
#   bash bench/run.sh [bench.py options, e.g. --runs 9 --only bulk]
# Installs the Debian packages it needs (apt-get, as root), builds lbmember in
# Release mode in its own build directory, builds the two helpers, and writes
# results.{txt,md,json} to $LBM_BENCH_OUT. Nothing here is part of ctest.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${LBM_BENCH_DIR:-/tmp/lbmember-bench}
BUILD=$WORK/build
HELPERS=$WORK/helpers
OUT=${LBM_BENCH_OUT:-$WORK/results}

# Build dependencies, then the peers and the IPVS VM's needs.
PACKAGES="cmake gcc make pkg-config libnl-3-dev libnl-genl-3-dev libjansson-dev libcurl4-openssl-dev
	liblua5.4-dev python3 openssl haproxy socat ansible ipvsadm qemu-system-x86 busybox-static cpio kmod
	monitoring-plugins-contrib"

missing=()
for p in $PACKAGES; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "bench: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

RELEASE_FLAGS=(-DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF)
mkdir -p "$HELPERS" "$OUT"
LOG=$WORK/build.log
build() {
	cmake -S "$SRC" -B "$1" "${RELEASE_FLAGS[@]}" "${@:2}" >>"$LOG" 2>&1 &&
		cmake --build "$1" -j"$(nproc)" --target lbmember_cli lb_member check_lb_members >>"$LOG" 2>&1 ||
		{ tail -30 "$LOG"; echo "bench: the build of $1 failed (log: $LOG)" >&2; exit 1; }
}
: >"$LOG"
echo "bench: building lbmember (Release) in $BUILD"
build "$BUILD"
for h in floor measure; do
	cc -O2 -std=c11 -Wall -Wextra -Werror -o "$HELPERS/$h" "$SRC/bench/$h.c"
done

exec python3 "$SRC/bench/bench.py" --build "$BUILD" --helpers "$HELPERS" \
	--out "$OUT" --vm-cache "${LBM_VM_CACHE:-$WORK/vm-cache}" "$@"
