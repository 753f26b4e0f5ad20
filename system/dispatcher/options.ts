/** Settings every dispatcher mode shares, with their defaults. */
export interface DispatcherOptions {
  redisUrl: string;
  /** Key prefix in Redis (several clusters may share one Redis under different prefixes). */
  prefix?: string;
  /** Deadline of a task that did not ask for its own, in ms. */
  taskDeadlineMs: number;
  /** How many times a task may be started before losing its worker fails it with WorkerLost. */
  maxAttempts: number;
  /** How often this dispatcher refreshes its liveness in Redis, in ms. */
  heartbeatMs: number;
  /** Missed heartbeats after which a dispatcher counts as dead and its tasks are taken over. */
  heartbeatTolerance: number;
  /** How long finished tasks are kept in Redis, in seconds (0: forever). */
  resultTtlSeconds: number;
}

export const DISPATCHER_DEFAULTS = {
  taskDeadlineMs: 60_000,
  maxAttempts: 3,
  heartbeatMs: 500,
  heartbeatTolerance: 3,
  resultTtlSeconds: 7 * 24 * 3600,
  /**
   * Pull and push: the largest message a dispatcher accepts from a worker. Results travel in
   * one message, so this bounds a result (less its JSON envelope): 64 MiB by default.
   */
  maxMessageBytes: 64 * 1024 * 1024,
} as const;
