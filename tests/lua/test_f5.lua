-- SPDX-License-Identifier: MIT
-- The module against the F5 iControl REST emulator started by run.py
-- (/Common/web: 192.0.2.10-13:80, /Tenant/app: 198.51.100.30:443 and
-- 2001:db8::1.80, monitors up). Each change is confirmed by the emulator's
-- own record of the member, read by witness.py outside the REST API.
local check = require "check"
local lbm = require "lbmember"

local TARGET = assert(os.getenv("LBM_TARGET"), "LBM_TARGET")
local CA = assert(os.getenv("LBM_CA_FILE"), "LBM_CA_FILE")

local function witness(pool, member, ...)
	local cmd = table.concat({ os.getenv("LBM_WITNESS"), pool, member, ... }, " ")
	return check.keyvalues(cmd, "witness " .. cmd)
end

local function session_state(member)
	local w = witness("/Common/web", "/Common/" .. member)
	return w.session .. "/" .. w.state
end

local function open(opts)
	opts = opts or {}
	opts.ca_file = opts.ca_file or CA
	return check.ok("open", lbm.open(TARGET, opts))
end

local test, run_tests = check.suite()

test("open and list, credentials from the environment", function()
	local lb <close> = open()
	local pools = check.ok("pools", lb:pools())
	check.eq(#pools, 2, "pools")
	check.eq(pools[1].name, "/Common/web", "pool 1")
	check.eq(pools[2].name, "/Tenant/app", "pool 2")
	check.eq(#pools[1].members, 4, "web members")
	local m = pools[1].members[2]
	check.eq(m.name, "/Common/192.0.2.11:80", "name")
	check.eq(m.address, "192.0.2.11", "address")
	check.eq(m.port, 80, "port")
	check.eq(m.state, lbm.ENABLED, "state")
	check.eq(m.health, "up", "health")
	check.eq(m.active, 0, "active")
	check.eq(pools[2].members[2].address, "2001:db8::1", "IPv6 address")
	check.eq(#check.ok("pools('web')", lb:pools("web")), 1, "partition defaults to Common")
	check.eq(check.ok("pools('/Tenant/app')", lb:pools("/Tenant/app"))[1].name, "/Tenant/app", "other partition")
end)

test("member lookups and failures", function()
	local lb <close> = open()
	check.eq(check.ok("member", lb:member("web", "192.0.2.12:80")).name, "/Common/192.0.2.12:80", "by ADDR:PORT")
	check.eq(check.ok("member", lb:member("/Common/web", "/Common/192.0.2.12:80")).port, 80, "by full path")
	check.eq(check.ok("member", lb:member(nil, "/Tenant/2001:db8::1.80")).port, 80, "in any pool")
	check.eq(check.ok("member", lb:member("/Tenant/app", "[2001:db8::1]:80")).name, "/Tenant/2001:db8::1.80",
		"IPv6 by [ADDR]:PORT")
	check.fails("ENOTFOUND", "^pool '/Common/web' has no member '192.0.2.99:80'$", "unknown member",
		lb:member("web", "192.0.2.99:80"))
	check.fails("ENOTFOUND", "^F5: no pool '/Common/nope'", "unknown pool", lb:pools("nope"))
end)

test("drain, disable, enable, as the emulator records them", function()
	local lb <close> = open()
	local r = check.ok("drain", lb:drain("web", "192.0.2.11:80"))
	check.eq(r.changed, true, "changed")
	check.eq(r.pool, "/Common/web", "pool")
	check.eq(r.after.state, lbm.DRAINING, "after")
	check.eq(session_state("192.0.2.11:80"), "user-disabled/up", "witness after drain")

	r = check.ok("disable", lb:disable("web", "192.0.2.11:80"))
	check.eq(r.after.state, lbm.DISABLED, "after disable")
	check.eq(session_state("192.0.2.11:80"), "user-disabled/user-down", "witness after disable")

	r = check.ok("enable", lb:enable("web", "192.0.2.11:80", { wait = 5 }))
	check.eq(r.after.state, lbm.ENABLED, "after enable")
	check.eq(r.after.health, "up", "health")
	check.match(session_state("192.0.2.11:80"), "^monitor%-enabled/", "witness after enable")

	r = check.ok("dry run", lb:drain("web", "192.0.2.10:80", { dry_run = true }))
	check.eq(r.after.state, lbm.DRAINING, "predicted")
	check.match(session_state("192.0.2.10:80"), "^monitor%-enabled/", "witness after dry run")
end)

test("waiting for connections", function()
	local lb <close> = open()
	witness("/Common/web", "/Common/192.0.2.13:80", "conns=7", "drain_rate=0")
	local partial = check.fails("ETIMEDOUT", "still not settled after waiting 0.3 s: 7 active connections left$",
		"connections that never close", lb:drain("web", "192.0.2.13:80", { wait = 0.3 }))
	check.eq(partial and partial.after.state, lbm.DRAINING, "drained all the same")
	check.eq(partial.after.active, 7, "active")
	check.eq(session_state("192.0.2.13:80"), "user-disabled/up", "witness")
	check.ok("enable", lb:enable("web", "192.0.2.13:80"))

	witness("/Common/web", "/Common/192.0.2.12:80", "conns=3", "drain_rate=4")
	local calls = {}
	local r = check.ok("drain and wait", lb:drain("web", "192.0.2.12:80", { wait = 10, progress = function(p)
		calls[#calls + 1] = { waiting = p.waiting, active = p.outcomes[1].after.active }
	end }))
	check.truthy(#calls >= 1, "progress calls")
	check.eq(calls[#calls].waiting, 0, "progress: settled at last")
	check.eq(calls[#calls].active, 0, "progress: no connection at last")
	for i = 1, #calls - 1 do
		check.eq(calls[i].waiting, 1, "progress call " .. i .. ": waiting")
		check.truthy(calls[i].active > 0, "progress call " .. i .. ": connections left")
	end
	check.eq(r.after.active, 0, "no connection left")
	check.eq(witness("/Common/web", "/Common/192.0.2.12:80").conns, "0", "witness conns")
	check.ok("enable", lb:enable("web", "192.0.2.12:80"))
end)

test("no connection count: the wait is refused, the drain made", function()
	local lb <close> = open()
	witness("--config", [['{"conn_counts":false}']])
	local t0 = os.time()
	local partial = check.fails("ENOTSUP", "^F5: /Common/web//Common/192.0.2.13:80 reports no connection count: "
		.. "cannot wait for its connections to finish$", "no count",
		lb:drain("web", "192.0.2.13:80", { wait = 300 }))
	check.truthy(os.time() - t0 < 10, "refused at once")
	check.eq(partial and partial.result, "applied", "result")
	check.eq(partial.after.active, nil, "no count reported")
	check.eq(session_state("192.0.2.13:80"), "user-disabled/up", "witness")
	witness("--config", [['{"conn_counts":true}']])
	check.ok("enable", lb:enable("web", "192.0.2.13:80"))
end)

test("the guard", function()
	local lb <close> = open()
	check.fails("EGUARD", "^refusing to make '/Common/192.0.2.10:80' draining: pool '/Common/web' would keep 3 "
		.. "enabled members, fewer than min_enabled 4$", "guard",
		lb:drain("web", "192.0.2.10:80", { min_enabled = 4 }))
	check.match(session_state("192.0.2.10:80"), "^monitor%-enabled/", "witness")
end)

test("credentials: options, password file, refusals", function()
	local lb <close> = open({ user = os.getenv("LBM_F5_USER"), password_file = os.getenv("LBM_PASSWORD_FILE") })
	check.ok("pools with password_file", lb:pools())
	local lb2 <close> = open({ user = os.getenv("LBM_F5_USER"), password = os.getenv("LBM_F5_PASSWORD"),
		basic_auth = true, timeout = 5 })
	check.ok("pools with basic auth", lb2:pools())
	local v, msg, code = lbm.open(TARGET, { ca_file = CA, password = "wrong-pw-123" })
	if v then -- a driver may log in lazily: then the first call fails
		v, msg, code = v:pools()
	end
	check.fails("EPERM", "^F5: .*refused", "wrong password", v, msg, code)
	check.eq(msg:find("wrong-pw-123", 1, true), nil, "password in " .. msg)
end)

test("TLS: verified by default, insecure only when asked", function()
	local v, msg, code = lbm.open(TARGET, { ca_file = os.getenv("LBM_OTHER_CA_FILE") })
	if v then
		v, msg, code = v:pools()
	end
	check.fails("EIO", "^F5: .*TLS .*certificate", "another CA", v, msg, code)
	local lb <close> = check.ok("insecure", lbm.open(TARGET, { ca_file = os.getenv("LBM_OTHER_CA_FILE"), insecure = true }))
	check.ok("pools, insecure", lb:pools())
	local lb2 <close> = check.ok("ca_path", lbm.open(TARGET, { ca_path = CA }))
	check.ok("pools with ca_path, the Ansible module's name", lb2:pools())
end)

test("an answer that is not JSON: EPROTO; a cut connection: EIO", function()
	local lb <close> = open()
	witness("--fault", [['{"path": "/mgmt/tm/ltm/pool", "method": "GET", "status": 200, "body": "not JSON", "times": 1}']])
	check.fails("EPROTO", "^F5: reading pools: .* that are not a JSON object$", "garbage", lb:pools())
	witness("--fault", [['{"path": "/mgmt/tm/ltm/pool", "method": "GET", "truncate": "connection", "times": 1}']])
	check.fails("EIO", "^F5: reading pools: exchange with .* failed", "cut", lb:pools())
	check.ok("pools once the faults are spent", lb:pools())
end)

test("<close> and garbage collection of many handles", function()
	local kept
	do
		local lb <close> = open()
		kept = lb
	end
	check.eq(tostring(kept), "lbmember handle (closed)", "after the block")
	for i = 1, 30 do
		local lb = open()
		if i % 2 == 0 then
			lb:close()
		end
	end
	collectgarbage()
	collectgarbage()
end)

test("everything back as it was", function()
	for i = 10, 13 do
		check.match(session_state("192.0.2." .. i .. ":80"), "^monitor%-enabled/up$", "192.0.2." .. i)
	end
end)

run_tests()
