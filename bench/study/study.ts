/**
 * The performance study: every measurement behind reports/performance_report.md, taken in
 * one run on this machine and saved as JSON beside the report.
 */
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Cluster, type ClusterOptions } from "../../harness/cluster/cluster.js";
import { RedisServer } from "../../system/launcher/redis.js";
import { DISPATCHER_MODES, type DispatcherMode } from "../../system/modes.js";
import { waitFor } from "../../harness/wait.js";
import { describeEnvironment, type Environment } from "../../harness/report/environment.js";
import { FaaSClient } from "../../system/client/index.js";
import { microBenchmarks, type MicroResult } from "../micro.js";
import { measurePeers, type PeerResults } from "../peers.js";
import { cpuSeconds, ownCpuSeconds } from "./cpu.js";
import { bulk, closedLoop, executePython, openLoop, sequential, sequentialOneRequest, type LoadResult, type OpenLoopResult, type Percentiles } from "./loads.js";

export const KINDS = ["noop", "sleep", "cpu"] as const;
export type Kind = (typeof KINDS)[number];

export interface StudyOptions {
  quick: boolean;
  log: (line: string) => void;
}

export interface ScalingCell {
  mode: DispatcherMode;
  workers: number;
  kind: Kind;
  scaling: "weak" | "strong";
  tasks: number;
  tasksPerSecond: number;
  latency: Percentiles;
  /** Tasks run by the busiest executor over the least busy (1 = perfectly even). */
  spread: number;
  perExecutor: number[];
}

export interface TargetRun {
  mode: DispatcherMode;
  shape: string;
  sequential: Percentiles & { count: number };
  /** The same no-op in one request each (`execute_function?wait`). */
  sequentialOneRequest?: Percentiles & { count: number };
  /** A Python no-op's sequential round trip on the same cluster; absent where Python cannot run. */
  sequentialPython?: Percentiles & { count: number };
  closedLoop: Omit<LoadResult, "taskIds">;
  /** CPU time each process (with its descendants: executor hosts) spent per task during the closed loop, in µs (from /proc; the client is this process). */
  cpuPerTaskUs: Record<string, number>;
  /** Of cpuPerTaskUs, what the descendants spent (the executor host processes and their threads), by process. */
  executorHostsUs?: Record<string, number>;
  bulk: { tasks: number; seconds: number; tasksPerSecond: number };
  idleCpu: Record<string, number>;
}

export interface Measurements {
  quick: boolean;
  startedAt: string;
  durationSeconds: number;
  environment: Environment;
  cpuTask: { fib: number; ms: number };
  scaling: ScalingCell[];
  curves: Record<string, OpenLoopResult[]>;
  recovery: Record<string, number[]>;
  targets: TargetRun[];
  micro: MicroResult[];
  peers: PeerResults;
}

const SOURCES: Record<Kind, string> = {
  noop: "() => null",
  sleep: "async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)); return ms; }",
  cpu: "function fibonacci(n) { return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2); }",
};

function fibonacci(n: number): number {
  return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

/** The n for which fibonacci(n) takes about `targetMs` here (same engine as the executors). */
export function calibrateFibonacci(targetMs = 20): { fib: number; ms: number } {
  let best = { fib: 20, ms: 0 };
  for (let n = 20; n <= 35; n++) {
    const start = performance.now();
    fibonacci(n);
    const ms = performance.now() - start;
    best = { fib: n, ms };
    if (ms >= targetMs) break;
  }
  return best;
}

function argsFor(kind: Kind, fib: number): unknown[] {
  return kind === "sleep" ? [100] : kind === "cpu" ? [fib] : [];
}

async function withCluster<T>(options: ClusterOptions, run: (cluster: Cluster, client: FaaSClient) => Promise<T>): Promise<T> {
  const cluster = await Cluster.start({ ...options, logLevel: "warn" });
  try {
    return await run(cluster, new FaaSClient({ baseUrl: cluster.apiUrl, timeoutMs: 120_000 }));
  } finally {
    await cluster.stop();
  }
}

const shapeFor = (mode: DispatcherMode, workers: number, executors = 1): ClusterOptions =>
  mode === "local" ? { mode, executors: workers * executors } : { mode, workers: { count: workers, executors } };

/** Weak and strong scaling for each mode, size and kind (workers of one executor each). */
async function scaling(options: StudyOptions, fib: number): Promise<ScalingCell[]> {
  const sizes = options.quick ? [1, 2] : [1, 2, 4, 8];
  const perWorker = options.quick ? 10 : 20;
  const fixed = options.quick ? 20 : 80;
  const cells: ScalingCell[] = [];
  for (const mode of DISPATCHER_MODES) {
    for (const workers of sizes) {
      options.log(`scaling: ${mode} with ${workers} worker(s)`);
      await withCluster(shapeFor(mode, workers), async (_cluster, client) => {
        for (const kind of KINDS) {
          const functionId = await client.registerSource(SOURCES[kind], kind);
          await closedLoop(client, functionId, Math.max(4, workers * 2), workers, argsFor(kind, fib)); // warm every executor
          for (const scalingKind of ["weak", "strong"] as const) {
            const tasks = scalingKind === "weak" ? perWorker * workers : fixed;
            // Every task submitted at once: the makespan shows how the executors share the work.
            const load = await closedLoop(client, functionId, tasks, tasks, argsFor(kind, fib));
            const perExecutor = await executorCounts(client, load.taskIds);
            cells.push({
              mode, workers, kind, scaling: scalingKind, tasks, tasksPerSecond: load.tasksPerSecond, latency: load.latency,
              spread: Math.max(...perExecutor) / Math.max(1, Math.min(...perExecutor)), perExecutor,
            });
          }
        }
      });
    }
  }
  return cells;
}

async function executorCounts(client: FaaSClient, taskIds: string[]): Promise<number[]> {
  const counts = new Map<string, number>();
  for (const taskId of taskIds) {
    const executor = (await client.task(taskId)).executor ?? "?";
    counts.set(executor, (counts.get(executor) ?? 0) + 1);
  }
  return [...counts.values()].sort((a, b) => b - a);
}

/** Open-loop arrival rates stepped up until the system no longer keeps up. */
async function curves(options: StudyOptions): Promise<Record<string, OpenLoopResult[]>> {
  const rates = options.quick ? [100, 400, 1600] : [100, 200, 400, 800, 1200, 1600, 2400, 3200, 4800];
  const seconds = options.quick ? 1.5 : 3;
  const result: Record<string, OpenLoopResult[]> = {};
  for (const mode of DISPATCHER_MODES) {
    options.log(`latency versus load: ${mode}`);
    result[mode] = await withCluster(shapeFor(mode, 2, 2), async (_cluster, client) => {
      const functionId = await client.registerSource(SOURCES.noop, "noop");
      await closedLoop(client, functionId, 200, 20);
      const steps: OpenLoopResult[] = [];
      for (const rate of rates) {
        const step = await openLoop(client, functionId, rate, seconds);
        steps.push(step);
        if (step.achieved < 0.8 * rate || step.latency.p99 > 2000) break; // saturated
      }
      return steps;
    });
  }
  return result;
}

/** Time from kill -9 of a worker (in local mode, of the dispatcher, restarted at once) to its tasks RUNNING elsewhere. */
export async function recoveryTime(mode: DispatcherMode): Promise<number> {
  return withCluster({ mode, executors: 2, workers: { count: 2, executors: 2 } }, async (cluster, client) => {
    const sleep = await client.registerSource(SOURCES.sleep, "sleep");
    const executors = mode === "local" ? 2 : 4;
    const taskIds = await Promise.all(Array.from({ length: executors }, () => client.execute(sleep, 30_000)));
    await waitFor(async () => (await Promise.all(taskIds.map((id) => client.status(id)))).every((s) => s === "RUNNING"), { what: "every executor busy", timeoutMs: 20_000 });
    const records = await Promise.all(taskIds.map((id) => client.task(id)));
    const victim = mode === "local" ? "dispatcher" : cluster.workers[0];
    const victimId = mode === "local" ? records[0].worker : records.find((r) => r.worker?.includes(`-${cluster.process(victim)!.pid}-`))?.worker;
    const lost = records.filter((r) => r.worker === victimId).map((r) => r.task_id);
    if (mode !== "local") await cluster.startWorker({ executors: 2 });
    const killedAt = performance.now();
    await cluster.kill(victim, "SIGKILL");
    if (mode === "local") await cluster.startDispatcher();
    await waitFor(async () => (await Promise.all(lost.map((id) => client.task(id)))).every((t) => t.attempts >= 2 && t.status === "RUNNING"), {
      what: "the lost tasks to run again elsewhere", timeoutMs: 30_000, intervalMs: 5,
    });
    return (performance.now() - killedAt) / 1000;
  });
}

/** A Python no-op's sequential round trip, or undefined where the cluster's executors run no Python. */
async function pythonSequential(client: FaaSClient, count: number): Promise<(Percentiles & { count: number }) | undefined> {
  const snapshot = await client.cluster();
  if (!snapshot.workers.some((worker) => worker.runtimes?.includes("python"))) return undefined;
  const noop = await client.registerPython("def noop():\n    return None\n", "noop");
  return sequential(client, noop, count, 50, executePython);
}

/** The targets' shapes: local with 2 executors, pull and push with 2 workers × 2 executors. */
async function targets(options: StudyOptions): Promise<TargetRun[]> {
  const runs: TargetRun[] = [];
  for (const mode of DISPATCHER_MODES) {
    options.log(`targets: ${mode}`);
    runs.push(await withCluster(shapeFor(mode, mode === "local" ? 1 : 2, 2), async (cluster, client) => {
      const noop = await client.registerSource(SOURCES.noop, "noop");
      const seq = await sequential(client, noop, options.quick ? 200 : 1000);
      const seqOne = await sequentialOneRequest(client, noop, options.quick ? 200 : 1000);
      const seqPython = await pythonSequential(client, options.quick ? 100 : 500);
      await closedLoop(client, noop, 500, 50);
      const processes = ["redis", "api", "dispatcher", ...cluster.workers] as const;
      const cpuBefore = processes.map((c) => cpuSeconds(cluster.process(c)!.pid!));
      const ownBefore = processes.map((c) => ownCpuSeconds(cluster.process(c)!.pid!));
      const clientBefore = process.cpuUsage();
      const { taskIds: _ids, ...loop } = await closedLoop(client, noop, options.quick ? 1000 : 5000, 50);
      const clientUsage = process.cpuUsage(clientBefore);
      const cpuPerTaskUs: Record<string, number> = { client: (clientUsage.user + clientUsage.system) / loop.tasks };
      processes.forEach((c, i) => (cpuPerTaskUs[c] = ((cpuSeconds(cluster.process(c)!.pid!) - cpuBefore[i]) * 1e6) / loop.tasks));
      const executorHostsUs: Record<string, number> = {};
      processes.forEach((c, i) => {
        const descendants = cpuPerTaskUs[c] - ((ownCpuSeconds(cluster.process(c)!.pid!) - ownBefore[i]) * 1e6) / loop.tasks;
        if (descendants > 0) executorHostsUs[c] = descendants;
      });
      const bulkRun = await bulk(client, noop, options.quick ? 2000 : 20_000);
      const components = ["dispatcher", ...cluster.workers] as const;
      const before = components.map((c) => cpuSeconds(cluster.process(c)!.pid!));
      const started = performance.now();
      await new Promise((resolve) => setTimeout(resolve, options.quick ? 1000 : 3000)); // the measured idle interval
      const seconds = (performance.now() - started) / 1000;
      const idleCpu = Object.fromEntries(components.map((c, i) => [c, (cpuSeconds(cluster.process(c)!.pid!) - before[i]) / seconds]));
      return {
        mode, shape: mode === "local" ? "2 executors" : "2 workers × 2 executors", sequential: seq, sequentialOneRequest: seqOne,
        ...(seqPython ? { sequentialPython: seqPython } : {}), closedLoop: loop, cpuPerTaskUs, executorHostsUs, bulk: bulkRun, idleCpu,
      };
    }));
  }
  return runs;
}

/** Micro-benchmarks and peers run against a redis-server of their own. */
async function withRedis<T>(run: (url: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "faaslab-perf-"));
  const redis = new RedisServer({ dir });
  await redis.start();
  try {
    return await run(redis.url);
  } finally {
    await redis.managed?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runStudy(options: StudyOptions): Promise<Measurements> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const cpuTask = calibrateFibonacci(20);
  options.log(`CPU task: fibonacci(${cpuTask.fib}) takes ${cpuTask.ms.toFixed(1)} ms here`);
  const targetRuns = await targets(options);
  const recovery: Record<string, number[]> = {};
  for (const mode of DISPATCHER_MODES) {
    options.log(`recovery: ${mode}`);
    recovery[mode] = [];
    for (let run = 0; run < (options.quick ? 1 : 3); run++) recovery[mode].push(await recoveryTime(mode));
  }
  options.log("micro-benchmarks");
  const micro = await withRedis((url) => microBenchmarks({ redisUrl: url, quick: options.quick }));
  options.log("peers: BullMQ, redis-benchmark, fastify");
  const peers = await withRedis((url) => measurePeers({ redisUrl: url, quick: options.quick, log: options.log }));
  const curveRuns = await curves(options);
  const scalingCells = await scaling(options, cpuTask.fib);
  return {
    quick: options.quick, startedAt, durationSeconds: (performance.now() - started) / 1000, environment: describeEnvironment(["fastify", "ioredis", "zeromq", "piscina", "devalue", "bullmq", "chart.js"]),
    cpuTask, scaling: scalingCells, curves: curveRuns, recovery, targets: targetRuns, micro, peers,
  };
}
