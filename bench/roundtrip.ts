/**
 * Round trip and throughput of no-op tasks on a cluster started by the harness:
 *  - sequential: execute, then result?wait, one task at a time; p50/p99 latency
 *  - concurrent: N tasks from C clients, each executing and awaiting its task; tasks/s
 *
 *   npm run bench:roundtrip -- [--mode local|pull|push] [--workers 2x2] [--sequential 1000] [--tasks 5000] [--clients 50] [--curve] [--executor-isolation process|thread] [--no-metrics] [--runtime javascript|python|both]
 *
 * --workers is <count>x<executors> (local mode: 1x<executors>).
 */
import { parseArgs } from "node:util";
import { LaunchedCluster, type WorkerShape } from "../system/launcher/cluster.js";
import { parseWorkers } from "../system/cli/options.js";
import { isDispatcherMode, type DispatcherMode } from "../system/modes.js";
import { closedLoop, executeJavaScript, executePython, sequential } from "./study/loads.js";
import { FaaSClient } from "../system/client/index.js";

/**
 * This benchmark's own --workers: a bare number is the executors of the local pool, or the
 * number of 2-executor workers.
 */
export function workersFor(mode: DispatcherMode, shape: WorkerShape | undefined): WorkerShape {
  if (shape === undefined) return mode === "local" ? { count: 1, executors: 4 } : { count: 2, executors: 2 };
  if (shape.executors === 0) return mode === "local" ? { count: 1, executors: shape.count } : { count: shape.count, executors: 2 };
  if (mode === "local" && shape.count !== 1) {
    throw new Error(`local mode runs one pool: give --workers as <executors> or 1x<executors>, not ${shape.count}x${shape.executors}`);
  }
  return shape;
}

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "local" },
    workers: { type: "string", default: "" },
    sequential: { type: "string", default: "1000" },
    tasks: { type: "string", default: "5000" },
    clients: { type: "string", default: "50" },
    curve: { type: "boolean", default: false },
    "executor-isolation": { type: "string", default: "process" },
    "no-metrics": { type: "boolean", default: false },
    runtime: { type: "string", default: "javascript" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: npm run bench:roundtrip -- [--mode local|pull|push] [--workers 2x2] [--sequential 1000] [--tasks 5000] [--clients 50] [--curve] [--executor-isolation process|thread] [--no-metrics] [--runtime javascript|python|both]");
  console.log("  --runtime: the no-op function's language; both runs JavaScript, then Python, on the same cluster in one run");
  console.log("  --curve: pull and push, the worker links encrypted and authenticated with CURVE");
  console.log("  --executor-isolation thread: executors in the dispatcher or worker process, without the executor host (the second wall)");
  console.log("  --no-metrics: every component runs with FAAS_METRICS=off (nothing counted), to measure what metrics cost");
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
const mode = values.mode;
if (!isDispatcherMode(mode)) {
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
if (!["javascript", "python", "both"].includes(values.runtime)) {
  console.error("--runtime must be javascript, python or both");
  process.exit(2);
}
const runtimes = values.runtime === "both" ? (["javascript", "python"] as const) : [values.runtime as "javascript" | "python"];
const sequentialCount = count("sequential");
const tasks = count("tasks");
const clients = count("clients");

if (values.curve && mode === "local") {
  console.error("--curve applies to pull and push mode");
  process.exit(2);
}
const metrics = !values["no-metrics"];
// The dispatcher serves its metrics either way, so that the two runs differ only in what is counted.
const cluster = await LaunchedCluster.start({
  mode, executors: shape.executors, workers: shape, logLevel: "warn", curve: values.curve, metrics, dispatcher: { metricsPort: 0 },
  executorIsolation: values["executor-isolation"] === "thread" ? "thread" : "process",
});
const stop = () => cluster.stop();
process.once("SIGINT", () => void stop().then(() => process.exit(130)));
try {
  const client = new FaaSClient({ baseUrl: cluster.apiUrl });
  const layout = mode === "local" ? `${shape.executors} executors` : `${shape.count} workers x ${shape.executors} executors`;
  console.log(`faaslab round trip, ${mode} mode${values.curve ? " with CURVE" : ""}, metrics ${metrics ? "on" : "off"}, ${layout} (cluster and client on this machine)`);
  for (const runtime of runtimes) {
    const noop = runtime === "python" ? await client.registerPython("def noop():\n    return None\n", "noop") : await client.register(() => null, "noop");
    const submit = runtime === "python" ? executePython : executeJavaScript;
    const seq = await sequential(client, noop, sequentialCount, 100, submit);
    const loop = await closedLoop(client, noop, tasks, clients, [], submit);
    console.log(`${runtime}: sequential no-op round trip over ${sequentialCount} calls: p50 ${seq.p50.toFixed(2)} ms, p99 ${seq.p99.toFixed(2)} ms`);
    console.log(`${runtime}: throughput: ${tasks} no-op tasks from ${clients} concurrent clients in ${loop.seconds.toFixed(2)} s = ${loop.tasksPerSecond.toFixed(0)} tasks/s`);
  }
} finally {
  await stop();
}
