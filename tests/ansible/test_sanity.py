# SPDX-License-Identifier: MIT
"""`ansible-test sanity` (Debian's ansible-core 2.14) on the collection
lbmember.lb assembled in the build tree, offline, with its
tests/sanity/ignore-2.14.txt (plugins/ansible/tests/sanity/).

ansible-test must run from inside ansible_collections/lbmember/lb: each group
copies the assembled collection into its own temp dir, and gives ansible-test a
HOME of its own there (ansible-test keeps its virtual environments in
~/.ansible/test/venv).

Groups:
  plain    the sanity tests that need no Python package of their own (the
           code-smell tests, compile, ignores, shebang, symlinks, ...): they
           run in ansible-test's bare `sanity` venv, offline as they are.
  linters  ansible-doc, changelog, pep8, pylint, runtime-metadata,
           validate-modules and yamllint. ansible-test gives each its own venv
           and pip-installs pinned versions from PyPI into it, which this
           machine cannot reach: the group creates those venvs beforehand
           (--system-site-packages, at the path ansible-test computes for
           them) so that the tests use Debian's packages instead
           (python3-voluptuous, python3-pycodestyle, pylint, yamllint;
           versions close to, not equal to, the pins).
Not run: import (builds a fresh venv with pip on every run, and bootstraps
pip from the network), pslint (PowerShell and PSScriptAnalyzer, not in Debian;
the collection has no PowerShell anyway), mypy and integration-aliases
(ansible-core's own tests, not offered for a collection).

Each group also removes one ignore line and requires the test it covers to
fail, so that a passing run means the ignore file is read and needed.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from harness import BIN, COLLECTION, check, main

ANSIBLE_TEST = os.path.join(BIN, "ansible-test")
PYTHON = "/usr/bin/python3"  # Debian's, where ansible_test is installed
IGNORE = "tests/sanity/ignore-2.14.txt"
# Those with a requirements file (ansible_test/_data/requirements/sanity.*.txt).
LINTERS = ["ansible-doc", "changelog", "pep8", "pylint", "runtime-metadata", "validate-modules", "yamllint"]
# The Python module each linter needs from Debian (the package in brackets).
LINTER_MODULES = {"pep8": ("pycodestyle", "python3-pycodestyle"), "pylint": ("pylint", "pylint"),
                  "validate-modules": ("voluptuous", "python3-voluptuous"), "yamllint": ("yamllint", "yamllint")}
NOT_OFFLINE = ["import"]


class Sanity:
    """A copy of the collection at TMP/ansible_collections/lbmember/lb."""

    def __enter__(self):
        check(os.path.isfile(os.path.join(COLLECTION, IGNORE)), "no %s in the assembled collection" % IGNORE)
        self.tmp = tempfile.mkdtemp(prefix="lbm-sanity-")
        self.root = os.path.join(self.tmp, "ansible_collections", "lbmember", "lb")
        shutil.copytree(COLLECTION, self.root, symlinks=True)
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, *args):
        env = {"HOME": self.home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "ANSIBLE_NOCOLOR": "1"}
        proc = subprocess.run([ANSIBLE_TEST, "sanity", "--local", "--python", "3.11", "--color", "no", *args],
                              cwd=self.root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=900)
        return proc.returncode, proc.stdout + proc.stderr

    def drop_ignore(self, needle):
        path = os.path.join(self.root, IGNORE)
        with open(path) as f:
            lines = f.readlines()
        kept = [line for line in lines if needle not in line]
        check(len(kept) == len(lines) - 1, "exactly one ignore line with %r" % needle, lines)
        with open(path, "w") as f:
            f.writelines(kept)

    def prime_linter_venvs(self):
        """Create the venvs ansible-test would pip-install, on Debian's packages."""
        code = r"""
import sys
from ansible_test._internal.python_requirements import collect_requirements
from ansible_test._internal.commands.sanity import hash_pip_commands
from ansible_test._internal.host_configs import NativePythonConfig
python = NativePythonConfig(version="%d.%d" % sys.version_info[:2], path=sys.executable)
for name in sys.argv[1:]:
    commands = collect_requirements(python=python, controller=True, virtualenv=False, command=None, ansible=False,
                                    cryptography=False, coverage=False, minimize=False, sanity=name)
    print(name, python.version, hash_pip_commands(commands))
"""
        proc = subprocess.run([PYTHON, "-c", code, *LINTERS], capture_output=True, text=True, timeout=60)
        check(proc.returncode == 0, "computing ansible-test's venv paths", proc.stdout, proc.stderr)
        for line in proc.stdout.splitlines():
            name, version, digest = line.split()
            venv = os.path.join(self.home, ".ansible", "test", "venv", "sanity." + name, version, digest)
            subprocess.run([PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", venv], check=True)
            with open(os.path.join(venv, "meta.install.json"), "w") as f:
                f.write("[]\n")
            with open(os.path.join(venv, "meta.yaml.json"), "w") as f:  # PyYAML with libyaml
                f.write("true\n")
            open(os.path.join(venv, "marker.txt"), "w").close()  # "created and installed"


def tests(*args):
    return [a for t in args for a in ("--test", t)]


def listed_tests():
    with Sanity() as s:
        rc, out = s.run("--list-tests")
    check(rc == 0, "ansible-test sanity --list-tests", out)
    return [line.strip() for line in out.splitlines() if line.strip() and not line.startswith("WARNING")]


def group_plain():
    plain = [t for t in listed_tests() if t not in LINTERS + NOT_OFFLINE]
    check("compile" in plain and "no-basestring" in plain and "ignores" in plain and "shebang" in plain,
          "the sanity tests offered", plain)
    with Sanity() as s:
        rc, out = s.run(*tests(*plain))
        check(rc == 0, "ansible-test sanity (%s)" % " ".join(plain), out)
        for t in plain:
            check('Running sanity test "%s"' % t in out, "%s did not run" % t, out)
        check("ERROR" not in out, "errors reported", out)
        # Without its ignore line, a code-smell test dies reading the binary as text
        # (not in a valgrind build: there bin/lb_member is the wrapper script).
        with open(os.path.join(s.root, "bin", "lb_member"), "rb") as f:
            if f.read(4) != b"\x7fELF":
                print("bin/lb_member is not the ELF binary (LBM_VALGRIND): no check without the ignore line")
                return
        s.drop_ignore("bin/lb_member no-basestring!skip")
        rc, out = s.run(*tests("no-basestring", "compile"))
        failed = out.split("FATAL")[-1].split()
        check(rc != 0 and "UnicodeDecodeError" in out and "no-basestring" in failed and "compile" not in failed,
              "no-basestring without its ignore line", rc, out)


def group_linters():
    missing = []
    for test, (module, package) in sorted(LINTER_MODULES.items()):
        if subprocess.run([PYTHON, "-c", "import " + module], capture_output=True).returncode != 0:
            missing.append(package)
    check(not missing, "Debian packages missing for the linters (scripts/setup.sh): " + " ".join(missing))
    with Sanity() as s:
        s.prime_linter_venvs()
        rc, out = s.run(*tests(*LINTERS))
        check(rc == 0, "ansible-test sanity (%s)" % " ".join(LINTERS), out)
        for t in LINTERS:
            check('Running sanity test "%s"' % t in out, "%s did not run" % t, out)
        check("ERROR" not in out and "Skipping" not in out, "errors or skipped tests", out)
        # The module is MIT: validate-modules asks for a GPLv3 header unless told.
        s.drop_ignore("validate-modules:missing-gplv3-license")
        rc, out = s.run(*tests("validate-modules"))
        check(rc != 0 and "plugins/modules/lb_member.py:0:0: missing-gplv3-license" in out,
              "validate-modules without the license ignore line", rc, out)


if __name__ == "__main__":
    sys.exit(main({"plain": group_plain, "linters": group_linters}))
