/**
 * Round trip and throughput of no-op tasks on a cluster started by the harness:
 *  - sequential: execute, then result?wait, one task at a time; p50/p99 latency
 *  - concurrent: N tasks from C clients, each executing and awaiting its task; tasks/s
 *
 *   npm run bench:roundtrip -- [--mode local|pull|push] [--workers 2x2] [--sequential 1000] [--tasks 5000] [--clients 50]
 *
 * --workers is <count>x<executors> (local mode: 1x<executors>).
 */
import { parseArgs } from "node:util";
import { Cluster, type DispatcherMode, type WorkerShape } from "../harness/cluster/cluster.js";
import { parseWorkers, workersFor } from "../system/cli/up.js";
import { mapConcurrent } from "../harness/random.js";
import { FaaSClient } from "../system/client/index.js";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "local" },
    workers: { type: "string", default: "" },
    sequential: { type: "string", default: "1000" },
    tasks: { type: "string", default: "5000" },
    clients: { type: "string", default: "50" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: npm run bench:roundtrip -- [--mode local|pull|push] [--workers 2x2] [--sequential 1000] [--tasks 5000] [--clients 50]");
  process.exit(0);
}
const count = (name: keyof typeof values) => {
  const number = Number(values[name]);
  if (!Number.isInteger(number) || number < 1) {
    console.error(`--${name} must be a positive integer`);
    process.exit(2);
  }
  return number;
};
const mode = values.mode as DispatcherMode;
if (!["local", "pull", "push"].includes(mode)) {
  console.error("--mode must be local, pull or push");
  process.exit(2);
}
let shape: WorkerShape;
try {
  shape = workersFor(mode, values.workers ? parseWorkers(values.workers) : { count: mode === "local" ? 1 : 2, executors: 2 });
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const sequential = count("sequential");
const tasks = count("tasks");
const clients = count("clients");

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const cluster = await Cluster.start({ mode, executors: shape.executors, workers: shape, logLevel: "warn" });
const stop = () => cluster.stop();
process.once("SIGINT", () => void stop().then(() => process.exit(130)));
try {
  const client = new FaaSClient({ baseUrl: cluster.apiUrl });
  const noop = await client.register(() => null, "noop");
  const once = async () => {
    const taskId = await client.execute(noop);
    const outcome = await client.result(taskId, { wait: 30 });
    if (outcome.status !== "COMPLETED") throw new Error(`task ${taskId} ended ${outcome.status}`);
  };
  for (let i = 0; i < 100; i++) await once(); // warm-up: executors compile the function, connections open

  const latencies: number[] = [];
  for (let i = 0; i < sequential; i++) {
    const start = performance.now();
    await once();
    latencies.push(performance.now() - start);
  }
  latencies.sort((a, b) => a - b);

  const started = performance.now();
  await mapConcurrent(Array.from({ length: tasks }), clients, once);
  const seconds = (performance.now() - started) / 1000;

  const layout = mode === "local" ? `${shape.executors} executors` : `${shape.count} workers x ${shape.executors} executors`;
  console.log(`faaslab round trip, ${mode} mode, ${layout} (cluster and client on this machine)`);
  console.log(`sequential no-op round trip over ${sequential} calls: p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, max ${latencies[latencies.length - 1].toFixed(2)} ms`);
  console.log(`throughput: ${tasks} no-op tasks from ${clients} concurrent clients in ${seconds.toFixed(2)} s = ${(tasks / seconds).toFixed(0)} tasks/s`);
} finally {
  await stop();
}
