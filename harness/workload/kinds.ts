/**
 * The kinds of task a workload mixes, each with its function's source (JavaScript or
 * Python), its arguments drawn from the run's seeded randomness, and the result the harness
 * expects.
 *
 * The expectations come from outside the system under test. A user function from a file has
 * them from the scenario (`expect`), or else from the oracle: the file's function evaluated
 * with plain Node in a child process of its own, never by faaslab's sandbox, so that a bug in
 * the sandbox cannot pass its own check. Only the encoding is shared: the outcomes come back
 * as devalue text and are turned into codec text with the codec's `serialize`, which is what
 * results are compared as.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseDevalue, stringify as stringifyDevalue } from "devalue";
import { serialize } from "../../system/codec/index.js";
import type { Expected } from "../history/history.js";
import type { Random } from "../random.js";
import { ScenarioError } from "../scenario/load.js";
import { runOracleChild } from "./oracle-child.js";
import { shown, type Expectation, type Scenario, type ScenarioRuntime, type TaskKind } from "../scenario/schema.js";
import type { Runtime } from "../../system/runtimes.js";
import { pythonOracle } from "./python.js";

export interface TaskTemplate {
  /**
   * Identifies the registered function, one per kind and runtime (and file): noop, sleep,
   * cpu, throw for JavaScript, noop/python… for Python, function:<path> for a file. The
   * history and the schedule name a task's kind by it (see `kindOf`).
   */
  key: string;
  name: string;
  source: string;
  /** The language of `source`: how the driver registers and submits it, and reads its results. */
  runtime: Runtime;
  /** Its relative frequency in the phase's mix. */
  weight: number;
  /** Draws one task's arguments and its expected outcome. */
  draw(random: Random): { args: unknown[]; expected: Expected };
}

/** The runtime of a function file: Python for a .py file, else JavaScript. */
export function fileRuntime(file: string): Runtime {
  return file.endsWith(".py") ? "python" : "javascript";
}

/** The runtimes a built-in kind runs in under `cluster.runtime`. */
export function builtinRuntimes(runtime: ScenarioRuntime): Runtime[] {
  return runtime === "mixed" ? ["javascript", "python"] : [runtime];
}

/** Every runtime the scenario's tasks run in, JavaScript first. */
export function scenarioRuntimes(scenario: Scenario): Runtime[] {
  const found = new Set<Runtime>();
  for (const phase of scenario.workload.phases) {
    for (const kind of phase.mix) {
      if (kind.kind === "function") found.add(fileRuntime(kind.file));
      else for (const runtime of builtinRuntimes(scenario.cluster.runtime)) found.add(runtime);
    }
  }
  return (["javascript", "python"] as const).filter((runtime) => found.has(runtime));
}

export interface TemplateOptions {
  /** The language of the built-in kinds (default javascript); with mixed, each appears once per runtime, with half its weight. */
  runtime?: ScenarioRuntime;
  /** The CPython that computes a .py file's expected outcomes (default /usr/bin/python3). */
  python?: string;
}

const drawIn = (random: Random, [min, max]: readonly [number, number]) => random.int(min, max);

function fibonacci(n: number): number {
  return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

const ok = (value: unknown): Expected => ({ ok: true, value: serialize(value) });

/**
 * The templates of a phase's mix, in its order (with `mixed`, each built-in kind's JavaScript
 * version, then its Python one); user functions get their expected outcomes here, once per
 * argument list.
 */
export async function templatesFor(mix: readonly TaskKind[], scenarioFile: string, options: TemplateOptions = {}): Promise<TaskTemplate[]> {
  const runtimes = builtinRuntimes(options.runtime ?? "javascript");
  const templates = await Promise.all(mix.map((kind) =>
    kind.kind === "function"
      ? fileTemplate(kind, scenarioFile, options.python).then((template) => [template])
      : runtimes.map((runtime) => ({ ...builtinTemplate(kind, runtime), weight: kind.weight / runtimes.length }))));
  return templates.flat();
}

/** The source of each built-in kind in each runtime, and its function's name. */
const BODIES = {
  noop: {
    name: "noop",
    javascript: "() => null",
    python: "def noop():\n    return None\n",
  },
  sleep: {
    name: "sleep",
    javascript: "async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)); return ms; }",
    python: "import time\n\ndef sleep(ms):\n    time.sleep(ms / 1000)\n    return ms\n",
  },
  cpu: {
    name: "fibonacci",
    javascript: "function fibonacci(n) { return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2); }",
    python: "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n",
  },
  throw: {
    name: "throws",
    javascript: '(n) => { throw new RangeError("expected failure " + n); }',
    python: 'def throws(n):\n    raise ValueError("expected failure %d" % n)\n',
  },
} as const;

/** The error each runtime's throw body raises. */
const THROWN: Record<Runtime, string> = { javascript: "RangeError", python: "ValueError" };

function builtinTemplate(kind: Exclude<TaskKind, { kind: "function" }>, runtime: Runtime): Omit<TaskTemplate, "weight"> {
  const body = BODIES[kind.kind];
  // JavaScript's keys are those from before Python ran here, so existing scenarios' schedules keep their digests.
  const base = { key: runtime === "javascript" ? kind.kind : `${kind.kind}/${runtime}`, name: body.name, source: body[runtime], runtime };
  switch (kind.kind) {
    case "noop":
      return { ...base, draw: () => ({ args: [], expected: ok(null) }) };
    case "sleep":
      return {
        ...base,
        draw: (random) => {
          const ms = drawIn(random, kind.ms);
          return { args: [ms], expected: ok(ms) };
        },
      };
    case "cpu":
      return {
        ...base,
        draw: (random) => {
          const n = drawIn(random, kind.fib);
          return { args: [n], expected: ok(fibonacci(n)) };
        },
      };
    case "throw":
      return {
        ...base,
        draw: (random) => {
          const n = random.int(0, 1_000_000);
          return { args: [n], expected: { ok: false, name: THROWN[runtime], message: `expected failure ${n}` } };
        },
      };
  }
}

async function fileTemplate(kind: Extract<TaskKind, { kind: "function" }>, scenarioFile: string, python: string | undefined): Promise<TaskTemplate> {
  const path = resolve(dirname(scenarioFile), kind.file);
  let source: string;
  try {
    source = readFileSync(path, "utf8").trim();
  } catch (error) {
    throw new ScenarioError(`cannot read the function file ${displayPath(path)}: ${(error as Error).message}`);
  }
  const runtime = fileRuntime(path);
  const expected = kind.expect
    ? kind.expect.map(fromScenario)
    : runtime === "python"
      ? await pythonOracle(displayPath(path), path, `${source}\n`, kind.args, ORACLE_TIMEOUT_MS, python)
      : await oracle(path, source, kind.args);
  const outcomes = kind.args.map((args, i) => ({ args, expected: expected[i] }));
  return {
    key: `function:${path}`, name: kind.file, source: runtime === "python" ? `${source}\n` : source, runtime, weight: kind.weight, draw: (random) => random.pick(outcomes),
  };
}

/** An outcome written in the scenario. */
function fromScenario(expectation: Expectation): Expected {
  return "error" in expectation ? { ok: false, name: expectation.error, message: expectation.message ?? "" } : ok(expectation.value);
}

/** How long the oracle may take over all the argument lists of one file. */
export const ORACLE_TIMEOUT_MS = 30_000;

/**
 * The child's program (an ES module given to `node --input-type=module -e`). It reads the
 * source and the argument lists (devalue text) from stdin, evaluates the source as one
 * function expression in sloppy mode (as a script would), calls it with each list in turn,
 * awaiting what it returns, and writes one outcome a line (devalue text) to stdout; what the
 * function itself prints goes to stderr. An Error travels as [name, message, has a cause,
 * cause], without its stack, as the system reports one.
 */
const CHILD = (devalueUrl: string) => `
const out = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);
const { parse, stringify } = await import(${JSON.stringify(devalueUrl)});
const { types } = await import("node:util");
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { source, args } = parse(Buffer.concat(chunks).toString("utf8"));
const text = (value, fallback) => (value === undefined || value === null || typeof value === "object" || typeof value === "function" ? fallback : String(value));
const reducers = {
  Error: (value) => (types.isNativeError(value) ? [text(value.name, "Error"), text(value.message, ""), Object.hasOwn(value, "cause"), value.cause] : undefined),
};
const send = (outcome) => out(stringify(outcome, reducers) + "\\n");
const describe = (value) => (typeof value === "string" ? JSON.stringify(value) : value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value === "undefined" ? "undefined" : typeof value + " " + String(value));
let fn;
try {
  fn = (0, eval)("(" + source + "\\n)");
} catch (error) {
  send({ type: "invalid", reason: text(error?.name, "Error") + ": " + text(error?.message, "") });
  process.exit(0);
}
if (typeof fn !== "function") {
  send({ type: "invalid", reason: "it evaluates to " + describe(fn) + ", not to a function" });
  process.exit(0);
}
for (const list of args) {
  let outcome;
  try {
    outcome = { type: "ok", value: await fn(...list) };
  } catch (error) {
    outcome = types.isNativeError(error)
      ? { type: "threw", name: text(error.name, "Error"), message: text(error.message, "") }
      : { type: "threw-other", what: describe(error) };
  }
  try {
    send(outcome);
  } catch (error) {
    send({ type: "unencodable", reason: text(error?.message, "") });
  }
}
process.exit(0);
`;

type ChildOutcome =
  | { type: "ok"; value: unknown }
  | { type: "threw"; name: string; message: string }
  | { type: "threw-other"; what: string }
  | { type: "unencodable"; reason: string }
  | { type: "invalid"; reason: string };

const revivers = {
  Error: ([name, message, hasCause, cause]: [string, string, boolean, unknown]) => {
    const error = hasCause ? new Error(message, { cause }) : new Error(message);
    Object.defineProperty(error, "name", { value: name, writable: true, configurable: true, enumerable: false });
    delete (error as { stack?: string }).stack;
    return error;
  },
};

let devalueUrl: string | undefined;

/** A path as an error shows it: relative to the working directory when under it. */
function displayPath(path: string): string {
  const shorter = relative(process.cwd(), path);
  return shorter && !shorter.startsWith("..") && !isAbsolute(shorter) ? shorter : path;
}

/**
 * The expected outcome of each argument list, from the function in `file` evaluated with
 * plain Node in a child process (not faaslab's sandbox). Refuses, naming the file, what it
 * cannot tell: a file that is not a function, a value the codec cannot carry, a thrown value
 * that is not an Error, a call that never settles, or a run over `timeoutMs`.
 */
export async function oracle(file: string, source: string, argLists: readonly unknown[][], timeoutMs = ORACLE_TIMEOUT_MS): Promise<Expected[]> {
  devalueUrl ??= pathToFileURL(createRequire(import.meta.url).resolve("devalue")).href;
  const name = displayPath(file);
  const { NODE_OPTIONS: _, ...env } = process.env;
  const { outcomes, stderr, timedOut, exit, spawnError } = await runOracleChild(
    process.execPath, ["--input-type=module", "-e", CHILD(devalueUrl)], { cwd: dirname(file), env },
    stringifyDevalue({ source, args: argLists }), (line) => parseDevalue(line, revivers) as ChildOutcome, timeoutMs,
  );
  if (spawnError) throw spawnError;

  const call = (i: number) => `the call with arguments ${shown(argLists[i])}`;
  const giveExpect = "give its outcomes in the scenario instead (expect: beside args)";
  if (outcomes[0]?.type === "invalid") throw new ScenarioError(`${name} does not hold a function: ${outcomes[0].reason}`);
  if (outcomes.length < argLists.length) {
    const at = outcomes.length;
    const output = stderr.trim() ? `; its output:\n${stderr.trim()}` : "";
    if (timedOut) throw new ScenarioError(`${name}: computing its expected results took longer than ${timeoutMs / 1000} s (${call(at)} had not returned): fix the function, or ${giveExpect}`);
    const why = exit.code === 13 ? "its promise never settled" : `the process ended with ${exit.signal ?? `exit code ${exit.code}`}`;
    throw new ScenarioError(`${name}: computing its expected results stopped at ${call(at)}: ${why}${output}`);
  }
  return outcomes.map((outcome, i): Expected => {
    switch (outcome.type) {
      case "ok":
        try {
          return ok(outcome.value);
        } catch (error) {
          throw new ScenarioError(`${name}: ${call(i)} returns a value the codec cannot carry (${(error as Error).message}); ${giveExpect}`);
        }
      case "threw":
        return { ok: false, name: outcome.name, message: outcome.message };
      case "threw-other":
        throw new ScenarioError(`${name}: ${call(i)} throws ${outcome.what}, which is not an Error (faaslab reports such a throw as an Error of its own); ${giveExpect}`);
      case "unencodable":
        throw new ScenarioError(`${name}: ${call(i)} returns a value the codec cannot carry (${outcome.reason}); ${giveExpect}`);
      case "invalid":
        throw new ScenarioError(`${name} does not hold a function: ${outcome.reason}`);
    }
  });
}

/** Picks a template by the templates' weights. */
export function pickWeighted(templates: readonly TaskTemplate[], random: Random): TaskTemplate {
  const total = templates.reduce((sum, template) => sum + template.weight, 0);
  let point = random.next() * total;
  for (const template of templates) {
    point -= template.weight;
    if (point < 0) return template;
  }
  return templates[templates.length - 1];
}
