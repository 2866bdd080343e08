#!/bin/sh
# SPDX-License-Identifier: MIT
# Run test_store_full on a 64 KiB tmpfs mounted in a private mount namespace
# (needs root, as the LVS suite does; nothing is mounted outside the test).
set -eu
prog=$1
dir=$(mktemp -d /tmp/lbm-store-full-XXXXXX)
trap 'rmdir "$dir"' EXIT
unshare -m sh -c "mount -t tmpfs -o size=64k lbm-full '$dir' && '$prog' '$dir'"
