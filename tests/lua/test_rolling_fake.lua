-- SPDX-License-Identifier: MIT
-- examples/rolling_restart.lua as a library, against the fake driver: the
-- order, the --max-out batches, members already out, the failure paths and
-- what each leaves behind; and its command line's usage errors. The real
-- thing under load is test_rolling.py.
local check = require "check"
local lbm = require "lbmember"
local rolling = require "rolling_restart"

local test, run_tests = check.suite()

local function quiet() end

local function states(lb, pool)
	local out = {}
	for _, m in ipairs(assert(lb:pools(pool))[1].members) do
		out[#out + 1] = m.name .. "=" .. m.state
	end
	return table.concat(out, " ")
end

-- An action that records the order and the most members seen out at once.
local function recorder(lb, pool)
	local rec = { order = {}, max_out = 0 }
	rec.action = function(name, handle, m)
		check.eq(handle, lb, "the action gets the handle")
		check.eq(m.name, name, "and the member's table")
		check.eq(lb:member(pool, name).state, lbm.DRAINING, name .. " drained during its action")
		rec.order[#rec.order + 1] = name
		local out = 0
		for _, m in ipairs(assert(lb:pools(pool))[1].members) do
			out = out + (m.state ~= lbm.ENABLED and 1 or 0)
		end
		rec.max_out = math.max(rec.max_out, out)
		return true
	end
	return rec
end

test("one at a time, in pool order, all back", function()
	local lb <close> = assert(lbm.open("fake://web:a,b,c,d"))
	local rec = recorder(lb, "web")
	local summary = check.ok("run", rolling.run { lb = lb, pool = "web", action = rec.action, log = quiet })
	check.eq(table.concat(summary.done, ","), "a,b,c,d", "done")
	check.eq(#summary.skipped, 0, "skipped")
	check.eq(table.concat(rec.order, ","), "a,b,c,d", "order")
	check.eq(rec.max_out, 1, "most out at once")
	check.eq(states(lb, "web"), "a=enabled b=enabled c=enabled d=enabled", "after")
	check.eq(tostring(lb):match("closed"), nil, "a handle passed in stays open")
end)

test("max_out 2 works in pairs", function()
	local lb <close> = assert(lbm.open("fake://web:a,b,c,d,e"))
	local rec = recorder(lb, "web")
	local summary = check.ok("run", rolling.run { lb = lb, pool = "web", action = rec.action, max_out = 2, log = quiet })
	check.eq(#summary.done, 5, "done")
	check.eq(rec.max_out, 2, "most out at once")
end)

test("members already out are skipped and count against max_out", function()
	local lb <close> = assert(lbm.open("fake://web:a,b,c,d"))
	check.ok("drain b", lb:drain("web", "b"))
	local rec = recorder(lb, "web")
	check.fails("EGUARD", "^pool 'web' already has 1 member%(s%) out of rotation %(b%): max_out 1 leaves no room$",
		"no room", rolling.run { lb = lb, pool = "web", action = rec.action, log = quiet })
	check.eq(#rec.order, 0, "nothing done")
	local summary = check.ok("max_out 2", rolling.run { lb = lb, pool = "web", action = rec.action, max_out = 2, log = quiet })
	check.eq(table.concat(summary.done, ","), "a,c,d", "done")
	check.eq(table.concat(summary.skipped, ","), "b", "skipped")
	check.eq(rec.max_out, 2, "most out at once, b included")
	check.eq(states(lb, "web"), "a=enabled b=draining c=enabled d=enabled", "b left as it was")
end)

test("a failed action stops the roll: only that member stays out", function()
	local lb <close> = assert(lbm.open("fake://web:a,b,c,d"))
	local seen = {}
	local function action(name)
		seen[#seen + 1] = name
		if name == "b" then
			return nil, "b would not start"
		end
		return true
	end
	check.fails("EACTION", "^b: action failed, left out of rotation: b would not start$", "failure",
		rolling.run { lb = lb, pool = "web", action = action, log = quiet })
	check.eq(table.concat(seen, ","), "a,b", "c and d never reached")
	check.eq(states(lb, "web"), "a=enabled b=draining c=enabled d=enabled", "after")

	-- In a batch of two, the other member goes back in rotation.
	check.ok("enable b", lb:enable("web", "b"))
	seen = {}
	check.fails("EACTION", "^a: action failed", "failure in a batch",
		rolling.run { lb = lb, pool = "web", action = function(name)
			seen[#seen + 1] = name
			return name ~= "a"
		end, max_out = 2, log = quiet })
	check.eq(table.concat(seen, ","), "a", "b's action never ran")
	check.eq(states(lb, "web"), "a=draining b=enabled c=enabled d=enabled", "after a failure in a batch")
end)

test("the core's guard stops the roll before anything is touched", function()
	local lb <close> = assert(lbm.open("fake://web:a,b"))
	local ran = false
	check.fails("EGUARD", "^b: drain failed: refusing to make 'b' draining", "guard",
		rolling.run { lb = lb, pool = "web", max_out = 2, min_enabled = 1, log = quiet,
			action = function() ran = true return true end })
	check.eq(ran, false, "no action")
	check.eq(states(lb, "web"), "a=enabled b=enabled", "a drained, then put back")
end)

test("open failures and unknown pools", function()
	check.fails("EINVAL", "^target 'nonsense'", "bad target",
		rolling.run { target = "nonsense", pool = "web", action = function() return true end, log = quiet })
	check.fails("ENOTFOUND", "nope", "unknown pool",
		rolling.run { target = "fake://web:a", pool = "nope", action = function() return true end, log = quiet })
	check.raises("max_out must be an integer >= 1", "max_out 0", rolling.run,
		{ target = "fake://web:a", pool = "web", action = print, max_out = 0 })
	check.raises("action must be a function", "no action", rolling.run, { target = "fake://web:a", pool = "web" })
end)

test("dry run changes nothing and runs nothing", function()
	local lb <close> = assert(lbm.open("fake://web:a,b,c"))
	local lines = {}
	local summary = check.ok("dry run", rolling.run { lb = lb, pool = "web", dry_run = true,
		log = function(l) lines[#lines + 1] = l end })
	check.eq(#summary.done, 3, "planned")
	check.match(table.concat(lines, "\n"), "a: would drain\na: would run the action", "log")
	check.eq(states(lb, "web"), "a=enabled b=enabled c=enabled", "untouched")
end)

test("the command for a member", function()
	local m = { name = "/Common/192.0.2.10:80", address = "192.0.2.10", port = 80 }
	check.eq(rolling.command_for({ "ssh", "%a", "echo 100%% it's %m on %p; %x" }, m),
		"'ssh' '192.0.2.10' 'echo 100% it'\\''s /Common/192.0.2.10:80 on 80; %x'", "quoting, %m, %a, %p")
end)

test("the command line", function()
	local lua = assert(os.getenv("LBM_LUA"))
	local script = os.getenv("LBM_SRC") .. "/examples/rolling_restart.lua"
	local function run(args)
		local f = assert(io.popen(string.format("%s %s %s 2>&1", lua, script, args)))
		local out = f:read("a")
		local _, _, code = f:close()
		return code, out
	end
	local code, out = run("--help")
	check.eq(code, 0, "--help exit")
	check.match(out, "^usage: rolling_restart.lua %[OPTIONS%] TARGET POOL %-%- COMMAND", "--help")
	-- lbm.open's options come from the core's table, its help texts too.
	for _, want in ipairs { "\n  %-%-timeout SECONDS  Bound on each exchange with the balancer %(default: 5%)\n",
		"\n  %-%-login%-provider NAME\n", "\n  %-%-ca%-file FILE, %-%-ca%-path\n", "\n  %-%-basic%-auth ",
		"\n  %-%-state%-dir DIR ", "\n  %(password: never on the command line; " } do
		check.match(out, want, "--help")
	end
	for args, msg in pairs {
		["fake://web:a"] = "expected TARGET POOL, got 1 argument",
		["fake://web:a web"] = "no command: give it after '%-%-'",
		["--wait soon fake://web:a web -- true"] = "%-%-wait needs a number of seconds, 0 or more, got 'soon'",
		["--max-out 0 fake://web:a web -- true"] = "%-%-max%-out must be 1 or more",
		["--max-out 1.5 fake://web:a web -- true"] = "%-%-max%-out needs an integer, 0 or more, got '1.5'",
		["--bogus fake://web:a web -- true"] = "unknown option '%-%-bogus'",
		["fake://web:a web --wait"] = "%-%-wait needs a value",
		["--timeout 0 fake://web:a web -- true"] = "%-%-timeout needs a number of seconds above 0, got '0'",
		-- A secret is never taken from a command line.
		["--password pw fake://web:a web -- true"] = "unknown option '%-%-password'",
	} do
		code, out = run(args)
		check.eq(code, 2, args .. ": exit")
		check.match(out, "^rolling_restart: " .. msg, args)
	end
	code, out = run("fake://web:a,b web -- sh -c 'test %m = a'")
	check.eq(code, 1, "failing command: exit")
	check.match(out, "\nrolling_restart: b: action failed, left out of rotation: .* %(exit status 1%) %[EACTION%]\n$",
		"failing command")
	code, out = run("--timeout 2.5 --ca-path /x --basic-auth --login-provider tmos --user u --state-dir /tmp "
		.. "--insecure fake://web:a,b web -- true")
	check.eq(code, 0, "every option of lbm.open: exit " .. out)
	code, out = run("fake://web:a@127.0.0.2:8080,b web -- test %m:%a:%p = a:127.0.0.2:8080 -o %m = b")
	check.eq(code, 0, "exit")
	check.match(out, "done: 2 member%(s%) restarted\n$", "done")
end)

run_tests()
