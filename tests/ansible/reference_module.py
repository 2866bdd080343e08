# SPDX-License-Identifier: MIT
"""What AnsibleModule itself does with lb_member's options: the yardstick for
the binary's own validation. The argument_spec is read from the DOCUMENTATION
of plugins/ansible/lb_member.py (plus no_log for password, which documentation
does not carry), so the docs, Ansible and the binary are checked together.

Run with ansible's Python: reference_module.py ARGS_FILE, where ARGS_FILE is
{"ANSIBLE_MODULE_ARGS": {...}} as for any Python module. On success it
returns the validated parameters as "params" (and invocation, as always).
"""
import os
import sys

import yaml
from ansible.module_utils.basic import AnsibleModule

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(HERE, "..", "..", "plugins", "ansible", "lb_member.py")


def argument_spec():
    scope = {}
    with open(STUB) as f:
        exec(compile(f.read(), STUB, "exec"), scope)
    options = yaml.safe_load(scope["DOCUMENTATION"])["options"]
    spec = {}
    for name, doc in options.items():
        spec[name] = {k: doc[k] for k in ("type", "required", "default", "choices") if k in doc}
    spec["password"]["no_log"] = True
    return spec


if __name__ == "__main__":
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.exit_json(changed=False, params=module.params)
