/**
 * Prometheus metrics on live clusters: the API's at /metrics, the dispatcher's at
 * --metrics-port. Values are read before and after, and awaited (a counter moves just after
 * the result it counts is published).
 */
import { describe, expect, it } from "vitest";
import type { Cluster } from "../../harness/cluster/cluster.js";
import { waitFor } from "../../harness/wait.js";
import type { FaaSClient } from "../../system/client/index.js";
import { TASK_STATUSES } from "../../system/task.js";
import { useCluster, waitForStatus, type ClusterFixture } from "../support/cluster.js";
import { scrape, type Scrape } from "../support/metrics.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const throwing = () => {
  throw new TypeError("no");
};
const spinning = () => {
  for (;;);
};

const apiMetrics = (fx: ClusterFixture) => scrape(`${fx.url}/metrics`);
const dispatcherMetrics = (cluster: Cluster) => scrape(cluster.dispatcherMetricsUrl);

/** Waits until a dispatcher metric has moved by `delta` from its value in `before`. */
async function waitForDelta(cluster: Cluster, before: Scrape, name: string, delta: number, labels: Record<string, string> = {}): Promise<Scrape> {
  let last = 0;
  return waitFor(async () => {
    const now = await dispatcherMetrics(cluster);
    last = now.value(name, labels) - before.value(name, labels);
    return last >= delta ? now : undefined;
  }, { what: `${name}${JSON.stringify(labels)} to grow by ${delta} (grew by ${last})`, timeoutMs: 20_000 });
}

async function waitForGauge(cluster: Cluster, name: string, expected: (value: number) => boolean, what: string, labels: Record<string, string> = {}): Promise<Scrape> {
  return waitFor(async () => {
    const now = await dispatcherMetrics(cluster);
    return expected(now.value(name, labels)) ? now : undefined;
  }, { what: `${name}${JSON.stringify(labels)} ${what}`, timeoutMs: 20_000 });
}

/** Completions, failures by reason and attempts move as tasks run; the API counts what it accepted. */
async function checkTaskCounters(fx: ClusterFixture): Promise<void> {
  const { client, cluster } = fx;
  const api0 = await apiMetrics(fx);
  const d0 = await dispatcherMetrics(cluster);
  const inc = await client.register((x: number) => x + 1, "inc");
  const batch = await client.executeMany(inc, [[1], [2], [3]]);
  const single = await client.execute(inc, 4);
  const thrown = await client.execute(await client.register(throwing, "throwing"));
  const late = await client.executeWith(await client.register(spinning, "spinning"), [], { deadlineMs: 300 });
  const results = await client.results([...batch, single, thrown, late], { wait: 20 });
  expect(results.map((result) => result.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "FAILED"]);

  const d1 = await waitForDelta(cluster, d0, "faas_tasks_failed_total", 2);
  expect(d1.value("faas_tasks_completed_total") - d0.value("faas_tasks_completed_total")).toBe(4);
  expect(d1.value("faas_tasks_failed_total", { reason: "function_error" }) - d0.value("faas_tasks_failed_total", { reason: "function_error" })).toBe(1);
  expect(d1.value("faas_tasks_failed_total", { reason: "DeadlineExceeded" }) - d0.value("faas_tasks_failed_total", { reason: "DeadlineExceeded" })).toBe(1);
  expect(d1.value("faas_task_attempts_total") - d0.value("faas_task_attempts_total")).toBe(6);
  expect(d1.value("faas_task_latency_seconds_count") - d0.value("faas_task_latency_seconds_count")).toBe(6);
  expect(d1.value("faas_task_execution_seconds_count") - d0.value("faas_task_execution_seconds_count")).toBe(6);
  // The spinner ran for its 300 ms deadline: both histograms saw at least that much.
  expect(d1.value("faas_task_execution_seconds_sum") - d0.value("faas_task_execution_seconds_sum")).toBeGreaterThanOrEqual(0.3);
  expect(d1.value("faas_task_latency_seconds_sum") - d0.value("faas_task_latency_seconds_sum")).toBeGreaterThanOrEqual(0.3);
  expect(d1.value("faas_tasks_running")).toBe(0);
  expect(d1.has("process_cpu_user_seconds_total")).toBe(true);

  const api1 = await apiMetrics(fx);
  expect(api1.value("faas_tasks_submitted_total") - api0.value("faas_tasks_submitted_total")).toBe(6);
  const requests = (scrape: Scrape, route: string, status: string) => scrape.value("faas_http_requests_total", { route, status });
  expect(requests(api1, "/execute_batch", "201") - requests(api0, "/execute_batch", "201")).toBe(1);
  expect(requests(api1, "/execute_function", "201") - requests(api0, "/execute_function", "201")).toBe(3);
  expect(requests(api1, "/register_function", "201") - requests(api0, "/register_function", "201")).toBe(3);
  expect(api1.value("faas_http_request_duration_seconds_count", { route: "/execute_function" })).toBeGreaterThanOrEqual(3);
  expect(api1.has("process_resident_memory_bytes")).toBe(true);
}

async function holderOf(client: FaaSClient, cluster: Cluster, taskId: string) {
  const { worker } = await client.task(taskId);
  const holder = cluster.runningWorkers.find((name) => worker?.includes(`-${cluster.process(name)!.pid}-`));
  if (!holder) throw new Error(`no running worker holds ${taskId} (its record says ${worker})`);
  return holder;
}

describe("metrics, local mode", () => {
  const fx = useCluster({ mode: "local", executors: 1, dispatcher: { metricsPort: 0 } });

  it("count tasks completed, failed by reason and attempted, with their latency and execution time", () => checkTaskCounters(fx));

  it("the API's faas_tasks shows the cluster's tasks by state, the counts GET /cluster shows", async () => {
    const { client } = fx;
    const before = await apiMetrics(fx);
    const inc = await client.register((x: number) => x + 1, "inc");
    const thrown = await client.execute(await client.register(throwing, "throwing"));
    const results = await client.results([...(await client.executeMany(inc, [[1], [2], [3]])), thrown], { wait: 20 });
    expect(results.map((result) => result.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "FAILED"]);
    const after = await apiMetrics(fx);
    const moved = (state: string) => after.value("faas_tasks", { state }) - before.value("faas_tasks", { state });
    expect([moved("COMPLETED"), moved("FAILED")]).toEqual([3, 1]);
    const snapshot = await fx.client.cluster();
    for (const state of TASK_STATUSES) expect(after.value("faas_tasks", { state }), state).toBe(snapshot.tasks[state]);
  });

  it("the queue depth rises while the executor is busy and falls to 0 after", async () => {
    const { client, cluster } = fx;
    const slow = await client.executeWith(await client.register(sleep, "sleep"), [2000]);
    await waitForGauge(cluster, "faas_tasks_running", (value) => value === 1, "to be 1");
    const noop = await client.register(() => null, "noop");
    const queued = await client.executeMany(noop, [[], [], [], []]);
    // Tasks not yet started: the running one is not counted.
    await waitForGauge(cluster, "faas_queue_depth", (value) => value === 4, "to be 4");
    await client.results([slow, ...queued], { wait: 20 });
    await waitForGauge(cluster, "faas_queue_depth", (value) => value === 0, "to fall to 0");
  });

  it("count Redis errors on the API and the dispatcher while Redis is down", async () => {
    const { cluster } = fx;
    const api0 = await apiMetrics(fx);
    const d0 = await dispatcherMetrics(cluster);
    await cluster.kill("redis");
    try {
      await waitFor(async () => (await apiMetrics(fx)).value("faas_redis_errors_total") > api0.value("faas_redis_errors_total"), { what: "the API to count Redis errors" });
      await waitForDelta(cluster, d0, "faas_redis_errors_total", 1);
    } finally {
      await cluster.restart("redis");
    }
    await waitFor(async () => (await fetch(`${fx.url}/healthz`)).status === 200, { what: "the API to reach Redis again" });
  });
});

describe("metrics, push mode", () => {
  const fx = useCluster({ mode: "push", workers: { count: 2, executors: 1 }, dispatcher: { metricsPort: 0, heartbeatMs: 200 } });

  it("count tasks completed, failed by reason and attempted", () => checkTaskCounters(fx));

  it("show each worker's free executors, and count the requeue and the heartbeat miss when a worker holding a task is killed", async () => {
    const { client, cluster } = fx;
    const d0 = await waitForGauge(cluster, "faas_workers_connected", (value) => value === 2, "to be 2");
    expect(d0.samples.filter((sample) => sample.name === "faas_worker_free_executors").map((sample) => sample.value)).toEqual([1, 1]);
    const taskId = await client.executeWith(await client.register(sleep, "sleep"), [1500]);
    await waitForStatus(client, taskId, "RUNNING");
    await waitForGauge(cluster, "faas_worker_free_executors", (value) => value === 1, "to sum to 1 (one busy)");
    await cluster.kill(await holderOf(client, cluster, taskId));

    const d1 = await waitForDelta(cluster, d0, "faas_tasks_requeued_total", 1);
    expect(d1.value("faas_heartbeat_misses_total") - d0.value("faas_heartbeat_misses_total")).toBe(1);
    expect(d1.value("faas_workers_connected")).toBe(1);
    expect(d1.samples.filter((sample) => sample.name === "faas_worker_free_executors")).toHaveLength(1);
    expect((await client.result(taskId, { wait: 20 })).status).toBe("COMPLETED");
    const d2 = await waitForDelta(cluster, d0, "faas_tasks_completed_total", 1);
    expect(d2.value("faas_task_attempts_total") - d0.value("faas_task_attempts_total")).toBe(2);
  });

  it("the queue depth rises while no worker runs and falls once one does", async () => {
    const { client, cluster } = fx;
    for (const worker of cluster.runningWorkers) await cluster.kill(worker);
    await waitForGauge(cluster, "faas_workers_connected", (value) => value === 0, "to be 0");
    const noop = await client.register(() => null, "noop");
    const d0 = await dispatcherMetrics(cluster);
    const queued = await client.executeMany(noop, [[], [], []]);
    await waitForGauge(cluster, "faas_queue_depth", (value) => value === 3, "to rise to 3");
    await cluster.startWorker();
    await waitForGauge(cluster, "faas_queue_depth", (value) => value === 0, "to fall to 0");
    expect((await client.results(queued, { wait: 20 })).every((result) => result.status === "COMPLETED")).toBe(true);
    await waitForDelta(cluster, d0, "faas_tasks_completed_total", 3);
  });
});

describe("metrics, pull mode", () => {
  const fx = useCluster({ mode: "pull", workers: { count: 2, executors: 2 }, dispatcher: { metricsPort: 0 } });

  it("show the workers and their free executors", async () => {
    const scraped = await waitForGauge(fx.cluster, "faas_workers_connected", (value) => value === 2, "to be 2");
    expect(scraped.samples.filter((sample) => sample.name === "faas_worker_free_executors").map((sample) => sample.value)).toEqual([2, 2]);
  });

  it("count tasks completed, failed by reason and attempted", () => checkTaskCounters(fx));
});

describe("metrics behind an API token", () => {
  const token = "metrics-token";
  const fx = useCluster({ mode: "local", apiToken: token });

  it("GET /metrics requires the token; /healthz does not", async () => {
    expect((await fetch(`${fx.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${fx.url}/metrics`, { headers: { authorization: "Bearer wrong-token!" } })).status).toBe(401);
    const scraped = await scrape(`${fx.url}/metrics`, token);
    expect(scraped.value("faas_http_requests_total", { route: "/metrics", status: "401" })).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${fx.url}/healthz`)).status).toBe(200);
  });
});

describe("metrics turned off (FAAS_METRICS=off)", () => {
  const fx = useCluster({ mode: "local", metrics: false, dispatcher: { metricsPort: 0 } });

  it("serve /metrics with nothing in it", async () => {
    expect(await fx.client.run((a: number) => a * 2, 21)).toBe(42);
    expect((await apiMetrics(fx)).samples).toEqual([]);
    expect((await dispatcherMetrics(fx.cluster)).samples).toEqual([]);
  });
});
