# SPDX-License-Identifier: MIT
"""Real ansible-playbook (Debian's ansible-core), quiet and deterministic, for
the lb_member tests (Python standard library only).

    from harness import Ansible
    with Ansible() as a:                       # a private temp dir for everything
        run = a.playbook([task(...), ...], check=True, diff=True)
        run.rc, run.results[0]["changed"], run.stats["changed"]

Environment (set by tests/ansible/CMakeLists.txt):
    LBM_ANSIBLE_MODULE       the built lb_member
    LBM_ANSIBLE_MODULE_FAKE  lb_member linked with the fake driver (fake://)
    LBM_ANSIBLE_COLLECTION   the collection assembled in the build tree
                             (BUILD/ansible_collections/lbmember/lb), with
                             the documentation stub written at build time
Every playbook runs with `-i localhost, -c local`, the json stdout callback
(or the default one, for what a person reads), no ansible.cfg, no colour,
and every temp and state directory inside the test's own temp dir: lbmember's
records (who took a member out, when and why) go to Ansible.state_dir
($LBM_STATE_DIR), never to /var/lib/lbmember.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))

ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook") or "/usr/bin/ansible-playbook"
BIN = os.path.dirname(ANSIBLE_PLAYBOOK)
MODULE = os.environ.get("LBM_ANSIBLE_MODULE", "")
MODULE_FAKE = os.environ.get("LBM_ANSIBLE_MODULE_FAKE", "")
COLLECTION = os.environ.get("LBM_ANSIBLE_COLLECTION", "")
STUB = os.path.join(COLLECTION, "plugins", "modules", "lb_member.py")


def ansible_python():
    """The interpreter ansible itself runs on (it has ansible's module_utils)."""
    with open(ANSIBLE_PLAYBOOK) as f:
        line = f.readline()
    return line[2:].split()[0] if line.startswith("#!") else "/usr/bin/python3"


PYTHON = ansible_python()


class Failure(AssertionError):
    pass


def check(cond, what, *context):
    if not cond:
        raise Failure(what + "".join("\n" + str(c) for c in context))


def task(name, module="lb_member", ignore_errors=False, **args):
    t = {"name": name, module: args}
    if ignore_errors:
        t["ignore_errors"] = True
    return t


class Run:
    def __init__(self, proc, callback):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = None
        self.results = []
        self.stats = {}
        if callback == "json":
            try:
                self.data = json.loads(proc.stdout)
            except ValueError:
                raise Failure("ansible-playbook printed no JSON", proc.stdout, proc.stderr)
            for play in self.data["plays"]:
                for t in play["tasks"]:
                    for host, res in t["hosts"].items():
                        res = dict(res)
                        res["_task"] = t["task"]["name"]
                        res["_host"] = host
                        self.results.append(res)
            self.stats = self.data["stats"].get("localhost", {})

    def result(self, name):
        found = [r for r in self.results if r["_task"] == name]
        check(len(found) == 1, "task %r ran %d times" % (name, len(found)), self.stdout)
        return found[0]

    def __str__(self):
        return "rc=%s\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.stdout, self.stderr)


class Ansible:
    def __init__(self, module=None):
        self.tmp = tempfile.mkdtemp(prefix="lbm-ansible-")
        # The binary and its doc stub in two directories, binary first (see lb_member.py).
        self.library = os.path.join(self.tmp, "library")
        self.docs = os.path.join(self.tmp, "library-docs")
        os.makedirs(self.library)
        os.makedirs(self.docs)
        os.symlink(module or MODULE, os.path.join(self.library, "lb_member"))
        # The stub is written at build time (from plugins/ansible/lb_member.py.in
        # and the core's option table): the collection in the build tree has it.
        shutil.copy(STUB, self.docs)
        self.config = os.path.join(self.tmp, "ansible.cfg")
        open(self.config, "w").close()
        self.collections = os.path.join(self.tmp, "collections")
        self.state_dir = os.path.join(self.tmp, "state")
        os.makedirs(os.path.join(self.tmp, "home", ".ansible"))
        self._n = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def records(self):
        """The records in state_dir, read from their files (not through
        lbmember; one per target, {"target", "members": {"POOL\nMEMBER":
        {...}}}), one entry each, sorted:
        [{"target", "pool", "member", "state", "by", "since", "reason"}...]."""
        out = os.path.join(self.state_dir, "out")
        names = sorted(n for n in os.listdir(out) if n.endswith(".json")) if os.path.isdir(out) else []
        found = []
        for n in names:
            with open(os.path.join(out, n)) as f:
                rec = json.load(f)
            for key, entry in rec["members"].items():
                pool, member = key.split("\n", 1)
                found.append(dict(entry, target=rec["target"], pool=pool, member=member))
        return sorted(found, key=lambda r: (r["target"], r["pool"], r["member"]))

    def env(self, callback="json", collections=None, **extra):
        # SUDO_USER too: under sudo it would be who the records name.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ANSIBLE_", "LBM_F5_")) and k != "SUDO_USER"}
        home = os.path.join(self.tmp, "home")
        env.update({
            "HOME": home,
            "LC_ALL": "C.UTF-8",
            "ANSIBLE_CONFIG": self.config,
            "ANSIBLE_HOME": os.path.join(home, ".ansible"),
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.tmp, "local-tmp"),
            "ANSIBLE_REMOTE_TEMP": os.path.join(self.tmp, "remote-tmp"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(self.tmp, "cp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_STDOUT_CALLBACK": callback,
            "ANSIBLE_LIBRARY": self.library + ":" + self.docs,
            "ANSIBLE_COLLECTIONS_PATH": collections or self.collections,
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_PYTHON_INTERPRETER": PYTHON,
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_GATHERING": "explicit",
            "ANSIBLE_FORKS": "1",
            "PAGER": "cat",
            "LBM_STATE_DIR": self.state_dir,
        })
        env.update(extra)
        return env

    def write(self, name, data):
        """A file in the temp dir; data that is not a string is written as
        JSON, which is YAML too."""
        p = self.path(name)
        with open(p, "w") as f:
            f.write(data if isinstance(data, str) else json.dumps(data, indent=1))
        return p

    def playbook(self, tasks, check=False, diff=False, callback="json", args=(), env=None,
                 hosts="localhost", inventory="localhost,", play_extra=None, timeout=300, popen=False):
        """Run one play of tasks (or a playbook file, when tasks is a str path)."""
        if isinstance(tasks, str):
            pb = tasks
        else:
            self._n += 1
            play = {"name": "lb_member test", "hosts": hosts, "gather_facts": False, "tasks": tasks}
            play.update(play_extra or {})
            pb = self.write("play%d.yml" % self._n, [play])
        cmd = [ANSIBLE_PLAYBOOK, "-i", inventory, "-c", "local", pb]
        cmd += ["--check"] if check else []
        cmd += ["--diff"] if diff else []
        cmd += list(args)
        e = self.env(callback=callback, **(env or {}))
        if popen:
            return subprocess.Popen(cmd, env=e, cwd=self.tmp, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc = subprocess.run(cmd, env=e, cwd=self.tmp, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)
        return Run(proc, callback)

    def finish(self, popen, callback="json", timeout=300):
        out, err = popen.communicate(timeout=timeout)
        return Run(subprocess.CompletedProcess(popen.args, popen.returncode, out, err), callback)

    def tool(self, name, *args, env=None, timeout=300):
        """Run another ansible tool (ansible, ansible-doc, ansible-galaxy)."""
        return subprocess.run([os.path.join(BIN, name), *args], env=env or self.env(callback="default"),
                              cwd=self.tmp, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)


def main(groups):
    """Run the group named in argv[1] (or all), print a closing line."""
    names = sys.argv[1:] or list(groups)
    failed = 0
    for name in names:
        try:
            groups[name]()
            print("ok   %s" % name, flush=True)
        except Exception as e:  # report every group, then fail
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
    print("%d passed, %d failed" % (len(names) - failed, failed))
    sys.exit(1 if failed else 0)
