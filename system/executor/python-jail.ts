/**
 * The jail of the Python executor: what it contains and the bubblewrap command that builds it.
 * The zygote (python/zygote.py) runs in it as PID 1 of its own PID namespace, with:
 *  - no network (a network namespace with only a loopback), its own IPC and UTS namespaces, and
 *    no further user namespaces;
 *  - an empty environment, uid and gid 65534, no capabilities, a new session (no terminal);
 *  - a read-only root holding only the interpreter, the shared libraries it and its standard
 *    extension modules load (found with ldd), its standard library, dill, the zygote, and each
 *    --python-path directory at /python-path/<n>: no shell and no other program, nothing of /etc,
 *    of the repository or of the worker's directory;
 *  - /proc of its own PID namespace, /dev with only null, zero, random and urandom, and a private
 *    /tmp of TMP_BYTES.
 * When this process runs as root, bubblewrap itself is started as uid 65534 (nobody): a jail
 * whose uid maps to root outside would be exempt from RLIMIT_NPROC. The --python-path
 * directories must then be readable by that user.
 */
import { execFile } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { findExecutable } from "../paths.js";

const run = promisify(execFile);

const here = fileURLToPath(import.meta.url);
/** The zygote: the copy in dist/ (scripts/copy-assets.mjs), also when this module runs from source (the tests). */
export const ZYGOTE_FILE = here.endsWith(".ts")
  ? join(dirname(here), "..", "..", "dist", "system", "executor", "python", "zygote.py")
  : join(dirname(here), "python", "zygote.py");

/** Where things are inside the jail. */
export const JAIL_ZYGOTE = "/faaslab/zygote.py";
export const JAIL_SITE = "/faaslab/site";
export const JAIL_PYTHON_PATH = "/python-path";
/** The jail's /tmp, shared by the tasks of one jail (each has its own directory in it). */
export const TMP_BYTES = 64 * 1024 * 1024;
/** The largest file a task may write (RLIMIT_FSIZE). */
export const FILE_BYTES = 16 * 1024 * 1024;
/** The processes and threads the tasks of one jail may start between them (RLIMIT_NPROC, beyond the jail's own). */
export const TASK_PROCESSES = 16;
/** The uid and gid inside the jail, and of bubblewrap itself when this process is root. */
export const JAIL_UID = 65534;

/** The interpreter the executor uses unless told: Debian's, which has dill, or else `python3` on PATH. */
export function defaultPython(): string {
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}


/** What the interpreter needs in the jail, found on the host (describe runs only our own code). */
export interface JailContents {
  executable: string;
  version: string;
  dillVersion: string;
  /** Read-only binds, host path and jail path. */
  binds: { source: string; target: string }[];
  /** Symlinks to recreate in the jail (e.g. /lib64 -> usr/lib64, as the interpreter's loader path needs). */
  symlinks: { target: string; path: string }[];
  bwrap: string;
}

const cache = new Map<string, Promise<JailContents>>();

/** The jail's contents for one interpreter, found once per process; rejects with a message saying what is missing. */
export function jailContents(python: string): Promise<JailContents> {
  let found = cache.get(python);
  if (!found) {
    found = findContents(python);
    cache.set(python, found);
    found.catch(() => cache.delete(python)); // a later attempt may succeed (dill installed meanwhile)
  }
  return found;
}

async function findContents(python: string): Promise<JailContents> {
  const interpreter = findExecutable(python);
  if (!interpreter) throw new Error(`there is no Python interpreter ${python}`);
  const bwrap = findExecutable("bwrap") ?? (existsSync("/usr/bin/bwrap") ? "/usr/bin/bwrap" : undefined);
  if (!bwrap) throw new Error("bubblewrap (bwrap) is not installed, and the Python executor runs in its jail");
  if (!existsSync(ZYGOTE_FILE)) throw new Error(`the zygote ${ZYGOTE_FILE} is missing (npm run build copies it)`);
  let described: { executable: string; version: string; stdlib: string[]; dynload: string; dill: string; dillVersion: string };
  try {
    const { stdout } = await run(interpreter, ["-I", ZYGOTE_FILE, "describe"], { env: {}, timeout: 30_000 });
    described = JSON.parse(stdout);
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? "").trim().split("\n").pop() ?? "";
    throw new Error(`${interpreter} cannot run the executor (it needs dill: python3 -m pip install dill, or apt install python3-dill)${stderr ? `: ${stderr}` : ""}`);
  }
  const binds = new Map<string, string>(); // target -> source
  const symlinks = new Map<string, string>(); // path -> target
  const add = (hostPath: string) => {
    // The jail mirrors the host's real paths; a top-level symlink on the way (/lib64 ->
    // usr/lib64 on a merged-/usr system) is recreated, so that the path itself still resolves.
    const top = `/${hostPath.split("/")[1]}`;
    if (lstatSync(top).isSymbolicLink()) symlinks.set(top, readlinkSync(top));
    binds.set(join(realpathSync(dirname(hostPath)), basename(hostPath)), realpathSync(hostPath));
  };
  add(described.executable);
  for (const lib of await sharedLibraries([described.executable, described.dynload])) add(lib);
  for (const dir of described.stdlib) binds.set(dir, dir);
  if (!described.stdlib.some((dir) => described.dynload.startsWith(`${dir}/`))) binds.set(described.dynload, described.dynload);
  binds.set(`${JAIL_SITE}/${basename(described.dill)}`, described.dill);
  return {
    executable: described.executable,
    version: described.version,
    dillVersion: described.dillVersion,
    binds: [...binds].map(([target, source]) => ({ source, target })),
    symlinks: [...symlinks].map(([path, target]) => ({ path, target })),
    bwrap,
  };
}

/** Every shared library the interpreter and its extension modules (the .so files in `dynload`) load, as ldd resolves them. */
async function sharedLibraries([executable, dynload]: string[]): Promise<string[]> {
  const { readdirSync } = await import("node:fs");
  const modules = readdirSync(dynload).filter((name) => name.endsWith(".so")).map((name) => join(dynload, name));
  let stdout: string;
  try {
    ({ stdout } = await run("ldd", [executable, ...modules], { env: {}, maxBuffer: 16 * 1024 * 1024, timeout: 30_000 }));
  } catch (error) {
    // ldd exits non-zero when one of many files is not dynamic; what it printed still counts.
    stdout = String((error as { stdout?: string }).stdout ?? "");
    if (!stdout) throw new Error(`ldd could not list the interpreter's shared libraries: ${(error as Error).message}`);
  }
  const libraries = new Set<string>();
  for (const line of stdout.split("\n")) {
    const resolved = /=>\s+(\/\S+)\s+\(/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (resolved) libraries.add(resolved[1]);
  }
  if (libraries.size === 0) throw new Error(`ldd found no shared libraries of ${executable}`);
  return [...libraries].sort();
}

/**
 * Why uid 65534 (the jail's user, and bubblewrap's when this process is root) could not read
 * the modules in `dir`, or undefined when it can: every directory above it must let others
 * search it, and the directory itself let them list it too.
 */
export function unreadableByJail(dir: string): string | undefined {
  const path = resolve(dir);
  const canUse = (at: string, bits: number) => {
    const info = statSync(at);
    if (info.uid === JAIL_UID) return (info.mode & (bits << 6)) === bits << 6;
    if (info.gid === JAIL_UID) return (info.mode & (bits << 3)) === bits << 3;
    return (info.mode & bits) === bits;
  };
  try {
    for (let at = dirname(path); ; at = dirname(at)) {
      if (!canUse(at, 0o1)) return `${at} does not let others search it`;
      if (at === dirname(at)) break;
    }
    if (!statSync(path).isDirectory()) return `${path} is not a directory`;
    if (!canUse(path, 0o5)) return `${path} does not let others read it`;
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/** What the zygote is told at start (python/zygote.py reads it). */
export interface ZygoteConfig {
  executors: number;
  memoryMb: number;
  maxResultBytes: number;
  pythonPath: string[];
  site: string;
  fileBytes: number;
  processes: number;
}

/** The bubblewrap arguments of one jail running the zygote, and how to spawn bubblewrap. */
export function jailCommand(contents: JailContents, options: { executors: number; memoryMb: number; maxResultBytes: number; pythonPath: string[] }): {
  file: string;
  args: string[];
  uid: number | undefined;
} {
  const config: ZygoteConfig = {
    executors: options.executors,
    memoryMb: options.memoryMb,
    maxResultBytes: options.maxResultBytes,
    pythonPath: options.pythonPath.map((_, n) => `${JAIL_PYTHON_PATH}/${n}`),
    site: JAIL_SITE,
    fileBytes: FILE_BYTES,
    // The jail's own three processes (main, the forker, the spare child), one child per executor, and what the tasks may start.
    processes: 3 + options.executors + TASK_PROCESSES,
  };
  const args = [
    "--unshare-all", "--unshare-user", "--disable-userns",
    "--die-with-parent", "--new-session", "--as-pid-1",
    "--hostname", "faaslab",
    "--clearenv",
    "--uid", String(JAIL_UID), "--gid", String(JAIL_UID),
  ];
  for (const { path, target } of contents.symlinks) args.push("--symlink", target, path);
  for (const { source, target } of contents.binds) args.push("--ro-bind", source, target);
  args.push("--ro-bind", realpathSync(ZYGOTE_FILE), JAIL_ZYGOTE);
  options.pythonPath.forEach((dir, n) => args.push("--ro-bind", resolve(dir), `${JAIL_PYTHON_PATH}/${n}`));
  args.push("--proc", "/proc");
  for (const device of ["null", "zero", "random", "urandom"]) args.push("--dev-bind", `/dev/${device}`, `/dev/${device}`);
  args.push("--size", String(TMP_BYTES), "--tmpfs", "/tmp");
  args.push("--remount-ro", "/");
  args.push("--chdir", "/tmp");
  args.push("--", contents.executable, "-I", "-S", "-B", JAIL_ZYGOTE, "main", JSON.stringify(config));
  return { file: contents.bwrap, args, uid: process.getuid?.() === 0 ? JAIL_UID : undefined };
}
