/**
 * The scenario report: a markdown page a person reads without opening anything else: what
 * ran, each check's verdict with its figure, a summary table, the faults, and the charts.
 */
import { writeFileSync } from "node:fs";
import { basename, relative, resolve } from "node:path";
import type { CheckResult } from "../checker/index.js";
import { passed } from "../checker/index.js";
import { recoveries } from "../checker/recovery.js";
import { injected, type Analysis, type Summary } from "../history/analysis.js";
import { DISPATCHER_DEFAULTS } from "../../system/dispatcher/options.js";
import { packageRoot } from "../../system/paths.js";
import { SCENARIO_DIR } from "../scenario/load.js";
import type { Schedule } from "../scenario/schedule.js";
import type { Scenario } from "../scenario/schema.js";
import { scenarioRuntimes } from "../workload/kinds.js";
import { environmentLine, type Environment } from "./environment.js";

export interface RunReport {
  mode: string;
  /** The target it ran against, when the scenario names targets (none: faaslab through its built-in launcher). */
  target?: string;
  /** Where its components ran (a target run): one namespace, one per component, or the harness's loopback. */
  placement?: string;
  /** The language its built-in kinds ran in, where the target decides it (a Python-only target). */
  runtime?: Scenario["cluster"]["runtime"];
  /** Why the run could not happen as asked (a mode the target lacks…): no check ran, and nothing passed. */
  notApplicable?: string;
  summary: Summary;
  checks: CheckResult[];
  analysis: Analysis;
  /** Chart files, by chart name. */
  charts: Record<string, string>;
  /** Charts that could not be drawn, and why. */
  chartErrors?: string[];
  /** What the seed decided, drawn before the run (its digest is the same for every run of one seed). */
  schedule?: Schedule;
  historyFile: string;
  logsDir: string;
  /** Why the run ended early, if it did (interrupted, steady state not reached...). */
  aborted?: string;
}

export interface ScenarioReport {
  scenario: Scenario;
  scenarioFile: string;
  seed: number;
  startedAt: Date;
  durationMs: number;
  environment: Environment;
  runs: RunReport[];
  /** What --target and --target-dir said, for the replay command. */
  targetOptions?: { targets?: string[]; targetDir?: string };
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(value < 10 ? 1 : 0)} ms` : "–");
const s = (value: number) => `${(value / 1000).toFixed(1)} s`;
const mark = (verdict: CheckResult["verdict"]) => (verdict === "pass" ? "✅ pass" : verdict === "fail" ? "❌ fail" : "❔ unknown");
const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** The command that runs this scenario again with this seed: by name when it is a shipped one, else by its path. */
export function replayCommand(scenario: Scenario, scenarioFile: string, seed: number, targetOptions: ScenarioReport["targetOptions"] = {}): string {
  const shipped = resolve(scenarioFile) === resolve(SCENARIO_DIR, `${scenario.name}.yaml`);
  const what = shipped ? scenario.name : relative(packageRoot, resolve(scenarioFile));
  const word = (text: string) => (/^[\w./-]+$/.test(text) ? text : JSON.stringify(text));
  const targets = (targetOptions.targets ?? []).map((target) => ` --target ${word(target)}`).join("");
  const targetDir = targetOptions.targetDir === undefined ? "" : ` --target-dir ${word(targetOptions.targetDir)}`;
  return `npm run scenario ${word(what)} -- --seed ${seed}${targets}${targetDir}`;
}

/** How a run is named in the report: its mode, with its target's name when the scenario names targets. */
export function runLabel(run: Pick<RunReport, "mode" | "target">): string {
  return run.target ? `${run.target} ${run.mode}` : run.mode;
}

/** How a run's files are named: its mode, after its target's name when the scenario names targets. */
export function runId(run: Pick<RunReport, "mode" | "target">): string {
  return run.target ? `${run.target}-${run.mode}` : run.mode;
}

/** PASS: every run that could happen passed every check, and at least one could (a not-applicable run is never a pass). */
export function verdictOf(report: ScenarioReport): boolean {
  const applicable = report.runs.filter((run) => !run.notApplicable);
  return applicable.length > 0 && applicable.every((run) => !run.aborted && passed(run.checks));
}

function describeCluster(scenario: Scenario, run: RunReport): string {
  const { mode } = run;
  const { workers, dispatcher, redis } = scenario.cluster;
  const shape = mode === "local" ? `local pool of ${workers.executors} executors` : `${workers.count} ${mode} workers × ${workers.executors} executors`;
  if (run.notApplicable) return `${shape}: not applicable: ${run.notApplicable}`;
  if (run.target) {
    return `${shape}; target \`${run.target}\` started from its target file, ${run.placement ?? "its placement unknown"}; its own dispatcher and Redis settings (the scenario's apply to faaslab's built-in launcher); ${describeRuntime(scenario, run.runtime)}`;
  }
  // What the scenario leaves out, the dispatcher runs with its defaults.
  const settings = [
    `heartbeat ${dispatcher.heartbeat ?? DISPATCHER_DEFAULTS.heartbeatMs} ms`,
    `× ${dispatcher.heartbeatTolerance ?? DISPATCHER_DEFAULTS.heartbeatTolerance}`,
    `max attempts ${dispatcher.maxAttempts ?? DISPATCHER_DEFAULTS.maxAttempts}`,
    `task deadline ${dispatcher.taskDeadline ?? DISPATCHER_DEFAULTS.taskDeadlineMs} ms`,
  ];
  return `${shape}; ${settings.join(", ")}; Redis persistence ${redis.persistence}; ${describeRuntime(scenario)}`;
}

/** The runtime(s) the tasks ran in, as the cluster line says it. */
export function describeRuntime(scenario: Scenario, runtime: Scenario["cluster"]["runtime"] = scenario.cluster.runtime): string {
  const names = { javascript: "JavaScript", python: "Python" } as const;
  const effective = { ...scenario, cluster: { ...scenario.cluster, runtime } };
  const runtimes = scenarioRuntimes(effective).map((name) => names[name]);
  const builtins = runtime === "mixed"
    ? " (runtime mixed: each built-in kind in both, half its weight each)"
    : runtime !== scenario.cluster.runtime ? ` (runtime ${runtime}: the target runs Python functions only)` : ` (runtime ${runtime})`;
  return `${runtimes.join(" and ")} tasks${builtins}`;
}

function describeWorkload(scenario: Scenario): string {
  return scenario.workload.phases.map((phase) => {
    const loop = phase.clients !== undefined ? `${phase.clients} clients (closed loop)` : `${phase.rate}/s (open loop)`;
    const length = phase.duration !== undefined ? `for ${s(phase.duration)}` : `${phase.tasks} tasks`;
    const mix = phase.mix.map((kind) => {
      const detail = kind.kind === "sleep" ? ` ${kind.ms[0]}–${kind.ms[1]} ms` : kind.kind === "cpu" ? ` fib(${kind.fib[0]}–${kind.fib[1]})` : kind.kind === "function" ? ` ${kind.file}` : "";
      const runtime = kind.kind === "function" ? "" : scenario.cluster.runtime === "mixed" ? " (JavaScript and Python)" : scenario.cluster.runtime === "python" ? " (Python)" : "";
      return `${kind.kind}${detail}${runtime} ×${kind.weight}`;
    }).join(", ");
    return `${phase.name}: ${loop} ${length}; mix ${mix}`;
  }).join("<br>");
}

export function renderReport(report: ScenarioReport, reportFile: string): string {
  const { scenario, runs } = report;
  const modes = runs.map(runLabel);
  const ok = verdictOf(report);
  const dir = (file: string) => relative(reportFile.replace(/[^/]+$/, ""), file);
  const lines: string[] = [];
  lines.push(`# ${scenario.report.title}`, "");
  const failedChecks = runs.flatMap((run) => run.checks.filter((c) => c.verdict !== "pass").map((c) => `${c.name} (${runLabel(run)})`));
  const aborted = runs.filter((run) => run.aborted).map((run) => `${runLabel(run)}: ${run.aborted}`);
  const skipped = runs.filter((run) => run.notApplicable);
  const applicable = runs.length - skipped.length;
  const allRuns = applicable === 1 ? "the run" : applicable === 2 ? "both runs" : `all ${applicable} runs`;
  const notRun = skipped.length === 0 ? "" : ` Not applicable (not run, so not passed): ${skipped.map((run) => `${runLabel(run)} (${run.notApplicable})`).join("; ")}.`;
  lines.push(ok
    ? `**Verdict: PASS** — every check passed in ${allRuns}${skipped.length ? " that could run" : ""}.${notRun}`
    : `**Verdict: FAIL** — ${[...aborted, ...failedChecks.map((c) => `${c} did not pass`), ...(applicable === 0 ? ["no run could happen"] : [])].join("; ")}.${notRun}`, "");
  lines.push(scenario.description, "");
  if (scenario.report.notes) lines.push(scenario.report.notes.trim(), "");

  lines.push("## What ran", "", "| | |", "|---|---|");
  lines.push(`| scenario | \`${scenario.name}\` (${basename(report.scenarioFile)}) |`);
  lines.push(`| seed | ${report.seed} — replay with \`${replayCommand(scenario, report.scenarioFile, report.seed, report.targetOptions)}\` |`);
  const digests = [...new Set(runs.map((run) => run.schedule?.digest).filter(Boolean))];
  if (digests.length > 0) {
    lines.push(`| schedule | digest \`${digests.join("`, `")}\`: the faults (kinds, targets, planned times) and every client's tasks (kinds and arguments, in order) that this seed draws; the same seed gives the same digest (listed in ${runs.filter((run) => run.schedule).map((run) => `\`schedule-${runId(run)}.json\``).join(", ")}) |`);
  }
  for (const run of runs) lines.push(`| cluster (${runLabel(run)}) | ${describeCluster(scenario, run)} |`);
  lines.push(`| workload | ${describeWorkload(scenario)} |`);
  lines.push(`| nemesis | ${scenario.nemesis.length === 0 ? "no faults" : `${plural(scenario.nemesis.length, "fault rule")} (the faults that happened are listed per run below); times count from the workload's start, as in the scenario file`} |`);
  lines.push(`| machine | ${environmentLine(report.environment)} |`);
  lines.push(`| when | ${report.startedAt.toISOString()}, ${s(report.durationMs)} in all |`, "");

  lines.push("## Summary", "", `| | ${modes.join(" | ")} |`, `|---|${modes.map(() => "---").join("|")}|`);
  const row = (label: string, cell: (run: RunReport) => string) => lines.push(`| ${label} | ${runs.map((run) => (run.notApplicable ? "n/a" : cell(run))).join(" | ")} |`);
  row("tasks submitted", (r) => String(r.summary.invoked));
  row("accepted", (r) => String(r.summary.accepted));
  row("refused / outcome unknown", (r) => `${r.summary.refused} / ${r.summary.unknown}`);
  row("completed", (r) => String(r.summary.completed));
  row("failed", (r) => String(r.summary.failed));
  row("lost (accepted, never finished)", (r) => String(r.summary.lost));
  row("tasks with two different results", (r) => String(r.summary.duplicates));
  row("tasks started more than once (re-run after a loss)", (r) => String(r.summary.rerun));
  row("latency p50 / p95 / p99", (r) => `${ms(r.summary.latency.p50)} / ${ms(r.summary.latency.p95)} / ${ms(r.summary.latency.p99)}`);
  row("throughput", (r) => `${r.summary.throughput.toFixed(1)} tasks/s over ${s(r.summary.durationMs)}`);
  row("faults injected (skipped)", (r) => `${injected(r.analysis).length} (${r.analysis.faults.length - injected(r.analysis).length})`);
  lines.push("");

  lines.push("## Checks", "", `| check | ${modes.join(" | ")} |`, `|---|${modes.map(() => "---").join("|")}|`);
  // The scenario's checks, then those the harness adds (nemesis), in the order the runs have them.
  const names = [...new Set(runs.flatMap((run) => run.checks.map((check) => check.name)))];
  for (const name of names) {
    lines.push(`| ${name} | ${runs.map((run) => {
      if (run.notApplicable) return "n/a (not run)";
      const result = run.checks.find((check) => check.name === name);
      return result ? `${mark(result.verdict)}: ${result.figure}` : "not run";
    }).join(" | ")} |`);
  }
  lines.push("");
  for (const run of runs) {
    for (const result of run.checks.filter((c) => c.verdict !== "pass" && c.details.length > 0)) {
      lines.push(`**${result.name} (${runLabel(run)})**:`, "", ...result.details.map((detail) => `- ${detail}`), "");
    }
  }

  for (const run of runs) {
    lines.push(`## ${runs.length > 1 ? `${runLabel(run)} run` : "The run"}`, "");
    if (run.notApplicable) {
      lines.push(`Not applicable, so not run: ${run.notApplicable}.`, "");
      continue;
    }
    if (run.aborted) lines.push(`The run ended early: ${run.aborted}.`, "");
    const recovered = new Map(recoveries(run.analysis).map((recovery) => [recovery.fault, recovery]));
    if (run.analysis.faults.length > 0) {
      lines.push("| | planned | start | end | fault | next task completed after the end |", "|---|---|---|---|---|---|");
      run.analysis.faults.forEach((fault, index) => {
        const planned = fault.planned === undefined ? "–" : s(fault.planned);
        if (fault.skipped !== undefined) {
          lines.push(`| F${index + 1} | ${planned} | ${s(fault.start)} | – | ${fault.description} (skipped: it did not happen and excuses nothing) | – |`);
          return;
        }
        const after = recovered.get(fault.fault)?.recoveredAfter;
        lines.push(`| F${index + 1} | ${planned} | ${s(fault.start)} | ${fault.end === undefined ? "–" : s(fault.end)} | ${fault.description} | ${after === undefined ? "none" : s(after)} |`);
      });
      lines.push("", "Times are seconds from the workload's start, the time base of the scenario file. Shaded on the charts: the faults, labelled F1, F2… as in this table.", "");
    } else {
      lines.push("No faults were injected.", "");
    }
    if (run.analysis.problems.length > 0) {
      lines.push("Problems on the harness's side (they fail the `nemesis` check):", "");
      for (const problem of run.analysis.problems) lines.push(`- at ${s(problem.t)}${problem.fault === undefined ? "" : ` (F${problem.fault + 1})`}: ${problem.description}`);
      lines.push("");
    }
    for (const error of run.chartErrors ?? []) lines.push(`- ${error}`, "");
    for (const [name, file] of Object.entries(run.charts)) lines.push(`![${name} (${runLabel(run)})](${dir(file)})`, "");
    lines.push(`History (every operation, status and fault, JSON lines): [${basename(run.historyFile)}](${dir(run.historyFile)}). Component logs: \`${dir(run.logsDir)}/\`.`, "");
  }
  return lines.join("\n");
}

export function writeReport(report: ScenarioReport, reportFile: string): void {
  writeFileSync(reportFile, renderReport(report, reportFile));
}
