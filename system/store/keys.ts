/** Every Redis key and channel faaslab uses, built in one place. */
export interface Keys {
  function(id: string): string;
  task(id: string): string;
  /** Prefix of task keys, for scripts that build a task key from an id. */
  taskPrefix: string;
  /** The stream of submitted tasks that no dispatcher has finished yet. */
  queue: string;
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
