/**
 * Scenarios with Python tasks through the real harness runner: `cluster.runtime: mixed` (every
 * built-in kind in JavaScript and in Python, and a function file in each, in one history,
 * under a worker kill) and `cluster.runtime: python`; and a scenario with Python tasks refused
 * before it starts where Python cannot run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deserialize } from "../../system/codec/index.js";
import { packageRoot } from "../../system/paths.js";
import { loadScenario, ScenarioError } from "../../harness/scenario/load.js";
import { runScenario, type ScenarioOutcome } from "../../harness/scenario/runner.js";
import { pythonPrerequisites } from "../support/python.js";

const prerequisites = pythonPrerequisites();
const reportsDir = mkdtempSync(join(tmpdir(), "faaslab-python-reports-"));
afterAll(() => rmSync(reportsDir, { recursive: true, force: true }));
const fixture = (name: string) => loadScenario(join(packageRoot, "test/fixtures/scenarios", name));

/** Per kind, how many of its tasks finished (the checker compared each one's result), and their statuses. */
function finishedByKind(outcome: ScenarioOutcome): Map<string, { finished: number; statuses: Set<string> }> {
  const byKind = new Map<string, { finished: number; statuses: Set<string> }>();
  for (const task of outcome.report.runs[0].analysis.tasks.values()) {
    const entry = byKind.get(task.kind) ?? { finished: 0, statuses: new Set<string>() };
    if (task.terminal) {
      entry.finished++;
      entry.statuses.add(task.terminal.status);
    }
    byKind.set(task.kind, entry);
  }
  return byKind;
}

/** The Python throw tasks' errors, as the checker read them. */
function pythonThrows(outcome: ScenarioOutcome): { expected: string; seen: string }[] {
  return [...outcome.report.runs[0].analysis.tasks.values()]
    .filter((task) => task.kind === "throw/python" && task.terminal?.status === "FAILED")
    .map((task) => {
      const error = deserialize(task.result!) as Error;
      return { expected: task.expected.ok ? "ok" : `${task.expected.name}: ${task.expected.message}`, seen: `${error.name}: ${error.message}` };
    });
}

describe.skipIf(!prerequisites.ok)(`scenarios with Python tasks${prerequisites.ok ? "" : ` (skipped: ${prerequisites.why})`}`, () => {
  it("runtime mixed: every kind in both runtimes runs in one history under a worker kill, and every result is checked", async () => {
    const { scenario, file } = fixture("python-mixed.yaml");
    const outcome = await runScenario(scenario, file, { seed: 11, reportsDir });
    const [run] = outcome.report.runs;
    expect(run.aborted).toBeUndefined();
    expect(run.checks.map((check) => [check.name, check.verdict])).toEqual([
      ["no-lost-tasks", "pass"], ["results-correct", "pass"], ["no-duplicate-results", "pass"], ["monotonic-status", "pass"], ["recovery", "pass"], ["nemesis", "pass"],
    ]);
    expect(outcome.passed).toBe(true);

    const byKind = finishedByKind(outcome);
    const pyFile = "function:../../../scenarios/functions/collatz.py";
    const jsFile = "function:../../../scenarios/functions/collatz.js";
    expect([...byKind.keys()].sort()).toEqual(["cpu", "cpu/python", jsFile, pyFile, "noop", "noop/python", "sleep", "sleep/python", "throw", "throw/python"].sort());
    for (const [kind, { finished }] of byKind) expect(finished, `${kind} tasks finished`).toBeGreaterThan(0);
    const checked = run.checks.find((check) => check.name === "results-correct")!;
    expect(checked.figure).toMatch(/^0 of \d+ finished tasks had a wrong result/);
    expect(byKind.get("noop/python")!.statuses.has("COMPLETED")).toBe(true);

    // A Python throw failed with the ValueError its body raises, and was checked as such.
    const throws = pythonThrows(outcome);
    expect(throws.length).toBeGreaterThan(0);
    for (const { expected, seen } of throws) {
      expect(seen).toMatch(/^ValueError: expected failure \d+$/);
      expect(seen).toBe(expected);
    }
    // The schedule names each task's runtime, so its digest covers it.
    const scheduled = Object.values(run.schedule!.clients).flat().map(([kind]) => kind);
    expect(new Set(scheduled)).toEqual(new Set(byKind.keys()));

    const report = readFileSync(outcome.reportFile, "utf8");
    expect(report).toContain("**Verdict: PASS**");
    expect(report).toContain("JavaScript and Python tasks (runtime mixed");
  }, 60_000);

  it("runtime python: every built-in kind and a .py file with its outcomes from the scenario, in local mode", async () => {
    const { scenario, file } = fixture("python-only.yaml");
    const outcome = await runScenario(scenario, file, { seed: 5, reportsDir });
    const [run] = outcome.report.runs;
    expect(run.aborted).toBeUndefined();
    expect(run.checks.map((check) => check.verdict)).toEqual(["pass", "pass", "pass", "pass"]);
    expect(outcome.passed).toBe(true);
    const byKind = finishedByKind(outcome);
    expect([...byKind.keys()].sort()).toEqual(["cpu/python", "function:../../../scenarios/functions/collatz.py", "noop/python", "sleep/python", "throw/python"]);
    for (const [kind, { finished }] of byKind) expect(finished, `${kind} tasks finished`).toBeGreaterThan(0);
    expect(pythonThrows(outcome).every(({ seen, expected }) => seen === expected && seen.startsWith("ValueError: "))).toBe(true);
    expect(readFileSync(outcome.reportFile, "utf8")).toContain("Python tasks (runtime python)");
  }, 60_000);
});

describe("a scenario with Python tasks where Python cannot run", () => {
  it("is refused before anything starts, saying why", async () => {
    const { scenario, file } = fixture("python-only.yaml");
    const out = join(reportsDir, "refused");
    const missing = runScenario(scenario, file, { seed: 5, reportsDir: out, python: { interpreter: "/nonexistent/python3" } });
    await expect(missing).rejects.toThrow(ScenarioError);
    await expect(missing).rejects.toThrow(/this scenario runs Python tasks \(noop, sleep, fibonacci, throws, .*collatz\.py\), and this machine cannot run them: .*nonexistent/);
    await expect(runScenario(scenario, file, { seed: 5, reportsDir: out, python: false })).rejects.toThrow(/runs Python tasks .* and the cluster is to run without Python/);
    expect(existsSync(out)).toBe(false);
  });
});
