/** A short scenario end to end: real cluster, workload, nemesis, checks and a report with charts. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAlive } from "../support/processes.js";
import { execa, execaSync } from "execa";
import { waitFor } from "../../harness/wait.js";
import { packageRoot } from "../../harness/paths.js";
import { loadScenario } from "../../harness/scenario/load.js";
import { runScenario } from "../../harness/scenario/runner.js";

const reportsDir = mkdtempSync(join(tmpdir(), "faaslab-reports-"));
afterAll(() => rmSync(reportsDir, { recursive: true, force: true }));

describe("a short scenario", () => {
  it("runs every phase, passes its checks and writes a report with its charts and history", async () => {
    const { scenario, file } = loadScenario(join(packageRoot, "test/fixtures/scenarios/short.yaml"));
    const outcome = await runScenario(scenario, file, { seed: 7, reportsDir });
    const [run] = outcome.report.runs;
    expect(run.aborted).toBeUndefined();
    expect(run.checks.map((check) => [check.name, check.verdict])).toEqual([
      ["no-lost-tasks", "pass"], ["results-correct", "pass"], ["no-duplicate-results", "pass"], ["monotonic-status", "pass"], ["errors-only-during-faults", "pass"], ["recovery", "pass"],
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
    expect(result.stderr).toContain("cluster.workers.count: Too small");
    expect(result.stderr).toContain('nemesis.0.target');
  });

  it("Ctrl-C stops the run, ends every process it started, and still writes the report", async () => {
    const cli = execa(process.execPath, [join(packageRoot, "dist/harness/scenario/main.js"), join(packageRoot, "test/fixtures/scenarios/short.yaml"), "--reports", reportsDir], { reject: false, buffer: true });
    let stderr = "";
    cli.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes("workload and nemesis"), { what: "the run to reach its workload", timeoutMs: 30_000 });
    const children = () => execaSync("pgrep", ["-P", String(cli.pid)], { reject: false }).stdout.split("\n").filter(Boolean).map(Number);
    await waitFor(() => children().length >= 4, { what: "the cluster's processes to be children of the run" });
    const started = children();
    cli.kill("SIGINT");
    const result = await cli;
    expect(result.exitCode).toBe(130);
    expect(result.stdout).toContain("INTERRUPTED: short");
    expect(readFileSync(join(reportsDir, "short.md"), "utf8")).toContain("The run ended early: interrupted.");
    await waitFor(() => started.every((pid) => !isAlive(pid)), { what: `the processes the run started (${started.join(", ")}) to end` });
  });

  it("--list shows the shipped scenarios with their descriptions", async () => {
    const result = await execa(process.execPath, [join(packageRoot, "dist/harness/scenario/main.js"), "--list"]);
    for (const name of ["fault-tolerance", "network-faults", "correctness", "push-vs-pull"]) expect(result.stdout).toMatch(new RegExp(`^${name} +\\S`, "m"));
  });
});
