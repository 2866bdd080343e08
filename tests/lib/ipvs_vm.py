# SPDX-License-Identifier: MIT
"""Run a shell script inside a throwaway QEMU VM whose kernel has real IPVS.

The development and CI machines run kernels without IPVS (and cannot load
modules), so suites that need the kernel's IPVS boot Debian's stock kernel
under QEMU (TCG, no KVM, no network card) with a small initramfs that holds
busybox, the ip_vs modules, the programs under test with every shared
library they need (ldd: libasan/libubsan of a sanitizer build included) and
ipvsadm as an independent witness.

Python API (standard library only)::

    sys.path.insert(0, "<source>/tests/lib")
    import ipvs_vm
    res = ipvs_vm.run_vm(
        script="set -e; ipvsadm -A -t 198.51.100.11:80 -s rr; $LBM_CLI lvs:// list",
        binaries=["/tmp/build/plugins/cli/lbmember"],   # copied at the same absolute path
        files={"/tmp/x/case.sh": "/work/case.sh"},      # host path -> path in the VM
        env={"LBM_CLI": "/tmp/build/plugins/cli/lbmember"},
        cache_dir="/tmp/build/ipvs-vm-cache",           # kernel .deb + extracted tree, reused
        timeout=120, memory=512, cpus=1,
        keepalived=False)                               # True: Debian's keepalived too (below)
    res.ok        # True when the VM booted, the script ran and exited 0
    res.rc        # the script's exit status (None when it never finished)
    res.output    # the console text the script printed (kernel noise included)
    res.boot_s    # seconds from starting qemu until the script started
    res.total_s   # seconds until qemu exited
    res.error     # why it failed, when it did, in one line

Command line (exit 0: passed, 1: the script failed, 2: the VM or the harness
failed; the console is printed on stdout)::

    python3 ipvs_vm.py [--cache DIR] [--bin PATH]... [--file SRC[:DST]]...
                       [--env NAME=VALUE]... [--module NAME]... [--addr CIDR]...
                       [--keepalived] [--timeout S] [--memory MB] [--cpus N]
                       [--log FILE] SCRIPT
    python3 ipvs_vm.py --prepare [--cache DIR]   # only fetch and unpack the kernel

SCRIPT is a file run by busybox sh as root in /work; "-" reads it from
stdin. Inside the VM: /proc, /sys and /dev are mounted, the rest is the
initramfs (writable, in RAM; /run/netns exists for "unshare --net=FILE");
lo is up with 198.51.100.1/24 and 2001:db8::1/64 (plus --addr); the modules
ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_wlc, ip_vs_lc, ip_vs_sh and their
dependencies (nf_conntrack...) are loaded (plus --module); every busybox
applet (nc, httpd, timeout, unshare, nsenter...) is on PATH, and so are the
--bin programs (also by basename in /usr/local/bin). Binaries keep their
absolute host path, so paths in the environment work unchanged in the VM.
/var/run is a link to /run, as on Debian.

Directives: the script itself may ask for what it needs, one per line
anywhere in it (comment lines, so the shell ignores them), as the Python
API and the command line would; an unknown directive is an error::

    # ipvs_vm: keepalived                      same as keepalived=True
    # ipvs_vm: file SRC[:DST]                  same as files={SRC: DST}

A relative SRC is taken from the source tree (the directory above tests/);
SRC may be a directory, copied with everything in it; DST defaults to SRC's
absolute path. This lets a runner that knows nothing of a case's needs
(tests/lvs/run_case.py) run it.

keepalived (keepalived=True, --keepalived, or the directive): Debian's
keepalived package, installed on the host (apt-get install
--no-install-recommends keepalived), goes in as /usr/sbin/keepalived with
every library ldd lists (libperl, net-snmp, glib...: about 27 MB more
initramfs), and what it looks for besides its configuration:
/etc/passwd and /etc/group (root, keepalived_script, the user it runs
check scripts as, and nobody/nogroup; the host's are not copied),
/etc/nsswitch.conf (files), an empty /etc/keepalived/ and /run/keepalived/.
Nothing starts it: the script runs it as Debian's systemd unit does, in the
foreground, which still writes /run/keepalived.pid (the parent, $!) and
/run/checkers.pid (its health-checker child) and removes them at exit::

    keepalived --dont-fork --log-console --no-syslog [-f CONF] >>LOG 2>&1 &

then waits until `ipvsadm -Ln` shows its table (it starts in under a second).
There is no syslog in the VM: --no-syslog, or every line comes twice on the
console. `kill -HUP` reloads it ("Reload complete" in its log); `kill`
(SIGTERM) stops it, and it removes its whole table. Without the package on
the host the run fails (VMError) and names it. tests/lvs/README.md has the
recipe (real servers, fast checks, waiting on its log, pid file places).

Kernel: the package linux-image-amd64 depends on, fetched once with
`apt-get download` into the cache (set LBM_VM_KERNEL_DEB to use a given .deb
instead). Needs qemu-system-x86_64, busybox-static, cpio, kmod (depmod,
modprobe), dpkg-deb and apt on the host. Several runs may share one cache
at once (a lock file serialises the first download).

Cost, measured on the 2-core development machine: a boot takes about 4 s
of CPU; under TCG a dynamically linked program starts in about 0.1 s, an
ASan+UBSan build (LeakSanitizer at exit) several times slower.
"""

import argparse
import fcntl
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

DEFAULT_MODULES = ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_wlc", "ip_vs_lc", "ip_vs_sh"]
DEFAULT_ADDRS = ["198.51.100.1/24", "2001:db8::1/64"]
BUSYBOX = "/bin/busybox"
IPVSADM = shutil.which("ipvsadm", path="/usr/sbin:/sbin:/usr/bin:/bin") or "/usr/sbin/ipvsadm"
KEEPALIVED = shutil.which("keepalived", path="/usr/sbin:/sbin:/usr/bin:/bin") or "/usr/sbin/keepalived"
SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# What keepalived reads at startup besides its configuration. keepalived
# looks its script user up (keepalived_script, else root) and the groups.
KEEPALIVED_FILES = {
    "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"
                   "keepalived_script:x:998:998:keepalived scripts:/nonexistent:/bin/false\n"
                   "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "/etc/group": "root:x:0:\nkeepalived_script:x:998:\nnogroup:x:65534:\n",
    "/etc/nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files\n",
}


class VMError(Exception):
    """The VM could not be prepared or booted (not a failing test)."""


class Result:
    def __init__(self):
        self.ok = False
        self.rc = None
        self.output = ""
        self.boot_s = None
        self.total_s = None
        self.error = None


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise VMError("%s failed (exit %d): %s" % (" ".join(cmd), proc.returncode,
                                                     (proc.stderr or proc.stdout).strip()[-500:]))
    return proc.stdout


def _kernel_package():
    out = _run(["apt-cache", "depends", "linux-image-amd64"])
    for line in out.splitlines():
        m = re.match(r"\s*Depends:\s*(linux-image-\S+-amd64)\s*$", line)
        if m:
            return m.group(1)
    raise VMError("cannot tell which kernel linux-image-amd64 depends on "
                  "(run apt-get update?): %s" % out.strip()[:200])


def prepare_kernel(cache_dir):
    """Fetch and unpack the kernel once; return (kernel image, kroot, version).

    The image is the uncompressed vmlinux when it can be extracted: QEMU
    boots it directly through its PVH entry point, which skips the BIOS and
    the decompressor (about a third of the CPU time of a boot under TCG).
    Otherwise it is the package's bzImage."""
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(cache_dir, ".lock"), "w") as lock:
        # Several tests may start at once: one prepares, the others wait.
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = os.path.join(cache_dir, "kernel.ready")
        if os.path.exists(done):
            with open(done) as f:
                version = f.read().strip()
        else:
            version = _unpack_kernel(cache_dir)
            with open(done + ".tmp", "w") as f:
                f.write(version + "\n")
            os.rename(done + ".tmp", done)
        kroot = os.path.join(cache_dir, "kroot")
        bzimage = os.path.join(kroot, "boot", "vmlinuz-" + version)
        vmlinux = os.path.join(cache_dir, "vmlinux-" + version)
        if not os.path.exists(vmlinux) and _has_pvh(kroot, version):
            _extract_vmlinux(bzimage, vmlinux)
    return (vmlinux if os.path.exists(vmlinux) else bzimage), kroot, version


def _has_pvh(kroot, version):
    """Whether the kernel has a PVH entry point QEMU can boot directly."""
    try:
        with open(os.path.join(kroot, "boot", "config-" + version)) as f:
            return "CONFIG_PVH=y\n" in f.read()
    except OSError:
        return False


def _extract_vmlinux(bzimage, out):
    """Decompress the ELF kernel inside a bzImage (xz or gzip payload)."""
    import lzma
    import zlib
    with open(bzimage, "rb") as f:
        data = f.read()
    elf = None
    for magic, make in ((b"\xfd7zXZ\x00", lzma.LZMADecompressor),
                        (b"\x1f\x8b\x08", lambda: zlib.decompressobj(31))):
        at = data.find(magic)
        if at < 0:
            continue
        try:
            elf = make().decompress(data[at:])
        except (lzma.LZMAError, zlib.error):
            continue
        if elf.startswith(b"\x7fELF"):
            break
        elf = None
    if not elf:
        return  # an unknown compression: boot the bzImage
    with open(out + ".tmp", "wb") as f:
        f.write(elf)
    os.rename(out + ".tmp", out)


def _unpack_kernel(cache_dir):
    deb = os.environ.get("LBM_VM_KERNEL_DEB")
    if not deb:
        pkg = _kernel_package()
        debs = [f for f in os.listdir(cache_dir) if f.startswith(pkg + "_") and f.endswith(".deb")]
        if not debs:
            _run(["apt-get", "download", pkg], cwd=cache_dir)
            debs = [f for f in os.listdir(cache_dir) if f.startswith(pkg + "_") and f.endswith(".deb")]
        if not debs:
            raise VMError("apt-get download %s left no .deb in %s" % (pkg, cache_dir))
        deb = os.path.join(cache_dir, sorted(debs)[-1])
    kroot = os.path.join(cache_dir, "kroot")
    shutil.rmtree(kroot, ignore_errors=True)
    _run(["dpkg-deb", "-x", deb, kroot])
    versions = os.listdir(os.path.join(kroot, "lib", "modules"))
    if len(versions) != 1:
        raise VMError("expected one kernel version in %s, found %s" % (deb, versions))
    _run(["depmod", "-b", kroot, versions[0]])
    return versions[0]


def resolve_modules(kroot, version, modules):
    """The .ko files (with insmod arguments) to load, dependencies first."""
    seen, order = set(), []
    for mod in modules:
        out = _run(["modprobe", "-d", kroot, "-S", version, "--show-depends", mod])
        for line in out.splitlines():
            parts = line.split(None, 2)
            if not parts or parts[0] != "insmod" or parts[1] in seen:
                continue  # "builtin NAME": nothing to load
            seen.add(parts[1])
            order.append((parts[1], parts[2] if len(parts) > 2 else ""))
    return order


def _libraries(path):
    """Every shared library a program needs, as ldd resolves them here."""
    proc = subprocess.run(["ldd", path], capture_output=True, text=True)
    if proc.returncode != 0:
        return []  # a script or a static program
    libs = []
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*(?:\S+ => )?(/\S+) \(0x", line)
        if m:
            libs.append(m.group(1))
        elif "not found" in line:
            raise VMError("%s needs a library that is not found: %s" % (path, line.strip()))
    return libs


def _copy(src, root, dst):
    target = os.path.join(root, dst.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.isdir(src):
        shutil.copytree(os.path.realpath(src), target, symlinks=False, dirs_exist_ok=True)
    elif not os.path.exists(target):
        shutil.copy2(os.path.realpath(src), target)
    return target


def directives(script):
    """What the script asks for in its "# ipvs_vm: ..." lines, as a dict
    of run_vm's arguments (keepalived, files)."""
    found = {"keepalived": False, "files": {}}
    for n, line in enumerate(script.splitlines(), 1):
        m = re.match(r"\s*#\s*ipvs_vm:\s*(\S+)\s*(.*?)\s*$", line)
        if not m:
            continue
        word, arg = m.groups()
        if word == "keepalived" and not arg:
            found["keepalived"] = True
        elif word == "file" and arg and " " not in arg:
            src, _, dst = arg.partition(":")
            src = os.path.join(SOURCE_ROOT, src)
            if not os.path.exists(src):
                raise VMError("script line %d: no such file: %s" % (n, src))
            found["files"][src] = dst or os.path.abspath(src)
        else:
            raise VMError("script line %d: unknown directive: %s" % (n, line.strip()))
    return found


INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /work /var/lib /run/netns
echo "IPVSVM-START {token}"
while read -r ko args; do
	insmod "/modules/$ko" $args || echo "IPVSVM: insmod $ko failed"
done < /modules.list
ip link set lo up
for a in {addrs}; do ip addr add "$a" dev lo || echo "IPVSVM: cannot add $a to lo"; done
set -a
. /vm.env
set +a
cd /work
/bin/sh /test.sh < /dev/null
echo "IPVSVM-RESULT {token} rc=$?"
sync
poweroff -f
"""


def build_initramfs(out, kroot, version, script, binaries=(), files=None, env=None, modules=None,
                    addrs=None, token="x", keepalived=False):
    """Write an uncompressed newc initramfs to out."""
    files = dict(files or {})
    asked = directives(script)
    files.update(asked["files"])
    keepalived = keepalived or asked["keepalived"]
    binaries = list(binaries)
    if keepalived:
        if not os.access(KEEPALIVED, os.X_OK):
            raise VMError("keepalived is not installed here (%s): apt-get install "
                          "--no-install-recommends keepalived" % KEEPALIVED)
        binaries.append(KEEPALIVED)
    root = tempfile.mkdtemp(prefix="ipvsvm-root-", dir=os.path.dirname(out))
    try:
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "proc", "sys", "dev",
                  "tmp", "run", "var", "modules"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        os.symlink("../run", os.path.join(root, "var", "run"))
        shutil.copy2(BUSYBOX, os.path.join(root, "bin", "busybox"))
        for prog in [IPVSADM] + list(binaries):
            prog = os.path.abspath(prog)
            if not os.path.exists(prog):
                raise VMError("no such program: %s" % prog)
            _copy(prog, root, prog)
            link = os.path.join(root, "usr/local/bin", os.path.basename(prog))
            if not os.path.lexists(link) and prog != os.path.join("/usr/local/bin", os.path.basename(prog)):
                os.symlink(prog, link)
            for lib in _libraries(prog):
                _copy(lib, root, lib)
        for src, dst in files.items():
            _copy(src, root, dst)
        if keepalived:
            for d in ("etc/keepalived", "run/keepalived"):
                os.makedirs(os.path.join(root, d), exist_ok=True)
            for path, text in KEEPALIVED_FILES.items():
                target = os.path.join(root, path.lstrip("/"))
                if not os.path.exists(target):  # the caller's own files win
                    with open(target, "w") as f:
                        f.write(text)
        with open(os.path.join(root, "modules.list"), "w") as f:
            for ko, args in resolve_modules(kroot, version, modules or DEFAULT_MODULES):
                name = os.path.basename(ko)
                _copy(ko, root, "/modules/" + name)
                f.write("%s %s\n" % (name, args))
        with open(os.path.join(root, "vm.env"), "w") as f:
            for k, v in (env or {}).items():
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", k):
                    raise VMError("bad environment variable name %r" % k)
                f.write("%s='%s'\n" % (k, str(v).replace("'", "'\\''")))
        with open(os.path.join(root, "test.sh"), "w") as f:
            f.write(script)
        init = os.path.join(root, "init")
        with open(init, "w") as f:
            f.write(INIT.replace("{token}", token).replace(
                "{addrs}", " ".join(DEFAULT_ADDRS + list(addrs or []))))
        os.chmod(init, 0o755)
        names = subprocess.run(["find", ".", "-mindepth", "1"], cwd=root, capture_output=True,
                               check=True).stdout
        with open(out, "wb") as f:
            proc = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=root,
                                  input=names, stdout=f, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            raise VMError("cpio failed: %s" % proc.stderr.decode(errors="replace").strip())
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_vm(script, binaries=(), files=None, env=None, modules=None, addrs=None, cache_dir=None,
           timeout=120, memory=512, log=None, cpus=1, keepalived=False):
    """Boot the VM, run script (shell text) in it; return a Result."""
    res = Result()
    cache_dir = os.path.abspath(cache_dir or os.environ.get("LBM_VM_CACHE") or "ipvs-vm-cache")
    token = secrets.token_hex(8)
    start = time.monotonic()
    try:
        vmlinuz, kroot, version = prepare_kernel(cache_dir)
        with tempfile.TemporaryDirectory(prefix="ipvsvm-", dir=cache_dir) as tmp:
            initrd = os.path.join(tmp, "initrd.cpio")
            build_initramfs(initrd, kroot, version, script, binaries, files, env, modules, addrs,
                            token, keepalived)
            _boot(res, vmlinuz, initrd, token, timeout, memory, cpus)
    except VMError as e:
        res.error = str(e)
    res.total_s = time.monotonic() - start
    if log:
        with open(log, "w") as f:
            f.write(res.output)
    return res


def _boot(res, vmlinuz, initrd, token, timeout, memory, cpus):
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", str(memory), "-smp", str(cpus),
           "-nographic", "-nic", "none", "-no-reboot", "-kernel", vmlinuz, "-initrd", initrd,
           "-append", "console=ttyS0 quiet loglevel=3 panic=-1 oops=panic no_timer_check"]
    # no_timer_check: on a loaded host TCG can miss the kernel's IO-APIC
    # timer test window, and the kernel would panic ("IO-APIC + timer
    # doesn't work"), as it otherwise does only on broken hardware.
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    lines = []
    started = re.compile(r"IPVSVM-START %s" % token)
    finished = re.compile(r"IPVSVM-RESULT %s rc=(\d+)" % token)
    deadline = start + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    buf = b""
    while True:
        chunk = None
        try:
            chunk = proc.stdout.read()
        except BlockingIOError:
            pass
        if chunk:
            buf += chunk
        elif proc.poll() is not None:
            break
        elif time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            res.error = "the VM did not finish within %g s" % timeout
            break
        else:
            time.sleep(0.05)
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.decode(errors="replace").rstrip("\r")
            lines.append(line)
            if res.boot_s is None and started.search(line):
                res.boot_s = time.monotonic() - start
            m = finished.search(line)
            if m:
                res.rc = int(m.group(1))
    if buf:
        lines.append(buf.decode(errors="replace").rstrip("\r"))
    res.output = "\n".join(lines) + "\n"
    if res.error:
        return
    if res.boot_s is None:
        res.error = "the VM did not boot (no start line on the console; qemu exit %s)" % proc.returncode
    elif res.rc is None:
        res.error = "the script did not finish (VM stopped without a result line)"
    elif res.rc != 0:
        res.error = "the script failed with exit status %d" % res.rc
    else:
        res.ok = True


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run a shell script in a QEMU VM with real IPVS.")
    ap.add_argument("script", nargs="?", help="shell script to run in the VM ('-': stdin)")
    ap.add_argument("--cache", help="cache directory for the kernel (default $LBM_VM_CACHE or ./ipvs-vm-cache)")
    ap.add_argument("--bin", action="append", default=[], help="program to copy in with its libraries")
    ap.add_argument("--file", action="append", default=[], help="SRC[:DST] file to copy in")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the script")
    ap.add_argument("--module", action="append", default=[], help="extra kernel module to load")
    ap.add_argument("--addr", action="append", default=[], help="extra CIDR address for lo")
    ap.add_argument("--keepalived", action="store_true",
                    help="add Debian's keepalived, its libraries and the files it reads")
    ap.add_argument("--timeout", type=float, default=120, help="hard limit in seconds (120)")
    ap.add_argument("--memory", type=int, default=512, help="VM memory in MB (512)")
    ap.add_argument("--cpus", type=int, default=1, help="virtual CPUs (1; 2 for real parallelism)")
    ap.add_argument("--log", help="also write the console to this file")
    ap.add_argument("--prepare", action="store_true", help="only fetch and unpack the kernel")
    args = ap.parse_args(argv)
    if args.prepare:
        try:
            print("kernel: %s" % prepare_kernel(os.path.abspath(args.cache or os.environ.get(
                "LBM_VM_CACHE") or "ipvs-vm-cache"))[0])
        except VMError as e:
            print("ipvs_vm: %s" % e, file=sys.stderr)
            return 2
        return 0
    if not args.script:
        ap.error("a script is needed (or --prepare)")
    if args.script == "-":
        script = sys.stdin.read()
    else:
        with open(args.script) as f:
            script = f.read()
    files = {}
    for spec in args.file:
        src, _, dst = spec.partition(":")
        files[src] = dst or os.path.abspath(src)
    env = dict(e.split("=", 1) for e in args.env)
    res = run_vm(script, args.bin, files, env, DEFAULT_MODULES + args.module, args.addr, args.cache,
                 args.timeout, args.memory, args.log, args.cpus, args.keepalived)
    sys.stdout.write(res.output)
    sys.stdout.flush()
    print("ipvs_vm: %s (boot %.1f s, total %.1f s)" % (
        "passed" if res.ok else res.error, res.boot_s or 0, res.total_s or 0), file=sys.stderr)
    if res.ok:
        return 0
    return 1 if res.rc is not None else 2


if __name__ == "__main__":
    sys.exit(main())
