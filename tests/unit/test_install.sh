#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install into a temporary prefix, then build a program against the installed
# library with nothing but pkg-config, and run it, with the shared and the
# static library (its own dependencies shared, as Debian ships them): what a
# packager or another project does.
set -euo pipefail
build=$1 src=$2 cflags=${3:-}  # cflags: the sanitizer flags of a sanitizer build
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name lbmember.pc)")
[ "$(pkg-config --modversion lbmember)" = "$(sed -n 's/^#define LBM_VERSION "\(.*\)"/\1/p' "$src/core/include/lbmember.h")" ]
test -z "$(find "$prefix" -name '*.h' ! -name lbmember.h)"   # one public header, nothing else
libdir=$(pkg-config --variable=libdir lbmember)
cc -std=c11 -Wall -Wextra -Werror $cflags "$src/examples/list_members.c" $(pkg-config --cflags --libs lbmember) -o "$prefix/shared"
cc -std=c11 -Wall -Wextra -Werror $cflags "$src/examples/list_members.c" $(pkg-config --cflags lbmember) \
	"$libdir/liblbmember.a" -lm $(pkg-config --libs $(pkg-config --print-requires-private lbmember)) -o "$prefix/static"
for prog in shared static; do
	out=$(LD_LIBRARY_PATH="$libdir" "$prefix/$prog" "haproxy://$prefix/no.sock" 2>&1) && exit 1
	grep -q "HAProxy: no socket at $prefix/no.sock" <<<"$out" || { echo "unexpected: $out"; exit 1; }
	grep -q "(EIO)" <<<"$out"
done
ldd "$prefix/static" | grep -q liblbmember && { echo "static build links liblbmember.so"; exit 1; }
# libcurl is opened for f5:// targets only: no program or module links it.
for f in $(find "$prefix" -type f); do
	readelf -d "$f" 2>/dev/null | grep -q 'NEEDED.*libcurl' && { echo "$f links libcurl"; exit 1; }
done
echo "1 passed, 0 failed"
