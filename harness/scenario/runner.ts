/**
 * Runs a scenario through fixed phases, once per mode it names: start the cluster, probe the
 * steady state, run the workload with the nemesis, heal, drain, collect logs, tear down,
 * check. Then one report for all runs. Whatever happens (a cluster that does not start, a
 * process that does not come back, a checker that throws, Ctrl-C), it ends with a report
 * that says what happened: `runScenario` throws only for a scenario it cannot begin.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Cluster, type ClusterOptions } from "../cluster/cluster.js";
import { namespacesAvailable, reapStaleNamespaces } from "../cluster/netns.js";
import { notApplicableReason, NotApplicable, TargetCluster } from "../cluster/target-cluster.js";
import type { ClusterUnderTest } from "../cluster/under-test.js";
import { loadTarget, parseTarget, TargetError, targetPath, type LoadedTarget } from "../target/load.js";
import { DialectApi, FaaslabApi, type TaskApi } from "../workload/api.js";
import { REQUEST_TIMEOUT_MS } from "../workload/driver.js";
import { runCheck, runChecks } from "../checker/index.js";
import { analyse, maximum, summarize } from "../history/analysis.js";
import { History, type HistoryEvent } from "../history/history.js";
import { Nemesis } from "../nemesis/nemesis.js";
import { packageRoot } from "../../system/paths.js";
import { Random } from "../random.js";
import { latencyChart, percentilesChart, statesChart, throughputChart } from "../report/charts.js";
import { describeEnvironment } from "../report/environment.js";
import { runId, runLabel, verdictOf, writeReport, type RunReport, type ScenarioReport } from "../report/markdown.js";
import { Workload } from "../workload/driver.js";
import { templatesFor, type TaskTemplate } from "../workload/kinds.js";
import type { LaunchPython } from "../../system/launcher/cluster.js";
import { PythonPool } from "../../system/executor/python-pool.js";
import { defaultPython } from "../../system/executor/python-jail.js";
import { execFileSync } from "node:child_process";
import { ScenarioError } from "./load.js";
import type { Progress } from "./progress.js";
import { drawSchedule, type Schedule } from "./schedule.js";
import type { DispatcherMode } from "../../system/modes.js";
import type { Scenario } from "./schema.js";

export interface RunOptions {
  seed: number;
  /**
   * Where the run writes its report (`<name>.md`) and, beside it, a folder `<name>/` with
   * the charts, histories, schedules and logs. Default: a folder of its own under runs/.
   */
  reportsDir?: string;
  signal?: AbortSignal;
  progress?: Progress;
  /** Replaces how each check is run (a test makes one throw). */
  runCheck?: typeof runCheck;
  /** Errors caught outside the run's own code (the CLI's last-resort handler puts them here): each becomes a problem of the run in progress. */
  harnessErrors?: string[];
  /**
   * The cluster's Python runtime (default: on wherever it can run); its `interpreter` also
   * computes the expected outcomes of .py files, and is the one checked before a run with
   * Python tasks.
   */
  python?: LaunchPython;
  /** Targets to run against instead of the scenario's own `targets` (--target): names or paths. */
  targets?: string[];
  /** The implementation's directory for targets that need one (--target-dir). */
  targetDir?: string;
}

/** What one set of runs is against: faaslab through its built-in launcher, or a target file. */
export interface RunTarget {
  name: string;
  loaded?: LoadedTarget;
}

export interface ScenarioOutcome {
  passed: boolean;
  reportFile: string;
  report: ScenarioReport;
}

const OBSERVE_EVERY_MS = 500;

/** The CLI's exit code: 0 when every check of every run passed, 130 when interrupted (as a shell has it), else 1. */
export function exitCodeOf(outcome: ScenarioOutcome, interrupted: boolean): number {
  return interrupted ? 130 : outcome.passed ? 0 : 1;
}

/** Where a run writes by default: runs/<UTC time>-<name>/, so no run overwrites another or a curated report in reports/. */
export function defaultRunDir(name: string, startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
  return join(packageRoot, "runs", `${stamp}-${name}`);
}

export async function runScenario(scenario: Scenario, scenarioFile: string, options: RunOptions): Promise<ScenarioOutcome> {
  const startedAt = new Date();
  // Read before the run, so what the run writes cannot change what it says it ran on.
  const environment = describeEnvironment();
  const started = performance.now();
  const interpreter = options.python ? options.python.interpreter : undefined;
  const targets = resolveTargets(scenario, scenarioFile, options);
  const phasesFor = new Map<RunTarget, TaskTemplate[][]>();
  for (const target of targets) {
    const runtime = runtimeFor(scenario, target);
    const phases = await Promise.all(scenario.workload.phases.map((phase) => templatesFor(phase.mix, scenarioFile, { runtime, python: interpreter })));
    if (speaksFaaslab(target)) await requirePython(phases.flat(), options.python);
    else requireDill(target.name, interpreter);
    phasesFor.set(target, phases);
  }
  // Namespaces a killed earlier run left behind go first (their owner is gone).
  if (targets.some((target) => target.loaded)) reapStaleNamespaces();
  // Absolute: a target's components run in their own directory, and take paths under it.
  const reportsDir = resolve(options.reportsDir ?? defaultRunDir(scenario.name, startedAt));
  const outDir = join(reportsDir, scenario.name);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const modes = (Array.isArray(scenario.cluster.mode) ? scenario.cluster.mode : [scenario.cluster.mode]) as DispatcherMode[];
  const runs: RunReport[] = [];
  for (const target of targets) {
    for (const mode of modes) {
      if (options.signal?.aborted) break;
      runs.push(await runOnce(scenario, mode, target, phasesFor.get(target)!, outDir, options));
    }
  }
  const report: ScenarioReport = {
    scenario, scenarioFile, seed: options.seed, startedAt, durationMs: performance.now() - started, environment, runs,
    ...(options.targets || options.targetDir ? { targetOptions: { targets: options.targets, targetDir: options.targetDir } } : {}),
  };
  const reportFile = join(reportsDir, `${scenario.name}.md`);
  writeReport(report, reportFile);
  return { passed: !options.signal?.aborted && verdictOf(report), reportFile, report };
}

/** A dill-base64 target's functions are pickled by the harness, with the OS's CPython and dill: refused before anything starts without them. */
function requireDill(target: string, interpreter: string | undefined): void {
  const python = interpreter ?? defaultPython();
  try {
    execFileSync(python, ["-c", "import dill"], { stdio: "ignore", timeout: 30_000 });
  } catch {
    throw new ScenarioError(`target ${target} takes functions pickled with dill, which the harness makes with ${python}, and it has no dill (apt-get install python3-dill)`);
  }
}

/**
 * A scenario with Python tasks needs Python where they run: refused before anything starts,
 * saying why, on a machine where the executor cannot run Python (rather than a run whose
 * Python tasks wait QUEUED for an executor that never comes).
 */
async function requirePython(templates: readonly TaskTemplate[], python: LaunchPython | undefined): Promise<void> {
  const kinds = [...new Set(templates.filter((template) => template.runtime === "python").map((template) => template.name))];
  if (kinds.length === 0) return;
  const what = `this scenario runs Python tasks (${kinds.join(", ")})`;
  if (python === false) throw new ScenarioError(`${what}, and the cluster is to run without Python`);
  const available = await PythonPool.available(python?.interpreter);
  if (!available.ok) {
    throw new ScenarioError(`${what}, and this machine cannot run them: ${available.why} (Python functions need the OS's CPython with dill, and bubblewrap: apt-get install python3 python3-dill bubblewrap)`);
  }
}

/**
 * The targets a run is against: --target, else the scenario's `targets`, else faaslab through
 * its built-in launcher. A scenario's target paths are relative to its file. A target that does
 * not load is refused before anything starts.
 */
function resolveTargets(scenario: Scenario, scenarioFile: string, options: RunOptions): RunTarget[] {
  const names = options.targets ?? scenario.targets;
  if (!names) return [{ name: "faaslab" }];
  const fromScenario = options.targets === undefined;
  const loaded = names.map((name) => {
    const path = fromScenario && /[/\\]|\.ya?ml$/.test(name) ? resolve(dirname(scenarioFile), name) : name;
    try {
      // --target-dir is the implementation of yours: the one target named, or those with no dir of their own (faaslab's is this repository).
      const file = targetPath(path);
      const ownDir = names.length > 1 && parseTarget(readFileSync(file, "utf8"), basename(file)).dir !== undefined;
      return loadTarget(file, ownDir ? {} : { targetDir: options.targetDir });
    } catch (error) {
      if (error instanceof TargetError) throw new ScenarioError(error.message);
      throw error;
    }
  });
  const seen = new Set<string>();
  for (const { target } of loaded) {
    if (seen.has(target.name)) throw new ScenarioError(`the target ${target.name} is named twice`);
    seen.add(target.name);
  }
  return loaded.map((target) => ({ name: target.target.name, loaded: target }));
}

/** Faults that act on packets (a target run in namespaces), and those that act through the fault proxies (the built-in launcher). */
const PACKET_FAULTS: readonly string[] = ["partition", "loss", "delay", "reorder"];
const PROXY_FAULTS: readonly string[] = ["latency", "cut", "blackhole"];

/** Whether a run is driven through faaslab's API and codec (the built-in launcher, or a target with the faaslab codec), or a target's MPCSFaaS dialect. */
function speaksFaaslab(target: RunTarget): boolean {
  return !target.loaded || target.loaded.target.functions.codec === "faaslab";
}

/** The language of the built-in kinds on a target: faaslab runs both (as the scenario says), a dialect target Python only. */
function runtimeFor(scenario: Scenario, target: RunTarget): Scenario["cluster"]["runtime"] {
  return speaksFaaslab(target) ? scenario.cluster.runtime : "python";
}

/** Every fault a scenario may inject: its timed ones and those a random rule draws from. */
function faultsOf(scenario: Scenario) {
  return scenario.nemesis.flatMap((fault) => (fault.action === "random" ? fault.among : [fault]));
}

/** Why this run cannot happen as the scenario asks (reported not applicable), before anything starts. */
function notApplicable(scenario: Scenario, mode: DispatcherMode, target: RunTarget, phases: TaskTemplate[][]): string | undefined {
  const hosts = scenario.cluster.hosts;
  const faults = faultsOf(scenario);
  const kinds = (actions: readonly string[]) => [...new Set(faults.filter((fault) => actions.includes(fault.action)).map((fault) => fault.action))];
  const packet = kinds(PACKET_FAULTS);
  if (!target.loaded) {
    if (hosts === "separate") return "cluster.hosts: separate puts each component in a network namespace of its own, which only a target run does (name the target: targets: [faaslab])";
    if (packet.length > 0) return `packet faults (${packet.join(", ")}) act on the links of a cluster in network namespaces, which only a target run has (name the target: targets: [faaslab])`;
    return undefined;
  }
  const why = notApplicableReason(target.loaded, mode, hosts);
  if (why) return why;
  const proxied = kinds(PROXY_FAULTS);
  if (proxied.length > 0) return `${proxied.join(", ")} act through TCP fault proxies, which only faaslab's built-in launcher puts on its links: on a target, use partition, loss or delay`;
  if (packet.length > 0 && !namespacesAvailable().available) return `packet faults (${packet.join(", ")}) need network namespaces, and ${namespacesAvailable().reason}`;
  const betweenComponents = faults.some((fault) => PACKET_FAULTS.includes(fault.action) && "link" in fault && !("clientLink" in fault.link));
  if (betweenComponents && hosts === "shared") return "packet faults on links between components need cluster.hosts: separate (on one host those links are its loopback)";
  if (!speaksFaaslab(target)) {
    const javascript = [...new Set(phases.flat().filter((template) => template.runtime !== "python").map((template) => template.name))];
    if (javascript.length > 0) return `${target.name} runs Python functions only, and the scenario has JavaScript ones (${javascript.join(", ")})`;
  }
  return undefined;
}

/** A target's components log straight into the run's logs folder. */
async function startCluster(scenario: Scenario, mode: DispatcherMode, target: RunTarget, logsDir: string, options: RunOptions): Promise<ClusterUnderTest> {
  if (!target.loaded) return Cluster.start(clusterOptions(scenario, mode, options.python));
  const interpreter = options.python ? options.python.interpreter : undefined;
  return TargetCluster.start({
    target: target.loaded, mode, workers: scenario.cluster.workers, hosts: scenario.cluster.hosts, dir: logsDir, ...(interpreter ? { python: interpreter } : {}),
  });
}

/** The client a target's API is driven with: faaslab's SDK, or its dialect (MPCSFaaS's endpoints and dill). */
function apiFor(target: RunTarget, apiUrl: string, options: RunOptions): TaskApi {
  const interpreter = options.python ? options.python.interpreter : undefined;
  if (speaksFaaslab(target)) return new FaaslabApi(apiUrl, REQUEST_TIMEOUT_MS);
  return new DialectApi(apiUrl, target.loaded!.target.dialect, REQUEST_TIMEOUT_MS, interpreter);
}

function clusterOptions(scenario: Scenario, mode: DispatcherMode, python: LaunchPython | undefined): ClusterOptions {
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
    faultProxies: faultsOf(scenario).some((fault) => PROXY_FAULTS.includes(fault.action)),
    logLevel: "info",
    ...(python === undefined ? {} : { python }),
  };
}

async function runOnce(scenario: Scenario, mode: DispatcherMode, target: RunTarget, phases: TaskTemplate[][], outDir: string, options: RunOptions): Promise<RunReport> {
  const progress = options.progress;
  // A target run's files carry its name: several targets write beside each other.
  const named = target.loaded ? { mode, target: target.name } : { mode };
  const id = runId(named);
  const label = runLabel(named);
  const historyFile = join(outDir, `history-${id}.jsonl`);
  const logsDir = join(outDir, "logs", id);
  const why = notApplicable(scenario, mode, target, phases);
  if (why) return notApplicableRun(mode, target, why, historyFile, logsDir);
  const history = new History(historyFile);
  const random = new Random(options.seed);
  const schedule = drawSchedule(scenario, mode, phases, random);
  const scheduleFile = join(outDir, `schedule-${id}.json`);
  writeFileSync(scheduleFile, `${JSON.stringify(schedule, null, 1)}\n`);
  const aborted: string[] = [];
  const interrupted = () => options.signal?.aborted ?? false;

  progress?.phase(label, "start cluster");
  let cluster: ClusterUnderTest | undefined;
  let placement: string | undefined;
  try {
    cluster = await startCluster(scenario, mode, target, logsDir, options);
  } catch (error) {
    if (error instanceof NotApplicable) return notApplicableRun(mode, target, error.message, historyFile, logsDir);
    aborted.push(`the cluster did not start: ${(error as Error).message}`);
  }
  if (cluster) {
    placement = cluster.placement;
    const { workers } = scenario.cluster;
    history.record({ type: "cluster", executors: mode === "local" ? workers.executors : workers.count * workers.executors });
    const workload = new Workload(apiFor(target, cluster.apiUrl, options), history, random);
    const nemesis = new Nemesis(schedule.faults, cluster, history);
    let observer: NodeJS.Timeout | undefined;
    const onAbort = () => workload.stop();
    options.signal?.addEventListener("abort", onAbort);
    try {
      progress?.phase(label, "steady-state probe");
      const probe = await steadyState(workload, phases.flat());
      if (probe) aborted.push(`the steady state was not reached before any fault: ${probe}`);

      if (aborted.length === 0 && !interrupted()) {
        progress?.phase(label, "workload and nemesis");
        progress?.watch(workload, nemesis);
        // t = 0: the workload's start, from which the scenario's fault times count.
        history.begin();
        nemesis.start();
        observer = setInterval(() => void workload.observe(), OBSERVE_EVERY_MS);
        for (const [index, phase] of scenario.workload.phases.entries()) {
          if (interrupted()) break;
          await workload.runPhase(phase, phases[index], index);
        }
        if (interrupted()) aborted.push("interrupted");
      }

      progress?.phase(label, "heal");
      await nemesis.heal();
      progress?.phase(label, "drain");
      // Interrupted or not, the accepted tasks are awaited (a second Ctrl-C quits at once).
      await workload.drain(scenario.drain);
      clearInterval(observer);
      await workload.finalRead([...new Set(analyse(history.events).tasks.keys())]);
    } catch (error) {
      aborted.push(`the run failed: ${(error as Error).message}`);
    } finally {
      clearInterval(observer);
      options.signal?.removeEventListener("abort", onAbort);
      progress?.unwatch();
      progress?.phase(label, "collect logs and tear down");
      await nemesis.heal();
      if (cluster.dir !== logsDir) collectLogs(cluster.dir, logsDir);
      await cluster.stop().catch((error: Error) => history.record({ type: "problem", source: "harness", description: `tearing the cluster down failed: ${error.message}` }));
      await workload.api.close().catch(() => {});
    }
  }
  for (const error of options.harnessErrors?.splice(0) ?? []) history.record({ type: "problem", source: "harness", description: error });
  await history.close();

  progress?.phase(label, "check and report");
  return judgeRun(scenario, mode, history.events, {
    outDir, historyFile, logsDir, schedule, aborted: aborted.length ? aborted.join("; then ") : undefined, runCheck: options.runCheck,
    ...(target.loaded ? { target: target.name, runtime: runtimeFor(scenario, target) } : {}), ...(placement ? { placement } : {}),
  });
}

/** A run that could not happen as asked: no check is run, and the report says n/a and why. */
function notApplicableRun(mode: DispatcherMode, target: RunTarget, why: string, historyFile: string, logsDir: string): RunReport {
  const analysis = analyse([]);
  return { mode, ...(target.loaded ? { target: target.name } : {}), summary: summarize(analysis), checks: [], analysis, charts: {}, historyFile, logsDir, notApplicable: why };
}

/**
 * The checks, summary and charts of one run from its history: pure but for the chart files.
 * A checker or a chart that throws is reported, never thrown.
 */
export function judgeRun(
  scenario: Scenario, mode: string, events: readonly HistoryEvent[],
  run: { outDir: string; historyFile: string; logsDir: string; schedule?: Schedule; aborted?: string; runCheck?: typeof runCheck } & Pick<RunReport, "target" | "placement" | "runtime">,
): RunReport {
  const analysis = analyse(events);
  const checks = runChecks(scenario.checks, analysis, run.runCheck);
  const charts: Record<string, string> = {};
  const chartErrors: string[] = [];
  const end = Math.max(maximum(events.map((event) => event.t)) ?? 0, 1);
  const title = (what: string) => `${scenario.name} (${runLabel({ mode, target: run.target })}): ${what}`;
  for (const chart of scenario.report.charts) {
    const file = join(run.outDir, `${runId({ mode, target: run.target })}-${chart}.png`);
    try {
      if (chart === "latency") latencyChart(file, analysis, events, end, title("latency of every task, by outcome"));
      if (chart === "throughput") throughputChart(file, analysis, end, title("throughput"));
      if (chart === "states") statesChart(file, analysis, end, title("tasks by state"));
      if (chart === "percentiles") percentilesChart(file, analysis, end, title("latency percentiles over time"));
      charts[chart] = file;
    } catch (error) {
      chartErrors.push(`the ${chart} chart could not be drawn: ${(error as Error).message}`);
    }
  }
  return {
    mode, ...(run.target ? { target: run.target } : {}), ...(run.placement ? { placement: run.placement } : {}), ...(run.runtime ? { runtime: run.runtime } : {}), summary: summarize(analysis), checks, analysis, charts, chartErrors, historyFile: run.historyFile, logsDir: run.logsDir,
    schedule: run.schedule, aborted: run.aborted,
  };
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
  try {
    mkdirSync(to, { recursive: true });
    for (const file of readdirSync(from)) if (file.endsWith(".log")) cpSync(join(from, file), join(to, file));
    cpSync(join(from, "redis", "redis.log"), join(to, "redis.log"));
  } catch {
    /* an external Redis has no log here; a missing log is no reason to lose the report */
  }
}
