-- SPDX-License-Identifier: MIT
-- Run by test_valgrind.py as `valgrind lua5.4 valgrind.lua`: every path of
-- the Lua module that allocates (lists, members, results, errors returned
-- and raised) against HAProxy ($T_HAPROXY) and, when $T_F5 is set, the F5
-- emulator. Handles end closed by close(), by <close> and by the collector
-- when lua5.4 closes the state, so a leak in any of them shows. Any
-- unexpected answer raises: lua5.4 then exits 1.
local lbm = require "lbmember"
local timeout = tonumber(os.getenv("T_TIMEOUT"))

local function expect_fail(want, res, err, code)
  assert(res == nil, "expected a failure, got a result")
  assert(type(err) == "string" and err ~= "", "no message")
  assert(code == want, ("expected %s, got %s: %s"):format(want, tostring(code), err))
end

local function raises(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok and tostring(err):find(pattern), "expected an error matching " .. pattern .. ", got " .. tostring(err))
end

-- One balancer: pool has members a (changed) and b (left alone).
local function exercise(lb, pool, a)
  local pools = assert(lb:pools())
  assert(#pools >= 1 and #pools[1].members >= 1)
  assert(#assert(lb:pools(pool)) == 1)
  local m = assert(lb:member(pool, a))
  assert(m.state == lbm.ENABLED, m.state)
  local r = assert(lb:drain(pool, a, { min_enabled = 1 }))
  assert(r.changed and r.after.state == lbm.DRAINING)
  r = assert(lb:drain(nil, a))
  assert(not r.changed)
  r = assert(lb:disable(pool, a, { dry_run = true }))
  assert(r.dry_run and r.outcomes[1].after.state == lbm.DISABLED)
  r = assert(lb:enable(pool, a, { weight = 2 }))
  assert(r.changed and r.after.state == lbm.ENABLED)
  expect_fail("ENOTFOUND", lb:member(pool, "192.0.2.250:1"))
  expect_fail("ENOTFOUND", lb:drain(pool, "192.0.2.250:1"))
  expect_fail("ENOTFOUND", lb:pools("no-such-pool"))
  expect_fail("EGUARD", lb:disable(pool, a, { min_enabled = 1000 }))
  raises("unknown option 'wiat'", lb.drain, lb, pool, a, { wiat = 1 })
  raises("must be an integer", lb.enable, lb, pool, a, { weight = -1 })
end

-- HAProxy: closed by <close> at the end of the block.
do
  local lb <close> = assert(lbm.open(os.getenv("T_HAPROXY"), { timeout = timeout }))
  exercise(lb, "web", "s4")
  assert(tostring(lb):find("lbmember handle"))
end
expect_fail("EINVAL", lbm.open("nope://x"))
-- HAProxy connects on first use: this one fails then, and is collected.
expect_fail("EIO", assert(lbm.open("haproxy://127.0.0.1:1", { timeout = 2 })):pools())

local f5 = os.getenv("T_F5")
if f5 then
  local opts = { user = os.getenv("T_F5_USER"), password = os.getenv("T_F5_PASSWORD"),
                 ca_file = os.getenv("T_F5_CA"), timeout = timeout }
  -- Closed explicitly, then misused.
  local lb = assert(lbm.open(f5, opts))
  exercise(lb, "/Common/web", "192.0.2.10:80")
  assert(lb:close())
  raises("closed lbmember handle", lb.pools, lb)
  -- Left for the collector, at lua_close.
  _G.kept = assert(lbm.open(f5, opts))
  assert(#assert(_G.kept:pools("/Tenant/app"))[1].members == 4)
  -- F5 logs in when opened.
  opts.password = "not-" .. opts.password
  expect_fail("EPERM", lbm.open(f5, opts))
  collectgarbage()
end
print("ok")
