# SPDX-License-Identifier: MIT
"""AnsiballZ payloads of Python modules, exactly as ansible-playbook ships them
to a target host, so that a benchmark can run them with python3 the way the
target does (`python3 AnsiballZ_<module>.py`), without the controller's cost.

    tpl = Payloads(workdir).build(["community.general.haproxy", ...])
    tpl["community.general.haproxy"].write(path, {"socket": ..., "state": ...})

build() runs ansible-playbook once with ANSIBLE_KEEP_REMOTE_FILES=1 and one
task per module (each pointed at nothing, so it fails harmlessly), and keeps
the AnsiballZ file it left in the remote temp dir. write() replaces only the
module arguments in the payload's ANSIBALLZ_PARAMS line (the _ansible_*
keys the controller put there stay), so every generated payload is the
controller's own bytes but for its arguments.
"""
import ast
import json
import os
import re
import shutil
import subprocess

PARAMS_LINE = re.compile(r"^(\s*ANSIBALLZ_PARAMS = )('.*')$", re.M)

# One harmless task per module: nothing listens where they point.
TASKS = {
    "community.general.haproxy": {"socket": "/nonexistent/admin.sock", "backend": "b", "host": "s",
                                  "state": "disabled"},
    "f5networks.f5_modules.bigip_pool_member": {
        "pool": "p", "address": "192.0.2.1", "port": 80, "state": "disabled",
        "provider": {"server": "127.0.0.1", "server_port": 9, "user": "u", "password": "x",
                     "validate_certs": False, "no_f5_teem": True, "timeout": 2}},
}


class Template:
    def __init__(self, module, text, internal):
        self.module = module
        self.text = text
        self.internal = internal  # the _ansible_* keys, as the controller set them

    def params(self, args, tmpdir):
        p = dict(args)
        p.update(self.internal)
        # As without KEEP_REMOTE_FILES; the module's temp dir must exist.
        p["_ansible_keep_remote_files"] = False
        p["_ansible_tmpdir"] = tmpdir.rstrip("/") + "/"
        p["_ansible_remote_tmp"] = tmpdir
        return {"ANSIBLE_MODULE_ARGS": p}

    def write(self, path, args, tmpdir):
        """A payload for these module arguments; returns path."""
        os.makedirs(tmpdir, exist_ok=True)
        text = json.dumps(self.params(args, tmpdir))
        # Python string literal of the JSON text, as the controller writes it.
        out = PARAMS_LINE.sub(lambda m: m.group(1) + repr(text), self.text, count=1)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(out)
        return path


class Payloads:
    def __init__(self, workdir):
        self.workdir = workdir

    def build(self, modules):
        play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
                 "tasks": [{"name": m, m: TASKS[m], "ignore_errors": True} for m in modules]}]
        os.makedirs(self.workdir, exist_ok=True)
        remote = os.path.join(self.workdir, "remote-tmp")
        shutil.rmtree(remote, ignore_errors=True)
        path = os.path.join(self.workdir, "payloads.yml")
        with open(path, "w") as f:
            json.dump(play, f)  # JSON is YAML
        cfg = os.path.join(self.workdir, "ansible.cfg")
        with open(cfg, "w") as f:
            f.write("[defaults]\n")  # nothing from the user's own configuration
        env = dict(os.environ, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TEMP=remote,
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.workdir, "local-tmp"),
                   ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=cfg, HOME=self.workdir)
        proc = subprocess.run(["ansible-playbook", "-i", "localhost,", path], env=env, capture_output=True,
                              text=True, timeout=300)
        found = {}
        for root, _, files in os.walk(remote):
            for name in files:
                if name.startswith("AnsiballZ_") and name.endswith(".py"):
                    with open(os.path.join(root, name)) as f:
                        text = f.read()
                    m = PARAMS_LINE.search(text)
                    if not m:
                        continue
                    params = json.loads(ast.literal_eval(m.group(2)))["ANSIBLE_MODULE_ARGS"]
                    module = params.get("_ansible_module_name")
                    internal = {k: v for k, v in params.items() if k.startswith("_ansible_")}
                    found[module] = Template(module, text, internal)
        missing = [m for m in modules if m not in found]
        if missing:
            raise RuntimeError("ansible-playbook left no AnsiballZ payload for %s:\n%s\n%s" % (
                ", ".join(missing), proc.stdout[-2000:], proc.stderr[-2000:]))
        return found
