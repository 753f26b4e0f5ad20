/**
 * The dispatcher's metrics. The dispatchers call the event methods as tasks move; the gauges
 * (queue depth, tasks running, workers and their free executors) are read from the
 * dispatcher when Prometheus scrapes, so nothing is counted by hand that could drift.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { FinishTimes } from "../store/replies.js";
import type { TerminalStatus } from "../task.js";
import { failureReason, within } from "../metrics.js";

/** What a dispatcher shows of itself when scraped. */
export interface DispatcherState {
  /** Tasks accepted and not yet started (the QUEUED count the transition scripts keep). */
  queueDepth(): Promise<number>;
  /** Tasks an executor has started and that have no result yet. */
  running(): number;
  /** Pull and push mode: the connected workers and their free executors. */
  workers?(): { id: string; free: number }[];
}

export interface DispatcherMetrics {
  /** Reads the gauges from this dispatcher at each scrape. */
  observe(state: DispatcherState): void;
  /** A task was claimed: an executor starts it (one attempt). */
  attempted(): void;
  /** This dispatcher recorded a task's result (the first one); `times` from the task record, else `dispatchedAt` (ms) starts its latency. */
  finished(status: TerminalStatus, result: string, times: FinishTimes, dispatchedAt?: number): void;
  /** A task failed without a result of an executor's (WorkerLost, a missing function). */
  failedWithout(reason: string): void;
  /** Tasks to be dispatched again (recalled from their worker: it was lost, rejected them, never received them; a Redis error). Counted as faas_tasks_requeued_total. */
  redispatched(count: number): void;
  /** A worker was silent for heartbeat × tolerance and presumed lost. */
  heartbeatMissed(): void;
  /** A Redis connection or command failed. */
  redisError(): void;
}

export const noDispatcherMetrics: DispatcherMetrics = {
  observe() {},
  attempted() {},
  finished() {},
  failedWithout() {},
  redispatched() {},
  heartbeatMissed() {},
  redisError() {},
};

/** A scrape waits this long for the queue depth; Redis being away must not hang it. */
const QUEUE_DEPTH_TIMEOUT_MS = 1000;
const TASK_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function createDispatcherMetrics(registry: Registry, options: { withWorkers: boolean }): DispatcherMetrics {
  const registers = [registry];
  let state: DispatcherState | undefined;
  const completed = new Counter({ name: "faas_tasks_completed_total", help: "Tasks this dispatcher recorded COMPLETED", registers });
  const failed = new Counter({
    name: "faas_tasks_failed_total", help: "Tasks this dispatcher recorded FAILED, by reason: the faaslab error name, or function_error for what the function threw",
    labelNames: ["reason"] as const, registers,
  });
  const redispatched = new Counter({ name: "faas_tasks_requeued_total", help: "Tasks handed back to be dispatched again", registers });
  const attempts = new Counter({ name: "faas_task_attempts_total", help: "Task claims: each start of a task on an executor", registers });
  const heartbeatMisses = new Counter({ name: "faas_heartbeat_misses_total", help: "Workers presumed lost after missing --heartbeat-tolerance heartbeats", registers });
  const redisErrors = new Counter({ name: "faas_redis_errors_total", help: "Errors from Redis: connection errors and failed commands", registers });
  const latency = new Histogram({
    name: "faas_task_latency_seconds", help: "From a task's submission (created_at) to its result being recorded",
    buckets: TASK_SECONDS_BUCKETS, registers,
  });
  const execution = new Histogram({
    name: "faas_task_execution_seconds", help: "From a task's start on an executor (started_at) to its result being recorded",
    buckets: TASK_SECONDS_BUCKETS, registers,
  });
  new Gauge({
    name: "faas_queue_depth", help: "Tasks accepted and not yet started (QUEUED), in the whole cluster", registers,
    async collect() {
      if (!state) return;
      const depth = await within(state.queueDepth(), QUEUE_DEPTH_TIMEOUT_MS, undefined);
      if (depth !== undefined) this.set(depth);
    },
  });
  new Gauge({
    name: "faas_tasks_running", help: "Tasks started on an executor of this dispatcher or its workers, without a result yet", registers,
    collect() {
      if (state) this.set(state.running());
    },
  });
  if (options.withWorkers) {
    new Gauge({
      name: "faas_workers_connected", help: "Workers registered with this dispatcher", registers,
      collect() {
        if (state?.workers) this.set(state.workers().length);
      },
    });
    new Gauge({
      name: "faas_worker_free_executors", help: "Free executors of each connected worker, as the dispatcher counts them", labelNames: ["worker"] as const, registers,
      collect() {
        if (!state?.workers) return;
        this.reset(); // a worker gone since the last scrape disappears
        for (const worker of state.workers()) this.set({ worker: worker.id }, worker.free);
      },
    });
  }
  return {
    observe: (observed) => (state = observed),
    attempted: () => attempts.inc(),
    finished(status, result, times, dispatchedAt) {
      if (status === "COMPLETED") completed.inc();
      else failed.inc({ reason: failureReason(result) });
      const from = times.createdAt ?? dispatchedAt;
      if (from !== undefined) latency.observe(Math.max(0, times.finishedAt - from) / 1000);
      if (times.startedAt !== null) execution.observe(Math.max(0, times.finishedAt - times.startedAt) / 1000);
    },
    failedWithout: (reason) => failed.inc({ reason }),
    redispatched: (count) => redispatched.inc(count),
    heartbeatMissed: () => heartbeatMisses.inc(),
    redisError: () => redisErrors.inc(),
  };
}
