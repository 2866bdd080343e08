-- SPDX-License-Identifier: MIT
-- The module against a real HAProxy started by run.py (web: s1 s2 s3, api:
-- s1 a2, trk: t1 and t2 tracking t1, health checks on, one connection held on web/s3 until LBM_CTL/release
-- exists). Every change is confirmed by an independent witness: `show stat`
-- and `show servers state` read with plain sockets by witness.py, and
-- lbmember's records read as files ($LBM_RECORDS).
local check = require "check"
local lbm = require "lbmember"

local TARGET = assert(os.getenv("LBM_TARGET"), "LBM_TARGET")

local function witness(backend, server)
	return check.keyvalues(os.getenv("LBM_WITNESS") .. " " .. backend .. " " .. server,
		"witness for " .. backend .. "/" .. server)
end

local function status(backend, server)
	return witness(backend, server).status
end

-- The times from t0 to now, as lbmember writes them (ISO 8601, UTC).
local function since_now(t0)
	local t = {}
	for s = t0, os.time() do
		t[os.date("!%Y-%m-%dT%H:%M:%SZ", s)] = true
	end
	return t
end

-- A connection held on web/NAME by run.py, until the end of the script.
local function hold(name)
	local ctl = os.getenv("LBM_CTL")
	assert(io.open(ctl .. "/hold-" .. name, "w")):close()
	for _ = 1, 200 do
		local f = io.open(ctl .. "/held-" .. name)
		if f then
			f:close()
			return
		end
		witness("web", name) -- a pause, of a Python start-up
	end
	error("run.py did not hold a connection on web/" .. name)
end

local function open(target)
	local what = type(target) == "table" and table.concat(target, ",") or target or TARGET
	return check.ok("open " .. what, lbm.open(target or TARGET, { timeout = 5 }))
end

local test, run_tests = check.suite()

test("pools over the unix and the TCP socket", function()
	for _, target in ipairs { TARGET, os.getenv("LBM_TARGET_TCP") } do
		local lb <close> = open(target)
		local pools = check.ok("pools", lb:pools())
		check.eq(#pools, 3, "pools")
		check.eq(pools[1].name, "web", "pool 1")
		check.eq(pools[2].name, "api", "pool 2")
		check.eq(#pools[1].members, 3, "web members")
		check.eq(#pools[2].members, 2, "api members")
		for _, p in ipairs { pools[1], pools[2] } do
			for _, m in ipairs(p.members) do
				local w = witness(p.name, m.name)
				local what = p.name .. "/" .. m.name
				check.eq(m.address, w.addr, what .. " address")
				check.eq(tostring(m.port), w.port, what .. " port")
				check.eq(m.state, lbm.ENABLED, what .. " state")
				check.eq(m.health, "up", what .. " health")
				check.eq(tostring(m.weight), w.weight, what .. " weight")
				check.eq(tostring(m.active), w.scur, what .. " active")
				check.eq(m.status, "UP", what .. " status")
				check.eq(m.inactive, nil, what .. " inactive (HAProxy has none)")
				check.eq(m.held, nil, what .. " held")
			end
		end
		check.eq(pools[1].members[3].active, 1, "the connection held on web/s3")
	end
end)

test("pools of one backend, member lookups", function()
	local lb <close> = open()
	local pools = check.ok("pools('api')", lb:pools("api"))
	check.eq(#pools, 1, "one pool")
	local two = check.ok("pools{trk, api}", lb:pools({ "trk", "api" }))
	check.eq(#two .. " " .. two[1].name .. " " .. two[2].name, "2 trk api", "two backends, in that order")
	check.eq(two[1].members[2].follows, "trk/t1", "t2 follows t1")
	check.eq(two[1].members[1].agent, false, "no agent check")
	check.fails("ENOTFOUND", "nope", "one unknown backend of two", lb:pools({ "web", "nope" }))
	check.eq(pools[1].members[2].name, "a2", "api member 2")
	check.fails("ENOTFOUND", "nope", "unknown backend", lb:pools("nope"))
	local m = check.ok("member", lb:member("web", "s2"))
	check.eq(m.name, "s2", "name")
	check.eq(m.address, "127.0.0.3", "address")
	local w = witness("web", "s2")
	check.eq(check.ok("by address", lb:member("web", w.addr .. ":" .. w.port)).name, "s2", "by address")
	check.eq(check.ok("in any pool", lb:member(nil, "a2")).name, "a2", "member(nil, 'a2')")
	-- Adapted for 0.2: an ambiguous name has its own code, EAMBIGUOUS (was EINVAL).
	check.fails("EAMBIGUOUS", "^member 's1' is in several pools %(web, api%): name the pool$", "ambiguous",
		lb:member(nil, "s1"))
	check.fails("ENOTFOUND", "^pool 'web' has no member 'nope'$", "unknown server", lb:member("web", "nope"))
	check.fails("ENOTFOUND", "nope", "unknown backend", lb:member("nope", "s1"))
end)

test("drain, disable, enable, as HAProxy sees it", function()
	local lb <close> = open()
	local r = check.ok("drain", lb:drain("web", "s1"))
	check.eq(r.changed, true, "drain changed")
	check.eq(r.before.state, lbm.ENABLED, "before")
	check.eq(r.after.state, lbm.DRAINING, "after")
	check.eq(status("web", "s1"), "DRAIN", "witness after drain")
	check.eq(status("api", "s1"), "UP", "api/s1 is another server")
	check.eq(check.ok("drain again", lb:drain("web", "s1")).changed, false, "drain twice")

	r = check.ok("disable", lb:disable("web", "s1"))
	check.eq(r.after.state, lbm.DISABLED, "after disable")
	check.eq(status("web", "s1"), "MAINT", "witness after disable")
	check.eq(lb:member("web", "s1").state, lbm.DISABLED, "read back")

	r = check.ok("enable", lb:enable("web", "s1", { wait = 10 }))
	check.eq(r.after.state, lbm.ENABLED, "after enable")
	check.eq(r.after.health, "up", "health after the wait")
	check.eq(status("web", "s1"), "UP", "witness after enable")
end)

test("dry run touches nothing", function()
	local lb <close> = open()
	local r = check.ok("dry drain", lb:drain("web", "s2", { dry_run = true }))
	check.eq(r.dry_run, true, "dry_run")
	check.eq(r.changed, true, "would change")
	check.eq(r.after.state, lbm.DRAINING, "predicted")
	check.eq(status("web", "s2"), "UP", "witness")
end)

test("weights", function()
	local lb <close> = open()
	local r = check.ok("enable weight 20", lb:enable("web", "s2", { weight = 20 }))
	check.eq(r.changed, true, "changed")
	check.eq(r.after.weight, 20, "after weight")
	check.eq(witness("web", "s2").weight, "20", "witness weight")
	-- Refused before anything is touched, as the guard refuses: no result.
	local partial = check.fails("EINVAL", "^HAProxy: weight 300 is out of range", "weight 300",
		lb:enable("web", "s2", { weight = 300 }))
	check.eq(partial, nil, "no result for a change refused before anything was touched")
	check.fails("EINVAL", "^HAProxy: weight 300 is out of range", "weight 300, dry run",
		lb:enable("web", "s2", { weight = 300, dry_run = true }))
	check.eq(witness("web", "s2").weight, "20", "witness weight unchanged")
	check.ok("weight back", lb:enable("web", "s2", { weight = 1 }))
	check.eq(witness("web", "s2").weight, "1", "witness weight back")
end)

test("the min_enabled guard touches nothing", function()
	local lb <close> = open()
	check.fails("EGUARD", "^refusing to make 's2' draining: pool 'web' would keep 2 enabled members, "
		.. "fewer than min_enabled 3$", "guard", lb:drain("web", "s2", { min_enabled = 3 }))
	check.eq(status("web", "s2"), "UP", "witness")
	check.ok("drain api/a2", lb:drain("api", "a2"))
	check.fails("EGUARD", "would keep 0 enabled members", "last server of api", lb:disable("api", "s1"))
	check.eq(status("api", "s1"), "UP", "witness api/s1")
	check.ok("enable api/a2", lb:enable("api", "a2"))
end)

test("a reload keeps a change only with a state file: state_file, save_state", function()
	local path = os.getenv("LBM_CTL") .. "/server-state"
	local plain <close> = open()
	local r = check.ok("drain api/a2", plain:drain("api", "a2"))
	local said = false
	for _, w in ipairs(r.warnings) do
		said = said or w:find("forgets this at its next reload", 1, true) ~= nil
	end
	check.truthy(said, "no reload warning without a state file")
	check.ok("enable api/a2", plain:enable("api", "a2"))
	local lb <close> = check.ok("open with state_file", lbm.open(TARGET, { timeout = 5, state_file = path }))
	r = check.ok("drain api/a2 with a state file", lb:drain("api", "a2"))
	check.eq(#r.warnings, 0, "warnings with a state file")
	local f = assert(io.open(path))
	local text = f:read("a")
	f:close()
	check.match(text, "^1\n# be_id ", "state file")
	check.match(text, "\n%d+ api %d+ a2 [^\n]* 8 ", "a2 drained (admin state 8) in the state file")
	check.ok("enable api/a2", lb:enable("api", "a2"))
	check.eq(check.ok("save_state", plain:save_state(path .. ".saved")), true, "save_state")
	check.fails("EINVAL", "is not an absolute path", "relative path", plain:save_state("relative"))
	check.fails("EINVAL", "state file given twice", "twice",
		lbm.open(TARGET .. "?state-file=" .. path, { state_file = path .. "2" }))
end)

test("waiting for connections: ETIMEDOUT, then done once they close", function()
	local lb <close> = open()
	local calls = {}
	local partial = check.fails("ETIMEDOUT", "^web/s3: still not settled after waiting 0.5 s: 1 active connection left$",
		"held connection", lb:drain("web", "s3", { wait = 0.5, progress = function(p)
			calls[#calls + 1] = p
		end }))
	check.truthy(#calls >= 2, "progress calls during the wait: " .. #calls)
	for i, p in ipairs(calls) do
		check.eq(p.waiting, 1, "call " .. i .. ": waiting")
		check.eq(p.outcomes[1].waiting, true, "call " .. i .. ": the outcome waits")
		check.eq(p.outcomes[1].after.active, 1, "call " .. i .. ": active")
	end
	check.eq(calls[#calls].left, 0, "the last call: nothing left")
	check.truthy(calls[#calls].waited >= 0.5, "the last call: waited " .. calls[#calls].waited)
	check.truthy(partial, "partial result")
	check.eq(partial.outcomes[1].waiting, true, "partial: still waiting")
	check.eq(partial.changed, true, "partial: changed")
	check.eq(partial.after.state, lbm.DRAINING, "partial: drained all the same")
	check.eq(partial.after.active, 1, "partial: active")
	local w = witness("web", "s3")
	check.eq(w.status, "DRAIN", "witness status")
	check.eq(w.scur, "1", "witness scur")

	-- The connection is released from the progress function, on its first
	-- call, so that the wait is seen both waiting and settled.
	calls = {}
	local r = check.ok("wait again", lb:drain("web", "s3", { wait = 10, progress = function(p)
		if #calls == 0 then
			assert(io.open(os.getenv("LBM_CTL") .. "/release", "w")):close()
		end
		calls[#calls + 1] = { waiting = p.waiting, active = p.outcomes[1].after.active, left = p.left }
	end }))
	check.eq(calls[1].waiting, 1, "first call: waiting")
	check.eq(calls[1].active, 1, "first call: active")
	check.truthy(#calls >= 2, "calls: " .. #calls)
	for i = 2, #calls - 1 do
		check.eq(calls[i].waiting, 1, "call " .. i .. ": still waiting")
	end
	check.eq(calls[#calls].waiting, 0, "last call: settled")
	check.eq(calls[#calls].active, 0, "last call: no connection")
	check.truthy(calls[#calls].left > 0, "last call: time left")
	check.eq(r.outcomes[1].waiting, false, "the result: settled")
	check.eq(r.changed, false, "already draining")
	check.eq(r.after.active, 0, "no connection left")
	check.eq(witness("web", "s3").scur, "0", "witness scur")
	check.ok("enable s3", lb:enable("web", "s3", { wait = 10 }))
	check.eq(status("web", "s3"), "UP", "witness")
end)

test("every backend holding the server", function()
	local lb <close> = open()
	local r = check.ok("drain(nil, 's1')", lb:drain(nil, "s1"))
	check.eq(#r.outcomes, 2, "outcomes")
	check.eq(r.outcomes[1].pool .. "," .. r.outcomes[2].pool, "web,api", "pools")
	check.eq(status("web", "s1"), "DRAIN", "witness web")
	check.eq(status("api", "s1"), "DRAIN", "witness api")
	r = check.ok("enable('-', 's1')", lb:enable("-", "s1", { wait = 10 }))
	check.eq(r.outcomes[2].after.state, lbm.ENABLED, "api/s1 after")
	check.eq(status("web", "s1"), "UP", "witness web")
	check.eq(status("api", "s1"), "UP", "witness api")
end)

test("a server held out by the one it tracks: EHELD", function()
	local lb <close> = open()
	check.ok("disable t1", lb:disable("trk", "t1", { min_enabled = 0 }))
	check.match(status("trk", "t2"), "^MAINT %(via trk/t1%)", "witness t2")
	local m = check.ok("member t2", lb:member("trk", "t2"))
	check.eq(m.state, lbm.DISABLED, "t2 state")
	check.match(m.held, "trk/t1", "t2 held")
	local partial = check.fails("EHELD", "^trk/t2: asked for enabled, but it stays disabled: .*trk/t1",
		"enable t2", lb:enable("trk", "t2"))
	check.eq(partial and partial.after.state, lbm.DISABLED, "partial: still disabled")
	check.ok("enable t1", lb:enable("trk", "t1", { wait = 10 }))
	check.eq(check.ok("member t2", lb:member("trk", "t2")).held, nil, "t2 no longer held")
	check.ok("t2 back", lb:enable("trk", "t2", { wait = 10 }))
	check.eq(status("trk", "t2"), "UP", "witness t2")
end)

test("a socket without admin level: EPERM", function()
	local lb <close> = open(os.getenv("LBM_TARGET_USER"))
	check.fails("EPERM", "^HAProxy: web/s1: Permission denied: .*level admin", "drain at level user",
		lb:drain("web", "s1"))
	check.eq(status("web", "s1"), "UP", "witness")
end)

test("lbm.open{t1, t2}: one handle over an HA pair, undone together", function()
	local peer, operator = os.getenv("LBM_PEER"), os.getenv("LBM_PEER_OPERATOR")
	local lb <close> = open { TARGET, peer }
	local pools = check.ok("pools", lb:pools("web"))
	check.eq(#pools, 2, "a pool per balancer")
	check.eq(pools[1].balancer, TARGET, "pool 1 names its balancer")
	check.eq(pools[2].balancer, peer, "pool 2 names its balancer")
	local r = check.ok("drain through both", lb:drain("web", "s1"))
	check.eq(#r.outcomes, 2, "an outcome per balancer")
	check.eq(r.outcomes[1].balancer .. " " .. r.outcomes[1].result, TARGET .. " applied", "outcome 1")
	check.eq(r.outcomes[2].balancer .. " " .. r.outcomes[2].after.state, peer .. " draining", "outcome 2")
	check.eq(status("web", "s1"), "DRAIN", "witness")
	local members = check.ok("member", lb:member("web", "s1"))
	check.eq(#members, 2, "the member on each balancer")
	check.eq(members[2].balancer .. " " .. members[2].state, peer .. " draining", "member on the peer")
	check.ok("enable through both", lb:enable("web", "s1"))
	check.eq(check.ok("member", lb:member("web", "s1"))[2].state, lbm.ENABLED, "enabled on the peer")
	-- The peer refuses (level operator may not drain): the first is put back.
	local refusing <close> = open { TARGET, operator }
	local partial = check.fails("EPERM", "^" .. operator:gsub("%p", "%%%0") .. ": HAProxy: web/s2: .*; put back as it was on ",
		"drain where the peer refuses", refusing:drain("web", "s2"))
	check.eq(partial.outcomes[1].result, "undone", "the first balancer's change undone")
	check.eq(partial.outcomes[1].after.state, lbm.ENABLED, "undone: as it was")
	check.eq(partial.outcomes[2].result, "not_applied", "the peer refused")
	check.eq(status("web", "s2"), "UP", "witness: back as it was")
	check.raises("target 2 is a number, expected a string", "a number in the list", lbm.open, { TARGET, 5 })
	check.raises("expected a target, or a list of targets", "an empty list", lbm.open, {})
end)

local REASON = "kernel update, CHG-1234"

test("reason, by and since: recorded, read back, kept, cleared by enable", function()
	local lb <close> = open()
	local t0 = os.time()
	local r = check.ok("drain with a reason", lb:drain("web", "s2", { reason = REASON }))
	check.eq(r.before.reason, nil, "before: no reason")
	check.eq(r.before.by, nil, "before: by nobody")
	check.eq(r.before.since, nil, "before: no since")
	check.eq(r.after.reason, REASON, "after: reason")
	check.eq(r.after.by, "lbm-operator", "after: by ($SUDO_USER)")
	check.truthy(since_now(t0)[r.after.since], "after: since " .. tostring(r.after.since))
	check.eq(status("web", "s2"), "DRAIN", "witness")
	local rec = check.record("web", "s2")
	check.eq(rec.reason .. "|" .. rec.by .. "|" .. rec.state .. "|" .. rec.target,
		REASON .. "|lbm-operator|draining|" .. TARGET, "the record's file")
	check.eq(os.date("!%Y-%m-%dT%H:%M:%SZ", tonumber(rec.since)), r.after.since, "the record's time")

	-- Another handle reads it back, through member() and pools().
	local other <close> = open()
	local m = check.ok("member", other:member("web", "s2"))
	check.eq(m.reason .. "|" .. m.by .. "|" .. m.since, REASON .. "|lbm-operator|" .. r.after.since, "member()")
	check.eq(check.ok("pools", other:pools("web"))[1].members[2].reason, REASON, "pools()")
	check.eq(check.ok("member s1", other:member("web", "s1")).reason, nil, "a member in rotation has none")

	-- Disabling without a new reason keeps the reason and the time.
	r = check.ok("disable", lb:disable("web", "s2"))
	check.eq(r.before.reason, REASON, "disable: before")
	check.eq(r.after.reason .. "|" .. r.after.since, REASON .. "|" .. m.since, "disable: kept")
	check.eq(status("web", "s2"), "MAINT", "witness after disable")

	r = check.ok("enable", lb:enable("web", "s2", { wait = 10 }))
	check.eq(r.before.reason, REASON, "enable: before")
	check.eq(r.after.reason, nil, "enable: reason cleared")
	check.eq(r.after.by, nil, "enable: by cleared")
	check.eq(r.after.since, nil, "enable: since cleared")
	check.eq(other:member("web", "s2").reason, nil, "read back after enable")
	check.eq(check.record("web", "s2").none, "1", "the record's file is gone")
	check.eq(status("web", "s2"), "UP", "witness after enable")
end)

test("a reason lbmember cannot take or record: nil, message, code; nothing touched", function()
	local lb <close> = open()
	check.fails("EINVAL", "^the reason must be one line of text: it holds a control character$", "two lines",
		lb:drain("web", "s2", { reason = "one\ntwo" }))
	check.fails("EINVAL", "^the reason must be one line of text: it holds a NUL byte$", "a NUL",
		lb:drain("web", "s2", { reason = "one\0two" }))
	check.fails("EINVAL", "^the reason is 256 bytes long: expected at most 255$", "too long",
		lb:drain("web", "s2", { reason = string.rep("x", 256) }))
	check.raises("option 'reason' must be a string, got number", "a number",
		function() return lb:drain("web", "s2", { reason = 5 }) end)
	local blocked <close> = check.ok("open", lbm.open(TARGET, { state_dir = "/dev/null/lbm-state" }))
	check.fails("EIO", "^cannot record the reason, so nothing was changed: ", "no state directory",
		blocked:drain("web", "s2", { reason = REASON }))
	check.eq(status("web", "s2"), "UP", "witness: untouched")
	check.eq(check.record("web", "s2").none, "1", "no record")
end)

test("force_after: what outstays it is cut, the drain settles", function()
	hold("s1")
	check.eq(witness("web", "s1").scur, "1", "the held connection")
	local lb <close> = open()
	local cut_seen = 0
	local t0 = os.time()
	local r = check.ok("drain, force after 1 s", lb:drain("web", "s1", { wait = 10, force_after = 1,
		reason = "stuck client", progress = function(p)
			cut_seen = math.max(cut_seen, p.outcomes[1].cut)
		end }))
	check.truthy(os.time() - t0 < 8, "settled long before the wait's end: " .. os.time() - t0 .. " s")
	check.eq(r.outcomes[1].cut, 1, "cut")
	check.eq(math.type(r.outcomes[1].cut), "integer", "cut is an integer")
	check.eq(cut_seen, 1, "progress saw the cut")
	check.eq(r.outcomes[1].waiting, false, "settled")
	check.eq(r.after.active, 0, "no connection left")
	local w = witness("web", "s1")
	check.eq(w.status .. " " .. w.scur, "DRAIN 0", "witness")
	check.eq(check.ok("member", lb:member("web", "s1")).reason, "stuck client", "the reason of a drain that cut")

	check.fails("EINVAL", "^force_after 1 s must be less than the wait %(0 s%)", "without a wait",
		lb:disable("web", "s1", { force_after = 1 }))
	check.fails("EINVAL", "^force_after 5 s must be less than the wait %(5 s%)", "not below the wait",
		lb:disable("web", "s1", { wait = 5, force_after = 5 }))
	check.fails("EINVAL", "^force_after goes with draining or disabling: it cuts connections$", "with enable",
		lb:enable("web", "s1", { wait = 5, force_after = 1 }))
	check.raises("option 'force_after' must be a number of seconds, 0 or more, got string", "a string",
		function() return lb:drain("web", "s1", { wait = 5, force_after = "1" }) end)
	check.eq(status("web", "s1"), "DRAIN", "witness: untouched")
	check.ok("enable s1", lb:enable("web", "s1", { wait = 10 }))
	check.eq(status("web", "s1"), "UP", "witness after enable")
end)

test("no HAProxy there: EIO", function()
	for _, target in ipairs { "haproxy:///nonexistent/admin.sock", "haproxy://127.0.0.1:1" } do
		local lb, msg, code = lbm.open(target, { timeout = 2 })
		if lb then
			msg = check.fails("EIO", "^HAProxy: ", target, lb:pools())
			lb:close()
		else
			check.eq(code, "EIO", target .. ": " .. tostring(msg))
		end
	end
end)

test("a socket path that cannot be a socket fails at open, as io.open does", function()
	local lb, msg, code = lbm.open("haproxy:///wrong/path")
	check.eq(lb, nil, "handle for /wrong/path")
	check.eq(code, "EIO", "code")
	check.match(msg, "^HAProxy: no socket at /wrong/path: is HAProxy running with 'stats socket /wrong/path level admin'%?$",
		"message")
	local file = os.tmpname()
	lb, msg, code = lbm.open("haproxy://" .. file)
	os.remove(file)
	check.eq(lb, nil, "handle for a plain file")
	check.eq(code, "EINVAL", "code for a plain file: " .. tostring(msg))
	check.match(msg, "is not a socket: expected the path of HAProxy's 'stats socket'$", "message")
end)

test("close, <close> and garbage collection of many handles", function()
	local kept
	do
		local lb <close> = open()
		kept = lb
		check.ok("member", lb:member("web", "s1"))
	end
	check.eq(tostring(kept), "lbmember handle (closed)", "after the block")
	check.raises("attempt to use a closed lbmember handle", "use after close", function()
		return kept:pools()
	end)
	for i = 1, 300 do
		local lb = open()
		check.ok("member", lb:member("web", "s" .. (i % 3 + 1)))
		if i % 2 == 0 then
			lb:close()
		end
	end
	collectgarbage()
	collectgarbage()
end)

test("everything back as it was", function()
	for _, s in ipairs { { "web", "s1" }, { "web", "s2" }, { "web", "s3" }, { "api", "s1" }, { "api", "a2" } } do
		local w = witness(s[1], s[2])
		check.eq(w.status, "UP", s[1] .. "/" .. s[2] .. " status")
		check.eq(w.weight, "1", s[1] .. "/" .. s[2] .. " weight")
	end
end)

run_tests()
