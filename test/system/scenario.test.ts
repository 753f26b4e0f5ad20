/** A short scenario end to end: real cluster, workload, nemesis, checks and a report with charts. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive } from "../support/processes.js";
import { execa, execaSync } from "execa";
import { waitFor } from "../../harness/wait.js";
import { packageRoot } from "../../system/paths.js";
import { loadScenario } from "../../harness/scenario/load.js";
import { runScenario } from "../../harness/scenario/runner.js";

const reportsDir = mkdtempSync(join(tmpdir(), "faaslab-reports-"));
/** Operations recorded so far by a run writing to `dir`. */
const readHistoryCount = (dir: string) => {
  try {
    return readFileSync(join(dir, "short", "history-push.jsonl"), "utf8").split("\n").length;
  } catch {
    return 0;
  }
};
afterAll(() => rmSync(reportsDir, { recursive: true, force: true }));

describe("a short scenario", () => {
  it("runs every phase, passes its checks and writes a report with its charts and history", async () => {
    const { scenario, file } = loadScenario(join(packageRoot, "test/fixtures/scenarios/short.yaml"));
    const outcome = await runScenario(scenario, file, { seed: 7, reportsDir });
    const [run] = outcome.report.runs;
    expect(run.aborted).toBeUndefined();
    expect(run.checks.map((check) => [check.name, check.verdict])).toEqual([
      ["no-lost-tasks", "pass"], ["results-correct", "pass"], ["no-duplicate-results", "pass"], ["monotonic-status", "pass"], ["errors-only-during-faults", "pass"], ["recovery", "pass"],
      ["nemesis", "pass"],
    ]);
    expect(outcome.passed).toBe(true);
    expect(run.summary.accepted).toBeGreaterThan(50);
    expect(run.summary.lost).toBe(0);
    // All three faults happened, each with a start and an end; the third drawn from its list.
    expect(run.analysis.faults.map((fault) => fault.description)).toEqual([
      expect.stringMatching(/^kill -9 worker-\d, restarted after 1 s$/),
      expect.stringMatching(/^pause worker-\d for 1 s$/),
      expect.stringMatching(/^kill -9 (redis|api), restarted after 500 ms$/),
    ]);
    expect(run.analysis.faults[2].crashed).toEqual([expect.stringMatching(/^(redis|api)$/)]);
    expect(run.analysis.faults.every((fault) => fault.end !== undefined && fault.end >= fault.start)).toBe(true);

    const report = readFileSync(outcome.reportFile, "utf8");
    expect(report).toContain("**Verdict: PASS**");
    expect(report).toMatch(/\| no-lost-tasks \| ✅ pass: 0 of \d+ accepted tasks never reached a terminal state \|/);
    for (const chart of ["latency", "throughput", "states", "percentiles"]) {
      const png = join(reportsDir, "short", `push-${chart}.png`);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe("PNG");
      expect(report).toContain(`(short/push-${chart}.png)`);
    }
    const history = readFileSync(join(reportsDir, "short", "history-push.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(history.filter((event) => event.type === "fault")).toHaveLength(6);
    expect(history.some((event) => event.type === "invoke")).toBe(true);
    expect(existsSync(join(reportsDir, "short", "logs", "push", "dispatcher.log"))).toBe(true);
  });

  it("a wrong scenario file is refused before anything starts, with the path of the bad field", async () => {
    const result = await execa(process.execPath, [join(packageRoot, "dist/harness/scenario/main.js"), join(packageRoot, "test/fixtures/scenarios/invalid.yaml")], { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("invalid.yaml is not a valid scenario");
    expect(result.stderr).toContain("  - cluster.workers.count (line 5): Too small");
    expect(result.stderr).toContain('  - nemesis[0].target (line 10): expected dispatcher, api, redis or { worker');
  });

  it("Ctrl-C, sent to the harness's whole process group as a terminal does, reaches only the harness: exit 130, a report, nothing lost", async () => {
    const out = join(reportsDir, "interrupted");
    // A process group of its own, as a shell gives a foreground job: the signal goes to the group.
    const cli = execa(process.execPath, [join(packageRoot, "dist/harness/scenario/main.js"), join(packageRoot, "test/fixtures/scenarios/short.yaml"), "--reports", out], {
      reject: false, buffer: true, detached: true,
    });
    let stderr = "";
    cli.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await waitFor(() => stderr.includes("workload and nemesis"), { what: "the run to reach its workload", timeoutMs: 30_000 });
      const children = () => execaSync("pgrep", ["-P", String(cli.pid)], { reject: false }).stdout.split("\n").filter(Boolean).map(Number);
      await waitFor(() => children().length >= 4, { what: "the cluster's processes to be children of the run" });
      const started = children();
      // Some tasks accepted first, so that there is something to lose.
      await waitFor(() => readHistoryCount(out) > 50, { what: "the run to record its first operations", timeoutMs: 10_000 });
      process.kill(-cli.pid!, "SIGINT");
      const result = await cli;
      expect(result.exitCode).toBe(130);
      expect(result.stdout).toContain("INTERRUPTED: short");
      const report = readFileSync(join(out, "short.md"), "utf8");
      expect(report).toContain("The run ended early: interrupted.");
      // The cluster was not hit by the signal: it drained, and every accepted task finished.
      expect(report).toMatch(/\| no-lost-tasks \| ✅ pass: 0 of [1-9]\d* accepted tasks never reached a terminal state \|/);
      expect(result.stdout).toMatch(/push pass +no-lost-tasks: 0 of [1-9]\d* accepted/);
      await waitFor(() => started.every((pid) => !isAlive(pid)), { what: `the processes the run started (${started.join(", ")}) to end` });
    } finally {
      if (cli.pid && isAlive(cli.pid)) process.kill(-cli.pid, "SIGKILL");
    }
  });

  it("--list shows the shipped scenarios with their descriptions", async () => {
    const result = await execa(process.execPath, [join(packageRoot, "dist/harness/scenario/main.js"), "--list"]);
    for (const name of ["fault-tolerance", "network-faults", "correctness", "push-vs-pull"]) expect(result.stdout).toMatch(new RegExp(`^${name} +\\S`, "m"));
  });
});
