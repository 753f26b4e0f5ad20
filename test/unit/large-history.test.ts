/**
 * A history of 500,000 operations goes through everything after the cluster (analysis, every
 * check, the summary, the four charts and the report) without a RangeError from an array
 * spread into a call, and in bounded time.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { HistoryEvent } from "../../harness/history/history.js";
import { renderReport, type ScenarioReport } from "../../harness/report/markdown.js";
import { parseScenario } from "../../harness/scenario/load.js";
import { judgeRun } from "../../harness/scenario/runner.js";
import { serialize } from "../../system/codec/index.js";

const OPERATIONS = 500_000;
const dir = mkdtempSync(join(tmpdir(), "faaslab-large-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenario = parseScenario(`
name: large
description: a synthetic history
cluster: { mode: push }
workload:
  phases:
    - { clients: 50, duration: 100s, mix: [{ kind: noop }, { kind: throw }] }
nemesis:
  - { action: kill, target: { worker: 0 }, every: 10s, restartAfter: 1s }
checks:
  - check: no-lost-tasks
  - check: errors-only-during-faults
  - check: results-correct
  - check: no-duplicate-results
  - check: monotonic-status
  - check: recovery
    within: 5s
  - check: latency
    p99: 1s
  - check: throughput
    atLeast: 100
`);

/** 500,000 submissions over 100 s: 1 in 10 an expected failure, 1 in 1,000 refused while a fault is in force. */
function syntheticHistory(): HistoryEvent[] {
  const events: HistoryEvent[] = [{ t: 0, type: "phase", phase: "start", name: "load" }];
  const nullResult = serialize(null);
  for (let fault = 0; fault < 10; fault++) {
    const start = 10_000 * (fault + 1) - 5000;
    events.push({ t: start, type: "fault", phase: "start", fault, planned: start, description: `kill -9 worker-0, restarted after 1 s`, targets: ["api"], crashed: ["worker-0"] });
    events.push({ t: start + 1000, type: "fault", phase: "end", fault, description: "kill -9 worker-0, restarted after 1 s" });
  }
  for (let op = 0; op < OPERATIONS; op++) {
    const t = (op / OPERATIONS) * 100_000;
    const fails = op % 10 === 0;
    const expected = fails ? { ok: false as const, name: "RangeError", message: `expected failure ${op}` } : { ok: true as const, value: nullResult };
    events.push({ t, type: "invoke", op, process: `load#0/client-${op % 50}`, kind: fails ? "throw" : "noop", args: "[[]]", expected });
    if (op % 1000 === 999 && Math.floor(t / 10_000) * 10_000 + 5000 <= t && t <= Math.floor(t / 10_000) * 10_000 + 6000) {
      events.push({ t: t + 5, type: "complete", op, outcome: "info", error: "connection refused" });
      continue;
    }
    const taskId = `task-${op}`;
    events.push({ t: t + 1, type: "complete", op, outcome: "ok", taskId });
    // Five wrong results among them, which results-correct must still find.
    const wrong = op % 100_000 === 5;
    const result = fails ? serialize({ name: "RangeError", message: `expected failure ${op}` }) : wrong ? serialize(1) : nullResult;
    events.push({ t: t + 3 + (op % 7), type: "status", taskId, status: fails ? "FAILED" : "COMPLETED", result, invokedAt: t + 2, by: "client" });
  }
  events.push({ t: 100_000, type: "phase", phase: "end", name: "load" });
  return events.sort((a, b) => a.t - b.t);
}

describe("a history of 500,000 operations", () => {
  it("is analysed, checked, charted and reported end to end", { timeout: 240_000 }, () => {
    const events = syntheticHistory();
    const started = performance.now();
    const run = judgeRun(scenario, "push", events, { outDir: dir, historyFile: join(dir, "history.jsonl"), logsDir: join(dir, "logs") });
    const judged = performance.now() - started;
    const report: ScenarioReport = {
      scenario, scenarioFile: join(dir, "large.yaml"), seed: 1, startedAt: new Date(), durationMs: 0,
      environment: { cpu: "test", cores: 2, memoryGiB: 1, node: process.version, redis: "-", commit: "-", libraries: {} }, runs: [run],
    };
    const markdown = renderReport(report, join(dir, "large.md"));
    process.stdout.write(`500,000 operations: judged (analysis, checks, four charts) in ${(judged / 1000).toFixed(1)} s\n`);

    expect(run.summary.invoked).toBe(OPERATIONS);
    expect(run.summary.lost).toBe(0);
    expect(run.chartErrors).toEqual([]);
    expect(Object.keys(run.charts).sort()).toEqual(["latency", "percentiles", "states", "throughput"]);
    for (const file of Object.values(run.charts)) expect(readFileSync(file).subarray(1, 4).toString()).toBe("PNG");
    const verdicts = Object.fromEntries(run.checks.map((check) => [check.name, check.verdict]));
    expect(verdicts).toEqual({
      "no-lost-tasks": "pass", "errors-only-during-faults": "pass", "results-correct": "fail", "no-duplicate-results": "pass", "monotonic-status": "pass",
      recovery: "pass", latency: "pass", throughput: "pass", nemesis: "pass",
    });
    expect(run.checks.find((check) => check.name === "results-correct")!.figure).toMatch(/^5 of 49\d{4} finished tasks had a wrong result$/);
    expect(markdown).toContain("| tasks submitted | 500000 |");
  });
});
