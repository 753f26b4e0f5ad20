/** Faults that cannot happen are refused before anything starts, with the path of the field. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../system/paths.js";
import { loadScenario, parseScenario, SCENARIO_DIR } from "../../harness/scenario/load.js";
import { ScenarioSchema } from "../../harness/scenario/schema.js";
import { formatDuration, plannedLength, validateScenario, type Problem } from "../../harness/scenario/validate.js";

const FIXTURES = join(packageRoot, "test/fixtures/scenarios");

/** A scenario of two 20 s phases (40 s in all) on `mode` with two workers, and these faults. */
function scenario(nemesis: unknown[], options: { mode?: unknown; runtime?: string; count?: number; phases?: unknown[]; checks?: unknown[]; persistence?: string } = {}) {
  return ScenarioSchema.parse({
    name: "faults",
    description: "faults to validate",
    cluster: { mode: options.mode ?? "push", ...(options.runtime ? { runtime: options.runtime } : {}), workers: { count: options.count ?? 2, executors: 1 }, redis: { persistence: options.persistence ?? "none" } },
    workload: {
      phases: options.phases ?? [
        { clients: 1, duration: "20s", mix: [{ kind: "noop" }] },
        { clients: 1, duration: "20s", mix: [{ kind: "noop" }] },
      ],
    },
    nemesis,
    checks: options.checks ?? [{ check: "no-lost-tasks" }],
  });
}

const problems = (...args: Parameters<typeof scenario>): Problem[] => validateScenario(scenario(...args));
const paths = (...args: Parameters<typeof scenario>): string[] => problems(...args).map((problem) => problem.path.join("."));

describe("worker targets", () => {
  it("accepts an index below the count, and refuses one at or above it", () => {
    expect(problems([{ action: "kill", target: { worker: 1 }, at: "1s" }])).toEqual([]);
    expect(problems([{ action: "kill", target: { worker: 2 }, at: "1s" }])).toEqual([
      { path: ["nemesis", 0, "target", "worker"], message: "there is no worker 2: cluster.workers.count is 2, so the workers are 0 and 1 (a restarted worker keeps its index)" },
    ]);
    expect(problems([{ action: "cut", link: { workerLink: 5 }, for: "1s", at: "1s" }], { count: 1 })).toEqual([
      { path: ["nemesis", 0, "link", "workerLink"], message: "there is no worker 5: cluster.workers.count is 1, so the only worker is 0 (a restarted worker keeps its index)" },
    ]);
    expect(problems([{ action: "pause", target: { worker: 4 }, for: "1s", at: "1s" }], { count: 4 })[0].message).toContain("so the workers are 0 to 3");
  });

  it("accepts the selectors that name no index whatever the count", () => {
    for (const worker of ["random", "oldest", "newest", "all"]) {
      expect(problems([{ action: "restart", target: { worker }, at: "1s" }, { action: "cut", link: { workerLink: worker }, for: "1s", at: "2s" }], { count: 1 })).toEqual([]);
    }
  });

  it("refuses a worker target or a worker link in local mode, alone or in a list of modes", () => {
    const faults = [
      { action: "kill", target: { worker: "random" }, at: "1s" },
      { action: "latency", link: { workerLink: "all" }, ms: 10, for: "1s", at: "2s" },
    ];
    expect(problems(faults, { mode: "local" })).toEqual([
      { path: ["nemesis", 0, "target"], message: "a fault on a worker cannot happen: a local-mode cluster has no workers (cluster.mode is local)" },
      { path: ["nemesis", 1, "link"], message: "a fault on a worker's link cannot happen: a local-mode cluster has no workers (cluster.mode is local)" },
    ]);
    expect(paths(faults, { mode: ["push", "local"] })).toEqual(["nemesis.0.target", "nemesis.1.link"]);
    expect(problems(faults, { mode: ["push", "local"] })[0].message).toContain("cluster.mode lists local");
    expect(problems(faults, { mode: ["push", "pull"] })).toEqual([]);
  });

  it("accepts Redis, the API, the dispatcher and the Redis links in every mode", () => {
    const faults = [
      { action: "kill", target: "redis", at: "1s", restartAfter: "1s" },
      { action: "pause", target: "api", at: "3s", for: "1s" },
      { action: "restart", target: "dispatcher", at: "5s" },
      { action: "cut", link: { redisLink: "all" }, at: "7s", for: "1s" },
      { action: "blackhole", link: { redisLink: "dispatcher" }, direction: "toDownstream", at: "9s", for: "1s" },
    ];
    for (const mode of ["local", "pull", "push", ["local", "pull", "push"]]) expect(problems(faults, { mode })).toEqual([]);
  });

  it("checks each fault of a random rule's list", () => {
    const rule = {
      action: "random", every: "5s",
      among: [{ action: "kill", target: "api" }, { action: "pause", target: { worker: 3 }, for: "1s" }, { action: "cut", link: { workerLink: "oldest" }, for: "1s" }],
    };
    expect(paths([rule])).toEqual(["nemesis.0.among.1.target.worker"]);
    expect(paths([rule], { mode: "local" })).toEqual(["nemesis.0.among.1.target", "nemesis.0.among.2.link"]);
  });
});

describe("fault times", () => {
  it("knows the workload's length only when every phase has a duration", () => {
    expect(plannedLength(scenario([]))).toBe(40_000);
    expect(plannedLength(scenario([], { phases: [{ clients: 1, duration: "20s", mix: [{ kind: "noop" }] }, { clients: 1, tasks: 10, mix: [{ kind: "noop" }] }] }))).toBeUndefined();
  });

  it("refuses an at or a from at or after the end, and an until after it", () => {
    expect(problems([{ action: "restart", target: "api", at: "39.9s" }])).toEqual([]);
    expect(problems([{ action: "restart", target: "api", at: "50s" }])).toEqual([
      { path: ["nemesis", 0, "at"], message: "50s is not before the end of the workload (40s, the sum of its phases' durations): the fault would never happen" },
    ]);
    expect(paths([{ action: "restart", target: "api", at: "40s" }])).toEqual(["nemesis.0.at"]);
    expect(paths([{ action: "restart", target: "api", every: "5s", from: "45s" }])).toEqual(["nemesis.0.from"]);
    expect(paths([{ action: "restart", target: "api", every: "5s", until: "40s" }])).toEqual([]);
    expect(problems([{ action: "restart", target: "api", every: "5s", until: "1m" }])).toEqual([
      { path: ["nemesis", 0, "until"], message: "1m is after the end of the workload (40s, the sum of its phases' durations)" },
    ]);
  });

  it("refuses an every whose first time is past the end, one of zero, and a from after its until", () => {
    expect(paths([{ action: "restart", target: "api", every: "40s" }])).toEqual(["nemesis.0.every"]);
    expect(paths([{ action: "restart", target: "api", every: "40s", from: "10s" }])).toEqual([]);
    expect(problems([{ action: "restart", target: "api", every: "0s", from: "1s" }])).toEqual([
      { path: ["nemesis", 0, "every"], message: "every must be longer than 0 (it would repeat without end)" },
    ]);
    expect(problems([{ action: "restart", target: "api", every: "5s", from: "30s", until: "20s" }])).toEqual([
      { path: ["nemesis", 0, "from"], message: "from 30s is after until 20s: the fault would never happen" },
    ]);
  });

  it("checks a random rule's own times", () => {
    expect(paths([{ action: "random", at: "41s", among: [{ action: "kill", target: "api" }] }])).toEqual(["nemesis.0.at"]);
  });

  it("does not check times against the end when a phase is bounded by tasks, but still the rest", () => {
    const phases = [{ clients: 1, tasks: 100, mix: [{ kind: "noop" }] }];
    expect(problems([{ action: "restart", target: "api", at: "10m" }, { action: "restart", target: "api", every: "90m", until: "180m" }], { phases })).toEqual([]);
    expect(paths([{ action: "restart", target: "api", every: "5s", from: "30s", until: "20s" }, { action: "restart", target: "api", every: "0ms", until: "1s" }], { phases })).toEqual([
      "nemesis.0.from", "nemesis.1.every",
    ]);
    // With no end known in advance, a repeating fault must say when it stops.
    expect(problems([{ action: "restart", target: "api", every: "5s" }], { phases })).toEqual([
      { path: ["nemesis", 0, "until"], message: "a repeating fault needs an until when a phase is bounded by its number of tasks: the workload's end is not known in advance" },
    ]);
  });
});

describe("the rest of the scenario", () => {
  it("refuses an expect list that is not as long as its args", () => {
    const phases = [{ clients: 1, duration: "1s", mix: [{ kind: "function", file: "f.js", args: [[1], [2]], expect: [{ value: 1 }] }] }];
    expect(problems([], { phases })).toEqual([
      { path: ["workload", "phases", 0, "mix", 0, "expect"], message: "1 expected outcome for 2 argument lists: give one for each, in the same order" },
    ]);
    const matching = [{ clients: 1, duration: "1s", mix: [{ kind: "function", file: "f.js", args: [[1], [2]], expect: [{ value: 1 }, { error: "RangeError" }] }] }];
    expect(problems([], { phases: matching })).toEqual([]);
  });

  it("takes a function file's runtime from its extension: .js or .py, under every cluster.runtime", () => {
    const phase = (...files: string[]) => [{ clients: 1, duration: "1s", mix: files.map((file) => ({ kind: "function", file, args: [[1]] })) }];
    for (const runtime of [undefined, "javascript", "python", "mixed"]) {
      expect(problems([], { runtime, phases: phase("f.js", "g.py", "sub/h.py") })).toEqual([]);
      expect(problems([], { runtime, phases: phase("f.js", "f.ts", "f") })).toEqual([
        { path: ["workload", "phases", 0, "mix", 1, "file"], message: '"f.ts" is neither a .js nor a .py file: its extension says its runtime (.js: JavaScript, .py: Python)' },
        { path: ["workload", "phases", 0, "mix", 2, "file"], message: '"f" is neither a .js nor a .py file: its extension says its runtime (.js: JavaScript, .py: Python)' },
      ]);
    }
  });

  it("has nothing against a runtime in any mode, with or without faults", () => {
    const faults = [{ action: "kill", target: { worker: 0 }, at: "1s" }, { action: "restart", target: "dispatcher", at: "2s" }];
    for (const runtime of ["javascript", "python", "mixed"]) {
      expect(problems(faults, { runtime, mode: ["push", "pull"] })).toEqual([]);
      expect(problems([], { runtime, mode: "local" })).toEqual([]);
    }
  });

  it("refuses an fsync window unless Redis is on appendfsync everysec", () => {
    const checks = [{ check: "no-lost-tasks", fsyncWindow: "2s" }];
    expect(problems([], { checks, persistence: "aof-everysec" })).toEqual([]);
    expect(problems([], { checks, persistence: "aof-always" })).toEqual([
      {
        path: ["checks", 0, "fsyncWindow"],
        message: "an fsync window only applies with cluster.redis.persistence: aof-everysec (here: aof-always); it would excuse losses that this persistence does not explain",
      },
    ]);
  });

  it("writes durations as a scenario would", () => {
    expect([formatDuration(250), formatDuration(1500), formatDuration(40_000), formatDuration(120_000), formatDuration(90_000)]).toEqual(["250ms", "1.5s", "40s", "2m", "90s"]);
  });
});

describe("through the loader", () => {
  it("refuses the fixture of impossible faults, listing each with its path and line", () => {
    expect(() => loadScenario(join(FIXTURES, "invalid-faults.yaml"))).toThrow(
      [
        "invalid-faults.yaml is not a valid scenario:",
        "  - nemesis[0].target.worker (line 12): there is no worker 5: cluster.workers.count is 2, so the workers are 0 and 1 (a restarted worker keeps its index)",
        "  - nemesis[1].at (line 13): 50s is not before the end of the workload (40s, the sum of its phases' durations): the fault would never happen",
        "  - nemesis[2].from (line 14): from 30s is after until 20s: the fault would never happen",
        "  - nemesis[3].until (line 17): 45s is after the end of the workload (40s, the sum of its phases' durations)",
        "  - nemesis[3].among[0].link.workerLink (line 19): there is no worker 2: cluster.workers.count is 2, so the workers are 0 and 1 (a restarted worker keeps its index)",
      ].join("\n"),
    );
  });

  it("refuses worker faults in a scenario that also runs in local mode, and only those", () => {
    const message = (() => {
      try {
        loadScenario(join(FIXTURES, "invalid-local.yaml"));
      } catch (error) {
        return (error as Error).message;
      }
      return "accepted";
    })();
    expect(message.split("\n").map((line) => line.replace(/: a fault.*/, ""))).toEqual([
      "invalid-local.yaml is not a valid scenario:",
      "  - nemesis[0].target (line 10)",
      "  - nemesis[1].link (line 11)",
    ]);
  });

  it("finds nothing to refuse in any shipped scenario or valid fixture", () => {
    const files = [
      ...readdirSync(SCENARIO_DIR).filter((file) => file.endsWith(".yaml")).map((file) => join(SCENARIO_DIR, file)),
      ...readdirSync(FIXTURES).filter((file) => file.endsWith(".yaml") && !file.startsWith("invalid")).map((file) => join(FIXTURES, file)),
    ];
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) expect(validateScenario(parseScenario(readFileSync(file, "utf8"), file)), file).toEqual([]);
  });
});
