/**
 * Hostile Python functions against a real PythonPool: its bubblewrap jail, the zygote and a
 * fresh fork per task. Every attack asserts that it failed, by what the function itself saw
 * (an error, an empty directory, a refused call), and that nothing outside changed:
 *  - the marker file it tries to create in a host directory (world-writable, so that only the
 *    jail stops it) does not exist, and the secret in this process's environment is not in its result;
 *  - no process it started outlives its task (leftovers() lists what is in the jail besides its own two);
 *  - the pool keeps serving: a normal task on every executor completes right after, in the same jail.
 */
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { packageRoot } from "../../system/paths.js";
import type { ExecutorOutcome } from "../../system/executor/contract.js";
import { TASK_PROCESSES } from "../../system/executor/python-jail.js";
import { PythonPool } from "../../system/executor/python-pool.js";
import { waitFor } from "../../harness/wait.js";
import { NO_ARGS, completed, failed, leftovers, pickleArgs, python, pythonPrerequisites, unpickle } from "../support/python.js";

const prerequisites = pythonPrerequisites();
const SECRET_NAME = "FAAS_PYTHON_ISOLATION_SECRET";
const SECRET = `secret-${randomUUID()}`;
const EXECUTORS = 2;
const MEMORY_MB = 128;

const task = (source: string, args = NO_ARGS) => ({ functionId: "attack", runtime: "python" as const, source, args });

describe.skipIf(!prerequisites.ok)(`hostile Python functions${prerequisites.ok ? "" : ` (skipped: ${prerequisites.why})`}`, () => {
  let pool: PythonPool;
  let scratch: string;
  let marker: string;
  let server: Server;
  let port: number;
  let connections = 0;
  let jail: number;

  beforeAll(async () => {
    process.env[SECRET_NAME] = SECRET; // in this process's environment before the jail starts
    scratch = mkdtempSync(join(tmpdir(), "faaslab-python-hostile-"));
    chmodSync(scratch, 0o777);
    marker = join(scratch, "escaped");
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
    port = (server.address() as { port: number }).port;
    pool = new PythonPool({ executors: EXECUTORS, memoryMb: MEMORY_MB, name: "hostile", pythonPath: [] });
    expect(completed(await pool.run(task("def f():\n    return 1\n"), 15_000))).toBe(1);
  });
  afterAll(async () => {
    await pool?.close();
    await new Promise((done) => server?.close(done));
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    delete process.env[SECRET_NAME];
  });
  beforeEach(() => {
    jail = pool.jailPid!;
    expect(jail).toBeDefined();
  });
  afterEach(async () => {
    // Nothing escaped, nothing was left behind, and the same jail serves every executor.
    expect(pool.jailPid, "the attack ended the jail").toBe(jail);
    expect(existsSync(marker), "the attack created its marker file on the host").toBe(false);
    expect(connections, "the attack connected to this process's server").toBe(0);
    // The answer comes as soon as the task's child has given it; what it left is killed just after, before its executor takes another task.
    await waitFor(() => leftovers(pool.jailPid!).length === 0, { what: "the processes the attack left in the jail to be killed" });
    const outcomes = await Promise.all(Array.from({ length: EXECUTORS }, (_, n) => pool.run(task("def double(x):\n    return 2 * x\n", pickleArgs(`${n},`)), 15_000)));
    expect(outcomes.map((o) => completed(o))).toEqual(Array.from({ length: EXECUTORS }, (_, n) => 2 * n));
  });

  /** Runs an attack and checks that its result (read back as a Python client would) does not hold this process's secret. */
  async function attack(source: string, args = NO_ARGS, deadlineMs = 20_000): Promise<ExecutorOutcome> {
    const outcome = await pool.run(task(source, args), deadlineMs);
    const described = unpickle(outcome.result);
    expect(`${described.repr} ${JSON.stringify(described.value ?? null)}`).not.toContain(SECRET);
    return outcome;
  }

  describe("the network", () => {
    it("no connection to this machine's loopback (a port this test listens on), a public address or DNS; only a loopback interface", async () => {
      const source = `
import socket
def probe(port):
    out = {}
    for name, address in [("loopback", ("127.0.0.1", port)), ("public", ("1.1.1.1", 80)), ("public-dns", ("8.8.8.8", 53))]:
        try:
            socket.create_connection(address, timeout=3).close()
            out[name] = "connected"
        except OSError as error:
            out[name] = type(error).__name__ + ": " + str(error)
    try:
        socket.getaddrinfo("example.com", 80)
        out["dns"] = "resolved"
    except OSError as error:
        out["dns"] = type(error).__name__
    out["interfaces"] = [name for _, name in socket.if_nameindex()]
    return out
`;
      const seen = completed(await attack(source, pickleArgs(`${port},`)));
      expect(seen.loopback).toMatch(/^ConnectionRefusedError/);
      expect(seen.public).toMatch(/Network is unreachable/);
      expect(seen["public-dns"]).toMatch(/Network is unreachable/);
      expect(seen.dns).toBe("gaierror");
      expect(seen.interfaces).toEqual(["lo"]);
    });
  });

  describe("the file system", () => {
    it("nothing of the host to read: /etc, the repository, this process's directory, home directories", async () => {
      const paths = ["/etc/passwd", "/etc/shadow", "/etc/hostname", resolve(packageRoot, "README.md"), resolve(packageRoot, "package.json"), join(process.cwd(), "package.json"), "/root/.bashrc", "/proc/1/environ", "/proc/1/mem"];
      const source = `
import os
def probe(paths, directories):
    out = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                out[path] = "read: " + repr(f.read(40))
        except OSError as error:
            out[path] = type(error).__name__
    for path in directories:
        try:
            out[path] = sorted(os.listdir(path))
        except OSError as error:
            out[path] = type(error).__name__
    return out
`;
      const directories = ["/", "/usr/bin", "/etc", packageRoot, process.cwd(), "/home", scratch];
      const seen = completed(await attack(source, pickleArgs(`${JSON.stringify(paths)}, ${JSON.stringify(directories)}`)));
      for (const path of paths) expect(seen[path], path).toMatch(/^(FileNotFoundError|PermissionError)$/);
      // /proc/1 is the zygote's main: it exists but is not dumpable, so its memory and environment are refused.
      expect(seen["/proc/1/environ"]).toBe("PermissionError");
      // The jail's root: the interpreter's tree, its loader's symlinks (/lib, /lib64 on a merged-/usr system) and the jail's own.
      expect(seen["/"]).toEqual(expect.arrayContaining(["dev", "faaslab", "proc", "tmp", "usr"]));
      for (const name of seen["/"]) expect(["dev", "faaslab", "proc", "tmp", "usr", "lib", "lib32", "lib64", "libx32"]).toContain(name);
      expect(seen["/usr/bin"]).toHaveLength(1);
      expect(seen["/usr/bin"][0]).toMatch(/^python3\.\d+$/);
      for (const path of directories.slice(2)) expect(seen[path], path).toBe("FileNotFoundError");
    });

    it("no program but the interpreter: no ELF executable or shell anywhere in the jail", async () => {
      const source = `
import os, stat
def probe():
    programs = []
    for root, dirs, files in os.walk("/"):
        if root == "/proc" or root.startswith("/proc/"):
            dirs[:] = []
            continue
        for name in files:
            path = os.path.join(root, name)
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISREG(mode) and mode & 0o111:
                    with open(path, "rb") as f:
                        if f.read(4) == b"\\x7fELF" and ".so" not in name:
                            programs.append(path)
            except OSError:
                pass
    return {"programs": programs, "sh": os.path.exists("/bin/sh"), "env": os.path.exists("/usr/bin/env")}
`;
      const seen = completed(await attack(source));
      expect(seen.programs).toHaveLength(1);
      expect(seen.programs[0]).toMatch(/^\/usr\/bin\/python3\.\d+$/);
      expect(seen.sh).toBe(false);
      expect(seen.env).toBe(false);
    });

    it("no writes outside /tmp, and /tmp is bounded: a file at most 16 MiB, all of it 64 MiB", async () => {
      const source = `
import os
def probe(host_paths):
    out = {}
    for path in ["/x", "/usr/x", "/faaslab/zygote.py", "/usr/lib/python3.11/os.py", "/dev/x", "/proc/sys/kernel/hostname", "/lib/x"] + host_paths:
        try:
            with open(path, "a") as f:
                f.write("x")
            out[path] = "written"
        except OSError as error:
            out[path] = type(error).__name__ + ": " + (error.strerror or "")
    with open("/tmp/small", "w") as f:
        f.write("fine")
    out["/tmp/small"] = open("/tmp/small").read()
    try:
        with open("big", "wb") as f:
            f.write(b"x" * (20 * 1024 * 1024))
        out["big"] = "written"
    except OSError as error:
        out["big"] = error.strerror
    try:
        for n in range(6):
            with open("part-%d" % n, "wb") as f:
                f.write(b"x" * (15 * 1024 * 1024))
        out["parts"] = "written"
    except OSError as error:
        out["parts"] = error.strerror
    return out
`;
      const hostPaths = [marker, resolve(packageRoot, "README.md")];
      const seen = completed(await attack(source, pickleArgs(`${JSON.stringify(hostPaths)},`)));
      // Refused by the read-only root, or before that by the files' permissions (they belong to root).
      for (const path of ["/x", "/usr/x", "/faaslab/zygote.py", "/usr/lib/python3.11/os.py", "/dev/x", "/lib/x"]) expect(seen[path], path).toMatch(/^(OSError: Read-only file system|PermissionError: Permission denied)$/);
      expect(seen["/proc/sys/kernel/hostname"]).toMatch(/^(OSError: Read-only file system|PermissionError: Permission denied)$/);
      for (const path of hostPaths) expect(seen[path], path).toBe("FileNotFoundError: No such file or directory");
      expect(seen["/tmp/small"]).toBe("fine");
      expect(seen.big).toBe("File too large");
      expect(seen.parts).toBe("No space left on device");
    });

    it("files one task writes in /tmp are gone for the next", async () => {
      const writer = `
import os
def write():
    with open("/tmp/left-behind", "w") as f:
        f.write("secret")
    with open("own-directory-file", "w") as f:
        f.write("secret")
    os.mkdir("/tmp/locked")
    with open("/tmp/locked/inside", "w") as f:
        f.write("secret")
    os.chmod("/tmp/locked", 0)
    os.symlink("/usr", "/tmp/link-to-usr")
    os.mkfifo("/tmp/fifo")
    here = os.getcwd()
    os.mkdir("/tmp/deep")
    os.chdir("/tmp/deep")
    for _ in range(1500):  # a tree deeper than PATH_MAX (4096): 7500 characters
        os.mkdir("dddd")
        os.chdir("dddd")
    with open("bottom", "w") as f:
        f.write("secret")
    os.chdir(here)
    return [here, sorted(os.listdir("/tmp"))]
`;
      const [cwd, written] = completed(await attack(writer));
      expect(cwd).toMatch(/^\/tmp\/task-/);
      expect(written).toEqual([cwd.slice(5), "deep", "fifo", "left-behind", "link-to-usr", "locked"].sort());
      const reader = `
import os
def read(paths):
    found = []
    for root, dirs, files in os.walk("/tmp"):
        found.extend(os.path.join(root, name) for name in dirs + files)
    out = {"found": [path for path in found if not path.startswith(os.getcwd())]}
    for path in paths:
        out[path] = os.path.exists(path)
    return out
`;
      const paths = ["/tmp/left-behind", `${cwd}/own-directory-file`, "/tmp/locked", "/tmp/deep", "/tmp/fifo", "/tmp/link-to-usr"];
      const seen = completed(await attack(reader, pickleArgs(`${JSON.stringify(paths)},`)));
      expect(seen).toEqual({ found: [], ...Object.fromEntries(paths.map((path) => [path, false])) });
      // Removing the link did not follow it.
      expect(completed(await attack("import os\n\ndef f():\n    return os.path.exists('/usr/bin')\n"))).toBe(true);
    });

    it("a file a task leaves in /tmp while another task runs is gone once the tasks that ran alongside it have ended", async () => {
      const holder = pool.run(task("import time\n\ndef hold():\n    time.sleep(1.2)\n    return 'held'\n"), 15_000);
      await waitFor(() => leftovers(jail).length === 1, { what: "the other task's child to run" });
      expect(completed(await attack("def stray():\n    open('/tmp/stray', 'w').write('secret')\n    return 'left'\n"))).toBe("left");
      expect(completed(await holder)).toBe("held");
      expect(completed(await attack("import os\n\ndef look():\n    return os.path.exists('/tmp/stray')\n"))).toBe(false);
    });
  });

  describe("the environment and the user", () => {
    it("an empty environment (none of this process's, where the secret is), uid 65534, no capabilities, no new privileges", async () => {
      expect(process.env[SECRET_NAME]).toBe(SECRET);
      const source = `
import os
def probe():
    def read(path):
        try:
            return open(path, "rb").read().decode()
        except OSError as error:
            return type(error).__name__
    status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
    return {
        "environ": dict(os.environ),
        "proc_environ": read("/proc/self/environ"),
        "uid": [os.getuid(), os.geteuid(), os.getgid()],
        "caps": [status["CapEff"].strip(), status["CapPrm"].strip(), status["CapBnd"].strip()],
        "no_new_privs": status["NoNewPrivs"].strip(),
        "seccomp": status["Seccomp"].strip(),
        "hostname": os.uname().nodename,
    }
`;
      const seen = completed(await attack(source));
      expect(seen.environ).toEqual({});
      // A task's process is not dumpable (so that no other task can read it), which makes its own /proc files root's.
      expect(seen.proc_environ).toMatch(/^(|PermissionError)$/);
      expect(seen.uid).toEqual([65534, 65534, 65534]);
      expect(seen.caps).toEqual(["0000000000000000", "0000000000000000", "0000000000000000"]);
      expect(seen.no_new_privs).toBe("1");
      expect(seen.seccomp).toBe("0"); // no seccomp filter: README, "What is not protected"
      expect(seen.hostname).toBe("faaslab");
    });
  });

  describe("programs and processes", () => {
    it("os.system, subprocess and exec find no shell; the interpreter itself runs only inside the jail", async () => {
      const source = `
import os, subprocess, sys
def probe(marker):
    out = {"system": os.system("touch %s" % marker)}
    for name, command in [("sh", ["sh", "-c", "touch " + marker]), ("bin_sh", ["/bin/sh", "-c", "true"]), ("touch", ["touch", marker])]:
        try:
            out[name] = subprocess.run(command).returncode
        except OSError as error:
            out[name] = type(error).__name__
    python = subprocess.run([sys.executable, "-c", "open(%r, 'w')" % marker], capture_output=True)
    out["python"] = [python.returncode, python.stderr.decode().strip().splitlines()[-1]]
    pid = os.fork()
    if pid == 0:
        try:
            os.execv("/bin/sh", ["sh", "-c", "touch " + marker])
        finally:
            os._exit(99)
    out["execv"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return out
`;
      const seen = completed(await attack(source, pickleArgs(`${JSON.stringify(marker)},`)));
      expect(seen.system).toBe(127 << 8);
      expect(seen.sh).toBe("FileNotFoundError");
      expect(seen.bin_sh).toBe("FileNotFoundError");
      expect(seen.touch).toBe("FileNotFoundError");
      expect(seen.python[0]).toBe(1);
      expect(seen.python[1]).toMatch(/^FileNotFoundError/);
      expect(seen.execv).toBe(99);
    });

    it("a fork bomb is bounded by RLIMIT_NPROC, and none of its processes outlives the task", async () => {
      const source = `
import os, resource, time
def bomb():
    forked, error = 0, None
    try:
        while forked < 10000:
            if os.fork() == 0:
                try:
                    os.setsid()  # out of the task's process group
                    while True:
                        try:
                            os.fork()
                        except OSError:
                            time.sleep(0.01)
                finally:
                    os._exit(0)
            forked += 1
    except OSError as e:
        error = e.strerror
    return {"forked": forked, "error": error, "limit": resource.getrlimit(resource.RLIMIT_NPROC)}
`;
      const seen = completed(await attack(source));
      const limit = 3 + EXECUTORS + TASK_PROCESSES; // main, the forker, the spare, one child per executor, and the tasks' own
      expect(seen.limit).toEqual([limit, limit]);
      expect(seen.error).toBe("Resource temporarily unavailable");
      expect(seen.forked).toBeGreaterThan(0);
      expect(seen.forked).toBeLessThanOrEqual(TASK_PROCESSES + EXECUTORS);
    });

    it("a daemon (double fork, its own session) does not outlive the task that started it", async () => {
      const source = `
import os, time
def daemon():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    os.waitpid(pid, 0)
    return "left a daemon"
`;
      expect(completed(await attack(source))).toBe("left a daemon");
    });

    it("the PID namespace shows only the jail; its PID 1 (the zygote's main) survives SIGKILL, a killed or stopped forker is replaced", async () => {
      const source = `
import os, signal
def probe(host_pid):
    out = {"pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()), "self": os.getpid(), "parent": os.getppid()}
    try:
        os.kill(host_pid, 0)
        out["host"] = "visible"
    except OSError as error:
        out["host"] = type(error).__name__
    os.kill(1, signal.SIGKILL)
    os.kill(1, signal.SIGSTOP)
    os.kill(1, signal.SIGTERM)
    os.kill(os.getppid(), signal.SIGSTOP)
    os.kill(1, 0)
    out["main"] = "alive"
    os.kill(os.getppid(), signal.SIGKILL)
    return out
`;
      const seen = completed(await attack(source, pickleArgs(`${process.pid},`)));
      expect(seen.host).toBe("ProcessLookupError");
      expect(seen.main).toBe("alive");
      expect(seen.pids).toContain(1);
      expect(seen.pids.every((pid: number) => pid < 1000)).toBe(true);
      expect(seen.pids.length).toBeLessThanOrEqual(3 + EXECUTORS); // main, the forker, the spare, the tasks' children
      // A forker stopped by the task it forked still reports that task's end, and forks the next.
      expect(completed(await attack("import os, signal\n\ndef stop():\n    os.kill(os.getppid(), signal.SIGSTOP)\n    return 'stopped'\n"))).toBe("stopped");
      expect(completed(await attack("def after():\n    return 'served'\n"))).toBe("served");
      // kill(-1) ends every other process of the jail's user (main, PID 1, is immune).
      const everything = "import os, signal\n\ndef everything():\n    os.kill(-1, signal.SIGKILL)\n    return 'still here'\n";
      expect(completed(await attack(everything))).toBe("still here");
    });

    it.each(["SIGSTOP", "SIGKILL"])("a task that sends %s to the spare child (forked ahead of the next task, beside it) does not harm the task that gets it", async (signal) => {
      const source = `
import os, signal, time
def hit():
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() == "faaslab-idle":
                        os.kill(pid, signal.${signal})
                        return "hit"
            except OSError:
                pass
        time.sleep(0.01)
    return "no spare"
`;
      expect(completed(await attack(source))).toBe("hit");
      // Served by the spare, woken when it is given its task, or by a fresh child: a spare left stopped would fail it at its deadline.
      expect(completed(await attack("def after():\n    return 'served'\n", NO_ARGS, 10_000))).toBe("served");
    });

    it("tasks running at once cannot read each other's memory, environment or files descriptors, nor ptrace them", async () => {
      const holder = pool.run(task("import time\n\ndef hold(secret):\n    time.sleep(1.5)\n    return len(secret)\n", pickleArgs("'held-' + 'x' * 10,")), 15_000);
      await waitFor(() => leftovers(jail).length === 1, { what: "the other task's child to run" });
      const source = `
import ctypes, os
def probe():
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    out = {}
    for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
        if pid == os.getpid():
            continue
        seen = []
        for name in ("mem", "environ", "fd", "maps"):
            try:
                if name == "fd":
                    os.listdir("/proc/%d/fd" % pid)
                else:
                    open("/proc/%d/%s" % (pid, name), "rb").read(1)
                seen.append(name + ": read")
            except OSError as error:
                seen.append(name + ": " + type(error).__name__)
        result = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
        seen.append("ptrace: %d %s" % (result, os.strerror(ctypes.get_errno())))
        out[str(pid)] = seen
    return out
`;
      const seen = completed(await attack(source));
      // main, the forker and the other task's child at least.
      expect(Object.keys(seen).length).toBeGreaterThanOrEqual(3);
      for (const [pid, probes] of Object.entries(seen)) {
        expect(probes, `process ${pid}`).toEqual(["mem: PermissionError", "environ: PermissionError", "fd: PermissionError", "maps: PermissionError", "ptrace: -1 Operation not permitted"]);
      }
      expect(completed(await holder)).toBe(15);
    });
  });

  describe("native code", () => {
    it("ctypes reaches libc, but every way out is refused: namespaces, mounts, setuid, chroot, ptrace", async () => {
      const source = `
import ctypes, os
def probe():
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    def call(function, *args):
        ctypes.set_errno(0)
        result = function(*args)
        return [result, os.strerror(ctypes.get_errno())]
    return {
        "getpid": [libc.getpid(), os.getpid()],
        "unshare_user": call(libc.unshare, 0x10000000),
        "unshare_net": call(libc.unshare, 0x40000000),
        "unshare_mount": call(libc.unshare, 0x00020000),
        "mount": call(libc.mount, b"none", b"/tmp", b"tmpfs", 0, None),
        "remount_root": call(libc.mount, None, b"/", None, 0x21, None),
        "setuid": call(libc.setuid, 0),
        "chroot": call(libc.chroot, b"/tmp"),
        "ptrace_main": call(libc.ptrace, 16, 1, None, None),
        "sethostname": call(libc.sethostname, b"x", 1),
    }
`;
      const seen = completed(await attack(source));
      expect(seen.getpid[0]).toBe(seen.getpid[1]);
      expect(seen.unshare_user[0]).toBe(-1);
      expect(seen.unshare_user[1]).toMatch(/No space left on device|Operation not permitted/); // --disable-userns
      for (const call of ["unshare_net", "unshare_mount", "mount", "remount_root", "chroot", "ptrace_main", "sethostname"]) {
        expect(seen[call], call).toEqual([-1, "Operation not permitted"]);
      }
      // uid 0 does not exist in the jail's user namespace.
      expect(seen.setuid[0]).toBe(-1);
      expect(seen.setuid[1]).toMatch(/^(Invalid argument|Operation not permitted)$/);
    });

    it("a segfault through ctypes ends only its own task, with ExecutorCrashed (RuntimeError)", async () => {
      const outcome = await attack("import ctypes\n\ndef crash():\n    return ctypes.string_at(0)\n");
      expect(failed(outcome)).toMatchObject({ type: "RuntimeError", message: "ExecutorCrashed: the executor died of SIGSEGV while running the task" });
      expect(outcome.executor).toBe("hostile");
    });
  });

  describe("resources", () => {
    it("a memory bomb fails with ResourceLimitExceeded (MemoryError): one allocation too large, and one that grows", async () => {
      for (const source of [
        "def bomb():\n    return len(bytearray(1 << 40))\n",
        "def bomb():\n    blocks = []\n    while True:\n        blocks.append(bytearray(8 * 1024 * 1024))\n",
        "def bomb():\n    items = []\n    while True:\n        items.append([0] * 100000)\n",
      ]) {
        const outcome = await attack(source);
        expect(failed(outcome), source).toMatchObject({ type: "MemoryError", message: `ResourceLimitExceeded: the function ran out of its memory limit of ${MEMORY_MB} MiB (MemoryError)` });
      }
    });

    it("an infinite loop is stopped at its deadline with DeadlineExceeded (TimeoutError): the task's own, or the caller's default", async () => {
      const loop = "def spin():\n    while True:\n        pass\n";
      const started = performance.now();
      const own = await attack(loop, NO_ARGS, 1_000);
      expect(failed(own)).toMatchObject({ type: "TimeoutError", message: "DeadlineExceeded: the task ran past its deadline of 1000 ms and was stopped" });
      expect(performance.now() - started).toBeLessThan(4_000);
      // A task that set no deadline: the dispatcher passes its own default (DISPATCHER_DEFAULTS.taskDeadlineMs, --task-deadline), here 1500 ms.
      const claim: { deadlineMs?: number } = {};
      const taskDeadlineMs = 1_500;
      const byDefault = await pool.run(task("import itertools\n\ndef spin():\n    return sum(itertools.count())\n"), claim.deadlineMs ?? taskDeadlineMs);
      expect(failed(byDefault)).toMatchObject({ type: "TimeoutError", message: "DeadlineExceeded: the task ran past its deadline of 1500 ms and was stopped" });
    });
  });

  describe("payloads whose unpickling runs code", () => {
    it("a __reduce__ that calls os.system or writes a file runs only inside the jail and achieves nothing outside", async () => {
      const made = python(`
import os, builtins
marker = INPUT
class System:
    def __reduce__(self):
        return (os.system, ("touch %s; echo pwned > %s" % (marker, marker),))
class Write:
    def __reduce__(self):
        return (builtins.exec, ("open(%r, 'w').write('pwned')" % marker,))
out = {"system": serialize(System()), "write": serialize(Write())}
`, { input: marker });
      const asFunction = failed(await attack(made.system));
      expect(asFunction).toMatchObject({ type: "ValueError", message: "InvalidFunctionError: the pickle holds int, not a function" });
      const writing = failed(await attack(made.write));
      expect(writing.type).toBe("ValueError");
      expect(writing.message).toMatch(/^InvalidFunctionError: .*FileNotFoundError: \[Errno 2\] No such file or directory/);
      for (const args of [made.system, made.write]) {
        const asArgs = failed(await attack("def f(*a):\n    return a\n", args));
        expect(asArgs.type).toBe("TypeError");
        expect(asArgs.message).toMatch(/^SerializationError: the arguments/);
      }
    });
  });
});
