/**
 * Runs a scenario through fixed phases, once per mode it names: start the cluster, probe the
 * steady state, run the workload with the nemesis, heal, drain, collect logs, tear down,
 * check. Then one report for all runs. Interrupting it (the `signal`) cuts the workload short
 * and still heals, tears down, checks and reports what was recorded.
 */
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Cluster, type ClusterOptions } from "../cluster/cluster.js";
import { runChecks } from "../checker/index.js";
import { analyse, summarize } from "../history/analysis.js";
import { History } from "../history/history.js";
import { Nemesis } from "../nemesis/nemesis.js";
import { packageRoot } from "../paths.js";
import { Random } from "../random.js";
import { latencyChart, percentilesChart, statesChart, throughputChart } from "../report/charts.js";
import { describeEnvironment } from "../report/environment.js";
import { verdictOf, writeReport, type RunReport, type ScenarioReport } from "../report/markdown.js";
import { Workload } from "../workload/driver.js";
import { templatesFor, type TaskTemplate } from "../workload/kinds.js";
import type { Progress } from "./progress.js";
import type { Mode, Scenario } from "./schema.js";

export interface RunOptions {
  seed: number;
  /** Where reports go (default: reports/). */
  reportsDir?: string;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface ScenarioOutcome {
  passed: boolean;
  reportFile: string;
  report: ScenarioReport;
}

const OBSERVE_EVERY_MS = 500;
/** How long an interrupted run still waits for the tasks it accepted. */
const INTERRUPTED_DRAIN_MS = 5000;

export async function runScenario(scenario: Scenario, scenarioFile: string, options: RunOptions): Promise<ScenarioOutcome> {
  const reportsDir = options.reportsDir ?? join(packageRoot, "reports");
  const outDir = join(reportsDir, scenario.name);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const modes = (Array.isArray(scenario.cluster.mode) ? scenario.cluster.mode : [scenario.cluster.mode]) as Mode[];
  const startedAt = new Date();
  const started = performance.now();
  const phases = await Promise.all(scenario.workload.phases.map((phase) => templatesFor(phase.mix, scenarioFile)));
  const runs: RunReport[] = [];
  for (const mode of modes) {
    if (options.signal?.aborted) break;
    runs.push(await runOnce(scenario, mode, phases, outDir, options));
  }
  const report: ScenarioReport = {
    scenario, scenarioFile, seed: options.seed, startedAt, durationMs: performance.now() - started, environment: describeEnvironment(), runs,
  };
  const reportFile = join(reportsDir, `${scenario.name}.md`);
  writeReport(report, reportFile);
  return { passed: !options.signal?.aborted && verdictOf(report), reportFile, report };
}

function clusterOptions(scenario: Scenario, mode: Mode): ClusterOptions {
  const { workers, dispatcher, redis } = scenario.cluster;
  return {
    mode,
    executors: workers.executors,
    workers,
    dispatcher: {
      taskDeadlineMs: dispatcher.taskDeadline,
      heartbeatMs: dispatcher.heartbeat,
      heartbeatTolerance: dispatcher.heartbeatTolerance,
      maxAttempts: dispatcher.maxAttempts,
    },
    redisPersistence: redis.persistence === "none" ? { kind: "none" } : { kind: "aof", fsync: redis.persistence === "aof-always" ? "always" : "everysec" },
    faultProxies: scenario.nemesis
      .flatMap((fault) => (fault.action === "random" ? fault.among : [fault]))
      .some((fault) => fault.action === "latency" || fault.action === "cut" || fault.action === "blackhole"),
    logLevel: "info",
  };
}

async function runOnce(scenario: Scenario, mode: Mode, phases: TaskTemplate[][], outDir: string, options: RunOptions): Promise<RunReport> {
  const progress = options.progress;
  const historyFile = join(outDir, `history-${mode}.jsonl`);
  const logsDir = join(outDir, "logs", mode);
  const history = new History(historyFile);
  const random = new Random(options.seed);
  let aborted: string | undefined;
  const interrupted = () => options.signal?.aborted ?? false;

  progress?.phase(mode, "start cluster");
  const cluster = await Cluster.start(clusterOptions(scenario, mode));
  const workload = new Workload(cluster.apiUrl, history, random);
  const nemesis = new Nemesis(scenario.nemesis, cluster, history, random);
  let observer: NodeJS.Timeout | undefined;
  const onAbort = () => workload.stop();
  options.signal?.addEventListener("abort", onAbort);
  try {
    progress?.phase(mode, "steady-state probe");
    const probe = await steadyState(workload, phases.flat());
    if (probe) aborted = `the steady state was not reached before any fault: ${probe}`;

    if (!aborted && !interrupted()) {
      progress?.phase(mode, "workload and nemesis");
      progress?.watch(workload, nemesis);
      const planned = scenario.workload.phases.reduce((sum, phase) => sum + (phase.duration ?? 0), 0);
      // Fault times count from the start of the workload.
      nemesis.start(planned);
      observer = setInterval(() => void workload.observe(), OBSERVE_EVERY_MS);
      for (const [index, phase] of scenario.workload.phases.entries()) {
        if (interrupted()) break;
        await workload.runPhase(phase, phases[index]);
      }
      if (interrupted()) aborted = "interrupted";
    }

    progress?.phase(mode, "heal");
    await nemesis.heal();
    progress?.phase(mode, "drain");
    await workload.drain(interrupted() ? INTERRUPTED_DRAIN_MS : scenario.drain);
    clearInterval(observer);
    await workload.finalRead([...new Set(analyse(history.events).tasks.keys())]);
  } catch (error) {
    aborted = `${aborted ? `${aborted}; then ` : ""}the run failed: ${(error as Error).message}`;
  } finally {
    clearInterval(observer);
    options.signal?.removeEventListener("abort", onAbort);
    progress?.unwatch();
    progress?.phase(mode, "collect logs and tear down");
    await nemesis.heal().catch(() => {});
    collectLogs(cluster.dir, logsDir);
    await cluster.stop();
    await history.close();
  }

  progress?.phase(mode, "check and report");
  const analysis = analyse(history.events);
  const checks = runChecks(scenario.checks, analysis);
  const charts: Record<string, string> = {};
  const end = Math.max(...history.events.map((event) => event.t), 1);
  const title = (what: string) => `${scenario.name} (${mode}): ${what}`;
  for (const chart of scenario.report.charts) {
    const file = join(outDir, `${mode}-${chart}.png`);
    if (chart === "latency") latencyChart(file, analysis, history.events, end, title("latency of every task, by outcome"));
    if (chart === "throughput") throughputChart(file, analysis, end, title("throughput"));
    if (chart === "states") statesChart(file, analysis, end, title("tasks by state"));
    if (chart === "percentiles") percentilesChart(file, analysis, end, title("latency percentiles over time"));
    charts[chart] = file;
  }
  return { mode, summary: summarize(analysis), checks, analysis, charts, historyFile, logsDir, aborted };
}

/**
 * The steady-state hypothesis, as Chaos Toolkit has it: before any fault, one task of each
 * kind completes as expected. Returns what was wrong, or undefined.
 */
async function steadyState(workload: Workload, templates: TaskTemplate[]): Promise<string | undefined> {
  await workload.register(templates);
  const unique = [...new Map(templates.map((template) => [template.key, template])).values()];
  for (const template of unique) {
    const problem = await workload.probe(template);
    if (problem) return problem;
  }
  return undefined;
}

function collectLogs(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from)) if (file.endsWith(".log")) cpSync(join(from, file), join(to, file));
  try {
    cpSync(join(from, "redis", "redis.log"), join(to, "redis.log"));
  } catch {
    /* an external Redis has no log here */
  }
}
