/** Workers in pull and push mode: start order, concurrency, scale and the spread of load. */
import { readFileSync } from "node:fs";
import getPort from "get-port";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/wait.js";
import { useCluster } from "../support/cluster.js";

const sleepThenEcho = async (ms: number, value: unknown) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
};

/** The worker part of an executor name ("host-pid-abcd/thread-3" -> "host-pid-abcd"). */
const workerOf = (executor: string | null) => (executor ?? "").split("/")[0];

// The dispatcher's port is fixed in advance so that a worker can be pointed at it before it runs.
const dispatcherPort = await getPort({ host: "127.0.0.1" });

describe("a pull worker started before its dispatcher, and one started after", () => {
  const fx = useCluster({ mode: "pull", startDispatcher: false, dispatcherPort, workers: { count: 0, executors: 2 } });

  it("both execute tasks queued before they started and after", async () => {
    const functionId = await fx.client.register(sleepThenEcho);
    const before = await Promise.all(Array.from({ length: 4 }, (_, i) => fx.client.execute(functionId, 200, `before-${i}`)));
    await fx.cluster.startWorker({ waitForDispatcher: false });
    await fx.cluster.startDispatcher();
    await fx.cluster.startWorker();
    const after = await Promise.all(Array.from({ length: 8 }, (_, i) => fx.client.execute(functionId, 200, `after-${i}`)));
    expect(await Promise.all(before.map((id) => fx.client.valueOf(id)))).toEqual(Array.from({ length: 4 }, (_, i) => `before-${i}`));
    expect(await Promise.all(after.map((id) => fx.client.valueOf(id)))).toEqual(Array.from({ length: 8 }, (_, i) => `after-${i}`));
    const ranOn = new Set((await Promise.all(after.map((id) => fx.client.task(id)))).map((task) => workerOf(task.executor)));
    expect(ranOn.size, "both workers ran tasks queued after they started").toBe(2);
  });
});

describe.each(["pull", "push"] as const)("%s mode", (mode) => {
  describe("one worker with 4 executors", () => {
    const fx = useCluster({ mode, workers: { count: 1, executors: 4 } });

    it("runs 4 tasks at the same time", async () => {
      const functionId = await fx.client.register(sleepThenEcho);
      const taskIds = await Promise.all(Array.from({ length: 4 }, (_, i) => fx.client.execute(functionId, 3000, i)));
      await waitFor(async () => (await Promise.all(taskIds.map((id) => fx.client.status(id)))).every((status) => status === "RUNNING"), {
        what: "all 4 tasks to be RUNNING at once",
      });
      expect(await Promise.all(taskIds.map((id) => fx.client.valueOf(id)))).toEqual([0, 1, 2, 3]);
    });
  });

  describe("1, 2 and 4 workers", () => {
    const fx = useCluster({ mode, workers: { count: 1, executors: 1 } });

    it.each([1, 2, 4])("with %i worker(s), every task completes and every worker takes part", async (count) => {
      while (fx.cluster.runningWorkers.length < count) await fx.cluster.startWorker({ executors: 1 });
      const functionId = await fx.client.register(sleepThenEcho);
      const taskIds = await Promise.all(Array.from({ length: count * 4 }, (_, i) => fx.client.execute(functionId, 100, i)));
      expect(await Promise.all(taskIds.map((id) => fx.client.valueOf(id)))).toEqual(Array.from({ length: count * 4 }, (_, i) => i));
      const ranOn = new Set((await Promise.all(taskIds.map((id) => fx.client.task(id)))).map((task) => workerOf(task.executor)));
      expect(ranOn.size).toBe(count);
    });
  });
});

describe("push mode spreads load evenly", () => {
  const fx = useCluster({ mode: "push", workers: { count: 4, executors: 2 } });

  it("80 tasks over 4 workers of 2 executors: each worker runs close to a quarter", async () => {
    const functionId = await fx.client.register(sleepThenEcho);
    const taskIds = await Promise.all(Array.from({ length: 80 }, (_, i) => fx.client.execute(functionId, 100, i)));
    await Promise.all(taskIds.map((id) => fx.client.valueOf(id)));
    const perWorker = new Map<string, number>();
    for (const task of await Promise.all(taskIds.map((id) => fx.client.task(id)))) {
      perWorker.set(workerOf(task.executor), (perWorker.get(workerOf(task.executor)) ?? 0) + 1);
    }
    const counts = [...perWorker.values()];
    console.log(`push spread over 4 workers: ${counts.join(", ")} tasks (max/min ${(Math.max(...counts) / Math.min(...counts)).toFixed(2)})`);
    expect(counts).toHaveLength(4);
    // The dispatcher gives each task to the worker with the most free executors: the spread is
    // near even (20 each when the machine is quiet). A worker starved of CPU by other load holds
    // its tasks longer and gets fewer, so the bound is half to one and a half times a quarter.
    for (const count of counts) expect(count).toBeGreaterThanOrEqual(10);
    for (const count of counts) expect(count).toBeLessThanOrEqual(30);
  });
});

describe.each(["pull", "push"] as const)("an idle %s cluster", (mode) => {
  const fx = useCluster({ mode, workers: { count: 2, executors: 2 } });

  /** CPU seconds a process has used so far (user + system), from /proc. */
  const cpuSeconds = (pid: number) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  };

  it("does not spin: the dispatcher and the workers each use a small fraction of a core", async () => {
    await fx.client.run(() => "warm");
    const components = ["dispatcher", ...fx.cluster.workers] as const;
    const pids = components.map((component) => fx.cluster.process(component)!.pid!);
    const before = pids.map(cpuSeconds);
    const started = performance.now();
    // Not a sleep used for synchronisation: this is the measured interval.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const seconds = (performance.now() - started) / 1000;
    const shares = pids.map((pid, i) => (cpuSeconds(pid) - before[i]) / seconds);
    console.log(`idle ${mode} cluster, share of a core over ${seconds.toFixed(1)} s: ${components.map((c, i) => `${c} ${(shares[i] * 100).toFixed(2)}%`).join(", ")}`);
    // A polling loop would use a whole core; the bound leaves room for a noisy machine.
    for (const share of shares) expect(share).toBeLessThan(0.1);
  });
});

describe.each(["pull", "push"] as const)("a large batch in %s mode", (mode) => {
  const fx = useCluster({ mode, workers: { count: 2, executors: 2 } });

  it("10,000 tasks through execute_batch all complete (no executor slot is ever counted twice)", async () => {
    const functionId = await fx.client.register(() => null);
    const taskIds = [...(await fx.client.executeMany(functionId, Array.from({ length: 5000 }, () => []))), ...(await fx.client.executeMany(functionId, Array.from({ length: 5000 }, () => [])))];
    const results = await fx.client.results(taskIds, { wait: 90 });
    expect(results.filter((r) => r.status !== "COMPLETED")).toHaveLength(0);
  }, 120_000);
});
