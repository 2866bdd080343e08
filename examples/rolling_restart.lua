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

As a library (LUA_PATH must find this file):

  local rolling = require "rolling_restart"
  local summary, err, code = rolling.run {
    target = "haproxy:///run/haproxy/admin.sock",   -- or lb = an open handle
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

local USAGE = [[
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
  --timeout S        bound on each exchange with the balancer (default 5)
  --user U           F5 user (password: $LBM_F5_PASSWORD or --password-file)
  --password-file F  file whose first line is the F5 password
  --ca-file F        CA bundle for the balancer's TLS certificate
  --insecure         do not verify the balancer's TLS certificate
  --state-dir D      LVS state store (default /var/lib/lbmember)
  -h, --help         this help
exit status: 0 done, 1 a step failed, 2 usage error]]

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
		local r, err, code = lb:drain(o.pool, name, { wait = o.wait })
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
		local r, err, code = lb:enable(o.pool, name, { wait = o.wait })
		if not r then
			return nil, name .. ": enable failed: " .. err, code
		end
		o.log(name .. ": enabled, health " .. r.after.health)
	end
	return true
end

local function check_options(o)
	assert(type(o.pool) == "string", "rolling_restart.run: pool must be a string")
	assert(type(o.action) == "function" or o.dry_run, "rolling_restart.run: action must be a function")
	assert(math.type(o.max_out) == "integer" and o.max_out >= 1, "rolling_restart.run: max_out must be an integer >= 1")
	assert(type(o.wait) == "number" and o.wait >= 0, "rolling_restart.run: wait must be a number >= 0")
	assert(o.lb or type(o.target) == "string", "rolling_restart.run: give target or lb")
end

-- Which members to restart and how many at once: the ones out of rotation
-- already count against max_out and are left alone.
local function plan(lb, o)
	local pools, err, code = lb:pools(o.pool)
	if not pools then
		return nil, err, code
	end
	local todo, skipped = {}, {}
	o.members = {}
	for _, m in ipairs(pools[1].members) do
		o.members[m.name] = m
		if m.state == lbm.ENABLED then
			todo[#todo + 1] = m.name
		else
			skipped[#skipped + 1] = m.name
			o.log(m.name .. ": skipped, it is " .. m.state .. " already (left as it is)")
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

local function number_arg(flag, value, integer)
	local n = tonumber(value)
	if integer then
		n = math.tointeger(n)
	end
	if not n or n < 0 then
		usage_error(string.format("%s needs %s, got '%s'", flag,
			integer and "an integer, 0 or more" or "a number of seconds, 0 or more", value))
	end
	return n
end

local FLAGS = {
	["--max-out"] = { "max_out", "integer" },
	["--wait"] = { "wait", "number" },
	["--min-enabled"] = { "min_enabled", "integer" },
	["--timeout"] = { "timeout", "number", open = true },
	["--user"] = { "user", "string", open = true },
	["--password-file"] = { "password_file", "string", open = true },
	["--ca-file"] = { "ca_file", "string", open = true },
	["--state-dir"] = { "state_dir", "string", open = true },
	["--insecure"] = { "insecure", "boolean", open = true },
	["--dry-run"] = { "dry_run", "boolean" },
}

local function parse(args)
	local o, open, pos, i = {}, {}, {}, 1
	while i <= #args do
		local a = args[i]
		if a == "--" then
			break
		elseif a == "-h" or a == "--help" then
			print(USAGE)
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
				dest[key] = kind == "string" and args[i] or number_arg(a, args[i], kind == "integer")
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
