/**
 * Reads the cluster snapshot from Redis: the live dispatchers' published state, the task
 * counts the transition scripts keep, and the recent failures. Three round trips at most,
 * whatever the number of tasks (nothing is scanned).
 */
import type { Redis } from "ioredis";
import { deserialize } from "../codec/index.js";
import type { Keys } from "../store/keys.js";
import { TASK_STATUSES } from "../task.js";
import type { ClusterSnapshot, DispatcherSnapshot, FailureSnapshot, TaskCounts } from "./snapshot.js";

/** How many recent failures a snapshot shows. */
export const FAILURES_SHOWN = 20;
/** An error message is cut to this many characters (a snapshot is polled every second). */
const MESSAGE_CHARS = 500;

interface StoredFailure {
  task_id: string;
  function_id: string;
  at: number;
  worker?: string;
  error?: string;
}

export async function readClusterSnapshot(redis: Redis, keys: Keys, now = Date.now()): Promise<ClusterSnapshot> {
  const [ids, counts, failuresJson] = await Promise.all([
    redis.zrange(keys.dispatchers, 0, -1),
    redis.hgetall(keys.counts),
    redis.lrange(keys.failures, 0, FAILURES_SHOWN - 1),
  ]);
  const stored = failuresJson.flatMap((json) => parseFailure(json));
  // A failure whose error was too large to keep in the list is read from its task.
  const lookups = redis.pipeline();
  for (const failure of stored) lookups.hget(keys.function(failure.function_id), "name");
  for (const failure of stored) if (failure.error === undefined) lookups.hget(keys.task(failure.task_id), "result");
  const [published, lookedUp] = await Promise.all([
    ids.length > 0 ? redis.mget(ids.map((id) => keys.dispatcher(id))) : Promise.resolve([]),
    stored.length > 0 ? lookups.exec() : Promise.resolve([]),
  ]);
  const replies = (lookedUp ?? []).map(([error, value]) => (error ? null : (value as string | null)));
  let next = stored.length;
  const recentFailures: FailureSnapshot[] = stored.map((failure, i) => ({
    taskId: failure.task_id,
    functionId: failure.function_id,
    functionName: replies[i] ?? null,
    at: Number(failure.at),
    worker: failure.worker ?? null,
    error: describeError(failure.error ?? replies[next++] ?? null),
  }));

  const dispatchers = published.flatMap((value) => parseDispatcher(value)).sort((a, b) => a.id.localeCompare(b.id));
  const workers = dispatchers.flatMap((dispatcher) => dispatcher.workers.map((worker) => ({ ...worker, dispatcherId: dispatcher.id })));
  const modes = new Set(dispatchers.map((dispatcher) => dispatcher.mode));
  const tasks = Object.fromEntries(TASK_STATUSES.map((status) => [status, Number(counts[status] ?? 0)])) as TaskCounts;
  return {
    at: now,
    mode: modes.size === 0 ? null : modes.size === 1 ? [...modes][0] : "mixed",
    dispatchers,
    workers,
    capacity: workers.reduce((sum, worker) => sum + worker.capacity, 0),
    busy: workers.reduce((sum, worker) => sum + worker.busy, 0),
    queueDepth: tasks.QUEUED,
    tasks,
    recentFailures,
  };
}

/** A liveness key's value: a snapshot, or (from a dispatcher of an older version) a bare time. */
function parseDispatcher(value: string | null): DispatcherSnapshot[] {
  if (value === null) return [];
  try {
    const snapshot = JSON.parse(value) as DispatcherSnapshot;
    return typeof snapshot === "object" && snapshot !== null && Array.isArray(snapshot.workers) ? [snapshot] : [];
  } catch {
    return [];
  }
}

function parseFailure(json: string): StoredFailure[] {
  try {
    const failure = JSON.parse(json) as StoredFailure;
    return typeof failure.task_id === "string" ? [failure] : [];
  } catch {
    return [];
  }
}

function describeError(serialized: string | null): FailureSnapshot["error"] {
  if (serialized === null) return null;
  try {
    const error = deserialize(serialized) as { name?: unknown; message?: unknown } | null;
    const name = typeof error?.name === "string" ? error.name : "Error";
    const message = typeof error?.message === "string" ? error.message : String(error);
    return { name, message: message.length > MESSAGE_CHARS ? `${message.slice(0, MESSAGE_CHARS)}…` : message };
  } catch {
    return { name: "Error", message: "(the error could not be decoded)" };
  }
}
