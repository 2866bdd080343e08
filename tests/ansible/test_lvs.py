# SPDX-License-Identifier: MIT
"""lb_member on real kernel IPVS: the binary runs inside the QEMU VM of
tests/lib/ipvs_vm.py exactly as Ansible runs a binary module (argv[1] = a
JSON args file with the controller's _ansible_* keys), and ipvsadm -Ln in
the VM is the witness. Ansible itself does not run in the VM.

usage: test_lvs.py vm   (LBM_VM_CACHE: the kernel cache shared with tests/lvs)
"""
import json
import os
import re
import tempfile

from harness import MODULE, check, main
import ipvs_vm

VIP = "198.51.100.11:80"
POOL = "tcp:" + VIP
BASE = {"target": "lvs://", "pool": POOL, "state_dir": "/tmp/lbm-state",
        "_ansible_module_name": "lb_member", "_ansible_check_mode": False, "_ansible_diff": False,
        "_ansible_no_log": False, "_ansible_verbosity": 0, "_ansible_version": "2.14.18"}
# (step, arguments): run in this order in one VM.
STEPS = [
    ("drain", dict(BASE, member="198.51.100.21", state="draining", wait=True, wait_timeout=5, reason="nic swap")),
    ("drain_again", dict(BASE, member="198.51.100.21:80", state="draining")),
    ("check_disable", dict(BASE, member="198.51.100.21", state="disabled", _ansible_check_mode=True)),
    ("disable", dict(BASE, member="198.51.100.21", state="disabled", _ansible_diff=True)),
    ("enable", dict(BASE, member="198.51.100.21", state="enabled", _ansible_diff=True)),
    ("enable_again", dict(BASE, member="198.51.100.21", state="enabled")),
    ("force", dict(BASE, member="198.51.100.22", state="draining", wait=True, wait_timeout=5, force_after=1)),
    ("weight", dict(BASE, member="198.51.100.22", state="enabled", weight="7")),
    ("everywhere", dict(BASE, pool=None, member="198.51.100.22:80", state="draining")),
    ("unknown", dict(BASE, member="198.51.100.99", state="draining")),
    ("guard", dict(BASE, pool="tcp:198.51.100.12:80", member="198.51.100.31", state="draining")),
    ("bad_args", dict(BASE, member="198.51.100.21", state="drained")),
    ("persistent", dict(BASE, pool="tcp:198.51.100.13:80", member="198.51.100.41", state="draining")),
]
SETUP = """
ipvsadm -A -t 198.51.100.11:80 -s wrr
ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.21:80 -g -w 5
ipvsadm -a -t 198.51.100.11:80 -r 198.51.100.22:80 -m -w 3 -x 100 -y 10
ipvsadm -A -t 198.51.100.12:80 -s rr
ipvsadm -a -t 198.51.100.12:80 -r 198.51.100.31:80 -g -w 1
ipvsadm -a -t 198.51.100.12:80 -r 198.51.100.22:80 -m -w 2
ipvsadm -A -t 198.51.100.13:80 -s rr -p 60
ipvsadm -a -t 198.51.100.13:80 -r 198.51.100.41:80 -g -w 1
ipvsadm -a -t 198.51.100.13:80 -r 198.51.100.42:80 -g -w 1
"""


def script(steps):
    lines = ["set -u", SETUP]
    for name, _ in steps:
        lines += ['echo "@@OUT %s"' % name, '"$LB_MEMBER" /work/%s.json; echo "@@RC $?"' % name,
                  'echo "@@IPVS %s"' % name, "ipvsadm -Ln", 'echo "@@END %s"' % name]
    lines.append('echo "@@DONE"')
    return "\n".join(lines) + "\n"


def parse(output):
    """{step: (result dict, exit code, ipvsadm -Ln text)} from the console."""
    found = {}
    for m in re.finditer(r"@@OUT (\w+)\r?\n(.*?)@@RC (\d+)\r?\n@@IPVS \1\r?\n(.*?)@@END \1", output, re.S):
        lines = [l for l in m.group(2).splitlines() if l.strip().startswith("{")]
        check(len(lines) == 1, "%s: expected one JSON line" % m.group(1), m.group(2))
        found[m.group(1)] = (json.loads(lines[0]), int(m.group(3)), m.group(4))
    return found


def dest(ipvs, vip, rs):
    """'Route 5' for a real server of a service in ipvsadm -Ln, or None."""
    service = None
    for line in ipvs.splitlines():
        f = line.split()
        if f[:1] in (["TCP"], ["UDP"]):
            service = f[1]
        elif f[:1] == ["->"] and service == vip and f[1] == rs:
            return "%s %s" % (f[2], f[3])
    return None


def group_vm():
    with tempfile.TemporaryDirectory(prefix="lbm-ansible-lvs-") as tmp:
        files = {}
        for name, args in STEPS:
            path = os.path.join(tmp, name + ".json")
            with open(path, "w") as f:
                json.dump({k: v for k, v in args.items() if v is not None}, f)
            files[path] = "/work/%s.json" % name
        res = ipvs_vm.run_vm(script(STEPS), binaries=[MODULE], files=files, env={"LB_MEMBER": MODULE},
                             cache_dir=os.environ["LBM_VM_CACHE"], timeout=150)
    check(res.rc == 0 and "@@DONE" in res.output, "VM run failed: %s" % res.error, res.output[-4000:])
    r = parse(res.output)
    check(sorted(r) == sorted(n for n, _ in STEPS), "steps missing", sorted(r), res.output[-4000:])

    def ok(step, changed):
        out, rc, ipvs = r[step]
        check(rc == 0 and out["failed"] is False and out["changed"] is changed, "%s: changed %s" % (step, changed), out)
        return out, ipvs

    out, ipvs = ok("drain", True)
    check(out["members"][0]["after"]["weight"] == 0 and out["members"][0]["after"]["state"] == "draining", "drain", out)
    check(dest(ipvs, VIP, "198.51.100.21:80") == "Route 0", "ipvsadm after drain", ipvs)
    check(out["members"][0]["after"]["reason"] == "nic swap" and out["members"][0]["after"]["since"], "record", out)
    out, ipvs = ok("drain_again", False)
    check(out["members"][0]["before"]["reason"] == "nic swap", "record read back", out)
    out, ipvs = ok("check_disable", True)
    check(out["members"][0]["after"]["state"] == "disabled", "predicted", out)
    check(dest(ipvs, VIP, "198.51.100.21:80") == "Route 0", "check mode touched IPVS", ipvs)
    out, ipvs = ok("disable", True)
    check(dest(ipvs, VIP, "198.51.100.21:80") is None, "still in IPVS after disable", ipvs)
    # Drained through lbmember: the diff shows its record too.
    check(out["diff"][0]["before"].startswith("state: draining\nweight: 0\nreason: \"nic swap\"\nby: ")
          and out["diff"][0]["after"].startswith("state: disabled\n"), "diff", out)
    out, ipvs = ok("enable", True)
    check(dest(ipvs, VIP, "198.51.100.21:80") == "Route 5", "weight 5 and Route restored", ipvs)
    check(out["diff"][0]["after"] == "state: enabled\nweight: 5\n", "diff after enable", out)
    check(out["members"][0]["after"]["reason"] is None, "record cleared", out)
    ok("enable_again", False)
    out, rc, ipvs = r["force"]
    check(rc == 1 and out["failed"] is True and out["changed"] is False and "LVS: cannot force: " in out["msg"],
          "force_after refused", out)
    check(dest(ipvs, VIP, "198.51.100.22:80") == "Masq 3", "force_after touched IPVS", ipvs)
    out, ipvs = ok("weight", True)
    check(dest(ipvs, VIP, "198.51.100.22:80") == "Masq 7", "weight 7 from '7', Masq kept", ipvs)
    out, ipvs = ok("everywhere", True)
    check(sorted(m["pool"] for m in out["members"]) == ["tcp:198.51.100.11:80", "tcp:198.51.100.12:80"], "pools", out)
    check(dest(ipvs, VIP, "198.51.100.22:80") == "Masq 0" and dest(ipvs, "198.51.100.12:80", "198.51.100.22:80")
          == "Masq 0", "drained in both services", ipvs)
    for step, word in (("unknown", "198.51.100.99"), ("guard", "min_enabled"),
                       ("bad_args", "value of state must be one of: enabled, draining, disabled, got: drained")):
        out, rc, ipvs = r[step]
        check(rc == 1 and out["failed"] is True and word in out["msg"], "%s must fail" % step, out)
    check(dest(r["guard"][2], "198.51.100.12:80", "198.51.100.31:80") == "Route 1", "guard touched IPVS")
    # The core's advice reaches Ansible as a warning: persistence keeps clients on a drained dest.
    out, ipvs = ok("persistent", True)
    check(len(out.get("warnings", [])) == 1 and "expire_quiescent_template" in out["warnings"][0], "warning", out)


if __name__ == "__main__":
    main({"vm": group_vm})
