/**
 * The API's metrics: what it accepted, how it answered, how often Redis failed it, and, read
 * from Redis at each scrape, the cluster's tasks by state (so one scrape target shows a
 * cluster's progress).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { within } from "../metrics.js";
import type { TaskCounts } from "../status/snapshot.js";

export interface ApiMetrics {
  /** Tasks accepted (201), one per task of a batch. */
  tasksSubmitted(count: number): void;
  /** A request was answered; `route` is the route's pattern, not the URL (bounded labels). */
  requestAnswered(route: string, status: number, seconds: number): void;
  /** A Redis connection reported an error, or a request failed on Redis (503). */
  redisError(): void;
  /** Where the gauges read the cluster's state at a scrape. */
  observe(state: ClusterState): void;
}

/** What the API shows of the cluster when scraped. */
export interface ClusterState {
  /** Tasks in each state: the counts that GET /cluster shows. */
  taskCounts(): Promise<TaskCounts>;
}

/** What the API counts when metrics are off. */
export const noApiMetrics: ApiMetrics = {
  tasksSubmitted() {},
  requestAnswered() {},
  redisError() {},
  observe() {},
};

/** A scrape does not wait longer than this for Redis; the gauge keeps its last values meanwhile. */
const TASK_COUNTS_TIMEOUT_MS = 1000;

export function createApiMetrics(registry: Registry): ApiMetrics {
  const registers = [registry];
  let state: ClusterState | undefined;
  const submitted = new Counter({ name: "faas_tasks_submitted_total", help: "Tasks accepted by the API (one per task of a batch)", registers });
  const requests = new Counter({ name: "faas_http_requests_total", help: "HTTP requests answered, by route pattern and status code", labelNames: ["route", "status"] as const, registers });
  const duration = new Histogram({
    name: "faas_http_request_duration_seconds", help: "Time to answer an HTTP request (a result wait included), by route pattern",
    labelNames: ["route"] as const, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
  });
  const redisErrors = new Counter({ name: "faas_redis_errors_total", help: "Errors from Redis: connection errors, and requests answered 503 because a command failed", registers });
  new Gauge({
    name: "faas_tasks",
    help: "Tasks in each state in the whole cluster, read from Redis at each scrape (COMPLETED and FAILED: every task that ever finished so)",
    labelNames: ["state"] as const, registers,
    async collect() {
      if (!state) return;
      const counts = await within(state.taskCounts(), TASK_COUNTS_TIMEOUT_MS, undefined);
      if (counts === undefined) return;
      for (const [status, count] of Object.entries(counts)) this.set({ state: status }, count);
    },
  });
  return {
    tasksSubmitted: (count) => submitted.inc(count),
    requestAnswered(route, status, seconds) {
      requests.inc({ route, status: String(status) });
      duration.observe({ route }, seconds);
    },
    redisError: () => redisErrors.inc(),
    observe: (observed) => (state = observed),
  };
}
