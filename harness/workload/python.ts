/**
 * Python in the workload: what a Python task's outcome is in the form the checkers compare,
 * and the oracle of a `.py` function file.
 *
 * A Python task's `result` is base64 of a dill pickle: its return value when COMPLETED, the
 * exception it raised when FAILED. The driver records it as a JavaScript task's would be, so
 * the checkers stay runtime-blind: a value as the codec text of the plain data it unpickles
 * to, an exception as an Error with the exception's name and message, and faaslab's own
 * errors (a `RuntimeError("WorkerLost: …")`) under faaslab's name (`WorkerLost`), as a
 * JavaScript task has them. Nothing is unpickled by running it: `unpickledData` reads plain
 * data only.
 *
 * The oracle runs the file with the OS's CPython (never faaslab's jail) in a child process,
 * and its outcomes go through the same normalization, so expected and observed are compared
 * in one form.
 */
import { runOracleChild } from "./oracle-child.js";
import { serialize } from "../../system/codec/index.js";
import { PYTHON_EXCEPTION_FOR, PythonException, PythonObject, unpickledData } from "../../system/codec/pickle.js";
import { defaultPython } from "../../system/executor/python-jail.js";
import type { TaskErrorName } from "../../system/task.js";
import type { Runtime } from "../../system/runtimes.js";
import type { Expected } from "../history/history.js";
import { ScenarioError } from "../scenario/load.js";
import { shown } from "../scenario/schema.js";

/** An Error as the codec carries it, with a given name and message and no stack. */
function errorText(name: string, message: string): string {
  const error = new Error(message);
  Object.defineProperty(error, "name", { value: name, writable: true, configurable: true, enumerable: false });
  delete (error as { stack?: string }).stack;
  return serialize(error);
}

/** A Python exception's name and message, with faaslab's errors under faaslab's name ("WorkerLost: …" in a RuntimeError is WorkerLost). */
export function pythonError(exception: PythonException): { name: string; message: string } {
  const match = /^([A-Za-z]+): ([\s\S]*)$/.exec(exception.message);
  if (match && Object.hasOwn(PYTHON_EXCEPTION_FOR, match[1]) && PYTHON_EXCEPTION_FOR[match[1] as TaskErrorName] === exception.name) {
    return { name: match[1], message: match[2] };
  }
  return { name: exception.name, message: exception.message };
}

/** Whether a value unpickled from Python is plain data all through (no object of a class it cannot read). */
function plain(value: unknown, seen = new Set<unknown>()): boolean {
  if (value instanceof PythonObject || value instanceof PythonException) return false;
  if (typeof value !== "object" || value === null || seen.has(value)) return true;
  seen.add(value);
  const items = value instanceof Map ? [...value.keys(), ...value.values()] : value instanceof Set ? [...value] : Buffer.isBuffer(value) ? [] : Object.values(value);
  return items.every((item) => plain(item, seen));
}

/** A Python return value (a pickle's base64) as codec text, or why it cannot be compared as plain data. */
function pythonValue(result: string): { text: string } | { why: string } {
  let value: unknown;
  try {
    value = unpickledData(result);
  } catch (error) {
    return { why: `a Python result the harness cannot read (${(error as Error).message})` };
  }
  if (!plain(value)) return { why: `a Python value that is not plain data (${value instanceof PythonObject ? value.pythonClass : "it holds an object"})` };
  try {
    return { text: serialize(value) };
  } catch (error) {
    return { why: `a Python value the codec cannot carry (${(error as Error).message})` };
  }
}

/**
 * What the history records as a task's result: a JavaScript task's as it is; a Python task's
 * as the codec text the checkers compare (see above). A Python value that is not plain data
 * is recorded as a description in parentheses, which no expected value equals.
 */
export function observedResult(runtime: Runtime, status: string, result: string | null | undefined): string | null | undefined {
  if (runtime !== "python" || typeof result !== "string") return result;
  if (status !== "FAILED") {
    const value = pythonValue(result);
    return "text" in value ? value.text : `(${value.why})`;
  }
  let error: unknown;
  try {
    error = unpickledData(result);
  } catch (problem) {
    return errorText("(unreadable)", `a Python exception the harness cannot read: ${(problem as Error).message}`);
  }
  if (error instanceof PythonException) {
    const { name, message } = pythonError(error);
    return errorText(name, message);
  }
  return errorText("(unreadable)", `a FAILED Python task's result is not an exception: ${error instanceof PythonObject ? error.pythonClass : typeof error}`);
}

/**
 * The child's program, given to `python3 -c`. It reads the file's path, source and the
 * argument lists (JSON) from stdin, runs the source as a fresh `__main__` would (as the
 * executor does), takes the one function it defines, calls it with each list in turn, and
 * writes one outcome a line (JSON) to stdout: a return value or a raised exception as base64
 * of a pickle, read back as the executor's results are. What the function prints goes to
 * stderr.
 */
const CHILD = `
import base64, json, pickle, sys, types
out = sys.stdout
sys.stdout = sys.stderr
request = json.loads(sys.stdin.read())
def send(outcome):
    out.write(json.dumps(outcome) + "\\n")
    out.flush()
namespace = {"__name__": "__main__", "__builtins__": __builtins__}
try:
    exec(compile(request["source"], request["file"], "exec", dont_inherit=True), namespace)
except BaseException as error:
    send({"type": "invalid", "reason": "%s: %s" % (type(error).__name__, error)})
    sys.exit(0)
functions = [v for v in namespace.values() if isinstance(v, types.FunctionType) and v.__code__.co_filename == request["file"]]
if len(functions) != 1:
    send({"type": "invalid", "reason": "it must define exactly one function, and it defines %d" % len(functions)})
    sys.exit(0)
function = functions[0]
for args in request["args"]:
    try:
        value = function(*args)
        kind = "ok"
    except Exception as error:
        value = error
        kind = "raised"
    try:
        send({"type": kind, "pickle": base64.b64encode(pickle.dumps(value)).decode("ascii")})
    except Exception as error:
        if kind == "raised":
            send({"type": "raised-unpicklable", "name": type(value).__name__, "message": str(value)})
        else:
            send({"type": "unpicklable", "reason": "%s: %s" % (type(error).__name__, error)})
sys.exit(0)
`;

type ChildOutcome =
  | { type: "ok" | "raised"; pickle: string }
  | { type: "raised-unpicklable"; name: string; message: string }
  | { type: "unpicklable"; reason: string }
  | { type: "invalid"; reason: string };

/**
 * The expected outcome of each argument list of a `.py` file, from its function run by the
 * OS's CPython (`interpreter`, default /usr/bin/python3) in a child process, outside faaslab.
 * Refuses, naming the file, what it cannot tell: a file that does not define one function, a
 * value that is not plain data, a run over `timeoutMs`.
 */
export async function pythonOracle(
  name: string, file: string, source: string, argLists: readonly unknown[][], timeoutMs: number, interpreter = defaultPython(),
): Promise<Expected[]> {
  const giveExpect = "give its outcomes in the scenario instead (expect: beside args)";
  const call = (i: number) => `the call with arguments ${shown(argLists[i])}`;
  let input: string;
  try {
    input = JSON.stringify({ file, source, args: argLists });
  } catch (error) {
    throw new ScenarioError(`${name}: its arguments cannot be given to Python (${(error as Error).message})`);
  }
  const { outcomes, stderr, timedOut, exit, spawnError } = await runOracleChild(
    interpreter, ["-I", "-c", CHILD], { env: {} }, input, (line) => JSON.parse(line) as ChildOutcome, timeoutMs,
  );
  if (spawnError) throw new ScenarioError(`${name}: its expected results need ${interpreter}, which cannot be run (${spawnError.message}); ${giveExpect}`);

  if (outcomes[0]?.type === "invalid") throw new ScenarioError(`${name} does not hold one Python function: ${outcomes[0].reason}`);
  if (outcomes.length < argLists.length) {
    const at = outcomes.length;
    const output = stderr.trim() ? `; its output:\n${stderr.trim()}` : "";
    if (timedOut) throw new ScenarioError(`${name}: computing its expected results took longer than ${timeoutMs / 1000} s (${call(at)} had not returned): fix the function, or ${giveExpect}`);
    throw new ScenarioError(`${name}: computing its expected results with ${interpreter} stopped at ${call(at)}: the process ended with ${exit.signal ?? `exit code ${exit.code}`}${output}`);
  }
  return outcomes.map((outcome, i): Expected => {
    switch (outcome.type) {
      case "ok": {
        const value = pythonValue(outcome.pickle);
        if ("why" in value) throw new ScenarioError(`${name}: ${call(i)} returns ${value.why}; ${giveExpect}`);
        return { ok: true, value: value.text };
      }
      case "raised": {
        const error = unpickledData(outcome.pickle);
        if (!(error instanceof PythonException)) {
          throw new ScenarioError(`${name}: ${call(i)} raises an exception of a class the harness cannot read (${error instanceof PythonObject ? error.pythonClass : typeof error}); ${giveExpect}`);
        }
        return { ok: false, ...pythonError(error) };
      }
      case "raised-unpicklable":
        throw new ScenarioError(`${name}: ${call(i)} raises ${outcome.name}(${JSON.stringify(outcome.message)}), which does not pickle; ${giveExpect}`);
      case "unpicklable":
        throw new ScenarioError(`${name}: ${call(i)} returns a value that does not pickle (${outcome.reason}); ${giveExpect}`);
      case "invalid":
        throw new ScenarioError(`${name} does not hold one Python function: ${outcome.reason}`);
    }
  });
}
