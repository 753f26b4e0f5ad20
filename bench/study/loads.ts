/**
 * The load shapes the performance study drives, each against a registered function:
 * sequential round trips, a closed loop of N clients, a bulk submission through the batch
 * API, and an open loop at a fixed arrival rate. Latency is from sending the execute request
 * to seeing the result.
 */
import { mapConcurrent } from "../../harness/concurrent.js";
import { percentiles, type Percentiles } from "../../harness/percentile.js";
import type { FaaSClient, PythonValue } from "../../system/client/index.js";

export type { Percentiles };

/** How a load submits one task of its function: a JavaScript function's arguments go in faaslab's codec, a Python one's pickled. */
export type Submit = (client: FaaSClient, functionId: string, args: unknown[]) => Promise<string>;
export const executeJavaScript: Submit = (client, functionId, args) => client.execute(functionId, ...args);
export const executePython: Submit = (client, functionId, args) => client.executePython(functionId, args as PythonValue[]);

/** One task: execute, then wait for its result; returns the latency in ms and the task id. */
export async function roundTrip(client: FaaSClient, functionId: string, args: unknown[] = [], submit: Submit = executeJavaScript): Promise<{ ms: number; taskId: string }> {
  const start = performance.now();
  const taskId = await submit(client, functionId, args);
  const outcome = await client.result(taskId, { wait: 30 });
  if (outcome.status !== "COMPLETED") throw new Error(`task ${taskId} ended ${outcome.status}: ${outcome.result}`);
  return { ms: performance.now() - start, taskId };
}

export async function sequential(client: FaaSClient, functionId: string, count: number, warmup = 100, submit: Submit = executeJavaScript): Promise<Percentiles & { count: number }> {
  for (let i = 0; i < warmup; i++) await roundTrip(client, functionId, [], submit);
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) latencies.push((await roundTrip(client, functionId, [], submit)).ms);
  return { count, ...percentiles(latencies) };
}

/** One client's no-op round trips in one request each (`POST /execute_function?wait`). */
export async function sequentialOneRequest(client: FaaSClient, functionId: string, count: number, warmup = 100): Promise<Percentiles & { count: number }> {
  const once = async () => {
    const start = performance.now();
    const outcome = await client.executeAndWait(functionId, [], { wait: 30 });
    if (outcome.status !== "COMPLETED") throw new Error(`a no-op ended ${outcome.status}`);
    return performance.now() - start;
  };
  for (let i = 0; i < warmup; i++) await once();
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) latencies.push(await once());
  return { count, ...percentiles(latencies) };
}

export interface LoadResult {
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  latency: Percentiles;
  taskIds: string[];
}

/** `clients` clients, each running one task after another, `tasks` in all. */
export async function closedLoop(client: FaaSClient, functionId: string, tasks: number, clients: number, args: unknown[] = [], submit: Submit = executeJavaScript): Promise<LoadResult> {
  const start = performance.now();
  const runs = await mapConcurrent(Array.from({ length: tasks }), clients, () => roundTrip(client, functionId, args, submit));
  const seconds = (performance.now() - start) / 1000;
  return { tasks, seconds, tasksPerSecond: tasks / seconds, latency: percentiles(runs.map((r) => r.ms)), taskIds: runs.map((r) => r.taskId) };
}

/** Submits `tasks` through POST /execute_batch (batches of `batch`) and waits for all through POST /results. */
export async function bulk(client: FaaSClient, functionId: string, tasks: number, batch = 10_000): Promise<{ tasks: number; seconds: number; tasksPerSecond: number }> {
  const start = performance.now();
  const waits: Promise<unknown>[] = [];
  for (let done = 0; done < tasks; done += batch) {
    const size = Math.min(batch, tasks - done);
    const taskIds = await client.executeMany(functionId, Array.from({ length: size }, () => []));
    waits.push(client.results(taskIds, { wait: 120 }).then((results) => {
      const failed = results.filter((r) => r.status !== "COMPLETED");
      if (failed.length) throw new Error(`${failed.length} bulk tasks did not complete`);
    }));
  }
  await Promise.all(waits);
  const seconds = (performance.now() - start) / 1000;
  return { tasks, seconds, tasksPerSecond: tasks / seconds };
}

export interface OpenLoopResult {
  offered: number;
  achieved: number;
  latency: Percentiles;
  submitted: number;
}

/** Submits at `rate` per second for `seconds`, each task awaited on its own; what comes back, and how fast. */
export async function openLoop(client: FaaSClient, functionId: string, rate: number, seconds: number): Promise<OpenLoopResult> {
  const interval = 1000 / rate;
  const start = performance.now();
  const runs: Promise<number>[] = [];
  for (let due = 0; due < seconds * 1000; due += interval) {
    const wait = start + due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    runs.push(roundTrip(client, functionId).then((r) => r.ms, () => Number.NaN));
  }
  const latencies = (await Promise.all(runs)).filter((ms) => !Number.isNaN(ms));
  const elapsed = (performance.now() - start) / 1000;
  return { offered: rate, achieved: latencies.length / elapsed, latency: percentiles(latencies), submitted: runs.length };
}
