-- SPDX-License-Identifier: MIT
-- The module against the fake driver (a copy of lbmember.so linked with it):
-- every method, every misuse and every failure the fake can provoke. The
-- same against a real HAProxy is test_haproxy.lua.
local check = require "check"
local lbm = require "lbmember"

local TARGET = "fake://web:a@127.0.0.2:80,b@127.0.0.3:80,c@127.0.0.4:80;api:a@127.0.0.2:81,d"

local function open()
	return check.ok("open", lbm.open(TARGET))
end

local test, run_tests = check.suite()

test("module fields", function()
	-- Adapted for 0.2: lbm.version is LBM_VERSION, now "0.2.0".
	check.eq(lbm.version, "0.2.0", "lbm.version")
	check.eq(lbm.ENABLED, "enabled", "lbm.ENABLED")
	check.eq(lbm.DRAINING, "draining", "lbm.DRAINING")
	check.eq(lbm.DISABLED, "disabled", "lbm.DISABLED")
	check.eq(lbm.UNKNOWN, "unknown", "lbm.UNKNOWN")
	check.eq(type(lbm.open), "function", "lbm.open")
end)

test("open failures return nil, msg, code", function()
	check.fails("EINVAL", "^target 'nonsense' is not a balancer URI: expected .*fake://", "no scheme",
		lbm.open("nonsense"))
	check.fails("EINVAL", "^unknown balancer type 'gopher'", "unknown scheme", lbm.open("gopher://x"))
	check.fails("EINVAL", "^Fake: pool spec 'web' has no ':'", "driver error", lbm.open("fake://web"))
	check.fails("EINVAL", "timeout", "infinite timeout", lbm.open(TARGET, { timeout = math.huge }))
end)

test("open misuse raises", function()
	check.raises("bad argument #1 to 'lbmember.open' %(string expected, got no value%)", "no target", lbm.open)
	-- Adapted for issue 17: a table lists several targets; an empty one is wrong.
	check.raises("bad argument #1 .*expected a target, or a list of targets", "empty table target", lbm.open, {})
	check.raises("bad argument #1 .*target 2 is a number, expected a string", "table of junk", lbm.open,
		{ TARGET, 5 })
	check.raises("bad argument #2 .*table expected, got string", "opts string", lbm.open, TARGET, "x")
	-- Adapted for 0.2: the names come from the core's option table
	-- (lbm_option_info: the common ones, then LVS's, then F5's), each alias
	-- after its name, so the order changed. Issue 17 added sync_group, issue 19 ignore_owner.
	check.raises("bad argument #2 .*unknown option 'tiemout' %(expected timeout, state_dir, ignore_owner, state_file, user, password, "
		.. "password_file, login_provider, basic_auth, ca_file, ca_path, insecure, sync_group%)",
		"typo in an option", lbm.open, TARGET, { tiemout = 5 })
	check.raises("option names must be strings, got a number key", "array opts", lbm.open, TARGET, { 5 })
	-- Adapted for 0.2: the option table's seconds are above 0 (lbm_option_parse
	-- refuses 0), and the message says so instead of "0 or more".
	check.raises("option 'timeout' must be a number of seconds above 0, got string", "timeout string",
		lbm.open, TARGET, { timeout = "5" })
	check.raises("option 'timeout' must be a number of seconds above 0, got number", "negative timeout",
		lbm.open, TARGET, { timeout = -1 })
	check.raises("option 'timeout' must be a number of seconds above 0, got number", "zero timeout",
		lbm.open, TARGET, { timeout = 0 })
	check.raises("option 'timeout' must be", "NaN timeout", lbm.open, TARGET, { timeout = 0 / 0 })
	-- "false" as a string is true in Lua: it must not silently turn TLS checks off.
	check.raises("option 'insecure' must be a boolean, got string", "insecure string",
		lbm.open, TARGET, { insecure = "false" })
	check.raises("option 'basic_auth' must be a boolean, got number", "basic_auth number",
		lbm.open, TARGET, { basic_auth = 1 })
	local err = check.raises("option 'password' must be a string, got table", "password table",
		lbm.open, TARGET, { password = { "s3cret-pw" } })
	check.eq(err:find("s3cret", 1, true), nil, "password in the message")
	-- The alias is checked under the name the script used.
	check.raises("option 'ca_path' must be a string, got boolean", "ca_path boolean",
		lbm.open, TARGET, { ca_path = true })
end)

test("values the core refuses: nil, msg, EINVAL, a secret never shown", function()
	check.fails("EINVAL", "^user expects a value, got an empty one$", "empty user", lbm.open(TARGET, { user = "" }))
	check.fails("EINVAL", "^ca_file expects a path", "empty ca_path", lbm.open(TARGET, { ca_path = "" }))
	local _, msg = lbm.open(TARGET, { password = "" })
	check.match(msg, "^password expects a value", "empty password")
end)

test("lbm.options: the core's option table", function()
	local names = {}
	for _, o in ipairs(lbm.options) do
		names[#names + 1] = o.name .. (o.alias and "/" .. o.alias or "")
		check.match(o.type, "^%l+$", o.name .. " type")
		check.match(o.help, "%.$", o.name .. " help")
	end
	check.eq(table.concat(names, " "), "timeout state_dir ignore_owner state_file user password password_file login_provider "
		.. "basic_auth ca_file/ca_path insecure sync_group", "names")
	check.eq(lbm.options[1].type, "seconds", "timeout type")
	check.eq(lbm.options[1].schemes, nil, "timeout is for every target")
	local by_name = {}
	for _, o in ipairs(lbm.options) do
		by_name[o.name] = o
	end
	check.eq(by_name.password.type, "secret", "password type")
	check.eq(by_name.password.schemes, "f5", "password is F5's")
	check.eq(by_name.basic_auth.value, nil, "a flag takes no value")
	check.eq(by_name.state_file.schemes, "haproxy", "state_file is HAProxy's")
	check.eq(by_name.sync_group.schemes, "f5", "sync_group is F5's")
	check.eq(by_name.state_file.change_only and by_name.sync_group.change_only, true, "only a change uses them")
	check.eq(by_name.timeout.change_only or by_name.ca_file.change_only, false, "a listing uses them")
end)

test("every option is accepted", function()
	local lb <close> = check.ok("open with every option", lbm.open(TARGET, {
		timeout = 2.5, user = "admin", password = "s3cret-pw", password_file = "/nonexistent",
		login_provider = "tmos", basic_auth = false, ca_file = "/etc/ssl/certs/ca-certificates.crt",
		insecure = false, state_dir = "/tmp", sync_group = "/Common/pair",
	}))
	check.eq(#check.ok("pools", lb:pools()), 2, "pools")
	local lb2 <close> = check.ok("open with ca_path, the alias", lbm.open(TARGET, { ca_path = "/tmp", timeout = 1 }))
	check.eq(#check.ok("pools", lb2:pools()), 2, "pools")
end)

test("a password never shows in a failure", function()
	local v, msg = lbm.open("nonsense://s3cret-pw@x", { password = "s3cret-pw" })
	check.eq(v, nil, "open")
	check.eq(msg:find("s3cret", 1, true), nil, "password in " .. msg)
end)

test("pools lists every pool and member", function()
	local lb <close> = open()
	local pools = check.ok("pools", lb:pools())
	check.eq(#pools, 2, "number of pools")
	check.eq(pools[1].name, "web", "pool 1")
	check.eq(pools[2].name, "api", "pool 2")
	check.eq(pools[1].detail, "", "detail")
	check.eq(#pools[1].members, 3, "members of web")
	check.eq(#pools[2].members, 2, "members of api")
	local m = pools[1].members[2]
	check.eq(m.name, "b", "name")
	check.eq(m.address, "127.0.0.3", "address")
	check.eq(m.port, 80, "port")
	check.eq(m.state, lbm.ENABLED, "state")
	check.eq(m.health, "unknown", "health")
	check.eq(m.weight, 1, "weight")
	check.eq(m.active, 0, "active")
	check.eq(m.inactive, nil, "inactive (not reported)")
	check.eq(m.status, "fake", "status")
	check.eq(m.held, nil, "held")
	check.eq(m.follows, nil, "follows")
	check.eq(m.restore_weight, nil, "restore_weight (none recorded)")
	check.eq(m.template, false, "template")
	check.eq(m.ephemeral, false, "ephemeral")
	check.eq(m.agent, false, "agent")
	check.eq(m.reason, nil, "reason (no record)")
	check.eq(m.by, nil, "by (no record)")
	check.eq(m.since, nil, "since (no record)")
	check.eq(math.type(m.port), "integer", "port type")
	check.eq(pools[2].members[2].address, "", "address of a member without one")
	check.eq(pools[2].members[2].port, 0, "port of a member without one")
end)

test("pools of one pool, and of an unknown one", function()
	local lb <close> = open()
	local pools = check.ok("pools('api')", lb:pools("api"))
	check.eq(#pools, 1, "number of pools")
	check.eq(pools[1].name, "api", "name")
	check.fails("ENOTFOUND", "^Fake: no pool 'nope'$", "unknown pool", lb:pools("nope"))
	check.fails("EINVAL", "^empty pool name$", "empty pool", lb:pools(""))
	-- Adapted for 0.2: lb:pools() also takes a table of names (lbm_pools takes
	-- several), so a table is no longer refused as such; other types are.
	check.raises("bad argument #1 to 'pools' %(string or table expected, got boolean%)", "pool boolean",
		function() return lb:pools(true) end)
	check.raises("bad argument #1 to 'pools' %(pool names must be strings, got a table at index 2%)",
		"pool table of tables", function() return lb:pools({ "web", {} }) end)
end)

test("pools of several pools at once", function()
	local lb <close> = open()
	local pools = check.ok("pools{api, web}", lb:pools({ "api", "web", "api" }))
	check.eq(#pools, 2, "each pool once")
	check.eq(pools[1].name .. "," .. pools[2].name, "api,web", "in the order given")
	check.eq(#pools[2].members, 3, "web members")
	check.eq(#check.ok("pools{}", lb:pools({})), 0, "no pool named, none listed")
	check.fails("ENOTFOUND", "^Fake: no pool 'nope'$", "one unknown pool", lb:pools({ "web", "nope" }))
end)

test("followers", function()
	local lb <close> = check.ok("open", lbm.open("fake://web:a,b;bk:f>web/a"))
	check.eq(check.ok("member", lb:member("bk", "f")).follows, "web/a", "follows")
	check.eq(check.ok("member", lb:member("web", "a")).follows, nil, "a leader follows none")
end)

test("member by name, by address, in any pool", function()
	local lb <close> = open()
	local m = check.ok("member", lb:member("web", "c"))
	check.eq(m.name, "c", "name")
	check.eq(m.address, "127.0.0.4", "address")
	check.eq(check.ok("by address", lb:member("web", "127.0.0.3")).name, "b", "member by address")
	check.eq(check.ok("by address:port", lb:member("api", "127.0.0.2:81")).name, "a", "by address:port")
	check.eq(check.ok("any pool", lb:member(nil, "d")).name, "d", "member(nil, 'd')")
	check.eq(check.ok("pool '-'", lb:member("-", "d")).name, "d", "member('-', 'd')")
end)

test("member failures", function()
	local lb <close> = open()
	check.fails("ENOTFOUND", "^pool 'web' has no member 'zz'$", "unknown member", lb:member("web", "zz"))
	check.fails("ENOTFOUND", "^no pool has a member 'zz'$", "unknown member anywhere", lb:member(nil, "zz"))
	check.fails("ENOTFOUND", "^Fake: no pool 'nope'$", "unknown pool", lb:member("nope", "a"))
	-- Adapted for 0.2: an ambiguous name has its own code, EAMBIGUOUS (was EINVAL).
	check.fails("EAMBIGUOUS", "^member 'a' is in several pools %(web, api%): name the pool$", "ambiguous",
		lb:member(nil, "a"))
	check.fails("EINVAL", "^no member given$", "empty member", lb:member("web", ""))
	check.raises("bad argument #2 to 'member' %(string expected, got no value%)", "no member", function() return lb:member("web") end)
	check.raises("bad argument #1 to 'member' %(string expected, got table%)", "pool table", function() return lb:member({}, "a") end)
	check.raises("lbmember.handle expected, got string", "not a handle", lb.member, "web", "a")
	check.raises("lbmember.handle expected, got no value", "no self", lb.member)
end)

test("drain, disable, enable: result tables", function()
	local lb <close> = open()
	local r = check.ok("drain", lb:drain("web", "a"))
	check.eq(r.changed, true, "changed")
	check.eq(r.dry_run, false, "dry_run")
	check.eq(r.pool, "web", "pool")
	check.eq(r.before.state, lbm.ENABLED, "before")
	check.eq(r.after.state, lbm.DRAINING, "after")
	check.eq(r.after.name, "a", "after.name")
	-- Adapted for 0.2: warnings are a list (lbm_result.warnings), no longer
	-- the string result.warning.
	check.eq(#r.warnings, 0, "warnings")
	check.eq(r.outcomes[1].waiting, false, "outcome waiting")
	check.eq(r.outcomes[1].cut, 0, "outcome cut")
	check.eq(#r.outcomes, 1, "outcomes")
	check.eq(r.outcomes[1].before, r.before, "before is outcomes[1].before")
	check.eq(r.outcomes[1].changed, true, "outcome changed")
	check.eq(lb:member("web", "a").state, lbm.DRAINING, "read back")

	r = check.ok("drain again", lb:drain("web", "a"))
	check.eq(r.changed, false, "drain twice: changed")
	check.eq(r.after.state, lbm.DRAINING, "drain twice: after")

	r = check.ok("disable", lb:disable("web", "a", { wait = 1 }))
	check.eq(r.before.state, lbm.DRAINING, "disable: before")
	check.eq(r.after.state, lbm.DISABLED, "disable: after")

	r = check.ok("enable", lb:enable("web", "a", { weight = 7, wait = 0.5 }))
	check.eq(r.changed, true, "enable: changed")
	check.eq(r.after.state, lbm.ENABLED, "enable: after")
	check.eq(r.after.weight, 7, "enable: weight")
	r = check.ok("weight only", lb:enable("web", "a", { weight = 1 }))
	check.eq(r.changed, true, "weight change is a change")
	check.eq(r.before.weight, 7, "weight before")
	check.eq(r.after.weight, 1, "weight after")
end)

test("dry run changes nothing", function()
	local lb <close> = open()
	local r = check.ok("dry drain", lb:drain("web", "b", { dry_run = true }))
	check.eq(r.changed, true, "changed")
	check.eq(r.dry_run, true, "dry_run")
	check.eq(r.after.state, lbm.DRAINING, "predicted")
	check.eq(lb:member("web", "b").state, lbm.ENABLED, "still enabled")
	r = check.ok("dry_run false", lb:drain("web", "b", { dry_run = false }))
	check.eq(r.dry_run, false, "dry_run false")
	check.eq(lb:member("web", "b").state, lbm.DRAINING, "drained")
end)

test("every pool holding the member", function()
	local lb <close> = open()
	local r = check.ok("drain(nil, 'a')", lb:drain(nil, "a"))
	check.eq(#r.outcomes, 2, "outcomes")
	check.eq(r.outcomes[1].pool, "web", "outcome 1 pool")
	check.eq(r.outcomes[2].pool, "api", "outcome 2 pool")
	check.eq(r.outcomes[2].after.state, lbm.DRAINING, "outcome 2 after")
	check.eq(r.before, nil, "no top-level before with two outcomes")
	check.eq(r.pool, nil, "no top-level pool with two outcomes")
	check.eq(lb:member("api", "a").state, lbm.DRAINING, "api/a")
	check.eq(#check.ok("enable('-', 'a')", lb:enable("-", "a")).outcomes, 2, "enable in every pool")
end)

test("the min_enabled guard", function()
	local lb <close> = open()
	check.ok("drain api/a", lb:drain("api", "a"))
	check.fails("EGUARD", "^refusing to make 'd' draining: pool 'api' would keep 0 enabled members, "
		.. "fewer than min_enabled 1$", "last member", lb:drain("api", "d"))
	check.eq(lb:member("api", "d").state, lbm.ENABLED, "untouched")
	check.fails("EGUARD", "fewer than min_enabled 3$", "min_enabled 3",
		lb:disable("web", "c", { min_enabled = 3 }))
	check.ok("min_enabled 0", lb:drain("api", "d", { min_enabled = 0 }))
	check.eq(lb:member("api", "d").state, lbm.DRAINING, "drained")
end)

test("change failures", function()
	local lb <close> = open()
	check.fails("EINVAL", "^a weight goes only with enabled", "weight with drain",
		lb:drain("web", "a", { weight = 3 }))
	check.fails("EINVAL", "^weight 65536 is out of range: expected 0 to 65535$", "weight too big",
		lb:enable("web", "a", { weight = 70000 }))
	check.fails("EINVAL", "^wait must be", "infinite wait", lb:drain("web", "a", { wait = math.huge }))
	check.fails("ENOTFOUND", "^pool 'web' has no member 'zz'$", "unknown member", lb:drain("web", "zz"))
	check.fails("ENOTFOUND", "^no pool has a member 'zz'$", "unknown member anywhere", lb:enable(nil, "zz"))
	check.fails("ENOTFOUND", "^Fake: no pool 'nope'$", "unknown pool", lb:disable("nope", "a"))
	check.fails("EINVAL", "^no member given$", "empty member", lb:drain("web", ""))
	check.fails("EINVAL", "^force_after 1 s must be less than the wait %(0 s%)", "force_after without a wait",
		lb:drain("web", "a", { force_after = 1 }))
	check.fails("EINVAL", "^force_after goes with draining or disabling", "force_after with enable",
		lb:enable("web", "a", { wait = 2, force_after = 1 }))
	check.fails("EINVAL", "^force_after must be a positive number of seconds$", "infinite force_after",
		lb:drain("web", "a", { wait = 2, force_after = math.huge }))
	check.fails("EINVAL", "^the reason must be one line of text: it holds a control character$", "reason \\r",
		lb:drain("web", "a", { reason = "a\rb" }))
	check.fails("EINVAL", "^the reason must be one line of text: it holds a NUL byte$", "reason with a NUL",
		lb:disable("web", "a", { reason = "a\0" }))
	check.fails("EINVAL", "^the reason is 256 bytes long: expected at most 255$", "reason of 256 bytes",
		lb:drain("web", "a", { reason = string.rep("é", 128) }))
	check.eq(lb:member("web", "a").state, lbm.ENABLED, "nothing changed")
	-- A reason with enable: done, and the core says it is not kept.
	local r = check.ok("reason with enable", lb:enable("web", "a", { reason = "done" }))
	check.eq(r.warnings[1], "a reason is kept only while a member is out of rotation: enabling clears the record",
		"reason with enable: warned")
end)

test("reason, by, since: recorded in the state directory, cleared by enable", function()
	-- A target of its own: records are per target.
	local target = "fake://rec:a,b,c"
	local lb <close> = check.ok("open", lbm.open(target))
	local t0 = os.time()
	local r = check.ok("drain", lb:drain("rec", "a", { reason = "disk swap", wait = 2, force_after = 1 }))
	check.eq(r.after.reason, "disk swap", "reason")
	check.eq(r.after.by, os.getenv("SUDO_USER"), "by: $SUDO_USER")
	check.match(r.after.since, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", "since")
	check.truthy(r.after.since >= os.date("!%Y-%m-%dT%H:%M:%SZ", t0)
		and r.after.since <= os.date("!%Y-%m-%dT%H:%M:%SZ"), "since is now: " .. r.after.since)
	check.eq(r.outcomes[1].cut, 0, "nothing to cut: the fake has no connections")
	-- Read back from the state directory. (A second handle would be a
	-- second fake balancer, every member enabled: test_haproxy.lua does that.)
	local m = check.ok("member", lb:member("rec", "a"))
	check.eq(m.reason .. "|" .. m.since, "disk swap|" .. r.after.since, "read back")
	check.eq(check.ok("pools", lb:pools())[1].members[1].by, os.getenv("SUDO_USER"), "in pools() too")
	-- Without a reason: recorded all the same, with an empty one.
	r = check.ok("drain b", lb:drain("rec", "b"))
	check.eq(r.after.reason, "", "no reason given")
	check.eq(r.after.by, os.getenv("SUDO_USER"), "by, without a reason")
	r = check.ok("enable", lb:enable("rec", "a"))
	check.eq(r.before.reason, "disk swap", "before the enable")
	check.eq(r.after.reason, nil, "reason cleared")
	check.eq(r.after.since, nil, "since cleared")
	check.eq(lb:member("rec", "a").by, nil, "read back cleared")
	check.eq(check.record("rec", "a").none, "1", "the record's file is gone")
	local rec = check.record("rec", "b")
	check.eq(rec.target .. " " .. rec.state .. " " .. rec.by, target .. " draining " .. os.getenv("SUDO_USER"),
		"b's record's file")
	-- A dry run records nothing.
	check.ok("dry run", lb:disable("rec", "c", { reason = "never", dry_run = true }))
	check.eq(check.record("rec", "c").none, "1", "a dry run's record")
end)

test("change misuse raises", function()
	local lb <close> = open()
	-- Adapted for 0.2: the list of expected options gained progress; issue
	-- 18 force_after and reason.
	check.raises("bad argument #3 to 'drain' %(unknown option 'wiat' %(expected weight, wait, force_after, "
		.. "min_enabled, dry_run, reason, progress%)%)", "typo", function() return lb:drain("web", "a", { wiat = 3 }) end)
	check.raises("option 'reason' must be a string, got number", "reason 5",
		function() return lb:drain("web", "a", { reason = 5 }) end)
	check.raises("option 'force_after' must be a number of seconds, 0 or more, got number", "force_after -1",
		function() return lb:drain("web", "a", { wait = 2, force_after = -1 }) end)
	check.raises("option 'weight' must be an integer, 0 or more, got number", "weight -1",
		function() return lb:enable("web", "a", { weight = -1 }) end)
	check.raises("option 'weight' must be an integer, 0 or more, got number", "weight 1.5",
		function() return lb:enable("web", "a", { weight = 1.5 }) end)
	check.raises("option 'weight' must be an integer, 0 or more, got string", "weight '3'",
		function() return lb:enable("web", "a", { weight = "3" }) end)
	check.raises("option 'min_enabled' must be an integer, 0 or more, got boolean", "min_enabled",
		function() return lb:drain("web", "a", { min_enabled = true }) end)
	check.raises("option 'wait' must be a number of seconds, 0 or more, got number", "wait -1",
		function() return lb:drain("web", "a", { wait = -1 }) end)
	check.raises("option 'dry_run' must be a boolean, got string", "dry_run 'yes'",
		function() return lb:drain("web", "a", { dry_run = "yes" }) end)
	check.raises("option 'progress' must be a function, got table", "progress table",
		function() return lb:drain("web", "a", { progress = {} }) end)
	check.raises("bad argument #3 to 'disable' %(table expected, got number%)", "opts number",
		function() return lb:disable("web", "a", 5) end)
	check.raises("bad argument #2 to 'enable' %(string expected, got no value%)", "no member", function() return lb:enable("web") end)
	check.eq(lb:member("web", "a").state, lbm.ENABLED, "nothing changed")
end)

test("progress: told once the change is read back, and during the wait", function()
	local lb <close> = open()
	local calls = {}
	local function progress(p)
		calls[#calls + 1] = p
	end
	local r = check.ok("drain with progress", lb:drain("web", "a", { progress = progress }))
	check.eq(#calls, 1, "one call without a wait")
	local p = calls[1]
	check.eq(p.waiting, 0, "waiting")
	check.eq(math.type(p.waiting), "integer", "waiting type")
	check.eq(p.waited, 0, "waited")
	check.eq(p.left, 0, "left")
	check.eq(#p.outcomes, 1, "outcomes")
	local o = p.outcomes[1]
	check.eq(o.pool, "web", "pool")
	check.eq(o.result, "applied", "result")
	check.eq(o.changed, true, "changed")
	check.eq(o.waiting, false, "outcome waiting")
	check.eq(o.before.state, lbm.ENABLED, "before")
	check.eq(o.after.state, lbm.DRAINING, "after")
	check.eq(r.after.state, lbm.DRAINING, "the result all the same")

	calls = {}
	check.ok("disable, wait", lb:disable(nil, "a", { wait = 5, progress = progress }))
	check.eq(#calls, 1, "settled at once: one call")
	check.eq(calls[1].waiting, 0, "nothing left")
	check.eq(#calls[1].outcomes, 2, "both pools")
	check.truthy(calls[1].left > 0 and calls[1].left <= 5, "left " .. calls[1].left)

	calls = {}
	check.ok("dry run", lb:enable("web", "a", { dry_run = true, progress = progress }))
	check.eq(#calls, 0, "a dry run makes no change to report")
	check.fails("EGUARD", "min_enabled", "refused", lb:drain("api", "d", { progress = progress }))
	check.eq(#calls, 0, "a refused change makes none either")
end)

test("progress: an error in it is raised once the core returns", function()
	local lb <close> = open()
	local n = 0
	check.raises("test_fake.lua:%d+: boom$", "error in progress", function()
		return lb:drain("web", "a", { wait = 1, progress = function()
			n = n + 1
			error("boom")
		end })
	end)
	check.eq(n, 1, "not called again after its error")
	check.eq(lb:member("web", "a").state, lbm.DRAINING, "the change was made all the same")
	local ok, err = pcall(lb.disable, lb, "web", "a", { progress = function() error({ why = "a table" }) end })
	check.eq(ok, false, "pcall")
	check.eq(type(err) == "table" and err.why, "a table", "the error object as raised")
	check.eq(lb:member("web", "a").state, lbm.DISABLED, "disabled all the same")
	-- The handle is in the core's hands during the call: no re-entry.
	check.raises("attempt to use an lbmember handle from its own progress function", "re-entry", function()
		return lb:enable("web", "a", { progress = function() return lb:member("web", "b") end })
	end)
	check.raises("attempt to use an lbmember handle from its own progress function", "close in progress",
		function() return lb:enable("web", "a", { progress = function() lb:close() end }) end)
	check.raises("attempt to close an lbmember handle from its own progress function", "__close in progress",
		function() return lb:enable("web", "a", { progress = function() getmetatable(lb).__close(lb) end }) end)
	check.eq(tostring(lb):match("closed"), nil, "still open")
	check.eq(check.ok("member", lb:member("web", "a")).state, lbm.ENABLED, "enabled")
	local co = coroutine.wrap(function()
		return lb:drain("web", "a", { progress = function() coroutine.yield(1) end })
	end)
	check.raises("attempt to yield across a C%-call boundary", "yield in progress", co)
	-- Another handle may be used from it (on its own fake balancer).
	local other <close> = open()
	local seen
	check.ok("another handle", lb:enable("web", "a", { progress = function()
		seen = other:drain("web", "a").after.state
	end }))
	check.eq(seen, lbm.DRAINING, "the other handle changes its balancer")
	check.eq(lb:member("web", "a").state, lbm.ENABLED, "and this one is enabled")
end)

test("close, and use after close", function()
	local lb = open()
	check.match(tostring(lb), "^lbmember handle %(0x%x+%)$", "tostring open")
	check.eq(lb:close(), true, "close")
	check.eq(tostring(lb), "lbmember handle (closed)", "tostring closed")
	for _, method in ipairs { "pools", "member", "enable", "drain", "disable", "close" } do
		check.raises("attempt to use a closed lbmember handle", method .. " after close", lb[method], lb, "web", "a")
	end
	local mt = getmetatable(lb)
	check.eq(mt.__gc, mt.__close, "__gc and __close are one function")
	mt.__gc(lb)
	mt.__close(lb)
	mt.__gc(lb)
end)

test("<close> releases the handle at the end of its scope", function()
	local kept
	do
		local lb <close> = open()
		kept = lb
		check.ok("pools", lb:pools())
	end
	check.eq(tostring(kept), "lbmember handle (closed)", "after the block")

	local ok = pcall(function()
		local lb <close> = open()
		kept = lb
		error("boom")
	end)
	check.eq(ok, false, "pcall")
	check.eq(tostring(kept), "lbmember handle (closed)", "after an error")

	do
		local lb <close> = open()
		lb:close() -- closed by hand first, then by the scope: no error
	end
end)

test("garbage collection of many handles", function()
	collectgarbage()
	local base = collectgarbage("count")
	for i = 1, 5000 do
		local lb = open()
		if i % 2 == 0 then
			lb:pools()
		end
		if i % 7 == 0 then
			lb:drain(nil, "a", { dry_run = true })
			lb:member(nil, "a") -- EAMBIGUOUS: its listing is freed too
			pcall(lb.drain, lb, "web", "b", { dry_run = false, progress = error })
		end
		if i % 3 == 0 then
			lb:close()
		end
		if i % 5 == 0 then
			lbm.open("nonsense") -- a failed open leaves nothing behind either
		end
	end
	collectgarbage()
	collectgarbage()
	-- The leak check itself is the ASan/valgrind run of this script.
	check.truthy(collectgarbage("count") - base < 64, "Lua memory back near its start")
end)

run_tests()
