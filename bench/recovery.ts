/**
 * Time from killing a worker (kill -9) to its tasks running elsewhere, per mode, with the
 * default heartbeat settings (500 ms × 3). In local mode the dispatcher is the worker: it is
 * killed and a new one started at once, so the figure includes a dispatcher's start-up.
 *
 *   npm run bench:recovery -- [--mode local|pull|push] [--runs 3]
 */
import { parseArgs } from "node:util";
import { Cluster, type DispatcherMode } from "../harness/cluster/cluster.js";
import { waitFor } from "../harness/wait.js";
import { FaaSClient } from "../system/client/index.js";

const { values } = parseArgs({ options: { mode: { type: "string", multiple: true }, runs: { type: "string", default: "3" }, help: { type: "boolean", short: "h" } } });
if (values.help) {
  console.log("usage: npm run bench:recovery -- [--mode local|pull|push ...] [--runs 3]");
  process.exit(0);
}
const modes = (values.mode ?? ["local", "pull", "push"]) as DispatcherMode[];
const runs = Number(values.runs);

async function measure(mode: DispatcherMode): Promise<number> {
  const cluster = await Cluster.start({ mode, executors: 2, workers: { count: 2, executors: 2 }, logLevel: "warn" });
  try {
    const client = new FaaSClient({ baseUrl: cluster.apiUrl });
    const sleep = await client.register(async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
    // Exactly enough long tasks to fill every executor, so that the lost ones find free executors.
    const executors = mode === "local" ? 2 : 4;
    const taskIds = await Promise.all(Array.from({ length: executors }, () => client.execute(sleep, 30_000)));
    await waitFor(async () => (await Promise.all(taskIds.map((id) => client.status(id)))).filter((s) => s === "RUNNING").length === executors, {
      what: "the executors to be busy", timeoutMs: 20_000,
    });
    const records = await Promise.all(taskIds.map((id) => client.task(id)));
    const victim = mode === "local" ? "dispatcher" : cluster.workers[0];
    const victimId = mode === "local" ? records.find((r) => r.status === "RUNNING")!.worker : records.find((r) => r.worker?.includes(String(cluster.process(victim)!.pid)))?.worker;
    const lost = records.filter((r) => r.status === "RUNNING" && r.worker === victimId).map((r) => r.task_id);
    if (mode !== "local") {
      // Free executors elsewhere for the lost tasks to move to.
      await cluster.startWorker({ executors: 2 });
    }
    const killedAt = performance.now();
    await cluster.kill(victim, "SIGKILL");
    if (mode === "local") await cluster.startDispatcher();
    await waitFor(async () => (await Promise.all(lost.map((id) => client.task(id)))).every((t) => t.attempts >= 2 && t.status === "RUNNING"), {
      what: "the lost tasks to run again elsewhere", timeoutMs: 30_000, intervalMs: 5,
    });
    return performance.now() - killedAt;
  } finally {
    await cluster.stop();
  }
}

console.log("time from kill -9 of a worker to its tasks RUNNING elsewhere (default heartbeats 500 ms x 3)");
for (const mode of modes) {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) times.push(await measure(mode));
  times.sort((a, b) => a - b);
  console.log(`${mode}: ${times.map((t) => `${(t / 1000).toFixed(2)} s`).join(", ")} (median ${(times[Math.floor(times.length / 2)] / 1000).toFixed(2)} s)`);
}
