/** The scenario schema: good files load, and a bad one is refused with the path and line of each bad field. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../system/paths.js";
import { formatPath, loadScenario, parseScenario, ScenarioError, SCENARIO_DIR, scenarioPath } from "../../harness/scenario/load.js";
import { schemaReference } from "../../harness/scenario/reference.js";
import { titleFromName } from "../../harness/scenario/schema.js";

const FIXTURES = join(packageRoot, "test/fixtures/scenarios");

const minimal = `
name: tiny
description: the least a scenario needs
cluster: { mode: local }
workload:
  phases:
    - { clients: 1, tasks: 5, mix: [{ kind: noop }] }
checks: [{ check: no-lost-tasks }]
`;

/** The message a text is refused with. */
function refusal(text: string): string {
  try {
    parseScenario(text, "bad.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as Error).message;
  }
  throw new Error("the scenario was accepted");
}

describe("scenario schema", () => {
  it("fills in the defaults of a minimal file, the report's title from the name", () => {
    const scenario = parseScenario(minimal);
    expect(scenario.cluster).toEqual({ mode: "local", runtime: "javascript", workers: { count: 2, executors: 2 }, dispatcher: {}, hosts: "shared", redis: { persistence: "none" } });
    expect(scenario.nemesis).toEqual([]);
    expect(scenario.drain).toBe(60_000);
    expect(scenario.report).toEqual({ title: "Tiny", charts: ["latency", "throughput", "states", "percentiles"] });
    expect(scenario.workload.phases[0]).toMatchObject({ name: "load", clients: 1, tasks: 5, mix: [{ kind: "noop", weight: 1 }] });
  });

  it("keeps a report's own title, and defaults its charts", () => {
    const scenario = parseScenario(`${minimal}report: { title: Mine, notes: why }\n`);
    expect(scenario.report).toEqual({ title: "Mine", notes: "why", charts: ["latency", "throughput", "states", "percentiles"] });
    expect(parseScenario(`${minimal}report: { charts: [latency] }\n`).report).toEqual({ title: "Tiny", charts: ["latency"] });
  });

  it("makes a title of a name", () => {
    expect(titleFromName("kill-one")).toBe("Kill one");
    expect(titleFromName("redis-crash-everysec")).toBe("Redis crash everysec");
    expect(titleFromName("a")).toBe("A");
  });

  it("reads durations and ranges", () => {
    const scenario = parseScenario(`${minimal}
nemesis:
  - { action: restart, target: api, every: 1.5s, from: 500ms, until: 1m }
  - { action: latency, link: { redisLink: all }, at: 250ms, ms: 100, for: 1s }
`.replace("mix: [{ kind: noop }]", "mix: [{ kind: sleep, ms: [10, 20] }, { kind: cpu, fib: 20, weight: 3 }]"));
    expect(scenario.nemesis[0]).toMatchObject({ every: 1500, from: 500, until: 60_000 });
    expect(scenario.nemesis[1]).toMatchObject({ at: 250, ms: 100, for: 1000 });
    expect(scenario.workload.phases[0].mix).toEqual([{ kind: "sleep", ms: [10, 20], weight: 1 }, { kind: "cpu", fib: [20, 20], weight: 3 }]);
  });

  it("reads cluster.runtime: javascript by default, python or mixed", () => {
    expect(parseScenario(minimal).cluster.runtime).toBe("javascript");
    for (const runtime of ["javascript", "python", "mixed"]) {
      expect(parseScenario(minimal.replace("cluster: { mode: local }", `cluster: { mode: local, runtime: ${runtime} }`)).cluster.runtime).toBe(runtime);
    }
  });

  it("reads a function kind's expected outcomes", () => {
    const scenario = parseScenario(minimal.replace(
      "mix: [{ kind: noop }]",
      "mix: [{ kind: function, file: f.js, args: [[1], [2]], expect: [{ value: { a: [1, ~] } }, { error: RangeError, message: too big }] }]",
    ));
    expect(scenario.workload.phases[0].mix[0]).toMatchObject({ expect: [{ value: { a: [1, null] } }, { error: "RangeError", message: "too big" }] });
  });

  it.each([
    ["an unknown mode", minimal.replace("mode: local", "mode: puhs"), 'cluster.mode (line 4): mode must be one of local, pull, push (or a list of them), got "puhs"'],
    ["an unknown runtime", minimal.replace("cluster: { mode: local }", "cluster: { mode: local, runtime: node }"), 'cluster.runtime (line 4): runtime must be one of javascript, python, mixed, got "node"'],
    ["a runtime that is not a word", minimal.replace("cluster: { mode: local }", "cluster: { mode: local, runtime: [python] }"), 'cluster.runtime (line 4): runtime must be one of javascript, python, mixed, got ["python"]'],
    ["an unknown mode in a list", minimal.replace("mode: local", "mode: [push, puhs]"), 'cluster.mode[1] (line 4): expected one of local, pull, push, got "puhs"'],
    ["a misspelled field", minimal.replace("cluster: { mode: local }", "cluster:\n  mode: local\n  wrokers: 3"), 'cluster (line 6): unknown field "wrokers"'],
    ["a bare number as a duration", minimal.replace("tasks: 5", "duration: 30"), 'workload.phases[0].duration (line 7): 30 is a bare number: give its unit, "30s" or "30ms"'],
    ["a bare number as a drain", `${minimal}drain: 60000\n`, 'drain (line 9): 60000 is a bare number: give its unit, "60000ms" (that is "60s") or "60000s"'],
    ["a bad duration", minimal.replace("tasks: 5", "duration: soon"), 'workload.phases[0].duration (line 7): expected a duration like "500ms", "10s" or "2m", got "soon"'],
    ["no clients", minimal.replace("clients: 1", "clients: 0"), "workload.phases[0].clients (line 7): Too small: expected number to be >=1"],
    ["both clients and rate", minimal.replace("clients: 1,", "clients: 1, rate: 5,"), "workload.phases[0] (line 7): give exactly one of clients (closed loop) or rate (open loop)"],
    ["neither duration nor tasks", minimal.replace("tasks: 5, ", ""), "give exactly one of duration or tasks"],
    ["a reversed range", minimal.replace("mix: [{ kind: noop }]", "mix: [{ kind: sleep, ms: [20, 10] }]"), "workload.phases[0].mix[0].ms (line 7): the range's first number must not exceed its second"],
    ["a range that is not one", minimal.replace("mix: [{ kind: noop }]", "mix: [{ kind: sleep, ms: fast }]"), 'workload.phases[0].mix[0].ms (line 7): expected a whole number or [min, max], got "fast"'],
    ["a range with a word in it", minimal.replace("mix: [{ kind: noop }]", "mix: [{ kind: sleep, ms: [1, x] }]"), 'workload.phases[0].mix[0].ms[1] (line 7): expected a number, got "x"'],
    ["an unknown task kind", minimal.replace("kind: noop", "kind: teleport"), 'workload.phases[0].mix[0].kind (line 7): kind must be one of noop, sleep, cpu, throw, function, got "teleport"'],
    ["a task without a kind", minimal.replace("{ kind: noop }", "{ weight: 2 }"), "workload.phases[0].mix[0].kind (line 7): kind is required: one of noop, sleep, cpu, throw, function"],
    ["a wrong expected outcome", minimal.replace("{ kind: noop }", "{ kind: function, file: f.js, args: [[1]], expect: [{ nope: 1 }] }"), 'workload.phases[0].mix[0].expect[0] (line 7): expected { value: <any> } or { error: <name>, message: <text> }, got {"nope":1}'],
    ["an unknown check", minimal.replace("no-lost-tasks", "no-bugs"), 'checks[0].check (line 8): check must be one of no-lost-tasks, errors-only-during-faults, results-correct, no-duplicate-results, monotonic-status, recovery, latency, throughput, capacity, got "no-bugs"'],
    ["no checks", minimal.replace("checks: [{ check: no-lost-tasks }]", "checks: []"), "checks (line 8): Too small"],
    ["a missing field", minimal.replace("checks: [{ check: no-lost-tasks }]", ""), "  - checks: required"],
    ["a fault with neither at nor every", `${minimal}nemesis: [{ action: restart, target: api }]`, "nemesis[0] (line 9): give exactly one of at or every"],
    ["a fault on an unknown target", `${minimal}nemesis: [{ action: kill, target: database, at: 1s }]`, 'nemesis[0].target (line 9): expected dispatcher, api, redis or { worker: random | oldest | newest | all | <index> }, got "database"'],
    ["an unknown worker selector", `${minimal.replace("mode: local", "mode: push")}nemesis: [{ action: kill, target: { worker: sometimes }, at: 1s }]`, 'nemesis[0].target.worker (line 9): expected random, oldest, newest, all or a worker\'s index (0 to count - 1), got "sometimes"'],
    ["a wrong Redis link", `${minimal}nemesis: [{ action: cut, link: { redisLink: cache }, for: 1s, at: 1s }]`, 'nemesis[0].link.redisLink (line 9): expected one of api, dispatcher, all, got "cache"'],
    ["an unknown action", `${minimal}nemesis: [{ action: explode, at: 1s }]`, 'nemesis[0].action (line 9): action must be one of kill, pause, restart, latency, cut, blackhole, partition, loss, delay, reorder, random, got "explode"'],
    ["a name with spaces", minimal.replace("name: tiny", "name: my tiny run"), 'name (line 2): expected lowercase letters, digits and dashes (like kill-one), got "my tiny run"'],
    ["a file that is not a mapping", "just words", 'it must be a mapping of fields (name, description, cluster, workload, checks…), not "just words"'],
    ["YAML that does not parse", "name: [unclosed", "is not valid YAML"],
  ])("refuses %s, saying where", (_case, text, message) => {
    expect(refusal(text)).toContain(message);
  });

  it("lists every problem of a file at once, each on its own line", () => {
    const message = refusal(readFileSync(join(FIXTURES, "invalid-format.yaml"), "utf8"));
    expect(message.split("\n")).toEqual([
      "bad.yaml is not a valid scenario:",
      '  - cluster.mode (line 5): mode must be one of local, pull, push (or a list of them), got "puhs"',
      "  - workload.phases[0].clients (line 10): Too small: expected number to be >=1",
      '  - workload.phases[0].duration (line 11): 30 is a bare number: give its unit, "30s" or "30ms"',
      '  - workload.phases[0].mix[1].ms (line 14): expected a whole number or [min, max], got "fast"',
      '  - checks[1].within (line 18): 5 is a bare number: give its unit, "5s" or "5ms"',
    ]);
  });

  it("writes paths with brackets for indices", () => {
    expect(formatPath(["workload", "phases", 0, "clients"])).toBe("workload.phases[0].clients");
    expect(formatPath(["nemesis", 2, "among", 1, "link", "workerLink"])).toBe("nemesis[2].among[1].link.workerLink");
    expect(formatPath([])).toBe("(top level)");
  });

  it("every shipped scenario, and every valid fixture, loads with its function files", () => {
    const shipped = readdirSync(SCENARIO_DIR).filter((file) => file.endsWith(".yaml"));
    expect(shipped.length).toBeGreaterThanOrEqual(4);
    for (const file of shipped) expect(loadScenario(join(SCENARIO_DIR, file)).scenario.name).toBe(file.replace(/\.yaml$/, ""));
    const fixtures = readdirSync(FIXTURES).filter((file) => file.endsWith(".yaml") && !file.startsWith("invalid"));
    expect(fixtures.length).toBeGreaterThanOrEqual(1);
    for (const file of fixtures) expect(loadScenario(join(FIXTURES, file)).scenario.name).toBe(file.replace(/\.yaml$/, ""));
  });

  it("refuses a function file that is not next to the scenario", () => {
    const dir = mkdtempSync(join(tmpdir(), "faaslab-scenario-"));
    try {
      const file = join(dir, "mine.yaml");
      writeFileSync(file, minimal.replace("{ kind: noop }", "{ kind: function, file: functions/nothing.js, args: [[1]] }"));
      expect(() => loadScenario(file)).toThrow(`  - workload.phases[0].mix[0].file (line 7): no file ${join(dir, "functions/nothing.js")}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("finding a scenario file", () => {
  const dir = mkdtempSync(join(tmpdir(), "faaslab-scenario-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("finds a shipped scenario by its name, and a file by its path", () => {
    expect(scenarioPath("chaos")).toBe(join(SCENARIO_DIR, "chaos.yaml"));
    expect(scenarioPath(join(FIXTURES, "short.yaml"))).toBe(join(FIXTURES, "short.yaml"));
  });

  it("says a path was not found, and lists the names for a name", () => {
    expect(() => scenarioPath(join(dir, "x.yaml"))).toThrow(`no scenario file "${join(dir, "x.yaml")}": not found`);
    expect(() => scenarioPath("x.yaml")).toThrow('no scenario file "x.yaml": not found');
    expect(() => scenarioPath("kill-none")).toThrow(/^no scenario "kill-none": give a name from scenarios\/ \(.*chaos.*\) or a path to a \.yaml file$/);
  });

  it("refuses a file that is not YAML", () => {
    const file = join(dir, "notes.txt");
    writeFileSync(file, "hello");
    expect(() => scenarioPath(file)).toThrow(`scenario file "${file}" is not a .yaml file`);
  });
});

describe("the format's documentation", () => {
  const readme = readFileSync(join(SCENARIO_DIR, "README.md"), "utf8");

  it("scenarios/README.md carries the current field reference, generated from the schema", () => {
    const start = readme.indexOf("-->\n", readme.indexOf("<!-- schema:start")) + 4;
    const end = readme.indexOf("<!-- schema:end -->");
    expect(readme.slice(start, end), "run `npm run scenario -- --schema` and paste it into scenarios/README.md").toBe(schemaReference());
  });

  it("opens with a complete example scenario that is valid", () => {
    const match = /```yaml\n([\s\S]*?)```/.exec(readme);
    expect(match, "scenarios/README.md has a ```yaml example").not.toBeNull();
    expect(match!.index, "the example comes before anything else but the introduction").toBeLessThan(readme.indexOf("\n## "));
    const scenario = parseScenario(match![1], "the README's example", { dir: SCENARIO_DIR });
    expect(scenario.name).toBe("kill-one");
    expect(scenario.cluster.mode).toEqual(["push", "pull"]);
    expect(scenario.workload.phases.map((phase) => phase.duration)).toEqual([5000, 30_000]);
    expect(scenario.nemesis.map((fault) => fault.action)).toEqual(["kill", "pause", "random"]);
    expect(scenario.workload.phases[1].mix.map((kind) => kind.kind)).toEqual(["sleep", "cpu", "throw", "function"]);
    expect(scenario.checks.length).toBeGreaterThanOrEqual(5);
  });

  it("every field has a meaning", () => {
    const undocumented = schemaReference().split("\n").filter((line) => line.startsWith("| `") && /\|\s*\|$/.test(line));
    expect(undocumented).toEqual([]);
  });

  it("every type reads as words: no raw patterns, no repeated 'object or object'", () => {
    const types = schemaReference().split("\n").filter((line) => line.startsWith("| `")).map((line) => line.split(" | ")[1]);
    expect(types.length).toBeGreaterThan(50);
    for (const type of types) {
      expect(type).not.toMatch(/\^|\$|\\d|object or object|integer or \[integer|list of list of|\bstring\b|\bany\b(?! value)/);
    }
    const reference = schemaReference();
    expect(reference).toContain("| `cluster.mode` | `local`, `pull` or `push`, or a list of them | required |");
    expect(reference).toContain("| `drain` | duration | `60s` |");
    expect(reference).toContain("| `report.title` | text | from the name |");
    expect(reference).toContain("| `workload.phases[].mix[] (kind: sleep).ms` | whole number, or [min, max] | required |");
  });
});
