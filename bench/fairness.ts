/**
 * Fairness between functions: how long one task of a function waits when another function
 * has a large batch queued ahead of it. One batch of `--batch` tasks of function A is
 * submitted, then a single task of function B; the figures are B's wait (queued to started,
 * by Redis's clock, from the task record) and its round trip, beside the time the batch took
 * to drain, so a fairer order can be seen not to cost throughput.
 *
 *   node dist/bench/fairness.js [--mode local|pull|push] [--workers 2x2] [--batch 10000] [--runs 3]
 */
import { parseArgs } from "node:util";
import { LaunchedCluster } from "../system/launcher/cluster.js";
import { parseWorkers } from "../system/cli/options.js";
import { isDispatcherMode } from "../system/modes.js";
import { FaaSClient } from "../system/client/index.js";
import { MAX_BATCH } from "../system/api/limits.js";

const usage = "usage: node dist/bench/fairness.js [--mode local|pull|push] [--workers 2x2] [--batch 10000] [--runs 3]";
const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "local" },
    workers: { type: "string", default: "" },
    batch: { type: "string", default: "10000" },
    runs: { type: "string", default: "3" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const fail = (message: string): never => {
  console.error(`${message}\n${usage}`);
  process.exit(2);
};
const mode = values.mode;
if (!isDispatcherMode(mode)) fail("--mode must be local, pull or push");
const batch = Number(values.batch);
const runs = Number(values.runs);
if (!Number.isInteger(batch) || batch < 1) fail("--batch must be a positive integer");
if (!Number.isInteger(runs) || runs < 1) fail("--runs must be a positive integer");
let shape = { count: mode === "local" ? 1 : 2, executors: 2 };
try {
  if (values.workers) shape = parseWorkers(values.workers);
} catch (error) {
  fail((error as Error).message);
}
if (mode === "local" && shape.count !== 1) fail("local mode runs one pool: give --workers as 1x<executors>");

const cluster = await LaunchedCluster.start({
  mode: mode as "local", executors: shape.executors, workers: shape, logLevel: "warn",
});
process.once("SIGINT", () => void cluster.stop().then(() => process.exit(130)));
try {
  const client = new FaaSClient({ baseUrl: cluster.apiUrl });
  const busy = await client.registerSource("() => null", "batch");
  const single = await client.registerSource("() => 'single'", "single");
  await client.result(await client.execute(single), { wait: 30 }); // both functions compiled on some executor
  await client.result(await client.execute(busy), { wait: 30 });
  console.log(`faaslab fairness, ${mode} mode, ${mode === "local" ? "" : `${shape.count} workers x `}${shape.executors} executors: one task of B behind a batch of ${batch} tasks of A`);
  for (let run = 1; run <= runs; run++) {
    const ids: string[] = [];
    for (let from = 0; from < batch; from += MAX_BATCH) {
      ids.push(...(await client.executeMany(busy, Array.from({ length: Math.min(MAX_BATCH, batch - from) }, () => []))));
    }
    const sent = performance.now();
    const lone = await client.execute(single);
    const outcome = await client.result(lone, { wait: 300 });
    const roundTripMs = performance.now() - sent;
    if (outcome.status !== "COMPLETED") throw new Error(`B's task ended ${outcome.status}: ${outcome.result}`);
    const record = await client.task(lone);
    const waitMs = (record.started_at ?? Number.NaN) - record.created_at;
    const results = await client.results(ids, { wait: 600 });
    const notDone = results.filter((result) => result.status !== "COMPLETED").length;
    if (notDone > 0) throw new Error(`${notDone} of the batch's tasks did not complete`);
    const first = await client.task(ids[0]);
    const last = await client.task(ids[ids.length - 1]);
    const drainMs = (last.finished_at ?? Number.NaN) - first.created_at;
    console.log(`run ${run}: B waited ${waitMs} ms (queued to started), round trip ${roundTripMs.toFixed(0)} ms; the batch drained in ${(drainMs / 1000).toFixed(2)} s (${((batch * 1000) / drainMs).toFixed(0)} tasks/s)`);
  }
} finally {
  await cluster.stop();
}
