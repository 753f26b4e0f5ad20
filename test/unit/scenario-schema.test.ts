/** The scenario schema: good files load, and a bad one is refused with the path of each bad field. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseScenario, ScenarioError, SCENARIO_DIR } from "../../harness/scenario/load.js";
import { schemaReference } from "../../harness/scenario/reference.js";

const minimal = `
name: tiny
description: the least a scenario needs
cluster: { mode: local }
workload:
  phases:
    - { clients: 1, tasks: 5, mix: [{ kind: noop }] }
checks: [{ check: no-lost-tasks }]
report: { title: Tiny }
`;

describe("scenario schema", () => {
  it("fills in the defaults of a minimal file", () => {
    const scenario = parseScenario(minimal);
    expect(scenario.cluster).toEqual({ mode: "local", workers: { count: 2, executors: 2 }, dispatcher: {}, redis: { persistence: "none" } });
    expect(scenario.nemesis).toEqual([]);
    expect(scenario.drain).toBe(60_000);
    expect(scenario.report.charts).toEqual(["latency", "throughput", "states", "percentiles"]);
    expect(scenario.workload.phases[0]).toMatchObject({ name: "load", clients: 1, tasks: 5, mix: [{ kind: "noop", weight: 1 }] });
  });

  it("reads durations and ranges", () => {
    const scenario = parseScenario(`${minimal}
nemesis:
  - { action: pause, target: { worker: oldest }, every: 1.5s, from: 500ms, until: 1m, for: 2s }
  - { action: latency, link: { redisLink: all }, at: 250, ms: 100, for: 1s }
`.replace("mix: [{ kind: noop }]", "mix: [{ kind: sleep, ms: [10, 20] }, { kind: cpu, fib: 20, weight: 3 }]"));
    expect(scenario.nemesis[0]).toMatchObject({ every: 1500, from: 500, until: 60_000, for: 2000 });
    expect(scenario.nemesis[1]).toMatchObject({ at: 250, ms: 100 });
    expect(scenario.workload.phases[0].mix).toEqual([{ kind: "sleep", ms: [10, 20], weight: 1 }, { kind: "cpu", fib: [20, 20], weight: 3 }]);
  });

  it.each([
    ["an unknown mode", minimal.replace("mode: local", "mode: turbo"), "cluster.mode"],
    ["a misspelled field", minimal.replace("cluster: { mode: local }", "cluster: { mode: local, wrokers: 3 }"), 'Unrecognized key: "wrokers"'],
    ["both clients and rate", minimal.replace("clients: 1,", "clients: 1, rate: 5,"), "give exactly one of clients (closed loop) or rate (open loop)"],
    ["neither duration nor tasks", minimal.replace("tasks: 5, ", ""), "give exactly one of duration or tasks"],
    ["a bad duration", minimal.replace("tasks: 5", "duration: soon"), 'workload.phases.0.duration'],
    ["a reversed range", minimal.replace("mix: [{ kind: noop }]", "mix: [{ kind: sleep, ms: [20, 10] }]"), "must not exceed"],
    ["an unknown task kind", minimal.replace("kind: noop", "kind: teleport"), "workload.phases.0.mix.0.kind"],
    ["an unknown check", minimal.replace("no-lost-tasks", "no-bugs"), "checks.0.check"],
    ["no checks", minimal.replace("checks: [{ check: no-lost-tasks }]", "checks: []"), "checks"],
    ["a fault with neither at nor every", `${minimal}\nnemesis: [{ action: restart, target: api }]`, "give exactly one of at or every"],
    ["a fault on an unknown target", `${minimal}\nnemesis: [{ action: kill, target: database, at: 1s }]`, "nemesis.0.target"],
    ["a name with spaces", minimal.replace("name: tiny", "name: my tiny run"), "name: lowercase letters, digits and dashes"],
    ["YAML that does not parse", "name: [unclosed", "is not valid YAML"],
  ])("refuses %s, saying where", (_case, text, message) => {
    expect(() => parseScenario(text, "bad.yaml")).toThrow(ScenarioError);
    expect(() => parseScenario(text, "bad.yaml")).toThrow(message);
  });

  it("every shipped scenario is valid", () => {
    const files = readdirSync(SCENARIO_DIR).filter((file) => file.endsWith(".yaml"));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) expect(() => parseScenario(readFileSync(join(SCENARIO_DIR, file), "utf8"), file)).not.toThrow();
  });
});

describe("the format's documentation", () => {
  it("scenarios/README.md carries the current field reference, generated from the schema", () => {
    const readme = readFileSync(join(SCENARIO_DIR, "README.md"), "utf8");
    const start = readme.indexOf("-->\n", readme.indexOf("<!-- schema:start")) + 4;
    const end = readme.indexOf("<!-- schema:end -->");
    expect(readme.slice(start, end), "run `npm run scenario -- --schema` and paste it into scenarios/README.md").toBe(schemaReference());
  });

  it("every field has a meaning", () => {
    const undocumented = schemaReference().split("\n").filter((line) => line.startsWith("| `") && /\|\s*\|$/.test(line));
    expect(undocumented).toEqual([]);
  });
});
