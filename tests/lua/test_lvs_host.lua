-- SPDX-License-Identifier: MIT
-- lvs:// on the host running the tests, whose kernel usually lacks IPVS
-- (this development machine, most CI runners): ENOTSUP with a message
-- saying so. A host with IPVS must instead list it, or say that
-- CAP_NET_ADMIN is needed (as tests/lvs/host_no_ipvs.sh).
local check = require "check"
local lbm = require "lbmember"

check.run {
	{ "lvs:// on this host", function()
		local opts = { state_dir = os.getenv("LBM_STATE_DIR") }
		local lb, msg, code = lbm.open("lvs://", opts)
		local has_ipvs = io.open("/proc/net/ip_vs") ~= nil
		if lb then
			lb, msg, code = lb:pools()
		end
		if has_ipvs then
			print("this host's kernel has IPVS: checking that it is listed instead")
			if lb == nil then
				check.match(msg, "CAP_NET_ADMIN", "without IPVS rights")
			end
			return
		end
		check.fails("ENOTSUP", "^LVS: IPVS is not available in this kernel", "no IPVS", lb, msg, code)
	end },
}
