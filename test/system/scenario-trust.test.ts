/**
 * What makes the harness's results worth trusting, on real clusters: one seed replays one
 * schedule whatever the timing, and a run whose faults overlap restarts, with a checker that
 * throws, still ends with a report that says so.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckResult } from "../../harness/checker/index.js";
import { runCheck } from "../../harness/checker/index.js";
import type { HistoryEvent } from "../../harness/history/history.js";
import { packageRoot } from "../../system/paths.js";
import type { RunReport } from "../../harness/report/markdown.js";
import { Random } from "../../harness/random.js";
import { loadScenario } from "../../harness/scenario/load.js";
import { exitCodeOf, runScenario } from "../../harness/scenario/runner.js";
import { drawSchedule } from "../../harness/scenario/schedule.js";
import { templatesFor } from "../../harness/workload/kinds.js";

const reportsDir = mkdtempSync(join(tmpdir(), "faaslab-trust-"));
afterAll(() => rmSync(reportsDir, { recursive: true, force: true }));

const fixture = (name: string) => loadScenario(join(packageRoot, "test/fixtures/scenarios", `${name}.yaml`));
const historyOf = (file: string): HistoryEvent[] => readFileSync(file, "utf8").trim().split("\n").map((line) => JSON.parse(line));

/** What each client submitted, in order: [kind, serialized arguments], as the schedule lists them. */
function submittedByClient(history: HistoryEvent[]): Record<string, [string, string][]> {
  const byClient: Record<string, [string, string][]> = {};
  for (const event of history) if (event.type === "invoke") (byClient[event.process] ??= []).push([event.kind, event.args]);
  return byClient;
}

describe("a seed replays the run", () => {
  it("two runs with one seed draw the same schedule, the clients submit it in order, and the faults hit the same targets", async () => {
    const { scenario, file } = fixture("replay");
    const runs: RunReport[] = [];
    for (const round of [1, 2]) {
      const outcome = await runScenario(scenario, file, { seed: 4242, reportsDir: join(reportsDir, `replay-${round}`) });
      runs.push(outcome.report.runs[0]);
    }
    const [first, second] = runs;
    expect(first.schedule!.digest).toMatch(/^[0-9a-f]{16}$/);
    expect(second.schedule!.digest).toBe(first.schedule!.digest);
    expect(second.schedule).toEqual(first.schedule);
    expect(Object.keys(first.schedule!.clients)).toHaveLength(4);

    for (const run of runs) {
      // Every client submitted exactly the schedule's tasks, in its order, however many it got to.
      const submitted = submittedByClient(historyOf(run.historyFile));
      expect(Object.keys(submitted).sort()).toEqual(Object.keys(run.schedule!.clients).sort());
      for (const [client, tasks] of Object.entries(submitted)) {
        expect(tasks.length).toBeGreaterThan(0);
        const scheduled = run.schedule!.clients[client].slice(0, tasks.length);
        expect(tasks.slice(0, scheduled.length)).toEqual(scheduled);
      }
      // The faults that happened are the planned ones, on the planned targets.
      expect(run.analysis.faults).toHaveLength(run.schedule!.faults.length);
      run.analysis.faults.forEach((fault, index) => expect(fault.planned).toBe(run.schedule!.faults[index].at));
    }
    const targets = (run: RunReport) => run.analysis.faults.map((fault) => fault.skipped === undefined ? fault.targets : "skipped");
    expect(targets(second)).toEqual(targets(first));
    // Times are the scenario file's: the first kill was planned at 1.2 s of the workload and happens then.
    expect(first.analysis.faults[0].planned).toBe(1200);
    expect(first.analysis.faults[0].start).toBeGreaterThanOrEqual(1190);
    expect(first.analysis.faults[0].start).toBeLessThan(2200);

    const report = readFileSync(join(reportsDir, "replay-1", "replay.md"), "utf8");
    expect(report).toContain(`digest \`${first.schedule!.digest}\``);
    expect(report).toContain("replay with `npm run scenario test/fixtures/scenarios/replay.yaml -- --seed 4242`");
  });

  it("another seed draws another schedule, and the schedule does not depend on anything but the seed", async () => {
    const { scenario, file } = fixture("replay");
    const templates = await Promise.all(scenario.workload.phases.map((phase) => templatesFor(phase.mix, file)));
    const digest = (seed: number) => drawSchedule(scenario, "push", templates, new Random(seed)).digest;
    expect(digest(4242)).toBe(digest(4242));
    expect(digest(4243)).not.toBe(digest(4242));
  });
});

describe("a run always ends with a report", () => {
  it("faults that overlap restarts and a checker that throws end in exit code 1 and a report naming the failed restart and the unknown check", async () => {
    const { scenario, file } = fixture("overlap");
    const throwing: typeof runCheck = (check, analysis): CheckResult => {
      if (check.check === "results-correct") throw new Error("a checker made to throw by the test");
      return runCheck(check, analysis);
    };
    const outcome = await runScenario(scenario, file, { seed: 3, reportsDir, runCheck: throwing });
    const [run] = outcome.report.runs;
    expect(outcome.passed).toBe(false);
    expect(exitCodeOf(outcome, false)).toBe(1);
    const verdicts = Object.fromEntries(run.checks.map((check) => [check.name, check.verdict]));
    expect(verdicts).toEqual({ "no-lost-tasks": "pass", "results-correct": "unknown", "no-duplicate-results": "pass", nemesis: "fail" });
    expect(run.analysis.problems.length).toBeGreaterThan(0);
    expect(run.analysis.problems[0].description).toMatch(/worker-0 did not come back: .*exited before it was ready/);

    const report = readFileSync(outcome.reportFile, "utf8");
    expect(report).toContain("**Verdict: FAIL**");
    expect(report).toContain("| results-correct | ❔ unknown: the checker failed: a checker made to throw by the test |");
    expect(report).toMatch(/\| nemesis \| ❌ fail: \d+ faults injected.*worker-0 did not come back/);
    expect(report).toContain("Problems on the harness's side");
  });
});
