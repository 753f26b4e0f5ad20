/**
 * The cost of the executor pool on its own, without Redis or HTTP: what the hop to the
 * executor host process adds to a task.
 *
 *   node dist/bench/executor-hop.js [--executors 2] [--sequential 3000] [--tasks 20000] [--arg-bytes 0] [--isolation process|thread]
 *
 *  - sequential: one no-op task at a time through ExecutorPool.run; p50/p99 latency
 *  - concurrent: as many tasks in flight as there are executors (what the dispatchers do); tasks/s
 * --arg-bytes gives every task a string argument of that size, to see what carrying data costs.
 * CPU per task counts this process and the executor host process (Linux: /proc), since on a
 * busy machine the hop costs what it costs in CPU.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { serialize } from "../system/codec/index.js";
import { ExecutorPool } from "../system/executor/pool.js";
import { percentileOfSorted } from "../harness/percentile.js";

const { values } = parseArgs({
  options: {
    executors: { type: "string", default: "2" },
    sequential: { type: "string", default: "3000" },
    tasks: { type: "string", default: "20000" },
    "arg-bytes": { type: "string", default: "0" },
    isolation: { type: "string", default: "process" },
  },
});
const executors = Number(values.executors);
const sequentialCount = Number(values.sequential);
const tasks = Number(values.tasks);
const argBytes = Number(values["arg-bytes"]);

const pool = new ExecutorPool({ executors, memoryMb: 256, name: "hop", isolation: values.isolation === "thread" ? "thread" : "process" });
const task = { functionId: "hop", source: "(s) => s.length", args: serialize(argBytes > 0 ? ["x".repeat(argBytes)] : [""]) };
const runOne = async () => {
  const outcome = await pool.run(task, 60_000);
  if (outcome.status !== "COMPLETED") throw new Error(`${outcome.status}: ${outcome.result}`);
};

/** User + system CPU of this process and of the executor host, in µs. */
function cpuMicros(): number {
  const own = process.cpuUsage();
  let host = 0;
  const pid = (pool as { hostPid?: number }).hostPid;
  if (pid !== undefined) {
    // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command name) are utime and stime in clock ticks.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    host = ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100;
  }
  return own.user + own.system + host;
}


try {
  for (let i = 0; i < 200; i++) await runOne(); // every thread warm, the function compiled
  const latencies: number[] = [];
  for (let i = 0; i < sequentialCount; i++) {
    const start = performance.now();
    await runOne();
    latencies.push(performance.now() - start);
  }
  latencies.sort((a, b) => a - b);

  let next = 0;
  const cpuBefore = cpuMicros();
  const start = performance.now();
  await Promise.all(Array.from({ length: executors }, async () => {
    while (next++ < tasks) await runOne();
  }));
  const seconds = (performance.now() - start) / 1000;
  const cpuPerTask = (cpuMicros() - cpuBefore) / tasks;

  console.log(`executor pool, ${executors} executors, argument ${argBytes} bytes`);
  console.log(`sequential over ${sequentialCount} tasks: p50 ${(percentileOfSorted(latencies, 50) * 1000).toFixed(0)} µs, p99 ${(percentileOfSorted(latencies, 99) * 1000).toFixed(0)} µs`);
  console.log(`concurrent: ${tasks} tasks, ${executors} in flight, in ${seconds.toFixed(2)} s = ${(tasks / seconds).toFixed(0)} tasks/s, CPU ${cpuPerTask.toFixed(0)} µs per task`);
} finally {
  await pool.close();
}
