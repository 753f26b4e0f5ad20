/**
 * Reads the cluster snapshot from Redis: the live dispatchers' published state, the task
 * counts the transition scripts keep, the tasks waiting per runtime, and the recent failures.
 * Two or three round trips, four when a failure is new, whatever the number of tasks (nothing
 * is scanned).
 */
import type { Redis } from "ioredis";
import { decodedResult, errorNameAndMessage } from "../codec/pickle.js";
import type { Keys } from "../store/keys.js";
import { RECENT_FAILURES } from "../store/keys.js";
import { TASK_STATUSES } from "../task.js";
import { RUNTIMES, type Runtime } from "../runtimes.js";
import { isDispatcherMode } from "../modes.js";
import type { ClusterSnapshot, DispatcherSnapshot, FailureSnapshot, TaskCounts, WorkerSnapshot } from "./snapshot.js";

/** How many functions of each ready ring `waiting` counts (a snapshot is polled every second). */
const WAITING_FUNCTIONS_READ = 1000;

/** An error message is cut to this many characters (a snapshot is polled every second). */
const MESSAGE_CHARS = 500;

interface StoredFailure {
  task_id: string;
  function_id: string;
  at: number;
  worker?: string;
  error?: string;
}

interface Described {
  functionName: string | null;
  error: FailureSnapshot["error"];
}

/**
 * A reader keeps what it worked out of each failure (a failure never changes): a large error
 * is read from its task and decoded once, not at every poll.
 */
export class ClusterReader {
  private readonly described = new Map<string, Described>();

  constructor(private readonly redis: Redis, private readonly keys: Keys) {}

  async read(now = Date.now()): Promise<ClusterSnapshot> {
    const [ids, counts, failuresJson] = await Promise.all([
      this.redis.zrange(this.keys.dispatchers, 0, -1),
      this.redis.hgetall(this.keys.counts),
      this.redis.lrange(this.keys.failures, 0, RECENT_FAILURES - 1),
    ]);
    const stored = failuresJson.flatMap(parseFailure);
    const [published, waiting] = await Promise.all([
      ids.length > 0 ? this.redis.mget(ids.map((id) => this.keys.dispatcher(id))) : Promise.resolve([]),
      this.waiting(),
      this.describeNew(stored),
    ]);
    const recentFailures: FailureSnapshot[] = stored.map((failure) => ({
      taskId: failure.task_id,
      functionId: failure.function_id,
      at: Number(failure.at),
      worker: failure.worker ?? null,
      ...this.described.get(failure.task_id)!,
    }));

    const live = published.flatMap(parseDispatcher).sort((a, b) => a.id.localeCompare(b.id));
    const workers = live.flatMap((dispatcher) => dispatcher.workers.map((worker) => ({ ...worker, dispatcherId: dispatcher.id })));
    const modes = new Set(live.map((dispatcher) => dispatcher.mode));
    const tasks = taskCountsOf(counts);
    return {
      at: now,
      mode: modes.size === 0 ? null : modes.size === 1 ? [...modes][0] : "mixed",
      dispatchers: live.map(({ workers: _workers, ...dispatcher }) => dispatcher),
      workers,
      capacity: workers.reduce((sum, worker) => sum + worker.capacity, 0),
      busy: workers.reduce((sum, worker) => sum + worker.busy, 0),
      queueDepth: tasks.QUEUED,
      waiting,
      stalled: stalledRuntimes(waiting, workers),
      tasks,
      recentFailures,
    };
  }

  /** The tasks not yet taken, by runtime: the waiting lists of the functions on each ready ring (the first thousand). */
  private async waiting(): Promise<Record<Runtime, number>> {
    const rings = await Promise.all(RUNTIMES.map((runtime) => this.redis.lrange(this.keys.ready(runtime), 0, WAITING_FUNCTIONS_READ - 1)));
    const lengths = this.redis.pipeline();
    for (const functions of rings) for (const functionId of functions) lengths.llen(this.keys.waiting(functionId));
    const replies = rings.some((functions) => functions.length > 0) ? ((await lengths.exec()) ?? []) : [];
    let at = 0;
    return Object.fromEntries(RUNTIMES.map((runtime, i) => {
      let sum = 0;
      for (let n = 0; n < rings[i].length; n++) sum += Number(replies[at++]?.[1] ?? 0);
      return [runtime, sum];
    })) as Record<Runtime, number>;
  }

  /** The task counts alone (one round trip): what the API's `faas_tasks` gauge shows. */
  async taskCounts(): Promise<TaskCounts> {
    return taskCountsOf(await this.redis.hgetall(this.keys.counts));
  }

  /** Reads the function name (and, when it was too large for the list, the error) of failures not seen before. */
  private async describeNew(failures: StoredFailure[]): Promise<void> {
    const fresh = failures.filter((failure) => !this.described.has(failure.task_id));
    if (fresh.length === 0) return;
    const lookups = this.redis.pipeline();
    const lookup = (command: (pipeline: typeof lookups) => void) => {
      command(lookups);
      return lookups.length - 1;
    };
    const indices = fresh.map((failure) => ({
      name: lookup((pipeline) => pipeline.hget(this.keys.function(failure.function_id), "name")),
      error: typeof failure.error === "string" ? undefined : lookup((pipeline) => pipeline.hget(this.keys.task(failure.task_id), "result")),
    }));
    const replies = ((await lookups.exec()) ?? []).map(([error, value]) => (error ? null : (value as string | null)));
    fresh.forEach((failure, i) => {
      const { name, error } = indices[i];
      const serialized = error === undefined ? failure.error! : replies[error];
      this.described.set(failure.task_id, { functionName: replies[name], error: describeError(serialized) });
    });
    // Only the failures still listed are worth keeping.
    if (this.described.size > 2 * RECENT_FAILURES) {
      const listed = new Set(failures.map((failure) => failure.task_id));
      for (const taskId of this.described.keys()) if (!listed.has(taskId)) this.described.delete(taskId);
    }
  }
}

/** Runtimes whose tasks wait while no live executor runs them, said in words. */
function stalledRuntimes(waiting: Record<Runtime, number>, workers: WorkerSnapshot[]): string[] {
  const live = new Set(workers.flatMap((worker) => worker.runtimes ?? ["javascript"]));
  return RUNTIMES.filter((runtime) => waiting[runtime] > 0 && !live.has(runtime)).map((runtime) =>
    `${waiting[runtime]} ${runtime === "python" ? "Python" : "JavaScript"} task(s) wait: no live executor runs ${runtime}` +
      (runtime === "python" ? " (start a dispatcher or worker on a machine with python3, python3-dill and bubblewrap)" : ""));
}

/** The counts hash, with 0 for a state it does not hold yet. */
function taskCountsOf(hash: Record<string, string>): TaskCounts {
  return Object.fromEntries(TASK_STATUSES.map((status) => [status, Number(hash[status] ?? 0)])) as TaskCounts;
}

/** A liveness key's value: a snapshot, or (from a dispatcher of an older version, or garbage) nothing to show. */
function parseDispatcher(value: string | null): DispatcherSnapshot[] {
  if (value === null) return [];
  try {
    const snapshot = JSON.parse(value) as DispatcherSnapshot;
    const valid = typeof snapshot === "object" && snapshot !== null && typeof snapshot.id === "string" && isDispatcherMode(snapshot.mode) &&
      Array.isArray(snapshot.workers) && snapshot.workers.every(isWorker);
    return valid ? [snapshot] : [];
  } catch {
    return [];
  }
}

function isWorker(worker: WorkerSnapshot): boolean {
  return typeof worker === "object" && worker !== null && typeof worker.id === "string" &&
    [worker.capacity, worker.busy, worker.lastHeartbeatAt].every((value) => typeof value === "number" && Number.isFinite(value));
}

function parseFailure(json: string): StoredFailure[] {
  try {
    const failure = JSON.parse(json) as StoredFailure;
    return typeof failure?.task_id === "string" && typeof failure.function_id === "string" ? [failure] : [];
  } catch {
    return [];
  }
}

function describeError(serialized: string | null): FailureSnapshot["error"] {
  if (serialized === null) return null;
  try {
    const decoded = decodedResult(serialized);
    if (decoded === undefined) return { name: "Error", message: "(a Python object that is not plain data: read it with dill)" };
    const { name, message } = errorNameAndMessage(decoded);
    return { name, message: message.length > MESSAGE_CHARS ? `${message.slice(0, MESSAGE_CHARS)}…` : message };
  } catch {
    return { name: "Error", message: "(the error could not be decoded)" };
  }
}
