# SPDX-License-Identifier: MIT
# Documentation only: the module itself is the binary lb_member (built from
# lb_member.c). ansible-doc reads this stub. In the collection Ansible runs the
# binary beside it, whose name matches exactly. In a plain module directory
# (ANSIBLE_LIBRARY) ansible-core 2.14 runs whichever of the two the directory
# lists first, so there keep the stub in a second directory listed after the
# binary's (ANSIBLE_LIBRARY=/path/to/binary-dir:/path/to/stub-dir): Ansible
# runs the binary and `ansible-doc -l` lists the module, but
# `ansible-doc lb_member` wants the stub beside the binary: use the collection.

DOCUMENTATION = r'''
---
module: lb_member
short_description: Drain, disable or enable a load-balancer member on LVS/IPVS, HAProxy or F5 BIG-IP
version_added: "0.1.0"
author:
  - lbmember contributors
description:
  - Takes a real server out of a load balancer's rotation without cutting the users already
    connected to it, and puts it back exactly as it was, with one vocabulary for LVS/IPVS
    (the local kernel), HAProxy (its runtime API) and F5 BIG-IP LTM (iControl REST).
  - C(enabled) takes new connections. C(draining) takes no new connections while existing
    (and persistent) ones continue. C(disabled) is out of rotation entirely.
  - HAProxy states are C(ready), C(drain) and C(maint). F5 states are Enabled
    (user-enabled/user-up), Disabled (user-disabled/user-up) and Forced Offline
    (user-disabled/user-down). On LVS, C(draining) sets weight 0 and C(disabled) removes the
    real server; both record what was there (in I(state_dir)) so C(enabled) restores the
    exact weight, forwarding method and thresholds.
  - C(changed) depends only on the administrative state and the weight, never on connection
    counts or health.
  - Asking for the state a member is already in changes nothing.
  - This is a binary module written in C; it needs no Python on the managed host.
notes:
  - Check mode computes C(changed) and the would-be C(after) of each member and touches
    nothing. Diff mode shows the state and weight of each member before and after.
  - LVS C(disabled) removes the destination, and IPVS drops the packets of connections still
    going to it. Use C(draining) with I(wait) first for a gentle removal.
  - On a persistent LVS service, clients keep being sent to a weight-0 destination until their
    persistence template expires, unless the sysctl C(net.ipv4.vs.expire_quiescent_template)
    is 1; a drain with I(wait) may then time out. The module warns, and does not change the
    sysctl.
  - The HAProxy runtime API socket must be at level admin.
  - F5 BIG-IP 11.6 to 17.1 (the JSON shapes of those versions, recorded from devices; no
    device was used to test this module). A member is found by its name (C(NODE:PORT), e.g.
    C(web-a:80)) or its address. A member whose node is disabled or forced offline is reported
    with C(held) naming the node. In an FQDN pool, change the FQDN member (C(template) true);
    the module refuses to change the C(ephemeral) members BIG-IP makes from it, and after a
    drain or disable fails when one of them still takes new connections.
  - The F5 password comes from I(password) or the environment variable C(LBM_F5_PASSWORD);
    the user from I(user) or C(LBM_F5_USER). Prefer I(password), from a vault, which is
    C(no_log) and never shown. A task's C(environment) keyword puts the variable on the
    command line Ansible runs the module with, where C(-vvv) and the process list show it;
    an exported C(LBM_F5_PASSWORD) reaches the module unseen only with a local connection.
attributes:
  check_mode:
    support: full
    description: Computes the change and the would-be state; changes nothing.
  diff_mode:
    support: full
    description: Shows state and weight before and after, per pool.
options:
  target:
    description:
      - The balancer, as a URI.
      - C(lvs://) (or C(lvs://?netns=NAME)) for the local kernel's IPVS table.
      - C(haproxy:///run/haproxy/admin.sock) or C(haproxy://127.0.0.1:9999) for an HAProxy
        runtime API socket.
      - C(f5://HOST[:PORT]) for a BIG-IP's iControl REST API over HTTPS.
    type: str
    required: true
  pool:
    description:
      - The pool holding the member. HAProxy a backend name; LVS a virtual service
        C(tcp:VIP:PORT), C(udp:VIP:PORT), C(sctp:VIP:PORT), C(fwm:MARK) (IPv6 as
        C(tcp:[2001:db8::1]:80)); F5 C(/Partition/pool) (the partition defaults to Common).
      - Omitted, every pool that holds the member is changed.
    type: str
  member:
    description:
      - The member. HAProxy a server name, or its C(ADDR[:PORT]); LVS a real server
        C(IP[:PORT]) (the port defaults to the service's); F5 C(/Partition/ADDR:PORT) or
        C(ADDR:PORT).
    type: str
    required: true
  state:
    description:
      - The administrative state the member must be in.
    type: str
    required: true
    choices: [enabled, draining, disabled]
  weight:
    description:
      - With I(state=enabled), the weight to set (0 to 65535). Omitted, LVS restores the weight
        recorded when the member was drained or disabled, and the others keep theirs.
    type: int
  wait:
    description:
      - After the change, wait until the member has settled, at most I(wait_timeout) seconds,
        no active connections left after C(draining) or C(disabled), health not down after
        C(enabled). The task fails when the time runs out, with the member left as set.
      - Where the balancer gives no connection count for the member (an F5 whose statistics
        lack C(serverside.curConns), an LVS real server removed by C(disabled)), the task makes
        the change (C(changed) true) and fails at once rather than claim it settled.
      - Not done in check mode.
    type: bool
    default: false
  wait_timeout:
    description:
      - How long I(wait) waits, in seconds.
    type: float
    default: 300
  min_enabled:
    description:
      - Refuse, before touching anything, a change that takes a member out of rotation when
        fewer than this many members of its pool would then stay in rotation (enabled, not
        down, weight not 0). The default 1 keeps anyone from emptying a pool by accident;
        0 turns the guard off.
      - Each pool is judged as it will be after the change, HAProxy servers that C(track) a
        changed one included, in whatever backend they are. C(enabled) takes nothing out of
        rotation and is never refused, even when every member of the pool is down.
    type: int
    default: 1
  user:
    description:
      - F5 user. Defaults to the environment variable C(LBM_F5_USER).
    type: str
  password:
    description:
      - F5 password. Defaults to the environment variable C(LBM_F5_PASSWORD). Never shown in
        the result (C(no_log)).
    type: str
  validate_certs:
    description:
      - Verify the F5's TLS certificate. Set to C(false) only for a device with a self-signed
        certificate you cannot replace; prefer I(ca_path).
    type: bool
    default: true
  ca_path:
    description:
      - A CA bundle (PEM) to verify the F5's TLS certificate with.
    type: path
  timeout:
    description:
      - Bound on each exchange with the balancer, in seconds.
    type: float
    default: 5
  state_dir:
    description:
      - LVS only. Where the state store records what drain and disable changed, so that
        C(enabled) restores it. Defaults to C(LBM_STATE_DIR), then C(/var/lib/lbmember).
    type: path
seealso:
  - module: community.general.haproxy
  - module: f5networks.f5_modules.bigip_pool_member
'''

EXAMPLES = r'''
- name: Drain web1 in HAProxy backend "app", waiting for its connections to end
  lbmember.lb.lb_member:
    target: haproxy:///run/haproxy/admin.sock
    pool: app
    member: web1
    state: draining
    wait: true
    wait_timeout: 120

- name: Put it back with weight 10
  lbmember.lb.lb_member:
    target: haproxy:///run/haproxy/admin.sock
    pool: app
    member: web1
    state: enabled
    weight: 10

- name: Drain a real server of every LVS virtual service that holds it
  lbmember.lb.lb_member:
    target: lvs://
    member: 192.0.2.11
    state: draining

- name: Force an F5 pool member offline
  lbmember.lb.lb_member:
    target: f5://bigip.example.com
    pool: /Common/app
    member: 192.0.2.11:80
    state: disabled
    user: admin
    password: "{{ vault_bigip_password }}"
    ca_path: /etc/ssl/bigip-ca.pem

# A rolling update, one server at a time: drain it on the balancer, update it,
# put it back. The balancer is reached from the control node.
- name: Rolling update behind HAProxy
  hosts: webservers
  serial: 1
  tasks:
    - name: Drain this server and wait for its users to finish
      lbmember.lb.lb_member:
        target: haproxy:///run/haproxy/admin.sock
        pool: app
        member: "{{ inventory_hostname }}"
        state: draining
        wait: true
        wait_timeout: 300
      delegate_to: lb1.example.com

    - name: Update the application
      ansible.builtin.apt:
        name: myapp
        state: latest

    - name: Put it back into rotation once its health check passes
      lbmember.lb.lb_member:
        target: haproxy:///run/haproxy/admin.sock
        pool: app
        member: "{{ inventory_hostname }}"
        state: enabled
        wait: true
        wait_timeout: 60
      delegate_to: lb1.example.com
'''

RETURN = r'''
changed:
  description: Whether the state or weight of any member changed (or would, in check mode).
  returned: always
  type: bool
msg:
  description: One line saying what was done, or why it failed.
  returned: always
  type: str
  sample: "app/web1: enabled -> draining"
members:
  description: Each member changed or left alone, once per pool that holds it.
  returned: when the member was found
  type: list
  elements: dict
  contains:
    pool:
      description: The pool.
      type: str
      sample: app
    changed:
      description: Whether this member's state or weight changed in this pool.
      type: bool
    result:
      description:
        - What the module did to this member. C(applied) the change was sent and the balancer
          took it; C(unchanged) it was already as asked, nothing was sent; C(not_applied) a
          change was needed but the task failed before it was made (a bulk change broken half
          way names exactly the members it reached); C(would_apply) check mode.
      type: str
      choices: [applied, unchanged, not_applied, would_apply]
      sample: applied
    before:
      description: The member before the change.
      type: dict
      contains:
        name:
          description: Member name as the balancer knows it.
          type: str
          sample: web1
        address:
          description: Its address.
          type: str
          sample: 192.0.2.11
        port:
          description: Its port.
          type: int
          sample: 80
        state:
          description: C(enabled), C(draining), C(disabled) or C(unknown).
          type: str
        health:
          description: C(up), C(down) or C(unknown) (no health check).
          type: str
        weight:
          description: Its weight; null when the balancer has none.
          type: int
        active:
          description: Active connections; null when the balancer does not report them.
          type: int
        inactive:
          description: LVS InActConn; null elsewhere.
          type: int
        status:
          description: The balancer's own words for the state.
          type: str
          sample: "DRAIN"
        held:
          description: Why the member stays out of rotation whatever this module does (for
            example maintenance inherited from a tracked server); null when nothing holds it.
          type: str
        follows:
          description: C(POOL/MEMBER) of the member whose state this one inherits (HAProxy
            C(track); F5 the FQDN member an ephemeral member was made from); null when it
            follows none.
          type: str
        template:
          description: Whether it stands for members the balancer makes from it (an F5 FQDN
            member, with no address of its own).
          type: bool
        ephemeral:
          description: Whether the balancer made it from a template (F5 C(_auto_ADDR:PORT)
            members); the module does not change it.
          type: bool
    after:
      description: The member after the change, read back from the balancer (predicted in
        check mode). Same keys as C(members[].before).
      type: dict
diff:
  description: State and weight of each member before and after, when diff mode is on.
  returned: when diff mode is on
  type: list
  elements: dict
warnings:
  description: Advice that is not an error, such as the LVS persistence caveat.
  returned: when there is any
  type: list
  elements: str
'''
