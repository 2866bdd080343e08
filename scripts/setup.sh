#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what lbmember needs on Debian 12 (as root) and build it into
# build/ (or the folder given). Sourced by demo.sh and test.sh.
set -euo pipefail

LBM_PACKAGES=(
	build-essential cmake pkg-config clang clang-format libclang-rt-14-dev valgrind
	libnl-3-dev libnl-genl-3-dev libjansson-dev libcurl4-openssl-dev liblua5.4-dev
	lua5.4 luarocks haproxy libsystemd-dev python3 openssl ca-certificates
	ansible ansible-lint python3-voluptuous python3-pycodestyle pylint yamllint
	icinga2 nagios4-core groff-base libcap2-bin lintian file
	qemu-system-x86 busybox-static ipvsadm cpio kmod keepalived
)

lbm_install() {
	local missing=()
	for pkg in "${LBM_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "== installing: ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# lbm_build DIR [cmake options...]
lbm_build() {
	local dir=$1
	shift
	cmake -S "$LBM_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)"
}

LBM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
