-- SPDX-License-Identifier: MIT
-- Assertions for the Lua tests: each failure names what was checked, what
-- came back and what was expected, and stops the script with exit 1.
local check = {}

local function show(v)
	if type(v) == "string" then
		return string.format("%q", v)
	end
	return tostring(v)
end

function check.eq(got, want, what)
	if got ~= want then
		error(string.format("%s: got %s, expected %s", what, show(got), show(want)), 2)
	end
	return got
end

function check.match(got, pattern, what)
	if type(got) ~= "string" or not got:find(pattern) then
		error(string.format("%s: got %s, expected a match for %q", what, show(got), pattern), 2)
	end
	return got
end

function check.truthy(v, what)
	if not v then
		error(what .. ": expected a true value, got " .. show(v), 2)
	end
	return v
end

-- A runtime failure: exactly nil, a message matching pattern, the code name.
-- Returns the optional fourth value (a partial result).
function check.fails(code, pattern, what, ...)
	local n = select("#", ...)
	local v, msg, got_code, partial = ...
	if v ~= nil then
		error(string.format("%s: expected nil, %q, got %s", what, code, show(v)), 2)
	end
	if type(msg) ~= "string" or not msg:find(pattern) then
		error(string.format("%s: message %s does not match %q", what, show(msg), pattern), 2)
	end
	if got_code ~= code then
		error(string.format("%s: code %s, expected %q (message %q)", what, show(got_code), code, msg), 2)
	end
	if n > 4 then
		error(string.format("%s: %d values returned, at most 4 expected", what, n), 2)
	end
	return partial
end

-- Misuse: the call must raise an error whose message matches pattern.
function check.raises(pattern, what, f, ...)
	local ok, err = pcall(f, ...)
	if ok then
		error(what .. ": expected an error matching " .. string.format("%q", pattern) .. ", but it returned", 2)
	end
	if type(err) ~= "string" or not err:find(pattern) then
		error(string.format("%s: error %s does not match %q", what, show(err), pattern), 2)
	end
	return err
end

-- The value of a call that must succeed; a failure shows its message.
function check.ok(what, v, msg, code)
	if v == nil then
		error(string.format("%s failed: %s (%s)", what, tostring(msg), tostring(code)), 2)
	end
	return v
end

-- The key=value lines a witness command prints, as a table; the command
-- must succeed.
function check.keyvalues(command, what)
	local f = assert(io.popen(command))
	local t = {}
	for line in f:lines() do
		local k, v = line:match("^(%w+)=(.*)$")
		if k then
			t[k] = v
		end
	end
	check.truthy(f:close(), what)
	return t
end

-- lbmember's record of pool/member, read from its file by run.py's
-- $LBM_RECORDS: {target=, state=, by=, since=, reason=}, or {none="1"}.
function check.record(pool, member)
	return check.keyvalues(os.getenv("LBM_RECORDS") .. " " .. pool .. " " .. member,
		"record of " .. pool .. "/" .. member)
end

-- Runs each named test in order, printing one line per test.
function check.run(tests)
	for _, t in ipairs(tests) do
		local ok, err = xpcall(t[2], debug.traceback)
		if not ok then
			io.stderr:write("FAIL ", t[1], ": ", err, "\n")
			os.exit(1, true)
		end
		print("ok " .. t[1])
	end
	print(string.format("all %d tests passed", #tests))
end

-- A script's tests: test(name, f) adds one, run() runs them in order.
function check.suite()
	local tests = {}
	return function(name, f)
		tests[#tests + 1] = { name, f }
	end, function()
		check.run(tests)
	end
end

return check
