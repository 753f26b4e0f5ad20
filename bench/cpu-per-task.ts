#!/usr/bin/env node
/**
 * `node dist/bench/cpu-per-task.js [--modes local,pull,push] [--tasks N] [--rounds R]`: the
 * 50-client closed loop of the performance report's targets (no-op, execute then result?wait),
 * with the CPU time each process spends per task (from /proc), and BullMQ's closed loop in the
 * same run. For measuring one change of the hot path before and after: it takes a minute, not
 * the report's ten. Run it with FAAS_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" for profiles.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cluster, type ClusterOptions } from "../harness/cluster/cluster.js";
import { FaaSClient } from "../system/client/index.js";
import { RedisServer } from "../system/launcher/redis.js";
import { DISPATCHER_MODES, isDispatcherMode, type DispatcherMode } from "../system/modes.js";
import { measureBullmq } from "./peers.js";
import { closedLoop } from "./study/loads.js";
import { cpuSeconds } from "./study/cpu.js";

const { values } = parseArgs({
  options: {
    modes: { type: "string", default: DISPATCHER_MODES.join(",") },
    tasks: { type: "string", default: "3000" },
    rounds: { type: "string", default: "1" },
    "no-bullmq": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("usage: node dist/bench/cpu-per-task.js [--modes local,pull,push] [--tasks N] [--rounds R] [--no-bullmq]");
  console.log("  the 50-client no-op closed loop with the CPU per task of each process, beside BullMQ's closed loop");
  process.exit(0);
}
const modes = values.modes.split(",").map((mode) => mode.trim());
const unknown = modes.filter((mode) => !isDispatcherMode(mode));
const tasks = Number(values.tasks);
const rounds = Number(values.rounds);
if (unknown.length > 0 || !(tasks >= 100) || !(rounds >= 1)) {
  console.error(unknown.length > 0 ? `--modes: ${unknown.join(", ")} is not a mode (local, pull, push)` : "--tasks must be at least 100 and --rounds at least 1");
  process.exit(2);
}

const CLIENTS = 50;
const NOOP = "() => null";

const shapeFor = (mode: DispatcherMode): ClusterOptions =>
  mode === "local" ? { mode, executors: 2 } : { mode, workers: { count: 2, executors: 2 } };

async function measureMode(mode: DispatcherMode): Promise<void> {
  const cluster = await Cluster.start({ ...shapeFor(mode), logLevel: "warn" });
  try {
    const client = new FaaSClient({ baseUrl: cluster.apiUrl, timeoutMs: 120_000 });
    const noop = await client.registerSource(NOOP, "noop");
    await closedLoop(client, noop, 500, CLIENTS);
    const processes = ["redis", "api", "dispatcher", ...cluster.workers] as const;
    for (let round = 0; round < rounds; round++) {
      const before = processes.map((name) => cpuSeconds(cluster.process(name)!.pid!));
      const clientBefore = process.cpuUsage();
      const loop = await closedLoop(client, noop, tasks, CLIENTS);
      const clientUsage = process.cpuUsage(clientBefore);
      const perTask: Record<string, number> = { client: (clientUsage.user + clientUsage.system) / loop.tasks };
      processes.forEach((name, i) => (perTask[name] = ((cpuSeconds(cluster.process(name)!.pid!) - before[i]) * 1e6) / loop.tasks));
      const total = Object.values(perTask).reduce((a, b) => a + b, 0);
      const parts = Object.entries(perTask).map(([name, us]) => `${name} ${us.toFixed(0)}`).join(", ");
      console.log(`${mode}: ${loop.tasksPerSecond.toFixed(0)} tasks/s, ${total.toFixed(0)} µs of CPU per task (${parts})`);
    }
  } finally {
    await cluster.stop();
  }
}

for (const mode of modes as DispatcherMode[]) await measureMode(mode);
if (!values["no-bullmq"]) {
  const dir = mkdtempSync(join(tmpdir(), "faaslab-cpu-"));
  const redis = new RedisServer({ dir });
  await redis.start();
  try {
    const bullmq = await measureBullmq(redis.url, { bulk: 1_000, closedLoop: tasks, sequential: 100 }, () => {});
    console.log(`bullmq: ${bullmq.closedLoop.jobsPerSecond.toFixed(0)} jobs/s in the closed loop`);
  } finally {
    await redis.managed?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
