/**
 * Two dispatchers on one Redis, each with its own workers: the consumer group gives every
 * task to one of them, so no task runs twice or is lost, and when one dispatcher dies the
 * other takes over its tasks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "../../harness/cluster/cluster.js";
import { FaaSClient } from "../../system/client/index.js";
import { waitFor } from "../../harness/wait.js";
import { recorded, template } from "../support/recorded.js";

describe("two push dispatchers on the same Redis", () => {
  let first: Cluster;
  let second: Cluster;
  beforeAll(async () => {
    first = await Cluster.start({ mode: "push", workers: { count: 2, executors: 2 }, dispatcher: { heartbeatMs: 200, heartbeatTolerance: 3 } });
    // The second cluster brings its own API, dispatcher and workers, on the first one's Redis.
    second = await Cluster.start({ mode: "push", redisUrl: first.redisUrl, workers: { count: 2, executors: 2 }, dispatcher: { heartbeatMs: 200, heartbeatTolerance: 3 } });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  it("share the tasks: each runs some, every task completes once with its result", async () => {
    const run = recorded(first);
    const work = template("sleepThenTriple", async (ms: number, x: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return x * 3;
    });
    const taskIds = await Promise.all(Array.from({ length: 60 }, (_, x) => run.run(work, [50, x], x * 3)));
    // Either API sees every task: they share Redis.
    const client = new FaaSClient({ baseUrl: second.apiUrl });
    const records = await Promise.all(taskIds.map((id) => client.task(id)));
    expect(records.every((task) => task.attempts === 1), "no task ran twice").toBe(true);
    const workersSeen = new Set(records.map((t) => t.worker));
    const ofFirst = first.workers.map((w) => `-${first.process(w)!.pid}-`);
    const ranOnFirst = [...workersSeen].filter((w) => ofFirst.some((pid) => w!.includes(pid)));
    expect(ranOnFirst.length, "the first cluster's workers ran some tasks").toBeGreaterThan(0);
    expect(workersSeen.size - ranOnFirst.length, "the second cluster's workers ran some tasks").toBeGreaterThan(0);
    const results = await run.check();
    expect(results.filter((r) => r.verdict !== "pass").map((r) => `${r.name}: ${r.figure}`)).toEqual([]);
  });

  it("when one dispatcher dies, the other takes over its tasks", async () => {
    const run = recorded(first);
    const work = template("sleepThenTriple", async (ms: number, x: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return x * 3;
    });
    const tasks = Array.from({ length: 16 }, (_, x) => run.run(work, [1500, x], x * 3));
    // Once the first cluster's workers run some of them, kill its dispatcher and workers:
    // those tasks can then only finish through the second dispatcher.
    const ofFirst = first.workers.map((w) => `-${first.process(w)!.pid}-`);
    const client = new FaaSClient({ baseUrl: first.apiUrl });
    await waitFor(async () => {
      const running = await Promise.all([...run.workload.pending].map((id) => client.task(id)));
      return running.some((t) => t.status === "RUNNING" && ofFirst.some((pid) => t.worker?.includes(pid)));
    }, { what: "the first cluster's workers to run some of the tasks" });
    await first.kill("dispatcher", "SIGKILL");
    await Promise.all(first.workers.map((w) => first.kill(w, "SIGKILL")));
    await Promise.all(tasks);
    const results = await run.check();
    expect(results.filter((r) => r.verdict !== "pass").map((r) => `${r.name}: ${r.figure}`)).toEqual([]);
  });
});
