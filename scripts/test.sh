#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install, check the formatting, build from scratch and run the whole test
# suite: once as built for users, once under AddressSanitizer +
# UndefinedBehaviorSanitizer, once with every program of ours under valgrind
# memcheck (but the tests in the IPVS VM, label vm: see docs/reliability.md),
# then every libFuzzer harness for a bounded time (LBM_FUZZ_SECONDS, default
# 60 each).
set -euo pipefail
. "$(dirname "$0")/setup.sh"

lbm_install
cd "$LBM_ROOT"
echo "== format (.clang-format)"
git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run -Werror
echo "== HAProxy builds of Debian's other suites (cached in ${LBM_HAPROXY_CACHE:-/var/cache/lbmember/haproxy})"
bash scripts/haproxy-builds.sh
rm -rf build build-asan build-valgrind build-fuzz
echo "== build"
lbm_build build -DLBM_WERROR=ON
echo "== test"
ctest --test-dir build --output-on-failure -j2
echo "== build with ASan + UBSan"
lbm_build build-asan -DLBM_WERROR=ON -DLBM_SANITIZE=ON
echo "== test with ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure -j2
echo "== build for valgrind"
lbm_build build-valgrind -DLBM_WERROR=ON -DLBM_VALGRIND=ON
echo "== test under valgrind memcheck (without the VM tests)"
# The last test, valgrind.logs, fails on any error or definite leak in any log.
# The other HAProxy versions (label haproxy_matrix) ran in the two stages
# above: they change what HAProxy answers, not how lbmember uses memory.
ctest --test-dir build-valgrind --output-on-failure -j2 -LE "vm|haproxy_matrix"
echo "== fuzz (clang, libFuzzer + ASan + UBSan)"
CC=clang lbm_build build-fuzz -DLBM_WERROR=ON -DLBM_FUZZ=ON
LBM_FUZZ_SECONDS=${LBM_FUZZ_SECONDS:-60} ctest --test-dir build-fuzz -R '^fuzz\.' --output-on-failure -j2
