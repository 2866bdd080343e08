-- SPDX-License-Identifier: MIT
-- The module against the real kernel IPVS, inside the QEMU VM of
-- test_lvs.py: the service tcp:198.51.100.11:80 with real servers .21 (masq,
-- weight 3), .22 (masq, weight 2) and .23 (route, weight 1) set up by
-- ipvsadm, which is also the witness of every change.
local check = require "check"
local lbm = require "lbmember"

local POOL = "tcp:198.51.100.11:80"
local OPTS = { state_dir = "/tmp/lbm-state" }

-- ipvsadm -Ln of the service: {["198.51.100.21:80"] = {method=, weight=}}
local function witness()
	local f = assert(io.popen("env -u LD_PRELOAD ipvsadm -Ln -t 198.51.100.11:80"))
	local t = {}
	for line in f:lines() do
		local addr, method, weight = line:match("^%s*%->%s+(%d+%.%d+%.%d+%.%d+:%d+)%s+(%a+)%s+(%d+)")
		if addr then
			t[addr] = { method = method, weight = tonumber(weight) }
		end
	end
	check.truthy(f:close(), "ipvsadm")
	return t
end

local function open()
	return check.ok("open lvs://", lbm.open("lvs://", OPTS))
end

local test, run_tests = check.suite()

test("list the service", function()
	local lb <close> = open()
	local pools = check.ok("pools", lb:pools())
	check.eq(#pools, 1, "pools")
	check.eq(pools[1].name, POOL, "pool name")
	check.eq(#pools[1].members, 3, "members")
	local m = pools[1].members[1]
	check.eq(m.name, "198.51.100.21:80", "name")
	check.eq(m.address, "198.51.100.21", "address")
	check.eq(m.port, 80, "port")
	check.eq(m.state, lbm.ENABLED, "state")
	check.eq(m.weight, 3, "weight")
	check.eq(m.active, 0, "active")
	check.eq(m.inactive, 0, "inactive")
	check.eq(m.restore_weight, nil, "restore_weight: none recorded while enabled")
	check.eq(check.ok("member", lb:member(POOL, "198.51.100.22")).weight, 2, "member by address")
	check.eq(check.ok("member", lb:member(nil, "198.51.100.23:80")).status, "Route", "any pool, status")
	check.fails("ENOTFOUND", "198.51.100.99", "unknown service", lb:pools("tcp:198.51.100.99:80"))
	check.fails("ENOTFOUND", "^pool 'tcp:198.51.100.11:80' has no member '198.51.100.99'$", "unknown member",
		lb:member(POOL, "198.51.100.99"))
	check.fails("EINVAL", "", "not a service", lb:pools("nonsense"))
end)

test("drain and enable restore the weight", function()
	local lb <close> = open()
	local r = check.ok("drain", lb:drain(POOL, "198.51.100.21:80"))
	check.eq(r.after.state, lbm.DRAINING, "after")
	check.eq(r.after.weight, 0, "weight after drain")
	check.eq(witness()["198.51.100.21:80"].weight, 0, "ipvsadm weight")
	check.eq(r.after.restore_weight, 3, "the weight enabling restores")
	check.eq(lb:member(POOL, "198.51.100.21:80").restore_weight, 3, "read back: restore_weight")
	r = check.ok("enable", lb:enable(POOL, "198.51.100.21:80", { wait = 2 }))
	check.eq(r.after.state, lbm.ENABLED, "after enable")
	check.eq(witness()["198.51.100.21:80"].weight, 3, "ipvsadm weight restored")
end)

test("disable removes, enable re-adds exactly", function()
	local lb <close> = open()
	check.ok("disable", lb:disable(POOL, "198.51.100.22:80"))
	check.eq(witness()["198.51.100.22:80"], nil, "removed from IPVS")
	check.eq(lb:member(POOL, "198.51.100.22:80").state, lbm.DISABLED, "still listed, disabled")
	check.eq(lb:member(POOL, "198.51.100.22:80").restore_weight, 2, "removed: the weight it comes back with")
	check.ok("enable", lb:enable(POOL, "198.51.100.22:80"))
	local w = witness()["198.51.100.22:80"]
	check.truthy(w, "back in IPVS")
	check.eq(w.method, "Masq", "forwarding method")
	check.eq(w.weight, 2, "weight")
end)

test("weights, guard, dry run", function()
	local lb <close> = open()
	check.eq(check.ok("weight 5", lb:enable(POOL, "198.51.100.23", { weight = 5 })).after.weight, 5, "after")
	check.eq(witness()["198.51.100.23:80"].weight, 5, "ipvsadm weight")
	check.eq(witness()["198.51.100.23:80"].method, "Route", "method kept")
	check.ok("weight back", lb:enable(POOL, "198.51.100.23", { weight = 1 }))
	check.fails("EGUARD", "fewer than min_enabled 3$", "guard", lb:drain(POOL, "198.51.100.23", { min_enabled = 3 }))
	local r = check.ok("dry drain", lb:drain(POOL, "198.51.100.23", { dry_run = true }))
	check.eq(r.after.weight, 0, "predicted weight")
	check.eq(witness()["198.51.100.23:80"].weight, 1, "ipvsadm untouched")
end)

test("force_after: refused before anything is touched; a reason is kept", function()
	local lb <close> = open()
	check.fails("ENOTSUP", "^LVS: cannot force: ", "drain with force_after",
		lb:drain(POOL, "198.51.100.21:80", { wait = 5, force_after = 1 }))
	check.eq(witness()["198.51.100.21:80"].weight, 3, "ipvsadm untouched")
	local r = check.ok("drain with a reason", lb:drain(POOL, "198.51.100.21:80", { reason = "nic swap" }))
	check.eq(r.after.reason, "nic swap", "reason")
	check.eq(check.ok("member", lb:member(POOL, "198.51.100.21:80")).reason, "nic swap", "read back")
	r = check.ok("enable", lb:enable(POOL, "198.51.100.21:80"))
	check.eq(r.after.reason, nil, "cleared")
	check.eq(witness()["198.51.100.21:80"].weight, 3, "ipvsadm weight restored")
end)

test("<close>, garbage collection, no descriptor left open", function()
	local function fds()
		local f = assert(io.popen("ls /proc/self/fd | wc -l"))
		local n = tonumber(f:read("a"))
		f:close()
		return n
	end
	local before = fds()
	local kept
	do
		local lb <close> = open()
		kept = lb
	end
	check.eq(tostring(kept), "lbmember handle (closed)", "after the block")
	for i = 1, 200 do
		local lb = open()
		check.ok("member", lb:member(POOL, "198.51.100.21"))
		if i % 2 == 0 then
			lb:close()
		end
	end
	collectgarbage()
	collectgarbage()
	check.eq(fds(), before, "descriptors")
end)

test("everything back as it was", function()
	local w = witness()
	check.eq(w["198.51.100.21:80"].weight .. w["198.51.100.21:80"].method, "3Masq", ".21")
	check.eq(w["198.51.100.22:80"].weight .. w["198.51.100.22:80"].method, "2Masq", ".22")
	check.eq(w["198.51.100.23:80"].weight .. w["198.51.100.23:80"].method, "1Route", ".23")
end)

run_tests()
