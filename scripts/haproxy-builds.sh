#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the HAProxy versions other Debian suites ship, from the upstream
# tarball in Debian's own source package, once per machine: the HAProxy test
# matrix runs each suite against them as well as against this machine's
# packaged haproxy.
#
#   scripts/haproxy-builds.sh          build what is missing, then print one
#                                      "VERSION PATH" line per build
#
# Needs build-essential and libsystemd-dev (scripts/setup.sh installs them).
# LBM_HAPROXY_CACHE (default /var/cache/lbmember/haproxy) holds the builds,
# outside any clone, so CI builds each once per machine. LBM_HAPROXY_SUITES
# (default "bullseye trixie sid") names the suites. A version that cannot be
# fetched or built is reported on stderr and left out: the suites then say
# which versions they ran against.
set -euo pipefail

CACHE=${LBM_HAPROXY_CACHE:-/var/cache/lbmember/haproxy}
SUITES=${LBM_HAPROXY_SUITES:-bullseye trixie sid}
mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/apt/sources"

# The machine's own Debian mirror, with deb-src lines for the other suites,
# in a private apt state: the system's apt configuration is not touched.
uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
uri=${uri:-http://deb.debian.org/debian}
for suite in $SUITES; do
	printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' \
		"$uri" "$suite"
done >"$CACHE/apt/sources/suites.sources"
apt_opts=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$CACHE/apt/sources"
	-o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt/cache")

# Refresh the lists at most once a day.
stamp="$CACHE/apt/updated"
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
	apt-get "${apt_opts[@]}" -qq update >&2 && touch "$stamp"
fi

build() {
	local version=$1 upstream=${1%%-*} dir="$CACHE/$1"
	[ -x "$dir/haproxy" ] && return 0
	local work
	work=$(mktemp -d "$CACHE/build-XXXXXX")
	# The .dsc may be gone from the mirror; the .orig tarball is what we need.
	(cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only "haproxy=$version" >/dev/null 2>&1) || true
	local tarball
	tarball=$(ls "$work"/haproxy_"$upstream".orig.tar.* 2>/dev/null | head -1)
	if [ -z "$tarball" ]; then
		echo "haproxy-builds: no upstream tarball for haproxy $version" >&2
		rm -rf "$work"
		return 1
	fi
	tar -C "$work" -xf "$tarball"
	# The smallest build the tests need: no TLS, Lua, PCRE or zlib; systemd
	# support, so that it runs as Debian's unit starts it (-Ws).
	if ! make -C "$work/haproxy-$upstream" -j"$(nproc)" TARGET=linux-glibc USE_OPENSSL= USE_LUA= USE_PCRE= USE_PCRE2= \
		USE_ZLIB= USE_SYSTEMD=1 >"$work/build.log" 2>&1; then
		echo "haproxy-builds: haproxy $version did not build; see $work/build.log" >&2
		return 1
	fi
	mkdir -p "$dir"
	cp "$work/haproxy-$upstream/haproxy" "$dir/haproxy.new"
	mv "$dir/haproxy.new" "$dir/haproxy"
	rm -rf "$work"
}

for version in $(apt-cache "${apt_opts[@]}" showsrc haproxy | awk '/^Version:/ { print $2 }' | sort -uV); do
	if build "$version"; then
		echo "$version $CACHE/$version/haproxy"
	fi
done
