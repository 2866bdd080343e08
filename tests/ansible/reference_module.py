# SPDX-License-Identifier: MIT
"""What AnsibleModule itself does with lb_member's options: the yardstick for
the binary's own validation. The argument_spec is read from the DOCUMENTATION
of the stub lb_member.py that the build writes (into the collection in the
build tree, from plugins/ansible/lb_member.py.in and the core's option table),
with no_log true for the options it documents as C(no_log) (documentation
does not carry it as a key) and false for the others, so the docs, Ansible
and the binary are checked together.

Run with ansible's Python: reference_module.py ARGS_FILE..., where each
ARGS_FILE is {"ANSIBLE_MODULE_ARGS": {...}} as for any Python module; one line
of JSON per file, as the module prints it. On success the validated
parameters are returned as "params" (and invocation, as always). Several
files in one process save a Python start-up each.
"""
import contextlib
import io
import os
import sys

import yaml
from ansible.module_utils import basic
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings

STUB = os.path.join(os.environ["LBM_ANSIBLE_COLLECTION"], "plugins", "modules", "lb_member.py")


def argument_spec():
    scope = {}
    with open(STUB) as f:
        exec(compile(f.read(), STUB, "exec"), scope)
    options = yaml.safe_load(scope["DOCUMENTATION"])["options"]
    spec = {}
    for name, doc in options.items():
        spec[name] = {k: doc[k] for k in ("type", "required", "default", "choices", "aliases") if k in doc}
        # Set either way, as a module's code would: left unset, AnsibleModule
        # warns about any option named like a password (password_file).
        spec[name]["no_log"] = any("C(no_log)" in line for line in doc["description"])
    assert spec["password"].get("no_log"), "password is not documented as no_log"
    return spec


def run(spec, path):
    with open(path, "rb") as f:
        basic._ANSIBLE_ARGS = f.read()
    # AnsibleModule's warnings are global: one run's must not reach the next.
    del warnings._global_warnings[:]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
            module.exit_json(changed=False, params=module.params)
        except SystemExit:
            pass
    return out.getvalue().strip().splitlines()[-1]


if __name__ == "__main__":
    spec = argument_spec()
    for path in sys.argv[1:]:
        print(run(dict((k, dict(v)) for k, v in spec.items()), path), flush=True)
