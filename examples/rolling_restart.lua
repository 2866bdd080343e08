-- SPDX-License-Identifier: MIT
--[[
Rolling restart of a load-balancer pool, with the lbmember Lua module.

For each member of the pool in turn: drain it, wait for its connections to
finish, run a command (or a Lua function) for it, enable it, and wait until
its health check says it is up. Stops at the first failure; the members not
reached yet are left untouched; a member whose drain or wait failed is put
back in rotation (nothing was done to it), one whose command failed stays
out, for a human to look at. Never more than --max-out members are out of
rotation at once, counting those that were already out when it started
(which it skips and leaves as they are); the core's min_enabled guard is
there as well.

As a script:

  lua5.4 rolling_restart.lua [OPTIONS] TARGET POOL -- COMMAND [ARG...]

  In COMMAND's arguments %m is replaced by the member's name, %a by its
  address, %p by its port (%% gives %): on F5 and LVS the name is
  "/Common/ADDR:PORT" or "ADDR:PORT", so ssh wants %a.
  Example:
    lua5.4 rolling_restart.lua haproxy:///run/haproxy/admin.sock web \
      --max-out 1 --wait 120 -- ssh %m.example.org sudo systemctl restart app
  Through an HA pair, TARGET lists both balancers (TARGET,TARGET): each
  member is drained on both, waited for on both, and enabled on both.

As a library (LUA_PATH must find this file):

  local rolling = require "rolling_restart"
  local summary, err, code = rolling.run {
    target = "haproxy:///run/haproxy/admin.sock",   -- or lb = an open handle;
    -- an HA pair: { "haproxy:///run/lb1.sock", "haproxy://192.0.2.2:9999" }
    pool = "web",
    -- name: the member's name; m: its table from lb:member() (address...)
    action = function(name, lb, m) ... return true end, -- or nil, "why"
    max_out = 1, wait = 120,
  }
  -- summary.done and summary.skipped list member names; on failure
  -- summary is nil, err says what failed and code is an lbmember code name
  -- ("ETIMEDOUT", "EGUARD"...) or "EACTION" when the action failed.
]]

local lbm = require "lbmember"

local M = {}

-- The options of lbm.open come from the core's table (lbm.options), so that
-- this script offers every one of them, with the core's help texts.
local USAGE_HEAD = [[
usage: rolling_restart.lua [OPTIONS] TARGET POOL -- COMMAND [ARG...]

Drains each member of POOL on TARGET in turn, waits for its connections to
finish, runs COMMAND (with %m replaced by the member's name, %a by its
address, %p by its port), enables it and waits until it is healthy. Stops
at the first failure, leaving the rest untouched.

options:
  --max-out N        at most N members out of rotation at once (default 1)
  --wait S           seconds to wait for connections to finish after a drain,
                     and for health after an enable (default 60)
  --min-enabled N    refuse to drain when fewer than N members would stay
                     enabled (default 1)
  --dry-run          check and print the plan; change nothing, run nothing
  -h, --help         this help
options of the balancer:]]
local USAGE_TAIL = "exit status: 0 done, 1 a step failed, 2 usage error"

local function flag_of(name)
	return "--" .. name:gsub("_", "-")
end

-- "  --ca-file FILE     CA bundle ... (f5; default: ...)", wrapped at 78 columns.
local function option_usage(o)
	local head = flag_of(o.name) .. (o.value and " " .. o.value or "")
	if o.alias then
		head = head .. ", " .. flag_of(o.alias)
	end
	local notes = {}
	notes[#notes + 1] = o.schemes
	notes[#notes + 1] = o.fallback and "default: " .. o.fallback
	local text = o.help:gsub("%.$", "") .. (#notes > 0 and " (" .. table.concat(notes, "; ") .. ")" or "")
	local lines, line = {}, string.format("  %-18s", head)
	if #line > 20 then
		lines[1], line = line, string.rep(" ", 20)
	end
	for word in text:gmatch("%S+") do
		if #line + 1 + #word > 78 and line:find("%S") and #line > 20 then
			lines[#lines + 1], line = line, string.rep(" ", 20)
		end
		line = line .. " " .. word
	end
	lines[#lines + 1] = line
	return table.concat(lines, "\n")
end

local function usage()
	local out = { USAGE_HEAD }
	for _, o in ipairs(lbm.options) do
		if o.type == "secret" then
			out[#out + 1] = string.format("  (%s: never on the command line; %s)", o.name, o.fallback or "no default")
		else
			out[#out + 1] = option_usage(o)
		end
	end
	out[#out + 1] = USAGE_TAIL
	return table.concat(out, "\n")
end

local function default_log(msg)
	io.stdout:write(os.date("!%H:%M:%S "), msg, "\n")
	io.stdout:flush()
end

-- Puts the members of a failed batch that were drained but not worked on
-- back in rotation: nothing was done to them.
local function restore(lb, o, names)
	for _, name in ipairs(names) do
		local r, err = lb:enable(o.pool, name)
		if r then
			o.log(name .. ": enabled again (it was not restarted)")
		else
			o.log(name .. ": could not be enabled again: " .. err)
		end
	end
end

-- Says now and then what a wait is waiting for.
local function wait_log(o, name)
	local said = -math.huge
	return function(p)
		if p.waiting > 0 and p.waited - said >= 10 then
			said = p.waited
			local a = p.outcomes[1].after
			local what = a.state == lbm.ENABLED and "health, " .. a.health .. " now"
				or tostring(a.active) .. " connection(s) to finish"
			o.log(string.format("%s: waiting for %s, %.0f s left", name, what, p.left))
		end
	end
end

local function drain_batch(lb, o, batch)
	local drained = {}
	local how = { min_enabled = o.min_enabled, dry_run = o.dry_run }
	for _, name in ipairs(batch) do
		local r, err, code = lb:drain(o.pool, name, how)
		if not r then
			restore(lb, o, drained)
			return nil, name .. ": drain failed: " .. err, code
		end
		drained[#drained + 1] = name
		o.log(name .. (o.dry_run and ": would drain" or ": draining"))
	end
	if o.dry_run then
		return true
	end
	-- Asking again for the same state only waits: all of the batch drain
	-- in parallel, then each is waited for.
	for _, name in ipairs(batch) do
		local r, err, code = lb:drain(o.pool, name, { wait = o.wait, progress = wait_log(o, name) })
		if not r then
			restore(lb, o, batch)
			return nil, name .. ": connections did not finish: " .. err, code
		end
		o.log(name .. ": drained, no connection left")
	end
	return true
end

local function act_batch(lb, o, batch)
	for i, name in ipairs(batch) do
		if o.dry_run then
			o.log(name .. ": would run the action, enable it and wait for health")
		else
			local ok, err = o.action(name, lb, o.members[name])
			if not ok then
				local rest = { table.unpack(batch, i + 1) }
				-- The ones already done go back in rotation, the untouched
				-- ones too: only the one that failed stays out.
				for j = 1, i - 1 do
					rest[#rest + 1] = batch[j]
				end
				restore(lb, o, rest)
				return nil, name .. ": action failed, left out of rotation: " .. tostring(err), "EACTION"
			end
			o.log(name .. ": action done")
		end
	end
	return true
end

local function enable_batch(lb, o, batch)
	if o.dry_run then
		return true
	end
	for _, name in ipairs(batch) do
		local r, err, code = lb:enable(o.pool, name, { wait = o.wait, progress = wait_log(o, name) })
		if not r then
			return nil, name .. ": enable failed: " .. err, code
		end
		-- One outcome per balancer: through a pair, say each one's health.
		local health = {}
		for _, out in ipairs(r.outcomes) do
			health[#health + 1] = out.after.health .. (#r.outcomes > 1 and " on " .. out.balancer or "")
		end
		o.log(name .. ": enabled, health " .. table.concat(health, ", "))
	end
	return true
end

local function check_options(o)
	assert(type(o.pool) == "string", "rolling_restart.run: pool must be a string")
	assert(type(o.action) == "function" or o.dry_run, "rolling_restart.run: action must be a function")
	assert(math.type(o.max_out) == "integer" and o.max_out >= 1, "rolling_restart.run: max_out must be an integer >= 1")
	assert(type(o.wait) == "number" and o.wait >= 0, "rolling_restart.run: wait must be a number >= 0")
	assert(o.lb or type(o.target) == "string" or type(o.target) == "table",
		"rolling_restart.run: give target (a string, or a list for an HA pair) or lb")
end

-- Which members to restart and how many at once: the ones out of rotation
-- already count against max_out and are left alone. Through an HA pair
-- (several targets) the pool is listed once per balancer: a member is
-- restarted only when every balancer has it in rotation.
local function plan(lb, o)
	local pools, err, code = lb:pools(o.pool)
	if not pools then
		return nil, err, code
	end
	local todo, skipped, order, out = {}, {}, {}, {}
	o.members = {}
	for _, pool in ipairs(pools) do
		for _, m in ipairs(pool.members) do
			if not o.members[m.name] then
				o.members[m.name] = m
				order[#order + 1] = m.name
			end
			if m.state ~= lbm.ENABLED and not out[m.name] then
				out[m.name] = m.state .. (#pools > 1 and " on " .. pool.balancer or "")
			end
		end
	end
	for _, name in ipairs(order) do
		if out[name] then
			skipped[#skipped + 1] = name
			o.log(name .. ": skipped, it is " .. out[name] .. " already (left as it is)")
		else
			todo[#todo + 1] = name
		end
	end
	local room = o.max_out - #skipped
	if room < 1 and #todo > 0 then
		return nil, string.format("pool '%s' already has %d member(s) out of rotation (%s): max_out %d leaves no room",
			o.pool, #skipped, table.concat(skipped, ", "), o.max_out), "EGUARD"
	end
	return todo, skipped, room
end

function M.run(opts)
	local o = {
		pool = opts.pool, action = opts.action, lb = opts.lb, target = opts.target,
		max_out = opts.max_out or 1, wait = opts.wait or 60, min_enabled = opts.min_enabled,
		dry_run = opts.dry_run or false, log = opts.log or default_log,
	}
	check_options(o)
	if not o.lb then
		local err, code
		o.lb, err, code = lbm.open(o.target, opts.open)
		if not o.lb then
			return nil, err, code
		end
	end
	local owned <close> = not opts.lb and o.lb or nil
	local todo, skipped, room = plan(o.lb, o)
	if not todo then
		return nil, skipped, room
	end
	local done = {}
	for first = 1, #todo, room do
		local batch = { table.unpack(todo, first, math.min(first + room - 1, #todo)) }
		for _, step in ipairs { drain_batch, act_batch, enable_batch } do
			local ok, err, code = step(o.lb, o, batch)
			if not ok then
				o.log("stopped: " .. err)
				return nil, err, code
			end
		end
		table.move(batch, 1, #batch, #done + 1, done)
	end
	return { done = done, skipped = skipped }
end

-- The command line -------------------------------------------------------

local function shell_quote(s)
	return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- The command for one member (a table from lb:member()): %m is its name,
-- %a its address, %p its port, %% a percent sign.
function M.command_for(argv, member)
	local subst = { m = member.name, a = member.address, p = tostring(member.port), ["%"] = "%" }
	local words = {}
	for i, a in ipairs(argv) do
		words[i] = shell_quote((a:gsub("%%([map%%])", subst)))
	end
	return table.concat(words, " ")
end

local function usage_error(msg)
	io.stderr:write("rolling_restart: ", msg, "\n", "Try 'rolling_restart.lua --help'.\n")
	os.exit(2)
end

local function number_arg(flag, value, kind)
	local n = tonumber(value)
	if kind == "integer" then
		n = math.tointeger(n)
	end
	if not n or n < 0 or (kind == "seconds" and not (n > 0)) then
		usage_error(string.format("%s needs %s, got '%s'", flag, ({
			integer = "an integer, 0 or more",
			number = "a number of seconds, 0 or more",
			seconds = "a number of seconds above 0",
		})[kind], value))
	end
	return n
end

local FLAGS = {
	["--max-out"] = { "max_out", "integer" },
	["--wait"] = { "wait", "number" },
	["--min-enabled"] = { "min_enabled", "integer" },
	["--dry-run"] = { "dry_run", "boolean" },
}
-- lbm.open's options, by name and by alias; a secret is never taken from a
-- command line (every local user can read it).
for _, opt in ipairs(lbm.options) do
	local kind = ({ seconds = "seconds", flag = "boolean", secret = false })[opt.type]
	if kind ~= false then
		for _, name in ipairs { opt.name, opt.alias } do
			FLAGS[flag_of(name)] = { opt.name, kind or "string", open = true }
		end
	end
end

local function parse(args)
	local o, open, pos, i = {}, {}, {}, 1
	while i <= #args do
		local a = args[i]
		if a == "--" then
			break
		elseif a == "-h" or a == "--help" then
			print(usage())
			os.exit(0)
		elseif FLAGS[a] then
			local key, kind = FLAGS[a][1], FLAGS[a][2]
			local dest = FLAGS[a].open and open or o
			if kind == "boolean" then
				dest[key] = true
			else
				i = i + 1
				if args[i] == nil then
					usage_error(a .. " needs a value")
				end
				dest[key] = kind == "string" and args[i] or number_arg(a, args[i], kind)
			end
		elseif a:sub(1, 1) == "-" then
			usage_error("unknown option '" .. a .. "'")
		else
			pos[#pos + 1] = a
		end
		i = i + 1
	end
	if #pos ~= 2 then
		usage_error("expected TARGET POOL, got " .. #pos .. " argument(s)")
	end
	local command = { table.unpack(args, i + 1) }
	if #command == 0 and not o.dry_run then
		usage_error("no command: give it after '--', e.g. -- systemctl restart app@%m")
	end
	if o.max_out == 0 then
		usage_error("--max-out must be 1 or more")
	end
	o.target, o.pool, o.open = pos[1], pos[2], open
	return o, command
end

function M.main(args)
	local o, command = parse(args)
	o.action = function(name, _, member)
		local cmd = M.command_for(command, member)
		default_log(name .. ": running " .. cmd)
		local ok, how, code = os.execute(cmd)
		if ok then
			return true
		end
		return nil, string.format("%s (%s %s)", cmd, how == "exit" and "exit status" or "signal", tostring(code))
	end
	local summary, err, code = M.run(o)
	if not summary then
		io.stderr:write("rolling_restart: ", err, " [", tostring(code), "]\n")
		return 1
	end
	default_log(string.format("done: %d member(s) restarted%s", #summary.done,
		#summary.skipped > 0 and ", skipped " .. table.concat(summary.skipped, ", ") or ""))
	return 0
end

-- Loaded by require: the library. Run as a script: the command line.
if pcall(debug.getlocal, 4, 1) then
	return M
end
os.exit(M.main(arg), true)
