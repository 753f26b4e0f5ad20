/** Settings every dispatcher mode shares, with their defaults. */
export interface DispatcherOptions {
  redisUrl: string;
  /** Key prefix in Redis (several clusters may share one Redis under different prefixes). */
  prefix?: string;
  /** Deadline of a task that did not ask for its own, in ms. */
  taskDeadlineMs: number;
  /** How many times a task may be started before losing its worker fails it with WorkerLost. */
  maxAttempts: number;
  /** How often this dispatcher beats (to its workers, and its liveness in Redis), in ms. */
  heartbeatMs: number;
  /** Missed heartbeats after which a peer (a worker, a dispatcher) is presumed lost. */
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

/** The heartbeat that dispatchers and workers keep with each other (a worker takes its dispatcher's, from the welcome). */
export interface Heartbeat {
  heartbeatMs: number;
  heartbeatTolerance: number;
}

/**
 * The silence after which a peer is presumed lost: heartbeat × tolerance. A worker or a
 * dispatcher not heard from for this long is lost, a result not acknowledged within it is
 * sent again, and a dispatcher's liveness key in Redis lives this long.
 */
export function presumedLostAfterMs({ heartbeatMs, heartbeatTolerance }: Heartbeat): number {
  return heartbeatMs * heartbeatTolerance;
}
