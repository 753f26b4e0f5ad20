/**
 * reports/performance_report.md, written entirely from one run's measurements: every figure
 * and every sentence of the discussion comes from the numbers in `Measurements`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { environmentLine } from "../../harness/report/environment.js";
import { render } from "../../harness/report/charts.js";
import { percentile } from "../../harness/percentile.js";
import type { Measurements, ScalingCell } from "./study.js";
import { DISPATCHER_MODES } from "../../system/modes.js";
import { KINDS } from "./study.js";

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "–");
const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "–");
const median = (values: number[]) => percentile(values, 50);
const COLORS: Record<string, string> = { local: "#1b9e77", pull: "#d95f02", push: "#7570b3" };
const KIND_LABEL = { noop: "no-op", sleep: "sleep 100 ms (I/O-bound)", cpu: "CPU-bound (fibonacci)" } as const;

/** The CPU-per-task table of the report that issue 17 started from, kept as its "before". */
const CPU_BEFORE = {
  source: "reports/performance_report.md of 2026-11-21 (commit 4751972)",
  rows: {
    local: [162, 150, 286, 214, undefined, undefined, 812],
    pull: [166, 152, 304, 350, 142, 164, 1278],
    push: [200, 170, 362, 378, 186, 174, 1470],
  } as Record<string, (number | undefined)[]>,
};

interface Verdict {
  target: string;
  measured: string;
  met: boolean;
}

function targets(m: Measurements): Verdict[] {
  const bull = m.peers.bullmq;
  const verdicts: Verdict[] = [];
  // Issue 17's targets: ratios to BullMQ measured in the same run.
  for (const t of m.targets) {
    verdicts.push({ target: `closed loop, 50 clients, ${f0(t.closedLoop.tasks)} tasks, two requests each, ${t.mode} (${t.shape}) ≥ 1.0× BullMQ (${f0(bull.closedLoop.jobsPerSecond)} jobs/s)`, measured: `${f0(t.closedLoop.tasksPerSecond)} tasks/s (${ratio(t.closedLoop.tasksPerSecond, bull.closedLoop.jobsPerSecond)})`, met: t.closedLoop.tasksPerSecond >= bull.closedLoop.jobsPerSecond });
  }
  for (const t of m.targets) {
    verdicts.push({ target: `bulk: ${f0(t.bulk.tasks)} no-ops through /execute_batch, ${t.mode}, ≥ 1.0× BullMQ addBulk (${f0(bull.bulk.jobsPerSecond)} jobs/s)`, measured: `${f0(t.bulk.tasksPerSecond)} tasks/s (${ratio(t.bulk.tasksPerSecond, bull.bulk.jobsPerSecond)})`, met: t.bulk.tasksPerSecond >= bull.bulk.jobsPerSecond });
  }
  const bullP50 = bull.sequential.latency.p50;
  for (const t of m.targets) {
    const bound = t.mode === "local" ? 2 : 2.5;
    verdicts.push({ target: `sequential no-op round trip p50, two requests, ${t.mode}: ≤ ${bound}× BullMQ's (${f2(bullP50)} ms)`, measured: `${f2(t.sequential.p50)} ms (${ratio(t.sequential.p50, bullP50)})`, met: t.sequential.p50 <= bound * bullP50 });
  }
  for (const t of m.targets) {
    const one = t.sequentialOneRequest;
    verdicts.push({ target: `sequential no-op round trip p50, one request (execute_function?wait), ${t.mode}: ≤ 1.3× BullMQ's`, measured: one ? `${f2(one.p50)} ms (${ratio(one.p50, bullP50)})` : "not measured", met: one !== undefined && one.p50 <= 1.3 * bullP50 });
  }
  for (const t of m.targets) {
    const python = t.sequentialPython;
    verdicts.push({ target: `Python no-op round trip p50, ${t.mode}: within 2 ms of JavaScript's`, measured: python ? `${f2(python.p50)} ms against ${f2(t.sequential.p50)} ms (+${f2(python.p50 - t.sequential.p50)} ms)` : "not measured (no Python executor here)", met: python !== undefined && python.p50 - t.sequential.p50 <= 2 });
  }
  for (const mode of DISPATCHER_MODES) {
    const times = m.recovery[mode] ?? [];
    verdicts.push({ target: `worker loss to rerun elsewhere, ${mode}: ≤ 2 s`, measured: `median ${f2(median(times))} s (${times.map(f2).join(", ")})`, met: median(times) <= 2 });
  }
  for (const t of m.targets) {
    const worst = Math.max(...Object.values(t.idleCpu));
    verdicts.push({ target: `idle cluster, ${t.mode}: each process under 2% of a core`, measured: Object.entries(t.idleCpu).map(([c, v]) => `${c} ${f2(v * 100)}%`).join(", "), met: worst < 0.02 });
  }
  return verdicts;
}

function cell(m: Measurements, mode: string, workers: number, kind: string, scaling: string): ScalingCell | undefined {
  return m.scaling.find((c) => c.mode === mode && c.workers === workers && c.kind === kind && c.scaling === scaling);
}

function charts(m: Measurements, dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const sizes = [...new Set(m.scaling.map((c) => c.workers))].sort((a, b) => a - b);
  for (const kind of KINDS) {
    for (const [metric, label] of [["throughput", "tasks per second"], ["latency", "latency p95 (ms)"]] as const) {
      const file = join(dir, `scaling-${kind}-${metric}.png`);
      const datasets = DISPATCHER_MODES.flatMap((mode) => (["strong", "weak"] as const).map((scaling) => ({
        label: `${mode}, ${scaling}`,
        data: sizes.map((workers) => {
          const c = cell(m, mode, workers, kind, scaling);
          return { x: workers, y: c ? (metric === "throughput" ? c.tasksPerSecond : c.latency.p95) : Number.NaN };
        }),
        borderColor: COLORS[mode], backgroundColor: COLORS[mode], borderDash: scaling === "weak" ? [6, 4] : [], pointRadius: 3,
      })));
      render(file, {
        type: "line",
        data: { datasets },
        options: {
          plugins: { title: { display: true, text: `${KIND_LABEL[kind]}: ${metric} versus workers (solid: strong scaling, dashed: weak)` } },
          scales: { x: { type: "linear", title: { display: true, text: "workers (local: executors)" }, ticks: { stepSize: 1 } }, y: { type: metric === "latency" ? "logarithmic" : "linear", beginAtZero: metric === "throughput", title: { display: true, text: label } } },
        },
      });
      files[`${kind}-${metric}`] = file;
    }
  }
  const curveFile = join(dir, "latency-versus-load.png");
  render(curveFile, {
    type: "line",
    data: {
      datasets: DISPATCHER_MODES.flatMap((mode) => [
        { label: `${mode} p50`, data: (m.curves[mode] ?? []).map((s) => ({ x: s.achieved, y: s.latency.p50 })), borderColor: COLORS[mode], backgroundColor: COLORS[mode], pointRadius: 3 },
        { label: `${mode} p99`, data: (m.curves[mode] ?? []).map((s) => ({ x: s.achieved, y: s.latency.p99 })), borderColor: COLORS[mode], backgroundColor: COLORS[mode], borderDash: [6, 4], pointRadius: 3 },
      ]),
    },
    options: {
      plugins: { title: { display: true, text: "latency versus throughput, open loop, 2 workers × 2 executors (local: 4 executors)" } },
      scales: { x: { type: "linear", title: { display: true, text: "throughput achieved (tasks/s)" } }, y: { type: "logarithmic", title: { display: true, text: "latency (ms)" } } },
    },
  });
  files.curve = curveFile;
  const recoveryFile = join(dir, "recovery.png");
  render(recoveryFile, {
    type: "bar",
    data: { labels: [...DISPATCHER_MODES], datasets: [{ label: "median seconds from kill -9 to the tasks running elsewhere", data: DISPATCHER_MODES.map((mode) => median(m.recovery[mode] ?? [])), backgroundColor: DISPATCHER_MODES.map((mode) => COLORS[mode]) }] },
    options: { plugins: { title: { display: true, text: "failure recovery (default heartbeats: 500 ms × 3)" } }, scales: { y: { beginAtZero: true, title: { display: true, text: "seconds" } } } },
  });
  files.recovery = recoveryFile;
  return files;
}

function discussion(m: Measurements): string[] {
  const lines: string[] = [];
  const sizes = [...new Set(m.scaling.map((c) => c.workers))].sort((a, b) => a - b);
  const most = sizes[sizes.length - 1];
  const tps = (mode: string, workers: number, kind: string, scaling = "strong") => cell(m, mode, workers, kind, scaling)?.tasksPerSecond ?? Number.NaN;
  for (const kind of KINDS) {
    const ranked = DISPATCHER_MODES.map((mode) => ({ mode, value: tps(mode, most, kind) })).sort((a, b) => b.value - a.value);
    lines.push(`- ${KIND_LABEL[kind]}, strong scaling at ${most} workers: ${ranked.map((r) => `${r.mode} ${f0(r.value)} tasks/s`).join(", ")}; ${ranked[0].mode} is ${ratio(ranked[0].value, ranked[1].value)} ${ranked[1].mode} and ${ratio(ranked[0].value, ranked[2].value)} ${ranked[2].mode}.`);
  }
  for (const mode of DISPATCHER_MODES) {
    const sleepGain = tps(mode, most, "sleep") / tps(mode, 1, "sleep");
    const cpuGain = tps(mode, most, "cpu") / tps(mode, 1, "cpu");
    lines.push(`- ${mode}: from 1 to ${most} workers, sleep-task throughput grows ${f1(sleepGain)}× and CPU-task throughput ${f1(cpuGain)}×.`);
  }
  lines.push(`- The CPU-bound tasks cannot scale past the machine: it has ${m.environment.cores} cores, so beyond ${m.environment.cores} executors they only share the same cores, while the API, Redis, the dispatcher and the benchmark client use them too. I/O-bound (sleep) tasks do not need a core while they wait, so they keep scaling with executors.`);
  const bull = m.peers.bullmq;
  for (const t of m.targets) {
    lines.push(`- ${t.mode} (${t.shape}): the closed loop of 50 clients reaches ${f0(t.closedLoop.tasksPerSecond)} tasks/s, ${ratio(t.closedLoop.tasksPerSecond, bull.closedLoop.jobsPerSecond)} BullMQ's ${f0(bull.closedLoop.jobsPerSecond)} jobs/s; a sequential round trip takes ${f2(t.sequential.p50)} ms at p50 against BullMQ's ${f2(bull.sequential.latency.p50)} ms (${ratio(t.sequential.p50, bull.sequential.latency.p50)}).`);
  }
  for (const t of m.targets) {
    const cpu = t.cpuPerTaskUs ?? {};
    const total = Object.values(cpu).reduce((a, b) => a + b, 0);
    const [top, second] = Object.entries(cpu).sort((a, b) => b[1] - a[1]);
    if (top && second) lines.push(`- ${t.mode}: a task costs ${f0(total)} µs of CPU in all, most of it in the ${top[0]} (${f0(top[1])} µs) and the ${second[0]} (${f0(second[1])} µs); on ${m.environment.cores} cores that allows about ${f0((m.environment.cores * 1e6) / total)} tasks/s, and the closed loop reached ${f0(t.closedLoop.tasksPerSecond)}.`);
  }
  if (m.peers.fastify) {
    const { bare, hsetXadd } = m.peers.fastify;
    const best = Math.max(...m.targets.map((t) => t.closedLoop.tasksPerSecond));
    lines.push(`- The frame: bare fastify answers ${f0(bare)} requests/s here and a route doing one HSET and one XADD ${f0(hsetXadd)}/s. A faaslab task costs two HTTP requests (execute, then result) plus the dispatcher's work, so its ceiling on this machine is about ${f0(hsetXadd / 2)} tasks/s; the best closed loop reaches ${f0(best)} (${ratio(best, hsetXadd / 2)} of that).`);
  }
  return lines;
}

export function writePerformanceReport(m: Measurements, reportsDir: string): string {
  const dir = join(reportsDir, "performance");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "measurements.json"), `${JSON.stringify(m, null, 2)}\n`);
  const files = charts(m, dir);
  const img = (key: string) => `![${key}](performance/${files[key].split("/").pop()})`;
  const verdicts = targets(m);
  const bull = m.peers.bullmq;
  const out: string[] = [];
  out.push("# faaslab performance report", "");
  out.push(`Generated by \`npm run perf${m.quick ? " -- --quick" : ""}\` on ${m.startedAt} in ${f0(m.durationSeconds)} s. Every figure and every sentence below comes from that run; the raw measurements are in [performance/measurements.json](performance/measurements.json).${m.quick ? " **This is a quick smoke run: small samples, not for conclusions.**" : ""}`, "");
  out.push("## Environment", "");
  out.push(`${environmentLine(m.environment)}.`, "");
  out.push(`**This machine has ${m.environment.cores} cores.** The cluster (API, Redis, dispatcher, workers with their executor threads) and the benchmark client all run on them, so CPU-bound work cannot scale beyond ${m.environment.cores} executors' worth, and every added process competes with the rest. The figures compare designs on one machine; they are not a cluster's capacity.`, "");
  out.push("## Method", "");
  out.push("- Every measurement runs against a fresh cluster started by the harness (real processes, a redis-server of its own on a free port) and a client in this process, over HTTP on loopback, after a warm-up.");
  out.push(`- Tasks: no-op \`() => null\`; sleep \`await 100 ms\`; CPU-bound \`fibonacci(${m.cpuTask.fib})\`, sized here to about 20 ms (${f1(m.cpuTask.ms)} ms measured in this process).`);
  out.push("- Latency is from sending the execute request to seeing the result (`result?wait`). Throughput is tasks finished over the wall time of the load.");
  out.push("- Scaling: workers of one executor each (local mode: executors of the dispatcher's pool). Weak scaling keeps the tasks per worker fixed, strong scaling the total; every task of a cell is submitted at once. The spread is the busiest executor's task count over the least busy one's.");
  out.push("- Latency versus load: an open loop at stepped arrival rates, each for a few seconds, until throughput falls below 80% of the offered rate or p99 passes 2 s.");
  out.push("- Recovery: every executor busy with long tasks, one worker killed with -9 (local mode: the dispatcher, restarted at once), time until its tasks are RUNNING again elsewhere.");
  out.push("- BullMQ runs on a redis-server of its own, on the same machine, with no-op jobs, as its users would run it: a Worker of concurrency 50.", "");
  out.push("## Targets", "", "| target | measured | met |", "|---|---|---|");
  for (const v of verdicts) out.push(`| ${v.target} | ${v.measured} | ${v.met ? "✅" : "❌"} |`);
  out.push("");
  out.push("## faaslab beside BullMQ", "", "| | BullMQ | faaslab local | faaslab pull | faaslab push |", "|---|---|---|---|---|");
  const byMode = (mode: string) => m.targets.find((t) => t.mode === mode)!;
  out.push(`| closed loop, 50 clients (tasks/s) | ${f0(bull.closedLoop.jobsPerSecond)} | ${DISPATCHER_MODES.map((mode) => `${f0(byMode(mode).closedLoop.tasksPerSecond)} (${ratio(byMode(mode).closedLoop.tasksPerSecond, bull.closedLoop.jobsPerSecond)})`).join(" | ")} |`);
  out.push(`| bulk (tasks/s) | ${f0(bull.bulk.jobsPerSecond)} | ${DISPATCHER_MODES.map((mode) => `${f0(byMode(mode).bulk.tasksPerSecond)} (${ratio(byMode(mode).bulk.tasksPerSecond, bull.bulk.jobsPerSecond)})`).join(" | ")} |`);
  out.push(`| sequential round trip p50 (ms) | ${f2(bull.sequential.latency.p50)} | ${DISPATCHER_MODES.map((mode) => `${f2(byMode(mode).sequential.p50)} (${ratio(byMode(mode).sequential.p50, bull.sequential.latency.p50)})`).join(" | ")} |`);
  out.push(`| sequential round trip p99 (ms) | ${f2(bull.sequential.latency.p99)} | ${DISPATCHER_MODES.map((mode) => f2(byMode(mode).sequential.p99)).join(" | ")} |`);
  out.push("");
  out.push("### Where the CPU goes", "", "CPU time each process spent per task during the 50-client closed loop (µs, from /proc; the client is the benchmark process, Redis includes its own work for both the API and the dispatcher; a dispatcher's or worker's figure includes its executor host process and threads):", "");
  const processes = [...new Set(m.targets.flatMap((t) => Object.keys(t.cpuPerTaskUs ?? {})))];
  out.push(`| mode | ${processes.join(" | ")} | total | tasks/s the total allows on ${m.environment.cores} cores |`, `|---|${processes.map(() => "---").join("|")}|---|---|`);
  for (const t of m.targets) {
    const total = Object.values(t.cpuPerTaskUs ?? {}).reduce((a, b) => a + b, 0);
    out.push(`| ${t.mode} | ${processes.map((p) => f0(t.cpuPerTaskUs?.[p] ?? Number.NaN)).join(" | ")} | ${f0(total)} | ${f0((m.environment.cores * 1e6) / total)} (measured ${f0(t.closedLoop.tasksPerSecond)}) |`);
  }
  const hosts = m.targets.filter((t) => t.executorHostsUs && Object.keys(t.executorHostsUs).length > 0);
  if (hosts.length > 0) {
    out.push("", `Of these, the executor host processes (with their threads) took ${hosts.map((t) => `${t.mode}: ${Object.entries(t.executorHostsUs!).map(([p, us]) => `${p} ${f0(us)}`).join(", ")}`).join("; ")} µs per task. Reports before 2026-12-04 counted each process alone and left them out, as the "before" table does.`);
  }
  out.push("", `Before issue 17's work, from ${CPU_BEFORE.source} (the same measurement without the executor hosts; compare within a run, these are another day's):`, "");
  out.push("| mode | client | redis | api | dispatcher | worker-0 | worker-1 | total |", "|---|---|---|---|---|---|---|---|");
  for (const [mode, row] of Object.entries(CPU_BEFORE.rows)) out.push(`| ${mode} | ${row.map((v) => (v === undefined ? "–" : f0(v))).join(" | ")} |`);
  out.push("");
  const frame: string[] = [];
  if (m.peers.redis) frame.push(`redis-benchmark: ${Object.entries(m.peers.redis.commands).map(([k, v]) => `${k} ${f0(v)}/s`).join(", ")} (pipelined by 16: ${Object.entries(m.peers.redis.pipelined).map(([k, v]) => `${k} ${f0(v)}/s`).join(", ")})`);
  if (m.peers.fastify) frame.push(`fastify with ${m.peers.fastify.connections} connections: a bare route ${f0(m.peers.fastify.bare)} requests/s; a route doing HSET + XADD ${f0(m.peers.fastify.hsetXadd)} requests/s`);
  if (frame.length) out.push(`What frames it, measured in the same run: ${frame.join("; ")}.`, "");
  out.push("## Scaling", "");
  const sizes = [...new Set(m.scaling.map((c) => c.workers))].sort((a, b) => a - b);
  for (const kind of KINDS) {
    out.push(`### ${KIND_LABEL[kind]}`, "", "| workers | mode | strong: tasks/s | p50 / p95 / p99 ms | spread | weak: tasks | tasks/s | p50 / p95 / p99 ms | spread |", "|---|---|---|---|---|---|---|---|---|");
    for (const workers of sizes) {
      for (const mode of DISPATCHER_MODES) {
        const s = cell(m, mode, workers, kind, "strong");
        const w = cell(m, mode, workers, kind, "weak");
        if (!s || !w) continue;
        out.push(`| ${workers} | ${mode} | ${f0(s.tasksPerSecond)} | ${f0(s.latency.p50)} / ${f0(s.latency.p95)} / ${f0(s.latency.p99)} | ${f2(s.spread)} | ${w.tasks} | ${f0(w.tasksPerSecond)} | ${f0(w.latency.p50)} / ${f0(w.latency.p95)} / ${f0(w.latency.p99)} | ${f2(w.spread)} |`);
      }
    }
    out.push("", img(`${kind}-throughput`), "", img(`${kind}-latency`), "");
  }
  out.push("## Latency versus offered load", "", "| mode | offered (tasks/s) | achieved | p50 ms | p99 ms |", "|---|---|---|---|---|");
  for (const mode of DISPATCHER_MODES) for (const step of m.curves[mode] ?? []) out.push(`| ${mode} | ${f0(step.offered)} | ${f0(step.achieved)} | ${f1(step.latency.p50)} | ${f1(step.latency.p99)} |`);
  out.push("", img("curve"), "");
  out.push("## Failure recovery", "", "| mode | runs (s) | median (s) |", "|---|---|---|");
  for (const mode of DISPATCHER_MODES) out.push(`| ${mode} | ${(m.recovery[mode] ?? []).map(f2).join(", ")} | ${f2(median(m.recovery[mode] ?? []))} |`);
  out.push("", "A lost worker is detected after 3 missed heartbeats of 500 ms, so 1.5 s is the floor of these figures with the defaults.", "", img("recovery"), "");
  out.push("## Micro-benchmarks (tinybench)", "", "| group | operation | ops/s | mean µs | p99 µs |", "|---|---|---|---|---|");
  for (const r of m.micro) out.push(`| ${r.group} | ${r.name} | ${f0(r.opsPerSecond)} | ${f1(r.meanUs)} | ${f1(r.p99Us)} |`);
  out.push("", "## Discussion", "", ...discussion(m), "");
  const file = join(reportsDir, "performance_report.md");
  writeFileSync(file, `${out.join("\n")}\n`);
  return file;
}
