# SPDX-License-Identifier: MIT
"""The collection lbmember.lb as users get it: ansible-doc shows the module
and ansible-doc -l lists it (from the collection assembled in the build tree;
-l also from a plain module directory, binary first and stub second), and `ansible-galaxy collection build`
makes a tarball that installs and runs against a real HAProxy.

Groups: doc, list, galaxy
"""
import glob
import json
import os
import tarfile

from harness import COLLECTION, Ansible, check, main, task
from haproxy_fixture import BackendServer, HAProxy

# The parent of ansible_collections/lbmember/lb
COLLECTIONS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))
# Adapted for issue 16: the options from the core's table are every one it
# has (password_file, login_provider, basic_auth added), and ca_path is now
# the alias of the table's ca_file. Issue 17 added sync_group (F5 pairs),
# issue 18 reason and force_after.
OPTIONS = ["target", "pool", "member", "state", "weight", "reason", "wait", "wait_timeout", "force_after",
           "min_enabled", "user",
           "password", "password_file", "login_provider", "basic_auth", "validate_certs", "ca_file", "timeout",
           "state_dir", "state_file", "sync_group", "ignore_owner"]


def group_doc():
    with Ansible() as a:
        env = a.env(callback="default", collections=COLLECTIONS_ROOT)
        proc = a.tool("ansible-doc", "lbmember.lb.lb_member", env=env)
        check(proc.returncode == 0 and proc.stderr == "", "ansible-doc failed", proc.stdout, proc.stderr)
        out = proc.stdout
        check("> LBMEMBER.LB.LB_MEMBER" in out and "OPTIONS (= is mandatory):" in out, "header", out)
        for opt in OPTIONS:
            check(("- %s\n" % opt) in out or ("= %s\n" % opt) in out, "option %s not shown" % opt, out)
        for required in ("target", "member", "state"):
            check(("= %s\n" % required) in out, "%s not shown as mandatory" % required, out)
        check("choices: [enabled, draining, disabled]" in out, "state choices", out)
        check("serial: 1" in out and "state: draining" in out, "rolling example", out)
        check("reason: \"kernel update, CHG-1234\"" in out and "force_after: 60" in out, "force_after example", out)

        # The machine-readable form: exactly the options the binary accepts.
        proc = a.tool("ansible-doc", "-j", "lbmember.lb.lb_member", env=env)
        doc = json.loads(proc.stdout)["lbmember.lb.lb_member"]["doc"]
        returns = json.loads(proc.stdout)["lbmember.lb.lb_member"]["return"]
        check(sorted(doc["options"]) == sorted(OPTIONS), "documented options", sorted(doc["options"]))
        check(doc["options"]["state"]["choices"] == ["enabled", "draining", "disabled"], "choices")
        check(doc["options"]["ca_file"]["aliases"] == ["ca_path"], "ca_path an alias", doc["options"]["ca_file"])
        check(doc["options"]["timeout"]["default"] == 5, "timeout's default", doc["options"]["timeout"])
        check("no_log" in " ".join(doc["options"]["password"]["description"]), "password's no_log note")
        for key in ("restore_weight", "agent", "template", "ephemeral", "follows", "reason", "by", "since"):
            check(key in returns["members"]["contains"]["before"]["contains"], "RETURN %s" % key)
        check(returns["members"]["contains"]["cut"]["type"] == "int", "RETURN cut", returns["members"])
        check(doc["options"]["force_after"]["type"] == "float" and doc["options"]["reason"]["type"] == "str",
              "types of reason and force_after", doc["options"])
        # state_dir is for every target now (the records), as the core's table says.
        check(not any("Only for" in line for line in doc["options"]["state_dir"]["description"]), "state_dir",
              doc["options"]["state_dir"])


def group_list():
    with Ansible() as a:
        env = a.env(callback="default", collections=COLLECTIONS_ROOT)
        proc = a.tool("ansible-doc", "-l", "lbmember.lb", env=env)
        check(proc.returncode == 0 and proc.stderr == "", "ansible-doc -l failed", proc.stdout, proc.stderr)
        check(proc.stdout.split()[:2] == ["lbmember.lb.lb_member", "Drain,"], "not listed", proc.stdout)

        proc = a.tool("ansible-doc", "-l", "-j", "lbmember.lb", env=env)
        listing = json.loads(proc.stdout)
        check(list(listing) == ["lbmember.lb.lb_member"] and listing["lbmember.lb.lb_member"].startswith(
            "Drain, disable or enable a load-balancer member"), "json listing", listing)

        # Listing everything, with the plain module directory on the path.
        proc = a.tool("ansible-doc", "-l", "-t", "module", env=a.env(callback="default"))
        lines = [l for l in proc.stdout.splitlines() if l.split()[:1] == ["lb_member"]
                 or l.split()[:1] == ["ansible.legacy.lb_member"]]
        check(proc.returncode == 0 and len(lines) == 1 and "Drain, disable" in lines[0], "not in the full list",
              lines, proc.stderr)
        check("lb_member" not in proc.stderr, "warnings about lb_member", proc.stderr)


def group_galaxy():
    with Ansible() as a:
        proc = a.tool("ansible-galaxy", "collection", "build", COLLECTION, "--output-path", a.path("dist"))
        check(proc.returncode == 0, "ansible-galaxy collection build", proc.stdout, proc.stderr)
        tarballs = glob.glob(a.path("dist/lbmember-lb-*.tar.gz"))
        check(len(tarballs) == 1, "one tarball", tarballs)
        with tarfile.open(tarballs[0]) as t:
            members = {m.name: m for m in t.getmembers()}
        for name in ("MANIFEST.json", "FILES.json", "galaxy.yml", "meta/runtime.yml", "README.md",
                     "plugins/modules/lb_member.py", "plugins/modules/lb_member", "bin/lb_member"):
            check(name in members or name == "galaxy.yml", "%s not in the tarball" % name, sorted(members))
        check(members["bin/lb_member"].mode & 0o111, "binary not executable in the tarball")
        check(members["plugins/modules/lb_member"].issym(), "module entry is not the symlink")

        installed = a.path("installed")
        proc = a.tool("ansible-galaxy", "collection", "install", tarballs[0], "-p", installed)
        check(proc.returncode == 0, "ansible-galaxy collection install", proc.stdout, proc.stderr)

        server = BackendServer(host="127.0.0.2").start()
        other = BackendServer(host="127.0.0.3").start()
        h = HAProxy({"app": [("s1", server.host, server.port), ("s2", other.host, other.port)]}).start()
        try:
            play = [dict(task("drain", module="lbmember.lb.lb_member", target=h.target_unix, pool="app",
                              member="s1", state="draining"))]
            run = a.playbook(play, env={"ANSIBLE_COLLECTIONS_PATH": installed, "ANSIBLE_LIBRARY": a.path("none")})
            r = run.results[0] if run.results else {}
            check(run.rc == 0 and r.get("changed") is True and r.get("msg") == "app/s1: enabled -> draining",
                  "FQCN run from the installed collection", run)
            check(h.status("app", "s1") == "DRAIN" and h.status("app", "s2") == "no check", "witness")
            proc = a.tool("ansible-doc", "lbmember.lb.lb_member",
                          env=a.env(callback="default", ANSIBLE_COLLECTIONS_PATH=installed))
            check(proc.returncode == 0 and "> LBMEMBER.LB.LB_MEMBER" in proc.stdout, "doc from the installed one",
                  proc.stderr)
        finally:
            h.stop()
            server.stop()
            other.stop()


if __name__ == "__main__":
    main({"doc": group_doc, "list": group_list, "galaxy": group_galaxy})
