#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages as a user makes them: a build of the source configured
# for /usr, `cmake --build BUILD --target package`; lintian; the files where
# Debian puts them; dpkg installs them into a throwaway root (the host's
# dpkg database and /usr are not touched) and test_installed.py runs every
# face from those files, laid over /usr in a private mount namespace.
#
#   test_package.sh SRC WORKDIR CTEST_BUILD   CTEST_BUILD: a build for /usr/local
set -euo pipefail
src=$1 work=$2 other=$3
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root, for dpkg --root and a private mount namespace (scripts/test.sh runs as root)"
command -v lintian >/dev/null || fail "lintian is not installed (apt-get install lintian)"
unshare --mount --propagation private true 2>/dev/null ||
	fail "cannot make a private mount namespace here (unshare --mount: CAP_SYS_ADMIN), which this test lays the packages' files over /usr in"
rm -rf "$work"
mkdir -p "$work"

# A build for another prefix is refused when the package is made, with the fix.
out=$(cd "$work" && cpack --config "$other/CPackConfig.cmake" 2>&1) && fail "cpack accepted a build for /usr/local"
out=$(tr -s ' \n' '  ' <<<"$out")  # CMake folds its messages
grep -q "the Debian packages need a build configured with -DCMAKE_INSTALL_PREFIX=/usr (this one has /usr/local)" \
	<<<"$out" || fail "unexpected refusal: $out"

build=$work/build
cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF >"$work/configure.log" ||
	fail "configure: $(cat "$work/configure.log")"
# The README's command (`package` builds everything first).
cmake --build "$build" -j2 --target package >"$work/package.log" 2>&1 ||
	fail "package: $(tail -30 "$work/package.log")"
grep -E "(CMake|CPack) Warning" "$work/package.log" && fail "warned: $(cat "$work/package.log")"
version=$(sed -n 's/^#define LBM_VERSION "\(.*\)"/\1/p' "$src/core/include/lbmember.h")
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
debs=()
for pkg in liblbmember0 liblbmember-dev lbmember; do
	deb=$build/${pkg}_${version}_${arch}.deb
	[ -f "$deb" ] || fail "no $deb: $(ls "$build"/*.deb)"
	debs+=("$deb")
done
echo "packages: ${debs[*]##*/}"

# lintian: no error and no warning (its informational tags are printed).
lint=$(lintian --display-info "${debs[@]}" 2>&1 | grep -v "^running with root privileges") || true
grep -E "^[EW]: " <<<"$lint" && fail "lintian: $lint"
grep -E "^I: .* hardening-" <<<"$lint" && fail "lintian: not built with Debian's hardening flags (LBM_HARDENING)"
grep -E "^[IXP]: " <<<"$lint" || true
echo "lintian: no error, no warning"

# Each file where Debian's conventions put it, in the package it belongs to.
expect() {
	local pkg=$1 path
	shift
	local files
	files=$(dpkg-deb -c "$build/${pkg}_${version}_${arch}.deb" | awk '{print substr($6, 2)}')
	for path; do
		grep -qxF "$path" <<<"$files" || fail "$pkg has no $path: $files"
	done
}
for pkg in liblbmember0 liblbmember-dev lbmember; do
	expect $pkg /usr/share/doc/$pkg/copyright /usr/share/doc/$pkg/changelog.gz
done
expect liblbmember0 /usr/lib/$multiarch/liblbmember.so.0 /usr/lib/$multiarch/liblbmember.so.$version
expect liblbmember-dev /usr/include/lbmember.h /usr/lib/$multiarch/liblbmember.so /usr/lib/$multiarch/liblbmember.a \
	/usr/lib/$multiarch/pkgconfig/lbmember.pc
expect lbmember /usr/bin/lbmember /usr/lib/nagios/plugins/check_lb_members /usr/share/man/man1/lbmember.1.gz \
	/usr/share/man/man1/check_lb_members.1.gz /usr/lib/$multiarch/lua/5.4/lbmember.so \
	/usr/share/icinga2/include/plugins-contrib.d/lbmember.conf /etc/nagios-plugins/config/lbmember.cfg \
	/usr/share/ansible/collections/ansible_collections/lbmember/lb/plugins/modules/lb_member \
	/usr/share/ansible/collections/ansible_collections/lbmember/lb/plugins/modules/lb_member.py \
	/usr/share/ansible/collections/ansible_collections/lbmember/lb/galaxy.yml \
	/usr/share/bash-completion/completions/lbmember /usr/libexec/lbmember/lb_member
grep -q "liblbmember0 (= $version)" <<<"$(dpkg-deb -f "$build/lbmember_${version}_${arch}.deb" Depends)" ||
	fail "lbmember does not depend on liblbmember0 (= $version)"

# Installed by dpkg into an empty root: its own database, no dependency there
# (they are the host's), maintainer scripts run outside it (they are empty).
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --log=/dev/null --force-depends --force-script-chrootless -i "${debs[@]}" \
	>"$work/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.log")"
for pkg in liblbmember0 liblbmember-dev lbmember; do
	st=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' $pkg)
	[ "$st" = "install ok installed" ] || fail "$pkg in the throwaway root: $st"
done
conffiles=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}' lbmember)
grep -q "^ /etc/nagios-plugins/config/lbmember.cfg [0-9a-f]\{32\}$" <<<"$conffiles" ||
	fail "lbmember.cfg is not a conffile: $conffiles"
[ ! -e /usr/bin/lbmember ] && [ ! -e /usr/lib/nagios/plugins/check_lb_members ] ||
	fail "this machine has lbmember installed in /usr: the test could not tell its files from the package's"

# The number of commands Nagios reads without the package, for test_installed.py.
LBM_NAGIOS_COMMANDS_WITHOUT=$(nagios4 -v /etc/nagios4/nagios.cfg | sed -n 's/.*Checked \([0-9]*\) commands\./\1/p')
[ -n "$LBM_NAGIOS_COMMANDS_WITHOUT" ] || fail "nagios4 -v /etc/nagios4/nagios.cfg: $(nagios4 -v /etc/nagios4/nagios.cfg)"
export LBM_NAGIOS_COMMANDS_WITHOUT

# The root's /usr over the host's (read-only overlay: the root's files win),
# and /etc/nagios-plugins likewise, for test_installed.py only.
exec unshare --mount --propagation private bash -c '
	set -e
	root=$1
	mount -t overlay lbmember-usr -o "lowerdir=$root/usr:/usr" /usr
	mount -t overlay lbmember-nagios -o "lowerdir=$root/etc/nagios-plugins:/etc/nagios-plugins" /etc/nagios-plugins
	exec python3 "$2" "$root"
' overlay "$root" "$src/tests/package/test_installed.py"
