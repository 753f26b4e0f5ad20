/** `npm run perf -- --quick`: the whole performance study as a smoke run, writing its report. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { packageRoot } from "../../system/paths.js";

const reportsDir = mkdtempSync(join(tmpdir(), "faaslab-perf-report-"));
afterAll(() => rmSync(reportsDir, { recursive: true, force: true }));

describe("the performance study, quick", () => {
  it("measures every question and writes the report, its charts and its raw measurements", async () => {
    const run = await execa(process.execPath, [join(packageRoot, "dist/bench/perf.js"), "--quick", "--reports", reportsDir], { reject: false, timeout: 240_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const report = readFileSync(join(reportsDir, "performance_report.md"), "utf8");
    for (const section of ["## Environment", "## Method", "## Targets", "## faaslab beside BullMQ", "## Scaling", "## Latency versus offered load", "## Failure recovery", "## Micro-benchmarks (tinybench)", "## Discussion"]) {
      expect(report).toContain(section);
    }
    expect(report).toContain("This machine has");
    const measurements = JSON.parse(readFileSync(join(reportsDir, "performance", "measurements.json"), "utf8"));
    expect(measurements.targets.map((t: { mode: string }) => t.mode)).toEqual(["local", "pull", "push"]);
    expect(measurements.peers.bullmq.closedLoop.jobsPerSecond).toBeGreaterThan(0);
    expect(measurements.scaling.length).toBeGreaterThanOrEqual(3 * 2 * 3 * 2);
    expect(measurements.micro.map((m: { group: string }) => m.group)).toEqual(expect.arrayContaining(["codec", "redis", "executor", "transport"]));
    for (const chart of ["scaling-noop-throughput", "scaling-cpu-latency", "latency-versus-load", "recovery"]) {
      expect(existsSync(join(reportsDir, "performance", `${chart}.png`))).toBe(true);
    }
  }, 300_000);
});
