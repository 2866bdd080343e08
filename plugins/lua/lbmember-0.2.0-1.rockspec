-- SPDX-License-Identifier: MIT
-- Build and install the Lua module from a checkout, at the top of the tree:
--   luarocks --lua-version 5.4 make plugins/lua/lbmember-0.2.0-1.rockspec
-- (Debian's luarocks defaults to Lua 5.1; without --lua-version 5.4 it fails
-- with "Rock lua 5.1-1 is already provided by VM". See plugins/lua/README.md.)
-- CMake builds the whole project (the module links the core statically);
-- only lbmember.so is installed into the rock tree.
rockspec_format = "3.0"
package = "lbmember"
version = "0.2.0-1"
source = {
	-- No public home yet: `luarocks make` builds the checkout it runs in.
	url = "git+https://example.invalid/lbmember.git",
	tag = "v0.2.0",
}
description = {
	summary = "Drain, disable and enable load-balancer members (LVS/IPVS, HAProxy, F5 BIG-IP)",
	detailed = [[
lbmember takes real servers out of a load balancer's rotation without cutting
the users already connected, and puts them back exactly as they were, with
one vocabulary on LVS/IPVS, HAProxy and F5 BIG-IP LTM. This is its Lua 5.4
module: lbm.open(target, opts), handle:pools(), handle:member(pool, name),
handle:enable/drain/disable(pool, name, {weight, wait, force_after, min_enabled,
reason, dry_run, progress}).
]],
	license = "MIT",
}
dependencies = {
	"lua >= 5.4, < 5.5",
}
-- The C libraries (Debian: libnl-genl-3-dev libcurl4-openssl-dev
-- libjansson-dev) are found by CMake through pkg-config, which names what is
-- missing; luarocks' own header probe misses Debian's multiarch paths.
build = {
	type = "cmake",
	variables = {
		CMAKE_BUILD_TYPE = "RelWithDebInfo", -- what CI builds and tests
		BUILD_TESTING = "OFF",
		LBM_WITH_LUA = "ON",
		LBM_WERROR = "OFF", -- a user's build: a newer compiler's warnings must not fail it
		CMAKE_INSTALL_PREFIX = "$(PREFIX)",
	},
	install_pass = false,
	install = {
		lib = { lbmember = "build.luarocks/plugins/lua/lbmember.so" },
	},
	copy_directories = {},
}
