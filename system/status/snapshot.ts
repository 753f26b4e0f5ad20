/**
 * What `GET /cluster`, `faas status` and the dashboard show: the contract between the
 * dispatchers, which publish their part with their liveness in Redis at every heartbeat, and
 * the API, which reads it with the task counts and recent failures (it never asks a worker).
 * Times are ms since the epoch; a dispatcher's times are by its own clock.
 */
import type { Runtime } from "../runtimes.js";
import type { DispatcherMode } from "../modes.js";
import type { TaskStatus } from "../task.js";

export type { DispatcherMode };

/** A worker as its dispatcher sees it. In local mode the dispatcher's own pool is its one worker. */
export interface WorkerSnapshot {
  id: string;
  /** Executors it has. */
  capacity: number;
  /** Executors given a task that has no result yet. */
  busy: number;
  /** When the dispatcher last heard from it. */
  lastHeartbeatAt: number;
  /** The runtimes its executors run (absent: JavaScript only, as before runtimes). */
  runtimes?: Runtime[];
}

/** What a dispatcher publishes of itself at every heartbeat (the value of its liveness key). */
export interface DispatcherSnapshot {
  id: string;
  mode: DispatcherMode;
  /** The address workers connect to (pull and push). */
  endpoint?: string;
  startedAt: number;
  publishedAt: number;
  heartbeatMs: number;
  /** Missed heartbeats after which a worker (or this dispatcher) is presumed lost. */
  heartbeatTolerance: number;
  workers: WorkerSnapshot[];
}

export interface FailureSnapshot {
  taskId: string;
  functionId: string;
  /** The function's registered name (null when it is gone). */
  functionName: string | null;
  /** When it failed (Redis's clock). */
  at: number;
  /** The dispatcher, worker or executor that recorded the failure. */
  worker: string | null;
  /** The error's name and message (null when it was too large to list and its task has expired). */
  error: { name: string; message: string } | null;
}

export type TaskCounts = Record<TaskStatus, number>;

export interface ClusterSnapshot {
  /** When the API read this (its clock). */
  at: number;
  /** The live dispatchers' mode; "mixed" when they differ, null when none is live. */
  mode: DispatcherMode | "mixed" | null;
  /** The live dispatchers (their workers are in `workers`). */
  dispatchers: Omit<DispatcherSnapshot, "workers">[];
  /** Every live dispatcher's workers, with the dispatcher that holds each. */
  workers: (WorkerSnapshot & { dispatcherId: string })[];
  /** Executors in all, and those busy. */
  capacity: number;
  busy: number;
  /** Tasks accepted and not yet started: the QUEUED count. */
  queueDepth: number;
  /** Of those, the tasks no dispatcher has taken yet, by runtime (a runtime's wait for a free executor that runs it). */
  waiting: Record<Runtime, number>;
  /** Why tasks wait that will not run until something changes, e.g. Python tasks with no live executor that runs Python. */
  stalled: string[];
  /**
   * Tasks in each state. QUEUED and RUNNING are the tasks in those states now (RUNNING
   * includes tasks whose worker was lost, until they run again); COMPLETED and FAILED count
   * every task that ever finished so in this Redis, also those whose record has expired.
   */
  tasks: TaskCounts;
  /** The latest failures, newest first. */
  recentFailures: FailureSnapshot[];
}
