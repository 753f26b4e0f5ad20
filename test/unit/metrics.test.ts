/** The metrics definitions, in-process: failure reasons, and one registry per app. */
import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { serialize } from "../../system/codec/index.js";
import { createApiMetrics } from "../../system/api/metrics.js";
import { createDispatcherMetrics } from "../../system/dispatcher/metrics.js";
import { failureReason, FUNCTION_ERROR } from "../../system/metrics.js";
import { serializedTaskError, TaskErrors, type TaskErrorName } from "../../system/task.js";
import { parseMetrics } from "../support/metrics.js";

describe("failureReason", () => {
  it.each(Object.keys(TaskErrors) as TaskErrorName[])("names faaslab's own %s", (name) => {
    expect(failureReason(serializedTaskError(name, "why"))).toBe(name);
  });

  it.each([
    ["a thrown TypeError", serialize(new TypeError("no"))],
    ["a thrown Error named like none of faaslab's", serialize(Object.assign(new Error("x"), { name: "DeadlineExceededish" }))],
    ["a thrown string wrapped in an Error", serialize(new Error("thrown", { cause: "a string" }))],
    ["text that is not the codec's", "not json"],
  ])("calls %s function_error", (_what, text) => {
    expect(failureReason(text)).toBe(FUNCTION_ERROR);
  });
});

describe("metrics registries", () => {
  it("two apps in one process each count on their own registry", async () => {
    const [first, second] = [new Registry(), new Registry()];
    const a = createApiMetrics(first);
    createApiMetrics(second);
    a.tasksSubmitted(3);
    a.requestAnswered("/execute_batch", 201, 0.002);
    const value = async (registry: Registry, name: string) => parseMetrics(await registry.metrics()).filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
    expect(await value(first, "faas_tasks_submitted_total")).toBe(3);
    expect(await value(second, "faas_tasks_submitted_total")).toBe(0);
    expect(await value(first, "faas_http_request_duration_seconds_count")).toBe(1);
  });

  it("the API's faas_tasks gauge reads the cluster's tasks by state at each scrape, and keeps its values while Redis cannot answer", async () => {
    const registry = new Registry();
    const metrics = createApiMetrics(registry);
    let counts = { QUEUED: 2, RUNNING: 1, COMPLETED: 5, FAILED: 0 };
    metrics.observe({ taskCounts: async () => counts });
    const scraped = async () => Object.fromEntries(parseMetrics(await registry.metrics()).filter((s) => s.name === "faas_tasks").map((s) => [s.labels.state, s.value]));
    expect(await scraped()).toEqual({ QUEUED: 2, RUNNING: 1, COMPLETED: 5, FAILED: 0 });
    counts = { QUEUED: 0, RUNNING: 0, COMPLETED: 8, FAILED: 0 };
    expect(await scraped()).toEqual(counts);
    metrics.observe({ taskCounts: () => Promise.reject(new Error("Connection is closed.")) });
    expect(await scraped()).toEqual(counts);
  });

  it("a dispatcher's histograms take the task record's times, and its gauges are read at the scrape", async () => {
    const registry = new Registry();
    const metrics = createDispatcherMetrics(registry, { withWorkers: true });
    metrics.observe({ queueDepth: async () => 7, running: () => 2, workers: () => [{ id: "w1", free: 1 }, { id: "w2", free: 0 }] });
    metrics.finished("FAILED", serializedTaskError("WorkerLost", "lost"), { createdAt: 1000, startedAt: 1500, finishedAt: 3000 });
    const samples = parseMetrics(await registry.metrics());
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value("faas_tasks_failed_total", { reason: "WorkerLost" })).toBe(1);
    expect(value("faas_task_latency_seconds_sum")).toBe(2);
    expect(value("faas_task_execution_seconds_sum")).toBe(1.5);
    expect(value("faas_queue_depth")).toBe(7);
    expect(value("faas_tasks_running")).toBe(2);
    expect(value("faas_workers_connected")).toBe(2);
    expect(value("faas_worker_free_executors", { worker: "w1" })).toBe(1);
  });
});
