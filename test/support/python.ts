/**
 * Python payloads for the Python executor's tests, made and read by a real interpreter with dill
 * (Debian's /usr/bin/python3 and python3-dill), as an MPCSFaaS client would: serialize(fn),
 * serialize(((args...), {kwargs})) and deserialize(result), where serialize is
 * base64(dill.dumps(x)). Results are described as JSON: {type, repr, value?, message?}.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { expect } from "vitest";
import type { ExecutorOutcome } from "../../system/executor/contract.js";

export const PYTHON = "/usr/bin/python3";

/**
 * Whether this machine has what the Python executor needs: the interpreter with dill, and
 * bubblewrap. Under CI (which installs them) a machine without them fails the tests rather
 * than skipping them.
 */
export function pythonPrerequisites(): { ok: boolean; why: string } {
  const found = findPrerequisites();
  if (!found.ok && process.env.CI) throw new Error(`CI runs the Python tests, and this machine cannot: ${found.why}`);
  return found;
}

function findPrerequisites(): { ok: boolean; why: string } {
  if (!existsSync(PYTHON)) return { ok: false, why: `${PYTHON} is not installed` };
  if (!existsSync("/usr/bin/bwrap")) return { ok: false, why: "bubblewrap (/usr/bin/bwrap) is not installed" };
  try {
    execFileSync(PYTHON, ["-c", "import dill"], { stdio: "ignore" });
  } catch {
    return { ok: false, why: `${PYTHON} has no dill (apt install python3-dill)` };
  }
  return { ok: true, why: "" };
}

const PRELUDE = `
import base64, json, sys
import dill
def serialize(x, **options):
    return base64.encodebytes(dill.dumps(x, **options)).decode("ascii")
def describe(value):
    out = {"type": type(value).__name__, "repr": repr(value)}
    if isinstance(value, BaseException):
        out["message"] = str(value)
        out["module"] = type(value).__module__
    else:
        try:
            json.dumps(value)
            out["value"] = value
        except (TypeError, ValueError):
            pass
    return out
`;

/**
 * Runs `code` in the test's interpreter (outside any jail) after the prelude above, with `sys.path`
 * extended by `path`; `code` sets `out`, which comes back as JSON.
 */
export function python(code: string, options: { path?: string[]; input?: unknown } = {}): any {
  const script = `${PRELUDE}\nsys.path[:0] = ${JSON.stringify(options.path ?? [])}\nINPUT = json.loads(sys.stdin.read() or "null")\n${code}\nprint(json.dumps(out))`;
  const stdout = execFileSync(PYTHON, ["-c", script], { input: JSON.stringify(options.input ?? null), env: { PATH: "/usr/bin:/bin" }, maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout.toString("utf8"));
}

/** serialize(fn) of the function `name` that `source` defines (in __main__, so dill pickles it by value). */
export function pickleFunction(source: string, name: string, options: { recurse?: boolean } = {}): string {
  return python(`exec(INPUT, globals())\nout = serialize(globals()[${JSON.stringify(name)}], recurse=${options.recurse ? "True" : "False"})`, { input: source });
}

/** serialize(fn) of `module.name` imported from `path` (so dill pickles it by reference to its module). */
export function pickleFunctionByReference(path: string[], module: string, name: string): string {
  return python(`import importlib\nout = serialize(getattr(importlib.import_module(${JSON.stringify(module)}), ${JSON.stringify(name)}))`, { path });
}

/** serialize(((args...), {kwargs})), both given as Python expressions. */
export function pickleArgs(args = "()", kwargs = "{}"): string {
  return python(`out = serialize(((${args}), (${kwargs})))`);
}

/** serialize(value) of a Python expression, run after `setup` (for payloads that are not arguments). */
export function pickleValue(expression: string, setup = ""): string {
  return python(`${setup}\nout = serialize(${expression})`);
}

/** `((), {})` pickled: the arguments of a function that takes none. */
export const NO_ARGS = Buffer.from([0x80, 2, 0x29, 0x7d, 0x86, 0x2e]).toString("base64");

export interface Described {
  type: string;
  repr: string;
  value?: any;
  message?: string;
  module?: string;
}

/** deserialize(result), described. */
export function unpickle(result: string, path: string[] = []): Described {
  return python("out = describe(dill.loads(base64.b64decode(INPUT)))", { input: result, path });
}

/** The value of a COMPLETED outcome. */
export function completed(outcome: ExecutorOutcome): any {
  expect(outcome.status, `the task failed: ${outcome.status === "FAILED" ? unpickle(outcome.result).repr : ""}`).toBe("COMPLETED");
  const described = unpickle(outcome.result);
  expect(described, `the result is not JSON: ${described.repr}`).toHaveProperty("value");
  return described.value;
}

/** The exception of a FAILED outcome: its built-in type and message. */
export function failed(outcome: ExecutorOutcome): Described {
  expect(outcome.status, `the task completed: ${outcome.status === "COMPLETED" ? unpickle(outcome.result).repr : ""}`).toBe("FAILED");
  return unpickle(outcome.result);
}

/** Every process descended from `root` (from /proc): its parent, state (Z for a zombie) and command line. */
export function descendantsOf(root: number): { pid: number; ppid: number; state: string; cmdline: string }[] {
  const table = new Map<number, { ppid: number; state: string }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const [state, ppid] = readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1].split(" ");
      table.set(Number(name), { ppid: Number(ppid), state });
    } catch {
      // gone meanwhile
    }
  }
  const found: { pid: number; ppid: number; state: string; cmdline: string }[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, { ppid, state }] of table) {
      if (ppid !== parent) continue;
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      } catch {
        // gone meanwhile
      }
      found.push({ pid, ppid, state, cmdline });
      queue.push(pid);
    }
  }
  return found;
}

/**
 * The processes of a jail that run or ran a task's code: all but its own, the zygote's main
 * (bubblewrap's child, PID 1 inside), one forker (main's child) and the forker's children that
 * have no task yet (the spare, forked ahead of the next task, and a child being born; a child
 * is named faaslab-task once it has its task). `bwrapPid` is PythonPool.jailPid.
 */
export function leftovers(bwrapPid: number): { pid: number; ppid: number; state: string; cmdline: string }[] {
  const { all, main, forker } = jailProcesses(bwrapPid);
  const waiting = (p: { pid: number; ppid: number }) => forker !== undefined && p.ppid === forker.pid && nameOf(p.pid) !== "faaslab-task";
  return all.filter((p) => p !== main && p !== forker && !waiting(p));
}

/** The jail's spare child once it waits for its task (named faaslab-idle); undefined until then. */
export function spareOf(bwrapPid: number): number | undefined {
  const { all, forker } = jailProcesses(bwrapPid);
  return all.find((p) => forker !== undefined && p.ppid === forker.pid && nameOf(p.pid) === "faaslab-idle")?.pid;
}

/** Every process of a jail, and which are the zygote's main (bubblewrap's child) and its forker. */
function jailProcesses(bwrapPid: number) {
  const all = descendantsOf(bwrapPid);
  const main = all.find((p) => p.ppid === bwrapPid && / main /.test(p.cmdline));
  const forker = all.find((p) => main !== undefined && p.ppid === main.pid && / forker /.test(p.cmdline));
  return { all, main, forker };
}

function nameOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Whether a process is gone (a zombie, exited but not yet reaped, counts as gone). */
export function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].startsWith("Z");
  } catch {
    return true;
  }
}
