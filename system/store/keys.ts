import type { Runtime } from "../runtimes.js";

/** Every Redis key and channel faaslab uses, built in one place. */
export interface Keys {
  function(id: string): string;
  task(id: string): string;
  /** Prefix of task keys, for scripts that build a task key from an id. */
  taskPrefix: string;
  /**
   * The stream of tasks handed to a dispatcher and not finished yet: its consumer group's
   * pending lists say which dispatcher holds which task. Tasks enter it when one is taken.
   */
  queue: string;
  /** The tasks of one function submitted and not yet taken by a dispatcher, oldest first. */
  waiting(functionId: string): string;
  waitingPrefix: string;
  /**
   * Per runtime, the functions that have waiting tasks, each once, in the order they are next
   * served (round-robin): a dispatcher takes a runtime's tasks only while it has room for them.
   */
  ready(runtime: Runtime): string;
  readyPrefix: string;
  /**
   * A short stream with one entry per submission (trimmed to about a thousand): what an idle
   * dispatcher blocks on, from the last entry it saw, so that no submission slips between its
   * take and its wait.
   */
  submitted: string;
  /** The consumer group of all dispatchers on the queue. */
  group: string;
  /** Pub/Sub channel carrying the id of every task that reached a terminal state. */
  finishedChannel: string;
  /** A dispatcher's liveness key (expires when it stops refreshing it). */
  dispatcher(id: string): string;
  /** How many tasks of a function are accepted and not yet finished (for its backpressure bound). */
  unfinished(functionId: string): string;
  unfinishedPrefix: string;
  /** Hash of task counts by state (QUEUED, RUNNING, COMPLETED, FAILED), kept by the transition scripts. */
  counts: string;
  /** List of the most recent failures, newest first (capped at RECENT_FAILURES). */
  failures: string;
  /** Sorted set of dispatchers that published a snapshot, scored by when they last did. */
  dispatchers: string;
}

/** How many recent failures Redis keeps (and `GET /cluster` shows). */
export const RECENT_FAILURES = 20;

export function keysFor(prefix = "faas:"): Keys {
  return {
    function: (id) => `${prefix}function:${id}`,
    task: (id) => `${prefix}task:${id}`,
    taskPrefix: `${prefix}task:`,
    queue: `${prefix}queue`,
    waiting: (functionId) => `${prefix}waiting:${functionId}`,
    waitingPrefix: `${prefix}waiting:`,
    ready: (runtime) => `${prefix}ready:${runtime}`,
    readyPrefix: `${prefix}ready:`,
    submitted: `${prefix}submitted`,
    group: "dispatchers",
    finishedChannel: `${prefix}finished`,
    dispatcher: (id) => `${prefix}dispatcher:${id}`,
    unfinished: (functionId) => `${prefix}unfinished:${functionId}`,
    unfinishedPrefix: `${prefix}unfinished:`,
    counts: `${prefix}counts`,
    failures: `${prefix}failures`,
    dispatchers: `${prefix}dispatchers`,
  };
}
