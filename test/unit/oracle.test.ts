/**
 * The oracle of `kind: function` tasks: the expected outcomes come from the author's file run
 * with plain Node in a child process (never faaslab's sandbox), or from the scenario itself.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../system/paths.js";
import { Random } from "../../harness/random.js";
import { loadScenario, parseScenario, ScenarioError, SCENARIO_DIR } from "../../harness/scenario/load.js";
import { oracle, pickWeighted, templatesFor } from "../../harness/workload/kinds.js";
import { observedResult, pythonOracle } from "../../harness/workload/python.js";
import { drawSchedule } from "../../harness/scenario/schedule.js";
import { deserialize, serialize } from "../../system/codec/index.js";
import { pickledBuiltinException, pythonTaskError } from "../../system/codec/pickle.js";
import { PYTHON, pythonPrerequisites } from "../support/python.js";

const dir = mkdtempSync(join(tmpdir(), "faaslab-oracle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A function file in the temporary directory. */
function file(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

const run = (path: string, args: unknown[][], timeoutMs?: number) => oracle(path, readFileSync(path, "utf8").trim(), args, timeoutMs);
const value = (v: unknown) => ({ ok: true, value: serialize(v) });

describe("the oracle on the shipped functions", () => {
  it("computes collatz's known step counts and peaks", async () => {
    const known: [number, number, number][] = [[1, 0, 1], [7, 16, 52], [27, 111, 9232], [97, 118, 9232], [871, 178, 190_996], [6171, 261, 975_400], [77_031, 350, 21_933_016]];
    const outcomes = await run(join(SCENARIO_DIR, "functions/collatz.js"), known.map(([n]) => [n]));
    expect(outcomes).toEqual(known.map(([n, steps, peak]) => value({ n, steps, peak })));
  });

  it("computes word-stats' Maps and Sets, in their order", async () => {
    const texts = ["the quick brown fox jumps over the lazy dog", "a a a b b c", "", "Héllo, wörld! héllo?"];
    const outcomes = await run(join(SCENARIO_DIR, "functions/word-stats.js"), texts.map((text) => [text]));
    const stats = (entries: [string, number][], longest: string | null) => ({ counts: new Map(entries), distinct: new Set(entries.map(([word]) => word)), longest });
    expect(outcomes).toEqual([
      value(stats([["the", 2], ["quick", 1], ["brown", 1], ["fox", 1], ["jumps", 1], ["over", 1], ["lazy", 1], ["dog", 1]], "quick")),
      value(stats([["a", 3], ["b", 2], ["c", 1]], "a")),
      value(stats([], null)),
      // \W without the u flag splits at é and ö.
      value(stats([["h", 2], ["llo", 2], ["w", 1], ["rld", 1]], "llo")),
    ]);
  });

  it("gives every shipped scenario's function tasks these outcomes", async () => {
    for (const name of ["correctness", "chaos"]) {
      const { scenario, file: scenarioFile } = loadScenario(name);
      const mix = scenario.workload.phases[0].mix;
      const templates = await templatesFor(mix, scenarioFile);
      const collatz = templates.find((template) => template.name === "functions/collatz.js")!;
      const random = new Random(1);
      for (let i = 0; i < 20; i++) {
        const { args, expected } = collatz.draw(random);
        const n = args[0] as number;
        let [x, steps, peak] = [n, 0, n];
        for (; x !== 1; steps++) peak = Math.max(peak, (x = x % 2 === 0 ? x / 2 : 3 * x + 1));
        expect(expected).toEqual(value({ n, steps, peak }));
      }
    }
  });

  it("agrees with the README example's expect", async () => {
    const readme = readFileSync(join(SCENARIO_DIR, "README.md"), "utf8");
    const example = parseScenario(/```yaml\n([\s\S]*?)```/.exec(readme)![1], "README", { dir: SCENARIO_DIR });
    const kind = example.workload.phases[1].mix.find((k) => k.kind === "function")!;
    if (kind.kind !== "function") throw new Error("no function kind");
    const computed = await run(join(SCENARIO_DIR, kind.file), kind.args);
    expect(computed).toEqual(kind.expect!.map((e) => ("value" in e ? value(e.value) : undefined)));
  });
});

describe("the oracle is plain Node", () => {
  it("runs the file outside faaslab's sandbox (it sees Node's process), and keeps no sandbox import", async () => {
    // In the sandbox `process` does not exist; under plain Node it does.
    expect(await run(file("process.js", "() => typeof process"), [[]])).toEqual([value("object")]);
    expect(readFileSync(join(packageRoot, "harness/workload/kinds.ts"), "utf8")).not.toMatch(/executor\/|Sandbox/);
  });

  it("carries values JSON cannot: bigint, undefined, Map, Set, Date, -0, NaN, holes, typed arrays, Error values", async () => {
    const path = file("values.js", `
      async (which) => {
        console.log("the function's own output does not disturb the outcomes");
        switch (which) {
          case "bigint": return 2n ** 70n;
          case "undefined": return undefined;
          case "map": return new Map([[1, new Date(0)], ["k", new Set([NaN, -0])]]);
          case "holes": return [1, , 3];
          case "bytes": return new Uint8Array([1, 2, 255]);
          case "error": return { e: new RangeError("kept as a value"), bare: Object.create(null) };
        }
      }`);
    const outcomes = await run(path, [["bigint"], ["undefined"], ["map"], ["holes"], ["bytes"], ["error"]]);
    const error = new RangeError("kept as a value");
    delete (error as { stack?: string }).stack;
    expect(outcomes).toEqual([
      value(2n ** 70n),
      value(undefined),
      value(new Map<unknown, unknown>([[1, new Date(0)], ["k", new Set([NaN, -0])]])),
      // eslint-disable-next-line no-sparse-arrays
      value([1, , 3]),
      value(new Uint8Array([1, 2, 255])),
      value({ e: error, bare: Object.create(null) }),
    ]);
    expect(outcomes[1]).toEqual({ ok: true, value: "-1" });
  });

  it("reports a thrown error by its name and message, and awaits promises", async () => {
    const path = file("throws.js", `function check(n) {
      if (n < 0) throw new RangeError("negative: " + n);
      if (n === 0) return Promise.reject(new TypeError("zero"));
      return new Promise((resolve) => setTimeout(() => resolve(n * 2), 5));
    }`);
    expect(await run(path, [[-3], [0], [21]])).toEqual([
      { ok: false, name: "RangeError", message: "negative: -3" },
      { ok: false, name: "TypeError", message: "zero" },
      value(42),
    ]);
  });
});

describe("what the oracle cannot tell is refused, naming the file", () => {
  it.each([
    ["not a function", "42", [[1]], /not-a-function\.js does not hold a function: it evaluates to number 42, not to a function/],
    ["a syntax error", "(x) => {", [[1]], /a-syntax-error\.js does not hold a function: SyntaxError/],
    ["a promise that never settles", "() => new Promise(() => {})", [[1], [2]], /never-settles\.js: computing its expected results stopped at the call with arguments \[1\]: its promise never settled/],
    ["a thrown string", "(x) => { if (x > 1) throw 'no'; return x; }", [[1], [2]], /a-thrown-string\.js: the call with arguments \[2\] throws "no", which is not an Error .*give its outcomes in the scenario instead \(expect: beside args\)/],
    ["a function result", "() => () => 1", [[]], /a-function-result\.js: the call with arguments \[\] returns a value the codec cannot carry/],
    ["a class instance", "() => new (class Point {})()", [[]], /a-class-instance\.js: the call with arguments \[\] returns a value the codec cannot carry/],
  ])("%s", async (label, source, args, message) => {
    const path = file(`${label.replace(/^a promise that /, "").replace(/ /g, "-")}.js`, source);
    const outcome = run(path, args as unknown[][]);
    await expect(outcome).rejects.toThrow(ScenarioError);
    await expect(outcome).rejects.toThrow(message);
  });

  it("a function that runs past the timeout", async () => {
    const path = file("loops.js", "(n) => { if (n === 2) for (;;) {} return n; }");
    const started = Date.now();
    await expect(run(path, [[1], [2]], 1500)).rejects.toThrow(
      /loops\.js: computing its expected results took longer than 1\.5 s \(the call with arguments \[2\] had not returned\): fix the function, or give its outcomes in the scenario instead/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a file that is not there", async () => {
    await expect(templatesFor([{ kind: "function", weight: 1, file: "missing.js", args: [[1]] }], join(dir, "s.yaml"))).rejects.toThrow(/cannot read the function file .*missing\.js/);
  });
});

describe("expected outcomes from the scenario", () => {
  it("are used instead of running the file", async () => {
    // Running this file would loop for ever: with expect it is never run.
    file("never-run.js", "() => { for (;;) {} }");
    const text = `
name: given
description: outcomes given in the scenario
cluster: { mode: local }
workload:
  phases:
    - clients: 1
      tasks: 3
      mix:
        - kind: function
          file: never-run.js
          args: [[1], [2], [3]]
          expect:
            - value: { a: [1, ~, text] }
            - { error: RangeError, message: too far }
            - { error: TypeError }
checks: [{ check: results-correct }]
`;
    const scenario = parseScenario(text, "given.yaml", { dir });
    const [template] = await templatesFor(scenario.workload.phases[0].mix, join(dir, "given.yaml"));
    expect(template.source).toBe("() => { for (;;) {} }");
    expect(template.name).toBe("never-run.js");
    const seen = new Map<string, unknown>();
    const random = new Random(3);
    for (let i = 0; i < 50; i++) {
      const { args, expected } = template.draw(random);
      seen.set(JSON.stringify(args), expected);
    }
    expect(Object.fromEntries(seen)).toEqual({
      "[1]": value({ a: [1, null, "text"] }),
      "[2]": { ok: false, name: "RangeError", message: "too far" },
      "[3]": { ok: false, name: "TypeError", message: "" },
    });
  });
});

const python = existsSync(PYTHON) ? { ok: true, why: "" } : pythonPrerequisites();
const runPython = (path: string, args: unknown[][], timeoutMs = 30_000) => pythonOracle(path, path, readFileSync(path, "utf8"), args, timeoutMs, PYTHON);

describe.skipIf(!python.ok)(`the oracle of a .py file (the OS's CPython, outside faaslab)${python.ok ? "" : ` (skipped: ${python.why})`}`, () => {
  it("gives collatz.py the outcomes of collatz.js, as codec text", async () => {
    const args = [[1], [7], [27], [97], [871], [6171], [77_031]];
    const fromPython = await runPython(join(SCENARIO_DIR, "functions/collatz.py"), args);
    expect(fromPython).toEqual(await run(join(SCENARIO_DIR, "functions/collatz.js"), args));
  });

  it("reads a raised exception by its name and message, tuples as lists, and big ints as bigints", async () => {
    const path = file("many.py", "def many(kind):\n    if kind == 'raise':\n        raise ValueError('no good %d' % 3)\n    if kind == 'tuple':\n        return (1, 2.5, 'x', None, [True])\n    return 2 ** 70\n");
    expect(await runPython(path, [["raise"], ["tuple"], ["big"]])).toEqual([
      { ok: false, name: "ValueError", message: "no good 3" },
      value([1, 2.5, "x", null, [true]]),
      value(2n ** 70n),
    ]);
  });

  it("refuses, naming the file, what it cannot tell", async () => {
    await expect(runPython(file("two.py", "def a():\n    pass\ndef b():\n    pass\n"), [[]])).rejects.toThrow(/two\.py does not hold one Python function: it must define exactly one function, and it defines 2/);
    await expect(runPython(file("syntax.py", "def a(:\n"), [[]])).rejects.toThrow(/syntax\.py does not hold one Python function: SyntaxError/);
    await expect(runPython(file("object.py", "def a():\n    return object()\n"), [[]])).rejects.toThrow(/object\.py: the call with arguments \[\] returns a Python value that is not plain data \(builtins\.object\).*expect/);
    await expect(runPython(file("loop.py", "def a():\n    while True:\n        pass\n"), [[]], 500)).rejects.toThrow(/loop\.py: computing its expected results took longer than 0\.5 s/);
    await expect(pythonOracle("x.py", join(dir, "x.py"), "def a():\n    return 1\n", [[]], 5000, "/nonexistent/python3")).rejects.toThrow(/x\.py: its expected results need \/nonexistent\/python3, which cannot be run/);
  });
});

describe("a Python task's result, as the driver records it", () => {
  it("is a JavaScript task's as it is, and a Python task's as the codec text the checkers compare", () => {
    expect(observedResult("javascript", "COMPLETED", serialize(5))).toBe(serialize(5));
    // None, as dill pickles it (protocol 4): the codec's null.
    expect(observedResult("python", "COMPLETED", Buffer.from([0x80, 4, 0x4e, 0x2e]).toString("base64"))).toBe(serialize(null));
    const raised = deserialize(observedResult("python", "FAILED", pickledBuiltinException("ValueError", "expected failure 7"))!) as Error;
    expect([raised.name, raised.message]).toEqual(["ValueError", "expected failure 7"]);
    // faaslab's own errors come back under faaslab's name, as for a JavaScript task (allowFailures: [WorkerLost] holds for both).
    const lost = deserialize(observedResult("python", "FAILED", pythonTaskError("WorkerLost", "the worker was lost 3 times"))!) as Error;
    expect([lost.name, lost.message]).toEqual(["WorkerLost", "the worker was lost 3 times"]);
    const user = deserialize(observedResult("python", "FAILED", pickledBuiltinException("ValueError", "WorkerLost: not faaslab's"))!) as Error;
    expect(user.name).toBe("ValueError");
    expect(observedResult("python", "COMPLETED", "not a pickle")).toMatch(/^\(a Python result the harness cannot read/);
    expect(observedResult("python", "RUNNING", null)).toBeNull();
  });
});

describe("cluster.runtime in the templates and the schedule", () => {
  const mix = parseScenario(`
name: kinds
description: every built-in kind
cluster: { mode: local }
workload:
  phases:
    - clients: 2
      tasks: 10
      mix: [{ kind: noop, weight: 4 }, { kind: sleep, ms: 5 }, { kind: cpu, fib: 3 }, { kind: throw }]
checks: [{ check: results-correct }]
`).workload.phases[0].mix;

  it("javascript by default; python; mixed: each kind once per runtime, with half its weight", async () => {
    const shape = (templates: Awaited<ReturnType<typeof templatesFor>>) => templates.map((t) => [t.key, t.runtime, t.weight]);
    expect(shape(await templatesFor(mix, join(dir, "s.yaml")))).toEqual([["noop", "javascript", 4], ["sleep", "javascript", 1], ["cpu", "javascript", 1], ["throw", "javascript", 1]]);
    expect(shape(await templatesFor(mix, join(dir, "s.yaml"), { runtime: "python" }))).toEqual([["noop/python", "python", 4], ["sleep/python", "python", 1], ["cpu/python", "python", 1], ["throw/python", "python", 1]]);
    expect(shape(await templatesFor(mix, join(dir, "s.yaml"), { runtime: "mixed" }))).toEqual([
      ["noop", "javascript", 2], ["noop/python", "python", 2], ["sleep", "javascript", 0.5], ["sleep/python", "python", 0.5],
      ["cpu", "javascript", 0.5], ["cpu/python", "python", 0.5], ["throw", "javascript", 0.5], ["throw/python", "python", 0.5],
    ]);
    const [, , , pyThrow] = await templatesFor(mix, join(dir, "s.yaml"), { runtime: "python" });
    expect(pyThrow.source).toContain("raise ValueError");
    expect(pyThrow.draw(new Random(1)).expected).toMatchObject({ ok: false, name: "ValueError", message: expect.stringMatching(/^expected failure \d+$/) });
  });

  it("a seed draws the same tasks, and the schedule's digest covers each task's runtime", async () => {
    const scenario = (runtime: string) => parseScenario(`
name: kinds
description: every built-in kind
cluster: { mode: local, runtime: ${runtime} }
workload:
  phases:
    - { clients: 2, tasks: 10, mix: [{ kind: noop }, { kind: throw }] }
checks: [{ check: results-correct }]
`);
    const digest = async (runtime: string, seed: number) => {
      const s = scenario(runtime);
      const templates = await templatesFor(s.workload.phases[0].mix, join(dir, "s.yaml"), { runtime: s.cluster.runtime });
      return drawSchedule(s, "local", [templates], new Random(seed));
    };
    expect((await digest("mixed", 4)).digest).toBe((await digest("mixed", 4)).digest);
    expect((await digest("mixed", 4)).digest).not.toBe((await digest("mixed", 5)).digest);
    expect((await digest("python", 4)).digest).not.toBe((await digest("javascript", 4)).digest);
    const kinds = new Set(Object.values((await digest("mixed", 4)).clients).flat().map(([kind]) => kind));
    expect(kinds).toEqual(new Set(["noop", "noop/python", "throw", "throw/python"]));
    // The same weights in the same order draw as before: a JavaScript scenario's choices are unchanged.
    const js = await templatesFor(scenario("javascript").workload.phases[0].mix, join(dir, "s.yaml"));
    const weights = scenario("javascript").workload.phases[0].mix.map((kind) => kind.weight);
    const before = (random: Random) => { // the pick by the mix's weights, as it was before templates had their own
      let point = random.next() * weights.reduce((sum, w) => sum + w, 0);
      for (let i = 0; i < weights.length; i++) if ((point -= weights[i]) < 0) return js[i].key;
      return js[js.length - 1].key;
    };
    const [now, then] = [new Random(9), new Random(9)];
    expect(Array.from({ length: 50 }, () => pickWeighted(js, now).key)).toEqual(Array.from({ length: 50 }, () => before(then)));
  });
});
