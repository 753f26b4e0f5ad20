/** Worker and dispatcher failures in pull and push mode: every task ends with the correct result, once. */
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { cliPath } from "../../harness/paths.js";
import { waitFor } from "../../harness/wait.js";
import { useCluster, waitForStatus } from "../support/cluster.js";
import { findLogged } from "../support/logs.js";

const sleepThenDouble = async (ms: number, x: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return x * 2;
};
const workerOf = (executor: string | null) => (executor ?? "").split("/")[0];
/** Faster failure detection than the default 3 × 500 ms, with room for a busy 2-core machine. */
const fastHeartbeats = { heartbeatMs: 200, heartbeatTolerance: 3 };

describe.each(["pull", "push"] as const)("%s mode under faults", (mode) => {
  describe("a worker killed with -9 during long tasks", () => {
    const fx = useCluster({ mode, workers: { count: 2, executors: 2 }, dispatcher: fastHeartbeats });

    it("its tasks run again on the other worker and every task has the right result", async () => {
      const functionId = await fx.client.register(sleepThenDouble);
      const taskIds = await Promise.all(Array.from({ length: 4 }, (_, x) => fx.client.execute(functionId, 2000, x)));
      await waitFor(async () => (await Promise.all(taskIds.map((id) => fx.client.status(id)))).every((s) => s === "RUNNING"), { what: "4 tasks RUNNING" });
      const victim = workerOf((await fx.client.task(taskIds[0])).worker);
      const onVictim = (await Promise.all(taskIds.map((id) => fx.client.task(id)))).filter((t) => t.worker === victim).map((t) => t.task_id);
      const component = fx.cluster.workers.find((w) => fx.cluster.process(w)!.running && victim.includes(String(fx.cluster.process(w)!.pid)))!;
      await fx.cluster.kill(component, "SIGKILL");

      expect(await Promise.all(taskIds.map((id) => fx.client.valueOf(id)))).toEqual([0, 2, 4, 6]);
      for (const id of onVictim) {
        const task = await fx.client.task(id);
        expect(task.attempts).toBe(2);
        expect(workerOf(task.executor)).not.toBe(victim);
      }
    });
  });

  describe("every worker killed, then new ones started", () => {
    const fx = useCluster({ mode, workers: { count: 2, executors: 2 }, dispatcher: fastHeartbeats });

    it("tasks in flight and tasks queued meanwhile all complete on the new workers", async () => {
      const functionId = await fx.client.register(sleepThenDouble);
      const inFlight = await Promise.all(Array.from({ length: 4 }, (_, x) => fx.client.execute(functionId, 1500, x)));
      await waitFor(async () => (await Promise.all(inFlight.map((id) => fx.client.status(id)))).every((s) => s === "RUNNING"), { what: "4 tasks RUNNING" });
      await Promise.all(fx.cluster.runningWorkers.map((worker) => fx.cluster.kill(worker, "SIGKILL")));
      const queued = await Promise.all(Array.from({ length: 4 }, (_, x) => fx.client.execute(functionId, 10, x + 4)));
      await fx.cluster.startWorker();
      await fx.cluster.startWorker();
      expect(await Promise.all([...inFlight, ...queued].map((id) => fx.client.valueOf(id)))).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    });
  });

  describe("a worker paused past the heartbeat timeout, then resumed", () => {
    const fx = useCluster({ mode, workers: { count: 1, executors: 1 }, dispatcher: fastHeartbeats });

    it("its task runs elsewhere, its late result is discarded, and it rejoins", async () => {
      const functionId = await fx.client.register(sleepThenDouble);
      const taskId = await fx.client.execute(functionId, 1500, 21);
      await waitForStatus(fx.client, taskId, "RUNNING");
      const paused = fx.cluster.workers[0];
      await fx.cluster.startWorker({ executors: 1 });
      fx.cluster.pause(paused);
      try {
        expect(await fx.client.valueOf(taskId)).toBe(42);
      } finally {
        fx.cluster.resume(paused);
      }
      const recorded = await fx.client.task(taskId);
      expect(recorded.attempts).toBe(2);
      // The paused worker finishes its copy and delivers it (perhaps twice: results are resent until acknowledged): the dispatcher discards it.
      await waitFor(() => findLogged(fx.cluster.logFile("dispatcher"), "late result discarded: the task already had one", { taskId }).length >= 1, {
        what: "the dispatcher to discard the paused worker's late result",
      });
      expect(await fx.client.task(taskId)).toEqual(recorded);
      await waitFor(() => findLogged(fx.cluster.logFile(paused), "registered with the dispatcher").length >= 2, { what: "the resumed worker to register again" });
      // It serves again: with the other worker gone, tasks run on it.
      await fx.cluster.kill(fx.cluster.workers[1], "SIGKILL");
      const after = await fx.client.execute(functionId, 10, 5);
      expect(await fx.client.valueOf(after)).toBe(10);
    });
  });

  describe("the dispatcher killed with -9 and restarted during a run", () => {
    const fx = useCluster({ mode, workers: { count: 2, executors: 2 }, dispatcher: fastHeartbeats });

    it("every task completes once, with the right result", async () => {
      const functionId = await fx.client.register(sleepThenDouble);
      const taskIds = await Promise.all(Array.from({ length: 10 }, (_, x) => fx.client.execute(functionId, 800, x)));
      await waitFor(async () => (await Promise.all(taskIds.map((id) => fx.client.status(id)))).filter((s) => s === "RUNNING").length >= 4, {
        what: "4 tasks RUNNING",
      });
      await fx.cluster.kill("dispatcher", "SIGKILL");
      await fx.cluster.startDispatcher();
      expect(await Promise.all(taskIds.map((id) => fx.client.valueOf(id)))).toEqual(Array.from({ length: 10 }, (_, x) => x * 2));
      for (const task of await Promise.all(taskIds.map((id) => fx.client.task(id)))) expect(task.status).toBe("COMPLETED");
    });
  });

  describe("a task whose worker is lost max-attempts times", () => {
    const fx = useCluster({ mode, workers: { count: 1, executors: 1 }, dispatcher: { ...fastHeartbeats, maxAttempts: 1 } });

    it("fails with WorkerLost", async () => {
      const functionId = await fx.client.register(sleepThenDouble);
      const taskId = await fx.client.execute(functionId, 5000, 1);
      await waitForStatus(fx.client, taskId, "RUNNING");
      await fx.cluster.kill(fx.cluster.workers[0], "SIGKILL");
      await fx.cluster.startWorker({ executors: 1 });
      const outcome = await fx.client.result(taskId, { wait: 20 });
      expect(outcome.status).toBe("FAILED");
      expect((outcome.value as Error).name).toBe("WorkerLost");
    });
  });
});

describe("worker tokens", () => {
  const fx = useCluster({ mode: "push", workers: { count: 1, executors: 1 }, workerToken: "s3cret" });

  it.each([
    ["a wrong token", ["--token", "wrong"], "the worker token is wrong"],
    ["no token", [], "requires a worker token"],
  ])("a worker with %s is refused, told why, and exits with an error", async (_case, flags, reason) => {
    const worker = await execa(process.execPath, [cliPath, "push-worker", "1", fx.cluster.dispatcherEndpoint, ...flags], {
      reject: false, timeout: 15_000, env: { FAAS_WORKER_TOKEN: "" },
    });
    expect(worker.exitCode).toBe(2);
    expect(worker.stderr).toContain(reason);
  });

  it("a worker with the right token serves", async () => {
    expect(await fx.client.run((x: number) => x + 1, 1)).toBe(2);
  });

  it("a pull worker is refused by a push dispatcher", async () => {
    const worker = await execa(process.execPath, [cliPath, "pull-worker", "1", fx.cluster.dispatcherEndpoint, "--token", "s3cret"], { reject: false, timeout: 15_000 });
    expect(worker.exitCode).toBe(2);
    expect(worker.stderr).toContain("runs in push mode");
  });
});
